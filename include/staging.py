"""Raw -> staging -> core: map each raw record with its source's mapping, validate, quarantine failures.

Every mapped stream gets its own staging table, `stg_<source>__<stream>` (and `stg_<source>__<child>`
for child rows such as order lines), with the columns of its canonical entity (include/model.py).
Core tables hold each entity's staged records from every source (person_records, order_records, ...)
plus facts derived from them (identifiers, addresses, consents). All of it is rebuilt from raw in
one transaction per run, so a record fixed at the source leaves quarantine on the next run, and
counts reconcile per stream: raw = staged + quarantined + tombstones (+ unmapped).

A stream is read, mapped and written CHUNK raw rows at a time (memory does not grow with the
stream); each entity's row-level Great Expectations suite then runs once over every source's rows
of it (only the columns it checks), and records that fail leave their staging table for quarantine.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from connectors import SOURCES
from include import gates, model, quality
from include.drift import check_mapped_fields
from include.mapping import SourceMapping, StreamMapping, load_mapping, map_record
from include.quality import mask
from include.warehouse import replace_rows
from include.warehouse.schema import (
    addresses,
    campaigns,
    company_records,
    consents,
    email_events,
    identifiers,
    order_lines,
    order_records,
    payments,
    person_records,
    quarantine,
    raw_records,
)
from include.warehouse.writer import append_rows, replace_from_select

CORE = {"person": person_records, "company": company_records, "order": order_records,
        "order_line": order_lines, "payment": payments, "email_event": email_events, "consent": consents,
        "campaign": campaigns}
COUNTS = ("raw", "staged", "quarantined", "tombstones", "unmapped")
CHUNK = 50_000  # raw rows mapped, validated and written at a time: memory stays flat at any size
STAGING = sa.MetaData()  # staging tables are derived from the mappings, not migrated


class ReconciliationError(RuntimeError):
    """Rows went missing between raw and staging: a bug, never data to publish."""


def staging_table(source: str, name: str, entity: str, child: bool = False) -> sa.Table:
    """The staging table of one source stream (or child list), with its entity's canonical columns."""
    table_name = f"stg_{source}__{name}"
    existing = STAGING.tables.get(table_name)
    if existing is not None and existing.info.get("entity") == (entity, child):
        return existing
    if existing is not None:
        STAGING.remove(existing)
    return sa.Table(table_name, STAGING, *model.columns(entity, child), info={"entity": (entity, child)})


def ensure_table(conn: sa.Connection, table: sa.Table) -> None:
    """Create the staging table, or recreate it when the mapping moved it to another entity's shape."""
    inspector = sa.inspect(conn)
    if inspector.has_table(table.name):
        if {c["name"] for c in inspector.get_columns(table.name)} == set(table.columns.keys()):
            return
        table.drop(conn)
    table.create(conn)


@dataclass
class StagedStream:
    source: str
    stream: str
    entity: str
    table: sa.Table
    rows: list[dict[str, Any]] = field(default_factory=list)
    children: dict[str, tuple[sa.Table, str, list[dict[str, Any]]]] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)


def _reject(base: dict[str, Any], rule: str, column: str | None, value: Any, reason: str,
            now: datetime) -> dict[str, Any]:
    plain_column = column.rsplit(".", 1)[-1] if column else None
    return {**base, "rule": rule[:200], "column_name": (column or None) and column[:120],
            "value_masked": mask(plain_column, value), "reason": reason, "quarantined_at": now}


