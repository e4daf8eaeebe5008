"""Synthetic universes for benchmarks only (never shown as data): n companies x 4 fiscal years.

Values are random log-normal amounts with 15 % of cells dropped, like the gaps
in real filings. They exist to measure speed and memory, not to be read.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from data.live import STATUS_OK, RefreshResult, TickerOutcome
from data.schema import REQUIRED_FIELDS

YEARS = (2022, 2023, 2024, 2025)
_OUTFLOWS = ("Capital Expenditure", "Repurchase Of Capital Stock", "Cash Dividends Paid")
SOURCE = "synthetic benchmark data (not real)"


def synthetic_tables(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(statements, market, universe, fx) in the canonical schema for ``n`` made-up companies ``T000000``..."""
    rng = np.random.default_rng(seed)
    tickers = np.array([f"T{i:06d}" for i in range(n)])
    years = np.array(YEARS)
    fields = np.array(REQUIRED_FIELDS)
    t = np.repeat(tickers, len(years) * len(fields))
    y = np.tile(np.repeat(years, len(fields)), n)
    f = np.tile(fields, n * len(years))
    v = rng.lognormal(20, 1.5, len(t)) * np.where(np.isin(f, _OUTFLOWS), -1, 1)
    st = pd.DataFrame({"ticker": t, "fiscal_year": y, "period_end": pd.Series(y).astype(str).to_numpy() + "-12-31",
                       "currency": "USD", "field": f, "value": v, "source": SOURCE})
    st = st.sample(frac=0.85, random_state=seed).reset_index(drop=True)
    uni = pd.DataFrame({"ticker": tickers, "name": tickers,
                        "segment": rng.choice(["chips", "networking", "cloud", "energy"], n),
                        "subsegment": "x", "country": "US", "price_currency": "USD", "origin": "synthetic"})
    mk = pd.DataFrame({"ticker": tickers, "price_currency": "USD", "market_cap": rng.lognormal(24, 1.5, n),
                       "shares_outstanding": np.nan, "as_of": "2026-01-01", "source": SOURCE})
    fx = pd.DataFrame({"currency": ["USD"], "usd_per_unit": [1.0], "as_of": ["2026-01-01"], "source": ["identity"]})
    return st, mk, uni, fx


def write_synthetic_snapshot(cache_dir: Path, n: int, seed: int = 0) -> Path:
    """Store ``n`` synthetic companies as one cache snapshot, as if a live refresh had fetched them.

    The app then loads them through its real loader; tickers outside the
    universe join it in the segment "other", as user-added tickers do.
    """
    from data.cache import Cache

    st, mk, _, _ = synthetic_tables(n, seed)
    tickers = mk["ticker"].tolist()
    result = RefreshResult(st, mk, {t: f"Synthetic {t}" for t in tickers},
                           {t: TickerOutcome(t, STATUS_OK, "complete") for t in tickers}, datetime.now(timezone.utc))
    path = Cache(cache_dir).write(result)
    assert path is not None
    return path
