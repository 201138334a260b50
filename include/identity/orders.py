"""Core orders: every order record with its customer and its amount in the reporting currency.

Written by difference, in the resolve run's transaction once `customer_sources` holds this run's
customers. Many new orders (a first run) are inserted by the database itself (INSERT … SELECT),
their amount rounded by SQL; then one query finds every order that is missing or differs from
what its record and customer say now (changed, assigned to another customer, converted at
another rate than `fx_rate`, or, inserted just now, rounded by SQL other than Decimal's
half-even would), and only those pass through Python. An incremental run that touches a few
customers so writes a few orders, not the whole table, and a first run does not carry a million
orders through Python; `run_id` on an order is the run that last wrote it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from include.warehouse import append_from_select, append_rows, fetch_dicts
from include.warehouse.schema import customer_sources, order_records, orders

REVENUE_STATUSES = ("completed", "open")
DERIVED = ("customer_id", "status", "amount", "currency", "amount_reporting", "fx_rate", "ordered_at",
           "counts_as_revenue")
# Rounded half-even, amount x rate is at most half a cent from the stored amount: SQL's own rounding
# can differ only where it is (about) half a cent off (SQLite computes in floating point: a margin).
HALF_CENT = Decimal("0.0049")
# From this many new orders on, the database inserts them itself (a first run: every order); fewer
# are converted in Python with the changed ones, which spares a scan of every order record.
SQL_INSERT_FROM = 10_000


def _rate(rates: dict[str, Decimal]) -> sa.ColumnElement:
    rate_of = {currency: sa.literal(rate, sa.Numeric(18, 8)) for currency, rate in rates.items()}
    return sa.case(rate_of, value=order_records.c.currency, else_=sa.null()) if rate_of else sa.null()


def _owner() -> sa.ColumnElement[bool]:
    """customer_sources row of an order's customer: its contact record's, or a guest order's own."""
    r, cs = order_records.c, customer_sources.c
    guest = r.contact_record_id.is_(None)
    return sa.and_(cs.source == r.source,
                   cs.stream == sa.case((guest, r.stream), else_=r.contact_stream),
                   cs.record_id == sa.case((guest, r.record_id), else_=r.contact_record_id))


def _same_order() -> sa.ColumnElement[bool]:
    r, o = order_records.c, orders.c
    return sa.and_(o.source == r.source, o.stream == r.stream, o.record_id == r.record_id)


def _insert_new(conn: sa.Connection, rates: dict[str, Decimal], run_id: str) -> None:
    """Orders not stored yet, in a currency with a rate, inserted inside the database. SQL rounds
    half away from zero (SQLite in floating point); `_stale` finds the few it rounded otherwise."""
    r, cs = order_records.c, customer_sources.c
    rate = _rate(rates)
    new = (sa.select(r.source, r.stream, r.record_id, cs.customer_id, r.status, r.amount, r.currency,
                     sa.func.round(r.amount * rate, 2), rate, r.ordered_at,
                     sa.case((r.status.in_(REVENUE_STATUSES), sa.true()), else_=sa.false()),
                     sa.literal(run_id, sa.String))
           .select_from(order_records.outerjoin(customer_sources, _owner()))
           .where(~sa.exists().where(_same_order()), rate.is_not(None)))
    columns = ["source", "stream", "record_id", "customer_id", "status", "amount", "currency", "amount_reporting",
               "fx_rate", "ordered_at", "counts_as_revenue", "run_id"]
    append_from_select(conn, orders, columns, new)


def _stale(rates: dict[str, Decimal], run_id: str) -> sa.Select:
    """Order records whose core order is missing or differs in any column, with the customer their
    contact record (or, for a guest order, the order itself) belongs to."""
    r, o, cs = order_records.c, orders.c, customer_sources.c
    rate = _rate(rates)
    differs = sa.or_(
        o.record_id.is_(None),
        o.customer_id.is_distinct_from(cs.customer_id),
        o.status.is_distinct_from(r.status),
        o.amount != r.amount,
        o.currency != r.currency,
        o.ordered_at != r.ordered_at,
        o.counts_as_revenue != r.status.in_(REVENUE_STATUSES),  # NULL status: no revenue
        rate.is_(None),  # an unknown currency reaches Python, which names it
        o.fx_rate.is_distinct_from(rate),
        sa.and_(o.run_id == run_id, sa.func.abs(o.amount_reporting - r.amount * rate) > HALF_CENT),
    )
    return (sa.select(r.source, r.stream, r.record_id, r.status, r.amount, r.currency, r.ordered_at,
                      cs.customer_id, o.record_id.label("stored_record_id"),
                      *[o[c].label(f"stored_{c}") for c in DERIVED])
            .select_from(order_records.outerjoin(customer_sources, _owner()).outerjoin(orders, _same_order()))
            .where(differs))


def core_order(record: dict[str, Any], rates: dict[str, Decimal], run_id: str) -> dict[str, Any]:
    currency = record["currency"]
    if currency not in rates:
        raise ValueError(f"order {record['source']}/{record['stream']}/{record['record_id']}: currency "
                         f"{currency!r} has no rate in mappings/currencies.yaml")
    amount = Decimal(str(record["amount"]))
    return {"source": record["source"], "stream": record["stream"], "record_id": record["record_id"],
            "customer_id": record["customer_id"], "status": record["status"], "amount": amount, "currency": currency,
            "amount_reporting": (amount * rates[currency]).quantize(Decimal("0.01")), "fx_rate": rates[currency],
            "ordered_at": record["ordered_at"], "counts_as_revenue": record["status"] in REVENUE_STATUSES,
            "run_id": run_id}


def refresh(conn: sa.Connection, rates: dict[str, Decimal], run_id: str) -> dict[str, int]:
    """Bring `orders` in line with `order_records` and `customer_sources`, writing only what differs.
    Rates are taken to 8 decimal places, as `fx_rate` stores them."""
    rates = {currency: Decimal(rate).quantize(Decimal("1e-8")).normalize() for currency, rate in rates.items()}
    o = orders.c
    removed = conn.execute(orders.delete().where(~sa.exists().where(_same_order()))).rowcount
    missing = conn.execute(sa.select(sa.func.count()).select_from(order_records)).scalar_one() - \
        conn.execute(sa.select(sa.func.count()).select_from(orders)).scalar_one()  # none stored lacks a record now
    if missing >= SQL_INSERT_FROM:
        _insert_new(conn, rates, run_id)
    rows, replaced = [], []
    stale = fetch_dicts(conn, _stale(rates, run_id))
    for record in stale:
        row = core_order(record, rates, run_id)
        if record["stored_record_id"] is not None:
            if all(row[c] == record[f"stored_{c}"] for c in DERIVED):
                continue  # a half-cent tie SQL rounded as Decimal does: as stored
            replaced.append({"key_source": row["source"], "key_stream": row["stream"], "key_record_id": row["record_id"]})
        rows.append(row)
    if replaced:
        conn.execute(orders.delete().where(o.source == sa.bindparam("key_source"), o.stream == sa.bindparam("key_stream"),
                                           o.record_id == sa.bindparam("key_record_id")), replaced)
    append_rows(conn, orders, rows)
    total, with_customer, written = conn.execute(sa.select(
        sa.func.count(), sa.func.count(o.customer_id), sa.func.count(sa.case((o.run_id == run_id, 1))))).one()
    return {"orders": total, "orders_without_customer": total - with_customer, "orders_written": written,
            "orders_converted": len(stale),  # passed through Python: what SQL alone could not settle
            "orders_removed": removed}
