"""Identity and plausibility rules over reported figures, cross-checks, and the merge of the two inputs."""

from __future__ import annotations

import pandas as pd

from data.build_embedded import merge_statements
from data.identities import crosscheck_report, explained, identity_violations
from tests.conftest import statements_from


def rules(rows, crosscheck=None):
    return {(v.rule, v.ticker, v.fiscal_year) for v in identity_violations(statements_from(rows), crosscheck)}


def test_consistent_statements_break_no_rule():
    rows = [("A", 2024, "Total Revenue", 1000), ("A", 2024, "Cost Of Revenue", 400), ("A", 2024, "Gross Profit", 600),
            ("A", 2024, "Current Assets", 300), ("A", 2024, "Total Assets", 900),
            ("A", 2024, "Total Liabilities Net Minority Interest", 500),
            ("A", 2024, "Total Equity Gross Minority Interest", 400), ("A", 2024, "Current Liabilities", 200),
            ("A", 2024, "Current Debt", 50), ("A", 2024, "Long Term Debt", 150), ("A", 2024, "Total Debt", 200),
            ("A", 2024, "Capital Expenditure", -80)]
    assert rules(rows) == set()


def test_gross_profit_above_revenue_and_a_broken_gross_profit_identity_are_found():
    found = rules([("A", 2024, "Total Revenue", 1000), ("A", 2024, "Cost Of Revenue", 400),
                   ("A", 2024, "Gross Profit", 1100)])
    assert ("gross_profit_le_revenue", "A", 2024) in found and ("gross_profit_identity", "A", 2024) in found


def test_parts_above_totals_are_found():
    found = rules([("A", 2024, "Current Assets", 950), ("A", 2024, "Total Assets", 900),
                   ("A", 2024, "Cash And Cash Equivalents", 80),
                   ("A", 2024, "Cash Cash Equivalents And Short Term Investments", 60),
                   ("A", 2024, "Long Term Debt", 300), ("A", 2024, "Total Debt", 200)])
    assert {"current_assets_le_total_assets", "cash_parts_le_total", "debt_parts_le_total"} <= {r for r, _, _ in found}


def test_total_debt_must_equal_its_parts_within_one_percent():
    ok = rules([("A", 2024, "Current Debt", 50), ("A", 2024, "Long Term Debt", 150), ("A", 2024, "Total Debt", 201)])
    bad = rules([("A", 2024, "Current Debt", 50), ("A", 2024, "Long Term Debt", 150), ("A", 2024, "Total Debt", 260)])
    assert ("debt_parts_sum", "A", 2024) not in ok and ("debt_parts_sum", "A", 2024) in bad


def test_balance_identity():
    bad = rules([("A", 2024, "Total Assets", 900), ("A", 2024, "Total Liabilities Net Minority Interest", 500),
                 ("A", 2024, "Total Equity Gross Minority Interest", 300)])
    assert ("balance_identity", "A", 2024) in bad


def test_wrong_signs_are_found():
    found = rules([("A", 2024, "Capital Expenditure", 80), ("A", 2024, "Interest Expense", -5),
                   ("A", 2024, "Cash Dividends Paid", -1)])
    assert {(r, y) for r, _, y in found} == {("sign", 2024)}
    assert len([v for v in identity_violations(statements_from([("A", 2024, "Capital Expenditure", 80),
                                                               ("A", 2024, "Interest Expense", -5)]))]) == 2


def test_a_value_a_thousand_times_off_its_other_years_is_a_units_violation():
    rows = [("A", 2022, "Operating Cash Flow", 2.1e9), ("A", 2023, "Operating Cash Flow", 2.4e9),
            ("A", 2024, "Operating Cash Flow", 2.6e6)]
    assert ("units", "A", 2024) in rules(rows)
    rows[2] = ("A", 2024, "Operating Cash Flow", 0.9e9)  # a bad year, not a units slip
    assert not any(r == "units" for r, _, _ in rules(rows))


