"""The canonical model, its documentation and the warehouse schema agree."""

import re
from pathlib import Path

from include import model
from include.mapping import TRANSFORMS
from include.warehouse.schema import metadata

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_warehouse_table_is_documented():
    text = (DOCS / "warehouse.md").read_text()
    documented = set(re.findall(r"`([a-z_]+)`", text))
    assert set(metadata.tables) - documented == set()


def test_every_canonical_column_is_documented():
    text = (DOCS / "warehouse.md").read_text()
    for entity, fields in model.ENTITIES.items():
        assert f"**{entity}**" in text, entity
        for field in fields:
            assert field.name in text, (entity, field.name)


def test_every_transform_is_documented():
    text = (DOCS / "mappings.md").read_text()
    for name in TRANSFORMS:
        assert f"`{name}`" in text, name


def test_core_tables_have_their_entitys_columns():
    for entity, table in (("person", "person_records"), ("order", "order_records"), ("payment", "payments"),
                          ("order_line", "order_lines"), ("email_event", "email_events"), ("consent", "consents"),
                          ("company", "company_records")):
        assert {f.name for f in model.ENTITIES[entity]} <= set(metadata.tables[table].columns.keys()), entity


def test_personal_columns_are_masked_in_quarantine():
    from include.quality import mask

    assert mask("email", "anna.petrova@example.com") == "an***@example.com"
    assert mask("address_line1", "ул. Ленина, 1") == "*** 1"
    assert mask("last_name", "Петрова") == "***ва"
    assert mask("currency", "XXX") == "XXX"
