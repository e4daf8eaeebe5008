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

Validation uses pandera; every error names the file, the row (0-based data
row and 1-based line in the file) and the column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

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


def _finite(s: pd.Series) -> pd.Series:
    return pd.Series(np.isfinite(s.to_numpy(dtype=float, na_value=np.nan)), index=s.index)


STATEMENTS_SCHEMA = pa.DataFrameSchema(
    {
        "ticker": pa.Column(str, pa.Check.str_matches(_TICKER), nullable=False),
        "fiscal_year": pa.Column(int, pa.Check.in_range(1990, 2100), nullable=False),
        "period_end": pa.Column(str, pa.Check.str_matches(_DATE), nullable=False),
        "currency": pa.Column(str, pa.Check.str_matches(_CURRENCY), nullable=False),
        "field": pa.Column(str, pa.Check.isin(KNOWN_FIELDS), nullable=False),
        "value": pa.Column(float, pa.Check(_finite, error="finite number"), nullable=False),
        "source": pa.Column(str, pa.Check.str_length(min_value=1), nullable=False),
        # the compiler's basis note (continuing operations, local vs 20-F basis, ...); optional
        "note": pa.Column(str, nullable=True, required=False),
    },
    strict=True,
    ordered=False,
    coerce=True,
    unique=["ticker", "fiscal_year", "field"],
    name="statements",
)

MARKET_SCHEMA = pa.DataFrameSchema(
    {
        "ticker": pa.Column(str, pa.Check.str_matches(_TICKER), nullable=False, unique=True),
        "price_currency": pa.Column(str, pa.Check.str_matches(_CURRENCY), nullable=False),
        "market_cap": pa.Column(float, pa.Check.gt(0), nullable=True),
        "shares_outstanding": pa.Column(float, pa.Check.gt(0), nullable=True),
        "as_of": pa.Column(str, pa.Check.str_matches(_PARTIAL_DATE), nullable=False),
        "source": pa.Column(str, pa.Check.str_length(min_value=1), nullable=False),
        "note": pa.Column(str, nullable=True, required=False),
    },
    strict=True,
    ordered=False,
    coerce=True,
    name="market",
)

UNIVERSE_SCHEMA = pa.DataFrameSchema(
    {
        "ticker": pa.Column(str, pa.Check.str_matches(_TICKER), nullable=False, unique=True),
        "name": pa.Column(str, pa.Check.str_length(min_value=1), nullable=False),
        "segment": pa.Column(str, pa.Check.isin(list(SEGMENTS)), nullable=False),
        "subsegment": pa.Column(str, nullable=True),
        "country": pa.Column(str, nullable=True),
        "price_currency": pa.Column(str, pa.Check.str_matches(_CURRENCY), nullable=False),
        "origin": pa.Column(str, nullable=False),
    },
    strict=True,
    ordered=False,
    coerce=True,
    name="universe",
)

CROSSCHECK_SCHEMA = pa.DataFrameSchema(
    {
        "ticker": pa.Column(str, pa.Check.str_matches(_TICKER), nullable=False),
        "fiscal_year": pa.Column(int, pa.Check.in_range(1990, 2100), nullable=False),
        "field": pa.Column(str, pa.Check.isin(KNOWN_FIELDS + ["Free Cash Flow", "EBITDA"]), nullable=False),
        "value": pa.Column(float, pa.Check(_finite, error="finite number"), nullable=False),
        "source": pa.Column(str, pa.Check.str_startswith("http"), nullable=False),
        "note": pa.Column(str, nullable=True),
    },
    strict=True,
    coerce=True,
    name="crosscheck",
)

EXPLANATIONS_SCHEMA = pa.DataFrameSchema(
    {
        "rule": pa.Column(str, nullable=False),
        "ticker": pa.Column(str, pa.Check.str_matches(_TICKER), nullable=False),
        "fiscal_year": pa.Column(float, nullable=True),
        "explanation": pa.Column(str, pa.Check.str_length(min_value=10), nullable=False),
    },
    strict=True,
    coerce=True,
    name="explanations",
)

