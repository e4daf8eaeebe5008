"""Load and validate the embedded data set shipped under ``data/``.

The embedded set is the offline default: reported annual figures with a
source URL per value, compiled from filings (see ``data/build_embedded.py``).
Nothing here fills, estimates or derives a value.

Every file passes three gates before use: its bytes must be those recorded in
``data/manifest.json`` (:mod:`data.manifest`: a truncated, header-only or edited
file is refused), its rows the pandera schema (:mod:`data.validation`), and the
values the app scores the plausibility bounds (:func:`data.identities.plausible_tables`:
refused values are left out and listed in :func:`embedded_refused`).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from data.manifest import PACKAGE_DIR, data_dir, listed_in_manifest, read_checked
from data.schema import DataValidationError, ValidationIssue, empty_not_reported, empty_results

log = logging.getLogger(__name__)

#: the package folder (the shipped files); loaders read from :func:`data.manifest.data_dir`, which is this
#: folder unless ``$KOSMOS_DATA_DIR`` points elsewhere
DATA_DIR = PACKAGE_DIR
EMBEDDED_SOURCE_LABEL = "Embedded data set"
#: bump when a schema or the cached frame's shape changes, so old cache entries are ignored
VALIDATED_CACHE_VERSION = "2"
_RULES = PACKAGE_DIR / "validation.py"


def read_csv_checked(path: Path, raw: bytes | None = None, **kwargs) -> pd.DataFrame:
    """Read a CSV (``raw``: its bytes, if already read) as strings; unreadable or malformed files raise a
    located error."""
    try:
        source = io.BytesIO(raw) if raw is not None else path
        return pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""], **kwargs)
    except FileNotFoundError:
        raise DataValidationError([ValidationIssue(path.name, None, None, "file not found")]) from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataValidationError(
            [ValidationIssue(path.name, None, None, f"cannot parse CSV: {exc}")]
        ) from None


def read_embedded_csv(path: Path) -> pd.DataFrame:
    """A data file read as strings after its bytes passed the manifest check (:func:`data.manifest.check_file`)."""
    return read_csv_checked(path, read_checked(path))


def validated_csv(path: Path, schema: str) -> pd.DataFrame:
    """``path`` checked against the manifest, read and validated against the named schema of :mod:`data.validation`.

    A validated frame is kept on disk under the Kosmos cache folder as Parquet (a
    format that cannot run code), keyed by the file's bytes and the schemas'
    source, with the SHA-256 of the Parquet bytes in its name, checked before the
    entry is parsed. A restart on unchanged files skips validation (and the
    pandera import: about a third of a second of every cold start); any change
    to the file, a missing, corrupt or unreadable entry means validating again.
    """
    raw = read_checked(path)
    key = hashlib.sha256(raw + _RULES.read_bytes() + f"{schema}:{VALIDATED_CACHE_VERSION}".encode()).hexdigest()[:24]
    folder = _validated_dir()
    cached = _read_entry(folder, path.stem, key)
    if cached is not None:
        return cached
    from data.validation import SCHEMAS, validate  # pandera: only when something is validated

    frame = validate(read_csv_checked(path, raw), SCHEMAS[schema], path.name)
    _write_entry(folder, path.stem, key, frame)
    return frame


def _validated_dir() -> Path:
    from data.cache import default_cache_dir

    return default_cache_dir() / "validated"


def _read_entry(folder: Path, stem: str, key: str) -> pd.DataFrame | None:
    """The cached frame ``<stem>-<key>.<sha256>.parquet`` if its bytes hash to the name, else None.

    A corrupt, truncated or unreadable entry (any error, OverflowError and
    MemoryError included) is deleted and reported as a miss: the caller validates again.
    """
    try:
        entries = sorted(folder.glob(f"{stem}-{key}.*.parquet"))
    except OSError:
        return None
    for entry in entries:
        try:
            raw = entry.read_bytes()
            if hashlib.sha256(raw).hexdigest() != entry.name.rsplit(".", 2)[-2]:
                raise ValueError("checksum mismatch")
            return pd.read_parquet(io.BytesIO(raw))
        except Exception as exc:  # noqa: BLE001 - a bad entry only costs a validation
            log.warning("validated-table cache entry %s ignored: %s", entry.name, type(exc).__name__)
            _remove(entry)
    return None


def _write_entry(folder: Path, stem: str, key: str, frame: pd.DataFrame) -> None:
    """Store ``frame`` as ``<stem>-<key>.<sha256>.parquet`` (atomically) and prune older entries of ``stem``."""
    try:
        buf = io.BytesIO()
        frame.to_parquet(buf)
        raw = buf.getvalue()
        folder.mkdir(parents=True, exist_ok=True)
        entry = folder / f"{stem}-{key}.{hashlib.sha256(raw).hexdigest()}.parquet"
        tmp = folder / f".{entry.name}.{os.getpid()}.{threading.get_ident()}.tmp"  # one per writer
        tmp.write_bytes(raw)
        os.replace(tmp, entry)  # atomic: a reader sees no entry or the whole new one
    except Exception as exc:  # noqa: BLE001 - a read-only or full cache folder only costs the next start a validation
        log.info("validated-table cache not written: %s", exc)
        return
    _prune(folder, stem, keep=entry)


def _prune(folder: Path, stem: str, keep: Path) -> None:
    """Remove every other entry of ``stem`` (older keys) and any pickle left by older versions."""
    for old in [*folder.glob(f"{stem}-*.parquet"), *folder.glob(f"{stem}-*.pkl")]:
        if old.name != keep.name:
            _remove(old)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def load_statements(path: Path | None = None) -> pd.DataFrame:
    """The embedded statements table (canonical schema), validated."""
    path = path or data_dir() / "fundamentals.csv"
    return validated_csv(path, "statements")


def load_market(path: Path | None = None) -> pd.DataFrame:
    """The embedded market table (market caps carry their own dates), validated."""
    path = path or data_dir() / "market.csv"
    return validated_csv(path, "market")


def load_universe(path: Path | None = None) -> pd.DataFrame:
    """The company universe: ticker, name, segment, subsegment, country, price currency."""
    path = path or data_dir() / "universe.csv"
    return validated_csv(path, "universe")


def load_fx(path: Path | None = None) -> pd.DataFrame:
    """The embedded FX table (USD per unit of currency, dated)."""
    path = path or data_dir() / "fx.csv"
    return validated_csv(path, "fx")


def load_crosscheck(path: Path | None = None) -> pd.DataFrame:
    """Second-page values of compiled figures (``ticker, fiscal_year, field, value, source, note``)."""
    path = path or data_dir() / "crosscheck.csv"
    return validated_csv(path, "crosscheck")


def load_explanations(path: Path | None = None) -> pd.DataFrame:
    """Why a reported figure breaks an identity rule (``rule, ticker, fiscal_year, explanation``)."""
    path = path or data_dir() / "reference" / "explanations.csv"
    if not path.exists() and not listed_in_manifest(path):
        return pd.DataFrame(columns=["rule", "ticker", "fiscal_year", "explanation"])
    return validated_csv(path, "explanations")


def load_commitments(path: Path | None = None) -> pd.DataFrame:
    """Leases, purchase commitments, guarantees and SPV financing, one sourced row each (adjusted debt)."""
    path = path or data_dir() / "commitments.csv"
    return validated_csv(path, "commitments")


def load_useful_lives(path: Path | None = None) -> pd.DataFrame:
    """Disclosed useful lives of servers and network equipment, with the date each took effect."""
    path = path or data_dir() / "useful_lives.csv"
    return validated_csv(path, "useful_lives")


def load_servers(path: Path | None = None) -> pd.DataFrame:
    """Gross servers / network equipment and PP&E by fiscal year (statement row format, own field names)."""
    path = path or data_dir() / "ppe_servers.csv"
    return validated_csv(path, "servers")


def load_results(path: Path | None = None) -> pd.DataFrame:
    """Headline results of newest fiscal years (``data/results.csv``), each with its stated precision, release
    date, page and kind of page; shown next to the scores, never fed into one. An empty table (same columns)
    when the data set has none."""
    path = path or data_dir() / "results.csv"
    if not path.exists() and not listed_in_manifest(path):
        return empty_results()
    return validated_csv(path, "results")


def load_not_reported(path: Path | None = None) -> pd.DataFrame:
    """Lines a company's statements do not show at all, by fiscal-year range, with the reason and the page
    (``ticker, field, from_year, to_year, reason, source``); an empty table when the data set has none."""
    path = path or data_dir() / "not_reported.csv"
    if not path.exists() and not listed_in_manifest(path):
        return empty_not_reported()
    return validated_csv(path, "not_reported")


@lru_cache(maxsize=1)
def display_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(headline results, not-reported lines) from the shipped files, loaded once per process."""
    return load_results(), load_not_reported()


