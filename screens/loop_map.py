"""Loop map: the circular-financing network, its cycles, a Sankey, ego networks, stress test, uploads.

Everything sent to the browser is bounded, whatever was uploaded: the map and
the Sankey draw at most ``MAX_MAP_EDGES`` money flows (one per payer -> payee
pair), the cycle picker and table list at most ``MAX_CYCLES_SHOWN`` cycles and
the deals tables at most ``MAX_TABLE_ROWS`` rows, each with a note saying so.
An upload is parsed once per file content (SHA-256), in a cache of 4 entries.
"""

from __future__ import annotations

import hashlib

import networkx as nx
import numpy as np
import pandas as pd
import streamlit as st

from data.loop import Upload, load_deals, parse_upload, upload_limits
from metrics.cycles import MAX_CYCLES, TIME_BUDGET_S
from metrics.engine import scorecard, stress_test
from metrics import format as fmt
from metrics.format import money
from metrics.loop import MAX_CYCLE_LENGTH, Cycle, LoopContext
from screens import state
from screens.charts import check_value, network_figure, result_css, result_text, sankey_figure

MAX_CYCLES_SHOWN = 200
MAX_MAP_EDGES = 200
MAX_TABLE_ROWS = 2_000  # above any upload (1,000 rows) + the embedded deals: every deal is listed
MAX_ERRORS_SHOWN = 200


@st.cache_data(max_entries=4, show_spinner="Reading the uploaded deals…")
def parsed_upload(digest: str, _data: bytes, known: tuple[str, ...]) -> Upload:
    """The upload parsed and validated once per file content (``digest``: the SHA-256 of ``_data``)."""
    return parse_upload(_data, "uploaded file", known)


def known_parties() -> tuple[str, ...]:
    """Names an upload's parties are matched to regardless of case: listed tickers and the embedded deals' parties."""
    deals = load_deals()
    return tuple(sorted(set(state.dataset().universe["ticker"]) | set(deals["payer"]) | set(deals["payee"])))


def upload_section() -> None:
    """The uploader, its limits (stated before anything is uploaded) and what became of the file."""
    with st.expander("Upload your own deals (CSV, same columns as data/deals.csv)"):
        st.caption(upload_limits())
        up = st.file_uploader("Deals CSV", type=["csv"], key="deals_upload",
                              help="Rows extend the embedded deals for this session only; a matching deal_id "
                                   "overrides it. " + upload_limits())
        if up is not None:
            data = up.getvalue()
            show_upload(parsed_upload(hashlib.sha256(data).hexdigest(), data, known_parties()))
        elif st.session_state.get("uploaded_deals") is not None:
            if st.button("Forget uploaded deals"):
                st.session_state.pop("uploaded_deals", None)
                st.rerun()


def show_upload(result: Upload) -> None:
    """Use the upload's valid rows for the session, or say why the file was refused; list rejected rows."""
    if result.fatal:
        st.session_state.pop("uploaded_deals", None)
        st.error(state.md_escape(result.fatal))
        return
    st.session_state["uploaded_deals"] = result.valid
    st.success(f"Using {len(result.valid)} uploaded deal(s) for this session.")
    for n in result.notices:
        st.info(state.md_escape(n))
    if result.errors:
        more = len(result.errors) > MAX_ERRORS_SHOWN
        listed = f"; the first {MAX_ERRORS_SHOWN} are listed:" if more else ":"
        st.warning(f"{len(result.errors)} row(s) rejected{listed}")
        st.dataframe(pd.DataFrame([{"Line in the file": str(e.line), "Deal": e.deal_id or "–", "Why rejected": e.reason}
                                   for e in result.errors[:MAX_ERRORS_SHOWN]]), hide_index=True, width="stretch")


def cycles_phrase(lc: LoopContext) -> str:
    """'77 cycles', or 'at least 2,000 cycles' when the bounded search stopped early."""
    return f"at least {lc.cycles_found:,} cycles" if lc.cycles_truncated else f"{len(lc.cycles):,} cycles"


def drawn_graph(g: nx.DiGraph, focus: str | None, cycle: list[str] | None, limit: int = MAX_MAP_EDGES) -> nx.DiGraph:
    """``g`` when it has at most ``limit`` money flows; else its ``limit`` largest, the highlighted cycle's and the
    focused company's flows first (a flow is one payer -> payee pair, all its deals summed)."""
    if g.number_of_edges() <= limit:
        return g
    on_cycle = set(zip(cycle, cycle[1:] + cycle[:1])) if cycle else set()

    def key(e: tuple[str, str]) -> tuple:
        a = g.edges[e]["amount_usd"]
        return (e not in on_cycle, not (focus and focus in e), bool(np.isnan(a)), -np.nan_to_num(a), e)
    return g.edge_subgraph(sorted(g.edges, key=key)[:limit]).copy()


