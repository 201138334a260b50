import pytest

from connectors import SOURCES
from include.config import ConfigError
from include.mapping import load_mapping, map_record


@pytest.mark.parametrize("source", SOURCES)
def test_every_shipped_mapping_loads(source):
    mapping = load_mapping(source)
    assert mapping.streams


def test_woocommerce_customer_maps_to_canonical_contact():
    record = {"id": 7, "first_name": "ИВАН", "last_name": "", "email": " Ivan@Mail.RU ",
              "billing": {"last_name": "Петров", "phone": "8 (912) 345-67-89", "country": "RU", "city": "Пермь"},
              "date_modified_gmt": "2025-03-04T09:00:00"}
    row, problems = map_record(load_mapping("woocommerce"), "customers", record)
    assert problems == []
    assert row["first_name"] == "Иван" and row["last_name"] == "Петров"
    assert row["email"] == "ivan@mail.ru" and row["phone"] == "+79123456789" and row["country"] == "RU"
    assert row["email_consent"] == "unknown"


def test_order_with_unparseable_total_is_a_problem_not_a_crash():
    row, problems = map_record(load_mapping("woocommerce"), "orders",
                               {"id": 1, "total": "NaN", "currency": "RUB", "status": "completed",
                                "date_created_gmt": "2025-01-01T00:00:00"})
    assert [p.rule for p in problems] == ["unparseable_money"]


def test_unknown_status_value_is_reported():
    _row, problems = map_record(load_mapping("woocommerce"), "orders",
                                {"id": 1, "total": "10", "currency": "RUB", "status": "teleported",
                                 "date_created_gmt": "2025-01-01T00:00:00"})
    assert any(p.rule == "unknown_value" and p.value == "teleported" and not p.warning for p in problems)


def test_payload_that_is_not_an_object_is_a_problem():
    _row, problems = map_record(load_mapping("mailchimp"), "members", ["not", "an", "object"])
    assert problems[0].rule == "not_an_object"


def test_mapping_typo_names_file_and_key(tmp_path, monkeypatch):
    import include.mapping as m

    (tmp_path / "value_maps.yaml").write_text("countries: {ru: RU}\n")
    (tmp_path / "broken.yaml").write_text(
        "source: broken\nstreams:\n  people:\n    entity: contact\n    fields:\n"
        "      email_consent: {value: unknown}\n      emial: {path: email}\n")
    monkeypatch.setattr(m, "MAPPINGS_DIR", tmp_path)
    monkeypatch.setattr(m, "load_yaml", lambda name: __import__("include.config", fromlist=["x"]).load_yaml(name, tmp_path))
    m.load_mapping.cache_clear()
    m.shared_value_maps.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"broken\.yaml: streams\.people\.fields: unknown canonical field.*emial"):
            m.load_mapping("broken")
    finally:
        m.load_mapping.cache_clear()
        m.shared_value_maps.cache_clear()
