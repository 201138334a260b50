from decimal import Decimal
from pathlib import Path

import pytest

from connectors import SOURCES
from include import model
from include.config import ConfigError, load_yaml
from include.mapping import TRANSFORMS, load_mapping, map_record
from include.mapping_schema import mapping_schema

SHIPPED = Path(__file__).resolve().parent.parent / "mappings"


@pytest.mark.parametrize("source", SOURCES)
def test_every_shipped_mapping_loads(source):
    mapping = load_mapping(source)
    assert mapping.streams
    for spec in mapping.streams.values():
        assert spec.entity in model.ENTITIES


def test_woocommerce_customer_maps_to_canonical_person():
    record = {"id": 7, "first_name": "ИВАН", "last_name": "", "email": " Ivan@Mail.RU ", "role": "customer",
              "billing": {"last_name": "Петров", "phone": "8 (912) 345-67-89", "country": "Россия", "city": "Пермь",
                          "postcode": "614000", "address_1": "ул. Ленина, 1"},
              "date_modified_gmt": "2025-03-04T09:00:00"}
    row, problems, children = map_record(load_mapping("woocommerce"), "customers", record)
    assert problems == [] and children == {}
    assert row["first_name"] == "Иван" and row["last_name"] == "Петров"
    assert row["email"] == "ivan@mail.ru" and row["phone"] == "+79123456789" and row["country"] == "RU"
    assert row["address_line1"] == "ул. Ленина, 1" and row["postcode"] == "614000"
    assert row["email_consent"] == "unknown" and row["customer_type"] == "consumer"
    assert row["email_match_key"] == "ivan@mail.ru" and row["name_key"]


def test_order_lines_become_child_rows_with_shared_categories():
    order = {"id": 5, "total": "1 980,00", "currency": "руб", "status": "processing", "customer_id": 0,
             "date_created_gmt": "2025-01-01T00:00:00",
             "line_items": [{"id": 1, "name": "Espresso beans 1 kg", "sku": "B1", "quantity": 1, "price": 1890,
                             "total": "1890.00"},
                            {"id": 2, "name": "Unknown gadget", "sku": "G", "quantity": 1, "price": 90, "total": "90"}]}
    row, problems, children = map_record(load_mapping("woocommerce"), "orders", order)
    assert row["amount"] == Decimal("1980.00") and row["currency"] == "RUB" and row["status"] == "open"
    assert row["contact_record_id"] is None  # a guest order
    lines = children["order_lines"]
    assert [(line["position"], line["line_no"], line["category"]) for line in lines] == \
        [(0, 1, "coffee"), (1, 2, None)]
    assert [(p.rule, p.column, p.warning) for p in problems] == [("unknown_value", "line_items[1].category", True)]


def test_quickbooks_subtotal_lines_are_not_goods():
    invoice = {"Id": "9", "TotalAmt": 10, "CurrencyRef": {"value": "USD"}, "TxnDate": "2025-02-03",
               "CustomerRef": {"value": "4"},
               "Line": [{"LineNum": 1, "Amount": 10, "DetailType": "SalesItemLineDetail",
                         "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": "Mug"}, "Qty": 1, "UnitPrice": 10}},
                        {"Amount": 10, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}]}
    row, problems, children = map_record(load_mapping("quickbooks"), "invoices", invoice)
    assert problems == []
    assert row["ordered_at"].isoformat() == "2025-02-03T08:00:00+00:00"  # midnight in the company's zone
    assert [(line["sku"], line["category"]) for line in children["order_lines"]] == [("1", "accessories")]


def test_mailchimp_reports_map_to_events_and_explicit_consents():
    mapping = load_mapping("mailchimp")
    event, problems, _ = map_record(mapping, "email_activity", {
        "campaign_id": "c1", "email_id": "e1", "email_address": "A@B.ru", "action": "click",
        "timestamp": "2026-01-01T00:00:00+00:00", "url": "https://shop.example/x"})
    assert problems == [] and event["action"] == "click" and event["email"] == "a@b.ru"
    consent, problems, _ = map_record(mapping, "unsubscribes", {
        "campaign_id": "c1", "email_id": "e1", "email_address": "a@b.ru", "reason": "too many",
        "timestamp": "2026-01-02T00:00:00+00:00"})
    assert problems == []
    assert (consent["channel"], consent["status"], consent["explicit"]) == ("email", "unsubscribed", True)


def test_order_with_unparseable_total_is_a_problem_not_a_crash():
    _row, problems, _ = map_record(load_mapping("woocommerce"), "orders",
                                   {"id": 1, "total": "NaN", "currency": "RUB", "status": "completed",
                                    "date_created_gmt": "2025-01-01T00:00:00"})
    assert [(p.rule, p.column) for p in problems] == [("unparseable_money", "amount")]


def test_unknown_status_value_is_reported():
    _row, problems, _ = map_record(load_mapping("woocommerce"), "orders",
                                   {"id": 1, "total": "10", "currency": "RUB", "status": "teleported",
                                    "date_created_gmt": "2025-01-01T00:00:00"})
    assert any(p.rule == "unknown_value" and p.value == "teleported" and not p.warning for p in problems)


