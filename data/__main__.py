"""``python -m data validate [--json]`` and ``python -m data refresh [TICKER ...]``."""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from data.schema import DataValidationError


#: done-when thresholds of the data issue
MIN_COVERAGE = 0.95
MAX_MARKET_WINDOW_DAYS = 30


def validation_report() -> dict:
    """Coverage, identity checks and cross-checks of the embedded set; raises DataValidationError on schema errors.

    Coverage is measured on each company's scoring year with the scoring rules
    themselves (totals derived from parts count as present), so the entry point
    reads :mod:`metrics.financials`; the data layer below it does not.
    """
    from data.embedded import (adjustment_tables, embedded_refused, embedded_tables, load_crosscheck, load_explanations,
                               load_not_reported, load_results)
    from data.identities import crosscheck_report, describe_refused, explained, identity_violations, source_kind
    from data.loop import load_concentration, load_deals
    from data.manifest import data_dir, read_manifest, verify
    from metrics import financials as F

    mismatches = verify(data_dir())  # every file against the manifest at once, before anything is read
    if mismatches:
        raise DataValidationError(mismatches)
    statements, market, universe, fx = embedded_tables()
    crosscheck, explanations = load_crosscheck(), load_explanations()
    adjustment_tables(), load_deals(), load_concentration()  # validated too (schema errors raise)
    results, not_reported = load_results(), load_not_reported()
    refused = embedded_refused()
    panel = F.build_panel(statements)
    scoring = F.scoring_rows(panel)
    coverage = F.input_coverage(scoring)
    caps = market.assign(**F.market_caps(market)[["market_cap", "market_cap_derived"]])  # stated, else price × shares
    caps = caps.dropna(subset=["market_cap"]).set_index("ticker")
    per_company = []
    for row in universe.itertuples():
        rows = statements[statements["ticker"] == row.ticker]
        years = sorted(int(y) for y in rows["fiscal_year"].unique())
        entry = {"ticker": row.ticker, "segment": row.segment, "fiscal_years": years, "n_fiscal_years": len(years),
                 "values": int(len(rows)), "scoring_year": None, "latest_fiscal_year": None,
                 "statements_complete": False, "coverage": 0.0, "missing_inputs": list(F.SCORING_INPUTS),
                 "market_cap_usd": None, "market_cap_as_of": None, "scoring_year_source_kinds": None}
        if row.ticker in scoring.index:
            s = scoring.loc[row.ticker]
            entry.update(scoring_year=int(s["fiscal_year"]), latest_fiscal_year=int(s["latest_fiscal_year"]),
                         statements_complete=bool(s["complete"]), coverage=round(float(coverage[row.ticker]), 3),
                         missing_inputs=[f for f in F.SCORING_INPUTS if pd.isna(s.get(f))])
            if bool(s["complete"]):
                kinds = rows.loc[rows["fiscal_year"] == int(s["fiscal_year"]), "source"].map(source_kind)
                entry["scoring_year_source_kinds"] = {k: int(n) for k, n in kinds.value_counts().items()}
        if row.ticker in caps.index:
            entry.update(market_cap_usd=float(caps.at[row.ticker, "market_cap"]),
                         market_cap_as_of=str(caps.at[row.ticker, "as_of"]))
        per_company.append(entry)
    with_data = [c for c in per_company if c["values"] > 0]

    rejected = crosscheck[crosscheck["note"].fillna("").str.contains("REJECTED: ")]
    pairs = explained(identity_violations(statements, crosscheck), explanations)
    violations = [{**v.as_dict(), "explanation": why} for v, why in pairs]
    unexplained = [v for v in violations if not v["explanation"]]
    scored_years = panel.reset_index()[["ticker", "fiscal_year"]]
    limit = scored_years["ticker"].map(scoring["fiscal_year"])
    xc = crosscheck_report(statements, crosscheck, scored_years[scored_years["fiscal_year"] <= limit])

    window = market_cap_window(caps["as_of"])
    window["derived_from_price_and_shares"] = sorted(caps.index[caps["market_cap_derived"].astype(bool)])
    shown = newest_year_shown(statements, scoring, results, list(universe["ticker"]))
    ratio_checks = published_ratio_checks(panel)
    unsourced = int((statements["source"].fillna("").str.strip() == "").sum()) + int(
        (market["source"].fillna("").str.strip() == "").sum())
    two_years = sum(1 for c in with_data if c["n_fiscal_years"] >= 2)
    done = {
        "all_companies_have_figures": len(with_data) == len(universe),
        "two_fiscal_years_for_all": two_years == len(universe),
        "coverage_95pct_for_all": all(c["coverage"] >= MIN_COVERAGE for c in per_company),
        "no_unsourced_values": unsourced == 0,
        "no_unexplained_identity_violations": not unexplained,
        "market_caps_within_30_days": window["companies_with_market_cap"] == len(universe)
        and not window["outside_best_window"],
        "newest_year_complete_or_headline_results_for_all": not shown["not_on_file"],
    }
    implausible = [{"table": r.table, "ticker": r.ticker,
                    "fiscal_year": None if pd.isna(r.fiscal_year) else int(r.fiscal_year), "field": r.field,
                    "value": float(r.value), "reason": r.reason, "source": r.source, "text": describe_refused(r)}
                   for r in refused.itertuples()]
    conflicts = not_reported_conflicts(statements, not_reported)
    errors = unsourced + len(unexplained) + len(implausible) + len(conflicts)
    return {
        "errors": errors,
        "data_errors": [],  # file-level errors (manifest, schema): the report is not made when there are any
        "companies": len(universe),
        "segments": universe.groupby("segment")["ticker"].count().to_dict(),
        "companies_with_figures": len(with_data),
        "companies_without_figures": [c["ticker"] for c in per_company if c["values"] == 0],
        "share_with_2plus_fiscal_years": {
            "of_companies_with_figures": round(two_years / len(with_data), 3) if with_data else 0.0,
            "of_all_companies": round(two_years / len(universe), 3) if len(universe) else 0.0,
        },
        "coverage_of_scoring_inputs": {
            "mean": round(sum(c["coverage"] for c in per_company) / len(per_company), 3) if per_company else 0.0,
            "companies_at_or_above_95pct": sum(c["coverage"] >= MIN_COVERAGE for c in per_company),
        },
        "values": int(len(statements)),
        "unsourced_values": unsourced,
        "identity_violations": {"total": len(violations), "explained": len(violations) - len(unexplained),
                                "unexplained": len(unexplained), "list": violations},
        "cross_checks": xc,
        "rejected_values": [{"ticker": r.ticker, "fiscal_year": int(r.fiscal_year), "field": r.field,
                             "value": float(r.value), "source": r.source, "reason": r.note}
                            for r in rejected.drop_duplicates(["ticker", "fiscal_year", "field"]).itertuples()],
        "market_cap_window": window,
        "published_ratio_checks": ratio_checks,
        "implausible_values": implausible,
        "rounded_values": rounded_report(statements),
        "source_kinds_of_scoring_year_values": scoring_year_source_kinds(statements, scoring, universe),
        "results": results_summary(results, scoring),
        "newest_year_shown": shown,
        "not_reported": {"lines": int(len(not_reported)), "companies": sorted(set(not_reported["ticker"])),
                         "conflicts_with_values_on_file": conflicts},
        "fx_currencies": sorted(fx["currency"]),
        # every file was read and validated above; rows as the manifest records them
        "tables": {name: entry["rows"] for name, entry in read_manifest(data_dir())["files"].items()},
        "done_when": done,
        "per_company": per_company,
    }


