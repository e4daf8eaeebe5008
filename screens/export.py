"""Exports (no Streamlit): the screener CSV, CSV safe for spreadsheets, and the 1600x900 card PNG.

The app and the CLI build the card and the CSV here, so the picture shown in
the app, its download and ``python -m screens card T --png`` are the same bytes,
and the screener's download and ``python -m screens score --csv`` the same table.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from metrics import format as fmt
from metrics.checks import PILLARS

#: a cell starting with one of these is treated as a formula by Excel / Sheets / LibreOffice (OWASP)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EMBEDDED_LABEL = "Embedded data set"


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


# --------------------------------------------------------------------------- the screener table and its CSV

def months_since_period_end(period_end: pd.Series, today: pd.Timestamp | None = None) -> pd.Series:
    """Whole calendar months from each scored year's period end to ``today`` (how old the scored figures are;
    :func:`metrics.format.whole_months`, the rule the sidebar and the card use too)."""
    today = pd.Timestamp.now() if today is None else pd.Timestamp(today)
    return fmt.whole_months(period_end, today).astype("Float64")


def data_gaps(table: pd.DataFrame) -> pd.Series:
    """Per company, the pillars with checks not on file: 'Balance sheet: 2 of 6 on file (provisional); ...'
    ('' when nothing is missing)."""
    from screens.charts import PILLAR_SHORT

    joined = pd.Series("", index=table.index, dtype=object)
    for p in PILLARS:
        status = table[f"{p}_status"]
        on_file = table[f"{p}_on_file"].fillna(0).astype(int).astype(str)
        total = table[f"{p}_applicable"].fillna(0).astype(int).astype(str)
        part = PILLAR_SHORT[p] + ": " + on_file + " of " + total + " on file"
        part = (part + np.where(status == "insufficient data", " (provisional)", "")).where(
            status.isin(["partial", "insufficient data"]), "")
        joined = joined + np.where((joined != "") & (part != ""), "; ", "") + part
    return joined


def _values_by_year(panel: pd.DataFrame | None, tickers: list[str]) -> dict[str, dict[int, dict[str, float]]]:
    """ticker -> fiscal year -> statement label -> value from the scored panel (FCF also as 'Free Cash Flow'),
    for the growth of a results release against a scored year; one pass over the panel's rows."""
    out: dict[str, dict[int, dict[str, float]]] = {}
    if panel is None or not tickers:
        return out
    sub = panel[panel.index.get_level_values("ticker").isin(tickers)]
    sub = sub.select_dtypes("number")
    cols, arr = list(sub.columns), sub.to_numpy(dtype=float)
    for (t, fy), row in zip(sub.index, arr):
        vals = {c: float(v) for c, v in zip(cols, row) if np.isfinite(v)}
        if "fcf" in vals:
            vals["Free Cash Flow"] = vals["fcf"]
        out.setdefault(t, {})[int(fy)] = vals
    return out


def newest_results_text(table: pd.DataFrame, results: pd.DataFrame | None,
                        panel: pd.DataFrame | None = None) -> pd.Series:
    """Per company, 'FY2026 results (release, rounded): revenue USD 215.9 bn (+65.2 % vs FY2025), …' ('release' or
    the other kinds of page the figures were read from) when headline results of the scored year or newer are on
    file (with "· FY2026 not on file" when a newer year is due); else, when the table's ``newest_due_year``
    (:func:`metrics.engine.newest_due`) is newer than the scored year, 'FY2026 results (year to 2026-06-30) not on
    file'; '' otherwise. Growth from ``panel`` (the scored
    context's (ticker, fiscal year) x statement-label table). Never scored."""
    from screens.charts import due_not_on_file, newest_results, results_line

    out = pd.Series("", index=table.index, dtype=object)
    due = table[["newest_due_year", "newest_due_period_end"]] if "newest_due_year" in table else None
    if due is not None:  # a year due that is on file neither as statements nor (yet, see below) as results
        for t, year, end, scored in zip(table.index, due["newest_due_year"], due["newest_due_period_end"],
                                        table["fiscal_year"]):
            card = {"newest_due_year": None if fmt.is_missing(year) else int(year),
                    "fiscal_year": None if fmt.is_missing(scored) else int(scored)}
            if (gap := due_not_on_file(card, None)) is not None:
                out[t] = f"FY{gap} results (year to {end}) not on file"
    if results is None or results.empty:
        return out
    by_ticker = dict(tuple(results[results["ticker"].isin(table.index)].groupby("ticker")))
    values = _values_by_year(panel, list(by_ticker))
    for t, rows in sorted(by_ticker.items()):  # a few dozen companies at most
        year = table.at[t, "fiscal_year"]
        res = newest_results(rows, t, None if fmt.is_missing(year) else int(year), table.at[t, "currency"],
                             values.get(t, {}))
        if not res:
            continue
        due_year = due.at[t, "newest_due_year"] if due is not None else None
        gap = due_not_on_file({"newest_due_year": None if fmt.is_missing(due_year) else int(due_year),
                               "fiscal_year": None if fmt.is_missing(year) else int(year)}, res)
        out[t] = results_line(res) + (f" · FY{gap} not on file" if gap else "")
    return out


