"""Exports: CSV safe for spreadsheets, and the 1600x900 PNG through kaleido (no Streamlit)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: a cell starting with one of these is treated as a formula by Excel / Sheets / LibreOffice (OWASP)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe.

    Numbers are left alone (a negative number is not text); only strings change.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_csv(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV of ``df`` with every text cell (and header) neutralised against formula injection."""
    out = df.copy()
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise_cell)
    # RFC 4180 line ends: cells holding a bare \r are then quoted too, so no cell can split a row
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def write_png(fig, path: str | Path, width: int = 1600, height: int = 900) -> Path:
    """Write ``fig`` as a PNG of exactly width x height with kaleido (uses the machine's Chromium)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_image(str(path), format="png", width=width, height=height, scale=1)
    return path
