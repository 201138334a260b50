"""Normalisers for identifiers, names, dates and amounts, built on the field's libraries.

Contract: a normaliser returns the canonical value when it can. Identifier normalisers (email,
phone) return the input trimmed when they cannot, so the quality gate sees the offending value
and quarantines the row with a reason. Parse-type normalisers (utc_datetime, money_with_currency,
date_of_birth) return None for empty input and raise ValueError, naming the value, when it cannot
be parsed; ``money`` predates that rule and returns None instead (mapping.py relies on it).

Inputs longer than a field could legitimately be are not parsed (each limit is named below):
parsing them would only cost time, and the answer would be "invalid" anyway.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
import sys
import unicodedata
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import idna
import phonenumbers
from anyascii import anyascii
from email_validator import EmailNotValidError, validate_email
from nameparser import HumanName
from nameparser.config import Constants

GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}

# Longest inputs worth parsing: RFC 5321 caps an address at 254 characters; the longest
# E.164 number with formatting and an extension is well under 64; an ISO 8601 timestamp with
# microseconds and offset is 32; 512 characters is more than any real full name.
MAX_EMAIL = 320
MAX_PHONE = 64
MAX_DATETIME = 64
MAX_MONEY = 64
MAX_NAME = 512
MAX_KEY = 256
# A NUMERIC(38, s) column holds at most 38 digits, integer and decimal places together; an
# amount that needs more is a data error, not money.
MAX_AMOUNT_DIGITS = 38
# Unicode's Stream-Safe Text Format (UAX #15) bounds runs of combining marks at 30; longer
# runs ("Zalgo" text) are never language and make NFC normalisation quadratic.
MAX_COMBINING_RUN = 30


def _short(value: object) -> str:
    """repr() of a value for an error message, cut so a 10 MB input doesn't become a 10 MB message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# ---------------------------------------------------------------------------------------------
# Text

_SURROGATE = re.compile("[\ud800-\udfff]")
# C0/C1 controls that are not whitespace (whitespace controls collapse to a space instead),
# bidi controls (invisible, used to spoof how a value reads), zero-width space/word joiner and
# the BOM. ZWJ/ZWNJ (U+200C/D) are kept: emoji sequences and Persian/Indic names need them.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"
    "\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]+"
)
_ODD_SPACE = re.compile(r"[^\S ]")  # whitespace other than a plain space


