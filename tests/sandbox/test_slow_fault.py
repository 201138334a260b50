"""The "slow" fault: the answer is late but right, and a sleeping request holds up no other one."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from sandbox.http import Faults


@pytest.fixture(scope="module")
def small_sandbox(tmp_path_factory):
    from sandbox.generator import generate_sandbox
    from sandbox.servers import start_servers

    directory = tmp_path_factory.mktemp("slow")
    generate_sandbox(directory, people=60, seed=8)
    handle = start_servers(directory)
    yield {"dir": directory, "systems": handle.systems, "handle": handle}
    handle.stop()


@pytest.fixture
def chimp(small_sandbox):
    server = next(s for s in small_sandbox["handle"].servers if s.system == "mailchimp")
    system = small_sandbox["systems"]["mailchimp"]
    yield server, f"{system['base_url']}/ping", ("seam", system["api_key"])
    server.inject(Faults())


def test_a_slow_answer_is_late_but_correct(chimp):
    server, ping, auth = chimp
    served = server.faults_served
    server.inject(Faults(rate=1.0, kinds=("slow",), slow_seconds=0.3))
    started = time.monotonic()
    response = requests.get(ping, auth=auth, timeout=10)
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200 and response.json() == {"health_status": "Everything's Chimpy!"}
    assert server.faults_served == served + 1
    server.inject(Faults())
    started = time.monotonic()
    assert requests.get(ping, auth=auth, timeout=10).status_code == 200
    assert time.monotonic() - started < 0.3, "without the fault the answer is prompt"


def test_a_sleeping_request_holds_neither_the_lock_nor_other_requests(chimp):
    server, ping, auth = chimp
    server.inject(Faults(rate=1.0, kinds=("slow",), slow_seconds=0.6))
    sleeper = threading.Thread(target=requests.get, args=(ping,), kwargs={"auth": auth, "timeout": 10})
    sleeper.start()
    time.sleep(0.15)  # the request is asleep now
    assert server.lock.acquire(timeout=0.2), "the server lock must be free while a slow request sleeps"
    server.lock.release()
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _n: requests.get(ping, auth=auth, timeout=10).status_code, range(4)))
    sleeper.join()
    assert answers == [200] * 4
    assert time.monotonic() - started < 4 * 0.6, "slow requests sleep side by side, not one after another"


@pytest.mark.parametrize("stream", ["members", "sent_to", "email_activity"])  # the last two page campaigns too
def test_the_connector_reads_everything_through_slow_answers(small_sandbox, chimp, stream):
    from connectors import open_source
    from tests.conftest import connection_for

    server = chimp[0]
    source = open_source("mailchimp", connection_for("mailchimp", small_sandbox["systems"]), page_size=4)
    served = server.faults_served
    server.inject(Faults(rate=0.5, kinds=("slow",), slow_seconds=0.05, seed=3))
    ids = [source.record_id(source.stream(stream), r) for page in source.read_pages(stream, None) for r in page]
    assert server.faults_served - served >= 3, "slow answers must really have been injected"
    conn = sqlite3.connect(small_sandbox["dir"] / "mailchimp.db")
    expected = conn.execute("SELECT COUNT(*) FROM objects WHERE kind = ?", (stream,)).fetchone()[0]
    conn.close()
    assert len(ids) == len(set(ids)) == expected > 0
