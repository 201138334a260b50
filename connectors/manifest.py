"""Connectors declared in YAML alone: `connectors/manifests/<system>.yaml` becomes an HttpSource.

The manifest is checked against MANIFEST_SCHEMA (JSON Schema) when loaded; an error names the
file, the line and the key, before any request is made. docs/connectors.md shows a worked example.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from connectors.auth import AUTH_STYLES, auth_from_spec
from connectors.base import Cursor, CursorToken, HttpSource, LinkHeader, OffsetCount, PageNumber, Stream
from connectors.http import RateLimit
from include.config import ConfigError, load_yaml, yaml_line

MANIFESTS_DIR = Path(__file__).resolve().parent / "manifests"
PAGINATORS = {"page_number": PageNumber, "offset_count": OffsetCount, "link_header": LinkHeader,
              "cursor_token": CursorToken}

_STR_MAP = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}
_FIELD_REF = {"type": "string", "pattern": r"^(login|password|schema|host|extra\.[A-Za-z0-9_]+)$"}
MANIFEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["system", "streams"],
    "additionalProperties": False,
    "properties": {
        "system": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"},
        "description": {"type": "string"},
        "docs": {"type": "string"},
        "url_template": {"type": "string"},
        "auth": {
            "type": "object", "required": ["type"],
            "properties": {
                "type": {"enum": sorted(AUTH_STYLES)},
                "username": _FIELD_REF, "password": _FIELD_REF, "default_username": {"type": "string"},
                "token": _FIELD_REF, "header": {"type": "string"}, "key": _FIELD_REF, "prefix": {"type": "string"},
                "params": {"type": "object", "additionalProperties": _FIELD_REF},
                # oauth2_refresh
                "client_id": _FIELD_REF, "client_secret": _FIELD_REF, "refresh_token": _FIELD_REF,
                "token_url": _FIELD_REF, "access_token": _FIELD_REF, "account": _FIELD_REF,
                "default_token_url": {"type": "string"}, "margin_seconds": {"type": "number", "exclusiveMinimum": 0},
            },
            "additionalProperties": False,
        },
        "rate_limit": {
            "type": "object", "additionalProperties": False,
            "properties": {"requests": {"type": "integer", "minimum": 1},
                           "per_seconds": {"type": "number", "exclusiveMinimum": 0},
                           "max_concurrency": {"type": "integer", "minimum": 1}},
        },
        "errors": {"type": "object", "additionalProperties": False,
                   "properties": {"fields": {"type": "array", "items": {"type": "string"}}}},
        "check": {"type": "object", "additionalProperties": False, "properties": {"stream": {"type": "string"}}},
        "streams": {
            "type": "object", "minProperties": 1,
            "propertyNames": {"pattern": r"^[a-z][a-z0-9_]*$"},
            "additionalProperties": {
                "type": "object", "required": ["path"], "additionalProperties": False,
                "properties": {
                    "path": {"type": "string"},
                    "primary_key": {"oneOf": [{"type": "string"}, {"type": "null"},
                                              {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
                    "records_path": {"type": "string"},
                    "params": _STR_MAP,
                    "write_mode": {"enum": ["merge", "append"]},
                    "key_params": _STR_MAP,
                    "parent": {"type": "string"},
                    "parent_key": {"type": "string"},
                    "flatten": {"type": "string"},
                    "cursor": {
                        "type": "object", "required": ["field"], "additionalProperties": False,
                        "properties": {
                            "field": {"type": "string"},
                            "send": {"enum": ["param", "header", "client"]},
                            "name": {"type": "string"},
                            "format": {"type": "string"},
                            "timezone": {"type": "string"},
                            "lookback_seconds": {"type": "integer", "minimum": 0},
                        },
                    },
                    "paginator": {
                        "type": "object", "required": ["type"], "additionalProperties": False,
                        "properties": {
                            "type": {"enum": sorted(PAGINATORS)},
                            "page_param": {"type": "string"}, "size_param": {"type": "string"},
                            "size": {"type": "integer", "minimum": 1},
                            "total_pages_header": {"type": "string"}, "offset_param": {"type": "string"},
                            "total_path": {"type": "string"}, "start": {"type": "integer", "minimum": 0},
                            "token_path": {"type": "string"}, "token_param": {"type": "string"},
                        },
                    },
                },
            },
        },
    },
}


def manifest_path(system: str) -> Path:
    return MANIFESTS_DIR / f"{system}.yaml"


def available_manifests() -> list[str]:
    return sorted(p.stem for p in MANIFESTS_DIR.glob("*.yaml"))


def _cursor(spec: dict[str, Any] | None) -> Cursor | None:
    if not spec:
        return None
    options = {k: v for k, v in spec.items() if k != "lookback_seconds"}
    if "lookback_seconds" in spec:
        options["lookback"] = timedelta(seconds=spec["lookback_seconds"])
    return Cursor(**options)


def _paginator(spec: dict[str, Any] | None) -> Any:
    spec = spec or {"type": "page_number"}
    cls = PAGINATORS[spec["type"]]
    options = {k: v for k, v in spec.items() if k != "type"}
    try:
        return cls(**options)
    except TypeError as exc:
        raise ValueError(f"paginator {spec['type']}: {exc}") from None


def _semantic_problems(doc: dict[str, Any]) -> list[tuple[list[Any], str]]:
    """Rules JSON Schema cannot say: references between streams, parameters the cursor needs."""
    problems = []
    streams = doc["streams"]
    for name, spec in streams.items():
        cursor = spec.get("cursor") or {}
        if cursor.get("send", "param") in ("param", "header") and cursor and not cursor.get("name"):
            problems.append((["streams", name, "cursor"], f"send: {cursor.get('send', 'param')} needs 'name'"))
        if spec.get("parent") and spec["parent"] not in streams:
            problems.append((["streams", name, "parent"], f"no stream {spec['parent']!r} in this manifest"))
        if spec.get("parent") and "{parent_id}" not in spec["path"]:
            problems.append((["streams", name, "path"], "a substream path needs {parent_id}"))
        if spec.get("write_mode") == "append" and "key_params" in spec:
            problems.append((["streams", name, "key_params"], "append streams keep history: no delete reconciliation"))
    check = (doc.get("check") or {}).get("stream")
    if check and check not in streams:
        problems.append((["check", "stream"], f"no stream {check!r} in this manifest"))
    return problems


@cache
def load_manifest(system: str, directory: Path | None = None) -> type[HttpSource]:
    """The HttpSource class a manifest declares; ConfigError naming file, line and key otherwise."""
    path = (directory or MANIFESTS_DIR) / f"{system}.yaml"
    doc = load_yaml(path.name, path.parent)

    def fail(keys: list[Any], message: str) -> ConfigError:
        where = ".".join(str(k) for k in keys) or "top level"
        line = yaml_line(path, keys)
        return ConfigError(f"{path}{f':{line}' if line else ''}: {where}: {message}")

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(MANIFEST_SCHEMA).iter_errors(doc))
    if error is not None:
        keys = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            keys += sorted(k for k in error.instance if k not in allowed)[:1]  # point at the stray key's line
        raise fail(keys, error.message)
    problems = _semantic_problems(doc)
    if problems:
        raise fail(*problems[0])
    if doc["system"] != system:
        raise fail(["system"], f"must be {system!r} (the file name), found {doc['system']!r}")
    streams = []
    for name, spec in doc["streams"].items():
        try:
            paginator = _paginator(spec.get("paginator"))
        except ValueError as exc:
            raise fail(["streams", name, "paginator"], str(exc)) from None
        streams.append(Stream(
            name=name, path=spec["path"], primary_key=_key(spec.get("primary_key", "id")),
            cursor=_cursor(spec.get("cursor")), records_path=spec.get("records_path"), paginator=paginator,
            params=dict(spec.get("params") or {}), write_mode=spec.get("write_mode", "merge"),
            key_params=spec.get("key_params"), parent=spec.get("parent"), parent_key=spec.get("parent_key", "id"),
            flatten=spec.get("flatten")))
    limit = doc.get("rate_limit")
    attributes = {
        "name": system,
        "__doc__": doc.get("description", f"{system} (declared in {path.name})"),
        "streams": tuple(streams),
        "auth": auth_from_spec(doc.get("auth") or {"type": "none"}),
        "rate_limit": RateLimit(**limit) if limit else None,
        "error_fields": tuple((doc.get("errors") or {}).get("fields", ())),
        "url_template": doc.get("url_template"),
        "check_stream": (doc.get("check") or {}).get("stream"),
        "manifest": str(path),
    }
    return type(f"Manifest_{system}", (HttpSource,), attributes)


def _key(value: Any) -> str | tuple[str, ...] | None:
    return tuple(value) if isinstance(value, list) else value
