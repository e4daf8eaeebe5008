"""A cache that cannot be poisoned (issue 15): validated tables as checked Parquet, snapshot faults, and a
refresh that is offline within 30 s when Yahoo's hosts accept connections but never answer."""

from __future__ import annotations

import errno
import os
import pickle
import random
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.cache import Cache, CacheWriteError
from data.embedded import clear_caches, validated_csv
from data.live import (PREFLIGHT_TIMEOUT_S, REFRESH_QUIET_S, STATUS_INVALID, STATUS_OFFLINE, STATUS_OK,
                       STATUS_TIMEOUT, RefreshDeadline, RefreshResult, TickerOutcome, clamped_timeout, fetch_many)
from data.loader import load_dataset, refresh
from data.manifest import PACKAGE_DIR
from tests.test_data_live import good_ticker

FUNDAMENTALS = PACKAGE_DIR / "fundamentals.csv"


@pytest.fixture(autouse=True)
def _fresh_tables():
    clear_caches()
    yield
    clear_caches()


def _nvda_revenue(frame: pd.DataFrame) -> float:
    row = frame[(frame["ticker"] == "NVDA") & (frame["field"] == "Total Revenue") & (frame["fiscal_year"] == 2025)]
    return float(row["value"].iloc[0])


# ------------------------------------------------------------------ validated-table cache: Parquet + checksum

def test_validated_tables_are_parquet_with_their_checksum_never_pickle(isolated_cache):
    frame = validated_csv(FUNDAMENTALS, "statements")
    entries = list((isolated_cache / "validated").iterdir())
    assert len(entries) == 1 and entries[0].suffix == ".parquet" and not list(isolated_cache.rglob("*.pkl"))
    import hashlib

    assert hashlib.sha256(entries[0].read_bytes()).hexdigest() in entries[0].name
    pd.testing.assert_frame_equal(validated_csv(FUNDAMENTALS, "statements"), frame)  # read back exactly
    assert _nvda_revenue(frame) == 130_497_000_000


def test_200_random_byte_flips_never_change_a_loaded_value(isolated_cache):
    from data.embedded import _read_entry

    reference = validated_csv(FUNDAMENTALS, "statements")
    entry = next((isolated_cache / "validated").glob("fundamentals-*.parquet"))
    good = entry.read_bytes()
    stem, key = entry.name.split(".")[0].rsplit("-", 1)
    rng = random.Random(15)
    for _ in range(200):
        data = bytearray(good)
        data[rng.randrange(len(data))] ^= rng.randrange(1, 256)
        entry.write_bytes(bytes(data))
        got = _read_entry(entry.parent, stem, key)
        assert got is None  # the checksum catches every flip: the entry is dropped, never parsed
        assert not entry.exists()
    for _ in range(3):  # and through the loader: re-validated from the CSV, the exact same frame
        data = bytearray(good)
        data[rng.randrange(len(data))] ^= 0xFF
        entry.write_bytes(bytes(data))
        again = validated_csv(FUNDAMENTALS, "statements")
        pd.testing.assert_frame_equal(again, reference)
        assert _nvda_revenue(again) == 130_497_000_000


@pytest.mark.parametrize("exc", [OverflowError("corrupt length"), MemoryError(), ValueError("ArrowInvalid")])
def test_any_error_reading_an_entry_means_validating_again(isolated_cache, monkeypatch, exc):
    reference = validated_csv(FUNDAMENTALS, "statements")

    def broken(*a, **k):
        raise exc

    monkeypatch.setattr(pd, "read_parquet", broken)
    pd.testing.assert_frame_equal(validated_csv(FUNDAMENTALS, "statements"), reference)


def test_a_planted_pickle_is_never_loaded_and_old_entries_are_pruned(isolated_cache, tmp_path):
    folder = isolated_cache / "validated"
    folder.mkdir(parents=True)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (folder / "fundamentals-0123456789abcdef0123.pkl").write_bytes(pickle.dumps(Evil()))
    (folder / "fundamentals-0000.deadbeef.parquet").write_bytes(b"stale entry of an older key")
    validated_csv(FUNDAMENTALS, "statements")
    assert not marker.exists()
    assert [p.suffix for p in folder.iterdir()] == [".parquet"]  # only the current key of the table is kept
    own = tmp_path / "fundamentals.csv"
    own.write_text("ticker,fiscal_year,period_end,currency,field,value,source\n"
                   "MSFT,2025,2025-06-30,USD,Total Revenue,1,s\n")
    validated_csv(own, "statements")  # a new key for the same table replaces the entry
    assert len(list(folder.glob("fundamentals-*.parquet"))) == 1


