"""Scorecard: one company on one 16:9 view, shareable by link and as a 1600x900 PNG."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.loader import YAHOO_SOURCE_LABEL
from data.embedded import EMBEDDED_SOURCE_LABEL
from metrics.checks import PILLARS
from metrics.engine import history, scorecard
from screens import state
from screens.charts import CARD_H, CARD_W, coverage_label, scorecard_figure

PNG_CONFIG = {"toImageButtonOptions": {"format": "png", "width": CARD_W, "height": CARD_H, "scale": 1},
              "displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def pick_ticker(universe: pd.DataFrame, param: str = "ticker", fallback: str = "NVDA") -> str:
    """The ticker from the URL when valid, else the session's last one, else ``fallback``."""
    known = set(universe["ticker"])
    raw = st.query_params.get(param)
    if raw is not None:
        good, bad = state.parse_tickers(raw, known, limit=1)
        if good:
            return good[0]
        if bad and st.session_state.get("_bad_ticker_seen") != raw:
            st.session_state["_bad_ticker_seen"] = raw
            st.warning(f"Unknown ticker in the link ({state.md_escape(raw[:20])}): showing {fallback} instead.", icon=":material/warning:")
    t = st.session_state.get("ticker")
    return t if t in known else (fallback if fallback in known else sorted(known)[0])


def source_label(ds, ticker: str) -> str:
    row = ds.provenance[ds.provenance["ticker"] == ticker]
    if not row.empty and row.iloc[0]["origin"] == "yahoo":
        ts = pd.Timestamp(row.iloc[0]["fetched_at"])
        stale = " (stale)" if bool(row.iloc[0]["stale"]) else ""
        return f"{YAHOO_SOURCE_LABEL}, fetched {ts.strftime('%Y-%m-%d %H:%M')} UTC{stale}"
    if not row.empty and row.iloc[0]["origin"] == "none":
        return "No figures (not in the embedded set; refresh to fetch live)"
    return EMBEDDED_SOURCE_LABEL


def render() -> None:
    controls = state.page()
    ds = state.dataset()
    sc = state.scored()
    universe = ds.universe
    ticker = pick_ticker(universe)
    labels = {t: f"{t} — {n}" for t, n in zip(universe["ticker"], universe["name"])}
    options = list(universe["ticker"])
    choice = st.selectbox("Company", options, index=options.index(ticker), format_func=lambda t: labels.get(t, t))
    st.session_state["ticker"] = choice
    state.sync_query_params(ticker=choice)
    card = scorecard(sc, choice, controls.weights, controls.relative, source_label(ds, choice))

    g = card["grade"]
    comp = "n.a." if card["composite"] is None else f"{card['composite']:.0f}"
    c1, c2, c3, c4 = st.columns([3, 1, 1, 2])
    c1.markdown(f"## {state.md_escape(card['name'])} ({state.md_escape(card['ticker'])})")
    c1.caption(f"{state.md_escape(card['segment'])} · {state.md_escape(card.get('subsegment') or '')}")
    c2.metric("Grade", g, help="A ≥ 80, B ≥ 65, C ≥ 50, D ≥ 35, F below; n.a. when fewer than two pillars have data.")
    c3.metric("Composite", comp, help="Weighted mean of pillars with enough data (0–100).")
    as_of = f"FY{card['fiscal_year']} ({card['as_of']})" if card["as_of"] else "n.a."
    c4.metric("Scored on", as_of, help="The latest fiscal year whose income statement, cash-flow statement and "
              "balance sheet are all on file; its period end in brackets. " + (card["scoring_note"] or ""))
    c4.caption(f"Inputs {coverage_label(card['coverage'])} · source: {card['data_source']} · rank {card['rank']} "
               f"of {card['of']} · {'sector-relative' if controls.relative else 'absolute'} mode")
    if card["scoring_note"]:
        st.caption(f":material/info: {state.md_escape(card['scoring_note'])}")
    pill = st.columns(4)
    for col, (pid, label) in zip(pill, PILLARS.items()):
        p = card["pillars"][pid]
        val = "n.a." if p["score"] is None else f"{p['score']:.0f}"
        col.metric(label, val, help=f"Status: {p['status']}")
        if p["status"] != "ok":
            col.caption(f":material/warning: {p['status']}")

    fig = scorecard_figure(card, history(sc, choice), sc.ctx.loop.graph, sc.ctx.companies["segment"].to_dict())
    st.plotly_chart(fig, width="content", config=PNG_CONFIG, key="card")
    st.caption("Download the card as a 1600×900 PNG with the camera icon in the chart's toolbar. "
               "Colour key: PASS green, FAIL red, N.A. grey (not computable from reported data).")
    link = state.share_link("scorecard", ticker=choice)
    st.text_input("Share link (reopens this exact view)", link, key="share_link")

    # Lazy expanders: their tables are built and sent only once opened, so the card draws first.
    details = st.expander("Checks in detail (formula, threshold, inputs)", key="card_details", on_change="rerun")
    if details.open:
        with details:
            _check_tables(card)
    sources = st.expander(f"Sources ({len(card['sources'])} reported values)", key="card_sources", on_change="rerun")
    if sources.open:
        with sources:
            _sources_table(card)


def _check_tables(card: dict) -> None:
    """Every check of every pillar with formula, threshold and explanation."""
    for pid, label in PILLARS.items():
        p = card["pillars"][pid]
        st.markdown(f"**{label}** — {('n.a.' if p['score'] is None else round(p['score']))} · {p['status']}")
        rows = [{"Check": c["label"], "Result": c["result"], "Explanation": c["explanation"],
                 "Formula": c["formula"], "Threshold": c["threshold"]} for c in p["checks"]]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _sources_table(card: dict) -> None:
    """Every reported value behind the card, linked to its filing or page, then the derived ones with
    their formulas ("derived: A + B"), and the market cap's source."""
    if card["sources"]:
        src = pd.DataFrame(card["sources"])
        st.dataframe(src, hide_index=True, width="stretch",
                     column_config={"source": st.column_config.LinkColumn("Source"),
                                    "note": st.column_config.TextColumn("Basis note"),
                                    "value": st.column_config.NumberColumn(f"Value ({card['currency'] or ''})", format="%.0f")})
    else:
        st.info("No reported figures for this company in the current data. Use 'Refresh from Yahoo Finance'.")
    if card["derived"]:
        st.markdown("**Derived at run time** (never stored; each from the reported values above)")
        st.dataframe(pd.DataFrame(card["derived"]).rename(columns={"source": "how"}), hide_index=True, width="stretch",
                     column_config={"value": st.column_config.NumberColumn(f"Value ({card['currency'] or ''})",
                                                                           format="%.0f")})
    if card["market_cap_usd"] is not None:
        st.caption(f"Market cap USD {card['market_cap_usd'] / 1e9:,.1f} bn as of {card['market_cap_as_of']} — "
                   f"{card['market_cap_source']}")


if __name__ == "__main__":
    render()
