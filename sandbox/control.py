"""Sandbox lifecycle for `seam sandbox up|down|status`: generate once, serve in the background."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from sandbox.generator import VERSION, generate_sandbox


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def status(data_dir: Path) -> dict[str, Any] | None:
    state_file = Path(data_dir) / "sandbox.json"
    if not state_file.exists():
        return None
    state = json.loads(state_file.read_text())
    return state if _alive(state["pid"]) else None


def prepare(data_dir: Path, people: int = 2000, seed: int = 7, reset: bool = False,
            legacy_crm_url: str | None = None) -> bool:
    """Generate the data unless the same population is already there; True when it was (re)generated."""
    data_dir = Path(data_dir)
    generation = data_dir / "generation.json"
    if not reset and generation.exists() and (data_dir / "credentials.json").exists():
        done = json.loads(generation.read_text())
        crm = json.loads((data_dir / "credentials.json").read_text())["legacy_crm"]["url"]
        wanted_crm = legacy_crm_url or f"sqlite:///{data_dir / 'legacy_crm.db'}"
        same = (done.get("version"), done["people"], done["seed"], crm) == (VERSION, people, seed, wanted_crm)
        if same:
            return False
    down(data_dir)
    generate_sandbox(data_dir, people=people, seed=seed, legacy_crm_url=legacy_crm_url)
    return True


def up(data_dir: Path, people: int = 2000, seed: int = 7, reset: bool = False, legacy_crm_url: str | None = None,
       host: str = "127.0.0.1", timeout: float = 30.0) -> dict[str, Any]:
    data_dir = Path(data_dir)
    regenerated = prepare(data_dir, people, seed, reset, legacy_crm_url)
    running = status(data_dir)
    if running and not regenerated:
        return {**running, "regenerated": False}
    down(data_dir)
    log = (data_dir / "sandbox.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.serve", "--dir", str(data_dir), "--host", host],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            cwd=Path(__file__).resolve().parent.parent)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = status(data_dir)
        if state and state["pid"] == proc.pid and _answers(state):
            return {**state, "regenerated": regenerated}
        if proc.poll() is not None:
            raise RuntimeError(f"sandbox server exited with {proc.returncode}; see {data_dir / 'sandbox.log'}")
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"sandbox servers did not answer within {timeout:.0f} s; see {data_dir / 'sandbox.log'}")


def _answers(state: dict[str, Any]) -> bool:
    for name in ("woocommerce", "mailchimp", "quickbooks"):
        try:
            requests.get(state["systems"][name]["base_url"], timeout=2)
        except requests.RequestException:
            return False
    return True


def down(data_dir: Path) -> bool:
    state = status(data_dir)
    if not state:
        return False
    os.kill(state["pid"], signal.SIGTERM)
    for _ in range(50):
        if not _alive(state["pid"]):
            break
        time.sleep(0.1)
    (Path(data_dir) / "sandbox.json").unlink(missing_ok=True)
    return True
