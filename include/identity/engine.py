"""One matching engine for the pipeline and for `seam resolve`: guards, rules, model, clusters.

match() takes a feature frame (features.build) and the `people` section of matching.yaml and
returns clusters with their evidence. The Splink model is trained on the data when none is
given (expectation maximisation, no labels) and returned so the caller can save and reuse it.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from include.identity import collected_after, guards, model
from include.identity.clustering import Clusters, Edge, cluster
from include.identity.features import present
from include.identity.guards import names_agree

RULE_WEIGHT = math.inf  # deterministic links and must-links are taken before any model score
WEIGHT_PREFIX = "mw_"  # Splink: the match weight each comparison contributed


@dataclass
class Scope:
    """What an incremental run may re-cluster: the customers a change can reach. The rest keep the
    last run's clusters as they are, without being looked at again."""
    previous: dict[str, str]  # record key -> the customer id the last run gave it
    touched: set[str]  # records new or changed in any way (match features, other fields, consent)
    stale_customers: set[str]  # last run's customers to rebuild: one lost a record, or its company changed
    # features the changed and removed records held until now (feature_cache.Features.before): a
    # value they gave up can stop being shared, and its remaining holders then link
    before: pd.DataFrame | None = None


@dataclass
class MatchResult:
    ids: list[str]
    clusters: Clusters
    model: dict[str, Any] | None
    guard_report: list[dict[str, Any]]
    pairs_scored: int
    reclustered: set[int] | None = None  # positions clustered this run (None: every record)
    rescored: int | None = None  # records whose pairs were scored this run (None: every record)


def sharing(features: pd.DataFrame, scope: Scope) -> np.ndarray:
    """The touched records and every record sharing an identifier with one, as it is now or as it
    was before the change (compared before the guards, so a value that becomes shared, or stops
    being shared, is seen)."""
    is_touched = features["unique_id"].isin(scope.touched).to_numpy()
    values: dict[str, set] = defaultdict(set)
    for column, space in guards.IDENTIFIER_SPACES.items():
        for frame, rows in ((features, is_touched), (scope.before, None)):
            if frame is not None and column in frame:
                held = frame[column] if rows is None else frame.loc[rows, column]
                values[space].update(v for v in held.tolist() if v is not None and v == v)
    hit = is_touched.copy()
    for column, space in guards.IDENTIFIER_SPACES.items():
        if column in features and values[space]:
            hit |= features[column].isin(values[space]).to_numpy()
    return hit


@dataclass
class LastRun:
    """The last run's customer of each position, as slices of one stable sort: a dict of lists
    over every record cost seconds at a million, and a run reaches only a few customers."""
    codes: np.ndarray  # per position, an index into `customers` (-1: a record the last run did not see)
    customers: list[str]
    order: np.ndarray  # positions by customer, ascending within one
    bounds: np.ndarray  # customer c's positions: order[bounds[c]:bounds[c + 1]]

    @classmethod
    def of(cls, ids: list[str], previous: dict[str, str]) -> LastRun:
        codes, customers = pd.factorize(pd.Series([previous.get(key) for key in ids], dtype=object))
        order = np.argsort(codes, kind="stable")
        return cls(codes, customers.tolist(), order, np.searchsorted(codes[order], np.arange(len(customers) + 1)))

    def positions_of(self, customer: str) -> list[int]:
        code = self._code_of.get(customer)
        return [] if code is None else self.positions_of_code(code)

    def positions_of_code(self, code: int) -> list[int]:
        return self.order[self.bounds[code]:self.bounds[code + 1]].tolist()

    def first_positions(self) -> np.ndarray:
        """Each customer's smallest position, by customer code."""
        return self.order[self.bounds[:-1]]

    @functools.cached_property
    def _code_of(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.customers)}


