"""Load and validate the embedded data set shipped under ``data/``.

The embedded set is the offline default: reported annual figures with a
source URL per value, compiled from filings (see ``data/build_embedded.py``).
Nothing here fills, estimates or derives a value.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from functools import lru_cache
from pathlib import Path

import pandas as pd

from data.schema import DataValidationError, ValidationIssue

DATA_DIR = Path(__file__).resolve().parent
EMBEDDED_SOURCE_LABEL = "Embedded data set"
#: bump when a schema or the cached frame's shape changes, so old cache entries are ignored
VALIDATED_CACHE_VERSION = "1"


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


def validated_csv(path: Path, schema: str) -> pd.DataFrame:
    """``path`` read and validated against the named schema of :mod:`data.validation`.

    A validated frame is kept on disk under the Kosmos cache folder, keyed by the
    file's bytes and the schemas' source, so a restart on unchanged files skips validation (and the
    pandera import: about a third of a second of every cold start). Any change
    to the file, a missing or unreadable cache entry means validating again.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataValidationError([ValidationIssue(path.name, None, None, "file not found")]) from None
    rules = (DATA_DIR / "validation.py").read_bytes()  # a changed schema never reuses an old verdict
    key = hashlib.sha1(raw + rules + f"{schema}:{VALIDATED_CACHE_VERSION}".encode()).hexdigest()[:20]
    entry = _validated_dir() / f"{path.stem}-{key}.pkl"
    try:
        with open(entry, "rb") as fh:
            return pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
        pass
    from data.validation import SCHEMAS, validate  # pandera: only when something is validated

    frame = validate(read_csv_checked(path), SCHEMAS[schema], path.name)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(frame, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, entry)  # atomic: a reader sees the old entry or the whole new one
    except OSError:
        pass  # a read-only cache folder only costs the next start a validation
    return frame


def _validated_dir() -> Path:
    from data.cache import default_cache_dir

    return default_cache_dir() / "validated"


def load_statements(path: Path | None = None) -> pd.DataFrame:
    """The embedded statements table (canonical schema), validated."""
    path = path or DATA_DIR / "fundamentals.csv"
    return validated_csv(path, "statements")


def load_market(path: Path | None = None) -> pd.DataFrame:
    """The embedded market table (market caps carry their own dates), validated."""
    path = path or DATA_DIR / "market.csv"
    return validated_csv(path, "market")


def load_universe(path: Path | None = None) -> pd.DataFrame:
    """The company universe: ticker, name, segment, subsegment, country, price currency."""
    path = path or DATA_DIR / "universe.csv"
    return validated_csv(path, "universe")


def load_fx(path: Path | None = None) -> pd.DataFrame:
    """The embedded FX table (USD per unit of currency, dated)."""
    path = path or DATA_DIR / "fx.csv"
    return validated_csv(path, "fx")


def load_crosscheck(path: Path | None = None) -> pd.DataFrame:
    """Second-page values of compiled figures (``ticker, fiscal_year, field, value, source, note``)."""
    path = path or DATA_DIR / "crosscheck.csv"
    return validated_csv(path, "crosscheck")


def load_explanations(path: Path | None = None) -> pd.DataFrame:
    """Why a reported figure breaks an identity rule (``rule, ticker, fiscal_year, explanation``)."""
    path = path or DATA_DIR / "reference" / "explanations.csv"
    if not path.exists():
        return pd.DataFrame(columns=["rule", "ticker", "fiscal_year", "explanation"])
    return validated_csv(path, "explanations")


def load_commitments(path: Path | None = None) -> pd.DataFrame:
    """Leases, purchase commitments, guarantees and SPV financing, one sourced row each (adjusted debt)."""
    path = path or DATA_DIR / "commitments.csv"
    return validated_csv(path, "commitments")


def load_useful_lives(path: Path | None = None) -> pd.DataFrame:
    """Disclosed useful lives of servers and network equipment, with the date each took effect."""
    path = path or DATA_DIR / "useful_lives.csv"
    return validated_csv(path, "useful_lives")


def load_servers(path: Path | None = None) -> pd.DataFrame:
    """Gross servers / network equipment and PP&E by fiscal year (statement row format, own field names)."""
    path = path or DATA_DIR / "ppe_servers.csv"
    return validated_csv(path, "servers")


@lru_cache(maxsize=1)
def adjustment_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(commitments, useful lives, servers PP&E) from the shipped files, loaded once per process."""
    return load_commitments(), load_useful_lives(), load_servers()


@lru_cache(maxsize=1)
def embedded_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(statements, market, universe, fx) from the shipped files, loaded once per process."""
    return load_statements(), load_market(), load_universe(), load_fx()
