from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

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


# ---------------------------------------------------------------------------------------------
# Hardening (table-driven). Hostile inputs must come out as plain text: not executed, not stripped.

INJECTIONS = ["'; DROP TABLE x;--", "{{7*7}}", "${jndi:ldap://x}", "<script>alert(1)</script>", "%s%n%x"]
TEN_MB = 10 * 1024 * 1024


@pytest.mark.parametrize(("raw", "expected"), [
    ("  Ivan   Petrov \t\n", "Ivan Petrov"),
    ("a\x00b", "ab"),                                  # NUL dropped, not turned into a space
    ("a\x07\x1b\x7f\x9fb", "ab"),                      # other C0/C1 controls dropped
    ("a\r\n\x0b\x0c\x85b", "a b"),                     # whitespace controls collapse to one space
    ("a\u00a0\u2003\u3000b", "a b"),                   # Unicode spaces too
    ("\ud800", "\ufffd"),                              # lone high surrogate (JSON "\ud800")
    ("x\udc00y", "x\ufffdy"),                          # lone low surrogate
    ("\ud83d\ude00", "\U0001f600"),                    # a pair written as two code points is joined
    ("\u202eevil\u202c", "evil"),                      # bidi override: invisible spoofing
    ("\u200eA\u200f\u2066B\u2069", "AB"),
    ("\ufeffIvan\u200b", "Ivan"),                      # BOM and zero-width space
    ("e\u0301", "\u00e9"),                             # NFC
    ("\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f468\u200d\U0001f469\u200d\U0001f467"),  # ZWJ kept
    ("محمد علي", "محمد علي"),                          # RTL letters kept
    ("\u05e9\u05c1\u05b8\u05dc\u05d5\u05b9\u05dd", "\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd"),  # Hebrew points reordered
    ("   ", None), ("", None), ("\x00\u202e", None), (None, None),
    (42, "42"),
] + [(s, s) for s in INJECTIONS])
def test_clean_text(raw, expected):
    assert normalise.clean_text(raw) == expected


def test_clean_text_caps_zalgo_runs_at_stream_safe_length():
    zalgo = normalise.clean_text("a" + "\u0301\u0316" * 100 + " b")
    assert zalgo.startswith("\u00e1") and zalgo.endswith(" b") and len(zalgo) <= 1 + 30 + 2
    assert normalise.clean_text("a" + "\u0316" * 100 + " b") == "a" + "\u0316" * 30 + " b"
    assert normalise.clean_text("e\u0301\u0316") == "\u00e9\u0316"  # ordinary marks untouched


