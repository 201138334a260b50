"""activate_segments: metrics -> segments -> tags pushed to Mailchimp (consent enforced, diffed).

Runs whenever the customers Asset is updated. Wiring only: see include.pipeline.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, dag, task

from include.assets import CUSTOMERS_ASSET, SEGMENTS_ASSET
from include.dag_defaults import DEFAULT_ARGS


@dag(schedule=Asset(CUSTOMERS_ASSET), start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
     max_active_runs=1, default_args=DEFAULT_ARGS, tags=["seam", "activate"], doc_md=__doc__)
def activate_segments():
    @task
    def compute_metrics(**context) -> dict:
        from include.pipeline import metrics

        return metrics(context["run_id"])

    @task(outlets=[Asset(SEGMENTS_ASSET)])
    def evaluate_segments(**context) -> dict:
        from include.pipeline import segments

        return segments(context["run_id"])

    @task
    def push_mailchimp(**context) -> dict:
        from include.pipeline import push

        return push("mailchimp", context["run_id"])

    compute_metrics() >> evaluate_segments() >> push_mailchimp()


activate_segments()