def rounded_report(statements: pd.DataFrame) -> dict:
    """Values that look rounded (:func:`data.identities.rounded_values`), counted, by rule, with the context."""
    from data.identities import BILLION, ROUNDED_RULE, rounded_values

    listed = rounded_values(statements)
    value = pd.to_numeric(statements["value"], errors="coerce")
    big = value.abs() >= BILLION
    return {
        "count": int(len(listed)), "rule": ROUNDED_RULE,
        "by_rule": {k: int(n) for k, n in listed["rule"].value_counts().items()},
        "billion_scale_values": int(big.sum()), "billion_scale_multiples_of_10m": int((big & (value % 1e7 == 0)).sum()),
        "list": [{"ticker": r.ticker, "fiscal_year": int(r.fiscal_year), "field": r.field, "value": float(r.value),
                  "step": float(r.step), "rule": r.rule, "source": r.source} for r in listed.itertuples()],
    }


def scoring_year_source_kinds(statements: pd.DataFrame, scoring: pd.DataFrame, universe: pd.DataFrame) -> dict:
    """Share of the values of each company's scoring year (its latest fiscal year with an income statement, a
    cash-flow statement and a balance-sheet total on file) by the kind of page they were read from
    (:func:`data.identities.source_kind`)."""
    from data.identities import source_kind_shares

    complete = scoring[scoring["complete"].astype(bool)]["fiscal_year"]
    in_year = statements["fiscal_year"].astype(int).to_numpy() == statements["ticker"].map(complete).to_numpy()
    out = source_kind_shares(statements[in_year])
    return {"company_years": int(len(complete)), **out,
            "companies_without_a_scoring_year": sorted(set(universe["ticker"]) - set(complete.index))}