@pytest.mark.parametrize("field, value, rule", [
    ("first_name", "x" * 10_000, "out_of_range"),
    ("date_modified_gmt", "0001-01-01T00:00:00", "out_of_range"),
    ("date_modified_gmt", "yesterday", "unparseable_datetime"),
    ("first_name", {"nested": "object"}, "unparseable_name"),
])
def test_values_that_cannot_be_stored_are_problems(field, value, rule):
    record = {"id": 1, "email": "a@b.ru", field: value}
    _row, problems, _ = map_record(load_mapping("woocommerce"), "customers", record)
    assert rule in [p.rule for p in problems]


def test_payload_that_is_not_an_object_is_a_problem():
    _row, problems, _ = map_record(load_mapping("mailchimp"), "members", ["not", "an", "object"])
    assert problems[0].rule == "not_an_object" and "JSON array" in problems[0].reason


def test_schema_knows_every_transform_and_canonical_field():
    schema = mapping_schema()
    assert sorted(schema["$defs"]["field"]["properties"]["transform"]["enum"]) == sorted(TRANSFORMS)
    shapes = {s["properties"]["entity"]["const"]: s for s in schema["$defs"]["stream"]["oneOf"]}
    assert set(shapes["person"]["properties"]["fields"]["properties"]) == model.mappable("person")


BROKEN_CASES = [
    ("      city: {path: billing.city}", "      ctiy: {path: billing.city}",
     r"broken\.yaml:\d+: streams\.customers\.fields\.ctiy: unknown key\(s\) \['ctiy'\]"),
    ("region: {path: billing.state}", "region: {pth: billing.state}",
     r"streams\.customers\.fields\.region: 'pth' is not one of"),
    ("transform: phone}", "transform: phnoe}", r"fields\.phone\.transform: 'phnoe' is not one of"),
    ("entity: person", "entity: persn", r"streams\.customers\.entity: unknown entity 'persn'"),
    ("region: {path: billing.state}", "region: {path: billing.state, value: x}",
     r"fields\.region: give exactly one of 'path' or 'value'"),
    ("transform: lookup, map: order_status", "transform: lookup", r"fields\.status: 'map' is required here"),
    ("map: order_status", "map: order_statuz", r"fields\.status\.map: no value map 'order_statuz'"),
    ("sku: {path: sku}", "skuu: {path: sku}", r"children\.order_lines\.fields\.skuu: unknown key"),
    ("      currency: {path: currency, transform: currency}\n", "",
     r"streams\.orders\.fields: required canonical field\(s\) missing for entity order: \['currency'\]"),
    ("timezone: UTC", "timezone: Mars/Olympus", r"broken\.yaml:4: timezone: unknown time zone"),
]


@pytest.mark.parametrize("old, new, message", BROKEN_CASES)
def test_mapping_typo_names_file_line_and_key(tmp_path, monkeypatch, old, new, message):
    import include.mapping as m

    (tmp_path / "value_maps.yaml").write_text((SHIPPED / "value_maps.yaml").read_text())
    text = (SHIPPED / "woocommerce.yaml").read_text().replace("source: woocommerce", "source: broken")
    assert old in text
    (tmp_path / "broken.yaml").write_text(text.replace(old, new, 1))
    monkeypatch.setattr(m, "MAPPINGS_DIR", tmp_path)
    monkeypatch.setattr(m, "load_yaml", lambda name: load_yaml(name, tmp_path))
    m.load_mapping.cache_clear()
    m.shared_value_maps.cache_clear()
    try:
        with pytest.raises(ConfigError, match=message) as info:
            m.load_mapping("broken")
        line = int(str(info.value).split("broken.yaml:")[1].split(":")[0])
        key = str(info.value).split(": ")[1].split(".")[-1]
        broken_lines = (tmp_path / "broken.yaml").read_text().splitlines()
        assert key in broken_lines[line - 1] or key in ("fields", "timezone"), (line, key)
    finally:
        m.load_mapping.cache_clear()
        m.shared_value_maps.cache_clear()


@pytest.mark.parametrize("raw, code", [("rub", "RUB"), ("₽", "RUB"), ("1 234,56 ₽", "RUB"), ("$12.50", "USD"),
                                       ("руб.", "RUB")])
def test_currency_from_codes_signs_and_amounts(raw, code):
    order = {"id": 1, "total": "10", "currency": raw, "status": "completed", "date_created_gmt": "2025-01-01T00:00:00"}
    row, problems, _ = map_record(load_mapping("woocommerce"), "orders", order)
    assert row["currency"] == code and problems == []


def test_unknown_currency_word_quarantines_with_the_value_map_named():
    order = {"id": 1, "total": "10", "currency": "doubloons", "status": "completed",
             "date_created_gmt": "2025-01-01T00:00:00"}
    _row, problems, _ = map_record(load_mapping("woocommerce"), "orders", order)
    assert [(p.rule, p.column, p.warning) for p in problems] == [("unknown_value", "currency", False)]
    assert "not in value map currencies" in problems[0].reason