def capped(df: pd.DataFrame, what: str, limit: int = MAX_TABLE_ROWS) -> pd.DataFrame:
    """The first ``limit`` rows of ``df``, with a caption when rows were left out."""
    if len(df) > limit:
        st.caption(f"Showing the first {limit:,} of {len(df):,} {what}.")
    return df.head(limit)


def render() -> None:
    controls = state.page("Loop map", "Who pays whom in the AI ecosystem: equity, compute contracts, chips, custom "
                          "silicon, warrants, backstops, leases. Money flows payer → payee; thick edges lie on a cycle.")
    upload_section()
    c1, c2 = st.columns([2, 1])
    as_of = c1.slider("Graph as of", min_value=pd.Timestamp("2023-01-01").date(), max_value=pd.Timestamp("2026-06-30").date(),
                      value=pd.Timestamp("2026-06-30").date(), format="YYYY-MM", key="loop_as_of",
                      help="Deals announced on or before this date (month- or year-dated deals count from the period's first day).")
    include_low = c2.toggle("Count low-confidence amounts", key="loop_low",
                            help="Unconfirmed or analyst-estimated amounts (e.g. the reported USD 300 bn OpenAI–Oracle deal).")
    sc = state.scored(str(as_of), include_low)
    lc = sc.ctx.loop
    g = lc.graph
    st.subheader(f"{g.number_of_nodes()} parties · {g.number_of_edges()} money flows · {cycles_phrase(lc)}")
    if lc.cycles_truncated:
        st.info(f"At least {lc.cycles_found:,} cycles of up to {MAX_CYCLE_LENGTH} parties; showing the largest "
                f"(the search finds them largest first and stops at {MAX_CYCLES:,} cycles or {TIME_BUDGET_S:g} s). "
                "Cycle counts per company are lower bounds.", icon=":material/info:")
    segments = sc.ctx.companies["segment"].to_dict()
    subsegments = sc.ctx.companies["subsegment"].to_dict()
    caps = sc.ctx.companies["market_cap_usd"].to_dict()
    c3, c4 = st.columns([1, 2])
    focus = c3.selectbox("Focus on a company", ["(none)"] + sorted(g.nodes), key="loop_focus",
                         help="Fades every party and money flow that does not touch this one.")
    focus = None if focus == "(none)" else focus
    cycles = lc.cycles_of(focus) if focus else list(lc.cycles)
    shown = cycles[:MAX_CYCLES_SHOWN]
    labels = {cycle_label(c): c.nodes for c in shown}
    if st.session_state.get("loop_cycle") not in ["(none)", *labels]:
        st.session_state["loop_cycle"] = "(none)"
    choice = c4.selectbox(f"Highlight a cycle ({cycle_count_label(len(cycles), len(shown), lc.cycles_truncated)}"
                          f"{' through ' + focus if focus else ''}, largest first)",
                          ["(none)", *labels], key="loop_cycle",
                          help="Draws the cycle's money flows thick and fades everything else.")
    picked = labels.get(choice)
    drawn = drawn_graph(g, focus, picked)
    st.plotly_chart(network_figure(drawn, [c.nodes for c in lc.cycles], segments, caps, focus, subsegments, picked,
                                   deals=lc.deals), width="stretch", key="network")
    if drawn is not g:
        st.caption(f"Drawing the {drawn.number_of_edges():,} largest of {g.number_of_edges():,} money flows "
                   "(the highlighted cycle's and the focused company's first); the tables below list every deal.")
    st.caption("Columns by role: chips and hardware sell to hyperscalers and neoclouds, which sell compute to AI labs, "
               "funded by financiers. Edge width = amount (the largest deals are the widest edges); colour = flow kind; dashed = "
               "unconfirmed, or an amount stated but not counted (low confidence); dotted = amount not disclosed. Hover "
               "an edge's middle for amount, basis, date and source.")

    tab1, tab2, tab3, tab4 = st.tabs(["Cycles", "Money flows (Sankey)", "Company exposure", "Stress test"])
    with tab1:
        cyc = pd.DataFrame([{"Cycle": " → ".join(c.nodes + c.nodes[:1]), "Parties": str(c.length),
                             "Dollars carried (smallest flow)": money(c.amount_usd) if not pd.isna(c.amount_usd)
                             else "undisclosed (a flow has no amount)",
                             "Smallest disclosed flow": money(c.min_known_usd) if not pd.isna(c.min_known_usd)
                             else "none disclosed"} for c in shown])
        if cyc.empty:
            st.info("No cycle in the graph as of this date." if not focus else f"{focus} is on no cycle.")
        else:
            if len(shown) < len(cycles) or lc.cycles_truncated:
                st.caption(f"The {len(shown):,} largest of {'at least ' if lc.cycles_truncated else ''}"
                           f"{len(cycles):,} cycles{' through ' + focus if focus else ''}.")
            st.dataframe(cyc, hide_index=True, width="stretch")
            st.caption("Pick a cycle in 'Highlight a cycle' above the map to draw it there.")
    with tab2:
        st.plotly_chart(sankey_figure(drawn, lc.deals), width="stretch", key="sankey", theme=None)
        cut = f" The {drawn.number_of_edges():,} largest of {g.number_of_edges():,} flows." if drawn is not g else ""
        st.caption("Payers on the left, payees on the right: a company that both pays and is paid appears on each side, "
                   "so money going round a loop is not drawn as a loop (see the Cycles tab). Pale links = amount stated "
                   "but not counted (low confidence). Flows without a disclosed amount are in the table below." + cut)
        d = capped(lc.deals, "deals")
        st.dataframe(deals_view(d), hide_index=True, width="stretch", column_config=DEALS_CONFIG)
    with tab3:
        if focus and focus not in segments:  # a private party (OpenAI, an uploaded name): no scorecard to show
            st.info(f"{state.md_escape(focus)} is not a listed company, so it has no loop-exposure score; its deals "
                    "are in the Money flows tab.")
            who = None
        else:
            who = focus or st.selectbox("Company", sorted(n for n in g.nodes if n in segments), key="loop_company")
        if who:
            card = scorecard(sc, who, controls.weights, controls.relative, with_history=False)
            p = card["pillars"]["loop_exposure"]
            st.metric(f"{who} loop-exposure score (100 = independent)", fmt.score(p["score"]),
                      help=f"{p['status']}: {p['on_file']} of {p['applicable']} checks on file")
            checks = pd.DataFrame([{"Check": c["label"], "Result": result_text(c["result"]), "Value": check_value(c),
                                    "Explanation": c["explanation"]} for c in p["checks"]])
            st.dataframe(checks.style.map(result_css, subset=["Result"]), hide_index=True, width="stretch",
                         row_height=68, column_config={"Explanation": st.column_config.TextColumn("Why", width="large")})
            mine = capped(lc.deals[(lc.deals["payer"] == who) | (lc.deals["payee"] == who)], f"deals of {who}")
            st.dataframe(deals_view(mine), hide_index=True, width="stretch", column_config=DEALS_CONFIG)
    with tab4:
        parties = sorted(g.nodes)
        c1, c2 = st.columns(2)
        cp = c1.selectbox("Counterparty", parties, index=parties.index("OpenAI") if "OpenAI" in parties else 0, key="stress_cp")
        p = c2.slider("Honours this share of its commitments", 0, 100, 50, step=5, format="%d%%", key="stress_p")
        res = stress_test(sc, cp, p / 100, controls.weights)
        if res.table.empty:
            st.info(f"No listed company has revenue deals with {state.md_escape(cp)}.")
        else:
            st.dataframe(stress_view(res.table), hide_index=True, width="stretch", row_height=68, column_config={
                "Company": st.column_config.TextColumn("Company", pinned=True),
                "Lost revenue": st.column_config.TextColumn("Lost revenue (scored year)", width="medium",
                                                            help="n.a. (reason) when it cannot be quantified."),
                "Contracts after the year": st.column_config.TextColumn(
                    "Contracts running after the scored year", help="Still to run after the scored fiscal year: not "
                    "in its revenue, so not cut here (judged against backlog by the loop checks).")})
            st.caption("Lost revenue = (1 − share honoured) × the counterparty's revenue inside each company's scored "
                       "fiscal year (amount spread over the deal's term, or its disclosed share of revenue); it comes "
                       "off profit and cash flow one for one. Contracts that run after the scored year are shown "
                       "apart and not cut.")


