"""Command line: ``python -m screens score|card|loop``.

* ``score [--preset NAME] [--segment S] [--relative] [--json|--csv]`` -- the ranked table;
* ``card TICKER [--json] [--png out.png] [--preset NAME] [--relative] [--gpu-life N] [--debt adjusted]`` -- one scorecard;
* ``history TICKER [--json|--csv] [--preset NAME] [--gpu-life N] [--debt adjusted]`` -- its score per fiscal year;
* ``loop [--as-of DATE] [--stress COUNTERPARTY=P] [--include-low] [--json]`` -- the loop graph;
* ``add SYMBOL ...`` / ``remove SYMBOL ...`` / ``added [--json]`` -- companies added by you (fetched live).

``score``, ``card`` and ``history`` take ``--basis annual|ttm`` (trailing twelve months from a live refresh).

Exit codes: 0 ok, 1 a data file failed its checks (the message names file, row and column, as
``python -m data validate`` does), 2 unknown ticker or bad argument, 3 PNG export failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import pandas as pd

from data.schema import DataValidationError
from metrics.checks import PILLARS
from metrics.depreciation import GPU_LIFE_CHOICES
from data.loader import load_dataset
from metrics.engine import assumptions_of, history_of, stress_test
from metrics.scoring import Assumptions
from metrics.presets import DEFAULT_PRESET, apply_filters, load_presets
from screens.export import card_and_figure, results_of, safe_csv, screen_csv

TABLE_COLUMNS = ["rank", "name", "segment", "market_cap_usd", "fiscal_year", "coverage", "balance_sheet",
                 "free_cash_flow", "pricing_power", "loop_exposure", "composite", "grade", "net_debt_to_ebitda",
                 "fcf_margin", "gross_margin", "on_cycle", "derived_inputs"]


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=lambda o: None if pd.isna(o) else str(o), allow_nan=False)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = df.reset_index().astype(object).where(df.reset_index().notna(), None)
    return out.to_dict("records")


def _preset(name: str):
    presets = load_presets()
    if name not in presets:
        raise SystemExit(_fail(f"Unknown preset {name!r}. Choose one of: {', '.join(presets)}"))
    return presets[name]


def _fail(msg: str, code: int = 2) -> int:
    print(msg, file=sys.stderr)
    return code


def cmd_score(args) -> int:
    preset = _preset(args.preset)
    scored = _scored(args)
    table = scored.table(preset.weights, args.relative)
    if args.segment:
        segs = set(table["segment"])
        if args.segment not in segs:
            return _fail(f"Unknown segment {args.segment!r}. Choose one of: {', '.join(sorted(segs))}")
        table = table[table["segment"] == args.segment]
    table = rows = apply_filters(table, preset.filters)
    table = table[TABLE_COLUMNS]
    if args.json:
        print(_json({"preset": preset.name, "mode": "sector-relative" if args.relative else "absolute",
                     "weights": preset.weights, "rows": _records(table)}))
    elif args.csv:  # the screener's download: every column it shows, in stated units
        sys.stdout.write(screen_csv(rows, results_of(load_dataset()), scored.ctx.panel).decode("utf-8"))
    else:
        show = table.copy()
        show["market_cap_usd"] = (show["market_cap_usd"] / 1e9).round(1)
        show = show.rename(columns={"market_cap_usd": "mcap_usd_bn"})
        for c in list(PILLARS) + ["composite"]:
            show[c] = show[c].round(0)
        with pd.option_context("display.width", 200, "display.max_columns", 30, "display.max_rows", 500):
            print(f"Preset: {preset.name} · mode: {'sector-relative' if args.relative else 'absolute'}")
            print(show.drop(columns=["net_debt_to_ebitda", "fcf_margin", "gross_margin", "derived_inputs"])
                  .to_string(na_rep="n.a."))
    return 0


def cmd_card(args) -> int:
    preset = _preset(args.preset)
    scored = _scored(args)
    ticker = _known(scored, args.ticker)
    card, fig = card_and_figure(scored, ticker, preset.weights, args.relative, load_dataset())  # = the app's card
    if args.png:
        from screens.export import write_png

        try:
            write_png(fig, args.png)
        except Exception as exc:  # noqa: BLE001 - kaleido / Chromium problems become a message
            return _fail(f"PNG export failed: {exc}. Kaleido needs Chromium (apt-get install chromium).", 3)
        print(f"Wrote {args.png} (1600x900)", file=sys.stderr)
    if args.json or not args.png:
        print(_json(card))
    return 0


def cmd_loop(args) -> int:
    from data.loader import load_dataset
    from screens.model import build_scored

    as_of = None
    if args.as_of:
        try:
            as_of = pd.Timestamp(args.as_of)
        except (ValueError, TypeError):
            return _fail(f"--as-of {args.as_of!r} is not a date (use YYYY-MM-DD).")
    scored = build_scored(load_dataset(), as_of=as_of, include_low=args.include_low)
    lc = scored.ctx.loop
    table = scored.table()
    out: dict[str, Any] = {
        "as_of": None if as_of is None else as_of.strftime("%Y-%m-%d"),
        "nodes": sorted(lc.graph.nodes),
        "edges": [{"payer": u, "payee": v, "flows": d["flows"], "amount_usd": None if pd.isna(d["amount_usd"]) else d["amount_usd"],
                   "deals": d["deals"], "fully_disclosed": d["fully_disclosed"]} for u, v, d in lc.graph.edges(data=True)],
        "cycles": [{"nodes": c.nodes, "length": c.length,
                    "amount_usd": None if pd.isna(c.amount_usd) else c.amount_usd} for c in lc.cycles],
        "exposure": {},
    }
    res = scored.results
    for t in sorted(set(lc.graph.nodes) & set(table.index)):
        out["exposure"][t] = {
            "loop_revenue_share": _num(res["loop_revenue_share"].at[t, "value"]),
            "on_cycle": bool(table.at[t, "on_cycle"]), "cycle_count": int(table.at[t, "cycle_count"]),
            "vendor_financing": _num(res["vendor_financing"].at[t, "value"]),
            "backlog_concentration": _num(res["backlog_concentration"].at[t, "value"]),
            "counterparty_quality": _num(res["counterparty_quality"].at[t, "value"]),
            "score": _num(table.at[t, "loop_exposure"]), "status": table.at[t, "loop_exposure_status"],
        }
    if args.stress:
        try:
            cp, p = args.stress.rsplit("=", 1)
            p = float(p.rstrip("%"))
            p = p / 100 if p > 1 else p
            if not 0 <= p <= 1:
                raise ValueError
        except ValueError:
            return _fail(f"--stress {args.stress!r}: use COUNTERPARTY=P with P a share (0.5) or percent (50).")
        if cp not in lc.graph:
            return _fail(f"--stress: {cp!r} is not a loop counterparty. Known: {', '.join(sorted(lc.graph.nodes))}")
        st = stress_test(scored, cp, p)
        out["stress"] = {"counterparty": cp, "honoured": p, "companies": _records(st.table)}
    if args.json:
        print(_json(out))
    else:
        print(f"{len(out['nodes'])} parties, {len(out['edges'])} money flows, {len(out['cycles'])} cycles (length <= 6)")
        for c in lc.cycles[:15]:
            amt = "undisclosed" if pd.isna(c.amount_usd) else f"USD {c.amount_usd / 1e9:.1f} bn"
            print(f"  {' -> '.join(c.nodes + c.nodes[:1])}: {amt}")
        if "stress" in out:
            print(f"Stress: {out['stress']['counterparty']} honours {p:.0%}")
            cols = ["lost_revenue_usd", "composite_before", "composite_after", "composite_delta"]
            with pd.option_context("display.width", 200):
                print(st.table[cols].round(1).to_string(na_rep="n.a."))
    return 0


def cmd_history(args) -> int:
    preset = _preset(args.preset)
    scored = _scored(args)
    ticker = _known(scored, args.ticker)
    hist = history_of(scored, ticker, preset.weights)
    if args.csv:
        sys.stdout.write(safe_csv(pd.DataFrame(hist["rows"]).assign(ticker=ticker)).decode("utf-8"))
    elif args.json:
        print(_json({"ticker": ticker, "preset": preset.name, "assumptions": assumptions_of(scored.ctx), **hist}))
    else:
        print(f"{ticker} · preset {preset.name} · server life {assumptions_of(scored.ctx)['gpu_life']} · "
              f"debt {assumptions_of(scored.ctx)['debt_basis']}")
        rows = pd.DataFrame(hist["rows"])
        if rows.empty:
            print("No fiscal year with statements on file.")
        else:
            with pd.option_context("display.width", 200):
                print(rows.round(1).to_string(index=False, na_rep="n.a."))
        print(hist["grade_move"] or "Fewer than two graded fiscal years.")
    return 0


def _assumptions(args) -> Assumptions:
    """--gpu-life N (3 to 6 in steps of 0.5) and --debt reported|adjusted as scoring assumptions."""
    life = getattr(args, "gpu_life", None)
    if life is not None and life not in GPU_LIFE_CHOICES:
        raise SystemExit(_fail(f"--gpu-life must be one of {', '.join(f'{x:g}' for x in GPU_LIFE_CHOICES)} (years)."))
    return Assumptions(life, getattr(args, "debt", "reported"))


def _known(scored, raw: str) -> str:
    """The ticker in upper case, or exit 2 with a message naming the universe size."""
    ticker = raw.strip().upper()
    if ticker not in scored.ctx.index:
        raise SystemExit(_fail(f"Unknown ticker {raw!r}: not in the Kosmos universe ({len(scored.ctx.index)} "
                               f"companies). Add it with `python -m screens add {ticker}` (fetched live from Yahoo Finance)."))
    return ticker


def _scored(args):
    """Scores for --gpu-life, --debt and --basis; with --basis ttm but no trailing data cached, a note on stderr
    and the annual basis (as the dashboard does)."""
    from data.loader import load_dataset
    from screens.model import NEEDS_REFRESH, build_scored, has_trailing

    dataset = load_dataset()
    basis = getattr(args, "basis", "annual")
    if basis == "ttm" and not has_trailing(dataset):
        print(f"Note: {NEEDS_REFRESH} Run `python -m data refresh`.", file=sys.stderr)
    return build_scored(dataset, assumptions=_assumptions(args), basis=basis)


def cmd_add(args) -> int:
    """Add companies live (validated; kept in the cache folder until removed)."""
    from data.live import STATUS_NETWORK, STATUS_OFFLINE, STATUS_TIMEOUT
    from data.loader import add_company

    codes = []
    for raw in args.symbols:
        res = add_company(raw)
        print(res.message, file=sys.stdout if res.ok else sys.stderr)
        if res.ok:
            codes.append(0)
        elif res.status == "invalid symbol":
            codes.append(2)
        elif res.status in (STATUS_OFFLINE, STATUS_NETWORK, STATUS_TIMEOUT) or (res.result and res.result.offline):
            codes.append(3)
        elif res.status == "not added":  # fetched, but the cache could not be written
            codes.append(5)
        else:
            codes.append(4)
    return max(codes, default=0)


def cmd_remove(args) -> int:
    from data.loader import remove_company

    codes = []
    for raw in args.symbols:
        res = remove_company(raw)
        print(res.message, file=sys.stdout if res.ok else sys.stderr)
        codes.append(0 if res.ok else 2)
    return max(codes, default=0)


def cmd_added(args) -> int:
    from data.loader import added_companies

    lst = added_companies()
    if args.json:
        print(_json({"added": list(lst.companies.values()), "removed": sorted(lst.removed)}))
    elif not lst.companies:
        print("No companies added. Add one with `python -m screens add SYMBOL` (or the sidebar's box).")
    else:
        for t, e in lst.companies.items():
            print(f"{t:<10} {e.get('name') or ''} · {e.get('sector') or 'sector not given'} · added {e.get('added_at')}")
    return 0


def _add_assumption_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gpu-life", type=float, help="server/GPU useful life in years (3 to 6, step 0.5); default as reported")
    p.add_argument("--debt", choices=["reported", "adjusted"], default="reported",
                   help="debt basis of the net debt / EBITDA check (adjusted adds leases and commitments)")
    p.add_argument("--basis", choices=["annual", "ttm"], default="annual",
                   help="scoring basis: latest fiscal year (default), or the trailing twelve months and the latest "
                        "quarterly balance sheet from a live refresh (stays annual without one)")


def _num(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m screens", description="Kosmos scores from the command line")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score", help="ranked table")
    s.add_argument("--preset", default=DEFAULT_PRESET)
    s.add_argument("--segment")
    s.add_argument("--relative", action="store_true", help="sector-relative percentiles")
    _add_assumption_args(s)
    fmt = s.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    s.set_defaults(func=cmd_score)
    c = sub.add_parser("card", help="one company's scorecard")
    c.add_argument("ticker")
    c.add_argument("--json", action="store_true")
    c.add_argument("--png", help="write the 1600x900 scorecard PNG here (needs Chromium)")
    c.add_argument("--preset", default=DEFAULT_PRESET)
    c.add_argument("--relative", action="store_true")
    _add_assumption_args(c)
    c.set_defaults(func=cmd_card)
    h = sub.add_parser("history", help="one company's score for every fiscal year on file")
    h.add_argument("ticker")
    h.add_argument("--preset", default=DEFAULT_PRESET)
    _add_assumption_args(h)
    hfmt = h.add_mutually_exclusive_group()
    hfmt.add_argument("--json", action="store_true")
    hfmt.add_argument("--csv", action="store_true")
    h.set_defaults(func=cmd_history)
    ad = sub.add_parser("add", help="add companies by Yahoo symbol (fetched live, kept until removed)",
                        epilog="Exit codes: 0 added (or already in Kosmos), 2 not a ticker symbol, 3 offline, "
                               "4 refused (unknown symbol, ETF or fund, no statements, rate limit), 5 not saved.")
    ad.add_argument("symbols", nargs="+", help="Yahoo Finance symbols, e.g. SMCI 005930.KS")
    ad.set_defaults(func=cmd_add)
    rm = sub.add_parser("remove", help="remove companies you added")
    rm.add_argument("symbols", nargs="+")
    rm.set_defaults(func=cmd_remove)
    ls = sub.add_parser("added", help="list the companies you added")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_added)
    lp = sub.add_parser("loop", help="circular-financing graph, cycles and exposure")
    lp.add_argument("--as-of")
    lp.add_argument("--stress", help="COUNTERPARTY=P, e.g. OpenAI=0.5")
    lp.add_argument("--include-low", action="store_true", help="count low-confidence amounts too")
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(func=cmd_loop)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else 2
    try:
        return args.func(args)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 2
    except DataValidationError as exc:  # a broken data file is a message, never a traceback
        return _fail(data_error_message(exc), 1)


def data_error_message(exc: DataValidationError) -> str:
    """What the CLI prints when a data file fails its checks: every issue with its file, row and column."""
    return (f"Kosmos cannot score: {exc}\n"
            "Run `python -m data validate` for the full report; restore the file or rebuild the data set "
            "with `python -m data.build_embedded`.")


if __name__ == "__main__":
    raise SystemExit(main())
