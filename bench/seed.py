"""Bulk seeder for connector benchmarks: N synthetic records per benchmarked stream, fast.

The normal generator builds people one by one (seconds per thousand), far too slow for a million
records. Instead a small sandbox is generated once for credentials and realistic record shapes,
then one template per stream is cloned N times with unique ids, e-mails and modification times
spread over the past year, and written straight into the sandbox stores in batches.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sandbox import legacy_crm, store
from sandbox.generator import generate_sandbox

STREAMS = {"woocommerce": ("woocommerce", "customers"), "mailchimp": ("mailchimp", "members"),
           "quickbooks": ("quickbooks", "Customer")}
YEAR = 365 * 86400
BATCH = 20_000


def _template(data_dir: Path, system: str, kind: str) -> dict[str, Any]:
    conn = store.connect(data_dir, system)
    row = conn.execute("SELECT body FROM objects WHERE kind = ? ORDER BY num, id LIMIT 1", (kind,)).fetchone()
    conn.close()
    if row is None:
        raise RuntimeError(f"{system}: the template sandbox has no {kind}")
    return json.loads(row[0])


def _moment(i: int, n: int, now: datetime) -> datetime:
    """Modification times spread evenly over the past year (unrelated to id order)."""
    return now - timedelta(seconds=(i * 7919) % n * YEAR // max(n, 1))


def _woocommerce_rows(tpl: dict, n: int, now: datetime) -> Iterator[tuple]:
    for i in range(n):
        num = i + 1
        email = f"bench.customer{num}@example.com"
        body = {**tpl, "id": num, "email": email, "username": f"bench{num}",
                "billing": {**tpl.get("billing", {}), "email": email}, "role": "customer"}
        when = _moment(i, n, now)
        store.stamp("woocommerce", body, when)
        yield ("customers", str(num), num, store.utc_key(when), "customer", body)


def _mailchimp_rows(tpl: dict, n: int, now: datetime) -> Iterator[tuple]:
    for i in range(n):
        email = f"bench.member{i + 1}@example.com"
        member_id = hashlib.md5(email.lower().encode()).hexdigest()  # noqa: S324 - Mailchimp's id
        body = {**tpl, "id": member_id, "email_address": email, "unique_email_id": member_id[:10],
                "status": "subscribed"}
        when = _moment(i, n, now)
        store.stamp("mailchimp", body, when)
        yield ("members", member_id, None, store.utc_key(when), "subscribed", body)


def _quickbooks_rows(tpl: dict, n: int, now: datetime) -> Iterator[tuple]:
    for i in range(n):
        num = i + 1
        body = {**tpl, "Id": str(num), "DisplayName": f"Bench Customer {num}", "Active": True,
                "PrimaryEmailAddr": {"Address": f"bench.qbo{num}@example.com"},
                "MetaData": dict(tpl.get("MetaData", {}))}
        when = _moment(i, n, now)
        store.stamp("quickbooks", body, when)
        yield ("Customer", str(num), num, store.utc_key(when), "active", body)


ROWS = {"woocommerce": _woocommerce_rows, "mailchimp": _mailchimp_rows, "quickbooks": _quickbooks_rows}


def _seed_store(data_dir: Path, system: str, n: int, now: datetime) -> None:
    _, kind = STREAMS[system]
    tpl = _template(data_dir, system, kind)
    conn = store.connect(data_dir, system)
    conn.execute("DELETE FROM objects WHERE kind = ?", (kind,))
    conn.close()
    rows = ROWS[system](tpl, n, now)
    while batch := [row for _, row in zip(range(BATCH), rows, strict=False)]:
        store.write_objects(data_dir, system, batch)


def _uid(i: int, tag: str) -> str:
    return f"{i:08x}-{tag}-4000-8000-{i:012x}"


def _seed_legacy_crm(url: str, n: int, now: datetime) -> None:
    """Contacts with one primary e-mail each (address row + link row), no accounts."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tpl = dict(conn.execute(sa.select(legacy_crm.contacts).limit(1)).mappings().one())
        for table in ("accounts_contacts", "email_addr_bean_rel", "email_addresses", "contacts"):
            conn.execute(legacy_crm.metadata.tables[table].delete())
        naive_now = now.astimezone(UTC).replace(tzinfo=None, microsecond=0)
        for start in range(0, n, BATCH):
            contacts, emails, links = [], [], []
            for i in range(start, min(n, start + BATCH)):
                cid, eid = _uid(i, "c0de"), _uid(i, "e0e0")
                modified = naive_now - timedelta(seconds=(i * 7919) % n * YEAR // n)
                email = f"bench.contact{i + 1}@example.com"
                contacts.append({**tpl, "id": cid, "date_modified": modified, "deleted": 0,
                                 "first_name": "Bench", "last_name": f"Contact {i + 1}"})
                emails.append({"id": eid, "email_address": email, "email_address_caps": email.upper(),
                               "invalid_email": 0, "opt_out": 0, "date_created": modified,
                               "date_modified": modified, "deleted": 0})
                links.append({"id": _uid(i, "b0b0"), "email_address_id": eid, "bean_id": cid,
                              "bean_module": "Contacts", "primary_address": 1, "reply_to_address": 0,
                              "date_created": modified, "date_modified": modified, "deleted": 0})
            conn.execute(legacy_crm.contacts.insert(), contacts)
            conn.execute(legacy_crm.email_addresses.insert(), emails)
            conn.execute(legacy_crm.email_addr_bean_rel.insert(), links)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def _seed_one(data_dir: Path, system: str, n: int, now: datetime) -> float:
    clock = time.perf_counter()
    if system == "legacy_crm":
        creds = json.loads((data_dir / "credentials.json").read_text())
        _seed_legacy_crm(creds["legacy_crm"]["url"], n, now)
    else:
        _seed_store(data_dir, system, n, now)
    return time.perf_counter() - clock


def seed(data_dir: Path, n: int, systems: list[str], people: int = 200, workers: int = 2) -> dict[str, float]:
    """Generate a small sandbox in data_dir, then replace each system's benchmarked stream by n records.

    Returns seconds spent per step. Reuses data_dir when it was already seeded with the same n for these systems.
    """
    data_dir = Path(data_dir)
    marker = data_dir / "bench-seed.json"
    wanted = {"n": n, "systems": sorted(systems)}
    if marker.exists():
        done = json.loads(marker.read_text())
        if done["n"] == n and set(systems) <= set(done["systems"]):
            return {}
    marker.unlink(missing_ok=True)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    generate_sandbox(data_dir, people=people)
    timings["generate template sandbox"] = time.perf_counter() - started
    now = datetime.now(UTC).replace(microsecond=0)
    with ProcessPoolExecutor(max_workers=workers) as pool:  # one file per system: no lock contention
        for system, seconds in zip(systems, pool.map(_seed_one, [data_dir] * len(systems), systems,
                                                        [n] * len(systems), [now] * len(systems)), strict=True):
            timings[f"seed {system}"] = seconds
    timings["seed total (parallel)"] = time.perf_counter() - started
    marker.write_text(json.dumps(wanted))
    return timings
