"""Pandera schemas of the data files, and :func:`validate` (imported only when a file is validated).

Kept apart from :mod:`data.schema` so that starting the app on already
validated data (see :func:`data.embedded.validated_csv`) never imports pandera.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from data.schema import (
    _CURRENCY,
    _DATE,
    _PARTIAL_DATE,
    _TICKER,
    COMMITMENT_KINDS,
    KNOWN_FIELDS,
    RESULT_KINDS,
    SEGMENTS,
    DataValidationError,
    ValidationIssue,
)


def _finite(s: pd.Series) -> pd.Series:
    return pd.Series(np.isfinite(s.to_numpy(dtype=float, na_value=np.nan)), index=s.index)


def _line_columns() -> dict[str, pa.Column]:
    """The columns of one reported line, shared by statements and headline results: company, fiscal year and its
    end, reporting currency, statement label and a finite value (a fresh set per schema)."""
    return {
        "ticker": pa.Column(str, pa.Check.str_matches(_TICKER), nullable=False),
        "fiscal_year": pa.Column(int, pa.Check.in_range(1990, 2100), nullable=False),
        "period_end": pa.Column(str, pa.Check.str_matches(_DATE), nullable=False),
        "currency": pa.Column(str, pa.Check.str_matches(_CURRENCY), nullable=False),
        "field": pa.Column(str, pa.Check.isin(KNOWN_FIELDS), nullable=False),
        "value": pa.Column(float, pa.Check(_finite, error="finite number"), nullable=False),
    }


STATEMENTS_SCHEMA = pa.DataFrameSchema(
    {
        **_line_columns(),
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
        # a cap the app derives (metrics.financials.market_caps): the dated price of ``source`` and the share count
        # of another page; the file stores both as read, never their product
        "price": pa.Column(float, pa.Check.gt(0), nullable=True, required=False),
        "shares_as_of": pa.Column(str, pa.Check.str_matches(_PARTIAL_DATE), nullable=True, required=False),
        "shares_source": pa.Column(str, pa.Check.str_length(min_value=1), nullable=True, required=False),
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
        # why a rate is dated as it is (e.g. outside the market caps' window); optional
        "note": pa.Column(str, nullable=True, required=False),
    },
    strict=True,
    coerce=True,
    name="fx",
)


RESULTS_SCHEMA = pa.DataFrameSchema(
    {
        # statement labels (Free Cash Flow here is the company's own headline figure, as stated)
        **_line_columns(),
        # the rounding step of the stated figure in full units (100000000 for "USD 215.9 bn")
        "precision": pa.Column(float, [pa.Check.gt(0), pa.Check(_finite, error="finite number")], nullable=False),
        "stated": pa.Column(str, nullable=True),  # the figure as the page wrote it
        "released": pa.Column(str, pa.Check.str_matches(_DATE), nullable=True),
        "source": pa.Column(str, pa.Check.str_startswith("http"), nullable=False),
        "note": pa.Column(str, nullable=True),
        "kind": pa.Column(str, pa.Check.isin(list(RESULT_KINDS)), nullable=False),
    },
    strict=True,
    coerce=True,
    unique=["ticker", "fiscal_year", "field", "source"],
    name="results",
)

NOT_REPORTED_SCHEMA = pa.DataFrameSchema(
    {
        "ticker": pa.Column(str, pa.Check.str_matches(_TICKER), nullable=False),
        "field": pa.Column(str, pa.Check.isin(KNOWN_FIELDS), nullable=False),
        "from_year": pa.Column(int, pa.Check.in_range(1990, 2100), nullable=False),
        "to_year": pa.Column(int, pa.Check.in_range(1990, 2100), nullable=False),
        "reason": pa.Column(str, pa.Check.str_length(min_value=10), nullable=False),
        "source": pa.Column(str, pa.Check.str_startswith("http"), nullable=False),
    },
    checks=[pa.Check(lambda df: df["to_year"] >= df["from_year"], error="to_year before from_year")],
    strict=True,
    coerce=True,
    unique=["ticker", "field", "from_year"],
    name="not_reported",
)


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


#: every schema by the name the loaders use
SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "statements": STATEMENTS_SCHEMA, "market": MARKET_SCHEMA, "universe": UNIVERSE_SCHEMA, "fx": FX_SCHEMA,
    "crosscheck": CROSSCHECK_SCHEMA, "explanations": EXPLANATIONS_SCHEMA, "commitments": COMMITMENTS_SCHEMA,
    "useful_lives": USEFUL_LIVES_SCHEMA, "servers": STATEMENTS_SCHEMA.update_column("field", checks=[]),
    "results": RESULTS_SCHEMA, "not_reported": NOT_REPORTED_SCHEMA,
}
