"""Identity resolution (deterministic) and golden records.

Records that share a normalised email or E.164 phone are joined (union-find); guest orders take
part as records of their own. customer_id is kept stable across runs: a cluster inherits the id
most of its records already had, and a new cluster gets an id derived from its smallest record key.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from include.config import load_yaml
from include.warehouse import replace_rows
from include.warehouse.schema import customer_sources, customers, order_records, orders, person_records

GOLDEN_FIELDS = ("first_name", "last_name", "company", "email", "phone", "city", "country")
REVENUE_STATUSES = {"completed", "open"}


class UnionFind:
    def __init__(self, size: int):
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def new_customer_id(record_key: str) -> str:
    return "C" + hashlib.sha1(record_key.encode()).hexdigest()[:12].upper()


def _record_key(r: dict[str, Any]) -> str:
    return f"{r['source']}|{r['stream']}|{r['record_id']}"


def _load_nodes(conn: sa.Connection) -> list[dict[str, Any]]:
    nodes = [dict(r) for r in conn.execute(sa.select(person_records)).mappings()]
    guests = sa.select(order_records).where(order_records.c.contact_record_id.is_(None))
    for r in conn.execute(guests).mappings():
        nodes.append({**dict(r), "phone_alt": None, "company": None, "city": None, "country": None,
                      "email_consent": "unknown", "guest": True})
    nodes.sort(key=_record_key)
    return nodes


def cluster(nodes: list[dict[str, Any]], config: dict[str, Any]) -> tuple[list[int], list[str]]:
    """Cluster index per node, and the identifier that first linked each node (evidence)."""
    uf = UnionFind(len(nodes))
    blocked = {k: set(v) for k, v in (config.get("blocklist") or {}).items()}
    first_seen: dict[tuple[str, str], int] = {}
    evidence = ["single record"] * len(nodes)
    for i, node in enumerate(nodes):
        for field in config["match_on"]:
            value = node.get(field)
            kind = "phone" if field.startswith("phone") else field
            if not value or value in blocked.get(kind, ()) or value in blocked.get(field, ()):
                continue
            j = first_seen.setdefault((kind, value), i)
            if j != i:
                if uf.find(i) != uf.find(j):
                    evidence[i] = f"{kind} shared with {_record_key(nodes[j])}"
                    if evidence[j] == "single record":  # the earlier record names its partner too
                        evidence[j] = f"{kind} shared with {_record_key(nodes[i])}"
                uf.union(i, j)
    return [uf.find(i) for i in range(len(nodes))], evidence


def assign_ids(keys_by_cluster: dict[int, list[str]], previous: dict[str, str]) -> dict[int, str]:
    """Stable ids: each previous id goes to the cluster holding most of its records."""
    claims: list[tuple[int, str, int]] = []
    for root, keys in keys_by_cluster.items():
        for old_id, count in Counter(previous[k] for k in keys if k in previous).items():
            claims.append((count, old_id, root))
    claims.sort(key=lambda c: (-c[0], c[1]))
    ids: dict[int, str] = {}
    taken: set[str] = set()
    for _count, old_id, root in claims:
        if root not in ids and old_id not in taken:
            ids[root] = old_id
            taken.add(old_id)
    for root, keys in keys_by_cluster.items():
        if root not in ids:
            ids[root] = new_customer_id(min(keys))
    return ids


def _golden(records: list[dict[str, Any]], priority: list[str], strictness: list[str]) -> dict[str, Any]:
    rank = {s: i for i, s in enumerate(priority)}
    epoch = datetime(1970, 1, 1, tzinfo=UTC)

    def order(r: dict[str, Any]) -> tuple:
        updated = r.get("source_updated_at") or epoch
        if updated.tzinfo is None:
            updated = updated.replace(tzinfo=UTC)
        return rank.get(r["source"], len(rank)), -updated.timestamp()

    ranked = sorted(records, key=order)
    golden = {f: next((r[f] for r in ranked if r.get(f)), None) for f in GOLDEN_FIELDS}
    consents = {r["email_consent"] for r in records}
    golden["email_consent"] = next((c for c in strictness if c in consents), "unknown")
    golden["can_email"] = golden["email_consent"] == "subscribed"
    return golden


def resolve(engine: sa.Engine, run_id: str) -> dict[str, Any]:
    config = load_yaml("identity.yaml")
    rates = {k: Decimal(str(v)) for k, v in load_yaml("currencies.yaml")["rates"].items()}
    now = datetime.now(UTC)
    with engine.connect() as conn:
        nodes = _load_nodes(conn)
        previous = {f"{s}|{st}|{rid}": cid for s, st, rid, cid in conn.execute(sa.select(
            customer_sources.c.source, customer_sources.c.stream, customer_sources.c.record_id,
            customer_sources.c.customer_id))}
        order_rows = [dict(r) for r in conn.execute(sa.select(order_records)).mappings()]
    roots, evidence = cluster(nodes, config)
    members: dict[int, list[int]] = defaultdict(list)
    for i, root in enumerate(roots):
        members[root].append(i)
    ids = assign_ids({root: [_record_key(nodes[i]) for i in idx] for root, idx in members.items()}, previous)

    customer_rows, link_rows = [], []
    for root, idx in members.items():
        records = [nodes[i] for i in idx]
        sources = sorted({r["source"] for r in records})
        customer_rows.append({
            "customer_id": ids[root], **_golden(records, config["source_priority"], config["consent_strictness"]),
            "source_count": len(sources), "record_count": len(records), "sources": ",".join(sources),
            "updated_at": now, "run_id": run_id})
        link_rows.extend({"source": nodes[i]["source"], "stream": nodes[i]["stream"],
                          "record_id": nodes[i]["record_id"], "customer_id": ids[root],
                          "matched_by": evidence[i], "run_id": run_id} for i in idx)

    customer_of = {(r["source"], r["stream"], r["record_id"]): r["customer_id"] for r in link_rows}
    core_orders, unlinked = [], 0
    for o in order_rows:
        if o["contact_record_id"]:
            customer_id = customer_of.get((o["source"], o["contact_stream"], o["contact_record_id"]))
        else:
            customer_id = customer_of.get((o["source"], o["stream"], o["record_id"]))
        unlinked += customer_id is None
        amount = Decimal(str(o["amount"]))
        core_orders.append({
            "source": o["source"], "stream": o["stream"], "record_id": o["record_id"], "customer_id": customer_id,
            "status": o["status"], "amount": amount, "currency": o["currency"],
            "amount_reporting": (amount * rates[o["currency"]]).quantize(Decimal("0.01")),
            "ordered_at": o["ordered_at"], "counts_as_revenue": o["status"] in REVENUE_STATUSES, "run_id": run_id})

    with engine.begin() as conn:
        replace_rows(conn, customers, customer_rows)
        replace_rows(conn, customer_sources, link_rows)
        replace_rows(conn, orders, core_orders)
    contact_roots = [roots[i] for i, n in enumerate(nodes) if not n.get("guest")]
    per_customer = Counter(contact_roots)
    guest_only = len(members) - len(per_customer)
    return {"contact_records": len(contact_roots), "guest_orders": len(nodes) - len(contact_roots),
            "customers": len(customer_rows), "customers_from_guest_orders_only": guest_only,
            "duplicates_merged": len(contact_roots) - len(per_customer),
            "multi_source_customers": sum(1 for c in customer_rows if c["source_count"] > 1),
            "largest_cluster": max(per_customer.values(), default=0),
            "orders": len(core_orders), "orders_without_customer": unlinked,
            "customer_ids_kept": sum(1 for cid in ids.values() if cid in set(previous.values()))}