COMMITMENT_KINDS = (
    "operating_lease_liability", "operating_lease_liability_current", "operating_lease_liability_noncurrent",
    "finance_lease_liability", "finance_lease_liability_current", "finance_lease_liability_noncurrent",
    "lease_not_commenced", "purchase_commitment", "guarantee", "spv_financing", "other_commitment",
)

COMMITMENTS_SCHEMA = pa.DataFrameSchema(
    {
        "ticker": pa.Column(str, pa.Check.str_matches(_TICKER), nullable=False),
        "as_of": pa.Column(str, pa.Check.str_matches(_DATE), nullable=False),
        "kind": pa.Column(str, pa.Check.isin(list(COMMITMENT_KINDS)), nullable=False),
        "item": pa.Column(str, pa.Check.str_length(min_value=3), nullable=False),
        "amount": pa.Column(float, [pa.Check.gt(0), pa.Check(_finite, error="finite number")], nullable=False),
        "currency": pa.Column(str, pa.Check.str_matches(_CURRENCY), nullable=False),
        "source": pa.Column(str, pa.Check.str_startswith("http"), nullable=False),
        "basis": pa.Column(str, pa.Check.isin(["filing", "secondary", "unverified"]), nullable=False),
        "note": pa.Column(str, nullable=True),
    },
    strict=True,
    coerce=True,
    unique=["ticker", "as_of", "item"],
    name="commitments",
)

USEFUL_LIVES_SCHEMA = pa.DataFrameSchema(
    {
        "ticker": pa.Column(str, pa.Check.str_matches(_TICKER), nullable=False),
        "asset_class": pa.Column(str, nullable=False),
        "useful_life_years": pa.Column(float, pa.Check.in_range(0.5, 50), nullable=True),
        "effective_from": pa.Column(str, pa.Check.str_matches(_PARTIAL_DATE), nullable=True),
        "previous_life_years": pa.Column(float, pa.Check.in_range(0.5, 50), nullable=True),
        "source": pa.Column(str, pa.Check.str_startswith("http"), nullable=False),
        "note": pa.Column(str, nullable=True),
    },
    strict=True,
    coerce=True,
    name="useful_lives",
)

FX_SCHEMA = pa.DataFrameSchema(
    {
        "currency": pa.Column(str, pa.Check.str_matches(_CURRENCY), nullable=False, unique=True),
        "usd_per_unit": pa.Column(float, pa.Check.gt(0), nullable=False),
        "as_of": pa.Column(str, pa.Check.str_matches(_PARTIAL_DATE), nullable=False),
        "source": pa.Column(str, pa.Check.str_length(min_value=1), nullable=False),
    },
    strict=True,
    coerce=True,
    name="fx",
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


def _issues_from(err: pa.errors.SchemaErrors, file: str) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    cases = err.failure_cases
    for rec in cases.to_dict("records"):
        idx = rec.get("index")
        row = int(idx) if idx is not None and not pd.isna(idx) else None
        col = rec.get("column")
        col = None if col is None or (isinstance(col, float) and np.isnan(col)) else str(col)
        check = str(rec.get("check"))
        value = rec.get("failure_case")
        issues.append(ValidationIssue(file, row, col, f"failed {check} (value: {value!r})"))
    return issues


def validate(df: pd.DataFrame, schema: pa.DataFrameSchema, file: str) -> pd.DataFrame:
    """Validate and coerce ``df`` against ``schema``.

    Returns the coerced frame; raises :class:`DataValidationError` naming file,
    row and column of every problem (missing columns are reported without a row).
    """
    missing = [c for c, col in schema.columns.items() if c not in df.columns and col.required]
    if missing:
        raise DataValidationError(
            [ValidationIssue(file, None, c, "required column is missing") for c in missing]
        )
    try:
        return schema.validate(df.reset_index(drop=True), lazy=True)
    except pa.errors.SchemaErrors as err:
        raise DataValidationError(_issues_from(err, file)) from None


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
