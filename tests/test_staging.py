"""Raw -> stg_<source>__<stream> -> core, on SQLite and PostgreSQL, from records written as the extractor writes them."""

import hashlib
import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from include import gates, pipeline
from include.staging import stage_all
from include.warehouse import upsert_rows
from include.warehouse.schema import extract_runs, quality_gates, raw_records

NOW = datetime.now(UTC)


def write_raw(engine, source, stream, records, deleted=(), run_id="r1"):
    """Records into raw_records (payload as JSON text, as include/extract.py writes it) and a successful extract run."""
    rows = []
    for record_id, record in records.items():
        payload = json.dumps(record, ensure_ascii=False)
        rows.append({"source": source, "stream": stream, "record_id": str(record_id), "payload": payload,
                     "payload_hash": hashlib.sha1(payload.encode()).hexdigest(), "cursor_value": None,
                     "is_deleted": record_id in deleted, "first_loaded_at": NOW, "loaded_at": NOW, "run_id": run_id})
    with engine.begin() as conn:
        upsert_rows(conn, raw_records, rows)
        upsert_rows(conn, extract_runs, [{"run_id": run_id, "source": source, "stream": stream, "started_at": NOW,
                                          "finished_at": NOW, "pages": 1, "rows_read": len(rows),
                                          "rows_loaded": len(rows), "status": "success"}])


def woo_customer(i, **extra):
    return {"id": i, "email": f"Person{i}@Example.com", "first_name": "Анна", "last_name": f"Test{i}",
            "role": "customer", "date_modified_gmt": "2026-01-02T03:04:05",
            "billing": {"phone": f"+7 912 345-67-{i % 100:02d}", "city": "Пермь", "country": "Россия",
                        "address_1": f"ул. Ленина, {i}", "postcode": "614000"}, **extra}


def woo_order(i, customer_id, total="100.00", **extra):
    return {"id": i, "customer_id": customer_id, "status": "completed", "total": total, "currency": "RUB",
            "date_created_gmt": "2026-02-01T10:00:00", "date_modified_gmt": "2026-02-01T10:00:00",
            "billing": {"email": f"buyer{i}@example.com", "first_name": "Guest"},
            "line_items": [{"id": 1, "name": "Mug", "sku": "M", "quantity": 2, "price": 50, "total": "100.00"}],
            **extra}


def seed(engine, customers=30):
    write_raw(engine, "woocommerce", "customers", {i: woo_customer(i) for i in range(1, customers + 1)})
    write_raw(engine, "woocommerce", "orders", {
        1001: woo_order(1001, 1), 1002: woo_order(1002, 0),  # a guest order
        1003: woo_order(1003, 999),  # its customer does not exist at the source
        1004: woo_order(1004, 2, line_items=[{"id": 1, "name": "Mug", "quantity": -1, "total": "5"}]),
    })
    write_raw(engine, "mailchimp", "members", {
        "m1": {"email_address": "person1@example.com", "status": "subscribed", "merge_fields": {"FNAME": "Anna"},
               "timestamp_opt": "2025-05-05T00:00:00+00:00", "last_changed": "2025-05-05T00:00:00+00:00"}})
    write_raw(engine, "mailchimp", "unsubscribes", {
        "c1:m2": {"campaign_id": "c1", "email_id": "m2", "email_address": "Gone@Example.com",
                  "timestamp": "2026-03-01T00:00:00+00:00", "reason": "too many"}})
    write_raw(engine, "legacy_crm", "accounts", {
        "a1": {"id": "a1", "name": "ООО «Ромашка»", "website": "https://www.romashka.ru/about",
               "industry": "Retail", "account_type": "Customer", "billing_address_country": "RU",
               "date_modified": "2026-01-01 00:00:00"}})


