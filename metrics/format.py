"""Number formatting shared by explanations, tables and charts (no Streamlit)."""

from __future__ import annotations

import math
from typing import Any


def is_missing(x: Any) -> bool:
    """True for None, NaN and non-numbers."""
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def money(x: Any, currency: str | None = "USD") -> str:
    """'USD 34.8 bn', 'USD 512.0 m', 'n.a.' for missing; sign kept."""
    if is_missing(x):
        return "n.a."
    v = float(x)
    cur = f"{currency} " if currency else ""
    a = abs(v)
    sign = "-" if v < 0 else ""
    if a >= 1e12:
        return f"{sign}{cur}{a / 1e12:.2f} tn"
    if a >= 1e9:
        return f"{sign}{cur}{a / 1e9:.1f} bn"
    if a >= 1e6:
        return f"{sign}{cur}{a / 1e6:.1f} m"
    return f"{sign}{cur}{a:,.0f}"


def pct(x: Any, digits: int = 1) -> str:
    """0.466 -> '46.6%'."""
    if is_missing(x):
        return "n.a."
    return f"{float(x) * 100:.{digits}f}%"


def times(x: Any, digits: int = 1) -> str:
    """4.4 -> '4.4x'."""
    if is_missing(x):
        return "n.a."
    return f"{float(x):.{digits}f}x"


def number(x: Any, digits: int = 2) -> str:
    if is_missing(x):
        return "n.a."
    return f"{float(x):.{digits}f}"


def pp(x: Any, digits: int = 1) -> str:
    """0.031 -> '3.1 pp' (percentage points)."""
    if is_missing(x):
        return "n.a."
    return f"{float(x) * 100:.{digits}f} pp"


def format_value(x: Any, unit: str) -> str:
    """Format a check value by its unit ('ratio', 'x', 'percent', 'pp', 'USD', 'count', 'score')."""
    if unit == "percent":
        return pct(x)
    if unit == "x":
        return times(x)
    if unit == "pp":
        return pp(x)
    if unit == "count":
        return "n.a." if is_missing(x) else f"{int(float(x))}"
    if unit in ("USD",):
        return money(x, "USD")
    return number(x)
