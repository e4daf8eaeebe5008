"""Net debt / EBITDA as an investor reads it: a net-cash company whose EBITDA is not on file passes the check, and
every view says "net cash" instead of an "n.a." beside a PASS; a multiple stays a multiple."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metrics import format as fmt
from metrics.engine import score, scorecard
from tests.conftest import statements_from

FX = pd.DataFrame({"currency": ["USD"], "usd_per_unit": [1.0], "as_of": ["2026-06-30"], "source": ["identity"]})

# CASH: net cash 400, no D&A on file (so no EBITDA, no multiple); DEBT: net debt 600 on EBITDA 300 = 2.0x
ROWS = [
    ("CASH", 2024, "Total Revenue", 1000), ("CASH", 2024, "Net Income", 200), ("CASH", 2024, "Operating Income", 250),
    ("CASH", 2024, "Total Assets", 2000), ("CASH", 2024, "Operating Cash Flow", 300),
    ("CASH", 2024, "Total Debt", 100), ("CASH", 2024, "Cash Cash Equivalents And Short Term Investments", 500),
    ("DEBT", 2024, "Total Revenue", 1000), ("DEBT", 2024, "Net Income", 200), ("DEBT", 2024, "Operating Income", 250),
    ("DEBT", 2024, "Reconciled Depreciation", 50), ("DEBT", 2024, "Total Assets", 2000),
    ("DEBT", 2024, "Operating Cash Flow", 300),
    ("DEBT", 2024, "Total Debt", 750), ("DEBT", 2024, "Cash Cash Equivalents And Short Term Investments", 150),
]


@pytest.fixture(scope="module")
def scored():
    tickers = ["CASH", "DEBT"]
    universe = pd.DataFrame({"ticker": tickers, "name": tickers, "segment": "cloud", "subsegment": "x",
                             "country": "US", "price_currency": "USD", "origin": "test"})
    market = pd.DataFrame({"ticker": tickers, "price_currency": "USD", "market_cap": [5000.0, 5000.0],
                           "shares_outstanding": np.nan, "as_of": "2026-01-01", "source": "https://example.test"})
    return score(statements_from(ROWS), market, universe, FX)


def test_the_display_rule():
    assert fmt.net_debt_multiple(2.04) == "2.0x"
    assert fmt.net_debt_multiple(-0.4, net_cash=True) == "\u22120.4x"  # a true minus sign
    assert fmt.net_debt_multiple(math.nan, net_cash=True) == "net cash"
    assert fmt.net_debt_multiple(math.nan) == "n.a."


def test_net_cash_without_ebitda_passes_and_every_view_says_net_cash(scored):
    from screens.charts import check_value
    from screens.compare import compare_rows
    from screens.screener import ranked_view

    card = scorecard(scored, "CASH")
    nd = next(c for c in card["pillars"]["balance_sheet"]["checks"] if c["id"] == "net_debt_to_ebitda")
    assert nd["result"] == "pass" and nd["value"] is None
    assert check_value(nd) == "net cash"

    table = scored.table()
    view, _ = ranked_view(table, scored.ctx.panel, None)
    assert view.at["CASH", "nd_ebitda"] == "net cash"
    assert view.at["DEBT", "nd_ebitda"] == "2.0x"  # (750 - 150) / (250 + 50)

    comp, _ = compare_rows(scored, table.loc[["CASH", "DEBT"]], ["CASH", "DEBT"])
    row = comp[comp["Measure"] == "Net debt / EBITDA"].iloc[0]
    assert row["CASH"] == "net cash" and row["DEBT"] == "2.0x"


def test_a_missing_cash_line_stays_not_on_file(scored):
    """No cash line means no net-debt figure: the check is not on file and shows n.a., never 'net cash'."""
    from screens.charts import check_value

    rows = [r for r in ROWS if not (r[0] == "CASH" and r[2].startswith("Cash"))]
    universe = pd.DataFrame({"ticker": ["CASH"], "name": ["CASH"], "segment": "cloud", "subsegment": "x",
                             "country": "US", "price_currency": "USD", "origin": "test"})
    market = pd.DataFrame({"ticker": ["CASH"], "price_currency": "USD", "market_cap": [5000.0],
                           "shares_outstanding": np.nan, "as_of": "2026-01-01", "source": "https://example.test"})
    card = scorecard(score(statements_from(rows), market, universe, FX), "CASH")
    nd = next(c for c in card["pillars"]["balance_sheet"]["checks"] if c["id"] == "net_debt_to_ebitda")
    assert nd["result"] == "not on file" and check_value(nd) == "n.a."
