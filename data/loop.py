"""The circular-financing data: deals and disclosed concentration, with validation.

``deals.csv`` -- one sourced deal per row, money flowing payer -> payee:
``deal_id, announced, payer, payee, flow, amount_usd, amount_basis, term_years,
status, description, source``.

``concentration.csv`` -- disclosed customer shares of revenue, backlog (RPO)
totals and shares, stakes and contract values.

The embedded files are validated on load (errors name file, row and column).
A user upload in the deals schema is validated row by row: invalid rows are
returned with their reasons, valid rows are used for the session, and the
embedded files are never written. An upload is bounded before pandas parses it
(2 MB, 30 columns, a 2,000-character header line, 1,000 rows) and after
(60 distinct parties, 600 payer -> payee flows), so the loop graph built
from it stays small; party names are matched regardless of case.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from data.embedded import read_embedded_csv
from data.manifest import data_dir
from data.schema import DataValidationError, ValidationIssue

DEAL_COLUMNS = ["deal_id", "announced", "payer", "payee", "flow", "amount_usd", "amount_basis",
                "term_years", "status", "description", "source"]
CONCENTRATION_COLUMNS = ["ticker", "period", "counterparty", "metric", "value", "unit", "source", "note"]
FLOWS = ("equity_investment", "compute_contract", "chip_supply", "custom_silicon", "warrant",
         "capacity_backstop", "loan_or_lease", "jv_commitment", "other")
MAX_AMOUNT_USD = 1e13  # USD 10 tn: larger is not a deal, it is a typo
MAX_TERM_YEARS = 50
MAX_UPLOAD_BYTES = 2_000_000
MAX_UPLOAD_ROWS = 1_000  # the embedded set has 80 deals
MAX_UPLOAD_PARTIES = 60  # distinct payers and payees in one upload (the embedded set has 26)
MAX_UPLOAD_FLOWS = 600  # distinct payer -> payee pairs in one upload (the embedded set has 60)
MAX_UPLOAD_COLUMNS = 30  # the deals schema has 11; checked on every line before pandas parses
MAX_HEADER_CHARS = 2_000  # the deals header is 104 characters; checked before pandas parses
MAX_UPLOAD_LINES = 20 * MAX_UPLOAD_ROWS  # physical lines (cells may span lines), checked before parsing
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_NAME = re.compile(r"^[\w .&'()+\-/]{1,60}$", re.UNICODE)
#: a plain ASCII decimal number (float() alone would also read Arabic-Indic and other digits)
_ASCII_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)

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
    """A number from a CSV cell ('1,000', '1e9'); None when empty; ValueError unless plain ASCII digits."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    s = str(x).strip().replace(",", "").replace("_", "")
    if s == "":
        return None
    if not _ASCII_NUMBER.fullmatch(s):
        raise ValueError(f"not a plain ASCII number: {s[:20]!r}")
    return float(s)


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
    term_years empty or in (0, 50] (numbers in ASCII digits only); source non-empty.
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
    path = path or data_dir() / "deals.csv"
    valid, errors = validate_deals(read_embedded_csv(path), path.name)  # manifest-checked first
    if errors:
        raise DataValidationError([ValidationIssue(path.name, e.line - 2, None, e.reason) for e in errors])
    return valid


@lru_cache(maxsize=1)
def load_concentration(path: Path | None = None) -> pd.DataFrame:
    """The embedded concentration disclosures; value is numeric (NaN where not disclosed)."""
    path = path or data_dir() / "concentration.csv"
    raw = read_embedded_csv(path)  # manifest-checked first
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


def upload_limits() -> str:
    """The upload limits in one sentence, for the page (shown before anything is uploaded)."""
    return (f"At most {MAX_UPLOAD_BYTES / 1e6:.0f} MB, {MAX_UPLOAD_ROWS:,} rows, {MAX_UPLOAD_PARTIES} distinct "
            f"parties, {MAX_UPLOAD_FLOWS} distinct payer → payee flows and {MAX_UPLOAD_COLUMNS} columns per file "
            f"(header line at most {MAX_HEADER_CHARS:,} characters); UTF-8. Party names are matched regardless of "
            "case (nvda → NVDA).")


@dataclass
class Upload:
    """An uploaded deals CSV, parsed and validated: valid rows, rejected rows, a file-level refusal, notices."""

    valid: pd.DataFrame
    errors: list[RowError] = field(default_factory=list)
    fatal: str | None = None
    notices: list[str] = field(default_factory=list)


def _refused(message: str) -> Upload:
    return Upload(_empty_deals(), [], message)


def _header_problem(text: str, name: str) -> str | None:
    """The header line's length and columns, checked on the raw text (a 300k-column header never reaches pandas)."""
    head = text[:MAX_HEADER_CHARS + 2].split("\n", 1)[0].rstrip("\r")
    if len(head) > MAX_HEADER_CHARS:
        return (f"{name}: the header line is longer than {MAX_HEADER_CHARS:,} characters; expected the "
                f"{len(DEAL_COLUMNS)} deals columns.")
    try:
        n = len(next(csv.reader([head]), []))
    except csv.Error as exc:
        return f"{name} could not be read as CSV: {str(exc)[:160]}"
    if n > MAX_UPLOAD_COLUMNS:
        return (f"{name}: the header has {n:,} columns; at most {MAX_UPLOAD_COLUMNS} "
                f"(the deals schema has {len(DEAL_COLUMNS)}).")
    return None


