"""`python -m bench identity`: speed and peak memory of identity resolution against plain Splink.

Seeding (not measured): N person records are generated deterministically (about N/1.6 people with
1-3 records each in different sources: woocommerce/customers, mailchimp/members, legacy_crm/contacts,
quickbooks/customers) and inserted into `person_records` of a fresh warehouse (migrated): a SQLite
file in the work directory, or with --postgres ADMIN_URL a new database `seam_bench_identity_<N>` on
that PostgreSQL server (dropped at the end),
with `name_key` and `email_match_key` derived as staging derives them. Names come from a few hundred
given names x a few thousand surnames, so namesakes are common; records carry typos, case changes,
a few Cyrillic spellings, second e-mail addresses, gmail dot / +tag variants, E.164 phones (~70% of
people), addresses (~60%), households sharing a landline and an address (and a few a mailbox), some
dates of birth and company names. Every record's person id is kept as ground truth; pairwise
precision/recall of the resulting clusters is reported as a sanity check (computed after timing).
With --orders-per-record M (default 0, as in the figures before 2026-12-01's fourth session), each
record also gets about M orders in `order_records` (contact orders: the pipeline joins each to its
record's customer), drawn from a generator of their own so the person records stay the same.

Measurements, each in a fresh child process (peak RSS = VmHWM of the child; ru_maxrss would carry
the parent's peak across exec), after the imports:

  seam         include.identity.resolve.resolve(engine, "bench-1"): the whole stage (read the warehouse,
               features, guards, rules, training, scoring, constrained clustering, ids, golden records,
               companies, one write transaction). The public functions it calls are wrapped with timers
               (without editing include/) for the time split.
  plain        what a user of Splink alone would do with the same settings: read person_records with
               pandas, include.identity.features.build, model.train (the same training), then Splink's
               predict at the same threshold and linker.clustering.cluster_pairwise_predictions_at_threshold,
               clusters to pandas. No guards, rules, golden records or writes.
  incremental  after `seam`, 0.5% of the records get a new phone, e-mail or a name typo and 0.5% new
               records are added (with orders: 0.5% of the orders change status, and the new records get
               their orders); resolve(engine, "bench-2") with the saved model (stats["mode"] must be
               "incremental").

Usage: python -m bench identity [--records 100000,1000000] [--seed 7] [--orders-per-record 0] [--budget 3600]
                                [--work-dir DIR] [--postgres ADMIN_URL] [--out bench/results/identity.json]
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.staging import peak_rss_mb
from include.warehouse import get_engine

SOURCES = (("woocommerce", "customers"), ("mailchimp", "members"), ("legacy_crm", "contacts"),
           ("quickbooks", "customers"))
RECORDS_PER_PERSON = ((1, 0.55), (2, 0.30), (3, 0.15))  # mean 1.6
_REAL_FIRST = ("William Bill Robert Bob James Jim John Jack Michael Mike David Dave Richard Rick Thomas Tom "
              "Charles Charlie Daniel Dan Matthew Matt Anthony Tony Steven Steve Andrew Andy Joseph Joe "
              "Elizabeth Liz Mary Jennifer Jenny Patricia Susan Sarah Jessica Karen Nancy Margaret Maggie "
              "Katherine Kate Rebecca Becky Alexander Alex Aleksandr Sasha Dmitry Dima Sergey Ivan Nikolai "
              "Mikhail Yulia Julia Olga Natalia Natasha Anastasia Nastia Ekaterina Katia Tatiana Irina Elena "
              "Maria Anna Svetlana Pavel Andrei Alexei Vladimir Igor Oleg Yuri")
REAL_FIRST = tuple(_REAL_FIRST.split())
ONSETS = tuple(["b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "kr", "l", "m", "n", "p", "pr", "r", "s", "sh", "st", "t", "tr", "v", "w", "z"])
VOWELS = tuple(["a", "e", "i", "o", "u", "ai", "ea", "ie", "ou", "y"])
CODAS = ("", "n", "r", "l", "s", "th", "ck", "m", "nd", "rt")
SURNAME_ENDINGS = ("son", "ov", "ova", "er", "ley", "ski", "ton", "man", "ford", "in", "ina", "enko", "wood", "berg")
STREET_KINDS = ("Street", "Avenue", "Road", "Lane", "Drive", "ul.", "prospekt")
MAIL_DOMAINS = ("gmail.com", "gmail.com", "gmail.com", "mail.ru", "yandex.ru", "outlook.com", "yahoo.com",
                "icloud.com", "hotmail.com", "bk.ru")
CYRILLIC = str.maketrans("abvgdezijklmnoprstufhcy", "абвгдезийклмнопрстуфхцы")
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
CHUNK = 20_000


def key_of(source: str, stream: str, record_id: str) -> str:
    return f"{source}|{stream}|{record_id}"


# --- generation --------------------------------------------------------------------------------
class Generator:
    """Deterministic people and their records (seeded random.Random; no wall-clock input)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        rng = self.rng
        synth = set()
        while len(synth) < 300 - len(REAL_FIRST):
            name = rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(ONSETS[:12]) + rng.choice(("a", "o", "ie", "in", "el", "an"))
            synth.add(name.capitalize())
        self.first = list(REAL_FIRST) + sorted(synth)
        surnames = set()
        while len(surnames) < 3000:
            stem = rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) + rng.choice(("", rng.choice(VOWELS)))
            surnames.add((stem + rng.choice(SURNAME_ENDINGS)).capitalize())
        self.last = sorted(surnames)
        streets = set()
        while len(streets) < 400:
            streets.add((rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) + rng.choice(("wood", "field", "ova", "skaya", "hill"))).capitalize())
        self.streets = sorted(streets)
        self.cities = [(f"{(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)).capitalize()}"
                        f"{rng.choice(('sk', 'ville', 'grad', 'ton', 'burg', 'ovo'))}", f"{rng.randint(10, 99)}")
                       for _ in range(150)]
        self.companies = [f"{rng.choice(self.last)} {rng.choice(('LLC', 'Ltd', 'OOO', 'Inc', 'Group'))}" for _ in range(2000)]
        self.next_id = {s: 100_000 for s in SOURCES}
        self.people: list[dict[str, Any]] = []

    def phone(self, country: str) -> str:
        rng = self.rng
        if country == "RU":
            return f"+79{rng.randint(0, 999_999_999):09d}"
        return f"+1{rng.randint(201, 989)}{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"

    def email(self, first: str, last: str) -> str:
        rng = self.rng
        domain = rng.choice(MAIL_DOMAINS)
        pattern = rng.random()
        if pattern < 0.5:
            local = f"{first}.{last}{rng.randint(1, 9999)}"
        elif pattern < 0.8:
            local = f"{first[0]}{last}{rng.randint(1, 99999)}"
        else:
            local = f"{last}.{first}{rng.randint(1970, 2010)}{rng.randint(1, 99)}"
        return f"{local.lower()}@{domain}"

    def person(self, pid: int) -> dict[str, Any]:
        rng = self.rng
        country = "RU" if rng.random() < 0.5 else "US"
        p: dict[str, Any] = {"pid": pid, "first": rng.choice(self.first), "last": rng.choice(self.last),
                             "country": country}
        house = self.people[rng.randrange(len(self.people))] if self.people and rng.random() < 0.03 else None
        if house is not None:  # a household: same surname, landline and address (sometimes one mailbox)
            p["last"], p["country"] = house["last"], house["country"]
            p["phone"], p["address"] = house.get("phone") or self.phone(p["country"]), house.get("address")
            p["email"] = house["email"] if rng.random() < 0.2 else self.email(p["first"], p["last"])
        else:
            p["phone"] = self.phone(country) if rng.random() < 0.7 else None
            p["email"] = self.email(p["first"], p["last"])
            if rng.random() < 0.6:
                city, prefix = rng.choice(self.cities)
                p["address"] = (f"{rng.randint(1, 200)} {rng.choice(self.streets)} {rng.choice(STREET_KINDS)}", city,
                                f"{prefix}{rng.randint(0, 9999):04d}")
            else:
                p["address"] = None
        p["email2"] = self.email(p["first"], p["last"])
        p["dob"] = (EPOCH - timedelta(days=rng.randint(18 * 365, 80 * 365))).date() if rng.random() < 0.4 else None
        p["company"] = rng.choice(self.companies) if rng.random() < 0.1 else None
        self.people.append(p)
        return p

    def typo(self, name: str) -> str:
        rng = self.rng
        if len(name) < 4:
            return name
        i = rng.randrange(1, len(name) - 1)
        kind = rng.random()
        if kind < 0.4:
            return name[:i] + name[i + 1] + name[i] + name[i + 2:]
        if kind < 0.7:
            return name[:i] + name[i + 1:]
        return name[:i] + rng.choice("aeiourlnst") + name[i + 1:]

    def spelling(self, name: str) -> str:
        r = self.rng.random()
        if r < 0.03:
            name = self.typo(name)
        elif r < 0.07:
            name = name.upper()
        elif r < 0.10:
            name = name.lower()
        elif r < 0.11:
            name = name.lower().translate(CYRILLIC).capitalize()
        return name

    def record(self, p: dict[str, Any], source: tuple[str, str], run_id: str) -> dict[str, Any]:
        rng = self.rng
        self.next_id[source] += 1
        r = rng.random()
        if r < 0.80:
            email = p["email"]
        elif r < 0.88:
            email = p["email2"]
        elif r < 0.93:
            local, _, domain = p["email"].partition("@")
            email = f"{local.replace('.', '')}@{domain}" if domain == "gmail.com" else f"{local}+shop@{domain}"
        else:
            email = None
        named = not (source[0] == "mailchimp" and rng.random() < 0.2)
        first = self.spelling(p["first"]) if named else None
        last = self.spelling(p["last"]) if named else None
        if first and last and rng.random() < 0.005:
            first, last = last, first
        address = p["address"] if p["address"] and rng.random() < 0.8 else None
        return {
            "source": source[0], "stream": source[1], "record_id": str(self.next_id[source]),
            "first_name": first, "middle_name": None, "last_name": last, "name_key": None,
            "date_of_birth": p["dob"] if p["dob"] and source[0] == "legacy_crm" and rng.random() < 0.7 else None,
            "company": p["company"] if source[0] in ("quickbooks", "legacy_crm") else None, "company_record_id": None,
            "email": email, "email_match_key": None,
            "phone": p["phone"] if p["phone"] and rng.random() < 0.85 else None, "phone_alt": None,
            "address_line1": address[0] if address else None, "address_line2": None,
            "city": address[1] if address else None, "region": None, "postcode": address[2] if address else None,
            "country": p["country"], "customer_type": None, "email_consent": "unknown", "email_consent_at": None,
            "source_updated_at": EPOCH + timedelta(seconds=rng.randint(0, 365 * 86400)), "run_id": run_id,
            "_pid": p["pid"]}

    def person_records(self, p: dict[str, Any], run_id: str) -> list[dict[str, Any]]:
        rng = self.rng
        count = rng.choices([c for c, _ in RECORDS_PER_PERSON], [w for _, w in RECORDS_PER_PERSON])[0]
        return [self.record(p, s, run_id) for s in rng.sample(SOURCES, count)]


