"""Plotly figures (no Streamlit): the 1600x900 card, the loop map, Sankey, heat map, scatter and compare radar.

Every number is formatted by :mod:`metrics.format`; every label that carries
data is escaped (:func:`_esc`), so a company or party name never becomes markup.
Check results speak one vocabulary everywhere: :data:`RESULT_TEXT` (icon and
word) and :data:`RESULT_COLOURS`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from metrics import financials as F
from metrics import format as fmt
from metrics.checks import PILLARS
from metrics.financials import SCORING_INPUTS
from metrics.format import is_missing, money

SEGMENT_COLOURS = {"chips": "#1f77b4", "networking": "#9467bd", "cloud": "#ff7f0e", "energy": "#2ca02c",
                   "other": "#7f7f7f", "private": "#d62728"}
FLOW_COLOURS = {"equity_investment": "#d62728", "compute_contract": "#1f77b4", "chip_supply": "#2ca02c",
                "custom_silicon": "#17becf", "warrant": "#e377c2", "capacity_backstop": "#8c564b",
                "loan_or_lease": "#bcbd22", "jv_commitment": "#9467bd", "other": "#7f7f7f"}
#: one vocabulary for check results everywhere (tables, card image, CSV): an icon and a word, then a colour
RESULT_TEXT = {"pass": "✓ PASS", "fail": "✗ FAIL", "n.a.": "– n.a.", "not on file": "? not on file"}
RESULT_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "n.a.": "#6e7781", "not on file": "#9a6700"}
RESULT_MEANING = {"pass": "meets the threshold", "fail": "misses the threshold",
                  "n.a.": "does not apply to this company (left out of the pillar)",
                  "not on file": "an input is missing (scores 0 points)"}
CARD_LEGEND = {"pass": "meets the threshold", "fail": "misses it", "n.a.": "does not apply",
               "not on file": "input missing, 0 points"}
GRADE_COLOURS = {"A": "#1a7f37", "B": "#4c9a2a", "C": "#bf8700", "D": "#d4682a", "F": "#cf222e", "n.a.": "#6e7781"}
PILLAR_SHORT = {"balance_sheet": "Balance sheet", "free_cash_flow": "Free cash flow",
                "pricing_power": "Pricing power", "loop_exposure": "Loop exposure"}
POLAR_SHORT = {"balance_sheet": "Balance", "free_cash_flow": "FCF", "pricing_power": "Pricing", "loop_exposure": "Loop"}
#: four colours that stay apart on screen and in print (compare radar, card lines)
SERIES_COLOURS = ["#1f4e79", "#d4682a", "#2ca02c", "#8e44ad"]
FONT = "Arial, 'Liberation Sans', Helvetica, sans-serif"
CARD_W, CARD_H = 1600, 900


def result_text(result: str) -> str:
    """'✓ PASS' for 'pass' (the one display word of a check result)."""
    return RESULT_TEXT.get(result, str(result))


def check_value(check: dict[str, Any]) -> str:
    """A check's number as shown: formatted by its unit; '–' when the check does not apply and 'n.a.' when an input
    is not on file (a partial figure, e.g. a share of the amounts known, would read as the answer)."""
    if check.get("result") == "n.a.":
        return "–"
    if check.get("result") == "not on file":
        return fmt.NA
    if check.get("id") == "net_debt_to_ebitda":
        net_debt = (check.get("inputs") or {}).get("Net debt")
        return fmt.net_debt_multiple(check.get("value"), not is_missing(net_debt) and net_debt <= 0)
    return fmt.format_value(check.get("value"), check.get("unit", ""))


def result_css(text: str) -> str:
    """CSS colour of a result cell given its display text ('✓ PASS' -> green, bold), for table stylers."""
    for key, label in RESULT_TEXT.items():
        if text == label:
            return f"color: {RESULT_COLOURS[key]}; font-weight: 600"
    return ""


# --------------------------------------------------------------------------- text measurement

#: Arial / Liberation Sans advance widths (1/1000 em) of the printable ASCII characters, space to tilde
_ARIAL = [278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, *[556] * 10, 278, 278,
          584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667,
          778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556,
          278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500,
          334, 260, 334, 584]
_WIDE = {"−": 584, "–": 556, "·": 278, "≥": 549, "≤": 549, "é": 556, "ö": 556, "ü": 556, "×": 584, "’": 222}


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Estimated width in pixels of plain ``text`` at ``size`` px (Arial metrics, bold ~10 % wider; characters
    outside the table count a full em, so the estimate errs wide)."""
    units = 0
    for ch in str(text):
        o = ord(ch)
        units += _ARIAL[o - 32] if 32 <= o <= 126 else _WIDE.get(ch, 1000)
    return units * size / 1000 * (1.1 if bold else 1.0)


def fit(text: str, width: float, size: float, bold: bool = False) -> str:
    """``text`` cut with '…' so that it fits ``width`` pixels (with a 4 % safety margin)."""
    text = " ".join(str(text).split())
    room = width * 0.96
    if text_width(text, size, bold) <= room:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if text_width(text[:mid].rstrip() + "…", size, bold) <= room:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip(" ,;:·") + "…"


def wrap(text: str, width: float, size: float, max_lines: int = 2, bold: bool = False) -> list[str]:
    """Greedy word wrap of ``text`` into at most ``max_lines`` lines of ``width`` px; the last one cut with '…'."""
    words = " ".join(str(text).split()).split(" ")
    lines: list[str] = []
    line = ""
    for i, w in enumerate(words):
        trial = f"{line} {w}".strip()
        if text_width(trial, size, bold) <= width * 0.96 or not line:
            line = trial
            continue
        lines.append(line)
        line = w
        if len(lines) == max_lines - 1:
            line = " ".join(words[i:])
            break
    if line:
        lines.append(fit(line, width, size, bold))
    return [fit(x, width, size, bold) for x in lines[:max_lines]] if words != [""] else []