@functools.cache
def _combining_runs() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(fast superset, exact) patterns for runs of more than MAX_COMBINING_RUN combining marks.

    Built on first use (a scan of all code points, ~0.1 s). The superset treats every astral
    character as a mark so the regex engine can use a bitmap; the exact one checks its hits.
    """
    ranges: list[list[int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.combining(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    bmp = "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges if b <= 0xFFFF)
    exact = "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)
    run = f"{{{MAX_COMBINING_RUN + 1},}}"
    return re.compile(f"[{bmp}\U00010000-\U0010ffff]{run}"), re.compile(f"[{exact}]{run}")


def _cap_combining(text: str) -> str:
    superset, exact = _combining_runs()

    def cap(match: re.Match[str]) -> str:
        return exact.sub(lambda run: run.group()[:MAX_COMBINING_RUN], match.group())

    return superset.sub(cap, text)


def clean_text(value: object) -> str | None:
    """Text a warehouse can always store and a person would read the same way; empty becomes None.

    Surrogates (from JSON "\\ud800") that cannot be paired become U+FFFD, because UTF-8 cannot
    encode them. Controls and bidi/zero-width format characters are dropped: they are invisible
    and only ever spoof or break things. Whitespace runs (any Unicode space, tab, newline) become
    one space and the ends are trimmed. NFC so equal-looking strings compare equal; runs of
    more than 30 combining marks ("Zalgo" text) are cut to 30 first, as Unicode's stream-safe
    format does, because NFC is quadratic in them. Emoji, ZWJ and right-to-left letters are
    kept: they are legitimate in names. Linear time: 10 MB is cleaned in well under a second.
    """
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if _SURROGATE.search(text):
        # Pairs written as two code points become one character; lone halves become U+FFFD.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = _INVISIBLE.sub("", text)
    if _ODD_SPACE.search(text) or "  " in text:
        # str.split() splits on exactly what str.isspace() calls whitespace (Unicode spaces,
        # tabs, newlines, the C0 separators) at C speed; skipped when only single spaces occur.
        text = " ".join(text.split())
    if not text.isascii():
        text = _cap_combining(text)
        if not unicodedata.is_normalized("NFC", text):
            # NFC can decompose a mark into two (U+0344): cap again so a second pass is a no-op.
            text = _cap_combining(unicodedata.normalize("NFC", text))
    return text.strip(" ") or None


def name_case(value: object) -> str | None:
    """Fix names typed in ALL CAPS or all lower case; mixed case (McDonald, van Dijk) is left alone."""
    text = clean_text(value)
    if text is None:
        return None
    if text.isupper() or text.islower():
        text = unicodedata.normalize("NFC", text.title())
    return text


# ---------------------------------------------------------------------------------------------
# Names

# Honorifics only. nameparser's own list (800+ titles) also eats surnames that customers really
# have (King, Bishop, Judge, Prince, Father...), which is worse in a CRM than keeping "Dr".
_HONORIFICS = {
    "mr", "mrs", "ms", "miss", "mx", "master", "dr", "doctor", "prof", "professor", "sir", "dame",
    "rev", "reverend", "fr", "lord", "lady", "madam", "madame", "mme", "mlle", "monsieur", "herr",
    "frau", "sr", "sra", "srta", "don", "dona", "doña", "signor", "signora", "hon", "capt", "col",
    "gen", "lt", "sgt", "г-н", "г-жа", "господин", "госпожа",
}
_FIRST_NAME_HONORIFICS = {"sir", "dame"}
_CYRILLIC_WORD = re.compile(r"[\u0400-\u04ff]+(?:-[\u0400-\u04ff]+)*")
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")
_PATRONYMIC_CYR = ("ович", "евич", "ич", "овна", "евна", "ична")
_PATRONYMIC_LAT = ("ovich", "evich", "ovna", "evna")
# Latin "-ovich" is also a surname ending (Abramovich, Rabinovich): Latin FIO order is only
# trusted when the first token also looks like a Russian surname.
# "-in" is left out on purpose: Kevin, Martin, Justin.
_SURNAME_LAT = ("ov", "ev", "ova", "eva", "ina", "sky", "skiy", "skii", "skaya", "enko", "vich")
_TURKIC_PATRONYMIC = {"оглы", "оглу", "кызы", "гызы", "улы", "уулу", "қызы"}


@functools.cache
def _name_constants() -> Constants:
    """nameparser constants with a short honorific list, shared (parsing never mutates them)."""
    return Constants(titles=_HONORIFICS, first_name_titles=_FIRST_NAME_HONORIFICS)


def _is_patronymic(token: str) -> bool:
    low = token.lower()
    if _CYRILLIC_WORD.fullmatch(token):
        return low.endswith(_PATRONYMIC_CYR) and len(low) > 4
    return bool(_LATIN_WORD.fullmatch(token)) and low.endswith(_PATRONYMIC_LAT) and len(low) > 6


def _russian_order(tokens: list[str]) -> tuple[str, str, str] | None:
    """(first, middle, last) for "Фамилия Имя Отчество" / "Имя Отчество Фамилия", else None."""
    if len(tokens) == 4 and tokens[3].lower() in _TURKIC_PATRONYMIC:  # Мамедов Рашид Али оглы
        if all(_CYRILLIC_WORD.fullmatch(t) for t in tokens):
            return tokens[1], f"{tokens[2]} {tokens[3]}", tokens[0]
        return None
    if len(tokens) != 3:
        return None
    cyrillic = all(_CYRILLIC_WORD.fullmatch(t) for t in tokens)
    latin = all(_LATIN_WORD.fullmatch(t) for t in tokens)
    if not (cyrillic or latin):
        return None
    if _is_patronymic(tokens[1]):
        return tokens[0], tokens[1], tokens[2]
    if _is_patronymic(tokens[2]) and (cyrillic or tokens[0].lower().endswith(_SURNAME_LAT)):
        return tokens[1], tokens[2], tokens[0]
    return None


def split_full_name(value: object) -> tuple[str | None, str | None, str | None]:
    """(first, middle, last) from a full name; case is kept (apply name_case to the parts).

    Russian "Фамилия Имя Отчество" and "Имя Отчество Фамилия" are recognised by the patronymic
    (Cyrillic, or Latin -ovich/-evich/-ovna/-evna); everything else goes to nameparser
    (Western "First Middle Last" and "Last, First Middle"), whose honorifics and suffixes
    (Mr, Dr, Jr, III, PhD...) are dropped. A name too long to be real (over MAX_NAME) is not
    split: it comes back whole as the first part, for the quality gate.
    """
    text = clean_text(value)
    if text is None:
        return None, None, None
    if len(text) > MAX_NAME:
        return text, None, None
    tokens = text.split(" ")
    if len(tokens) == 1:
        return text, None, None
    russian = _russian_order(tokens) if "," not in text else None
    if russian:
        return russian
    parsed = HumanName(text, constants=_name_constants())
    first, middle, last = (part or None for part in (parsed.first, parsed.middle, parsed.last))
    if first is None and middle is None and last is None:
        # Only honorifics or suffixes ("Mr. Jr."): nothing to split, keep what was given.
        return text, None, None
    return first, middle, last


# ---------------------------------------------------------------------------------------------
# Transliteration key

# Folds applied to the lower-case ASCII form until nothing changes, so the key is idempotent.
# Each reconciles transliteration systems (GOST, ICAO passports, BGN/PCGN, German/French
# usage): Ю = yu/iu/ju, Я = ya/ia/ja, Й/ИЙ/ИЯ endings = y/i/ii/iy, Ё = e/yo/jo, Щ = shch/sch,
# Х = kh/h, Е after a vowel = e/ye/ie, Кс = ks/x, В = v/w, doubled letters.
_TRANSLIT_FOLDS = (
    ("x", "ks"), ("w", "v"), ("yo", "e"), ("jo", "e"), ("j", "i"), ("y", "i"),
    ("shch", "sch"), ("kh", "h"),
)
_DOUBLED = re.compile(r"([a-z])\1+")
_NOT_LETTER = re.compile(r"[^a-z]+")


def translit_key(value: object) -> str | None:
    """Matching key (never stored as the name) equal for Cyrillic and Latin spellings of a name.

    anyascii transliterates any script, then spelling variants that transliteration systems
    disagree on are folded (Юлия = Yulia = Yuliya = Julia = Iuliia -> "iulia"). Only a-z
    survive, so word order still matters but spaces, hyphens and apostrophes do not. The key
    over-merges on purpose (Daniel and Danel share one); it is a blocking/matching aid, never
    proof of identity. Input is cut to MAX_NAME characters and the key to MAX_KEY. None when
    there are no letters.
    """
    text = clean_text(value[: MAX_NAME * 4] if isinstance(value, str) else value)
    if text is None:
        return None
    key = _NOT_LETTER.sub("", anyascii(text[:MAX_NAME]).lower())
    previous = None
    while key != previous:
        previous = key
        for old, new in _TRANSLIT_FOLDS:
            key = key.replace(old, new)
        key = _DOUBLED.sub(r"\1", key).replace("ie", "e")
    return key[:MAX_KEY] or None


# ---------------------------------------------------------------------------------------------
# Email and phone

# An unquoted ASCII local part (RFC 5322 dot-atom): the form of nearly every real address.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


@functools.lru_cache(maxsize=65536)
def _valid_domain(domain: str) -> str | None:
    """email_validator's verdict on a domain (normalised form, or None), once per distinct domain."""
    try:
        return validate_email(f"a@{domain}", check_deliverability=False).domain
    except EmailNotValidError:
        return None


