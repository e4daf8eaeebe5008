"""Plotly figures (no Streamlit): pillar polar, sparklines, loop network, Sankey, the 16:9 scorecard."""

from __future__ import annotations

import math
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from metrics.checks import PILLARS
from metrics.financials import SCORING_INPUTS
from metrics.format import format_value, is_missing, money

SEGMENT_COLOURS = {"chips": "#1f77b4", "networking": "#9467bd", "cloud": "#ff7f0e", "energy": "#2ca02c",
                   "other": "#7f7f7f", "private": "#d62728"}
FLOW_COLOURS = {"equity_investment": "#d62728", "compute_contract": "#1f77b4", "chip_supply": "#2ca02c",
                "custom_silicon": "#17becf", "warrant": "#e377c2", "capacity_backstop": "#8c564b",
                "loan_or_lease": "#bcbd22", "jv_commitment": "#9467bd", "other": "#7f7f7f"}
RESULT_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "n.a.": "#6e7781", "not on file": "#9a6700"}
#: one vocabulary for check results everywhere (tables, card image, CSV)
RESULT_TEXT = {"pass": "✓ PASS", "fail": "✗ FAIL", "n.a.": "– n.a.", "not on file": "? not on file"}
GRADE_COLOURS = {"A": "#1a7f37", "B": "#4c9a2a", "C": "#bf8700", "D": "#d4682a", "F": "#cf222e", "n.a.": "#6e7781"}
PILLAR_SHORT = {"balance_sheet": "Balance sheet", "free_cash_flow": "Free cash flow",
                "pricing_power": "Pricing power", "loop_exposure": "Loop exposure"}
POLAR_SHORT = {"balance_sheet": "Balance", "free_cash_flow": "FCF", "pricing_power": "Pricing", "loop_exposure": "Loop"}
CARD_W, CARD_H = 1600, 900


def pillar_polar(card: dict[str, Any]) -> go.Barpolar:
    """Polar bars of the four pillar scores (0–100); missing pillars drawn at 0 and labelled n.a."""
    labels, values, texts = [], [], []
    for pid in PILLARS:
        p = card["pillars"][pid]
        s = p["score"]
        labels.append(POLAR_SHORT[pid])
        values.append(0 if s is None else s)
        texts.append("n.a." if s is None else f"{s:.0f}")
    colours = ["#6e7781" if t == "n.a." else "#1f4e79" for t in texts]
    return go.Barpolar(r=values, theta=labels, marker_color=colours, text=texts, opacity=0.85,
                       hovertemplate="%{theta}: %{text}<extra></extra>", name="Pillars")


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


def sparkline_values(series: pd.Series) -> list[float]:
    return [float(v) for v in series.dropna().tolist()]


SPARK_LABELS = {"revenue": "Revenue", "gross_margin": "Gross margin", "fcf": "Free cash flow", "net_debt": "Net debt"}