def _raw_chunks(conn: sa.Connection, source: str, stream: str, size: int) -> Iterator[list[sa.Row]]:
    """A stream's raw rows in key order, `size` at a time: each chunk one range scan of the primary key,
    fully fetched, so memory stays flat and writes may go on between chunks on the same connection."""
    r = raw_records.c
    after = ""
    while True:
        rows = conn.execute(sa.select(r.record_id, r.payload, r.is_deleted).where(
            r.source == source, r.stream == stream, r.record_id > after).order_by(r.record_id).limit(size)).all()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def _map_rows(out: StagedStream, mapping: SourceMapping, raw_rows: list[sa.Row], run_id: str, now: datetime,
              warnings: Counter) -> None:
    source, stream = out.source, out.stream
    for record_id, payload, is_deleted in raw_rows:
        out.counts["raw"] += 1
        if is_deleted:
            out.counts["tombstones"] += 1
            continue
        base = {"source": source, "stream": stream, "record_id": record_id, "run_id": run_id}
        try:
            document = json.loads(payload)
        except (json.JSONDecodeError, TypeError):
            out.rejected.append(_reject(base, "mapping:not_json", None, str(payload)[:100],
                                        "payload is not valid JSON", now))
            out.counts["quarantined"] += 1
            continue
        row, problems, children = map_record(mapping, stream, document)
        for p in problems:
            if p.warning:
                warnings[f"{source}.{stream}.{p.column}: {str(p.value)[:60]!r} unknown"] += 1
        hard = [p for p in problems if not p.warning]
        if hard:
            seen: set[str] = set()
            for p in hard:
                rule = f"mapping:{p.rule}" + (f"({p.column})" if p.column else "")
                if rule not in seen:
                    seen.add(rule)
                    out.rejected.append(_reject(base, rule, p.column, p.value, p.reason, now))
            out.counts["quarantined"] += 1
            continue
        out.rows.append({**base, **row})
        for name, items in children.items():
            out.children[name][2].extend({**base, **item} for item in items)


def _stage_stream(conn: sa.Connection, mapping: SourceMapping, spec: StreamMapping, run_id: str, now: datetime,
                  warnings: Counter, refs: dict, pending: dict) -> StagedStream:
    """Map and write one stream chunk by chunk, adding its check frames to `pending`; returns its
    counts and mapping-stage quarantine rows."""
    source, stream = mapping.source, spec.stream
    total = StagedStream(source, stream, spec.entity, staging_table(source, stream, spec.entity))
    for child in spec.children:
        total.children[child.name] = (staging_table(source, child.name, child.entity, child=True), child.entity, [])
    for table in (total.table, *(t for t, _e, _r in total.children.values())):
        ensure_table(conn, table)
        conn.execute(table.delete())
    mapped = 0
    for raw_rows in _raw_chunks(conn, source, stream, CHUNK):
        part = StagedStream(source, stream, spec.entity, total.table,
                            children={name: (t, e, []) for name, (t, e, _r) in total.children.items()})
        _map_rows(part, mapping, raw_rows, run_id, now, warnings)
        for name, entity, df in _check_frames(conn, part, refs, now):
            pending.setdefault((name, entity), []).append(df)
        append_rows(conn, part.table, part.rows)
        for table, _entity, rows in part.children.values():
            append_rows(conn, table, rows)
        mapped += len(part.rows)
        total.counts.update(part.counts)
        total.rejected += part.rejected
    total.counts["staged"] += mapped  # less what the row-level checks move to quarantine (stage_all)
    return total


def _known_refs(conn: sa.Connection, source: str, stream: str, cache: dict) -> set[str]:
    """Record ids the source has ever sent in a stream, tombstones included: an order of a customer
    deleted since is history, not a dangling reference (it stages, without a customer)."""
    if (source, stream) not in cache:
        cache[(source, stream)] = set(conn.execute(sa.select(raw_records.c.record_id).where(
            raw_records.c.source == source, raw_records.c.stream == stream)).scalars())
    return cache[(source, stream)]


def _frame(rows: list[dict[str, Any]], table: sa.Table, entity: str, child: bool) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=[c.name for c in table.columns])
    key = df["source"] + "|" + df["stream"] + "|" + df["record_id"]
    df[quality.KEY] = key + "|" + df["position"].astype(str) if child else key
    df[quality.PARENT] = key
    for f in model.ENTITIES[entity]:
        if isinstance(f.type, sa.Numeric):
            df[f.name] = pd.to_numeric(df[f.name], errors="coerce")
        elif isinstance(f.type, sa.DateTime):
            df[f.name] = pd.to_datetime(df[f.name], utc=True)
    return quality.derived_columns(entity, df)


