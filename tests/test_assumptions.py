"""Adjusted debt, the server-life assumption and score history (methodology: 'Assumptions you can change')."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics import adjusted as A
from metrics import depreciation as D
from metrics import financials as F
from metrics.engine import scorecard, score
from metrics.history import changes, grade_move, score_history
from metrics.scoring import Adjustments, Assumptions
from screens.__main__ import main
from tests.conftest import run_app, statements_from
from tests.test_metrics_checks import FULL, FX, market, universe


def commitments(*rows):
    """(ticker, as_of, kind, item, amount[, basis]) rows in USD."""
    return pd.DataFrame([{"ticker": r[0], "as_of": r[1], "kind": r[2], "item": r[3], "amount": float(r[4]),
                          "currency": "USD", "source": "https://example.test/10-k", "basis": r[5] if len(r) > 5 else "filing",
                          "note": None} for r in rows])


def lives(*rows):
    """(ticker, life, effective_from) server-life rows."""
    return pd.DataFrame([{"ticker": t, "asset_class": "servers and network equipment", "useful_life_years": life,
                          "effective_from": when, "previous_life_years": None, "source": "https://example.test/10-k",
                          "note": None} for t, life, when in rows])


def servers(*rows):
    """(ticker, fiscal_year, gross servers) rows."""
    return pd.DataFrame([{"ticker": t, "fiscal_year": y, "period_end": f"{y}-12-31", "currency": "USD",
                          "field": D.SERVERS_GROSS, "value": float(v), "source": "https://example.test/10-k"}
                         for t, y, v in rows])


# FULL (tests.test_metrics_checks): FY2024 total debt 750, cash & ST investments 150, EBITDA 250 + 50 = 300
def scored(adjustments=None, assumptions=None, rows=FULL):
    return score(statements_from(rows), market(A=1e4), universe("A"), FX, None, assumptions, adjustments)


# --------------------------------------------------------------------------- adjusted debt

def test_adjusted_net_debt_adds_counted_commitments_and_uses_its_own_bands():
    adj = Adjustments(commitments=commitments(
        ("A", "2024-12-31", "operating_lease_liability_current", "operating lease liabilities (current)", 60),
        ("A", "2024-12-31", "operating_lease_liability_noncurrent", "operating lease liabilities (non-current)", 240),
        ("A", "2024-12-31", "lease_not_commenced", "leases signed, not yet commenced", 300),
        ("A", "2025-03-31", "guarantee", "capacity backstop", 150),
        ("A", "2025-03-31", "purchase_commitment", "purchase obligations", 999, "unverified")))
    sc = scored(adj)
    r = sc.results["adjusted_net_debt_to_ebitda"].loc["A"]
    # period-true: only the FY2024 year-end disclosures count; the backstop of March 2025 is a later balance sheet
    # (750 + 60 + 240 + 300 - 150) / 300 = 4.0x: band BB (0.5 points), fails (>= 3.5x)
    assert r["value"] == pytest.approx(4.0) and r["points"] == 0.5 and not bool(r["passed"])
    assert sc.results["net_debt_to_ebitda"].loc["A", "value"] == pytest.approx(2.0)  # passes as reported
    b = A.bridge(sc.ctx, "A")
    assert b["commitments_added"] == 600 and b["adjusted_band"] == "BB" and b["reported_ratio"] == pytest.approx(2.0)
    later = [ln for ln in b["lines"] if ln["as_of"] == "2025-03-31"]
    assert len(later) == 2 and not any(ln["counted"] for ln in later)
    assert all("after the FY2024 balance-sheet date" in ln["why_not_counted"] for ln in later)


def test_a_balance_sheet_can_pass_as_reported_and_fail_adjusted_and_the_pillar_follows_the_basis():
    adj = Adjustments(commitments=commitments(("A", "2024-12-31", "lease_not_commenced", "leases", 2000)))
    rep, adjd = scored(adj), scored(adj, Assumptions(debt_basis="adjusted"))
    assert bool(rep.results["net_debt_to_ebitda"].loc["A", "passed"])
    assert not bool(adjd.results["adjusted_net_debt_to_ebitda"].loc["A", "passed"])
    assert adjd.table().at["A", "balance_sheet"] < rep.table().at["A", "balance_sheet"]
    ids = [c["id"] for c in scorecard(adjd, "A", with_history=False)["pillars"]["balance_sheet"]["checks"]]
    assert ids[0] == "adjusted_net_debt_to_ebitda" and "net_debt_to_ebitda" not in ids


def test_without_compiled_commitments_the_adjusted_check_is_na_never_zero_commitments():
    r = scored(Adjustments()).results["adjusted_net_debt_to_ebitda"].loc["A"]
    assert np.isnan(r["points"]) and not r["Commitments on file"]
    assert "not read as none" in A.ADJUSTED_CHECK.explain(r.to_dict(), "USD")


def test_only_the_latest_disclosure_of_an_item_counts_and_older_not_commenced_leases_do_not_double_count():
    c = commitments(("A", "2024-06-30", "purchase_commitment", "purchase obligations", 100),
                    ("A", "2025-06-30", "purchase_commitment", "purchase obligations", 180),
                    ("A", "2025-06-30", "finance_lease_liability", "finance lease liabilities", 50),
                    ("A", "2024-06-30", "lease_not_commenced", "leases signed, not yet commenced", 400))
    sel = A.select_commitments(c).set_index(["item", "as_of"])
    assert sel.loc[("purchase obligations", "2025-06-30"), "counted"]
    assert not sel.loc[("purchase obligations", "2024-06-30"), "counted"]
    assert not sel.loc[("leases signed, not yet commenced", "2024-06-30"), "counted"]  # older than the liabilities
    known_mid_2024 = A.select_commitments(c, upto="2024-12-31").set_index("item")
    assert known_mid_2024.loc["purchase obligations", "amount"] == 100  # score history sees what was known then


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.floats(0, 5e3), min_size=1, max_size=4))
def test_adding_commitments_never_lowers_adjusted_leverage(amounts):
    rows = [("A", "2024-12-31", "other_commitment", f"item {i}", a) for i, a in enumerate(amounts) if a > 0]
    if not rows:
        return
    sc = scored(Adjustments(commitments=commitments(*rows)))
    adjusted = sc.results["adjusted_net_debt_to_ebitda"].loc["A"]
    reported = sc.results["net_debt_to_ebitda"].loc["A"]
    assert adjusted["value"] >= reported["value"] - 1e-12
    assert adjusted["points"] <= 1.0


# --------------------------------------------------------------------------- server life

def test_life_in_force_follows_each_change_by_its_effective_date():
    table = D.server_lives(lives(("A", 4, "2020-07-01"), ("A", 6, "2022-07-01")))
    ends = pd.Series(["2022-06-30", "2023-06-30"])
    assert D.life_in_force(table, pd.Series(["A", "A"]), ends).tolist() == [4.0, 6.0]


def test_a_shorter_life_moves_depreciation_operating_income_and_ebit_by_base_over_life():
    adj = Adjustments(useful_lives=lives(("A", 6, "2020-01-01")), servers=servers(("A", 2024, 600)))
    at3 = scored(adj, Assumptions(gpu_life=3.0)).ctx.latest.loc["A"]
    base = scored(adj).ctx.latest.loc["A"]
    delta = 600 / 3 - 600 / 6  # 100
    assert at3["gpu_depreciation_change"] == pytest.approx(delta) and base["gpu_depreciation_change"] == 0
    assert at3[F.OPERATING_INCOME] == pytest.approx(base[F.OPERATING_INCOME] - delta)
    assert at3[F.DEPRECIATION] == pytest.approx(base[F.DEPRECIATION] + delta)
    assert at3[F.EBITDA_D] == pytest.approx(base[F.EBITDA_D])  # depreciation is added back: EBITDA does not move
    assert at3[F.FCF_D] == pytest.approx(base[F.FCF_D])  # nor does cash
    assert at3["gpu_base_basis"] == D.BASE_PPE


def test_without_a_servers_base_the_year_is_left_as_reported_and_says_why():
    adj = Adjustments(useful_lives=lives(("A", 5, "2020-01-01")))
    sc = scored(adj, Assumptions(gpu_life=3.0))
    at3 = sc.ctx.latest.loc["A"]
    # total capex buys buildings and land too: never a stand-in for the servers base
    assert np.isnan(at3["gpu_base"]) and at3[F.OPERATING_INCOME] == 250 and not at3[F.GPU_ADJUSTED]
    life = scorecard(sc, "A", with_history=False)["server_life"]
    assert not life["adjusted"] and "no servers & network equipment PP&E" in life["reason"]
    assert scored(Adjustments(useful_lives=lives(("B", 5, "2020-01-01"))), Assumptions(gpu_life=3.0)) \
        .ctx.latest.loc["A", F.OPERATING_INCOME] == 250  # no disclosed life: not adjusted


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(D.GPU_LIFE_CHOICES), st.floats(1.0, 1e12), st.floats(2.0, 8.0))
def test_the_extra_depreciation_never_exceeds_what_the_disclosed_base_allows(life, base, reported):
    adj = Adjustments(useful_lives=lives(("A", reported, "2020-01-01")), servers=servers(("A", 2024, base)))
    row = scored(adj, Assumptions(gpu_life=life)).ctx.latest.loc["A"]
    assert row["gpu_depreciation_change"] == pytest.approx(base / life - base / reported)
    assert row["gpu_depreciation_change"] <= base / life + 1e-6 and base / life <= base


def test_the_margin_trend_never_compares_an_adjusted_year_with_an_unadjusted_one():
    # servers base for FY2024 only: under a 3-year life FY2024 is adjusted, FY2023 is not -> the trend stays as reported
    adj = Adjustments(useful_lives=lives(("A", 6, "2020-01-01")), servers=servers(("A", 2024, 600)))
    rep, at3 = scored(adj), scored(adj, Assumptions(gpu_life=3.0))
    assert at3.results["operating_margin"].loc["A", "value"] < rep.results["operating_margin"].loc["A", "value"]
    trend = at3.results["operating_margin_trend"].loc["A"]
    assert trend["value"] == pytest.approx(rep.results["operating_margin_trend"].loc["A", "value"])
    assert trend["Basis"] == "as reported"
    both = Adjustments(useful_lives=adj.useful_lives, servers=servers(("A", 2024, 600), ("A", 2023, 500)))
    assert scored(both, Assumptions(gpu_life=3.0)).results["operating_margin_trend"].loc["A", "Basis"] == \
        "server-life adjusted"


def test_a_shorter_server_life_never_raises_operating_margin_or_pricing_power():
    adj = Adjustments(useful_lives=lives(("A", 6, "2020-01-01")), servers=servers(("A", 2024, 600), ("A", 2023, 500)))
    by_life = [scored(adj, Assumptions(gpu_life=life)) for life in sorted(D.GPU_LIFE_CHOICES)]  # every life offered
    margins = [s.results["operating_margin"].loc["A", "value"] for s in by_life]
    pricing = [s.table().at["A", "pricing_power"] for s in by_life]
    assert all(a <= b + 1e-12 for a, b in zip(margins, margins[1:]))
    assert all(a <= b + 1e-9 for a, b in zip(pricing, pricing[1:]))
    assert margins[0] < margins[-1]  # 3 years really costs margin against 6


def test_embedded_hyperscalers_lose_operating_margin_at_three_years_traceably_and_scores_respond():
    from screens.model import build_scored

    reported, three = build_scored(), build_scored(assumptions=Assumptions(gpu_life=3.0))
    cos = reported.ctx.companies
    cloud = cos.index[cos["subsegment"].isin(["hyperscaler", "neocloud"])]
    with_life = [t for t in cloud if reported.ctx.latest.loc[t].get("gpu_life_reported", 0) > 3
                 and pd.notna(reported.results["operating_margin"].loc[t, "value"])]
    adjusted = [t for t in with_life if pd.notna(reported.ctx.latest.loc[t, "gpu_base"])]
    assert {"MSFT", "META", "GOOGL", "ORCL"} <= set(adjusted)
    for t in with_life:
        om_rep = reported.results["operating_margin"].loc[t, "value"]
        om3 = three.results["operating_margin"].loc[t, "value"]
        life = scorecard(three, t, with_history=False)["server_life"]
        if t in adjusted:  # base / 3 − base / life, traced on the card
            row = three.ctx.latest.loc[t]
            expected = row["gpu_base"] / 3 - row["gpu_base"] / row["gpu_life_reported"]
            assert life["adjusted"] and life["depreciation_change"] == pytest.approx(expected), t
            assert om3 == pytest.approx(om_rep - expected / row[F.REVENUE]), t
            assert "/ 3 − / " in life["trace"], t
        else:  # no servers base on file: left as reported, with the reason on the card
            assert om3 == pytest.approx(om_rep) and not life["adjusted"] and "PP&E" in life["reason"], t
    t_rep, t_three = reported.table(), three.table()
    assert (t_three.loc[with_life, "pricing_power"] <= t_rep.loc[with_life, "pricing_power"] + 1e-9).all()
    assert (t_three.loc[adjusted, "composite_low"] != t_rep.loc[adjusted, "composite_low"]).any()


def test_embedded_cards_of_the_issue_show_reported_and_adjusted_debt_with_sourced_commitments():
    from screens.model import build_scored

    sc = build_scored()
    for t in ("ORCL", "META", "MSFT", "CRWV", "NVDA"):
        b = scorecard(sc, t, with_history=False)["adjusted_debt"]
        counted = [ln for ln in b["lines"] if ln["counted"]]
        later = [ln for ln in b["lines"] if "a later period" in (ln["why_not_counted"] or "")]
        assert (counted or later) and all(ln["source"].startswith("http") for ln in b["lines"]), t
        if b["reported_debt"] is not None and counted:
            assert b["adjusted_debt"] == pytest.approx(b["reported_debt"] + sum(ln["amount"] for ln in counted)), t
        if not counted:  # nothing dated at the scored year end: not on file (0 points), the later ones listed
            assert not b["commitments_on_file"] and b["adjusted_debt"] is None, t


# --------------------------------------------------------------------------- history

def history_world():
    rows = [r for r in FULL] + [("A", 2023, "Total Assets", 1800), ("A", 2023, "Net Income", 150)]
    return rows


def test_history_scores_each_complete_year_by_the_headline_rule():
    rows = history_world()
    h = score_history(statements_from(rows), market(A=1e4), universe("A"), FX)
    assert list(h["fiscal_year"]) == [2023, 2024] and list(h["scoring_year"]) == [False, True]
    # the FY2024 point is the headline itself (market cap included: it belongs to the scoring year)
    head = score(statements_from(rows), market(A=1e4), universe("A"), FX).table()
    assert h.iloc[-1]["composite"] == pytest.approx(head.at["A", "composite"])
    assert h.iloc[-1]["grade"] == head.at["A", "grade"]
    # the FY2023 point sees nothing of FY2024, and no market cap is dated at its year end
    only_2023 = score(statements_from([r for r in rows if r[1] == 2023]), market(A=np.nan), universe("A"), FX).table()
    assert h.iloc[0]["composite_low"] == pytest.approx(only_2023.at["A", "composite_low"])


def test_grade_move_and_changes_in_words():
    h = pd.DataFrame({"ticker": ["A", "A", "B"], "fiscal_year": [2023, 2024, 2024], "composite": [70.0, 55.0, 60.0],
                      "grade": ["B", "C", "C"]})
    assert grade_move(h, "A") == "Moved from B to C since FY2023 (composite 70 → 55 in FY2024)."
    assert grade_move(h, "B") == ""
    # a grade that left and came back is never "held" (Qualcomm FY2022-FY2025: C, B, B, C)
    back = pd.DataFrame({"ticker": ["Q"] * 4, "fiscal_year": [2022, 2023, 2024, 2025],
                         "composite": [59.0, 74.0, 76.0, 54.0], "grade": ["C", "B", "B", "C"]})
    said = grade_move(back, "Q")
    assert not said.startswith("Held")
    assert said == "Grade C in FY2022, B in FY2023–FY2024, C in FY2025 (composite 54)."
    held = back.assign(grade="C")
    assert grade_move(held, "Q").startswith("Held grade C since FY2022")
    now = pd.DataFrame({"composite": [55.0, 60.0], "grade": ["C", "C"], "fiscal_year": [2024, 2024]}, index=["A", "B"])
    before = pd.DataFrame({"composite": [70.0, 60.0], "grade": ["B", "C"], "fiscal_year": [2023, 2024]}, index=["A", "B"])
    ch = changes(now, before)
    assert ch.loc["A", "changed"] and not ch.loc["B", "changed"]


def test_every_embedded_company_with_two_fiscal_years_has_a_grade_history():
    from data.embedded import load_statements
    from metrics.engine import score_history_of
    from screens.model import build_scored

    h = score_history_of(build_scored())
    years = load_statements().groupby("ticker")["fiscal_year"].nunique()
    for t in years[years >= 2].index:
        assert (h["ticker"] == t).sum() >= 1, t
    graded = h[h["grade"] != "n.a."].groupby("ticker").size()
    assert (graded >= 2).sum() >= 15  # a grade in two or more years for most of the universe


# --------------------------------------------------------------------------- CLI and app

def test_cli_card_and_history_carry_the_assumptions(capsys):
    assert main(["card", "MSFT", "--json", "--gpu-life", "3", "--debt", "adjusted"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["assumptions"] == {"gpu_life_years": 3.0, "gpu_life": "3 years", "debt_basis": "adjusted"}
    assert card["server_life"]["life_used_years"] == 3.0 and card["server_life"]["depreciation_change"] > 0
    assert card["adjusted_debt"]["lines"] and card["history"]["rows"]
    assert main(["history", "MSFT", "--json"]) == 0
    hist = json.loads(capsys.readouterr().out)
    assert [r["fiscal_year"] for r in hist["rows"]] == sorted(r["fiscal_year"] for r in hist["rows"])
    assert main(["history", "MSFT", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("fiscal_year,")
    assert main(["card", "MSFT", "--gpu-life", "2"]) == 2
    assert "--gpu-life must be one of" in capsys.readouterr().err
    assert main(["history", "ZZZZ"]) == 2


@pytest.mark.usefixtures("clear_streamlit_caches")
def test_the_link_carries_server_life_and_debt_basis_and_the_card_tabs_show_them():
    at = run_app({"ticker": "ORCL", "gpu": "3", "debt": "adjusted"})
    at.switch_page("screens/scorecard.py").run()
    assert not at.exception
    assert at.session_state["gpu_life"] == 3.0 and at.session_state["debt_basis"] == "adjusted"
    assert at.query_params["gpu"] in ("3", ["3"]) and at.query_params["debt"] in ("adjusted", ["adjusted"])
    assert "gpu=3" in at.text_input(key="share_link").value and "debt=adjusted" in at.text_input(key="share_link").value
    checks = at.dataframe[0].value
    assert "Adjusted net debt / EBITDA" in set(checks["Check"]) and "Net debt / EBITDA" not in set(checks["Check"])
    assert any("Server life: 3 years" in c.value for c in at.caption)
    at.session_state["card_view"] = "Debt: reported → adjusted"
    at.run()
    lines = at.dataframe[1].value
    assert lines["source"].str.startswith("http").all() and lines["counted"].any()
    assert {m.label for m in at.metric} >= {"Net debt / EBITDA, reported", "Net debt / EBITDA, adjusted"}
    at.session_state["card_view"] = "History"
    at.run()
    hist = at.dataframe[0].value
    assert list(hist["FY"]) == sorted(hist["FY"]) and len(hist) >= 3
    assert any("nothing to compare yet" in c.value for c in at.caption)


@pytest.mark.usefixtures("clear_streamlit_caches")
def test_bad_assumption_parameters_in_a_link_are_ignored_with_a_notice():
    at = run_app({"gpu": "99", "debt": "creative"})
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    assert "server life" in text and "debt basis" in text
    assert at.session_state["gpu_life"] == "as reported" and at.session_state["debt_basis"] == "reported"


@pytest.mark.usefixtures("clear_streamlit_caches")
def test_changed_since_the_last_refresh_compares_with_the_data_the_refresh_replaced(isolated_cache):
    import time

    from data.cache import Cache
    from data.loader import last_refresh, load_dataset
    from tests.test_data_live import _result, good_ticker, yf_frame

    cache = Cache(isolated_cache)
    assert last_refresh(cache) is None
    cache.write(_result(lambda s: good_ticker(), tickers=("MSFT",)))
    time.sleep(0.01)

    def better(sym):
        t = good_ticker()
        t.income_stmt = yf_frame({"Total Revenue": [999.0, 80.0], "Gross Profit": [600.0, 50.0]},
                                 ["2025-01-26", "2024-01-28"])
        return t

    cache.write(_result(better, tickers=("MSFT",)))
    revenue = lambda ds: ds.statements.query("ticker == 'MSFT' and field == 'Total Revenue'")["value"].max()  # noqa: E731
    assert revenue(load_dataset(cache)) == 999.0 and revenue(load_dataset(cache, before_last_refresh=True)) == 100.0
    assert last_refresh(cache) is not None
    at = run_app({"ticker": "MSFT"})
    at.switch_page("screens/scorecard.py").run()
    at.session_state["card_view"] = "History"
    at.run()
    assert not at.exception
    assert any(c.value.startswith("Since the last refresh (") and "composite" in c.value for c in at.caption)