@pytest.mark.parametrize("big", [
    "x" * TEN_MB,
    "Жж " * (TEN_MB // 3),
    " \x00\u202e\t" * (TEN_MB // 4),
    "a" + "\u0301\u0316" * (TEN_MB // 2),
    "\U0001f600\u200d" * (TEN_MB // 2),
])
def test_clean_text_cleans_10mb_inputs(big):
    """Behaviour only (speed is measured in bench/, not by timed tests): storable text comes back."""
    out = normalise.clean_text(big)
    assert out is None or (len(out) <= len(big) and "\x00" not in out and "\u202e" not in out
                           and out == out.strip())


@pytest.mark.parametrize("fn", [
    normalise.name_case, normalise.email, lambda v: normalise.phone(v, "RU"), normalise.translit_key,
    normalise.split_full_name,
])
def test_every_normaliser_survives_10mb(fn):
    """A 10 MB value is answered (kept for the quality gate, or cut to a key), never a crash."""
    out = fn("Ж" * TEN_MB)
    assert out is None or isinstance(out, str | tuple)


@pytest.mark.parametrize("raw", INJECTIONS)
def test_injection_strings_are_plain_text(raw):
    assert normalise.clean_text(raw) == raw
    assert normalise.name_case(raw).casefold() == raw.casefold()
    assert normalise.email(raw) == raw
    assert normalise.phone(raw, "RU") == raw
    first, middle, last = normalise.split_full_name(raw)
    assert " ".join(p for p in (first, middle, last) if p).replace(" ", "") == raw.replace(" ", "")


@pytest.mark.parametrize(("raw", "expected"), [
    ("IVAN PETROV", "Ivan Petrov"), ("мария", "Мария"), ("o'neil", "O'Neil"), ("van Dijk", "van Dijk"),
    ("محمد", "محمد"), ("😀 ANNA", "😀 Anna"), ("\u202eIVAN", "Ivan"),
])
def test_name_case_table(raw, expected):
    assert normalise.name_case(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("John Smith", ("John", None, "Smith")),
    ("Dr. John Quincy Adams Jr.", ("John", "Quincy", "Adams")),
    ("Mr John Smith III", ("John", None, "Smith")),
    ("Mrs. Mary Ann Smith", ("Mary", "Ann", "Smith")),
    ("Smith, John Paul", ("John", "Paul", "Smith")),
    ("Ludwig van Beethoven", ("Ludwig", None, "van Beethoven")),
    ("Dr. Ivan Petrov, PhD", ("Ivan", None, "Petrov")),
    ("King Martin", ("King", None, "Martin")),          # a surname, not a title, in a CRM
    ("Judge Judy", ("Judge", None, "Judy")),
    ("Madonna", ("Madonna", None, None)),
    ("Иванов Иван Иванович", ("Иван", "Иванович", "Иванов")),
    ("Иван Иванович Иванов", ("Иван", "Иванович", "Иванов")),
    ("Петрова Анна Сергеевна", ("Анна", "Сергеевна", "Петрова")),
    ("Анна Сергеевна Петрова", ("Анна", "Сергеевна", "Петрова")),
    ("Ленин Владимир Ильич", ("Владимир", "Ильич", "Ленин")),
    ("Ильина Анна Ильинична", ("Анна", "Ильинична", "Ильина")),
    ("Кузьмина Ольга Кузьминична", ("Ольга", "Кузьминична", "Кузьмина")),
    ("Абрамович Роман Аркадьевич", ("Роман", "Аркадьевич", "Абрамович")),
    ("Рабинович Иван Петрович", ("Иван", "Петрович", "Рабинович")),
    ("Иван Петрович Рабинович", ("Иван", "Петрович", "Рабинович")),
    ("Петров, Иван Иванович", ("Иван", "Иванович", "Петров")),
    ("Мамедов Рашид Али оглы", ("Рашид", "Али оглы", "Мамедов")),
    ("Иван Петров", ("Иван", None, "Петров")),
    ("Анна Мария Петрова", ("Анна", "Мария", "Петрова")),
    ("Ivanov Ivan Ivanovich", ("Ivan", "Ivanovich", "Ivanov")),
    ("Petrova Anna Sergeevna", ("Anna", "Sergeevna", "Petrova")),
    ("Roman Arkadyevich Abramovich", ("Roman", "Arkadyevich", "Abramovich")),
    ("John Paul Rabinovich", ("John", "Paul", "Rabinovich")),  # Latin -ovich is also a surname
    ("Kevin Paul Rabinovich", ("Kevin", "Paul", "Rabinovich")),
    ("  \u202eIvan   Petrov ", ("Ivan", None, "Petrov")),
    ("محمد علي", ("محمد", None, "علي")),
    ("", (None, None, None)), (None, (None, None, None)),
])
def test_split_full_name(raw, expected):
    assert normalise.split_full_name(raw) == expected


def test_split_full_name_does_not_split_absurdly_long_values():
    raw = "Ivan " * 200
    assert normalise.split_full_name(raw) == (raw.strip(), None, None)


TRANSLIT_GROUPS = [
    ["Юлия", "Yulia", "Yuliya", "Julia", "Iuliia"],
    ["Алексей", "Aleksey", "Alexey", "Aleksei"],
    ["Наталья", "Natalya", "Natalia", "Nataliya"],
    ["Евгений", "Evgeniy", "Yevgeny", "Evgenii", "Evgeny"],
    ["Щукин", "Shchukin", "Schukin"],
    ["Ксения", "Kseniya", "Xenia", "Ksenia"],
    ["Дмитрий", "Dmitriy", "Dmitry", "Dmitrii"],
    ["Сергей", "Sergey", "Sergei"],
    ["Андрей", "Andrey", "Andrei"],
    ["Юрий", "Yuriy", "Yury", "Iurii", "Yuri"],
    ["Фёдор", "Федор", "Fedor", "Fyodor"],
    ["Артём", "Артем", "Artem", "Artyom"],
    ["Пётр", "Petr", "Pyotr"],
    ["Михаил", "Mikhail", "Mihail"],
    ["Хабиб", "Khabib", "Habib"],
    ["Кирилл", "Kirill", "Kiril"],
    ["Андреев", "Andreev", "Andreyev"],
    ["Достоевский", "Dostoevsky", "Dostoyevsky", "Dostoevskii", "Dostoevskiy"],
    ["Мария", "Mariya", "Maria"],
    ["Владимир", "Vladimir", "Wladimir"],
]


@pytest.mark.parametrize("spellings", TRANSLIT_GROUPS, ids=[g[0] for g in TRANSLIT_GROUPS])
def test_translit_key_unifies_spellings(spellings):
    keys = {normalise.translit_key(s) for s in spellings + [s.upper() for s in spellings]}
    assert len(keys) == 1, keys


def test_translit_key_keeps_different_names_apart():
    names = [g[0] for g in TRANSLIT_GROUPS] + ["Mario", "Marie", "Ivan", "Iosif"]
    keys = [normalise.translit_key(n) for n in names]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("raw", ["Ελένη", "王小明", "محمد", "Nguyễn", "Ærøskøbing", "שָׁלוֹם", "김민준"])
def test_translit_key_gives_ascii_for_any_script(raw):
    key = normalise.translit_key(raw)
    assert key and key.isascii() and key.isalpha() and key.islower()


@pytest.mark.parametrize("raw", [None, "", "   ", "123", "---", "\x00"])
def test_translit_key_empty(raw):
    assert normalise.translit_key(raw) is None


def test_translit_key_is_bounded():
    assert len(normalise.translit_key("Ж" * TEN_MB)) <= normalise.MAX_KEY


U = UTC


@pytest.mark.parametrize(("raw", "tz", "expected"), [
    ("2024-01-05", "UTC", datetime(2024, 1, 5, tzinfo=U)),
    ("2024-01-05", "Europe/Moscow", datetime(2024, 1, 4, 21, tzinfo=U)),
    ("2024-01-05 10:00:00", "UTC", datetime(2024, 1, 5, 10, tzinfo=U)),
    ("2024-01-05T10:00:00Z", "Europe/Moscow", datetime(2024, 1, 5, 10, tzinfo=U)),
    ("2024-01-05T10:00:00z", "UTC", datetime(2024, 1, 5, 10, tzinfo=U)),
    ("2024-01-05T10:00:00.123456+05:30", "UTC", datetime(2024, 1, 5, 4, 30, 0, 123456, tzinfo=U)),
    ("20240105T103000Z", "UTC", datetime(2024, 1, 5, 10, 30, tzinfo=U)),
    ("  2024-01-05T10:00:00+03:00 ", "UTC", datetime(2024, 1, 5, 7, tzinfo=U)),
    ("0001-01-01T00:00:00-01:00", "UTC", datetime(1, 1, 1, 1, tzinfo=U)),
    ("9999-12-31T23:59:59+01:00", "UTC", datetime(9999, 12, 31, 22, 59, 59, tzinfo=U)),
    ("0001-01-01T00:00:00", "UTC", datetime(1, 1, 1, tzinfo=U)),
    (datetime(2024, 1, 5, 12), "Europe/Moscow", datetime(2024, 1, 5, 9, tzinfo=U)),
    (datetime(2024, 1, 5, 12, tzinfo=timezone(timedelta(hours=-5))), "Europe/Moscow", datetime(2024, 1, 5, 17, tzinfo=U)),
    (date(2024, 1, 5), "Europe/Moscow", datetime(2024, 1, 4, 21, tzinfo=U)),
    (None, "UTC", None), ("", "UTC", None), ("   ", "UTC", None),
])
def test_utc_datetime_table(raw, tz, expected):
    result = normalise.utc_datetime(raw, tz)
    assert result == expected
    if result is not None:
        assert result.tzinfo is UTC


@pytest.mark.parametrize("raw", [
    "0001-01-01T00:00:00+01:00",           # before year 1 in UTC
    "9999-12-31T23:59:59-01:00",           # after year 9999 in UTC
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
    datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14))),
    "garbage", "2024-13-01", "2024-02-30", "05.01.2024", "01/05/2024", "0000-01-01",
    "\ud800", "2024-01-05" + "0" * 1000, "x" * TEN_MB,
    True, False, 0, 1700000000, 1.7e9, Decimal("1700000000"), b"2024-01-05", ["2024-01-05"], object(),
    *INJECTIONS,
])
def test_utc_datetime_refuses_with_value_error_only(raw):
    with pytest.raises(ValueError) as error:
        normalise.utc_datetime(raw)
    assert len(str(error.value)) < 200