def _esc(text: Any) -> str:
    """Escape text for plotly's HTML-like labels (user data is never markup)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _esc_all(values: pd.Series | pd.Index) -> list[str]:
    """:func:`_esc` over a whole column at once (vectorised string replaces, no per-row Python loop)."""
    text = pd.Series(values, dtype="string").fillna("")
    return text.str.replace("&", "&amp;", regex=False).str.replace("<", "&lt;", regex=False) \
               .str.replace(">", "&gt;", regex=False).tolist()


def coverage_label(coverage: float | None) -> str:
    """'18 of 19 on file': the share of scoring inputs present, in inputs."""
    if coverage is None or is_missing(coverage):
        return fmt.NA
    n = len(SCORING_INPUTS)
    return f"{round(coverage * n)} of {n} on file"


def composite_text(card: dict[str, Any]) -> str:
    """'72', '52 (provisional; range 52–81)' or 'n.a. (range 18–92)': the composite with the range left open."""
    low, high, comp = card.get("composite_low"), card.get("composite_high"), card.get("composite")
    rng = fmt.score_range(low, high)
    rng = "" if "–" not in rng else rng
    if comp is None:
        return f"n.a. (range {rng})" if rng else fmt.NA
    if card.get("provisional"):
        return f"{comp:.0f} (provisional; range {rng})" if rng else f"{comp:.0f} (provisional)"
    return f"{comp:.0f} (range {rng})" if rng else f"{comp:.0f}"


def source_precision(sources: list[dict[str, Any]]) -> list[str]:
    """Per reported value of a card, 'exact' or 'rounded to 0.1 bn': the rounding that
    :func:`data.identities.rounded_values` reads from the value and its note (the same list `python -m data
    validate` prints), so a check built on a rounded figure says how precise it can be."""
    from data.identities import rounded_values

    src = pd.DataFrame(sources)
    if src.empty:
        return []
    hit = rounded_values(src.assign(ticker=""))
    # a billion-scale value to the million is exact to the unit its statement reports in
    hit = hit[~((hit["step"] <= 1e6) & (hit["value"].abs() >= 1e9))]
    step = dict(zip(zip(hit["fiscal_year"].astype(int), hit["field"]), hit["step"]))
    return [fmt.precision(step[(int(y), f)]) if (int(y), f) in step else "exact"
            for y, f in zip(src["fiscal_year"], src["field"])]


def rounded_inputs_line(card: dict[str, Any]) -> str:
    """'Rounded inputs of FY2024 (scored): Total Assets (rounded to 0.1 bn), …' ('' when every one is exact)."""
    rounded = rounded_inputs(card)
    if not rounded:
        return ""
    year = card["fiscal_year"]
    listed = ", ".join(f"{field} ({p})" for field, p in rounded)
    return (f"Rounded inputs of {fmt.fiscal_year(year)} (scored): {listed}. A check built on them is only "
            "as precise as the page that stated them (Sources lists each page).")


def rounded_inputs(card: dict[str, Any]) -> list[tuple[str, str]]:
    """(line, 'rounded to 0.1 bn') of every reported value of the scored year that is not exact."""
    year = card.get("fiscal_year")
    if year is None or not card.get("sources"):
        return []
    return [(s["field"], p) for s, p in zip(card["sources"], source_precision(card["sources"]))
            if p != "exact" and s["fiscal_year"] == int(year)]


def card_footnote(card: dict[str, Any]) -> str:
    """The card's closing sentences: leverage on both debt bases, the grade move, why this fiscal year, and which
    inputs were derived from reported parts rather than reported."""
    parts = []
    b = card.get("adjusted_debt")
    if b and b.get("commitments_on_file") and b.get("adjusted_ratio") is not None:
        parts.append(f"Net debt / EBITDA {fmt.times(b.get('reported_ratio'))} reported, "
                     f"{fmt.times(b['adjusted_ratio'])} adjusted for leases and commitments (band {b['adjusted_band']}).")
    move = (card.get("history") or {}).get("grade_move")
    if move:
        parts.append(move)
    if card.get("scoring_note"):
        parts.append(card["scoring_note"])
    rounded: dict[str, list[str]] = {}
    for field, p in rounded_inputs(card):
        rounded.setdefault(p, []).append(field)
    if rounded:
        parts.append("Inputs a page rounded: " + "; ".join(f"{', '.join(f)} ({p})" for p, f in rounded.items()) + ".")
    year = card.get("fiscal_year")
    derived = sorted({f"{d['field']} = {d['source'].removeprefix('derived: ')}" for d in card.get("derived", [])
                      if d["fiscal_year"] == year and d["field"] not in ("ebitda", "fcf")})
    if derived:
        parts.append("Derived from reported parts: " + "; ".join(derived) + ".")
    return " ".join(parts)


# --------------------------------------------------------------------------- newest results (headline figures)

#: result fields in the order a card lists them, with the words an investor reads
RESULT_FIELDS = {"Total Revenue": "Revenue", "Net Income": "Net income", "Operating Income": "Operating income",
                 "Operating Cash Flow": "Operating cash flow", "Free Cash Flow": "Free cash flow",
                 "Capital Expenditure": "Capex", "Cash Cash Equivalents And Short Term Investments": "Cash and investments",
                 "Cash And Cash Equivalents": "Cash", "Total Debt": "Total debt", "Long Term Debt": "Long-term debt"}


#: lines stored as negative cash outflows: their growth is that of the amount spent ("capex +26 %" = spent more)
OUTFLOW_FIELDS = frozenset({"Capital Expenditure"})


def newest_results(results: pd.DataFrame | None, ticker: str, scored_year: int | None, currency: str | None,
                   values: Mapping[int, Mapping[str, float]] | None = None) -> dict[str, Any] | None:
    """The headline results of a company's newest fiscal year (from its results release, a filing, a news report
    or a statement aggregator: ``title`` names which), when that year is the scored one or newer:
    ``{"fiscal_year", "title", "released", "vs", "rows": [{label, value, growth, precision, stated, kind, source}]}``.
    Growth (for capex: of the amount spent) is against the scored year (or, for a release of the scored year
    itself, the year before) from ``values`` (fiscal year -> statement label -> value; free cash
    flow as "Free Cash Flow").
    Shown for information, never scored. None when the company has no headline results on file."""
    if results is None or results.empty or "ticker" not in results:
        return None
    mine = results[results["ticker"] == ticker]
    rows = [dict(zip(mine.columns, v)) for v in mine.itertuples(index=False, name=None)]
    rows = [r for r in rows if not is_missing(pd.to_numeric(r.get("fiscal_year"), errors="coerce"))]
    if not rows:
        return None
    year = int(max(float(r["fiscal_year"]) for r in rows))
    if scored_year is not None and year < int(scored_year):
        return None
    rows = [r for r in rows if int(float(r["fiscal_year"])) == year]
    # one row per line: the most precise statement, then the newest release
    def _step(r: dict) -> float:
        p = pd.to_numeric(r.get("precision"), errors="coerce")
        return np.inf if is_missing(p) else float(p)
    rows.sort(key=lambda r: _text(r.get("released")), reverse=True)
    rows.sort(key=_step)
    best: dict[str, dict] = {}
    for r in rows:
        best.setdefault(r["field"], r)
    base_year = year - 1 if scored_year is None or year == int(scored_year) else int(scored_year)
    before = (values or {}).get(base_year, {})
    order = {f: i for i, f in enumerate(RESULT_FIELDS)}
    out = []
    for r in sorted(best.values(), key=lambda r: order.get(r["field"], 99)):
        cur = r.get("currency") if isinstance(r.get("currency"), str) else (currency or "")
        prev, now = before.get(r["field"]), r.get("value")
        if r["field"] in OUTFLOW_FIELDS and not is_missing(prev) and not is_missing(now):
            prev, now_g = abs(float(prev)), abs(float(now))  # growth of the spending, not of a negative number
        else:
            now_g = now
        growth = (float(now_g) - float(prev)) / abs(float(prev)) \
            if not is_missing(prev) and float(prev) != 0 and not is_missing(now_g) else None
        out.append({"field": r["field"], "label": RESULT_FIELDS.get(r["field"], str(r["field"])),
                    "value": money(now, cur), "growth": fmt.change_pct(growth) if growth is not None else fmt.NA,
                    "precision": fmt.precision(r.get("precision"), cur), "stated": _text(r.get("stated")),
                    "released": _text(r.get("released"))[:10], "source": _text(r.get("source")),
                    "kind": _text(r.get("kind"))})
    released = max((r["released"] for r in out if r["released"]), default="")
    return {"fiscal_year": year, "title": f"FY{year} results ({page_kinds([r['kind'] for r in out])}, rounded)",
            "released": released, "vs": f"FY{base_year}", "rows": out}


#: what kind of page a headline figure was read from (``results.csv`` ``kind``), in the words a title uses
PAGE_KIND_WORDS = {"company release": "release", "SEC filing": "filing", "news": "news", "aggregator": "aggregator"}


def page_kinds(kinds: list[str]) -> str:
    """The kinds of page the shown headline figures were read from, in a fixed order: 'release', 'release and
    aggregator', 'filing, news and aggregator'; 'source not stated' when none is named. A title never says
    'release' for a figure an aggregator or a news report states."""
    named = set(kinds)
    words = [w for k, w in PAGE_KIND_WORDS.items() if k in named]
    words += sorted(k for k in named if k and k not in PAGE_KIND_WORDS)
    return fmt.join_and(words) if words else "source not stated"


def _text(x: Any) -> str:
    """A table cell as text ('' for missing)."""
    return "" if x is None or (not isinstance(x, str) and pd.isna(x)) else str(x)


def due_not_on_file(card: dict[str, Any], res: dict[str, Any] | None) -> int | None:
    """The card's newest fiscal year due (``newest_due_year``) when :func:`metrics.financials.newest_year_on_file`
    says it is not on file (newer than the scored year and than the newest results on file, ``res``,
    :func:`card_results`), else None. The scored year counts as on file here even when incomplete: the card says
    that through its scoring note ("no fiscal year has all three statements"), so this names only a year the data
    set holds neither as statements nor as results."""
    due, scored = card.get("newest_due_year"), card.get("fiscal_year")
    if not due or not scored:
        return None
    status = F.newest_year_on_file(int(due), int(scored), True, int(res["fiscal_year"]) if res else None)
    return int(due) if status == F.NEWEST_NOT_ON_FILE else None


def values_by_year(card: dict[str, Any]) -> dict[int, dict[str, float]]:
    """A scorecard's reported and derived values: fiscal year -> statement label -> value (FCF as 'Free Cash Flow')."""
    out: dict[int, dict[str, float]] = {}
    for s in card.get("sources", []):
        out.setdefault(int(s["fiscal_year"]), {})[s["field"]] = s["value"]
    for d in card.get("derived", []):
        out.setdefault(int(d["fiscal_year"]), {}).setdefault({"fcf": "Free Cash Flow"}.get(d["field"], d["field"]),
                                                             d["value"])
    return out


def card_results(results: pd.DataFrame | None, card: dict[str, Any]) -> dict[str, Any] | None:
    """:func:`newest_results` of a scorecard, growth from its own reported or derived values."""
    return newest_results(results, card["ticker"], card.get("fiscal_year"), card.get("currency"), values_by_year(card))


def results_line(res: dict[str, Any] | None, width: int = 3) -> str:
    """'FY2026 results (release, rounded): revenue USD 215.9 bn (+65.2 % vs FY2025), ...' for the screener."""
    if not res:
        return ""
    parts = [f"{r['label'].lower()} {r['value']} ({r['growth']} vs {res['vs']})" if r["growth"] != fmt.NA
             else f"{r['label'].lower()} {r['value']}" for r in res["rows"][:width]]
    return f"{res['title']}: " + ", ".join(parts)


# --------------------------------------------------------------------------- the 1600x900 card