def email(value: object) -> str | None:
    """Validated address, lower-cased, IDN domain in Unicode (NFC) form; invalid input comes back trimmed.

    The local part is only lower-cased: every mainstream provider treats it case-insensitively,
    but dots and +tags are the mailbox owner's business, so the stored value keeps them
    (email_match_key folds them for matching). A plain ASCII dot-atom local part takes a fast
    path (its domain validated once and cached); everything else goes through email_validator
    whole. Both give the same answer (a property test checks).
    """
    text = clean_text(value)
    if text is None:
        return None
    if len(text) > MAX_EMAIL:
        return text
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and len(text) <= 254 and _DOT_ATOM.fullmatch(local):
        valid = _valid_domain(domain)
        return text if valid is None else unicodedata.normalize("NFC", f"{local.lower()}@{valid.lower()}")
    return _email_slow(text)


def _email_slow(text: str) -> str:
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return text
    return unicodedata.normalize("NFC", f"{result.local_part.lower()}@{result.domain.lower()}")


@functools.lru_cache(maxsize=65536)
def _ascii_domain(domain: str) -> str:
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return domain


def email_match_key(address: str | None) -> str | None:
    """Matching key only (never stored as the address): case-folded, +tags dropped, IDN domain in
    punycode (so пример.рф and xn--e1afmkfd.xn--p1ai match); gmail also ignores dots."""
    if not address or not isinstance(address, str) or "@" not in address:
        return None
    local, _, domain = address.strip().rpartition("@")
    local = unicodedata.normalize("NFC", local.casefold()).split("+", 1)[0]
    domain = _ascii_domain(unicodedata.normalize("NFC", domain.casefold()))
    if domain in GMAIL_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def phone(value: object, default_region: str | None) -> str | None:
    """E.164 when the number is valid for its region, else the trimmed input for the quality gate."""
    text = clean_text(value)
    if text is None:
        return None
    if len(text) > MAX_PHONE:
        return text
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_valid_number(parsed):
        return text
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# ---------------------------------------------------------------------------------------------
# Dates

