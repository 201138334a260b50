"""unify_customers: raw -> staging (mapped, normalised, validated) -> identities -> golden records.

Runs whenever any source's raw Asset is updated. Wiring only: see include.pipeline.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, AssetAny, dag, task

from include.assets import CUSTOMERS_ASSET, RAW_ASSETS
from include.dag_defaults import DEFAULT_ARGS


@dag(schedule=AssetAny(*(Asset(uri) for uri in RAW_ASSETS.values())),
     start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, max_active_runs=1,
     default_args=DEFAULT_ARGS, tags=["seam", "unify"], doc_md=__doc__)
def unify_customers():
    @task
    def stage_sources(**context) -> dict:
        from include.pipeline import stage

        return stage(context["run_id"])

    @task(outlets=[Asset(CUSTOMERS_ASSET)])
    def resolve_identities(**context) -> dict:
        from include.pipeline import resolve

        return resolve(context["run_id"])

    stage_sources() >> resolve_identities()


unify_customers()
