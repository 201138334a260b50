"""How one person's data drifts between systems: spelling, script, nicknames, email and phone formats."""

from __future__ import annotations

import random

from sandbox import names
from sandbox.population import Person

HOME_REGION = {"woocommerce": "RU", "legacy_crm": "RU", "mailchimp": "RU", "quickbooks": "US"}


def typo(text: str, rng: random.Random) -> str:
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind == 1:
        return text[:i] + text[i + 1:]
    return text[:i] + text[i] + text[i:]


def _messy(text: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.04:
        return typo(text, rng)
    if roll < 0.06:
        return text.upper()
    if roll < 0.08:
        return text.lower()
    if roll < 0.10:
        return f" {text}  "
    return text


def name_for(person: Person, system: str, rng: random.Random) -> tuple[str, str]:
    """(first, last) as this system would hold them."""
    if person.country == "RU":
        cyrillic = rng.random() < {"legacy_crm": 0.9, "woocommerce": 0.4}.get(system, 0.0)
        first_cyr = person.nickname if person.nickname and rng.random() < 0.1 else person.first_cyr
        if cyrillic:
            first, last = first_cyr, person.last_cyr
        else:
            scheme = rng.choice(list(names.SCHEMES))
            extra = names.LATIN_EXTRA.get(person.first_cyr)
            first = rng.choice(extra) if extra and rng.random() < 0.3 else names.transliterate(first_cyr, scheme)
            last = names.transliterate(person.last_cyr, rng.choice(list(names.SCHEMES)))
    else:
        first = person.nickname if person.nickname and rng.random() < 0.15 else person.first
        last = person.last
    return _messy(first, rng), _messy(last, rng)


def email_for(person: Person, system: str, rng: random.Random, exclude: str | None = None) -> str:
    """One of the person's addresses, as typed into this system (case, gmail dots, +tags, spaces)."""
    options = [e for e in person.emails if e != exclude] or person.emails
    if person.work_email and system in ("quickbooks", "legacy_crm") and rng.random() < 0.7:
        address = person.work_email
    elif person.household_id and rng.random() < 0.35:
        address = person.emails[-1]
    else:
        address = rng.choice(options[:2] if person.household_id else options)
    local, domain = address.split("@")
    roll = rng.random()
    if domain == "gmail.com" and roll < 0.3:
        local = local.replace(".", "") if "." in local else local[:3] + "." + local[3:]
    elif domain == "gmail.com" and roll < 0.36 and system == "woocommerce":
        local = f"{local}+shop"
    address = f"{local}@{domain}"
    roll = rng.random()
    if roll < 0.12:
        address = address[0].upper() + address[1:]
    elif roll < 0.16:
        address = address.upper() if system != "mailchimp" else address
    elif roll < 0.19 and system != "mailchimp":
        address = f" {address} "
    return address


def format_phone(e164: str, system: str, rng: random.Random) -> str:
    """A human format; national formats only where the system's home region reads them back the same."""
    if e164.startswith("+7"):
        d = e164[2:]
        national = [f"8 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}", f"8{d}", f"8-{d[:3]}-{d[3:6]}-{d[6:8]}-{d[8:]}",
                    f"{d[:3]}-{d[3:6]}-{d[6:]}", d]
        international = [f"+7 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}", f"+7 {d[:3]} {d[3:6]} {d[6:]}", e164]
        home = "RU"
    else:
        d = e164[2:]
        national = [f"{d[:3]}-{d[3:6]}-{d[6:]}", f"({d[:3]}) {d[3:6]}-{d[6:]}", d, f"1-{d[:3]}-{d[3:6]}-{d[6:]}"]
        international = [f"+1 {d[:3]}-{d[3:6]}-{d[6:]}", e164, f"+1 ({d[:3]}) {d[3:6]}-{d[6:]}"]
        home = "US"
    if HOME_REGION[system] == home and rng.random() < 0.6:
        return rng.choice(national)
    return rng.choice(international)


def phone_for(person: Person, system: str, rng: random.Random) -> str | None:
    number = person.landline if person.landline and (not person.mobile or rng.random() < 0.3) else person.mobile
    return format_phone(number, system, rng) if number else None


BAD_EMAILS = ["n/a", "{first}.{last}@mail", "{first} {last}@mail.ru", "{first}@@gmail.com", "-"]
BAD_PHONES = ["123", "+7 (000)", "нет", "000", "call me"]


def bad_email(first: str, last: str, rng: random.Random) -> str:
    return rng.choice(BAD_EMAILS).format(first=first.lower() or "x", last=last.lower() or "y")


def bad_phone(rng: random.Random) -> str:
    return rng.choice(BAD_PHONES)


def pick_defect(rng: random.Random, allowed: tuple[str, ...]) -> str:
    """About 2% of contact records carry one defect the quality gate must catch."""
    return rng.choice(allowed) if rng.random() < 0.02 else ""


def apply_defect(defect: str, first: str | None, last: str | None, email: str | None, phone: str | None,
                 rng: random.Random) -> tuple[str | None, str | None, str | None, str | None]:
    if defect == "invalid_email":
        email = bad_email((first or "").strip(), (last or "").strip(), rng)
    elif defect == "invalid_phone":
        phone = bad_phone(rng)
    elif defect == "no_identity":
        first = last = email = phone = None
    return first, last, email, phone
