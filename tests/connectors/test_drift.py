"""Schema drift: a new field is kept and reported; a mapped field that stops arriving stops staging by name."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from connectors import open_source
from include.drift import SchemaDriftError
from include.extract import extract_stream
from include.staging import stage_all
from include.warehouse.schema import person_records, raw_records
from sandbox import store
from tests.conftest import connection_for


def test_a_new_field_is_kept_in_raw_and_reported(sandbox_copy, warehouse):
    source = open_source("woocommerce", connection_for("woocommerce", sandbox_copy["systems"]))
    first = extract_stream(source, "customers", warehouse, "run-1")
    assert first["new_fields"] == [] and first["vanished_fields"] == []
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
    store.touch(sandbox_copy["dir"], "woocommerce", "customers", "1", {"loyalty_tier": "gold"}, when)
    from include.pipeline import recorded
    from include.summary import render

    second = recorded(warehouse, "run-2", "extract_woocommerce",
                      lambda: [extract_stream(source, "customers", warehouse, "run-2")])[0]
    assert second["new_fields"] == ["loyalty_tier"]
    assert "woocommerce.customers  new field(s): loyalty_tier" in render(warehouse)
    with warehouse.connect() as conn:
        payload = conn.execute(sa.select(raw_records.c.payload).where(
            raw_records.c.stream == "customers", raw_records.c.record_id == "1")).scalar()
    assert json.loads(payload)["loyalty_tier"] == "gold"


def test_a_mapped_field_that_stops_arriving_stops_staging_with_a_named_error(sandbox_copy, warehouse):
    source = open_source("woocommerce", connection_for("woocommerce", sandbox_copy["systems"]))
    extract_stream(source, "customers", warehouse, "run-1")
    stage_all(warehouse, "stage-1")
    with warehouse.connect() as conn:
        staged_before = conn.execute(sa.select(sa.func.count()).select_from(person_records)).scalar()
    # The shop's new plugin stops sending billing phones, for every customer.
    conn = store.connect(sandbox_copy["dir"], "woocommerce")
    conn.execute("UPDATE objects SET body = json_remove(body, '$.billing.phone') WHERE kind = 'customers'")
    conn.close()
    stats = extract_stream(source, "customers", warehouse, "run-2", full_refresh=True)
    assert stats["vanished_fields"] == ["billing.phone"]
    with pytest.raises(SchemaDriftError, match=r"woocommerce\.customers: field 'billing\.phone' no longer arrives"
                                               r".*streams\.customers\.fields\.phone"):
        stage_all(warehouse, "stage-2")
    with warehouse.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(person_records)).scalar() == staged_before, \
            "the previous staging stays in place"
