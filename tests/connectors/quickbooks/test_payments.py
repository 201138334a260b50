"""QuickBooks payments: a full read over several pages and an incremental read after an edit."""

import json
from datetime import UTC, datetime, timedelta

from connectors import open_source
from sandbox import store
from tests.conftest import connection_for


def _payment_count(directory) -> int:
    return json.loads((directory / "generation.json").read_text())["counts"]["quickbooks.Payment"]


def test_full_read_returns_every_payment_once_over_several_pages(sandbox_env):
    expected = _payment_count(sandbox_env["dir"])
    source = open_source("quickbooks", connection_for("quickbooks", sandbox_env["systems"]),
                         page_size=max(2, expected // 4))
    pages = list(source.read_pages("payments", None))
    ids = [source.record_id(source.stream("payments"), r) for page in pages for r in page]
    assert expected > 0 and len(pages) > 2
    assert len(ids) == len(set(ids)) == expected
    assert all(r["Id"] and r["MetaData"]["LastUpdatedTime"] for page in pages for r in page)


def test_incremental_read_returns_a_touched_payment(sandbox_copy):
    source = open_source("quickbooks", connection_for("quickbooks", sandbox_copy["systems"]), page_size=20)
    everything = [r for page in source.read_pages("payments", None) for r in page]
    newest = max(source.record_cursor(source.stream("payments"), r) for r in everything)
    since = newest + timedelta(seconds=1)
    assert [r for page in source.read_pages("payments", since) for r in page] == []

    target = everything[len(everything) // 2]["Id"]
    when = max(datetime.now(UTC), since + timedelta(seconds=1)).replace(microsecond=0)
    store.touch(sandbox_copy["dir"], "quickbooks", "Payment", target, {"PrivateNote": "edited"}, when)
    changed = [r for page in source.read_pages("payments", since) for r in page]
    assert [r["Id"] for r in changed] == [target]
    assert changed[0]["PrivateNote"] == "edited"
