"""Loop map: the circular-financing network, its cycles, a Sankey, ego networks, stress test, uploads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.loop import read_upload
from metrics.engine import scorecard, stress_test
from metrics.format import money
from screens import state
from screens.charts import network_figure, sankey_figure


def render() -> None:
    controls = state.page("Loop map", "Who pays whom in the AI ecosystem: equity, compute contracts, chips, custom "
                          "silicon, warrants, backstops, leases. Money flows payer → payee; thick edges lie on a cycle.")
    with st.expander("Upload your own deals (CSV, same columns as data/deals.csv)"):
        up = st.file_uploader("Deals CSV", type=["csv"], key="deals_upload",
                              help="Rows extend the embedded deals for this session only; a matching deal_id overrides it.")
        if up is not None:
            valid, errors, fatal = read_upload(up.getvalue(), "uploaded file")
            if fatal:
                st.error(fatal)
            else:
                st.session_state["uploaded_deals"] = valid
                st.success(f"Using {len(valid)} uploaded deal(s) for this session.")
                if errors:
                    st.warning(f"{len(errors)} row(s) rejected:")
                    st.dataframe(pd.DataFrame([e.__dict__ for e in errors]), hide_index=True, width="stretch")
        elif st.session_state.get("uploaded_deals") is not None:
            if st.button("Forget uploaded deals"):
                st.session_state.pop("uploaded_deals", None)
                st.rerun()
    c1, c2 = st.columns([2, 1])
    as_of = c1.slider("Graph as of", min_value=pd.Timestamp("2023-01-01").date(), max_value=pd.Timestamp("2026-06-30").date(),
                      value=pd.Timestamp("2026-06-30").date(), format="YYYY-MM", key="loop_as_of",
                      help="Deals announced on or before this date (month- or year-dated deals count from the period's first day).")
    include_low = c2.toggle("Count low-confidence amounts", key="loop_low",
                            help="Unconfirmed or analyst-estimated amounts (e.g. the reported USD 300 bn OpenAI–Oracle deal).")
    sc = state.scored(str(as_of), include_low)
    lc = sc.ctx.loop
    g = lc.graph
    st.subheader(f"{g.number_of_nodes()} parties · {g.number_of_edges()} money flows · {len(lc.cycles)} cycles")
    segments = sc.ctx.companies["segment"].to_dict()
    subsegments = sc.ctx.companies["subsegment"].to_dict()
    caps = sc.ctx.companies["market_cap_usd"].to_dict()
    c3, c4 = st.columns([1, 2])
    focus = c3.selectbox("Focus on a company", ["(none)"] + sorted(g.nodes), key="loop_focus",
                         help="Fades every party and money flow that does not touch this one.")
    focus = None if focus == "(none)" else focus
    cycles = [c for c in lc.cycles if not focus or focus in c.nodes]
    labels = {cycle_label(c): c.nodes for c in cycles}
    if st.session_state.get("loop_cycle") not in ["(none)", *labels]:
        st.session_state["loop_cycle"] = "(none)"
    choice = c4.selectbox(f"Highlight a cycle ({len(cycles)}{' through ' + focus if focus else ''}, largest first)",
                          ["(none)", *labels], key="loop_cycle",
                          help="Draws the cycle's money flows thick and fades everything else.")
    picked = labels.get(choice)
    st.plotly_chart(network_figure(g, [c.nodes for c in lc.cycles], segments, caps, focus, subsegments, picked),
                    width="stretch", key="network")
    st.caption("Columns by role: chips and hardware sell to hyperscalers and neoclouds, which sell compute to AI labs, "
               "funded by financiers. Edge width = disclosed amount; colour = flow kind; dashed = unconfirmed; dotted = "
               "amount not disclosed. Hover an edge's middle for amount, basis, date and source.")

    tab1, tab2, tab3, tab4 = st.tabs(["Cycles", "Money flows (Sankey)", "Company exposure", "Stress test"])
    with tab1:
        cyc = pd.DataFrame([{"Cycle": " → ".join(c.nodes + c.nodes[:1]), "Length": c.length,
                             "Dollars carried (smallest edge)": money(c.amount_usd) if not pd.isna(c.amount_usd) else "undisclosed",
                             "Smallest disclosed edge": money(c.min_known_usd)} for c in cycles])
        if cyc.empty:
            st.info("No cycle in the graph as of this date." if not focus else f"{focus} is on no cycle.")
        else:
            st.dataframe(cyc, hide_index=True, width="stretch")
            st.caption("Pick a cycle in 'Highlight a cycle' above the map to draw it there.")
    with tab2:
        st.plotly_chart(sankey_figure(g), width="stretch", key="sankey")
        st.caption("Only flows with a disclosed, counted amount are drawn; see the deals table for the rest.")
        d = lc.deals[["deal_id", "announced", "payer", "payee", "flow", "amount_usd", "amount_basis", "term_years",
                      "status", "confidence", "source"]]
        st.dataframe(d, hide_index=True, width="stretch", column_config={
            "amount_usd": st.column_config.NumberColumn("Amount (USD)", format="%.3e"),
            "source": st.column_config.TextColumn("Source(s)")})
    with tab3:
        who = focus or st.selectbox("Company", sorted(n for n in g.nodes if n in segments), key="loop_company")
        if who:
            card = scorecard(sc, who, controls.weights, controls.relative)
            p = card["pillars"]["loop_exposure"]
            st.metric(f"{who} loop-exposure score (100 = independent)", "n.a." if p["score"] is None else f"{p['score']:.0f}",
                      help=p["status"])
            st.dataframe(pd.DataFrame([{"Check": c["label"], "Result": c["result"], "Explanation": c["explanation"]}
                                       for c in p["checks"]]), hide_index=True, width="stretch")
            mine = lc.deals[(lc.deals["payer"] == who) | (lc.deals["payee"] == who)]
            st.dataframe(mine[["deal_id", "payer", "payee", "flow", "amount_usd", "term_years", "confidence", "source"]],
                         hide_index=True, width="stretch")
    with tab4:
        parties = sorted(g.nodes)
        c1, c2 = st.columns(2)
        cp = c1.selectbox("Counterparty", parties, index=parties.index("OpenAI") if "OpenAI" in parties else 0, key="stress_cp")
        p = c2.slider("Honours this share of its commitments", 0, 100, 50, step=5, format="%d%%", key="stress_p")
        res = stress_test(sc, cp, p / 100, controls.weights)
        if res.table.empty:
            st.info(f"No listed company has revenue deals with {cp}.")
        else:
            t = res.table.copy()
            show = pd.DataFrame({
                "Company": t["name"], "Lost revenue (USD)": t["lost_revenue_usd"].map(money),
                "Revenue before": [money(v, c) for v, c in zip(t["revenue_before"], t["currency"].fillna(""))],
                "Revenue after": [money(v, c) for v, c in zip(t["revenue_after"], t["currency"].fillna(""))],
                "FCF before": [money(v, c) for v, c in zip(t["fcf_before"], t["currency"].fillna(""))],
                "FCF after": [money(v, c) for v, c in zip(t["fcf_after"], t["currency"].fillna(""))],
                "Net debt/EBITDA before": t["net_debt_to_ebitda_before"].round(2),
                "Net debt/EBITDA after": t["net_debt_to_ebitda_after"].round(2),
                "Composite before": t["composite_before"].round(0), "Composite after": t["composite_after"].round(0),
                "Δ composite": t["composite_delta"].round(1), "Grade": t["grade_before"] + " → " + t["grade_after"],
            })
            st.dataframe(show, width="stretch")
            st.caption("Lost revenue = (1 − share honoured) × annual revenue from the counterparty (amount / term, "
                       "or its disclosed share of revenue); it comes off profit and cash flow one for one. "
                       "Companies whose exposure has no amount and term show no loss (not quantifiable).")


def cycle_label(c) -> str:
    """'NVDA → OpenAI → ORCL → NVDA · USD 100.0 bn' (the smallest edge's dollars, or undisclosed)."""
    amount = money(c.amount_usd) if not pd.isna(c.amount_usd) else "undisclosed"
    return f"{' → '.join(c.nodes + c.nodes[:1])} · {amount}"


if __name__ == "__main__":
    render()
