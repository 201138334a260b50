"""`seam mappings explain`: one raw record, what the mapping makes of it, and why it was quarantined.

Answers the question an operator asks about a missing customer: did the source send it, which
path fed each canonical field, and which rule stopped it. The mapping is applied as it is now;
the staged row and quarantine reasons are those of the last staging run.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from include.mapping import first_value, load_mapping, map_record
from include.summary import table
from include.warehouse.schema import quarantine, raw_records

MAX_SHOWN = 80


def _short(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, dict | list) else str(value)
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN]}… ({len(text)} chars)"


def explain_record(engine: sa.Engine, source: str, record_id: str, stream: str | None = None) -> str:
    mapping = load_mapping(source)
    query = sa.select(raw_records).where(raw_records.c.source == source, raw_records.c.record_id == record_id)
    if stream:
        query = query.where(raw_records.c.stream == stream)
    with engine.connect() as conn:
        raws = conn.execute(query.order_by(raw_records.c.stream)).mappings().all()
        reasons = conn.execute(sa.select(quarantine.c.stream, quarantine.c.rule, quarantine.c.column_name,
                                         quarantine.c.value_masked, quarantine.c.reason, quarantine.c.run_id)
                               .where(quarantine.c.source == source, quarantine.c.record_id == record_id)).all()
    if not raws:
        where = f"{source}.{stream}" if stream else source
        raise LookupError(f"no raw record {record_id!r} from {where}: not pulled yet, or never at the source")
    out: list[str] = []
    for raw in raws:
        out.append(f"{source}.{raw['stream']} record {record_id}: loaded {raw['loaded_at']} by run {raw['run_id']}"
                   + (" (deleted at the source: tombstone)" if raw["is_deleted"] else ""))
        if raw["stream"] not in mapping.streams:
            out += [f"  no mapping reads {source}.{raw['stream']}: the record stays in raw", ""]
            continue
        spec = mapping.streams[raw["stream"]]
        try:
            document = json.loads(raw["payload"])
        except json.JSONDecodeError:
            document = raw["payload"]
        row, problems, children = map_record(mapping, raw["stream"], document)
        rows = []
        for rule in spec.fields:
            found = rule.value if not rule.paths else first_value(document, rule.paths) if isinstance(document, dict) \
                else None
            origin = f"value {rule.value!r}" if not rule.paths else " | ".join(rule.paths)
            rows.append((rule.name, origin, rule.transform, _short(found), _short(row.get(rule.name))))
        out.append(f"mapping: mappings/{source}.yaml streams.{raw['stream']} -> entity {spec.entity}")
        out.append(table(["canonical field", "from", "transform", "raw value", "mapped value"], rows))
        for name, items in children.items():
            out.append(f"child rows -> stg_{source}__{name}: {len(items)}")
        if problems:
            out.append("problems found by the mapping now:")
            out += [f"  {'warning' if p.warning else 'QUARANTINE'} {p.rule} {p.column or ''}: {p.reason}"
                    for p in problems]
        mine = [r for r in reasons if r[0] == raw["stream"]]
        if mine:
            out.append("quarantined by the last staging run:")
            out.append(table(["rule", "column", "value (masked)", "reason", "run"], [r[1:] for r in mine]))
        elif not problems:
            out.append("not quarantined: the record is staged (or will be by the next run)")
        out.append("")
    return "\n".join(out)