def test_period_ends_must_be_one_per_year_in_the_labelled_year_and_a_year_apart():
    s = statements_from([("A", 2023, "Total Revenue", 1), ("A", 2024, "Total Revenue", 1), ("A", 2024, "Total Assets", 1)])
    s.loc[2, "period_end"] = "2024-06-30"  # a second period end for FY2024
    found = {(v.rule, v.fiscal_year) for v in identity_violations(s)}
    assert ("period_end", 2024) in found
    s = statements_from([("A", 2023, "Total Revenue", 1), ("A", 2024, "Total Revenue", 1)])
    s.loc[1, "period_end"] = "2025-01-31"  # labelled FY2024 but ends in 2025
    assert ("period_end", 2024) in {(v.rule, v.fiscal_year) for v in identity_violations(s)}
    s = statements_from([("A", 2023, "Total Revenue", 1), ("A", 2024, "Total Revenue", 1)])
    s.loc[0, "period_end"] = "2023-06-30"  # 18 months between year ends
    assert ("period_end", 2024) in {(v.rule, v.fiscal_year) for v in identity_violations(s)}


def test_fcf_of_a_second_page_against_ocf_plus_capex_and_each_violation_names_both_sources():
    s = statements_from([("A", 2024, "Operating Cash Flow", 300), ("A", 2024, "Capital Expenditure", -100)])
    xc = pd.DataFrame([{"ticker": "A", "fiscal_year": 2024, "field": "Free Cash Flow", "value": 250.0,
                        "source": "https://second.example/fcf", "note": None}])
    v = [x for x in identity_violations(s, xc) if x.rule == "fcf_identity"]
    assert len(v) == 1 and "https://second.example/fcf" in v[0].sources and "https://example.test/filing" in v[0].sources
    xc.loc[0, "value"] = 201.0
    assert not [x for x in identity_violations(s, xc) if x.rule == "fcf_identity"]


def test_explanations_match_by_rule_ticker_and_year_or_all_years():
    s = statements_from([("A", 2024, "Capital Expenditure", 80), ("B", 2024, "Capital Expenditure", 80)])
    ex = pd.DataFrame([{"rule": "sign", "ticker": "A", "fiscal_year": None, "explanation": "reported as a positive figure"}])
    pairs = {v.ticker: why for v, why in explained(identity_violations(s), ex)}
    assert pairs == {"A": "reported as a positive figure", "B": None}


def test_crosscheck_report_counts_second_pages_and_records_disagreements_over_one_percent():
    s = statements_from([("A", 2024, "Total Revenue", 1000), ("A", 2024, "Operating Cash Flow", 300),
                         ("A", 2024, "Capital Expenditure", -100), ("A", 2023, "Total Revenue", 900)])
    xc = pd.DataFrame([
        {"ticker": "A", "fiscal_year": 2024, "field": "Total Revenue", "value": 1005.0, "source": "https://b", "note": None},
        {"ticker": "A", "fiscal_year": 2024, "field": "Operating Cash Flow", "value": 320.0, "source": "https://c", "note": "restated"},
        {"ticker": "A", "fiscal_year": 2024, "field": "Capital Expenditure", "value": -100.0, "source": "https://c", "note": None},
        # the same page the figure was compiled from is not a second page
        {"ticker": "A", "fiscal_year": 2023, "field": "Total Revenue", "value": 900.0,
         "source": "https://example.test/filing", "note": None},
    ])
    years = pd.DataFrame({"ticker": ["A", "A"], "fiscal_year": [2023, 2024]})
    rep = crosscheck_report(s, xc, years)
    assert rep["revenue_cross_checked"] == 1 and rep["fcf_cross_checked"] == 1
    assert {"ticker": "A", "fiscal_year": 2023, "figure": "revenue"} in rep["not_cross_checked"]
    (d,) = rep["disagreements_over_1pct"]
    assert d["figure"].startswith("Free cash flow") and d["compiled"] == 200 and d["second_page"] == 220
    assert d["difference"] == 0.1 and d["note"] == "restated" and d["second_source"] == "https://c"


def _rows(source, *rows):
    return pd.DataFrame([{"ticker": t, "fiscal_year": y, "period_end": f"{y}-12-31", "currency": "USD", "field": f,
                          "value": v, "source": source, "note": None} for t, y, f, v in rows])


