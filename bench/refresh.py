"""Live-refresh benchmark: the whole universe plus unknown symbols against the loopback Yahoo stub.

The real yfinance HTTP and parsing code runs end to end through
:func:`data.live.fetch_many` (4 workers, per-ticker deadline, exponential
back-off on HTTP 429): per ticker ``info``, the three annual statements, and the
trailing tables (TTM income statement and cash flow, quarterly balance sheet).
The stub answers every request after ``latency_s`` and rate-limits the first
requests of a few symbols.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.yahoo_stub import YahooStub, stub_factory, universe_state
from data.embedded import embedded_tables
from data.live import fetch_many

UNKNOWN = ("ZZZZ1", "NOPE.X", "DELISTED9")
# yfinance opens its timezone cache once per process: one folder for every run of this process
_TZ_CACHE = tempfile.TemporaryDirectory(prefix="kosmos-bench-yf-")


@dataclass
class RefreshRun:
    seconds: float
    tickers: int
    requests: int
    http_429: int
    outcomes: dict[str, int]
    known: int = 0  # listed tickers the stub knows (the unknown symbols make a request or two each)
    #: requests by kind: quote (info: quoteSummary, v7 quote, its own timeseries call), annual, trailing, quarterly
    kinds: dict[str, int] = field(default_factory=dict)
    trailing_ok: int = 0  # tickers whose trailing tables all came back


def refresh_once(latency_s: float = 0.2, rate_limited: dict[str, int] | None = None,
                 backoff_s: float = 1.0) -> RefreshRun:
    """One refresh of the 34 universe tickers plus 3 unknown symbols (37) against a fresh stub."""
    import yfinance as yf

    uni = embedded_tables()[2]
    rate_limited = {"MSFT": 1, "ORCL": 2, "AVGO": 1} if rate_limited is None else rate_limited
    state = universe_state(latency_s, rate_limited, extra=False)
    tickers = [*uni["ticker"], *UNKNOWN]
    yf.set_tz_cache_location(_TZ_CACHE.name)
    with YahooStub(state) as stub:
        factory = stub_factory(stub.port)
        t0 = time.perf_counter()
        res = fetch_many(tickers, factory, preflight=lambda: None, backoff_s=backoff_s)
        seconds = time.perf_counter() - t0
    return RefreshRun(seconds, len(tickers), state.requests, state.count_429,
                      dict(Counter(o.status for o in res.outcomes.values())), len(uni), dict(state.kinds),
                      sum(o.trailing == "ok" for o in res.outcomes.values()))
