"""`seam identity explain | split | simulate`: look into, correct and try out identity resolution."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

import sqlalchemy as sa
import yaml

from include.identity import overrides
from include.summary import table
from include.warehouse.schema import (
    customer_field_lineage,
    customer_id_history,
    customer_links,
    customer_sources,
    customers,
    order_records,
    person_records,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    ident = sub.add_parser("identity", help="explain, split, simulate or retrain identity resolution")
    ident.add_argument("action", choices=["explain", "split", "simulate", "retrain"])
    ident.add_argument("customer_id", nargs="?", help="explain/split: the customer")
    ident.add_argument("records", nargs="*", help="split: records (source/stream/record_id) to separate from the rest")
    ident.add_argument("--reason", default="split by hand", help="split: why (kept in the overrides file)")
    ident.add_argument("--config", help="simulate: the matching YAML to try (default mappings/matching.yaml)")
    ident.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from include.pipeline import warehouse

    engine = warehouse()
    if args.action == "simulate":
        return simulate(engine, Path(args.config) if args.config else None)
    if args.action == "retrain":
        return retrain(engine)
    if not args.customer_id:
        print(f"seam: identity {args.action} needs a customer id", file=sys.stderr)
        return 2
    if args.action == "explain":
        return explain(engine, args.customer_id)
    return split(engine, args.customer_id, args.records, args.reason)


def _members(conn: sa.Connection, customer_id: str) -> list[sa.Row]:
    """The customer's records: person records, and guest orders (no person record) with the name,
    e-mail and phone they were placed under."""
    cs, p, o = customer_sources.c, person_records.c, order_records.c

    def either(field: str) -> sa.ColumnElement:
        return sa.func.coalesce(p[field], o[field])

    def same_record(t: sa.Table) -> sa.ColumnElement[bool]:
        return sa.and_(t.c.source == cs.source, t.c.stream == cs.stream, t.c.record_id == cs.record_id)

    return conn.execute(
        sa.select(cs.source, cs.stream, cs.record_id, either("first_name"), either("last_name"), either("email"),
                  either("phone"), p.email_consent, cs.matched_by)
        .select_from(customer_sources)
        .outerjoin(person_records, same_record(person_records))
        .outerjoin(order_records, same_record(order_records))
        .where(cs.customer_id == customer_id)
        .order_by(cs.source, cs.record_id)).all()


def explain(engine: sa.Engine, customer_id: str) -> int:
    """The golden record with each value's source, the cluster's records, and why each pair joined."""
    with engine.connect() as conn:
        golden = conn.execute(sa.select(customers).where(customers.c.customer_id == customer_id)).mappings().first()
        if golden is None:
            history = conn.execute(sa.select(customer_id_history).where(
                customer_id_history.c.old_customer_id == customer_id)).mappings().all()
            where = "; ".join(f"{h['change']} -> {h['new_customer_id']} ({h['reason']})" for h in history)
            print(f"seam: no customer {customer_id}" + (f"; it was {where}" if where else ""), file=sys.stderr)
            return 1
        lineage = {r.field: r for r in conn.execute(sa.select(customer_field_lineage).where(
            customer_field_lineage.c.customer_id == customer_id))}
        members = _members(conn, customer_id)
        links = conn.execute(sa.select(customer_links).where(customer_links.c.customer_id == customer_id)
                             .order_by(customer_links.c.match_weight.desc())).mappings().all()
        history = conn.execute(sa.select(customer_id_history).where(sa.or_(
            customer_id_history.c.old_customer_id == customer_id, customer_id_history.c.new_customer_id == customer_id))
            .order_by(customer_id_history.c.id)).mappings().all()
    rows = []
    for key, value in golden.items():
        if key in ("run_id", "updated_at"):
            continue
        origin = lineage.get(key)
        rows.append((key, value, f"{origin.source}/{origin.stream}/{origin.record_id} ({origin.rule})" if origin else ""))
    print(table(["field", "golden value", "from"], rows))
    print(f"\n{len(members)} source record(s)")
    print(table(["source", "stream", "record", "first", "last", "email", "phone", "consent", "joined because"], members))
    if links:
        print("\nWhy each pair was joined (strongest first; weights are log2 Bayes factors per comparison)")
        out = []
        for link in links:
            weights = json.loads(link["evidence"] or "{}")
            detail = ", ".join(f"{k} {v:+.1f}" for k, v in weights.items() if v) or "shared identifier, names agree"
            weight = "" if link["match_weight"] is None else f"{link['match_weight']:.1f}"
            out.append((overrides.record_name(link["left_key"]), overrides.record_name(link["right_key"]),
                        link["rule"], weight, detail))
        print(table(["record", "record", "rule", "weight", "evidence"], out))
    if history:
        print("\nId history")
        print(table(["run", "old id", "new id", "change", "reason"], [
            (h["run_id"], h["old_customer_id"], h["new_customer_id"], h["change"], h["reason"]) for h in history]))
    return 0


def split(engine: sa.Engine, customer_id: str, records: list[str], reason: str) -> int:
    """Separate records from the rest of a customer for good: cannot-link overrides, applied every run."""
    with engine.connect() as conn:
        members = [f"{r.source}|{r.stream}|{r.record_id}" for r in _members(conn, customer_id)]
    if not members:
        print(f"seam: no customer {customer_id}", file=sys.stderr)
        return 1
    if not records:
        print("seam: name the record(s) to split off, e.g. seam identity split "
              f"{customer_id} {overrides.record_name(members[0])}", file=sys.stderr)
        return 2
    chosen = [overrides.record_key(r) for r in records]
    stray = [overrides.record_name(k) for k in chosen if k not in members]
    if stray:
        print(f"seam: {', '.join(stray)} not in customer {customer_id}", file=sys.stderr)
        return 2
    rest = [m for m in members if m not in chosen]
    if not rest:
        print("seam: that is every record of the customer; name the ones to separate", file=sys.stderr)
        return 2
    pairs = [(a, b) for a in chosen for b in rest]
    overrides.add("cannot_link", pairs, f"{reason} (was {customer_id})")
    print(f"{len(pairs)} cannot-link pair(s) written to {overrides.path()}; they apply from the next "
          "unify run (`seam run --stage unify`)")
    return 0


def retrain(engine: sa.Engine) -> int:
    """Re-estimate the model on the current records (EM, no labels) and resolve with it. Runs reuse
    the saved model otherwise, so a growing warehouse does not silently shift every weight."""
    from datetime import UTC, datetime

    from include.identity.resolve import resolve

    run_id = "retrain-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    stats = resolve(engine, run_id, retrain=True)
    print(f"model retrained on {stats['contact_records'] + stats['guest_orders']} records and made active "
          f"(run {run_id}); {stats['customers']} customers, id changes: {stats['id_changes'] or 'none'}")
    return 0


def simulate(engine: sa.Engine, config_path: Path | None) -> int:
    """Which customers a matching config would join or split, before anything is applied."""
    from include.config import load_yaml
    from include.identity import engine as matching
    from include.identity.resolve import (
        active_model,
        config_hash,
        features_of,
        load_nodes,
        references,
        stored_links,
    )

    config = (yaml.safe_load(config_path.read_text(encoding="utf-8")) if config_path else load_yaml("matching.yaml"))
    config = config["people"]
    manual = overrides.load()
    with engine.connect() as conn:
        nodes, node_keys, _typed = load_nodes(conn)  # features need no typed values
        trained = active_model(conn, config_hash(config))  # same comparisons: the same weights, no EM noise
        current, _ = stored_links(conn)
    result = matching.match(features_of(nodes, node_keys).frame, config, trained, must_link=manual["must_link"],
                            references=references(nodes, config),
                            cannot_link=manual["cannot_link"], counts=[0 if n.get("guest") else 1 for n in nodes])
    clusters: dict[int, list[str]] = defaultdict(list)
    for key, root in zip(result.ids, result.clusters.roots, strict=True):
        clusters[root].append(key)
    now_in: dict[str, set[int]] = defaultdict(set)
    joins = []
    for root, keys in clusters.items():
        olds = {current[k] for k in keys if k in current}
        for old in olds:
            now_in[old].add(root)
        if len(olds) > 1:
            joins.append(sorted(olds))
    splits = sorted(old for old, roots in now_in.items() if len(roots) > 1)
    changed = {c for group in joins for c in group} | set(splits)
    new_records = sum(1 for k in result.ids if k not in current)
    model_note = "the saved model" if trained else "a model trained now on these records"
    print(f"Simulated {len(result.ids)} records with {config_path or 'mappings/matching.yaml'} and {model_note} "
          "(nothing written)")
    print(table(["measure", "value"], [
        ("customers now", len(set(current.values()))), ("customers with this config", len(clusters)),
        ("joins (current customers that would merge)", len(joins)), ("splits (current customers that would split)",
                                                                      len(splits)),
        ("customers that change", len(changed)), ("records not resolved yet", new_records),
        ("links by rule", dict(Counter(e.rule for e in result.clusters.accepted)))]))
    for label, items in (("would join", [" + ".join(g) for g in joins[:10]]), ("would split", splits[:10])):
        if items:
            print(f"\nFirst customers that {label}:\n  " + "\n  ".join(items))
    return 0
