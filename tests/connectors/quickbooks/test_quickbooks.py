"""QuickBooks specifics: the query language, inactive customers, Fault errors in both casings."""

import pytest

from connectors import open_source
from connectors.http import SourceError
from tests.conftest import connection_for


def test_inactive_customers_are_included(sandbox_env):
    source = open_source("quickbooks", connection_for("quickbooks", sandbox_env["systems"]))
    actives = {c["Active"] for page in source.read_pages("customers", None) for c in page}
    assert actives == {True, False}
    plain = source.get("query", params={"query": "SELECT COUNT(*) FROM Customer"}).json()
    everyone = source.get("query", params={"query": "select count(*) from Customer where Active IN (true, false)"})
    assert plain["QueryResponse"]["totalCount"] < everyone.json()["QueryResponse"]["totalCount"]


def test_query_errors_and_limits_are_faults(sandbox_env):
    source = open_source("quickbooks", connection_for("quickbooks", sandbox_env["systems"]))
    with pytest.raises(SourceError, match="400: Error parsing query"):
        source.get("query", params={"query": "SELECT * FROM Customer WHERE Nonsense ~ 1"})
    with pytest.raises(SourceError, match="400: Error parsing query"):
        source.get("query", params={"query": "SELECT * FROM Customer MAXRESULTS 5000"})


def test_expired_token_message_is_read_from_the_lowercase_fault(sandbox_env):
    # A static-token setup (no OAuth2 refresh settings), else the refresh would heal the bad token.
    realm = {"realm_id": sandbox_env["systems"]["quickbooks"]["realm_id"]}
    source = open_source("quickbooks", connection_for("quickbooks", sandbox_env["systems"], password="expired",
                                                      extra=realm))
    with pytest.raises(SourceError, match="401: message=AuthenticationFailed.*Token expired"):
        source.check()


def test_time_filter_compares_instants_across_offsets(sandbox_env):
    source = open_source("quickbooks", connection_for("quickbooks", sandbox_env["systems"]))
    q = "SELECT COUNT(*) FROM Invoice WHERE MetaData.LastUpdatedTime >= '{}'"
    utc = source.get("query", params={"query": q.format("2026-06-01T07:00:00Z")}).json()
    pacific = source.get("query", params={"query": q.format("2026-06-01T00:00:00-07:00")}).json()
    assert utc == {**pacific, "time": utc["time"]}


@pytest.mark.parametrize("query", [
    "SELECT * FROM Customer ORDERBY MetaData.LastUpdatedTime, Id STARTPOSITION 11 MAXRESULTS 7",
    "SELECT * FROM Customer WHERE Active IN (true, false) ORDERBY MetaData.LastUpdatedTime DESC MAXRESULTS 30",
    "SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime > '2026-06-01T00:00:00-07:00' STARTPOSITION 3",
    "SELECT COUNT(*) FROM Customer WHERE Active = false",
])
def test_indexed_answers_match_the_reference_evaluator(sandbox_env, query):
    """The sandbox answers simple queries from indexed columns; the result must equal a full evaluation."""
    import json as _json

    from sandbox import quickbooks, store

    plan = quickbooks.parse(query)
    assert quickbooks.sql_plan(plan) is not None
    conn = store.connect(sandbox_env["dir"], "quickbooks")
    rows = [_json.loads(b) for (b,) in conn.execute("SELECT body FROM objects WHERE kind = ? ORDER BY num",
                                                     (plan["entity"],))]
    conn.close()
    expected = quickbooks.run(rows, plan)
    source = open_source("quickbooks", connection_for("quickbooks", sandbox_env["systems"]))
    answer = source.get("query", params={"query": query}).json()["QueryResponse"]
    if plan["count"]:
        assert answer["totalCount"] == len(expected)
    else:
        page = expected[plan["start"] - 1: plan["start"] - 1 + plan["max"]]
        assert [r["Id"] for r in answer.get(plan["entity"], [])] == [r["Id"] for r in page] != []