# ------------------------------------------------------------------ snapshots that cannot be read or dated

def _good(tickers=("GOOD",), currency="USD") -> RefreshResult:
    return fetch_many(list(tickers), lambda s: good_ticker(currency), preflight=lambda: None)


def _undatable(folder: Path) -> None:
    out = pd.read_parquet(folder / "outcomes.parquet").astype({"fetched_at": str})
    out["fetched_at"] = "the day before yesterday"
    out.to_parquet(folder / "outcomes.parquet", index=False)


def _snapshots(cache: Cache) -> tuple[Path, Path, Path]:
    """An older good snapshot (OLD), a corrupt one and an undatable one (both newer)."""
    old = cache.write(_good(["OLD"]))
    time.sleep(0.01)
    corrupt = cache.write(_good(["BAD1"]))
    (corrupt / "statements.parquet").write_bytes(b"PAR1 not really")
    time.sleep(0.01)
    undatable = cache.write(_good(["BAD2"]))
    _undatable(undatable)
    return old, corrupt, undatable


def test_an_undatable_snapshot_is_set_aside_and_good_ones_stay(isolated_cache):
    cache = Cache(isolated_cache)
    old, corrupt, undatable = _snapshots(cache)
    view = cache.read()
    assert set(view.tickers["ticker"]) == {"OLD"} and old.exists()
    assert len(view.quarantined) == 2 and not corrupt.exists() and not undatable.exists()
    ds = load_dataset(cache)
    assert ds.provenance.set_index("ticker").at["OLD", "origin"] == "yahoo"


def test_with_a_read_only_cache_bad_snapshots_are_skipped_and_never_drop_good_ones(isolated_cache):
    cache = Cache(isolated_cache)
    old, corrupt, undatable = _snapshots(cache)
    cache.quarantine.write_text("not a folder: nothing can be moved here")  # as a read-only cache behaves
    for _ in range(2):  # and again on the next read: skipped every time, never fatal
        view = cache.read()
        assert set(view.tickers["ticker"]) == {"OLD"}
        assert len(view.skipped) == 2 and corrupt.exists() and undatable.exists()
    ds = load_dataset(cache)
    assert ds.provenance.set_index("ticker").at["OLD", "origin"] == "yahoo"
    assert sum("was skipped" in n for n in ds.notices) == 2
    assert not any("unreadable" in n for n in ds.notices)


# ------------------------------------------------------------------ writes that fail

def _no_temp_left(cache: Cache) -> bool:
    return not [p for p in cache.snapshots.iterdir() if p.name.startswith(".tmp-")]


