"""Metrics mart and declarative segments (mappings/segments.yaml), evaluated in the warehouse."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pandas as pd
import sqlalchemy as sa

from include.config import MAPPINGS_DIR, ConfigError, load_yaml
from include.warehouse import replace_rows
from include.warehouse.schema import customer_metrics, customers, orders, segment_members

OPS = {"=": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge, "<": operator.lt,
       "<=": operator.le}
SET_OPS = {"in", "not_in"}
NULL_OPS = {"is_null", "not_null"}


@dataclass(frozen=True)
class Push:
    destination: str
    tag: str


@dataclass(frozen=True)
class Segment:
    name: str
    description: str
    where: tuple[tuple[str, str, Any], ...]
    push: tuple[Push, ...]

    def condition(self) -> sa.ColumnElement[bool]:
        parts = []
        for field, op, value in self.where:
            column = customer_metrics.c[field]
            if op in OPS:
                parts.append(OPS[op](column, value))
            elif op == "in":
                parts.append(column.in_(value))
            elif op == "not_in":
                parts.append(column.not_in(value))
            else:
                parts.append(column.is_(None) if op == "is_null" else column.is_not(None))
        return sa.and_(sa.true(), *parts)


@cache
def load_segments() -> tuple[Segment, ...]:
    doc = load_yaml("segments.yaml")
    path = MAPPINGS_DIR / "segments.yaml"
    segments, seen = [], set()
    for i, spec in enumerate(doc.get("segments") or []):
        where = f"{path}: segments[{i}]"
        name = spec.get("name")
        if not name or name in seen:
            raise ConfigError(f"{where}: every segment needs a unique name (got {name!r})")
        seen.add(name)
        conditions = []
        for cond in spec.get("where") or []:
            field, op = cond.get("field"), cond.get("op")
            if field not in customer_metrics.c:
                raise ConfigError(f"{where} ({name}): unknown field {field!r}; "
                                  f"fields: {sorted(customer_metrics.c.keys())}")
            if op not in OPS and op not in SET_OPS and op not in NULL_OPS:
                raise ConfigError(f"{where} ({name}): unknown op {op!r}")
            if op in SET_OPS and not isinstance(cond.get("value"), list):
                raise ConfigError(f"{where} ({name}): op {op} needs a list value")
            conditions.append((field, op, cond.get("value")))
        pushes = tuple(Push(p["destination"], p["tag"]) for p in spec.get("push") or [])
        segments.append(Segment(name, spec.get("description", ""), tuple(conditions), pushes))
    return tuple(segments)


def compute_metrics(engine: sa.Engine, run_id: str, as_of: datetime | None = None) -> dict[str, Any]:
    as_of = as_of or datetime.now(UTC)
    with engine.connect() as conn:
        people = pd.read_sql(sa.select(customers.c.customer_id, customers.c.email_consent, customers.c.can_email),
                             conn)
        sales = pd.read_sql(sa.select(orders.c.customer_id, orders.c.amount_reporting, orders.c.ordered_at)
                            .where(orders.c.counts_as_revenue, orders.c.customer_id.is_not(None)), conn)
    sales["ordered_at"] = pd.to_datetime(sales["ordered_at"], utc=True)
    sales["amount_reporting"] = sales["amount_reporting"].astype(float)
    grouped = sales.groupby("customer_id").agg(
        orders_count=("ordered_at", "size"), revenue=("amount_reporting", "sum"),
        first_order_at=("ordered_at", "min"), last_order_at=("ordered_at", "max"))
    metrics = people.set_index("customer_id").join(grouped, how="left")
    rows = []
    for customer_id, m in metrics.iterrows():
        count = 0 if pd.isna(m["orders_count"]) else int(m["orders_count"])
        first, last = (m["first_order_at"], m["last_order_at"]) if count else (None, None)
        rows.append({
            "customer_id": customer_id, "orders_count": count, "revenue": round(float(m["revenue"] or 0), 2)
            if count else 0.0,
            "first_order_at": first.to_pydatetime() if count else None,
            "last_order_at": last.to_pydatetime() if count else None,
            "days_since_last_order": (as_of - last.to_pydatetime()).days if count else None,
            "avg_days_between_orders": (last - first).days / (count - 1) if count > 1 else None,
            "email_consent": m["email_consent"], "can_email": bool(m["can_email"]), "as_of": as_of,
            "run_id": run_id})
    with engine.begin() as conn:
        replace_rows(conn, customer_metrics, rows)
    return {"customers": len(rows), "buyers": int(sum(1 for r in rows if r["orders_count"]))}


def evaluate_segments(engine: sa.Engine, run_id: str) -> dict[str, int]:
    sizes: dict[str, int] = {}
    with engine.begin() as conn:
        conn.execute(segment_members.delete())
        for segment in load_segments():
            members = conn.execute(sa.select(customer_metrics.c.customer_id).where(segment.condition())).scalars()
            rows = [{"segment": segment.name, "customer_id": cid, "run_id": run_id} for cid in members]
            replace_rows(conn, segment_members, rows, where=segment_members.c.segment == segment.name)
            sizes[segment.name] = len(rows)
    return sizes