def test_utc_datetime_edge_years_in_zone_raise_value_error_not_overflow():
    with pytest.raises(ValueError, match="0001-01-01"):
        normalise.utc_datetime("0001-01-01T00:00:00", "Asia/Tokyo")
    with pytest.raises(ValueError, match="9999-12-31"):
        normalise.utc_datetime("9999-12-31T23:59:59", "America/New_York")


TODAY = date(2025, 6, 1)


@pytest.mark.parametrize(("raw", "expected"), [
    ("1990-05-17", date(1990, 5, 17)), ("17.05.1990", date(1990, 5, 17)), ("7.5.1990", date(1990, 5, 7)),
    (" 01.01.1900 ", date(1900, 1, 1)), ("2025-06-01", TODAY), (date(1980, 2, 29), date(1980, 2, 29)),
    (datetime(1980, 2, 29), date(1980, 2, 29)), (None, None), ("", None),
])
def test_date_of_birth(raw, expected):
    assert normalise.date_of_birth(raw, today=TODAY) == expected


@pytest.mark.parametrize("raw", [
    "05/17/1990", "17/05/1990", "1990/05/17", "17-05-1990", "1990-5-17", "31.02.1990", "1899-12-31",
    "2025-06-02", "01.01.3000", "19900517", "1990-W01-1", "May 17 1990", "١٩٩٠-٠٥-١٧",
    datetime(1990, 5, 17, 10, 30), datetime(1990, 5, 17, tzinfo=UTC), 19900517, True, *INJECTIONS,
])
def test_date_of_birth_refuses(raw):
    with pytest.raises(ValueError):
        normalise.date_of_birth(raw, today=TODAY)


