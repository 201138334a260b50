"""Hostile pages over real HTTP: the WooCommerce connector, the extractor, then staging.

The bundled sandbox serves a duplicated primary key within one page and JSON items that are not
objects (written straight into its store). It cannot serve invalid UTF-8 or a lone surrogate:
its store is SQLite TEXT, which Python reads back only as valid UTF-8, and it encodes every
answer with ``json.dumps(...).encode("utf-8")``, which refuses a lone surrogate. Those two are
served by a tiny local http.server with the WooCommerce listing's headers instead.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from connectors import open_source
from connectors.http import SourceError
from include.config import Connection
from include.extract import extract_stream
from include.warehouse.schema import extract_runs, extract_state, quarantine, raw_records
from tests.conftest import connection_for
from tests.hostile.corpus import good_woo_customer


@pytest.fixture
def shop(tmp_path) -> Iterator[dict[str, Any]]:
    """A small private sandbox (its store is changed by the test), with its servers running."""
    from sandbox.generator import generate_sandbox
    from sandbox.servers import start_servers

    generate_sandbox(tmp_path / "sandbox", people=20, seed=11)
    handle = start_servers(tmp_path / "sandbox")
    yield {"dir": tmp_path / "sandbox", "systems": handle.systems}
    handle.stop()


def _listing(env: dict[str, Any], kind: str, **params: Any) -> list[Any]:
    """Exactly what the sandbox serves for a listing (one big page)."""
    shop = env["systems"]["woocommerce"]
    response = requests.get(f"{shop['base_url']}/{kind}", params={"per_page": 100, **params},
                            auth=(shop["consumer_key"], shop["consumer_secret"]), timeout=10)
    response.raise_for_status()
    assert response.headers["X-WP-TotalPages"] == "1"
    return response.json()


def _raw(engine: sa.Engine, stream: str) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(raw_records.c.record_id, raw_records.c.payload).where(
            raw_records.c.source == "woocommerce", raw_records.c.stream == stream)).all())


def _quarantined(engine: sa.Engine, stream: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for row in conn.execute(sa.select(quarantine).where(quarantine.c.source == "woocommerce",
                                                             quarantine.c.stream == stream)).mappings():
            out.setdefault(row["record_id"], []).append(dict(row))
    return out


def _staged(engine: sa.Engine, stream: str) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT * FROM stg_woocommerce__{stream}")).mappings().all()
    return {r["record_id"]: dict(r) for r in rows}


def _reconciles(result: dict[str, Any], engine: sa.Engine, stream: str) -> None:
    item = next(r for r in result["reconciliation"] if (r["source"], r["stream"]) == ("woocommerce", stream))
    assert item["raw"] == item["staged"] + item["quarantined"] + item["tombstones"] + item["unmapped"], item
    assert item["raw"] == len(_raw(engine, stream))
    assert item["staged"] == len(_staged(engine, stream))
    assert item["quarantined"] == len(_quarantined(engine, stream))


# --- the bundled sandbox -------------------------------------------------------------------------------

def test_duplicated_primary_key_within_a_page(shop, warehouse):
    from sandbox import store

    conn = store.connect(shop["dir"], "woocommerce")
    target, num, modified, tag, body = conn.execute(
        "SELECT id, num, modified, tag, body FROM objects WHERE kind = 'customers' ORDER BY num LIMIT 1 OFFSET 3"
    ).fetchone()
    conn.close()
    twin = {**json.loads(body), "first_name": "Second", "last_name": "Version"}
    store.write_objects(shop["dir"], "woocommerce", [("customers", f"{target}-twin", num, modified, tag, twin)])

    served = _listing(shop, "customers", role="all", orderby="id", order="asc")
    ids = [str(r["id"]) for r in served]
    assert ids.count(str(target)) == 2, "the sandbox should serve the key twice in one page"
    last_served = [r for r in served if str(r["id"]) == str(target)][-1]

    source = open_source("woocommerce", connection_for("woocommerce", shop["systems"]))
    stats = extract_stream(source, "customers", warehouse, "http-dup-1")
    raw = _raw(warehouse, "customers")
    assert sorted(raw) == sorted(set(ids)), "raw must hold each served key exactly once"
    assert stats["rows"] == len(set(ids)) and stats["repeated"] == 1
    assert json.loads(raw[str(target)])["first_name"] == last_served["first_name"], \
        "the version served last in the page must be the one kept"
    with warehouse.connect() as c:
        run = c.execute(sa.select(extract_runs).where(extract_runs.c.run_id == "http-dup-1")).mappings().one()
    assert run["status"] == "success" and run["rows_read"] == len(ids) and run["rows_loaded"] == len(set(ids))

    from include.staging import stage_all

    result = stage_all(warehouse, "http-dup-stage")
    _reconciles(result, warehouse, "customers")
    staged = _staged(warehouse, "customers")
    assert str(target) in staged and staged[str(target)]["first_name"] == last_served["first_name"]


def test_items_that_are_not_objects(shop, warehouse):
    """A listing with a string, a list, a number and null among real orders."""
    from sandbox import store

    conn = store.connect(shop["dir"], "woocommerce")
    top = conn.execute("SELECT MAX(num), MAX(modified) FROM objects WHERE kind = 'orders'").fetchone()
    conn.close()
    junk = {"junk-string": "just a string", "junk-list": [1, 2, {"id": 3}], "junk-number": 42, "junk-null": None}
    store.write_objects(shop["dir"], "woocommerce", [
        ("orders", key, top[0] + 1 + i, top[1], "completed", body) for i, (key, body) in enumerate(junk.items())])
    served = _listing(shop, "orders", orderby="id", order="asc", status="any", dates_are_gmt="true")
    objects = [r for r in served if isinstance(r, dict)]
    assert len(served) - len(objects) == len(junk), "the sandbox should serve the non-object items"

    source = open_source("woocommerce", connection_for("woocommerce", shop["systems"]))
    try:
        stats = extract_stream(source, "orders", warehouse, "http-junk-1")
    except SourceError as exc:
        # A clean, named error is acceptable: it must say which stream and what is wrong, leave the
        # cursor where it was and record the failed run.
        message = str(exc)
        assert "woocommerce" in message and "orders" in message, message
        assert any(w in message for w in ("primary key", "not an object", "object")), message
        with warehouse.connect() as c:
            run = c.execute(sa.select(extract_runs).where(extract_runs.c.run_id == "http-junk-1")).mappings().one()
            cursor = c.execute(sa.select(extract_state.c.cursor_value).where(
                extract_state.c.source == "woocommerce", extract_state.c.stream == "orders")).scalar()
        assert run["status"] == "failed" and run["error"] == message
        assert cursor is None, "a failed read must not move the cursor past records it never loaded"
        return  # acceptable by the issue (though the stream stays stuck on the bad item: see the report)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"a non-object item crashed the extract with {type(exc).__name__}: {exc}", pytrace=False)

    raw = _raw(warehouse, "orders")
    assert stats["rows"] == len(served)
    assert {str(r["id"]) for r in objects} <= set(raw), "real orders beside the junk disappeared"
    assert len(raw) == len(served), "each non-object item must be kept in raw (to be quarantined)"

    from include.staging import stage_all

    result = stage_all(warehouse, "http-junk-stage")
    _reconciles(result, warehouse, "orders")
    held = _quarantined(warehouse, "orders")
    bad = [rid for rid, payload in raw.items() if not isinstance(json.loads(payload), dict)]
    assert len(bad) == len(junk)
    for rid in bad:
        assert rid in held and held[rid][0]["rule"] == "mapping:not_an_object", (rid, held.get(rid))


# --- what the sandbox cannot serve: invalid UTF-8, lone surrogates --------------------------------------

class _Canned(BaseHTTPRequestHandler):
    body = b"[]"

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.send_header("X-WP-Total", "1")
        self.send_header("X-WP-TotalPages", "1")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_args: Any) -> None:
        return


@pytest.fixture
def canned():
    """A local server answering every GET with the body a test sets; yields a body setter and a source."""
    handler = type("Handler", (_Canned,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = Connection("seam_woocommerce", conn_type="http", host=f"http://127.0.0.1:{server.server_port}/wp-json/wc/v3",
                      login="ck_test", password="cs_test")

    def serve(body: bytes):
        handler.body = body
        return open_source("woocommerce", conn)

    yield serve
    server.shutdown()
    server.server_close()


def _page(*records: str) -> bytes:
    return b"[" + b", ".join(r.encode("utf-8", "surrogateescape") for r in records) + b"]"


def _customer(cid: int, **fields: Any) -> str:
    record = {**good_woo_customer(cid), **fields, "date_modified_gmt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")}
    return json.dumps(record, ensure_ascii=True)


def test_invalid_utf8_in_a_response_body(canned, engine):
    warehouse = engine
    clean = _customer(1)
    # "Renée" written in Latin-1 (a byte 0xE9 alone is not UTF-8): what a misconfigured shop sends.
    broken = _customer(2).replace('"first_name": "\\u0414\\u043c\\u0438\\u0442\\u0440\\u0438\\u0439"',
                                  '"first_name": "Ren\udce9e"')
    assert "\udce9" in broken
    source = canned(_page(clean, broken))
    try:
        extract_stream(source, "customers", warehouse, "utf8-1")
    except SourceError as exc:
        assert "utf-8" in str(exc).lower() or "utf8" in str(exc).lower(), f"named error should say UTF-8: {exc}"
        return  # a clean, named error: acceptable
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"invalid UTF-8 crashed the extract with {type(exc).__name__}: {exc}", pytrace=False)
    raw = _raw(warehouse, "customers")
    assert sorted(raw) == ["1", "2"], "a record disappeared"

    from include.staging import stage_all

    result = stage_all(warehouse, "utf8-stage")
    _reconciles(result, warehouse, "customers")
    staged, held = _staged(warehouse, "customers"), _quarantined(warehouse, "customers")
    assert "1" in staged
    if "2" in staged:
        pytest.fail(f"invalid UTF-8 was silently replaced and staged as {staged['2']['first_name']!r} "
                    "(no error, no quarantine): the name is corrupted without anyone being told", pytrace=False)
    assert "2" in held and any("utf" in r["reason"].lower() for r in held["2"]), held.get("2")


def test_lone_surrogate_and_nul_escapes_in_a_response_body(canned, engine):
    """\\ud800 and \\u0000 are legal JSON escapes; the warehouse (UTF-8, PostgreSQL text) can hold neither."""
    warehouse = engine
    source = canned(_page(_customer(1), _customer(2, first_name="Smi\ud800th"), _customer(3, last_name="Nu\u0000ll")))
    try:
        extract_stream(source, "customers", warehouse, "sur-1")
    except SourceError:
        return  # a clean, named error: acceptable
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"a lone surrogate escape crashed the extract with {type(exc).__name__}: {exc} "
                    "(the page and the records beside it are lost, and the error is not a named one)",
                    pytrace=False)
    raw = _raw(warehouse, "customers")
    assert sorted(raw) == ["1", "2", "3"], "a record disappeared"

    from include.staging import stage_all

    result = stage_all(warehouse, "sur-stage")
    _reconciles(result, warehouse, "customers")
    staged, held = _staged(warehouse, "customers"), _quarantined(warehouse, "customers")
    assert "1" in staged
    for rid in ("2", "3"):
        if rid in staged:
            assert not any(isinstance(v, str) and ("\x00" in v or any("\ud800" <= ch <= "\udfff" for ch in v))
                           for v in staged[rid].values())
        else:
            assert rid in held, f"record {rid} disappeared"
