"""Incremental extraction into the raw layer.

Pages are written one transaction at a time (idempotent upserts on the primary key), and the
stream's cursor advances only in the transaction that writes its last page: a run that dies
midway leaves the old cursor, so the rerun re-reads with overlap and nothing is lost or doubled.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa

from include.normalise import utc_datetime
from include.warehouse import upsert_rows
from include.warehouse.schema import extract_runs, extract_state, raw_records

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_LOOKBACK = timedelta(minutes=5)


def _with_last(items: Iterable[T]) -> Iterator[tuple[T | None, bool]]:
    """Yield (item, is_last); an empty iterable yields (None, True) once so state still commits."""
    iterator = iter(items)
    try:
        current = next(iterator)
    except StopIteration:
        yield None, True
        return
    for following in iterator:
        yield current, False
        current = following
    yield current, True


def read_cursor(conn: sa.Connection, source: str, stream: str) -> datetime | None:
    value = conn.execute(sa.select(extract_state.c.cursor_value).where(
        extract_state.c.source == source, extract_state.c.stream == stream)).scalar()
    return utc_datetime(value) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def extract_stream(source: Any, stream_name: str, engine: sa.Engine, run_id: str,
                   lookback: timedelta = DEFAULT_LOOKBACK, full_refresh: bool = False) -> dict[str, Any]:
    stream = source.stream(stream_name)
    started = datetime.now(UTC)
    with engine.connect() as conn:
        cursor = None if full_refresh else read_cursor(conn, source.name, stream_name)
    since = cursor - lookback if cursor else None
    newest = cursor
    pages = rows_read = 0
    try:
        for page, is_last in _with_last(source.read_pages(stream_name, since)):
            now = datetime.now(UTC)
            rows = []
            for record in page or []:
                record_cursor = source.record_cursor(stream, record)
                if record_cursor and (newest is None or record_cursor > newest):
                    newest = record_cursor
                payload = json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)
                rows.append({
                    "source": source.name, "stream": stream_name, "record_id": source.record_id(stream, record),
                    "payload": payload, "payload_hash": hashlib.sha1(payload.encode()).hexdigest(),
                    "cursor_value": _iso(record_cursor), "is_deleted": source.is_deleted(stream, record),
                    "first_loaded_at": now, "loaded_at": now, "run_id": run_id,
                })
            rows = list({(r["record_id"]): r for r in rows}.values())  # a page may repeat a record
            with engine.begin() as conn:
                upsert_rows(conn, raw_records, rows, keep_on_update=["first_loaded_at"],
                            only_if_changed=["payload_hash", "is_deleted"])
                pages += page is not None
                rows_read += len(page or [])
                if is_last:
                    upsert_rows(conn, extract_state, [{
                        "source": source.name, "stream": stream_name, "cursor_value": _iso(newest),
                        "updated_at": now, "run_id": run_id}])
                    upsert_rows(conn, extract_runs, [{
                        "run_id": run_id, "source": source.name, "stream": stream_name, "started_at": started,
                        "finished_at": now, "cursor_from": _iso(since), "cursor_to": _iso(newest),
                        "pages": pages, "rows_read": rows_read, "rows_loaded": rows_read, "status": "success",
                        "error": None}])
    except Exception as exc:
        with engine.begin() as conn:
            upsert_rows(conn, extract_runs, [{
                "run_id": run_id, "source": source.name, "stream": stream_name, "started_at": started,
                "finished_at": datetime.now(UTC), "cursor_from": _iso(since), "cursor_to": _iso(cursor),
                "pages": pages, "rows_read": rows_read, "rows_loaded": 0, "status": "failed",
                "error": str(exc)[:2000]}])
        raise
    log.info("%s.%s: %d rows in %d pages (cursor %s -> %s)", source.name, stream_name, rows_read, pages,
             _iso(cursor), _iso(newest))
    return {"source": source.name, "stream": stream_name, "rows": rows_read, "pages": pages,
            "cursor_from": _iso(since), "cursor_to": _iso(newest)}


class DeleteGuardError(RuntimeError):
    """A reconciliation pass would tombstone too much at once: more likely an API problem than deletions."""


def reconcile_deletes(source: Any, stream_name: str, engine: sa.Engine, run_id: str,
                      max_share: float = 0.5) -> int:
    """Tombstone raw records whose keys the system no longer lists (for APIs with no delete feed)."""
    present = set(source.list_keys(stream_name))
    key = (raw_records.c.source == source.name, raw_records.c.stream == stream_name)
    with engine.begin() as conn:
        live = set(conn.execute(sa.select(raw_records.c.record_id).where(
            *key, raw_records.c.is_deleted.is_(False))).scalars())
        vanished = sorted(live - present)
        if live and len(vanished) > max_share * len(live):
            raise DeleteGuardError(f"{source.name}.{stream_name}: {len(vanished)} of {len(live)} records vanished; "
                                   "refusing to tombstone them all (check the API, then rerun)")
        now = datetime.now(UTC)
        for start in range(0, len(vanished), 500):
            conn.execute(raw_records.update().where(*key, raw_records.c.record_id.in_(vanished[start:start + 500]))
                         .values(is_deleted=True, loaded_at=now, run_id=run_id))
    if vanished:
        log.info("%s.%s: %d records vanished at the source, tombstoned", source.name, stream_name, len(vanished))
    return len(vanished)


def extract_source(source: Any, engine: sa.Engine, run_id: str, streams: Iterable[str] | None = None,
                   lookback: timedelta = DEFAULT_LOOKBACK) -> list[dict[str, Any]]:
    source.check()
    names = list(streams) if streams else [s.name for s in source.streams]
    results = []
    for name in names:
        stats = extract_stream(source, name, engine, run_id, lookback)
        if getattr(source.stream(name), "key_params", None) is not None:
            stats["tombstoned"] = reconcile_deletes(source, name, engine, run_id)
        results.append(stats)
    return results
