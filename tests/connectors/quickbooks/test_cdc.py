"""QuickBooks deletes: the sandbox's CDC feed, and extraction tombstoning through it or, past its reach, by key set."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from connectors import open_source
from connectors.http import DeleteFeedGap
from include.extract import extract_source
from include.warehouse.schema import extract_runs, raw_records
from sandbox import quickbooks, store
from tests.conftest import connection_for


@pytest.fixture(autouse=True)
def _private_token_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEAM_DATA_DIR", str(tmp_path / "data"))



def _server(env: dict):
    return next(s for s in env["handle"].servers if s.system == "quickbooks")


def _ids(conn, kind: str, limit: int) -> list[str]:
    return [r[0] for r in conn.execute("SELECT id FROM objects WHERE kind = ? ORDER BY num LIMIT ?", (kind, limit))]


def test_cdc_answers_changed_and_deleted_entities_in_intuits_shape(sandbox_copy):
    source = open_source("quickbooks", connection_for("quickbooks", sandbox_copy["systems"]))
    conn = store.connect(sandbox_copy["dir"], "quickbooks")
    customer, invoice = _ids(conn, "Customer", 1)[0], _ids(conn, "Invoice", 1)[0]
    conn.close()
    since = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    store.touch(sandbox_copy["dir"], "quickbooks", "Customer", customer, {"Notes": "changed"})
    store.delete(sandbox_copy["dir"], "quickbooks", "Invoice", invoice)

    body = source.get("cdc", params={"entities": "Customer,Invoice,Payment", "minorversion": "75",
                                     "changedSince": since.strftime("%Y-%m-%dT%H:%M:%SZ")}).json()
    assert set(body) == {"CDCResponse", "time"}
    customers, invoices, payments = body["CDCResponse"][0]["QueryResponse"]
    assert [c["Id"] for c in customers["Customer"]] == [customer]
    assert customers["Customer"][0]["Notes"] == "changed" and "status" not in customers["Customer"][0]
    assert customers["startPosition"] == 1 and customers["maxResults"] == 1
    deleted = invoices["Invoice"]
    assert [(d["Id"], d["status"], d["domain"]) for d in deleted] == [(invoice, "Deleted", "QBO")]
    assert datetime.fromisoformat(deleted[0]["MetaData"]["LastUpdatedTime"]) >= since
    assert payments == {}
    assert source.read_deletes("invoices", since) == [invoice]
    assert source.read_deletes("customers", since) == []


def test_cdc_refuses_a_window_over_30_days_with_a_fault(sandbox_env):
    source = open_source("quickbooks", connection_for("quickbooks", sandbox_env["systems"]))
    old = (datetime.now(UTC) - timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = source.session.get(f"{source.base_url()}/cdc", params={"entities": "Customer", "changedSince": old})
    assert response.status_code == 400
    fault = response.json()["Fault"]
    assert fault["type"] == "ValidationFault" and "30 days" in fault["Error"][0]["Detail"]
    with pytest.raises(DeleteFeedGap, match="30 days"):
        source.read_deletes("customers", datetime.now(UTC) - timedelta(days=31))


def test_cdc_answers_at_most_the_object_cap_and_a_full_answer_is_a_gap(sandbox_copy):
    """Intuit: at most 1000 objects per answer, no paging; a full answer may have left deletions out."""
    server = _server(sandbox_copy)
    quickbooks.state(server).cdc_max_objects = 3
    conn = store.connect(sandbox_copy["dir"], "quickbooks")
    ids = _ids(conn, "Payment", 5)
    conn.close()
    since = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    for record_id in ids:
        store.delete(sandbox_copy["dir"], "quickbooks", "Payment", record_id)
    source = open_source("quickbooks", connection_for("quickbooks", sandbox_copy["systems"]))
    body = source.get("cdc", params={"entities": "Payment,Customer",
                                     "changedSince": since.strftime("%Y-%m-%dT%H:%M:%SZ")}).json()
    payments, customers = body["CDCResponse"][0]["QueryResponse"]
    assert len(payments["Payment"]) == payments["maxResults"] == 3 and customers == {}
    quickbooks.state(server).cdc_max_objects = 1000
    assert sorted(source.read_deletes("payments", since)) == sorted(ids)


def test_a_deleted_customer_is_tombstoned_through_cdc(sandbox_copy, warehouse):
    # The sandbox's newest change is weeks old: the feed is asked from the previous run's start, not
    # from the cursor, so a quiet company still gets its deletions through CDC.
    source = open_source("quickbooks", connection_for("quickbooks", sandbox_copy["systems"]), page_size=100)
    first = {s["stream"]: s for s in extract_source(source, warehouse, "run-1")}
    assert "tombstoned" not in first["customers"], "no saved cursor yet: nothing to ask the feed"
    with warehouse.connect() as conn:
        victim = conn.execute(sa.select(raw_records.c.record_id).where(
            raw_records.c.source == "quickbooks", raw_records.c.stream == "customers")
            .order_by(raw_records.c.record_id.desc()).limit(1)).scalar()
    store.delete(sandbox_copy["dir"], "quickbooks", "Customer", victim)
    second = {s["stream"]: s for s in extract_source(source, warehouse, "run-2")}
    assert second["customers"]["tombstoned"] == 1 and "delete_feed_gap" not in second["customers"]
    assert second["invoices"]["tombstoned"] == 0
    with warehouse.connect() as conn:
        rows = conn.execute(sa.select(raw_records.c.record_id, raw_records.c.is_deleted, raw_records.c.payload).where(
            raw_records.c.source == "quickbooks", raw_records.c.stream == "customers")).all()
    flags = {record_id: deleted for record_id, deleted, _payload in rows}
    inactive = {record_id for record_id, _d, payload in rows if json.loads(payload).get("Active") is False}
    assert flags[victim] is True
    # Besides the CDC deletion, only customers QuickBooks made inactive (its way of deleting one).
    assert {r for r, deleted in flags.items() if deleted} == {victim} | inactive


def test_an_inactive_customer_is_a_tombstone(sandbox_copy, warehouse):
    source = open_source("quickbooks", connection_for("quickbooks", sandbox_copy["systems"]), page_size=100)
    extract_source(source, warehouse, "run-1", streams=["customers"])
    with warehouse.connect() as conn:
        rows = conn.execute(sa.select(raw_records.c.is_deleted, raw_records.c.payload).where(
            raw_records.c.source == "quickbooks", raw_records.c.stream == "customers")).all()
    inactive = [deleted for deleted, payload in rows if json.loads(payload).get("Active") is False]
    assert inactive and all(inactive), "the sandbox has inactive customers, and each is a tombstone"
    assert not any(deleted for deleted, payload in rows if json.loads(payload).get("Active") is not False)


def test_past_the_30_day_window_deletes_are_found_by_key_set(sandbox_copy, warehouse, caplog):
    source = open_source("quickbooks", connection_for("quickbooks", sandbox_copy["systems"]), page_size=100)
    extract_source(source, warehouse, "run-1", streams=["invoices"])
    with warehouse.connect() as conn:
        victim = conn.execute(sa.select(raw_records.c.record_id).where(
            raw_records.c.source == "quickbooks", raw_records.c.stream == "invoices").limit(1)).scalar()
    store.delete(sandbox_copy["dir"], "quickbooks", "Invoice", victim)
    with warehouse.begin() as conn:  # the previous run was 40 days ago
        conn.execute(extract_runs.update().where(extract_runs.c.source == "quickbooks", extract_runs.c.stream == "invoices")
                     .values(started_at=datetime.now(UTC) - timedelta(days=40)))
    stats = extract_source(source, warehouse, "run-2", streams=["invoices"])[0]
    assert stats["delete_feed_gap"] is True and stats["tombstoned"] == 1
    assert "CDC looks back 30 days at most" in caplog.text
    with warehouse.connect() as conn:
        deleted = conn.execute(sa.select(raw_records.c.record_id).where(
            raw_records.c.source == "quickbooks", raw_records.c.is_deleted.is_(True))).scalars().all()
    assert deleted == [victim]
