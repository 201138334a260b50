"""Connector acceptance, modelled on Airbyte's: check, full read, incremental read, idempotent load.

Every connector runs against its sandbox over real HTTP (or SQL), with pages small enough to
force several pages.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from connectors import open_source
from connectors.http import SourceError
from include.extract import extract_stream
from include.warehouse import get_engine, migrate
from include.warehouse.schema import extract_state, raw_records
from tests.conftest import connection_for, truth_count

STREAMS = [("woocommerce", "customers", "customers"), ("woocommerce", "orders", "orders"),
           ("mailchimp", "members", "members"), ("mailchimp", "campaigns", "campaigns"),
           ("mailchimp", "email_activity", "email_activity"), ("mailchimp", "sent_to", "sent_to"),
           ("mailchimp", "unsubscribes", "unsubscribes"),
           ("quickbooks", "customers", "Customer"), ("quickbooks", "invoices", "Invoice"),
           ("quickbooks", "payments", "Payment"), ("legacy_crm", "contacts", "contacts"),
           ("legacy_crm", "accounts", "accounts")]
# Streams read by change time whose records a person edits one by one (campaign reports are
# re-read in full or keyed by event; tests/connectors/mailchimp covers their incremental reads).
INCREMENTAL = [s for s in STREAMS if (s[0], s[1]) not in {
    ("mailchimp", "campaigns"), ("mailchimp", "email_activity"), ("mailchimp", "sent_to"),
    ("mailchimp", "unsubscribes")}]
FAULT_KINDS = ("429", "500", "503", "drop", "slow", "repeat")
# (system, the bad secret, where it goes, the status the system answers with)
BAD = [("woocommerce", "cs_wrong-secret-123", "password", 401),
       ("mailchimp", "wrongkey0123456789-us21", "password", 401),
       ("quickbooks", "wrong-token-123", "password", 401),  # a static bearer token, no refresh configured
       ("quickbooks", "wrong-refresh-123", "extra.refresh_token", 400)]  # OAuth2: the token endpoint says invalid_grant



def touch(env: dict, system: str, kind: str, record_id: str, when: datetime) -> None:
    """Edit a record at the source, the way a person in that system would."""
    if system == "legacy_crm":
        engine = sa.create_engine(env["systems"]["legacy_crm"]["url"])
        column = "first_name" if kind == "contacts" else "name"
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {kind} SET {column} = 'Touched', date_modified = :t WHERE id = :id"),
                         {"t": when.replace(tzinfo=None), "id": record_id})
        engine.dispose()
        return
    from sandbox.store import touch as store_touch

    changes = {"Id": record_id} if system == "quickbooks" else {"status": "completed"} if kind == "orders" else {}
    store_touch(env["dir"], system, kind, record_id, changes, when)


@pytest.mark.parametrize(("system", "stream", "truth_stream"), STREAMS)
def test_full_read_returns_every_record_once_over_several_pages(sandbox_env, system, stream, truth_stream):
    expected = truth_count(sandbox_env["dir"], system, stream)
    source = open_source(system, connection_for(system, sandbox_env["systems"]), page_size=min(40, expected // 2))
    source.check()
    pages = list(source.read_pages(stream, None))
    ids = [source.record_id(source.stream(stream), r) for page in pages for r in page]
    assert len(pages) > 1
    assert len(ids) == len(set(ids)) == expected


@pytest.mark.parametrize(("system", "stream", "truth_stream"), STREAMS)
def test_loading_twice_changes_nothing(sandbox_env, warehouse, system, stream, truth_stream):
    """Idempotency: a second run over an unchanged system rewrites no raw row and moves no cursor."""
    def snapshot() -> list[tuple]:
        with warehouse.connect() as conn:
            return sorted(conn.execute(sa.select(raw_records).where(
                raw_records.c.source == system, raw_records.c.stream == stream)).all()) + sorted(
                conn.execute(sa.select(extract_state.c.cursor_value).where(
                    extract_state.c.source == system, extract_state.c.stream == stream)).all())

    conn = connection_for(system, sandbox_env["systems"])
    extract_stream(open_source(system, conn, page_size=40), stream, warehouse, "run-1")
    before = snapshot()
    again = extract_stream(open_source(system, conn, page_size=40), stream, warehouse, "run-2")
    assert len(before) > 1 and snapshot() == before
    assert again["repeated"] == 0


@pytest.mark.parametrize(("system", "secret", "field", "status"), BAD)
def test_bad_credentials_fail_clearly_without_leaking_the_secret(sandbox_env, system, secret, field, status,
                                                                 tmp_path, monkeypatch):
    monkeypatch.setenv("SEAM_DATA_DIR", str(tmp_path))  # no token cache from another test
    conn = connection_for(system, sandbox_env["systems"])
    if field == "password":
        # without refresh credentials: a bad static token cannot be repaired by a refresh
        conn = replace(conn, password=secret, extra={k: v for k, v in conn.extra.items()
                                                     if k not in ("client_id", "client_secret", "refresh_token")})
    else:
        conn = replace(conn, password="", extra={**conn.extra, field.removeprefix("extra."): secret})
    with pytest.raises(SourceError) as info:
        open_source(system, conn).check()
    message = str(info.value)
    assert info.value.status == status and system in message
    assert secret not in message
    if field == "extra.refresh_token":
        assert "invalid_grant" in message


def test_unreachable_database_fails_clearly(tmp_path):
    from include.config import Connection

    conn = Connection("seam_legacy_crm", conn_type="generic", host=f"sqlite:///{tmp_path / 'missing.db'}")
    with pytest.raises(SourceError, match="legacy_crm: error: cannot read contacts"):
        open_source("legacy_crm", conn).check()


@pytest.mark.parametrize(("system", "stream", "truth_stream"), INCREMENTAL)
def test_incremental_read_pulls_only_what_changed(sandbox_copy, warehouse, system, stream, truth_stream):
    source = open_source(system, connection_for(system, sandbox_copy["systems"]), page_size=40)
    first = extract_stream(source, stream, warehouse, "run-1", lookback=timedelta(0))
    assert first["rows"] == truth_count(sandbox_copy["dir"], system, stream)

    with warehouse.connect() as conn:
        cursor = conn.execute(sa.select(extract_state.c.cursor_value).where(
            extract_state.c.source == system, extract_state.c.stream == stream)).scalar()
        at_cursor = conn.execute(sa.select(sa.func.count()).select_from(raw_records).where(
            raw_records.c.source == system, raw_records.c.stream == stream,
            raw_records.c.cursor_value == cursor)).scalar()
        ids = conn.execute(sa.select(raw_records.c.record_id).where(
            raw_records.c.source == system, raw_records.c.stream == stream).order_by(raw_records.c.record_id)
            .limit(2)).scalars().all()
    second = extract_stream(source, stream, warehouse, "run-2", lookback=timedelta(0))
    assert second["rows"] <= at_cursor, "nothing changed: only records sitting on the cursor may be re-read"

    when = datetime.now(UTC).replace(microsecond=0)
    for record_id in ids:
        touch(sandbox_copy, system, truth_stream if system == "quickbooks" else stream, record_id, when)
    third = extract_stream(source, stream, warehouse, "run-3", lookback=timedelta(0))
    assert len(ids) <= third["rows"] <= len(ids) + at_cursor
    assert third["cursor_to"] == when.strftime("%Y-%m-%dT%H:%M:%SZ")
    with warehouse.connect() as conn:
        changed = conn.execute(sa.select(raw_records.c.record_id).where(
            raw_records.c.source == system, raw_records.c.stream == stream,
            raw_records.c.run_id == "run-3")).scalars().all()
        total = conn.execute(sa.select(sa.func.count()).select_from(raw_records).where(
            raw_records.c.source == system, raw_records.c.stream == stream)).scalar()
    assert sorted(changed) == sorted(ids)
    assert total == first["rows"], "re-reads must update rows, never add duplicates"


def test_a_failed_run_keeps_the_old_cursor_and_the_rerun_loses_nothing(sandbox_copy, warehouse):
    source = open_source("woocommerce", connection_for("woocommerce", sandbox_copy["systems"]), page_size=20)
    real = source.read_pages

    def dies_after_two_pages(stream_name, since):
        for n, page in enumerate(real(stream_name, since)):
            if n == 2:
                raise ConnectionError("connection dropped mid-stream")
            yield page

    source.read_pages = dies_after_two_pages
    with pytest.raises(ConnectionError):
        extract_stream(source, "orders", warehouse, "run-1")
    with warehouse.connect() as conn:
        assert conn.execute(sa.select(extract_state)).first() is None, "no cursor may advance on a failed run"
        partial = conn.execute(sa.select(sa.func.count()).select_from(raw_records)).scalar()
        status = conn.execute(sa.text("SELECT status, error FROM extract_runs")).one()
    # page 1 was committed; page 2 was held back to learn whether it was the last one
    assert partial == 20 and status.status == "failed" and "connection dropped" in status.error
    source.read_pages = real
    rerun = extract_stream(source, "orders", warehouse, "run-2")
    with warehouse.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(raw_records)).scalar()
    assert total == rerun["rows"] == truth_count(sandbox_copy["dir"], "woocommerce", "orders")


VOLATILE = {"first_loaded_at", "loaded_at", "run_id", "updated_at", "started_at", "finished_at",
            "quarantined_at", "synced_at"}
COMPARED_TABLES = ("raw_records", "extract_state", "stream_schemas", "person_records", "order_records",
                   "order_lines", "payments", "email_events", "consents", "identifiers", "addresses", "quarantine",
                   "customers", "customer_sources", "orders")


def warehouse_contents(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every row of the data tables, minus the columns that only say when or in which run."""
    meta = sa.MetaData()
    meta.reflect(engine, only=COMPARED_TABLES)
    with engine.connect() as conn:
        return {name: sorted(tuple(map(str, row)) for row in conn.execute(
            sa.select(*[c for c in meta.tables[name].columns if c.name not in VOLATILE])))
            for name in COMPARED_TABLES}