#: the card's panels in pixels (x0, y0, x1, y1), origin top left: every text of the card stays inside its panel
CARD_PANELS: dict[str, tuple[int, int, int, int]] = {
    "header": (24, 14, 1576, 114),
    "pillars": (24, 126, 384, 382),
    "history": (24, 394, 384, 602),
    "trend": (24, 614, 384, 822),
    "checks": (400, 126, 1196, 822),
    "figures": (1212, 126, 1576, 382),
    "results": (1212, 394, 1576, 602),
    "loop": (1212, 614, 1576, 822),
    "footer": (24, 832, 1576, 890),
}
_INK, _GREY, _LINE, _PANEL = "#24292f", "#57606a", "#d0d7de", "#f6f8fa"
_BLUE, _PALE, _GREEN = "#1f4e79", "#b6cde3", "#2ca02c"


class _Card:
    """Pixel-placed text, boxes and small charts on a 1600x900 figure; each text is tagged with its panel.

    Annotations, shapes and axes are collected as plain dicts and handed to plotly once (:meth:`figure`):
    adding ~170 annotations one by one costs seconds, as a list milliseconds.
    """

    def __init__(self) -> None:
        self.annotations: list[dict[str, Any]] = []
        self.shapes: list[dict[str, Any]] = []
        self.layout: dict[str, Any] = {}
        self.traces: list[go.Scatter] = []
        self.subplots: dict[str, str] = {}

    def text(self, panel: str, x: float, y: float, text: str, size: float = 11, colour: str = _INK,
             bold: bool = False, anchor: str = "left", width: float | None = None, valign: str = "top",
             italic: bool = False) -> None:
        """Plain ``text`` (escaped here; cut to ``width`` px when given) with its top-left (or ``anchor``) at x, y."""
        if width is not None:
            text = fit(text, width, size, bold)
        if not text:
            return
        self.annotations.append(dict(
            x=x / CARD_W, y=1 - y / CARD_H, xref="paper", yref="paper", xanchor=anchor, yanchor=valign,
            text=_esc(text), showarrow=False, align=anchor, borderpad=0, name=panel,
            font=dict(size=size, color=colour, family=FONT, weight="bold" if bold else "normal",
                      style="italic" if italic else "normal")))

    def box(self, x0: float, y0: float, x1: float, y1: float, fill: str = _PANEL, line: str = _LINE,
            width: float = 1) -> None:
        self.shapes.append(dict(type="rect", xref="paper", yref="paper", x0=x0 / CARD_W, x1=x1 / CARD_W,
                                y0=1 - y1 / CARD_H, y1=1 - y0 / CARD_H, fillcolor=fill,
                                line=dict(color=line, width=width), layer="below"))

    def panel(self, name: str, title: str, fill: str = _PANEL) -> tuple[int, int, int, int]:
        x0, y0, x1, y1 = CARD_PANELS[name]
        self.box(x0, y0, x1, y1, fill=fill)
        if title:
            self.text(name, x0 + 12, y0 + 8, title, size=13, bold=True, width=x1 - x0 - 24)
        return x0, y0, x1, y1

    def plot(self, panel: str, x0: float, y0: float, x1: float, y1: float, **axis: Any) -> tuple[str, str]:
        """A small x/y chart drawn in the pixel rectangle (plot area; tick labels go outside it, inside the panel)."""
        n = len(self.subplots) + 1
        k = "" if n == 1 else str(n)
        common = dict(showgrid=False, zeroline=False, tickfont=dict(size=10, color=_GREY, family=FONT), fixedrange=True)
        self.layout[f"xaxis{k}"] = dict(domain=[x0 / CARD_W, x1 / CARD_W], anchor=f"y{k}", **common, **axis.get("x", {}))
        self.layout[f"yaxis{k}"] = dict(domain=[1 - y1 / CARD_H, 1 - y0 / CARD_H], anchor=f"x{k}",
                                        **{**common, "showgrid": True, "gridcolor": "#e6e9ed"}, **axis.get("y", {}))
        self.subplots[f"x{k}y{k}" if k else "xy"] = panel
        return f"x{k}", f"y{k}"

    def figure(self) -> go.Figure:
        """The finished 1600x900 figure, its panels and subplots recorded in ``layout.meta`` for tests."""
        self.layout.setdefault("xaxis", dict(visible=False))
        self.layout.setdefault("yaxis", dict(visible=False))
        return go.Figure(data=self.traces, layout=dict(
            width=CARD_W, height=CARD_H, margin=dict(l=0, r=0, t=0, b=0, autoexpand=False), paper_bgcolor="white",
            plot_bgcolor="white", showlegend=False, font=dict(family=FONT, color=_INK), annotations=self.annotations,
            shapes=self.shapes, meta={"panels": CARD_PANELS, "subplots": self.subplots}, **self.layout))


def scorecard_figure(card: dict[str, Any], hist: pd.DataFrame, graph: nx.DiGraph | None,
                     segments: dict[str, str] | None = None, deals: pd.DataFrame | None = None,
                     results: pd.DataFrame | None = None) -> go.Figure:
    """The scorecard as one 1600x900 picture: header with grade, pillar bars, the score history, revenue and free
    cash flow, every check with its result, key figures, the newest results release and the loop ties.

    The app shows it as the PNG the CLI writes (same function, same bytes). Panels are fixed pixel boxes
    (:data:`CARD_PANELS`) and every text is cut to its room, so nothing spills into a neighbour; a company with
    little data gets a sentence in each panel instead of empty axes.
    """
    c = _Card()
    _card_header(c, card)
    _card_pillars(c, card)
    _card_history(c, card)
    _card_trend(c, card, hist)
    _card_checks(c, card)
    _card_figures(c, card, hist)
    _card_results(c, card, card_results(results, card))
    _card_loop(c, card, graph, deals)
    _card_footer(c, card)
    return c.figure()


def _card_header(c: _Card, card: dict[str, Any]) -> None:
    x0, y0, x1, y1 = CARD_PANELS["header"]
    badge = x1 - 250
    c.text("header", x0, y0 + 2, f"{card['name']} ({card['ticker']})", size=24, bold=True, width=badge - x0 - 16)
    year = card.get("fiscal_year")
    age = fmt.months_between(card.get("as_of"), pd.Timestamp.now())
    basis = str(card.get("basis_label") or "")
    if basis.startswith("TTM") and card.get("as_of"):
        scored = f"scored on {basis} ({fmt.age(age)} ago)"
    else:
        scored = (f"scored on FY{year} (year to {card['as_of']}, {fmt.age(age)} ago)" if year and card.get("as_of")
                  else "no fiscal year scored")
    line2 = " · ".join(x for x in (card.get("segment"), card.get("subsegment"), scored,
                                   f"inputs {coverage_label(card.get('coverage'))}",
                                   f"checks on file {card.get('checks_on_file', 0)} of {card.get('checks_applicable', 0)}",
                                   f"rank {card.get('rank')} of {card.get('of')}") if x)
    c.text("header", x0, y0 + 38, line2, size=14, colour=_INK, width=badge - x0 - 16)
    note = card.get("provisional_note") or card.get("scoring_note") or ""
    if card.get("composite") is None:
        note = (f"Not graded: {card.get('checks_on_file', 0)} of {card.get('checks_applicable', 0)} checks on file "
                "(at least half are needed). " + (card.get("scoring_note") or ""))
    c.text("header", x0, y0 + 60, note, size=12, colour="#9a6700" if card.get("provisional") else _GREY,
           width=badge - x0 - 16)
    a = card.get("assumptions") or {"gpu_life": "as reported", "debt_basis": "reported"}
    line4 = (f"Assumptions: server life {a['gpu_life']} · debt {a['debt_basis']} · {card.get('mode', 'absolute')} "
             f"scores · currency {card.get('currency') or 'n.a.'} · source: {card.get('data_source', '')}")
    c.text("header", x0, y0 + 80, line4, size=11, colour=_GREY, width=badge - x0 - 16)
    g = card.get("grade", "n.a.")
    colour = GRADE_COLOURS.get(g, _GREY)
    c.box(badge, y0, x1, y1, fill="white", line=colour, width=2)
    c.text("header", badge + 50, y0 + 8, "Grade", size=12, colour=_GREY, anchor="center")
    c.text("header", badge + 50, y0 + 28, g, size=44 if g != "n.a." else 30, colour=colour, bold=True, anchor="center")
    right = badge + 108
    c.text("header", right, y0 + 8, "Composite (0–100)", size=12, colour=_GREY, width=x1 - right - 8)
    comp = card.get("composite")
    c.text("header", right, y0 + 26, fmt.score(comp), size=30, bold=True, colour=_INK)
    rng = fmt.score_range(card.get("composite_low"), card.get("composite_high"))
    c.text("header", right, y0 + 66, f"range {rng}" if "–" in rng else "nothing missing", size=11, colour=_GREY,
           width=x1 - right - 8)
    flag = "not graded" if comp is None else ("provisional" if card.get("provisional") else "")
    c.text("header", right, y0 + 82, flag, size=11, colour="#9a6700", bold=True, width=x1 - right - 8)


