"""The scoring rules an investor relies on, tested on the real embedded data set.

One scoring function per company-year (the headline is the History row of the
scoring year), missing data never lifts a company, not applicable is not
"missing", loop checks and the stress test stay inside one period, and the
words say what the numbers mean.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.loader import load_dataset
from data.loop import load_deals
from metrics.checks import CHECKS, CHECKS_BY_ID, PILLARS
from metrics.engine import score, score_history_of, scorecard, stress_test
from metrics.scoring import Assumptions
from screens.model import build_scored
from tests.conftest import statements_from
from tests.test_metrics_checks import FULL, FX, market, universe

GRADE_ORDER = {"A": 5, "B": 4, "C": 3, "D": 2, "F": 1, "n.a.": 0}
LOOP_CHECKS = [c.id for c in CHECKS if c.pillar == "loop_exposure"]


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(use_cache=False)


@pytest.fixture(scope="module")
def headline(dataset):
    return build_scored(dataset)


# --------------------------------------------------------------------------- one rule per fiscal year

@pytest.mark.parametrize("assumptions,include_low", [
    (Assumptions(), False),
    (Assumptions(gpu_life=3.0, debt_basis="adjusted"), True),
])
def test_the_headline_is_the_history_row_of_the_scoring_year_for_every_company(dataset, assumptions, include_low):
    sc = build_scored(dataset, include_low=include_low, assumptions=assumptions)
    table = sc.table()
    hist = score_history_of(sc)
    scoring = hist[hist["scoring_year"]].set_index("ticker")
    scored = table[table["fiscal_year"].notna()]
    assert set(scoring.index) == set(scored.index)
    for t, row in scored.iterrows():
        h = scoring.loc[t]
        assert int(h["fiscal_year"]) == int(row["fiscal_year"]), t
        for col in [*PILLARS, "composite_low", "composite_high"]:
            assert h[col] == pytest.approx(row[col], nan_ok=True), (t, col)
        assert (math.isnan(h["composite"]) and math.isnan(row["composite"])) or h["composite"] == pytest.approx(
            row["composite"]), t
        assert h["grade"] == row["grade"], t


@pytest.mark.parametrize("ticker", ["NVDA", "MSFT", "ORCL", "CRWV"])
def test_card_header_history_and_table_agree(headline, ticker):
    card = scorecard(headline, ticker)
    row = headline.table().loc[ticker]
    last = [r for r in card["history"]["rows"] if r["scoring_year"]]
    assert len(last) == 1 and last[0]["fiscal_year"] == card["fiscal_year"]
    for value in (row["composite"], last[0]["composite"]):
        assert (value is None or (isinstance(value, float) and math.isnan(value))) == (card["composite"] is None)
        if card["composite"] is not None:
            assert value == pytest.approx(card["composite"])
    assert last[0]["grade"] == card["grade"] == row["grade"]


# --------------------------------------------------------------------------- missing data never helps

def _standing(table: pd.DataFrame, ticker: str) -> tuple[float, int, int]:
    """(conservative composite, grade order, rank) of a company: higher is better except rank."""
    r = table.loc[ticker]
    return r["composite_low"], GRADE_ORDER[r["grade"]], int(r["rank"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_deleting_any_one_reported_value_never_lifts_that_company(dataset, headline, data):
    """Absolute and sector-relative mode: composite, grade and rank never improve when a value is deleted.

    Half of the draws come from the scoring years' values (the ones most checks read). A deletion that leaves
    the scoring year without one of its three statements moves the company to its previous complete year
    (the scoring-year rule), which is announced on the card rather than compared."""
    stmts = dataset.statements
    scoring_rows = np.flatnonzero(stmts["fiscal_year"].to_numpy() == stmts["ticker"].map(
        headline.ctx.companies["fiscal_year"]).to_numpy())
    i = data.draw(st.one_of(st.integers(0, len(stmts) - 1), st.sampled_from(list(scoring_rows))))
    victim = dataset.statements.iloc[i]
    fewer = dataclasses.replace(dataset, statements=dataset.statements.drop(index=dataset.statements.index[i]))
    after = build_scored(fewer)
    t = victim["ticker"]
    year_before, year_after = headline.ctx.companies.at[t, "fiscal_year"], after.ctx.companies.at[t, "fiscal_year"]
    if year_after != year_before:
        # the deleted value left the scoring year incomplete: the company is scored on another year (its previous
        # complete one, or its newest if none is complete) -- a different year, which the card always announces
        assert scorecard(after, t, with_history=False)["scoring_note"], victim.to_dict()
        return
    for relative in (False, True):
        before_t, after_t = headline.table(relative=relative), after.table(relative=relative)
        (c0, g0, r0), (c1, g1, r1) = _standing(before_t, t), _standing(after_t, t)
        label = (t, int(victim["fiscal_year"]), victim["field"], relative)
        if not relative:
            assert c1 <= c0 + 1e-9, label
        assert g1 <= g0, label
        assert r1 >= r0, label


def test_a_missing_pillar_is_counted_at_its_conservative_score_not_left_out(headline):
    t = headline.table()
    provisional = t[t["provisional"] & t["composite"].notna()]
    for ticker, row in provisional.iterrows():
        # every weighted pillar is in the mean: the composite is the plain mean of the four conservative scores,
        # a pillar with nothing on file (shown n.a.) counted at 0
        assert row["composite"] == pytest.approx(np.mean([0.0 if np.isnan(row[p]) else row[p] for p in PILLARS])), \
            ticker
        assert row["composite_low"] <= row["composite_high"], ticker
    # a company rated on too little data ranks below every rated one
    rated, unrated = t[t["composite"].notna()], t[t["composite"].isna()]
    if len(unrated):
        assert unrated["rank"].min() > rated["rank"].max()
        assert set(unrated["grade"]) == {"n.a."}


# --------------------------------------------------------------------------- applicability

def test_applicability_is_explicit_and_absent_companies_score_100_on_loop_exposure(headline):
    t = headline.table()
    absent = t[t["loop_exposure_status"] == "no loop exposure on record"]
    assert len(absent) >= 5 and (absent["loop_exposure"] == 100).all()
    for c in LOOP_CHECKS:
        assert (headline.results[c].loc[absent.index, "status"] == "n.a.").all(), c
    # every check result is one of the four words
    for c in CHECKS:
        assert set(headline.results[c.id]["status"]) <= {"pass", "fail", "n.a.", "not on file"}, c.id


def test_coreweave_depends_more_on_the_loop_than_microsoft(headline):
    t = headline.table()
    assert t.at["MSFT", "loop_exposure"] > t.at["CRWV", "loop_exposure"]


def test_not_on_file_and_not_applicable_are_worded_apart():
    no_debt = [r for r in FULL if r[2] not in ("Total Debt", "Current Debt", "Interest Expense")] + [
        ("A", 2024, "Total Debt", 0.0)]
    sc = score(statements_from(no_debt), market(A=1e4), universe("A"), FX)
    nd, ic = sc.results["net_debt_to_ebitda"].loc["A"], sc.results["interest_coverage"].loc["A"]
    assert nd["status"] == "pass" and "No debt" in CHECKS_BY_ID["net_debt_to_ebitda"].explain(nd, "USD")
    assert ic["status"] == "n.a." and "Not applicable" in CHECKS_BY_ID["interest_coverage"].explain(ic, "USD")
    no_re = score(statements_from(FULL), market(A=1e4), universe("A"), FX).results["altman_z"].loc["A"]
    text = CHECKS_BY_ID["altman_z"].explain(no_re, "USD")
    assert "Retained Earnings" in text and "not on file" in text and "reported by the company" not in text


def test_an_input_the_company_does_not_report_is_named_as_such():
    from metrics.scoring import Adjustments

    nr = pd.DataFrame([{"ticker": "A", "field": "Retained Earnings", "from_year": 2020, "to_year": 2030,
                        "reason": "the balance sheet shows no retained-earnings line", "source": "https://example.test"}])
    sc = score(statements_from(FULL), market(A=1e4), universe("A"), FX, adjustments=Adjustments(not_reported=nr))
    text = CHECKS_BY_ID["altman_z"].explain(sc.results["altman_z"].loc["A"], "USD")
    assert "Retained Earnings not reported by the company" in text


# --------------------------------------------------------------------------- period-true loop and stress

def test_counting_low_confidence_amounts_never_raises_a_loop_score(dataset):
    off, on = build_scored(dataset, include_low=False), build_scored(dataset, include_low=True)
    for c in LOOP_CHECKS:
        a, b = off.results[c]["points"].fillna(0.0), on.results[c]["points"].fillna(0.0)
        worse = b > a + 1e-12
        assert not worse.any(), (c, list(b[worse].index))
    assert (on.table()["loop_exposure"] <= off.table()["loop_exposure"].reindex(on.table().index) + 1e-9).all()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_more_exposure_can_only_lower_a_loop_score(dataset, headline, data):
    deals = load_deals()
    tickers = sorted(dataset.universe["ticker"])
    payer = data.draw(st.sampled_from(tickers + ["OpenAI", "Anthropic"]))
    payee = data.draw(st.sampled_from([t for t in tickers if t != payer]))
    flow = data.draw(st.sampled_from(["compute_contract", "chip_supply", "equity_investment"]))
    extra = deals.iloc[[0]].copy()
    extra["deal_id"], extra["payer"], extra["payee"], extra["flow"] = "test_extra", payer, payee, flow
    extra["amount_usd"], extra["term_years"] = data.draw(st.floats(1e8, 1e11)), 4.0
    extra["announced_date"] = pd.Timestamp(data.draw(st.sampled_from(["2023-03-01", "2024-06-01", "2025-02-01"])))
    extra["confidence"] = "high"
    more = build_scored(dataset, deals=pd.concat([deals, extra], ignore_index=True))
    before, after = headline.table()["loop_exposure"], more.table()["loop_exposure"].reindex(headline.table().index)
    assert (after <= before + 1e-9).all(), (payer, payee, flow, list(after[after > before + 1e-9].index))


def test_oracles_fy2025_revenue_holds_when_openai_honours_half(headline):
    res = stress_test(headline, "OpenAI", 0.5).table
    orcl = res.loc["ORCL"]
    # the ~USD 300 bn contract starts after Oracle's fiscal 2025: nothing of it is in that year's revenue
    assert orcl["revenue_after"] == pytest.approx(orcl["revenue_before"])
    assert orcl["reason"] and "scoring fiscal year" in orcl["reason"]
    crwv = res.loc["CRWV"]  # CoreWeave is scored on FY2024; OpenAI's contracts began in 2025
    assert crwv["revenue_after"] == pytest.approx(crwv["revenue_before"])


@pytest.mark.parametrize("counterparty", ["OpenAI", "MSFT", "NVDA"])
def test_the_stress_test_is_monotone_in_the_honoured_share_and_never_silent(headline, counterparty):
    tables = [stress_test(headline, counterparty, h).table for h in (0.0, 0.25, 0.5, 0.75, 1.0)]
    for lo, hi in zip(tables, tables[1:]):
        for col in ("revenue_after", "fcf_after", "composite_after", *[f"{p}_after" for p in PILLARS]):
            a, b = lo[col].astype(float), hi[col].astype(float)
            both = a.notna() & b.notna()
            assert (a[both] <= b[both] + 1e-9).all(), (counterparty, col)
    full = tables[-1]  # honoured in full: nothing lost
    assert (full["revenue_after"].astype(float) - full["revenue_before"].astype(float)).abs().max() < 1e-6
    for t, row in tables[2].iterrows():  # a missing loss always carries its reason
        if pd.isna(row["lost_revenue_usd"]) or not row["quantified"]:
            assert isinstance(row["reason"], str) and row["reason"], (counterparty, t)


def test_vendor_financing_sets_a_years_funding_against_that_years_revenue(headline):
    r = headline.results["vendor_financing"].loc["NVDA"]
    start, end = pd.Timestamp(r["Fiscal year from"]), pd.Timestamp(r["Fiscal year to"])
    deals = load_deals()
    counted_in_year = deals[(deals["payer"] == "NVDA") & deals["announced_date"].between(start, end)]
    later = deals[(deals["payer"] == "NVDA") & (deals["announced_date"] > end)]
    assert len(later) > 0  # NVIDIA's 2025-26 deals exist ...
    if r["status"] in ("pass", "fail"):  # ... but only funding committed inside FY2025 counts against FY2025 revenue
        assert r["Vendor financing (USD)"] <= counted_in_year["amount_usd"].fillna(0).sum() + 1e-6


# --------------------------------------------------------------------------- words

def test_pricing_power_holds_only_with_positive_stressed_cash(headline):
    for cid in ("normalisation_own_floor", "normalisation_segment_median"):
        frame = headline.results[cid]
        for t, r in frame.iterrows():
            text = CHECKS_BY_ID[cid].explain(r, "USD")
            if "pricing power holds" in text:
                assert r["Stressed FCF"] > 0 and r["Stressed operating income"] > 0, (cid, t)


def test_leverage_trend_reads_in_turns_of_ebitda(headline):
    frame = headline.results["leverage_trend"]
    for t, r in frame.iterrows():
        text = CHECKS_BY_ID["leverage_trend"].explain(r, "USD")
        assert " pp" not in text and "%" not in text, t


# --------------------------------------------------------------------------- the trailing basis (metrics side)

def test_the_trailing_basis_scores_single_year_checks_on_ttm_and_keeps_the_annual_history():
    tr = statements_from([("A", 2025, "Total Revenue", 1200), ("A", 2025, "Gross Profit", 700),
                          ("A", 2025, "Operating Income", 350), ("A", 2025, "Operating Cash Flow", 400),
                          ("A", 2025, "Capital Expenditure", -120), ("A", 2025, "Net Income", 280),
                          ("A", 2025, "Total Assets", 2100), ("A", 2025, "Total Debt", 700)])
    tr["period_end"] = "2025-09-30"
    tr["statement"] = np.where(tr["field"].isin(["Total Assets", "Total Debt"]), "quarterly balance", "ttm")
    annual = score(statements_from(FULL), market(A=1e4), universe("A"), FX)
    ttm = score(statements_from(FULL), market(A=1e4), universe("A"), FX, basis="ttm", trailing=tr)
    assert ttm.ctx.companies.at["A", "basis_label"] == "TTM to 2025-09-30 · balance sheet 2025-09-30"
    assert ttm.results["gross_margin"].loc["A", "value"] == pytest.approx(700 / 1200)
    assert ttm.results["fcf_margin"].loc["A", "value"] == pytest.approx(280 / 1200)
    # multi-year checks keep the annual record (FY2023–FY2024), untouched by the TTM row
    assert ttm.results["operating_margin_trend"].loc["A", "value"] == pytest.approx(
        annual.results["operating_margin_trend"].loc["A", "value"])
    # lines the trailing tables do not carry are not on file, never borrowed from the annual year
    assert ttm.results["current_ratio"].loc["A", "status"] == "not on file"
    assert annual.ctx.companies.at["A", "basis_label"] == "FY2024"


def test_depreciation_shown_as_two_lines_is_derived_and_ebitda_ignores_the_server_life():
    from metrics import financials as F
    from metrics.scoring import Adjustments
    from tests.test_assumptions import lives, servers

    rows = [r for r in FULL if r[2] != "Reconciled Depreciation"] + [
        ("A", 2024, "Depreciation", 30), ("A", 2024, "Amortization Of Intangibles", 20)]
    adj = Adjustments(useful_lives=lives(("A", 6, "2020-01-01")), servers=servers(("A", 2024, 600)))
    as_reported = score(statements_from(rows), market(A=1e4), universe("A"), FX, adjustments=adj).ctx.latest.loc["A"]
    at3 = score(statements_from(rows), market(A=1e4), universe("A"), FX, adjustments=adj,
                assumptions=Assumptions(gpu_life=3.0)).ctx.latest.loc["A"]
    assert as_reported[F.DEPRECIATION] == 50 and as_reported[F.DEPRECIATION + F.DERIVED_SUFFIX]
    assert as_reported[F.EBITDA_D] == 250 + 50
    # 600 / 3 − 600 / 6 = 100 more depreciation, 100 less operating income, the same EBITDA
    assert at3[F.DEPRECIATION] == 150 and at3[F.OPERATING_INCOME] == 150 and at3[F.EBITDA_D] == 300


def test_a_check_needing_a_line_the_company_does_not_report_does_not_apply_and_says_why():
    from metrics.scoring import Adjustments, composite_score, pillar_scores

    rows = [r for r in FULL if r[2] != "Gross Profit"]  # no gross profit and no cost of revenue: none derivable
    nr = pd.DataFrame([{"ticker": "A", "field": "Gross Profit", "from_year": 2023, "to_year": 2024,
                        "reason": "its income statement shows no gross-profit line", "source": "https://example.test"}])
    plain = score(statements_from(rows), market(A=1e4), universe("A"), FX)
    known = score(statements_from(rows), market(A=1e4), universe("A"), FX, adjustments=Adjustments(not_reported=nr))
    assert plain.results["gross_margin"].loc["A", "status"] == "not on file"  # merely not compiled: scores 0
    gm = known.results["gross_margin"].loc["A"]
    assert gm["status"] == "n.a." and "not reported by the company" in gm["Not applicable because"]
    card = scorecard(known, "A", with_history=False)
    text = next(c["explanation"] for c in card["pillars"]["pricing_power"]["checks"] if c["id"] == "gross_margin")
    assert text.startswith("Not applicable: Gross Profit not reported by the company")
    # operating-margin checks still apply: the pillar is judged on what the company reports
    p = pillar_scores(known.results, known.ctx.index).loc["A"]
    assert p["pricing_power_applicable"] == 2 and p["pricing_power_status"] == "complete"
    # a pillar where nothing applies is never a pass (n.a., counted at 0 in the composite; loop exposure
    # excepted: no exposure on record scores 100)
    empty = {cid: frame.assign(status="n.a.", points=np.nan) for cid, frame in known.results.items()}
    e = pillar_scores(empty, known.ctx.index)
    assert np.isnan(e.at["A", "balance_sheet"]) and e.at["A", "loop_exposure"] == 100.0
    assert composite_score(e, {p_: 1.0 for p_ in PILLARS}).at["A", "composite_low"] == pytest.approx(25.0)


def test_a_pillar_with_nothing_on_file_is_shown_n_a_never_0_and_counts_0_in_the_composite(headline):
    """Missing is shown as missing: a pillar none of whose applicable checks is on file has no score (n.a. on
    the scorecard, bottom of a sort); the conservative composite still counts it at 0, so it never lifts a
    company."""
    from tests.conftest import run_app

    t = headline.table()
    empty = [(tk, p) for p in PILLARS for tk in t.index
             if t.at[tk, f"{p}_on_file"] == 0 and t.at[tk, f"{p}_applicable"] > 0]
    assert empty  # the embedded set has such pillars (CSCO's free cash flow: no FY2025 capex on file)
    for tk, p in empty:
        assert np.isnan(t.at[tk, p]) and t.at[tk, f"{p}_high"] == 100.0
    ranked = t.sort_values(empty[0][1], ascending=False, na_position="last")
    assert ranked.index[-1] in {tk for tk, p in empty if p == empty[0][1]}
    tk, p = empty[0]
    at = run_app({"ticker": tk})
    at.switch_page("screens/scorecard.py").run()
    shown = {m.label: m.value for m in at.metric}
    assert shown[PILLARS[p]] == "n.a.", (tk, p, shown)


def test_a_weight_change_reuses_the_weight_free_rows_and_ranks_as_a_fresh_computation(headline):
    """The pillar scores and check results do not depend on the weights: the table of a new weighting is built
    on the rows computed once, and equals scoring from scratch with those weights."""
    from metrics.scoring import run_checks, score_table

    w = {"balance_sheet": 3.0, "free_cash_flow": 1.0, "pricing_power": 0.0, "loop_exposure": 2.0}
    headline.table()
    base = headline.ctx.derived["base_rows"]
    again = headline.table(w)
    assert headline.ctx.derived["base_rows"] is base
    fresh = score_table(headline.ctx, run_checks(headline.ctx), w)
    cols = [c for c in fresh.columns if c != "on_cycle"]  # the table turns the cycle count into a flag
    pd.testing.assert_frame_equal(again[cols], fresh[cols])
    assert list(again.columns[:len(cols)]) == [c for c in fresh.columns if c in again.columns][:len(cols)]
