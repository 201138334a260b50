"""Runs the real Airflow DAGs in process (`dag.test()`) against a SQLite metadata DB under .airflow/.

`seam run` and `make demo` go through here, so the demo exercises the same DAGs a scheduler runs.
Each DAG runs in a child process whose Airflow log goes to .airflow/logs/, keeping the terminal
for progress lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from include.config import REPO_ROOT, data_dir

AIRFLOW_HOME = REPO_ROOT / ".airflow"
EXTRACT_DAGS = ("extract_woocommerce", "extract_mailchimp", "extract_quickbooks", "extract_legacy_crm")
ALL_DAGS = (*EXTRACT_DAGS, "unify_customers", "activate_segments")
STAGE_DAGS = {"extract": EXTRACT_DAGS, "unify": ("unify_customers",), "activate": ("activate_segments",),
              "all": ALL_DAGS}


def airflow_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("AIRFLOW_HOME", str(AIRFLOW_HOME))
    env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO_ROOT / "dags"))
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    env.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
    env.setdefault("SEAM_TASK_RETRIES", "0")
    env.setdefault("GX_ANALYTICS_ENABLED", "false")
    env.update(extra or {})
    return env


def _quickbooks_oauth(books: dict[str, str]) -> dict[str, str]:
    """OAuth2 refresh settings (token endpoint on the sandbox server) when the sandbox issued them."""
    if not all(books.get(k) for k in ("client_id", "client_secret", "refresh_token")):
        return {}  # a sandbox generated before OAuth2: static token only
    root = books["base_url"].split("/v3/company/", 1)[0]
    return {"client_id": books["client_id"], "client_secret": books["client_secret"],
            "refresh_token": books["refresh_token"], "token_url": f"{root}/oauth2/v1/tokens/bearer"}


def connections_for(systems: dict[str, dict[str, str]]) -> dict[str, str]:
    """AIRFLOW_CONN_SEAM_* values (Airflow's JSON form) for the systems a sandbox reports."""
    conns = {
        "woocommerce": {"conn_type": "http", "host": systems["woocommerce"]["base_url"],
                        "login": systems["woocommerce"]["consumer_key"],
                        "password": systems["woocommerce"]["consumer_secret"]},
        "mailchimp": {"conn_type": "http", "host": systems["mailchimp"]["base_url"], "login": "seam",
                      "password": systems["mailchimp"]["api_key"],
                      "extra": {"list_id": systems["mailchimp"]["list_id"]}},
        "quickbooks": {"conn_type": "http", "host": systems["quickbooks"]["base_url"],
                       "password": systems["quickbooks"]["access_token"],
                       "extra": {"realm_id": systems["quickbooks"]["realm_id"], **_quickbooks_oauth(systems["quickbooks"])}},
        "legacy_crm": {"conn_type": "generic", "host": systems["legacy_crm"]["url"]},
    }
    return {f"AIRFLOW_CONN_SEAM_{name.upper()}": json.dumps(value) for name, value in conns.items()}


def sandbox_connections(sandbox_dir: Path | None = None) -> dict[str, str]:
    """Connections for the running sandbox, except those the environment already defines."""
    state_file = (sandbox_dir or data_dir() / "sandbox") / "sandbox.json"
    if not state_file.exists():
        return {}
    conns = connections_for(json.loads(state_file.read_text())["systems"])
    return {k: v for k, v in conns.items() if k not in os.environ}


def ensure_metadata_db(env: dict[str, str]) -> None:
    home = Path(env["AIRFLOW_HOME"])
    marker = home / ".migrated"
    if marker.exists():
        return
    (home / "logs").mkdir(parents=True, exist_ok=True)
    with (home / "logs" / "db-migrate.log").open("w") as log:
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, stdout=log,
                       stderr=subprocess.STDOUT, check=True)
    marker.touch()


def run_dag(dag_id: str, env: dict[str, str]) -> float:
    """Run one DAG to completion with dag.test() in a child process; raise with the log path on failure."""
    log_path = Path(env["AIRFLOW_HOME"]) / "logs" / f"{dag_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log_path.open("w") as log:
        proc = subprocess.run([sys.executable, "-m", "include.runner", dag_id], env=env, stdout=log,
                              stderr=subprocess.STDOUT, cwd=REPO_ROOT)
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-25:]
        raise RuntimeError(f"DAG {dag_id} failed (full log: {log_path}):\n" + "\n".join(tail))
    return time.perf_counter() - started


def _test_one(dag_id: str) -> int:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        print(f"DAG import errors: {bag.import_errors}")
        return 2
    dag = bag.get_dag(dag_id)
    if dag is None:
        print(f"no DAG {dag_id}; DAGs: {sorted(bag.dags)}")
        return 2
    run = dag.test()
    state = str(getattr(run, "state", "unknown"))
    print(f"SEAM_DAG_RESULT {dag_id} {state}")
    return 0 if state.endswith("success") else 1


if __name__ == "__main__":
    sys.exit(_test_one(sys.argv[1]))