def _card_pillars(c: _Card, card: dict[str, Any]) -> None:
    x0, y0, x1, y1 = c.panel("pillars", "Pillar scores (0–100)")
    left, right = x0 + 12, x1 - 12
    for i, pid in enumerate(PILLARS):
        p = card["pillars"][pid]
        top = y0 + 34 + i * 55
        c.text("pillars", left, top, PILLAR_SHORT[pid], size=12, bold=True, width=200)
        c.text("pillars", right, top, fmt.score(p["score"]), size=13, bold=True, anchor="right")
        bar_y = top + 18
        c.box(left, bar_y, right, bar_y + 10, fill="#eaeef2", line="#eaeef2")
        span = right - left
        hi, lo = p.get("score_high"), p.get("score")
        if not is_missing(hi) and hi > 0:
            c.box(left, bar_y, left + span * min(hi, 100) / 100, bar_y + 10, fill=_PALE, line=_PALE)
        if not is_missing(lo) and lo > 0:
            c.box(left, bar_y, left + span * min(lo, 100) / 100, bar_y + 10, fill=_BLUE, line=_BLUE)
        c.text("pillars", left, bar_y + 14, pillar_status(p), size=10.5, colour=_GREY, width=span)


def not_applicable_note(p: dict[str, Any]) -> str:
    """' · 5 of 7 checks do not apply' when some of a pillar's checks are left out as not applicable (the score
    then rests on fewer checks than the pillar has), else ''."""
    checks = p.get("checks") or []
    n_a = sum(1 for c in checks if c.get("result") == "n.a.")
    return f" · {n_a} of {len(checks)} checks do not apply" if n_a else ""


def pillar_status(p: dict[str, Any]) -> str:
    """How much a pillar's score rests on, in one line for every view (scorecard caption, check tables, card
    image): '5 of 6 checks on file · up to 97 if the missing passed · 1 of 7 checks do not apply', with
    '· complete' when every applicable check is on file and '· provisional' when fewer than half are;
    'none of 3 checks on file: n.a.' / 'no check applies: n.a.' for a pillar without a score, and
    'no loop exposure on record: scores 100' for a company with no loop deal or commitment on file."""
    if p["status"] == "no loop exposure on record":
        return "no loop exposure on record: scores 100"
    if not p["applicable"]:
        return "no check applies: n.a." + not_applicable_note(p)
    if not p["on_file"]:
        return f"none of {p['applicable']} checks on file: n.a." + not_applicable_note(p)
    text = f"{p['on_file']} of {p['applicable']} checks on file"
    if p["status"] == "complete":
        return text + " · complete" + not_applicable_note(p)
    hi = p.get("score_high")
    more = f" · up to {fmt.score(hi)} if the missing passed" if not is_missing(hi) else ""
    return text + (" · provisional" if p["status"] == "insufficient data" else "") + more + not_applicable_note(p)


def _card_history(c: _Card, card: dict[str, Any]) -> None:
    rel = card.get("mode") == "sector-relative"
    x0, y0, x1, y1 = c.panel("history", "Composite by fiscal year" + (" (absolute scores)" if rel else ""))
    rows = pd.DataFrame((card.get("history") or {}).get("rows") or [])
    graded = rows.dropna(subset=["composite"]) if "composite" in rows else rows
    if graded.empty:
        _empty(c, "history", ["No graded fiscal year yet", "fewer than half of the checks on file in every year"])
        return
    xs = [fmt.fiscal_year(y) for y in rows["fiscal_year"]]
    ys = [None if is_missing(v) else float(v) for v in rows["composite"]]
    xa, ya = c.plot("history", x0 + 46, y0 + 40, x1 - 22, y1 - 26,
                    x=dict(type="category", tickangle=0), y=dict(range=[0, 118], tickvals=[0, 50, 100]))
    grades = ["" if v is None else g for v, g in zip(ys, rows["grade"])]
    c.traces.append(go.Scatter(x=xs, y=ys, mode="lines+markers+text", text=grades, textposition="top center",
                               textfont=dict(size=11, color=_INK, family=FONT), line=dict(color=_BLUE, width=2),
                               marker=dict(size=7), connectgaps=False, xaxis=xa, yaxis=ya, hoverinfo="skip"))


def _ticks(values: list[float], scale: str) -> tuple[list[float], list[str]]:
    """Round tick values (at most four) spanning ``values`` and zero, labelled in ``scale`` by metrics.format."""
    lo, hi = min(values + [0.0]), max(values + [0.0])
    if hi <= lo:
        hi = lo + fmt.SCALES[scale]
    raw = (hi - lo) / 3
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    vals = [k * step for k in range(first, last + 1)]
    digits = 0 if step >= fmt.SCALES[scale] else 1
    return vals, [fmt.amount(v, scale, digits) for v in vals]


def _card_trend(c: _Card, card: dict[str, Any], hist: pd.DataFrame) -> None:
    cur = card.get("currency") or ""
    series = {"Revenue": hist["revenue"].dropna() if "revenue" in hist else pd.Series(dtype=float),
              "Free cash flow": hist["fcf"].dropna() if "fcf" in hist else pd.Series(dtype=float)}
    values = [float(v) for s in series.values() for v in s]
    scale = fmt.column_scale(values) if values else "bn"
    x0, y0, x1, y1 = c.panel("trend", fmt.unit_header("Revenue and free cash flow", cur, scale))
    if max(len(s) for s in series.values()) < 2:
        lines = ["Fewer than two fiscal years on file"]
        for name, s in series.items():
            lines.append(f"{name}: " + (f"{money(s.iloc[-1], cur)} in {fmt.fiscal_year(s.index[-1])}" if len(s)
                                        else "not on file"))
        _empty(c, "trend", lines)
        return
    c.text("trend", x0 + 12, y0 + 28, "— Revenue", size=11, colour=_BLUE, bold=True)
    c.text("trend", x0 + 110, y0 + 28, "— Free cash flow", size=11, colour=_GREEN, bold=True)
    vals, labels = _ticks(values, scale)
    pad = 0.04 * (vals[-1] - vals[0])
    xa, ya = c.plot("trend", x0 + 52, y0 + 52, x1 - 22, y1 - 26, x=dict(type="category"),
                    y=dict(tickvals=vals, ticktext=labels, range=[vals[0] - pad, vals[-1] + pad]))
    years = sorted({int(y) for s in series.values() for y in s.index})
    for (name, s), colour in zip(series.items(), (_BLUE, _GREEN)):
        y = [float(s.get(fy)) if fy in s.index else None for fy in years]
        c.traces.append(go.Scatter(x=[fmt.fiscal_year(fy) for fy in years], y=y, mode="lines+markers", name=name,
                                   line=dict(color=colour, width=2), marker=dict(size=6), connectgaps=False,
                                   xaxis=xa, yaxis=ya, hoverinfo="skip"))


def _empty(c: _Card, panel: str, lines: list[str]) -> None:
    """The designed empty state of a panel: a few centred sentences in place of empty axes."""
    x0, y0, x1, y1 = CARD_PANELS[panel]
    mid = (x0 + x1) / 2
    top = (y0 + y1) / 2 - 10 * len(lines) + 8
    for i, line in enumerate(lines):
        c.text(panel, mid, top + i * 20, line, size=12 if i == 0 else 11, bold=i == 0,
               colour=_INK if i == 0 else _GREY, anchor="center", width=x1 - x0 - 28)


def _card_checks(c: _Card, card: dict[str, Any]) -> None:
    x0, y0, x1, y1 = c.panel("checks", "", fill="white")
    c.text("checks", x0 + 12, y0 + 8, "Every check", size=13, bold=True)
    legend = "  ·  ".join(f"{RESULT_TEXT[k]} {CARD_LEGEND[k]}" for k in RESULT_TEXT)
    c.text("checks", x0 + 110, y0 + 10, legend, size=10.5, colour=_GREY, width=x1 - x0 - 122)
    n_rows = len(PILLARS) + sum(len(card["pillars"][p]["checks"]) for p in PILLARS)
    top = y0 + 32
    row_h = min(24.0, (y1 - 6 - top) / n_rows)
    size = 11 if row_h >= 22 else 10
    cols = {"result": x0 + 10, "label": x0 + 100, "value": x0 + 372, "why": x0 + 384}
    y = top
    for pid in PILLARS:
        p = card["pillars"][pid]
        c.box(x0 + 4, y + 1, x1 - 4, y + row_h - 1, fill="#eef2f6", line="#eef2f6")
        head = f"{PILLARS[pid]} · {fmt.score(p['score'])} · {pillar_status(p)}"
        c.text("checks", cols["result"], y + (row_h - size - 3) / 2, head, size=size + 0.5, bold=True,
               width=x1 - x0 - 24)
        y += row_h
        for chk in p["checks"]:
            mid = y + (row_h - size - 3) / 2
            res = chk["result"]
            c.text("checks", cols["result"], mid, result_text(res), size=size, bold=True,
                   colour=RESULT_COLOURS.get(res, _GREY), width=cols["label"] - cols["result"] - 6)
            c.text("checks", cols["label"], mid, chk["label"], size=size, width=cols["value"] - cols["label"] - 76)
            c.text("checks", cols["value"], mid, check_value(chk), size=size, anchor="right", width=66)
            c.text("checks", cols["why"], mid, chk["explanation"], size=size - 0.5, colour=_GREY,
                   width=x1 - 8 - cols["why"])
            y += row_h