def utc_datetime(value: object, assume_tz: str = "UTC") -> datetime | None:
    """Aware UTC datetime from ISO 8601 text, a datetime or a date; naive values are in assume_tz.

    Accepted: ISO 8601 with or without offset ("Z" included), date-only (midnight in assume_tz),
    "YYYY-MM-DD HH:MM:SS", datetime and date objects. Numbers are refused: an epoch could be
    seconds, milliseconds or days and guessing corrupts silently. Any value that cannot be read,
    or whose UTC instant falls outside years 1..9999, raises ValueError naming it. An unknown
    assume_tz is a configuration error and raises ZoneInfoNotFoundError.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if len(text) > MAX_DATETIME:
            raise ValueError(f"not an ISO 8601 date-time (too long): {_short(value)}")
        if text[-1] == "z":
            text = text[:-1] + "Z"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO 8601 date-time: {_short(value)}") from None
    elif isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, (bool, int, float, Decimal)):
        raise ValueError(f"a number is not a date-time (epochs are not guessed): {_short(value)}")
    else:
        raise ValueError(f"not a date-time: {type(value).__name__} {_short(value)}")
    # A tzinfo whose utcoffset() is None is naive by definition; astimezone() would read it as
    # the server's local time, which depends on where the job runs.
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        zone: tzinfo = ZoneInfo(assume_tz)
        parsed = parsed.replace(tzinfo=zone)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(f"date-time out of range once converted to UTC: {_short(value)}") from None


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RU_DATE = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})")
MIN_BIRTH_DATE = date(1900, 1, 1)


def date_of_birth(value: object, *, today: date | None = None) -> date | None:
    """Date of birth from ISO "YYYY-MM-DD" or Russian "DD.MM.YYYY"; ValueError otherwise.

    Slash dates are refused: 03/04/1990 is March in the US and April almost everywhere else,
    and a wrong guess is a silently wrong birthday. Dates in the future (after ``today``,
    default the current date) or before 1900 are data errors and raise ValueError too. A
    datetime is accepted only at midnight without a zone (drivers that return DATE as datetime).
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None or value.time() != datetime.min.time():
            raise ValueError(f"a date of birth is a date, not a timestamp: {_short(value)}")
        parsed = value.date()
    elif isinstance(value, date):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            if _ISO_DATE.fullmatch(text):
                parsed = date.fromisoformat(text)
            elif match := _RU_DATE.fullmatch(text):
                day, month, year = (int(part) for part in match.groups())
                parsed = date(year, month, day)
            else:
                raise ValueError("unknown format")
        except ValueError:
            raise ValueError(f"not a date of birth (YYYY-MM-DD or DD.MM.YYYY): {_short(value)}") from None
    else:
        raise ValueError(f"not a date of birth: {type(value).__name__} {_short(value)}")
    if parsed < MIN_BIRTH_DATE:
        raise ValueError(f"date of birth before 1900: {_short(value)}")
    if parsed > (today or date.today()):
        raise ValueError(f"date of birth in the future: {_short(value)}")
    return parsed


# ---------------------------------------------------------------------------------------------
# Money

def _amount_in_range(amount: Decimal) -> bool:
    if not amount.is_finite():
        return False
    exponent = amount.as_tuple().exponent
    if not isinstance(exponent, int):
        return False
    integer_digits = max(amount.adjusted() + 1, 1)
    return integer_digits + max(-exponent, 0) <= MAX_AMOUNT_DIGITS


