"""Loop graph on small hand-made deals: cycles, annualisation, as-of, uploads, stress monotonicity."""

from __future__ import annotations

import functools
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.loop import DEAL_COLUMNS, load_deals, read_upload, validate_deals
from metrics import loop as L
from metrics.checks import CHECKS_BY_ID
from metrics.engine import score, stress_test
from tests.conftest import statements_from
from tests.test_metrics_checks import FX, market, universe


def deals(rows):
    raw = pd.DataFrame([dict(zip(DEAL_COLUMNS, r)) for r in rows], columns=DEAL_COLUMNS).astype(str).replace("None", "")
    valid, errors = validate_deals(raw)
    assert not errors, errors
    return valid


def d(i, payer, payee, flow="compute_contract", amount="100", term="", when="2025-01-01", desc="signed deal"):
    return (f"d{i}", when, payer, payee, flow, amount, "reported", term, "signed", desc, "https://example.test")


def test_cycle_detection_with_length_bound_and_smallest_edge():
    ring = [d(i, f"N{i}", f"N{(i + 1) % 7}", amount=str(100 + i)) for i in range(7)]  # one 7-cycle
    tri = [d(10, "A", "B", amount="50"), d(11, "B", "C", amount="20"), d(12, "C", "A", amount="90")]
    g = L.build_graph(deals(ring + tri))
    cycles = L.find_cycles(g)
    assert [c.nodes for c in cycles] == [["A", "B", "C"]]  # the 7-cycle is longer than 6
    assert cycles[0].amount_usd == 20
    assert len(L.find_cycles(g, max_length=7)) == 2


def test_undisclosed_edge_makes_cycle_dollars_undisclosed():
    g = L.build_graph(deals([d(1, "A", "B", amount="50"), d(2, "B", "A", amount="")]))
    (c,) = L.find_cycles(g)
    assert math.isnan(c.amount_usd) and c.min_known_usd == 50


def test_excluded_deals_form_no_edge_and_low_confidence_counts_only_on_request():
    rows = [d(1, "A", "B", desc="TERMINATED 2025: never paid"), d(2, "B", "C", desc="UNCONFIRMED media report")]
    dd = deals(rows)
    assert list(dd["confidence"]) == ["excluded", "low"]
    g = L.build_graph(dd)
    assert not g.has_edge("A", "B")
    assert math.isnan(g.edges["B", "C"]["amount_usd"])
    assert L.build_graph(dd, include_low=True).edges["B", "C"]["amount_usd"] == 100


def test_annualisation_and_as_of_filter():
    assert L.annualised_amount(300e9, 5) == 60e9
    assert math.isnan(L.annualised_amount(300e9, float("nan"))) and math.isnan(L.annualised_amount(float("nan"), 5))
    dd = deals([d(1, "A", "B", when="2024-06"), d(2, "B", "A", when="2025"), d(3, "C", "A", when="2025-09-22")])
    assert len(L.filter_as_of(dd, "2024-12-31")) == 1
    assert len(L.filter_as_of(dd, "2025-01-01")) == 2  # year-dated deal counts from Jan 1
    assert len(L.filter_as_of(dd, None)) == 3


def test_upload_lists_broken_rows_and_keeps_good_ones():
    header = ",".join(DEAL_COLUMNS)
    good = "ok1,2025-01-01,OpenAI,ORCL,compute_contract,1000,reported,5,signed,fine,https://x"
    lines = [header, good,
             "b1,2025-01-01,OpenAI,ORCL,compute_contract,lots,reported,5,signed,x,https://x",
             "b2,2025-01-01,OpenAI,ORCL,teleportation,1,reported,5,signed,x,https://x",
             "b3,2025-01-01,OpenAI,,compute_contract,1,reported,5,signed,x,https://x",
             "ok1,2025-01-01,OpenAI,ORCL,compute_contract,1,reported,5,signed,dup,https://x",
             "b5,2025-13-45,<script>alert(1)</script>,ORCL,compute_contract,1e99,reported,-1,signed,x,"]
    valid, errors, fatal = read_upload("\n".join(lines).encode())
    assert fatal is None and list(valid["deal_id"]) == ["ok1"]
    reasons = {e.deal_id: e.reason for e in errors}
    assert "not a number" in reasons["b1"] and "unknown flow type" in reasons["b2"]
    assert "payee is empty" in reasons["b3"] and "duplicate" in reasons["ok1"]
    assert "not allowed" in reasons["b5"] and "outside 0" in reasons["b5"] and "source is empty" in reasons["b5"]
    assert [e.line for e in errors] == [3, 4, 5, 6, 7]


def test_upload_refuses_huge_binary_and_wrongly_encoded_files():
    assert "limit" in read_upload(b"a" * 3_000_000)[2]
    assert "UTF-8" in read_upload("deal_id\né".encode("latin-1"))[2]
    assert "missing" in read_upload(b"just,some,columns\n1,2,3\n")[2]
    many = ",".join(DEAL_COLUMNS) + "\n" + "\n".join(
        f"x{i},2025,A,B,other,1,r,1,s,d,https://x" for i in range(6000))
    assert "rows" in read_upload(many.encode())[2]


