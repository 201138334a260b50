"""Declarative source -> canonical mapping, driven by mappings/<source>.yaml.

A mapping file names, per stream, the canonical entity it feeds and, per canonical field, where
the value comes from (one path, or several tried in order) and which transform from a fixed
vocabulary applies. Files are validated when loaded, before any data moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from include import normalise
from include.config import MAPPINGS_DIR, ConfigError, load_yaml

ENTITY_FIELDS: dict[str, set[str]] = {
    "contact": {"first_name", "last_name", "company", "email", "phone", "phone_alt", "city", "country",
                "email_consent", "source_updated_at"},
    "order": {"contact_stream", "contact_record_id", "first_name", "last_name", "email", "phone", "status",
              "amount", "currency", "ordered_at", "source_updated_at"},
}
REQUIRED_FIELDS: dict[str, set[str]] = {
    "contact": {"email_consent"},
    "order": {"amount", "currency", "ordered_at"},
}
TRANSFORMS = {"text", "name", "email", "phone", "datetime", "money", "upper", "country", "lookup", "id_ref"}
FIELD_KEYS = {"path", "value", "default", "transform", "map", "timezone"}
CONSENT_VALUES = {"subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived",
                  "opted_out", "unknown"}


@dataclass(frozen=True)
class FieldRule:
    name: str
    paths: tuple[str, ...] = ()
    value: Any = None
    default: Any = None
    transform: str = "text"
    value_map: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class StreamMapping:
    stream: str
    entity: str
    fields: tuple[FieldRule, ...]


@dataclass(frozen=True)
class SourceMapping:
    source: str
    default_region: str | None
    timezone: str
    streams: dict[str, StreamMapping]
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class MappingProblem:
    rule: str
    column: str | None
    value: Any
    reason: str
    warning: bool = False  # reported in the run summary, but the row still loads


def _fail(source: str, where: str, message: str) -> ConfigError:
    return ConfigError(f"{MAPPINGS_DIR / (source + '.yaml')}: {where}: {message}")


def _parse_field(source: str, stream: str, name: str, spec: Any, maps: dict[str, Any]) -> FieldRule:
    where = f"streams.{stream}.fields.{name}"
    if not isinstance(spec, dict):
        raise _fail(source, where, "expected a mapping with 'path' or 'value'")
    unknown = set(spec) - FIELD_KEYS
    if unknown:
        raise _fail(source, where, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(FIELD_KEYS)}")
    if ("path" in spec) == ("value" in spec):
        raise _fail(source, where, "give exactly one of 'path' or 'value'")
    transform = spec.get("transform", "text")
    if transform not in TRANSFORMS:
        raise _fail(source, where, f"unknown transform {transform!r}; allowed: {sorted(TRANSFORMS)}")
    if transform == "lookup" and spec.get("map") not in maps:
        raise _fail(source, where, f"lookup needs 'map' naming one of {sorted(maps)}")
    paths = spec.get("path", ())
    return FieldRule(name=name, paths=tuple([paths] if isinstance(paths, str) else paths), value=spec.get("value"),
                     default=spec.get("default"), transform=transform, value_map=spec.get("map"), timezone=spec.get("timezone"))


@cache
def shared_value_maps() -> dict[str, dict[str, str]]:
    maps = load_yaml("value_maps.yaml")
    return {name: {str(k).strip().lower(): v for k, v in table.items()} for name, table in maps.items()}


@cache
def load_mapping(source: str) -> SourceMapping:
    doc = load_yaml(f"{source}.yaml")
    unknown = set(doc) - {"source", "default_region", "timezone", "streams", "value_maps"}
    if unknown:
        raise _fail(source, "top level", f"unknown key(s) {sorted(unknown)}")
    if doc.get("source") != source:
        raise _fail(source, "source", f"must be {source!r}, found {doc.get('source')!r}")
    maps = dict(shared_value_maps())
    for name, table in (doc.get("value_maps") or {}).items():
        maps[name] = {str(k).strip().lower(): v for k, v in table.items()}
    streams: dict[str, StreamMapping] = {}
    for stream, sdoc in (doc.get("streams") or {}).items():
        entity = (sdoc or {}).get("entity")
        if entity not in ENTITY_FIELDS:
            raise _fail(source, f"streams.{stream}.entity", f"must be one of {sorted(ENTITY_FIELDS)}")
        fields = sdoc.get("fields") or {}
        extra = set(fields) - ENTITY_FIELDS[entity]
        if extra:
            raise _fail(source, f"streams.{stream}.fields", f"unknown canonical field(s) {sorted(extra)} "
                        f"for entity {entity}; allowed: {sorted(ENTITY_FIELDS[entity])}")
        missing = REQUIRED_FIELDS[entity] - set(fields)
        if missing:
            raise _fail(source, f"streams.{stream}.fields", f"required field(s) missing: {sorted(missing)}")
        rules = tuple(_parse_field(source, stream, n, s, maps) for n, s in fields.items())
        streams[stream] = StreamMapping(stream=stream, entity=entity, fields=rules)
    if not streams:
        raise _fail(source, "streams", "no streams mapped")
    return SourceMapping(source=source, default_region=doc.get("default_region"),
                         timezone=doc.get("timezone", "UTC"), streams=streams, value_maps=maps)


def get_path(record: Any, path: str) -> Any:
    """Follow a dotted path through dicts and lists (numeric parts index lists)."""
    node = record
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit():
            node = node[int(part)] if int(part) < len(node) else None
        else:
            return None
        if node is None:
            return None
    return node


def _first(record: dict[str, Any], paths: tuple[str, ...]) -> Any:
    for path in paths:
        value = get_path(record, path)
        if value not in (None, ""):
            return value
    return None


def _apply(rule: FieldRule, raw: Any, mapping: SourceMapping, problems: list[MappingProblem]) -> Any:
    t = rule.transform
    if raw is None:
        return None
    if t == "text":
        return normalise.clean_text(raw)
    if t == "name":
        return normalise.name_case(raw)
    if t == "upper":
        text = normalise.clean_text(raw)
        return text.upper() if text else None
    if t == "email":
        return normalise.email(raw)
    if t == "phone":
        return normalise.phone(raw, mapping.default_region)
    if t == "id_ref":
        text = normalise.clean_text(raw)
        return None if text in (None, "0") else text
    if t == "money":
        amount = normalise.money(raw)
        if amount is None:
            problems.append(MappingProblem("unparseable_money", rule.name, raw, f"{rule.name}: not a finite amount"))
        return amount
    if t == "datetime":
        try:
            return normalise.utc_datetime(raw, rule.timezone or mapping.timezone)
        except (ValueError, TypeError, OverflowError):
            problems.append(MappingProblem("unparseable_datetime", rule.name, raw,
                                           f"{rule.name}: not an ISO 8601 date-time"))
            return None
    table = mapping.value_maps["countries" if t == "country" else rule.value_map]
    key = str(raw).strip().lower()
    if key in table:
        return table[key]
    problems.append(MappingProblem("unknown_value", rule.name, raw,
                                   f"{rule.name}: {raw!r} is not in value map {rule.value_map or 'countries'}",
                                   warning=t == "country"))
    return None


def map_record(mapping: SourceMapping, stream: str, payload: Any) -> tuple[dict[str, Any], list[MappingProblem]]:
    """Canonical row for one raw record, plus any problems found while mapping it."""
    problems: list[MappingProblem] = []
    if not isinstance(payload, dict):
        problems.append(MappingProblem("not_an_object", None, type(payload).__name__, "payload is not a JSON object"))
        return {}, problems
    spec = mapping.streams[stream]
    row: dict[str, Any] = {}
    for rule in spec.fields:
        raw = rule.value if rule.paths == () else _first(payload, rule.paths)
        if raw is None:
            raw = rule.default
        row[rule.name] = _apply(rule, raw, mapping, problems)
    for name in REQUIRED_FIELDS[spec.entity]:
        if row.get(name) is None and not any(p.column == name for p in problems):
            problems.append(MappingProblem("missing_required", name, None, f"{name}: required value is missing"))
    if spec.entity == "contact" and row.get("email_consent") not in CONSENT_VALUES:
        problems.append(MappingProblem("unknown_value", "email_consent", row.get("email_consent"),
                                       f"email_consent must be one of {sorted(CONSENT_VALUES)}"))
    return row, problems
