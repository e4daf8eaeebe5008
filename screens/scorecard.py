"""Scorecard: one company, shareable by link and as a 1600x900 PNG.

The page draws what the reader needs first -- one header, grade, pillars, the
newest results release and every check with its number and reason -- from
native elements (no charting library); the history, the debt bridge and the
card image are lazy tabs built when opened. The card image is the PNG the CLI
writes (same builder, same bytes).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from metrics import format as fmt
from metrics.checks import PILLARS
from metrics.engine import history_of, scorecard
from metrics.financials import RESULTS_DUE_DAYS
from screens import state
from screens.charts import (PILLAR_SHORT, RESULT_MEANING, RESULT_TEXT, card_results, check_value, coverage_label,
                            due_not_on_file, pillar_status, result_css, result_text, rounded_inputs_line,
                            source_precision)
from screens.export import card_and_figure, png_bytes, safe_csv, source_label

PNG_CONFIG = {"toImageButtonOptions": {"format": "png", "width": 1600, "height": 900, "scale": 1},
              "displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
TABS = ["Checks", "History", "Debt: reported → adjusted", "Card image (PNG)"]
RESULT_HELP = "; ".join(f"{RESULT_TEXT[k]} = {v}" for k, v in RESULT_MEANING.items()) + ". The reason is in Why."
#: a link shown by its site ("sec.gov"), the full address on hover
SITE = r"https?://(?:www\.)?([^/]+)"
#: a row tall enough for the grid to wrap a long explanation over three lines
WRAP_ROW = 68


def pick_ticker(universe: pd.DataFrame, param: str = "ticker", fallback: str = "NVDA") -> str:
    """The ticker from the URL when valid, else the session's last one, else ``fallback``. An unknown ticker in
    the link is reported once, by the link notices (:func:`screens.state.init_from_query_params`)."""
    known = set(universe["ticker"])
    raw = st.query_params.get(param)
    if raw is not None:
        good, _ = state.parse_tickers(raw, known, limit=1)
        if good:
            return good[0]
    t = st.session_state.get("ticker")
    return t if t in known else (fallback if fallback in known else sorted(known)[0])


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
    card = scorecard(sc, choice, controls.weights, controls.relative, source_label(ds, choice, sc), with_history=False)
    _header(card, controls.relative)
    _newest_results(card, getattr(ds, "results", None))

    tab_checks, tab_history, tab_debt, tab_image = st.tabs(TABS, key="card_view", on_change="rerun")
    if tab_checks.open is not False:
        with tab_checks:
            _checks_table(card)
    if tab_history.open:
        with tab_history:
            _history(sc, card, controls.weights, controls.relative)
    if tab_debt.open:
        with tab_debt:
            _debt_bridge(card)
    if tab_image.open:
        with tab_image:
            _card_image(sc, ds, card, controls.weights, controls.relative)

    link = state.share_link("scorecard", ticker=choice)
    st.text_input("Share link (reopens this exact view: company, preset, weights, mode, assumptions)", link,
                  key="share_link")
    # Lazy expanders: their tables are built and sent only once opened.
    details = st.expander("Checks in detail (formula, threshold, derived inputs)", key="card_details",
                          on_change="rerun")
    if details.open:
        with details:
            _check_tables(card)
    sources = st.expander(f"Sources ({len(card['sources'])} reported values)", key="card_sources", on_change="rerun")
    if sources.open:
        with sources:
            _sources_table(card, getattr(ds, "results", None))
    life = st.expander(f"Server & GPU useful life: {card['assumptions']['gpu_life']}", key="card_life",
                       on_change="rerun")
    if life.open:
        with life:
            _server_life(card)


def _header(card: dict, relative: bool) -> None:
    """The one header: company, grade, composite, scoring year and its age; then pillars and the assumptions."""
    c1, c2, c3, c4 = st.columns([3, 1, 1, 2])
    c1.markdown(f"## {state.md_escape(card['name'])} ({state.md_escape(card['ticker'])})")
    c1.caption(f"{state.md_escape(card['segment'])} · {state.md_escape(card.get('subsegment') or '')}")
    c2.metric("Grade", card["grade"], help="A ≥ 80, B ≥ 65, C ≥ 50, D ≥ 35, F below; n.a. when fewer than half of "
              "the checks are on file. Graded on the conservative composite (checks not on file count 0).")
    c3.metric("Composite", fmt.score(card["composite"]), help="Weighted mean of the four pillars (0–100), every "
              "check not on file at 0 points: missing data never lifts a company. Rank, grade, presets and filters "
              "use this figure." + (" Sector-relative mode: the percentile within the segment." if relative else ""))
    rng = fmt.score_range(card.get("composite_low"), card.get("composite_high"))
    if "–" in rng:
        c3.caption(f"Range {rng} (checks not on file as fails – as passes)")
    if card.get("provisional_note"):
        c3.caption(f":material/warning: {state.md_escape(card['provisional_note'])}")
    on_ttm = str(card.get("basis_label", "")).startswith("TTM")
    as_of = "TTM" if on_ttm else (f"FY{card['fiscal_year']}" if card["fiscal_year"] else fmt.NA)
    months = fmt.months_between(card["as_of"], pd.Timestamp.now())
    c4.metric("Scored on", as_of, help=("Trailing twelve months (Yahoo's TTM income statement and cash flow) and "
              "the latest quarter's balance sheet; multi-year checks use the annual history. " if on_ttm else
              "The latest fiscal year whose income statement, cash-flow statement and balance sheet are all on file. ")
              + (card["scoring_note"] or ""))
    period = state.md_escape(card["basis_label"]) if on_ttm else f"Year to {card['as_of'] or fmt.NA}"
    c4.caption(f"{period} ({fmt.age(months)} ago) · inputs {coverage_label(card['coverage'])}"
               f" · checks on file {card['checks_on_file']} of {card['checks_applicable']} · rank {card['rank']} of "
               f"{card['of']} · {'sector-relative' if relative else 'absolute'} scores · source: "
               f"{state.md_escape(card['data_source'])}")
    pill = st.columns(4)
    for col, (pid, label) in zip(pill, PILLARS.items()):
        p = card["pillars"][pid]
        col.metric(label, fmt.score(p["score"]), help=f"{p['status']}: {p['on_file']} of {p['applicable']} "
                   "applicable checks on file. Checks that do not apply are left out of the score; checks not on "
                   "file score 0. n.a. when none of the applicable checks is on file.")
        col.caption(f"{PILLAR_ICONS.get(p['status'], ':material/info:')} {pillar_status(p)}")
    notes = [state.md_escape(card["scoring_note"])] if card["scoring_note"] else []
    notes.append(_assumptions_line(card))
    st.caption(" · ".join(f":material/info: {n}" if i == 0 else n for i, n in enumerate(notes)))


#: the icon before a pillar's status line: a warning when fewer than half of its checks are on file
PILLAR_ICONS = {"insufficient data": ":material/warning:", "partial": ":material/info:",
                "complete": ":material/check_circle:", "no loop exposure on record": ":material/check_circle:"}


def _assumptions_line(card: dict) -> str:
    """'Server life: as reported (6 years disclosed) · debt basis: reported' with the effect of a chosen life."""
    a, life = card["assumptions"], card["server_life"]
    debt = f"debt basis: {a['debt_basis']}"
    if not life["adjusted"]:
        return f"Server life: {a['gpu_life']} ({state.md_escape(life['reason'])}) · {debt}"
    text = f"Server life: {a['gpu_life']} (disclosed {life['reported_life_years']:g} years)"
    if a["gpu_life_years"] is not None and life["depreciation_change"]:
        text += (f": depreciation {fmt.money(life['depreciation_change'], card['currency'] or '')} a year, operating "
                 f"margin {fmt.pp(life['operating_margin_change'], signed=True)}")
    return f"{state.md_escape(text)} · {debt}"


def results_rows(res: dict | None) -> pd.DataFrame:
    """The newest results release as a table of words: line, value, growth, rounding, stated, released, kind."""
    if not res:
        return pd.DataFrame()
    return pd.DataFrame([{"Line": r["label"], "Value": r["value"], f"Growth vs {res['vs']}": r["growth"],
                          "Rounding": r["precision"] or "as stated", "Stated": r["stated"] or "–",
                          "Released": r["released"] or "not stated", "Page": r["kind"] or "–"} for r in res["rows"]])


def _newest_results(card: dict, results) -> None:
    """'FY2026 results (release, rounded)' (or '(aggregator, rounded)', ...: the kind of page they were read from):
    the headline figures of the newest year, with their stated precision
    and growth against the scored year; never scored."""
    res = card_results(results, card)
    due = due_not_on_file(card, res)
    missing = (f"FY{due} (year to {card.get('newest_due_period_end')}) is due by now (results are public within "
               f"{RESULTS_DUE_DAYS} days of the year end), but neither its statements nor its results release are on "
               "file. A live refresh from Yahoo Finance brings its statements once Yahoo has them." if due else "")
    if not res:
        if missing:
            st.info(missing, icon=":material/hourglass_empty:")
        return
    with st.container(border=True):
        released = f" · released {state.md_escape(res['released'])}" if res["released"] else ""
        st.markdown(f"**{res['title']}**{released} · shown for information, never scored (the score uses "
                    f"{fmt.fiscal_year(card['fiscal_year'])})")
        st.table(results_rows(res), hide_index=True, border="horizontal")
        if missing:
            st.caption(f":material/hourglass_empty: {missing}")


def check_rows(card: dict) -> pd.DataFrame:
    """Every scored check of the card as one table of words: pillar, check, result, value, why."""
    rows = []
    for pid in PILLARS:
        for c in card["pillars"][pid]["checks"]:
            rows.append({"Pillar": PILLAR_SHORT[pid], "Check": c["label"], "Result": result_text(c["result"]),
                         "Value": check_value(c), "Explanation": c["explanation"]})
    return pd.DataFrame(rows, columns=["Pillar", "Check", "Result", "Value", "Explanation"])


def styled(frame: pd.DataFrame, column: str = "Result"):
    """``frame`` with its result column coloured by :func:`screens.charts.result_css` (icon, word and colour)."""
    return frame.style.map(result_css, subset=[column]) if column in frame and len(frame) else frame


def _checks_table(card: dict) -> None:
    frame = check_rows(card)
    if line := rounded_inputs_line(card):
        st.caption(f":material/straighten: {state.md_escape(line)}")
    st.dataframe(styled(frame), hide_index=True, width="stretch", row_height=WRAP_ROW,
                 height=WRAP_ROW * len(frame) + 40, column_config={
                     "Pillar": st.column_config.TextColumn("Pillar", width="small"),
                     "Check": st.column_config.TextColumn("Check", width="medium"),
                     "Result": st.column_config.TextColumn("Result", width="small", help=RESULT_HELP),
                     "Value": st.column_config.TextColumn("Value", width="small",
                                                          help="The check's number; – when it does not apply."),
                     "Explanation": st.column_config.TextColumn("Why", width="large",
                                                                help="The numbers behind the result, in one sentence.")})


def history_rows(hist: dict, relative: bool = False) -> pd.DataFrame:
    """Every fiscal year scored with the headline's rules; the scoring year's row is the headline (marked)."""
    rows = pd.DataFrame(hist["rows"])
    if rows.empty:
        return rows
    view = pd.DataFrame({
        "FY": [fmt.fiscal_year(y) + (" (scored: the headline)" if s else "")
               for y, s in zip(rows["fiscal_year"], rows["scoring_year"] if "scoring_year" in rows
                               else [False] * len(rows))],
        "Year to": rows["period_end"].astype(str).str[:10] if "period_end" in rows else "",
        "grade": rows["grade"],
        "composite": rows["composite"].astype(float),
        "Composite (range)": [_with_range(c, lo, hi) for c, lo, hi in
                              zip(rows["composite"], rows["composite_low"], rows["composite_high"])],
        **{p: rows[p].astype(float) for p in PILLARS}})
    return view


def _with_range(comp, low, high) -> str:
    """'73 (73–87)' or 'n.a. (fewer than half of the checks on file; 18–92)'."""
    rng = fmt.score_range(low, high)
    if fmt.is_missing(comp):
        return f"n.a. (fewer than half of the checks on file; range {rng})"
    return fmt.score(comp) + (f" (range {rng})" if "–" in rng else "")


def _history(sc, card: dict, weights: dict, relative: bool) -> None:
    """Grade and pillar scores per fiscal year, the grade move in words, change since the last refresh, CSV."""
    hist = history_of(sc, card["ticker"], weights)
    view = history_rows(hist, relative)
    if view.empty:
        st.info("No fiscal year of this company has statements on file to score.", icon=":material/history:")
        return
    if relative:
        st.info("The history shows absolute scores (0–100): sector-relative percentiles rank companies within their "
                "segment in the scoring year only, so the scored year's row here differs from the header.",
                icon=":material/info:")
    if hist["grade_move"]:
        st.markdown(f"**{state.md_escape(hist['grade_move'])}**")
    cfg = {"FY": st.column_config.TextColumn("Fiscal year"),
           "Year to": st.column_config.TextColumn("Year to", help="The period end of the fiscal year."),
           "grade": st.column_config.TextColumn("Grade", width="small"),
           "composite": st.column_config.ProgressColumn("Composite", min_value=0, max_value=100, format="%.0f",
                                                        help="Empty bar = n.a. (see the next column)."),
           "Composite (range)": st.column_config.TextColumn("Composite (range)", help="Conservative composite, and in "
                                                            "brackets the range with the missing checks as fails – "
                                                            "as passes."),
           **{p: st.column_config.ProgressColumn(label, min_value=0, max_value=100, format="%.0f")
              for p, label in PILLARS.items()}}
    st.dataframe(view, hide_index=True, width="stretch", column_config=cfg)
    st.caption(f"How: {state.md_escape(hist['basis'])}. n.a. = fewer than half of the checks on file that year.")
    rows = pd.DataFrame(hist["rows"])
    spark = pd.DataFrame({"Composite by fiscal year": [rows["composite"].dropna().tolist()],
                          **{f"{label} by fiscal year": [rows[p].dropna().tolist()] for p, label in PILLARS.items()}})
    st.dataframe(spark, hide_index=True, width="stretch", column_config={
        c: st.column_config.LineChartColumn(c, y_min=0, y_max=100) for c in spark.columns})
    st.caption(state.since_last_refresh(card["ticker"]))
    st.download_button("Download history as CSV", safe_csv(fmt.round_for_csv(rows.assign(ticker=card["ticker"]))),
                       file_name=f"kosmos_history_{card['ticker']}.csv", mime="text/csv", on_click="ignore")


BRIDGE_GROUPS = {"counted": "Counted in adjusted debt",
                 "not counted": "On file for the scored year, not counted",
                 "later": "Disclosed after the year end (not scored)"}


def bridge_steps(b: dict) -> tuple[pd.DataFrame, str]:
    """Total debt as reported -> adjusted net debt, one step per row, amounts in the column's unit (and that unit)."""
    steps = [("Total debt, as reported (or from its parts)", b["reported_debt"]),
             ("+ commitments counted (rows below)", b["commitments_added"]),
             ("= Adjusted debt", b["adjusted_debt"]),
             ("− cash and short-term investments", b["cash"]),
             ("= Adjusted net debt", b["adjusted_net_debt"]),
             ("EBITDA (reported, or operating income + D&A)", b["ebitda"])]
    scale = fmt.column_scale([v for _, v in steps])
    return pd.DataFrame({"Step": [s for s, _ in steps], "Amount": [fmt.amount(v, scale) for _, v in steps]}), scale


