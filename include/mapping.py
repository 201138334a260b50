"""Declarative source -> canonical mapping, driven by mappings/<source>.yaml.

A mapping file names, per stream, the canonical entity it feeds (include/model.py) and, per
canonical field, where the value comes from (one path, or several tried in order) and which
transform from a fixed vocabulary (TRANSFORMS, docs/mappings.md) applies. A stream may also
emit child rows (order lines) from a list inside each record. Files are checked against a JSON
Schema generated from the model when loaded, so a typo fails with file, line and key before any
data moves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

import sqlalchemy as sa

from include import model, normalise
from include.config import MAPPINGS_DIR, ConfigError, load_yaml, yaml_line
from include.mapping_schema import first_error, mapping_schema

# The transform vocabulary. Each takes the raw value (never None) and returns the canonical one.
TRANSFORMS = {
    "text": "trim, collapse whitespace, Unicode NFC; control and bidi-control characters removed",
    "upper": "text, upper case",
    "lower": "text, lower case",
    "name": "text; ALL CAPS or all-lower names get title case, mixed case is kept",
    "split_name": "one part (`part: first|middle|last`) of a full name; Western and Russian orders",
    "email": "validated address, lower case, IDN domain in Unicode; invalid input kept for the quality gate",
    "phone": "E.164 with the source's `default_region`; invalid input kept for the quality gate",
    "datetime": "ISO 8601 date-time or date -> UTC; naive values are in `timezone` (field or file)",
    "date_of_birth": "calendar date (ISO or DD.MM.YYYY), 1900..today",
    "money": "decimal amount; thousands separators and currency signs allowed ('1 234,56 ₽')",
    "integer": "whole number",
    "number": "decimal number",
    "boolean": "true/false, 1/0, yes/no",
    "currency": "ISO 4217 code: three letters upper-cased, the sign of an amount ('1 234 ₽'), else the `currencies` value map",
    "country": "ISO 3166 alpha-2 code through the `countries` value map",
    "lookup": "value map named by `map`; unknown values quarantine the row, or only warn with `on_unknown: warn`",
    "id_ref": "a reference to another record's id; empty and '0' mean no reference",
    "domain": "host name of a URL or e-mail address, lower case, without www.",
    "join": "list of values joined with ', ' (each text-cleaned)",
}
FIELD_KEYS = ("path", "value", "default", "transform", "map", "timezone", "part", "on_unknown")


@dataclass(frozen=True)
class FieldRule:
    name: str
    paths: tuple[str, ...] = ()
    value: Any = None
    default: Any = None
    transform: str = "text"
    value_map: str | None = None
    timezone: str | None = None
    part: str | None = None
    warn_unknown: bool = False


@dataclass(frozen=True)
class ChildMapping:
    name: str  # staging table stg_<source>__<name>
    entity: str
    each: str  # path of the list inside the parent record
    fields: tuple[FieldRule, ...]
    where: tuple[tuple[str, Any], ...] = ()  # only items with these values (QuickBooks sub-total lines are not goods)


@dataclass(frozen=True)
class StreamMapping:
    stream: str
    entity: str
    fields: tuple[FieldRule, ...]
    children: tuple[ChildMapping, ...] = ()


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


def _fail(source: str, keys: list[Any], message: str) -> ConfigError:
    path = MAPPINGS_DIR / f"{source}.yaml"
    line = yaml_line(path, keys)
    where = ".".join(str(k) for k in keys) or "top level"
    return ConfigError(f"{path}{f':{line}' if line else ''}: {where}: {message}")


def _rule(name: str, spec: dict[str, Any]) -> FieldRule:
    paths = spec.get("path", ())
    return FieldRule(name=name, paths=tuple([paths] if isinstance(paths, str) else paths), value=spec.get("value"),
                     default=spec.get("default"), transform=spec.get("transform", "text"), value_map=spec.get("map"),
                     timezone=spec.get("timezone"), part=spec.get("part"),
                     warn_unknown=spec.get("on_unknown", "warn" if spec.get("transform") == "country" else "quarantine")
                     == "warn")


def _rules(source: str, where: list[Any], entity: str, fields: dict[str, Any], maps: dict[str, Any]
           ) -> tuple[FieldRule, ...]:
    missing = model.required(entity) - set(fields)
    if missing:
        raise _fail(source, where, f"required canonical field(s) missing for entity {entity}: {sorted(missing)}")
    rules = []
    for name, spec in fields.items():
        rule = _rule(name, spec)
        if rule.value_map is not None and rule.value_map not in maps:
            raise _fail(source, [*where, name, "map"], f"no value map {rule.value_map!r}; known: {sorted(maps)}")
        _check_timezone(source, [*where, name, "timezone"], rule.timezone)
        rules.append(rule)
    return tuple(rules)


def _check_timezone(source: str, where: list[Any], name: str | None) -> None:
    if name is None:
        return
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _fail(source, where, f"unknown time zone {name!r}") from exc


@cache
def shared_value_maps() -> dict[str, dict[str, str]]:
    maps = load_yaml("value_maps.yaml")
    return {name: {str(k).strip().lower(): v for k, v in table.items()} for name, table in maps.items()}


@cache
def load_mapping(source: str) -> SourceMapping:
    doc = load_yaml(f"{source}.yaml")
    maps = dict(shared_value_maps())
    error = first_error(doc, mapping_schema())
    if error is not None:
        keys, message = error
        raise _fail(source, keys, message)
    if doc["source"] != source:
        raise _fail(source, ["source"], f"must be {source!r} (the file name), found {doc['source']!r}")
    _check_timezone(source, ["timezone"], doc.get("timezone"))
    for name, table in (doc.get("value_maps") or {}).items():
        maps[name] = {str(k).strip().lower(): v for k, v in table.items()}
    streams: dict[str, StreamMapping] = {}
    for stream, sdoc in doc["streams"].items():
        entity = sdoc["entity"]
        rules = _rules(source, ["streams", stream, "fields"], entity, sdoc["fields"], maps)
        children = tuple(
            ChildMapping(name=name, entity=cdoc["entity"], each=cdoc["each"],
                         where=tuple((cdoc.get("where") or {}).items()),
                         fields=_rules(source, ["streams", stream, "children", name, "fields"], cdoc["entity"],
                                       cdoc["fields"], maps))
            for name, cdoc in (sdoc.get("children") or {}).items())
        streams[stream] = StreamMapping(stream=stream, entity=entity, fields=rules, children=children)
    return SourceMapping(source=source, default_region=doc.get("default_region"),
                         timezone=doc.get("timezone", "UTC"), streams=streams, value_maps=maps)


@lru_cache(maxsize=4096)
def _parts(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def get_path(record: Any, path: str) -> Any:
    """Follow a dotted path through dicts and lists (numeric parts index lists, `*` maps over one)."""
    node = record
    parts = _parts(path)
    for i, part in enumerate(parts):
        if part == "*":  # every element of a list: the rest of the path is followed in each
            if not isinstance(node, list):
                return None
            rest = ".".join(parts[i + 1:])
            found = [get_path(item, rest) if rest else item for item in node]
            return [v for v in found if v is not None] or None
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit():
            node = node[int(part)] if int(part) < len(node) else None
        else:
            return None
        if node is None:
            return None
    return node


def first_value(record: dict[str, Any], paths: tuple[str, ...]) -> Any:
    for path in paths:
        value = get_path(record, path)
        if value not in (None, "", [], {}):
            return value
    return None


def _lookup(rule: FieldRule, raw: Any, table_name: str, mapping: SourceMapping,
            problems: list[MappingProblem]) -> Any:
    key = normalise.clean_text(raw)
    if key is None:
        return None
    table = mapping.value_maps[table_name]
    found = table.get(key.lower())
    if found is not None:
        return found
    problems.append(MappingProblem("unknown_value", rule.name, raw,
                                   f"{rule.name}: {key[:80]!r} is not in value map {table_name}",
                                   warning=rule.warn_unknown))
    return None


def _convert(rule: FieldRule, raw: Any, mapping: SourceMapping, problems: list[MappingProblem]) -> Any:
    t = rule.transform
    if t in ("text", "upper", "lower", "id_ref", "name", "email", "phone", "split_name", "domain") and \
            isinstance(raw, dict | list):
        raise ValueError(f"expected a scalar, found a JSON {json_type(raw)}")
    if t == "text":
        return normalise.clean_text(raw)
    if t in ("upper", "lower"):
        text = normalise.clean_text(raw)
        return None if text is None else text.upper() if t == "upper" else text.lower()
    if t == "name":
        return normalise.name_case(raw)
    if t == "split_name":
        first, middle, last = normalise.split_full_name(raw)
        return normalise.name_case({"first": first, "middle": middle, "last": last}[rule.part or "first"])
    if t == "email":
        return normalise.email(raw)
    if t == "phone":
        return normalise.phone(raw, mapping.default_region)
    if t == "id_ref":
        text = normalise.clean_text(raw)
        return None if text in (None, "0") else text
    if t == "domain":
        return normalise.domain(raw)
    if t == "join":
        items = raw if isinstance(raw, list) else [raw]
        return ", ".join(t for t in (normalise.clean_text(i) for i in items if not isinstance(i, dict | list)) if t)
    if t == "datetime":
        return normalise.utc_datetime(raw, rule.timezone or mapping.timezone)
    if t == "date_of_birth":
        return normalise.date_of_birth(raw)
    if t == "money":
        parsed = normalise.money_with_currency(raw)
        return None if parsed is None else parsed[0]
    if t == "number":
        number = None if isinstance(raw, bool) else normalise.money(raw)
        return number if number is not None or normalise.clean_text(raw) is None else _bad(raw, "a number")
    if t == "integer":
        return normalise.integer(raw)
    if t == "boolean":
        return normalise.boolean(raw)
    if t == "currency":
        code = normalise.clean_text(raw)
        if code is not None and len(code) == 3 and code.isascii() and code.isalpha():
            return code.upper()  # an ISO 4217 code; whether Seam can convert it is a quality rule
        if code is not None and any(ch.isdigit() for ch in code):  # an amount with its sign: "1 234 ₽"
            parsed = normalise.money_with_currency(code)
            if parsed is not None and parsed[1] is not None:
                return parsed[1]
        return _lookup(rule, raw, "currencies", mapping, problems)
    if t == "country":
        return _lookup(rule, raw, "countries", mapping, problems)
    return _lookup(rule, raw, rule.value_map or "", mapping, problems)


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def json_type(value: Any) -> str:
    """A value's type in JSON's words (a reason is read by people who know the API, not Python)."""
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _bad(raw: Any, what: str) -> Any:
    raise ValueError(f"{str(raw)[:40]!r} is not {what}")


def _apply(rule: FieldRule, raw: Any, mapping: SourceMapping, problems: list[MappingProblem]) -> Any:
    if raw is None:
        return None
    try:
        return _convert(rule, raw, mapping, problems)
    except (ValueError, TypeError, ArithmeticError) as exc:
        message = str(exc)
        if rule.name in model.PERSONAL_COLUMNS:  # the masked value is in quarantine; reasons travel further
            message = _QUOTED.sub("(value)", message)
        problems.append(MappingProblem(f"unparseable_{rule.transform}", rule.name, raw, f"{rule.name}: {message}"))
        return None


def _map_fields(rules: tuple[FieldRule, ...], entity: str, node: dict[str, Any], mapping: SourceMapping,
                problems: list[MappingProblem], prefix: str = "") -> dict[str, Any]:
    row: dict[str, Any] = {}
    for rule in rules:
        raw = rule.value if rule.paths == () else first_value(node, rule.paths)
        if raw is None:
            raw = rule.default
        start = len(problems)
        row[rule.name] = _apply(rule, raw, mapping, problems)
        for p in problems[start:]:
            p.column = prefix + (p.column or "")
            if prefix and not p.reason.startswith(prefix):
                p.reason = prefix + p.reason
    fields = model.fields_of(entity)
    for name, value in row.items():
        problem = _out_of_bounds(fields[name], value)
        if problem:
            problems.append(MappingProblem("out_of_range", prefix + name, value, f"{prefix}{name}: {problem}"))
            row[name] = None
    for name in sorted(model.required(entity)):
        if row.get(name) is None and not any(p.column == prefix + name for p in problems):
            problems.append(MappingProblem("missing_required", prefix + name, None,
                                           f"{prefix}{name}: required value is missing"))
    for (ent, column), allowed in model.ALLOWED_VALUES.items():
        if ent == entity and row.get(column) is not None and row[column] not in allowed:
            problems.append(MappingProblem("unknown_value", prefix + column, row[column],
                                           f"{prefix}{column} must be one of {list(allowed)}"))
    return row


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


@cache
def _limits(spec: model.Field) -> tuple[int | None, Decimal | None, bool]:
    """(max string length, numeric magnitude limit, 32-bit integer) of a canonical column."""
    kind = spec.type
    numeric = Decimal(10) ** (kind.precision - kind.scale) if isinstance(kind, sa.Numeric) else None
    return getattr(kind, "length", None), numeric, isinstance(kind, sa.Integer)


def _out_of_bounds(spec: model.Field, value: Any) -> str | None:
    """Why a converted value cannot be stored in its canonical column (length, digits, plausible dates)."""
    if value is None or isinstance(value, bool):
        return None
    length, numeric, int32 = _limits(spec)
    if isinstance(value, str):
        return f"{len(value)} characters, longer than the {length} the column holds" \
            if length and len(value) > length else None
    if numeric is not None and isinstance(value, Decimal | int | float):
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        if not amount.is_finite() or abs(amount) >= numeric:
            return f"{value} does not fit {spec.type.precision} digits with {spec.type.scale} decimals"
        return None
    if int32 and isinstance(value, int) and not -2**31 <= value < 2**31:
        return f"{value} does not fit a 32-bit integer"
    if isinstance(value, datetime) and not EARLIEST <= value < LATEST:
        return f"{value.isoformat()} is outside {EARLIEST.year}..{LATEST.year - 1}"
    return None


def map_record(mapping: SourceMapping, stream: str, payload: Any
               ) -> tuple[dict[str, Any], list[MappingProblem], dict[str, list[dict[str, Any]]]]:
    """Canonical row for one raw record, the problems found while mapping it, and its child rows."""
    problems: list[MappingProblem] = []
    if not isinstance(payload, dict):
        problems.append(MappingProblem("not_an_object", None, json_type(payload),
                                       f"payload is a JSON {json_type(payload)}, not an object"))
        return {}, problems, {}
    spec = mapping.streams[stream]
    row = _map_fields(spec.fields, spec.entity, payload, mapping, problems)
    children: dict[str, list[dict[str, Any]]] = {}
    for child in spec.children:
        items = get_path(payload, child.each)
        if items is None:
            items = []
        if not isinstance(items, list):
            problems.append(MappingProblem("not_a_list", child.each, json_type(items),
                                           f"{child.each}: expected a list of {child.entity} items"))
            continue
        rows = []
        for position, item in enumerate(items):
            prefix = f"{child.each}[{position}]."
            if not isinstance(item, dict):
                problems.append(MappingProblem("not_an_object", prefix.rstrip("."), json_type(item),
                                               f"{prefix.rstrip('.')}: not an object"))
                continue
            if any(get_path(item, path) != wanted for path, wanted in child.where):
                continue
            rows.append({"position": position, **_map_fields(child.fields, child.entity, item, mapping, problems,
                                                               prefix)})
        children[child.name] = rows
    derive_keys(spec.entity, row)
    return row, problems, children


def derive_keys(entity: str, row: dict[str, Any]) -> None:
    """Matching keys Seam computes (never from a mapping): email, transliterated name, company name."""
    names = {f.name for f in model.ENTITIES[entity]}
    if "email_match_key" in names:
        row["email_match_key"] = normalise.email_match_key(row.get("email"))
    if entity == "person":
        row["name_key"] = normalise.translit_key(" ".join(p for p in (row.get("first_name"), row.get("last_name"))
                                                          if p)) or None
    elif entity == "company":
        row["name_key"] = normalise.company_key(row.get("name"))
