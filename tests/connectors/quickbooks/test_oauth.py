"""OAuth2 refresh against the sandbox's Intuit-style token endpoint: expiry, rotation, the token cache, secrets."""

import json
import logging
import stat
import time
from dataclasses import replace

import pytest
import requests

from connectors import open_source
from connectors.auth import AUTH_STYLES, auth_from_spec
from connectors.http import SourceError
from connectors.oauth import OAuth2Refresh, TokenCache
from sandbox import quickbooks, store
from tests.conftest import connection_for


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SEAM_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _state(env: dict) -> quickbooks.QuickBooksState:
    return quickbooks.state(next(s for s in env["handle"].servers if s.system == "quickbooks"))


def _cache_files(data_dir) -> list:
    return sorted((data_dir / "secrets").glob("oauth2-*.json"))


def _sandbox_chain(env: dict) -> dict:
    conn = store.connect(env["dir"], "quickbooks")
    chain = store.get_meta(conn, "oauth_refresh")
    conn.close()
    return chain


def test_token_endpoint_follows_intuits_contract(sandbox_copy):
    books = sandbox_copy["systems"]["quickbooks"]
    url = books["base_url"].split("/v3/")[0] + "/oauth2/v1/tokens/bearer"
    auth = (books["client_id"], books["client_secret"])
    first = requests.post(url, auth=auth, data={"grant_type": "refresh_token", "refresh_token": books["refresh_token"]})
    body = first.json()
    assert first.status_code == 200 and body["token_type"] == "bearer"
    assert body["expires_in"] == 3600 and body["x_refresh_token_expires_in"] == 8726400
    assert body["refresh_token"] != books["refresh_token"] and body["access_token"] != books["access_token"]
    # until its successor is used, the old refresh token still works (a lost answer can be retried) ...
    again = requests.post(url, auth=auth, data={"grant_type": "refresh_token", "refresh_token": books["refresh_token"]})
    assert again.status_code == 200
    newest = again.json()["refresh_token"]
    assert requests.post(url, auth=auth, data={"grant_type": "refresh_token", "refresh_token": newest}).ok
    # ... then it is spent, and so is the successor that was never used
    for spent in (books["refresh_token"], body["refresh_token"]):
        answer = requests.post(url, auth=auth, data={"grant_type": "refresh_token", "refresh_token": spent})
        assert (answer.status_code, answer.json()) == (400, {"error": "invalid_grant"})
    wrong_client = requests.post(url, auth=(books["client_id"], "nope"),
                                 data={"grant_type": "refresh_token", "refresh_token": newest})
    assert (wrong_client.status_code, wrong_client.json()) == (401, {"error": "invalid_client"})


def test_expired_access_token_mid_read_costs_one_refresh(sandbox_copy):
    state = _state(sandbox_copy)
    source = open_source("quickbooks", connection_for("quickbooks", sandbox_copy["systems"]), page_size=20)
    assert isinstance(source.auth, OAuth2Refresh)
    pages = source.read_pages("customers", None)
    records = list(next(pages))
    state.expire_access_tokens()
    for page in pages:
        records += page
    assert state.refreshes == 1 and state.unauthorized == 1
    count = source.get("query", params={"query": "SELECT COUNT(*) FROM Customer WHERE Active IN (true, false)"})
    assert len({r["Id"] for r in records}) == len(records) == count.json()["QueryResponse"]["totalCount"]


def test_short_lived_tokens_are_renewed_before_they_lapse(sandbox_copy, data_dir):
    state = _state(sandbox_copy)
    state.token_ttl = 1.0
    conn = connection_for("quickbooks", sandbox_copy["systems"], password="")  # no static token: refresh first
    source = open_source("quickbooks", conn, page_size=10)
    for _page in source.read_pages("invoices", None):
        time.sleep(0.3)
    assert state.refreshes >= 2 and state.unauthorized == 0, "renewed ahead of expiry, never on a 401"


def test_rotated_refresh_token_is_cached_owner_only_and_used_by_the_next_run(sandbox_copy, data_dir):
    state = _state(sandbox_copy)
    conn = connection_for("quickbooks", sandbox_copy["systems"])
    state.expire_access_tokens()
    open_source("quickbooks", conn).check()
    [cache_file] = _cache_files(data_dir)
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache_file.parent.stat().st_mode) == 0o700
    cached = json.loads(cache_file.read_text())
    assert conn.extra["realm_id"] in cache_file.name
    assert cached["refresh_token"] == _sandbox_chain(sandbox_copy)["current"] != conn.extra["refresh_token"]
    assert conn.extra["refresh_token"] not in cache_file.read_text(), "the seed is kept as a hash only"

    second = open_source("quickbooks", conn)  # a new run: starts from the cache, no refresh needed
    second.check()
    assert state.refreshes == 1
    state.expire_access_tokens()
    second.check()
    assert state.refreshes == 2
    assert _sandbox_chain(sandbox_copy)["previous"] == cached["refresh_token"], "it spent the rotated token"
    # the seed is spent now: a run without the cache could not refresh any more
    assert TokenCache.for_connection(conn, conn.extra["realm_id"]).path == cache_file
    cache_file.unlink()
    with pytest.raises(SourceError, match="invalid_grant"):
        open_source("quickbooks", conn).check()


def test_a_new_seed_in_the_connection_wins_over_the_cache(sandbox_copy, data_dir):
    state = _state(sandbox_copy)
    conn = connection_for("quickbooks", sandbox_copy["systems"])
    state.expire_access_tokens()
    open_source("quickbooks", conn).check()
    stale = replace(conn, extra={**conn.extra, "refresh_token": "re-authorised-but-wrong-seed"})
    state.expire_access_tokens()
    with pytest.raises(SourceError, match="invalid_grant"):
        open_source("quickbooks", stale).check()


def test_invalid_refresh_token_fails_clearly_and_no_secret_is_logged(sandbox_copy, caplog):
    caplog.set_level(logging.DEBUG)
    conn = connection_for("quickbooks", sandbox_copy["systems"])
    bad_seed = "AB11-not-a-real-refresh-token-0123456789"
    bad = replace(conn, password="", extra={**conn.extra, "refresh_token": bad_seed})
    with pytest.raises(SourceError) as info:
        open_source("quickbooks", bad).check()
    message = str(info.value)
    assert "quickbooks" in message and "invalid_grant" in message and "refresh token" in message
    state = _state(sandbox_copy)
    state.expire_access_tokens()
    source = open_source("quickbooks", conn, page_size=50)
    assert sum(len(p) for p in source.read_pages("payments", None)) > 0
    secrets = [bad_seed, conn.password, conn.extra["client_secret"], conn.extra["refresh_token"],
               _sandbox_chain(sandbox_copy)["current"], source.session.auth.current(),
               conn.extra["token_url"]]  # not secret, but the acceptance suite greps every *token* extra
    assert caplog.text and "refreshing the OAuth2 access token" in caplog.text
    assert not [s for s in secrets if s in caplog.text or s in message]


def test_manifests_can_declare_oauth2_refresh():
    assert AUTH_STYLES["oauth2_refresh"] is OAuth2Refresh
    auth = auth_from_spec({"type": "oauth2_refresh", "token_url": "extra.token_url", "account": "extra.shop"})
    assert auth == OAuth2Refresh(token_url="extra.token_url", account="extra.shop")
