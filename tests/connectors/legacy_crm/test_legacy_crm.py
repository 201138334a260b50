"""Legacy CRM specifics: soft deletes, opt-outs on email rows, read-only sessions, MariaDB."""

import os
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from connectors import open_source
from include.config import Connection
from include.extract import extract_stream
from include.warehouse import get_engine, migrate
from tests.conftest import mariadb_url, truth_count


def _source(url: str, **options):
    return open_source("legacy_crm", Connection("seam_legacy_crm", conn_type="generic", host=url), **options)


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
    crm = sa.create_engine(url)
    with crm.begin() as conn:
        email_id, contact_id = conn.execute(sa.text(
            "SELECT r.email_address_id, r.bean_id FROM email_addr_bean_rel r ORDER BY r.id LIMIT 1")).one()
        conn.execute(sa.text("UPDATE email_addresses SET opt_out = 1, date_modified = :t WHERE id = :id"),
                     {"t": when, "id": email_id})
    crm.dispose()
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