def scorecard_figure(card: dict[str, Any], hist: pd.DataFrame, graph: nx.DiGraph | None,
                     segments: dict[str, str] | None = None) -> go.Figure:
    """The whole scorecard as one 1600x900 figure (its toolbar exports the PNG in the browser)."""
    fig = make_subplots(
        rows=4, cols=3, column_widths=[0.22, 0.58, 0.20], row_heights=[0.25, 0.25, 0.25, 0.25],
        specs=[[{"type": "polar", "rowspan": 2}, {"type": "table", "rowspan": 4}, {"type": "xy"}],
               [None, None, {"type": "xy"}],
               [{"type": "xy"}, None, {"type": "xy"}],
               [{"type": "xy"}, None, {"type": "xy"}]],
        horizontal_spacing=0.03, vertical_spacing=0.07,
        subplot_titles=("", "", "Loop ego network", "Composite by fiscal year", "Revenue", "Free cash flow",
                        "Gross margin", "Net debt"),
    )
    fig.add_trace(pillar_polar(card), row=1, col=1)
    # checks table
    pil, lab, res, val, expl, colours = [], [], [], [], [], []
    for pid in PILLARS:
        p = card["pillars"][pid]
        score = "n.a." if p["score"] is None else f"{p['score']:.0f}"
        for c in p["checks"]:
            pil.append(f"{POLAR_SHORT[pid]} · {score}")
            lab.append(c["label"])
            res.append(RESULT_TEXT.get(c["result"], c["result"]))
            val.append(format_value(c["value"], c["unit"]))
            expl.append(_wrap(c["explanation"], 112, lines=1))
            colours.append(RESULT_COLOURS.get(c["result"], "#999"))
    fig.add_trace(go.Table(
        columnwidth=[1.05, 2.2, 0.7, 0.7, 6.05],
        header=dict(values=["Pillar", "Check", "Result", "Value", "Explanation"], fill_color="#1f4e79",
                    font=dict(color="white", size=11), align="left", height=22),
        cells=dict(values=[pil, lab, res, val, expl], align="left", height=24, font=dict(size=9.5, color=[
            ["#24292f"] * len(pil), ["#24292f"] * len(pil), colours, ["#24292f"] * len(pil), ["#24292f"] * len(pil)]),
            fill_color=[["#f6f8fa" if i % 2 else "white" for i in range(len(pil))]] * 5),
    ), row=1, col=2)
    # ego network
    if graph is not None:
        traces, _ = ego_network(graph, card["ticker"], segments)
        for t in traces:
            fig.add_trace(t, row=1, col=3)
        if not traces:
            _note(fig, 1, 3, "Not in the loop data set")
    # room around the unit circle so counterparty names at the edge are not clipped
    fig.update_xaxes(visible=False, range=[-1.6, 1.6], row=1, col=3)
    fig.update_yaxes(visible=False, range=[-1.45, 1.3], row=1, col=3)
    hist_rows = pd.DataFrame((card.get("history") or {}).get("rows") or [])
    hist_rows = hist_rows.dropna(subset=["composite"]) if "composite" in hist_rows else hist_rows
    if hist_rows.empty:
        _note(fig, 2, 3, "n.a. — no graded fiscal year")
    else:
        fig.add_trace(go.Scatter(
            x=[f"FY{int(y)}" for y in hist_rows["fiscal_year"]], y=hist_rows["composite"], mode="lines+markers+text",
            text=hist_rows["grade"].tolist(), textposition="top center", line=dict(color="#1f4e79"), showlegend=False,
            hovertemplate="Composite %{x}: %{y:.0f} (grade %{text})<extra></extra>"), row=2, col=3)
        fig.update_yaxes(range=[0, 110], tickfont=dict(size=9), row=2, col=3)
        fig.update_xaxes(tickfont=dict(size=9), row=2, col=3)
    cur = card.get("currency") or ""
    # (column, row, col, axis title, tick format, hover format): amounts in the reporting currency, margins in %
    spark = [("revenue", 3, 1, f"{cur}", None, ",.3s"), ("gross_margin", 4, 1, "", ".1%", ".1%"),
             ("fcf", 3, 3, f"{cur}", None, ",.3s"), ("net_debt", 4, 3, f"{cur}", None, ",.3s")]
    for col, r, c, name, tick, hover in spark:
        s = hist[col].dropna() if col in hist else pd.Series(dtype=float)
        if s.empty:
            _note(fig, r, c, "n.a. — not reported")
        else:
            fig.add_trace(go.Scatter(x=[f"FY{int(y)}" for y in s.index], y=s.values, mode="lines+markers", name=name,
                                     line=dict(color="#1f4e79"), showlegend=False,
                                     hovertemplate=f"{SPARK_LABELS[col]} %{{x}}: %{{y:{hover}}} {name}<extra></extra>"),
                          row=r, col=c)
        fig.update_yaxes(title_text=name, title_font=dict(size=10), tickfont=dict(size=9), tickformat=tick, row=r, col=c)
        fig.update_xaxes(tickfont=dict(size=9), row=r, col=c)
    g = card["grade"]
    comp = composite_text(card)
    title = (f"<b>{_esc(card['name'])} ({_esc(card['ticker'])})</b>  ·  {_esc(card['segment'])} / {_esc(card.get('subsegment') or '')}"
             f"  ·  Composite {comp}  ·  Grade <b><span style='color:{GRADE_COLOURS.get(g, '#333')}'>{g}</span></b>")
    a = card.get("assumptions") or {"gpu_life": "as reported", "debt_basis": "reported"}
    sub = (f"Scored on FY{card['fiscal_year'] or 'n.a.'} (period end {card['as_of'] or 'n.a.'}) · "
           f"{card['currency'] or 'no currency'} · inputs {coverage_label(card.get('coverage'))} · "
           f"server life {a['gpu_life']} · debt {a['debt_basis']} · Source: {_esc(card['data_source'])} · "
           f"Mode: {card['mode']} · Kosmos — not investment advice")
    foot = card_footnote(card)
    if foot:
        fig.add_annotation(text=_esc(foot), x=0.0, y=-0.045, xref="paper", yref="paper", xanchor="left",
                           yanchor="top", showarrow=False, align="left", font=dict(size=10, color="#57606a"))
    fig.update_layout(
        width=CARD_W, height=CARD_H, margin=dict(l=30, r=30, t=90, b=46), paper_bgcolor="white",
        title=dict(text=f"{title}<br><span style='font-size:13px;color:#57606a'>{sub}</span>", x=0.01, y=0.97,
                   font=dict(size=20)),
        polar=dict(radialaxis=dict(range=[0, 100], tickfont=dict(size=9)),
                   angularaxis=dict(tickfont=dict(size=12), rotation=90, direction="clockwise")),
        showlegend=False,
    )
    return fig


