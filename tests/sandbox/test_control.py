"""`seam sandbox up/down`: generate once, serve in the background, reuse, stop."""

import requests

from sandbox import control


def test_up_reuses_a_running_sandbox_and_down_stops_it(tmp_path):
    directory = tmp_path / "sb"
    state = control.up(directory, people=100, seed=1)
    try:
        chimp = state["systems"]["mailchimp"]
        ping = requests.get(f"{chimp['base_url']}/ping", auth=("x", chimp["api_key"]), timeout=5)
        assert ping.json() == {"health_status": "Everything's Chimpy!"}
        assert control.up(directory, people=100, seed=1)["pid"] == state["pid"]
        assert control.status(directory)["pid"] == state["pid"]
    finally:
        assert control.down(directory)
    assert control.status(directory) is None
    assert not control.down(directory)


def test_a_different_population_regenerates(tmp_path):
    directory = tmp_path / "sb"
    assert control.prepare(directory, people=50, seed=1)
    assert not control.prepare(directory, people=50, seed=1)
    assert control.prepare(directory, people=60, seed=1)
    assert control.prepare(directory, people=60, seed=1, reset=True)