def test_with_20_percent_injected_faults_the_warehouse_ends_identical(tmp_path):
    """429 with Retry-After, 500/503, dropped connections and slow answers are survived: raw, staging
    and core end identical to a clean run's, row for row (timestamps and run ids aside)."""
    from include.identity.resolve import resolve
    from include.staging import stage_all
    from sandbox.generator import generate_sandbox
    from sandbox.http import Faults
    from sandbox.servers import start_servers

    generate_sandbox(tmp_path / "sandbox", people=200, seed=13)
    contents, injected, repeated = [], 0, 0
    faulty = Faults(rate=0.2, kinds=FAULT_KINDS, retry_after=0, seed=4, slow_seconds=0.2)
    for label, faults in (("clean", None), ("faulty", faulty)):
        handle = start_servers(tmp_path / "sandbox", faults=faults)
        engine = get_engine(f"sqlite:///{tmp_path / (label + '.db')}")
        migrate(engine)
        try:
            for system, stream, _truth in STREAMS:
                source = open_source(system, connection_for(system, handle.systems), page_size=25)
                repeated += extract_stream(source, stream, engine, label)["repeated"]
        finally:
            handle.stop()
            injected += sum(server.faults_served for server in handle.servers)
        stage_all(engine, label)
        resolve(engine, label)
        contents.append(warehouse_contents(engine))
        engine.dispose()
    assert injected >= 10, f"only {injected} faults were injected"
    assert repeated > 0, "records repeated across page boundaries must have been served and recognised"
    assert all(contents[0][name] for name in ("raw_records", "person_records", "customers"))
    for name in COMPARED_TABLES:
        assert contents[0][name] == contents[1][name], name


