"""Normalisers for identifiers and names, built on the field's libraries (phonenumbers, email-validator).

A normaliser returns the canonical value when it can; when it cannot, it returns the input
trimmed, so the quality gate sees the offending value and quarantines the row with a reason.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import phonenumbers
from email_validator import EmailNotValidError, validate_email

_SPACES = re.compile(r"\s+")
GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}


def clean_text(value: object) -> str | None:
    """Trim, collapse inner whitespace and NFC-normalise; empty becomes None."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", _SPACES.sub(" ", str(value))).strip()
    return text or None


def name_case(value: object) -> str | None:
    """Fix names typed in ALL CAPS or all lower case; mixed case (McDonald, van Dijk) is left alone."""
    text = clean_text(value)
    if text is None:
        return None
    return text.title() if text.isupper() or text.islower() else text


def email(value: object) -> str | None:
    """Validated, lower-cased address (IDN domains in Unicode form); invalid input is returned trimmed."""
    text = clean_text(value)
    if text is None:
        return None
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return text
    return result.normalized.lower()


def email_match_key(address: str | None) -> str | None:
    """Matching key only (never stored as the address): gmail ignores dots and +tags."""
    if not address or "@" not in address:
        return None
    local, _, domain = address.lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def phone(value: object, default_region: str | None) -> str | None:
    """E.164 when the number is valid for its region, else the trimmed input for the quality gate."""
    text = clean_text(value)
    if text is None:
        return None
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_valid_number(parsed):
        return text
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def utc_datetime(value: object, assume_tz: str = "UTC") -> datetime | None:
    """Parse ISO 8601 (with or without offset) to an aware UTC datetime; naive values get assume_tz."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        if " " in text and "T" not in text:
            text = text.replace(" ", "T", 1)
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        from zoneinfo import ZoneInfo

        parsed = parsed.replace(tzinfo=ZoneInfo(assume_tz))
    return parsed.astimezone(UTC)


def money(value: object) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None