def coverage_label(coverage: float | None) -> str:
    """'18 of 19 reported' style label of the share of scoring inputs present."""
    if coverage is None or is_missing(coverage):
        return "n.a."
    n = len(SCORING_INPUTS)
    return f"{round(coverage * n)} of {n} on file"


def composite_text(card: dict[str, Any]) -> str:
    """'72', '52 (provisional; 52–81 with the missing checks as fails–passes)' or 'n.a. (18–92)'."""
    low, high, comp = card.get("composite_low"), card.get("composite_high"), card.get("composite")
    rng = "" if is_missing(low) or is_missing(high) or round(low) == round(high) else f"{low:.0f}–{high:.0f}"
    if comp is None:
        return f"n.a. (range {rng})" if rng else "n.a."
    if card.get("provisional"):
        return f"{comp:.0f} (provisional; range {rng})" if rng else f"{comp:.0f} (provisional)"
    return f"{comp:.0f} (range {rng})" if rng else f"{comp:.0f}"


def card_footnote(card: dict[str, Any], width: int = 290) -> str:
    """One line under the card: why this fiscal year, and which inputs were derived rather than reported."""
    parts = []
    b = card.get("adjusted_debt")
    if b and b.get("commitments_on_file") and b.get("adjusted_ratio") is not None:
        rep = "n.a." if b.get("reported_ratio") is None else format_value(b["reported_ratio"], "x")
        parts.append(f"Net debt/EBITDA {rep} reported, {format_value(b['adjusted_ratio'], 'x')} adjusted "
                     f"for leases and commitments (band {b['adjusted_band']}).")
    move = (card.get("history") or {}).get("grade_move")
    if move:
        parts.append(move)
    if card.get("scoring_note"):
        parts.append(card["scoring_note"])
    year = card.get("fiscal_year")
    derived = sorted({f"{d['field']} = {d['source'].removeprefix('derived: ')}" for d in card.get("derived", [])
                      if d["fiscal_year"] == year and d["field"] not in ("ebitda", "fcf")})
    if derived:
        parts.append("Derived from reported parts: " + "; ".join(derived) + ".")
    text = " ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"


def _note(fig: go.Figure, row: int, col: int, text: str) -> None:
    """Centred grey note inside one subplot (axes found from the grid, not guessed)."""
    sub = fig.get_subplot(row, col)
    x = sum(sub.xaxis.domain) / 2
    y = sum(sub.yaxis.domain) / 2
    fig.add_annotation(text=text, x=x, y=y, xref="paper", yref="paper", showarrow=False,
                       font=dict(color="#6e7781", size=12))
    fig.update_xaxes(visible=False, row=row, col=col)
    fig.update_yaxes(visible=False, row=row, col=col)


