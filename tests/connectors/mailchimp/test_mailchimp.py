"""Mailchimp specifics: write-back (upsert never overwrites a status, tags), caps and problem+json."""

import pytest
import requests

from connectors import open_source
from connectors.http import SourceError
from connectors.mailchimp import subscriber_hash
from tests.conftest import connection_for


def test_upsert_creates_with_status_if_new_but_never_overwrites_a_status(sandbox_copy):
    client = open_source("mailchimp", connection_for("mailchimp", sandbox_copy["systems"]))
    created = client.upsert_member("New.Person@Example.com", "transactional", {"FNAME": "New"})
    assert created["status"] == "transactional" and created["id"] == subscriber_hash("new.person@example.com")
    unsubscribed = next(m for page in client.read_pages("members", None) for m in page
                        if m["status"] == "unsubscribed")
    again = client.upsert_member(unsubscribed["email_address"], "subscribed")
    assert again["status"] == "unsubscribed"


def test_tags_are_added_and_removed(sandbox_copy):
    client = open_source("mailchimp", connection_for("mailchimp", sandbox_copy["systems"]))
    member = next(iter(client.read_pages("members", None)))[0]
    client.update_tags(member["id"], {"seam-test": True, "other": True})
    client.update_tags(member["id"], {"other": False})
    tags = client.get(f"lists/{client.list_id}/members/{member['id']}/tags").json()["tags"]
    assert [t["name"] for t in tags] == ["seam-test"]


def test_unknown_member_and_oversized_page_are_clear_errors(sandbox_env):
    client = open_source("mailchimp", connection_for("mailchimp", sandbox_env["systems"]))
    with pytest.raises(SourceError, match="404: Resource Not Found"):
        client.update_tags("0" * 32, {"x": True})
    big = open_source("mailchimp", connection_for("mailchimp", sandbox_env["systems"]), page_size=5000)
    with pytest.raises(SourceError, match="400: Invalid Resource"):
        list(big.read_pages("members", None))


def test_errors_are_problem_json(sandbox_env):
    chimp = sandbox_env["systems"]["mailchimp"]
    response = requests.get(f"{chimp['base_url']}/ping", auth=("x", "nope-us21"), timeout=10)
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert {"type", "title", "status", "detail", "instance"} <= set(response.json())


def test_members_are_pulled_without_tags(sandbox_env):
    client = open_source("mailchimp", connection_for("mailchimp", sandbox_env["systems"]))
    member = next(iter(client.read_pages("members", None)))[0]
    assert "tags" not in member and "email_address" in member
