"""Rebuild the embedded data set from the sourced reference files.

Maintainer tool, not used at run time. It copies reported figures from
``../shared/reference/`` (facts compiled from filings) into the project's own
files under ``data/``, without filling, estimating or deriving any value:

* ``fundamentals.csv`` -- one reported value per row with its period end,
  currency and source URL. Where a ``<group>_fill.csv`` (second pass) and the
  first-pass ``<group>.csv`` hold the same ticker, year and field, the
  first-pass value wins unless it is absent.
* ``market.csv`` -- market capitalisation and shares with their own dates.
* ``universe.csv`` -- classification of every company in ``*_market.csv`` plus
  the listed loop counterparties that have no embedded figures.
* ``deals.csv`` / ``concentration.csv`` -- the circular-financing web.

Run ``python -m data.build_embedded [--reference DIR]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
DEFAULT_REFERENCE = HERE.parent.parent / "shared" / "reference"

#: Listed loop counterparties without embedded figures: classification only,
#: fetched live. Names and countries are public listing facts, not figures.
LOOP_COUNTERPARTIES = [
    # ticker, name, segment, subsegment, country, price_currency
    ("NOK", "Nokia Oyj (ADR)", "networking", "telecom / AI-RAN equipment", "FI", "USD"),
    ("IREN", "IREN Limited", "cloud", "neocloud (AI cloud, former bitcoin miner)", "AU", "USD"),
    ("CORZ", "Core Scientific, Inc.", "cloud", "data-centre hosting", "US", "USD"),
    ("SFTBY", "SoftBank Group Corp. (ADR)", "cloud", "investment holding (Stargate funder)", "JP", "USD"),
]

STATEMENT_COLUMNS = ["ticker", "fiscal_year", "period_end", "currency", "field", "value", "source"]
UNIVERSE_COLUMNS = ["ticker", "name", "segment", "subsegment", "country", "price_currency", "origin"]
MARKET_COLUMNS = ["ticker", "price_currency", "market_cap", "shares_outstanding", "as_of", "source"]


def merge_first_pass_and_fill(first: pd.DataFrame, fill: pd.DataFrame | None) -> pd.DataFrame:
    """Combine a first-pass file with its fill file.

    A fill row is used only where the first pass has no value for the same
    (ticker, fiscal_year, field); nothing is averaged or interpolated.
    """
    first = first.dropna(subset=["value"])
    if fill is None or fill.empty:
        return first
    fill = fill.dropna(subset=["value"])
    key = ["ticker", "fiscal_year", "field"]
    known = first.set_index(key).index
    extra = fill[~fill.set_index(key).index.isin(known)]
    return pd.concat([first, extra], ignore_index=True)


def build(reference: Path, out: Path) -> dict[str, int]:
    """Write the embedded files from ``reference`` into ``out``; return row counts."""
    fund_dir = reference / "fundamentals"
    statements = []
    for path in sorted(fund_dir.glob("*.csv")):
        if path.stem.endswith(("_market", "_fill")):
            continue
        fill_path = path.with_name(f"{path.stem}_fill.csv")
        first = pd.read_csv(path, dtype={"source": str})
        fill = pd.read_csv(fill_path, dtype={"source": str}) if fill_path.exists() else None
        statements.append(merge_first_pass_and_fill(first, fill))
    stmt = pd.concat(statements, ignore_index=True)[STATEMENT_COLUMNS]
    stmt = stmt.sort_values(["ticker", "field", "fiscal_year"]).reset_index(drop=True)

    markets = pd.concat(
        [pd.read_csv(p, dtype=str) for p in sorted(fund_dir.glob("*_market.csv"))], ignore_index=True
    )
    universe = markets[UNIVERSE_COLUMNS[:-1]].copy()
    universe["origin"] = "reference"
    extra = pd.DataFrame(LOOP_COUNTERPARTIES, columns=UNIVERSE_COLUMNS[:-1])
    extra["origin"] = "loop counterparty"
    extra = extra[~extra["ticker"].isin(universe["ticker"])]
    universe = pd.concat([universe, extra], ignore_index=True)[UNIVERSE_COLUMNS]

    # Reference market caps are in USD and every listing here trades in USD.
    market = markets.rename(columns={"market_cap_usd": "market_cap"})[MARKET_COLUMNS]
    market = market[market["market_cap"].notna() | market["shares_outstanding"].notna()]

    loop_dir = reference / "loop"
    deals = pd.read_csv(loop_dir / "deals.csv", dtype=str)
    concentration = pd.read_csv(loop_dir / "concentration.csv", dtype=str)

    out.mkdir(parents=True, exist_ok=True)
    stmt.to_csv(out / "fundamentals.csv", index=False)
    universe.to_csv(out / "universe.csv", index=False)
    market.to_csv(out / "market.csv", index=False)
    deals.to_csv(out / "deals.csv", index=False)
    concentration.to_csv(out / "concentration.csv", index=False)
    return {
        "fundamentals": len(stmt),
        "universe": len(universe),
        "market": len(market),
        "deals": len(deals),
        "concentration": len(concentration),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    counts = build(args.reference, args.out)
    for name, n in counts.items():
        print(f"{name}: {n} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
