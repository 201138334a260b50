"""The resolve stage: person records (and guest orders) into customers, in one transaction.

Reads the core record tables, matches with the engine (mappings/matching.yaml), applies the
overrides, keeps ids stable (include/identity/ids.py), builds golden records with lineage and
consent, links people to companies, and writes customers, their links and evidence, id history,
guard reports and orders (those that differ: include/identity/orders.py) together. A run reuses
the saved model and scores only pairs that involve new or changed records when few changed
(incremental); `retrain=True` re-estimates it.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import math
import operator
import zlib
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from pandas.util import hash_array

from include.config import load_yaml
from include.identity import engine as matching
from include.identity import feature_cache, golden, ids, overrides, without_cycle_collection
from include.identity import orders as core_orders
from include.identity.clustering import Edge
from include.identity.ids import record_key
from include.warehouse import (
    append_rows,
    fetch_dicts,
    fetch_driver_dicts,
    fetch_driver_rows,
    refresh_statistics,
)
from include.warehouse.reader import Converter
from include.warehouse.schema import (
    consents,
    customer_field_lineage,
    customer_id_history,
    customer_links,
    customer_sources,
    customers,
    identity_issues,
    identity_models,
    order_records,
    person_records,
)

MARSHAL_FORMAT = 2  # the last without references: 3 and later mark objects met twice, which depends on identity
# the tables holding a customer's rows: emptied by a full run, deleted by customer id by an incremental one
CUSTOMER_TABLES = (customers, customer_sources, customer_links, customer_field_lineage)
WRITE_CHUNK = 20_000  # customers a full run builds before it writes their rows and frees them
INCREMENTAL_SHARE = 0.2  # above this share of new or changed records, a full scoring run is cheaper
PERSON_TO_INPUT = {"address_line1": "street", "address_line2": "address_line_2"}
MATCH_INPUTS = ("first_name", "middle_name", "last_name", "email", "phone", "phone_alt", "date_of_birth",
                "address_line1", "address_line2", "city", "postcode", "region", "country", "company")


def config_hash(config: dict[str, Any]) -> str:
    """Digest of what a trained model depends on: its comparisons and how it is trained (a new
    threshold, rule or guard reuses the model)."""
    trained_on = {k: config.get(k) for k in ("comparisons", "training")}
    return hashlib.sha1(json.dumps(trained_on, sort_keys=True, default=str).encode()).hexdigest()


def load_nodes(conn: sa.Connection) -> tuple[list[dict[str, Any]], list[str], Converter]:
    """Person records, plus guest orders (no customer record) as records of their own, in
    record-key order, with their record keys (computed once: a million cost 0.9 s), and with the
    driver's values: most are only hashed and matched. The converter
    turns a node, in place and once, into typed values (dates, decimals) before a customer is
    built from it. Without the staging run_id, which changes with every staging run and is no part
    of a customer."""
    def columns(table: sa.Table) -> list[sa.Column]:
        return [c for c in table.c if c.name != "run_id"]

    nodes, person = fetch_driver_dicts(conn, sa.select(*columns(person_records)))
    guests, guest = fetch_driver_dicts(conn, sa.select(*columns(order_records)).where(
        order_records.c.contact_record_id.is_(None)))
    nodes += [{**r, "email_consent": "unknown", "guest": True} for r in guests]
    keys = list(map(record_key, nodes))
    order = sorted(range(len(nodes)), key=keys.__getitem__)
    return [nodes[i] for i in order], [keys[i] for i in order], \
        lambda node: guest(node) if node.get("guest") else person(node)


def content_hashes(nodes: list[dict[str, Any]]) -> np.ndarray:
    """A 64-bit hash of each node's values, for the feature cache (its match inputs are among them)
    and the record fingerprints: one pass over the records serves both. The values are packed by
    marshal (format 2: by value, never a reference to an object met before) and the bytes hashed by
    pandas in C, half the time of a repr and a blake2b per record (1M records: 3.6 s against 6.0 s).
    Records holding values marshal cannot pack (the dates and decimals of a server's driver) are
    packed with each such value as its type name and text (`_packed_as_text`). Any change of format
    only makes every record look changed once."""
    rows = list(map(tuple, map(dict.values, nodes)))
    try:
        packed = list(map(marshal.dumps, rows, repeat(MARSHAL_FORMAT)))
    except ValueError:
        packed = _packed_as_text(rows)
    return hash_array(np.array(packed, dtype=object), categorize=False)


MARSHAL_PACKS = frozenset({str, int, float, bool, bytes, type(None)})


def _packed_as_text(rows: list[tuple]) -> list[bytes]:
    """Rows packed with each value marshal cannot pack (a server driver's dates, datetimes,
    decimals) as (type name, text). The positions holding one are learnt per row length, so a
    record is looked at value by value only when a new one turns up, not tried and failed once each
    (PostgreSQL, 1M records: 3.3 s against 4.7-5.3 s for a failed marshal and a repr each). A row
    holding none packs exactly as `content_hashes` packs it alone."""
    out = []
    learnt: dict[int, tuple[int, ...]] = {}
    for row in rows:
        try:
            out.append(marshal.dumps(_as_text(row, learnt.get(len(row), ())), MARSHAL_FORMAT))
        except ValueError:
            learnt[len(row)] = positions = tuple(sorted(set(learnt.get(len(row), ())) | {
                i for i, value in enumerate(row) if value.__class__ not in MARSHAL_PACKS}))
            out.append(marshal.dumps(_as_text(row, positions), MARSHAL_FORMAT))
    return out


def _as_text(row: tuple, positions: tuple[int, ...]) -> tuple:
    if not positions:
        return row
    values = list(row)
    for i in positions:
        value = values[i]
        if value.__class__ not in MARSHAL_PACKS:
            values[i] = (value.__class__.__name__, str(value))
    return tuple(values)


def features_of(nodes: list[dict[str, Any]], ids: list[str], cache: Path | None = None,
                hashes: np.ndarray | None = None) -> feature_cache.Features:
    """Match features of the records (feature_cache.Features): with `hashes` (`content_hashes`),
    those of records hashing as cached come from the feature cache at `cache`, and only the others'
    input frame is built, column by column (a frame of every column from a million dicts costs
    more than the features themselves). `ids`: the nodes' record keys (`load_nodes`)."""

    def inputs_of(rows: np.ndarray) -> pd.DataFrame:
        positions = np.flatnonzero(rows).tolist()
        chosen = [nodes[i] for i in positions]
        take = operator.itemgetter(*MATCH_INPUTS)  # person records hold every input; guest orders do not
        values = zip(*[take(n) if not n.get("guest") else tuple(map(n.get, MATCH_INPUTS)) for n in chosen],
                     strict=True)
        columns = {"unique_id": [ids[i] for i in positions]} | dict(zip(
            [PERSON_TO_INPUT.get(c, c) for c in MATCH_INPUTS], values, strict=True))
        return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})

    if hashes is None:
        return feature_cache.features(inputs_of(np.ones(len(nodes), dtype=bool)), cache)
    return feature_cache.features_for(ids, hashes, inputs_of, cache)