def count(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def test_each_stream_lands_in_its_own_staging_table_and_the_core_tables(engine):
    seed(engine)
    result = stage_all(engine, "run-1")
    recon = {(r["source"], r["stream"]): r for r in result["reconciliation"]}
    assert recon[("woocommerce", "customers")]["staged"] == 30
    assert recon[("woocommerce", "orders")] == {"source": "woocommerce", "stream": "orders", "raw": 4, "staged": 2,
                                                "quarantined": 2, "tombstones": 0, "unmapped": 0}
    assert count(engine, "SELECT COUNT(*) FROM stg_woocommerce__customers") == 30
    assert count(engine, "SELECT COUNT(*) FROM person_records") == 31  # 30 shop customers + 1 Mailchimp member
    assert count(engine, "SELECT COUNT(*) FROM stg_woocommerce__order_lines") == 2
    assert count(engine, "SELECT COUNT(*) FROM order_lines WHERE category = 'accessories'") == 2
    assert count(engine, "SELECT country FROM person_records WHERE record_id = '1'") == "RU"
    assert count(engine, "SELECT domain FROM company_records WHERE record_id = 'a1'") == "romashka.ru"
    assert count(engine, "SELECT COUNT(*) FROM identifiers WHERE kind = 'email'") == 31
    assert count(engine, "SELECT match_key FROM identifiers WHERE kind = 'source_id' AND record_id = '7'") == \
        "woocommerce:customers:7"
    assert count(engine, "SELECT COUNT(*) FROM addresses WHERE kind = 'primary'") == 30
    assert count(engine, "SELECT COUNT(*) FROM addresses WHERE kind = 'billing'") == 1
    with engine.connect() as conn:
        consents = {(r.stream, r.status, bool(r.explicit), r.email_match_key)
                    for r in conn.execute(sa.text("SELECT * FROM consents"))}
        reasons = {r.record_id: (r.rule, r.reason) for r in conn.execute(sa.text(
            "SELECT * FROM quarantine WHERE stream = 'orders'"))}
    assert consents == {("members", "subscribed", True, "person1@example.com"),
                        ("unsubscribes", "unsubscribed", True, "gone@example.com")}
    assert "referential integrity" in reasons["1003"][1]
    assert reasons["1004"][0] == "expect_column_values_to_be_between(order_lines.quantity)"
    assert "order_lines: quantity is negative" in reasons["1004"][1]


def test_a_quarantined_record_fixed_at_the_source_leaves_quarantine(engine):
    seed(engine)
    write_raw(engine, "woocommerce", "customers", {7: woo_customer(7, email="not-an-email")})
    stage_all(engine, "run-1")
    assert count(engine, "SELECT COUNT(*) FROM quarantine WHERE record_id = '7'") == 1
    assert count(engine, "SELECT COUNT(*) FROM stg_woocommerce__customers WHERE record_id = '7'") == 0
    write_raw(engine, "woocommerce", "customers", {7: woo_customer(7)}, run_id="r2")
    stage_all(engine, "run-2")
    assert count(engine, "SELECT COUNT(*) FROM quarantine WHERE record_id = '7'") == 0
    assert count(engine, "SELECT email FROM stg_woocommerce__customers WHERE record_id = '7'") == "person7@example.com"


def test_tombstones_are_counted_not_staged(engine):
    seed(engine)
    write_raw(engine, "woocommerce", "customers", {3: woo_customer(3)}, deleted={3})
    result = stage_all(engine, "run-1")
    recon = {(r["source"], r["stream"]): r for r in result["reconciliation"]}
    assert recon[("woocommerce", "customers")]["tombstones"] == 1
    assert recon[("woocommerce", "customers")]["staged"] == 29


def test_a_collapsed_table_holds_publication_and_keeps_the_previous_customers(engine, monkeypatch):
    monkeypatch.setattr(pipeline, "warehouse", lambda: engine)
    seed(engine)
    assert pipeline.stage("run-1")["gates"]["failed"] == []
    first = pipeline.resolve("run-1")
    assert "held" not in first
    customers_before = count(engine, "SELECT COUNT(*) FROM customers")
    with engine.begin() as conn:  # the export broke: 25 of 30 customers vanish from raw
        conn.execute(sa.text("DELETE FROM raw_records WHERE stream = 'customers' AND CAST(record_id AS INTEGER) > 5"
                             if engine.dialect.name == "sqlite" else
                             "DELETE FROM raw_records WHERE stream = 'customers' AND record_id::int > 5"))
    verdict = pipeline.stage("run-2")["gates"]
    assert len(verdict["failed"]) == 1 and "stg_woocommerce__customers" in verdict["failed"][0]
    assert "row count" in verdict["failed"][0]
    for stage in (pipeline.resolve, pipeline.metrics, pipeline.segments):
        result = stage("run-2")
        assert "stg_woocommerce__customers" in result["held"], stage
    assert count(engine, "SELECT COUNT(*) FROM customers") == customers_before
    assert count(engine, "SELECT COUNT(*) FROM stg_woocommerce__customers") == 5  # staging itself is current
    from include.summary import render

    assert "PUBLICATION HELD" in render(engine)

    assert gates.accept(engine, "stg_woocommerce__customers", datetime.now(UTC)) == 5
    assert pipeline.stage("run-3")["gates"]["failed"] == []
    assert "held" not in pipeline.resolve("run-3")
    assert count(engine, "SELECT COUNT(*) FROM customers") < customers_before


def test_stale_extract_and_empty_columns_fail_their_gates(engine):
    seed(engine)
    with engine.begin() as conn:
        conn.execute(extract_runs.update().where(extract_runs.c.stream == "members")
                     .values(finished_at=NOW - timedelta(days=10)))
    verdict = stage_all(engine, "run-1")["gates"]
    assert any("mailchimp.members is older than 72 h" in line for line in verdict["failed"])
    with engine.connect() as conn:
        rows = {(r.table_name, r.check_name): r.passed for r in conn.execute(sa.select(quality_gates))}
    assert rows[("stg_mailchimp__members", "freshness")] is False
    assert rows[("stg_woocommerce__customers", "filled:email_consent")] is True
    assert rows[("stg_woocommerce__customers", "distinct:email_match_key")] is True


def test_the_same_email_on_every_record_fails_the_distinctness_gate(engine):
    write_raw(engine, "woocommerce", "customers", {i: woo_customer(i, email="same@example.com")
                                                   for i in range(1, 31)})
    verdict = stage_all(engine, "run-1")["gates"]
    assert any("email_match_key values are distinct" in line for line in verdict["failed"])


def test_a_crm_contact_is_linked_to_its_company(engine):
    seed(engine)
    write_raw(engine, "legacy_crm", "contacts", {"c1": {
        "id": "c1", "first_name": "Пётр", "last_name": "Иванов", "account_id": "a1", "account_name": "ООО «Ромашка»",
        "emails": [{"email_address": "petr@romashka.ru", "opt_out": 1}], "email_opt_out": 1,
        "phone_mobile": "+7 912 000-11-22", "date_modified": "2026-01-01 00:00:00", "birthdate": "1980-02-29"}})
    stage_all(engine, "run-1")
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT p.company, c.name, c.name_key, p.date_of_birth, p.email_consent FROM person_records p "
            "JOIN company_records c ON c.source = p.source AND c.record_id = p.company_record_id "
            "WHERE p.record_id = 'c1'")).one()
        opt_out = conn.execute(sa.text("SELECT status, explicit FROM consents WHERE record_id = 'c1'")).one()
    assert row.company == row.name == "ООО «Ромашка»" and row.name_key == "romashka"
    assert str(row.date_of_birth) == "1980-02-29" and row.email_consent == "opted_out"
    assert opt_out.status == "opted_out" and opt_out.explicit


