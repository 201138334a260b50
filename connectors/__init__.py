"""Connector registry: Python modules for systems that need code, YAML manifests for the rest."""

from __future__ import annotations

import importlib
from typing import Any

from connectors.manifest import available_manifests, load_manifest
from include.config import Connection, get_connection

# Systems with a Python module (connectors/<system>/): a class that subclasses HttpSource or reads SQL.
CODE_SOURCES = {"mailchimp": "Mailchimp", "quickbooks": "QuickBooks", "legacy_crm": "LegacyCrm"}
SOURCES = tuple(sorted({*CODE_SOURCES, *available_manifests()}))


def connection_id(system: str) -> str:
    return f"seam_{system}"


def source_class(system: str) -> type:
    if system in CODE_SOURCES:
        return getattr(importlib.import_module(f"connectors.{system}"), CODE_SOURCES[system])
    if system in SOURCES:
        return load_manifest(system)
    raise KeyError(f"unknown system {system!r}; known: {SOURCES}")


def open_source(system: str, conn: Connection | None = None, **options: Any) -> Any:
    """A ready connector for `system`, with credentials resolved from its Airflow connection."""
    cls = source_class(system)
    return cls(conn or get_connection(connection_id(system)), **options)
