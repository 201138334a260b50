"""Accuracy of identity resolution against a ground-truth file (the sandbox generator writes one).

Pairwise precision/recall over the person records (customers, members, contacts) that reached
staging, exact-cluster precision/recall (customers that are exactly one true person's records /
true persons reproduced exactly), plus the false merges explained: clusters that hold more than one true person, and how
many of those are households. Guest orders are left out: their pairs are trivially easy.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from include.warehouse.schema import customer_sources

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


def evaluate(engine: sa.Engine, truth_path: Path) -> dict[str, Any]:
    truth = load_truth(truth_path)
    with engine.connect() as conn:
        links = conn.execute(sa.select(customer_sources.c.source, customer_sources.c.stream,
                                       customer_sources.c.record_id, customer_sources.c.customer_id)).all()
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
            "cluster_precision": round(exact / len(predicted_sets), 4) if predicted_sets else 1.0,
            "cluster_recall": round(exact / len(truth_sets), 4) if truth_sets else 1.0,
            "false_positive_pairs": predicted - true_positive, "false_negative_pairs": actual - true_positive,
            "false_merge_clusters": false_merges,
            "household_false_merges": household_merges}
