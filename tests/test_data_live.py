"""Live source on yfinance-shaped frames and fake tickers; the cache's guarantees. No network."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.cache import Cache, is_stale
from data.live import (STATUS_NETWORK, STATUS_NO_STATEMENTS, STATUS_NOT_COMPANY, STATUS_OFFLINE, STATUS_OK,
                       STATUS_PARTIAL, STATUS_RATE_LIMITED, STATUS_TIMEOUT, STATUS_UNKNOWN, TRAILING_NONE, fetch_many,
                       fiscal_year_of, map_info, map_statement_frame, map_trailing_frame)
from data.loader import load_dataset

ROOT = Path(__file__).resolve().parents[1]


def yf_frame(rows: dict[str, list[float]], dates: list[str]) -> pd.DataFrame:
    """A frame shaped like yfinance's: labels as rows, period-end Timestamps as columns, newest first."""
    cols = [pd.Timestamp(d) for d in dates]
    return pd.DataFrame(rows, index=cols).T.astype(float)[sorted(cols, reverse=True)]


class YFRateLimitError(Exception):
    """Same class name as yfinance's, which is how the source recognises it."""


class FakeTicker:
    def __init__(self, info=None, income=None, balance=None, cash=None, info_exc=None):
        self._info, self._exc = info, info_exc
        self.income_stmt = income if income is not None else pd.DataFrame()
        self.balance_sheet = balance if balance is not None else pd.DataFrame()
        self.cashflow = cash if cash is not None else pd.DataFrame()

    @property
    def info(self):
        if self._exc:
            raise self._exc
        return self._info


def good_ticker(currency="USD"):
    return FakeTicker(
        info={"currency": "USD", "financialCurrency": currency, "marketCap": 1e12, "longName": "Good Co", "quoteType": "EQUITY"},
        income=yf_frame({"Total Revenue": [100.0, 80.0], "Gross Profit": [60.0, np.nan], "Basic EPS": [1.0, 1.0]},
                        ["2025-01-26", "2024-01-28"]),
        balance=yf_frame({"Total Debt": [10.0, 12.0]}, ["2025-01-26", "2024-01-28"]),
        cash=yf_frame({"Free Cash Flow": [30.0, 20.0]}, ["2025-01-26", "2024-01-28"]),
    )


# ------------------------------------------------------------------ mapping

def test_fiscal_year_labels_follow_the_period_end():
    assert fiscal_year_of(pd.Timestamp("2025-01-26")) == 2025  # NVDA-style January year end
    assert fiscal_year_of(pd.Timestamp("2025-06-30")) == 2025
    assert fiscal_year_of(pd.Timestamp("2023-01-01")) == 2022  # 52/53-week year ending in the first January week


def test_map_statement_frame_drops_nan_keeps_currency_and_unknown_labels_out():
    f = yf_frame({"Total Revenue": [100.0, 80.0], "Gross Profit": [60.0, np.nan], "Basic EPS": [1.0, 2.0]},
                 ["2024-12-31", "2023-12-31"])
    out = map_statement_frame(f, "TSM", "TWD", "https://finance.yahoo.com/quote/TSM/financials")
    assert set(out["field"]) == {"Total Revenue", "Gross Profit"}
    assert len(out) == 3  # the NaN gross profit is missing, not zero
    assert (out["currency"] == "TWD").all()
    assert out.loc[out["fiscal_year"] == 2023, "value"].tolist() == [80.0]


def test_map_statement_frame_accepts_raw_yahoo_keys_and_empty_frames():
    raw = yf_frame({"TotalRevenue": [5.0], "FreeCashFlow": [1.0]}, ["2024-09-30"])
    out = map_statement_frame(raw, "X", "EUR", "s")
    assert sorted(out["field"]) == ["Free Cash Flow", "Total Revenue"]
    assert map_statement_frame(pd.DataFrame(), "X", "USD", "s").empty
    assert map_statement_frame(None, "X", "USD", "s").empty


def test_map_info_uses_financial_currency_for_statements_and_price_currency_for_cap():
    market, cur, name = map_info({"currency": "USD", "financialCurrency": "TWD", "marketCap": 9e11,
                                  "longName": "TSMC"}, "TSM", "2026-11-24")
    assert cur == "TWD" and name == "TSMC"
    assert market.iloc[0]["price_currency"] == "USD" and market.iloc[0]["market_cap"] == 9e11
    m2, c2, _ = map_info({}, "X", "2026-11-24")  # Yahoo drops null keys: nothing is assumed
    assert m2.empty and c2 is None


