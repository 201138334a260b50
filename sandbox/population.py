"""A seeded population of people, households and companies (before it is spread over systems)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import phonenumbers

from sandbox import names

ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
HISTORY = timedelta(days=3 * 365)
RU_DOMAINS = ["mail.ru", "yandex.ru", "gmail.com", "bk.ru", "list.ru", "inbox.ru"]
EN_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "hotmail.com"]


@dataclass
class Company:
    company_id: str
    name: str
    domain: str
    country: str


@dataclass
class Person:
    person_id: str
    country: str  # RU or US
    female: bool
    first_cyr: str | None  # Cyrillic first name (RU people)
    first: str  # canonical Latin/English first name
    nickname: str | None
    last_cyr: str | None
    last: str
    emails: list[str]
    mobile: str | None  # E.164
    landline: str | None
    city: str
    street: str
    postcode: str
    region: str
    household_id: str = ""
    company: Company | None = None
    work_email: str | None = None
    systems: list[str] = field(default_factory=list)
    since: datetime = ANCHOR


def _valid(number: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse(number))


def ru_mobile(rng: random.Random) -> str:
    while True:
        number = f"+79{rng.randint(10, 99)}{rng.randint(1000000, 9999999)}"
        if _valid(number):
            return number


def us_phone(rng: random.Random) -> str:
    while True:
        area = rng.choice([212, 415, 512, 617, 206, 303, 312, 305, 503, 646, 718, 917])
        number = f"+1{area}{rng.randint(2, 9)}{rng.randint(10, 99)}{rng.randint(1000, 9999)}"
        if _valid(number):
            return number


def _handle(first: str, last: str, rng: random.Random) -> str:
    first, last = first.lower(), last.lower()
    style = rng.randrange(6)
    year = rng.randint(60, 99) if rng.random() < 0.5 else rng.randint(1970, 2003)
    return [f"{first}.{last}", f"{first}{last}", f"{first[0]}{last}", f"{last}.{first}",
            f"{first}.{last}{year}", f"{first}_{last}"][style]


def mailbox(address: str) -> str:
    """The mailbox an address reaches: Gmail ignores dots, so two people cannot differ only by dots there."""
    local, _, domain = address.lower().partition("@")
    return f"{local.replace('.', '')}@{domain}" if domain == "gmail.com" else address.lower()


def make_company(index: int, country: str, rng: random.Random) -> Company:
    if country == "RU":
        word = rng.choice(names.COMPANY_WORDS_RU)
        name = f'ООО "{word}-{rng.choice(["Сервис", "Групп", "Трейд", "Про"])}"'
        domain = names.transliterate(word, "bgn").lower() + rng.choice(["-service", "group", "trade"]) + ".ru"
    else:
        word = rng.choice(names.COMPANY_WORDS_EN)
        name = f"{word} {rng.choice(['Labs', 'Supply', 'Partners', 'Systems'])} {rng.choice(['Inc.', 'LLC'])}"
        domain = word.lower() + rng.choice(["labs", "supply", "partners"]) + ".com"
    return Company(f"CO{index:06d}", name, f"{domain}", country)


def make_people(count: int, rng: random.Random) -> list[Person]:
    people: list[Person] = []
    companies: list[Company] = []
    used_emails: set[str] = set()
    for n in range(count):
        country = "RU" if rng.random() < 0.55 else "US"
        female = rng.random() < 0.5
        if country == "RU":
            first_cyr, dim = rng.choice(names.RU_FEMALE if female else names.RU_MALE)
            last_cyr = rng.choice(names.RU_SURNAMES)
            last_cyr = names.feminine(last_cyr) if female else last_cyr
            first, last = names.transliterate(first_cyr, "bgn"), names.transliterate(last_cyr, "bgn")
            nickname = dim
            city, city_en = rng.choice(names.RU_CITIES)
            street = f"{rng.choice(names.RU_STREETS)}, д. {rng.randint(1, 120)}, кв. {rng.randint(1, 300)}"
            postcode, region = f"{rng.randint(101000, 692999)}", ""
            mobile = ru_mobile(rng) if rng.random() < 0.9 else None
            domains = RU_DOMAINS
        else:
            first, nickname = rng.choice(names.EN_FEMALE if female else names.EN_MALE)
            first_cyr = last_cyr = None
            last = rng.choice(names.EN_SURNAMES)
            city, region, postcode = rng.choice(names.US_CITIES)
            street = f"{rng.randint(1, 9999)} {rng.choice(names.US_STREETS)}"
            mobile = us_phone(rng) if rng.random() < 0.85 else None
            domains = EN_DOMAINS
        emails = []
        for _ in range(1 if rng.random() < 0.7 else 2):
            address = f"{_handle(first, last, rng)}@{rng.choice(domains)}"
            while mailbox(address) in used_emails:
                address = f"{_handle(first, last, rng)}{rng.randint(1, 999)}@{rng.choice(domains)}"
            used_emails.add(mailbox(address))
            emails.append(address)
        person = Person(f"P{n + 1:07d}", country, female, first_cyr, first, nickname, last_cyr, last, emails,
                        mobile, None, city, street, postcode, region)
        person.since = ANCHOR - timedelta(seconds=rng.randint(0, int(HISTORY.total_seconds())))
        if rng.random() < 0.15:
            if companies and rng.random() < 0.4:
                company = rng.choice([c for c in companies[-50:] if c.country == country] or companies[-1:])
            else:
                company = make_company(len(companies) + 1, country, rng)
                companies.append(company)
            person.company = company
            work = f"{first.lower()[0]}.{last.lower()}@{company.domain}"
            if mailbox(work) not in used_emails:
                used_emails.add(mailbox(work))
                person.work_email = work
        people.append(person)
    _households(people, rng, used_emails)
    return people


def _households(people: list[Person], rng: random.Random, used: set[str]) -> None:
    """About 6% of people live in pairs: shared surname, address, a family email and a landline."""
    candidates = [i for i in range(0, len(people) - 1, 2) if people[i].country == people[i + 1].country]
    rng.shuffle(candidates)
    for h, i in enumerate(sorted(candidates[: int(len(people) * 0.03)])):
        a, b = people[i], people[i + 1]
        b.city, b.street, b.postcode, b.region = a.city, a.street, a.postcode, a.region
        if a.country == "RU":
            base = a.last_cyr[:-1] if a.female and a.last_cyr.endswith("а") else a.last_cyr
            b.last_cyr = names.feminine(base) if b.female else base
            b.last = names.transliterate(b.last_cyr, "bgn")
            family = f"{names.transliterate(base, 'bgn').lower()}y.family@{rng.choice(['mail.ru', 'yandex.ru'])}"
            landline = f"+7495{rng.randint(1000000, 9999999)}"
        else:
            b.last = a.last
            family = f"the.{a.last.lower()}s{rng.randint(1, 99)}@gmail.com"
            landline = us_phone(rng)
        if mailbox(family) in used:
            continue
        used.add(mailbox(family))
        for member in (a, b):
            member.household_id = f"H{h + 1:06d}"
            member.landline = landline
            member.emails.append(family)
