"""The run summary printed by `seam run` / `make demo`, read back from the warehouse."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from include.warehouse.schema import extract_runs, pipeline_runs, quarantine


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(isinstance(row[i], int | float) or row[i] is None for row in rows) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in cells]
    lines = [line.rstrip() for line in lines]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def latest_stages(conn: sa.Connection, since: datetime | None = None) -> dict[str, dict[str, Any]]:
    query = sa.select(pipeline_runs).order_by(pipeline_runs.c.started_at)
    if since is not None:
        query = query.where(pipeline_runs.c.started_at >= since)
    stages: dict[str, dict[str, Any]] = {}
    for row in conn.execute(query).mappings():
        stats = json.loads(row["stats"]) if row["stats"] else {}
        stages[row["stage"]] = {**dict(row), "stats": stats}
    return stages


def render(engine: sa.Engine, since: datetime | None = None) -> str:
    with engine.connect() as conn:
        stages = latest_stages(conn, since)
        pulled = conn.execute(sa.select(extract_runs.c.source, extract_runs.c.stream, extract_runs.c.rows_loaded,
                                        extract_runs.c.pages, extract_runs.c.status, extract_runs.c.cursor_to)
                              .where(extract_runs.c.run_id.in_([s["run_id"] for k, s in stages.items()
                                                                if k.startswith("extract_")]))
                              .order_by(extract_runs.c.source, extract_runs.c.stream)).all()
        reasons = conn.execute(sa.select(quarantine.c.source, quarantine.c.reason, sa.func.count())
                               .group_by(quarantine.c.source, quarantine.c.reason)
                               .order_by(sa.func.count().desc()).limit(8)).all()
    out = ["", "Rows pulled (this run)", table(["source.stream", "rows", "pages", "status", "cursor now"],
                                               [(f"{s}.{st}", n, p, status, c) for s, st, n, p, status, c in pulled])]
    notes = [(f"{r['source']}.{r['stream']}", note)
             for key, stage in stages.items() if key.startswith("extract_")
             for r in stage["stats"].get("result") or [] if isinstance(r, dict)
             for note in ([f"new field(s): {', '.join(r['new_fields'])}"] if r.get("new_fields") else [])
             + ([f"field(s) stopped arriving: {', '.join(r['vanished_fields'])}"] if r.get("vanished_fields") else [])
             + ([r["state_reset"]] if r.get("state_reset") else [])]
    if notes:
        out += ["", "Source schema and state changes", table(["source.stream", "change"], notes)]
    stage_stats = stages.get("stage", {}).get("stats", {}).get("result", {})
    recon = stage_stats.get("reconciliation", [])
    out += ["", "Staging reconciliation (raw = staged + quarantined + tombstones + unmapped; unmapped streams "
            "stay in raw until a mapping reads them; each stream is staged in stg_<source>__<stream>)",
            table(["source.stream", "raw", "staged", "quarantined", "tombstones", "unmapped"],
                  [(f"{r['source']}.{r['stream']}", r["raw"], r["staged"], r["quarantined"], r["tombstones"],
                    r.get("unmapped", 0)) for r in recon])]
    if reasons:
        out += ["", "Top quarantine reasons", table(["source", "reason", "rows"], reasons)]
    if stage_stats.get("warnings"):
        out += ["", "Unknown values reported (the row loaded without them)",
                table(["source.stream.field: value", "rows"], sorted(stage_stats["warnings"].items()))]
    verdict = stage_stats.get("gates")
    if verdict:
        out += ["", f"Quality gates: {verdict['checks']} table-level checks, {len(verdict['failed'])} failed"]
        out += [f"  FAILED {line}" for line in verdict["failed"]]
    held = next((v["stats"]["result"]["held"] for v in stages.values()
                 if isinstance(v["stats"].get("result"), dict) and v["stats"]["result"].get("held")), None)
    if held:
        out += ["", "PUBLICATION HELD: customers, metrics, segments and pushes kept their previous good state.",
                f"  {held}"]
    resolved = stages.get("resolve", {}).get("stats", {}).get("result", {})
    if resolved and "held" not in resolved:
        out += ["", "Identity resolution", table(["measure", "value"], [
            ("source contact records", resolved["contact_records"]),
            ("guest orders (buyer known by billing details)", resolved["guest_orders"]),
            ("unified customers", resolved["customers"]),
            ("  of which known only from guest orders", resolved["customers_from_guest_orders_only"]),
            ("duplicate contact records merged", resolved["duplicates_merged"]),
            ("customers in 2+ sources", resolved["multi_source_customers"]),
            ("largest cluster (contact records)", resolved["largest_cluster"]),
            ("links by rule", ", ".join(f"{k} {v}" for k, v in sorted(resolved.get("links_by_rule", {}).items()))),
            ("links refused by guards", ", ".join(f"{k} {v}" for k, v in resolved.get("refused_links", {}).items())
             or "none"),
            ("shared or junk identifiers taken out", resolved.get("identifiers_taken_out", 0)),
            ("run mode / records scored", f"{resolved.get('mode')} / {resolved.get('records_rescored')}"),
            ("customer id changes", ", ".join(f"{k} {v}" for k, v in resolved.get("id_changes", {}).items()) or "none"),
            ("companies / people linked to one", f"{resolved.get('companies', {}).get('companies', 0)} / "
                                                 f"{resolved.get('companies', {}).get('people_linked', 0)}"),
            ("orders / without customer", f"{resolved['orders']} / {resolved['orders_without_customer']}"),
        ])]
    sizes = stages.get("segments", {}).get("stats", {}).get("result", {})
    if sizes and "held" not in sizes:
        out += ["", "Segments", table(["segment", "members"], sorted(sizes.items()))]
    pushes = [(k.removeprefix("push_"), v["stats"].get("result", {})) for k, v in stages.items()
              if k.startswith("push_") and "held" not in (v["stats"].get("result") or {})]
    if pushes:
        out += ["", "Pushed to destinations", table(
            ["destination", "to tag", "added", "removed", "unchanged", "failed", "opted out", "not subscribed"],
            [(d, p.get("wanted"), p.get("added"), p.get("removed"), p.get("unchanged"), p.get("failed"),
              p.get("skipped_opted_out"), p.get("skipped_not_subscribed")) for d, p in pushes])]
    out += ["", "Wall time per stage", table(["stage", "status", "seconds"],
                                            [(k, v["status"], v["stats"].get("seconds")) for k, v in stages.items()])]
    return "\n".join(out)
