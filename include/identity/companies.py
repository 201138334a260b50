"""Companies, resolved apart from people: tax id, website domain, legal-name key.

Company records join when they share a valid tax id, a (non-free-mail) website domain, or a
legal-name key within one country. A tax id is the one piece of evidence that two records are
*different* legal entities, so the union is constrained: a merge that would put two different
valid tax ids in one company is refused (and counted), whatever the names or domains say.
People then attach to companies (account id, company name, work e-mail domain); a company that
only people name (a shop's billing company) becomes a company of its own. Ids stay stable the
way customer ids do (include/identity/ids.py): each previous id goes to the new company holding
most of its records, and a company that inherits none gets "K" + a hash of its smallest record key.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from include import normalise
from include.identity import ids
from include.identity.ids import record_key
from include.warehouse import fetch_dicts, replace_rows
from include.warehouse.schema import companies, company_records, company_sources, person_records

# Domains anyone can get an address at: sharing one says nothing about a shared employer.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "rocketmail.com", "outlook.com", "hotmail.com",
    "live.com", "msn.com", "icloud.com", "me.com", "mac.com", "aol.com", "protonmail.com", "proton.me",
    "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "zoho.com", "yandex.com", "fastmail.com",
    "mail.ru", "bk.ru", "list.ru", "inbox.ru", "internet.ru", "yandex.ru", "ya.ru", "yandex.by", "yandex.kz",
    "yandex.ua", "rambler.ru", "lenta.ru", "autorambler.ru", "ro.ru", "qip.ru", "ngs.ru", "ukr.net", "i.ua",
    "tut.by", "mail.kz",
})
NAMED_BY_PERSON = "named by person record"
_INN_10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_SEPARATORS = re.compile(r"[\s\-.]+")

Key = tuple[str, str, str]  # (source, stream, record_id)


@dataclass
class CompanyResolution:
    """Rows for `companies` and `company_sources`, each person record's company, and what happened."""

    company_rows: list[dict[str, Any]] = field(default_factory=list)
    source_rows: list[dict[str, Any]] = field(default_factory=list)
    company_of_person: dict[Key, str] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)


def valid_inn(value: str) -> bool:
    """A Russian INN: 10 digits (organisation) or 12 (individual) whose check digits agree."""
    if not re.fullmatch(r"[0-9]{10}|[0-9]{12}", value) or set(value) == {"0"}:
        return False
    d = [int(c) for c in value]

    def check(weights: tuple[int, ...]) -> int:
        return sum(w * x for w, x in zip(weights, d, strict=False)) % 11 % 10

    if len(d) == 10:
        return check(_INN_10) == d[9]
    return check(_INN_11) == d[10] and check(_INN_12) == d[11]


def tax_key(value: object, country: str | None) -> str | None:
    """Comparable tax id: "INN:<digits>" for a valid INN, else "<country>:<compact id>"; None when unusable.

    An INN is only recognised in Russia or where the country is unknown (elsewhere a 10-digit id
    passes the checksum one time in ten by chance); in Russia anything else is not a tax id at all.
    """
    text = normalise.clean_text(value)
    if text is None:
        return None
    compact = _SEPARATORS.sub("", text).upper()
    for prefix in ("ИНН", "INN"):
        compact = compact.removeprefix(prefix).lstrip(":№#")
    inn = compact.split("/")[0]  # "INN/KPP" as Russian documents write it
    if country in (None, "RU") and re.fullmatch(r"[0-9]+", inn) and len(inn) in (10, 12):
        return f"INN:{inn}" if valid_inn(inn) else None
    if country == "RU" or not compact.isalnum() or len(compact) < 5 or set(compact) == {"0"}:
        return None
    return f"{country or '?'}:{compact}"


@functools.lru_cache(maxsize=1 << 16)
def _mentioned_key(value: object) -> str | None:
    """normalise.company_key once per distinct company name people give: they repeat few (at 1M
    person records, 50,683 mentions of 1,856 names; resolve_companies 2.9 -> 2.1 s)."""
    return normalise.company_key(value)


