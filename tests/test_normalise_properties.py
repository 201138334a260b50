"""Property-based tests of include/normalise.py: invariants that must hold for any input."""

from __future__ import annotations

import os
import string
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import phonenumbers
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from include import normalise

# Bounded so the file runs in seconds; NORMALISE_MAX_EXAMPLES=5000 for a soak run. No example
# database: failures print their reproducing input, and the checkout stays clean.
BOUNDED = settings(max_examples=int(os.environ.get("NORMALISE_MAX_EXAMPLES", "200")), deadline=None,
                   database=None)

# Text that includes what real feeds send: controls, surrogates, bidi marks, combining marks.
hostile_text = st.one_of(
    st.text(),
    st.text(st.characters(codec=None, exclude_categories=())),
    st.text(st.sampled_from(
        list(" \t\n\r\x00\x07\x1b\x7f\x85\x9f\u00a0\u2003\u3000\u200b\u200d\u200e\u202e\u2066\ufeff"
             "\ud800\udc00\ud83d\ude00\u0301\u0316\u0344abcЖжéß")
    )),
)
name_text = st.one_of(
    st.text(),
    st.text(st.characters(categories=["L", "M", "Zs"])),
    st.sampled_from(["Юлия", "Алексей", "Щукин", "Фёдор", "Ελένη", "王小明", "محمد", "Julia"]),
)


@BOUNDED
@given(hostile_text)
@example("\ud800")
@example("a" + "\u0344" * 40)
def test_clean_text_output_is_storable_and_idempotent(raw):
    out = normalise.clean_text(raw)
    if out is None:
        return
    assert out == normalise.clean_text(out)
    assert out == out.strip() and out
    assert "  " not in out
    assert unicodedata.is_normalized("NFC", out)
    out.encode("utf-8")  # no surrogates
    for ch in out:
        assert unicodedata.category(ch) not in ("Cc", "Cs"), repr(ch)
        assert ch == " " or not ch.isspace()
        assert ch not in "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@BOUNDED
@given(name_text)
def test_name_case_is_idempotent(raw):
    once = normalise.name_case(raw)
    assert normalise.name_case(once) == once


@BOUNDED
@given(st.one_of(st.emails(), hostile_text, st.builds("{}@{}".format, st.text(), st.text())))
def test_email_is_idempotent(raw):
    once = normalise.email(raw)
    assert normalise.email(once) == once


@BOUNDED
@given(st.emails())
def test_email_match_key_is_idempotent_and_case_insensitive(address):
    key = normalise.email_match_key(address)
    assert key is not None
    assert normalise.email_match_key(key) == key
    assert normalise.email_match_key(address.upper()) == key
    assert normalise.email_match_key(address.lower()) == key
    assert normalise.email_match_key(normalise.email(address)) == key


@BOUNDED
@given(st.one_of(st.text(), st.emails()))
def test_email_match_key_is_idempotent_on_any_text(raw):
    key = normalise.email_match_key(raw)
    assert normalise.email_match_key(key) == key


phone_text = st.one_of(
    st.text(alphabet="0123456789 +-()", max_size=20),
    st.builds("+7 9{}".format, st.text(alphabet=string.digits, min_size=9, max_size=9)),
    st.builds("8 (9{}) {}".format, st.text(alphabet=string.digits, min_size=2, max_size=2),
              st.text(alphabet=string.digits, min_size=7, max_size=7)),
    hostile_text,
)
regions = st.sampled_from(["RU", "US", "GB", "KZ", "DE"])


@BOUNDED
@given(phone_text, regions)
def test_phone_is_e164_valid_or_the_trimmed_input(raw, region):
    out = normalise.phone(raw, region)
    assert normalise.phone(out, region) == out
    if out is None:
        assert normalise.clean_text(raw) is None
    elif out != normalise.clean_text(raw):
        parsed = phonenumbers.parse(out, None)
        assert phonenumbers.is_valid_number(parsed)
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == out


@BOUNDED
@given(st.one_of(name_text, hostile_text))
def test_translit_key_is_ascii_lowercase_and_idempotent(raw):
    key = normalise.translit_key(raw)
    if key is None:
        return
    assert key.isascii() and key.isalpha() and key.islower()
    assert set(key) <= set(string.ascii_lowercase)
    assert normalise.translit_key(key) == key