def test_map_trailing_frame_keeps_only_the_newest_column_with_its_calendar_year():
    f = yf_frame({"Total Revenue": [120.0, 110.0], "Gross Profit": [np.nan, 50.0], "Basic EPS": [1.0, 1.0]},
                 ["2027-01-02", "2026-10-03"])
    out = map_trailing_frame(f, "X", "USD", "ttm", "https://finance.yahoo.com/quote/X/financials")
    assert out[["field", "period_end", "fiscal_year", "value", "statement"]].values.tolist() == [
        ["Total Revenue", "2027-01-02", 2027, 120.0, "ttm"]]  # the older column never fills the missing line
    assert fiscal_year_of(pd.Timestamp("2027-01-02")) == 2026  # unlike the annual label
    assert map_trailing_frame(pd.DataFrame(), "X", "USD", "quarterly balance", "s").empty


def test_map_statement_frame_keeps_the_first_of_two_spellings_and_skips_text_cells():
    f = pd.DataFrame({pd.Timestamp("2025-12-31"): [5.0, 7.0, "n/a"]}, index=["TotalRevenue", "Total Revenue", "EBIT"])
    out = map_statement_frame(f, "X", "USD", "s")
    assert out[["field", "value"]].values.tolist() == [["Total Revenue", 5.0]]


class TrailingTicker(FakeTicker):
    """A fake with the trailing tables; ``fail`` maps an attribute to the exception it raises."""

    def __init__(self, *a, ttm_income=None, ttm_cash=None, quarterly=None, fail=None, **kw):
        super().__init__(*a, **kw)
        self._t = {"ttm_income_stmt": ttm_income, "ttm_cashflow": ttm_cash, "quarterly_balance_sheet": quarterly}
        self._fail = fail or {}

    def __getattr__(self, name):
        if name in ("_t", "_fail"):
            raise AttributeError(name)
        if name in self._fail:
            raise self._fail[name]
        if name in self._t:
            return self._t[name] if self._t[name] is not None else pd.DataFrame()
        raise AttributeError(name)


def _trailing_ticker(**kw):
    g = good_ticker()
    return TrailingTicker(info=g._info, income=g.income_stmt, balance=g.balance_sheet, cash=g.cashflow, **kw)


def test_trailing_outcomes_complete_partial_none_and_failed_keep_the_annual_data():
    ttm = yf_frame({"Total Revenue": [130.0]}, ["2025-10-26"])
    cash = yf_frame({"Free Cash Flow": [33.0]}, ["2025-10-26"])
    bal = yf_frame({"Total Debt": [9.0, 10.0]}, ["2025-10-26", "2025-07-27"])
    empty = IndexError("positional indexers are out-of-bounds")  # yfinance on a trailing table with no column
    tickers = {
        "FULL": _trailing_ticker(ttm_income=ttm, ttm_cash=cash, quarterly=bal),
        "HALF": _trailing_ticker(ttm_income=ttm, ttm_cash=cash),
        "NONE": _trailing_ticker(fail={"ttm_income_stmt": empty, "ttm_cashflow": empty}),
        "LIMIT": _trailing_ticker(fail={"ttm_income_stmt": YFRateLimitError("Too Many Requests")}),
    }
    sleeps: list[float] = []
    res = fetch_many(list(tickers), lambda s: tickers[s], preflight=lambda: None, sleep=sleeps.append, retries=2)
    o = res.outcomes
    assert all(x.status == STATUS_OK for x in o.values())  # the annual data of every ticker is kept
    assert (o["FULL"].trailing, o["FULL"].trailing_message) == (STATUS_OK, "TTM to 2025-10-26 · balance sheet 2025-10-26")
    assert o["HALF"].trailing == STATUS_PARTIAL and "quarterly balance sheet (Yahoo returned none)" in o["HALF"].trailing_message
    assert o["NONE"].trailing == TRAILING_NONE
    assert o["LIMIT"].trailing == STATUS_RATE_LIMITED and sleeps == [1.0, 2.0]  # back-off, then given up
    tr = res.trailing
    assert set(tr["ticker"]) == {"FULL", "HALF"}
    assert tr[(tr["ticker"] == "FULL") & (tr["statement"] == "quarterly balance")]["value"].tolist() == [9.0]


