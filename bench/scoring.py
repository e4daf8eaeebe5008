"""Scoring benchmark on synthetic universes (500 / 5,000 / 50,000 companies x 4 years).

Run: python bench/scoring.py. Prints medians of repeated runs and the ratio to the 500-company run
measured in the same process (machines are shared and noisy; ratios are what compare).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from metrics.scoring import build_context, run_checks, score_table  # noqa: E402
from bench.synthetic import synthetic_tables  # noqa: E402


def time_scoring(n: int, repeats: int) -> float:
    data = synthetic_tables(n)
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ctx = build_context(*data)
        score_table(ctx, run_checks(ctx))
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    base = None
    print(f"{'companies':>10} {'median s':>10} {'x 500':>8} {'per company us':>15}")
    for n, reps in ((500, 7), (5_000, 5), (50_000, 3)):
        s = time_scoring(n, reps)
        base = base or s
        print(f"{n:>10,} {s:>10.3f} {s / base:>8.1f} {s / n * 1e6:>15.1f}")


if __name__ == "__main__":
    main()
