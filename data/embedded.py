"""Load and validate the embedded data set shipped under ``data/``.

The embedded set is the offline default: reported annual figures with a
source URL per value, compiled from filings (see ``data/build_embedded.py``).
Nothing here fills, estimates or derives a value.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from data.schema import (
    COMMITMENTS_SCHEMA,
    CROSSCHECK_SCHEMA,
    EXPLANATIONS_SCHEMA,
    FX_SCHEMA,
    MARKET_SCHEMA,
    STATEMENTS_SCHEMA,
    UNIVERSE_SCHEMA,
    USEFUL_LIVES_SCHEMA,
    DataValidationError,
    ValidationIssue,
    validate,
)

DATA_DIR = Path(__file__).resolve().parent
EMBEDDED_SOURCE_LABEL = "Embedded data set"


def read_csv_checked(path: Path, **kwargs) -> pd.DataFrame:
    """Read a CSV as strings; unreadable or malformed files raise a located error."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], **kwargs)
    except FileNotFoundError:
        raise DataValidationError([ValidationIssue(path.name, None, None, "file not found")]) from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataValidationError(
            [ValidationIssue(path.name, None, None, f"cannot parse CSV: {exc}")]
        ) from None


def load_statements(path: Path | None = None) -> pd.DataFrame:
    """The embedded statements table (canonical schema), validated."""
    path = path or DATA_DIR / "fundamentals.csv"
    return validate(read_csv_checked(path), STATEMENTS_SCHEMA, path.name)


def load_market(path: Path | None = None) -> pd.DataFrame:
    """The embedded market table (market caps carry their own dates), validated."""
    path = path or DATA_DIR / "market.csv"
    return validate(read_csv_checked(path), MARKET_SCHEMA, path.name)


def load_universe(path: Path | None = None) -> pd.DataFrame:
    """The company universe: ticker, name, segment, subsegment, country, price currency."""
    path = path or DATA_DIR / "universe.csv"
    return validate(read_csv_checked(path), UNIVERSE_SCHEMA, path.name)


def load_fx(path: Path | None = None) -> pd.DataFrame:
    """The embedded FX table (USD per unit of currency, dated)."""
    path = path or DATA_DIR / "fx.csv"
    return validate(read_csv_checked(path), FX_SCHEMA, path.name)


def load_crosscheck(path: Path | None = None) -> pd.DataFrame:
    """Second-page values of compiled figures (``ticker, fiscal_year, field, value, source, note``)."""
    path = path or DATA_DIR / "crosscheck.csv"
    return validate(read_csv_checked(path), CROSSCHECK_SCHEMA, path.name)


def load_explanations(path: Path | None = None) -> pd.DataFrame:
    """Why a reported figure breaks an identity rule (``rule, ticker, fiscal_year, explanation``)."""
    path = path or DATA_DIR / "reference" / "explanations.csv"
    if not path.exists():
        return pd.DataFrame(columns=["rule", "ticker", "fiscal_year", "explanation"])
    return validate(read_csv_checked(path), EXPLANATIONS_SCHEMA, path.name)


def load_commitments(path: Path | None = None) -> pd.DataFrame:
    """Leases, purchase commitments, guarantees and SPV financing, one sourced row each (adjusted debt)."""
    path = path or DATA_DIR / "commitments.csv"
    return validate(read_csv_checked(path), COMMITMENTS_SCHEMA, path.name)


def load_useful_lives(path: Path | None = None) -> pd.DataFrame:
    """Disclosed useful lives of servers and network equipment, with the date each took effect."""
    path = path or DATA_DIR / "useful_lives.csv"
    return validate(read_csv_checked(path), USEFUL_LIVES_SCHEMA, path.name)


def load_servers(path: Path | None = None) -> pd.DataFrame:
    """Gross servers / network equipment and PP&E by fiscal year (statement row format, own field names)."""
    path = path or DATA_DIR / "ppe_servers.csv"
    frame = read_csv_checked(path)
    schema = STATEMENTS_SCHEMA.update_column("field", checks=[])
    return validate(frame, schema, path.name)


@lru_cache(maxsize=1)
def adjustment_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(commitments, useful lives, servers PP&E) from the shipped files, loaded once per process."""
    return load_commitments(), load_useful_lives(), load_servers()


@lru_cache(maxsize=1)
def embedded_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(statements, market, universe, fx) from the shipped files, loaded once per process."""
    return load_statements(), load_market(), load_universe(), load_fx()
