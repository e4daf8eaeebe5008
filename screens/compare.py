"""Compare 2 to 4 companies side by side; shareable with ?tickers=A,B."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from metrics import financials as F
from metrics.checks import CHECKS_BY_ID, PILLARS
from metrics.engine import CARD_METRICS, history_lists
from metrics.format import format_value, is_missing
from screens import state
from screens.charts import POLAR_SHORT

DEFAULT = ["MSFT", "ORCL"]


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
    fig = go.Figure()
    for t in picked:
        r = [0 if pd.isna(table.at[t, p]) else table.at[t, p] for p in PILLARS]
        fig.add_trace(go.Scatterpolar(r=r + r[:1], theta=[POLAR_SHORT[p] for p in PILLARS] + [POLAR_SHORT["balance_sheet"]],
                                      name=t, fill="toself", opacity=0.5))
    fig.update_layout(polar=dict(radialaxis=dict(range=[0, 100])), height=420, margin=dict(t=30, b=30))
    c1, c2 = st.columns([1, 1])
    c1.plotly_chart(fig, width="stretch", key="compare_polar")
    score = lambda v: "n.a." if is_missing(v) else f"{v:.0f}"  # noqa: E731 - one vocabulary for missing values
    rows = {"Grade": table["grade"], "Composite": table["composite"].map(score)}
    for p, lab in PILLARS.items():
        rows[lab] = table[p].map(score)
    why: list[str] = []
    for key, cid in CARD_METRICS.items():
        check = CHECKS_BY_ID[cid]
        res = sc.results[cid].reindex(picked)
        rows[check.label] = res["value"].map(lambda v, u=check.unit: format_value(v, u))
        for t in picked:
            if is_missing(res.at[t, "value"]):
                why.append(f"{t} · {check.label}: {check.explain(res.loc[t].to_dict(), table.at[t, 'currency'] or '')}")
    rows["Scored on"] = table["fiscal_year"].map(lambda y: "n.a." if is_missing(y) else f"FY{int(y)}")
    rows["Inputs on file"] = table["coverage"].map(lambda c: "n.a." if is_missing(c) else f"{c:.0%}")
    rows["Currency"] = table["currency"].map(lambda c: c if isinstance(c, str) else "n.a.")
    comp = pd.DataFrame(rows).T
    c2.dataframe(comp, width="stretch", height=600)
    if why:
        with c2.expander(f"Why n.a. ({len(why)})"):
            st.markdown("\n".join(f"- {state.md_escape(w)}" for w in why))
    idx = pd.Index(picked)
    spark = pd.DataFrame({"Revenue history": history_lists(sc.ctx.panel, F.REVENUE, idx),
                          "FCF history": history_lists(sc.ctx.panel, F.FCF_D, idx)})
    st.dataframe(spark, width="stretch", column_config={
        "Revenue history": st.column_config.LineChartColumn("Revenue history (reporting currency)"),
        "FCF history": st.column_config.LineChartColumn("FCF history (reporting currency)")})
    st.text_input("Share link", state.share_link("compare", tickers=",".join(picked)), key="compare_link")


if __name__ == "__main__":
    render()
