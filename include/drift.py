"""Schema drift: which fields a stream's records carry, and what changed in the latest run.

A new field is harmless (raw keeps the whole payload) but worth telling the operator about. A
field that used to arrive in nearly every record and is absent from a whole run means a mapped
value would silently turn into nulls; staging refuses to run on it with a named error instead.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from include.warehouse import upsert_rows
from include.warehouse.schema import stream_schemas

MIN_RECORDS = 20  # runs smaller than this say nothing about a field being gone
USUAL_PRESENCE = 0.9  # "usually present": carried by at least this share of records so far


class SchemaDriftError(RuntimeError):
    """A field the mappings read stopped arriving from the source."""


def field_paths(record: Any) -> set[str]:
    """Top-level keys and one level below (billing.phone), which is where mappings look."""
    if not isinstance(record, dict):
        return set()
    paths = set(record)
    for key, value in record.items():
        if isinstance(value, dict):
            paths.update(f"{key}.{sub}" for sub in value)
    return paths


class FieldCounter:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.records = 0

    def add(self, record: Any) -> None:
        self.records += 1
        self.counts.update(field_paths(record))


def record_drift(conn: sa.Connection, source: str, stream: str, seen: FieldCounter, run_id: str,
                 now: datetime) -> dict[str, list[str]]:
    """Compare this run's fields with the stream's history, store the new history, return the changes."""
    row = conn.execute(sa.select(stream_schemas).where(stream_schemas.c.source == source,
                                                       stream_schemas.c.stream == stream)).mappings().first()
    before: Counter[str] = Counter(json.loads(row["field_counts"])) if row else Counter()
    records_before = row["records"] if row else 0
    new = sorted(set(seen.counts) - set(before)) if records_before else []
    vanished = sorted(
        f for f, n in before.items()
        if records_before >= MIN_RECORDS and n / records_before >= USUAL_PRESENCE
        and seen.records >= MIN_RECORDS and not seen.counts.get(f)
    )
    if not seen.records and row:  # nothing changed at the source: keep the last verdict
        return {"new_fields": [], "vanished_fields": json.loads(row["vanished_fields"] or "[]")}
    upsert_rows(conn, stream_schemas, [{
        "source": source, "stream": stream, "field_counts": json.dumps(dict(before + seen.counts), sort_keys=True),
        "records": records_before + seen.records, "new_fields": json.dumps(new),
        "vanished_fields": json.dumps(vanished), "updated_at": now, "run_id": run_id}])
    return {"new_fields": new, "vanished_fields": vanished}


def check_mapped_fields(conn: sa.Connection, mappings: dict[str, Any]) -> None:
    """Raise SchemaDriftError naming every mapped field that stopped arriving, before anything is staged."""
    problems = []
    for source, stream, vanished in conn.execute(sa.select(
            stream_schemas.c.source, stream_schemas.c.stream, stream_schemas.c.vanished_fields)):
        gone = set(json.loads(vanished or "[]"))
        mapping = mappings.get(source)
        if not gone or mapping is None or stream not in mapping.streams:
            continue
        for rule in mapping.streams[stream].fields:
            for path in rule.paths:
                parts = str(path).split(".")
                hit = next((p for p in (parts[0], ".".join(parts[:2])) if p in gone), None)
                if hit:
                    problems.append(f"{source}.{stream}: field '{hit}' no longer arrives from the source "
                                    f"(mappings/{source}.yaml streams.{stream}.fields.{rule.name} reads '{path}')")
    if problems:
        raise SchemaDriftError("schema drift, staging stopped: " + "; ".join(problems))
