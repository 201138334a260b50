"""The one config loader: paths, the warehouse URL, YAML mapping files and connections.

Connections follow Airflow's own conventions so the same settings work inside and outside a
scheduler: ``AIRFLOW_CONN_<ID>`` in the environment (JSON or URI form), else Airflow's
connection store when running inside a task.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
MAPPINGS_DIR = REPO_ROOT / "mappings"


def data_dir() -> Path:
    """Where generated data lives (warehouse file, sandbox state); never committed."""
    return Path(os.environ.get("SEAM_DATA_DIR", REPO_ROOT / "data"))


def warehouse_url() -> str:
    url = os.environ.get("WAREHOUSE_URL")
    if url:
        return url
    path = data_dir() / "warehouse.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


class ConfigError(ValueError):
    """A configuration file or connection is missing or malformed; the message names which."""


def load_yaml(name: str, directory: Path | None = None) -> dict[str, Any]:
    path = (directory or MAPPINGS_DIR) / name
    try:
        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def yaml_line(path: Path, keys: list[Any]) -> int | None:
    """1-based line of the node at `keys` in a YAML file (the deepest one that exists), for error messages."""
    try:
        node = yaml.compose(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(key)), None)
            key_node = next((k for k, v in node.value if k.value == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            match = key_node = node.value[key]
        else:
            break
        if match is None:
            break
        node, line = match, key_node.start_mark.line + 1
    return line


@dataclass(frozen=True)
class Connection:
    """Credentials for one system. ``repr`` never shows the password or secret extras."""

    conn_id: str
    conn_type: str = ""
    host: str = ""
    login: str = ""
    password: str = field(default="", repr=False)
    port: int | None = None
    schema: str = ""
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


def _env_name(conn_id: str) -> str:
    return "AIRFLOW_CONN_" + conn_id.upper()


def parse_connection(conn_id: str, raw: str) -> Connection:
    raw = raw.strip()
    if raw.startswith("{"):
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{_env_name(conn_id)}: not valid JSON ({exc.msg})") from None
        extra = doc.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra)
        return Connection(
            conn_id=conn_id,
            conn_type=doc.get("conn_type", ""),
            host=doc.get("host") or "",
            login=doc.get("login") or "",
            password=doc.get("password") or "",
            port=doc.get("port"),
            schema=doc.get("schema") or "",
            extra=extra,
        )
    parts = urlsplit(raw)
    return Connection(
        conn_id=conn_id,
        conn_type=parts.scheme,
        host=unquote(parts.hostname or ""),
        login=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        port=parts.port,
        schema=unquote(parts.path.lstrip("/")),
        extra=dict(parse_qsl(parts.query)),
    )


def get_connection(conn_id: str) -> Connection:
    raw = os.environ.get(_env_name(conn_id))
    if raw:
        return parse_connection(conn_id, raw)
    try:
        from airflow.sdk import BaseHook  # only inside a scheduler deployment

        conn = BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - any failure means "not configured"
        conn = None
    if conn is None:
        raise ConfigError(
            f"connection '{conn_id}' is not configured: set {_env_name(conn_id)} "
            "or create it in Airflow (see .env.example)"
        )
    return Connection(
        conn_id=conn_id,
        conn_type=conn.conn_type or "",
        host=conn.host or "",
        login=conn.login or "",
        password=conn.password or "",
        port=conn.port,
        schema=conn.schema or "",
        extra=conn.extra_dejson or {},
    )
