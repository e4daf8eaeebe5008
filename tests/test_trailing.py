"""The trailing basis (issue 18): Yahoo's TTM income statement and cash flow and the latest quarterly balance
sheet, fetched through the real yfinance code on the loopback Yahoo stub, cached like the annual tables, scored
on request (``basis="ttm"``, ``?basis=ttm``, ``--basis ttm``) and shown with the age of the data. No network."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from dateutil.relativedelta import relativedelta

from bench.yahoo_stub import YahooStub, stub_factory, universe_state
from data.cache import Cache
from data.live import (STATUS_OK, STATUS_PARTIAL, STATUS_RATE_LIMITED, TRAILING_COLUMNS, TRAILING_NONE,
                       RefreshResult, TickerOutcome, empty_trailing, fetch_many)
from data.loader import load_dataset, refresh
from screens.model import NEEDS_REFRESH, build_scored, effective_basis, freshness
from tests.conftest import run_app
from tests.test_data_live import good_ticker


@pytest.fixture()
def stub(tmp_path):
    """The stub with every universe company: annual figures, stand-in TTM flows and two quarterly balance sheets."""
    import yfinance as yf

    yf.set_tz_cache_location(str(tmp_path / "yf"))
    with YahooStub(universe_state()) as s:
        yield s


def _refresh(stub, tickers, cache, **kw):
    kw.setdefault("backoff_s", 0.01)
    return refresh(tickers, cache=cache, factory=stub_factory(stub.port), preflight=lambda: None, **kw)


def _of(frame: pd.DataFrame, ticker: str, statement: str | None = None) -> pd.DataFrame:
    rows = frame[frame["ticker"] == ticker]
    return rows if statement is None else rows[rows["statement"] == statement]


# ------------------------------------------------------------------ fetching through the real yfinance code

def test_trailing_tables_come_through_real_yfinance_one_request_each_newest_column_only(stub):
    res = fetch_many(["MSFT"], stub_factory(stub.port), preflight=lambda: None)
    o = res.outcomes["MSFT"]
    assert o.status == STATUS_OK and o.trailing == STATUS_OK
    state = stub.state
    flows, quarters = _of(state.trailing, "MSFT"), _of(state.quarterly, "MSFT")
    newest_q = quarters["period_end"].max()
    assert quarters["period_end"].nunique() == 2  # the stub serves an older quarter too
    assert o.trailing_message == f"TTM to {flows['period_end'].max()} · balance sheet {newest_q}"
    tr = res.trailing
    assert list(tr.columns) == TRAILING_COLUMNS and set(tr["statement"]) == {"ttm", "quarterly balance"}
    ttm = _of(tr, "MSFT", "ttm").set_index("field")["value"].sort_index()
    pd.testing.assert_series_equal(ttm, flows.set_index("field")["value"].sort_index(), check_names=False)
    bal = _of(tr, "MSFT", "quarterly balance")
    assert set(bal["period_end"]) == {newest_q}  # only the latest quarter: an older one never fills a gap
    want = quarters[quarters["period_end"] == newest_q].set_index("field")["value"].sort_index()
    pd.testing.assert_series_equal(bal.set_index("field")["value"].sort_index(), want, check_names=False)
    assert (tr["fiscal_year"] == pd.to_datetime(tr["period_end"]).dt.year).all()  # calendar year, not scored
    assert tr["source"].str.startswith("https://finance.yahoo.com/quote/MSFT/").all() and tr["note"].str.len().gt(0).all()
    # Yahoo's own trailing series, one request per table; no quarterly income or cash flow is ever asked for
    assert state.kinds["trailing"] == 2 and state.kinds["quarterly"] == 1


def test_trailing_income_without_a_quarterly_balance_sheet_is_kept_as_partial(stub, isolated_cache):
    stub.state.quarterly = stub.state.quarterly[stub.state.quarterly["ticker"] != "MSFT"]
    cache = Cache(isolated_cache)
    res = _refresh(stub, ["MSFT"], cache)
    o = res.outcomes["MSFT"]
    assert o.status == STATUS_OK and o.trailing == STATUS_PARTIAL
    assert o.trailing_message == "missing: quarterly balance sheet (Yahoo returned none)"
    assert "partial (MSFT missing: quarterly balance sheet" in res.summary()
    ds = load_dataset(cache)
    assert set(_of(ds.trailing, "MSFT")["statement"]) == {"ttm"}
    assert ds.provenance.set_index("ticker").at["MSFT", "trailing_status"] == STATUS_PARTIAL
    label = build_scored(ds, basis="ttm").ctx.companies.at["MSFT", "basis_label"]
    assert label.startswith("TTM to ") and "no quarterly balance sheet" in label


def test_a_failed_or_empty_trailing_answer_never_replaces_good_cached_trailing(stub, isolated_cache):
    cache = Cache(isolated_cache)
    _refresh(stub, ["MSFT"], cache)
    first = cache.read()
    good = first.trailing.sort_values(["statement", "field"]).reset_index(drop=True)
    assert not good.empty
    # Yahoo rate-limits the trailing tables beyond every retry: the annual data is new, the trailing rows stay
    stub.state.rate_limit_timeseries = {"MSFT:trailing": 1_000}
    res = _refresh(stub, ["MSFT"], cache, retries=1)
    assert res.outcomes["MSFT"].good and res.outcomes["MSFT"].trailing == STATUS_RATE_LIMITED
    assert "quarterly balance sheet (not asked: rate limited)" in res.outcomes["MSFT"].trailing_message
    second = cache.read()
    pd.testing.assert_frame_equal(second.trailing.sort_values(["statement", "field"]).reset_index(drop=True), good)
    assert second.trailing_tickers["fetched_at"].tolist() == first.trailing_tickers["fetched_at"].tolist()
    assert second.tickers["fetched_at"].iloc[0] > first.tickers["fetched_at"].iloc[0]
    # Yahoo answers, but without any trailing table: still the older rows
    stub.state.rate_limit_timeseries = {}
    stub.state.trailing, stub.state.quarterly = stub.state.trailing.iloc[0:0], stub.state.quarterly.iloc[0:0]
    res = _refresh(stub, ["MSFT"], cache)
    assert res.outcomes["MSFT"].trailing == TRAILING_NONE
    third = cache.read()
    pd.testing.assert_frame_equal(third.trailing.sort_values(["statement", "field"]).reset_index(drop=True), good)
    assert len(cache.snapshot_dirs()) == 3  # every refresh is kept


def test_a_snapshot_written_before_the_trailing_tables_existed_still_reads(isolated_cache):
    cache = Cache(isolated_cache)
    folder = cache.write(fetch_many(["GOOD"], lambda s: good_ticker(), preflight=lambda: None))
    (folder / "trailing.parquet").unlink()
    out = pd.read_parquet(folder / "outcomes.parquet")
    out.drop(columns=["trailing_status", "trailing_message", "sector"]).to_parquet(folder / "outcomes.parquet",
                                                                                  index=False)
    view = cache.read()
    assert not view.quarantined and set(view.tickers["ticker"]) == {"GOOD"} and view.trailing.empty
    ds = load_dataset(cache)
    assert ds.provenance.set_index("ticker").at["GOOD", "origin"] == "yahoo" and ds.trailing.empty


def _with_trailing(ticker: str, rows: list[tuple[str, str, float]], trailing: str = STATUS_OK) -> RefreshResult:
    res = fetch_many([ticker], lambda s: good_ticker(), preflight=lambda: None)
    res.outcomes[ticker].trailing = trailing
    res.trailing = pd.DataFrame([{"ticker": ticker, "fiscal_year": 2026, "period_end": "2026-09-30", "currency": "USD",
                                  "field": f, "value": v, "source": "https://finance.yahoo.com/quote/x",
                                  "note": "n", "statement": st} for st, f, v in rows], columns=TRAILING_COLUMNS)
    return res


def test_a_corrupt_trailing_file_sets_its_snapshot_aside_and_the_older_one_serves(isolated_cache):
    cache = Cache(isolated_cache)
    cache.write(_with_trailing("GOOD", [("ttm", "Total Revenue", 10.0)]))
    newer = cache.write(_with_trailing("GOOD", [("ttm", "Total Revenue", 20.0)]))
    (newer / "trailing.parquet").write_bytes(b"PAR1 truncated")
    view = cache.read()
    assert len(view.quarantined) == 1 and not newer.exists()
    assert view.trailing["value"].tolist() == [10.0]


def test_trailing_rows_that_break_the_schema_or_the_bounds_are_refused_and_the_rest_kept(isolated_cache):
    cache = Cache(isolated_cache)
    cache.write(_with_trailing("GOOD", [("ttm", "Total Revenue", 50.0), ("ttm", "Gross Profit", np.inf),
                                        ("annual", "Net Income", 5.0), ("quarterly balance", "Total Debt", 1e30)]))
    ds = load_dataset(cache)
    kept = ds.trailing.set_index("field")["value"].to_dict()
    assert kept == {"Total Revenue": 50.0}
    reasons = ds.refused[ds.refused["ticker"] == "GOOD"].set_index("field")["reason"]
    assert "not a finite number" in reasons["Gross Profit"] and "ttm or quarterly balance" in reasons["Net Income"]
    assert "beyond USD 100 tn" in reasons["Total Debt"]
    assert ds.refused.loc[ds.refused["field"] == "Total Debt", "table"].tolist() == ["trailing"]
    annual = ds.statements[ds.statements["ticker"] == "GOOD"]
    assert "Total Debt" in set(annual["field"])  # a refused trailing value never touches the annual rows


def test_trailing_rows_of_a_ticker_whose_trailing_outcome_failed_are_never_stored(isolated_cache):
    cache = Cache(isolated_cache)
    folder = cache.write(_with_trailing("GOOD", [("ttm", "Total Revenue", 50.0)], trailing=STATUS_RATE_LIMITED))
    assert pd.read_parquet(folder / "trailing.parquet").empty and cache.read().trailing.empty


# ------------------------------------------------------------------ scoring on the trailing basis

def test_the_trailing_basis_scores_ttm_flows_and_the_latest_quarter(stub, isolated_cache):
    t = stub.state.trailing
    stub.state.trailing = t.assign(value=t["value"].where(~((t["ticker"] == "MSFT") & (t["field"] == "Total Revenue")),
                                                          t["value"] * 1.25))
    cache = Cache(isolated_cache)
    _refresh(stub, ["MSFT", "NVDA"], cache)
    ds = load_dataset(cache)
    annual, ttm = build_scored(ds), build_scored(ds, basis="ttm")
    comp = ttm.ctx.companies
    flows = _of(ds.trailing, "MSFT", "ttm").set_index("field")["value"]
    bal = _of(ds.trailing, "MSFT", "quarterly balance").set_index("field")["value"]
    q_end = _of(ds.trailing, "MSFT", "quarterly balance")["period_end"].iloc[0]
    assert comp.at["MSFT", "basis_label"] == f"TTM to {_of(ds.trailing, 'MSFT', 'ttm')['period_end'].iloc[0]} · " \
                                             f"balance sheet {q_end}"
    assert comp.at["ORCL", "basis_label"].endswith("(no trailing data: annual)")  # labelled fallback
    gm = ttm.results["gross_margin"].at["MSFT", "value"]
    assert gm == pytest.approx(flows["Gross Profit"] / flows["Total Revenue"])  # TTM flows
    assert gm != pytest.approx(annual.results["gross_margin"].at["MSFT", "value"])
    cr = ttm.results["current_ratio"].at["MSFT", "value"]
    assert cr == pytest.approx(bal["Current Assets"] / bal["Current Liabilities"])  # the latest quarter
    for check in ("gross_margin", "current_ratio"):  # a company without trailing data scores as on the annual basis
        a, b = annual.results[check].at["ORCL", "value"], ttm.results[check].at["ORCL", "value"]
        assert (pd.isna(a) and pd.isna(b)) or a == pytest.approx(b)


def test_the_embedded_set_has_no_trailing_data_and_the_trailing_basis_stays_annual():
    ds = load_dataset(use_cache=False)
    assert ds.trailing.empty and list(ds.trailing.columns) == TRAILING_COLUMNS
    assert effective_basis(ds, "ttm") == "annual"
    a, t = build_scored(ds).table(), build_scored(ds, basis="ttm").table()
    pd.testing.assert_series_equal(a["composite"], t["composite"])
    with pytest.raises(ValueError):
        build_scored(ds, basis="weekly")


# ------------------------------------------------------------------ freshness

def test_freshness_gives_months_since_the_period_end_and_hours_since_the_fetch(stub, isolated_cache):
    cache = Cache(isolated_cache)
    res = _refresh(stub, ["MSFT"], cache)
    ds = load_dataset(cache)
    sc = build_scored(ds, basis="ttm")
    now = res.fetched_at + timedelta(hours=30)
    f = freshness(ds, sc, pd.Timestamp(now))
    end = pd.Timestamp(_of(ds.trailing, "MSFT", "ttm")["period_end"].iloc[0], tz="UTC")
    assert f.at["MSFT", "hours_since_refresh"] == pytest.approx(30, abs=0.1)
    gap = relativedelta(pd.Timestamp(now).date(), end.date())
    assert f.at["MSFT", "months_since_period_end"] == gap.years * 12 + gap.months
    assert f.at["MSFT", "basis_text"] == (f"{sc.ctx.companies.at['MSFT', 'basis_label']} · fetched "
                                          f"{res.fetched_at.strftime('%Y-%m-%d %H:%M')} UTC")
    assert "(30 h ago) · period ended" in f.at["MSFT", "card_text"]
    assert f.at["ORCL", "age_text"].endswith("embedded data set (no live refresh)")


def _stale_cache(cache: Cache, hours: float = 30) -> None:
    res = fetch_many(["MSFT"], lambda s: good_ticker(), preflight=lambda: None)
    res.fetched_at = datetime.now(timezone.utc) - timedelta(hours=hours)
    cache.write(res)


@pytest.mark.usefixtures("clear_streamlit_caches")
def test_stale_data_and_a_reachable_yahoo_offer_a_refresh_that_runs_only_on_click(isolated_cache, monkeypatch):
    import data.live as live
    import data.loader as loader

    _stale_cache(Cache(isolated_cache))
    calls: list = []
    monkeypatch.setattr(live, "yahoo_reachable", lambda *a, **k: None)
    monkeypatch.setattr(loader, "refresh", lambda *a, **k: calls.append(a) or RefreshResult(
        pd.DataFrame(), pd.DataFrame(), {}, {}, datetime.now(timezone.utc), offline=True))
    at = run_app()
    assert not at.exception
    info = " ".join(i.value for i in at.sidebar.info)
    assert "older than 24 h" in info and "reachable" in info
    assert any("Last refresh 30 h ago" in c.value for c in at.sidebar.caption)
    assert calls == []  # offered, never run without the click
    at.sidebar.button(key="refresh_offer").click().run()
    assert len(calls) == 1


@pytest.mark.usefixtures("clear_streamlit_caches")
def test_stale_data_without_a_reachable_yahoo_offers_nothing(isolated_cache, monkeypatch):
    import data.live as live

    _stale_cache(Cache(isolated_cache))
    monkeypatch.setattr(live, "yahoo_reachable", lambda *a, **k: "DNS lookup failed")
    at = run_app()
    assert not at.exception
    assert not [b for b in at.sidebar.button if b.key == "refresh_offer"]
    assert any("cannot be reached right now (DNS lookup failed)" in c.value for c in at.sidebar.caption)


# ------------------------------------------------------------------ the basis choice in the link, the sidebar and the CLI

@pytest.mark.usefixtures("clear_streamlit_caches")
def test_basis_ttm_in_a_link_before_any_refresh_explains_and_stays_annual():
    at = run_app({"basis": "ttm"})
    assert not at.exception
    assert at.sidebar.radio(key="basis").value == "ttm"
    assert NEEDS_REFRESH in " ".join(i.value for i in at.sidebar.info)
    assert any("trailing" in w.value and "live refresh" in w.value for w in at.warning)
    assert at.query_params["basis"] == "ttm"  # the link keeps the choice
    table = at.dataframe[0].value
    annual = build_scored(load_dataset()).table()
    assert table.loc["MSFT", "composite"] == pytest.approx(annual.loc["MSFT", "composite"])
    bad = run_app({"basis": "weekly"})
    assert any("Ignored unknown basis 'weekly'" in w.value.replace("\\", "") for w in bad.warning)


@pytest.mark.usefixtures("clear_streamlit_caches")
def test_basis_ttm_in_a_link_after_a_refresh_scores_on_the_trailing_tables(stub, isolated_cache):
    t = stub.state.trailing
    stub.state.trailing = t.assign(value=t["value"].where(~((t["ticker"] == "MSFT") & (t["field"] == "Total Revenue")),
                                                          t["value"] * 1.25))
    _refresh(stub, ["MSFT"], Cache(isolated_cache))
    ttm = build_scored(load_dataset(), basis="ttm").table()
    at = run_app({"basis": "ttm"})
    assert not at.exception
    assert not [i for i in at.sidebar.info if NEEDS_REFRESH in i.value]
    assert any("TTM flows for 1 of" in c.value for c in at.sidebar.caption)
    assert at.dataframe[0].value.loc["MSFT", "composite"] == pytest.approx(ttm.loc["MSFT", "composite"])
    at.sidebar.radio(key="basis").set_value("annual").run()
    assert "basis" not in at.query_params
    annual = build_scored(load_dataset()).table()
    assert at.dataframe[0].value.loc["MSFT", "composite"] == pytest.approx(annual.loc["MSFT", "composite"])


def test_cli_basis_ttm(stub, isolated_cache, capsys):
    import json

    from screens.__main__ import main

    assert main(["score", "--basis", "ttm", "--json"]) == 0
    assert "needs a live refresh" in capsys.readouterr().err  # said, and scored on the annual basis
    _refresh(stub, ["MSFT"], Cache(isolated_cache))
    assert main(["card", "MSFT", "--basis", "ttm", "--json"]) == 0
    out = capsys.readouterr()
    assert "needs a live refresh" not in out.err
    ttm = build_scored(load_dataset(), basis="ttm").table()
    assert json.loads(out.out)["composite"] == pytest.approx(ttm.at["MSFT", "composite"])
    assert main(["score", "--basis", "weekly"]) == 2


def test_empty_trailing_frame_has_the_canonical_columns():
    e = empty_trailing()
    assert e.empty and list(e.columns) == TRAILING_COLUMNS
    assert TickerOutcome("X", STATUS_OK, "complete").trailing == ""  # not attempted until fetched


@pytest.mark.usefixtures("clear_streamlit_caches")
def test_screener_and_scorecard_show_the_trailing_basis_and_the_age_of_the_fetch(stub, isolated_cache):
    """Issue 18 point 3: the screener's "Scored on" / "Fetched" columns and the scorecard header say which basis
    each company is scored on and how old its figures are; the card image says the same."""
    from screens.export import card_and_figure

    _refresh(stub, ["MSFT"], Cache(isolated_cache))
    ds = load_dataset()
    sc = build_scored(ds, basis="ttm")
    ttm_end = _of(ds.trailing, "MSFT", "ttm")["period_end"].iloc[0]
    at = run_app({"basis": "ttm"})
    assert not at.exception
    grid = at.dataframe[0].value
    assert grid.at["MSFT", "fy"] == f"TTM to {ttm_end}"
    assert grid.at["MSFT", "fetched"] in ("less than an hour ago", "1 h ago")
    assert grid.at["ORCL", "fy"] == f"FY{int(sc.ctx.companies.at['ORCL', 'fiscal_year'])}"
    assert grid.at["ORCL", "fetched"] == "embedded set"
    at.query_params["ticker"] = "MSFT"
    at.switch_page("screens/scorecard.py").run()
    assert not at.exception
    assert next(m for m in at.metric if m.label == "Scored on").value == "TTM"
    header = " ".join(c.value for c in at.caption).replace("\\", "")  # markdown escapes
    assert f"TTM to {ttm_end} · balance sheet" in header and "Yahoo Finance, fetched" in header
    assert "less than an hour ago" in header or "1 h ago" in header
    card, fig = card_and_figure(sc, "MSFT", dataset=ds)
    texts = [a.text for a in fig.layout.annotations]
    assert any(t.startswith("scored on TTM to") or f"scored on TTM to {ttm_end}" in t for t in texts)
    assert any("Yahoo Finance, fetched" in t for t in texts)


def test_source_label_names_the_trailing_fetch_time_and_its_age():
    from types import SimpleNamespace

    from screens.export import EMBEDDED_LABEL, source_label

    prov = pd.DataFrame([{"ticker": "A", "origin": "yahoo", "fetched_at": pd.Timestamp("2026-12-01 08:00", tz="UTC"),
                          "trailing_fetched_at": pd.Timestamp("2026-12-03 09:00", tz="UTC"), "stale": False},
                         {"ticker": "B", "origin": "embedded", "fetched_at": pd.NaT, "trailing_fetched_at": pd.NaT,
                          "stale": False}])
    ds = SimpleNamespace(provenance=prov)
    now = pd.Timestamp("2026-12-03 12:30", tz="UTC")
    ttm = SimpleNamespace(ctx=SimpleNamespace(companies=pd.DataFrame({"basis_label": ["TTM to 2026-09-30"]},
                                                                     index=["A"])))
    annual = SimpleNamespace(ctx=SimpleNamespace(companies=pd.DataFrame({"basis_label": ["FY2025"]}, index=["A"])))
    assert source_label(ds, "A", ttm, now).endswith("fetched 2026-12-03 09:00 UTC (3 h ago)")
    assert source_label(ds, "A", annual, now).endswith("fetched 2026-12-01 08:00 UTC (2 days ago)")
    assert source_label(ds, "B", annual, now) == EMBEDDED_LABEL