class Keys:
    """name_key and email_match_key as staging derives them (include.mapping.derive_keys), cached per value."""

    def __init__(self):
        from include import normalise

        self.normalise = normalise
        self.names: dict[str, str | None] = {}
        self.emails: dict[str | None, str | None] = {}

    def fill(self, row: dict[str, Any]) -> dict[str, Any]:
        name = " ".join(p for p in (row["first_name"], row["last_name"]) if p)
        if name not in self.names:
            self.names[name] = self.normalise.translit_key(name) or None
        row["name_key"] = self.names[name]
        email = row["email"]
        if email not in self.emails:
            self.emails[email] = self.normalise.email_match_key(email)
        row["email_match_key"] = self.emails[email]
        return row


class Orders:
    """Contact orders of the bench records, about `per_record` each, from a generator of their own."""

    STATUSES = ("completed", "completed", "completed", "open", "cancelled", "refunded")

    def __init__(self, seed_value: int, per_record: float):
        self.rng, self.per_record, self.made = random.Random(seed_value * 7919 + 1), per_record, 0
        self.sources: list[str] = []  # of order o{n} at n - 1: the key a restatement updates by

    def of(self, record: dict[str, Any], run_id: str) -> list[dict[str, Any]]:
        whole, part = divmod(self.per_record, 1)
        out = []
        for _ in range(int(whole) + (self.rng.random() < part)):
            self.made += 1
            self.sources.append(record["source"])
            out.append({"source": record["source"], "stream": "orders", "record_id": f"o{self.made}",
                        "kind": "order", "contact_stream": record["stream"], "contact_record_id": record["record_id"],
                        "status": self.rng.choice(self.STATUSES), "amount": Decimal(self.rng.randint(100, 500_000)) / 100,
                        "currency": self.rng.choice(("RUB", "RUB", "USD", "EUR")),
                        "ordered_at": EPOCH + timedelta(seconds=self.rng.randint(0, 365 * 86400)), "run_id": run_id})
        return out


