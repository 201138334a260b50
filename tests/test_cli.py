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


def test_mappings_explain_shows_raw_mapped_and_quarantine_side_by_side(warehouse_env, capsys):
    from include import pipeline
    from include.staging import stage_all
    from tests.test_staging import woo_customer, woo_order, write_raw

    engine = pipeline.warehouse()
    write_raw(engine, "woocommerce", "customers", {1: woo_customer(1)})
    write_raw(engine, "woocommerce", "orders", {7: woo_order(7, 1, total="-5.00")})
    stage_all(engine, "run-1")
    assert main(["mappings", "explain", "woocommerce", "7"]) == 0
    out = capsys.readouterr().out
    assert "woocommerce.orders record 7" in out and "entity order" in out
    amount = next(line for line in out.splitlines() if line.startswith("amount "))
    assert "total" in amount and "-5.00" in amount  # field, path, raw and mapped value on one line
    assert "quarantined by the last staging run" in out and "amount is negative" in out
    assert main(["mappings", "explain", "woocommerce", "1", "--stream", "customers"]) == 0
    assert "not quarantined" in capsys.readouterr().out
    assert main(["mappings", "explain", "woocommerce", "404"]) == 1
    assert "no raw record '404'" in capsys.readouterr().err


def test_mappings_schema_is_json_schema(capsys):
    import json

    assert main(["mappings", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].startswith("https://json-schema.org/") and "streams" in schema["properties"]


def test_quality_gates_report_and_accept(warehouse_env, capsys):
    from include import pipeline
    from tests.test_staging import seed

    seed(pipeline.warehouse())
    pipeline.stage("run-1")
    assert main(["quality", "gates"]) == 0
    out = capsys.readouterr().out
    assert "stg_woocommerce__customers" in out and "publication: allowed" in out
    assert main(["quality", "accept", "stg_woocommerce__customers"]) == 0
    assert "30 rows accepted" in capsys.readouterr().out
    assert main(["quality", "accept", "no_such_table"]) == 1
    assert "no table 'no_such_table'" in capsys.readouterr().err
