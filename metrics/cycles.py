"""Bounded search for the largest simple cycles of a money-flow graph.

A cycle carries the dollars of its smallest edge (its bottleneck). The search
adds the graph's edges one at a time in descending order of amount (edges with
an undisclosed amount last) and, after each edge ``u -> v``, lists the simple
paths ``v -> ... -> u`` in the edges added so far. Every cycle closed by that
edge has it as its smallest edge, so cycles come out largest first and each
cycle is found exactly once (when its smallest edge is added).

Each strongly connected part of the graph (the only places cycles can be) is
searched on its own, with a fair share of the cap and of the time, so a dense
uploaded cluster cannot crowd out the embedded companies' cycles. The search
stops after ``max_cycles`` cycles or ``budget_s`` seconds in all: what it
returns are then the largest cycles of each part (ties at the cut in edge
order), the result says it was truncated, and the number found is a lower
bound of the true count (so is any per-company count taken from it).

A complete digraph of 20 parties has about five million cycles of up to six
parties; listing them all took two minutes and 1.9 GB. Here it takes the time
to find ``max_cycles`` of them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field

import networkx as nx

MAX_CYCLES = 2_000
TIME_BUDGET_S = 1.0
_CHECK_EVERY = 512  # DFS steps between two looks at the clock

Node = Hashable


@dataclass
class CycleSearch:
    """What a bounded search found: cycles as node lists (largest first), how many, and whether it stopped early.

    ``truncated`` is True when the search stopped at the cap or the time budget:
    ``found`` is then a lower bound ("at least N cycles") and any per-node count
    taken from ``cycles`` is a lower bound too. ``stopped_by`` says why
    ("cycle cap", "time budget" or None).
    """

    cycles: list[list[Node]] = field(default_factory=list)
    found: int = 0
    truncated: bool = False
    stopped_by: str | None = None
    elapsed_s: float = 0.0


def edge_order(g: nx.DiGraph, weight: str = "amount_usd") -> list[tuple[Node, Node]]:
    """Edges by descending ``weight``; edges whose weight is missing or NaN come last (ties in node order)."""
    def key(e: tuple[Node, Node]) -> tuple[bool, float, str, str]:
        a = g.edges[e].get(weight)
        missing = a is None or (isinstance(a, float) and math.isnan(a))
        return (missing, 0.0 if missing else -float(a), str(e[0]), str(e[1]))
    return sorted(g.edges, key=key)


def _distances_to(target: Node, pred: dict[Node, list[Node]], depth: int) -> dict[Node, int]:
    """Fewest edges from each node to ``target`` over the edges added so far, up to ``depth``."""
    dist = {target: 0}
    frontier = [target]
    for d in range(1, depth + 1):
        nxt = []
        for x in frontier:
            for p in pred.get(x, ()):
                if p not in dist:
                    dist[p] = d
                    nxt.append(p)
        frontier = nxt
    return dist


def _paths(start: Node, target: Node, succ: dict[Node, list[Node]], max_edges: int,
           dist: dict[Node, int], tick: Callable[[], bool]) -> Iterator[list[Node]]:
    """Simple paths start -> ... -> target of at most ``max_edges`` edges (target last), depth first.

    ``dist`` prunes branches that cannot reach the target in the edges left;
    ``tick`` is called every step and ends the walk when it returns True.
    """
    if start == target:
        yield [start]
        return
    path, on_path = [start], {start}
    stack = [iter(succ.get(start, ()))]
    while stack:
        if tick():
            return
        nxt = next(stack[-1], None)
        if nxt is None:
            stack.pop()
            on_path.discard(path.pop())
            continue
        if nxt in on_path or len(path) + dist.get(nxt, max_edges + 1) > max_edges:
            continue
        if nxt == target:
            yield path + [target]
            continue
        path.append(nxt)
        on_path.add(nxt)
        stack.append(iter(succ.get(nxt, ())))


class _Clock:
    """Counts steps and says when the current deadline has passed (looks at the clock every few hundred steps)."""

    def __init__(self, budget_s: float) -> None:
        self.start = time.perf_counter()
        self.end = self.start + budget_s  # the whole search's deadline
        self.deadline = self.end  # the current part's share of it
        self.steps = 0
        self.expired = False

    def share(self, parts_left: int) -> None:
        """Give the next part an equal share of the time left (a part that finishes early leaves it to the rest)."""
        now = time.perf_counter()
        self.deadline = now + max(self.end - now, 0.0) / max(parts_left, 1)
        self.expired = now > self.deadline

    def tick(self) -> bool:
        self.steps += 1
        if self.steps % _CHECK_EVERY == 0 and time.perf_counter() > self.deadline:
            self.expired = True
        return self.expired


def cyclic_parts(g: nx.DiGraph) -> list[set[Node]]:
    """The strongly connected parts that can hold a cycle (two or more parties, or a self-loop), fewest edges first."""
    parts = [p for p in nx.strongly_connected_components(g)
             if len(p) > 1 or any(g.has_edge(n, n) for n in p)]
    return sorted(parts, key=lambda p: (g.subgraph(p).number_of_edges(), len(p), sorted(map(str, p))))


def _search_part(g: nx.DiGraph, max_length: int, cap: int, clock: _Clock,
                 weight: str) -> tuple[list[list[Node]], str | None]:
    """The largest cycles of one strongly connected part, at most ``cap``; and why it stopped early (or None)."""
    cycles: list[list[Node]] = []
    succ: dict[Node, list[Node]] = {}
    pred: dict[Node, list[Node]] = {}
    for u, v in edge_order(g, weight):
        dist = _distances_to(u, pred, max_length - 1)
        for path in _paths(v, u, succ, max_length - 1, dist, clock.tick):
            if len(cycles) == cap:  # one more than the cap exists: the list is cut
                return cycles, "cycle cap"
            cycles.append(path)
        if clock.expired:
            return cycles, "time budget"
        succ.setdefault(u, []).append(v)
        pred.setdefault(v, []).append(u)
    return cycles, None


def largest_cycles(g: nx.DiGraph, max_length: int = 6, max_cycles: int = MAX_CYCLES,
                   budget_s: float = TIME_BUDGET_S, weight: str = "amount_usd") -> CycleSearch:
    """The simple directed cycles of at most ``max_length`` nodes, largest bottleneck first, bounded.

    A cycle lies within one strongly connected part of the graph; each part is
    searched on its own, fewest edges first, with an equal share of the cycles
    and of the time still left (what a part does not use goes to the next).
    So a dense cluster in an upload cannot crowd out the cycles of the embedded
    companies. At most ``max_cycles`` cycles and about ``budget_s`` seconds in
    all. Each cycle is a node list in the order money flows (the edge from the
    last node back to the first closes it).
    """
    clock = _Clock(budget_s)
    out = CycleSearch()
    parts = cyclic_parts(g) if max_length >= 1 else []
    for i, part in enumerate(parts):
        left = len(parts) - i
        cap = (max_cycles - len(out.cycles)) // left
        clock.share(left)
        found, stopped = _search_part(g.subgraph(part), max_length, cap, clock, weight)
        out.cycles.extend(found)
        out.stopped_by = out.stopped_by or stopped
    out.found = len(out.cycles)
    out.truncated = out.stopped_by is not None
    out.elapsed_s = time.perf_counter() - clock.start
    return out


class CycleList(list):
    """A list of cycles that also says whether the search behind it was cut short.

    ``found`` is the number of cycles found (a lower bound when ``truncated``),
    ``stopped_by`` why the search stopped early ("cycle cap", "time budget" or
    None) and ``elapsed_s`` how long it ran.
    """

    def __init__(self, items=(), *, found: int | None = None, truncated: bool = False,
                 stopped_by: str | None = None, elapsed_s: float = 0.0) -> None:
        super().__init__(items)
        self.found = len(self) if found is None else found
        self.truncated = truncated
        self.stopped_by = stopped_by
        self.elapsed_s = elapsed_s
