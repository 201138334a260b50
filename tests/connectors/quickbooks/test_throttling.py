"""Intuit's limits in the sandbox (requests per window and in flight per realm) and how the connector copes."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from connectors import open_source
from connectors.http import RateLimit, Throttle
from sandbox import quickbooks
from tests.conftest import connection_for

THROTTLED = "message=ThrottleExceeded; errorCode=003001; statusCode=429"


@pytest.fixture(autouse=True)
def _private_token_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEAM_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def limited(sandbox_copy):
    """The sandbox with its limit lowered to 30 requests in any 2 s."""
    state = quickbooks.state(next(s for s in sandbox_copy["handle"].servers if s.system == "quickbooks"))
    state.requests_per_window, state.window_seconds = 30, 2.0
    return sandbox_copy, state


def _count_query(env: dict) -> tuple[str, dict, dict]:
    books = env["systems"]["quickbooks"]
    return (f"{books['base_url']}/query", {"query": "SELECT COUNT(*) FROM Invoice"},
            {"Authorization": f"Bearer {books['access_token']}", "Accept": "application/json"})


def test_defaults_are_intuits_published_limits():
    state = quickbooks.QuickBooksState()
    assert (state.requests_per_window, state.window_seconds, state.max_concurrent) == (500, 60.0, 10)


def test_a_burst_over_the_rate_limit_gets_throttle_exceeded(limited):
    env, state = limited
    url, params, headers = _count_query(env)
    with requests.Session() as session:
        answers = [session.get(url, params=params, headers=headers) for _ in range(40)]
    assert [a.status_code for a in answers] == [200] * 30 + [429] * 10
    body = answers[-1].json()
    assert body["Fault"]["type"] == "SERVICE" and "time" in body
    assert body["Fault"]["Error"] == [{"Message": THROTTLED, "Detail": "The request limit was reached.", "code": "3001"}]
    assert state.throttled == 10


def test_more_than_ten_requests_in_flight_get_throttle_exceeded(sandbox_copy):
    state = quickbooks.state(next(s for s in sandbox_copy["handle"].servers if s.system == "quickbooks"))
    state.latency = 1.5  # each answer takes 1.5 s, so 16 requests sent together all overlap
    url, params, headers = _count_query(sandbox_copy)
    start = threading.Barrier(16)

    def call(_: int) -> int:
        start.wait()
        return requests.get(url, params=params, headers=headers).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = sorted(pool.map(call, range(16)))
    assert codes == [200] * 10 + [429] * 6


def test_pacing_within_the_limit_reads_everything_without_a_429(limited):
    env, state = limited
    source = open_source("quickbooks", connection_for("quickbooks", env["systems"]), page_size=2)
    # Exactly the server's published limit: the sliding window must keep every 2 s span within it.
    source.throttle = Throttle(RateLimit(requests=30, per_seconds=2, max_concurrency=10))
    pages = list(source.read_pages("invoices", None))
    ids = [r["Id"] for page in pages for r in page]
    assert len(pages) > 30 * 2, "the read must span several windows' worth of requests"
    assert len(set(ids)) == len(ids) == _total(source, "Invoice")
    assert state.throttled == 0


def test_without_pacing_the_read_still_completes_by_retrying_429(limited):
    env, state = limited
    source = open_source("quickbooks", connection_for("quickbooks", env["systems"]), page_size=5)
    source.throttle = None
    ids = [r["Id"] for page in source.read_pages("invoices", None) for r in page]
    assert len(set(ids)) == len(ids) == _total(source, "Invoice")
    assert state.throttled > 0, "the server must have pushed back"


def _total(source, entity: str) -> int:
    return source.get("query", params={"query": f"SELECT COUNT(*) FROM {entity}"}).json()["QueryResponse"]["totalCount"]