def _card_figures(c: _Card, card: dict[str, Any], hist: pd.DataFrame) -> None:
    year = card.get("fiscal_year")
    x0, y0, x1, y1 = c.panel("figures", f"Key figures, {fmt.fiscal_year(year)} (scored)")
    cur = card.get("currency") or ""
    m = card.get("metrics") or {}
    last = hist.loc[year] if year is not None and year in hist.index else pd.Series(dtype=float)
    nd = last.get("net_debt")
    b = card.get("adjusted_debt") or {}
    rows = [("Revenue", money(last.get("revenue"), cur)),
            ("Free cash flow", money(last.get("fcf"), cur)),
            ("FCF margin", fmt.pct(m.get("fcf_margin"))),
            ("Gross margin", fmt.pct(m.get("gross_margin"))),
            ("Net cash" if not is_missing(nd) and nd < 0 else "Net debt", money(abs(nd) if not is_missing(nd) else nd, cur)),
            ("Net debt / EBITDA", fmt.net_debt_multiple(m.get("net_debt_to_ebitda"), not is_missing(nd) and nd <= 0)
             + (f" (adjusted {fmt.times(b['adjusted_ratio'])})" if b.get("adjusted_ratio") is not None else "")),
            ("Market cap (derived)" if card.get("market_cap_derived") else "Market cap",
             money(card.get("market_cap_usd"), "USD")
             + (f" ({card['market_cap_as_of']})" if card.get("market_cap_as_of") else ""))]
    for i, (label, value) in enumerate(rows):
        y = y0 + 34 + i * 30
        c.text("figures", x0 + 12, y, label, size=11.5, colour=_GREY, width=130)
        c.text("figures", x1 - 12, y, value, size=12, bold=True, anchor="right", width=x1 - x0 - 24 - 136)


def _card_results(c: _Card, card: dict[str, Any], res: dict[str, Any] | None) -> None:
    if not res:
        c.panel("results", "Newest results")
        note = card.get("scoring_note") or ""
        year = fmt.fiscal_year(card.get("fiscal_year"))
        due = due_not_on_file(card, None)
        if due and not note.startswith("FY"):
            lines = [f"FY{due} results (year to {card.get('newest_due_period_end')}) not on file",
                     "neither statements nor a results release yet; a live refresh brings them"]
        elif note.startswith("FY") and "partial" in note:
            newer = note.split(" ", 1)[0]
            lines = [f"{newer} results release not on file yet", f"only a few {newer} lines are on file (not scored)"]
        elif note.startswith("No fiscal year"):
            lines = [f"{year} statements are incomplete", "no results release on file to fill the gaps"]
        else:
            lines = [f"{year} is the newest fiscal year on file", "its statements are complete and scored"]
        _empty(c, "results", lines)
        return
    x0, y0, x1, y1 = c.panel("results", res["title"])
    released = f"released {res['released']} · " if res["released"] else ""
    c.text("results", x0 + 12, y0 + 28, f"{released}never scored · growth vs {res['vs']}",
           size=10.5, colour=_GREY, width=x1 - x0 - 24)
    for i, r in enumerate(res["rows"][:4]):
        y = y0 + 48 + i * 37
        c.text("results", x0 + 12, y, r["label"], size=11.5, colour=_INK, bold=True, width=130)
        c.text("results", x1 - 80, y, r["value"], size=12, bold=True, anchor="right", width=x1 - x0 - 24 - 220)
        c.text("results", x1 - 12, y, r["growth"], size=11.5, anchor="right", width=64,
               colour=_GREEN if r["growth"].startswith("+") else ("#cf222e" if r["growth"].startswith("−") else _GREY))
        detail = " · ".join(x for x in (r["precision"], f"stated {r['stated']}" if r["stated"] else "", r["kind"]) if x)
        c.text("results", x0 + 12, y + 17, detail, size=10, colour=_GREY, width=x1 - x0 - 24)