@functools.lru_cache(maxsize=1 << 16)
def _domain(value: object) -> str | None:
    """Host of a website or e-mail address, or None when there is none or anyone can have it."""
    with contextlib.suppress(ValueError):
        host = normalise.domain(value)
        if host and host not in FREE_MAIL_DOMAINS and "." in host:
            return host
    return None


class _Union:
    """Union-find whose components carry at most one tax key: a union joining two different ones is
    refused. Only a shared tax key joins companies with different websites: two "ООО Альфа" with
    their own domains are two companies, however alike their names."""

    def __init__(self, taxes: list[str | None], domains: list[str | None]) -> None:
        self.parent = list(range(len(taxes)))
        self.tax = list(taxes)
        self.domains = [{d} if d else set() for d in domains]
        self.why: dict[int, str] = {}
        self.refused = 0
        self.kind = ""  # the evidence of the group being joined

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def compatible(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        ta, tb = self.tax[ra], self.tax[rb]
        if ta is not None and tb is not None and ta != tb:
            return False
        da, db = self.domains[ra], self.domains[rb]
        return self.kind == "tax id" or not da or not db or bool(da & db)

    def join(self, a: int, b: int, why: str, keys: list[str]) -> None:
        ra, rb = self.find(a), self.find(b)
        lo, hi = min(ra, rb), max(ra, rb)
        self.parent[hi] = lo
        self.tax[lo] = self.tax[lo] or self.tax[hi]
        self.domains[lo] |= self.domains[hi]
        self.why.setdefault(a, f"{why} with {keys[b]}"[:200])
        self.why.setdefault(b, f"{why} with {keys[a]}"[:200])

    def join_group(self, members: list[int], why: str, keys: list[str]) -> None:
        """Join each member to the first component of the group it may join; joining none is a refusal."""
        reps: list[int] = []  # one member per component of this group met so far
        for i in members:
            if self.find(i) in {self.find(r) for r in reps}:
                continue
            target = next((r for r in reps if self.compatible(i, r)), None)
            if target is not None:
                self.join(i, target, why, keys)
                continue
            if reps:
                self.refused += 1
            reps.append(i)


def resolve_companies(conn: sa.Connection, run_id: str, now: datetime,
                      people: list[dict[str, Any]] | None = None) -> CompanyResolution:
    """Resolve company records and person mentions into companies (nothing is written: see `write`).
    `people`: the person records in record-key order, when the caller has read them already."""
    recs = sorted(fetch_dicts(conn, sa.select(company_records)), key=record_key)
    if people is None:
        p = person_records.c
        people = sorted(fetch_dicts(conn, sa.select(p.source, p.stream, p.record_id, p.company, p.company_record_id,
                                                    p.email, p.country)), key=record_key)
    previous = {f"{s}|{st}|{rid}": cid for s, st, rid, cid in conn.execute(sa.select(
        company_sources.c.source, company_sources.c.stream, company_sources.c.record_id,
        company_sources.c.company_id))}

    keys = [record_key(r) for r in recs]
    taxes = [tax_key(r["tax_id"], r["country"]) for r in recs]
    union = _Union(taxes, [_domain(r["domain"]) for r in recs])
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(recs):
        if taxes[i]:
            groups[("tax id", taxes[i])].append(i)
        if host := _domain(r["domain"]):
            groups[("domain", host)].append(i)
        if name_key := r["name_key"] or normalise.company_key(r["name"]):
            groups[("name key", f"{name_key} in {r['country'] or 'unknown country'}")].append(i)
    for kind in ("tax id", "domain", "name key"):  # strongest evidence first, so it wins a conflict
        for (k, value), members in sorted(groups.items()):
            if k == kind and len(members) > 1:
                union.kind = kind
                union.join_group(members, f"{kind} {value}", keys)

    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(recs)):
        members[union.find(i)].append(i)

    # Where a person can be attached: account ids, name keys (with the record's country), domains.
    by_account: dict[tuple[str, str], int] = {}
    by_name: dict[str, set[tuple[int, str | None]]] = defaultdict(set)
    by_domain: dict[str, set[int]] = defaultdict(set)
    for i, r in enumerate(recs):
        root = union.find(i)
        if (r["source"], r["record_id"]) not in by_account or r["stream"] == "accounts":
            by_account[(r["source"], r["record_id"])] = root
        if name_key := r["name_key"] or normalise.company_key(r["name"]):
            by_name[name_key].add((root, r["country"]))
        if host := _domain(r["domain"]):
            by_domain[host].add(root)

    linked: dict[Key, int | tuple[str, str | None]] = {}  # a company root, or a person-named company's key
    how: Counter[str] = Counter()
    mentions: dict[tuple[str, str | None], list[dict[str, Any]]] = defaultdict(list)
    ambiguous = 0
    for p in people:
        if not (p["company"] or p["company_record_id"] or by_domain):
            continue  # most people: nothing that could attach them
        pkey = (p["source"], p["stream"], p["record_id"])
        name_key = _mentioned_key(p["company"])
        root, kind, unclear = None, "account", False
        if p["company_record_id"]:
            root = by_account.get((p["source"], p["company_record_id"]))
        if root is None and name_key:
            roots = _by_name(by_name.get(name_key, set()), p["country"])
            root, kind, unclear = (roots.pop(), "name", False) if len(roots) == 1 else (None, "name", bool(roots))
            ambiguous += unclear
        if root is None and by_domain:
            root, kind = _by_domain(by_domain, p["email"]), "email domain"
        if root is not None:
            linked[pkey] = root
        elif name_key and not unclear:
            mentions[(name_key, p["country"])].append(p)
            kind = NAMED_BY_PERSON
        else:
            continue
        how[kind] += 1

    # A mention without a country joins its name's only country; among several it is unclear (as above).
    countries: dict[str, list[str | None]] = defaultdict(list)
    for name_key, country in mentions:
        countries[name_key].append(country)
    for name_key, found in countries.items():
        known = [c for c in found if c is not None]
        if None in found and known:
            unplaced = mentions.pop((name_key, None))
            if len(known) == 1:
                mentions[(name_key, known[0])].extend(unplaced)
            else:
                ambiguous += len(unplaced)
                how[NAMED_BY_PERSON] -= len(unplaced)
    for group, mentioned in mentions.items():
        for p in mentioned:
            linked[(p["source"], p["stream"], p["record_id"])] = group

    people_of: dict[int | tuple[str, str | None], list[Key]] = defaultdict(list)
    for pkey, company in linked.items():
        people_of[company].append(pkey)

    # Every company, record-backed or person-named: its company_sources rows and whom it holds.
    entries: list[dict[str, Any]] = []
    for root, idx in members.items():
        entries.append({"handle": root, "records": [recs[i] for i in idx],
                        "rows": [(keys[i], recs[i], union.why.get(i, "single record")) for i in idx]})
    for group, mentioned in sorted(mentions.items(), key=lambda g: (g[0][0], g[0][1] or "")):
        entries.append({"handle": group, "records": [], "mentions": mentioned,
                        "rows": [(record_key(p), p, NAMED_BY_PERSON) for p in mentioned]})
    for e in entries:
        e["people"] = people_of.get(e["handle"], [])
    company_ids = assign_ids(entries, previous)

    result = CompanyResolution()
    for e, company_id in zip(entries, company_ids, strict=True):
        result.source_rows.extend({"source": r["source"], "stream": r["stream"], "record_id": r["record_id"],
                                   "company_id": company_id, "matched_by": why, "run_id": run_id}
                                  for _k, r, why in e["rows"])
        for pkey in e["people"]:
            result.company_of_person[pkey] = company_id
        result.company_rows.append({"company_id": company_id, **_golden(e), "people": len(e["people"]),
                                    "record_count": len(e["rows"]),
                                    "sources": ",".join(sorted({r["source"] for _k, r, _w in e["rows"]}
                                                               | {k[0] for k in e["people"]}))[:200],
                                    "updated_at": now, "run_id": run_id})
    result.company_rows.sort(key=lambda c: c["company_id"])
    result.stats = {
        "companies": len(result.company_rows), "company_records": len(recs),
        "people_linked": len(result.company_of_person), "merged_records": len(recs) - len(members),
        "conflicts_refused": union.refused, "named_by_people": len(mentions), "person_links": {k: v for k, v in how.items() if v},
        "ambiguous_mentions": ambiguous,
        "invalid_tax_ids": sum(1 for r, t in zip(recs, taxes, strict=True) if r["tax_id"] and not t),
        "ids_kept": len(set(company_ids) & set(previous.values())),
    }
    return result


