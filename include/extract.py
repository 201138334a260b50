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

from connectors.http import DeleteFeedGap, SourceError
from include.drift import FieldCounter, record_drift
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


class StateWarning(UserWarning):
    """Saved state could not be trusted; the stream is re-read in full instead (never skipped)."""


def read_cursor(conn: sa.Connection, source: str, stream: str) -> datetime | None:
    value = conn.execute(sa.select(extract_state.c.cursor_value).where(
        extract_state.c.source == source, extract_state.c.stream == stream)).scalar()
    return utc_datetime(value) if value else None


def trusted_cursor(engine: sa.Engine, source: str, stream: str,
                   now: datetime | None = None) -> tuple[datetime | None, str | None]:
    """The saved cursor, or None with the reason when it is corrupted or in the future.

    A cursor from the future (clock skew, a hand-edited state row) would silently skip every
    change until that moment; a corrupted one cannot be read. Both mean: read everything again,
    which merge-on-key loading makes safe.
    """
    try:
        with engine.connect() as conn:
            cursor = read_cursor(conn, source, stream)
    except (ValueError, TypeError) as exc:
        return None, f"saved cursor for {source}.{stream} is unreadable ({exc}); reading the stream in full"
    now = now or datetime.now(UTC)
    if cursor is not None and cursor > now + timedelta(minutes=5):
        return None, (f"saved cursor for {source}.{stream} is in the future ({_iso(cursor)}); "
                      "reading the stream in full")
    return cursor, None


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


MAX_RECORD_ID = 200  # raw_records.record_id


def serialise(record: Any) -> str:
    """The record as stored in raw: JSON text with non-ASCII kept. A lone surrogate (legal in JSON, not
    in UTF-8 or in a database's text) makes the whole record use ASCII escapes instead."""
    text = json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(record, ensure_ascii=True, sort_keys=True, default=str)
    return text


def extract_stream(source: Any, stream_name: str, engine: sa.Engine, run_id: str,
                   lookback: timedelta = DEFAULT_LOOKBACK, full_refresh: bool = False) -> dict[str, Any]:
    stream = source.stream(stream_name)
    started = datetime.now(UTC)
    cursor, state_problem = (None, None) if full_refresh else trusted_cursor(engine, source.name, stream_name)
    if state_problem:
        log.warning("%s", state_problem)
    lookback = getattr(getattr(stream, "cursor", None), "lookback", None) or lookback
    since = cursor - lookback if cursor else None
    newest = cursor
    pages = rows_read = repeated = 0
    previous_ids: set[str] = set()  # one page back: enough to see a record repeated across a boundary
    seen = FieldCounter()
    drift: dict[str, list[str]] = {}
    try:
        for page, is_last in _with_last(source.read_pages(stream_name, since)):
            now = datetime.now(UTC)
            rows = []
            page_ids: set[str] = set()
            for record in page or []:
                record_id = source.record_id(stream, record)
                if record_id in page_ids or record_id in previous_ids:
                    repeated += 1  # written again (it may have changed), counted once
                else:
                    seen.add(record)
                page_ids.add(record_id)
                record_cursor = source.record_cursor(stream, record)
                if record_cursor and (newest is None or record_cursor > newest):
                    newest = record_cursor
                if len(record_id) > MAX_RECORD_ID:
                    raise SourceError(source.name, None, f"{stream_name}: record id longer than {MAX_RECORD_ID} "
                                      f"characters ({record_id[:40]!r}…): not a key this warehouse can hold")
                payload = serialise(record)
                rows.append({
                    "source": source.name, "stream": stream_name, "record_id": record_id,
                    "payload": payload, "payload_hash": hashlib.sha1(payload.encode()).hexdigest(),
                    "cursor_value": _iso(record_cursor), "is_deleted": source.is_deleted(stream, record),
                    "first_loaded_at": now, "loaded_at": now, "run_id": run_id,
                })
            rows = list({(r["record_id"]): r for r in rows}.values())  # the latest version of a repeat
            previous_ids = page_ids
            with engine.begin() as conn:
                upsert_rows(conn, raw_records, rows, keep_on_update=["first_loaded_at"],
                            only_if_changed=["payload_hash", "is_deleted"])
                pages += page is not None
                rows_read += len(page or [])
                if is_last:
                    # Never past this run's start: a record edited while we paged may sit behind
                    # our position; the next run re-reads from here (merge on key makes that free).
                    newest = min(newest, started) if newest else newest
                    drift = record_drift(conn, source.name, stream_name, seen, run_id, now)
                    upsert_rows(conn, extract_state, [{
                        "source": source.name, "stream": stream_name, "cursor_value": _iso(newest),
                        "updated_at": now, "run_id": run_id}])
                    upsert_rows(conn, extract_runs, [{
                        "run_id": run_id, "source": source.name, "stream": stream_name, "started_at": started,
                        "finished_at": now, "cursor_from": _iso(since), "cursor_to": _iso(newest),
                        "pages": pages, "rows_read": rows_read, "rows_loaded": rows_read - repeated,
                        "status": "success",
                        "error": None}])
    except Exception as exc:
        with engine.begin() as conn:
            upsert_rows(conn, extract_runs, [{
                "run_id": run_id, "source": source.name, "stream": stream_name, "started_at": started,
                "finished_at": datetime.now(UTC), "cursor_from": _iso(since), "cursor_to": _iso(cursor),
                "pages": pages, "rows_read": rows_read, "rows_loaded": 0, "status": "failed",
                "error": str(exc)[:2000]}])
        raise
    log.info("%s.%s: %d rows in %d pages, %d repeated across pages (cursor %s -> %s)", source.name, stream_name,
             rows_read - repeated, pages, repeated, _iso(cursor), _iso(newest))
    return {"source": source.name, "stream": stream_name, "rows": rows_read - repeated, "repeated": repeated,
            "pages": pages,
            "cursor_from": _iso(since), "cursor_to": _iso(newest), "state_reset": state_problem, **drift}


