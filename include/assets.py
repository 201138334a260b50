"""Asset URIs that connect the DAGs (extraction -> unify -> activate)."""

from connectors import SOURCES

RAW_ASSETS = {system: f"seam://warehouse/raw/{system}" for system in SOURCES}
CUSTOMERS_ASSET = "seam://warehouse/core/customers"
SEGMENTS_ASSET = "seam://warehouse/marts/segment_members"
