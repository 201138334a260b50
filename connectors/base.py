"""Streams declared as data over one shared machinery (HTTP, auth, retries, pacing, paging, cursors).

A connector is an HttpSource that lists its Streams and its Auth and, only where the system needs
it, overrides a small hook (how a query language folds in the cursor, error text). A YAML manifest
(connectors/manifest.py) builds the same class without Python. include/extract.py drives
`read_pages` and owns state and writes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, ClassVar, Protocol

import requests

from connectors.auth import Auth, NoAuth, connection_value
from connectors.http import RateLimit, SourceError, Throttle, make_session, response_json, send
from include.config import Connection
from include.mapping import get_path
from include.normalise import utc_datetime

NEXT_URL = "__next_url__"  # a paginator's way to say "request this absolute URL next"


class Paginator(Protocol):
    size: int

    def first(self) -> dict[str, Any]: ...

    def next(self, params: dict[str, Any], response: requests.Response, records: list) -> dict[str, Any] | None: ...


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
    """offset/count paging (QuickBooks STARTPOSITION/MAXRESULTS is this with start=1)."""

    offset_param: str = "offset"
    size_param: str = "count"
    size: int = 1000
    total_path: str | None = None
    start: int = 0

    def first(self) -> dict[str, Any]:
        return {self.offset_param: self.start, self.size_param: self.size}

    def next(self, params: dict[str, Any], response: requests.Response, records: list) -> dict[str, Any] | None:
        # Never past what was asked for: a page that repeats the previous page's last record holds
        # one extra; fewer than asked (a server cap) moves only as far as what came.
        offset = int(params[self.offset_param]) + min(len(records), int(params[self.size_param]))
        total = get_path(response_json(response), self.total_path) if self.total_path else None
        if (total is not None and offset - self.start >= int(total)) or len(records) < self.size:
            return None
        return {**params, self.offset_param: offset}


@dataclass(frozen=True)
class LinkHeader:
    """RFC 8288 `Link: <…>; rel="next"` paging (Shopify, GitHub, WordPress); the URL carries the state."""

    size_param: str = "limit"
    size: int = 250

    def first(self) -> dict[str, Any]:
        return {self.size_param: self.size}

    def next(self, params: dict[str, Any], response: requests.Response, records: list) -> dict[str, Any] | None:
        url = response.links.get("next", {}).get("url")
        return {NEXT_URL: url} if url and records else None


@dataclass(frozen=True)
class CursorToken:
    """An opaque next-page token in the body, sent back as a parameter (HubSpot `after`, Stripe)."""

    token_path: str = "paging.next.after"
    token_param: str = "after"
    size_param: str = "limit"
    size: int = 100

    def first(self) -> dict[str, Any]:
        return {self.size_param: self.size}

    def next(self, params: dict[str, Any], response: requests.Response, records: list) -> dict[str, Any] | None:
        token = get_path(response_json(response), self.token_path)
        return {**params, self.token_param: token} if token not in (None, "") and records else None


@dataclass(frozen=True)
class Cursor:
    """Where a stream's change time lives and how the lower bound is sent.

    send: `param` (query parameter), `header` (e.g. If-Modified-Since), `client` (the API has no
    filter: read everything, keep what changed), `query` (a hook folds it into a query language).
    """

    field: str
    send: str = "param"
    name: str | None = None
    format: str = "%Y-%m-%dT%H:%M:%SZ"  # strftime pattern, or "http-date"
    timezone: str = "UTC"  # how naive values in records are to be read
    lookback: timedelta | None = None  # overlap re-read each run; None: the engine's default

    def render(self, since: datetime) -> str:
        moment = since.astimezone(UTC)
        return format_datetime(moment, usegmt=True) if self.format == "http-date" else moment.strftime(self.format)


@dataclass(frozen=True)
class Stream:
    name: str
    path: str
    primary_key: str | tuple[str, ...] | None = "id"  # None: append-only events, keyed by content
    cursor: Cursor | None = None
    records_path: str | None = None
    paginator: Any = field(default_factory=PageNumber)
    params: dict[str, Any] = field(default_factory=dict)
    write_mode: str = "merge"  # merge on primary key | append (every distinct record is kept)
    # Delete detection for APIs without a delete feed: the parameters of a cheap key-only listing
    # (e.g. {"_fields": "id"}); None means the stream needs no reconciliation pass.
    key_params: dict[str, Any] | None = None
    parent: str | None = None  # substream: read once per record of this stream
    parent_key: str = "id"  # field of the parent record that fills {parent_id} in `path`
    flatten: str | None = None  # list inside each record that holds the real records (one per item)

    @property
    def cursor_field(self) -> str | None:
        return self.cursor.field if self.cursor else None


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class HttpSource:
    """Base of every REST connector; subclasses declare `name`, `streams`, `auth` and small hooks."""

    name: ClassVar[str]
    streams: ClassVar[tuple[Stream, ...]]
    auth: ClassVar[Auth] = NoAuth()
    rate_limit: ClassVar[RateLimit | None] = None
    error_fields: ClassVar[tuple[str, ...]] = ()  # JSON error-body fields that make the message
    # Base URL when the connection has no host, e.g. "https://{extra[shop]}.myshopify.com/admin/api/2024-10"
    url_template: ClassVar[str | None] = None
    check_stream: ClassVar[str | None] = None

    def __init__(self, conn: Connection, session: requests.Session | None = None, page_size: int | None = None):
        self.conn = conn
        self.page_size = page_size  # overrides every stream's page size (tests, tuning)
        self.session = session or make_session()
        self.throttle = Throttle.for_system(self.name, self.rate_limit)
        self.auth.apply(self.session, conn)
        self.configure_session(self.session)

    # --- hooks -------------------------------------------------------------------------------
    def base_url(self) -> str:
        if self.conn.host:
            return self.conn.host.rstrip("/")
        if self.url_template:
            return self.url_template.format_map(_Lookup(self.conn)).rstrip("/")
        raise SourceError(self.name, None, "connection has no host (base URL)")

    def configure_session(self, session: requests.Session) -> None:
        """Anything the declared auth does not cover (extra headers)."""

    def check(self) -> None:
        """Raise SourceError with a clear message when the system or credentials do not work."""
        stream = self.stream(self.check_stream) if self.check_stream else self.streams[0]
        if stream.parent:
            stream = self.stream(stream.parent)
        params = {**stream.params, **self._paginator(stream).first()}
        self.get(stream.path.format(**self.path_vars()), params=self.finalize_params(stream, params))

    def error_message(self, response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return response.text[:300]
        if self.error_fields and isinstance(body, dict):
            return ": ".join(str(get_path(body, f)) for f in self.error_fields)
        return response.text[:300]

    def cursor_params(self, stream: Stream, since: datetime) -> dict[str, Any]:
        cursor = stream.cursor
        if cursor and cursor.send == "param" and cursor.name:
            return {cursor.name: cursor.render(since)}
        return {}

    def cursor_headers(self, stream: Stream, since: datetime | None) -> dict[str, str]:
        cursor = stream.cursor
        if since is not None and cursor and cursor.send == "header" and cursor.name:
            return {cursor.name: cursor.render(since)}
        return {}

    def finalize_params(self, stream: Stream, params: dict[str, Any]) -> dict[str, Any]:
        """Last chance to shape the query (e.g. fold cursor and position into a query language)."""
        return params

    def path_vars(self) -> dict[str, str]:
        """Values for {placeholders} in stream paths, e.g. a list id from the connection."""
        return {}

    def extract_records(self, stream: Stream, response: requests.Response) -> list[dict[str, Any]]:
        if response.status_code == 304 or not response.content:  # If-Modified-Since: nothing changed
            return []
        body = response_json(response)
        records = get_path(body, stream.records_path) if stream.records_path else body
        if records is not None and not isinstance(records, list):
            raise SourceError(self.name, response.status_code,
                              f"{stream.name}: expected a list at {stream.records_path or 'the top level'}, "
                              f"got {type(records).__name__}")
        records = list(records or [])
        if stream.flatten:
            records = [{**{k: v for k, v in record.items() if k != stream.flatten}, **item}
                       for record in records for item in (record.get(stream.flatten) or [])]
        return records

    def is_deleted(self, stream: Stream, record: dict[str, Any]) -> bool:
        return False

    # --- shared machinery --------------------------------------------------------------------
    def stream(self, name: str) -> Stream:
        for stream in self.streams:
            if stream.name == name:
                return stream
        raise KeyError(f"{self.name} has no stream {name!r}; streams: {[s.name for s in self.streams]}")

    def discover(self) -> dict[str, dict[str, Any]]:
        """Stream catalogue: key, cursor, write mode and the fields seen in the first page."""
        catalogue = {}
        for stream in self.streams:
            if stream.parent:
                pages = self.read_pages(stream.name, None)
            else:
                params = {**stream.params, **self._paginator(stream).first()}
                response = self.get(stream.path.format(**self.path_vars()),
                                    params=self.finalize_params(stream, params))
                pages = iter([self.extract_records(stream, response)])
            first = next(pages, [])
            fields = sorted({key for record in first[:50] for key in record})
            catalogue[stream.name] = {"primary_key": stream.primary_key, "cursor_field": stream.cursor_field,
                                      "write_mode": stream.write_mode, "fields": fields}
        return catalogue

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url()}/{path.lstrip('/')}"
        try:
            return send(self.session, self.name, method, url, error_message=self.error_message,
                        throttle=self.throttle, **kwargs)
        except SourceError as exc:
            if exc.status != 401 or not self.auth.refresh(self.session, self.conn):
                raise
        return send(self.session, self.name, method, url, error_message=self.error_message,
                    throttle=self.throttle, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def record_id(self, stream: Stream, record: dict[str, Any]) -> str:
        if stream.primary_key is None:
            text = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
            return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
        keys = (stream.primary_key,) if isinstance(stream.primary_key, str) else stream.primary_key
        values = [get_path(record, key) for key in keys]
        if any(value in (None, "") for value in values):
            raise SourceError(self.name, None, f"{stream.name}: record without primary key {stream.primary_key}")
        return ":".join(str(value) for value in values)

    def record_cursor(self, stream: Stream, record: dict[str, Any]) -> datetime | None:
        value = get_path(record, stream.cursor.field) if stream.cursor else None
        return utc_datetime(value, stream.cursor.timezone) if value else None

    def list_keys(self, stream_name: str) -> Iterator[str]:
        """Every primary key the system holds now, read with the stream's key-only parameters."""
        stream = self.stream(stream_name)
        for page in self.read_pages(stream_name, None, extra=stream.key_params or {}):
            for record in page:
                yield self.record_id(stream, record)

    def _paginator(self, stream: Stream) -> Any:
        return replace(stream.paginator, size=self.page_size) if self.page_size else stream.paginator

    def read_pages(self, stream_name: str, since: datetime | None,
                   extra: dict[str, Any] | None = None) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of records changed since `since` (all when None), page by page."""
        stream = self.stream(stream_name)
        if stream.parent:
            for parent_page in self.read_pages(stream.parent, None):
                for parent in parent_page:
                    parent_id = get_path(parent, stream.parent_key)
                    yield from self._read_path(stream, stream.path.format(**self.path_vars(), parent_id=parent_id),
                                               since, extra)
            return
        yield from self._read_path(stream, stream.path.format(**self.path_vars()), since, extra)

    def _read_path(self, stream: Stream, path: str, since: datetime | None,
                   extra: dict[str, Any] | None) -> Iterator[list[dict[str, Any]]]:
        paginator = self._paginator(stream)
        params: dict[str, Any] | None = {**stream.params, **(extra or {}), **paginator.first()}
        if since is not None:
            params.update(self.cursor_params(stream, since))
        headers = self.cursor_headers(stream, since)
        client_side = since is not None and stream.cursor is not None and stream.cursor.send == "client"
        while params is not None:
            if NEXT_URL in params:
                response = self.get(params[NEXT_URL], headers=headers)
            else:
                response = self.get(path, params=self.finalize_params(stream, params), headers=headers)
            records = self.extract_records(stream, response)
            if client_side:
                yield [r for r in records if (self.record_cursor(stream, r) or since) >= since]
            else:
                yield records
            # Paging counts what the API listed, not the records flattened out of it (a recipient
            # with no events still took a place on the page).
            listed = (get_path(response_json(response), stream.records_path) or []) if stream.flatten and response.content else records
            params = paginator.next(params, response, listed)


class _Lookup(dict):
    """str.format_map adapter: {extra[key]} or {schema} in a URL template, read from the connection."""

    def __init__(self, conn: Connection):
        super().__init__()
        self.conn = conn

    def __missing__(self, key: str) -> Any:
        return self.conn.extra if key == "extra" else connection_value(self.conn, key)
