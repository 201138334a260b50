"""The `seam` command: SQL against the warehouse, status, and clear one-line errors."""

import pytest

from include.cli import main


@pytest.fixture
def warehouse_env(tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_URL", f"sqlite:///{tmp_path / 'wh.db'}")
    from include import pipeline

    pipeline.warehouse.cache_clear()
    yield
    pipeline.warehouse.cache_clear()


def test_sql_prints_a_table(warehouse_env, capsys):
    assert main(["sql", "select 1 as one, 'два' as two"]) == 0
    out = capsys.readouterr().out
    assert "one" in out and "два" in out


def test_status_on_an_empty_warehouse(warehouse_env, capsys):
    assert main(["status"]) == 0
    assert "Cursors" in capsys.readouterr().out


def test_errors_are_one_line(warehouse_env, capsys):
    assert main(["sql", "select * from no_such_table"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("seam: error:") and "no_such_table" in err and "Traceback" not in err


def test_mappings_check_passes_on_the_shipped_files(capsys):
    assert main(["mappings", "check"]) == 0
    out = capsys.readouterr().out
    assert "ok     woocommerce" in out and "ok     segments" in out


def test_identity_explain_unknown_customer(warehouse_env, capsys):
    assert main(["identity", "explain", "C000000000000"]) == 1
    assert "no customer C000000000000" in capsys.readouterr().err