def results_summary(results: pd.DataFrame, scoring: pd.DataFrame) -> dict:
    """Headline results on file (shown, never scored): rows, companies, kinds of page, rows newer than the
    scored year."""
    scored = results["ticker"].map(scoring["fiscal_year"]) if not scoring.empty else pd.Series(dtype=float)
    newer = results[results["fiscal_year"].astype(float) > scored.astype(float)]
    return {"rows": int(len(results)), "companies": int(results["ticker"].nunique()),
            "by_kind": {k: int(n) for k, n in results["kind"].value_counts().items()},
            "rows_newer_than_the_scoring_year": int(len(newer)),
            "companies_with_newer_results": sorted(set(newer["ticker"]))}


def newest_year_shown(statements: pd.DataFrame, scoring: pd.DataFrame, results: pd.DataFrame,
                      tickers: list[str], as_of: pd.Timestamp | str | None = None) -> dict:
    """Issue 16's card check: per company, the newest fiscal year whose results are due by ``as_of`` (today when
    None; :func:`metrics.engine.newest_due`) and how its card shows it: ``complete`` (the scored year is that year
    or newer), ``headline results`` (a results row of that year or newer is on file, shown never scored) or ``not
    on file`` (the card says "FY2026 results (year to ...) not on file")."""
    from metrics.engine import newest_due
    from metrics.financials import newest_year_on_file

    index = pd.Index(tickers, name="ticker")
    due = newest_due(statements, index, as_of)
    newest_results = pd.to_numeric(results["fiscal_year"], errors="coerce").groupby(results["ticker"]).max()
    rows = {}
    for t in tickers:
        year = due.at[t, "newest_due_year"]
        year = None if pd.isna(year) else int(year)
        scored = scoring["fiscal_year"].get(t) if t in scoring.index else None
        complete = t in scoring.index and bool(scoring.at[t, "complete"])
        res_year = int(newest_results[t]) if t in newest_results.index and not pd.isna(newest_results[t]) else None
        shown = newest_year_on_file(year, None if scored is None or pd.isna(scored) else int(scored), complete,
                                    res_year)
        rows[t] = {"newest_due_year": year, "period_end": due.at[t, "newest_due_period_end"], "shown": shown}
    missing = [t for t, r in rows.items() if r["shown"] == "not on file"]
    return {"as_of": pd.Timestamp(as_of if as_of is not None else pd.Timestamp.now()).strftime("%Y-%m-%d"),
            "complete": sum(r["shown"] == "complete" for r in rows.values()),
            "headline_results": sum(r["shown"] == "headline results" for r in rows.values()),
            "not_on_file": [f"{t} FY{rows[t]['newest_due_year']}" if rows[t]["newest_due_year"] else t
                            for t in missing],
            "per_company": rows}


