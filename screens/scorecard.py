"""Scorecard: one company, shareable by link and as a 1600x900 PNG.

The page draws what the reader needs first -- one header, grade, pillars and
every check with its number and reason -- from native elements (no charting
library); the history, the debt bridge and the card image are lazy tabs built
when opened. The card image is the same plotly figure the CLI exports.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.embedded import EMBEDDED_SOURCE_LABEL
from data.loader import YAHOO_SOURCE_LABEL
from metrics.checks import PILLARS
from metrics.engine import history, history_of, scorecard
from metrics.format import format_value, money, times
from screens import state
from screens.charts import CARD_H, CARD_W, RESULT_TEXT, coverage_label, scorecard_figure
from screens.export import safe_csv

PNG_CONFIG = {"toImageButtonOptions": {"format": "png", "width": CARD_W, "height": CARD_H, "scale": 1},
              "displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
TABS = ["Checks", "History", "Debt: reported → adjusted", "Card image (PNG)"]
RESULT_LABELS = RESULT_TEXT


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
    card = scorecard(sc, choice, controls.weights, controls.relative, source_label(ds, choice), with_history=False)
    _header(card, controls.relative)

    tab_checks, tab_history, tab_debt, tab_image = st.tabs(TABS, key="card_view", on_change="rerun")
    if tab_checks.open is not False:
        with tab_checks:
            _checks_table(card)
    if tab_history.open:
        with tab_history:
            _history(sc, card, controls.weights)
    if tab_debt.open:
        with tab_debt:
            _debt_bridge(card)
    if tab_image.open:
        with tab_image:
            _card_image(sc, card, controls.weights)

    link = state.share_link("scorecard", ticker=choice)
    st.text_input("Share link (reopens this exact view: company, preset, weights, mode, assumptions)", link,
                  key="share_link")
    # Lazy expanders: their tables are built and sent only once opened.
    details = st.expander("Checks in detail (formula, threshold, inputs)", key="card_details", on_change="rerun")
    if details.open:
        with details:
            _check_tables(card)
    sources = st.expander(f"Sources ({len(card['sources'])} reported values)", key="card_sources", on_change="rerun")
    if sources.open:
        with sources:
            _sources_table(card)


def _header(card: dict, relative: bool) -> None:
    """The one header: company, grade, composite, scoring year; then pillars and the assumptions in force."""
    comp = "n.a." if card["composite"] is None else f"{card['composite']:.0f}"
    c1, c2, c3, c4 = st.columns([3, 1, 1, 2])
    c1.markdown(f"## {state.md_escape(card['name'])} ({state.md_escape(card['ticker'])})")
    c1.caption(f"{state.md_escape(card['segment'])} · {state.md_escape(card.get('subsegment') or '')}")
    c2.metric("Grade", card["grade"], help="A ≥ 80, B ≥ 65, C ≥ 50, D ≥ 35, F below; n.a. when fewer than half of "
              "the checks are on file. Graded on the conservative composite (checks not on file count 0).")
    c3.metric("Composite", comp, help="Weighted mean of the four pillars (0–100), every check not on file at 0 "
              "points: missing data never lifts a company. Rank, grade, presets and filters use this figure.")
    low, high = card.get("composite_low"), card.get("composite_high")
    if low is not None and high is not None and round(low) != round(high):
        c3.caption(f"Range {low:.0f}–{high:.0f} (checks not on file as fails – as passes)")
    if card.get("provisional_note"):
        c3.caption(f":material/warning: {state.md_escape(card['provisional_note'])}")
    as_of = f"FY{card['fiscal_year']} ({card['as_of']})" if card["as_of"] else "n.a."
    c4.metric("Scored on", as_of, help="The latest fiscal year whose income statement, cash-flow statement and "
              "balance sheet are all on file; its period end in brackets. " + (card["scoring_note"] or ""))
    c4.caption(f"Inputs {coverage_label(card['coverage'])} · checks on file {card['checks_on_file']} of "
               f"{card['checks_applicable']} · source: {card['data_source']} · rank {card['rank']} "
               f"of {card['of']} · {'sector-relative' if relative else 'absolute'} mode")
    pill = st.columns(4)
    for col, (pid, label) in zip(pill, PILLARS.items()):
        p = card["pillars"][pid]
        val = "n.a." if p["score"] is None else f"{p['score']:.0f}"
        col.metric(label, val, help=f"{p['status']}: {p['on_file']} of {p['applicable']} applicable checks on file "
                   "(not applicable ones are left out; not on file ones score 0).")
        if p["status"] in ("partial", "insufficient data"):
            icon = ":material/warning:" if p["status"] == "insufficient data" else ":material/info:"
            col.caption(f"{icon} {p['on_file']} of {p['applicable']} checks on file"
                        + (" · provisional" if p["status"] == "insufficient data" else ""))
        elif p["status"] == "no loop exposure on record":
            col.caption(":material/check_circle: no loop exposure on record")
    notes = [state.md_escape(card["scoring_note"])] if card["scoring_note"] else []
    notes.append(_assumptions_line(card))
    st.caption(" · ".join(f":material/info: {n}" if i == 0 else n for i, n in enumerate(notes)))


def _assumptions_line(card: dict) -> str:
    """'Server life: as reported (6 years disclosed) · debt: reported' with the effect of a chosen life."""
    a, life = card["assumptions"], card["server_life"]
    debt = f"debt basis: {a['debt_basis']}"
    if not life["adjusted"]:
        return f"Server life: {a['gpu_life']} ({state.md_escape(life['reason'])}) · {debt}"
    text = f"Server life: {a['gpu_life']} (disclosed {life['reported_life_years']:g} years)"
    if a["gpu_life_years"] is not None and life["depreciation_change"]:
        cur = card["currency"] or ""
        text += (f": depreciation {'+' if life['depreciation_change'] >= 0 else '−'}"
                 f"{money(abs(life['depreciation_change']), cur)} a year = {life.get('trace', '')} "
                 f"(base: {life['base_basis']}), operating margin {life['operating_margin_change'] * 100:+.1f} pp")
    return f"{state.md_escape(text)} · {debt}"


def check_rows(card: dict) -> pd.DataFrame:
    """Every scored check of the card as one table: pillar, check, result, value, explanation, derived inputs."""
    rows = []
    for pid, label in PILLARS.items():
        for c in card["pillars"][pid]["checks"]:
            rows.append({"Pillar": label, "Check": c["label"], "Result": RESULT_LABELS.get(c["result"], c["result"]),
                         "Value": format_value(c["value"], c["unit"]), "Explanation": c["explanation"],
                         "Derived inputs": "; ".join(f"{k}: {v}" for k, v in c.get("derived_inputs", {}).items())})
    return pd.DataFrame(rows)


def _checks_table(card: dict) -> None:
    st.dataframe(check_rows(card), hide_index=True, width="stretch", height=38 * 23, column_config={
        "Result": st.column_config.TextColumn("Result", width="small",
                                              help="PASS / FAIL against the threshold; n.a. = the check does not apply "
                                                   "to this company (left out of the pillar); not on file = an input is "
                                                   "missing (scores 0 points). The reason is in Explanation."),
        "Value": st.column_config.TextColumn("Value", width="small"),
        "Explanation": st.column_config.TextColumn("Explanation", width="large"),
        "Derived inputs": st.column_config.TextColumn("Derived inputs", help="Inputs computed from reported parts "
                                                      "because the total itself is not reported."),
    })


def _history(sc, card: dict, weights: dict) -> None:
    """Grade and pillar scores per fiscal year, the grade move in words, change since the last refresh, CSV."""
    hist = history_of(sc, card["ticker"], weights)
    rows = pd.DataFrame(hist["rows"])
    if rows.empty:
        st.info("No fiscal year of this company has statements on file to score.", icon=":material/history:")
        return
    if hist["grade_move"]:
        st.markdown(f"**{state.md_escape(hist['grade_move'])}**")
    view = rows.assign(FY=("FY" + rows["fiscal_year"].astype(int).astype(str)))
    cols = ["FY", "grade", "composite", *PILLARS]
    cfg = {"grade": st.column_config.TextColumn("Grade", width="small"),
           "composite": st.column_config.ProgressColumn("Composite", min_value=0, max_value=100, format="%.0f"),
           **{p: st.column_config.ProgressColumn(label, min_value=0, max_value=100, format="%.0f")
              for p, label in PILLARS.items()}}
    st.dataframe(view[cols], hide_index=True, width="stretch", column_config=cfg)
    st.caption(f"How: {hist['basis']}. n.a. = not enough reported data that year.")
    spark = pd.DataFrame({"Composite by fiscal year": [rows["composite"].dropna().tolist()],
                          **{f"{label} by fiscal year": [rows[p].dropna().tolist()] for p, label in PILLARS.items()}})
    st.dataframe(spark, hide_index=True, width="stretch", column_config={
        c: st.column_config.LineChartColumn(c, y_min=0, y_max=100) for c in spark.columns})
    st.caption(state.since_last_refresh(card["ticker"]))
    st.download_button("Download history as CSV", safe_csv(rows.assign(ticker=card["ticker"])),
                       file_name=f"kosmos_history_{card['ticker']}.csv", mime="text/csv", on_click="ignore")


def _debt_bridge(card: dict) -> None:
    """Debt as reported -> adjusted, every commitment sourced; both leverage ratios side by side."""
    b = card["adjusted_debt"]
    cur = b["currency"] or ""
    c1, c2, c3 = st.columns(3)
    c1.metric("Net debt / EBITDA, reported", times(b["reported_ratio"]) if b["reported_ratio"] is not None else "n.a.",
              help="(Total Debt − cash & short-term investments) / EBITDA. Negative = net cash.")
    c2.metric("Net debt / EBITDA, adjusted", times(b["adjusted_ratio"]) if b["adjusted_ratio"] is not None else "n.a.",
              help="Leases, leases signed but not commenced, purchase commitments, backstops and SPV financing added "
                   "to debt (see Methodology).")
    c3.metric("Adjusted band", b["adjusted_band"], help="A < 2.5x, BBB 2.5–3.5x, BB 3.5–5x, B 5–7x; pass < 3.5x.")
    if not b["commitments_on_file"]:
        st.info("No leases or build-out commitments are compiled for this company yet: the adjusted view is n.a. "
                "(never read as 'no commitments').", icon=":material/info:")
        return
    steps = pd.DataFrame([
        {"Step": "Total debt, as reported (or from its parts)", "Amount": b["reported_debt"]},
        {"Step": "+ commitments counted (rows below)", "Amount": b["commitments_added"]},
        {"Step": "= Adjusted debt", "Amount": b["adjusted_debt"]},
        {"Step": "− cash and short-term investments", "Amount": b["cash"]},
        {"Step": "= Adjusted net debt", "Amount": b["adjusted_net_debt"]},
        {"Step": "EBITDA (reported or OI + D&A)", "Amount": b["ebitda"]},
    ])
    st.dataframe(steps, hide_index=True, width="stretch", column_config={
        "Amount": st.column_config.NumberColumn(f"Amount ({cur})", format="%.0f")})
    lines = pd.DataFrame(b["lines"])
    st.markdown("**Commitments on file** (counted rows add to debt; each links to the page it was read from)")
    st.dataframe(lines[["line", "item", "as_of", "amount", "counted", "why_not_counted", "basis", "source", "note"]],
                 hide_index=True, width="stretch", column_config={
                     "amount": st.column_config.NumberColumn(f"Amount ({cur})", format="%.0f"),
                     "source": st.column_config.LinkColumn("Source"),
                     "basis": st.column_config.TextColumn("Basis", help="filing = read in the company's filing; "
                                                          "secondary = news or aggregator quoting it; unverified = "
                                                          "shown, never counted")})
    st.caption(f"EBITDAR: {b['ebitdar_note']}.")


def _card_image(sc, card: dict, weights: dict) -> None:
    """The 1600x900 card as one figure: the camera icon downloads it as a PNG (same content as the CLI PNG)."""
    full = {**card, "history": history_of(sc, card["ticker"], weights)}
    fig = scorecard_figure(full, history(sc, card["ticker"]), sc.ctx.loop.graph if sc.ctx.loop is not None else None,
                           sc.ctx.companies["segment"].to_dict())
    st.plotly_chart(fig, width="content", config=PNG_CONFIG, key="card")
    st.caption("Download the card as a 1600×900 PNG with the camera icon in the chart's toolbar "
               "(`python -m screens card TICKER --png out.png` writes the same image). "
               "Colour key: PASS green, FAIL red, n.a. grey (not computable from reported data).")


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
