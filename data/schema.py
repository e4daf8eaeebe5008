"""The canonical tables every source is mapped to, and their validators.

Whatever the source (embedded files, Yahoo Finance, the local cache), loading
returns two tidy tables that ``metrics/`` reads and nothing else:

* **statements** -- one reported value per row:
  ``ticker, fiscal_year, period_end, currency, field, value, source``.
  ``field`` uses yfinance's statement labels ("Total Revenue", ...); ``value``
  is in full units of ``currency`` (the reporting currency). Outflows (capex,
  buybacks, dividends) are negative, Interest Expense is positive.
* **market** -- ``ticker, price_currency, market_cap, shares_outstanding,
  as_of, source``; ``market_cap`` is in ``price_currency``.

The pandera schemas that validate files live in :mod:`data.validation` (imported
only when a file is actually validated); every error names the file, the row
(0-based data row and 1-based line in the file) and the column.
"""

from __future__ import annotations

from dataclasses import dataclass

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
]
KNOWN_FIELDS: list[str] = REQUIRED_FIELDS + OPTIONAL_FIELDS + COMPONENT_FIELDS

_TICKER = r"^[A-Z0-9][A-Z0-9.\-=^]{0,19}$"
_CURRENCY = r"^[A-Z]{3}$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_PARTIAL_DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"


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
