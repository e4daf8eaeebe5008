"""The one number format of Kosmos: tables, charts, the card image, explanations and CSV (no Streamlit).

Money reads "USD 268.6 bn" (or "268.6" under a header that names the unit,
"Amount (USD bn)"), multiples "3.5x", shares "46.6 %", changes "+5.1 pp" or
"+12.3 %"; negative numbers carry a true minus sign; nothing is ever printed in
scientific notation; a missing value is "n.a.", with its reason when one is
known ("n.a. (not on file)"). CSV keeps numbers as numbers, rounded to the
precision of their stated unit (:data:`CSV_DIGITS`).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

NA = "n.a."
MINUS = "−"
#: money scales: suffix -> factor
SCALES = {"tn": 1e12, "bn": 1e9, "m": 1e6, "": 1.0}
#: CSV columns are rounded by their unit suffix: decimals kept
CSV_DIGITS = {"_usd_bn": 1, "_bn": 1, "_pct": 1, "_x": 2, "_score": 1, "_months": 0}


def is_missing(x: Any) -> bool:
    """True for None, NaN, pandas NA and non-numbers."""
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def na(reason: str | None = None) -> str:
    """'n.a.' or 'n.a. (reason)': the one word for a value that cannot be shown."""
    reason = (reason or "").strip().rstrip(".")
    return f"{NA} ({reason})" if reason else NA


def _signed(v: float, text: str, plus: bool = False) -> str:
    """Prefix ``text`` (the absolute value, formatted) with a minus sign, or a plus when asked."""
    if v < 0 and text.strip("0.,") != "":
        return MINUS + text
    return ("+" + text) if plus and v > 0 else text


def scale_of(x: Any) -> str:
    """The money scale that keeps ``x`` readable: 'tn', 'bn', 'm' or '' (units)."""
    a = 0.0 if is_missing(x) else abs(float(x))
    for suffix, factor in SCALES.items():
        if a >= factor:
            return suffix
    return ""


def column_scale(values: Any) -> str:
    """One scale for a whole column of money amounts ('bn' for USD 1.2 bn … 268.6 bn; 'm' below 1 bn)."""
    s = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").abs().dropna()
    if s.empty:
        return "bn"
    top = scale_of(s.median())
    return "bn" if top in ("tn", "bn") else ("m" if top == "m" else "")


def amount(x: Any, scale: str = "bn", digits: int = 1) -> str:
    """The number of a money amount in ``scale`` without its unit (the header names it): 268.6."""
    if is_missing(x):
        return NA
    v = float(x) / SCALES[scale]
    digits = 0 if scale == "" else digits
    return _signed(v, f"{abs(v):,.{digits}f}")


def money(x: Any, currency: str | None = "USD", digits: int = 1) -> str:
    """'USD 34.8 bn', 'USD 512.0 m', 'USD 4.64 tn', 'USD −3.1 bn'; 'n.a.' for missing."""
    if is_missing(x):
        return NA
    v = float(x)
    cur = f"{currency} " if currency else ""
    scale = scale_of(v)
    if scale == "tn":
        digits = max(digits, 2)
    num = amount(v, scale, digits)
    return f"{cur}{num} {scale}".rstrip() if scale else f"{cur}{num}"


def unit_header(label: str, currency: str | None, scale: str = "bn") -> str:
    """Column header naming the unit its cells share: 'Amount (USD bn)'."""
    unit = " ".join(u for u in (currency or "", scale) if u)
    return f"{label} ({unit})" if unit else label


def pct(x: Any, digits: int = 1) -> str:
    """0.466 -> '46.6 %' (a share)."""
    if is_missing(x):
        return NA
    v = float(x) * 100
    return _signed(v, f"{abs(v):,.{digits}f}") + " %"


def change_pct(x: Any, digits: int = 1) -> str:
    """0.123 -> '+12.3 %' (growth, signed)."""
    if is_missing(x):
        return NA
    v = float(x) * 100
    return _signed(v, f"{abs(v):,.{digits}f}", plus=True) + " %"


def pp(x: Any, digits: int = 1, signed: bool = False) -> str:
    """0.031 -> '3.1 pp' (percentage points); ``signed`` gives '+3.1 pp' for changes."""
    if is_missing(x):
        return NA
    v = float(x) * 100
    return _signed(v, f"{abs(v):.{digits}f}", plus=signed) + " pp"


def times(x: Any, digits: int = 1) -> str:
    """4.4 -> '4.4x' (a multiple)."""
    if is_missing(x):
        return NA
    v = float(x)
    return _signed(v, f"{abs(v):,.{digits}f}") + "x"


def net_debt_multiple(ratio: Any, net_cash: bool = False) -> str:
    """Net debt / EBITDA as shown: '2.1x' ('−0.4x' = net cash with EBITDA on file); 'net cash' when net debt
    is zero or negative and there is no multiple (EBITDA not on file: the check still passes); else 'n.a.'."""
    if is_missing(ratio) and net_cash:
        return "net cash"
    return times(ratio)


def number(x: Any, digits: int = 2) -> str:
    """A plain number with thousands separators: 0.88, 1,234.50."""
    if is_missing(x):
        return NA
    v = float(x)
    return _signed(v, f"{abs(v):,.{digits}f}")


def score(x: Any) -> str:
    """A 0–100 score as a whole number ('73'), 'n.a.' when missing."""
    return NA if is_missing(x) else f"{float(x):.0f}"


def score_range(low: Any, high: Any) -> str:
    """'52–81' (missing checks as fails – as passes), one number when both agree, 'n.a.' when unknown."""
    if is_missing(low) or is_missing(high):
        return NA
    lo, hi = round(float(low)), round(float(high))
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def fiscal_year(y: Any) -> str:
    """2025 -> 'FY2025'; 'n.a.' when missing."""
    return NA if is_missing(y) else f"FY{int(float(y))}"


def months_between(start: Any, end: Any) -> int | None:
    """Whole calendar months from ``start`` to ``end`` (dates), None when either is missing.

    A month counts once its day of the month is reached: 2025-06-30 -> 2025-07-30 is 1 month, -> 2025-07-29 is
    0 months; never negative. The one rule for "months since the period end" (see :func:`whole_months`)."""
    try:
        a, b = pd.Timestamp(start), pd.Timestamp(end)
    except (TypeError, ValueError):
        return None
    if pd.isna(a) or pd.isna(b):
        return None
    return int(whole_months(pd.Series([a]), b).iloc[0])


def whole_months(start: pd.Series, end: Any) -> pd.Series:
    """:func:`months_between` for a column of dates up to one ``end`` date (the formula lives here): nullable
    Int64 whole months (<NA> where a date is missing or unreadable)."""
    b = pd.Timestamp(end)
    b = b.tz_localize(None) if b.tzinfo else b
    a = pd.to_datetime(start, errors="coerce")
    if getattr(a.dt, "tz", None) is not None:
        a = a.dt.tz_localize(None)
    months = (b.year - a.dt.year) * 12 + (b.month - a.dt.month) - (a.dt.day > b.day).astype(int)
    return months.clip(lower=0).astype("Int64")


def age(months: Any) -> str:
    """11 -> '11 months', 1 -> '1 month'; 'n.a.' when missing."""
    if is_missing(months):
        return NA
    m = int(months)
    return f"{m} month" if m == 1 else f"{m} months"


def hours_ago(hours: Any) -> str:
    """Time since a fetch in words: 0.4 -> 'less than an hour ago', 3.2 -> '3 h ago', 50 -> '2 days ago'."""
    if is_missing(hours):
        return NA
    h = max(float(hours), 0.0)
    if h < 1:
        return "less than an hour ago"
    if h < 48:
        return f"{int(h)} h ago"
    return f"{int(h // 24)} days ago"


def precision(step: Any, currency: str | None = None) -> str:
    """The rounding a release states: 1e8 -> 'rounded to 0.1 bn', 1e6 -> 'rounded to 1 m', '' when exact.

    Text (a release's own words, e.g. 'nearest 0.1 bn') is passed through.
    """
    try:
        v = float(step)
    except (TypeError, ValueError):
        text = str(step or "").strip()
        return text if not text or text.startswith("rounded") else f"rounded to {text}"
    if math.isnan(v):
        return ""
    if v <= 1:
        return "exact"
    scale = "bn" if v >= 1e8 else ("m" if v >= 1e5 else "")
    num = f"{v / SCALES[scale]:g}"
    return f"rounded to {num} {scale}".rstrip() if scale else f"rounded to {num}"


def format_value(x: Any, unit: str) -> str:
    """Format a check value by its unit ('ratio', 'x', 'percent', 'pp', 'USD', 'count'; a 'score' such as
    Altman Z'' keeps two decimals)."""
    if unit == "percent":
        return pct(x)
    if unit == "x":
        return times(x)
    if unit == "pp":
        return pp(x)
    if unit == "count":
        return NA if is_missing(x) else f"{int(float(x)):,}"
    if unit in ("USD",):
        return money(x, "USD")
    return number(x)


def text_column(values: pd.Series, fmt, *args: Any) -> pd.Series:
    """``fmt`` (a function of this module) over a column; object dtype, 'n.a.' for missing values."""
    return pd.Series([fmt(v, *args) for v in values.to_numpy(dtype=object)], index=values.index, dtype=object)


def csv_digits(column: str) -> int | None:
    """Decimals a CSV column keeps, from its unit suffix ('_usd_bn' 1, '_pct' 1, '_x' 2, ...); None = as is."""
    for suffix, digits in CSV_DIGITS.items():
        if column.endswith(suffix):
            return digits
    return None


def round_for_csv(df: pd.DataFrame) -> pd.DataFrame:
    """Round every float column of ``df`` to the precision its unit suffix states (no 15-digit floats)."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            digits = csv_digits(str(col))
            out[col] = out[col].round(4 if digits is None else digits)
            if digits == 0:
                out[col] = out[col].astype("Int64")
    return out


def join_and(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c' ('' for none)."""
    items = list(items)
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
