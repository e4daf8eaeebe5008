"""Cycle-search benchmark on generated uploads: every party of N pays every other (a complete digraph).

Run: python bench/cycles.py. Such an upload of 20 parties (380 rows, 38 KB) has
about five million cycles of up to six parties; the bounded search keeps the
largest 2,000. The uploads are generated here (and by the tests), never
committed files, and never shown as data.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from data.loop import (DEAL_COLUMNS, load_concentration, load_deals, merge_deals, parse_upload,  # noqa: E402
                       validate_deals)
from metrics import loop as L  # noqa: E402

PARTY_COUNTS = (12, 15, 20, 40)


def complete_digraph_csv(n: int, prefix: str = "P") -> bytes:
    """A deals CSV in which each of ``n`` made-up parties pays each other one (n·(n−1) rows).

    Amounts differ (USD 1–997 bn, a fixed pattern) so "the largest cycles" is meaningful.
    """
    lines = [",".join(DEAL_COLUMNS)]
    k = 0
    for i in range(n):
        for j in range(n):
            if i != j:
                amount = (k * 7919 % 997 + 1) * 1_000_000_000
                lines.append(f"x{k},2025-01-01,{prefix}{i:02d},{prefix}{j:02d},compute_contract,{amount},reported,5,"
                             f"signed,generated benchmark deal,https://example.test/{k}")
                k += 1
    return ("\n".join(lines) + "\n").encode()


@dataclass
class CycleRun:
    """One upload through the loop analysis: seconds per step, and what the search found."""

    parties: int
    accepted: bool
    parse_s: float
    context_s: float
    cycles_s: float
    cycles: int
    truncated: bool
    message: str | None


def run_upload(n: int) -> CycleRun:
    """Parse + validate the n-party upload, merge it with the embedded deals, build the loop context (graph and
    cycles), as the loop map does; the cycle step is timed again on its own."""
    data = complete_digraph_csv(n)
    t0 = time.perf_counter()
    up = parse_upload(data, f"{n}-party upload")
    t1 = time.perf_counter()
    if up.fatal:
        return CycleRun(n, False, t1 - t0, 0.0, 0.0, 0, False, up.fatal)
    deals = merge_deals(load_deals(), up.valid)
    lc = L.loop_context(deals, load_concentration(), set())
    t2 = time.perf_counter()
    cycles = L.find_cycles(lc.graph)
    t3 = time.perf_counter()
    return CycleRun(n, True, t1 - t0, t2 - t1, t3 - t2, len(cycles), cycles.truncated, None)


def graph_of(n: int) -> nx.DiGraph:
    """The loop graph of the embedded deals plus the n-party rows, validated row by row only: the upload limits
    would refuse 40 parties, and the search itself is what is measured."""
    raw = pd.read_csv(io.BytesIO(complete_digraph_csv(n)), dtype=str, keep_default_na=False, na_values=[""])
    return L.build_graph(merge_deals(load_deals(), validate_deals(raw)[0]))


def time_cycle_search(n: int, repeats: int) -> tuple[float, int, bool]:
    """Median seconds of the cycle search on the embedded deals + the n-party upload (n = 0: embedded only),
    with the number of cycles kept and whether the search stopped early."""
    g = graph_of(n) if n else L.build_graph(load_deals())
    runs, found = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        found = L.find_cycles(g)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), len(found), bool(found.truncated)


def main() -> None:
    print(f"{'parties':>8} {'accepted':>9} {'parse s':>8} {'context s':>10} {'cycles s':>9} {'cycles':>7}  note")
    for n in PARTY_COUNTS:
        r = run_upload(n)
        s, kept, cut = time_cycle_search(n, 3)
        note = r.message or ("at least; showing the largest" if cut else "all")
        print(f"{n:>8} {str(r.accepted):>9} {r.parse_s:>8.3f} {r.context_s:>10.3f} {s:>9.3f} {kept:>7}  {note[:70]}")


if __name__ == "__main__":
    main()
