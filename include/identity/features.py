"""Match features: the comparison columns Splink and the rules see, from canonical person fields.

One function serves the pipeline (person records) and `seam resolve` (any CSV mapped onto the
canonical fields), so both match with the same keys. Keys are computed once per distinct value
(names, cities and streets repeat a lot), which keeps a million records in seconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

import numpy as np
import pandas as pd

from include import normalise
from include.config import load_yaml

# Canonical fields a record may bring to matching (the CSV resolver accepts exactly these).
INPUT_FIELDS = ("first_name", "middle_name", "last_name", "full_name", "email", "phone", "phone_alt",
                "date_of_birth", "house_number", "street", "address_line_2", "city", "postcode", "region",
                "country", "company", "national_id")
# The feature columns, in the order Splink sees them.
FEATURES = ("first_key", "first_names", "last_key", "email_key", "email_local", "phone", "phone_alt",
            "dob", "house_number", "street_key", "city_key", "postcode", "country", "company_key",
            "national_id")

_FEMININE = re.compile(r"(ov|ev|in|yn|sk|tsk)(a|aia|aya)$")
_DIGITS = re.compile(r"[^0-9]+")
_HOUSE = re.compile(r"\b([0-9]+[a-zа-я]?)\b", re.IGNORECASE)


@cache
def nickname_groups() -> dict[str, frozenset[str]]:
    """Name key -> keys of the given names it stands for (itself included)."""
    from nicknames import NickNamer

    groups: dict[str, set[str]] = {}

    def join(name: str, other: str) -> None:
        a, b = normalise.translit_key(name), normalise.translit_key(other)
        if a and b:
            groups.setdefault(a, {a}).add(b)
            groups.setdefault(b, {b}).add(a)

    for canonical, forms in (load_yaml("nicknames.yaml").get("names") or {}).items():
        for form in forms:  # a curated line is one name: all its forms are each other's
            join(canonical, form)
            for other in forms:
                join(form, other)
    namer = NickNamer()
    for canonical, forms in namer.nickname_lookup.items():
        for form in forms:
            join(canonical, form)
    return {k: frozenset(v) for k, v in groups.items()}


def first_names(key: str | None) -> list[str] | None:
    """The key plus the canonical names it may be short for: Bill -> [bill, william, …]."""
    if not key:
        return None
    return sorted(nickname_groups().get(key, {key}))


def surname_key(value: object) -> str | None:
    """Transliteration key with the Slavic feminine ending folded: Ivanova and Иванов share one."""
    key = normalise.translit_key(value)
    if key is None:
        return None
    return _FEMININE.sub(r"\1", key) if len(key) > 5 else key


def house_number(street: object) -> str | None:
    match = _HOUSE.search(str(street)) if street else None
    return match.group(1).lower() if match else None


def street_key(street: object) -> str | None:
    """Letters of the street line without the house and flat numbers (translit key)."""
    return normalise.translit_key(_HOUSE.sub(" ", str(street))) if street else None


def _by_value(series: pd.Series, fn: Callable[[object], object]) -> pd.Series:
    """Apply fn once per distinct value; missing stays None (an object column, whatever fn returns).
    Indexing the results by the values' codes halved build (Series.map sent each column through
    pandas' string dtype and back)."""
    codes, values = pd.factorize(series)  # a missing value gets code -1: the None left last
    results = np.empty(len(values) + 1, dtype=object)
    results[:-1] = np.fromiter(map(fn, values), dtype=object, count=len(values))  # lists stay lists
    return pd.Series(results[codes], index=series.index, dtype=object)


def _digits(value: object) -> str | None:
    digits = _DIGITS.sub("", str(value))
    return digits or None


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _phone_digits(value: object) -> str | None:
    """E.164 digits when the number parses (+7 495 …), else its bare digits. Staged phones are E.164
    already and skip the parser, which costs more than everything else here together."""
    text = str(value)
    if _E164.fullmatch(text):
        return text[1:]
    return _digits(normalise.phone(value, None) or value)


def build(records: pd.DataFrame, id_column: str = "unique_id") -> pd.DataFrame:
    """Feature frame (unique_id + FEATURES) from a frame holding any of INPUT_FIELDS."""
    get = lambda name: records[name] if name in records else pd.Series([None] * len(records), index=records.index)  # noqa: E731
    first, last = get("first_name"), get("last_name")
    if "full_name" in records:  # a full name fills what first/last leave empty
        split = _by_value(get("full_name"), normalise.split_full_name)
        first = first.where(first.notna(), split.map(lambda s: s[0] if s else None))
        last = last.where(last.notna(), split.map(lambda s: s[2] if s else None))
    out = pd.DataFrame({"unique_id": records[id_column].astype(str)})
    out["first_key"] = _by_value(first, normalise.translit_key)
    out["first_names"] = _by_value(out["first_key"], first_names)
    out["last_key"] = _by_value(last, surname_key)
    email_key = _by_value(get("email"), lambda v: normalise.email_match_key(normalise.email(v)))
    out["email_key"] = email_key
    out["email_local"] = _by_value(email_key, lambda k: k.split("@", 1)[0])
    out["phone"] = _by_value(get("phone"), _phone_digits)
    out["phone_alt"] = _by_value(get("phone_alt"), _phone_digits)
    out["dob"] = _by_value(get("date_of_birth"), lambda v: str(v)[:10].replace("-", ""))
    street = get("street")
    house = get("house_number")
    out["house_number"] = _by_value(house, lambda v: str(v).strip().lower() or None).where(
        house.notna(), _by_value(street, house_number))
    out["street_key"] = _by_value(street, street_key)
    out["city_key"] = _by_value(get("city"), normalise.translit_key)
    out["postcode"] = _by_value(get("postcode"), lambda v: str(v).replace(" ", "").upper() or None)
    out["country"] = _by_value(get("country"), lambda v: str(v).strip().upper()[:2] or None)
    out["company_key"] = _by_value(get("company"), normalise.company_key)
    out["national_id"] = _by_value(get("national_id"), lambda v: re.sub(r"[\s-]+", "", str(v)).upper() or None)
    return out


def present(features: pd.DataFrame) -> set[str]:
    """Feature columns that hold at least one value (comparisons over empty columns are dropped)."""
    return {c for c in FEATURES if features[c].notna().any()}