def bridge_lines(b: dict) -> tuple[pd.DataFrame, str]:
    """Every commitment on file with its group (counted, not counted and why, or disclosed after the year end) and
    the unit of its amounts."""
    lines = pd.DataFrame(b["lines"])
    if lines.empty:
        return lines, "bn"
    why = lines["why_not_counted"].fillna("")
    later = why.str.contains("later period", regex=False)
    group = pd.Series("not counted", index=lines.index).mask(lines["counted"].astype(bool), "counted").mask(later,
                                                                                                         "later")
    scale = fmt.column_scale(lines["amount"])
    return pd.DataFrame({
        "group": group.map(BRIDGE_GROUPS), "line": lines["line"], "item": lines["item"],
        "as_of": lines["as_of"].astype(str).str[:10], "amount": [fmt.amount(v, scale) for v in lines["amount"]],
        "counted": lines["counted"].astype(bool),
        "why_not_counted": why.where(why != "", "counted"), "basis": lines["basis"].fillna("–"),
        "source": lines["source"].fillna(""), "note": lines["note"].fillna("")}), scale


def _debt_bridge(card: dict) -> None:
    """Debt as reported -> adjusted, every commitment sourced; both leverage ratios side by side."""
    b = card["adjusted_debt"]
    cur = b["currency"] or ""
    c1, c2, c3 = st.columns(3)
    c1.metric("Net debt / EBITDA, reported", fmt.times(b["reported_ratio"]),
              help="(Total Debt − cash & short-term investments) / EBITDA. Negative = net cash.")
    c2.metric("Net debt / EBITDA, adjusted", fmt.times(b["adjusted_ratio"]),
              help="Leases, leases signed but not commenced, purchase commitments, backstops and SPV financing added "
                   "to debt (see Methodology).")
    c3.metric("Adjusted band", b["adjusted_band"], help="A < 2.5x, BBB 2.5–3.5x, BB 3.5–5x, B 5–7x; pass < 3.5x.")
    if not b["commitments_on_file"]:
        st.info("No leases or build-out commitments are compiled for this company yet: the adjusted view is n.a. "
                "(never read as 'no commitments').", icon=":material/info:")
        return
    steps, scale = bridge_steps(b)
    st.dataframe(steps, hide_index=True, width="stretch", column_config={
        "Step": st.column_config.TextColumn("Step", width="large"),
        "Amount": st.column_config.TextColumn(fmt.unit_header("Amount", cur, scale), help="n.a. = not on file.")})
    lines, lscale = bridge_lines(b)
    cfg = {"group": None, "line": st.column_config.TextColumn("Commitment"),
           "item": st.column_config.TextColumn("Item"),
           "as_of": st.column_config.TextColumn("Disclosed", help="Date of the balance sheet or filing it was read in."),
           "amount": st.column_config.TextColumn(fmt.unit_header("Amount", cur, lscale)),
           "counted": st.column_config.CheckboxColumn("Counted", help="Added to adjusted debt."),
           "why_not_counted": st.column_config.TextColumn("Why (not) counted", width="medium"),
           "basis": st.column_config.TextColumn("Basis", help="filing = read in the company's filing; secondary = news "
                                                "or aggregator quoting it; unverified = shown, never counted"),
           "source": st.column_config.LinkColumn("Source", display_text=SITE),
           "note": st.column_config.TextColumn("Note", width="large")}
    for key, title in BRIDGE_GROUPS.items():
        part = lines[lines["group"] == title]
        if part.empty:
            continue
        st.markdown(f"**{title}** ({len(part)})")
        st.dataframe(part, hide_index=True, width="stretch", column_config=cfg)
    st.caption(f"Each row links to the page it was read from. EBITDAR: {state.md_escape(b['ebitdar_note'])}.")