def screen_frame(table: pd.DataFrame, results: pd.DataFrame | None = None, panel: pd.DataFrame | None = None,
                 today: pd.Timestamp | None = None) -> pd.DataFrame:
    """The ranked table as numbers in stated units, one row per company, for CSV: scores 0–100 (1 decimal),
    market cap in USD bn, margins in %, net debt / EBITDA as a multiple, age of the scored year in months,
    inputs on file in %, plus the words the table shows (grade, range, data gaps, newest results)."""
    t = table
    out = pd.DataFrame(index=t.index)
    out["rank"] = t["rank"].astype("Int64")
    out["name"] = t["name"]
    out["segment"] = t["segment"]
    out["subsegment"] = t["subsegment"]
    out["grade"] = t["grade"]
    out["composite_score"] = t["composite"].astype(float)
    out["composite_low_score"] = t["composite_low"].astype(float)
    out["composite_high_score"] = t["composite_high"].astype(float)
    out["provisional_note"] = t["provisional_note"].fillna("")
    for p in PILLARS:
        out[f"{p}_score"] = t[p].astype(float)
        out[f"{p}_high_score"] = t[f"{p}_high"].astype(float)
        out[f"{p}_status"] = t[f"{p}_status"]
    out["data_gaps"] = data_gaps(t)
    out["market_cap_usd_bn"] = t["market_cap_usd"].astype(float) / 1e9
    out["market_cap_as_of"] = t["market_cap_as_of"].astype("string").fillna("")
    out["market_cap_basis"] = np.where(t["market_cap_usd"].isna(), "",
                                       np.where(t["market_cap_derived"], "derived: price × shares", "stated"))
    out["scored_fiscal_year"] = t["fiscal_year"].astype("Int64")
    out["period_end"] = t["period_end"].astype("string").str[:10].fillna("")
    out["scored_year_age_months"] = months_since_period_end(t["period_end"], today).astype(float)
    out["coverage_pct"] = t["coverage"].astype(float) * 100
    out["checks_on_file"] = t["checks_on_file"].astype("Int64")
    out["checks_applicable"] = t["checks_applicable"].astype("Int64")
    out["currency"] = t["currency"].fillna("")
    out["net_debt_to_ebitda_x"] = t["net_debt_to_ebitda"].astype(float)
    out["fcf_margin_pct"] = t["fcf_margin"].astype(float) * 100
    out["gross_margin_pct"] = t["gross_margin"].astype(float) * 100
    out["on_cycle"] = t["on_cycle"].astype(bool)
    out["cycle_count"] = t["cycle_count"].astype("Int64") if "cycle_count" in t else pd.NA
    out["derived_inputs"] = t["derived_inputs"].fillna("")
    out["newest_results"] = newest_results_text(t, results, panel)
    return fmt.round_for_csv(out.reset_index().rename(columns={"index": "ticker"}))


def screen_csv(table: pd.DataFrame, results: pd.DataFrame | None = None, panel: pd.DataFrame | None = None) -> bytes:
    """The screener's CSV (the app's download and ``python -m screens score --csv``)."""
    return safe_csv(screen_frame(table, results, panel))


# --------------------------------------------------------------------------- the card

def source_label(dataset, ticker: str, scored=None, now: pd.Timestamp | None = None) -> str:
    """Where a company's figures come from: the embedded set, Yahoo Finance with the fetch time and its age
    ("Yahoo Finance, fetched 2026-12-03 14:05 UTC (3 h ago)"; for a company ``scored`` on the trailing basis
    the trailing rows' fetch time), or none."""
    from data.loader import YAHOO_SOURCE_LABEL
    from screens.model import fetch_times

    comp = scored.ctx.companies if scored is not None else pd.DataFrame()
    basis_label = str(comp.at[ticker, "basis_label"]) if "basis_label" in comp and ticker in comp.index else ""

    prov = getattr(dataset, "provenance", None)
    row = prov[prov["ticker"] == ticker] if prov is not None else pd.DataFrame()
    if not row.empty and row.iloc[0]["origin"] == "yahoo":
        first = row.iloc[0]
        ts = fetch_times(row, pd.Series([basis_label], index=[ticker])).iloc[0]
        now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
        now = now.tz_localize("UTC") if now.tzinfo is None else now
        ago = fmt.hours_ago((now - ts).total_seconds() / 3600)
        stale = " (stale)" if bool(first["stale"]) else ""
        return f"{YAHOO_SOURCE_LABEL}, fetched {ts.strftime('%Y-%m-%d %H:%M')} UTC ({ago}){stale}"
    if not row.empty and row.iloc[0]["origin"] == "none":
        return "No figures (not in the embedded set; refresh to fetch live)"
    return EMBEDDED_LABEL


def results_of(dataset) -> pd.DataFrame:
    """The dataset's headline results of newest fiscal years (an empty frame until the data set has them)."""
    res = getattr(dataset, "results", None)
    return res if isinstance(res, pd.DataFrame) else pd.DataFrame()


def card_and_figure(scored, ticker: str, weights: Mapping[str, float] | None = None, relative: bool = False,
                    dataset=None):
    """(card dict with its history, the 1600x900 card figure) of one company: the one builder behind the app's
    card image, its download and the CLI's PNG."""
    from metrics.engine import history, scorecard
    from screens.charts import scorecard_figure

    label = source_label(dataset, ticker, scored) if dataset is not None else EMBEDDED_LABEL
    card = scorecard(scored, ticker, weights, relative, label, with_history=True)
    loop = scored.ctx.loop
    fig = scorecard_figure(card, history(scored, ticker), loop.graph if loop is not None else None,
                           scored.ctx.companies["segment"].to_dict(), loop.deals if loop is not None else None,
                           results_of(dataset))
    return card, fig


def png_bytes(fig, width: int = 1600, height: int = 900) -> bytes:
    """``fig`` as PNG bytes of exactly width x height, drawn by kaleido in the machine's Chromium."""
    return fig.to_image(format="png", width=width, height=height, scale=1)


def write_png(fig, path: str | Path, width: int = 1600, height: int = 900) -> Path:
    """Write ``fig`` as a PNG of exactly width x height (the same bytes :func:`png_bytes` gives the app)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(fig, width, height))
    return path
