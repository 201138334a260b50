"""The Mailchimp sandbox's campaigns and reports: generated consistently, served per the public contract."""

from __future__ import annotations

import json
import random
import sqlite3
from collections import Counter
from datetime import datetime

import pytest
import requests

from sandbox.population import ANCHOR
from sandbox.systems import MailchimpBuilder


def _rows(directory, kind: str) -> list[dict]:
    conn = sqlite3.connect(directory / "mailchimp.db")
    try:
        return [json.loads(b) for (b,) in conn.execute("SELECT body FROM objects WHERE kind = ? ORDER BY id", (kind,))]
    finally:
        conn.close()


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.fixture(scope="module")
def chimp(sandbox_env):
    system = sandbox_env["systems"]["mailchimp"]
    session = requests.Session()
    session.auth = ("seam", system["api_key"])
    sent = [c for c in _rows(sandbox_env["dir"], "campaigns") if c["status"] == "sent"]
    yield {"base": system["base_url"], "list_id": system["list_id"], "http": session, "dir": sandbox_env["dir"],
           "sent": sent}
    session.close()


def _get(chimp: dict, path: str, **params) -> requests.Response:
    return chimp["http"].get(f"{chimp['base']}/{path}", params=params, timeout=10)


# --- generated data -----------------------------------------------------------------------------

def test_activity_draws_nothing_from_the_member_generator_and_is_deterministic():
    rng = random.Random(11)
    before = rng.getstate()
    builder = MailchimpBuilder(rng)
    assert rng.getstate() == before, "deriving the activity generator must not draw from the member one"
    builder.members = {f"{n:032x}": {"email_address": f"p{n}@example.com", "status": "subscribed",
                                     "timestamp_signup": "2024-01-01T00:00:00+00:00",
                                     "last_changed": "2024-01-01T00:00:00+00:00", "merge_fields": {}}
                       for n in range(40)}
    first = builder.rows()
    assert rng.getstate() == before, "rows() must not draw from the member generator either"
    again = MailchimpBuilder(random.Random(11))
    again.members = builder.members
    assert again.rows() == first
    other = MailchimpBuilder(random.Random(12))
    other.members = builder.members
    assert {r[1] for r in other.rows() if r[0] == "campaigns"} != {r[1] for r in first if r[0] == "campaigns"}


def test_generation_counts_every_new_kind(sandbox_env):
    counts = json.loads((sandbox_env["dir"] / "generation.json").read_text())["counts"]
    for kind in ("campaigns", "sent_to", "email_activity", "unsubscribes"):
        assert counts[f"mailchimp.{kind}"] == len(_rows(sandbox_env["dir"], kind)) > 0


def test_recipients_were_subscribed_at_send_time_and_events_follow_the_send(sandbox_env):
    directory = sandbox_env["dir"]
    members = {m["id"]: m for m in _rows(directory, "members")}
    campaigns = {c["id"]: c for c in _rows(directory, "campaigns")}
    assert 6 <= sum(c["status"] == "sent" for c in campaigns.values()) <= 10
    sent_to = _rows(directory, "sent_to")
    for row in sent_to:
        member, sent_at = members[row["email_id"]], _at(campaigns[row["campaign_id"]]["send_time"])
        assert _at(member["timestamp_signup"]) <= sent_at
        assert member["status"] == "subscribed" or (member["status"] in ("unsubscribed", "cleaned")
                                                    and sent_at < _at(member["last_changed"]))
        assert row["status"] in ("sent", "hard", "soft")
        assert row["status"] != "hard" or member["status"] == "cleaned"
    events = _rows(directory, "email_activity")
    assert {"open", "click", "bounce"} == {e["action"] for e in events}
    recipients = {(r["campaign_id"], r["email_id"]) for r in sent_to}
    for event in events:
        assert (event["campaign_id"], event["email_id"]) in recipients
        assert _at(campaigns[event["campaign_id"]]["send_time"]) < _at(event["timestamp"]) < ANCHOR
    keys = [(e["campaign_id"], e["email_id"], e["action"], e["timestamp"]) for e in events]
    assert len(keys) == len(set(keys)), "the connector's key must be unique"
    opens = Counter((e["campaign_id"], e["email_id"]) for e in events if e["action"] == "open")
    assert all(r["open_count"] == opens[(r["campaign_id"], r["email_id"])] for r in sent_to)


def test_unsubscribes_belong_to_members_who_are_unsubscribed(sandbox_env):
    members = {m["id"]: m for m in _rows(sandbox_env["dir"], "members")}
    unsubscribes = _rows(sandbox_env["dir"], "unsubscribes")
    assert unsubscribes
    for row in unsubscribes:
        assert members[row["email_id"]]["status"] == "unsubscribed"
        assert row["timestamp"] == members[row["email_id"]]["last_changed"]


# --- endpoints ----------------------------------------------------------------------------------

