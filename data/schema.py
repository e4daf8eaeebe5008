"""The canonical tables every source is mapped to, and their validators.

Whatever the source (embedded files, Yahoo Finance, the local cache), loading
returns two tidy tables that ``metrics/`` reads and nothing else:

* **statements** -- one reported value per row:
  ``ticker, fiscal_year, period_end, currency, field, value, source``.
  ``field`` uses yfinance's statement labels ("Total Revenue", ...); ``value``
  is in full units of ``currency`` (the reporting currency). Outflows (capex,
  buybacks, dividends) are negative, Interest Expense is positive.
* **market** -- ``ticker, price_currency, market_cap, shares_outstanding,
  as_of, source``; ``market_cap`` is in ``price_currency``. The embedded file may
  add ``price``, ``shares_as_of`` and ``shares_source`` for a cap the app derives
  (:func:`metrics.financials.market_caps`: price on ``as_of`` × shares).

The pandera schemas that validate files live in :mod:`data.validation` (imported
only when a file is actually validated); every error names the file, the row
(0-based data row and 1-based line in the file) and the column.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

STATEMENT_COLUMNS: list[str] = [
    "ticker", "fiscal_year", "period_end", "currency", "field", "value", "source",
]
MARKET_COLUMNS: list[str] = [
    "ticker", "price_currency", "market_cap", "shares_outstanding", "as_of", "source",
]
UNIVERSE_COLUMNS: list[str] = [
    "ticker", "name", "segment", "subsegment", "country", "price_currency", "origin",
]
SEGMENTS: tuple[str, ...] = ("chips", "networking", "cloud", "energy")

#: Statement fields the scoring reads (yfinance labels). The first block is
#: what the reference set compiles; the second is read when a live source has it.
REQUIRED_FIELDS: list[str] = [
    "Total Revenue", "Gross Profit", "Operating Income", "Net Income", "EBITDA",
    "Reconciled Depreciation", "Interest Expense", "Operating Cash Flow",
    "Capital Expenditure", "Free Cash Flow", "Repurchase Of Capital Stock",
    "Cash Dividends Paid", "Cash Cash Equivalents And Short Term Investments",
    "Total Debt", "Current Debt", "Current Assets", "Current Liabilities",
    "Stockholders Equity", "Total Assets",
]
OPTIONAL_FIELDS: list[str] = [
    "EBIT", "Retained Earnings", "Total Liabilities Net Minority Interest",
]
#: Reported parts of the totals above (yfinance labels). Kosmos derives a total
#: from its parts at run time when the total itself is not reported
#: (:data:`metrics.financials.DERIVED_TOTALS`); stored data stays as reported.
COMPONENT_FIELDS: list[str] = [
    "Cost Of Revenue", "Cash And Cash Equivalents", "Other Short Term Investments",
    "Commercial Paper", "Other Current Borrowings", "Long Term Debt",
    "Current Capital Lease Obligation", "Long Term Capital Lease Obligation",
    "Total Equity Gross Minority Interest",
    # the two cash-flow lines of a company that reports no D&A total (Oracle); the total (Reconciled
    # Depreciation = Depreciation + Amortization Of Intangibles) is derived at run time, never stored
    "Depreciation", "Amortization Of Intangibles",
]
KNOWN_FIELDS: list[str] = REQUIRED_FIELDS + OPTIONAL_FIELDS + COMPONENT_FIELDS

_TICKER = r"^[A-Z0-9][A-Z0-9.\-=^]{0,19}$"
_CURRENCY = r"^[A-Z]{3}$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_PARTIAL_DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"


#: headline results of a newest fiscal year (``data/results.csv``): shown with their precision, never scored
RESULT_COLUMNS: list[str] = [
    "ticker", "fiscal_year", "period_end", "currency", "field", "value", "precision", "stated", "released",
    "source", "note", "kind",
]
#: where a headline result was read: the filing (or an EDGAR copy of it), the company's release (or a verbatim
#: repost), a statement aggregator / summary site, or a news report
RESULT_KINDS: tuple[str, ...] = ("SEC filing", "company release", "aggregator", "news")
#: lines a company's statements do not show at all (``data/not_reported.csv``): missing by the company's choice
NOT_REPORTED_COLUMNS: list[str] = ["ticker", "field", "from_year", "to_year", "reason", "source"]

COMMITMENT_KINDS = (
    "operating_lease_liability", "operating_lease_liability_current", "operating_lease_liability_noncurrent",
    "finance_lease_liability", "finance_lease_liability_current", "finance_lease_liability_noncurrent",
    "lease_not_commenced", "purchase_commitment", "guarantee", "spv_financing", "other_commitment",
)


@dataclass(frozen=True)
class ValidationIssue:
    """One problem found in a data file, located by file, row and column."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row} (line {self.row + 2})"
        if self.column:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class DataValidationError(ValueError):
    """Raised when a data file breaks its schema; ``issues`` lists every problem."""

    def __init__(self, issues: list[ValidationIssue]):
        self.issues = issues
        shown = "\n".join(f"- {i}" for i in issues[:20])
        more = f"\n... and {len(issues) - 20} more" if len(issues) > 20 else ""
        super().__init__(f"{len(issues)} data error(s):\n{shown}{more}")