def test_embedded_deals_load_and_contain_the_articles_cycle():
    dd = load_deals()
    g = L.build_graph(dd)
    assert g.has_edge("NVDA", "OpenAI") and g.has_edge("OpenAI", "ORCL") and g.has_edge("ORCL", "NVDA")
    cycles = L.find_cycles(g)
    assert any(set(c.nodes) == {"NVDA", "OpenAI", "ORCL"} and len(c.nodes) == 3 for c in cycles)
    assert all(c.length <= 6 for c in cycles)


# ------------------------------------------------------------------ exposure checks and stress

@functools.lru_cache(maxsize=1)
def loop_world():
    rows = []
    for t, rev in (("SELL", 1000.0), ("BUY", 5000.0)):  # FY2025 = calendar 2025, when the deals run
        rows += [(t, 2025, "Total Revenue", rev), (t, 2025, "Gross Profit", rev * 0.6), (t, 2025, "Operating Income", rev * 0.3),
                 (t, 2025, "Reconciled Depreciation", rev * 0.05), (t, 2025, "Operating Cash Flow", rev * 0.35),
                 (t, 2025, "Capital Expenditure", -rev * 0.1), (t, 2025, "Net Income", rev * 0.2),
                 (t, 2025, "Total Debt", rev * 0.4), (t, 2025, "Cash Cash Equivalents And Short Term Investments", rev * 0.1),
                 (t, 2025, "Interest Expense", rev * 0.02), (t, 2025, "Current Debt", rev * 0.05),
                 (t, 2025, "Current Assets", rev * 0.5), (t, 2025, "Current Liabilities", rev * 0.4),
                 (t, 2025, "Total Assets", rev * 2), (t, 2024, "Total Revenue", rev * 0.8),
                 (t, 2024, "Gross Profit", rev * 0.45), (t, 2024, "Operating Income", rev * 0.2)]
    dd = deals([d(1, "Priv", "SELL", amount="1500", term="5"),   # 300/yr from a private party
                d(2, "SELL", "Priv", flow="equity_investment", amount="200"),  # vendor financing
                d(3, "BUY", "SELL", amount="400", term="4")])    # 100/yr from a listed party
    conc = pd.DataFrame(columns=["ticker", "period", "counterparty", "metric", "value", "unit", "source", "note"])
    lc = L.loop_context(dd, conc, {"SELL", "BUY"})
    return score(statements_from(rows), market(SELL=1e4, BUY=5e4), universe("SELL", "BUY"), FX, lc)


def test_loop_checks_hand_computed():
    sc = loop_world()
    r = sc.results
    assert r["loop_revenue_share"]["value"]["SELL"] == pytest.approx(0.4)  # (300 + 100) / 1000
    assert r["vendor_financing"]["value"]["SELL"] == pytest.approx(0.2)  # 200 committed to its buyer in FY2025 / 1000
    assert r["on_cycle"]["value"]["SELL"] == 1
    # private revenue in the year / revenue: 300 / 1000 (the listed buyer's 100 neither helps nor hurts); the 1,200
    # private contract still to run has no backlog to be compared with, so it cannot be judged: a fail at 0 points
    cpq = r["counterparty_quality"].loc["SELL"]
    assert cpq["value"] == pytest.approx(0.3) and cpq["points"] == 0.0 and cpq["status"] == "fail"
    assert r["loop_revenue_share"]["value"]["BUY"] == 0.0
    t = sc.table()
    assert 0 <= t.at["SELL", "loop_exposure"] < t.at["BUY", "loop_exposure"] <= 100


def _share_world(when: str, term: str, fy: int, conc_rows=(), check="loop_revenue_share"):
    rows = [("SELL", fy, "Total Revenue", 1000.0), ("SELL", fy, "Operating Cash Flow", 1.0), ("SELL", fy, "Total Assets", 1.0)]
    dd = deals([d(1, "Priv", "SELL", amount="1200", term=term, when=when)])
    conc = pd.DataFrame(list(conc_rows), columns=["ticker", "period", "counterparty", "metric", "value", "unit", "source", "note"])
    lc = L.loop_context(dd, conc, {"SELL"})
    return score(statements_from(rows), market(SELL=1e4), universe("SELL"), FX, lc).results[check].loc["SELL"]


def test_loop_share_counts_only_inflows_that_fall_in_the_fiscal_year():
    # 1,200 over 4 years from 2025-01-01 = 300 a year; FY2024 (calendar 2024) saw none of it
    r = _share_world("2025-01-01", "4", 2024)
    assert r["value"] == 0.0 and r["Deals running in the year"] == 0
    # FY2025: a full year of it
    assert _share_world("2025-01-01", "4", 2025)["value"] == pytest.approx(0.3)
    # a deal starting on 1 July 2025 runs for half of FY2025 (184 of 365 days)
    half = _share_world("2025-07-01", "4", 2025)["value"]
    assert half == pytest.approx(300 * 184 / 365 / 1000)


