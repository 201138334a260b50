"""Mailchimp campaign streams over real HTTP: every record once, idempotent reloads, incremental activity."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from connectors import open_source
from include.extract import extract_stream
from include.warehouse.schema import extract_state, raw_records
from tests.conftest import connection_for

REPORTS = ("email_activity", "sent_to", "unsubscribes")


def _expected(directory, stream: str) -> int:
    """What the sandbox holds: sent campaigns only (drafts have no reports); every report row."""
    conn = sqlite3.connect(directory / "mailchimp.db")
    try:
        tag = " AND tag = 'sent'" if stream == "campaigns" else ""
        return conn.execute(f"SELECT COUNT(*) FROM objects WHERE kind = ?{tag}", (stream,)).fetchone()[0]
    finally:
        conn.close()



def _raw(engine, stream: str, run_id: str | None = None) -> dict[str, dict]:
    query = sa.select(raw_records.c.record_id, raw_records.c.payload).where(
        raw_records.c.source == "mailchimp", raw_records.c.stream == stream)
    if run_id:
        query = query.where(raw_records.c.run_id == run_id)
    with engine.connect() as conn:
        return {record_id: json.loads(payload) for record_id, payload in conn.execute(query)}


@pytest.mark.parametrize("stream", ["campaigns", *REPORTS])
def test_full_read_returns_every_record_once_over_several_pages(sandbox_env, stream):
    counts = json.loads((sandbox_env["dir"] / "generation.json").read_text())["counts"]
    size = {"campaigns": 3, "unsubscribes": 1}.get(stream, 5)
    source = open_source("mailchimp", connection_for("mailchimp", sandbox_env["systems"]), page_size=size)
    pages = list(source.read_pages(stream, None))
    ids = [source.record_id(source.stream(stream), r) for page in pages for r in page]
    if stream == "campaigns":
        assert len(pages) > 1
    else:  # read once per campaign, and some campaign's report took several pages
        spans = Counter(page[0]["campaign_id"] for page in pages if page)
        assert set(spans) <= {c for page in source.read_pages("campaigns", None) for c in (r["id"] for r in page)}
        assert max(spans.values()) > 1
    assert len(ids) == len(set(ids)) == _expected(sandbox_env["dir"], stream)
    if stream != "campaigns":
        assert len(ids) == counts[f"mailchimp.{stream}"]


def test_campaigns_are_the_sent_ones_of_the_connections_audience(sandbox_env):
    source = open_source("mailchimp", connection_for("mailchimp", sandbox_env["systems"]))
    campaigns = [c for page in source.read_pages("campaigns", None) for c in page]
    assert campaigns and all(c["status"] == "sent" and c["send_time"] for c in campaigns)
    assert {c["recipients"]["list_id"] for c in campaigns} == {source.list_id}
    assert all("_links" not in c for c in campaigns)
    elsewhere = connection_for("mailchimp", sandbox_env["systems"], extra={"list_id": "another1"})
    assert [c for page in open_source("mailchimp", elsewhere).read_pages("campaigns", None) for c in page] == []


def test_email_activity_is_one_record_per_event_with_recipient_and_campaign(sandbox_env):
    source = open_source("mailchimp", connection_for("mailchimp", sandbox_env["systems"]), page_size=50)
    events = [e for page in source.read_pages("email_activity", None) for e in page]
    assert {e["action"] for e in events} == {"open", "click", "bounce"}
    for event in events:
        assert {"campaign_id", "email_id", "email_address", "list_id", "action", "timestamp"} <= set(event)
        assert "activity" not in event and "_links" not in event
    assert all(e["url"] for e in events if e["action"] == "click")
    assert all(e["type"] in ("hard", "soft") for e in events if e["action"] == "bounce")


def test_a_second_extract_of_an_unchanged_sandbox_writes_nothing(sandbox_env, warehouse):
    source = open_source("mailchimp", connection_for("mailchimp", sandbox_env["systems"]), page_size=40)
    for stream in ("campaigns", *REPORTS):
        first = extract_stream(source, stream, warehouse, "run-1")
        assert first["rows"] == len(_raw(warehouse, stream)) == _expected(sandbox_env["dir"], stream)
        second = extract_stream(source, stream, warehouse, "run-2")
        assert second["rows"] <= first["rows"]
        assert _raw(warehouse, stream, "run-2") == {}, f"{stream}: an unchanged re-read must write nothing"
        assert len(_raw(warehouse, stream)) == first["rows"]
    with warehouse.connect() as conn:
        cursor = conn.execute(sa.select(extract_state.c.cursor_value).where(
            extract_state.c.stream == "email_activity")).scalar()
    newest = max(e["timestamp"] for e in _raw(warehouse, "email_activity").values())
    assert cursor == datetime.fromisoformat(newest).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_unsubscribe_is_visible_with_its_members_email_id(sandbox_env, warehouse):
    source = open_source("mailchimp", connection_for("mailchimp", sandbox_env["systems"]))
    extract_stream(source, "members", warehouse, "run-1")
    extract_stream(source, "unsubscribes", warehouse, "run-1")
    members, unsubscribes = _raw(warehouse, "members"), _raw(warehouse, "unsubscribes")
    assert unsubscribes
    for record_id, unsubscribe in unsubscribes.items():
        assert record_id == f"{unsubscribe['campaign_id']}:{unsubscribe['email_id']}"
        member = members[unsubscribe["email_id"]]
        assert member["status"] == "unsubscribed" and member["email_address"] == unsubscribe["email_address"]


def test_new_activity_is_pulled_incrementally(sandbox_copy, warehouse):
    from sandbox import store

    source = open_source("mailchimp", connection_for("mailchimp", sandbox_copy["systems"]), page_size=40)
    first = extract_stream(source, "email_activity", warehouse, "run-1")
    recipient = json.loads(sqlite3.connect(sandbox_copy["dir"] / "mailchimp.db").execute(
        "SELECT body FROM objects WHERE kind = 'sent_to' ORDER BY id LIMIT 1").fetchone()[0])
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    event = {"campaign_id": recipient["campaign_id"], "email_id": recipient["email_id"],
             "email_address": recipient["email_address"], "action": "open",
             "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "ip": "203.0.113.9"}
    store.insert(sandbox_copy["dir"], "mailchimp", "email_activity",
                 f"{recipient['campaign_id']}:{recipient['email_id']}:999", event, when)
    second = extract_stream(source, "email_activity", warehouse, "run-2")
    assert second["rows"] < first["rows"], "only events since the cursor (less its lookback) are read"
    added = _raw(warehouse, "email_activity", "run-2")
    key = f"{event['campaign_id']}:{event['email_id']}:open:{event['timestamp']}"
    assert list(added) == [key] and added[key]["ip"] == "203.0.113.9"
    assert second["cursor_to"] == when.strftime("%Y-%m-%dT%H:%M:%SZ")
