"""Any ticker (issue 18): "Add a company" fetches one symbol live through the real yfinance code (loopback Yahoo
stub), validates it, classifies it "added by you" with its Yahoo sector, keeps it across restarts and removes it;
``?add=SMCI`` does the same with a notice. No network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import data.live as live
from bench.yahoo_stub import YahooStub, stub_factory, universe_state
from data.cache import ADDED_FILE, Cache
from data.loader import ADDED_SEGMENT, add_company, load_dataset, refresh, remove_company
from screens.model import build_scored
from tests.conftest import match_count, run_app

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def yahoo(tmp_path, monkeypatch):
    """Yahoo Finance as the app sees it, served by the loopback stub: the default ticker factory and the
    connectivity check of data.live point at it (the code above them is the production code)."""
    import yfinance as yf

    yf.set_tz_cache_location(str(tmp_path / "yf"))
    with YahooStub(universe_state()) as s:
        factory = stub_factory(s.port)
        monkeypatch.setattr(live, "default_ticker_factory", lambda http_timeout=8.0, deadline=None: factory)
        monkeypatch.setattr(live, "yahoo_reachable", lambda *a, **k: None)
        yield s


def test_a_company_added_by_symbol_is_classified_scored_and_survives_a_restart(yahoo, isolated_cache, monkeypatch):
    res = add_company(" smci ")
    assert res.status == "added" and res.ok
    assert "Super Micro Computer" in res.message and "Yahoo sector: Technology" in res.message
    assert "trailing twelve months" in res.message
    saved = json.loads((isolated_cache / ADDED_FILE).read_text())
    assert [e["ticker"] for e in saved["added"]] == ["SMCI"] and saved["added"][0]["sector"] == "Technology"
    assert not [p for p in isolated_cache.iterdir() if p.name.endswith(".tmp")]  # written atomically
    ds = load_dataset()
    row = ds.universe.set_index("ticker").loc["SMCI"]
    assert (row["segment"], row["subsegment"], row["origin"]) == (ADDED_SEGMENT, "Technology", "added")
    assert row["name"] == "Super Micro Computer, Inc."
    assert not ds.trailing[ds.trailing["ticker"] == "SMCI"].empty
    table = build_scored(ds).table()
    assert "SMCI" in table.index and not table.loc["SMCI", ["composite"]].isna().any()  # the same rules
    # a restart: a new process reading the same cache folder
    env = {**os.environ, "KOSMOS_CACHE_DIR": str(isolated_cache)}
    out = subprocess.run([sys.executable, "-c", "from data.loader import load_dataset\n"
                          "u = load_dataset().universe.set_index('ticker').loc['SMCI']\n"
                          "print(u['segment'], '|', u['subsegment'])"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.strip() == f"{ADDED_SEGMENT} | Technology", out.stderr
    # and the next refresh of the universe fetches it again
    asked: list[str] = []
    import data.loader as loader

    real = loader.fetch_many

    def spy(tickers, factory, **kw):
        asked.extend(tickers)
        return real(tickers, factory, **kw)

    monkeypatch.setattr(loader, "fetch_many", spy)
    refresh()
    assert "SMCI" in asked and "MSFT" in asked


def test_a_removed_company_disappears_keeps_its_history_and_can_be_added_again(yahoo, isolated_cache):
    assert add_company("SMCI").status == "added"
    snapshots = Cache().snapshot_dirs()
    res = remove_company("smci")
    assert res.status == "removed" and "Removed SMCI" in res.message
    ds = load_dataset()
    assert "SMCI" not in set(ds.universe["ticker"]) and "SMCI" not in set(ds.statements["ticker"])
    assert ds.trailing[ds.trailing["ticker"] == "SMCI"].empty
    assert Cache().snapshot_dirs() == snapshots  # cached snapshots are history: never deleted
    assert remove_company("SMCI").status == "not removed"
    assert "only those can be removed" in remove_company("MSFT").message  # the embedded universe stays
    assert add_company("SMCI").status == "added"
    assert load_dataset().universe.set_index("ticker").at["SMCI", "segment"] == ADDED_SEGMENT


@pytest.mark.parametrize(("symbol", "status", "words"), [
    ("ZZZZ9", "unknown symbol", "does not know ZZZZ9 (unknown or delisted symbol)"),
    ("SPY", "not a company", "SPY is an ETF (Yahoo quoteType ETF), not a company"),
    ("NEWCO", "no statements", "no annual statements for NEWCO (Newco Holdings (no statements))"),
    ("MSFT", "already in Kosmos", "already in the Kosmos universe"),
    ("<b>x</b>", "invalid symbol", "is not a ticker symbol: use letters, digits and . - = ^"),
    ("[x](http://evil.test)", "invalid symbol", "is not a ticker symbol"),
    ("", "invalid symbol", "An empty symbol is not a ticker symbol"),
])
def test_a_symbol_that_cannot_be_added_says_why_and_nothing_is_kept(yahoo, isolated_cache, symbol, status, words):
    res = add_company(symbol)
    assert res.status == status and words in res.message
    assert not res.ok or status == "already in Kosmos"
    assert Cache().added().companies == {}
    assert not Cache().snapshot_dirs()  # nothing written
    if status == "invalid symbol":
        assert yahoo.state.requests == 0  # never requested
    if status == "not a company":
        assert yahoo.state.kinds["annual"] == 0  # a fund is never asked for statements


def test_rate_limit_and_offline_each_have_their_message(yahoo, isolated_cache, monkeypatch):
    yahoo.state.rate_limit_first = {"SMCI": 1_000}
    res = add_company("SMCI", retries=1, backoff_s=0.01)
    assert res.status == "rate limited" and "rate-limiting this machine (HTTP 429)" in res.message
    monkeypatch.setattr(live, "yahoo_reachable", lambda *a, **k: "DNS lookup failed")
    res = add_company("SMCI")
    assert res.status == "offline" and res.message.startswith("Offline: Yahoo Finance cannot be reached")
    assert "DNS lookup failed" in res.message and Cache().added().companies == {}


def test_an_unreadable_added_list_is_set_aside_with_a_notice(isolated_cache):
    isolated_cache.mkdir(parents=True, exist_ok=True)
    (isolated_cache / ADDED_FILE).write_text("{not json")
    ds = load_dataset()
    assert any("set aside" in n for n in ds.notices)
    assert not (isolated_cache / ADDED_FILE).exists() and list(isolated_cache.glob(f"{ADDED_FILE}.corrupt-*"))
    assert Cache().added().companies == {} and Cache().added().error is None


def test_entries_that_are_not_ticker_symbols_are_dropped_from_the_added_list(isolated_cache):
    isolated_cache.mkdir(parents=True, exist_ok=True)
    (isolated_cache / ADDED_FILE).write_text(json.dumps({"added": [{"ticker": "<b>X</b>"}, {"ticker": "SMCI"}],
                                                          "removed": ["../etc"]}))
    lst = Cache().added()
    assert list(lst.companies) == ["SMCI"] and lst.removed == set()


def test_two_sessions_adding_at_once_lose_nothing(isolated_cache):
    cache = Cache()
    threads = [threading.Thread(target=cache.record_added, args=({"ticker": f"T{i}", "name": f"Co {i}"},))
               for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(Cache().added().companies) == sorted(f"T{i}" for i in range(20))


# ------------------------------------------------------------------ the dashboard: the sidebar box and ?add=

pytestmark_app = pytest.mark.usefixtures("clear_streamlit_caches")


@pytestmark_app
def test_add_in_a_link_adds_the_company_with_a_notice(yahoo, isolated_cache):
    at = run_app({"add": "SMCI"})
    assert not at.exception
    notes = " ".join(w.value.replace("\\", "") for w in at.warning)
    assert "From the link (add=SMCI): Added SMCI — Super Micro Computer, Inc. (Yahoo sector: Technology)" in notes
    assert "add" not in at.query_params  # the link's state is rewritten without it: a reload does not add again
    n, total = match_count(at)
    assert total == len(load_dataset(use_cache=False).universe) + 1
    again = run_app({"add": "smci"})
    assert any("already among the companies you added" in w.value.replace("\\", "") for w in again.warning)


@pytestmark_app
@pytest.mark.parametrize(("raw", "words"), [("[x](http://evil.test)", "is not a ticker symbol"),
                                            ("SPY", "SPY is an ETF (Yahoo quoteType ETF)")])
def test_a_link_that_cannot_add_says_why(yahoo, isolated_cache, raw, words):
    at = run_app({"add": raw})
    assert not at.exception
    texts = [w.value for w in at.warning]
    assert any(words in t.replace("\\", "") for t in texts)
    assert all("](http" not in t for t in texts)  # Markdown-escaped: no clickable link from a crafted link
    assert Cache().added().companies == {}
    if raw.startswith("["):
        assert yahoo.state.requests == 0


@pytestmark_app
def test_the_sidebar_box_adds_and_removes_a_company(yahoo, isolated_cache):
    at = run_app()
    _, before = match_count(at)
    at.sidebar.text_input(key="add_symbol").input("smci")
    at.sidebar.button(key="add_button").click().run()
    assert not at.exception
    assert any("Added SMCI" in s.value for s in at.sidebar.success)
    assert match_count(at)[1] == before + 1
    assert at.sidebar.text_input(key="add_symbol").value == ""
    at.sidebar.button(key="remove_SMCI").click().run()
    assert not at.exception
    assert any("Removed SMCI" in s.value for s in at.sidebar.success)
    assert match_count(at)[1] == before
    at.sidebar.text_input(key="add_symbol").input("SPY")
    at.sidebar.button(key="add_button").click().run()
    assert any("not a company" in e.value for e in at.sidebar.error)
    assert match_count(at)[1] == before