def test_a_stream_whose_rows_all_vanish_fails_its_row_count_gate(engine):
    seed(engine)
    assert stage_all(engine, "run-1")["gates"]["failed"] == []
    write_raw(engine, "woocommerce", "customers", {i: {"garbage": True} for i in range(1, 31)}, run_id="r2")
    verdict = stage_all(engine, "run-2")["gates"]
    assert any(line.startswith("stg_woocommerce__customers: row count") and "observed 0" in line
               for line in verdict["failed"]), verdict


def test_chunked_staging_gives_the_same_tables_as_one_chunk(engine, monkeypatch):
    """Streams are staged CHUNK raw rows at a time (flat memory); chunk boundaries must not change a row."""
    import include.staging as staging

    seed(engine)
    queries = {"stg_woocommerce__customers": "SELECT * FROM stg_woocommerce__customers",
               "stg_woocommerce__order_lines": "SELECT * FROM stg_woocommerce__order_lines",
               "person_records": "SELECT * FROM person_records", "order_records": "SELECT * FROM order_records",
               "quarantine": "SELECT source, stream, record_id, rule, column_name, value_masked, reason FROM quarantine"}
    snapshots = []
    for chunk in (100_000, 7):
        monkeypatch.setattr(staging, "CHUNK", chunk)
        result = stage_all(engine, "run")
        with engine.connect() as conn:
            snapshots.append((result["reconciliation"],
                              {name: sorted(map(tuple, conn.execute(sa.text(sql)))) for name, sql in queries.items()}))
    assert snapshots[0][0] == snapshots[1][0]
    for name in queries:
        assert snapshots[0][1][name] and snapshots[0][1][name] == snapshots[1][1][name], name


def test_an_order_of_a_customer_deleted_since_stages_without_a_customer(engine):
    seed(engine)
    write_raw(engine, "woocommerce", "customers", {1: woo_customer(1)}, deleted={1}, run_id="r2")
    result = stage_all(engine, "run-1")
    recon = {(r["source"], r["stream"]): r for r in result["reconciliation"]}
    assert recon[("woocommerce", "orders")]["staged"] == 2  # 1001 (customer 1, now deleted) and the guest order
    assert count(engine, "SELECT COUNT(*) FROM stg_woocommerce__orders WHERE record_id = '1001'") == 1
    assert count(engine, "SELECT COUNT(*) FROM quarantine WHERE record_id = '1001'") == 0
