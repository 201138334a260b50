"""Asset URIs that connect the DAGs (extraction -> unify -> activate)."""

RAW_ASSETS = {system: f"seam://warehouse/raw/{system}"
              for system in ("woocommerce", "mailchimp", "quickbooks", "legacy_crm")}
CUSTOMERS_ASSET = "seam://warehouse/core/customers"
SEGMENTS_ASSET = "seam://warehouse/marts/segment_members"
