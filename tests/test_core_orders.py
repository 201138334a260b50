"""Core orders written by difference in the resolve run (SQLite and PostgreSQL): each order gets
its customer and its reporting amount, and a run writes only the orders that differ from what is
stored: new ones, changed ones, those whose customer changed, those priced at another rate."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from include.identity import orders as core_orders
from include.identity.resolve import resolve
from include.warehouse import append_rows
from include.warehouse.schema import customer_sources, order_records, orders, person_records
from tests.test_identity import person, seed_people

T1 = datetime(2026, 3, 1, 12, tzinfo=UTC)
RATES = {"RUB": Decimal("1"), "USD": Decimal("92.5")}


def order(rid, amount, currency="RUB", contact=None, status="completed", **extra):
    row = {c.name: None for c in order_records.columns}
    return row | {"source": "woocommerce", "stream": "orders", "record_id": rid, "kind": "order",
                  "contact_stream": "customers" if contact else None, "contact_record_id": contact,
                  "status": status, "amount": Decimal(amount), "currency": currency, "ordered_at": T1,
                  "run_id": "stage-1", **extra}


@pytest.fixture
def rates(monkeypatch):
    """The rates resolve reads from mappings/currencies.yaml, replaceable by a test."""
    current = dict(RATES)
    real = core_orders.refresh
    monkeypatch.setattr(core_orders, "refresh", lambda conn, _rates, run_id: real(conn, current, run_id))
    return current


def seed_orders(engine, rows):
    with engine.begin() as conn:
        conn.execute(order_records.delete())
        append_rows(conn, order_records, rows)


def stored_orders(engine):
    with engine.connect() as conn:
        return {r.record_id: r for r in conn.execute(sa.select(orders))}


def customer_of(engine, source, record_id):
    with engine.connect() as conn:
        return conn.execute(sa.select(customer_sources.c.customer_id).where(
            customer_sources.c.source == source, customer_sources.c.record_id == record_id)).scalar_one()


PEOPLE = [person("woocommerce", "1", "Анна", "Смирнова", "anna.smirnova@mail.ru", "+79161234567"),
          person("woocommerce", "2", "Boris", "Petrov", "boris.petrov@yandex.ru", "+79031112233"),
          person("legacy_crm", "c-9", "Boris", "Petrov", None, "+79035556677", stream="contacts")]
ORDERS = [order("o1", "1000.00", contact="1"),
          order("o2", "10.05", "USD", contact="2", status="cancelled"),
          order("o3", "0.10", "USD", contact="404"),  # its customer record never reached staging
          order("g1", "50.00", first_name="Vera", last_name="Guest", email="vera.guest@mail.ru")]  # a guest


def test_orders_get_their_customer_and_reporting_amount(engine, no_overrides, rates):
    seed_people(engine, PEOPLE)
    seed_orders(engine, ORDERS)
    stats = resolve(engine, "run-1")
    got = stored_orders(engine)
    assert got["o1"].customer_id == customer_of(engine, "woocommerce", "1")
    assert got["g1"].customer_id == customer_of(engine, "woocommerce", "g1")  # a customer of its own
    assert got["o3"].customer_id is None
    assert got["o2"].amount_reporting == Decimal("929.62")  # 929.625 rounded half-even
    assert got["o2"].counts_as_revenue is False and got["o1"].counts_as_revenue is True
    assert got["o3"].amount_reporting == Decimal("9.25")
    assert {k: stats[k] for k in ("orders", "orders_without_customer", "orders_written", "orders_removed")} == {
        "orders": 4, "orders_without_customer": 1, "orders_written": 4, "orders_removed": 0}


def test_a_run_writes_only_the_orders_that_differ(engine, no_overrides, rates):
    seed_people(engine, PEOPLE)
    seed_orders(engine, ORDERS)
    resolve(engine, "run-1")
    stats = resolve(engine, "run-2")
    assert stats["orders_written"] == 0 and stats["orders_removed"] == 0
    assert {o.run_id for o in stored_orders(engine).values()} == {"run-1"}

    # an order changes, one is deleted at the source, one is new
    with engine.begin() as conn:
        conn.execute(order_records.update().where(order_records.c.record_id == "o1").values(status="refunded"))
        conn.execute(order_records.delete().where(order_records.c.record_id == "o3"))
        append_rows(conn, order_records, [order("o4", "7.00", contact="1")])
    stats = resolve(engine, "run-3")
    got = stored_orders(engine)
    assert (stats["orders_written"], stats["orders_removed"], stats["orders"]) == (2, 1, 4)
    assert set(got) == {"o1", "o2", "o4", "g1"}
    assert (got["o1"].status, got["o1"].counts_as_revenue, got["o1"].run_id) == ("refunded", False, "run-3")
    assert got["o4"].customer_id == got["o1"].customer_id and got["o2"].run_id == "run-1"


def test_an_order_follows_its_contact_into_another_customer(engine, no_overrides, rates):
    seed_people(engine, PEOPLE)
    seed_orders(engine, [*ORDERS, order("o5", "3.00", contact="c-9", source="legacy_crm", stream="orders",
                                         contact_stream="contacts")])
    resolve(engine, "run-1")
    before = stored_orders(engine)["o5"].customer_id
    assert before == customer_of(engine, "legacy_crm", "c-9") != customer_of(engine, "woocommerce", "2")

    # the CRM contact gets Boris's shop e-mail and joins his customer: its order follows
    with engine.begin() as conn:
        conn.execute(person_records.update().where(person_records.c.record_id == "c-9").values(
            email="boris.petrov@yandex.ru", email_match_key="boris.petrov@yandex.ru"))
    stats = resolve(engine, "run-2")
    got = stored_orders(engine)
    assert got["o5"].customer_id == customer_of(engine, "woocommerce", "2") == got["o2"].customer_id
    assert got["o5"].run_id == "run-2" and got["o1"].run_id == "run-1"
    # o2 kept its customer id (Boris's shop record is the older one), so only o5 was written
    assert stats["orders_written"] == 1


def test_a_new_rate_reprices_the_orders_in_that_currency(engine, no_overrides, rates):
    seed_people(engine, PEOPLE)
    seed_orders(engine, ORDERS)
    resolve(engine, "run-1")
    rates["USD"] = Decimal("90")
    stats = resolve(engine, "run-2")
    got = stored_orders(engine)
    assert stats["orders_written"] == 2  # o2 and o3, both in USD
    assert got["o2"].amount_reporting == Decimal("904.50") and got["o3"].amount_reporting == Decimal("9.00")
    assert got["o2"].fx_rate == Decimal("90") and got["o1"].fx_rate == Decimal("1")
    assert got["o1"].run_id == "run-1"


def test_an_order_in_a_currency_without_a_rate_is_named(engine, no_overrides, rates):
    seed_people(engine, PEOPLE)
    seed_orders(engine, [order("o9", "1.00", "JPY", contact="1")])
    with pytest.raises(ValueError, match="woocommerce/orders/o9: currency 'JPY' has no rate"):
        resolve(engine, "run-1")


def test_customer_sources_without_orders_leave_the_table_empty(engine, no_overrides, rates):
    seed_people(engine, PEOPLE)
    stats = resolve(engine, "run-1")
    assert (stats["orders"], stats["orders_written"]) == (0, 0) and stored_orders(engine) == {}


@pytest.mark.parametrize("in_sql", [True, False], ids=["inserted-by-sql", "converted-in-python"])
def test_every_reporting_amount_is_rounded_half_even_as_decimal_would(engine, monkeypatch, in_sql):
    """Many new orders are inserted by SQL, rounding its own way (SQLite in floating point);
    whatever it rounds otherwise than Decimal's half-even is found and corrected in the same run.
    A few new orders are converted in Python: the same amounts."""
    monkeypatch.setattr(core_orders, "SQL_INSERT_FROM", 1 if in_sql else 10**9)
    tricky = {"RUB": Decimal("1"), "USD": Decimal("0.5"), "EUR": Decimal("0.125"), "GBP": Decimal("92.5"),
              "KZT": Decimal("0.0105")}
    cents = sorted({*range(-300, 301, 7), 1, 3, 5, 25, 75, 125, 12345, 99999999})
    rows = [order(f"{currency}{n}", str(Decimal(n) / 100), currency) for currency in tricky for n in cents]
    seed_orders(engine, rows)
    with engine.begin() as conn:
        stats = core_orders.refresh(conn, tricky, "run-1")
    got = stored_orders(engine)
    assert stats["orders"] == stats["orders_written"] == len(rows) == len(got)
    wrong = {r["record_id"]: got[r["record_id"]].amount_reporting for r in rows
             if got[r["record_id"]].amount_reporting != (r["amount"] * tricky[r["currency"]]).quantize(Decimal("0.01"))}
    assert wrong == {}
    if in_sql:
        assert 0 < stats["orders_converted"] < len(rows)  # only the rounding SQL may have got wrong
    else:
        assert stats["orders_converted"] == len(rows)
    with engine.begin() as conn:  # a second pass finds nothing to correct, nor to look at again
        again = core_orders.refresh(conn, tricky, "run-2")
    assert (again["orders_written"], again["orders_converted"]) == (0, 0)
