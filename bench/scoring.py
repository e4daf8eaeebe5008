"""Scoring benchmark on synthetic universes (500 / 5,000 / 50,000 companies x 4 years).

Run: python bench/scoring.py. Prints medians of repeated runs and the ratio to the 500-company run
measured in the same process (machines are shared and noisy; ratios are what compare).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from metrics.scoring import build_context, run_checks, score_table  # noqa: E402
from data.schema import REQUIRED_FIELDS  # noqa: E402


def synthetic(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    tickers = np.array([f"T{i:06d}" for i in range(n)])
    years = np.array([2022, 2023, 2024, 2025])
    t = np.repeat(tickers, len(years) * len(REQUIRED_FIELDS))
    y = np.tile(np.repeat(years, len(REQUIRED_FIELDS)), n)
    f = np.tile(np.array(REQUIRED_FIELDS), n * len(years))
    v = rng.lognormal(20, 1.5, len(t)) * np.where(np.isin(f, ["Capital Expenditure", "Repurchase Of Capital Stock",
                                                             "Cash Dividends Paid"]), -1, 1)
    st = pd.DataFrame({"ticker": t, "fiscal_year": y, "period_end": [f"{yy}-12-31" for yy in y], "currency": "USD",
                       "field": f, "value": v, "source": "synthetic"})
    st = st.sample(frac=0.85, random_state=seed)  # gaps, like real data
    uni = pd.DataFrame({"ticker": tickers, "name": tickers, "segment": rng.choice(["chips", "networking", "cloud", "energy"], n),
                        "subsegment": "x", "country": "US", "price_currency": "USD", "origin": "synthetic"})
    mk = pd.DataFrame({"ticker": tickers, "price_currency": "USD", "market_cap": rng.lognormal(24, 1.5, n),
                       "shares_outstanding": np.nan, "as_of": "2026-01-01", "source": "synthetic"})
    fx = pd.DataFrame({"currency": ["USD"], "usd_per_unit": [1.0], "as_of": ["2026-01-01"], "source": ["identity"]})
    return st, mk, uni, fx


def time_scoring(n: int, repeats: int) -> float:
    data = synthetic(n)
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
