"""Deterministic, seeded sandbox data for the four systems, plus the ground truth.

`generate_sandbox(out_dir, people, seed)` wipes out_dir's data and writes the WooCommerce,
Mailchimp and QuickBooks stores, the SuiteCRM-style legacy CRM (SQLite, or the SQLAlchemy URL
given) and ground_truth.csv: which generated record belongs to which person. Same people and
seed give the same records, ids and timestamps; credentials are random per generation.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox import legacy_crm, store, systems
from sandbox.population import ANCHOR, make_people

STORES = ("woocommerce", "mailchimp", "quickbooks")
VERSION = 6  # bump when the generated data changes shape, so `seam sandbox up` regenerates
SHARES = {"mailchimp": 0.6, "woocommerce": 0.55, "legacy_crm": 0.4, "quickbooks": 0.3}


def new_credentials() -> dict[str, Any]:
    """Random credentials, or (SEAM_SANDBOX_CREDENTIALS_FROM_ENV=1, containers) those of the configured connections."""
    if os.environ.get("SEAM_SANDBOX_CREDENTIALS_FROM_ENV") == "1":
        return credentials_from_connections(os.environ)
    return {
        "woocommerce": {"consumer_key": "ck_" + secrets.token_hex(20), "consumer_secret": "cs_" + secrets.token_hex(20)},
        "mailchimp": {"api_key": secrets.token_hex(16) + "-us21", "list_id": secrets.token_hex(5)},
        "quickbooks": {"realm_id": str(9130350000000000 + secrets.randbelow(10**9)),
                       "access_token": "eyJ" + secrets.token_urlsafe(48),
                       "client_id": "AB" + secrets.token_hex(24), "client_secret": secrets.token_urlsafe(30),
                       "refresh_token": "AB11" + secrets.token_urlsafe(36)},
    }


def credentials_from_connections(env: Mapping[str, str]) -> dict[str, Any]:
    """Adopt the secrets and ids of AIRFLOW_CONN_SEAM_* so a compose stack needs them in .env only."""

    def conn(system: str) -> dict[str, Any]:
        raw = env.get(f"AIRFLOW_CONN_SEAM_{system.upper()}")
        if not raw:
            raise ValueError(f"AIRFLOW_CONN_SEAM_{system.upper()} is not set")
        doc = json.loads(raw)
        extra = doc.get("extra") or {}
        return {**doc, "extra": json.loads(extra) if isinstance(extra, str) else extra}

    shop, chimp, books = conn("woocommerce"), conn("mailchimp"), conn("quickbooks")
    realm = books["extra"].get("realm_id") or books["host"].rstrip("/").rsplit("/", 1)[-1]
    oauth = {key: books["extra"][key] for key in ("client_id", "client_secret", "refresh_token")
             if books["extra"].get(key)}  # absent: a static-token setup
    return {
        "woocommerce": {"consumer_key": shop["login"], "consumer_secret": shop["password"]},
        "mailchimp": {"api_key": chimp["password"], "list_id": chimp["extra"]["list_id"]},
        "quickbooks": {"realm_id": realm, "access_token": books["password"], **oauth},
    }


def _choose_systems(rng: random.Random, b2b: bool) -> list[str]:
    chosen = [s for s, p in SHARES.items() if rng.random() < (0.6 if s == "quickbooks" and b2b else p)]
    return chosen or [rng.choice(list(SHARES))]


def generate_sandbox(out_dir: Path, people: int = 2000, seed: int = 7,
                     legacy_crm_url: str | None = None) -> dict[str, Any]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in (*STORES, "legacy_crm"):
        for suffix in (".db", ".db-wal", ".db-shm"):
            (out_dir / f"{name}{suffix}").unlink(missing_ok=True)
    rng = random.Random(seed)
    population = make_people(people, rng)
    for person in population:
        person.systems = _choose_systems(rng, person.company is not None)
    truth: list[dict[str, str]] = []
    builders = {
        "woocommerce": systems.WooCommerceBuilder(random.Random(rng.random())),
        "mailchimp": systems.MailchimpBuilder(random.Random(rng.random())),
        "quickbooks": systems.QuickBooksBuilder(random.Random(rng.random())),
        "legacy_crm": legacy_crm.CrmBuilder(random.Random(rng.random())),
    }
    for person in population:
        for system in person.systems:
            builders[system].add(person, truth)
    counts: dict[str, int] = {}
    for name in STORES:
        rows = builders[name].rows()
        store.write_objects(out_dir, name, rows)
        for kind in sorted({r[0] for r in rows}):
            counts[f"{name}.{kind}"] = sum(1 for r in rows if r[0] == kind)
    crm_url = legacy_crm_url or f"sqlite:///{out_dir / 'legacy_crm.db'}"
    counts.update(builders["legacy_crm"].write(crm_url))
    credentials = new_credentials()
    credentials["legacy_crm"] = {"url": crm_url}
    (out_dir / "credentials.json").write_text(json.dumps(credentials, indent=2))
    (out_dir / "credentials.json").chmod(0o600)
    store.set_meta(out_dir, "mailchimp", {"list_id": credentials["mailchimp"]["list_id"]})
    store.set_meta(out_dir, "quickbooks", {"realm_id": credentials["quickbooks"]["realm_id"]})
    with (out_dir / "ground_truth.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, ["source", "stream", "record_id", "person_id", "household_id", "defect"])
        writer.writeheader()
        writer.writerows(truth)
    (out_dir / "generation.json").write_text(json.dumps({"version": VERSION, "people": people, "seed": seed, "counts": counts,
                                                         "anchor": ANCHOR.isoformat()}, indent=2))
    return counts


def fingerprint(out_dir: Path) -> str:
    """Digest of the generated records (not credentials), to check determinism."""
    digest = hashlib.sha256((Path(out_dir) / "ground_truth.csv").read_bytes())
    for name in STORES:
        conn = store.connect(Path(out_dir), name)
        for row in conn.execute("SELECT kind, id, modified, body FROM objects ORDER BY kind, id"):
            digest.update("|".join(map(str, row)).encode())
        conn.close()
    return digest.hexdigest()


def day_offset(rng: random.Random, start: datetime, end: datetime = ANCHOR) -> datetime:
    span = max(1, int((end - start).total_seconds()))
    return (start + timedelta(seconds=rng.randint(0, span))).astimezone(UTC).replace(microsecond=0)
