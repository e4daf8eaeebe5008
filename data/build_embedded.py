"""Rebuild the embedded data set from the sourced reference files.

Maintainer tool, not used at run time. Two inputs, both holding reported
figures only (one value per row with its source URL):

* the project's own compilation, ``data/reference/`` (owned and kept by
  Kosmos: ``fundamentals/*.csv``, ``crosscheck.csv``, ``market.csv``,
  ``fx.csv``, ``rejected.csv``), read from 10-K/20-F pages, SEC "R" pages, press-release
  statements and statement pages;
* the shared starting input ``../shared/reference/`` (first pass and
  ``*_fill.csv`` second pass; the first pass wins where both hold a value).

Precedence per (ticker, fiscal year, field): the project's value, else the
shared one. A displaced shared value is not thrown away: it becomes a
cross-check row (a second page for the same figure) in ``crosscheck.csv``, as
do the shared "Free Cash Flow" and "EBITDA" rows -- statement sites compute
those, filings do not report them, so Kosmos derives them and keeps the sites'
figures as cross-checks only -- and shared rows ``rejected.csv`` names with a
reason (a units slip, a non-GAAP figure). Nothing is filled, estimated or
derived here.

Outputs under ``data/``: ``fundamentals.csv``, ``crosscheck.csv``,
``market.csv``, ``fx.csv``, ``universe.csv``, ``deals.csv``,
``concentration.csv`` (the project's copies under ``data/reference/loop/`` when present, else the shared
ones), and the project's ``commitments.csv``, ``useful_lives.csv``, ``ppe_servers.csv``, ``results.csv``
(headline results, never scored) and ``not_reported.csv`` (lines a company's statements do not show) as
compiled, and ``manifest.json`` (row count and SHA-256 of
every file, checked by every loader; see :mod:`data.manifest`). Run ``python -m data.build_embedded [--reference DIR]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from data.manifest import count_rows, write_manifest

HERE = Path(__file__).resolve().parent
DEFAULT_REFERENCE = HERE.parent.parent / "shared" / "reference"
PROJECT_REFERENCE = HERE / "reference"

#: Listed loop counterparties the shared market files do not classify. Names and
#: countries are public listing facts, not figures.
LOOP_COUNTERPARTIES = [
    # ticker, name, segment, subsegment, country, price_currency
    ("NOK", "Nokia Oyj (ADR)", "networking", "telecom / AI-RAN equipment", "FI", "USD"),
    ("IREN", "IREN Limited", "cloud", "neocloud (AI cloud, former bitcoin miner)", "AU", "USD"),
    ("CORZ", "Core Scientific, Inc.", "cloud", "data-centre hosting", "US", "USD"),
    ("SFTBY", "SoftBank Group Corp. (ADR)", "cloud", "investment holding (Stargate funder)", "JP", "USD"),
]

STATEMENT_COLUMNS = ["ticker", "fiscal_year", "period_end", "currency", "field", "value", "source", "note"]
CROSSCHECK_COLUMNS = ["ticker", "fiscal_year", "field", "value", "source", "note"]
UNIVERSE_COLUMNS = ["ticker", "name", "segment", "subsegment", "country", "price_currency", "origin"]
MARKET_COLUMNS = ["ticker", "price_currency", "market_cap", "shares_outstanding", "as_of", "source", "note", "price",
                  "shares_as_of", "shares_source"]
FX_COLUMNS = ["currency", "usd_per_unit", "as_of", "source", "note"]
KEY = ["ticker", "fiscal_year", "field"]
#: lines statement sites compute rather than filings report: kept as cross-checks, never as figures
NOT_REPORTED_FIELDS = ("Free Cash Flow", "EBITDA")


def merge_first_pass_and_fill(first: pd.DataFrame, fill: pd.DataFrame | None) -> pd.DataFrame:
    """Combine a first-pass file with its fill file.

    A fill row is used only where the first pass has no value for the same
    (ticker, fiscal_year, field); nothing is averaged or interpolated. Exact
    duplicate keys within a file keep their first row.
    """
    first = first.dropna(subset=["value"]).drop_duplicates(KEY)
    if fill is None or fill.empty:
        return first
    fill = fill.dropna(subset=["value"]).drop_duplicates(KEY)
    known = first.set_index(KEY).index
    extra = fill[~fill.set_index(KEY).index.isin(known)]
    return pd.concat([first, extra], ignore_index=True)


def read_shared_statements(fund_dir: Path) -> pd.DataFrame:
    """Every shared first-pass file merged with its fill file."""
    frames = []
    for path in sorted(fund_dir.glob("*.csv")):
        if path.stem.endswith(("_market", "_fill")):
            continue
        fill_path = path.with_name(f"{path.stem}_fill.csv")
        first = pd.read_csv(path, dtype={"source": str})
        fill = pd.read_csv(fill_path, dtype={"source": str}) if fill_path.exists() else None
        frames.append(merge_first_pass_and_fill(first, fill))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=STATEMENT_COLUMNS)
    out["note"] = out["note"] if "note" in out else pd.NA
    return out[STATEMENT_COLUMNS]


def read_project_statements(project: Path) -> pd.DataFrame:
    """The project's compiled statement files (``fundamentals/*.csv``), duplicates refused."""
    paths = sorted((project / "fundamentals").glob("*.csv"))
    if not paths:
        return pd.DataFrame(columns=STATEMENT_COLUMNS)
    out = pd.concat([pd.read_csv(p, dtype={"source": str, "note": str}) for p in paths], ignore_index=True)
    dup = out[out.duplicated(KEY, keep=False)]
    if not dup.empty:
        raise ValueError(f"duplicate (ticker, fiscal_year, field) in data/reference/fundamentals:\n{dup[KEY]}")
    return out[STATEMENT_COLUMNS]