def not_reported_conflicts(statements: pd.DataFrame, not_reported: pd.DataFrame) -> list[dict]:
    """Values on file for a line ``not_reported.csv`` says the company's statements do not show (one is wrong)."""
    out = []
    for r in not_reported.itertuples():
        hit = statements[(statements["ticker"] == r.ticker) & (statements["field"] == r.field)
                         & statements["fiscal_year"].astype(int).between(int(r.from_year), int(r.to_year))]
        out += [{"ticker": r.ticker, "fiscal_year": int(h.fiscal_year), "field": r.field, "value": float(h.value),
                 "source": h.source, "not_reported_source": r.source} for h in hit.itertuples()]
    return out


def market_cap_window(as_of: pd.Series, days: int = MAX_MARKET_WINDOW_DAYS) -> dict:
    """The ``days``-long window holding the most market-cap dates, and the tickers outside it.

    ``as_of``: market-cap dates indexed by ticker (YYYY-MM-DD; a partial date counts from its first day).
    """
    dates = pd.to_datetime(as_of, errors="coerce", format="mixed").dropna().sort_values()
    out = {"companies_with_market_cap": int(len(as_of)), "first": None, "last": None, "best_window": [None, None],
           "inside_best_window": 0, "outside_best_window": sorted(as_of.index)}
    if dates.empty:
        return out
    counts = [(int(((dates >= d) & (dates <= d + pd.Timedelta(days=days))).sum()), d) for d in dates]
    n, start = max(counts, key=lambda c: (c[0], -c[1].value))
    end = start + pd.Timedelta(days=days)
    inside = dates[(dates >= start) & (dates <= end)].index
    out.update(first=str(dates.min().date()), last=str(dates.max().date()),
               best_window=[str(start.date()), str(end.date())], inside_best_window=n,
               outside_best_window=sorted(set(as_of.index) - set(inside)))
    return out


