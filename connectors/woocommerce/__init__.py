"""WooCommerce REST v3: customers (no date filter: full scan, filtered client-side) and orders (modified_after)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests

from connectors.base import HttpSource, PageNumber, Stream

PAGES = PageNumber(page_param="page", size_param="per_page", size=100, total_pages_header="X-WP-TotalPages")


class WooCommerce(HttpSource):
    name = "woocommerce"
    error_fields = ("code", "message")
    streams = (
        Stream("customers", "customers", primary_key="id", cursor_field="date_modified_gmt",
               params={"role": "all", "orderby": "id", "order": "asc"}, paginator=PAGES,
               key_params={"_fields": "id"}),
        Stream("orders", "orders", primary_key="id", cursor_field="date_modified_gmt",
               params={"orderby": "id", "order": "asc", "dates_are_gmt": "true"},
               cursor_param="modified_after", paginator=PAGES, key_params={"_fields": "id"}),
    )

    def configure_session(self, session: requests.Session) -> None:
        session.auth = (self.conn.login, self.conn.password)

    def cursor_params(self, stream: Stream, since: datetime) -> dict[str, Any]:
        # WooCommerce reads ISO 8601 without an offset; dates_are_gmt=true makes it UTC.
        return {stream.cursor_param: since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")} if stream.cursor_param else {}

