"""Legacy CRM specifics: soft deletes, opt-outs on email rows, read-only sessions, MariaDB."""

import os
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from connectors import open_source
from connectors.http import SourceError
from include.config import Connection
from include.extract import extract_stream
from include.warehouse import get_engine, migrate
from tests.conftest import mariadb_url, postgres_url, truth_count


def _source(url: str, **options):
    return open_source("legacy_crm", Connection("seam_legacy_crm", conn_type="generic", host=url), **options)



def opt_out_first_email(url: str, when) -> str:
    """Opt out the first linked email row at `when`, as a CRM user would; returns its contact's id."""
    crm = sa.create_engine(url)
    with crm.begin() as conn:
        email_id, contact_id = conn.execute(sa.text(
            "SELECT r.email_address_id, r.bean_id FROM email_addr_bean_rel r ORDER BY r.id LIMIT 1")).one()
        conn.execute(sa.text("UPDATE email_addresses SET opt_out = 1, date_modified = :t WHERE id = :id"),
                     {"t": when, "id": email_id})
    crm.dispose()
    return contact_id

def test_soft_deleted_contacts_come_as_tombstones(sandbox_env):
    source = _source(sandbox_env["systems"]["legacy_crm"]["url"])
    stream = source.stream("contacts")
    records = [r for page in source.read_pages("contacts", None) for r in page]
    deleted = [r for r in records if source.is_deleted(stream, r)]
    assert deleted and len(deleted) < len(records) / 10


def test_an_opt_out_on_an_email_row_moves_the_contact_cursor(sandbox_copy, tmp_path):
    url = sandbox_copy["systems"]["legacy_crm"]["url"]
    warehouse = get_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    migrate(warehouse)
    source = _source(url)
    extract_stream(source, "contacts", warehouse, "run-1", lookback=timedelta(0))
    when = datetime.now(UTC).replace(tzinfo=None, microsecond=0) + timedelta(days=1)
    contact_id = opt_out_first_email(url, when)
    pages = list(source.read_pages("contacts", when.replace(tzinfo=UTC) - timedelta(seconds=1)))
    assert [r["id"] for page in pages for r in page] == [contact_id]
    assert pages[0][0]["email_opt_out"] == 1


def test_the_connector_session_is_read_only(sandbox_env):
    source = _source(sandbox_env["systems"]["legacy_crm"]["url"])
    with pytest.raises(sa.exc.OperationalError), source.engine.begin() as conn:
        conn.execute(sa.text("UPDATE contacts SET first_name = 'x'"))


def test_legacy_crm_on_mariadb(tmp_path):
    from sandbox.generator import generate_sandbox

    url = mariadb_url(f"seam_test_crm_{os.getpid()}")
    generate_sandbox(tmp_path / "sandbox", people=200, seed=9, legacy_crm_url=url)
    source = _source(url, page_size=25)
    source.check()
    with pytest.raises(sa.exc.OperationalError), source.engine.begin() as conn:
        conn.execute(sa.text("UPDATE contacts SET first_name = 'x'"))
    pages = list(source.read_pages("contacts", None))
    ids = [r["id"] for page in pages for r in page]
    assert len(pages) > 1 and len(ids) == len(set(ids)) == truth_count(tmp_path / "sandbox", "legacy_crm", "contacts")
    cyrillic = [r for page in pages for r in page if r["last_name"] and "а" <= r["last_name"][0].lower() <= "я"]
    assert cyrillic, "utf8mb4 must carry Cyrillic names"
    _accounts_and_an_opt_out_read_back(source, url, tmp_path / "sandbox")


def test_legacy_crm_on_postgresql(tmp_path):
    """The generator creates the database itself; reads, tombstones and opt-outs behave as on SQLite."""
    from sandbox.generator import generate_sandbox

    name = f"seam_test_crm_pg_{os.getpid()}"
    url = postgres_url(name)  # skips when PostgreSQL does not answer; dropped at the session's end
    admin = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()
    generate_sandbox(tmp_path / "sandbox", people=200, seed=9, legacy_crm_url=url)
    source = _source(url, page_size=25)
    source.check()
    with pytest.raises(sa.exc.DBAPIError, match="read-only"), source.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO accounts (id, name, deleted) VALUES ('x', 'x', 0)"))
    pages = list(source.read_pages("contacts", None))
    records = [r for page in pages for r in page]
    ids = [r["id"] for r in records]
    assert len(pages) > 1 and len(ids) == len(set(ids)) == truth_count(tmp_path / "sandbox", "legacy_crm", "contacts")
    assert all(r["deleted"] in (0, 1) for r in records), "soft-delete flags arrive as 0/1"
    assert all(r["modified_user_id"] == "1" for r in records), "CHAR(36) values come back without padding"
    assert all(len(r["date_modified_effective"]) == 19 for r in records), "naive UTC timestamps"
    _accounts_and_an_opt_out_read_back(source, url, tmp_path / "sandbox")


