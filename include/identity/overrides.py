"""Manual identity decisions (mappings/identity_overrides.yaml): must-link and cannot-link pairs.

Records are named source/stream/record_id; a pair naming a record that no longer exists is
reported, not an error (the record may come back).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from include.config import MAPPINGS_DIR

KINDS = ("must_link", "cannot_link")


class OverrideError(ValueError):
    """An override entry that cannot be read."""


def path() -> Path:
    return MAPPINGS_DIR / "identity_overrides.yaml"


def record_key(name: str) -> str:
    """source/stream/record_id -> the engine's source|stream|record_id."""
    parts = str(name).split("/", 2)
    if len(parts) != 3 or not all(parts):
        raise OverrideError(f"{path()}: {name!r} is not source/stream/record_id")
    return "|".join(parts)


def record_name(key: str) -> str:
    return "/".join(key.split("|", 2))


def load(file: Path | None = None) -> dict[str, list[tuple[str, str]]]:
    file = file or path()
    doc = yaml.safe_load(file.read_text(encoding="utf-8")) if file.exists() else {}
    out: dict[str, list[tuple[str, str]]] = {k: [] for k in KINDS}
    for kind in KINDS:
        for n, entry in enumerate((doc or {}).get(kind) or []):
            records = entry.get("records") if isinstance(entry, dict) else None
            if not isinstance(records, list) or len(records) != 2:
                raise OverrideError(f"{file}: {kind}[{n}]: needs `records: [source/stream/id, source/stream/id]`")
            out[kind].append((record_key(records[0]), record_key(records[1])))
    return out


def add(kind: str, pairs: list[tuple[str, str]], reason: str, file: Path | None = None) -> None:
    """Append entries, keeping the file's existing entries and comments above them."""
    file = file or path()
    doc: dict[str, Any] = (yaml.safe_load(file.read_text(encoding="utf-8")) if file.exists() else None) or {}
    entries = list(doc.get(kind) or [])
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entries.extend({"records": [record_name(a), record_name(b)], "reason": reason, "added_at": stamp} for a, b in pairs)
    doc[kind] = entries
    for other in KINDS:
        doc.setdefault(other, [])
    header = "".join(line for line in file.read_text(encoding="utf-8").splitlines(keepends=True)
                     if line.startswith("#")) if file.exists() else ""
    file.write_text(header + yaml.safe_dump({k: doc[k] for k in KINDS}, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
