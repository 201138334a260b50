"""The JSON Schema of a mapping file, generated from the canonical model so the two cannot drift.

`seam mappings schema` prints it for editors; `load_mapping` validates every file against it and
reports the first error as (key path, message) so the message can name the file's line.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from include import model


def _field_spec() -> dict[str, Any]:
    from include.mapping import FIELD_KEYS, TRANSFORMS

    path = {"oneOf": [{"type": "string", "minLength": 1},
                      {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}]}
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "path": path, "value": {}, "default": {},
            "transform": {"enum": sorted(TRANSFORMS)},
            "map": {"type": "string"}, "timezone": {"type": "string"},
            "part": {"enum": ["first", "middle", "last"]},
            "on_unknown": {"enum": ["quarantine", "warn"]},
        },
        "oneOf": [{"required": ["path"], "not": {"required": ["value"]}},
                  {"required": ["value"], "not": {"required": ["path"]}}],
        "allOf": [
            {"if": {"properties": {"transform": {"const": "lookup"}}, "required": ["transform"]},
             "then": {"required": ["map"]}},
            {"if": {"properties": {"transform": {"const": "split_name"}}, "required": ["transform"]},
             "then": {"required": ["part"]}},
        ],
        "propertyNames": {"enum": list(FIELD_KEYS)},
    }


def _fields(entity: str) -> dict[str, Any]:
    return {"type": "object", "minProperties": 1, "additionalProperties": False,
            "properties": {name: {"$ref": "#/$defs/field"} for name in sorted(model.mappable(entity))}}


CHILD_ENTITIES = {"order": ("order_line",)}  # entities whose records carry lists of child rows


def _stream(entity: str, child: bool = False) -> dict[str, Any]:
    props: dict[str, Any] = {"entity": {"const": entity}, "fields": _fields(entity)}
    required = ["entity", "fields"]
    if child:
        props["each"] = {"type": "string", "minLength": 1}
        props["where"] = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}
        required.append("each")
    if entity in CHILD_ENTITIES:
        props["children"] = {"type": "object", "additionalProperties": {
            "oneOf": [_stream(c, child=True) for c in CHILD_ENTITIES[entity]]}}
    return {"type": "object", "additionalProperties": False, "required": required, "properties": props}


@cache
def mapping_schema() -> dict[str, Any]:
    children = {c for cs in CHILD_ENTITIES.values() for c in cs}
    streams = {"oneOf": [_stream(e) for e in model.ENTITIES if e not in children]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Seam source mapping (mappings/<source>.yaml)",
        "type": "object",
        "additionalProperties": False,
        "required": ["source", "streams"],
        "properties": {
            "source": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
            "default_region": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "timezone": {"type": "string"},
            "value_maps": {"type": "object", "additionalProperties": {"type": "object"}},
            "streams": {"type": "object", "minProperties": 1, "additionalProperties": {"$ref": "#/$defs/stream"}},
        },
        "$defs": {"field": _field_spec(), "stream": streams},
    }


def first_error(document: Any, schema: dict[str, Any]) -> tuple[list[Any], str] | None:
    """The most specific schema violation as (key path, readable message), or None."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = list(validator.iter_errors(document))
    if not errors:
        return None
    error = _specific(errors)
    keys = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
        keys += extra[:1]  # point at the offending key's own line
    return keys, _explain(error, document)


def _specific(errors: list[Any]) -> Any:
    """For oneOf over stream shapes, follow the branch whose `entity` matched; else jsonschema's best match."""
    import jsonschema

    best = jsonschema.exceptions.best_match(errors)
    while best.validator == "oneOf" and best.context:
        by_branch: dict[int, list[Any]] = {}
        for e in best.context:
            by_branch.setdefault(e.relative_schema_path[0], []).append(e)
        entity_errors = [e for e in best.context if e.validator == "const" and list(e.relative_path) == ["entity"]]
        if not entity_errors:
            return best  # a field spec: path/value both or neither
        entity_ok = [errs for errs in by_branch.values() if not any(e in entity_errors for e in errs)]
        if not entity_ok:
            return entity_errors[0]  # no stream shape has this entity
        best = jsonschema.exceptions.best_match(entity_ok[0])
    return best


def _explain(error: Any, document: Any) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        return f"unknown key(s) {extra}; allowed here: {allowed}"
    if error.validator == "propertyNames":
        return f"unknown key {error.instance!r}; allowed: {error.schema['enum']}"
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {error.validator_value}"
    if error.validator == "const" and list(error.relative_path)[-1:] == ["entity"]:
        return f"unknown entity {error.instance!r}; known: {sorted(e for e in model.ENTITIES)}"
    if error.validator in ("oneOf", "not") and isinstance(error.instance, dict) and (
            "path" in error.instance) == ("value" in error.instance):
        return "give exactly one of 'path' or 'value'"
    if error.validator == "required":
        return error.message.replace("is a required property", "is required here")
    return error.message