def test_loop_share_is_never_capped_and_uses_the_disclosure_of_the_same_year():
    big = _share_world("2025-01-01", "0.5", 2025)  # 1,200 within half a year: 2.4x revenue a year, 1.2x in the year
    assert big["value"] == pytest.approx(1.2, rel=0.01) and big["points"] == 0.0
    conc = [("SELL", "FY2024", "Priv", "share_of_revenue", "90", "percent", "https://x", ""),
            ("SELL", "FY2025", "Priv", "share_of_revenue", "10", "percent", "https://x", "")]
    r = _share_world("2026-01-01", "4", 2025, conc)  # the deal has not started: only the FY2025 disclosure counts
    assert r["value"] == pytest.approx(0.10) and r["Disclosure period"] == "FY2025"


def test_future_contracts_are_compared_with_backlog_at_the_backlog_date():
    conc = [("SELL", "2025-07-01", "all", "remaining_performance_obligations", "2000", "USD", "https://x", "")]
    r = _share_world("2025-01-01", "4", 2025, conc)
    # 1,200 over 4 years from Jan 2025: at 1 July 2025 (181 of 1,461 days gone) 1,200 x 1,280/1,461 is still to run
    assert r["Loop contracts outstanding (USD)"] == pytest.approx(1200 * 1280 / 1461, rel=0.001)
    assert r["Loop share of backlog"] == pytest.approx(1200 * 1280 / 1461 / 2000, rel=0.001)
    text = CHECKS_BY_ID["loop_revenue_share"].explain(r.to_dict(), "USD")
    assert "1 loop deal(s) ran in the fiscal year Jan 2025–Dec 2025, bringing USD 300 vs revenue USD 1,000" in text
    b = _share_world("2025-01-01", "4", 2025, conc, check="backlog_concentration")
    assert b["value"] == pytest.approx(1200 * 1280 / 1461 / 2000, rel=0.001)
    assert "of the USD 2,000 backlog (Jul 2025)" in CHECKS_BY_ID["backlog_concentration"].explain(b.to_dict(), "USD")


def test_stress_recomputes_revenue_fcf_and_scores():
    sc = loop_world()
    res = stress_test(sc, "Priv", 0.5).table
    assert list(res.index) == ["SELL"]
    assert res.at["SELL", "lost_revenue_usd"] == pytest.approx(150.0)
    assert res.at["SELL", "revenue_after"] == pytest.approx(850.0)
    assert res.at["SELL", "fcf_after"] == pytest.approx(250.0 - 150.0)
    assert res.at["SELL", "net_debt_to_ebitda_after"] > res.at["SELL", "net_debt_to_ebitda_before"]
    assert res.at["SELL", "composite_after"] < res.at["SELL", "composite_before"]


@settings(max_examples=8, deadline=None)
@given(st.floats(0, 1), st.floats(0, 1))
def test_lower_honoured_share_never_raises_a_score(p1, p2):
    lo, hi = sorted((p1, p2))
    sc = loop_world()
    a, b = stress_test(sc, "Priv", lo).table, stress_test(sc, "Priv", hi).table
    for col in [c for c in a.columns if c.endswith("_after") and c not in ("revenue_after", "fcf_after", "net_debt_to_ebitda_after", "grade_after")]:
        x, y = a.at["SELL", col], b.at["SELL", col]
        if not (pd.isna(x) or pd.isna(y)):
            assert x <= y + 1e-9, col
    assert a.at["SELL", "revenue_after"] <= b.at["SELL", "revenue_after"]


@pytest.mark.usefixtures("clear_streamlit_caches")
def test_loop_map_focus_and_cycle_highlight_in_the_app():
    import json

    from tests.conftest import run_app

    at = run_app()
    at.switch_page("screens/loop_map.py").run()
    assert not at.exception
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    parties = next(t for t in fig["data"] if t.get("name") == "parties")
    annotations = {a["text"] for a in fig["layout"]["annotations"]}
    assert {"<b>Chips & hardware</b>", "<b>Hyperscalers</b>", "<b>AI labs</b>"} <= annotations  # columns by role
    opts = at.selectbox(key="loop_cycle").options
    assert opts[0] == "(none)" and len(opts) > 1
    at.selectbox(key="loop_cycle").select(opts[1]).run()
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    parties = next(t for t in fig["data"] if t.get("name") == "parties")
    cycle_nodes = opts[1].split(" · ")[0].split(" → ")
    lit = {n for n, o in zip(parties["text"], parties["marker"]["opacity"]) if o == 1.0}
    assert lit == set(cycle_nodes)  # the cycle stands out, everything else fades
    at.selectbox(key="loop_focus").select("ORCL").run()
    assert all("ORCL" in o for o in at.selectbox(key="loop_cycle").options[1:])  # cycles through the focus only
