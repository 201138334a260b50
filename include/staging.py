"""Raw -> staging: map every raw record with its source's mapping, validate, quarantine failures.

Staging is rebuilt from raw in one transaction each run, so a record fixed at the source leaves
quarantine on the next run, and counts reconcile: raw = staged + quarantined + tombstones.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from connectors import SOURCES
from include import quality
from include.drift import check_mapped_fields
from include.mapping import load_mapping, map_record
from include.normalise import email_match_key
from include.quality import mask
from include.warehouse import replace_rows
from include.warehouse.schema import quarantine, raw_records, stg_contacts, stg_orders

TARGETS = {"contact": stg_contacts, "order": stg_orders}


class ReconciliationError(RuntimeError):
    """Rows went missing between raw and staging: a bug, never data to publish."""


def _key(source: str, stream: str, record_id: str) -> str:
    return f"{source}|{stream}|{record_id}"


def map_raw(engine: sa.Engine, run_id: str) -> dict[str, Any]:
    """Map all current raw rows; returns candidate staging rows, mapping-stage quarantine and counts."""
    rows: dict[str, list[dict[str, Any]]] = {"contact": [], "order": []}
    rejected: list[dict[str, Any]] = []
    counts: Counter[tuple[str, str, str]] = Counter()
    warnings: Counter[str] = Counter()
    now = datetime.now(UTC)
    mappings = {source: load_mapping(source) for source in SOURCES}
    with engine.connect() as conn:
        check_mapped_fields(conn, mappings)
    query = sa.select(raw_records.c.source, raw_records.c.stream, raw_records.c.record_id,
                      raw_records.c.payload, raw_records.c.is_deleted)
    with engine.connect() as conn:
        for source, stream, record_id, payload, is_deleted in conn.execute(query).yield_per(5000):
            counts[(source, stream, "raw")] += 1
            if is_deleted:
                counts[(source, stream, "tombstones")] += 1
                continue
            mapping = mappings.get(source)
            if mapping is None or stream not in mapping.streams:
                counts[(source, stream, "unmapped")] += 1
                continue
            entity = mapping.streams[stream].entity
            try:
                document = json.loads(payload)
            except json.JSONDecodeError:
                document = payload
            row, problems = map_record(mapping, stream, document)
            hard = [p for p in problems if not p.warning]
            for p in problems:
                if p.warning:
                    warnings[f"{source}.{stream}.{p.column}: {p.value!r} unknown"] += 1
            base = {"source": source, "stream": stream, "record_id": record_id, "run_id": run_id}
            if hard:
                rejected.extend({**base, "rule": f"mapping:{p.rule}", "column_name": p.column,
                                 "value_masked": mask(p.column, p.value), "reason": p.reason,
                                 "quarantined_at": now} for p in hard)
                counts[(source, stream, "quarantined")] += 1
                continue
            row = {**dict.fromkeys(TARGETS[entity].columns.keys()), **base, **row}
            row["email_match_key"] = email_match_key(row.get("email"))
            rows[entity].append(row)
    return {"rows": rows, "rejected": rejected, "counts": counts, "warnings": warnings, "now": now}


def _contacts_frame(contacts: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(contacts, columns=[c.name for c in stg_contacts.columns])
    df[quality.KEY] = df["source"] + "|" + df["stream"] + "|" + df["record_id"]
    df["identity_present"] = df["email"].notna() | df["phone"].notna() | df["phone_alt"].notna() | (
        df["first_name"].notna() & df["last_name"].notna())
    return df


def _orders_frame(orders: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(orders, columns=[c.name for c in stg_orders.columns])
    df[quality.KEY] = df["source"] + "|" + df["stream"] + "|" + df["record_id"]
    df["amount"] = df["amount"].astype(float)
    return df


def stage_all(engine: sa.Engine, run_id: str) -> dict[str, Any]:
    """Rebuild staging and quarantine from raw; return reconciliation counts per source stream."""
    mapped = map_raw(engine, run_id)
    counts: Counter = mapped["counts"]
    rejected: list[dict[str, Any]] = mapped["rejected"]
    staged: dict[str, list[dict[str, Any]]] = {}
    for entity, frame, expectations, suite in (
        ("contact", _contacts_frame, quality.contact_expectations, "stg_contacts"),
        ("order", _orders_frame, quality.order_expectations, "stg_orders"),
    ):
        rows = mapped["rows"][entity]
        failures = quality.validate(frame(rows), suite, expectations()) if rows else []
        failed_keys = {f.row_key for f in failures}
        for f in failures:
            source, stream, record_id = f.row_key.split("|", 2)
            rejected.append({"source": source, "stream": stream, "record_id": record_id, "rule": f.rule,
                             "column_name": f.column, "value_masked": f.value, "reason": f.reason,
                             "run_id": run_id, "quarantined_at": mapped["now"]})
        staged[entity] = []
        for row in rows:
            key = _key(row["source"], row["stream"], row["record_id"])
            bucket = "quarantined" if key in failed_keys else "staged"
            counts[(row["source"], row["stream"], bucket)] += 1
            if bucket == "staged":
                staged[entity].append(row)
    with engine.begin() as conn:
        replace_rows(conn, stg_contacts, staged["contact"])
        replace_rows(conn, stg_orders, staged["order"])
        replace_rows(conn, quarantine, rejected)
    streams = sorted({(s, st) for s, st, _ in counts})
    reconciliation = [
        {"source": s, "stream": st, **{k: counts[(s, st, k)] for k in
                                       ("raw", "staged", "quarantined", "tombstones", "unmapped")}}
        for s, st in streams
    ]
    for item in reconciliation:
        accounted = item["staged"] + item["quarantined"] + item["tombstones"] + item["unmapped"]
        if accounted != item["raw"]:
            raise ReconciliationError(f"counts do not reconcile for {item['source']}.{item['stream']}: {item}")
    reasons = Counter(r["reason"] for r in rejected)
    return {"reconciliation": reconciliation, "top_reasons": reasons.most_common(5),
            "warnings": dict(mapped["warnings"].most_common(10))}
