"""``python -m data validate [--json]`` and ``python -m data refresh [TICKER ...]``."""

from __future__ import annotations

import argparse
import json
import sys

from data.schema import REQUIRED_FIELDS, DataValidationError


def validation_report() -> dict:
    """Coverage of the embedded data set; raises DataValidationError on schema errors."""
    from data.embedded import embedded_tables

    statements, market, universe, fx = embedded_tables()
    per_company = []
    for row in universe.itertuples():
        rows = statements[statements["ticker"] == row.ticker]
        years = sorted(int(y) for y in rows["fiscal_year"].unique())
        fields = set(rows["field"]) & set(REQUIRED_FIELDS)
        per_company.append({
            "ticker": row.ticker, "segment": row.segment, "fiscal_years": years,
            "n_fiscal_years": len(years), "values": int(len(rows)),
            "required_fields_present": round(len(fields) / len(REQUIRED_FIELDS), 3),
            "has_market_cap": bool(market.loc[market["ticker"] == row.ticker, "market_cap"].notna().any()),
        })
    with_data = [c for c in per_company if c["values"] > 0]
    unsourced = int((statements["source"].fillna("").str.strip() == "").sum()) + int(
        (market["source"].fillna("").str.strip() == "").sum())
    segments = universe.groupby("segment")["ticker"].count().to_dict()
    two_years = sum(1 for c in with_data if c["n_fiscal_years"] >= 2)
    return {
        "companies": len(universe),
        "segments": segments,
        "companies_with_figures": len(with_data),
        "companies_without_figures": [c["ticker"] for c in per_company if c["values"] == 0],
        "share_with_2plus_fiscal_years": {
            "of_companies_with_figures": round(two_years / len(with_data), 3) if with_data else 0.0,
            "of_all_companies": round(two_years / len(universe), 3) if len(universe) else 0.0,
        },
        "required_fields_present_mean": round(
            sum(c["required_fields_present"] for c in with_data) / len(with_data), 3) if with_data else 0.0,
        "values": int(len(statements)),
        "unsourced_values": unsourced,
        "fx_currencies": sorted(fx["currency"]),
        "per_company": per_company,
    }


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        report = validation_report()
    except DataValidationError as exc:
        if args.json:
            print(json.dumps({"ok": False, "errors": [str(i) for i in exc.issues]}, indent=2))
        else:
            print(str(exc), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"ok": True, **report}, indent=2))
        return 0
    print(f"Companies: {report['companies']} over {len(report['segments'])} segments {report['segments']}")
    print(f"With embedded figures: {report['companies_with_figures']}; without (fetched live): "
          f"{', '.join(report['companies_without_figures']) or 'none'}")
    s = report["share_with_2plus_fiscal_years"]
    print(f">= 2 fiscal years: {s['of_companies_with_figures']:.0%} of companies with figures "
          f"({s['of_all_companies']:.0%} of all)")
    print(f"Required fields present (mean): {report['required_fields_present_mean']:.0%}")
    print(f"Values: {report['values']}; without a source: {report['unsourced_values']}")
    for c in report["per_company"]:
        yrs = ",".join(str(y) for y in c["fiscal_years"]) or "-"
        print(f"  {c['ticker']:<6} {c['segment']:<11} FY {yrs:<20} fields {c['required_fields_present']:.0%}")
    return 0 if report["unsourced_values"] == 0 else 1


def cmd_refresh(args: argparse.Namespace) -> int:
    from data.loader import refresh

    tickers = [t.upper() for t in args.tickers] or None

    def progress(done: int, total: int, ticker: str) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {ticker:<8}")
        sys.stderr.flush()
        if done == total:
            sys.stderr.write("\n")

    result = refresh(tickers, progress=progress if sys.stderr.isatty() or args.progress else None)
    if result.offline and not result.good_tickers:
        reason = next(iter(result.outcomes.values())).message if result.outcomes else "unreachable"
        print(f"Offline: Yahoo Finance cannot be reached ({reason}); the cache was left unchanged.")
        return 3
    print(result.summary())
    return 0 if result.good_tickers else 4


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data", description="Kosmos data tools")
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="validate the embedded data set and report coverage")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_validate)
    r = sub.add_parser("refresh", help="live refresh from Yahoo Finance into the local cache")
    r.add_argument("tickers", nargs="*", help="tickers (default: the whole universe)")
    r.add_argument("--progress", action="store_true", help="show the progress bar even when not a TTY")
    r.set_defaults(func=cmd_refresh)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