def _shape_problem(text: str, name: str) -> str | None:
    """Fields per line and the number of rows, counted with the csv module before pandas parses anything."""
    if text.count("\n") > MAX_UPLOAD_LINES:  # blank lines and multi-line cells: a line limit well above the rows'
        return f"{name} has more than {MAX_UPLOAD_LINES:,} lines; the limit is {MAX_UPLOAD_ROWS:,} rows."
    reader = csv.reader(io.StringIO(text))
    rows = 0
    try:
        for rec in reader:
            if len(rec) > MAX_UPLOAD_COLUMNS:
                return f"{name}: line {reader.line_num} has {len(rec):,} fields; at most {MAX_UPLOAD_COLUMNS}."
            rows += bool(rec)  # pandas skips blank lines too
            if rows > MAX_UPLOAD_ROWS + 1:  # + the header
                return f"{name} has more than {MAX_UPLOAD_ROWS:,} rows; split it into smaller files."
    except csv.Error as exc:  # e.g. a field longer than the csv module's limit (128 k characters)
        return f"{name} could not be read as CSV: {str(exc)[:160]}"
    return None


def canonical_party_names(raw: pd.DataFrame, known: Iterable[str] = ()) -> list[str]:
    """Match party names regardless of case, in place; return a notice naming what changed (or nothing).

    A name equal to a ``known`` one (listed tickers, parties of the embedded
    deals) but for case takes the known spelling ('nvda' -> 'NVDA'); other
    names spelled in several cases within the upload take the first spelling
    seen. So 'NVDA' and 'nvda' are one party, never two.
    """
    if "payer" not in raw.columns or "payee" not in raw.columns or raw.empty:
        return []
    canon = {k.casefold(): k for k in known}
    mapping: dict[str, str] = {}
    for cell in raw[["payer", "payee"]].to_numpy().ravel():  # row by row: payer, then payee
        name = cell.strip() if isinstance(cell, str) else ""
        if not _NAME.match(name):
            continue
        target = canon.setdefault(name.casefold(), name)
        if target != name:
            mapping[name] = target
    if not mapping:
        return []
    changed = 0
    for col in ("payer", "payee"):
        cells = list(raw[col])
        hits = [isinstance(v, str) and v.strip() in mapping for v in cells]
        changed += sum(hits)
        raw[col] = [mapping[v.strip()] if hit else v for v, hit in zip(cells, hits)]
    shown = ", ".join(f"{a} → {b}" for a, b in list(mapping.items())[:5]) + (" …" if len(mapping) > 5 else "")
    return [f"Party names matched regardless of case: {shown} ({changed} name(s) in the file changed)."]


def _graph_problem(valid: pd.DataFrame, name: str) -> str | None:
    """Distinct parties and payer -> payee flows of the valid rows, against the per-upload limits."""
    parties = set(valid["payer"]) | set(valid["payee"])
    if len(parties) > MAX_UPLOAD_PARTIES:
        return (f"{name} names {len(parties):,} distinct parties; the limit is {MAX_UPLOAD_PARTIES} per upload. "
                "Split it or keep the parties that matter.")
    flows = len(valid[["payer", "payee"]].drop_duplicates())
    if flows > MAX_UPLOAD_FLOWS:
        return f"{name} has {flows:,} distinct payer → payee flows; the limit is {MAX_UPLOAD_FLOWS} per upload."
    return None


def parse_upload(data: bytes, name: str = "upload.csv", known: Iterable[str] = ()) -> Upload:
    """Parse and validate an uploaded deals CSV (a pure function of its bytes and the known party names).

    Checks, cheapest first, each refusing the file with a message: size, UTF-8,
    binary content, header length and columns, fields per line and rows
    (these on the raw text, before pandas), CSV syntax, required columns, then
    row by row (:func:`validate_deals`, rejected rows listed), then distinct
    parties and flows. Party names are matched regardless of case
    (:func:`canonical_party_names`). Never raises.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        return _refused(f"{name} is {len(data) / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES / 1e6:.0f} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _refused(f"{name} is not UTF-8 text. Save it as CSV (UTF-8) and upload again.")
    if "\x00" in text:
        return _refused(f"{name} looks like a binary file, not a CSV.")
    problem = _header_problem(text, name) or _shape_problem(text, name)
    if problem:
        return _refused(problem)
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""],
                          nrows=MAX_UPLOAD_ROWS + 1)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        return _refused(f"{name} could not be read as CSV: {str(exc)[:160]}")
    if len(raw) > MAX_UPLOAD_ROWS:
        return _refused(f"{name} has more than {MAX_UPLOAD_ROWS:,} rows; split it into smaller files.")
    notices = canonical_party_names(raw, known)
    try:
        valid, errors = validate_deals(raw, name)
    except DataValidationError as exc:
        return _refused("; ".join(str(i) for i in exc.issues))
    problem = _graph_problem(valid, name)
    if problem:
        return _refused(problem)
    return Upload(valid, errors, None, notices)


def read_upload(data: bytes, name: str = "upload.csv",
                known: Iterable[str] = ()) -> tuple[pd.DataFrame, list[RowError], str | None]:
    """Parse and validate an uploaded deals CSV: (valid rows, row errors, file-level message or None).

    :func:`parse_upload` without its notices. Never raises: oversized files,
    wrong encodings, malformed CSV and uploads beyond the limits give a message.
    """
    up = parse_upload(data, name, known)
    return up.valid, up.errors, up.fatal


def merge_deals(embedded: pd.DataFrame, uploaded: pd.DataFrame) -> pd.DataFrame:
    """Uploaded rows extend the embedded deals; an uploaded deal_id overrides the embedded one."""
    if uploaded.empty:
        return embedded
    kept = embedded[~embedded["deal_id"].isin(uploaded["deal_id"])]
    return pd.concat([kept, uploaded], ignore_index=True)


def _empty_deals() -> pd.DataFrame:
    return validate_deals(pd.DataFrame(columns=DEAL_COLUMNS))[0]