@lru_cache(maxsize=1)
def adjustment_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(commitments, useful lives, servers PP&E) from the shipped files, loaded once per process."""
    return load_commitments(), load_useful_lives(), load_servers()


@dataclass(frozen=True)
class CheckedTables:
    """The embedded statements, market, universe and FX after the plausibility bounds, and what they refused."""

    statements: pd.DataFrame
    market: pd.DataFrame
    universe: pd.DataFrame
    fx: pd.DataFrame
    refused: pd.DataFrame  # columns: data.identities.REFUSED_COLUMNS
    explanations: pd.DataFrame  # why a far-off value is real (kept by the plausibility bounds)


@lru_cache(maxsize=1)
def checked_tables() -> CheckedTables:
    """The embedded tables, validated and inside the plausibility bounds (:func:`data.identities.plausible_tables`),
    loaded once per process. A refused value is left out of the tables and listed in ``refused``."""
    from data.identities import plausible_tables

    statements, market, fx, explanations = load_statements(), load_market(), load_fx(), load_explanations()
    statements, market, fx, refused = plausible_tables(statements, market, fx, explanations)
    return CheckedTables(statements.reset_index(drop=True), market.reset_index(drop=True), load_universe(),
                         fx.reset_index(drop=True), refused, explanations)


def embedded_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(statements, market, universe, fx) from the shipped files, as the app scores them (refused values left out)."""
    t = checked_tables()
    return t.statements, t.market, t.universe, t.fx


def embedded_refused() -> pd.DataFrame:
    """Values of the embedded files refused by the plausibility bounds, each with its reason."""
    return checked_tables().refused


def clear_caches() -> None:
    """Forget the tables loaded in this process (after the data folder or its files changed)."""
    checked_tables.cache_clear()
    adjustment_tables.cache_clear()
    display_tables.cache_clear()
