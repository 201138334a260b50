"""Stable customer ids, and the history of every id change.

The rule (docs/identity.md): each previous id goes to the new cluster holding most of its
records (ties: the smaller id); a cluster that inherits no id gets a new one derived from its
smallest record key, never one used before. So a cluster that grows keeps its id; when clusters merge, the id with the
most records survives and the others are recorded as merged into it; when a cluster splits,
the part holding most records keeps the id and the other parts are recorded as split from it.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from typing import Any


def record_key(r: dict[str, Any]) -> str:
    """A record's key across the warehouse: source|stream|record_id."""
    return f"{r['source']}|{r['stream']}|{r['record_id']}"


def new_customer_id(record_key: str) -> str:
    return "C" + hashlib.sha1(record_key.encode()).hexdigest()[:12].upper()


def assign(members: dict[int, list[str]], previous: dict[str, str], make_id: Any = new_customer_id,
           seeds: dict[int, str] | None = None, reserved: set[str] = frozenset()) -> tuple[dict[int, str], list[dict[str, Any]]]:
    """Id per cluster (keyed by root) and history rows (old id, new id, change, reason, records).

    Equal claims on one old id go to the cluster met first in `members`. A new id is derived from
    `seeds[root]` when given, else from the cluster's smallest key. `reserved`: ids held elsewhere
    (customers an incremental run leaves alone), never handed out.
    """
    claims: list[tuple[int, str, int]] = []
    holding: dict[str, Counter[int]] = defaultdict(Counter)
    for root, keys in members.items():
        for old_id, count in Counter(previous[k] for k in keys if k in previous).items():
            claims.append((count, old_id, root))
            holding[old_id][root] = count
    claims.sort(key=lambda c: (-c[0], c[1]))
    ids: dict[int, str] = {}
    taken: set[str] = set()
    for _count, old_id, root in claims:
        if root not in ids and old_id not in taken:
            ids[root] = old_id
            taken.add(old_id)
    history: list[dict[str, Any]] = []
    fresh: set[str] = set()
    used = set(previous.values()) | taken | reserved
    for root, keys in members.items():
        if root in ids:
            continue
        candidate = make_id(seeds[root] if seeds else min(keys))
        while candidate in used:  # an old id (kept elsewhere or retired) is never handed out again
            candidate = make_id(candidate)
        ids[root] = candidate
        used.add(candidate)
        fresh.add(candidate)
        olds = sorted({previous[k] for k in keys if k in previous})
        if olds:
            history.extend({"old_customer_id": old, "new_customer_id": ids[root], "change": "split",
                            "reason": f"{holding[old][root]} of its records now resolve apart from the rest",
                            "records": holding[old][root]} for old in olds)
        else:
            history.append({"old_customer_id": None, "new_customer_id": ids[root], "change": "new",
                            "reason": "records not seen before", "records": len(keys)})
    for old_id, roots in holding.items():
        for root, count in roots.items():  # records of old_id now in a cluster that kept another id
            if ids[root] == old_id or ids[root] in fresh:
                continue
            note = "" if old_id in taken else "; the id is retired"
            history.append({"old_customer_id": old_id, "new_customer_id": ids[root], "change": "merged",
                            "reason": f"{count} of its records merged into {ids[root]}, which holds more{note}",
                            "records": count})
    gone = set(previous.values()) - set(holding)
    history.extend({"old_customer_id": old, "new_customer_id": None, "change": "retired",
                    "reason": "all its records were deleted at the source", "records": 0} for old in sorted(gone))
    return ids, history