def test_a_fund_is_refused_before_any_statement_is_asked_for():
    asked: list[str] = []

    class Fund(FakeTicker):
        def __getattribute__(self, name):
            if name in ("income_stmt", "balance_sheet", "cashflow", "ttm_income_stmt"):
                asked.append(name)
            return super().__getattribute__(name)

    res = fetch_many(["SPY", "BARE"], lambda s: Fund(info={"quoteType": "ETF", "longName": "SPDR", "currency": "USD"})
                     if s == "SPY" else FakeTicker(info={"quoteType": "EQUITY", "longName": "Bare", "currency": "USD"}),
                     preflight=lambda: None)
    assert res.outcomes["SPY"].status == STATUS_NOT_COMPANY and "an ETF (Yahoo quoteType ETF)" in res.outcomes["SPY"].message
    assert asked == [] and res.profiles["SPY"]["quote_type"] == "ETF"
    assert res.outcomes["BARE"].status == STATUS_NO_STATEMENTS


# ------------------------------------------------------------------ fetching with injected tickers

def test_one_bad_ticker_never_fails_the_batch_and_reasons_are_recorded():
    calls = {"RL": 0}

    def factory(sym):
        if sym == "GOOD":
            return good_ticker()
        if sym == "GONE":
            return FakeTicker(info={"trailingPegRatio": None})
        if sym == "RL":
            calls["RL"] += 1
            if calls["RL"] < 3:
                return FakeTicker(info_exc=YFRateLimitError("Too Many Requests. Rate limited."))
            return good_ticker()
        if sym == "PART":
            t = good_ticker()
            t.balance_sheet = pd.DataFrame()
            return t
        raise RuntimeError("boom")

    sleeps = []
    res = fetch_many(["GOOD", "GONE", "RL", "PART", "ERR"], factory, preflight=lambda: None,
                     sleep=sleeps.append, backoff_s=0.5)
    o = res.outcomes
    assert o["GOOD"].status == STATUS_OK
    assert o["GONE"].status == STATUS_UNKNOWN and "unknown" in o["GONE"].message
    assert o["RL"].status == STATUS_OK and o["RL"].attempts == 3
    assert sleeps[:2] == [0.5, 1.0]  # exponential back-off
    assert o["PART"].status == STATUS_PARTIAL and "balance_sheet" in o["PART"].message
    assert o["ERR"].status == "error"
    assert set(res.statements["ticker"]) == {"GOOD", "RL", "PART"}


def test_rate_limit_gives_up_after_retries():
    res = fetch_many(["A"], lambda s: FakeTicker(info_exc=YFRateLimitError("Too Many Requests")),
                     preflight=lambda: None, sleep=lambda s: None, retries=2)
    assert res.outcomes["A"].status == STATUS_RATE_LIMITED and res.outcomes["A"].attempts == 3


def test_repeated_network_errors_stop_the_batch_as_offline():
    made = []

    def factory(sym):
        made.append(sym)
        return FakeTicker(info_exc=ConnectionError("Could not resolve host"))

    res = fetch_many([f"T{i}" for i in range(20)], factory, preflight=lambda: None, max_workers=1,
                     max_network_errors=3)
    assert res.offline
    assert len(made) == 3
    assert sum(o.status == STATUS_OFFLINE for o in res.outcomes.values()) == 17
    assert sum(o.status == STATUS_NETWORK for o in res.outcomes.values()) == 3


def test_hung_ticker_times_out_without_blocking_the_batch():
    def factory(sym):
        if sym == "HANG":
            time.sleep(3)
        return good_ticker()

    t0 = time.monotonic()
    res = fetch_many(["HANG", "OK1", "OK2"], factory, preflight=lambda: None, per_ticker_timeout_s=0.5)
    assert time.monotonic() - t0 < 2.5
    assert res.outcomes["HANG"].status == STATUS_TIMEOUT
    assert res.outcomes["OK1"].good and res.outcomes["OK2"].good


def test_preflight_failure_is_one_offline_state_and_progress_reaches_the_end():
    seen = []
    res = fetch_many(["A", "B"], lambda s: good_ticker(), preflight=lambda: "DNS lookup failed",
                     progress=lambda d, n, t: seen.append((d, n)))
    assert res.offline and not res.good_tickers
    assert seen[-1] == (2, 2)
    assert "Offline" in res.summary()


# ------------------------------------------------------------------ cache

def _result(factory, tickers=("GOOD",)):
    return fetch_many(list(tickers), factory, preflight=lambda: None)