def test_merge_prefers_the_projects_figure_and_keeps_the_displaced_one_as_a_cross_check():
    own = _rows("https://own", ("A", 2024, "Total Revenue", 100))
    shared = _rows("https://shared", ("A", 2024, "Total Revenue", 101), ("A", 2024, "Net Income", 9),
                   ("A", 2024, "Free Cash Flow", 20))
    stmt, xc = merge_statements(own, shared)
    assert set(zip(stmt["field"], stmt["source"])) == {("Total Revenue", "https://own"), ("Net Income", "https://shared")}
    assert set(xc["field"]) == {"Total Revenue", "Free Cash Flow"}  # displaced and not-reported lines
    assert xc["note"].str.startswith("shared reference").all()


def test_merge_lets_the_projects_parts_displace_a_shared_total_and_applies_rejections_to_both_sources():
    own = _rows("https://own", ("A", 2024, "Commercial Paper", 30), ("A", 2024, "Other Current Borrowings", 10),
                ("B", 2024, "Operating Cash Flow", 9))
    shared = _rows("https://shared", ("A", 2024, "Current Debt", 10), ("A", 2023, "Current Debt", 12),
                   ("B", 2024, "Total Assets", 5))
    rejected = pd.DataFrame([{"ticker": "B", "fiscal_year": 2024, "field": "Operating Cash Flow", "reason": "units slip"},
                             {"ticker": "B", "fiscal_year": 2024, "field": "Total Assets", "reason": "wrong company"}])
    stmt, xc = merge_statements(own, shared, rejected)
    kept = set(zip(stmt["ticker"], stmt["fiscal_year"], stmt["field"]))
    assert ("A", 2024, "Current Debt") not in kept and ("A", 2023, "Current Debt") in kept
    assert not {("B", 2024, "Operating Cash Flow"), ("B", 2024, "Total Assets")} & kept
    notes = dict(zip(zip(xc["ticker"], xc["field"]), xc["note"]))
    assert notes[("B", "Operating Cash Flow")] == "REJECTED: units slip"
    assert notes[("B", "Total Assets")].startswith("REJECTED: wrong company")
    assert len(stmt) + len(xc) == len(own) + len(shared)  # nothing dropped


# ------------------------------------------------------------------ pass 3: D&A parts, rounded values, source kinds

def test_the_projects_depreciation_lines_displace_a_shared_da_total_of_the_same_year_only():
    own = _rows("https://own", ("A", 2024, "Depreciation", 30), ("A", 2024, "Amortization Of Intangibles", 20))
    shared = _rows("https://shared", ("A", 2024, "Reconciled Depreciation", 45),
                   ("A", 2023, "Reconciled Depreciation", 40))
    stmt, xc = merge_statements(own, shared)
    kept = set(zip(stmt["fiscal_year"], stmt["field"]))
    assert (2024, "Reconciled Depreciation") not in kept and (2023, "Reconciled Depreciation") in kept
    assert {(2024, "Depreciation"), (2024, "Amortization Of Intangibles")} <= kept
    assert list(xc["field"]) == ["Reconciled Depreciation"] and xc["note"].str.startswith("shared reference").all()


def test_rounding_step_reads_the_trailing_zeros():
    from data.identities import rounding_step

    assert rounding_step(17_200_000_000) == 1e8 and rounding_step(-2_950_000_000) == 1e7
    assert rounding_step(44_062_000_000) == 1e6 and rounding_step(601_900_000) == 1e5
    assert rounding_step(7_571_600_001) == 1.0 and pd.isna(rounding_step(0))