def loop_ties(graph: nx.DiGraph | None, ticker: str, deals: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """The company's money flows in the loop, largest first: direction, counterparty, kind, amount and whether the
    amount is counted (low-confidence amounts are shown as stated, never counted)."""
    if graph is None or ticker not in graph:
        return []
    stated = stated_amounts(graph, deals)
    out = []
    for u, v, d in list(graph.out_edges(ticker, data=True)) + list(graph.in_edges(ticker, data=True)):
        amount, counted = stated.get((u, v), (d["amount_usd"], True))
        out.append({"direction": "out" if u == ticker else "in", "party": v if u == ticker else u,
                    "kind": (d.get("main_flow") or d["flows"][0]).replace("_", " "), "amount": amount,
                    "counted": counted, "confirmed": bool(d.get("confirmed", True))})
    return sorted(out, key=lambda r: (is_missing(r["amount"]), -(0 if is_missing(r["amount"]) else r["amount"]),
                                      r["party"]))


def _card_loop(c: _Card, card: dict[str, Any], graph: nx.DiGraph | None, deals: pd.DataFrame | None) -> None:
    x0, y0, x1, y1 = c.panel("loop", "Loop ties (money out → / in ←)")
    ties = loop_ties(graph, card["ticker"], deals)
    if not ties:
        _empty(c, "loop", ["No loop deals on record", "loop exposure scores 100 (no exposure)"])
        return
    cycles = next((chk for chk in card["pillars"]["loop_exposure"]["checks"] if chk["id"] == "on_cycle"), None)
    n_cycles = cycles.get("value") if cycles else None
    shown = ties[:6]
    for i, t in enumerate(shown):
        y = y0 + 32 + i * 24
        arrow = "→" if t["direction"] == "out" else "←"
        c.text("loop", x0 + 12, y, f"{arrow} {t['party']}", size=11.5, bold=True, width=112)
        c.text("loop", x0 + 128, y + 1, t["kind"], size=10.5, colour=_GREY, width=112)
        amt = money(t["amount"]) if not is_missing(t["amount"]) else "undisclosed"
        grey = not t["counted"] or is_missing(t["amount"])
        c.text("loop", x1 - 12, y, amt, size=11.5, anchor="right", width=x1 - x0 - 256, colour=_GREY if grey else _INK,
               italic=grey and not is_missing(t["amount"]), bold=not grey)
    more = len(ties) - len(shown)
    tail = [f"{more} more" if more > 0 else "",
            f"on {int(n_cycles)} financing cycle(s)" if not is_missing(n_cycles) and n_cycles else "on no cycle"]
    y = y0 + 32 + len(shown) * 24 + 2
    c.text("loop", x0 + 12, y, " · ".join(t for t in tail if t), size=11, colour=_GREY, width=x1 - x0 - 24)
    if any(not t["counted"] and not is_missing(t["amount"]) for t in shown):
        c.text("loop", x0 + 12, y + 18, "grey italic = amount stated, not counted (low confidence)", size=10,
               colour=_GREY, italic=True, width=x1 - x0 - 24)


def _card_footer(c: _Card, card: dict[str, Any]) -> None:
    x0, y0, x1, y1 = CARD_PANELS["footer"]
    for i, line in enumerate(wrap(card_footnote(card), x1 - x0, 11, max_lines=2)):
        c.text("footer", x0, y0 + i * 16, line, size=11, colour=_GREY)
    c.text("footer", x0, y1 - 16, f"Kosmos · {card.get('data_source', '')} · python -m screens card {card['ticker']} "
           "· figures from filings and releases; check the sources before relying on any number · not investment advice",
           size=10.5, colour="#8c959f", width=x1 - x0)


# --------------------------------------------------------------------------- the loop map

def ego_network(graph: nx.DiGraph, centre: str, segments: dict[str, str] | None = None,
                max_nodes: int = 14) -> tuple[list[go.Scatter], dict[str, tuple[float, float]]]:
    """Scatter traces (edges then nodes) of ``centre``'s direct loop counterparties on a circle."""
    segments = segments or {}
    if centre not in graph:
        return [], {}
    nbrs = sorted(set(graph.successors(centre)) | set(graph.predecessors(centre)))[: max_nodes - 1]
    pos = {centre: (0.0, 0.0)}
    for i, n in enumerate(nbrs):
        a = 2 * math.pi * i / max(1, len(nbrs))
        pos[n] = (math.cos(a), math.sin(a))
    traces: list[go.Scatter] = []
    for u, v, data in graph.subgraph([centre, *nbrs]).edges(data=True):
        if centre not in (u, v):
            continue
        (x0, y0), (x1, y1) = pos[u], pos[v]
        flow = data["flows"][0]
        amt = money(data["amount_usd"]) if not is_missing(data["amount_usd"]) else "undisclosed"
        traces.append(go.Scatter(x=[x0, x1], y=[y0, y1], mode="lines", line=dict(color=FLOW_COLOURS.get(flow, "#999"), width=2),
                                 hoverinfo="text", text=f"{_esc(u)} → {_esc(v)}: {', '.join(data['flows'])}, {amt}", showlegend=False))
        # arrow head as a marker near the payee
        traces.append(go.Scatter(x=[x0 + 0.85 * (x1 - x0)], y=[y0 + 0.85 * (y1 - y0)], mode="markers",
                                 marker=dict(symbol="arrow", angleref="previous", size=10,
                                             color=FLOW_COLOURS.get(flow, "#999")),
                                 hoverinfo="skip", showlegend=False))
    names = [centre, *nbrs]
    traces.append(go.Scatter(
        x=[pos[n][0] for n in names], y=[pos[n][1] for n in names], mode="markers+text",
        text=[_esc(n) for n in names], textposition="bottom center", textfont=dict(size=11),
        marker=dict(size=[22] + [14] * len(nbrs),
                    color=[SEGMENT_COLOURS.get(segments.get(n, "private"), "#d62728") for n in names],
                    line=dict(color="white", width=1)),
        hoverinfo="text", showlegend=False))
    return traces, pos


#: the loop map's columns, left to right: who sells to whom in the build-out
ROLES = ["Chips & hardware", "Hyperscalers", "Neoclouds & data centres", "AI labs", "Financiers"]
#: private (unlisted) parties by role
PRIVATE_ROLES = {
    "OpenAI": "AI labs", "Anthropic": "AI labs", "xAI": "AI labs", "Mistral": "AI labs",
    "Stargate": "Neoclouds & data centres", "Crusoe": "Neoclouds & data centres", "Lambda": "Neoclouds & data centres",
    "Nscale": "Neoclouds & data centres", "Fluidstack": "Neoclouds & data centres",
    "MGX": "Financiers", "Blue Owl": "Financiers", "Cerebras": "Chips & hardware",
}
ROLE_COLOURS = {"Chips & hardware": "#1f77b4", "Hyperscalers": "#ff7f0e", "Neoclouds & data centres": "#bcbd22",
                "AI labs": "#d62728", "Financiers": "#9467bd", "Other": "#7f7f7f"}
MAP_W, MAP_H = 1600, 900


def role_of(node: str, segment: str | None, subsegment: str | None) -> str:
    """The loop-map column of a party: by its universe segment, else by the private-party table."""
    if node in PRIVATE_ROLES:
        return PRIVATE_ROLES[node]
    sub = (subsegment or "").lower()
    if segment == "cloud":
        if "hyperscaler" in sub:
            return "Hyperscalers"
        if "investment" in sub:
            return "Financiers"
        return "Neoclouds & data centres"
    if segment in ("chips", "networking"):
        return "Chips & hardware"
    if segment == "energy":
        return "Neoclouds & data centres"
    return "Other"


def loop_layout(graph: nx.DiGraph, roles: dict[str, str]) -> dict[str, tuple[float, float]]:
    """Positions in [0, 1]²: one column per role (ROLES order, 'Other' last); within a column nodes are
    spread evenly and ordered by the mean height of their neighbours in the columns already placed
    (a barycentre sweep, two passes), which keeps most edges from crossing."""
    cols = [r for r in ROLES if r in roles.values()] + (["Other"] if "Other" in roles.values() else [])
    members = {r: sorted(n for n in graph.nodes if roles.get(n, "Other") == r) for r in cols}
    xs = {r: (i + 0.5) / len(cols) for i, r in enumerate(cols)}
    y: dict[str, float] = {}

    def place(r: str) -> None:
        nodes = members[r]
        def key(n: str) -> tuple[float, str]:
            nb = [y[m] for m in nx.all_neighbors(graph, n) if m in y and roles.get(m, "Other") != r]
            return (sum(nb) / len(nb) if nb else 0.5, n)
        order = sorted(nodes, key=key)
        for i, n in enumerate(order):
            y[n] = 1 - (i + 0.5) / max(len(order), 1)

    for _ in range(2):
        for r in cols:
            place(r)
    return {n: (xs[roles.get(n, "Other")], y[n]) for n in graph.nodes}


def _curve(p0: tuple[float, float], p1: tuple[float, float], bend: float, steps: int = 14) -> tuple[list, list]:
    """Points of a quadratic Bézier from p0 to p1 bulging sideways by ``bend`` (fraction of the length)."""
    (x0, y0), (x1, y1) = p0, p1
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    cx, cy = mx - (y1 - y0) * bend, my + (x1 - x0) * bend
    t = np.linspace(0, 1, steps)
    xs = (1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t ** 2 * x1
    ys = (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t ** 2 * y1
    return xs.tolist(), ys.tolist()


def stated_amounts(graph: nx.DiGraph, deals: pd.DataFrame | None) -> dict[tuple[str, str], tuple[float, bool]]:
    """Per money flow (payer, payee): the amount to draw and whether it is counted in scores.

    A counted amount is drawn as is; a flow whose deals carry an amount that is not counted (low confidence,
    e.g. the reported USD 300 bn OpenAI–Oracle contract) is drawn at that stated amount, marked not counted;
    a flow without any amount stays NaN (amount not disclosed).
    """
    out: dict[tuple[str, str], tuple[float, bool]] = {}
    amounts = {}
    if deals is not None and not deals.empty and "deal_id" in deals:
        live = deals[deals["confidence"] != "excluded"] if "confidence" in deals else deals
        amounts = live.groupby("deal_id")["amount_usd"].sum(min_count=1).to_dict()
    for u, v, d in graph.edges(data=True):
        if not is_missing(d["amount_usd"]):
            out[(u, v)] = (float(d["amount_usd"]), True)
            continue
        vals = [amounts.get(k) for k in d["deals"] if not is_missing(amounts.get(k))]
        out[(u, v)] = (float(sum(vals)), False) if vals else (float("nan"), False)
    return out


def network_figure(graph: nx.DiGraph, cycles_nodes: list[list[str]], segments: dict[str, str],
                   market_caps: dict[str, float], focus: str | None = None,
                   subsegments: dict[str, str] | None = None, cycle: list[str] | None = None,
                   deals: pd.DataFrame | None = None) -> go.Figure:
    """The loop map, laid out by role (chips → hyperscalers → neoclouds → AI labs → financiers).

    Edge width grows with the amount (the largest deals are the widest edges, counted or not), colour is the
    flow kind carrying most of it; dashed = unconfirmed or not counted (low confidence), dotted = no amount
    disclosed; hover gives amount, basis, date and source. ``focus`` fades every party and flow not touching
    that company; ``cycle`` (a list of parties) draws that cycle thick and fades the rest.
    """
    if graph.number_of_nodes() == 0:
        fig = go.Figure()
        fig.add_annotation(text="No deals on or before this date", x=0.5, y=0.5, showarrow=False)
        return fig
    subsegments = subsegments or {}
    roles = {n: role_of(n, segments.get(n), subsegments.get(n)) for n in graph.nodes}
    pos = loop_layout(graph, roles)
    cyc_edges = {(cycle[i], cycle[(i + 1) % len(cycle)]) for i in range(len(cycle))} if cycle else set()
    on_any_cycle = {(c[i], c[(i + 1) % len(c)]) for c in cycles_nodes for i in range(len(c))}
    stated = stated_amounts(graph, deals)
    amounts = [a for a, _ in stated.values() if not is_missing(a)]
    top = max(amounts) if amounts else 1.0

    def lit(u: str, v: str) -> bool:
        if cycle:
            return (u, v) in cyc_edges
        return not focus or focus in (u, v)

    fig = go.Figure()
    mids_x, mids_y, mids_text, mids_colour = [], [], [], []
    for u, v, d in sorted(graph.edges(data=True), key=lambda e: stated[(e[0], e[1])][0] if not
                          is_missing(stated[(e[0], e[1])][0]) else 0.0):  # small first: the big ones on top
        same_col = roles[u] == roles[v]
        bend = 0.35 if same_col else (0.12 if graph.has_edge(v, u) else 0.06)
        xs, ys = _curve(pos[u], pos[v], bend)
        flow = d.get("main_flow") or d["flows"][0]
        colour = FLOW_COLOURS.get(flow, "#999")
        amount, counted = stated[(u, v)]
        disclosed = not is_missing(amount)
        width = 1.2 + 9.0 * math.sqrt(amount / top) if disclosed else 1.0
        if (u, v) in cyc_edges:
            width = max(width, 5.0)
        dash = "dot" if not disclosed else ("dash" if not (counted and d.get("confirmed", True)) else "solid")
        bright = lit(u, v)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=colour, width=width, dash=dash),
                                 opacity=0.85 if bright else 0.08, hoverinfo="skip", showlegend=False))
        k = int(len(xs) * 0.8)  # arrow head near the payee, pointing along the curve (from the point before it)
        fig.add_trace(go.Scatter(x=[xs[k - 1], xs[k]], y=[ys[k - 1], ys[k]], mode="markers", hoverinfo="skip",
                                 showlegend=False, opacity=0.9 if bright else 0.08,
                                 marker=dict(symbol="arrow", angleref="previous", size=[0, 9 + width], color=colour)))
        amt = (money(amount) + ("" if counted else " stated, not counted (low confidence)")) if disclosed \
            else "amount not disclosed"
        date = d["first_announced"].strftime("%Y-%m") if not pd.isna(d["first_announced"]) else fmt.NA
        src = _esc(d["sources"][0][:90]) if d["sources"] else fmt.NA
        status = "confirmed" if d.get("confirmed", True) else "unconfirmed"
        mids_x.append(xs[len(xs) // 2])
        mids_y.append(ys[len(ys) // 2])
        mids_colour.append(colour)
        mids_text.append(f"<b>{_esc(u)} → {_esc(v)}</b><br>{', '.join(f.replace('_', ' ') for f in d['flows'])}"
                         f"<br>{amt} ({_esc(d.get('basis') or 'basis n.a.')}, {status})<br>since {date} · "
                         f"{len(d['deals'])} deal(s)<br>{src}" + ("<br>on a cycle" if (u, v) in on_any_cycle else ""))
    fig.add_trace(go.Scatter(x=mids_x, y=mids_y, mode="markers", marker=dict(size=12, color=mids_colour, opacity=0),
                             hovertext=mids_text, hoverinfo="text", showlegend=False, name="flows"))
    for flow, colour in FLOW_COLOURS.items():
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=colour, width=4),
                                 name=flow.replace("_", " ")))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color="#555", width=2, dash="dash"),
                             name="unconfirmed or not counted"))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color="#555", width=1, dash="dot"),
                             name="amount not disclosed"))
    nodes = list(graph.nodes)
    volume = {n: sum(stated[e][0] for e in list(graph.in_edges(n)) + list(graph.out_edges(n))
                     if not is_missing(stated[e][0])) for n in nodes}
    sizes = []
    for n in nodes:
        base = market_caps.get(n) if not is_missing(market_caps.get(n)) else volume.get(n, 0)
        sizes.append(12 + 22 * math.sqrt(max(base or 0, 0) / 4e12))
    near = {n for n in nodes if not focus or n == focus or graph.has_edge(n, focus) or graph.has_edge(focus, n)}
    if cycle:
        near = set(cycle)
    fig.add_trace(go.Scatter(
        x=[pos[n][0] for n in nodes], y=[pos[n][1] for n in nodes], mode="markers+text", text=[_esc(n) for n in nodes],
        textposition="middle right", textfont=dict(size=13, color=["#24292f" if n in near else "#c8ccd1" for n in nodes],
                                                   shadow="1px 1px 2px white, -1px -1px 2px white, 1px -1px 2px white, "
                                                          "-1px 1px 2px white"),
        showlegend=False, name="parties", cliponaxis=False,
        marker=dict(size=sizes, color=[ROLE_COLOURS.get(roles[n], "#7f7f7f") for n in nodes],
                    opacity=[1.0 if n in near else 0.15 for n in nodes],
                    line=dict(color=["black" if n == focus else "white" for n in nodes], width=2)),
        hovertext=[f"<b>{_esc(n)}</b> · {roles[n]}<br>size: "
                   f"{'market cap ' + money(market_caps[n]) if not is_missing(market_caps.get(n)) else 'deal volume ' + money(volume.get(n, 0))}"
                   for n in nodes], hoverinfo="text"))
    cols = [r for r in ROLES + ["Other"] if r in roles.values()]
    for r in cols:
        x = next(pos[n][0] for n in nodes if roles[n] == r)
        fig.add_annotation(text=f"<b>{r}</b>", x=x, y=1.06, xref="x", yref="y", showarrow=False,
                           font=dict(size=13, color=ROLE_COLOURS.get(r, "#333")))
    fig.update_layout(height=MAP_H - 140, margin=dict(l=10, r=10, t=20, b=10),
                      xaxis=dict(visible=False, range=[0, 1.04]), yaxis=dict(visible=False, range=[-0.04, 1.1]),
                      legend=dict(orientation="h", y=-0.02, font=dict(size=11)), plot_bgcolor="white",
                      hoverlabel=dict(align="left"))
    return fig