@BOUNDED
@given(st.datetimes(timezones=st.one_of(st.none(), st.timezones(),
                                          st.builds(lambda m: timezone(timedelta(minutes=m)),
                                                    st.integers(-1439, 1439)))),
       st.sampled_from(["UTC", "Europe/Moscow", "America/New_York", "Asia/Kolkata", "Pacific/Kiritimati"]))
def test_utc_datetime_is_aware_utc_for_any_datetime(value, assume_tz):
    try:
        out = normalise.utc_datetime(value, assume_tz)
    except ValueError:
        # Only a UTC instant outside years 1..9999 may be refused.
        assert value.year in (1, 9999)
        return
    assert out.tzinfo is UTC and out.utcoffset() == timedelta(0)
    if value.tzinfo is not None and value.utcoffset() is not None:
        # Not `out == value`: PEP 495 makes a time in a DST gap or fold unequal to every instant
        # in another zone, so compare in UTC.
        assert out == value.astimezone(UTC)
    assert normalise.utc_datetime(out.isoformat()) == out


@BOUNDED
@given(st.one_of(hostile_text, st.text(alphabet="0123456789-:T+Z. ", max_size=40)))
@example("0001-01-01T00:00:00+01:00")
@example("9999-12-31T23:59:59-23:59")
def test_utc_datetime_raises_only_value_error_on_text(raw):
    try:
        out = normalise.utc_datetime(raw, "Europe/Moscow")
    except ValueError:
        return
    assert out is None or out.tzinfo is UTC


amounts = st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal("-1e30"),
                      max_value=Decimal("1e30"))


def fits(amount: Decimal) -> bool:
    """The documented range: at most 38 digits, integer and decimal places together."""
    exponent = amount.as_tuple().exponent
    return max(amount.adjusted() + 1, 1) + max(-exponent, 0) <= normalise.MAX_AMOUNT_DIGITS


codes = st.sampled_from(["RUB", "USD", "EUR", "GBP", "KZT", "CHF", "JPY", "CNY"])


@BOUNDED
@given(amounts, codes)
@example(Decimal("-0"), "EUR")
@example(Decimal("1E+3"), "USD")
@example(Decimal("-0.1234567890123456789012345678901"), "RUB")
def test_money_with_currency_round_trips(amount, code):
    assume(fits(amount))
    for text in (f"{amount} {code}", f"{code.lower()}{amount}", f"{amount}{code}", f"{code} {amount}"):
        parsed, currency = normalise.money_with_currency(text)
        assert currency == code
        assert parsed == amount and str(parsed) == str(amount), text


@BOUNDED
@given(amounts)
def test_money_with_currency_takes_numbers_and_default(amount):
    assume(fits(amount) and fits(Decimal(repr(float(amount)))))
    assert normalise.money_with_currency(amount, "eur") == (amount, "EUR")
    assert normalise.money_with_currency(float(amount)) == (Decimal(repr(float(amount))), None)


@BOUNDED
@given(st.one_of(hostile_text, st.text(alphabet="0123456789 .,'-eE$€₽руб", max_size=30)))
def test_money_with_currency_raises_only_value_error(raw):
    try:
        out = normalise.money_with_currency(raw)
    except ValueError:
        return
    assert out is None or out[0].is_finite()


@BOUNDED
@given(st.dates(min_value=normalise.MIN_BIRTH_DATE, max_value=datetime(2025, 1, 1).date()))
def test_date_of_birth_reads_both_formats(day):
    assert normalise.date_of_birth(day.isoformat()) == day
    assert normalise.date_of_birth(day.strftime("%d.%m.%Y")) == day


@pytest.mark.parametrize("fn", [normalise.clean_text, normalise.name_case, normalise.translit_key])
def test_none_in_none_out(fn):
    assert fn(None) is None


@settings(max_examples=300, deadline=None)
@given(local=st.from_regex(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,70}", fullmatch=True),
       domain=st.sampled_from(["example.com", "Mail.RU", "yandex.ru", "gmail.com", "пример.рф", "xn--e1afmkfd.xn--p1ai",
                               "localhost", "a..b.com", "x.invalid", "1.2.3.4", "sub.domain.co.uk", "-bad-.com"]))
def test_email_fast_path_agrees_with_email_validator(local, domain):
    from include.normalise import _email_slow, clean_text

    text = clean_text(f"{local}@{domain}")
    assert normalise.email(text) == _email_slow(text)
