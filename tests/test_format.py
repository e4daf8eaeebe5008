"""The one number format (metrics/format.py): money, shares, multiples, changes, n.a. with its reason, CSV precision."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metrics import format as fmt


def test_money_reads_in_words_with_its_unit_and_never_in_scientific_notation():
    assert fmt.money(268_557_000_000) == "USD 268.6 bn"
    assert fmt.money(4.1e9, "EUR") == "EUR 4.1 bn"
    assert fmt.money(512e6) == "USD 512.0 m"
    assert fmt.money(4.64e12) == "USD 4.64 tn"
    assert fmt.money(-34.7e9) == "USD −34.7 bn"  # a true minus sign
    assert fmt.money(1e30).endswith(" tn") and "e+" not in fmt.money(1e30)
    assert fmt.money(None) == fmt.money(float("nan")) == fmt.money(pd.NA) == "n.a."


def test_a_column_sharing_a_unit_names_it_in_the_header_and_cells_carry_the_number():
    assert fmt.column_scale([8.4e9, 29.4e9, 268.6e9]) == "bn"
    assert fmt.column_scale([3e6, 8e6]) == "m"
    assert fmt.unit_header("Amount", "USD", "bn") == "Amount (USD bn)"
    assert fmt.amount(268_557_000_000) == "268.6" and fmt.amount(-2.5e9) == "−2.5"
    assert fmt.amount(1.0e11) == "100.0"  # was printed 1.000e+11 in the deals table


def test_shares_multiples_and_changes():
    assert fmt.pct(0.466) == "46.6 %"
    assert fmt.times(3.456) == "3.5x" and fmt.times(-0.417) == "−0.4x"
    assert fmt.pp(0.051, signed=True) == "+5.1 pp" and fmt.pp(-0.038, signed=True) == "−3.8 pp"
    assert fmt.change_pct(0.652) == "+65.2 %" and fmt.change_pct(-0.02) == "−2.0 %"
    assert fmt.score(72.8) == "73" and fmt.score(None) == "n.a."
    assert fmt.score_range(52.4, 81.2) == "52–81" and fmt.score_range(70.1, 70.2) == "70"


def test_n_a_carries_its_reason():
    assert fmt.na() == "n.a."
    assert fmt.na("not on file.") == "n.a. (not on file)"


def test_fiscal_years_ages_and_stated_precision():
    assert fmt.fiscal_year(2025.0) == "FY2025" and fmt.fiscal_year(np.nan) == "n.a."
    assert fmt.months_between("2025-01-26", "2026-12-03") == 22
    assert fmt.months_between("2025-12-31", "2026-01-30") == 0
    assert fmt.months_between(None, "2026-01-01") is None


def test_months_since_a_period_end_are_whole_calendar_months_in_every_view():
    """One rule for the screener's Age column, the sidebar summary and the card: a month counts once its day of
    the month is reached (2025-01-31 -> 2025-03-01 is 1 month, though only 29 days: a days / 30.44 rule said 0)."""
    from dateutil.relativedelta import relativedelta

    from screens.export import months_since_period_end

    today = pd.Timestamp("2025-03-01")
    ends = pd.Series(["2025-01-31", "2024-03-01", "2024-03-02", None, "not a date", "2025-06-30"])
    expected = []
    for e in ends:
        d = pd.to_datetime(e, errors="coerce")
        gap = None if pd.isna(d) else relativedelta(today.date(), d.date())
        expected.append(None if gap is None else max(gap.years * 12 + gap.months, 0))
    got = fmt.whole_months(ends, today)
    assert [None if pd.isna(v) else int(v) for v in got] == expected == [1, 12, 11, None, None, 0]
    assert [fmt.months_between(e, today) for e in ends[:3]] == expected[:3]
    assert months_since_period_end(ends, today).tolist()[:3] == [1.0, 12.0, 11.0]
    aware = pd.Series(pd.to_datetime(["2025-01-31"]).tz_localize("UTC"))
    assert fmt.whole_months(aware, pd.Timestamp("2025-03-01", tz="UTC")).iloc[0] == 1
    assert fmt.age(1) == "1 month" and fmt.age(22) == "22 months" and fmt.age(None) == "n.a."
    assert fmt.precision(1e8) == "rounded to 0.1 bn" and fmt.precision(1e6) == "rounded to 1 m"
    assert fmt.precision(1) == "exact" and fmt.precision(None) == ""


def test_csv_columns_are_rounded_to_the_precision_of_their_stated_unit():
    df = pd.DataFrame({"market_cap_usd_bn": [4640.000000001], "fcf_margin_pct": [46.631723334636044],
                       "net_debt_to_ebitda_x": [-0.4170457409652292], "composite_score": [72.81293816826003],
                       "scored_year_age_months": [22.0], "other": [0.123456789]})
    out = fmt.round_for_csv(df).iloc[0]
    assert out["market_cap_usd_bn"] == 4640.0 and out["fcf_margin_pct"] == 46.6
    assert out["net_debt_to_ebitda_x"] == -0.42 and out["composite_score"] == 72.8
    assert out["scored_year_age_months"] == 22 and out["other"] == 0.1235
    text = fmt.round_for_csv(df).to_csv(index=False)
    assert "e+" not in text and "46.631" not in text


@pytest.mark.parametrize("unit,value,text", [("percent", 0.25, "25.0 %"), ("x", 2.0, "2.0x"), ("pp", 0.01, "1.0 pp"),
                                             ("count", 61.0, "61"), ("USD", 2.5e9, "USD 2.5 bn"),
                                             ("ratio", 0.88, "0.88"), ("score", 3.4, "3.40")])
def test_check_values_are_formatted_by_their_unit(unit, value, text):
    assert fmt.format_value(value, unit) == text
    assert fmt.format_value(math.nan, unit) == "n.a."