def _check_frames(conn: sa.Connection, part: StagedStream, refs: dict, now: datetime
                  ) -> list[tuple[str, str, pd.DataFrame]]:
    """(child name or "", entity, frame) for one chunk: only the columns its suite reads,
    plus the row and parent keys, so a whole stream's checks fit in memory for one GX run."""
    out = []
    if part.rows:
        df = _frame(part.rows, part.table, part.entity, child=False)
        if "contact_record_id" in df:
            targets = {s: _known_refs(conn, part.source, s, refs) for s in df["contact_stream"].dropna().unique()}
            df["contact_ref_known"] = [
                ref is None or pd.isna(ref) or ref in targets.get(stream, ())
                for stream, ref in zip(df["contact_stream"], df["contact_record_id"], strict=True)]
        out.append(("", part.entity, df))
    for name, (table, entity, rows) in part.children.items():
        if rows:
            out.append((name, entity, _frame(rows, table, entity, child=True)))
    return [(name, entity, df[sorted({e.column for e, _ in quality.row_expectations(entity, now)}
                                     | {quality.KEY, quality.PARENT})])
            for name, entity, df in out]


def _quarantine_failures(conn: sa.Connection, staged: dict[tuple[str, str], StagedStream], pending: dict,
                         run_id: str, now: datetime) -> Counter:
    """One Great Expectations run per entity over every source's rows of it (GX's fixed cost per run is
    its metric graph); a failing row or child row moves its whole record from its staging table to
    quarantine. Returns how many records each (source, stream) lost."""
    failures: list[quality.Failure] = []
    for (name, entity), frames in pending.items():
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        found = quality.validate(df, f"stg__{entity}", quality.row_expectations(entity, now))
        failures += found if not name else [
            quality.Failure(f.parent_key, f.rule.replace("(", f"({name}.", 1), f"{name}.{f.column}", f.value,
                            f"{name}: {f.reason}", f.parent_key) for f in found]
    bad: dict[tuple[str, str], dict[str, set[str]]] = {}
    for f in failures:
        source, stream, record_id = f.parent_key.split("|", 2)
        rules = bad.setdefault((source, stream), {}).setdefault(record_id, set())
        if f.rule in rules:
            continue
        rules.add(f.rule)
        staged[(source, stream)].rejected.append({
            "source": source, "stream": stream, "record_id": record_id, "rule": f.rule[:200],
            "column_name": f.column[:120], "value_masked": f.value, "reason": f.reason, "run_id": run_id,
            "quarantined_at": now})
    moved: Counter = Counter()
    for key, records in bad.items():
        ids = sorted(records)
        stream = staged[key]
        for start in range(0, len(ids), 500):
            batch = ids[start:start + 500]
            for table in (stream.table, *(t for t, _e, _r in stream.children.values())):
                conn.execute(table.delete().where(table.c.record_id.in_(batch)))
        moved[key] = len(ids)
    return moved


def _publish_core(conn: sa.Connection, tables: dict[str, list[sa.Table]], run_id: str, now: datetime) -> None:
    """Core tables: each entity's staging tables in one, then identifiers, addresses and consents from them."""
    for entity, core in CORE.items():
        names = [c.name for c in core.columns]
        selects = [sa.select(*[t.c[n] for n in names]) for t in tables.get(entity, [])]
        replace_from_select(conn, core, names, selects)
    p = person_records.c
    id_cols = ["source", "stream", "record_id", "kind", "value", "match_key", "run_id"]
    replace_from_select(conn, identifiers, id_cols, [
        sa.select(p.source, p.stream, p.record_id, sa.literal("email"), p.email, p.email_match_key, p.run_id)
        .where(p.email.is_not(None)),
        sa.select(p.source, p.stream, p.record_id, sa.literal("phone"), p.phone, p.phone, p.run_id)
        .where(p.phone.is_not(None)),
        sa.select(p.source, p.stream, p.record_id, sa.literal("phone"), p.phone_alt, p.phone_alt, p.run_id)
        .where(p.phone_alt.is_not(None), sa.or_(p.phone.is_(None), p.phone_alt != p.phone)),
        # The record's own id in its system: what a cross-reference from another system would name.
        sa.select(p.source, p.stream, p.record_id, sa.literal("source_id"), p.record_id,
                  p.source + sa.literal(":") + p.stream + sa.literal(":") + p.record_id, p.run_id),
    ])
    address = list(model.ADDRESS_FIELDS)
    has_address = sa.or_(*[p[c].is_not(None) for c in address])
    c = company_records.c
    replace_from_select(conn, addresses, ["source", "stream", "record_id", "kind", *address, "run_id"], [
        sa.select(p.source, p.stream, p.record_id, sa.literal("primary"), *[p[n] for n in address], p.run_id)
        .where(has_address),
        sa.select(c.source, c.stream, c.record_id, sa.literal("billing"), *[c[n] for n in address], c.run_id)
        .where(sa.or_(*[c[n].is_not(None) for n in address])),
    ])
    # Each person record's stated email consent is a consent fact too (an unknown one is no fact).
    stated = sa.select(
        p.source, p.stream, p.record_id, p.stream, p.record_id, p.email, p.email_match_key, sa.literal("email"),
        p.email_consent, sa.func.coalesce(p.email_consent_at, p.source_updated_at, sa.literal(now, model.TS)),
        sa.literal(None, sa.String), p.email_consent.in_(("subscribed", "unsubscribed", "opted_out")), p.run_id,
    ).where(p.email_consent != "unknown")
    conn.execute(consents.insert().from_select([col.name for col in consents.columns], stated))


