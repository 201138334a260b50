"""QuickBooks Online: Customer and Invoice through the query endpoint, ordered by MetaData.LastUpdatedTime."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests

from connectors.auth import BearerToken
from connectors.base import Cursor, HttpSource, OffsetCount, Stream
from connectors.http import RateLimit

POSITION = OffsetCount(offset_param="_offset", size_param="_max", size=1000)
MINOR_VERSION = "75"


UPDATED = Cursor("MetaData.LastUpdatedTime", send="query")


class QuickBooks(HttpSource):
    name = "quickbooks"
    auth = BearerToken()
    rate_limit = RateLimit(requests=500, per_seconds=60, max_concurrency=10)  # Intuit's per-realm limits
    streams = (
        Stream("customers", "query", primary_key="Id", cursor=UPDATED,
               records_path="QueryResponse.Customer", params={"_entity": "Customer"}, paginator=POSITION),
        Stream("invoices", "query", primary_key="Id", cursor=UPDATED,
               records_path="QueryResponse.Invoice", params={"_entity": "Invoice"}, paginator=POSITION),
    )

    def base_url(self) -> str:
        if self.conn.host:
            return self.conn.host.rstrip("/")
        realm = self.conn.extra.get("realm_id") or self.conn.schema
        return f"https://quickbooks.api.intuit.com/v3/company/{realm}"

    def check(self) -> None:
        self.get("query", params={"query": "SELECT COUNT(*) FROM Customer", "minorversion": MINOR_VERSION})

    def cursor_params(self, stream: Stream, since: datetime) -> dict[str, Any]:
        return {"_since": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}

    def finalize_params(self, stream: Stream, params: dict[str, Any]) -> dict[str, Any]:
        entity = params["_entity"]
        where = ["Active IN (true, false)"] if entity == "Customer" else []
        if "_since" in params:
            where.append(f"MetaData.LastUpdatedTime >= '{params['_since']}'")
        query = f"SELECT * FROM {entity}"
        if where:
            query += " WHERE " + " AND ".join(where)
        # Ordered by Id, not by change time: an edit made while we page would move a record from
        # behind our position to the end of a time-ordered listing and shift an unread one past us.
        query += (f" ORDERBY Id STARTPOSITION {int(params['_offset']) + 1}"
                  f" MAXRESULTS {int(params['_max'])}")
        return {"query": query, "minorversion": MINOR_VERSION}

    def error_message(self, response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return response.text[:200]
        fault = body.get("Fault") or body.get("fault") or {}
        errors = fault.get("Error") or fault.get("error") or [{}]
        first = errors[0]
        return f"{first.get('Message') or first.get('message')}: {first.get('Detail') or first.get('detail')}"