def sankey_figure(graph: nx.DiGraph, deals: pd.DataFrame | None = None) -> go.Figure:
    """Money flows as a two-column Sankey: payers on the left, payees on the right, so a party that both pays and
    is paid appears once on each side and no flow loops back (cycles live in the cycle table). Link width is the
    amount; flows whose amount is stated but not counted (low confidence) are drawn pale with that note."""
    stated = stated_amounts(graph, deals)
    edges = [(u, v, d, *stated[(u, v)]) for u, v, d in graph.edges(data=True)
             if not is_missing(stated[(u, v)][0]) and stated[(u, v)][0] > 0]
    payers = sorted({u for u, *_ in edges}, key=lambda n: -sum(e[3] for e in edges if e[0] == n))
    payees = sorted({v for _, v, *_ in edges}, key=lambda n: -sum(e[3] for e in edges if e[1] == n))
    index = {("out", n): i for i, n in enumerate(payers)}
    index.update({("in", n): len(payers) + i for i, n in enumerate(payees)})
    out_total = {n: sum(e[3] for e in edges if e[0] == n) for n in payers}
    in_total = {n: sum(e[3] for e in edges if e[1] == n) for n in payees}
    labels = [f"{_esc(n)} pays {money(out_total[n])}" for n in payers] + \
             [f"{_esc(n)} receives {money(in_total[n])}" for n in payees]
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node=dict(label=labels, pad=16, thickness=14, color="#8c959f",
                  x=[0.01] * len(payers) + [0.99] * len(payees), hovertemplate="%{label}<extra></extra>"),
        link=dict(source=[index[("out", u)] for u, *_ in edges], target=[index[("in", v)] for _, v, *_ in edges],
                  value=[a / 1e9 for *_, a, _ in edges],
                  color=[_rgba(FLOW_COLOURS.get(d.get("main_flow") or d["flows"][0], "#999999"), 0.55 if counted else 0.18)
                         for _, _, d, _, counted in edges],
                  customdata=[f"{', '.join(f.replace('_', ' ') for f in d['flows'])}"
                              f"{'' if counted else ' · stated, not counted (low confidence)'}"
                              for _, _, d, _, counted in edges],
                  hovertemplate="%{source.label} → %{target.label}<br>USD %{value:,.1f} bn<br>%{customdata}"
                                "<extra></extra>"),
    ))
    fig.update_layout(height=max(480, 34 * max(len(payers), len(payees), 1)), margin=dict(l=10, r=10, t=30, b=10),
                      font=dict(size=11), title=dict(text="Who pays (left) whom (right), USD bn", font=dict(size=13)))
    return fig


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def treemap_figure(table: pd.DataFrame, max_companies: int = 400) -> tuple[go.Figure, str | None]:
    """Segment -> company treemap, size = market cap (USD), colour = composite (grey = not graded). Tiles show the
    ticker and grade only (small tiles hide their text rather than shrink it; hover gives the rest). Large
    universes are capped to the biggest companies with a notice."""
    t = table.dropna(subset=["market_cap_usd"])
    t = t[t["market_cap_usd"] > 0]
    notice = None
    if len(t) > max_companies:
        notice = f"Treemap shows the {max_companies} largest of {len(t):,} companies with a market cap."
        t = t.nlargest(max_companies, "market_cap_usd")
    if t.empty:
        return go.Figure(), "No company in the current result has a market cap on record."
    segs = sorted(set(t["segment"]))
    labels = _esc_all(t.index) + _esc_all(pd.Index(segs))
    parents = _esc_all(t["segment"]) + [""] * len(segs)
    values = (t["market_cap_usd"] / 1e9).tolist() + [0] * len(segs)
    colour = t["composite"].fillna(-1).tolist() + [np.nan] * len(segs)
    grades = t["grade"].astype(str) if "grade" in t else pd.Series("", index=t.index)
    tile = pd.Series(_esc_all(grades), index=t.index)
    hover = [f"{_esc(n)}<br>market cap {money(m)}<br>composite {fmt.score(s)} · grade {_esc(g)}"
             for n, m, s, g in zip(t["name"], t["market_cap_usd"], t["composite"], grades)]
    fig = go.Figure(go.Treemap(
        labels=labels, parents=parents, values=values, branchvalues="remainder",
        text=tile.tolist() + [""] * len(segs), customdata=hover + [""] * len(segs),
        texttemplate="<b>%{label}</b><br>%{text}", textfont=dict(size=14),
        marker=dict(colors=colour, colorscale=[[0, "#bbbbbb"], [0.001, "#cf222e"], [0.5, "#f2cc60"], [1, "#1a7f37"]],
                    cmin=-1, cmax=100, colorbar=dict(title="Composite")),
        hovertemplate="%{customdata}<extra></extra>",
    ))
    fig.update_layout(height=560, margin=dict(l=5, r=5, t=40, b=5), uniformtext=dict(minsize=11, mode="hide"),
                      title="Market map: size = market cap, colour = composite (grey = not graded); hover for details")
    return fig, notice