def empty_statements() -> pd.DataFrame:
    """An empty statements table with the canonical columns and dtypes."""
    return pd.DataFrame(
        {
            "ticker": pd.Series(dtype=str), "fiscal_year": pd.Series(dtype="int64"),
            "period_end": pd.Series(dtype=str), "currency": pd.Series(dtype=str),
            "field": pd.Series(dtype=str), "value": pd.Series(dtype=float),
            "source": pd.Series(dtype=str),
        }
    )


def empty_market() -> pd.DataFrame:
    """An empty market table with the canonical columns and dtypes."""
    return pd.DataFrame(
        {
            "ticker": pd.Series(dtype=str), "price_currency": pd.Series(dtype=str),
            "market_cap": pd.Series(dtype=float), "shares_outstanding": pd.Series(dtype=float),
            "as_of": pd.Series(dtype=str), "source": pd.Series(dtype=str),
        }
    )


def empty_results() -> pd.DataFrame:
    """An empty headline-results table (:data:`RESULT_COLUMNS`) with the validated dtypes."""
    numeric = {"fiscal_year": "int64", "value": float, "precision": float}
    return pd.DataFrame({c: pd.Series(dtype=numeric.get(c, object)) for c in RESULT_COLUMNS})


def empty_not_reported() -> pd.DataFrame:
    """An empty not-reported table (:data:`NOT_REPORTED_COLUMNS`) with the validated dtypes."""
    numeric = {"from_year": "int64", "to_year": "int64"}
    return pd.DataFrame({c: pd.Series(dtype=numeric.get(c, object)) for c in NOT_REPORTED_COLUMNS})


# --------------------------------------------------------------------------- row screening without pandera

TICKER_RE = re.compile(_TICKER)


def is_ticker(text: object) -> bool:
    """Whether ``text`` is a ticker symbol Kosmos accepts (``^[A-Z0-9][A-Z0-9.\\-=^]{0,19}$``)."""
    return isinstance(text, str) and TICKER_RE.fullmatch(text) is not None


def _text(s: pd.Series) -> pd.Series:
    """``s`` as strings where it holds strings (anything else becomes missing)."""
    if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        return s
    return s.where(s.map(lambda v: isinstance(v, str)), None).astype("str")


def _matches(pattern: str) -> Callable[[pd.Series], pd.Series]:
    return lambda s: _text(s).str.fullmatch(pattern).fillna(False).astype(bool)


def _number(lo: float | None = None, hi: float | None = None, *, positive: bool = False,
            nullable: bool = False) -> Callable[[pd.Series], pd.Series]:
    def check(s: pd.Series) -> pd.Series:
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(v)
        if positive:
            ok &= v > 0
        if lo is not None:
            ok &= v >= lo
        if hi is not None:
            ok &= v <= hi
        if nullable:
            ok |= pd.isna(s).to_numpy()
        return pd.Series(ok, index=s.index)
    return check


def _non_empty(s: pd.Series) -> pd.Series:
    return (_text(s).str.strip().str.len() > 0).fillna(False).astype(bool)


#: per table: (column, check, what a failing row breaks); the same rules as the pandera schemas of
#: :mod:`data.validation`, applied row by row to data that is screened, not refused as a whole (cache snapshots)
ROW_RULES: dict[str, list[tuple[str, Callable[[pd.Series], pd.Series], str]]] = {
    "statements": [
        ("ticker", _matches(_TICKER), "ticker is not a ticker symbol"),
        ("fiscal_year", _number(1990, 2100), "fiscal_year is not a year 1990-2100"),
        ("period_end", _matches(_DATE), "period_end is not YYYY-MM-DD"),
        ("currency", _matches(_CURRENCY), "currency is not a 3-letter code"),
        ("field", lambda s: s.isin(KNOWN_FIELDS), "field is not a known statement line"),
        ("value", _number(), "value is not a finite number"),
        ("source", _non_empty, "source is empty"),
    ],
    "market": [
        ("ticker", _matches(_TICKER), "ticker is not a ticker symbol"),
        ("price_currency", _matches(_CURRENCY), "price_currency is not a 3-letter code"),
        ("market_cap", _number(positive=True, nullable=True), "market_cap is not a positive number"),
        ("shares_outstanding", _number(positive=True, nullable=True), "shares_outstanding is not a positive number"),
        ("as_of", _matches(_PARTIAL_DATE), "as_of is not a date"),
        ("source", _non_empty, "source is empty"),
    ],
    "fx": [
        ("currency", _matches(_CURRENCY), "currency is not a 3-letter code"),
        ("usd_per_unit", _number(positive=True), "usd_per_unit is not a positive number"),
    ],
    "outcomes": [("ticker", _matches(_TICKER), "ticker is not a ticker symbol")],
}


def row_problems(df: pd.DataFrame, table: str) -> pd.Series:
    """Per row of ``df``, why it breaks the rules of ``table`` in :data:`ROW_RULES` ('' when it breaks none)."""
    problems = pd.Series("", index=df.index, dtype=object)
    for column, check, message in ROW_RULES[table]:
        if column not in df.columns:
            continue  # a missing column is a file-level error, reported by the caller
        bad = ~check(df[column]).astype(bool)
        problems[bad] = problems[bad].map(lambda p, m=message: f"{p}; {m}" if p else m)
    return problems