def fresh_warehouse(work: Path, size: int, postgres: str | None) -> str:
    """The URL of an empty warehouse for one size: a SQLite file in `work`, or a new database on the
    PostgreSQL server whose admin URL is `postgres`. Its feature cache goes with it."""
    if postgres:
        name = f"seam_bench_identity_{size}"
        _admin_execute(postgres, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")
        url = sa.make_url(postgres).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{work / f'warehouse-{size}.db'}"
    drop_warehouse(url, postgres, only_files=True)
    return url


def drop_warehouse(url: str, postgres: str | None, only_files: bool = False) -> None:
    from include.identity import feature_cache

    engine = sa.create_engine(url)
    cache = feature_cache.path_for(engine)
    engine.dispose()
    if cache is not None:
        cache.unlink(missing_ok=True)
    database = sa.make_url(url).database
    if url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    elif not only_files:
        _admin_execute(postgres, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def _admin_execute(admin_url: str, *statements: str) -> None:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
    admin.dispose()


def seed(url: str, records: int, seed_value: int, state: Path, orders_per_record: float = 0.0) -> dict[str, Any]:
    """Seed the empty warehouse at `url` (migrated here) with `records` person records (and their
    orders); the generators (for the delta) are pickled."""
    from include.warehouse import migrate
    from include.warehouse.schema import order_records, person_records

    started = time.perf_counter()
    engine = sa.create_engine(url)
    migrate(engine)
    gen, keys, orders = Generator(seed_value), Keys(), Orders(seed_value, orders_per_record)
    truth: dict[str, int] = {}
    pid, made = 0, 0
    with engine.begin() as conn:
        batch: list[dict[str, Any]] = []
        order_batch: list[dict[str, Any]] = []
        while made < records:
            for row in gen.person_records(gen.person(pid), "bench-seed")[: records - made]:
                truth[key_of(row["source"], row["stream"], row["record_id"])] = row.pop("_pid")
                batch.append(keys.fill(row))
                order_batch += orders.of(row, "bench-seed")
                made += 1
            pid += 1
            if len(batch) >= CHUNK:
                conn.execute(person_records.insert(), batch)
                batch = []
            if len(order_batch) >= CHUNK:
                conn.execute(order_records.insert(), order_batch)
                order_batch = []
        for table, rows in ((person_records, batch), (order_records, order_batch)):
            if rows:
                conn.execute(table.insert(), rows)
    engine.dispose()
    with state.open("wb") as fh:
        pickle.dump({"generator": gen, "truth": truth, "orders": orders}, fh)
    return {"records": records, "people": pid, "orders": orders.made,
            "seconds": round(time.perf_counter() - started, 1)}


def mutate(url: str, state: Path, share_changed: float = 0.005, share_new: float = 0.005) -> dict[str, Any]:
    """Change 0.5% of the records (a new phone, a new e-mail or a name typo, a third each) and add 0.5%
    new records (half of them new records of known people, half new people); the same shares of the
    orders change status, and the new records get their orders."""
    from include.warehouse.schema import order_records, person_records

    with state.open("rb") as fh:
        saved = pickle.load(fh)  # noqa: S301 - our own file
    gen: Generator = saved["generator"]
    orders: Orders = saved["orders"]
    truth: dict[str, int] = saved["truth"]
    keys, rng = Keys(), gen.rng
    engine = sa.create_engine(url)
    t = person_records.c
    chosen = rng.sample(sorted(truth), int(len(truth) * share_changed))
    kinds: Counter[str] = Counter()
    with engine.begin() as conn:
        for n, key in enumerate(chosen):
            source, stream, record_id = key.split("|")
            row = dict(conn.execute(sa.select(person_records).where(
                t.source == source, t.stream == stream, t.record_id == record_id)).mappings().one())
            person = gen.people[truth[key]]
            kind = ("phone", "email", "name")[n % 3]
            if kind == "phone":
                row["phone"] = gen.phone(person["country"])
            elif kind == "email":
                row["email"] = gen.email(person["first"], person["last"])
            else:
                row["first_name"] = gen.typo(row["first_name"] or person["first"])
            kinds[kind] += 1
            keys.fill(row)
            conn.execute(person_records.update().where(t.source == source, t.stream == stream, t.record_id == record_id)
                         .values(phone=row["phone"], email=row["email"], email_match_key=row["email_match_key"],
                                 first_name=row["first_name"], name_key=row["name_key"], run_id="bench-delta"))
        new_rows = []
        wanted = int(len(truth) * share_new)
        while len(new_rows) < wanted:
            if len(new_rows) % 2 == 0:
                person = gen.people[rng.randrange(len(gen.people))]
            else:
                person = gen.person(len(gen.people))
            row = gen.record(person, rng.choice(SOURCES), "bench-delta")
            truth[key_of(row["source"], row["stream"], row["record_id"])] = row.pop("_pid")
            new_rows.append(keys.fill(row))
        conn.execute(person_records.insert(), new_rows)
        new_orders = [o for row in new_rows for o in orders.of(row, "bench-delta")]
        if new_orders:
            conn.execute(order_records.insert(), new_orders)
        restated = orders.rng.sample(range(1, orders.made + 1), int(orders.made * share_changed))
        if restated:
            o = order_records.c
            conn.execute(order_records.update().where(
                o.source == sa.bindparam("key_source"), o.stream == "orders", o.record_id == sa.bindparam("key")).values(
                status=sa.bindparam("status"), run_id="bench-delta"),
                [{"key_source": orders.sources[n - 1], "key": f"o{n}", "status": orders.rng.choice(Orders.STATUSES)}
                 for n in restated])
    engine.dispose()
    with state.open("wb") as fh:
        pickle.dump({"generator": gen, "truth": truth, "orders": orders}, fh)
    return {"changed": len(chosen), "changed_by_kind": dict(kinds), "new": len(new_rows), "records": len(truth),
            "orders_new": len(new_orders), "orders_restated": len(restated)}


# --- accuracy ----------------------------------------------------------------------------------
def pairwise(assigned: dict[str, Any], truth: dict[str, int]) -> dict[str, Any]:
    """Pairwise precision and recall of a clustering (record key -> cluster) against the person ids."""
    def pairs(counts: Counter) -> int:
        return sum(c * (c - 1) // 2 for c in counts.values())

    keys = [k for k in truth if k in assigned]
    predicted = pairs(Counter(assigned[k] for k in keys))
    actual = pairs(Counter(truth[k] for k in keys))
    correct = pairs(Counter((assigned[k], truth[k]) for k in keys))
    return {"precision": round(correct / predicted, 4) if predicted else None,
            "recall": round(correct / actual, 4) if actual else None,
            "predicted_pairs": predicted, "true_pairs": actual, "clusters": len(set(assigned.values())),
            "people": len(set(truth[k] for k in keys))}


# --- children ----------------------------------------------------------------------------------
class Timers:
    """Wrap module attributes with accumulating timers (no edit to include/)."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, module: Any, attr: str, label: str) -> None:
        fn = getattr(module, attr)
        seconds = self.seconds

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[label] += time.perf_counter() - start

        setattr(module, attr, timed)


def child_seam(url: str, state: Path, run_id: str) -> dict[str, Any]:
    from include.identity import companies, golden, guards, ids, model
    from include.identity import engine as matching
    from include.identity import orders as core_orders
    from include.identity import resolve as resolution
    from include.warehouse.schema import customer_sources

    timers = Timers()
    for module, attr, label in [
            (resolution, "load_nodes", "read warehouse"), (resolution, "_consent_facts", "read warehouse"),
            (resolution, "_kept_edges", "read warehouse"), (resolution, "features_of", "features"),
            (resolution, "fingerprints", "fingerprints"), (guards, "apply", "guards"),
            (matching, "deterministic_edges", "rules"), (model, "train", "train"), (model, "predict", "predict"),
            (model, "predict_changed", "predict"), (matching, "model_edges", "model edges"),
            (matching, "cluster", "clustering"), (ids, "assign", "ids"), (golden, "golden", "golden"),
            (golden, "consent", "golden"), (resolution, "_facts_for", "golden"),
            (companies, "resolve_companies", "companies"), (companies, "write", "companies"),
            (resolution, "append_rows", "write"),
            (core_orders, "refresh", "orders")]:
        timers.wrap(module, attr, label)
    timers.wrap(resolution, "_stats", "stats")
    engine = get_engine(url)  # the pipeline's engine (SQLite: WAL, cache size)
    rss_ready = peak_rss_mb()
    start = time.perf_counter()
    stats = resolution.resolve(engine, run_id)
    wall = time.perf_counter() - start
    peak = peak_rss_mb()
    split = {k: round(v, 2) for k, v in timers.seconds.items()}
    split["other"] = round(wall - sum(timers.seconds.values()), 2)
    with engine.connect() as conn:
        assigned = {key_of(s, st, r): c for s, st, r, c in conn.execute(sa.select(
            customer_sources.c.source, customer_sources.c.stream, customer_sources.c.record_id,
            customer_sources.c.customer_id))}
    with state.open("rb") as fh:
        truth = pickle.load(fh)["truth"]  # noqa: S301 - our own file
    return {"seconds": round(wall, 2), "peak_rss_mb": round(peak, 1), "rss_ready_mb": round(rss_ready, 1),
            "split_s": split, "mode": stats["mode"], "records_rescored": stats["records_rescored"],
            "records_reclustered": stats.get("records_reclustered"),
            "pairs_scored": stats["pairs_scored"], "customers": stats["customers"],
            "links_by_rule": stats["links_by_rule"], "refused_links": stats["refused_links"],
            "identifiers_taken_out": stats["identifiers_taken_out"], "largest_cluster": stats["largest_cluster"],
            "orders": {k: stats[k] for k in ("orders", "orders_written", "orders_removed")},
            "accuracy": pairwise(assigned, truth)}


def child_plain(url: str, state: Path) -> dict[str, Any]:
    import pandas as pd

    from include.config import load_yaml
    from include.identity import model
    from include.identity.features import build, present
    from include.identity.resolve import PERSON_TO_INPUT
    from include.warehouse.schema import person_records

    config = load_yaml("matching.yaml")["people"]
    threshold = float(config["threshold_match_weight"])
    engine = get_engine(url)
    rss_ready = peak_rss_mb()
    split: dict[str, float] = {}
    start = mark = time.perf_counter()

    def lap(label: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        split[label] = round(now - mark, 2)
        mark = now

    with engine.connect() as conn:
        frame = pd.read_sql(sa.select(person_records), conn)
    frame = frame.rename(columns=PERSON_TO_INPUT)
    frame["unique_id"] = frame["source"] + "|" + frame["stream"] + "|" + frame["record_id"]
    lap("read warehouse")
    features = build(frame)
    del frame
    lap("features")
    trained = model.train(features, config, present(features))
    lap("train")
    linker = model.linker(features, trained)
    predictions = linker.inference.predict(threshold_match_weight=threshold, warning_mode="never")
    lap("predict")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_weight=threshold).as_pandas_dataframe()
    lap("clustering")
    wall = time.perf_counter() - start
    peak = peak_rss_mb()
    pairs = linker.misc.query_sql(f"select count(*) as n from {predictions.physical_name}",  # noqa: S608
                                  output_type="pandas")["n"].iloc[0]
    assigned = dict(zip(clusters["unique_id"].tolist(), clusters["cluster_id"].tolist(), strict=True))
    with state.open("rb") as fh:
        truth = pickle.load(fh)["truth"]  # noqa: S301 - our own file
    return {"seconds": round(wall, 2), "peak_rss_mb": round(peak, 1), "rss_ready_mb": round(rss_ready, 1),
            "split_s": split, "pairs_scored": int(pairs), "accuracy": pairwise(assigned, truth)}


def measure(kind: str, url: str, state: Path, budget: float, run_id: str = "") -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.identity", "--child", kind, url, str(state), run_id]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=budget,  # noqa: S603
                          cwd=Path(__file__).resolve().parent.parent)
    if proc.returncode:
        raise RuntimeError(f"{kind} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        kind, url, state, run_id = argv[1:5]
        result = child_plain(url, Path(state)) if kind == "plain" else child_seam(url, Path(state), run_id)
        print(json.dumps(result, default=str))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench identity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", default="100000,1000000", help="person records, comma-separated sizes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--orders-per-record", type=float, default=0.0,
                        help="contact orders seeded per person record (0: person records only)")
    parser.add_argument("--skip", default="", help="measurements to leave out: seam,plain,incremental")
    parser.add_argument("--budget", type=float, default=3600.0, help="seconds per measurement before it is killed")
    parser.add_argument("--work-dir", default=None, help="default: a new temporary directory")
    parser.add_argument("--postgres", default=None, metavar="ADMIN_URL",
                        help="resolve in a PostgreSQL warehouse: a new database on the server of this URL "
                             "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres); default SQLite")
    parser.add_argument("--out", default="bench/results/identity.json")
    args = parser.parse_args(argv)
    from include.summary import table

    sizes = [int(s) for s in args.records.split(",") if s]
    skip = set(args.skip.split(","))
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="seam-bench-identity-"))
    work.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []

    def save() -> None:
        out.write_text(json.dumps({"sizes": sizes, "seed": args.seed, "results": results,
                                   "warehouse": "postgresql" if args.postgres else "sqlite"}, indent=2, default=str))

    print(f"bench identity: sizes {sizes}, work dir {work}, warehouse "
          f"{'postgresql' if args.postgres else 'sqlite'}", flush=True)
    for size in sizes:
        url, state = fresh_warehouse(work, size, args.postgres), work / f"state-{size}.pickle"
        entry: dict[str, Any] = {"records": size, "orders_per_record": args.orders_per_record,
                                 "seeding": seed(url, size, args.seed, state, args.orders_per_record)}
        results.append(entry)
        print(f"  seeded {size} records ({entry['seeding']['people']} people) in {entry['seeding']['seconds']} s",
              flush=True)
        steps = [("seam", "seam", "bench-1"), ("plain", "plain", ""),
                 ("incremental", "seam", "bench-2")]
        for name, kind, run_id in steps:
            if name in skip or (name == "incremental" and "seam" not in entry):
                continue
            if name == "incremental":
                entry["delta"] = mutate(url, state)
            try:
                entry[name] = measure(kind, url, state, args.budget, run_id)
            except (subprocess.TimeoutExpired, RuntimeError) as exc:
                entry[name] = {"failed": str(exc)[-2000:]}
                print(f"  {size} {name}: {str(exc)[-2000:]}", flush=True)
                save()
                continue
            r = entry[name]
            print(f"  {size} {name}: {r['seconds']} s, peak RSS {r['peak_rss_mb']} MB, "
                  f"precision {r['accuracy']['precision']} recall {r['accuracy']['recall']}"
                  + (f", mode {r['mode']}" if "mode" in r else "") + f"  split {r['split_s']}", flush=True)
            save()
        seam, plain, inc = entry.get("seam", {}), entry.get("plain", {}), entry.get("incremental", {})
        if "seconds" in seam and "seconds" in plain:
            entry["seam_over_plain"] = {"time": round(seam["seconds"] / plain["seconds"], 2),
                                        "peak_rss": round(seam["peak_rss_mb"] / plain["peak_rss_mb"], 2)}
        if "seconds" in seam and "seconds" in inc:
            entry["incremental_over_full"] = round(inc["seconds"] / seam["seconds"], 3)
        save()
        drop_warehouse(url, args.postgres)
    print()
    rows = []
    for e in results:
        for name in ("seam", "plain", "incremental"):
            r = e.get(name) or {}
            if "seconds" in r:
                rows.append((e["records"], name, r["seconds"], r["peak_rss_mb"], r.get("pairs_scored"),
                             r["accuracy"]["precision"], r["accuracy"]["recall"], r.get("mode", "")))
    print(table(["records", "run", "seconds", "peak RSS MB", "pairs", "precision", "recall", "mode"], rows))
    for e in results:
        print(f"{e['records']}: seam/plain {e.get('seam_over_plain')}, incremental/full {e.get('incremental_over_full')}")
    print(f"\nwritten to {out}")
    if not args.work_dir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