def _accounts_and_an_opt_out_read_back(source, url: str, directory) -> None:
    """On a server database: accounts with tombstones, then an email opt-out re-emits only its contact."""
    accounts = [r for page in source.read_pages("accounts", None) for r in page]
    assert len(accounts) == len({r["id"] for r in accounts}) == truth_count(directory, "legacy_crm", "accounts")
    assert any(source.is_deleted(source.stream("accounts"), r) for r in accounts)
    when = datetime.now(UTC).replace(tzinfo=None, microsecond=0) + timedelta(days=1)
    contact_id = opt_out_first_email(url, when)
    crm = sa.create_engine(url)
    with crm.begin() as conn:
        account_id = conn.execute(sa.text("SELECT id FROM accounts WHERE deleted = 0 ORDER BY id LIMIT 1")).scalar()
        conn.execute(sa.text("UPDATE accounts SET deleted = 1, date_modified = :t WHERE id = :id"),
                     {"t": when, "id": account_id})
    crm.dispose()
    since = when.replace(tzinfo=UTC)
    changed = [r for page in source.read_pages("contacts", since) for r in page]
    assert [r["id"] for r in changed] == [contact_id.strip()]
    assert changed[0]["email_opt_out"] == 1 and changed[0]["date_modified_effective"] == str(when)
    gone = [r for page in source.read_pages("accounts", since) for r in page]
    assert [(r["id"], r["deleted"]) for r in gone] == [(account_id.strip(), 1)]


def test_accounts_are_read_once_each_with_soft_deletes_as_tombstones(sandbox_env):
    import json

    source = _source(sandbox_env["systems"]["legacy_crm"]["url"], page_size=20)
    stream = source.stream("accounts")
    pages = list(source.read_pages("accounts", None))
    records = [r for page in pages for r in page]
    ids = [r["id"] for r in records]
    generated = json.loads((sandbox_env["dir"] / "generation.json").read_text())["counts"]["legacy_crm.accounts"]
    assert len(pages) > 1
    assert len(ids) == len(set(ids)) == generated == truth_count(sandbox_env["dir"], "legacy_crm", "accounts")
    deleted = [r for r in records if source.is_deleted(stream, r)]
    assert 0 < len(deleted) < len(records) / 4
    assert all(source.record_cursor(stream, r) for r in records)
    assert {"name", "account_type", "industry", "billing_address_city", "date_modified_effective"} <= set(records[0])


def test_an_incremental_accounts_read_returns_edits_and_deletions_once_even_on_tied_times(sandbox_copy):
    url = sandbox_copy["systems"]["legacy_crm"]["url"]
    source = _source(url, page_size=2)
    stream = source.stream("accounts")
    when = datetime.now(UTC).replace(tzinfo=None, microsecond=0) + timedelta(days=1)
    crm = sa.create_engine(url)
    with crm.begin() as conn:
        ids = conn.execute(sa.text("SELECT id FROM accounts WHERE deleted = 0 ORDER BY name, id LIMIT 5")).scalars().all()
        conn.execute(sa.text("UPDATE accounts SET date_modified = :t WHERE id IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)), {"t": when, "ids": ids[:4]})  # four rows on one timestamp
        conn.execute(sa.text("UPDATE accounts SET deleted = 1, date_modified = :t WHERE id = :id"),
                     {"t": when + timedelta(seconds=1), "id": ids[4]})
    crm.dispose()
    pages = list(source.read_pages("accounts", when.replace(tzinfo=UTC)))
    records = [r for page in pages for r in page]
    assert len(pages) == 3 and sorted(r["id"] for r in records) == sorted(ids)
    assert [r["id"] for r in records if source.is_deleted(stream, r)] == [ids[4]]
    assert max(source.record_cursor(stream, r) for r in records) == (when + timedelta(seconds=1)).replace(tzinfo=UTC)


def test_discover_and_check_cover_accounts(sandbox_copy):
    url = sandbox_copy["systems"]["legacy_crm"]["url"]
    source = _source(url)
    catalogue = source.discover()
    assert set(catalogue) == {"contacts", "accounts"}
    assert {"id", "name", "deleted"} <= set(catalogue["accounts"]["fields"])
    source.check()
    crm = sa.create_engine(url)
    with crm.begin() as conn:
        conn.execute(sa.text("DROP TABLE accounts"))
    crm.dispose()
    with pytest.raises(SourceError, match="cannot read accounts") as info:
        _source(url).check()
    assert url not in str(info.value)


def test_the_effective_change_time_is_the_latest_whatever_the_stored_format():
    from datetime import datetime

    from connectors.legacy_crm import _latest

    # SQLite text with and without fractions is compared as text; mixed forms fall back to parsing
    assert _latest("2026-01-01 12:00:00", "2026-01-01 12:00:00.500000", None) == datetime(2026, 1, 1, 12, 0, 0, 500000)
    assert _latest("2026-01-02 00:00:00", "2026-01-01 23:59:59.999999") == datetime(2026, 1, 2)
    assert _latest(datetime(2026, 1, 3), "2026-01-02 00:00:00") == datetime(2026, 1, 3)
    assert _latest("2026-01-02T00:00:00+01:00", "2026-01-01 23:30:00") == datetime(2026, 1, 1, 23, 30)
    assert _latest(None, "") is None