def test_date_of_birth_defaults_to_the_real_today():
    with pytest.raises(ValueError, match="future"):
        normalise.date_of_birth((date.today() + timedelta(days=1)).isoformat())


@pytest.mark.parametrize(("raw", "expected"), [
    ("1234.50", Decimal("1234.50")), (" -5 ", Decimal("-5")), (12.5, Decimal("12.5")), (0.1, Decimal("0.1")),
    (7, Decimal("7")), (Decimal("3.14159265358979323846"), Decimal("3.14159265358979323846")),
    ("1e3", Decimal("1E+3")),
    (None, None), ("", None), ("NaN", None), ("-Infinity", None), ("inf", None), (float("nan"), None),
    (float("inf"), None), (Decimal("NaN"), None), (True, None), ("abc", None), ("1 234,56", None),
    ("1e999999", None), ("١٢", None), ("x" * TEN_MB, None), *[(s, None) for s in INJECTIONS],
])
def test_money_table(raw, expected):
    assert normalise.money(raw) == expected


@pytest.mark.parametrize(("raw", "default", "expected"), [
    ("1 234,56 ₽", None, (Decimal("1234.56"), "RUB")),
    ("1\u00a0234,56\u00a0₽", None, (Decimal("1234.56"), "RUB")),
    ("1.234,56 €", None, (Decimal("1234.56"), "EUR")),
    ("$12.50", None, (Decimal("12.50"), "USD")),
    ("12.50 EUR", None, (Decimal("12.50"), "EUR")),
    ("12.50eur", None, (Decimal("12.50"), "EUR")),
    ("RUB 100", None, (Decimal("100"), "RUB")),
    ("100 руб.", None, (Decimal("100"), "RUB")),
    ("100 руб", None, (Decimal("100"), "RUB")),
    ("100 р.", None, (Decimal("100"), "RUB")),
    ("1 234 567,89 РУБ.", None, (Decimal("1234567.89"), "RUB")),
    ("£3.50", None, (Decimal("3.50"), "GBP")),
    ("₸ 5000", None, (Decimal("5000"), "KZT")),
    ("5 000 тг", None, (Decimal("5000"), "KZT")),
    ("US$ 3", None, (Decimal("3"), "USD")),
    ("-5", None, (Decimal("-5"), None)),
    ("-5", "rub", (Decimal("-5"), "RUB")),
    ("12 USD", "EUR", (Decimal("12"), "USD")),      # the value's own currency wins
    ("-$5", None, (Decimal("-5"), "USD")),
    ("$-5", None, (Decimal("-5"), "USD")),
    ("\u22127 €", None, (Decimal("-7"), "EUR")),     # U+2212 minus sign
    ("+7 €", None, (Decimal("7"), "EUR")),
    ("1e3", None, (Decimal("1E+3"), None)),          # scientific notation: unambiguous, accepted
    ("1.5E-3 EUR", None, (Decimal("0.0015"), "EUR")),
    ("1,234.56", None, (Decimal("1234.56"), None)),
    ("1,234,567", None, (Decimal("1234567"), None)),
    ("1.234.567", None, (Decimal("1234567"), None)),
    ("1.234", None, (Decimal("1.234"), None)),       # a lone dot is the decimal point (machine format)
    ("12,5", None, (Decimal("12.5"), None)),
    ("0,125", None, (Decimal("0.125"), None)),
    ("1'234.50 CHF", None, (Decimal("1234.50"), "CHF")),
    ("0.001", None, (Decimal("0.001"), None)),
    (12.5, None, (Decimal("12.5"), None)),
    (12.5, "usd", (Decimal("12.5"), "USD")),
    (10, None, (Decimal("10"), None)),
    (Decimal("-0.10"), None, (Decimal("-0.10"), None)),
    (None, None, None), ("", "RUB", None), ("  ", None, None),
])
def test_money_with_currency_table(raw, default, expected):
    assert normalise.money_with_currency(raw, default) == expected


