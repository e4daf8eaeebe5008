"""Wide views of the canonical statements table, and the derived line items.

All functions are pure and vectorised over companies. Derived items are
computed here at run time and never stored:

* EBITDA = reported "EBITDA", else Operating Income + Reconciled Depreciation;
* EBIT = reported "EBIT", else Operating Income;
* FCF = reported "Free Cash Flow", else Operating Cash Flow + Capital Expenditure
  (capex is negative, as yfinance shows it);
* Net debt = Total Debt − Cash, Cash Equivalents And Short Term Investments.

A derived item is missing (NaN) whenever any of its inputs is missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

REVENUE = "Total Revenue"
GROSS_PROFIT = "Gross Profit"
OPERATING_INCOME = "Operating Income"
NET_INCOME = "Net Income"
EBITDA = "EBITDA"
EBIT = "EBIT"
DEPRECIATION = "Reconciled Depreciation"
INTEREST_EXPENSE = "Interest Expense"
OCF = "Operating Cash Flow"
CAPEX = "Capital Expenditure"
FCF = "Free Cash Flow"
BUYBACKS = "Repurchase Of Capital Stock"
DIVIDENDS = "Cash Dividends Paid"
CASH = "Cash Cash Equivalents And Short Term Investments"
TOTAL_DEBT = "Total Debt"
CURRENT_DEBT = "Current Debt"
CURRENT_ASSETS = "Current Assets"
CURRENT_LIABILITIES = "Current Liabilities"
EQUITY = "Stockholders Equity"
TOTAL_ASSETS = "Total Assets"
RETAINED_EARNINGS = "Retained Earnings"
TOTAL_LIABILITIES = "Total Liabilities Net Minority Interest"

#: every field a check may read; absent columns are added as NaN.
PANEL_FIELDS = [
    REVENUE, GROSS_PROFIT, OPERATING_INCOME, NET_INCOME, EBITDA, EBIT, DEPRECIATION,
    INTEREST_EXPENSE, OCF, CAPEX, FCF, BUYBACKS, DIVIDENDS, CASH, TOTAL_DEBT, CURRENT_DEBT,
    CURRENT_ASSETS, CURRENT_LIABILITIES, EQUITY, TOTAL_ASSETS, RETAINED_EARNINGS, TOTAL_LIABILITIES,
]

# derived columns (computed, never stored)
EBITDA_D = "ebitda"
EBIT_D = "ebit"
FCF_D = "fcf"
NET_DEBT_D = "net_debt"


def build_panel(statements: pd.DataFrame) -> pd.DataFrame:
    """Company-year panel: index (ticker, fiscal_year), one column per field.

    Also carries ``period_end`` and ``currency`` (of that company-year) and the
    derived columns ``ebitda``, ``ebit``, ``fcf``, ``net_debt``.
    """
    if statements.empty:
        idx = pd.MultiIndex.from_arrays([[], []], names=["ticker", "fiscal_year"])
        panel = pd.DataFrame(index=idx, columns=PANEL_FIELDS, dtype=float)
        panel["period_end"] = pd.Series(dtype=str)
        panel["currency"] = pd.Series(dtype=str)
    else:
        panel = statements.pivot_table(
            index=["ticker", "fiscal_year"], columns="field", values="value", aggfunc="first"
        )
        panel.columns.name = None
        panel = panel.reindex(columns=PANEL_FIELDS)
        meta = statements.groupby(["ticker", "fiscal_year"], sort=False)[["period_end", "currency"]].max()
        panel = panel.join(meta)
    return add_derived(panel.sort_index())


def add_derived(panel: pd.DataFrame) -> pd.DataFrame:
    """Add ebitda, ebit, fcf and net_debt columns (see module docstring)."""
    out = panel.copy()
    out[EBITDA_D] = out[EBITDA].where(out[EBITDA].notna(), out[OPERATING_INCOME] + out[DEPRECIATION])
    out[EBIT_D] = out[EBIT].where(out[EBIT].notna(), out[OPERATING_INCOME])
    out[FCF_D] = out[FCF].where(out[FCF].notna(), out[OCF] + out[CAPEX])
    out[NET_DEBT_D] = out[TOTAL_DEBT] - out[CASH]
    return out


def latest_year(panel: pd.DataFrame) -> pd.DataFrame:
    """The latest fiscal year per ticker (the newest year holding any value).

    Values of different years are never mixed: a field missing in the latest
    year stays missing even if an older year has it.
    """
    if panel.empty:
        out = panel.reset_index(level="fiscal_year")
        return out
    last = panel.reset_index(level="fiscal_year").groupby(level="ticker", sort=True).tail(1)
    return last


def first_and_last(panel: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per ticker, the first and last fiscal years in which ``column`` is present.

    Returns columns first_year, first, last_year, last, n_years (index ticker).
    """
    col = panel[column].dropna()
    if col.empty:
        return pd.DataFrame(columns=["first_year", "first", "last_year", "last", "n_years"], dtype=float)
    df = col.reset_index()
    g = df.groupby("ticker", sort=True)
    first = g.head(1).set_index("ticker")
    last = g.tail(1).set_index("ticker")
    return pd.DataFrame({
        "first_year": first["fiscal_year"], "first": first[column],
        "last_year": last["fiscal_year"], "last": last[column],
        "n_years": g.size(),
    })


def safe_divide(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN where the denominator is zero, negative or missing."""
    num = pd.to_numeric(numerator, errors="coerce")
    den = pd.to_numeric(denominator, errors="coerce")
    den = den.where(den > 0)
    return (num / den).replace([np.inf, -np.inf], np.nan)