def test_cache_keeps_good_data_when_a_later_refresh_fails(isolated_cache):
    cache = Cache(isolated_cache)
    cache.write(_result(lambda s: good_ticker()))
    failed = _result(lambda s: FakeTicker(info_exc=ConnectionError("down")))
    assert cache.write(failed) is None  # nothing written
    view = cache.read()
    assert set(view.tickers["ticker"]) == {"GOOD"}
    assert view.statements["value"].sum() > 0


def test_newer_good_snapshot_wins_and_history_is_kept(isolated_cache):
    cache = Cache(isolated_cache)
    cache.write(_result(lambda s: good_ticker()))
    time.sleep(0.01)

    def better(sym):
        t = good_ticker()
        t.income_stmt = yf_frame({"Total Revenue": [999.0]}, ["2026-01-25"])
        return t

    cache.write(_result(better))
    view = cache.read()
    rev = view.statements[view.statements["field"] == "Total Revenue"]
    assert rev["value"].max() == 999.0 and 100.0 not in set(rev["value"])
    assert len(cache.history()) == 2


def test_crash_mid_write_leaves_previous_data_readable(isolated_cache, monkeypatch):
    cache = Cache(isolated_cache)
    cache.write(_result(lambda s: good_ticker()))
    before = cache.read().statements.copy()

    def crash(*a, **k):
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        cache.write(_result(lambda s: good_ticker("EUR")))
    monkeypatch.undo()
    after = cache.read().statements
    pd.testing.assert_frame_equal(before.reset_index(drop=True), after.reset_index(drop=True))
    assert cache.cleanup_temp() == 0  # the interrupted write removed its own temp folder


def test_corrupt_snapshot_is_set_aside_and_app_keeps_working(isolated_cache):
    cache = Cache(isolated_cache)
    first = cache.write(_result(lambda s: good_ticker()))
    time.sleep(0.01)
    second = cache.write(_result(lambda s: good_ticker("EUR")))
    (second / "statements.parquet").write_bytes(b"PAR1 truncated")
    view = cache.read()
    assert view.quarantined and not second.exists() and first.exists()  # the good snapshot stays
    assert (cache.quarantine).exists()
    assert set(view.statements["currency"]) == {"USD"}  # rebuilt from the older good snapshot
    ds = load_dataset(cache)
    assert any("corrupt" in n for n in ds.notices) or not ds.statements.empty


def test_dataset_prefers_cached_yahoo_data_and_flags_staleness(isolated_cache):
    cache = Cache(isolated_cache)
    res = fetch_many(["MSFT"], lambda s: good_ticker(), preflight=lambda: None)
    cache.write(res)
    ds = load_dataset(cache, now=res.fetched_at + pd.Timedelta(hours=25))
    prov = ds.provenance.set_index("ticker")
    assert prov.at["MSFT", "origin"] == "yahoo" and bool(prov.at["MSFT", "stale"])
    assert prov.at["ORCL", "origin"] == "embedded"
    msft = ds.statements[ds.statements["ticker"] == "MSFT"]
    assert set(msft["source"].str[:26]) == {"https://finance.yahoo.com/"}
    assert "STALE" in ds.badge(now=res.fetched_at + pd.Timedelta(hours=25))
    assert is_stale(res.fetched_at, res.fetched_at + pd.Timedelta(hours=24, seconds=1))


def test_refresh_cli_offline_says_so_fast_and_leaves_cache_intact(isolated_cache):
    cache = Cache(isolated_cache)
    cache.write(_result(lambda s: good_ticker()))
    snaps = [p.name for p in cache.snapshot_dirs()]
    env = {**os.environ, "KOSMOS_CACHE_DIR": str(isolated_cache), "HTTPS_PROXY": "http://127.0.0.1:9",
           "https_proxy": "http://127.0.0.1:9"}
    # the child's preflight cannot resolve or reach Yahoo in the sandbox (and the proxy is a dead port)
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", "import socket\n"
                          "def _no(*a, **k): raise socket.gaierror('no DNS in tests')\n"
                          "socket.getaddrinfo = _no\n"
                          "import sys; from data.__main__ import main; sys.exit(main(['refresh', 'MSFT']))"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert time.monotonic() - t0 < 30
    assert out.returncode != 0
    assert out.stdout.strip().startswith("Offline") and len(out.stdout.strip().splitlines()) == 1
    assert [p.name for p in cache.snapshot_dirs()] == snaps
