"""The sandbox generator: deterministic, and as messy as real multi-system customer data."""

import csv
from collections import Counter, defaultdict

import pytest

from sandbox.generator import fingerprint, generate_sandbox


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    directory = tmp_path_factory.mktemp("gen")
    counts = generate_sandbox(directory, people=1500, seed=21)
    with (directory / "ground_truth.csv").open(encoding="utf-8") as fh:
        truth = list(csv.DictReader(fh))
    return directory, counts, truth


def test_same_seed_same_data_other_seed_other_data(tmp_path, generated):
    directory, _, _ = generated
    generate_sandbox(tmp_path / "again", people=1500, seed=21)
    generate_sandbox(tmp_path / "other", people=1500, seed=22)
    assert fingerprint(tmp_path / "again") == fingerprint(directory)
    assert fingerprint(tmp_path / "other") != fingerprint(directory)
    assert (tmp_path / "again" / "credentials.json").read_text() != (directory / "credentials.json").read_text()


def test_people_spread_over_systems_with_duplicates_and_households(generated):
    _, _, truth = generated
    contacts = [r for r in truth if r["stream"] in ("customers", "members", "Customer", "contacts")]
    systems = defaultdict(set)
    for r in contacts:
        systems[r["person_id"]].add(r["source"])
    spread = Counter(len(s) for s in systems.values())
    assert spread[1] and spread[2] and spread[3], spread
    assert sum(n for k, n in spread.items() if k >= 2) / len(systems) > 0.4
    assert 0.03 < len({r["person_id"] for r in truth if r["household_id"]}) / len(systems) < 0.12
    within = Counter((r["source"], r["person_id"]) for r in contacts)
    assert any(n > 1 for n in within.values()), "some people are registered twice in one system"


def test_defects_are_rare_and_labelled(generated):
    _, _, truth = generated
    defects = Counter(r["defect"] for r in truth if r["defect"])
    assert {"invalid_email", "invalid_phone", "no_identity", "negative_amount", "unknown_currency"} <= set(defects)
    assert sum(defects.values()) / len(truth) < 0.05


def test_names_come_in_both_scripts_and_several_spellings(generated):
    import sqlite3

    directory, _, truth = generated
    crm = sqlite3.connect(directory / "legacy_crm.db")
    last_names = [n for (n,) in crm.execute("SELECT last_name FROM contacts WHERE last_name IS NOT NULL")]
    assert any("а" <= n.strip()[:1].lower() <= "я" for n in last_names if n.strip())
    assert any(n.strip()[:1].isascii() for n in last_names if n.strip())
    shop = sqlite3.connect(directory / "woocommerce.db")
    phones = [p for (p,) in shop.execute("SELECT json_extract(body, '$.billing.phone') FROM objects "
                                         "WHERE kind = 'customers'") if p]
    assert any(p.startswith("8") for p in phones) and any(p.startswith("+7") for p in phones)


def test_containers_can_make_the_sandbox_adopt_the_configured_credentials(tmp_path, monkeypatch):
    """docker compose: .env holds the connections and the sandbox accepts exactly those."""
    import json

    import requests

    from sandbox.servers import start_servers

    monkeypatch.setenv("SEAM_SANDBOX_CREDENTIALS_FROM_ENV", "1")
    monkeypatch.setenv("AIRFLOW_CONN_SEAM_WOOCOMMERCE", json.dumps(
        {"conn_type": "http", "host": "http://sandbox:8101/wp-json/wc/v3", "login": "ck_env", "password": "cs_env"}))
    monkeypatch.setenv("AIRFLOW_CONN_SEAM_MAILCHIMP", json.dumps(
        {"conn_type": "http", "password": "envkey-us21", "extra": {"list_id": "envlist"}}))
    monkeypatch.setenv("AIRFLOW_CONN_SEAM_QUICKBOOKS", json.dumps(
        {"conn_type": "http", "host": "http://sandbox:8103/v3/company/4242", "password": "envtoken"}))
    generate_sandbox(tmp_path, people=30, seed=2)
    handle = start_servers(tmp_path)
    try:
        shop = handle.systems["woocommerce"]
        assert requests.get(f"{shop['base_url']}/customers", auth=("ck_env", "cs_env"), timeout=5).status_code == 200
        assert handle.systems["quickbooks"]["base_url"].endswith("/v3/company/4242")
        assert handle.systems["mailchimp"]["list_id"] == "envlist"
    finally:
        handle.stop()