def _server_life(card: dict) -> None:
    """What the server & GPU useful-life assumption does to this company: disclosed life, base and the effect."""
    life, a, cur = card["server_life"], card["assumptions"], card["currency"] or ""
    if not life["adjusted"]:
        st.info(f"Kept as reported: {state.md_escape(life['reason'])}.", icon=":material/info:")
        return
    c1, c2, c3 = st.columns(3)
    c1.metric("Disclosed useful life", f"{life['reported_life_years']:g} years")
    c2.metric("Life used", f"{life['life_used_years']:g} years", help=f"Assumption: {a['gpu_life']}.")
    c3.metric("Servers at cost (base)", fmt.money(life["base"], cur), help=state.md_escape(life.get("base_basis") or ""))
    c4, c5 = st.columns(2)
    c4.metric("Depreciation change a year", fmt.money(life["depreciation_change"], cur),
              help="Straight line: base / life used − base / disclosed life.")
    c5.metric("Operating margin change", fmt.pp(life["operating_margin_change"], signed=True))
    if life.get("trace"):
        st.caption(f"Computed as {state.md_escape(life['trace'])} (base / life used − base / disclosed life). "
                   "FCF does not move: depreciation is not cash.")


def _card_png(fig_json: str) -> bytes | None:
    """The card's PNG bytes (kaleido in the server's Chromium), one per distinct figure; None without Chromium."""
    return _png_cached(fig_json)