def test_rounded_values_list_headlines_and_rounded_notes_but_not_chance_multiples_of_10m():
    from data.identities import rounded_values

    s = statements_from([("A", 2024, "Total Revenue", 17.2e9),          # a 0.1 bn headline, whatever the note
                         ("A", 2024, "Net Income", 2.95e9),              # 10 m, and the note says rounded
                         ("A", 2024, "Total Assets", 44.06e9),           # 10 m by chance: no note, not listed
                         ("A", 2024, "Current Assets", 601.9e6),         # below a billion, the note says rounded
                         ("A", 2024, "Current Liabilities", 603.4e6),    # the same step, no such note
                         ("A", 2024, "Operating Cash Flow", 5.52e9)])    # 10 m and "as shown"
    s["note"] = [None, "shown as 2.95B (rounded to 0.01B)", None, "devyara, rounded to USD 0.1 m", "devyara",
                 "XBRL values as shown by portfoliosavvy"]
    got = {r.field: (r.rule, r.step) for r in rounded_values(s).itertuples()}
    assert got == {"Total Revenue": ("0.1 bn headline", 1e8),
                   "Net Income": ("10 m, note says rounded / as shown", 1e7),
                   "Current Assets": ("note says rounded", 1e5),
                   "Operating Cash Flow": ("10 m, note says rounded / as shown", 1e7)}
    assert rounded_values(s.drop(columns="note")).set_index("field").index.tolist() == ["Total Revenue"]


def test_source_kind_classifies_filings_releases_aggregators_and_news():
    from data.identities import source_kind

    filing = ["https://www.sec.gov/Archives/edgar/data/1341439/000095017023028914/R8.htm",
              "https://sec.gov/Archives/edgar/data/1045810/000104581024000124/0001045810-24-000124.txt",
              "http://archive.fast-edgar.com/20250730/A52QN223Z222H252222A2M42MTPRZK22B272/R16.htm",
              "https://samay58.github.io/edgarpack/0000789019/0000950170-25-100235/sections/x.md",
              "https://beatandraise.com/api/document/0000858877/0000858877-25-000111/R41.htm",  # accession in the path
              "https://d18rn0p25nwr6d.cloudfront.net/CIK-0001807794/72851939.html",
              "https://www.prnewswire.com/news-releases/meta-reports-fourth-quarter-and-full-year-2025-results.html",
              "https://www.globenewswire.com/news-release/2026/02/26/3246096/0/en/Talen.html",
              "https://ir.amd.com/news-events/press-releases/detail/1260/amd-and-openai",
              "https://newsroom.cisco.com/c/r/newsroom/en/us/a/y2026/m02/cisco-reports.html",
              "https://nvidianews.nvidia.com/news/nvidia-announces-financial-results"]
    aggregator = ["https://stockanalysis.com/stocks/orcl/financials/cash-flow-statement",
                  "https://www.stock-analysis-on.net/NYSE/Company/Oracle-Corp/Financial-Statement/Income-Statement",
                  "https://ic-staging.stockanalysis.com/quote/fra/O9T/financials", "https://www.macrotrends.net/x",
                  "https://www.marketbeat.com/stocks/NYSE/VST/financials", "https://roic.ai/quote/CEG/financials",
                  "https://m.gurufocus.com/term/debt-to-asset/TLN", "https://vcpscanner.com/stock/ceg/cash-flow",
                  # a summary site is an aggregator even with an accession number in its path
                  "https://www.filingradar.com/company/CSCO/filings/0000858877-25-000111"]
    news = ["https://focustaiwan.tw/business/202601150011", "https://www.nasdaq.com/articles/constellation-energy-q4",
            "https://giscafe.com/nbc/articles/view_article.php?articleid=2093975", "not a url", ""]
    assert {u: source_kind(u) for u in filing} == {u: "filing or release" for u in filing}
    assert {u: source_kind(u) for u in aggregator} == {u: "aggregator" for u in aggregator}
    assert {u: source_kind(u) for u in news} == {u: "news" for u in news}


def test_source_kind_shares_count_every_row_once():
    from data.identities import SOURCE_KINDS, source_kind_shares

    s = statements_from([("A", 2024, "Total Revenue", 1), ("A", 2024, "Net Income", 1), ("A", 2024, "Total Assets", 1),
                         ("A", 2024, "Operating Cash Flow", 1)])
    s["source"] = ["https://www.sec.gov/x/R4.htm", "https://stockanalysis.com/x", "https://stockanalysis.com/y",
                   "https://example.news/story"]
    out = source_kind_shares(s)
    assert out["values"] == 4 and set(out["by_kind"]) == set(SOURCE_KINDS)
    assert {k: v["values"] for k, v in out["by_kind"].items()} == {"filing or release": 1, "aggregator": 2, "news": 1}
    assert out["by_kind"]["aggregator"]["share"] == 0.5