#: a total and the parts the project may compile instead of it (see metrics.financials.DERIVED_TOTALS)
TOTAL_PARTS = {
    "Current Debt": ("Commercial Paper", "Other Current Borrowings"),
    "Gross Profit": ("Cost Of Revenue",),
    "Cash Cash Equivalents And Short Term Investments": ("Cash And Cash Equivalents", "Other Short Term Investments"),
    "Reconciled Depreciation": ("Depreciation", "Amortization Of Intangibles"),
}


def split_rejected(rows: pd.DataFrame, rejected: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(kept, rejected rows as cross-check rows whose note starts "REJECTED: <reason>")."""
    if rejected is None or rejected.empty or rows.empty:
        return rows, pd.DataFrame(columns=CROSSCHECK_COLUMNS)
    why = rejected.set_index(KEY)["reason"]
    key = rows.set_index(KEY).index
    hit = key.isin(why.index)
    moved = rows[hit].copy()
    moved["note"] = "REJECTED: " + why.reindex(key[hit]).to_numpy()
    return rows[~hit], moved[CROSSCHECK_COLUMNS]


def merge_statements(project: pd.DataFrame, shared: pd.DataFrame,
                     rejected: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(statements, displaced): project rows win.

    A shared row is displaced (returned as a cross-check row, never dropped) when the project holds the
    same (ticker, year, field); when the project compiled the parts of a shared total for that year (the
    shared "Current Debt" is sometimes only the current portion of long-term debt, where the project has
    commercial paper and that portion); and when it is a line statement sites compute (FCF, EBITDA). A
    row of either source that ``rejected`` names (a units slip, a non-GAAP figure) becomes a cross-check
    row carrying the reason.
    """
    project, rejected_own = split_rejected(project, rejected)
    shared, rejected_shared = split_rejected(shared, rejected)
    not_reported = shared["field"].isin(NOT_REPORTED_FIELDS)
    displaced = shared.set_index(KEY).index.isin(project.set_index(KEY).index)
    year_key = ["ticker", "fiscal_year"]
    for total, parts in TOTAL_PARTS.items():
        hit = pd.MultiIndex.from_frame(project[project["field"].isin(parts)][year_key].drop_duplicates())
        displaced |= (shared["field"] == total).to_numpy() & pd.MultiIndex.from_frame(shared[year_key]).isin(hit)
    kept = shared[~displaced & ~not_reported]
    statements = pd.concat([project, kept], ignore_index=True)
    statements = statements.sort_values(["ticker", "field", "fiscal_year"]).reset_index(drop=True)
    moved = shared[displaced | not_reported].copy()
    moved["note"] = ("shared reference (second page); " + moved["note"].fillna("").astype(str)).str.rstrip("; ")
    return statements, pd.concat([moved[CROSSCHECK_COLUMNS], rejected_own, rejected_shared], ignore_index=True)


def loop_file(project: Path, reference: Path, name: str) -> Path:
    """``project/loop/<name>`` when the project keeps its own copy, else the shared ``reference/loop/<name>``."""
    own = project / "loop" / name
    return own if own.exists() else reference / "loop" / name


def build(reference: Path, out: Path, project: Path = PROJECT_REFERENCE) -> dict[str, int]:
    """Write the embedded files from ``project`` and ``reference`` into ``out``; return row counts."""
    fund_dir = reference / "fundamentals"
    shared = read_shared_statements(fund_dir)
    own = read_project_statements(project)
    rejected = pd.read_csv(project / "rejected.csv") if (project / "rejected.csv").exists() else None
    stmt, displaced = merge_statements(own, shared, rejected)

    crosscheck = [displaced]
    if (project / "crosscheck.csv").exists():
        crosscheck.insert(0, pd.read_csv(project / "crosscheck.csv", dtype={"source": str, "note": str})[CROSSCHECK_COLUMNS])
    xc = pd.concat(crosscheck, ignore_index=True).sort_values(KEY).reset_index(drop=True)

    markets = pd.concat(
        [pd.read_csv(p, dtype=str) for p in sorted(fund_dir.glob("*_market.csv"))], ignore_index=True
    )
    universe = markets[UNIVERSE_COLUMNS[:-1]].copy()
    universe["origin"] = "reference"
    extra = pd.DataFrame(LOOP_COUNTERPARTIES, columns=UNIVERSE_COLUMNS[:-1])
    extra["origin"] = "loop counterparty"
    extra = extra[~extra["ticker"].isin(universe["ticker"])]
    universe = pd.concat([universe, extra], ignore_index=True)[UNIVERSE_COLUMNS]

    # Market caps: the project's dated snapshot wins per ticker; every listing here trades in USD.
    shared_market = markets.rename(columns={"market_cap_usd": "market_cap"})
    shared_market["note"] = "shared reference"
    frames = [shared_market]
    if (project / "market.csv").exists():
        own_market = pd.read_csv(project / "market.csv", dtype=str).rename(columns={"market_cap_usd": "market_cap"})
        frames = [own_market, shared_market[~shared_market["ticker"].isin(own_market["ticker"])]]
    market = pd.concat(frames, ignore_index=True)
    market["price_currency"] = "USD"
    market = market.reindex(columns=MARKET_COLUMNS)  # price and the shares' date and page: only for a derived cap
    market = market[market["market_cap"].notna() | market["shares_outstanding"].notna()]

    fx = pd.DataFrame([("USD", 1.0, "2026-06-30", "identity (amounts already in US dollars)", pd.NA)],
                      columns=FX_COLUMNS)
    if (project / "fx.csv").exists():
        fx = pd.concat([fx, pd.read_csv(project / "fx.csv", dtype={"source": str})[FX_COLUMNS]], ignore_index=True)

    out.mkdir(parents=True, exist_ok=True)
    # Adjusted-debt and depreciation inputs: the project's own compiled tables, copied as they are.
    for name in ("commitments.csv", "useful_lives.csv", "ppe_servers.csv"):
        if (project / name).exists():
            pd.read_csv(project / name, dtype=str).to_csv(out / name, index=False)

    # Headline results of the newest fiscal years (shown, never scored) and the lines a company's statements
    # do not show at all: the project's own tables, copied as they are.
    for name in ("results.csv", "not_reported.csv"):
        if (project / name).exists():
            pd.read_csv(project / name, dtype=str).to_csv(out / name, index=False)

    # Loop tables: the project's own copies (re-sourced and marked, data/reference/loop/) when present, else the
    # shared starting input.
    deals = pd.read_csv(loop_file(project, reference, "deals.csv"), dtype=str)
    concentration = pd.read_csv(loop_file(project, reference, "concentration.csv"), dtype=str)

    stmt.to_csv(out / "fundamentals.csv", index=False)
    xc.to_csv(out / "crosscheck.csv", index=False)
    universe.to_csv(out / "universe.csv", index=False)
    market.to_csv(out / "market.csv", index=False)
    fx.to_csv(out / "fx.csv", index=False)
    deals.to_csv(out / "deals.csv", index=False)
    concentration.to_csv(out / "concentration.csv", index=False)
    write_manifest(out)  # row counts and checksums every loader checks (data/manifest.json)
    return {
        "fundamentals": len(stmt),
        "from the project's compilation": int(len(own)),
        "crosscheck": len(xc),
        "universe": len(universe),
        "market": len(market),
        "fx": len(fx),
        "deals": len(deals),
        "concentration": len(concentration),
        **{name[:-4]: count_rows((out / name).read_bytes()) for name in ("results.csv", "not_reported.csv")
           if (project / name).exists()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE, help="the shared reference folder")
    parser.add_argument("--project", type=Path, default=PROJECT_REFERENCE, help="the project's own compilation")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    counts = build(args.reference, args.out, args.project)
    for name, n in counts.items():
        print(f"{name}: {n} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
