"""Golden records: per-field survivorship (mappings/survivorship.yaml) with field lineage, and consent.

Each golden value names the record it came from and the rule that chose it, so a marketer can
ask "why is this the phone number?" and get a source record back (customer_field_lineage).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RULES = ("source_priority", "most_recent", "most_complete", "most_frequent")


class SurvivorshipError(ValueError):
    """mappings/survivorship.yaml names an unknown rule."""


def _aware(value: datetime | None) -> datetime:
    """A comparable moment: missing is the epoch, naive (SQLite) is UTC."""
    value = value or EPOCH
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _updated(record: dict[str, Any]) -> datetime:
    return _aware(record.get("source_updated_at"))


def field_rules(config: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    out = {}
    for field, spec in config["fields"].items():
        rule, priority = (spec, config["priority"]) if isinstance(spec, str) else (
            spec["rule"], spec.get("priority", config["priority"]))
        if rule not in RULES:
            raise SurvivorshipError(f"mappings/survivorship.yaml: fields.{field}: unknown rule {rule!r}; use one of {RULES}")
        out[field] = (rule, priority)
    return out


def choose(records: list[dict[str, Any]], field: str, rule: str, priority: list[str]) -> dict[str, Any] | None:
    """The record whose value survives, or None when no record has one. `records` come most
    recent first (ties in record-key order), as golden() passes them."""
    recent = having = [r for r in records if r.get(field) not in (None, "")]
    if not having:
        return None
    if rule == "most_recent":
        return recent[0]
    if rule == "source_priority":
        rank = {s: i for i, s in enumerate(priority)}
        return min(recent, key=lambda r: rank.get(r["source"], len(rank)))
    if rule == "most_complete":
        return max(recent, key=lambda r: len(str(r[field])))
    counts = Counter(str(r[field]).casefold() for r in having)
    return max(recent, key=lambda r: counts[str(r[field]).casefold()])


def consent(facts: list[dict[str, Any]], config: dict[str, Any]) -> tuple[str, datetime | None, dict[str, Any] | None]:
    """(status, when, deciding fact). An opt-out anywhere wins over an opt-in elsewhere, unless the
    opt-in is explicit and newer than every opt-out (the person subscribed again)."""
    strictness = config["strictness"]
    known = [f for f in facts if f["status"] in strictness and f["status"] != "unknown"]
    if not known:
        return "unknown", None, None
    opt_outs = [f for f in known if f["status"] in config["opt_out"]]
    opt_ins = [f for f in known if f["status"] in config["opt_in"] and f.get("explicit")]
    latest_in = max(opt_ins, key=lambda f: _when(f), default=None)
    if opt_outs and latest_in and _when(latest_in) > max(_when(f) for f in opt_outs):
        return latest_in["status"], latest_in.get("recorded_at"), latest_in
    rank = {s: i for i, s in enumerate(strictness)}
    decider = min(known, key=lambda f: (rank[f["status"]], -_when(f).timestamp()))
    return decider["status"], decider.get("recorded_at"), decider


def _when(fact: dict[str, Any]) -> datetime:
    return _aware(fact.get("recorded_at"))


def golden(records: list[dict[str, Any]], rules: dict[str, tuple[str, list[str]]],
           stamp: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Golden values and their lineage rows (field, source record, rule), each row starting with
    `stamp` (its customer and run: a run writes millions of these rows, so each is built once)."""
    stamp = stamp or {}
    values: dict[str, Any] = {}
    lineage = []
    if len(records) == 1:  # most customers: every value comes from the one record, whatever the rule
        record = records[0]
        for field, (rule, _priority) in rules.items():
            value = record.get(field)
            values[field] = None if value in (None, "") else value
            if values[field] is not None:
                lineage.append({**stamp, "field": field, "source": record["source"], "stream": record["stream"],
                                "record_id": record["record_id"], "rule": rule,
                                "source_updated_at": record.get("source_updated_at")})
        return values, lineage
    recent = sorted(records, key=_updated, reverse=True)  # stable: ties keep record-key order
    for field, (rule, priority) in rules.items():
        winner = choose(recent, field, rule, priority)
        values[field] = winner[field] if winner else None
        if winner:
            lineage.append({**stamp, "field": field, "source": winner["source"], "stream": winner["stream"],
                            "record_id": winner["record_id"], "rule": rule,
                            "source_updated_at": winner.get("source_updated_at")})
    return values, lineage
