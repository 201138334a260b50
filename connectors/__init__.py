"""Connector registry: one module per system; sources are looked up by name."""

from __future__ import annotations

from typing import Any

from include.config import Connection, get_connection

SOURCES = ("woocommerce", "mailchimp", "quickbooks", "legacy_crm")


def connection_id(system: str) -> str:
    return f"seam_{system}"


def open_source(system: str, conn: Connection | None = None, **options: Any) -> Any:
    """A ready connector for `system`, with credentials resolved from its Airflow connection."""
    conn = conn or get_connection(connection_id(system))
    if system == "woocommerce":
        from connectors.woocommerce import WooCommerce as cls
    elif system == "mailchimp":
        from connectors.mailchimp import Mailchimp as cls
    elif system == "quickbooks":
        from connectors.quickbooks import QuickBooks as cls
    elif system == "legacy_crm":
        from connectors.legacy_crm import LegacyCrm as cls
    else:
        raise KeyError(f"unknown system {system!r}; known: {SOURCES}")
    return cls(conn, **options)