def test_campaigns_are_listed_filtered_and_paged(chimp):
    everything = _get(chimp, "campaigns", count=1000).json()
    assert everything["total_items"] == len(everything["campaigns"]) == len(chimp["sent"]) + 1  # and a draft
    sent = _get(chimp, "campaigns", status="sent", count=1000).json()
    assert sorted(c["id"] for c in sent["campaigns"]) == sorted(c["id"] for c in chimp["sent"])
    one = sent["campaigns"][0]
    assert one["recipients"]["list_id"] == chimp["list_id"] and one["settings"]["subject_line"]
    pages = [_get(chimp, "campaigns", count=3, offset=o).json()["campaigns"] for o in range(0, 12, 3)]
    assert [c["id"] for p in pages for c in p] == [c["id"] for c in everything["campaigns"]]
    middle = sorted(c["send_time"] for c in chimp["sent"])[len(chimp["sent"]) // 2]
    later = _get(chimp, "campaigns", since_send_time=middle).json()
    assert later["total_items"] == sum(c["send_time"] >= middle for c in chimp["sent"])
    assert _get(chimp, "campaigns", list_id="otherlist").json()["total_items"] == 0


def test_fields_and_exclude_fields_shape_the_answer(chimp):
    slim = _get(chimp, "campaigns", fields="campaigns.id,campaigns.settings.subject_line,total_items").json()
    assert set(slim) == {"campaigns", "total_items"}
    assert all(set(c) == {"id", "settings"} and set(c["settings"]) == {"subject_line"} for c in slim["campaigns"])
    lean = _get(chimp, f"reports/{chimp['sent'][0]['id']}/sent-to", exclude_fields="sent_to.merge_fields,_links")
    assert "_links" not in lean.json() and all("merge_fields" not in r for r in lean.json()["sent_to"])


def test_email_activity_lists_every_recipient_with_their_events(chimp):
    campaign = max(chimp["sent"], key=lambda c: c["emails_sent"])
    events = [e for e in _rows(chimp["dir"], "email_activity") if e["campaign_id"] == campaign["id"]]
    emails = []
    for offset in range(0, campaign["emails_sent"], 25):
        body = _get(chimp, f"reports/{campaign['id']}/email-activity", count=25, offset=offset).json()
        assert body["total_items"] == campaign["emails_sent"] and body["campaign_id"] == campaign["id"]
        emails += body["emails"]
    assert len({e["email_id"] for e in emails}) == len(emails) == campaign["emails_sent"]
    assert any(not e["activity"] for e in emails), "recipients without activity are listed too"
    assert sum(len(e["activity"]) for e in emails) == len(events)
    assert all(e["list_id"] == chimp["list_id"] and e["campaign_id"] == campaign["id"] for e in emails)
    bounce = next((a for e in emails for a in e["activity"] if a["action"] == "bounce"), None)
    assert bounce is None or bounce["type"] in ("hard", "soft")
    click = next(a for e in emails for a in e["activity"] if a["action"] == "click")
    assert click["url"].startswith("https://") and click["ip"]

    cut = sorted(e["timestamp"] for e in events)[len(events) // 2]
    since = _get(chimp, f"reports/{campaign['id']}/email-activity", count=1000, since=cut).json()
    assert since["total_items"] == campaign["emails_sent"]
    assert sum(len(e["activity"]) for e in since["emails"]) == sum(e["timestamp"] >= cut for e in events)
    assert all(a["timestamp"] >= cut for e in since["emails"] for a in e["activity"])


def test_sent_to_and_unsubscribed_reports(chimp):
    unsubscribes = _rows(chimp["dir"], "unsubscribes")
    campaign_id = unsubscribes[0]["campaign_id"]
    sent_to = _get(chimp, f"reports/{campaign_id}/sent-to", count=1000).json()
    emails_sent = next(c["emails_sent"] for c in chimp["sent"] if c["id"] == campaign_id)
    assert sent_to["total_items"] == len(sent_to["sent_to"]) == emails_sent
    assert {"email_id", "email_address", "status", "open_count", "last_open", "campaign_id", "list_id"} \
        <= set(sent_to["sent_to"][0])
    gone = _get(chimp, f"reports/{campaign_id}/unsubscribed", count=1000).json()
    expected = sorted(u["email_id"] for u in unsubscribes if u["campaign_id"] == campaign_id)
    assert gone["total_items"] == len(expected) and sorted(u["email_id"] for u in gone["unsubscribes"]) == expected
    assert {"email_id", "email_address", "timestamp", "reason", "campaign_id", "list_id"} <= set(gone["unsubscribes"][0])


@pytest.mark.parametrize("report", ["email-activity", "sent-to", "unsubscribed"])
def test_unknown_or_unsent_campaigns_have_no_report(chimp, report):
    draft = next(c["id"] for c in _rows(chimp["dir"], "campaigns") if c["status"] == "save")
    for campaign_id in ("0000000000", draft):
        response = _get(chimp, f"reports/{campaign_id}/{report}")
        assert response.status_code == 404
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert response.json()["title"] == "Resource Not Found"
    assert _get(chimp, f"reports/{chimp['sent'][0]['id']}/{report}", count=1001).status_code == 400


def test_reports_need_the_api_key(chimp):
    response = requests.get(f"{chimp['base']}/reports/{chimp['sent'][0]['id']}/sent-to", auth=("x", "bad-us21"),
                            timeout=10)
    assert response.status_code == 401
