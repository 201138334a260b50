"""extract_<system>: one DAG per source, pulling every stream incrementally into the raw layer.

Wiring only: the work is include.pipeline.extract. A new manifest in connectors/manifests/
gets its DAG here without code. Each DAG updates the source's raw Asset,
which schedules unify_customers.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, dag, task

from include.assets import RAW_ASSETS
from include.dag_defaults import DEFAULT_ARGS


def build(system: str):
    @dag(dag_id=f"extract_{system}", schedule="@hourly", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
         catchup=False, max_active_runs=1, default_args=DEFAULT_ARGS, tags=["seam", "extract", system],
         doc_md=__doc__)
    def extract_dag():
        @task(task_id=f"pull_{system}", outlets=[Asset(RAW_ASSETS[system])])
        def pull(**context) -> list[dict]:
            from include.pipeline import extract

            return extract(system, context["run_id"])

        pull()

    return extract_dag()


for _system in RAW_ASSETS:  # every connector, Python or YAML manifest
    globals()[f"extract_{_system}"] = build(_system)
