"""Over-merge guards applied to the features before anything links.

A false merge is worse than a missed one, so identifiers that cannot tell people apart are
taken out of matching: junk values on the blocklist, and *shared* identifiers, those seen on
records of more people than `max_people_per_identifier` allows (an office mailbox, a
reception phone). A family mailbox within that limit stays: it links only records whose given
names agree, and clustering never puts contradicting given names together. What was taken out, and why, is returned for the run's report.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from include.identity.features import first_names

# Identifier columns and the value space each belongs to: phone and phone_alt are one space (a
# landline may be one record's phone and another's second number).
IDENTIFIER_SPACES = {"email_key": "email_key", "phone": "phone", "phone_alt": "phone", "national_id": "national_id"}
NAME_SIMILARITY = 0.88  # Jaro-Winkler above which two given names are taken as one (typos)


@functools.lru_cache(maxsize=1 << 18)
def names_agree(a: str | None, b: str | None) -> bool:
    """Two given-name keys that may belong to one person (a missing name contradicts nothing).

    Equal, one a nickname of the other (Bill, William; Саша, Aleksandr), or one typo apart from
    the other or from one of its nicknames (Stve, Steven). Two different nicknames of a third
    name do not agree: the nickname tables are broad (Ana would reach Anastasia's Nastia).
    """
    if not a or not b or a == b:
        return True
    group_a, group_b = first_names(a) or [a], first_names(b) or [b]
    if a in group_b or b in group_a:
        return True
    return any(_typo_apart(a, y) for y in group_b) or any(_typo_apart(x, b) for x in group_a)


def people_agree(a: tuple[str | None, str | None], b: tuple[str | None, str | None]) -> bool:
    """Given names agree, or the records hold the same two names in swapped fields."""
    if names_agree(a[0], b[0]):
        return True
    return bool(a[1] and b[1]) and names_agree(a[0], b[1]) and names_agree(a[1], b[0])


def _typo_apart(x: str, y: str) -> bool:
    if jellyfish.jaro_winkler_similarity(x, y) >= NAME_SIMILARITY:
        return True
    return min(len(x), len(y)) >= 4 and jellyfish.damerau_levenshtein_distance(x, y) <= 1


def distinct_people(names: list[str | None]) -> int:
    """How many different people a set of given names stands for (greedy grouping)."""
    representatives: list[str] = []
    for key in names:
        if key and not any(names_agree(key, rep) for rep in representatives):
            representatives.append(key)
    return len(representatives)


def repeated_values(columns: list[pd.Series]) -> set[Any]:
    """Values occurring more than once across the columns (one value space)."""
    values = pd.concat([c.dropna() for c in columns], ignore_index=True) if columns else pd.Series([], dtype=object)
    return set(values[values.duplicated()].tolist())


def held(column: pd.Series, values: set[Any]) -> list[tuple[int, Any]]:
    """(position, value) of the rows holding one of `values`, in position order: a Python loop over
    the few rows that can link instead of over every record."""
    if not values:
        return []
    mask = column.isin(values).to_numpy()
    return list(zip(mask.nonzero()[0].tolist(), column[mask].tolist(), strict=True))


def on_blocklist(column: pd.Series, junk: set[str]) -> np.ndarray:
    """Which rows hold a value whose lower case is `junk`: lowered and looked up by Arrow in C (a
    str.lower per distinct e-mail and phone, after finding them, cost 2 s of an incremental run at
    a million records). A column that is not all text is lowered value by value."""
    try:
        lowered = pc.utf8_lower(pa.array(column.to_numpy(dtype=object), type=pa.string(), from_pandas=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return column.map(lambda v: v is not None and v == v and str(v).lower() in junk).to_numpy(dtype=bool)
    hit = pc.is_in(lowered, value_set=pa.array(sorted(junk), type=pa.string()))
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False)


def apply(features: pd.DataFrame, guards: dict[str, Any]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Features with blocked and shared identifiers nulled, and one report row per value taken out."""
    features = features.copy()
    report: list[dict[str, Any]] = []
    for column, values in (guards.get("blocklist") or {}).items():
        if column not in features:
            continue
        hit = on_blocklist(features[column], {str(v).lower() for v in values})
        for value, count in features.loc[hit, column].value_counts().items():
            report.append({"column": column, "value": value, "records": int(count), "reason": "blocklist"})
        features.loc[hit, column] = None
    limits = guards.get("max_people_per_identifier", 2)
    limits = limits if isinstance(limits, dict) else {"default": limits}
    columns = [c for c in IDENTIFIER_SPACES if c in features]
    first_key = features["first_key"].tolist()
    shared: dict[str, set[str]] = defaultdict(set)
    for space in dict.fromkeys(IDENTIFIER_SPACES[c] for c in columns):  # in column order, as reported
        in_space = [features[c] for c in columns if IDENTIFIER_SPACES[c] == space]
        limit = int(limits.get(space, limits.get("default", 2)))
        # only a value on more records than the limit can be on more people than it: the holders
        # of those few are collected (not of every repeated value: 1M appends at a million records)
        counts = pd.concat([c.dropna() for c in in_space], ignore_index=True).value_counts()
        crowded = set(counts.index[(counts > max(limit, 1)).to_numpy()].tolist())
        holders: dict[Any, list[int]] = defaultdict(list)
        for column in in_space:
            for pos, value in held(column, crowded):
                holders[value].append(pos)
        for value, positions in holders.items():
            names = [first_key[p] for p in positions]
            if len(set(names) - {None, ""}) <= limit:  # no more given names than the limit: no more people
                continue
            people = distinct_people(names)
            if people > limit:
                shared[space].add(value)
                report.append({"column": space, "value": value, "records": len(positions),
                               "reason": f"shared by {people} people"})
    for column, space in IDENTIFIER_SPACES.items():
        if column in features and shared[space]:
            features.loc[features[column].isin(shared[space]), column] = None
    if "email_key" in features:  # the local part of a nulled address is no evidence either
        features.loc[features["email_key"].isna(), "email_local"] = None
    return features, report
