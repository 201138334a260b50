"""Constrained clustering: strongest links first, refusing any merge a guard forbids.

Plain connected components let one weak or wrong edge glue two people together. Here edges
are taken strongest first (must-links and deterministic rules before model scores) and a merge
is refused when it would put a cannot-link pair in one cluster, put two contradicting given
names in one cluster, or grow a cluster past the maximum size. Every accepted edge is kept as
evidence; every refused one is reported with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from include.identity.guards import people_agree


@dataclass(order=True)
class Edge:
    sort_key: float  # -weight: the strongest edge first
    left: int = field(compare=False)
    right: int = field(compare=False)
    weight: float = field(compare=False)
    rule: str = field(compare=False)  # "must_link", "rule:email", "model", …
    detail: dict[str, Any] = field(compare=False, default_factory=dict)
    may_join_names: bool = field(compare=False, default=False)  # personal evidence outweighs a name clash

    @classmethod
    def of(cls, left: int, right: int, weight: float, rule: str, detail: dict[str, Any] | None = None,
           may_join_names: bool = False) -> Edge:
        return cls(-weight, left, right, weight, rule, detail or {}, may_join_names)


@dataclass
class Clusters:
    roots: list[int]
    accepted: list[Edge]
    refused: list[tuple[Edge, str]]


class _Cluster:
    __slots__ = ("members", "names", "forbidden", "size")

    def __init__(self, node: int, name: tuple[str | None, str | None] | None, forbidden: set[int], size: int):
        self.members = [node]
        self.size = size
        self.names = [name] if name else []
        self.forbidden = forbidden


def _names_compatible(a: _Cluster, b: _Cluster) -> bool:
    return all(people_agree(x, y) for x in a.names for y in b.names)


def cluster(size: int, edges: list[Edge], names: list[tuple[str | None, str | None] | None],
            cannot_link: set[tuple[int, int]], max_size: int, counts: list[int] | None = None) -> Clusters:
    """`counts`: what each record adds to a cluster's size (a guest order is a purchase, not a
    person record: 0); every record counts 1 when not given."""
    forbidden: dict[int, set[int]] = {}
    for a, b in cannot_link:
        forbidden.setdefault(a, set()).add(b)
        forbidden.setdefault(b, set()).add(a)
    parent = list(range(size))
    state: dict[int, _Cluster] = {}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def of(root: int) -> _Cluster:
        c = state.get(root)
        if c is None:
            c = state[root] = _Cluster(root, names[root], set(forbidden.get(root, ())),
                                       1 if counts is None else counts[root])
        return c

    accepted: list[Edge] = []
    refused: list[tuple[Edge, str]] = []
    for edge in sorted(edges):
        ra, rb = find(edge.left), find(edge.right)
        if ra == rb:
            continue
        a, b = of(ra), of(rb)
        if a.forbidden and (a.forbidden & set(b.members)) or b.forbidden and (b.forbidden & set(a.members)):
            refused.append((edge, "cannot-link override"))
            continue
        if a.size + b.size > max_size:
            refused.append((edge, f"cluster would exceed {max_size} records"))
            continue
        compatible = _names_compatible(a, b)
        if not edge.may_join_names and not compatible:
            refused.append((edge, "given names contradict"))
            continue
        if len(a.members) < len(b.members):
            ra, rb, a, b = rb, ra, b, a
        if compatible or len(a.members) == len(b.members):
            a.names.extend(n for n in b.names if n not in a.names)
        # else the smaller side's names, joined on personal evidence, are taken as misspelt: they
        # do not stand for a second person that would keep the larger side's own records out
        parent[rb] = ra
        a.members.extend(b.members)
        a.size += b.size
        a.forbidden |= b.forbidden
        del state[rb]
        accepted.append(edge)
    return Clusters([find(i) for i in range(size)], accepted, refused)