def stage_all(engine: sa.Engine, run_id: str) -> dict[str, Any]:
    """Rebuild staging, core and quarantine from raw; return reconciliation counts per source stream."""
    now = datetime.now(UTC)
    mappings = {source: load_mapping(source) for source in SOURCES}
    warnings: Counter[str] = Counter()
    counts: dict[tuple[str, str], Counter] = {}
    rejected: list[dict[str, Any]] = []
    tables: dict[str, list[sa.Table]] = {}
    refs: dict = {}
    targets: list[gates.GateTarget] = []
    with engine.begin() as conn:
        check_mapped_fields(conn, mappings)
        present = conn.execute(sa.select(raw_records.c.source, raw_records.c.stream, sa.func.count(),
                                         sa.func.sum(sa.case((raw_records.c.is_deleted, 1), else_=0)))
                               .group_by(raw_records.c.source, raw_records.c.stream)).all()
        for source, stream, raw, deleted in present:
            if source not in mappings or stream not in mappings[source].streams:
                counts[(source, stream)] = Counter(raw=raw, tombstones=deleted or 0, unmapped=raw - (deleted or 0))
        streams: dict[tuple[str, str], StagedStream] = {}
        pending: dict[tuple[str, str], list[pd.DataFrame]] = {}
        for source, mapping in mappings.items():
            for spec in mapping.streams.values():
                streams[(source, spec.stream)] = _stage_stream(conn, mapping, spec, run_id, now, warnings, refs,
                                                               pending)
        moved = _quarantine_failures(conn, streams, pending, run_id, now) if pending else Counter()
        for (source, stream), staged in streams.items():
            staged.counts["staged"] -= moved[(source, stream)]
            staged.counts["quarantined"] += moved[(source, stream)]
            tables.setdefault(staged.entity, []).append(staged.table)
            for table, entity, _rows in staged.children.values():
                tables.setdefault(entity, []).append(table)
            rejected += staged.rejected
            if staged.counts["raw"]:
                counts[(source, stream)] = staged.counts
                targets.append(gates.GateTarget(staged.table, staged.entity, source, stream))
                targets += [gates.GateTarget(table, entity, source, stream)
                            for table, entity, _rows in staged.children.values()]
        _publish_core(conn, tables, run_id, now)
        replace_rows(conn, quarantine, rejected)
    reconciliation = [{"source": s, "stream": st, **{k: c[k] for k in COUNTS}} for (s, st), c in sorted(counts.items())]
    for item in reconciliation:
        accounted = item["staged"] + item["quarantined"] + item["tombstones"] + item["unmapped"]
        if accounted != item["raw"]:
            raise ReconciliationError(f"counts do not reconcile for {item['source']}.{item['stream']}: {item}")
    reasons = Counter(r["reason"] for r in rejected)
    verdict = gates.check(engine, targets, run_id, now)
    return {"reconciliation": reconciliation, "top_reasons": reasons.most_common(5), "gates": verdict,
            "warnings": dict(warnings.most_common(10)),
            "staging_tables": sorted(t.name for ts in tables.values() for t in ts)}
