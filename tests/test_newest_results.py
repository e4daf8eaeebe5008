"""The newest fiscal year due (issue 16 point 3): which year's results should be public by a date, and every card
and screener row says when that year is neither complete on file nor covered by a results release."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from metrics.financials import RESULTS_DUE_DAYS, newest_due_year


@pytest.mark.parametrize("fy, end, as_of, due", [
    (2025, "2025-06-30", "2026-12-01", (2026, "2026-06-30")),   # June year end: FY2026 results out in July 2026
    (2025, "2025-11-02", "2026-12-01", (2025, "2025-11-02")),   # November year end: FY2026 not due until January
    (2025, "2025-09-28", "2026-11-26", (2025, "2025-09-28")),   # 59 days after the year end: not due yet
    (2025, "2025-09-28", "2026-11-27", (2026, "2026-09-28")),   # 60 days: due
    (2023, "2023-04-30", "2026-12-01", (2026, "2026-04-30")),   # several years behind: rolls forward each year
    (2026, "2026-01-25", "2026-12-01", (2026, "2026-01-25")),   # newest year on file is the newest due
])
def test_the_newest_due_year_rolls_forward_while_its_results_are_due(fy, end, as_of, due):
    assert RESULTS_DUE_DAYS == 60
    assert newest_due_year(fy, end, as_of) == due


@pytest.mark.parametrize("fy, end", [(None, "2025-12-31"), (2025, None), (2025, "not a date")])
def test_an_unknown_year_or_period_end_gives_no_due_year(fy, end):
    assert newest_due_year(fy, end, "2026-12-01") == (None, None)


@pytest.fixture(scope="module")
def scored():
    from data.loader import load_dataset
    from screens.model import build_scored

    ds = load_dataset(use_cache=False)
    return ds, build_scored(ds)


def test_every_company_has_a_due_year_no_older_than_its_newest_year_on_file(scored):
    ds, sc = scored
    table = sc.table()
    on_file = ds.statements.groupby("ticker")["fiscal_year"].max()
    due = table["newest_due_year"].astype(float)
    assert due.notna().all()
    assert (due >= on_file.reindex(table.index).astype(float)).all()
    assert (due >= table["fiscal_year"].astype(float)).all()


def test_a_due_year_without_statements_or_release_is_named_on_the_screener_and_the_card(scored):
    from metrics.engine import history
    from screens.charts import scorecard_figure
    from screens.export import card_and_figure, newest_results_text, results_of

    ds, sc = scored
    table = sc.table().copy()
    fy = int(table.at["MSFT", "fiscal_year"])
    table.loc["MSFT", ["newest_due_year", "newest_due_period_end"]] = [fy + 1, f"{fy + 1}-06-30"]
    text = newest_results_text(table, results_of(ds), sc.ctx.panel)
    msft_has_release = (results_of(ds)["ticker"] == "MSFT").any()
    if not msft_has_release:
        assert text["MSFT"] == f"FY{fy + 1} results (year to {fy + 1}-06-30) not on file"
    else:
        assert f"FY{fy + 1}" in text["MSFT"]
    # a company whose due year is its scored year shows nothing about a gap
    same = table.index[(table["newest_due_year"].astype(float) == table["fiscal_year"].astype(float))]
    assert not any("not on file" in text[t] for t in same)
    card, _ = card_and_figure(sc, "MSFT", dataset=ds)
    gap = {**card, "newest_due_year": fy + 1, "newest_due_period_end": f"{fy + 1}-06-30", "scoring_note": ""}
    texts = [a.text for a in scorecard_figure(gap, history(sc, "MSFT"), None).layout.annotations]
    if not msft_has_release:
        assert f"FY{fy + 1} results (year to {fy + 1}-06-30) not on file" in texts
    none = {**card, "newest_due_year": fy, "scoring_note": ""}
    texts = [a.text for a in scorecard_figure(none, history(sc, "MSFT"), None).layout.annotations]
    assert not any("results (year to" in t for t in texts)


def test_a_release_older_than_the_due_year_says_the_due_year_is_missing(scored):
    from screens.export import newest_results_text

    ds, sc = scored
    table = sc.table().copy()
    fy = int(table.at["NVDA", "fiscal_year"])
    results = pd.DataFrame([{"ticker": "NVDA", "fiscal_year": fy, "period_end": "x", "currency": "USD",
                             "field": "Total Revenue", "value": 1e11, "precision": 1e8, "stated": "$100.0 billion",
                             "released": "2025-02-26", "source": "https://example.test", "note": "", "kind": "release"}])
    table.loc["NVDA", "newest_due_year"] = fy + 2
    line = newest_results_text(table, results, sc.ctx.panel)["NVDA"]
    assert line.startswith(f"FY{fy} results (release, rounded): revenue USD 100.0 bn")
    assert line.endswith(f" · FY{fy + 2} not on file")


def test_capex_growth_is_the_growth_of_the_amount_spent():
    from screens.charts import newest_results

    results = pd.DataFrame([{"ticker": "X", "fiscal_year": 2025, "period_end": "2025-12-31", "currency": "USD",
                             "field": "Capital Expenditure", "value": -12e9, "precision": 1e8, "stated": "$12.0 billion",
                             "released": "2026-01-30", "source": "https://example.test", "note": "", "kind": "release"},
                            {"ticker": "X", "fiscal_year": 2025, "period_end": "2025-12-31", "currency": "USD",
                             "field": "Net Income", "value": -2e9, "precision": 1e8, "stated": "$(2.0) billion",
                             "released": "2026-01-30", "source": "https://example.test", "note": "", "kind": "release"}])
    res = newest_results(results, "X", 2024, "USD", {2024: {"Capital Expenditure": -8e9, "Net Income": 1e9}})
    rows = {r["field"]: r for r in res["rows"]}
    assert rows["Capital Expenditure"]["growth"] == "+50.0 %"  # spent 12 bn after 8 bn
    assert rows["Net Income"]["growth"] == "−300.0 %"  # from a 1 bn profit to a 2 bn loss


@pytest.mark.usefixtures("clear_streamlit_caches")
def test_the_scorecard_names_a_due_year_that_is_not_on_file(scored):
    from tests.conftest import run_app

    _, sc = scored
    table = sc.table()
    gap = table.index[table["newest_due_year"].astype(float) > table["fiscal_year"].astype(float)]
    if not len(gap):
        pytest.skip("every company's newest year due is on file")
    ticker = "MSFT" if "MSFT" in gap else gap[0]
    at = run_app({"ticker": ticker})
    at.switch_page("screens/scorecard.py").run()
    assert not at.exception
    due = int(table.at[ticker, "newest_due_year"])
    texts = [i.value for i in at.info] + [c.value for c in at.caption]
    assert any(f"FY{due} (year to" in t and "is due by now" in t for t in texts), texts
    full = table.index[table["newest_due_year"].astype(float) == table["fiscal_year"].astype(float)][0]
    at = run_app({"ticker": full})
    at.switch_page("screens/scorecard.py").run()
    assert not any("is due by now" in t for t in [i.value for i in at.info] + [c.value for c in at.caption])


def test_the_screener_computes_the_newest_results_text_once_per_scored_set(monkeypatch):
    """A weight change or a filter reruns the screener; its newest-results column is the same text as for the
    whole table, taken from one computation per scored set (not per rerun)."""
    import screens.screener as screener
    from data.loader import load_dataset
    from screens.export import newest_results_text
    from screens.model import build_scored

    ds = load_dataset()
    sc = build_scored(ds)
    table = sc.table()
    expected = newest_results_text(table, ds.results, sc.ctx.panel)
    calls = []
    real = screener.newest_results_text
    monkeypatch.setattr(screener, "newest_results_text", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = screener.newest_results_of(sc, ds.results)
    again = screener.newest_results_of(sc, ds.results)
    assert len(calls) == 1 and again is first
    assert first.reindex(table.index).equals(expected)
    subset = table.head(5)
    view, _ = screener.ranked_view(subset, sc.ctx.panel, ds.results, newest=first)
    assert view["newest_results"].tolist() == expected.reindex(subset.index).replace("", "–").tolist()
    screener.newest_results_of(build_scored(ds), ds.results)  # another scored set: computed for it
    assert len(calls) == 2


def test_the_results_title_names_the_kind_of_page_and_says_release_only_for_a_release(scored):
    """Most headline figures on file come from aggregators and news reports: the title must not call them a
    release. Checked on every company of the embedded set against the kinds of the rows it shows."""
    from screens.charts import newest_results

    ds, sc = scored
    words = {"company release": "release", "SEC filing": "filing", "news": "news", "aggregator": "aggregator"}
    table, seen = sc.table(), set()
    for ticker in sorted(set(ds.results["ticker"]) & set(table.index)):
        res = newest_results(ds.results, ticker, int(table.at[ticker, "fiscal_year"]), "USD")
        if not res:
            continue
        kinds = {r["kind"] for r in res["rows"]}
        named = re.fullmatch(r"FY\d{4} results \((.+), rounded\)", res["title"]).group(1)
        assert set(re.split(r", | and ", named)) == {words[k] for k in kinds}, (ticker, res["title"], kinds)
        assert ("release" in named) == ("company release" in kinds), (ticker, res["title"])
        seen |= kinds
    assert {"aggregator", "company release"} <= seen  # both cases occur in the embedded set


@pytest.mark.parametrize("kinds, title", [
    (["company release"], "release"),
    (["aggregator", "company release", "aggregator"], "release and aggregator"),
    (["news", "SEC filing", "aggregator"], "filing, news and aggregator"),
    ([""], "source not stated"),
])
def test_page_kinds_in_a_fixed_order(kinds, title):
    from screens.charts import page_kinds

    assert page_kinds(kinds) == title


def test_validate_reports_how_each_card_shows_its_newest_year_due():
    """Issue 16's done-when, per company: the newest year due is complete on file, or its headline results are on
    file, or it is named as not on file; the done-when check holds only when no company is in the last group."""
    from data.__main__ import newest_year_shown

    statements = pd.DataFrame({"ticker": ["A", "B", "C", "D"], "fiscal_year": [2026, 2025, 2025, 2025],
                               "period_end": ["2026-06-30", "2025-06-30", "2025-06-30", "2025-12-31"]})
    scoring = pd.DataFrame({"fiscal_year": [2026, 2025, 2025, 2025], "complete": [True, True, True, False]},
                           index=pd.Index(["A", "B", "C", "D"], name="ticker"))
    results = pd.DataFrame({"ticker": ["B", "D"], "fiscal_year": [2026, 2025]})
    got = newest_year_shown(statements, scoring, results, ["A", "B", "C", "D"], as_of="2026-12-01")
    shown = {t: r["shown"] for t, r in got["per_company"].items()}
    # A: FY2026 scored and complete; B: FY2026 due, its results on file; C: FY2026 due, nothing on file;
    # D: FY2025 is the newest due (FY2026 not until 2027) but only partly on file, with its results shown
    assert shown == {"A": "complete", "B": "headline results", "C": "not on file", "D": "headline results"}
    assert got["not_on_file"] == ["C FY2026"] and (got["complete"], got["headline_results"]) == (1, 2)
    assert got["per_company"]["C"]["period_end"] == "2026-06-30"


def test_the_validate_report_carries_the_newest_year_check():
    from data.__main__ import validation_report

    rep = validation_report()
    ny = rep["newest_year_shown"]
    assert ny["complete"] + ny["headline_results"] + len(ny["not_on_file"]) == rep["companies"]
    assert rep["done_when"]["newest_year_complete_or_headline_results_for_all"] is (not ny["not_on_file"])
    shown = ny["per_company"]
    # NVDA's FY2026 (year to January 2026) has headline results on file, Microsoft's FY2026 (June 2026) nothing yet
    assert shown["NVDA"]["newest_due_year"] == 2026 and shown["NVDA"]["shown"] != "not on file"


@pytest.mark.parametrize("due,scored,complete,results,status", [
    (2026, 2025, True, None, "not on file"),        # a year due that is on file neither way
    (2026, 2025, True, 2026, "headline results"),   # shown as its release's headline figures, never scored
    (2026, 2025, True, 2025, "not on file"),        # an older release does not stand for the year due
    (2025, 2025, True, None, "complete"),           # the scored year is the year due
    (2025, 2025, False, None, "not on file"),       # scored on an incomplete year: not the complete year asked for
    (2025, 2025, False, 2025, "headline results"),
    (None, 2025, True, 2025, "not on file"),        # no year end known: nothing can be said to be on file
])
def test_one_rule_says_how_the_newest_year_due_is_on_file(due, scored, complete, results, status):
    from metrics.financials import newest_year_on_file

    assert newest_year_on_file(due, scored, complete, results) == status


def test_the_card_names_only_a_year_held_neither_as_statements_nor_as_results():
    """The card counts an incomplete scored year as on file (its scoring note says what is missing) and names the
    year due only when it is newer than both the scored year and the newest results."""
    from screens.charts import due_not_on_file

    assert due_not_on_file({"newest_due_year": 2026, "fiscal_year": 2025}, None) == 2026
    assert due_not_on_file({"newest_due_year": 2026, "fiscal_year": 2025}, {"fiscal_year": 2026}) is None
    assert due_not_on_file({"newest_due_year": 2027, "fiscal_year": 2025}, {"fiscal_year": 2026}) == 2027
    assert due_not_on_file({"newest_due_year": 2025, "fiscal_year": 2025}, None) is None
    assert due_not_on_file({"newest_due_year": None, "fiscal_year": 2025}, None) is None
