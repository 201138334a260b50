"""WooCommerce specifics: role=all, the per_page cap, site-local vs GMT dates, Link headers."""

import pytest
import requests

from connectors import open_source
from connectors.http import SourceError
from tests.conftest import connection_for


def _get(env, path, **params):
    shop = env["systems"]["woocommerce"]
    return requests.get(f"{shop['base_url']}/{path}", params=params,
                        auth=(shop["consumer_key"], shop["consumer_secret"]), timeout=10)


def test_customers_need_role_all_to_include_subscribers(sandbox_env):
    default = int(_get(sandbox_env, "customers", per_page=1).headers["X-WP-Total"])
    everyone = int(_get(sandbox_env, "customers", per_page=1, role="all").headers["X-WP-Total"])
    assert everyone > default
    source = open_source("woocommerce", connection_for("woocommerce", sandbox_env["systems"]))
    roles = {c["role"] for page in source.read_pages("customers", None) for c in page}
    assert roles == {"customer", "subscriber"}


def test_page_size_above_the_cap_is_a_named_error(sandbox_env):
    source = open_source("woocommerce", connection_for("woocommerce", sandbox_env["systems"]), page_size=150)
    with pytest.raises(SourceError, match="400: rest_invalid_param"):
        list(source.read_pages("orders", None))


def test_modified_after_is_site_local_unless_dates_are_gmt(sandbox_env):
    orders = _get(sandbox_env, "orders", per_page=100, orderby="modified", order="desc").json()
    pivot = orders[10]["date_modified_gmt"]
    gmt = int(_get(sandbox_env, "orders", modified_after=pivot, dates_are_gmt="true").headers["X-WP-Total"])
    local = int(_get(sandbox_env, "orders", modified_after=pivot).headers["X-WP-Total"])
    assert gmt == 10  # strictly after the 11th newest
    assert local > gmt  # read as Moscow time the same digits are 3 hours earlier in UTC: more orders match


def test_paging_headers_and_links(sandbox_env):
    first = _get(sandbox_env, "orders", per_page=25, page=1)
    total, pages = int(first.headers["X-WP-Total"]), int(first.headers["X-WP-TotalPages"])
    assert pages == -(-total // 25) and 'rel="next"' in first.headers["Link"]
    assert "consumer_secret" not in first.headers["Link"]
    past = _get(sandbox_env, "orders", per_page=25, page=pages + 1)
    assert past.status_code == 200 and past.json() == []
    missing = _get(sandbox_env, "orders/999999")
    assert missing.status_code == 404 and missing.json()["code"] == "woocommerce_rest_invalid_id"