DEALS_CONFIG = {
    "Deal": st.column_config.TextColumn("Deal", help="The deal's identifier in the loop data."),
    "Amount": st.column_config.TextColumn("Amount (USD bn)", help="As announced; 'not disclosed' when no figure "
                                          "was published."),
    "Counted": st.column_config.TextColumn("Counted", help="Whether the amount counts in the loop checks: high and "
                                           "medium confidence count; low only with the toggle; excluded never."),
    "Source": st.column_config.LinkColumn("Source", help="The first page the deal was read on.",
                                          display_text=r"https?://(?:www\.)?([^/]+)"),
}


def deals_view(deals: pd.DataFrame) -> pd.DataFrame:
    """The deals as a table of words: date, payer → payee, kind, amount in USD bn ('not disclosed'), basis, term,
    status, confidence, whether the amount is counted, source."""
    if deals.empty:
        return pd.DataFrame(columns=["Announced", "Payer", "Payee", "Kind", "Amount", "Basis", "Term", "Status",
                                     "Confidence", "Counted", "Source", "Deal"])
    conf = deals["confidence"].fillna("")
    counted = np.where(conf.isin(["high", "medium"]), "yes", np.where(conf == "low", "only on request", "no"))
    return pd.DataFrame({
        "Announced": deals["announced"].astype(str).str[:10],
        "Payer": deals["payer"].astype(str), "Payee": deals["payee"].astype(str),
        "Kind": deals["flow"].astype(str).str.replace("_", " "),
        "Amount": [fmt.amount(v) if not fmt.is_missing(v) else "not disclosed" for v in deals["amount_usd"]],
        "Basis": deals["amount_basis"].fillna("–").astype(str),
        "Term": [f"{v:g} years" if not fmt.is_missing(v) else "–" for v in deals["term_years"]],
        "Status": deals["status"].fillna("–").astype(str), "Confidence": conf.replace("", "–"),
        "Counted": np.where(deals["amount_usd"].isna(), "no amount", counted),
        "Source": deals["source"].fillna("").astype(str).str.split(" ; ").str[0], "Deal": deals["deal_id"].astype(str)})


