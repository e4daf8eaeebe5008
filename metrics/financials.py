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
        panel = _pivot(statements)
    return add_derived(panel.sort_index())


def _pivot(statements: pd.DataFrame) -> pd.DataFrame:
    """Vectorised long -> wide: one row per (ticker, fiscal_year); the first value of a duplicate wins.

    Strings are factorised once (pandas' string factorisation dominates a
    naive pivot_table on large universes).
    """
    t_codes, t_names = pd.factorize(statements["ticker"])
    f_codes, f_names = pd.factorize(statements["field"])
    years = statements["fiscal_year"].to_numpy(dtype=np.int64)
    row_codes, row_keys = pd.factorize(t_codes.astype(np.int64) * 10_000 + years)
    col_of = np.array([PANEL_FIELDS.index(f) if f in PANEL_FIELDS else -1 for f in f_names], dtype=np.int64)
    cols = col_of[f_codes]
    keep = cols >= 0
    grid = np.full((len(row_keys), len(PANEL_FIELDS)), np.nan)
    values = statements["value"].to_numpy(dtype=float)[keep]
    rows_k, cols_k = row_codes[keep], cols[keep]
    # one write per (row, field), the first occurrence (hash-based, no sort)
    first_of_pair = ~pd.Index(rows_k * len(PANEL_FIELDS) + cols_k).duplicated(keep="first")
    grid[rows_k[first_of_pair], cols_k[first_of_pair]] = values[first_of_pair]
    first = np.flatnonzero(~pd.Index(row_codes).duplicated(keep="first"))  # in code order
    index = pd.MultiIndex.from_arrays(
        [np.asarray(t_names, dtype=object)[row_keys // 10_000], row_keys % 10_000], names=["ticker", "fiscal_year"])
    panel = pd.DataFrame(grid, index=index, columns=PANEL_FIELDS)
    panel["period_end"] = statements["period_end"].iloc[first].to_numpy(dtype=object)
    panel["currency"] = statements["currency"].iloc[first].to_numpy(dtype=object)
    return panel


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
    year stays missing even if an older year has it. Index: ticker; the year
    is the column ``fiscal_year``.
    """
    out = panel.reset_index(level="fiscal_year")
    if panel.empty:
        return out
    codes = panel.index.codes[0]
    last = np.flatnonzero(np.r_[codes[1:] != codes[:-1], True])  # panel is sorted by (ticker, year)
    return out.iloc[last]


def _ticker_blocks(series: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray, pd.Index]:
    """``series`` sorted by (ticker, fiscal_year), the first and last row of each ticker's block, and the tickers.

    Vectorised with the index codes: no Python loop over companies.
    """
    s = series if series.index.is_monotonic_increasing else series.sort_index()
    codes = s.index.codes[0]
    start = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    end = np.r_[start[1:] - 1, len(codes) - 1]
    return s, start, end, pd.Index(s.index.levels[0][codes[start]], name="ticker")


def first_and_last(series: pd.Series) -> pd.DataFrame:
    """Per ticker, the first and last fiscal years in which ``series`` (indexed by ticker, year) is present.

    Returns columns first_year, first, last_year, last, n_years (index ticker).
    """
    cols = ["first_year", "first", "last_year", "last", "n_years"]
    if series.dropna().empty:
        return pd.DataFrame(columns=cols, dtype=float, index=pd.Index([], name="ticker"))
    s, start, end, names = _ticker_blocks(series.dropna())
    years = s.index.get_level_values("fiscal_year").to_numpy()
    vals = s.to_numpy(dtype=float)
    return pd.DataFrame({"first_year": years[start], "first": vals[start], "last_year": years[end],
                         "last": vals[end], "n_years": end - start + 1}, index=names)


def at_span_ends(series: pd.Series) -> pd.DataFrame:
    """Per ticker, ``series`` at the first and the last fiscal year on record (columns first, last).

    ``series`` must be indexed like the panel, missing values included: the
    span's end years are then the first and last rows of each ticker's block,
    and a missing value there stays NaN (never replaced by a neighbouring year).
    """
    if series.empty:
        return pd.DataFrame(columns=["first", "last"], dtype=float, index=pd.Index([], name="ticker"))
    s, start, end, names = _ticker_blocks(series)
    vals = s.to_numpy(dtype=float)
    return pd.DataFrame({"first": vals[start], "last": vals[end]}, index=names)


def record_span(panel: pd.DataFrame) -> pd.DataFrame:
    """Per ticker, the fiscal years on record: first_year, last_year and n_years = last − first + 1.

    A year between the first and the last counts as on record even when the
    company reported nothing for it: multi-year checks must see every year of
    the span, so a missing year can never be skipped (and so never help).
    """
    years = pd.Series(panel.index.get_level_values("fiscal_year"), index=panel.index, dtype=float)
    ends = at_span_ends(years).rename(columns={"first": "first_year", "last": "last_year"})
    ends["n_years"] = ends["last_year"] - ends["first_year"] + 1
    return ends


def safe_divide(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN where the denominator is zero, negative or missing."""
    num = pd.to_numeric(numerator, errors="coerce")
    den = pd.to_numeric(denominator, errors="coerce")
    den = den.where(den > 0)
    return (num / den).replace([np.inf, -np.inf], np.nan)