@st.cache_data(max_entries=32, show_spinner="Drawing the card image…")
def _png_cached(fig_json: str) -> bytes | None:
    import plotly.io as pio

    try:
        return png_bytes(pio.from_json(fig_json))
    except Exception:  # noqa: BLE001 - no Chromium on this server: the page falls back to the browser's drawing
        return None


def _card_image(sc, ds, card: dict, weights: dict, relative: bool) -> None:
    """The 1600x900 card as the same PNG ``python -m screens card TICKER --png`` writes, with its download."""
    full, fig = card_and_figure(sc, card["ticker"], weights, relative, ds)
    png = _card_png(fig.to_json())
    if png is None:
        st.warning("This server has no Chromium to draw the PNG: the card below is drawn by your browser at "
                   "1600×900; its camera icon downloads it.", icon=":material/image:")
        st.plotly_chart(fig, width="content", theme=None, config=PNG_CONFIG, key="card")
        return
    st.image(png, width=1600)  # an int width: Streamlit keeps the 1600 px bytes (it would resize to 1460) and fits the view
    st.download_button("Download the card (PNG, 1600×900)", png, file_name=f"kosmos_{card['ticker']}.png",
                       mime="image/png", on_click="ignore", key="card_png", icon=":material/download:")
    st.caption("The same picture as `python -m screens card "
               f"{state.md_escape(card['ticker'])} --png card.png` (same builder, same bytes). Results: ✓ PASS green, "
               "✗ FAIL red, – n.a. grey (does not apply), ? not on file amber (an input is missing: 0 points).")