def fingerprints(found: feature_cache.Features, nodes: list[dict[str, Any]], hashes: np.ndarray,
                 facts_by_record: dict[str, list[dict]], facts_by_email: dict[str, list[dict]],
                 settings: str = "") -> dict[str, str]:
    """Two digests per record, 8 hex digits each: its match features (their digest from the
    feature cache) and the matching `settings` (changed: re-scored; a new setting changes every
    record, so it is applied by a full run), then everything else its customer is built from: its
    values (`content_hashes`) and its consent facts (changed: the customer is rebuilt)."""
    salt = int(hashlib.sha1(f"{settings}|{feature_cache.code_version()}".encode()).hexdigest()[:16], 16)
    uids = found.frame["unique_id"].tolist()
    rests = (hashes & np.uint64(0xFFFFFFFF)).tolist()
    with_facts = [i for i, (node, uid) in enumerate(zip(nodes, uids, strict=True))
                  if uid in facts_by_record or (node.get("email_match_key") or "") in facts_by_email]
    for i in with_facts:
        facts = facts_by_record.get(uids[i], []) + facts_by_email.get(nodes[i].get("email_match_key") or "", [])
        rests[i] = zlib.crc32(str(sorted(str([f["source"], f["stream"], f["record_id"], f["status"], f["recorded_at"],
                                              f["explicit"]]) for f in facts)).encode(), rests[i])
    # both halves in one 64-bit number, formatted by one C-level map (two f-string fields per
    # record cost 2 s at a million)
    low = np.uint64(0xFFFFFFFF)
    both = ((found.digests ^ np.uint64(salt)) & low) << np.uint64(32) | np.asarray(rests, dtype=np.uint64)
    return dict(zip(uids, map("{:016x}".format, both.tolist()), strict=True))


