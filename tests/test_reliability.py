"""Scale, faults and bad input: the guarantees listed in the README's Reliability section.

No network: live fetches use fake tickers shaped like yfinance's; the app runs under AppTest.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from bench.synthetic import write_synthetic_snapshot
from data.cache import Cache
from data.live import STATUS_NETWORK, STATUS_OFFLINE, STATUS_OK, STATUS_RATE_LIMITED, fetch_many
from data.loader import refresh
from data.loop import DEAL_COLUMNS, MAX_UPLOAD_BYTES, read_upload
from metrics.checks import PILLARS
from metrics.engine import history_lists
from screens.export import FORMULA_PREFIXES, safe_csv
from screens.state import WEIGHT_MAX, _parse_weights, parse_tickers
from tests.conftest import match_count, run_app
from tests.test_data_live import FakeTicker, YFRateLimitError, good_ticker

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("clear_streamlit_caches")
run_app = partial(run_app, timeout=120)  # the 5,000-company runs need the longer timeout


# ------------------------------------------------------------------ scale

def test_sparkline_lists_follow_fiscal_years_and_missing_companies_get_empty_lists():
    idx = pd.MultiIndex.from_tuples([("B", 2024), ("A", 2024), ("A", 2023), ("C", 2022), ("B", 2023)],
                                    names=["ticker", "fiscal_year"])
    panel = pd.DataFrame({"x": [3.0, 2.0, 1.0, np.nan, 4.0]}, index=idx)
    got = history_lists(panel, "x", pd.Index(["A", "B", "C", "D"]))
    assert got.to_dict() == {"A": [1.0, 2.0], "B": [4.0, 3.0], "C": [], "D": []}
    same_len = history_lists(panel.drop(index=("A", 2023)), "x", pd.Index(["A", "B"]))
    assert same_len.to_dict() == {"A": [2.0], "B": [4.0, 3.0]}


def test_screener_handles_a_5000_company_universe_with_sampled_charts(isolated_cache):
    write_synthetic_snapshot(isolated_cache, 5_000)
    at = run_app()
    assert not at.exception
    n, total = match_count(at)
    assert total == n == 5_000 + len(pd.read_csv(ROOT / "data" / "universe.csv"))
    assert len(at.dataframe[0].value) == total  # one virtualised grid, no paging of the data itself
    for view, note in (("Heat map", "Treemap shows the 400 largest"), ("Scatter", "random sample of 2,000")):
        at.session_state["screener_view"] = view
        at.run()
        assert not at.exception and note in " ".join(c.value for c in at.caption)
    at.session_state["screener_view"] = "Ranked table"
    at.run()
    at.multiselect(key="f_segments").set_value(["other"]).run()
    assert match_count(at) == (5_000, total)  # the synthetic tickers joined as user-added "other"


# ------------------------------------------------------------------ faults

def test_network_down_mid_refresh_keeps_what_was_fetched_and_loses_nothing(isolated_cache):
    cache = Cache(isolated_cache)
    refresh(["T5"], cache=cache, factory=lambda s: good_ticker(), preflight=lambda: None)
    calls: list[str] = []

    def factory(sym: str):
        calls.append(sym)
        if len(calls) <= 4:
            return good_ticker()
        return FakeTicker(info_exc=ConnectionError("Failed to perform, curl: (6) Could not resolve host"))

    res = refresh([f"T{i}" for i in range(10)], cache=cache, factory=factory, preflight=lambda: None, max_workers=1)
    status = {t: o.status for t, o in res.outcomes.items()}
    assert [status[f"T{i}"] for i in range(4)] == [STATUS_OK] * 4
    assert [status[f"T{i}"] for i in range(4, 7)] == [STATUS_NETWORK] * 3
    assert [status[f"T{i}"] for i in range(7, 10)] == [STATUS_OFFLINE] * 3 and res.offline
    view = cache.read()
    assert set(view.tickers["ticker"]) == {"T0", "T1", "T2", "T3", "T5"}  # T5's earlier good data survives
    assert len(cache.snapshot_dirs()) == 2


def test_yahoo_answering_429_for_a_minute(isolated_cache):
    clock = {"t": 0.0}
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        clock["t"] += s

    def factory(sym: str):
        if clock["t"] < 60:
            return FakeTicker(info_exc=YFRateLimitError("Too Many Requests. Rate limited. Try after a while."))
        return good_ticker()

    cache = Cache(isolated_cache)
    refresh(["GOOD"], cache=cache, factory=lambda s: good_ticker(), preflight=lambda: None)
    before = cache.read()
    res = refresh(["GOOD"], cache=cache, factory=factory, preflight=lambda: None, sleep=sleep, retries=4)
    out = res.outcomes["GOOD"]
    assert out.status == STATUS_RATE_LIMITED and "429" in out.message and out.attempts == 5
    assert sleeps == [1.0, 2.0, 4.0, 8.0]  # exponential back-off, then give up
    after = cache.read()
    assert after.tickers["fetched_at"].tolist() == before.tickers["fetched_at"].tolist()  # nothing replaced
    clock["t"] = 61.0
    res = refresh(["GOOD"], cache=cache, factory=factory, preflight=lambda: None, sleep=sleep)
    assert res.outcomes["GOOD"].status == STATUS_OK
    assert len(cache.snapshot_dirs()) == 2


def test_truncated_cache_file_is_set_aside_and_the_app_keeps_working(isolated_cache):
    snap = write_synthetic_snapshot(isolated_cache, 50)
    data = (snap / "statements.parquet").read_bytes()
    (snap / "statements.parquet").write_bytes(data[: len(data) // 2])
    at = run_app()
    assert not at.exception
    warnings = " ".join(w.value for w in at.sidebar.warning)
    assert "corrupt cache snapshot was set aside" in warnings
    n, total = match_count(at)
    assert total == len(pd.read_csv(ROOT / "data" / "universe.csv"))  # back on the embedded data set
    assert list((isolated_cache / "quarantine").iterdir())


def test_refresh_killed_mid_write_leaves_the_previous_data_readable(isolated_cache):
    cache = Cache(isolated_cache)
    refresh(["GOOD"], cache=cache, factory=lambda s: good_ticker(), preflight=lambda: None)
    before = cache.read().statements
    child = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / "tests")!r})
        import pandas as pd
        from data.cache import Cache
        from data.loader import refresh
        from test_data_live import good_ticker
        real = pd.DataFrame.to_parquet
        def slow(self, path, *a, **k):
            real(self, path, *a, **k)
            print("wrote", path, flush=True)
            time.sleep(30)  # killed here, between files
        pd.DataFrame.to_parquet = slow
        refresh(["GOOD"], cache=Cache({str(isolated_cache)!r}), factory=lambda s: good_ticker("EUR"),
                preflight=lambda: None)
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("wrote"), line
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    after = cache.read()
    pd.testing.assert_frame_equal(before.reset_index(drop=True), after.statements.reset_index(drop=True))
    assert set(after.statements["currency"]) == {"USD"}  # the half-written EUR refresh is invisible
    assert cache.cleanup_temp() == 1 and len(cache.snapshot_dirs()) == 1


def test_two_sessions_with_different_filters_do_not_leak_state():
    a, b = run_app(), run_app()
    n_b, total = match_count(b)
    a.multiselect(key="f_segments").set_value(["chips"]).run()
    a.sidebar.slider[0].set_value(4.0).run()
    n_a, _ = match_count(a)
    assert n_a < total
    b.run()
    assert match_count(b) == (n_b, total)
    assert b.multiselect(key="f_segments").value == [] and b.sidebar.slider[0].value != 4.0
    assert a.multiselect(key="f_segments").value == ["chips"]


# ------------------------------------------------------------------ bad input

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(hs.binary(max_size=4_000))
def test_any_uploaded_bytes_give_rows_or_a_message_never_an_exception(raw):
    valid, errors, fatal = read_upload(raw, "fuzz.csv")
    assert isinstance(valid, pd.DataFrame)
    assert fatal is None or (isinstance(fatal, str) and fatal)
    assert valid.empty or fatal is None


CELL = hs.one_of(hs.text(max_size=30), hs.sampled_from(["=HYPERLINK(\"http://x\",\"y\")", "+1", "-1e999", "1e308",
                                                        "NaN", "inf", "<script>alert(1)</script>", "@SUM(A1)", ""]))


@FUZZ
@given(hs.lists(hs.fixed_dictionaries({c: CELL for c in DEAL_COLUMNS}), min_size=1, max_size=8))
def test_fuzzed_deals_csv_rows_are_validated_never_crash(rows):
    raw = pd.DataFrame(rows, columns=DEAL_COLUMNS).to_csv(index=False).encode("utf-8")
    valid, errors, fatal = read_upload(raw, "fuzz.csv")
    if fatal is None:
        assert len(valid) <= len(rows)
        assert all(isinstance(e.reason, str) and e.reason for e in errors)  # every refusal says why
        amounts = valid["amount_usd"].dropna()
        assert ((amounts >= 0) & (amounts <= 1e13)).all()  # absurd numbers are refused, not stored


def test_oversized_and_wrongly_encoded_uploads_get_a_message():
    big = b"deal_id,payer\n" + b"x,y\n" * (MAX_UPLOAD_BYTES // 4 + 1)
    assert "limit" in read_upload(big, "big.csv")[2]
    assert "UTF-8" in read_upload("payer\nNestlé\n".encode("latin-1"), "latin.csv")[2]


@FUZZ
@given(hs.lists(hs.one_of(hs.text(max_size=12), hs.sampled_from(["=cmd|' /C calc'!A0", "@x", "+x", "-x", "\tx"])),
                min_size=1, max_size=10))
def test_exported_csv_never_starts_a_text_cell_with_a_formula_prefix(cells):
    import csv
    import io

    df = pd.DataFrame({"name": cells, "value": range(len(cells))})
    back = list(csv.reader(io.StringIO(safe_csv(df).decode("utf-8"), newline="")))
    assert back[0] == ["name", "value"] and len(back) == len(cells) + 1
    for orig, (cell, _) in zip(cells, back[1:]):
        assert not cell.startswith(FORMULA_PREFIXES)
        assert cell in (orig, "'" + orig)  # only a leading apostrophe is ever added


@FUZZ
@given(hs.text(max_size=200))
def test_weight_parameter_parser_accepts_only_four_sane_weights(text):
    w = _parse_weights(text)
    if w is not None:
        assert list(w) == list(PILLARS)
        assert all(0 <= v <= WEIGHT_MAX for v in w.values()) and sum(w.values()) > 0


@FUZZ
@given(hs.text(max_size=300))
def test_ticker_parameter_parser_returns_only_known_tickers(text):
    known = {"NVDA", "MSFT", "ORCL", "AMD"}
    good, bad = parse_tickers(text, known)
    assert set(good) <= known and len(good) <= 4 and len(set(good)) == len(good)
    assert all(len(b) <= 20 for b in bad)


@pytest.mark.parametrize("params", [
    {"ticker": "A" * 10_000, "w": "1," * 5000},
    {"tickers": "NVDA,,,,\x00,%00,../../etc/passwd", "mode": "relative\n"},
    {"w": "nan,inf,-inf,1", "preset": "<img src=x onerror=alert(1)>"},
    {"w": "-1,-1,-1,-1", "ticker": "msft"},
    {"w": "0,0,0,0", "mode": ""},
    {"seg": "\x00" * 100, "sub": "," * 5000, "mcap": "1e308-inf", "min": "-1,200,nan,5", "nd": "-0", "fcfm": "1e999"},
])
def test_hostile_link_parameters_never_crash_the_app(params):
    at = run_app(params)
    assert not at.exception
    for page in ("screens/scorecard.py", "screens/compare.py"):
        at.switch_page(page).run()
        assert not at.exception
    blob = " ".join(m.value for m in [*at.markdown, *at.caption, *at.warning])
    assert "<img" not in blob and "\x00" not in blob


def test_html_in_names_is_refused_on_upload_and_escaped_in_every_chart():
    from data.loop import load_deals, merge_deals
    from metrics.loop import build_graph
    from screens.charts import ego_network, network_figure, sankey_figure, scatter_figure, treemap_figure

    evil = "<img src=x onerror=alert(1)>"
    header = ",".join(DEAL_COLUMNS)
    row = f"U1,2025-10-01,{evil},NVDA,equity_investment,1000000000,headline,,announced,test,https://example.test"
    valid, errors, fatal = read_upload(f"{header}\n{row}\n".encode(), "evil.csv")
    assert fatal is None and valid.empty and "not allowed" in errors[0].reason  # refused, with the reason
    # defence in depth: names that reach a chart by another road (e.g. a Yahoo long name) are escaped
    deals = load_deals()
    sneaky = deals.iloc[[0]].assign(deal_id="U1", payer=evil, payee="NVDA", amount_usd=1e9)
    g = build_graph(merge_deals(deals, sneaky))
    table = pd.DataFrame({"name": [evil], "segment": ["chips"], "market_cap_usd": [1e9], "composite": [50.0],
                          "loop_exposure": [50.0], "fcf": [1.0]}, index=[evil])
    figures = [network_figure(g, [], {}, {}), sankey_figure(g), treemap_figure(table)[0],
               scatter_figure(table, "loop_exposure", "fcf", "x", "y")[0]]
    traces, _ = ego_network(g, "NVDA")
    blob = json.dumps([f.to_plotly_json() for f in figures] + [t.to_plotly_json() for t in traces], default=str)
    assert "&lt;img src=x" in blob and "<img" not in blob


def test_yahoo_rate_limiting_every_ticker_stops_the_batch_early():
    """A machine-wide 429 storm: after 3 tickers exhaust their retries the rest are not attempted."""
    made: list[str] = []

    def factory(sym: str):
        made.append(sym)
        return FakeTicker(info_exc=YFRateLimitError("Too Many Requests"))

    res = fetch_many([f"T{i}" for i in range(37)], factory, preflight=lambda: None, max_workers=1,
                     sleep=lambda s: None, retries=2)
    assert res.rate_limited and not res.offline
    attempted = [o for o in res.outcomes.values() if o.attempts]
    assert len(attempted) == 3 and len(made) == 9  # 3 tickers x (1 try + 2 retries)
    assert all(o.status == STATUS_RATE_LIMITED for o in res.outcomes.values())
    assert "rate-limiting" in res.summary()
