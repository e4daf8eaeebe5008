"""A score built on a rounded figure says so: the scorecard's Sources table gives every reported value's precision
and the Checks tab names the scored year's rounded inputs, by the same rule `python -m data validate` lists."""

from __future__ import annotations

from screens.charts import rounded_inputs_line, source_precision


def src(field, year, value, note=""):
    return {"field": field, "fiscal_year": year, "period_end": f"{year}-12-31", "currency": "USD", "value": value,
            "source": "https://example.test", "note": note}


def test_each_value_gets_its_precision():
    sources = [src("Total Assets", 2024, 48_600_000_000, "aggregator, rounded to 0.1 bn"),   # a '48.6 bn' headline
               src("Total Revenue", 2024, 27_425_317_000),                                  # exact to the thousand
               src("Capital Expenditure", 2024, -91_447_000_000, "rounded cross-check agrees"),  # exact to the million
               src("Repurchase Of Capital Stock", 2024, -329_700_000, "stated rounded to $0.1M")]
    assert source_precision(sources) == ["rounded to 0.1 bn", "exact", "exact", "rounded to 0.1 m"]


def test_the_checks_tab_names_the_rounded_inputs_of_the_scored_year_only():
    card = {"fiscal_year": 2024, "sources": [src("Total Assets", 2024, 48_600_000_000, "rounded"),
                                             src("Total Assets", 2023, 39_800_000_000, "rounded"),
                                             src("Net Income", 2024, 7_571_600_000)]}
    line = rounded_inputs_line(card)
    assert line.startswith("Rounded inputs of FY2024 (scored): Total Assets (rounded to 0.1 bn).")
    assert "Net Income" not in line and line.count("Total Assets") == 1
    exact = {"fiscal_year": 2024, "sources": [src("Net Income", 2024, 7_571_600_000)]}
    assert rounded_inputs_line(exact) == "" and rounded_inputs_line({"fiscal_year": None, "sources": []}) == ""


def test_asml_balance_sheet_read_rounded_is_named_on_its_card():
    """ASML's FY2024 balance sheet is on file only as a page rounded to EUR 0.1 bn (notes/gaps_pass12.md): its card
    says so for the lines the reference file marks rounded."""
    import pandas as pd

    from data.loader import load_dataset
    from metrics.engine import scorecard
    from screens.model import build_scored

    ref = pd.read_csv("data/reference/fundamentals/gaps_pass12.csv")
    asml = ref[(ref["ticker"] == "ASML") & ref["note"].str.contains("ROUNDED", case=False)]
    assert len(asml) >= 5
    ds = load_dataset()
    line = rounded_inputs_line(scorecard(build_scored(ds), "ASML"))
    for field in asml["field"]:
        assert f"{field} (rounded to 0.1 bn)" in line


def test_the_card_image_names_rounded_inputs_grouped_by_precision():
    from screens.charts import card_footnote

    card = {"fiscal_year": 2024, "sources": [src("Total Assets", 2024, 48_600_000_000, "rounded"),
                                             src("Current Assets", 2024, 30_700_000_000, "rounded"),
                                             src("Repurchase Of Capital Stock", 2024, -1_000_000_000, "rounded"),
                                             src("Net Income", 2024, 7_571_600_000)]}
    text = card_footnote(card)
    assert "Inputs a page rounded: Total Assets, Current Assets (rounded to 0.1 bn); " \
           "Repurchase Of Capital Stock (rounded to 1 bn)." in text
    assert "Inputs a page rounded" not in card_footnote({**card, "sources": card["sources"][3:]})