def _wrap(text: str, width: int, lines: int = 2) -> str:
    words, out, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width:
            out.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    out.append(line)
    return "<br>".join(_esc(x) for x in out[:lines]) + ("…" if len(out) > lines else "")


def _esc(text: Any) -> str:
    """Escape text for plotly's HTML-like labels (user data is never markup)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _esc_all(values: pd.Series | pd.Index) -> list[str]:
    """:func:`_esc` over a whole column at once (vectorised string replaces, no per-row Python loop)."""
    text = pd.Series(values, dtype="string").fillna("")
    return text.str.replace("&", "&amp;", regex=False).str.replace("<", "&lt;", regex=False) \
               .str.replace(">", "&gt;", regex=False).tolist()


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


def network_figure(graph: nx.DiGraph, cycles_nodes: list[list[str]], segments: dict[str, str],
                   market_caps: dict[str, float], focus: str | None = None,
                   subsegments: dict[str, str] | None = None, cycle: list[str] | None = None) -> go.Figure:
    """The loop map, laid out by role (chips → hyperscalers → neoclouds → AI labs → financiers).

    Edge width grows with the disclosed amount, colour is the flow kind carrying most of it, dashed
    when no deal on it is confirmed, dotted when no amount is disclosed; hover gives amount, basis,
    date and source. ``focus`` fades every party and flow not touching that company; ``cycle``
    (a list of parties) draws that cycle thick and fades the rest.
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
    amounts = [d["amount_usd"] for _, _, d in graph.edges(data=True) if not is_missing(d["amount_usd"])]
    top = max(amounts) if amounts else 1.0

    def lit(u: str, v: str) -> bool:
        if cycle:
            return (u, v) in cyc_edges
        return not focus or focus in (u, v)

    fig = go.Figure()
    mids_x, mids_y, mids_text, mids_colour = [], [], [], []
    for u, v, d in graph.edges(data=True):
        same_col = roles[u] == roles[v]
        bend = 0.35 if same_col else (0.12 if graph.has_edge(v, u) else 0.06)
        xs, ys = _curve(pos[u], pos[v], bend)
        flow = d.get("main_flow") or d["flows"][0]
        colour = FLOW_COLOURS.get(flow, "#999")
        disclosed = not is_missing(d["amount_usd"])
        width = 1.2 + 7.5 * math.sqrt(d["amount_usd"] / top) if disclosed else 1.0
        if (u, v) in cyc_edges:
            width = max(width, 5.0)
        dash = "dot" if not disclosed else ("dash" if not d.get("confirmed", True) else "solid")
        bright = lit(u, v)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=colour, width=width, dash=dash),
                                 opacity=0.85 if bright else 0.08, hoverinfo="skip", showlegend=False))
        k = int(len(xs) * 0.8)  # arrow head near the payee, pointing along the curve (from the point before it)
        fig.add_trace(go.Scatter(x=[xs[k - 1], xs[k]], y=[ys[k - 1], ys[k]], mode="markers", hoverinfo="skip",
                                 showlegend=False, opacity=0.9 if bright else 0.08,
                                 marker=dict(symbol="arrow", angleref="previous", size=[0, 9 + width], color=colour)))
        amt = money(d["amount_usd"]) if disclosed else "amount not disclosed"
        date = d["first_announced"].strftime("%Y-%m") if not pd.isna(d["first_announced"]) else "n.a."
        src = _esc(d["sources"][0][:90]) if d["sources"] else "n.a."
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
                             name="unconfirmed"))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color="#555", width=1, dash="dot"),
                             name="amount not disclosed"))
    nodes = list(graph.nodes)
    volume = {n: sum(d["amount_usd"] for _, _, d in graph.edges(n, data=True) if not is_missing(d["amount_usd"]))
              + sum(d["amount_usd"] for _, _, d in graph.in_edges(n, data=True) if not is_missing(d["amount_usd"]))
              for n in nodes}
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