@pytest.mark.parametrize("raw", [
    "NaN", "nan EUR", "Infinity", "-inf", float("nan"), float("inf"), float("-inf"), Decimal("NaN"),
    Decimal("-Infinity"), Decimal("sNaN"), True, False, b"12", ["12"], object(),
    "1,234",                     # 1234 or 1.234? refused rather than guessed
    "1,23,456.00", "12 34", "1.234 567,00", "1.2.3", "1e3,5", "1 234e3", "12.", ".5",
    "12 - 15 EUR", "12 or 15", "about 12", "$12 EUR", "--5", "- - 5", "12 %", "12 XYZ", "12 ¥",
    "1e999", "1e-50", "9" * 39, "x" * TEN_MB, "١٢", *INJECTIONS,
])
def test_money_with_currency_refuses_with_value_error(raw):
    with pytest.raises(ValueError):
        normalise.money_with_currency(raw)


def test_money_with_currency_refuses_unknown_default_currency():
    with pytest.raises(ValueError, match="currency"):
        normalise.money_with_currency("12", "dollars")


def test_money_with_currency_keeps_precision():
    amount, _ = normalise.money_with_currency("0.12345678901234567890123456789012345 EUR")
    assert str(amount) == "0.12345678901234567890123456789012345"
    amount, _ = normalise.money_with_currency("-0.12345678901234567890123456789012345 EUR")
    assert str(amount) == "-0.12345678901234567890123456789012345"


