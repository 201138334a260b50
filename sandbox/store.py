"""Persistent state behind the HTTP sandboxes: one SQLite file per system, read on every request.

Each object is stored as its API JSON plus a few indexed columns (numeric id, modification time
in UTC, a filter value such as role or status), so servers filter and page in SQL and a test can
change a record while a server runs.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
  kind TEXT NOT NULL, id TEXT NOT NULL, num INTEGER, modified TEXT NOT NULL, tag TEXT, body TEXT NOT NULL,
  PRIMARY KEY (kind, id));
CREATE INDEX IF NOT EXISTS objects_modified ON objects (kind, modified, num);
CREATE INDEX IF NOT EXISTS objects_num ON objects (kind, num);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deletions (kind TEXT NOT NULL, id TEXT NOT NULL, deleted_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS deletions_time ON deletions (kind, deleted_at);
"""
SHOP_TZ = ZoneInfo("Europe/Moscow")
COMPANY_TZ = ZoneInfo("America/Los_Angeles")


def utc_key(moment: datetime) -> str:
    """Sortable UTC text used in the `modified` column."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def connect(data_dir: Path, system: str) -> sqlite3.Connection:
    conn = sqlite3.connect(Path(data_dir) / f"{system}.db", timeout=30, isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SCHEMA)
    return conn


def write_objects(data_dir: Path, system: str, rows: Iterable[tuple[str, str, int | None, str, str | None, dict]]) -> None:
    conn = connect(data_dir, system)
    with conn:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT OR REPLACE INTO objects (kind, id, num, modified, tag, body) VALUES (?, ?, ?, ?, ?, ?)",
            ((k, i, n, m, t, json.dumps(b, ensure_ascii=False)) for k, i, n, m, t, b in rows))
        conn.execute("COMMIT")
    conn.close()


def set_meta(data_dir: Path, system: str, values: dict[str, Any]) -> None:
    conn = connect(data_dir, system)
    conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                     [(k, json.dumps(v)) for k, v in values.items()])
    conn.close()


def get_meta(conn: sqlite3.Connection, key: str) -> Any:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else None


def _merge(target: dict, changes: dict) -> dict:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value
    return target


def stamp(system: str, body: dict, when: datetime) -> None:
    """Write a modification time into the record's native field(s)."""
    if system == "woocommerce":
        body["date_modified"] = when.astimezone(SHOP_TZ).strftime("%Y-%m-%dT%H:%M:%S")
        body["date_modified_gmt"] = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    elif system == "mailchimp":
        body["last_changed"] = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    elif system == "quickbooks":
        body.setdefault("MetaData", {})["LastUpdatedTime"] = when.astimezone(COMPANY_TZ).isoformat(timespec="seconds")
        body["SyncToken"] = str(int(body.get("SyncToken", "0")) + 1)


def touch(data_dir: Path, system: str, kind: str, record_id: str, changes: dict | None = None,
          when: datetime | None = None) -> dict:
    """Change a record (deep merge) and bump its modification time, as an edit at the source would."""
    when = when or datetime.now(UTC).replace(microsecond=0)
    conn = connect(data_dir, system)
    row = conn.execute("SELECT body FROM objects WHERE kind = ? AND id = ?", (kind, str(record_id))).fetchone()
    if row is None:
        conn.close()
        raise KeyError(f"{system}: no {kind} {record_id}")
    body = _merge(json.loads(row[0]), changes or {})
    stamp(system, body, when)
    tag = body.get("role") if system == "woocommerce" else body.get("status") if system == "mailchimp" else None
    conn.execute("UPDATE objects SET body = ?, modified = ?, tag = COALESCE(?, tag) WHERE kind = ? AND id = ?",
                 (json.dumps(body, ensure_ascii=False), utc_key(when), tag, kind, str(record_id)))
    conn.close()
    return body


def insert(data_dir: Path, system: str, kind: str, record_id: str, body: dict, when: datetime | None = None,
           tag: str | None = None) -> None:
    when = when or datetime.now(UTC).replace(microsecond=0)
    stamp(system, body, when)
    num = int(record_id) if str(record_id).isdigit() else None
    write_objects(data_dir, system, [(kind, str(record_id), num, utc_key(when), tag, body)])


def delete(data_dir: Path, system: str, kind: str, record_id: str, when: datetime | None = None) -> None:
    """Remove a record and log the deletion (UTC `deleted_at`), so a change feed (QuickBooks CDC) can report it."""
    when = when or datetime.now(UTC).replace(microsecond=0)
    conn = connect(data_dir, system)
    with conn:
        conn.execute("BEGIN")
        gone = conn.execute("DELETE FROM objects WHERE kind = ? AND id = ?", (kind, str(record_id))).rowcount
        if gone:
            conn.execute("INSERT INTO deletions (kind, id, deleted_at) VALUES (?, ?, ?)",
                         (kind, str(record_id), utc_key(when)))
        conn.execute("COMMIT")
    conn.close()


def deletions_since(conn: sqlite3.Connection, kind: str, since: datetime) -> list[tuple[str, str]]:
    """(id, deleted_at) of `kind` records deleted at or after `since`, oldest first."""
    return conn.execute("SELECT id, deleted_at FROM deletions WHERE kind = ? AND deleted_at >= ? "
                        "ORDER BY deleted_at, id", (kind, utc_key(since))).fetchall()


_counts: dict[tuple, int] = {}
_counts_lock = threading.Lock()


def _version(data_dir: Path, system: str) -> tuple:
    """Changes whenever the store does: every commit grows or rewrites the WAL, a checkpoint the file."""
    out = []
    for suffix in (".db", ".db-wal"):
        try:
            st = os.stat(Path(data_dir) / f"{system}{suffix}")
            out += [st.st_mtime_ns, st.st_size]
        except FileNotFoundError:
            out += [0, 0]
    return tuple(out)


def count(conn: sqlite3.Connection, data_dir: Path, system: str, where: str, args: Iterable[Any],
          first_page: bool = True) -> int:
    """COUNT(*) of a listing. Later pages reuse the first page's count until the store changes: a
    listing reports its total on every page, and counting a million index entries per page would
    make paging quadratic. The first page of a listing always counts afresh."""
    args = tuple(args)
    key = (str(data_dir), system, where, args, _version(data_dir, system))
    with _counts_lock:
        if not first_page and key in _counts:
            return _counts[key]
    total = conn.execute(f"SELECT COUNT(*) FROM objects WHERE {where}", args).fetchone()[0]
    with _counts_lock:
        if len(_counts) > 512:
            _counts.clear()
        _counts[key] = total
    return total


def page(conn: sqlite3.Connection, where: str, args: Iterable[Any], order: str, limit: int, offset: int,
         column: str = "body") -> list[Any]:
    """One LIMIT/OFFSET page; the offset is skipped inside the (covering) index, not the table."""
    sql = (f"SELECT {column} FROM objects WHERE rowid IN (SELECT rowid FROM objects WHERE {where} "
           f"ORDER BY {order} LIMIT ? OFFSET ?) ORDER BY {order}")
    return [row[0] for row in conn.execute(sql, (*args, limit, offset))]


def later(moment: datetime, seconds: int) -> datetime:
    return moment + timedelta(seconds=seconds)
