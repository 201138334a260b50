"""QuickBooks Online: Customer, Invoice and Payment through the query endpoint, deletes through CDC.

Auth is OAuth2 with Intuit's rotating refresh tokens when the connection carries client_id and
refresh_token, else a static bearer token (the connection password).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from connectors.auth import Auth, BearerToken
from connectors.base import Cursor, HttpSource, OffsetCount, Stream
from connectors.http import DeleteFeedGap, RateLimit, SourceError
from connectors.oauth import OAuth2Refresh
from include.config import Connection

POSITION = OffsetCount(offset_param="_offset", size_param="_max", size=1000)
MINOR_VERSION = "75"
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
OAUTH = OAuth2Refresh(default_token_url=TOKEN_URL, account="extra.realm_id")
CDC_LOOKBACK = timedelta(days=30)  # Intuit's CDC reaches back 30 days at most
CDC_MAX_OBJECTS = 1000  # and answers with at most 1000 objects, without paging


UPDATED = Cursor("MetaData.LastUpdatedTime", send="query")


class QuickBooks(HttpSource):
    name = "quickbooks"
    auth = BearerToken()
    # Intuit allows 500 requests in any minute and 10 at once per realm (the throttle's window slides).
    rate_limit = RateLimit(requests=500, per_seconds=60, max_concurrency=10)
    streams = (
        Stream("customers", "query", primary_key="Id", cursor=UPDATED,
               records_path="QueryResponse.Customer", params={"_entity": "Customer"}, paginator=POSITION),
        Stream("invoices", "query", primary_key="Id", cursor=UPDATED,
               records_path="QueryResponse.Invoice", params={"_entity": "Invoice"}, paginator=POSITION),
        Stream("payments", "query", primary_key="Id", cursor=UPDATED,
               records_path="QueryResponse.Payment", params={"_entity": "Payment"}, paginator=POSITION),
    )

    def __init__(self, conn: Connection, session: requests.Session | None = None, page_size: int | None = None):
        self.auth: Auth = OAUTH if conn.extra.get("client_id") and conn.extra.get("refresh_token") else BearerToken()
        super().__init__(conn, session=session, page_size=page_size)

    def base_url(self) -> str:
        if self.conn.host:
            return self.conn.host.rstrip("/")
        realm = self.conn.extra.get("realm_id") or self.conn.schema
        return f"https://quickbooks.api.intuit.com/v3/company/{realm}"

    def check(self) -> None:
        self.get("query", params={"query": "SELECT COUNT(*) FROM Customer", "minorversion": MINOR_VERSION})

    def read_deletes(self, stream_name: str, since: datetime) -> list[str]:
        """Ids of the stream's entity deleted since `since`, from the CDC feed.

        Raises DeleteFeedGap when CDC cannot answer completely: `since` is beyond its 30 days, or
        the answer is full (1000 objects, no paging), so some deletions may have been left out.
        """
        stream = self.stream(stream_name)
        entity = stream.params["_entity"]
        if since < datetime.now(UTC) - CDC_LOOKBACK + timedelta(minutes=1):
            raise DeleteFeedGap(self.name, None, f"{stream_name}: CDC looks back 30 days at most, deletions since "
                                                 f"{since.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} are out of its reach")
        try:
            response = self.get("cdc", params={"entities": entity, "minorversion": MINOR_VERSION,
                                               "changedSince": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
        except SourceError as exc:
            if exc.status == 400 and "30 days" in str(exc):
                raise DeleteFeedGap(self.name, 400, f"{stream_name}: CDC refused the window ({exc})") from None
            raise
        objects: list[dict[str, Any]] = []
        for answer in response.json().get("CDCResponse") or []:
            for part in answer.get("QueryResponse") or []:
                objects.extend(part.get(entity) or [])
        if len(objects) >= CDC_MAX_OBJECTS:
            raise DeleteFeedGap(self.name, None, f"{stream_name}: CDC answered {len(objects)} objects, its maximum; "
                                                 "deletions beyond it would be missed")
        return [str(o["Id"]) for o in objects if str(o.get("status", "")).lower() == "deleted"]

    def is_deleted(self, stream: Stream, record: dict[str, Any]) -> bool:
        """QuickBooks "deletes" a customer by making it inactive (Active=false): it stays queryable and
        in CDC as changed, not Deleted. Seam keeps it in raw as a tombstone, like a deletion."""
        return stream.name == "customers" and record.get("Active") is False

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