@pytest.mark.parametrize(("raw", "expected"), [
    ("ivan@ПРИМЕР.РФ", "ivan@пример.рф"),
    ("IVAN@xn--e1afmkfd.xn--p1ai", "ivan@пример.рф"),
    ("Test@MÜNCHEN.de", "test@münchen.de"),
    ("test@mu\u0308nchen.de", "test@münchen.de"),          # decomposed ü in the domain
    ("ИВАН@пример.рф", "иван@пример.рф"),                   # only lower-casing of the local part
    ("Ivan.Petrov+Shop@Mail.RU", "ivan.petrov+shop@mail.ru"),  # dots and +tags kept when stored
    ("\u202eivan@mail.ru\u200b", "ivan@mail.ru"),
    ("a" * 400 + "@mail.ru", "a" * 400 + "@mail.ru"),        # too long: passed through
    ("ivan@@mail.ru", "ivan@@mail.ru"), ("ivan@localhost", "ivan@localhost"),
    (None, None), ("  ", None),
])
def test_email_table(raw, expected):
    assert normalise.email(raw) == expected


def test_email_match_key_idn_and_punycode_agree():
    unicode_form = normalise.email("Ivan@Пример.РФ")
    ascii_form = normalise.email("ivan@xn--e1afmkfd.xn--p1ai")
    assert normalise.email_match_key(unicode_form) == normalise.email_match_key(ascii_form) \
        == normalise.email_match_key("IVAN@XN--E1AFMKFD.XN--P1AI") == "ivan@xn--e1afmkfd.xn--p1ai"
    assert normalise.email_match_key("Test@München.de") == normalise.email_match_key("test@xn--mnchen-3ya.de")


@pytest.mark.parametrize(("raw", "expected"), [
    ("Ivan.Petrov+shop@GMAIL.com", "ivanpetrov@gmail.com"),
    ("STRASSE@mail.de", "strasse@mail.de"), ("Straße@mail.de", "strasse@mail.de"),
    ("not an address", None), ("", None), ("a@b@c", "a@b@c"),
])
def test_email_match_key_table(raw, expected):
    assert normalise.email_match_key(raw) == expected


@pytest.mark.parametrize(("raw", "region", "expected"), [
    ("+7\u00a0912\u00a0345-67-89", "RU", "+79123456789"),
    ("\u202e+7 912 345 67 89", "RU", "+79123456789"),
    ("+44 20 7946 0018", None, "+442079460018"),
    ("912 345 67 89", None, "912 345 67 89"),            # no region and no +: cannot know the country
    ("1" * 100, "RU", "1" * 100),
    ("\x00", "RU", None),
])
def test_phone_table(raw, region, expected):
    assert normalise.phone(raw, region) == expected


@pytest.mark.parametrize("value, expected", [
    ("https://www.Romashka.ru/about", "romashka.ru"), ("romashka.ru", "romashka.ru"),
    ("anna@пример.рф", "пример.рф"), ("http://xn--e1afmkfd.xn--p1ai/", "пример.рф"), ("", None)])
def test_domain_of_url_or_email(value, expected):
    assert normalise.domain(value) == expected


def test_domain_without_a_host_is_an_error():
    with pytest.raises(ValueError, match="no host name"):
        normalise.domain("no host at all")


@pytest.mark.parametrize("value, expected", [("12", 12), (3.0, 3), (-4, -4), ("", None), (" 7 ", 7)])
def test_integer(value, expected):
    assert normalise.integer(value) == expected


@pytest.mark.parametrize("value", [True, 2.5, "12a", "1" * 30, "1e3"])
def test_integer_rejects_what_is_not_a_whole_number(value):
    with pytest.raises(ValueError):
        normalise.integer(value)


@pytest.mark.parametrize("value, expected", [("да", True), ("No", False), (1, True), ("0", False), (False, False)])
def test_boolean(value, expected):
    assert normalise.boolean(value) is expected


def test_boolean_rejects_other_words():
    with pytest.raises(ValueError, match="yes/no"):
        normalise.boolean("maybe")


@pytest.mark.parametrize("a, b", [("ООО «Ромашка»", "Romashka LLC"), ('АО "Северсталь"', "Severstal PAO"),
                                  ("Northwind Labs Inc.", "NORTHWIND LABS")])
def test_company_key_ignores_legal_form_script_and_punctuation(a, b):
    assert normalise.company_key(a) == normalise.company_key(b) is not None