def _by_name(candidates: set[tuple[int, str | None]], country: str | None) -> set[int]:
    """Companies with this name key in the person's country (any country, when the person's is unknown)."""
    if country is None:
        return {root for root, _c in candidates}
    return {root for root, c in candidates if c == country} or {root for root, c in candidates if c is None}


def _by_domain(by_domain: dict[str, set[int]], email: str | None) -> int | None:
    host = _domain("@" + email.rpartition("@")[2]) if email and "@" in email else None  # cached per host
    roots = by_domain.get(host or "", set())
    return next(iter(roots)) if len(roots) == 1 else None


def _golden(e: dict[str, Any]) -> dict[str, Any]:
    """Name from the most recently updated record (else the most frequent mention); the rest first non-empty."""
    recs = e["records"]
    if not recs:
        names = Counter(normalise.clean_text(p["company"]) for p in e["mentions"])
        name = min(names, key=lambda n: (-names[n], n))
        country = Counter(p["country"] for p in e["mentions"] if p["country"]).most_common(1)
        return {"name": name[:300], "name_key": normalise.company_key(name), "tax_id": None, "domain": None,
                "industry": None, "country": country[0][0] if country else None}
    dated = sorted((r for r in recs if r["source_updated_at"]), key=lambda r: r["source_updated_at"], reverse=True)
    ordered = dated + [r for r in recs if not r["source_updated_at"]]

    def first(values: Iterable[Any]) -> Any:
        return next((v for v in values if v), None)

    name = ordered[0]["name"]
    tax = first(tax_key(r["tax_id"], r["country"]) for r in ordered)
    return {"name": name, "name_key": ordered[0]["name_key"] or normalise.company_key(name),
            "tax_id": tax.split(":", 1)[1][:40] if tax else None, "domain": first(_domain(r["domain"]) for r in ordered),
            "industry": first(r["industry"] for r in ordered), "country": first(r["country"] for r in ordered)}


def new_company_id(record_key: str) -> str:
    return "K" + hashlib.sha1(record_key.encode()).hexdigest()[:12].upper()


def assign_ids(entries: list[dict[str, Any]], previous: dict[str, str]) -> list[str]:
    """Company ids by the customer-id rule (ids.assign): each previous id to the company holding most
    of its records, ties to the company with the smaller record key; the rest new.

    A company "holds" its own rows and the people linked to it, so a company first named only by
    people keeps its id when an account record for it arrives. A new id comes from its smallest row.
    """
    seeds = {n: min(k for k, _r, _w in e["rows"]) for n, e in enumerate(entries)}
    members = {n: list(dict.fromkeys([k for k, _r, _w in entries[n]["rows"]] + ["|".join(p) for p in entries[n]["people"]]))
               for n in sorted(seeds, key=seeds.get)}
    assigned, _history = ids.assign(members, previous, new_company_id, seeds)
    return [assigned[n] for n in range(len(entries))]


def write(conn: sa.Connection, resolution: CompanyResolution) -> None:
    """Replace `companies` and `company_sources` in the caller's transaction."""
    replace_rows(conn, companies, resolution.company_rows)
    replace_rows(conn, company_sources, resolution.source_rows)
