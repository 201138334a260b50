"""Mailchimp's 10-simultaneous-connection limit: the sandbox enforces it, the connector's pacing respects it.

Slow answers (an injected fault) keep requests in flight long enough to overlap for certain.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from connectors.mailchimp import Mailchimp
from sandbox.http import Faults
from sandbox.mailchimp import MAX_CONNECTIONS
from tests.conftest import connection_for


@pytest.fixture(scope="module")
def busy_chimp(tmp_path_factory):
    """A small private sandbox whose Mailchimp answers every request after 0.3 s."""
    from sandbox.generator import generate_sandbox
    from sandbox.servers import start_servers

    directory = tmp_path_factory.mktemp("limit")
    generate_sandbox(directory, people=60, seed=4)
    handle = start_servers(directory)
    server = next(s for s in handle.servers if s.system == "mailchimp")
    server.inject(Faults(rate=1.0, kinds=("slow",), slow_seconds=0.3))
    yield {"systems": handle.systems, "server": server}
    handle.stop()


def _at_once(count: int, call) -> list:
    """Run `call` in `count` threads released together, so the requests overlap."""
    gate = threading.Barrier(count)

    def run(_n: int):
        gate.wait()
        return call()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_twelve_simultaneous_requests_get_429_past_the_tenth(busy_chimp):
    chimp = busy_chimp["systems"]["mailchimp"]
    responses = _at_once(12, lambda: requests.get(f"{chimp['base_url']}/ping", auth=("seam", chimp["api_key"]),
                                                  timeout=10))
    assert Counter(r.status_code for r in responses) == {200: MAX_CONNECTIONS, 429: 12 - MAX_CONNECTIONS}
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert "simultaneous connections" in refused.json()["detail"]


class _Unpaced(Mailchimp):
    rate_limit = None


@pytest.mark.parametrize(("source_class", "paced"), [(Mailchimp, True), (_Unpaced, False)])
def test_the_connectors_pacing_keeps_many_threads_under_the_limit(busy_chimp, caplog, source_class, paced):
    """16 threads share the process-wide semaphore: none is refused. Unpaced (the control), some are."""
    caplog.set_level(logging.WARNING, logger="connectors.http")
    conn = connection_for("mailchimp", busy_chimp["systems"])
    answers = _at_once(16, lambda: source_class(conn).get("ping").json())
    assert answers == [{"health_status": "Everything's Chimpy!"}] * 16  # retries get the unpaced ones through
    refused = [r for r in caplog.records if "HTTP 429" in r.getMessage()]
    assert (not refused) if paced else refused


def test_many_threads_read_every_report_record_without_a_429(busy_chimp, caplog):
    caplog.set_level(logging.WARNING, logger="connectors.http")
    conn = connection_for("mailchimp", busy_chimp["systems"])
    busy_chimp["server"].inject(Faults(rate=1.0, kinds=("slow",), slow_seconds=0.05))
    try:
        reads = _at_once(12, lambda: sorted(
            r["email_id"] + r["campaign_id"] for page in Mailchimp(conn, page_size=50).read_pages("sent_to", None)
            for r in page))
    finally:
        busy_chimp["server"].inject(Faults(rate=1.0, kinds=("slow",), slow_seconds=0.3))
    assert reads[0] and all(read == reads[0] for read in reads)
    assert not [r for r in caplog.records if "HTTP 429" in r.getMessage()]
