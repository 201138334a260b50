"""YAML-manifest connectors: validation that names file, line and key; a new system with no Python."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.base import Cursor
from connectors.manifest import available_manifests, load_manifest
from include.config import ConfigError
from tests.conftest import connection_for, truth_count

# A system added with a manifest alone: the WooCommerce sandbox read through RFC 8288 Link headers
# and query-string keys instead of page numbers and Basic auth.
LINKED = """\
system: linked_shop
description: the shop's customers, followed through Link headers
auth:
  type: query_keys
  params: {consumer_key: login, consumer_secret: password}
errors: {fields: [code, message]}
rate_limit: {requests: 50, per_seconds: 1, max_concurrency: 2}
streams:
  customers:
    path: customers
    primary_key: id
    params: {role: all, orderby: id, order: asc}
    cursor: {field: date_modified_gmt, send: client}
    paginator: {type: link_header, size_param: per_page, size: 30}
"""


def write(tmp_path: Path, text: str, name: str = "linked_shop") -> Path:
    (tmp_path / f"{name}.yaml").write_text(text)
    return tmp_path


def load(tmp_path: Path, text: str, name: str = "linked_shop"):
    load_manifest.cache_clear()
    try:
        return load_manifest(name, write(tmp_path, text, name))
    finally:
        load_manifest.cache_clear()


def test_every_shipped_manifest_loads_and_declares_its_streams():
    assert "woocommerce" in available_manifests()
    for system in available_manifests():
        cls = load_manifest(system)
        assert cls.name == system and cls.streams
        assert all(stream.primary_key or stream.write_mode == "append" for stream in cls.streams)


@pytest.mark.parametrize(("broken", "expected"), [
    (LINKED.replace("type: link_header", "type: link_headr"), r"linked_shop.yaml:14: streams.customers.paginator.type: 'link_headr' is not one of"),
    (LINKED.replace("primary_key: id", "primry_key: id"), r"linked_shop.yaml:11: streams.customers.primry_key: Additional properties are not allowed \('primry_key'"),
    (LINKED.replace("send: client", "send: param"), r"linked_shop.yaml:13: streams.customers.cursor: send: param needs 'name'"),
    (LINKED.replace("consumer_secret: password", "consumer_secret: pasword"), r"linked_shop.yaml:5: auth.params.consumer_secret: 'pasword' does not match"),
    (LINKED.replace("system: linked_shop", "system: other_shop"), r"linked_shop.yaml:1: system: must be 'linked_shop'"),
    (LINKED + "  orders:\n    path: orders\n    parent: customer\n", r"linked_shop.yaml:17: streams.orders.parent: no stream 'customer'"),
    ("streams: [customers]\nsystem: linked_shop\n", r"linked_shop.yaml:1: streams: \['customers'\] is not of type 'object'"),
])
def test_a_broken_manifest_names_file_line_and_key(tmp_path, broken, expected):
    with pytest.raises(ConfigError, match=expected):
        load(tmp_path, broken)


def test_invalid_yaml_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="invalid YAML"):
        load(tmp_path, "system: [unclosed\n")


def test_a_system_added_by_manifest_alone_reads_everything(sandbox_env, tmp_path):
    """Link-header paging and query-string keys, against a real server: every record exactly once."""
    cls = load(tmp_path, LINKED)
    conn = connection_for("woocommerce", sandbox_env["systems"])
    source = cls(conn)
    source.check()
    pages = list(source.read_pages("customers", None))
    ids = [source.record_id(source.stream("customers"), r) for page in pages for r in page]
    assert len(pages) > 2
    assert len(ids) == len(set(ids)) == truth_count(sandbox_env["dir"], "woocommerce", "customers")
    catalogue = source.discover()
    assert {"id", "email", "date_modified_gmt"} <= set(catalogue["customers"]["fields"])


def test_cursor_values_render_as_the_api_expects():
    moment = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)
    assert Cursor("updated", send="header", name="If-Modified-Since", format="http-date").render(moment) == \
        "Sun, 01 Mar 2026 12:30:05 GMT"
    assert Cursor("updated", name="modified_after", format="%Y-%m-%dT%H:%M:%S").render(moment) == "2026-03-01T12:30:05"


APPEND = """\
system: order_history
auth: {type: basic}
streams:
  order_versions:
    path: orders
    primary_key: null
    write_mode: append
    params: {orderby: id, order: asc, dates_are_gmt: "true"}
    cursor: {field: date_modified_gmt, send: param, name: modified_after, format: "%Y-%m-%dT%H:%M:%S"}
    paginator: {type: page_number, size: 50, total_pages_header: X-WP-TotalPages}
"""


def test_an_append_stream_keeps_every_version_once(sandbox_copy, tmp_path):
    """write_mode append: reloading adds nothing, a change at the source adds a version, history stays."""
    import sqlalchemy as sa

    from include.extract import extract_stream
    from include.warehouse import get_engine, migrate
    from include.warehouse.schema import raw_records
    from sandbox import store

    cls = load(tmp_path, APPEND, "order_history")
    source = cls(connection_for("woocommerce", sandbox_copy["systems"]))
    engine = get_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    migrate(engine)
    count = truth_count(sandbox_copy["dir"], "woocommerce", "orders")

    def versions() -> int:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(raw_records)).scalar()

    extract_stream(source, "order_versions", engine, "run-1")
    extract_stream(source, "order_versions", engine, "run-2", full_refresh=True)
    assert versions() == count
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
    with engine.connect() as conn:
        order_id = json.loads(conn.execute(sa.select(raw_records.c.payload).limit(1)).scalar())["id"]
    store.touch(sandbox_copy["dir"], "woocommerce", "orders", str(order_id), {"status": "refunded"}, when)
    extract_stream(source, "order_versions", engine, "run-3")
    assert versions() == count + 1
    with engine.connect() as conn:
        statuses = sorted(json.loads(p)["status"] for p in conn.execute(sa.select(raw_records.c.payload)).scalars()
                          if json.loads(p)["id"] == order_id)
    assert len(statuses) == 2 and "refunded" in statuses
    engine.dispose()


def test_a_manifest_can_declare_oauth2_refresh_auth(tmp_path):
    from connectors.oauth import OAuth2Refresh

    text = LINKED.replace("""  type: query_keys
  params: {consumer_key: login, consumer_secret: password}""", """  type: oauth2_refresh
  client_id: extra.client_id
  client_secret: extra.client_secret
  refresh_token: extra.refresh_token
  default_token_url: https://auth.example.com/oauth2/token
  margin_seconds: 30""")
    cls = load(tmp_path, text)
    assert isinstance(cls.auth, OAuth2Refresh)
    assert (cls.auth.default_token_url, cls.auth.margin_seconds) == ("https://auth.example.com/oauth2/token", 30)
    with pytest.raises(ConfigError, match=r"auth.client_id: 'secret' does not match"):
        load(tmp_path, text.replace("client_id: extra.client_id", "client_id: secret"))
