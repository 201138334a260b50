"""Table-level quality gates over each staging table, as Great Expectations suites (mappings/quality.yaml).

Row-level rules quarantine single records; these guard whole tables against what no single row
shows: a row count that collapsed or exploded against the last accepted run, a column that
suddenly went empty, identifiers that stopped being distinct, a stream that was not extracted
recently. A failed gate holds publication of core customers and marts for the run (the previous
good ones stay in place) and says why in the run report; `seam quality accept TABLE` records an
intended change in size as the new baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from include.config import load_yaml
from include.warehouse import upsert_rows
from include.warehouse.schema import extract_runs, quality_gates

ROW_COUNT = "row_count"
ACCEPTED = "accepted-"  # run id prefix of an operator's baseline


@dataclass(frozen=True)
class GateTarget:
    table: sa.Table
    entity: str
    source: str
    stream: str


def _config() -> dict[str, Any]:
    return load_yaml("quality.yaml")


def _rules(config: dict[str, Any], target: GateTarget) -> dict[str, Any]:
    rules = dict(config.get("entities", {}).get(target.entity) or {})
    for key, value in ((config.get("tables") or {}).get(target.table.name) or {}).items():
        rules[key] = {**rules.get(key, {}), **value} if isinstance(value, dict) else value
    return rules


def baseline(conn: sa.Connection, table_name: str, run_id: str) -> int | None:
    """Row count of the table at its last passed (or accepted) row-count check before this run."""
    g = quality_gates.c
    value = conn.execute(sa.select(g.observed).where(
        g.table_name == table_name, g.check_name == ROW_COUNT, g.passed.is_(True), g.run_id != run_id)
        .order_by(g.checked_at.desc()).limit(1)).scalar()
    return int(value) if value else None


def _expectations(target: GateTarget, rules: dict[str, Any], config: dict[str, Any], previous: int | None,
                  now: datetime) -> list[tuple[Any, str, str, str]]:
    """(expectation, check name, expected, message on failure) for one table."""
    import great_expectations as gx

    e = gx.expectations
    out = []
    change = config.get("row_count") or {}
    if previous is not None and previous >= change.get("min_rows_for_change_check", 20):
        low = math.ceil(previous * (1 - change.get("max_drop", 0.5)))
        high = math.floor(previous * change.get("max_growth", 10.0))
        out.append((e.ExpectTableRowCountToBeBetween(min_value=low, max_value=high), ROW_COUNT,
                    f"{low}..{high} (last accepted {previous})",
                    f"row count left {low}..{high}; last accepted run had {previous}. If the change is real, "
                    f"`seam quality accept {target.table.name}`"))
    for column, share in (rules.get("min_filled") or {}).items():
        out.append((e.ExpectColumnValuesToNotBeNull(column=column, mostly=share), f"filled:{column}",
                    f">= {share:.0%} filled", f"{column} is filled in fewer than {share:.0%} of rows"))
    for column, share in (rules.get("min_distinct") or {}).items():
        out.append((e.ExpectColumnProportionOfUniqueValuesToBeBetween(column=column, min_value=share),
                    f"distinct:{column}", f">= {share:.0%} distinct",
                    f"fewer than {share:.0%} of the {column} values are distinct (one value repeated across rows?)"))
    return out


def _freshness(conn: sa.Connection, target: GateTarget, hours: float, now: datetime) -> tuple[bool, str, str]:
    r = extract_runs.c
    last = conn.execute(sa.select(sa.func.max(r.finished_at)).where(
        r.source == target.source, r.stream == target.stream, r.status == "success")).scalar()
    if isinstance(last, str):
        last = datetime.fromisoformat(last)
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    ok = last is not None and last >= now - timedelta(hours=hours)
    return ok, "never" if last is None else last.isoformat(timespec="seconds"), \
        f"last successful extract of {target.source}.{target.stream} is older than {hours:g} h"


def check(engine: sa.Engine, targets: list[GateTarget], run_id: str, now: datetime) -> dict[str, Any]:
    """Run every table's gates, record them in quality_gates, and return the failures."""
    import great_expectations as gx

    from include.quality import gx_batch

    config = _config()
    rows: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for target in targets:
            rules = _rules(config, target)
            previous = baseline(conn, target.table.name, run_id)
            exps = _expectations(target, rules, config, previous, now)
            columns = sorted({exp.column for exp, *_ in exps if hasattr(exp, "column")})
            df = pd.read_sql(sa.select(*[target.table.c[c] for c in columns] or [sa.literal(1).label("one")]),
                             conn)
            count = len(df)
            results = {}
            if exps and count:
                name = f"gates_{target.table.name}"
                batch = gx_batch(name, df)
                suite = gx.ExpectationSuite(name=name, expectations=[exp for exp, *_ in exps])
                outcome = batch.validate(suite)
                results = {res.expectation_config.type + str(res.expectation_config.kwargs.get("column")): res
                           for res in outcome.results}
            for exp, check_name, expected, message in exps:
                res = results.get(exp.expectation_type + str(getattr(exp, "column", None)))
                if res is not None:
                    passed = bool(res.success)
                else:  # an empty table: GX has no batch to run on; only a row count can fail
                    passed = check_name != ROW_COUNT or exp.min_value is None or exp.min_value <= 0
                observed = str(count) if check_name == ROW_COUNT else _observed(res)
                rows.append(_row(run_id, target.table.name, check_name, passed, observed, expected, message, now))
            if not any(r["check_name"] == ROW_COUNT and r["table_name"] == target.table.name for r in rows):
                rows.append(_row(run_id, target.table.name, ROW_COUNT, True, str(count), "first run: baseline", "",
                                 now))
            hours = rules.get("fresh_within_hours", (config.get("freshness") or {}).get("max_age_hours"))
            if hours:
                ok, observed, message = _freshness(conn, target, float(hours), now)
                rows.append(_row(run_id, target.table.name, "freshness", ok, observed, f"<= {hours} h old", message,
                                 now))
    with engine.begin() as conn:
        conn.execute(quality_gates.delete().where(quality_gates.c.run_id == run_id))
        upsert_rows(conn, quality_gates, rows)
    failed = [f"{r['table_name']}: {r['message']} (observed {r['observed']}, expected {r['expected']})"
              for r in rows if not r["passed"]]
    return {"checks": len(rows), "failed": failed}


