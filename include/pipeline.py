"""Stage entry points: what each Airflow task calls. Each records itself in pipeline_runs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from include.warehouse import get_engine, migrate, upsert_rows
from include.warehouse.schema import pipeline_runs


@cache
def warehouse() -> sa.Engine:
    engine = get_engine()
    migrate(engine)
    return engine


def recorded(engine: sa.Engine, run_id: str, stage: str, work: Callable[[], Any]) -> Any:
    """Run one stage and record its outcome, timing and statistics in pipeline_runs."""
    started, clock = datetime.now(UTC), time.perf_counter()
    row = {"run_id": run_id, "stage": stage, "started_at": started, "finished_at": None, "status": "running",
           "stats": None}
    with engine.begin() as conn:
        upsert_rows(conn, pipeline_runs, [row])
    try:
        result = work()
    except Exception as exc:
        with engine.begin() as conn:
            upsert_rows(conn, pipeline_runs, [{**row, "finished_at": datetime.now(UTC), "status": "failed",
                                               "stats": json.dumps({"error": str(exc)[:1000]})}])
        raise
    stats = {"result": result, "seconds": round(time.perf_counter() - clock, 2)}
    with engine.begin() as conn:
        upsert_rows(conn, pipeline_runs, [{**row, "finished_at": datetime.now(UTC), "status": "success",
                                           "stats": json.dumps(stats, default=str)}])
    return result


def extract(system: str, run_id: str) -> list[dict[str, Any]]:
    from connectors import open_source
    from include.extract import extract_source

    engine = warehouse()
    return recorded(engine, run_id, f"extract_{system}", lambda: extract_source(open_source(system), engine, run_id))


def stage(run_id: str) -> dict[str, Any]:
    from include.staging import stage_all

    engine = warehouse()
    return recorded(engine, run_id, "stage", lambda: stage_all(engine, run_id))


def held(engine: sa.Engine) -> dict[str, Any] | None:
    """A stage's result when the latest staging run failed a quality gate: nothing published, reason given."""
    from include.gates import held_by

    reason = held_by(engine)
    return None if reason is None else {"held": reason}


def resolve(run_id: str) -> dict[str, Any]:
    from include.identity.resolve import resolve as resolve_identities

    engine = warehouse()
    return recorded(engine, run_id, "resolve", lambda: held(engine) or resolve_identities(engine, run_id))


def metrics(run_id: str, as_of: datetime | None = None) -> dict[str, Any]:
    from include.segments import compute_metrics

    engine = warehouse()
    return recorded(engine, run_id, "metrics", lambda: held(engine) or compute_metrics(engine, run_id, as_of))


def segments(run_id: str) -> dict[str, int]:
    from include.segments import evaluate_segments

    engine = warehouse()
    return recorded(engine, run_id, "segments", lambda: held(engine) or evaluate_segments(engine, run_id))


def push(destination: str, run_id: str) -> dict[str, Any]:
    from connectors import open_source
    from include.activation import push_mailchimp

    if destination != "mailchimp":
        raise ValueError(f"no push implemented for destination {destination!r}")
    engine = warehouse()
    return recorded(engine, run_id, f"push_{destination}",
                    lambda: held(engine) or push_mailchimp(engine, run_id, open_source(destination)))
