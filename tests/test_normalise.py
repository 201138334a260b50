from datetime import UTC, datetime

import pytest

from include import normalise


@pytest.mark.parametrize(("raw", "region", "expected"), [
    ("+7 (912) 345-67-89", "RU", "+79123456789"),
    ("89123456789", "RU", "+79123456789"),
    ("8 (912) 345-67-89", "RU", "+79123456789"),
    ("912-345-6789", "RU", "+79123456789"),
    ("(212) 555-0143", "US", "+12125550143"),
    ("+1 212-555-0143", "RU", "+12125550143"),
])
def test_phone_to_e164(raw, region, expected):
    assert normalise.phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["123", "+7 (000)", "not a phone"])
def test_invalid_phone_is_passed_through_for_the_quality_gate(raw):
    assert normalise.phone(raw, "RU") == raw.strip()


def test_email_lowercased_and_trimmed_but_dots_kept():
    assert normalise.email("  Ivan.Petrov@Gmail.COM ") == "ivan.petrov@gmail.com"


@pytest.mark.parametrize("raw", ["n/a", "ivan petrov@mail.ru", "ivan.petrov@mail"])
def test_invalid_email_is_passed_through(raw):
    assert normalise.email(raw) == raw


def test_gmail_match_key_ignores_dots_and_tags_only_for_gmail():
    assert normalise.email_match_key("ivan.petrov+shop@gmail.com") == "ivanpetrov@gmail.com"
    assert normalise.email_match_key("ivan.petrov+shop@googlemail.com") == "ivanpetrov@gmail.com"
    assert normalise.email_match_key("ivan.petrov@mail.ru") == "ivan.petrov@mail.ru"
    assert normalise.email_match_key(None) is None


def test_name_case_fixes_only_single_case_names():
    assert normalise.name_case("IVAN") == "Ivan"
    assert normalise.name_case("анна-мария") == "Анна-Мария"
    assert normalise.name_case("McDonald") == "McDonald"
    assert normalise.name_case("   ") is None


def test_datetime_naive_values_take_the_given_zone():
    assert normalise.utc_datetime("2025-03-04T12:00:00", "Europe/Moscow") == datetime(2025, 3, 4, 9, tzinfo=UTC)
    assert normalise.utc_datetime("2025-07-24T10:33:39-07:00") == datetime(2025, 7, 24, 17, 33, 39, tzinfo=UTC)
    assert normalise.utc_datetime("2025-01-01 10:00:00") == datetime(2025, 1, 1, 10, tzinfo=UTC)


def test_money_rejects_nan_and_garbage():
    assert str(normalise.money("1234.50")) == "1234.50"
    assert normalise.money("NaN") is None
    assert normalise.money("abc") is None