def _number_to_decimal(value: object) -> Decimal | None:
    """Decimal for int/float/Decimal (float via repr, so 0.1 stays 0.1); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    return None


def money(value: object) -> Decimal | None:
    """Plain decimal amount ("1234.50", 12.5, Decimal); None for empty or unparseable input.

    None rather than ValueError is this function's historical contract (mapping.py reports the
    problem). Amounts with a currency or grouping separators: money_with_currency.
    """
    if value is None or isinstance(value, bool):
        return None
    amount = _number_to_decimal(value)
    if amount is None:
        text = value.strip() if isinstance(value, str) else str(value).strip()
        if not text or len(text) > MAX_MONEY or not text.isascii():
            return None
        try:
            amount = Decimal(text)
        except InvalidOperation:
            return None
    return amount if _amount_in_range(amount) else None


_CURRENCY_ALIASES = {
    "₽": "RUB", "руб": "RUB", "р": "RUB", "рублей": "RUB", "рубля": "RUB", "рубль": "RUB",
    "$": "USD", "us$": "USD", "€": "EUR", "£": "GBP", "₸": "KZT", "тг": "KZT", "тенге": "KZT",
    "₴": "UAH", "грн": "UAH", "₾": "GEL", "₼": "AZN", "₹": "INR", "₺": "TRY",
    "c$": "CAD", "ca$": "CAD", "a$": "AUD", "au$": "AUD",
}
_CUR = r"(?:[^\W\d_]*[^\w\s.,'+\-\u2212]|[^\W\d_]+\.?)"
_MONEY = re.compile(
    rf"(?P<s1>[-+\u2212])? ?(?P<c1>{_CUR})? ?(?P<s2>[-+\u2212])? ?"
    r"(?P<num>[0-9](?:[0-9.,' ]*[0-9])?(?:[eE][-+]?[0-9]+)?)"
    rf" ?(?P<c2>{_CUR})?"
)
_PLAIN_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


@functools.cache
def _iso_currencies() -> frozenset[str]:
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


def _currency_code(token: str, value: object) -> str:
    folded = token.casefold()
    code = _CURRENCY_ALIASES.get(folded) or _CURRENCY_ALIASES.get(folded.rstrip("."))
    if code:
        return code
    if len(folded) == 3 and folded.isascii() and folded.upper() in _iso_currencies():
        return folded.upper()
    raise ValueError(f"unknown currency {token!r} in {_short(value)}")


def _grouped(digits: list[str]) -> bool:
    return 1 <= len(digits[0]) <= 3 and all(len(group) == 3 for group in digits[1:])


def _parse_amount(num: str, value: object) -> Decimal:
    """Decimal from digits with grouping/decimal separators, refusing what it would have to guess.

    A lone "." is the decimal point (machine format: "1.234" is 1.234). A "," is the decimal
    separator when it comes last after a different grouping separator, or when it is not
    followed by exactly three digits; "1,234" alone could be 1234 or 1.234, so it is refused.
    Groups must be 3 digits (Indian 1,23,456 is refused). Exponents only in plain numbers.
    """
    if _PLAIN_NUMBER.fullmatch(num):
        return Decimal(num)
    ambiguous = ValueError(f"ambiguous or malformed amount {num!r} in {_short(value)}")
    if "e" in num.lower():
        raise ambiguous
    separators = [ch for ch in num if not ch.isdigit()]
    last = separators[-1]
    integer, fraction = num, ""
    if last in ".,":
        single = separators.count(last) == 1
        head, _, tail = num.rpartition(last)
        if single and (len(set(separators)) > 1 or last == "." or len(tail) != 3 or head == "0"):
            integer, fraction = head, tail
        elif single:
            raise ambiguous
    grouping = set(ch for ch in integer if not ch.isdigit())
    if len(grouping) > 1:
        raise ambiguous
    if grouping and not _grouped(re.split(r"[.,' ]", integer)):
        raise ambiguous
    digits = re.sub(r"[.,' ]", "", integer)
    return Decimal(f"{digits}.{fraction}" if fraction else digits)


def money_with_currency(value: object, default_currency: str | None = None) -> tuple[Decimal, str | None] | None:
    """(amount, ISO 4217 code) from "1 234,56 ₽", "1.234,56 €", "$12.50", "RUB 100", "-5", 12.5...

    Symbols and Russian abbreviations map to codes (₽/руб/р. -> RUB, $ -> USD, € -> EUR,
    £ -> GBP, ₸ -> KZT); 3-letter codes pass through upper-cased if ISO 4217 knows them (babel's
    list), so a stray word is not mistaken for a currency. With no currency in the value,
    default_currency (upper-cased) is used. "1e3" is accepted: it is how Decimal, JSON and
    spreadsheets write numbers, and unambiguous. Negative amounts are returned (a quality rule
    rejects them with its own reason). None for empty input; ValueError for NaN/Infinity,
    booleans, ambiguous separators ("1,234"), unknown currencies, more than MAX_MONEY characters,
    or amounts needing more than 38 digits (integer plus decimal places: NUMERIC(38)).
    """
    if value is None:
        return None
    default = _currency_code(default_currency, default_currency) if default_currency else None
    if isinstance(value, bool):
        raise ValueError(f"a boolean is not an amount: {value!r}")
    amount = _number_to_decimal(value)
    currency = default
    if amount is None and isinstance(value, (float, Decimal)):
        raise ValueError(f"amount is not finite: {value!r}")
    if amount is None:
        if not isinstance(value, str):
            raise ValueError(f"not an amount: {type(value).__name__} {_short(value)}")
        text = clean_text(value)
        if text is None:
            return None
        if len(text) > MAX_MONEY:
            raise ValueError(f"not an amount (too long): {_short(value)}")
        match = _MONEY.fullmatch(text)
        if not match or (match["s1"] and match["s2"]) or (match["c1"] and match["c2"]):
            raise ValueError(f"not an amount: {_short(value)}")
        token = match["c1"] or match["c2"]
        if token:
            currency = _currency_code(token, value)
        amount = _parse_amount(match["num"], value)
        if (match["s1"] or match["s2"]) in ("-", "\u2212"):
            amount = amount.copy_negate()  # exact: unary minus would round to the context precision
    if not _amount_in_range(amount):
        raise ValueError(f"amount is not finite or beyond NUMERIC(38): {_short(value)}")
    return amount, currency


_LEGAL_FORMS = re.compile(
    r"\b(ооо|оао|зао|пао|ао|ип|нко|ooo|oao|zao|pao|ao|ip|nko|ltd|llc|inc|corp|corporation|co|company|gmbh|ag|plc|sa|sarl|bv|oy|ab|limited)\b\.?",
    re.IGNORECASE)


def company_key(value: object) -> str | None:
    """Matching key for a company name: legal form (ООО, LLC, Inc.), quotes and punctuation dropped, transliterated."""
    text = clean_text(value)
    if text is None:
        return None
    stripped = _LEGAL_FORMS.sub(" ", text.replace("«", " ").replace("»", " ").replace('"', " "))
    return translit_key(stripped) or translit_key(text)


def domain(value: object) -> str | None:
    """Host name of a URL or e-mail address, lower case, without a leading www. (IDN in Unicode form)."""
    text = clean_text(value)
    if text is None:
        return None
    if "@" in text and "://" not in text:
        host = text.rpartition("@")[2]
    else:
        host = urlsplit(text if "://" in text else f"//{text}").hostname or ""
    host = host.strip(".").lower()
    if "xn--" in host:
        with contextlib.suppress(idna.IDNAError):  # malformed punycode: the quality rule says so
            host = idna.decode(host)
    host = host.removeprefix("www.")
    if not host or " " in host:
        raise ValueError(f"{text[:60]!r} has no host name")
    return host


def integer(value: object) -> int | None:
    """A whole number from an int, an integral float or a digit string; anything else is a ValueError."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is a boolean, not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return int(value)
    text = clean_text(value) or ""
    if not re.fullmatch(r"[+-]?\d{1,18}", text):
        raise ValueError(f"{text[:40]!r} is not a whole number")
    return int(text)


_TRUE = {"1", "true", "yes", "y", "t", "on", "да"}
_FALSE = {"0", "false", "no", "n", "f", "off", "нет"}


def boolean(value: object) -> bool | None:
    """True/false from a bool or the usual words (1/0, yes/no, да/нет); anything else is a ValueError."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    key = (clean_text(value) or "").lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(f"{key[:40]!r} is not a yes/no value")
