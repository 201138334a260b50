"""Company resolution on a migrated SQLite warehouse: core rows in, companies and person links out."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from include.identity.companies import (
    FREE_MAIL_DOMAINS,
    NAMED_BY_PERSON,
    new_company_id,
    resolve_companies,
    tax_key,
    valid_inn,
    write,
)
from include.normalise import company_key
from include.warehouse.schema import companies, company_records, company_sources, person_records

NOW = datetime(2026, 3, 1, tzinfo=UTC)
SBER, GAZPROM, ALFA = "7707083893", "7736050003", "7728168971"  # real, valid 10-digit INNs


def company(record_id, name, source="legacy_crm", stream="accounts", days_ago=0, **extra):
    row = {"source": source, "stream": stream, "record_id": record_id, "name": name,
           "name_key": company_key(name), "source_updated_at": NOW - timedelta(days=days_ago), "run_id": "seed"}
    for column in ("tax_id", "domain", "industry", "country", "email"):
        row.setdefault(column, None)
    return {**row, **extra}


def person(record_id, source="woocommerce", stream="customers", **extra):
    row = {"source": source, "stream": stream, "record_id": record_id, "email_consent": "unknown", "run_id": "seed"}
    for column in ("company", "company_record_id", "email", "country"):
        row.setdefault(column, None)
    return {**row, **extra}


def seed(engine, companies_=(), people=()):
    with engine.begin() as conn:
        if companies_:
            conn.execute(company_records.insert(), list(companies_))
        if people:
            conn.execute(person_records.insert(), list(people))


def resolve(engine, run_id="r1", save=False):
    with engine.connect() as conn:
        result = resolve_companies(conn, run_id, NOW)
    if save:
        with engine.begin() as conn:
            write(conn, result)
    return result


def company_of(result, record_id):
    ids = {r["company_id"] for r in result.source_rows if r["record_id"] == record_id}
    assert len(ids) == 1
    return ids.pop()


def row_of(result, company_id):
    return next(c for c in result.company_rows if c["company_id"] == company_id)


def _inn_check(digits, weights):
    return sum(w * int(d) for w, d in zip(weights, digits, strict=False)) % 11 % 10


def test_inn_checksum():
    assert valid_inn(SBER) and valid_inn(GAZPROM) and valid_inn(ALFA)
    assert valid_inn("500100732259")  # a 12-digit (individual) INN: both check digits agree
    assert not valid_inn("500100732250") and not valid_inn("500100732209")
    for wrong in range(10):  # exactly one last digit passes
        candidate = SBER[:9] + str(wrong)
        assert valid_inn(candidate) == (candidate == SBER)
    # built by the algorithm, not copied: any 9 digits plus their check digit is valid
    base = "123456789"
    assert valid_inn(base + str(_inn_check(base, (2, 4, 10, 3, 5, 9, 4, 6, 8))))
    assert not valid_inn("0000000000") and not valid_inn("770708389") and not valid_inn("77070838931")
    assert not valid_inn("７７０７０８３８９３")  # full-width digits are not an INN
    assert tax_key("77 07-083893", "RU") == tax_key(f"{SBER}/773601001", None) == f"INN:{SBER}"
    assert tax_key("7707083894", "RU") is None  # bad checksum: not used for matching
    assert tax_key(SBER, "DE") == f"DE:{SBER}"  # outside Russia a 10-digit id is just an id
    assert tax_key("DE 123-456-789", "DE") == tax_key("DE123456789", "DE") != tax_key("DE123456789", "AT")
    assert tax_key("n/a", "US") is None


def test_inn_merges_cyrillic_and_latin_names(warehouse):
    seed(warehouse, [
        company("a1", "ПАО Сбербанк", tax_id=SBER, country="RU", days_ago=5, industry="banking"),
        company("a2", "Sberbank of Russia", tax_id=f"{SBER[:4]} {SBER[4:]}", country="RU", days_ago=1,
                domain="sberbank.ru"),
        company("a3", "Sberbank Leasing", tax_id="7707083894", country="RU"),  # invalid checksum
    ])
    result = resolve(warehouse)
    assert company_of(result, "a1") == company_of(result, "a2") != company_of(result, "a3")
    golden = row_of(result, company_of(result, "a1"))
    assert golden["name"] == "Sberbank of Russia"  # the most recently updated record
    assert (golden["tax_id"], golden["domain"], golden["industry"], golden["country"]) == (
        SBER, "sberbank.ru", "banking", "RU")
    assert golden["record_count"] == 2 and golden["sources"] == "legacy_crm"
    assert next(r["matched_by"] for r in result.source_rows if r["record_id"] == "a2").startswith("tax id INN:")
    assert result.stats["merged_records"] == 1 and result.stats["invalid_tax_ids"] == 1
    assert all(c["company_id"].startswith("K") and len(c["company_id"]) == 13
               and c["company_id"][1:] == c["company_id"][1:].upper() for c in result.company_rows)


def test_domain_merge_but_never_free_mail(warehouse):
    seed(warehouse, [
        company("a1", "Acme Europe", domain="acme.com", country="DE"),
        company("a2", "ACME Corporation", domain="https://www.ACME.com/about", country="US"),
        company("a3", "Joe's Plumbing", domain="gmail.com", country="US"),
        company("a4", "Ann's Bakery", domain="gmail.com", country="US"),
    ])
    result = resolve(warehouse)
    assert company_of(result, "a1") == company_of(result, "a2")
    assert company_of(result, "a3") != company_of(result, "a4")
    assert {"gmail.com", "mail.ru", "yandex.ru", "outlook.com"} <= FREE_MAIL_DOMAINS
    assert result.stats["companies"] == 3


def test_name_key_merges_within_one_country_only(warehouse):
    seed(warehouse, [
        company("a1", "ООО «Ромашка»", country="RU"),
        company("a2", "Romashka LLC", country="RU"),
        company("a3", "Romashka Ltd", country="KZ"),
    ])
    result = resolve(warehouse)
    assert company_of(result, "a1") == company_of(result, "a2") != company_of(result, "a3")
    assert "name key romashka in RU" in next(r["matched_by"] for r in result.source_rows if r["record_id"] == "a2")


def test_different_valid_inns_are_never_merged(warehouse):
    seed(warehouse, [
        company("a1", "Альфа ООО", tax_id=GAZPROM, domain="alfa.ru", country="RU"),
        company("a2", "Alfa LLC", tax_id=ALFA, domain="alfa.ru", country="RU"),
        company("a3", "Alfa", domain="alfa.ru", country="RU"),  # no tax id: joins one of them, not both
    ])
    result = resolve(warehouse)
    assert company_of(result, "a1") != company_of(result, "a2")
    assert company_of(result, "a3") in {company_of(result, "a1"), company_of(result, "a2")}
    assert result.stats["conflicts_refused"] >= 1
    assert sorted(c["tax_id"] for c in result.company_rows) == sorted([GAZPROM, ALFA])


def test_people_link_by_account_name_and_work_email(warehouse):
    seed(warehouse, [
        company("a1", "Acme Inc.", domain="acme.com", country="US"),
        company("a2", "ООО Ромашка", country="RU"),
        company("a3", "Romashka", country="KZ"),
    ], [
        person("c1", source="legacy_crm", stream="contacts", company_record_id="a1", company="Someone Else"),
        person("w1", company="Romashka LLC", country="RU"),  # the RU Romashka, not the KZ one
        person("w2", company="Romashka", country=None),  # two countries hold the name: unclear, not linked
        person("w3", email="jane@acme.com"),  # no company named: the work email domain decides
        person("w4", email="joe@gmail.com"),  # free mail links nobody
        person("w5", company="ACME", country="US"),
    ])
    result = resolve(warehouse)
    links = result.company_of_person
    acme, romashka_ru = company_of(result, "a1"), company_of(result, "a2")
    assert links[("legacy_crm", "contacts", "c1")] == acme
    assert links[("woocommerce", "customers", "w1")] == romashka_ru
    assert links[("woocommerce", "customers", "w3")] == acme
    assert links[("woocommerce", "customers", "w5")] == acme
    assert ("woocommerce", "customers", "w2") not in links and ("woocommerce", "customers", "w4") not in links
    assert row_of(result, acme)["people"] == 3 and row_of(result, acme)["sources"] == "legacy_crm,woocommerce"
    assert result.stats["person_links"] == {"account": 1, "name": 2, "email domain": 1}
    assert result.stats["ambiguous_mentions"] == 1 and result.stats["people_linked"] == 4


def test_free_mail_company_record_links_no_one(warehouse):
    seed(warehouse, [company("a1", "Ivanov IP", domain="mail.ru", country="RU")],
         [person("w1", email="petrov@mail.ru"), person("w2", email="x@yandex.ru")])
    assert resolve(warehouse).company_of_person == {}


def test_company_named_only_by_people(warehouse):
    seed(warehouse, [], [
        person("q1", source="quickbooks", stream="customers", company="Globex LLC", country="US"),
        person("w1", company="Globex", country="US"),
        person("w2", company="globex, inc.", country=None),  # joins the only country the name has
        person("i1", company="Initech", country="US"),
        person("i2", company="Initech", country="GB"),  # another country: another company
        person("i3", company="Initech", country=None),  # US or GB? unclear: linked to neither
    ])
    result = resolve(warehouse, save=True)
    named = [r for r in result.source_rows if r["matched_by"] == NAMED_BY_PERSON]
    assert len(named) == 5 and result.stats["named_by_people"] == 3
    globex = result.company_of_person[("quickbooks", "customers", "q1")]
    assert result.company_of_person[("woocommerce", "customers", "w2")] == globex
    assert result.company_of_person[("woocommerce", "customers", "i1")] != result.company_of_person[
        ("woocommerce", "customers", "i2")]
    assert ("woocommerce", "customers", "i3") not in result.company_of_person
    assert result.stats["ambiguous_mentions"] == 1 and result.stats["person_links"] == {NAMED_BY_PERSON: 5}
    golden = row_of(result, globex)
    assert golden["name"] == "Globex" and golden["country"] == "US" and golden["people"] == 3
    assert golden["record_count"] == 3 and golden["sources"] == "quickbooks,woocommerce"
    with warehouse.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(companies)).scalar() == 3
        assert conn.execute(sa.select(sa.func.count()).select_from(company_sources)).scalar() == 5


def test_ids_stay_stable_across_runs(warehouse):
    seed(warehouse, [company("a1", "Acme", domain="acme.com", country="US"),
                     company("b1", "Initech", country="US")],
         [person("w1", company="Globex", country="US")])
    first = resolve(warehouse, "r1", save=True)
    acme, initech, globex = (company_of(first, k) for k in ("a1", "b1", "w1"))
    assert acme == new_company_id("legacy_crm|accounts|a1")

    # Run 2: a record sorting before a1 joins Acme; Globex gets an account record of its own.
    seed(warehouse, [company("a0", "ACME Inc", domain="acme.com", country="US"),
                     company("g1", "Globex Corporation", country="US")])
    second = resolve(warehouse, "r2", save=True)
    assert company_of(second, "a0") == company_of(second, "a1") == acme
    assert company_of(second, "b1") == initech
    assert company_of(second, "g1") == globex  # the people who named it carry its id over
    assert second.company_of_person[("woocommerce", "customers", "w1")] == globex
    assert second.stats["ids_kept"] == 3 and second.stats["companies"] == 3

    # Run 3: nothing changed, nothing moves.
    third = resolve(warehouse, "r3", save=True)
    assert {(r["record_id"], r["company_id"]) for r in third.source_rows} == {
        (r["record_id"], r["company_id"]) for r in second.source_rows}


@pytest.mark.parametrize("bad", ["", "   ", "N/A", "0000000000"])
def test_unusable_tax_ids_are_ignored(bad):
    assert tax_key(bad, "RU") is None


def test_same_name_with_different_websites_is_two_companies_unless_the_tax_id_agrees(warehouse):
    seed(warehouse, [
        company("a1", 'ООО "Альфа-Сервис"', domain="alfa-service.ru", country="RU"),
        company("a2", "Alfa-Servis LLC", domain="alfagroup.ru", country="RU"),
        company("a3", "Alfa Servis", country="RU"),  # no website: joins by name
        company("b1", "Бета", domain="beta.ru", tax_id=SBER, country="RU"),
        company("b2", "Beta Holding", domain="beta-holding.com", tax_id=SBER, country="RU"),
    ])
    result = resolve(warehouse)
    assert company_of(result, "a1") != company_of(result, "a2")
    assert company_of(result, "a3") in {company_of(result, "a1"), company_of(result, "a2")}
    assert company_of(result, "b1") == company_of(result, "b2")  # one legal entity, two websites
