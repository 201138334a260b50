"""Default task arguments shared by every Seam DAG.

SEAM_TASK_RETRIES lets `seam run` and the tests run with no retries (Airflow's retry delay would
otherwise stall an in-process `dag.test()` for minutes); deployments keep the default.
"""

import os
from datetime import timedelta

DEFAULT_ARGS = {
    "owner": "seam",
    "retries": int(os.environ.get("SEAM_TASK_RETRIES", "2")),
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
}