def _changes(prints: dict[str, str], old_prints: dict[str, str]) -> tuple[set[str], set[str]]:
    """Records to re-score (match digest changed) and records whose customers are rebuilt (any digest)."""
    changed, touched = set(), set()
    for key, fingerprint in prints.items():
        old = old_prints.get(key)
        if old != fingerprint:
            touched.add(key)
            if old is None or old[:8] != fingerprint[:8]:
                changed.add(key)
    return changed, touched


def _companies_changed(previous: dict[str, str], with_company: dict[str, dict[str, Any]],
                       company_of_person: dict[tuple, str]) -> set[str]:
    """Last run's customers whose company (their first record's that has one, in record-key order)
    is no longer the stored one. Only people linked to a company, and customers stored with one
    (`with_company`), are looked at."""
    now: dict[str, str] = {}
    for person in sorted(company_of_person, key="|".join):
        customer, company = previous.get("|".join(person)), company_of_person[person]
        if customer is not None and company and customer not in now:
            now[customer] = company
    return {cid for cid, company in now.items() if company != with_company.get(cid, {}).get("company_id")} | \
        {cid for cid in with_company if cid not in now}


def stored_links(conn: sa.Connection) -> tuple[dict[str, str], dict[str, str]]:
    """The last run's customer and fingerprint of each record, by record key (ids.record_key, built
    by the database: reading a million links and keying them in Python took 5.5 s, this 2.6 s)."""
    cs = customer_sources.c
    links = fetch_driver_rows(conn, sa.select(cs.source + "|" + cs.stream + "|" + cs.record_id,
                                              cs.customer_id, cs.fingerprint))
    keys, customer_ids, prints = zip(*links, strict=True) if links else ((), (), ())
    return dict(zip(keys, customer_ids, strict=True)), dict(zip(keys, prints, strict=True))


def active_model(conn: sa.Connection, digest: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(identity_models.c.model_json).where(
        identity_models.c.active.is_(True), identity_models.c.config_hash == digest)).first()
    return json.loads(row[0]) if row else None


def _kept_edges(conn: sa.Connection, ids: pd.Series, changed: set[str]) -> list[Edge]:
    """The last run's model links between records that are still here and unchanged, by position in `ids`."""
    rows = conn.execute(sa.select(
        customer_links.c.left_key, customer_links.c.right_key, customer_links.c.match_weight,
        customer_links.c.match_probability, customer_links.c.evidence).where(customer_links.c.rule == "model")).all()
    if not rows:
        return []
    left, right, weight, probability, evidence = zip(*rows, strict=True)
    index = pd.Index(ids)
    at_left, at_right = index.get_indexer(left), index.get_indexer(right)
    keep = (at_left >= 0) & (at_right >= 0) & ~pd.Series(left).isin(changed).to_numpy() & \
        ~pd.Series(right).isin(changed).to_numpy()
    return [Edge.of(int(at_left[i]), int(at_right[i]), weight[i], "model",
                    {"weights": json.loads(evidence[i] or "{}"), "probability": probability[i]})
            for i in np.flatnonzero(keep)]