def stress_view(t: pd.DataFrame) -> pd.DataFrame:
    """The stress test as a table of words: every cell a formatted number or 'n.a. (reason)'."""
    cur = t["currency"].fillna("")
    reason = t["reason"].fillna("")

    def lost(v, q, r):
        return fmt.money(v) if q and not fmt.is_missing(v) else fmt.na(r or "not quantifiable")

    def after(v):
        return fmt.money(v) if not fmt.is_missing(v) and v > 0 else "none"

    return pd.DataFrame({
        "Company": t["name"].astype(str), "Scored year": t["fiscal_year"].map(fmt.fiscal_year),
        "Lost revenue": [lost(v, q, r) for v, q, r in zip(t["lost_revenue_usd"], t["quantified"], reason)],
        "Contracts after the year": [after(v) for v in t["to_run_after_usd"]],
        "Revenue before → after": [f"{fmt.money(a, c)} → {fmt.money(b, c)}"
                                   for a, b, c in zip(t["revenue_before"], t["revenue_after"], cur)],
        "FCF before → after": [f"{fmt.money(a, c)} → {fmt.money(b, c)}"
                               for a, b, c in zip(t["fcf_before"], t["fcf_after"], cur)],
        "Net debt / EBITDA before → after": [f"{fmt.times(a)} → {fmt.times(b)}" for a, b in
                                             zip(t["net_debt_to_ebitda_before"], t["net_debt_to_ebitda_after"])],
        "Composite before → after": [f"{fmt.score(a)} → {fmt.score(b)}"
                                     for a, b in zip(t["composite_before"], t["composite_after"])],
        "Change": [fmt.number(v, 1) if not fmt.is_missing(v) else fmt.na("not graded") for v in t["composite_delta"]],
        "Grade": (t["grade_before"].astype(str) + " → " + t["grade_after"].astype(str)),
        "Why": reason.replace("", "–"),
    })


def cycle_count_label(total: int, shown: int, truncated: bool) -> str:
    """'77', 'at least 2,000' (search stopped early) or '200 of 350' (list cut to the top ones)."""
    count = f"at least {total:,}" if truncated else f"{total:,}"
    return count if shown == total and not truncated else f"{shown:,} of {count}"


def cycle_label(c: Cycle) -> str:
    """'NVDA → OpenAI → ORCL → NVDA · USD 100.0 bn' (the smallest edge's dollars, or undisclosed)."""
    amount = money(c.amount_usd) if not pd.isna(c.amount_usd) else "undisclosed"
    return f"{' → '.join(c.nodes + c.nodes[:1])} · {amount}"


if __name__ == "__main__":
    render()