def _observed(result: Any) -> str:
    if result is None:
        return ""
    data = result.result or {}
    if "unexpected_percent" in data and data.get("unexpected_percent") is not None:
        return f"{100 - data['unexpected_percent']:.1f}% filled"
    value = data.get("observed_value")
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _row(run_id: str, table: str, check_name: str, passed: bool, observed: str, expected: str, message: str,
         now: datetime) -> dict[str, Any]:
    return {"run_id": run_id, "table_name": table, "check_name": check_name, "passed": passed,
            "observed": observed[:200], "expected": expected[:200], "message": "" if passed else message,
            "checked_at": now}


def held_by(engine: sa.Engine) -> str | None:
    """Why publication is held: the failed gates of the latest staging run, or None when it may proceed."""
    g = quality_gates.c
    with engine.connect() as conn:
        latest = conn.execute(sa.select(g.run_id).where(g.run_id.not_like(f"{ACCEPTED}%"))
                              .order_by(g.checked_at.desc()).limit(1)).scalar()
        if latest is None:
            return None
        failed = conn.execute(sa.select(g.table_name, g.message).where(
            g.run_id == latest, g.passed.is_(False)).order_by(g.table_name, g.check_name)).all()
    if not failed:
        return None
    return (f"publication held by quality gates of staging run {latest}: "
            + "; ".join(f"{table}: {message}" for table, message in failed))


def accept(engine: sa.Engine, table_name: str, now: datetime) -> int:
    """Record the table's current size as the accepted row-count baseline; returns that size."""
    with engine.begin() as conn:
        if not sa.inspect(conn).has_table(table_name):
            raise ValueError(f"no table {table_name!r} in the warehouse")
        count = conn.execute(sa.text(f'SELECT COUNT(*) FROM "{table_name}"')).scalar_one()
        upsert_rows(conn, quality_gates, [_row(f"{ACCEPTED}{now:%Y%m%dT%H%M%S}", table_name, ROW_COUNT, True,
                                               str(count), "accepted by an operator", "", now)])
    return int(count)