def readable_range(values: pd.Series, pad: float = 0.08) -> tuple[float, float]:
    """An axis range that shows the bulk of ``values``: the 5th to 95th percentile widened by Tukey's fences
    (1.5 interquartile ranges), never narrower than the data when there are no outliers."""
    v = values.dropna().astype(float)
    if v.empty:
        return 0.0, 1.0
    q1, q3 = v.quantile(0.25), v.quantile(0.75)
    lo = max(v.min(), q1 - 1.5 * (q3 - q1))
    hi = min(v.max(), q3 + 1.5 * (q3 - q1))
    if hi <= lo:
        lo, hi = v.min(), v.max() if v.max() > v.min() else v.min() + 1
    span = hi - lo
    return lo - pad * span, hi + pad * span


def label_points(x: pd.Series, y: pd.Series, weight: pd.Series, x_span: tuple[float, float],
                 y_span: tuple[float, float], max_labels: int = 12, px: tuple[int, int] = (900, 420),
                 box: tuple[int, int] = (60, 18), radius: pd.Series | None = None) -> list:
    """The points worth a label (the extremes, then the largest ``weight``), keeping only labels whose boxes
    (``box`` px, centred just above each marker of ``radius`` px at a ``px`` plot size) do not collide: the
    rest are left to the hover."""
    order = list(weight.sort_values(ascending=False).index)
    extremes = [y.idxmax(), y.idxmin(), x.idxmin()] if len(y) else []
    radius = radius if radius is not None else pd.Series(6.0, index=x.index)
    placed: list[tuple[float, float]] = []
    chosen = []
    sx = px[0] / max(x_span[1] - x_span[0], 1e-9)
    sy = px[1] / max(y_span[1] - y_span[0], 1e-9)
    for k in dict.fromkeys(extremes + order):
        if len(chosen) >= max_labels:
            break
        cx = (min(max(x[k], x_span[0]), x_span[1]) - x_span[0]) * sx
        cy = (min(max(y[k], y_span[0]), y_span[1]) - y_span[0]) * sy + float(radius[k]) + box[1] / 2
        if all(abs(cx - ox) > box[0] or abs(cy - oy) > box[1] for ox, oy in placed):
            placed.append((cx, cy))
            chosen.append(k)
    return chosen


def scatter_figure(table: pd.DataFrame, x: str, y: str, x_label: str, y_label: str, max_points: int = 2000,
                   y_unit: str = "") -> tuple[go.Figure, str | None]:
    """Bubble scatter (bubble = market cap) that reads: the y axis spans the bulk of the companies and an outlier
    sits on the edge as a triangle with its true value in the hover; only notable points are labelled (largest
    companies and extremes, no two labels on top of each other). Companies missing a value are named in the
    notice. Large universes are sampled with a notice."""
    missing = table[table[[x, y]].isna().any(axis=1)]
    t = table.dropna(subset=[x, y])
    notes = []
    if len(t) > max_points:
        notes.append(f"Scatter shows a random sample of {max_points:,} of {len(t):,} companies.")
        t = t.sample(max_points, random_state=0)
    if len(missing):
        names = ", ".join(_esc(i) for i in missing.index[:12]) + (" …" if len(missing) > 12 else "")
        notes.append(f"Not drawn, {y_label.split(' (')[0]} or {x_label.split(' (')[0]} n.a.: {names}.")
    fig = go.Figure()
    if t.empty:
        return fig, " ".join(notes) or "No company has both values."
    lo, hi = readable_range(t[y])
    y_shown = t[y].clip(lo, hi)
    clipped = t[y].ne(y_shown)
    if clipped.any():
        notes.append(f"{int(clipped.sum())} outlier(s) drawn on the edge of the axis (▲/▼); hover gives the true value.")
    x_lo, x_hi = float(t[x].min()), float(t[x].max())
    x_pad = max((x_hi - x_lo) * 0.06, 2.0)
    x_span = (x_lo - x_pad, x_hi + x_pad)
    caps = t["market_cap_usd"] if "market_cap_usd" in t else pd.Series(0.0, index=t.index)
    size = np.sqrt(caps.fillna(0).clip(lower=0) / 1e9) + 6
    labelled = set(label_points(t[x], y_shown, caps.fillna(0), x_span, (lo, hi), radius=size / 2)) \
        if len(t) <= 400 else set()
    for seg, grp in t.groupby("segment"):
        idx = grp.index
        symbol = np.where(t.loc[idx, y] > hi, "triangle-up", np.where(t.loc[idx, y] < lo, "triangle-down", "circle"))
        true_y = [f"{v:,.1f}{y_unit}" for v in grp[y]]
        names = _esc_all(grp["name"]) if "name" in grp else _esc_all(idx)
        fig.add_trace(go.Scatter(
            x=grp[x], y=y_shown.loc[idx], mode="markers+text", name=seg, cliponaxis=False,
            text=[_esc(i) if i in labelled else "" for i in idx], textposition="top center", textfont=dict(size=11),
            customdata=np.column_stack([names, true_y, _esc_all(idx)]),
            marker=dict(size=size.loc[idx], sizemode="diameter", color=SEGMENT_COLOURS.get(seg, "#7f7f7f"),
                        opacity=0.75, symbol=symbol, line=dict(color="white", width=1)),
            hovertemplate="<b>%{customdata[2]}</b> %{customdata[0]}<br>" + _esc(x_label) + ": %{x:.0f}<br>"
                          + _esc(y_label) + ": %{customdata[1]}<extra></extra>"))
    fig.update_layout(height=560, margin=dict(l=5, r=5, t=40, b=5), xaxis_title=_esc(x_label),
                      yaxis_title=_esc(y_label), yaxis=dict(range=[lo, hi], ticksuffix=y_unit),
                      xaxis=dict(range=list(x_span)), legend=dict(title="Segment"),
                      title=f"{_esc(y_label)} vs {_esc(x_label)} (bubble = market cap; labels on the largest and "
                            "the extremes, hover for the rest)")
    return fig, " ".join(notes) or None


def radar_figure(table: pd.DataFrame, tickers: list[str]) -> tuple[go.Figure, list[str]]:
    """The four pillar scores of 2 to 4 companies on one radar, one strong colour each. A pillar that is n.a., or
    has fewer than half of its checks on file (its conservative score is mostly missing data), is a gap in that
    company's outline, never a point at 0; the notes name each gap."""
    theta = [POLAR_SHORT[p] for p in PILLARS]
    fig = go.Figure()
    notes = []
    for colour, t in zip(SERIES_COLOURS, tickers):
        r, why = [], []
        for p in PILLARS:
            status = table.at[t, f"{p}_status"] if f"{p}_status" in table else None
            if is_missing(table.at[t, p]) or status == "insufficient data":
                r.append(None)
                on = f"{p}_on_file"
                why.append(f"{t} {PILLAR_SHORT[p].lower()}: " + (
                    f"{int(table.at[t, on])} of {int(table.at[t, f'{p}_applicable'])} checks on file"
                    if on in table and not is_missing(table.at[t, on]) else "n.a."))
            else:
                r.append(float(table.at[t, p]))
        notes += why
        closed = r + r[:1]
        complete = all(v is not None for v in r)
        fig.add_trace(go.Scatterpolar(r=closed, theta=theta + theta[:1], name=_esc(t), connectgaps=False,
                                      mode="lines+markers", line=dict(color=colour, width=3), marker=dict(size=7),
                                      fill="toself" if complete else "none", fillcolor=_rgba(colour, 0.12),
                                      hovertemplate=_esc(t) + " · %{theta}: %{r:.0f}<extra></extra>"))
    fig.update_layout(polar=dict(radialaxis=dict(range=[0, 100], tickvals=[0, 25, 50, 75, 100], angle=90,
                                                 tickfont=dict(size=10)),
                                 angularaxis=dict(rotation=90, direction="clockwise", tickfont=dict(size=13))),
                      height=440, margin=dict(t=30, b=30, l=40, r=40), legend=dict(orientation="h", y=-0.08))
    return fig, notes
