"""Kosmos's ratios against independently published ones, and the market-cap date window."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data.__main__ import market_cap_window
from data.embedded import load_statements
from metrics import financials as F
from metrics.reconcile import compare_published, summary
from tests.conftest import statements_from

ROOT = Path(__file__).resolve().parents[1]


def published(*rows):
    return pd.DataFrame([{"ticker": t, "fiscal_year": y, "ratio": r, "value": v, "source": "https://pub", "note": None}
                         for t, y, r, v in rows])


def test_a_published_ratio_agrees_within_its_tolerance_and_a_wrong_one_is_listed():
    panel = F.build_panel(statements_from([
        ("A", 2024, "Total Revenue", 1000), ("A", 2024, "Cost Of Revenue", 400),
        ("A", 2024, "Current Assets", 300), ("A", 2024, "Current Liabilities", 200),
        ("A", 2024, "Operating Income", 150)]))
    out = compare_published(panel, published(
        ("A", 2024, "gross_margin", 0.605),      # 0.600 computed: 0.5 pp off, inside 1 pp
        ("A", 2024, "current_ratio", 1.60),      # 1.5 computed: 6% off, outside 3%
        ("A", 2024, "interest_coverage", 12.0),  # no interest expense on file: not comparable
        ("A", 2024, "unknown_ratio", 1.0)))      # not a Kosmos ratio: ignored
    res = out.set_index("ratio")
    assert bool(res.at["gross_margin", "agrees"]) and res.at["gross_margin", "computed"] == pytest.approx(0.6)
    assert not bool(res.at["current_ratio", "agrees"])
    assert res.at["current_ratio", "difference"] == pytest.approx(1.5 / 1.6 - 1)
    assert pd.isna(res.at["interest_coverage", "agrees"])
    assert "unknown_ratio" not in res.index
    s = summary(out)
    assert (s["published"], s["comparable"], s["agree"]) == (3, 2, 1)


def test_embedded_figures_reproduce_independently_published_ratios():
    """The compiled figures reproduce what statement-analysis sites publish, where the definition is stable."""
    pub = pd.read_csv(ROOT / "data" / "reference" / "published_ratios.csv")
    s = summary(compare_published(F.build_panel(load_statements()), pub))
    for ratio, floor in (("current_ratio", 0.95), ("operating_margin", 0.95), ("gross_margin", 0.85)):
        c = s["per_ratio"][ratio]
        assert c["comparable"] >= 30, ratio
        assert c["agree"] / c["comparable"] >= floor, (ratio, c)


def test_market_cap_window_finds_the_densest_30_days_and_names_the_rest():
    as_of = pd.Series({"A": "2026-02-01", "B": "2026-02-20", "C": "2026-03-02", "D": "2025-11-07", "E": "2026-04"})
    w = market_cap_window(as_of)
    assert w["best_window"] == ["2026-02-01", "2026-03-03"] and w["inside_best_window"] == 3
    assert w["outside_best_window"] == ["D", "E"]