def reach(scope: Scope, last: LastRun, edges: list[Edge], seeds: np.ndarray) -> set[int]:
    """Positions whose clusters a change can alter: the `seeds` (`sharing`), the whole last-run
    customer of each, customers gone stale, and, transitively, whatever a link (taken or refused)
    reaches."""
    neighbours: dict[int, list[int]] = defaultdict(list)
    for e in edges:
        neighbours[e.left].append(e.right)
        neighbours[e.right].append(e.left)
    inside: set[int] = set()
    queue = [int(p) for p in seeds.nonzero()[0]]
    queue += [p for customer in scope.stale_customers for p in last.positions_of(customer)]
    seen: set[int] = set()  # customer codes
    while queue:
        pos = queue.pop()
        if pos in inside:
            continue
        inside.add(pos)
        code = int(last.codes[pos])
        if code >= 0 and code not in seen:
            seen.add(code)
            queue.extend(last.positions_of_code(code))
        queue.extend(n for n in neighbours.get(pos, ()) if n not in inside)
    return inside


def deterministic_edges(features: pd.DataFrame, rules: list[dict[str, Any]]) -> list[Edge]:
    """Records sharing an identifier (after the guards): each holder is linked to the first earlier
    holder whose given names agree with its own, else to the first holder, a link clustering then
    refuses and reports (a family mailbox never joins the family's members)."""
    edges: list[Edge] = []
    names = features["first_key"].tolist()

    def partner(pos: int, earlier: list[int]) -> int | None:
        for h in earlier:
            if h != pos and names_agree(names[h], names[pos]):
                return h
        return next((h for h in earlier if h != pos), None)

    for rule in rules:
        column, other = rule["column"], rule.get("other_column")
        if column not in features or (other and other not in features):
            continue
        # only values a second record holds can link: the loops below see those rows alone
        linking = guards.repeated_values([features[column]]) if not other else \
            set(features[column].dropna().tolist()) & set(features[other].dropna().tolist())
        holders: dict[str, list[int]] = defaultdict(list)
        for pos, value in guards.held(features[column], linking):
            holders[value].append(pos)
        label = f"rule:{rule['name']}"
        if other:
            for pos, value in guards.held(features[other], linking):
                if value in holders:
                    found = partner(pos, holders[value])
                    if found is not None:
                        edges.append(Edge.of(found, pos, RULE_WEIGHT, label))
            continue
        for positions in holders.values():
            for i, pos in enumerate(positions[1:], 1):
                edges.append(Edge.of(partner(pos, positions[:i]), pos, RULE_WEIGHT, label))
    return edges


def model_edges(scored: pd.DataFrame, position: dict[str, int], overrides: dict[str, float]) -> list[Edge]:
    """Model links with their evidence: the weight each comparison gave. A link whose personal
    evidence (date of birth, national id) reaches the `overrides` weights may join records whose
    given names contradict (typos beyond tolerance, swapped names); contact points cannot."""
    parts = [c for c in scored.columns if c.startswith(WEIGHT_PREFIX) and not c.startswith("mw_tf_adj_")]
    edges = []
    columns = ["unique_id_l", "unique_id_r", "match_weight", "match_probability", *parts]
    for row in zip(*(scored[c].tolist() for c in columns), strict=True):
        weights = {name[len(WEIGHT_PREFIX):]: round(float(w), 2) for name, w in zip(parts, row[4:], strict=True)}
        personal = any(weights.get(k, -math.inf) >= v for k, v in overrides.items())
        edges.append(Edge.of(position[row[0]], position[row[1]], float(row[2]), "model",
                             {"weights": weights, "probability": float(row[3])}, may_join_names=personal))
    return in_record_order(edges)


def in_record_order(edges: list[Edge]) -> list[Edge]:
    """Model links by the positions of their records. Clustering takes the strongest first and
    keeps this order among equal weights, which decides which of two equal links is taken as
    evidence, or which of two contradicting records joins a third: never Splink's output order,
    which DuckDB's threads vary from run to run."""
    return sorted(edges, key=lambda e: (e.left, e.right))