def test_disk_full_during_refresh_leaves_no_temp_folder_and_says_so(isolated_cache, monkeypatch):
    cache = Cache(isolated_cache)
    before = cache.write(_good())
    real = pd.DataFrame.to_parquet
    calls = {"n": 0}

    def full(self, path, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, path, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    res = refresh(["GOOD"], cache=cache, factory=lambda s: good_ticker("EUR"), preflight=lambda: None)
    assert res.good_tickers and res.cache_error and "No space left on device" in res.cache_error
    assert "NOT SAVED" in res.summary() and "left as it was" in res.summary()
    assert _no_temp_left(cache) and cache.snapshot_dirs() == [before]


def test_read_only_cache_during_refresh_is_a_message_and_exit_5(isolated_cache, monkeypatch, capsys):
    import data.__main__ as cli
    import data.loader as loader

    def read_only(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    real_fetch = loader.fetch_many
    monkeypatch.setattr(loader, "fetch_many", lambda tickers, factory, **kw: real_fetch(
        tickers, lambda s: good_ticker(), preflight=lambda: None))
    monkeypatch.setattr(os, "replace", read_only)
    assert cli.main(["refresh", "GOOD"]) == 5
    out = capsys.readouterr().out
    assert "NOT SAVED" in out and "Read-only file system" in out
    assert _no_temp_left(Cache(isolated_cache))
    with pytest.raises(CacheWriteError):
        Cache(isolated_cache).write(_good())


def test_a_write_removes_temp_folders_of_killed_writes_but_not_of_running_ones(isolated_cache):
    cache = Cache(isolated_cache)
    cache.write(_good())
    stale, running = cache.snapshots / ".tmp-killed-abc", cache.snapshots / ".tmp-running-def"
    stale.mkdir()
    running.mkdir()
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    cache.write(_good())
    assert not stale.exists() and running.exists()


# ------------------------------------------------------------------ snapshot contents pass the same checks

def _snapshot_with(cache: Cache, ticker: str, rows: list[tuple[int, str, float]], market_cap: float = 1e12,
                   outcome_ticker: str | None = None) -> Path:
    st = pd.DataFrame([{"ticker": ticker, "fiscal_year": y, "period_end": f"{y}-01-26", "currency": "USD", "field": f,
                        "value": v, "source": f"https://finance.yahoo.com/quote/{ticker}"} for y, f, v in rows])
    mk = pd.DataFrame([{"ticker": ticker, "price_currency": "USD", "market_cap": market_cap, "shares_outstanding": 1e9,
                        "as_of": "2026-12-01", "source": "https://finance.yahoo.com"}])
    t = outcome_ticker or ticker
    res = RefreshResult(st, mk, {t: "Name"}, {t: TickerOutcome(t, STATUS_OK, "complete")}, datetime.now(timezone.utc))
    path = cache.write(res)
    if outcome_ticker:  # a crafted snapshot: write() itself never stores a symbol that is not a ticker
        pd.DataFrame([{"ticker": outcome_ticker, "status": STATUS_OK, "message": "complete", "name": "x",
                       "fetched_at": res.fetched_at}]).to_parquet(path / "outcomes.parquet", index=False)
    return path


def test_a_snapshot_with_nan_or_absurd_revenue_never_replaces_good_embedded_revenue(isolated_cache):
    cache = Cache(isolated_cache)
    emb = load_dataset(use_cache=False).statements
    want = emb[(emb["ticker"] == "NVDA") & (emb["field"] == "Total Revenue")].set_index("fiscal_year")["value"]
    _snapshot_with(cache, "NVDA", [(2025, "Total Revenue", np.nan), (2024, "Total Revenue", 1e30),
                                   (2025, "Net Income", 72.88e9), (2024, "Net Income", 29.76e9)], market_cap=1e30)
    ds = load_dataset(cache)
    st = ds.statements[ds.statements["ticker"] == "NVDA"]
    rev = st[st["field"] == "Total Revenue"].set_index("fiscal_year")["value"]
    assert rev[2025] == want[2025] and rev[2024] == want[2024]  # the embedded figures stay
    assert st["value"].notna().all() and st["value"].abs().max() < 1e14
    assert set(st[st["field"] == "Net Income"]["source"].str[:26]) == {"https://finance.yahoo.com/"}  # the rest is live
    mcap = ds.market.set_index("ticker").at["NVDA", "market_cap"]
    assert mcap < 2e13  # the embedded market cap stays
    reasons = ds.refused[ds.refused["ticker"] == "NVDA"].set_index("field")["reason"]
    assert "not a finite number" in reasons["Total Revenue"].iloc[0] + reasons["Total Revenue"].iloc[-1]
    assert any("beyond USD 100 tn" in r for r in reasons["Total Revenue"]) and "market_cap" in reasons
    assert any("refused" in n for n in ds.notices)


def test_a_symbol_that_is_not_a_ticker_is_never_fetched_stored_or_shown(isolated_cache):
    asked: list[str] = []

    def factory(sym: str):
        asked.append(sym)
        return good_ticker()

    res = fetch_many(["<b>EVIL</b>", "GOOD", "[x](http://evil.test)"], factory, preflight=lambda: None)
    assert asked == ["GOOD"] and res.outcomes["GOOD"].good
    assert {o.status for t, o in res.outcomes.items() if t != "GOOD"} == {STATUS_INVALID}
    cache = Cache(isolated_cache)
    folder = cache.write(res)
    assert set(pd.read_parquet(folder / "outcomes.parquet")["ticker"]) == {"GOOD"}
    _snapshot_with(cache, "<b>EVIL</b>", [(2025, "Total Revenue", 1e9)], outcome_ticker="<b>EVIL</b>")
    ds = load_dataset(cache)
    assert "<b>EVIL</b>" not in set(ds.universe["ticker"]) and "GOOD" in set(ds.universe["ticker"])
    assert not ds.statements["ticker"].str.contains("<").any()
    assert all("<b>" not in n for n in ds.notices)  # named in the notice only Markdown-escaped


# ------------------------------------------------------------------ offline within 30 s

def test_the_default_deadline_says_offline_within_30_s():
    assert PREFLIGHT_TIMEOUT_S + REFRESH_QUIET_S + 2.0 < 30  # + 2 s for abandoned requests to unwind


def test_refresh_deadline_counts_silence_and_caps_the_whole_refresh():
    now = {"t": 0.0}
    d = RefreshDeadline(quiet_s=20, limit_s=120, clock=lambda: now["t"])
    now["t"] = 19.0
    assert not d.passed() and clamped_timeout(30, 8, d) == 1.0  # a request never outlives the deadline
    d.heard()  # Yahoo answered: the quiet deadline moves on
    now["t"] = 30.0
    assert not d.passed() and d.remaining() == 9.0
    now["t"] = 39.5
    assert d.passed() and d.silent and "no answer" in d.reason()
    with pytest.raises(TimeoutError):
        clamped_timeout(None, 8, d)
    for t in range(40, 130, 10):  # answering every 10 s keeps it alive, but never past the limit
        now["t"] = float(t)
        d.heard()
    assert d.passed() and not d.silent and "120 s time limit" in d.reason()


def test_hung_workers_cannot_hold_a_refresh_past_its_deadline():
    def factory(sym: str):
        time.sleep(5)
        return good_ticker()

    t0 = time.monotonic()
    res = fetch_many([f"T{i}" for i in range(12)], factory, preflight=lambda: None, quiet_s=1.0)
    assert time.monotonic() - t0 < 2.5  # the per-ticker deadline (25 s) never came into play
    assert res.offline and not res.good_tickers
    assert {o.status for o in res.outcomes.values()} == {STATUS_TIMEOUT, STATUS_OFFLINE}


@pytest.fixture
def silent_yahoo(monkeypatch, tmp_path):
    """A proxy on 127.0.0.1 that accepts every connection and never answers: Yahoo's hosts as seen by a
    machine whose connections are accepted but never served."""
    import yfinance as yf

    yf.set_tz_cache_location(str(tmp_path / "yf"))
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    proxy = f"http://127.0.0.1:{server.getsockname()[1]}"
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(var, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    yield held
    stop.set()
    thread.join(timeout=2)
    for c in held:
        c.close()
    server.close()


def test_offline_fast_when_yahoo_accepts_connections_but_never_answers(silent_yahoo, isolated_cache):
    """The real yfinance + curl code path: the clamped session ends every request at the refresh's deadline."""
    cache = Cache(isolated_cache)
    before = cache.write(_good())
    others = set(threading.enumerate())
    t0 = time.monotonic()
    res = refresh(["MSFT", "NVDA", "AMD", "ORCL", "AVGO", "TSM"], cache=cache, preflight=lambda: None, quiet_s=2.0)
    elapsed = time.monotonic() - t0
    assert silent_yahoo  # the connections really were accepted
    assert elapsed < 6.0, elapsed
    assert res.offline and not res.good_tickers and "Offline" in res.summary()
    assert cache.snapshot_dirs() == [before]
    time.sleep(0.5)  # abandoned workers: their next request is refused, so they end right after the deadline
    assert not [t for t in set(threading.enumerate()) - others if t.name.startswith("kosmos-fetch")]


def test_stale_quarantine_reasons_are_ignored_after_a_day(isolated_cache):
    cache = Cache(isolated_cache)
    cache.write(_good())
    folder = cache.write(_good(["OTHER"]))
    _undatable(folder)
    cache.read()
    assert cache.recently_set_aside() and not cache.recently_set_aside(datetime.now(timezone.utc) + timedelta(days=2))
