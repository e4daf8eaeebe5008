"""The circular-financing data: deals and disclosed concentration, with validation.

``deals.csv`` -- one sourced deal per row, money flowing payer -> payee:
``deal_id, announced, payer, payee, flow, amount_usd, amount_basis, term_years,
status, description, source``.

``concentration.csv`` -- disclosed customer shares of revenue, backlog (RPO)
totals and shares, stakes and contract values.

The embedded files are validated on load (errors name file, row and column).
A user upload in the deals schema is validated row by row: invalid rows are
returned with their reasons, valid rows are used for the session, and the
embedded files are never written.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from data.embedded import DATA_DIR, read_csv_checked
from data.schema import DataValidationError, ValidationIssue

DEAL_COLUMNS = ["deal_id", "announced", "payer", "payee", "flow", "amount_usd", "amount_basis",
                "term_years", "status", "description", "source"]
CONCENTRATION_COLUMNS = ["ticker", "period", "counterparty", "metric", "value", "unit", "source", "note"]
FLOWS = ("equity_investment", "compute_contract", "chip_supply", "custom_silicon", "warrant",
         "capacity_backstop", "loan_or_lease", "jv_commitment", "other")
MAX_AMOUNT_USD = 1e13  # USD 10 tn: larger is not a deal, it is a typo
MAX_TERM_YEARS = 50
MAX_UPLOAD_BYTES = 2_000_000
MAX_UPLOAD_ROWS = 5_000
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_NAME = re.compile(r"^[\w .&'()+\-/]{1,60}$", re.UNICODE)

#: phrases in a deal's description or basis that set its confidence flag
EXCLUDED_MARKERS = ("terminated", "treat as not executed", "not a cash flow", "no new cash")
LOW_MARKERS = ("unconfirmed", "non-binding", "stalled", "low confidence", "uncertain", "not confirmed",
               "estimated", "could not verify")


def parse_announced(text: str) -> pd.Timestamp | None:
    """'2025', '2025-09' or '2025-09-22' -> the first day of that period (None if invalid)."""
    if not isinstance(text, str) or not _DATE.match(text.strip()):
        return None
    parts = text.strip().split("-")
    try:
        return pd.Timestamp(int(parts[0]), int(parts[1]) if len(parts) > 1 else 1,
                            int(parts[2]) if len(parts) > 2 else 1)
    except ValueError:
        return None


def confidence_of(description: str, basis: str, status: str) -> str:
    """'excluded' (terminated, not executed, no cash), 'low', 'medium' ('up to', announced) or 'high'."""
    text = f"{description or ''} {basis or ''}".lower()
    if any(m in text for m in EXCLUDED_MARKERS) or (basis or "").lower().startswith("n/a"):
        return "excluded"
    if any(m in text for m in LOW_MARKERS):
        return "low"
    if (basis or "").lower().startswith("up to") or (status or "").lower() == "announced":
        return "medium"
    return "high"


def _to_float(x) -> float | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    s = str(x).strip().replace(",", "").replace("_", "")
    if s == "":
        return None
    return float(s)  # raises ValueError on garbage


@dataclass
class RowError:
    """One rejected upload row: 1-based line in the file, deal id if any, and why."""

    line: int
    deal_id: str
    reason: str


def validate_deals(raw: pd.DataFrame, file: str = "deals.csv") -> tuple[pd.DataFrame, list[RowError]]:
    """Check deals row by row; return (valid rows typed, errors).

    Rules: all columns present; deal_id non-empty and unique; announced is
    YYYY, YYYY-MM or YYYY-MM-DD; payer and payee are plain names (letters,
    digits, spaces, . & ' ( ) + - /, at most 60 characters) and differ; flow is
    one of the nine flow types; amount_usd empty or a number in [0, 10 tn];
    term_years empty or in (0, 50]; source non-empty.
    """
    missing = [c for c in DEAL_COLUMNS if c not in raw.columns]
    if missing:
        raise DataValidationError([ValidationIssue(file, None, c, "required column is missing") for c in missing])
    errors: list[RowError] = []
    rows = []
    seen: set[str] = set()
    for i, rec in enumerate(raw[DEAL_COLUMNS].to_dict("records")):
        line = i + 2
        rec = {k: ("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip())
               for k, v in rec.items()}
        did = rec["deal_id"]
        problems = []
        if not did:
            problems.append("deal_id is empty")
        elif did in seen:
            problems.append(f"duplicate deal_id {did!r}")
        when = parse_announced(rec["announced"])
        if when is None:
            problems.append(f"announced {rec['announced'][:20]!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
        for col in ("payer", "payee"):
            if not rec[col]:
                problems.append(f"{col} is empty")
            elif not _NAME.match(rec[col]):
                problems.append(f"{col} {rec[col][:30]!r} has characters not allowed in a party name")
        if rec["payer"] and rec["payer"] == rec["payee"]:
            problems.append("payer and payee are the same")
        if rec["flow"] not in FLOWS:
            problems.append(f"unknown flow type {rec['flow'][:30]!r} (expected one of {', '.join(FLOWS)})")
        amount = term = None
        try:
            amount = _to_float(rec["amount_usd"])
            if amount is not None and not (math.isfinite(amount) and 0 <= amount <= MAX_AMOUNT_USD):
                problems.append(f"amount_usd {rec['amount_usd'][:20]!r} is outside 0 – 10 tn")
        except ValueError:
            problems.append(f"amount_usd {rec['amount_usd'][:20]!r} is not a number")
        try:
            term = _to_float(rec["term_years"])
            if term is not None and not (math.isfinite(term) and 0 < term <= MAX_TERM_YEARS):
                problems.append(f"term_years {rec['term_years'][:20]!r} is outside (0, 50]")
        except ValueError:
            problems.append(f"term_years {rec['term_years'][:20]!r} is not a number")
        if not rec["source"]:
            problems.append("source is empty")
        if problems:
            errors.append(RowError(line, did[:40], "; ".join(problems)))
            continue
        seen.add(did)
        rows.append({**rec, "amount_usd": amount, "term_years": term, "announced_date": when,
                     "confidence": confidence_of(rec["description"], rec["amount_basis"], rec["status"])})
    cols = DEAL_COLUMNS + ["announced_date", "confidence"]
    valid = pd.DataFrame(rows, columns=cols)
    valid["amount_usd"] = pd.to_numeric(valid["amount_usd"], errors="coerce").astype(float)
    valid["term_years"] = pd.to_numeric(valid["term_years"], errors="coerce").astype(float)
    valid["announced_date"] = pd.to_datetime(valid["announced_date"])
    return valid, errors


@lru_cache(maxsize=1)
def load_deals(path: Path | None = None) -> pd.DataFrame:
    """The embedded deals, validated; any bad row is a data error naming file, line and column."""
    path = path or DATA_DIR / "deals.csv"
    valid, errors = validate_deals(read_csv_checked(path), path.name)
    if errors:
        raise DataValidationError([ValidationIssue(path.name, e.line - 2, None, e.reason) for e in errors])
    return valid


@lru_cache(maxsize=1)
def load_concentration(path: Path | None = None) -> pd.DataFrame:
    """The embedded concentration disclosures; value is numeric (NaN where not disclosed)."""
    path = path or DATA_DIR / "concentration.csv"
    raw = read_csv_checked(path)
    missing = [c for c in CONCENTRATION_COLUMNS if c not in raw.columns]
    if missing:
        raise DataValidationError([ValidationIssue(path.name, None, c, "required column is missing") for c in missing])
    issues = []
    values = pd.to_numeric(raw["value"], errors="coerce")
    for i in raw.index[raw["value"].notna() & values.isna()]:
        issues.append(ValidationIssue(path.name, int(i), "value", f"not a number: {raw.at[i, 'value']!r}"))
    for i in raw.index[raw["source"].fillna("").str.strip() == ""]:
        issues.append(ValidationIssue(path.name, int(i), "source", "source is empty"))
    for i in raw.index[raw["ticker"].fillna("").str.strip() == ""]:
        issues.append(ValidationIssue(path.name, int(i), "ticker", "ticker is empty"))
    if issues:
        raise DataValidationError(issues)
    out = raw.copy()
    out["value"] = values.astype(float)
    return out


def read_upload(data: bytes, name: str = "upload.csv") -> tuple[pd.DataFrame, list[RowError], str | None]:
    """Parse and validate an uploaded deals CSV.

    Returns (valid rows, row errors, file-level error message or None). Never
    raises: oversized files, wrong encodings and malformed CSV give a message.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        return _empty_deals(), [], f"{name} is {len(data) / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES / 1e6:.0f} MB."
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _empty_deals(), [], f"{name} is not UTF-8 text. Save it as CSV (UTF-8) and upload again."
    if "\x00" in text:
        return _empty_deals(), [], f"{name} looks like a binary file, not a CSV."
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""],
                          nrows=MAX_UPLOAD_ROWS + 1)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        return _empty_deals(), [], f"{name} could not be read as CSV: {str(exc)[:160]}"
    if len(raw) > MAX_UPLOAD_ROWS:
        return _empty_deals(), [], f"{name} has more than {MAX_UPLOAD_ROWS:,} rows; split it into smaller files."
    try:
        valid, errors = validate_deals(raw, name)
    except DataValidationError as exc:
        return _empty_deals(), [], "; ".join(str(i) for i in exc.issues)
    return valid, errors, None


def merge_deals(embedded: pd.DataFrame, uploaded: pd.DataFrame) -> pd.DataFrame:
    """Uploaded rows extend the embedded deals; an uploaded deal_id overrides the embedded one."""
    if uploaded.empty:
        return embedded
    kept = embedded[~embedded["deal_id"].isin(uploaded["deal_id"])]
    return pd.concat([kept, uploaded], ignore_index=True)


def _empty_deals() -> pd.DataFrame:
    return validate_deals(pd.DataFrame(columns=DEAL_COLUMNS))[0]
