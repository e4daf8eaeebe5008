"""Screener: filters, live count, ranked table, heat map, scatter, CSV export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from metrics import financials as F
from metrics.checks import PILLARS
from metrics.engine import history_lists, score_history_of
from metrics.history import grade_move
from metrics.presets import apply_filters
from metrics import format as fmt
from metrics.format import text_column
from screens import filter_link, state
from screens.charts import PILLAR_SHORT, scatter_figure, treemap_figure
from screens.export import data_gaps, months_since_period_end, newest_results_text, safe_csv, screen_csv

HELP = {
    "composite": "Weighted mean of the four pillar scores (0–100), every check not on file counted at 0 points: "
                 "missing data never lifts a company. Rank, grade, presets and filters use this figure.",
    "range": "The composite if every check not on file failed (left) or passed (right): the range the missing "
             "data leaves open. One number when nothing is missing.",
    "grade": "A ≥ 80, B ≥ 65, C ≥ 50, D ≥ 35, F below; n.a. when fewer than half of the checks are on file "
             "(ranked last).",
    "balance_sheet": "Net debt/EBITDA, interest coverage, current ratio, leverage trend, refinancing pressure, Altman Z''.",
    "free_cash_flow": "FCF margin, conversion, yield, consistency, capex/OCF, payouts covered.",
    "pricing_power": "Gross margin level and stability, gross profitability, operating margin and trend, normalisation stress.",
    "loop_exposure": "Loop score: 100 = no exposure to the circular-financing loop on record; more exposure lowers it.",
    "net_debt_to_ebitda": "(Total debt − cash & short-term investments) / EBITDA, latest fiscal year. Negative = net cash.",
    "fcf_margin": "Free cash flow / revenue, latest fiscal year.",
    "gross_margin": "Gross profit / revenue, latest fiscal year.",
    "market_cap_usd": "Market capitalisation in USD bn, each with its own date (see the scorecard's sources); "
                      "where no page states one in the window, the share price on a stated date times the shares "
                      "outstanding another page states (derived, said so on the scorecard and in the CSV).",
    "coverage": "Share of the 19 inputs the checks read that are reported (or derived from reported parts) "
                "in the scoring year. A missing input leaves its checks not on file, which scores zero.",
}

VIEWS = ["Ranked table", "Heat map", "Scatter", "History"]


def _widget_defaults(pf: dict, segments: list[str], cap_max: float) -> None:
    """Seed the filter widgets' state from the preset (widgets then take no ``value=``).

    Values restored from an earlier page, a shared link or another data set are
    kept when still valid and adjusted when not (a market-cap range is clipped
    to the current maximum; unknown segments are dropped).
    """
    ss = st.session_state
    ss["f_segments"] = [s for s in ss.get("f_segments", []) if s in segments]
    lo_hi = ss.get("f_mcap")
    if isinstance(lo_hi, (tuple, list)) and len(lo_hi) == 2 and 0.0 <= lo_hi[0] <= min(lo_hi[1], cap_max):
        ss["f_mcap"] = (float(lo_hi[0]), float(min(lo_hi[1], cap_max)))
    else:
        ss["f_mcap"] = (0.0, cap_max)
    for k, v in filter_link.preset_defaults(pf).items():
        ss.setdefault(k, v)


def render() -> None:
    controls = state.page("Screener", "The AI-industry ecosystem — chips, networking, cloud, energy — scored on "
                          "balance-sheet strength, free cash flow, pricing power and exposure to the circular-financing loop.")
    sc = state.scored()
    table = sc.table(controls.weights, controls.relative)
    pf = controls.preset.filters

    filter_keys = ["f_segments", "f_subsegments", "f_mcap", "f_use_nd", "f_nd", "f_use_fcf", "f_fcf", "f_use_gm",
                   "f_gm", "f_excl"] + [f"f_min_{p}" for p in PILLARS]
    state.restore(filter_keys)
    segs = sorted(table["segment"].dropna().unique())
    caps = table["market_cap_usd"].dropna() / 1e9
    cap_max = float(np.ceil(caps.max())) if len(caps) else 1.0
    _widget_defaults(pf, segs, cap_max)
    with st.expander(filters_label(st.session_state), expanded=False, icon=":material/filter_list:", key="f_box"):
        c1, c2, c3 = st.columns(3)
        segments = c1.multiselect("Segment", segs, key="f_segments", on_change=state.keeper("f_segments"))
        subs = sorted(table.loc[table["segment"].isin(segments) if segments else slice(None), "subsegment"].dropna().unique())
        st.session_state["f_subsegments"] = [s for s in st.session_state.get("f_subsegments", []) if s in subs]
        subsegments = c2.multiselect("Subsegment", subs, key="f_subsegments", on_change=state.keeper("f_subsegments"))
        mcap = c3.slider("Market cap (USD bn)", 0.0, cap_max, key="f_mcap", on_change=state.keeper("f_mcap"),
                         help="Companies without a market cap on record are kept only while the lower bound is 0.")
        c4, c5, c6, c7 = st.columns(4)
        mins = {}
        for col, (p, label) in zip((c4, c5, c6, c7), PILLARS.items()):
            name = "Min loop score (100 = no exposure)" if p == "loop_exposure" else f"Min {label.lower()} score"
            mins[f"min_{p}"] = col.number_input(name, 0, 100, step=5,
                                                key=f"f_min_{p}", on_change=state.keeper(f"f_min_{p}"), help=HELP[p])
        c8, c9, c10, c11 = st.columns(4)
        use_nd = c8.checkbox("Limit net debt / EBITDA", key="f_use_nd", on_change=state.keeper("f_use_nd"))
        nd = c8.number_input("at most (x)", 0.0, 20.0, step=0.5,
                             key="f_nd", on_change=state.keeper("f_nd"), disabled=not use_nd, help=HELP["net_debt_to_ebitda"])
        use_fcf = c9.checkbox("Minimum FCF margin", key="f_use_fcf", on_change=state.keeper("f_use_fcf"))
        fcfm = c9.number_input("at least (%)", -100.0, 100.0, step=1.0,
                               key="f_fcf", on_change=state.keeper("f_fcf"), disabled=not use_fcf, help=HELP["fcf_margin"])
        use_gm = c10.checkbox("Minimum gross margin", key="f_use_gm", on_change=state.keeper("f_use_gm"))
        gm = c10.number_input("at least (%) ", 0.0, 100.0, step=1.0,
                              key="f_gm", on_change=state.keeper("f_gm"), disabled=not use_gm, help=HELP["gross_margin"])
        excl = c11.checkbox("Exclude companies on a loop cycle", key="f_excl", on_change=state.keeper("f_excl"),
                            help="Drops every company through which money flows in a circle (length ≤ 6).")
    filters = {"segments": segments, "subsegments": subsegments,
               "market_cap_usd_bn": None if mcap == (0.0, cap_max) else mcap, **mins,
               "max_net_debt_to_ebitda": nd if use_nd else None, "min_fcf_margin": fcfm / 100 if use_fcf else None,
               "min_gross_margin": gm / 100 if use_gm else None, "exclude_on_cycle": excl}
    state.keep(filter_keys)
    result = apply_filters(table, filters)
    state.sync_query_params(**filter_link.encode({k: st.session_state.get(k) for k in filter_keys}, pf, cap_max))
    results = getattr(state.dataset(), "results", None)
    head, button = st.columns([4, 1], vertical_alignment="bottom")
    head.subheader(f"{len(result)} of {len(table)} match")
    if result.empty:
        st.info("No company matches these filters. Loosen a threshold, clear the segment filter, or pick the "
                "'Article criteria' preset. Remember: a missing value never passes a threshold.", icon=":material/filter_alt_off:")
        return
    panel = sc.ctx.panel
    # built when pressed (a callable), not on every render
    button.download_button("Download as CSV", lambda: screen_csv(result, results, panel), file_name="kosmos_screen.csv",
                           mime="text/csv", on_click="ignore", icon=":material/download:",
                           help="Every column of the table, numbers in the units named in each header (scores 0–100, "
                                "USD bn, %, x, months), RFC 4180, safe to open in a spreadsheet.")
    view, cfg = ranked_view(result, sc.ctx.panel, results, controls.relative,
                            state.freshness_table(texts=False)["hours_since_refresh"], newest_results_of(sc, results))
    # Lazy tabs: only the open tab runs, so the first paint needs no plotly.js (4.7 MB of JavaScript).
    table_tab, map_tab, scatter_tab, history_tab = st.tabs(VIEWS, key="screener_view", on_change="rerun")
    if table_tab.open is not False:
        with table_tab:
            _ranked_table(view, cfg)
    if map_tab.open:
        with map_tab:
            fig, note = treemap_figure(result)
            if note:
                st.caption(note)
            st.plotly_chart(fig, width="stretch", key="treemap")
    if history_tab.open:
        with history_tab:
            _history_view(sc, result, controls.weights, controls.relative)
    if scatter_tab.open:
        with scatter_tab:
            t = result.assign(fcf_margin_pct=result["fcf_margin"] * 100)
            fig, note = scatter_figure(t, "loop_exposure", "fcf_margin_pct", "Loop exposure score (100 = independent)",
                                       "FCF margin (%)", y_unit=" %")
            if note:
                st.caption(note)
            st.plotly_chart(fig, width="stretch", key="scatter")
    st.caption("The address bar holds this screen (filters, preset, weights, mode): copy it to share.")


def filters_label(ss) -> str:
    """'Filters' with the number of active ones, so a collapsed filter box still says the screen is filtered."""
    active = sum([bool(ss.get("f_segments")), bool(ss.get("f_subsegments")), bool(ss.get("f_use_nd")),
                  bool(ss.get("f_use_fcf")), bool(ss.get("f_use_gm")), bool(ss.get("f_excl")),
                  *[bool(ss.get(f"f_min_{p}")) for p in PILLARS]])
    return f"Filters ({active} active)" if active else "Filters (none active: every company)"


#: the ranked table's columns, left to right: what a reader needs first fits 1600x900 without scrolling sideways
RANKED_COLUMNS = ["rank", "name", "grade", "composite", *PILLARS, "fy", "age_months", "fetched", "range", "not_scored",
                  "market_cap_bn", "newest_results", "coverage_pct", "nd_ebitda", "fcf_margin", "gross_margin",
                  "segment", "on_cycle", "revenue_hist", "fcf_hist"]


def newest_results_of(sc, results: pd.DataFrame | None) -> pd.Series:
    """:func:`screens.export.newest_results_text` of every company of ``sc``, computed once per scored context
    and results table (kept in ``ctx.derived`` like the context's other memos; a weight change or a filter
    reruns the page, not this)."""
    hit = sc.ctx.derived.get("newest_results_text")
    if hit is None or hit[0] is not results:
        hit = (results, newest_results_text(sc.ctx.companies, results, sc.ctx.panel))
        sc.ctx.derived["newest_results_text"] = hit
    return hit[1]


def ranked_view(result: pd.DataFrame, panel: pd.DataFrame, results, relative: bool = False,
                hours_since_refresh: pd.Series | None = None,
                newest: pd.Series | None = None) -> tuple[pd.DataFrame, dict]:
    """The ranked table as shown: scores as bars, every other number formatted by metrics.format ('n.a.' when
    missing), labels in words with a tooltip each. ``hours_since_refresh`` (by ticker; NaN = embedded figures)
    fills the "Fetched" column; ``newest`` (by ticker, :func:`newest_results_of`) the newest-results column
    (computed here when not given)."""
    view = result.copy()
    view["market_cap_bn"] = view["market_cap_usd"] / 1e9
    view["revenue_hist"] = history_lists(panel, F.REVENUE, view.index)
    view["fcf_hist"] = history_lists(panel, F.FCF_D, view.index)
    view["fy"] = scored_on(view)
    hours = (hours_since_refresh if hours_since_refresh is not None else pd.Series(dtype=float)).reindex(view.index)
    view["fetched"] = [fmt.hours_ago(h) if not pd.isna(h) else "embedded set" for h in hours]
    view["age_months"] = months_since_period_end(view["period_end"]).astype(float)
    view["coverage_pct"] = view["coverage"] * 100
    # a pass without a multiple is net cash (or no debt) with EBITDA not on file, as the filters read it
    passed = (view["net_debt_to_ebitda_result"] if "net_debt_to_ebitda_result" in view
              else pd.Series("", index=view.index)).astype(object).eq("pass").fillna(False)
    view["nd_ebitda"] = [fmt.net_debt_multiple(r, bool(p)) for r, p in zip(view["net_debt_to_ebitda"], passed)]
    view["fcf_margin"] = text_column(view["fcf_margin"], fmt.pct)
    view["gross_margin"] = text_column(view["gross_margin"], fmt.pct)
    view["not_scored"] = not_scored(view)
    view["range"] = composite_range(view)
    newest = newest_results_text(view, results, panel) if newest is None else newest.reindex(view.index).fillna("")
    view["newest_results"] = newest.replace("", "–")
    mode = " (segment percentile)" if relative else ""
    cfg = {
        "_index": st.column_config.TextColumn("Ticker", width=62),
        "rank": st.column_config.NumberColumn("#", width=40, help="Rank by the composite (n.a. ranks last)."),
        "name": st.column_config.TextColumn("Company", width=190),
        "segment": st.column_config.TextColumn("Segment"),
        "grade": st.column_config.TextColumn("Grade", help=HELP["grade"], width=52),
        "composite": st.column_config.ProgressColumn(f"Composite{mode}", min_value=0, max_value=100, format="%.0f",
                                                     help=HELP["composite"] + " Empty = n.a. (see Grade and Data gaps).",
                                                     width=105),
        **{p: st.column_config.ProgressColumn(f"{PILLAR_SHORT[p]}{mode}", min_value=0, max_value=100, format="%.0f",
                                              help=HELP[p] + " Empty = n.a.: none of its checks is on file (never "
                                              "a 0; see Data gaps).", width=105) for p in PILLARS},
        "fy": st.column_config.TextColumn("Scored on", width=96, help="FY: the latest fiscal year whose income "
                                          "statement, cash-flow statement and balance sheet are all on file (a newer "
                                          "partial year is not scored). TTM: trailing twelve months to that date from a "
                                          "live refresh, with the latest quarter's balance sheet (multi-year checks use "
                                          "the annual history)."),
        "fetched": st.column_config.TextColumn("Fetched", width=96, help="Time since the company's figures were "
                                               "fetched from Yahoo Finance ('embedded set': the sourced figures shipped "
                                               "with Kosmos, no live refresh)."),
        "age_months": st.column_config.NumberColumn("Age", format="%d months", width=82,
                                                    help="Months since the scored year's period end: how old the "
                                                         "scored figures are."),
        "market_cap_bn": st.column_config.NumberColumn("Market cap (USD bn)", format="%.1f", help=HELP["market_cap_usd"]),
        "coverage_pct": st.column_config.ProgressColumn("Inputs on file", min_value=0, max_value=100, format="%.0f%%",
                                                        help=HELP["coverage"]),
        "range": st.column_config.TextColumn("Range", help=HELP["range"], width="small"),
        "not_scored": st.column_config.TextColumn("Data gaps", help="Checks not on file per pillar (they score 0). "
                                                  "'provisional' marks a pillar with fewer than half of its checks on "
                                                  "file. The scorecard names each missing input."),
        "newest_results": st.column_config.TextColumn("Newest results (headline)", width="large",
                                                      help="Headline results of the newest fiscal year as the page "
                                                           "they were read from states them (the label names it: "
                                                           "release, filing, news or aggregator), rounded as stated, "
                                                           "growth against the scored year. Shown for information, "
                                                           "never scored."),
        "nd_ebitda": st.column_config.TextColumn("Net debt / EBITDA", help=HELP["net_debt_to_ebitda"] + " n.a. = not "
                                                 "computable (the scorecard says which input is missing)."),
        "fcf_margin": st.column_config.TextColumn("FCF margin", help=HELP["fcf_margin"]),
        "gross_margin": st.column_config.TextColumn("Gross margin", help=HELP["gross_margin"]),
        "on_cycle": st.column_config.CheckboxColumn("On a loop cycle", help="Money paid out returns through the loop."),
        "revenue_hist": st.column_config.LineChartColumn("Revenue by year (reporting currency)"),
        "fcf_hist": st.column_config.LineChartColumn("FCF by year (reporting currency)"),
    }
    return view[RANKED_COLUMNS], cfg


def scored_on(table: pd.DataFrame) -> pd.Series:
    """'FY2025', or 'TTM to 2026-09-30' on the trailing basis (the balance-sheet date is in the scorecard)."""
    fy = text_column(table["fiscal_year"], fmt.fiscal_year)
    if "basis_label" not in table:
        return fy
    label = table["basis_label"].astype(str)
    ttm = label.str.startswith("TTM")
    return fy.where(~ttm, label.str.split(" · ").str[0])


def not_scored(table: pd.DataFrame) -> pd.Series:
    """Per company, the pillars with checks not on file ('–' when none): :func:`screens.export.data_gaps`."""
    gaps = data_gaps(table)
    return gaps.where(gaps != "", "–")


def composite_range(table: pd.DataFrame) -> pd.Series:
    """'52–81' (missing checks as fails – as passes), or the one number when nothing is missing."""
    low, high = table["composite_low"].round(), table["composite_high"].round()
    text = low.astype("Int64").astype("string") + "–" + high.astype("Int64").astype("string")
    same = low.eq(high)
    return text.where(~same, low.astype("Int64").astype("string")).fillna(fmt.NA).astype(object)


def _history_view(sc, result: pd.DataFrame, weights: dict, relative: bool = False) -> None:
    """Composite and pillar scores per fiscal year of every matching company, with the grade move in words."""
    hist = score_history_of(sc, weights)
    hist = hist[hist["ticker"].isin(result.index)]
    if hist.empty:
        st.info("No matching company has a fiscal year with statements on file to score.")
        return
    g = hist.sort_values("fiscal_year").groupby("ticker")
    view = pd.DataFrame({"name": result["name"], "grade now": result["grade"]}).join(pd.DataFrame({
        "years": g["fiscal_year"].agg(lambda y: f"FY{int(y.min())}–FY{int(y.max())}"),
        "composite_hist": g["composite"].agg(lambda v: v.dropna().round(1).tolist()),
        **{f"{p}_hist": g[p].agg(lambda v: v.dropna().round(1).tolist()) for p in PILLARS},
        "move": pd.Series({t: grade_move(hist, t) or "fewer than two graded years" for t in hist["ticker"].unique()}),
    }), how="inner")
    cfg = {"_index": st.column_config.TextColumn("Ticker"), "name": st.column_config.TextColumn("Company"),
           "grade now": st.column_config.TextColumn("Grade now", help=HELP["grade"], width="small"),
           "years": st.column_config.TextColumn("Fiscal years"),
           "composite_hist": st.column_config.LineChartColumn("Composite by FY", y_min=0, y_max=100),
           **{f"{p}_hist": st.column_config.LineChartColumn(f"{lab} by FY", y_min=0, y_max=100)
              for p, lab in PILLARS.items()},
           "move": st.column_config.TextColumn("Grade move", width="large")}
    if relative:
        st.info("History shows absolute scores (0–100): sector-relative percentiles apply to the scoring year only.",
                icon=":material/info:")
    st.dataframe(view, column_config=cfg, width="stretch")
    st.caption("Every fiscal year scored by the headline's own rules with the current weights and assumptions: the "
               "newest point is the headline score (absolute). FCF yield is not on file before the scoring year (no "
               "market cap dated at earlier year ends).")
    st.download_button("Download history as CSV", safe_csv(fmt.round_for_csv(hist.reset_index(drop=True))),
                       file_name="kosmos_history.csv", mime="text/csv", on_click="ignore", key="history_csv")


def grid_height(rows: int, visible: int = 15, row: int = 35) -> int:
    """Pixel height of a data grid showing ``rows`` rows and its header exactly (no empty row below a short
    result), at most ``visible`` rows before it scrolls."""
    return row * (min(rows, visible) + 1) + 3


def _ranked_table(frame: pd.DataFrame, cfg: dict) -> None:
    """The ranked table; picking a row opens that company's scorecard."""
    event = st.dataframe(frame, column_config=cfg, hide_index=False, width="stretch", height=grid_height(len(frame)),
                         on_select="rerun", selection_mode="single-row", key="screener_table")
    rows = getattr(getattr(event, "selection", None), "rows", []) if event is not None else []
    if rows:
        ticker = frame.index[rows[0]]
        st.session_state["ticker"] = ticker
        st.switch_page("screens/scorecard.py", query_params={"ticker": ticker})
    st.caption("Pick a row to open its scorecard. n.a. = not computable from reported data (never counted as a pass).")


if __name__ == "__main__":
    render()