def _check_tables(card: dict) -> None:
    """Every check of every pillar with formula, threshold and the inputs derived from reported parts."""
    for pid, label in PILLARS.items():
        p = card["pillars"][pid]
        st.markdown(f"**{label}** — {fmt.score(p['score'])} · {pillar_status(p)}")
        rows = pd.DataFrame([{"Check": c["label"], "Result": result_text(c["result"]), "Value": check_value(c),
                              "Formula": c["formula"], "Threshold (pass)": c["threshold"],
                              "Derived inputs": "; ".join(f"{k}: {v}" for k, v in c.get("derived_inputs", {}).items())
                              or "–", "Explanation": c["explanation"]} for c in p["checks"]])
        st.dataframe(styled(rows), hide_index=True, width="stretch", row_height=WRAP_ROW, column_config={
            "Formula": st.column_config.TextColumn("Formula", width="large"),
            "Explanation": st.column_config.TextColumn("Why", width="large"),
            "Derived inputs": st.column_config.TextColumn("Derived inputs", help="Inputs computed from reported parts "
                                                          "because the total itself is not reported.")})


def source_rows(sources: list[dict], currency: str | None) -> pd.DataFrame:
    """Every reported value behind the card: line, fiscal year, period end, value in millions, its precision,
    source and note."""
    src = pd.DataFrame(sources)
    if src.empty:
        return src
    return pd.DataFrame({"field": src["field"], "fiscal_year": src["fiscal_year"].map(fmt.fiscal_year),
                         "period_end": src["period_end"].astype(str).str[:10], "currency": src["currency"].fillna(""),
                         "value": [fmt.amount(v, "m", 1) for v in src["value"]],
                         "precision": source_precision(sources), "source": src["source"].fillna(""),
                         "note": src["note"].fillna("–") if "note" in src else "–"})