def test_secrets_never_reach_the_logs(sandbox_env, warehouse, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    secrets = []
    for system, stream, _truth in STREAMS:
        conn = connection_for(system, sandbox_env["systems"])
        secrets += [s for s in (conn.password, conn.login) if s and len(s) > 8]
        secrets += [v for k, v in conn.extra.items() if isinstance(v, str) and len(v) > 8
                    and any(word in k for word in ("secret", "token", "key", "password"))]
        extract_stream(open_source(system, conn, **({} if system == "legacy_crm" else {"page_size": 50})),
                       stream, warehouse, "run-logs")
    bad = open_source("woocommerce", connection_for("woocommerce", sandbox_env["systems"], password="cs_top-secret-x"))
    with pytest.raises(SourceError):
        bad.check()
    secrets.append("cs_top-secret-x")
    text = caplog.text
    assert "woocommerce" in text or "urllib3" in text, "the test must capture something"
    leaked = [s for s in secrets if s in text]
    assert not leaked, "a credential appeared in the logs"
    from include.summary import render

    with warehouse.connect() as conn:  # every table, every column, as text
        tables = sa.inspect(conn).get_table_names()
        dump = "\n".join(str(row) for name in tables for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')))
    assert len(dump) > 10_000, "the warehouse dump must hold the extracted rows"
    assert not [s for s in secrets if s in dump], "a credential reached the warehouse"
    assert not [s for s in secrets if s in render(warehouse)], "a credential reached the run summary"


@pytest.mark.parametrize(("system", "stream"), [("woocommerce", "customers"), ("woocommerce", "orders"),
                                                ("mailchimp", "members")])
def test_records_that_vanish_at_the_source_become_tombstones(sandbox_copy, warehouse, system, stream):
    from include.extract import reconcile_deletes
    from sandbox.store import delete

    source = open_source(system, connection_for(system, sandbox_copy["systems"]), page_size=40)
    extract_stream(source, stream, warehouse, "run-1")
    with warehouse.connect() as conn:
        gone = conn.execute(sa.select(raw_records.c.record_id).where(
            raw_records.c.source == system, raw_records.c.stream == stream).order_by(raw_records.c.record_id)
            .limit(3)).scalars().all()
    assert reconcile_deletes(source, stream, warehouse, "run-2") == 0
    for record_id in gone:
        delete(sandbox_copy["dir"], system, stream, record_id)
    assert reconcile_deletes(source, stream, warehouse, "run-3") == 3
    with warehouse.connect() as conn:
        tombstones = conn.execute(sa.select(raw_records.c.record_id).where(
            raw_records.c.source == system, raw_records.c.stream == stream, raw_records.c.is_deleted)).scalars().all()
    assert sorted(tombstones) == sorted(gone)


def test_a_mass_disappearance_is_refused_not_tombstoned(sandbox_copy, warehouse):
    from include.extract import DeleteGuardError, reconcile_deletes

    source = open_source("woocommerce", connection_for("woocommerce", sandbox_copy["systems"]))
    extract_stream(source, "customers", warehouse, "run-1")
    source.list_keys = lambda _stream: iter(())  # e.g. an API answering with empty pages
    with pytest.raises(DeleteGuardError, match="refusing"):
        reconcile_deletes(source, "customers", warehouse, "run-2")
    with warehouse.connect() as conn:
        assert not conn.execute(sa.select(raw_records).where(raw_records.c.is_deleted)).first()


def test_a_tombstoned_record_that_reappears_comes_back(sandbox_copy, warehouse):
    from include.extract import reconcile_deletes

    source = open_source("woocommerce", connection_for("woocommerce", sandbox_copy["systems"]))
    extract_stream(source, "customers", warehouse, "run-1")
    with warehouse.begin() as conn:
        conn.execute(raw_records.update().where(raw_records.c.record_id == "1").values(is_deleted=True))
    assert reconcile_deletes(source, "customers", warehouse, "run-2") == 0
    extract_stream(source, "customers", warehouse, "run-3", full_refresh=True)
    with warehouse.connect() as conn:
        assert conn.execute(sa.select(raw_records.c.is_deleted).where(raw_records.c.record_id == "1",
                                                                      raw_records.c.stream == "customers")).scalar() is False


@pytest.mark.parametrize("system", sorted({s for s, _st, _t in STREAMS}))
def test_discover_lists_every_stream_with_key_cursor_and_fields(sandbox_env, system):
    source = open_source(system, connection_for(system, sandbox_env["systems"]))
    catalogue = source.discover()
    declared = {s.name for s in source.streams}
    assert set(catalogue) == declared
    for stream, info in catalogue.items():
        assert info["fields"], f"{system}.{stream}: no fields discovered"
        key = info["primary_key"]
        for part in (key,) if isinstance(key, str) else key or ():
            assert part.split(".")[0] in info["fields"], f"{system}.{stream}: key {part} not among the fields"


@pytest.mark.parametrize(("saved", "why"), [("2999-01-01T00:00:00Z", "in the future"), ("not-a-date", "unreadable")])
def test_untrustworthy_saved_state_means_a_full_reread_never_silent_loss(sandbox_copy, warehouse, saved, why):
    from include.warehouse import upsert_rows

    source = open_source("woocommerce", connection_for("woocommerce", sandbox_copy["systems"]))
    with warehouse.begin() as conn:
        upsert_rows(conn, extract_state, [{"source": "woocommerce", "stream": "orders", "cursor_value": saved,
                                           "updated_at": datetime.now(UTC), "run_id": "hand-edited"}])
    stats = extract_stream(source, "orders", warehouse, "run-1")
    assert why in stats["state_reset"]
    assert stats["rows"] == truth_count(sandbox_copy["dir"], "woocommerce", "orders")
    with warehouse.connect() as conn:
        cursor = conn.execute(sa.select(extract_state.c.cursor_value).where(extract_state.c.stream == "orders")).scalar()
    assert cursor < datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "the cursor is repaired by the full read"


KILLABLE = """
import sys, time
from pathlib import Path
from connectors import open_source
from include.extract import extract_stream
from include.warehouse import get_engine

source = open_source("woocommerce", page_size=10)
real = source.read_pages

def pages(stream_name, since, extra=None):
    for n, page in enumerate(real(stream_name, since)):
        if n == 4:
            Path(sys.argv[2]).write_text("4 pages read")
            time.sleep(120)  # killed here
        yield page

source.read_pages = pages
extract_stream(source, "orders", get_engine(sys.argv[1]), "run-killed")
"""


def test_an_extraction_killed_with_sigkill_loses_and_doubles_nothing(sandbox_copy, warehouse, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from include.runner import connections_for

    marker = tmp_path / "marker"
    url = str(warehouse.url)
    child = subprocess.Popen([sys.executable, "-c", KILLABLE, url, str(marker)],
                             env={**os.environ, **connections_for(sandbox_copy["systems"])})
    deadline = time.monotonic() + 60
    while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the child never got going"
    child.send_signal(signal.SIGKILL)
    child.wait()
    with warehouse.connect() as conn:
        assert conn.execute(sa.select(extract_state)).first() is None, "no cursor may advance on a killed run"
        assert conn.execute(sa.select(sa.func.count()).select_from(raw_records)).scalar() == 30
    source = open_source("woocommerce", connection_for("woocommerce", sandbox_copy["systems"]), page_size=10)
    extract_stream(source, "orders", warehouse, "run-again")
    with warehouse.connect() as conn:
        ids = conn.execute(sa.select(raw_records.c.record_id)).scalars().all()
    assert len(ids) == len(set(ids)) == truth_count(sandbox_copy["dir"], "woocommerce", "orders")


@pytest.mark.parametrize(("system", "stream", "truth_stream"), [s for s in INCREMENTAL if s[0] != "legacy_crm"])
def test_records_edited_while_paging_are_neither_lost_nor_stale_after_the_next_run(
        sandbox_copy, tmp_path, system, stream, truth_stream):
    """Edits land between page requests (shifting time-ordered listings); the next run converges."""
    from sandbox.http import Faults

    handle = sandbox_copy["handle"]
    conn = connection_for(system, sandbox_copy["systems"])
    engines = {}
    for label in ("edited", "clean"):
        engines[label] = get_engine(f"sqlite:///{tmp_path / (label + '.db')}")
        migrate(engines[label])
    server = next(s for s in handle.servers if s.system == system)
    server.inject(Faults(rate=1.0, kinds=("update",), seed=9))
    extract_stream(open_source(system, conn, page_size=20), stream, engines["edited"], "run-1")
    server.inject(Faults())
    assert server.edits_made >= 3, "edits must really happen while paging"
    extract_stream(open_source(system, conn, page_size=20), stream, engines["edited"], "run-2")
    extract_stream(open_source(system, conn, page_size=20), stream, engines["clean"], "clean")
    contents = []
    for engine in engines.values():
        with engine.connect() as db:
            contents.append(sorted(db.execute(sa.select(raw_records.c.record_id, raw_records.c.payload_hash)
                                              .where(raw_records.c.stream == stream))))
        engine.dispose()
    assert len(contents[1]) == truth_count(sandbox_copy["dir"], system, stream)
    assert contents[0] == contents[1]