def references(nodes: list[dict[str, Any]], config: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Pairs a source cross-reference names: (record, the record it points to, rule name)."""
    out = []
    for ref in config.get("cross_references") or []:
        target = ref["points_to"].replace("/", "|")
        out.extend((record_key(n), f"{target}|{n['linked_record_id']}", ref["name"]) for n in nodes
                   if n["source"] == ref["source"] and n["stream"] == ref["stream"] and n.get("linked_record_id"))
    return out


def _consent_facts(conn: sa.Connection) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    """Consent facts by the record they belong to, and by email match key."""
    by_record: dict[str, list[dict]] = defaultdict(list)
    by_email: dict[str, list[dict]] = defaultdict(list)
    for fact in fetch_dicts(conn, sa.select(consents).where(consents.c.channel == "email")):
        if fact["contact_record_id"]:
            by_record[f"{fact['source']}|{fact['contact_stream']}|{fact['contact_record_id']}"].append(fact)
        if fact["email_match_key"]:
            by_email[fact["email_match_key"]].append(fact)
    return by_record, by_email


@without_cycle_collection
def resolve(engine: sa.Engine, run_id: str, *, retrain: bool = False,
            config: dict[str, Any] | None = None) -> dict[str, Any]:
    config = config or load_yaml("matching.yaml")["people"]
    survivorship = load_yaml("survivorship.yaml")
    rules = golden.field_rules(survivorship)
    manual = overrides.load()
    rates = {k: Decimal(str(v)) for k, v in load_yaml("currencies.yaml")["rates"].items()}
    now = datetime.now(UTC)
    digest = config_hash(config)
    with engine.connect() as conn:
        nodes, node_keys, typed = load_nodes(conn)
        previous, old_prints = stored_links(conn)
        trained = None if retrain else active_model(conn, digest)
        cache = feature_cache.path_for(engine)
        hashes = content_hashes(nodes)
        found = features_of(nodes, node_keys, cache, hashes)
        features = found.frame
        facts_by_record, facts_by_email = _consent_facts(conn)
        prints = fingerprints(found, nodes, hashes, facts_by_record, facts_by_email,
                              hashlib.sha1(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest())
        changed, touched = _changes(prints, old_prints)
        # without the feature cache, what changed records held before is unknown: a full run
        incremental = trained is not None and bool(old_prints) and found.before is not None and \
            len(touched) <= INCREMENTAL_SHARE * max(len(prints), 1)
        kept = _kept_edges(conn, features["unique_id"], changed) if incremental else []
        with_company, _ = _stored_customers(conn, customers.c.company_id.is_not(None)) if incremental else ({}, None)
        from include.identity import companies as company_resolution
        companies = company_resolution.resolve_companies(conn, run_id, now, [n for n in nodes if not n.get("guest")])

    scope = None
    if incremental:  # re-cluster only what a change reaches; every other customer stays as stored
        rebuild = {previous[k] for k in set(previous) - set(prints)}  # lost a record
        rebuild |= _companies_changed(previous, with_company, companies.company_of_person)
        scope = matching.Scope(previous, touched, rebuild, found.before)
    counts = [0 if n.get("guest") else 1 for n in nodes]  # a guest order adds no person to a cluster
    result = matching.match(features, config, trained, must_link=manual["must_link"], references=references(nodes, config),
                            cannot_link=manual["cannot_link"], changed=changed if incremental else None, kept=kept,
                            counts=counts, scope=scope)
    shape = _cluster_shape(nodes, counts, result.clusters.roots)
    keys = result.ids
    roots, inside = result.clusters.roots, result.reclustered
    # the clusters built this run: every one on a full run, those a change reached on an
    # incremental one (the others keep their last customer, untouched)
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(roots)) if inside is None else sorted(inside):
        members[roots[i]].append(i)
    previous_ids = set(previous.values())
    members_before: dict[str, set[str]] = defaultdict(set)  # of the last customers rebuilt
    if inside is None:
        customer_of_root, history = ids.assign({root: [keys[i] for i in idx] for root, idx in members.items()}, previous)
        ids_now = set(customer_of_root.values())
        gone, kept = previous_ids - ids_now, len(previous_ids & ids_now)
    else:  # reach takes whole customers: each last customer of a reached record is rebuilt here (or gone)
        redone = {previous[keys[i]] for i in inside if keys[i] in previous} | scope.stale_customers
        for key, cid in previous.items():
            if cid in redone:
                members_before[cid].add(key)
        customer_of_root, history = ids.assign(
            {root: [keys[i] for i in idx] for root, idx in members.items()},
            {k: c for c, held in members_before.items() for k in held}, reserved=previous_ids)
        ids_now = set(customer_of_root.values())
        gone, kept = redone - ids_now, len(previous_ids - redone) + len(redone & ids_now)

    evidence = _first_links(result)
    customer_rows, link_rows, lineage_rows = [], [], []
    consent_config = survivorship["consent"]
    affected: set[str] = set()  # customers whose rows are (re)written; every one on a full run
    # those a change reached (every one on a full run), in customer-id order: customers and lineage then
    # go into their primary-key indexes in order (random ids cost SQLite 7 of 29 s inserting 4M
    # lineage rows at 1M records); the others stay as stored
    built = members.items()
    stored, convert_stored = ({}, None)
    if incremental:
        with engine.connect() as conn:
            stored, convert_stored = _stored_customers(conn, *[
                customers.c.customer_id.in_(chunk) for chunk in _chunked(sorted({customer_of_root[r] for r, _ in built}))])
    # one transaction, opened before the rows are built: a full run writes them chunk by chunk into
    # emptied tables, and a chunk is freed once written (1M records: peak 4.8 GB against 6.0 GB);
    # an incremental run first deletes the rows of the customers it rewrites, so it writes at the end
    with engine.begin() as conn:
        if not incremental:
            for table in CUSTOMER_TABLES:
                conn.execute(table.delete())
        for root, idx in sorted(built, key=lambda item: customer_of_root[item[0]]):
            records = [typed(nodes[i]) for i in idx]
            customer_id = customer_of_root[root]
            facts = _facts_for(records, facts_by_record, facts_by_email)
            status, consent_at, _ = golden.consent(facts, consent_config)
            company_id = next((c for c in (companies.company_of_person.get((r["source"], r["stream"], r["record_id"]))
                                           for r in records) if c), None)
            sources = sorted({r["source"] for r in records})
            if incremental:  # a customer whose records, membership, consent and company are as stored stays as is
                members_now = {keys[i] for i in idx}
                if not members_now & touched and members_now == members_before.get(customer_id) and \
                        _as_stored(stored.get(customer_id), convert_stored) == (status, _naive_utc(consent_at), company_id):
                    continue
            affected.add(customer_id)
            values, lineage = golden.golden(records, rules, {"customer_id": customer_id, "run_id": run_id})
            customer_rows.append({
                "customer_id": customer_id, **values, "company_id": company_id,
                "email_consent": status, "email_consent_at": consent_at, "can_email": status == "subscribed",
                "source_count": len(sources), "record_count": len(records), "sources": ",".join(sources),
                "updated_at": now, "run_id": run_id})
            lineage_rows.extend(lineage)
            link_rows.extend({"source": nodes[i]["source"], "stream": nodes[i]["stream"], "record_id": nodes[i]["record_id"],
                              "customer_id": customer_id, "matched_by": evidence.get(i, "single record"),
                              "fingerprint": prints[keys[i]], "run_id": run_id} for i in idx)
            if not incremental and len(customer_rows) >= WRITE_CHUNK:
                _write_customers(conn, customer_rows, link_rows, lineage_rows)
                customer_rows, link_rows, lineage_rows = [], [], []
        link_evidence = [_link_row(e, keys, cid, run_id) for e in result.clusters.accepted
                         if (cid := customer_of_root[result.clusters.roots[e.left]]) in affected]
        if incremental:  # only customers that changed (and those gone) are rewritten
            _delete_customers(conn, affected | gone)
        _write_customers(conn, customer_rows, link_rows, lineage_rows)
        append_rows(conn, customer_links, link_evidence)
        if not incremental:  # rewritten whole: the next run's deletes by customer id plan from these
            refresh_statistics(conn, *CUSTOMER_TABLES)
        order_stats = core_orders.refresh(conn, rates, run_id)  # after customer_sources: it joins them
        append_rows(conn, customer_id_history, [{**h, "run_id": run_id, "changed_at": now} for h in history])
        append_rows(conn, identity_issues, _issues(result, keys, run_id))
        company_resolution.write(conn, companies)
        if result.model is not None and result.model is not trained:
            conn.execute(identity_models.update().values(active=False))
            append_rows(conn, identity_models, [{
                "model_id": "M" + hashlib.sha1(f"{run_id}|{now.isoformat()}".encode()).hexdigest()[:16],
                "config_hash": digest, "model_json": json.dumps(result.model),
                "records": len(keys), "active": True, "trained_at": now, "run_id": run_id}])
    found.save(cache)
    return _stats(nodes, result, shape, len(affected | gone), order_stats, history, kept,
                  incremental, companies.stats) | {
        "features_computed": found.computed}


def _write_customers(conn: sa.Connection, customer_rows: list[dict], link_rows: list[dict],
                     lineage_rows: list[dict]) -> None:
    for table, rows in ((customers, customer_rows), (customer_sources, link_rows), (customer_field_lineage, lineage_rows)):
        append_rows(conn, table, rows)


def _facts_for(records: list[dict[str, Any]], by_record: dict[str, list[dict]],
               by_email: dict[str, list[dict]]) -> list[dict[str, Any]]:
    facts: dict[tuple, dict[str, Any]] = {}
    for r in records:
        if not r.get("guest") and r.get("email_consent") not in (None, "unknown"):
            stated = {"status": r["email_consent"], "recorded_at": r.get("email_consent_at") or r.get("source_updated_at"),
                      "explicit": False, "source": r["source"]}
            facts[("stated", record_key(r))] = stated
        for fact in by_record.get(record_key(r), []) + by_email.get(r.get("email_match_key") or "", []):
            facts[(fact["source"], fact["stream"], fact["record_id"], fact["channel"])] = fact
    return list(facts.values())


def _first_links(result: matching.MatchResult) -> dict[int, str]:
    """A short reason per record: the first accepted link that brought it into its cluster."""
    out: dict[int, str] = {}
    for e in result.clusters.accepted:
        why = e.rule if e.rule != "model" else f"model (weight {e.weight:.1f})"
        out.setdefault(e.right, f"{why} with {result.ids[e.left]}")
        out.setdefault(e.left, f"{why} with {result.ids[e.right]}")
    return out


def _link_row(e: Edge, keys: list[str], customer_id: str, run_id: str) -> dict[str, Any]:
    finite = not math.isinf(e.weight)
    return {"left_key": keys[e.left], "right_key": keys[e.right], "customer_id": customer_id, "rule": e.rule,
            "match_weight": e.weight if finite else None,
            "match_probability": e.detail.get("probability") if finite else None,
            "evidence": json.dumps(e.detail.get("weights") or {}), "run_id": run_id}


def _issues(result: matching.MatchResult, keys: list[str], run_id: str) -> list[dict[str, Any]]:
    rows = [{"run_id": run_id, "kind": "blocklisted" if g["reason"] == "blocklist" else "shared_identifier",
             "subject": f"{g['column']}={g['value']}"[:400], "records": g["records"], "reason": g["reason"]}
            for g in result.guard_report]
    rows += [{"run_id": run_id, "kind": "refused_link", "subject": f"{keys[e.left]} ~ {keys[e.right]}"[:400],
              "records": 2, "reason": f"{reason} ({e.rule}, weight {e.weight:.1f})"}
             for e, reason in result.clusters.refused]
    return rows


def _stored_customers(conn: sa.Connection, *conditions: sa.ColumnElement[bool]
                      ) -> tuple[dict[str, dict[str, Any]], Converter | None]:
    """What an incremental run compares besides records: the consent and company of the customers
    meeting any of `conditions` (those a change reached, or those with a company: reading all of
    them took 1.9 s of a 50-60 s incremental run at 1M), as the driver gives them, and what
    converts one."""
    c = customers.c
    stored: dict[str, dict[str, Any]] = {}
    convert = None
    for condition in conditions:
        rows, convert = fetch_driver_dicts(conn, sa.select(c.customer_id, c.email_consent, c.email_consent_at,
                                                           c.company_id).where(condition))
        stored.update((r["customer_id"], r) for r in rows)
    return stored, convert


def _chunked(values: list[str], size: int = 500) -> list[list[str]]:
    """Short enough for one IN list on every database."""
    return [values[start:start + size] for start in range(0, len(values), size)]


def _as_stored(row: dict[str, Any] | None, convert: Converter) -> tuple | None:
    if row is None:
        return None
    row = convert(dict(row))
    return row["email_consent"], _naive_utc(row["email_consent_at"]), row["company_id"]


def _naive_utc(value: datetime | None) -> datetime | None:
    """One form for datetimes read back from SQLite (naive UTC) and PostgreSQL (aware)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _delete_customers(conn: sa.Connection, customer_ids: set[str]) -> None:
    """The rows of these customers, before an incremental run writes them again (or not: gone)."""
    for table in CUSTOMER_TABLES:
        for chunk in _chunked(sorted(customer_ids)):
            conn.execute(table.delete().where(table.c.customer_id.in_(chunk)))


def _cluster_shape(nodes: list[dict[str, Any]], counts: list[int], roots: list[int]) -> dict[str, int]:
    """Counts over every customer, by array arithmetic: an incremental run leaves most customers
    unvisited, and a Python pass over a million records costs seconds."""
    roots_array = np.asarray(roots, dtype=np.int64)
    size = len(roots_array)
    contact = np.asarray(counts, dtype=bool)  # person records, not guest orders
    source_codes, sources = pd.factorize(pd.Series([n["source"] for n in nodes], dtype=object))
    # roots are positions: a count per position stands for a set of customers (np.unique sorts)
    customers = int(np.count_nonzero(np.bincount(roots_array, minlength=size)))
    contact_sizes = np.bincount(roots_array[contact], minlength=size)
    contact_customers = int(np.count_nonzero(contact_sizes))
    sources_per_customer = sum((np.bincount(roots_array[source_codes == code], minlength=size) > 0).astype(np.int64)
                               for code in range(len(sources)))
    return {"contact_records": int(contact.sum()), "guest_orders": int(size - contact.sum()),
            "customers": customers, "customers_from_guest_orders_only": customers - contact_customers,
            "duplicates_merged": int(contact.sum()) - contact_customers,
            "multi_source_customers": int(np.count_nonzero(sources_per_customer > 1)),
            "largest_cluster": int(contact_sizes.max(initial=0))}


def _stats(nodes, result, shape, rewritten, order_stats, history, customer_ids_kept, incremental,
           company_stats) -> dict[str, Any]:
    changes = defaultdict(int)
    for h in history:
        changes[h["change"]] += 1
    refused = defaultdict(int)
    for _e, reason in result.clusters.refused:
        refused[reason.split(" (")[0]] += 1
    return {**shape, "customers_rewritten": rewritten, "links_by_rule": _by_rule(result),
            "pairs_scored": result.pairs_scored, "refused_links": dict(refused),
            "identifiers_taken_out": len(result.guard_report), "mode": "incremental" if incremental else "full",
            "records_rescored": len(nodes) if result.rescored is None else result.rescored,
            "records_reclustered": len(nodes) if result.reclustered is None else len(result.reclustered),
            **order_stats,
            "customer_ids_kept": customer_ids_kept,
            "id_changes": dict(changes), "companies": company_stats}


def _by_rule(result: matching.MatchResult) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for e in result.clusters.accepted:
        out[e.rule] += 1
    return dict(out)