def _sources_table(card: dict, results) -> None:
    """Every reported value behind the card, linked to its filing or page, then the derived ones with
    their formulas ("derived: A + B"), the results release, and the market cap's source."""
    cur = card["currency"] or ""
    if card["sources"]:
        st.dataframe(source_rows(card["sources"], cur), hide_index=True, width="stretch", column_config={
            "field": st.column_config.TextColumn("Line"), "fiscal_year": st.column_config.TextColumn("Fiscal year"),
            "period_end": st.column_config.TextColumn("Period end"), "currency": st.column_config.TextColumn("Currency"),
            "value": st.column_config.TextColumn("Value (millions)", help="In the currency of the row."),
            "precision": st.column_config.TextColumn("Precision", help="'exact' to the unit the statement reports "
                                                     "in, or the rounding the page showed (a headline such as "
                                                     "'USD 48.6 bn' is rounded to 0.1 bn)."),
            "source": st.column_config.LinkColumn("Source", display_text=SITE),
            "note": st.column_config.TextColumn("Basis note", width="large")})
    else:
        st.info("No reported figures for this company in the current data. Use 'Refresh from Yahoo Finance'.")
    if card["derived"]:
        st.markdown("**Derived at run time** (never stored; each from the reported values above)")
        der = pd.DataFrame(card["derived"])
        st.dataframe(pd.DataFrame({"Line": der["field"].replace({"fcf": "Free cash flow", "ebitda": "EBITDA",
                                                                  "net_debt": "Net debt"}),
                                   "Fiscal year": der["fiscal_year"].map(fmt.fiscal_year),
                                   f"Value ({cur} millions)": [fmt.amount(v, "m", 1) for v in der["value"]],
                                   "How": der["source"].str.removeprefix("derived: ")}),
                     hide_index=True, width="stretch")
    res = card_results(results, card)
    if res:
        st.markdown(f"**{res['title']}** (never scored)")
        st.dataframe(pd.DataFrame([{"Line": r["label"], "Value": r["value"], "Stated": r["stated"] or "–",
                                    "Rounding": r["precision"] or "as stated", "Page": r["kind"] or "–",
                                    "Source": r["source"]} for r in res["rows"]]),
                     hide_index=True, width="stretch",
                     column_config={"Source": st.column_config.LinkColumn("Source", display_text=SITE)})
    if card["market_cap_usd"] is not None:
        st.caption(f"Market cap {fmt.money(card['market_cap_usd'])} as of {card['market_cap_as_of']} — "
                   f"{state.md_escape(card['market_cap_source'])}")


if __name__ == "__main__":
    render()