def published_ratio_checks(panel: pd.DataFrame) -> dict:
    """Kosmos's ratios against independently published ones (:mod:`metrics.reconcile`)."""
    from data.embedded import read_embedded_csv
    from data.manifest import data_dir, listed_in_manifest
    from metrics.reconcile import compare_published, summary

    path = data_dir() / "reference" / "published_ratios.csv"
    if not path.exists() and not listed_in_manifest(path):
        return {"published": 0, "comparable": 0, "agree": 0, "agree_share": None, "per_ratio": {}, "disagreements": []}
    published = read_embedded_csv(path)
    published["value"] = pd.to_numeric(published["value"])
    compared = compare_published(panel, published)
    off = compared[compared["agrees"].eq(False)]
    return {**summary(compared), "disagreements": [
        {"ticker": r.ticker, "fiscal_year": int(r.fiscal_year), "ratio": r.ratio, "published": float(r.value),
         "kosmos": float(r.computed), "difference": round(float(r.difference), 4), "source": r.source,
         "note": None if pd.isna(r.note) else r.note} for r in off.itertuples()]}


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        report = validation_report()
    except DataValidationError as exc:
        if args.json:
            print(json.dumps({"ok": False, "errors": len(exc.issues), "data_errors": [str(i) for i in exc.issues]},
                             indent=2))
        else:
            print(str(exc), file=sys.stderr)
        return 1
    ok = report["errors"] == 0 and all(report["done_when"].values())
    code = 1 if report["errors"] or (args.strict and not ok) else 0
    if args.json:
        print(json.dumps({"ok": ok, **report}, indent=2))
        return code
    print(f"Companies: {report['companies']} over {len(report['segments'])} segments {report['segments']}")
    print(f"With embedded figures: {report['companies_with_figures']}; without: "
          f"{', '.join(report['companies_without_figures']) or 'none'}")
    s = report["share_with_2plus_fiscal_years"]
    print(f">= 2 fiscal years: {s['of_companies_with_figures']:.0%} of companies with figures "
          f"({s['of_all_companies']:.0%} of all)")
    cov = report["coverage_of_scoring_inputs"]
    print(f"Scoring inputs present in the scoring year: mean {cov['mean']:.0%}; "
          f"{cov['companies_at_or_above_95pct']} companies at >= 95%")
    print(f"Values: {report['values']}; without a source: {report['unsourced_values']}")
    iv = report["identity_violations"]
    print(f"Identity violations: {iv['total']} ({iv['explained']} explained, {iv['unexplained']} unexplained)")
    for v in iv["list"]:
        flag = "explained" if v["explanation"] else "UNEXPLAINED"
        print(f"  [{flag}] {v['rule']} {v['ticker']} FY{v['fiscal_year']}: {v['message']}")
        print(f"      sources: {' | '.join(v['sources'])}")
        if v["explanation"]:
            print(f"      why: {v['explanation']}")
    print(f"Files: {len(report['tables'])} match the manifest (and their schemas): "
          + ", ".join(f"{name} {rows}" for name, rows in report["tables"].items()) + " rows")
    print(f"Implausible values refused (left out of the scores): {len(report['implausible_values'])}")
    for r in report["implausible_values"]:
        print(f"  [refused] {r['table']}: {r['text']} — {r['source']}")
    for r in report["rejected_values"]:
        print(f"  [rejected] {r['ticker']} FY{r['fiscal_year']} {r['field']} {r['value']:,.0f}: {r['reason']}")
    rv = report["rounded_values"]
    print(f"Values that look rounded: {rv['count']} ("
          + ", ".join(f"{k} {n}" for k, n in rv["by_rule"].items()) + f"); billion-scale values "
          f"{rv['billion_scale_values']}, of them multiples of 10 m {rv['billion_scale_multiples_of_10m']}")
    for r in rv["list"]:
        print(f"  [rounded] {r['ticker']} FY{r['fiscal_year']} {r['field']} {r['value']:,.0f} (step {r['step']:,.0f}; "
              f"{r['rule']}) — {r['source']}")
    sk = report["source_kinds_of_scoring_year_values"]
    print(f"Scoring-year values by source kind ({sk['values']} values, {sk['company_years']} company-years): "
          + ", ".join(f"{k} {v['values']} ({v['share']:.0%})" for k, v in sk["by_kind"].items())
          + f"; no complete year: {', '.join(sk['companies_without_a_scoring_year']) or 'none'}")
    rs, nr = report["results"], report["not_reported"]
    print(f"Headline results (shown, never scored): {rs['rows']} rows for {rs['companies']} companies ("
          + ", ".join(f"{k} {n}" for k, n in rs["by_kind"].items()) + f"); newer than the scoring year: "
          f"{rs['rows_newer_than_the_scoring_year']} rows ({', '.join(rs['companies_with_newer_results']) or 'none'})")
    ny = report["newest_year_shown"]
    print(f"Newest fiscal year due by {ny['as_of']}: complete on file {ny['complete']}, as headline results "
          f"{ny['headline_results']}, not on file {len(ny['not_on_file'])} ({', '.join(ny['not_on_file']) or 'none'})")
    print(f"Lines the companies do not report: {nr['lines']} ({', '.join(nr['companies']) or 'none'}); values on "
          f"file for them: {len(nr['conflicts_with_values_on_file'])}")
    for c in nr["conflicts_with_values_on_file"]:
        print(f"  [CONFLICT] {c['ticker']} FY{c['fiscal_year']} {c['field']} {c['value']:,.0f} on file "
              f"({c['source']}), "
              f"not reported per {c['not_reported_source']}")
    xc = report["cross_checks"]
    print(f"Cross-checks over {xc['company_years']} scored company-years: revenue {xc['revenue_cross_checked']}, "
          f"FCF {xc['fcf_cross_checked']}; disagreements over 1%: {len(xc['disagreements_over_1pct'])}")
    for d in xc["disagreements_over_1pct"]:
        print(f"  {d['ticker']} FY{d['fiscal_year']} {d['figure']}: {d['compiled']:,.0f} vs {d['second_page']:,.0f} "
              f"({d['difference']:+.1%}) — {d['note'] or 'no note'}")
    w = report["market_cap_window"]
    print(f"Market caps: {w['companies_with_market_cap']} companies, dated {w['first']} to {w['last']}; best "
          f"{MAX_MARKET_WINDOW_DAYS}-day window {w['best_window'][0]} to {w['best_window'][1]} holds "
          f"{w['inside_best_window']}; outside: {', '.join(w['outside_best_window']) or 'none'}; derived from a dated "
          f"price × shares: {', '.join(w.get('derived_from_price_and_shares', [])) or 'none'}")
    rc = report["published_ratio_checks"]
    print(f"Published ratios: {rc['comparable']} of {rc['published']} comparable, {rc['agree']} agree within tolerance")
    for r, c in rc["per_ratio"].items():
        print(f"  {r:<18} {c['agree']}/{c['comparable']} agree (tolerance {c['tolerance']})")
    for c in report["per_company"]:
        yrs = ",".join(str(y) for y in c["fiscal_years"]) or "-"
        sy = f"FY{c['scoring_year']}" if c["scoring_year"] else "n.a."
        miss = f" missing: {', '.join(c['missing_inputs'])}" if c["missing_inputs"] and c["values"] else ""
        print(f"  {c['ticker']:<6} {c['segment']:<11} FY {yrs:<25} scored {sy:<7} inputs {c['coverage']:.0%}{miss}")
    print("Done when: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in report["done_when"].items()))
    print(f"Errors: {report['errors']} (unsourced values, unexplained identity violations, implausible values, "
          "values on file for lines not reported); "
          f"ok: {'yes' if ok else 'no'} (no errors and every done-when check met)")
    return code


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
    if result.cache_error:
        return 5
    return 0 if result.good_tickers else 4


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data", description="Kosmos data tools")
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser(
        "validate", help="validate the embedded data set and report coverage",
        description="Check every embedded file against data/manifest.json and its schema (deals and concentration "
                    "included), run the identity checks and plausibility bounds, and report coverage, cross-checks "
                    "and published ratios.",
        epilog="'errors' counts unsourced values, unexplained identity violations, values refused as "
               "implausible and values on file for a line not_reported.csv says the company does not show; 'ok' is "
               "true only with no errors AND every done_when check met. Exit codes: 0 no "
               "errors (done_when checks may be unmet: see 'ok'), 1 errors or a file failing its manifest or "
               "schema check (with --strict also when 'ok' is false).")
    v.add_argument("--json", action="store_true", help="the whole report as JSON")
    v.add_argument("--strict", action="store_true", help="exit 1 unless 'ok' (also when a done_when check is unmet)")
    v.set_defaults(func=cmd_validate)
    r = sub.add_parser("refresh", help="live refresh from Yahoo Finance into the local cache",
                       description="Fetch each ticker's annual statements and info, and its trailing tables (Yahoo's "
                                   "TTM income statement and cash flow, the latest quarterly balance sheet), into "
                                   "one atomic cache snapshot. Failed or empty answers never replace good cached "
                                   "data. Scores use the trailing tables with --basis ttm (python -m screens) or "
                                   "the dashboard's 'Trailing twelve months' basis.",
                       epilog="Exit codes: 0 at least one ticker fetched and saved, 3 offline (nothing changed), "
                              "4 no ticker fetched, 5 fetched but the cache could not be written (disk full, "
                              "read-only; the cache was left as it was).")
    r.add_argument("tickers", nargs="*", help="tickers (default: the whole universe and the companies you added)")
    r.add_argument("--progress", action="store_true", help="show the progress bar even when not a TTY")
    r.set_defaults(func=cmd_refresh)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except DataValidationError as exc:  # e.g. refresh reading a broken universe file: a message, not a traceback
        print(str(exc), file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
