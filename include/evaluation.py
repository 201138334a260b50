"""Accuracy of identity resolution against a ground-truth file (the sandbox generator writes one).

Pairwise precision/recall over the person records (customers, members, contacts) that reached
staging, exact-cluster precision/recall (customers that are exactly one true person's records /
true persons reproduced exactly), plus the false merges explained: clusters that hold more than one true person, and how
many of those are households. Guest orders are left out: their pairs are trivially easy.

The recall ceiling reads how much of the truth a resolver could find without linking on a name
alone: true pairs whose records are joined by evidence beyond a name (a shared e-mail, phone,
address, birth date or cross-reference, directly or through the person's other records). A
missed pair above it is the resolver's; one below it costs a name-only link, which links
namesakes too.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from include.config import load_yaml
from include.identity.ids import record_key
from include.identity.resolve import references
from include.warehouse.schema import customer_sources, person_records

ORDER_STREAMS = {"orders", "invoices"}
# The ground truth names streams as the systems do; the warehouse uses Seam's stream names.
STREAM_ALIASES = {("quickbooks", "Customer"): "customers", ("quickbooks", "Invoice"): "invoices",
                  ("quickbooks", "Payment"): "payments"}


def load_truth(path: Path) -> dict[tuple[str, str, str], dict[str, str]]:
    truth = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            stream = STREAM_ALIASES.get((row["source"], row["stream"]), row["stream"])
            truth[(row["source"], stream, row["record_id"])] = row
    return truth


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def evidence_pairs(conn: sa.Connection, truth: dict[tuple[str, str, str], dict[str, str]]) -> int:
    """True pairs whose records share evidence beyond a name, directly or through the person's other records."""
    p = person_records.c
    nodes = [dict(r._mapping) for r in conn.execute(sa.select(
        p.source, p.stream, p.record_id, p.email_match_key, p.phone, p.phone_alt, p.date_of_birth,
        p.address_line1, p.postcode, p.linked_record_id)) if (r.source, r.stream, r.record_id) in truth]
    at = {record_key(n): i for i, n in enumerate(nodes)}
    person = [truth[(n["source"], n["stream"], n["record_id"])]["person_id"] for n in nodes]
    first_holder: dict[tuple[str, str, object], int] = {}
    edges = []
    for i, n in enumerate(nodes):
        address = (" ".join(str(n["address_line1"]).casefold().split()), n["postcode"]) \
            if n["address_line1"] and n["postcode"] else None
        for kind, value in (("email", n["email_match_key"]), ("phone", n["phone"]), ("phone", n["phone_alt"]),
                            ("born", n["date_of_birth"]), ("address", address)):
            if value is not None:
                edges.append((i, first_holder.setdefault((person[i], kind, value), i)))
    for key, target, _ in references(nodes, load_yaml("matching.yaml")["people"]):
        if target in at and person[at[key]] == person[at[target]]:
            edges.append((at[key], at[target]))
    left, right = zip(*edges, strict=True) if edges else ((), ())
    graph = coo_matrix((np.ones(len(edges)), (left, right)), shape=(len(nodes), len(nodes)))
    _, component = connected_components(graph, directed=False)
    return sum(_pairs(n) for n in np.bincount(component).tolist())


def evaluate(engine: sa.Engine, truth_path: Path) -> dict[str, Any]:
    truth = load_truth(truth_path)
    with engine.connect() as conn:
        links = conn.execute(sa.select(customer_sources.c.source, customer_sources.c.stream,
                                       customer_sources.c.record_id, customer_sources.c.customer_id)).all()
        reachable = evidence_pairs(conn, truth)
    by_customer: dict[str, list[dict[str, str]]] = defaultdict(list)
    missing = 0
    for source, stream, record_id, customer_id in links:
        if stream in ORDER_STREAMS:
            continue
        row = truth.get((source, stream, record_id))
        if row is None:
            missing += 1
            continue
        by_customer[customer_id].append(row)
    both: Counter[tuple[str, str]] = Counter()
    persons: Counter[str] = Counter()
    false_merges = household_merges = 0
    for customer_id, rows in by_customer.items():
        people = {r["person_id"] for r in rows}
        for r in rows:
            both[(customer_id, r["person_id"])] += 1
            persons[r["person_id"]] += 1
        if len(people) > 1:
            false_merges += 1
            households = {r["household_id"] for r in rows}
            household_merges += len(households) == 1 and "" not in households
    truth_sets: dict[str, set[str]] = defaultdict(set)
    for rows in by_customer.values():
        for r in rows:
            truth_sets[r["person_id"]].add(f"{r['source']}|{r['stream']}|{r['record_id']}")
    predicted_sets = {frozenset(f"{r['source']}|{r['stream']}|{r['record_id']}" for r in rows)
                      for rows in by_customer.values()}
    exact = len(predicted_sets & {frozenset(s) for s in truth_sets.values()})
    true_positive = sum(_pairs(n) for n in both.values())
    predicted = sum(_pairs(len(rows)) for rows in by_customer.values())
    actual = sum(_pairs(n) for n in persons.values())
    precision = true_positive / predicted if predicted else 1.0
    recall = true_positive / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"records": sum(persons.values()), "records_without_truth": missing, "true_persons": len(persons),
            "customers": len(by_customer), "pair_precision": round(precision, 4), "pair_recall": round(recall, 4),
            "pair_f1": round(f1, 4),
            "pair_recall_ceiling": round(reachable / actual, 4) if actual else 1.0,
            "name_only_pairs": actual - reachable,
            "cluster_precision": round(exact / len(predicted_sets), 4) if predicted_sets else 1.0,
            "cluster_recall": round(exact / len(truth_sets), 4) if truth_sets else 1.0,
            "false_positive_pairs": predicted - true_positive, "false_negative_pairs": actual - true_positive,
            "false_merge_clusters": false_merges,
            "household_false_merges": household_merges}
