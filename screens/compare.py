"""Compare 2 to 4 companies side by side; shareable with ?tickers=A,B."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from metrics import financials as F
from metrics.checks import CHECKS_BY_ID, PILLARS, explain_result
from metrics.engine import CARD_METRICS, history_lists
from metrics import format as fmt
from metrics.format import is_missing
from screens import state
from screens.charts import check_value, radar_figure

DEFAULT = ["MSFT", "ORCL"]


def compare_rows(sc, table: pd.DataFrame, picked: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """The side-by-side table (one row per measure, one column per company, every cell formatted) and, for each
    n.a. cell, why."""
    rows = {"Grade": table["grade"], "Composite": table["composite"].map(fmt.score),
            "Composite range": [fmt.score_range(lo, hi) for lo, hi in zip(table["composite_low"], table["composite_high"])]}
    for p, lab in PILLARS.items():
        rows[lab] = table[p].map(fmt.score)
    why: list[str] = []
    for key, cid in CARD_METRICS.items():
        check = CHECKS_BY_ID[cid]
        res = sc.results[cid].reindex(picked)
        # each cell as the scorecard shows the check's number (screens.charts.check_value: "net cash", ...)
        cells = pd.Series([check_value({"id": cid, "unit": check.unit, "value": r.get("value"),
                                        "result": r.get("status"), "inputs": r}) for r in res.to_dict("records")],
                          index=res.index)
        status = res["status"] if "status" in res else pd.Series("", index=res.index)
        reason = status.map({"n.a.": f"{fmt.NA} (does not apply)", "not on file": f"{fmt.NA} (not on file)"})
        if "Not reported" in res:  # a line the company's statements do not show (sourced not-reported table)
            told = res["Not reported"].map(lambda x: isinstance(x, str) and bool(x))
            reason = reason.where(~(told & status.eq("n.a.")), f"{fmt.NA} (not reported by the company)")
        rows[check.label] = cells.where(~status.isin(["n.a.", "not on file"]), reason)
        for t in picked:
            if is_missing(res.at[t, "value"]):
                why.append(f"{t} · {check.label}: {explain_result(check, res.loc[t].to_dict(), table.at[t, 'currency'] or '')}")
    rows["Market cap"] = table["market_cap_usd"].map(fmt.money)
    rows["Scored year"] = table["fiscal_year"].map(fmt.fiscal_year)
    rows["Inputs on file"] = table["coverage"].map(fmt.pct)
    rows["Currency"] = table["currency"].map(lambda c: c if isinstance(c, str) else fmt.NA)
    comp = pd.DataFrame(rows).T
    comp.columns = list(picked)
    return comp.rename_axis("Measure").reset_index().astype(str), why


def render() -> None:
    controls = state.page("Compare")
    sc = state.scored()
    universe = state.dataset().universe
    known = set(universe["ticker"])
    raw = st.query_params.get("tickers")
    chosen = st.session_state.get("compare") or [t for t in DEFAULT if t in known]
    if raw is not None:
        link = state.split_tickers(raw, known, limit=4)
        if link.good:
            chosen = link.good
        dropped = state.dropped_notice(link, 4)
        if dropped and st.session_state.get("_dropped_seen_tickers") != raw:  # once per link, not on every rerun
            st.session_state["_dropped_seen_tickers"] = raw
            st.warning(state.md_escape(dropped), icon=":material/warning:")
    names = dict(zip(universe["ticker"], universe["name"]))
    picked = st.multiselect("Companies (2 to 4)", sorted(known), default=chosen, max_selections=4,
                            format_func=lambda t: f"{t} — {names.get(t, t)}")
    st.session_state["compare"] = picked
    state.sync_query_params(tickers=",".join(picked))
    if len(picked) < 2:
        st.info("Pick at least two companies to compare.")
        return
    table = sc.table(controls.weights, controls.relative).loc[picked]
    fig, gaps = radar_figure(table, picked)
    c1, c2 = st.columns([2, 3])
    c1.plotly_chart(fig, width="stretch", key="compare_polar", theme=None)
    if gaps:
        c1.caption("A gap in an outline is a pillar with fewer than half of its checks on file (its score in the table "
                   "counts the missing ones at 0; the radar does not draw it): " + state.md_escape("; ".join(gaps)) + ".")
    comp, why = compare_rows(sc, table, picked)
    c2.dataframe(comp, hide_index=True, width="stretch", height=35 * (len(comp) + 1) + 3, column_config={
        "Measure": st.column_config.TextColumn("Measure", width=240, pinned=True),
        **{t: st.column_config.TextColumn(t, help=names.get(t, t)) for t in picked}})
    if why:
        with c2.expander(f"Why n.a. ({len(why)})"):
            st.markdown("\n".join(f"- {state.md_escape(w)}" for w in why))
    idx = pd.Index(picked)
    spark = pd.DataFrame({"Revenue history": history_lists(sc.ctx.panel, F.REVENUE, idx),
                          "FCF history": history_lists(sc.ctx.panel, F.FCF_D, idx)})
    st.dataframe(spark, width="stretch", column_config={
        "_index": st.column_config.TextColumn("Ticker"),
        "Revenue history": st.column_config.LineChartColumn("Revenue history (reporting currency)"),
        "FCF history": st.column_config.LineChartColumn("FCF history (reporting currency)")})
    st.text_input("Share link", state.share_link("compare", tickers=",".join(picked)), key="compare_link")


if __name__ == "__main__":
    render()
