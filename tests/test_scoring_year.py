"""Totals derived from reported parts, the scoring year, and input coverage (methodology: 'Scoring year
and derived figures')."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from metrics import financials as F
from metrics.checks import CHECKS_BY_ID
from metrics.engine import score, scorecard
from tests.conftest import statements_from
from tests.test_metrics_checks import FX, FULL, ctx_for, market, universe


def panel_of(rows):
    return F.build_panel(statements_from(rows))


def test_gross_profit_is_revenue_minus_cost_of_revenue_when_not_reported():
    p = panel_of([("A", 2024, "Total Revenue", 1000), ("A", 2024, "Cost Of Revenue", 380)])
    assert p.loc[("A", 2024), F.GROSS_PROFIT] == 620
    assert bool(p.loc[("A", 2024), F.GROSS_PROFIT + F.DERIVED_SUFFIX])


def test_a_reported_total_is_never_replaced_by_its_parts():
    p = panel_of([("A", 2024, "Total Debt", 900), ("A", 2024, "Current Debt", 100), ("A", 2024, "Long Term Debt", 700)])
    assert p.loc[("A", 2024), F.TOTAL_DEBT] == 900
    assert not bool(p.loc[("A", 2024), F.TOTAL_DEBT + F.DERIVED_SUFFIX])


def test_total_debt_from_current_and_long_term_debt_and_current_debt_from_its_two_lines():
    p = panel_of([("A", 2024, "Commercial Paper", 50), ("A", 2024, "Other Current Borrowings", 25),
                  ("A", 2024, "Long Term Debt", 700)])
    row = p.loc[("A", 2024)]
    assert row[F.CURRENT_DEBT] == 75 and row[F.TOTAL_DEBT] == 775
    assert bool(row[F.CURRENT_DEBT + F.DERIVED_SUFFIX]) and bool(row[F.TOTAL_DEBT + F.DERIVED_SUFFIX])


def test_a_missing_required_part_leaves_the_total_missing():
    p = panel_of([("A", 2024, "Long Term Debt", 700), ("A", 2024, "Total Assets", 2000)])
    assert math.isnan(p.loc[("A", 2024), F.TOTAL_DEBT])  # current debt unknown: no guess
    assert math.isnan(p.loc[("A", 2024), F.TOTAL_LIABILITIES])  # total equity unknown


def test_missing_short_term_investments_count_as_none_which_can_only_worsen_net_debt():
    only_cash = panel_of([("A", 2024, "Cash And Cash Equivalents", 300)])
    with_sti = panel_of([("A", 2024, "Cash And Cash Equivalents", 300), ("A", 2024, "Other Short Term Investments", 200)])
    assert only_cash.loc[("A", 2024), F.CASH] == 300
    assert with_sti.loc[("A", 2024), F.CASH] == 500
    # no cash line at all: nothing to derive from
    assert math.isnan(panel_of([("A", 2024, "Other Short Term Investments", 200)]).loc[("A", 2024), F.CASH])


def test_total_liabilities_from_total_assets_minus_total_equity():
    p = panel_of([("A", 2024, "Total Assets", 2000), ("A", 2024, "Total Equity Gross Minority Interest", 1200)])
    assert p.loc[("A", 2024), F.TOTAL_LIABILITIES] == 800


def test_derived_cells_list_each_derived_figure_with_its_formula():
    cells = F.derived_cells(panel_of([("A", 2024, "Total Revenue", 10), ("A", 2024, "Cost Of Revenue", 4)]))
    row = cells[cells["field"] == F.GROSS_PROFIT].iloc[0]
    assert row["value"] == 6 and row["formula"] == "Total Revenue − Cost Of Revenue"


# --------------------------------------------------------------------------- scoring year

COMPLETE_2024 = [("A", 2024, "Total Revenue", 100), ("A", 2024, "Operating Cash Flow", 30), ("A", 2024, "Total Assets", 500)]


def test_a_partial_newer_year_is_not_scored():
    rows = COMPLETE_2024 + [("A", 2025, "Total Revenue", 130), ("A", 2025, "Net Income", 20)]
    sr = F.scoring_rows(panel_of(rows))
    assert sr.loc["A", "fiscal_year"] == 2024 and sr.loc["A", "latest_fiscal_year"] == 2025
    assert bool(sr.loc["A", "complete"])
    note = F.scoring_note(panel_of(rows), "A", 2024)
    assert note.startswith("FY2025 partial (") and "scored on FY2024" in note
    assert "Total Revenue" in note and "Net Income" in note and "cash-flow statement" in note


def test_the_newest_complete_year_is_scored_without_a_note():
    rows = COMPLETE_2024 + [("A", 2023, "Total Revenue", 90)]
    sr = F.scoring_rows(panel_of(rows))
    assert sr.loc["A", "fiscal_year"] == 2024
    assert F.scoring_note(panel_of(rows), "A", 2024) == ""


def test_without_any_complete_year_the_latest_year_is_scored_and_flagged():
    rows = [("A", 2023, "Total Revenue", 90), ("A", 2024, "Total Revenue", 100), ("A", 2024, "Total Assets", 400)]
    sr = F.scoring_rows(panel_of(rows))
    assert sr.loc["A", "fiscal_year"] == 2024 and not bool(sr.loc["A", "complete"])
    assert "cash-flow statement missing" in F.scoring_note(panel_of(rows), "A", 2024)


def test_scoring_rows_pick_each_company_independently():
    rows = COMPLETE_2024 + [("A", 2025, "Total Debt", 5)] + [
        ("B", 2025, "Net Income", 1), ("B", 2025, "Operating Cash Flow", 2), ("B", 2025, "Total Assets", 3),
        ("B", 2024, "Net Income", 1)]
    sr = F.scoring_rows(panel_of(rows))
    assert sr.loc["A", "fiscal_year"] == 2024 and sr.loc["B", "fiscal_year"] == 2025


def test_checks_read_the_scoring_year_and_ignore_a_later_partial_year():
    """A partial FY2025 with only a debt line neither blanks the company nor enters its multi-year checks."""
    partial = FULL + [("A", 2025, "Total Debt", 99999)]
    ctx = ctx_for(partial)
    assert ctx.companies.loc["A", "fiscal_year"] == 2024 and ctx.companies.loc["A", "latest_fiscal_year"] == 2025
    full_ctx = ctx_for(FULL)
    for cid in ("net_debt_to_ebitda", "fcf_consistency", "leverage_trend", "gross_margin_stability"):
        a = CHECKS_BY_ID[cid].compute(ctx).loc["A"]
        b = CHECKS_BY_ID[cid].compute(full_ctx).loc["A"]
        assert (a["value"] == b["value"]) or (pd.isna(a["value"]) and pd.isna(b["value"])), cid
        assert (a["points"] == b["points"]) or (pd.isna(a["points"]) and pd.isna(b["points"])), cid


def test_input_coverage_counts_reported_and_derived_inputs_of_the_scoring_year():
    sr = F.scoring_rows(panel_of(COMPLETE_2024))
    assert F.input_coverage(sr).loc["A"] == pytest.approx(3 / len(F.SCORING_INPUTS))
    rows = COMPLETE_2024 + [("A", 2024, "Cost Of Revenue", 60)]  # adds a derived gross profit
    sr = F.scoring_rows(panel_of(rows))
    assert F.input_coverage(sr).loc["A"] == pytest.approx(4 / len(F.SCORING_INPUTS))


def test_card_names_the_scoring_year_its_reason_and_the_derived_inputs():
    rows = [r for r in FULL if r[2] != "Total Debt"] + [
        ("A", 2024, "Current Debt", 45), ("A", 2024, "Long Term Debt", 705),
        ("A", 2023, "Current Debt", 50), ("A", 2023, "Long Term Debt", 450),
        ("A", 2025, "Total Revenue", 1200)]
    sc = score(statements_from(rows), market(A=1e4), universe("A"), FX)
    card = scorecard(sc, "A")
    assert card["fiscal_year"] == 2024
    assert card["scoring_note"].startswith("FY2025 partial (Total Revenue only;")
    nd = next(c for c in card["pillars"]["balance_sheet"]["checks"] if c["id"] == "net_debt_to_ebitda")
    assert nd["inputs"]["Total Debt"] == 750
    assert nd["derived_inputs"]["Total Debt"] == "derived: Current Debt + Long Term Debt"
    assert {"field": "Total Debt", "fiscal_year": 2024, "value": 750.0,
            "source": "derived: Current Debt + Long Term Debt"} in card["derived"]
    table = sc.table()
    assert "Total Debt = Current Debt + Long Term Debt" in table.loc["A", "derived_inputs"]
