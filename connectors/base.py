"""Streams declared as data over one shared machinery (HTTP, retries, paging, cursors).

A connector is a subclass of HttpSource that lists its Streams and, where the system needs it,
overrides a small hook (auth, how the cursor is sent, error text). The extraction engine in
include/extract.py drives `read_pages` and owns state and writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

import requests

from connectors.http import SourceError, make_session, send
from include.config import Connection
from include.mapping import get_path
from include.normalise import utc_datetime


@dataclass(frozen=True)
class PageNumber:
    """page/per_page paging that stops at the total-pages header or a short page."""

    page_param: str = "page"
    size_param: str = "per_page"
    size: int = 100
    total_pages_header: str | None = None

    def first(self) -> dict[str, Any]:
        return {self.page_param: 1, self.size_param: self.size}

    def next(self, params: dict[str, Any], response: requests.Response, records: list) -> dict[str, Any] | None:
        page = int(params[self.page_param])
        total = response.headers.get(self.total_pages_header or "")
        if (total is not None and page >= int(total)) or len(records) < self.size:
            return None
        return {**params, self.page_param: page + 1}


@dataclass(frozen=True)
class OffsetCount:
    """offset/count paging that stops at the reported total or a short page."""

    offset_param: str = "offset"
    size_param: str = "count"
    size: int = 1000
    total_path: str | None = None

    def first(self) -> dict[str, Any]:
        return {self.offset_param: 0, self.size_param: self.size}

    def next(self, params: dict[str, Any], response: requests.Response, records: list) -> dict[str, Any] | None:
        offset = int(params[self.offset_param]) + len(records)
        total = get_path(response.json(), self.total_path) if self.total_path else None
        if (total is not None and offset >= int(total)) or len(records) < self.size:
            return None
        return {**params, self.offset_param: offset}


@dataclass(frozen=True)
class Stream:
    name: str
    path: str
    primary_key: str
    cursor_field: str | None = None
    records_path: str | None = None
    paginator: PageNumber | OffsetCount = field(default_factory=PageNumber)
    params: dict[str, Any] = field(default_factory=dict)
    cursor_param: str | None = None  # query parameter the cursor is sent in; None = client-side filter
    cursor_timezone: str = "UTC"  # how naive cursor values in records are to be read
    # Delete detection for APIs without a delete feed: the parameters that make a cheap key-only
    # listing (e.g. {"_fields": "id"}); None means the stream needs no reconciliation pass.
    key_params: dict[str, Any] | None = None


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class HttpSource:
    """Base of every REST connector; subclasses declare `name` and `streams` and small hooks."""

    name: ClassVar[str]
    streams: ClassVar[tuple[Stream, ...]]
    error_fields: ClassVar[tuple[str, ...]] = ()  # JSON error-body fields that make the message

    def __init__(self, conn: Connection, session: requests.Session | None = None, page_size: int | None = None):
        self.conn = conn
        self.page_size = page_size  # overrides every stream's page size (tests, tuning)
        self.session = session or make_session()
        self.configure_session(self.session)

    # --- hooks -------------------------------------------------------------------------------
    def base_url(self) -> str:
        return self.conn.host.rstrip("/")

    def configure_session(self, session: requests.Session) -> None:
        """Attach credentials to the session (auth header, basic auth)."""

    def check(self) -> None:
        """Raise SourceError with a clear message when the system or credentials do not work."""
        self.get(self.streams[0].path, params=self.streams[0].paginator.first())

    def error_message(self, response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return response.text[:300]
        if self.error_fields and isinstance(body, dict):
            return ": ".join(str(body.get(f)) for f in self.error_fields)
        return response.text[:300]

    def cursor_params(self, stream: Stream, since: datetime) -> dict[str, Any]:
        return {stream.cursor_param: iso_utc(since)} if stream.cursor_param else {}

    def finalize_params(self, stream: Stream, params: dict[str, Any]) -> dict[str, Any]:
        """Last chance to shape the query (e.g. fold cursor and position into a query language)."""
        return params

    def path_vars(self) -> dict[str, str]:
        """Values for {placeholders} in stream paths, e.g. a list id from the connection."""
        return {}

    def extract_records(self, stream: Stream, response: requests.Response) -> list[dict[str, Any]]:
        body = response.json()
        records = get_path(body, stream.records_path) if stream.records_path else body
        return list(records or [])

    # --- shared machinery --------------------------------------------------------------------
    def stream(self, name: str) -> Stream:
        for stream in self.streams:
            if stream.name == name:
                return stream
        raise KeyError(f"{self.name} has no stream {name!r}; streams: {[s.name for s in self.streams]}")

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return send(self.session, self.name, method, f"{self.base_url()}/{path.lstrip('/')}",
                    error_message=self.error_message, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def record_id(self, stream: Stream, record: dict[str, Any]) -> str:
        value = get_path(record, stream.primary_key)
        if value in (None, ""):
            raise SourceError(self.name, None, f"{stream.name}: record without primary key {stream.primary_key}")
        return str(value)

    def record_cursor(self, stream: Stream, record: dict[str, Any]) -> datetime | None:
        value = get_path(record, stream.cursor_field) if stream.cursor_field else None
        return utc_datetime(value, stream.cursor_timezone) if value else None

    def is_deleted(self, stream: Stream, record: dict[str, Any]) -> bool:
        return False

    def list_keys(self, stream_name: str) -> Iterator[str]:
        """Every primary key the system holds now, read with the stream's key-only parameters."""
        stream = self.stream(stream_name)
        for page in self.read_pages(stream_name, None, extra=stream.key_params or {}):
            for record in page:
                yield self.record_id(stream, record)

    def read_pages(self, stream_name: str, since: datetime | None,
                   extra: dict[str, Any] | None = None) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of records changed since `since` (all when None), page by page."""
        stream = self.stream(stream_name)
        paginator = replace(stream.paginator, size=self.page_size) if self.page_size else stream.paginator
        params: dict[str, Any] | None = {**stream.params, **(extra or {}), **paginator.first()}
        if since is not None:
            params.update(self.cursor_params(stream, since))
        while params is not None:
            response = self.get(stream.path.format(**self.path_vars()),
                                params=self.finalize_params(stream, params))
            records = self.extract_records(stream, response)
            if since is not None and not stream.cursor_param:
                records_kept = [r for r in records if (self.record_cursor(stream, r) or since) >= since]
            else:
                records_kept = records
            yield records_kept
            params = paginator.next(params, response, records)