class DeleteGuardError(RuntimeError):
    """A reconciliation pass would tombstone too much at once: more likely an API problem than deletions."""


def tombstone(source_name: str, stream_name: str, record_ids: Iterable[str], engine: sa.Engine,
              run_id: str) -> int:
    """Mark raw records deleted at the source; returns how many live records were tombstoned."""
    ids = sorted(set(record_ids))
    key = (raw_records.c.source == source_name, raw_records.c.stream == stream_name,
           raw_records.c.is_deleted.is_(False))
    done = 0
    with engine.begin() as conn:
        now = datetime.now(UTC)
        for start in range(0, len(ids), 500):
            done += conn.execute(raw_records.update().where(*key, raw_records.c.record_id.in_(ids[start:start + 500]))
                                 .values(is_deleted=True, loaded_at=now, run_id=run_id)).rowcount
    if done:
        log.info("%s.%s: %d records deleted at the source, tombstoned", source_name, stream_name, done)
    return done


def reconcile_deletes(source: Any, stream_name: str, engine: sa.Engine, run_id: str,
                      max_share: float = 0.5) -> int:
    """Tombstone raw records whose keys the system no longer lists (for APIs with no delete feed)."""
    present = set(source.list_keys(stream_name))
    with engine.connect() as conn:
        live = set(conn.execute(sa.select(raw_records.c.record_id).where(
            raw_records.c.source == source.name, raw_records.c.stream == stream_name,
            raw_records.c.is_deleted.is_(False))).scalars())
    vanished = live - present
    if live and len(vanished) > max_share * len(live):
        raise DeleteGuardError(f"{source.name}.{stream_name}: {len(vanished)} of {len(live)} records vanished; "
                               "refusing to tombstone them all (check the API, then rerun)")
    return tombstone(source.name, stream_name, vanished, engine, run_id)


def last_successful_start(engine: sa.Engine, source: str, stream: str) -> datetime | None:
    with engine.connect() as conn:
        started = conn.execute(sa.select(sa.func.max(extract_runs.c.started_at)).where(
            extract_runs.c.source == source, extract_runs.c.stream == stream,
            extract_runs.c.status == "success")).scalar()
    return utc_datetime(started) if started else None


def extract_source(source: Any, engine: sa.Engine, run_id: str, streams: Iterable[str] | None = None,
                   lookback: timedelta = DEFAULT_LOOKBACK) -> list[dict[str, Any]]:
    source.check()
    names = list(streams) if streams else [s.name for s in source.streams]
    results = []
    for name in names:
        previous_run = last_successful_start(engine, source.name, name)
        stats = extract_stream(source, name, engine, run_id, lookback)
        if getattr(source.stream(name), "key_params", None) is not None:
            stats["tombstoned"] = reconcile_deletes(source, name, engine, run_id)
        elif hasattr(source, "read_deletes") and previous_run is not None:
            # A delete feed (QuickBooks CDC): ids deleted since the previous run began (not since its
            # cursor: a quiet month would put the newest change out of the feed's reach). When the
            # feed cannot reach that far back, compare key sets instead of missing the deletions.
            try:
                deleted = list(source.read_deletes(name, previous_run - lookback))
            except DeleteFeedGap as gap:
                log.warning("%s; reconciling %s.%s by key set instead", gap, source.name, name)
                stats["tombstoned"] = reconcile_deletes(source, name, engine, run_id)
                stats["delete_feed_gap"] = True
            else:
                stats["tombstoned"] = tombstone(source.name, name, deleted, engine, run_id)
        results.append(stats)
    return results