def match(features: pd.DataFrame, config: dict[str, Any], trained: dict[str, Any] | None = None,
          must_link: list[tuple[str, str]] = (), cannot_link: list[tuple[str, str]] = (),
          changed: set[str] | None = None, kept: list[Edge] = (), counts: list[int] | None = None,
          references: list[tuple[str, str, str]] = (), scope: Scope | None = None) -> MatchResult:
    """Cluster the records. With `changed` (incremental run, model given) only pairs involving a
    changed record are scored; `kept` carries the model links between unchanged records from the
    last run (positions resolved by the caller through `ids`). With `scope` as well, only the
    customers a change can reach are clustered again (`reach`); every other record keeps its last
    cluster. `references` are (record, record, rule) source cross-references: links made by an
    integration, taken like rules."""
    guarded, report = guards.apply(features, config.get("guards") or {})
    ids = guarded["unique_id"].tolist()
    position = {uid: i for i, uid in enumerate(ids)}
    edges = deterministic_edges(guarded, config.get("deterministic") or [])
    edges += [Edge.of(position[a], position[b], RULE_WEIGHT, "must_link", may_join_names=True) for a, b in must_link
              if a in position and b in position]
    edges += [Edge.of(position[a], position[b], RULE_WEIGHT, f"rule:{name}", may_join_names=True)
              for a, b, name in references if a in position and b in position]
    seeds = None
    if scope is not None and changed is not None:
        overridden = {key for pair in (*must_link, *cannot_link) for key in pair}  # applied on every run
        seeds = sharing(features, replace(scope, touched=scope.touched | overridden))
        # a shared value's holders are scored again: its guard (shared or not) may have turned
        near = set(guarded["unique_id"][seeds].tolist())
        changed = changed | near
        kept = [e for e in kept if ids[e.left] not in near and ids[e.right] not in near]
    available = present(guarded)
    scored_count = 0
    if len(guarded) > 1:
        with collected_after():  # Splink's linkers leave reference cycles behind
            if trained is None:
                trained = model.train(guarded, config, available)
            threshold = float(config["threshold_match_weight"])
            if changed is not None:
                is_changed = guarded["unique_id"].isin(changed)
                scored = model.predict_changed(guarded, is_changed, trained, threshold)
            else:
                scored = model.predict(guarded, trained, threshold)
            scored_count = len(scored)
            overrides = (config.get("guards") or {}).get("names_may_differ_when") or {}
            # the last run's links and this run's in one order, as a full run would take them
            edges += in_record_order([*kept, *model_edges(scored, position, overrides)])
            del scored
    names = [(f, last) if f else None for f, last in zip(guarded["first_key"], guarded["last_key"], strict=True)]
    forbidden = {(position[a], position[b]) for a, b in cannot_link if a in position and b in position}
    max_size = int((config.get("guards") or {}).get("max_cluster_size", 50))
    inside = last = None
    if seeds is not None:
        forbidden_edges = [Edge.of(a, b, 0.0, "cannot_link") for a, b in forbidden]
        last = LastRun.of(ids, scope.previous)
        inside = reach(scope, last, edges + forbidden_edges, seeds)
        edges = [e for e in edges if e.left in inside and e.right in inside]
    clusters = cluster(len(ids), edges, names, forbidden, max_size, counts)
    if inside is not None:  # the rest keep the last run's clusters, rooted at each one's first record
        outside = np.ones(len(ids), dtype=bool)
        outside[list(inside)] = False  # reach takes whole customers: an outside record's are all outside
        roots = np.asarray(clusters.roots, dtype=np.int64)
        roots[outside] = last.first_positions()[last.codes[outside]]
        clusters.roots = roots.tolist()
    return MatchResult(ids, clusters, trained, report, scored_count, inside, None if changed is None else len(changed))