def sankey_figure(graph: nx.DiGraph) -> go.Figure:
    """Sankey of disclosed money flows (edges with an amount; undisclosed ones are listed elsewhere)."""
    edges = [(u, v, d) for u, v, d in graph.edges(data=True) if not is_missing(d["amount_usd"]) and d["amount_usd"] > 0]
    nodes = sorted({u for u, _, _ in edges} | {v for _, v, _ in edges})
    index = {n: i for i, n in enumerate(nodes)}
    fig = go.Figure(go.Sankey(
        node=dict(label=[_esc(n) for n in nodes], pad=12, thickness=14),
        link=dict(source=[index[u] for u, _, _ in edges], target=[index[v] for _, v, _ in edges],
                  value=[d["amount_usd"] / 1e9 for _, _, d in edges],
                  color=[_rgba(FLOW_COLOURS.get(d["flows"][0], "#999999"), 0.45) for _, _, d in edges],
                  customdata=[", ".join(d["flows"]) for _, _, d in edges],
                  hovertemplate="%{source.label} → %{target.label}<br>USD %{value:.1f} bn<br>%{customdata}<extra></extra>"),
    ))
    fig.update_layout(height=560, margin=dict(l=10, r=10, t=10, b=10), font=dict(size=11))
    return fig


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def treemap_figure(table: pd.DataFrame, max_companies: int = 400) -> tuple[go.Figure, str | None]:
    """Segment -> company treemap, size = market cap (USD), colour = composite. Large universes are
    capped to the biggest companies with a notice."""
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
    score = t["composite"].round().astype("Int64").astype("string").fillna("n.a.")
    text = (pd.Series(_esc_all(t["name"]), index=t.index) + "<br>composite " + score).tolist() + [""] * len(segs)
    fig = go.Figure(go.Treemap(
        labels=labels, parents=parents, values=values, branchvalues="remainder", text=text,
        marker=dict(colors=colour, colorscale=[[0, "#bbbbbb"], [0.001, "#cf222e"], [0.5, "#f2cc60"], [1, "#1a7f37"]],
                    cmin=-1, cmax=100, colorbar=dict(title="Composite")),
        hovertemplate="%{label}<br>market cap USD %{value:,.0f} bn<br>%{text}<extra></extra>",
    ))
    fig.update_layout(height=540, margin=dict(l=5, r=5, t=30, b=5), title="Market map: size = market cap, colour = composite (grey = n.a.)")
    return fig, notice


def scatter_figure(table: pd.DataFrame, x: str, y: str, x_label: str, y_label: str, max_points: int = 2000) -> tuple[go.Figure, str | None]:
    """Bubble scatter (bubble = market cap); samples large universes with a notice."""
    t = table.dropna(subset=[x, y])
    notice = None
    if len(t) > max_points:
        notice = f"Scatter shows a random sample of {max_points:,} of {len(t):,} companies."
        t = t.sample(max_points, random_state=0)
    size = np.sqrt(t["market_cap_usd"].fillna(0).clip(lower=0) / 1e9) + 6
    fig = go.Figure()
    for seg, grp in t.groupby("segment"):
        fig.add_trace(go.Scatter(
            x=grp[x], y=grp[y], mode="markers+text" if len(t) < 60 else "markers", text=_esc_all(grp.index),
            textposition="top center", name=seg,
            marker=dict(size=size.loc[grp.index], sizemode="diameter", color=SEGMENT_COLOURS.get(seg, "#7f7f7f"), opacity=0.7),
            hovertemplate="%{text}<br>" + x_label + ": %{x:.2f}<br>" + y_label + ": %{y:.2f}<extra></extra>"))
    fig.update_layout(height=540, margin=dict(l=5, r=5, t=30, b=5), xaxis_title=x_label, yaxis_title=y_label,
                      title=f"{y_label} vs {x_label} (bubble = market cap)")
    if t.empty:
        notice = notice or "No company has both values."
    return fig, notice
