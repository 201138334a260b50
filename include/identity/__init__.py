"""Identity resolution: people and companies into stable, explainable golden records.

Entry points: include.identity.resolve.resolve (the pipeline stage), include.identity.commands
(`seam identity …`), include.identity.file_resolver (`seam resolve`). Nothing heavy is imported
here, so `seam --help` does not pay for pandas and Splink.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterator
from typing import Any


def without_cycle_collection(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run fn with Python's cycle collector paused. A run holds millions of long-lived record dicts
    and tuples, which the collector would traverse again and again although none of them is
    garbage (measured: a fifth of an incremental run at 100,000 records). Reference counting still
    frees everything else; the cycles Splink leaves are collected once after scoring (`collected_after`)."""
    @functools.wraps(fn)
    def paused(*args: Any, **kwargs: Any) -> Any:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()
    return paused


@contextlib.contextmanager
def collected_after() -> Iterator[None]:
    """Collect the reference cycles a block leaves, without traversing what was alive before it.

    Objects alive on entry (a run's million record dicts) are frozen, so the one collection at
    the end looks only at what the block allocated (measured: 0.24 s of 0.25 s at 100,000 records).
    When something else has frozen objects already (Airflow freezes before it forks a task), it
    is left as it is and the collection traverses everything, as a plain gc.collect() would.
    """
    own = gc.get_freeze_count() == 0
    if own:
        gc.freeze()
    try:
        yield
        gc.collect()
    finally:
        if own:
            gc.unfreeze()
