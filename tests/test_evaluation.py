"""Accuracy against ground truth (SQLite and PostgreSQL): pairwise figures, and the recall ceiling,
the share of true pairs a resolver can find without linking on a name alone."""

import csv
from datetime import date

import pytest

from include.evaluation import evaluate
from include.warehouse import append_rows
from include.warehouse.schema import customer_sources
from tests.test_identity import person, seed_people

RECORDS = [  # (person, record)
    ("A", person("woocommerce", "a1", "Anna", "Ivanova", "anna@mail.ru", "+79161234567")),
    ("A", person("quickbooks", "a2", "Anna", "Ivanova", None, "+79161234567")),
    ("A", person("legacy_crm", "a4", "Anna", "Ivanova", "anna@mail.ru", stream="contacts")),
    ("A", person("mailchimp", "a3", "Anna", "Ivanova", "anna.ivanova@yandex.ru", stream="members")),
    ("B", person("woocommerce", "b1", "Boris", "Orlov", address_line1="12 Main St", postcode="10001")),
    ("B", person("quickbooks", "b2", "Boris", "Orlov", address_line1=" 12  main st", postcode="10001")),
    ("C", person("legacy_crm", "c1", "Clara", "Stone", stream="contacts", linked_record_id="7")),
    ("C", person("woocommerce", "7", "Clara", "Stone")),
    ("E", person("quickbooks", "e1", "Elena", "Popova", "the.popovs@gmail.com")),
    ("D", person("woocommerce", "d1", "Dmitry", "Popov", "the.popovs@gmail.com", date_of_birth=date(1980, 2, 3))),
    ("D", person("quickbooks", "d2", "Dmitry", "Popov", "the.popovs@gmail.com")),
    ("D", person("legacy_crm", "d3", "Dmitry", "Popov", stream="contacts", date_of_birth=date(1980, 2, 3))),
]


@pytest.fixture
def scored(engine, tmp_path, no_overrides):
    """Each record its own customer but A's and D's first two, so recall has something to count."""
    seed_people(engine, [r for _, r in RECORDS])
    customer = {"a2": "a1", "d2": "d1"}
    with engine.begin() as conn:
        append_rows(conn, customer_sources, [
            {"source": r["source"], "stream": r["stream"], "record_id": r["record_id"],
             "customer_id": customer.get(r["record_id"], r["record_id"]), "matched_by": "test", "run_id": "r1"}
            for _, r in RECORDS])
    truth = tmp_path / "ground_truth.csv"
    with truth.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, ["source", "stream", "record_id", "person_id", "household_id", "defect"])
        writer.writeheader()
        writer.writerows({"source": r["source"], "stream": r["stream"], "record_id": r["record_id"],
                          "person_id": p, "household_id": "", "defect": ""} for p, r in RECORDS)
    return evaluate(engine, truth)


def test_only_pairs_joined_by_something_beyond_a_name_count_towards_the_ceiling(scored):
    # true pairs: A 6, B 1, C 1, D 3. A's first three share a phone or a mailbox (a2 and a4 only through
    # a1); its Mailchimp member shares nothing but the name: 3 pairs. B's two spellings of one address
    # and C's CRM contact naming the shop customer are evidence. D's records share the family mailbox
    # E holds too (which joins nothing across people) and a birth date.
    assert scored["false_negative_pairs"] == 9 and scored["pair_recall"] == round(2 / 11, 4)
    assert scored["name_only_pairs"] == 3
    assert scored["pair_recall_ceiling"] == round(8 / 11, 4)
