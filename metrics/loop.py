"""The circular-financing graph, its cycles, the loop-exposure checks and the stress test.

Graph: a networkx ``DiGraph`` of money flows, payer -> payee. Several deals
between the same pair are one edge carrying the list of deals. An edge's
dollars are the sum of its *counted* deals' disclosed amounts: deals flagged
"excluded" (terminated, not executed, stake valuations) never form an edge;
"low"-confidence amounts (unconfirmed, estimated) are shown but only counted
when the user asks for it. An as-of date keeps the deals announced on or before
it (a deal dated by month or year counts from the first day of that period).

Cycles: simple directed cycles up to length 6, found largest first by a
bounded search (:mod:`metrics.cycles`: at most 2,000 cycles and 1 s; counts
are lower bounds when it stops early). A cycle carries the dollars of its
smallest edge; if any edge's amount is undisclosed, the cycle's dollars are
undisclosed too.

Loop-exposure checks are period-true per company-year (see each check): flows
inside the fiscal year against that year's revenue, forward contracts against
backlog at the backlog date, point-in-time facts as of the information date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd

from metrics import financials as F
from metrics.checks import Check, Context, _frame, _ramp, register
from metrics.cycles import MAX_CYCLES, TIME_BUDGET_S, CycleList, largest_cycles
from metrics.format import is_missing, money, pct

MAX_CYCLE_LENGTH = 6
#: flows through which the payee earns revenue from the payer
REVENUE_FLOWS = ("compute_contract", "chip_supply", "custom_silicon", "capacity_backstop", "loan_or_lease")
#: flows through which the payer funds the payee (investment, lending, guarantees)
FINANCING_FLOWS = ("equity_investment", "warrant", "loan_or_lease", "capacity_backstop", "jv_commitment")
REVENUE_SHARE_METRICS = ("share_of_revenue",)
BACKLOG_SHARE_METRICS = ("share_of_rpo", "share_of_commercial_rpo", "share_of_backlog")


def counted(deals: pd.DataFrame, include_low: bool = False) -> pd.Series:
    """Which deals' amounts count as money (high/medium confidence, low only on request)."""
    ok = deals["confidence"].isin(["high", "medium"] + (["low"] if include_low else []))
    return ok & deals["amount_usd"].notna()


def filter_as_of(deals: pd.DataFrame, as_of: pd.Timestamp | str | None) -> pd.DataFrame:
    """Deals announced on or before ``as_of`` (all deals when None)."""
    if as_of is None:
        return deals
    return deals[deals["announced_date"] <= pd.Timestamp(as_of)]


def build_graph(deals: pd.DataFrame, include_low: bool = False) -> nx.DiGraph:
    """DiGraph payer -> payee; edge attrs: deals, flows, amount_usd (NaN if none disclosed), fully_disclosed,
    first_announced, sources, confirmed, basis (the deals' amount bases) and main_flow.

    One pass over the deals (a few hundred rows at most), edges added in (payer, payee) order.
    """
    live = deals[deals["confidence"] != "excluded"]
    count = counted(live, include_low).to_numpy()
    edges: dict[tuple[str, str], dict] = {}
    for i, row in enumerate(live[["payer", "payee", "deal_id", "flow", "amount_usd", "announced_date", "source",
                                  "confidence", "amount_basis"]].itertuples(index=False, name=None)):
        payer, payee, deal_id, flow, amount, announced, source, confidence, basis = row
        e = edges.setdefault((payer, payee), {"deals": [], "flows": set(), "amounts": [], "n": 0,
                                              "dates": [], "sources": set(), "confidence": set(), "bases": [],
                                              "flow_amounts": {}})
        e["deals"].append(deal_id)
        e["flows"].add(flow)
        e["n"] += 1
        e["confidence"].add(confidence)
        if isinstance(basis, str) and basis and basis not in e["bases"]:
            e["bases"].append(basis)
        if count[i]:
            e["amounts"].append(float(amount))
            e["flow_amounts"][flow] = e["flow_amounts"].get(flow, 0.0) + float(amount)
        if not pd.isna(announced):
            e["dates"].append(announced)
        if isinstance(source, str):
            e["sources"].update(x for x in source.split(" ; ") if x)
    g = nx.DiGraph()
    for (payer, payee), e in sorted(edges.items()):
        g.add_edge(
            payer, payee,
            deals=e["deals"],
            flows=sorted(e["flows"]),
            amount_usd=float(sum(e["amounts"])) if e["amounts"] else float("nan"),
            fully_disclosed=len(e["amounts"]) == e["n"],
            first_announced=min(e["dates"]) if e["dates"] else pd.NaT,
            sources=sorted(e["sources"]),
            # confirmed: at least one deal on the edge is of medium or high confidence
            confirmed=bool(e["confidence"] & {"high", "medium"}),
            basis="; ".join(e["bases"]),
            # the flow kind carrying the most counted dollars (else the first kind)
            main_flow=max(e["flow_amounts"], key=e["flow_amounts"].get) if e["flow_amounts"] else sorted(e["flows"])[0],
        )
    return g


@dataclass
class Cycle:
    nodes: list[str]
    amount_usd: float  # smallest edge; NaN when an edge is undisclosed
    min_known_usd: float  # smallest disclosed edge (a floor for reading only)

    @property
    def length(self) -> int:
        return len(self.nodes)


def find_cycles(g: nx.DiGraph, max_length: int = MAX_CYCLE_LENGTH, *, max_cycles: int = MAX_CYCLES,
                budget_s: float = TIME_BUDGET_S) -> list[Cycle]:
    """The largest simple directed cycles of length <= ``max_length``, each rotated to start at its smallest node.

    Bounded (:func:`metrics.cycles.largest_cycles`): at most ``max_cycles``
    cycles and about ``budget_s`` seconds per call, the largest by dollars carried. Sorted
    by dollars carried (undisclosed last), then length. The list is a
    :class:`metrics.cycles.CycleList`: ``.truncated`` is True when the search
    stopped early, and ``.found`` is then a lower bound of the number of cycles.
    """
    search = largest_cycles(g, max_length, max_cycles, budget_s)
    out = CycleList(found=search.found, truncated=search.truncated, stopped_by=search.stopped_by,
                    elapsed_s=search.elapsed_s)
    for nodes in search.cycles:
        k = nodes.index(min(nodes))
        nodes = nodes[k:] + nodes[:k]
        edges = list(zip(nodes, nodes[1:] + nodes[:1]))
        amounts = [g.edges[e]["amount_usd"] for e in edges]
        known = [a for a in amounts if not np.isnan(a)]
        full = len(known) == len(amounts)
        out.append(Cycle(nodes, min(amounts) if full else float("nan"), min(known) if known else float("nan")))
    out.sort(key=lambda c: (np.isnan(c.amount_usd), -np.nan_to_num(c.amount_usd), c.length, c.nodes))
    return out


def annualised_amount(amount_usd: float, term_years: float) -> float:
    """amount / term (USD per year); NaN without a disclosed amount or a positive term."""
    if is_missing(amount_usd) or is_missing(term_years) or term_years <= 0:
        return float("nan")
    return float(amount_usd) / float(term_years)


@dataclass
class LoopContext:
    """Loop inputs for the checks: the filtered deals, graph, cycles and concentration."""

    deals: pd.DataFrame
    concentration: pd.DataFrame
    graph: nx.DiGraph
    cycles: list[Cycle]
    listed: set[str] = field(default_factory=set)
    include_low: bool = False
    _by_node: tuple[tuple[int, int], dict[str, list[Cycle]]] | None = field(default=None, init=False, repr=False,
                                                                          compare=False)

    @property
    def cycles_truncated(self) -> bool:
        """True when the cycle search stopped at its cap or time budget: counts of cycles are lower bounds."""
        return bool(getattr(self.cycles, "truncated", False))

    @property
    def cycles_found(self) -> int:
        """Cycles found (a lower bound of the true number when :attr:`cycles_truncated`)."""
        return int(getattr(self.cycles, "found", len(self.cycles)))

    def cycles_of(self, node: str) -> list[Cycle]:
        """The cycles through ``node`` (of those found: a lower bound when :attr:`cycles_truncated`)."""
        key = (id(self.cycles), len(self.cycles))
        if self._by_node is None or self._by_node[0] != key:  # indexed once per list of cycles
            by_node: dict[str, list[Cycle]] = {}
            for c in self.cycles:
                for n in dict.fromkeys(c.nodes):
                    by_node.setdefault(n, []).append(c)
            self._by_node = (key, by_node)
        return list(self._by_node[1].get(node, []))


def loop_context(deals: pd.DataFrame, concentration: pd.DataFrame, listed: set[str],
                 as_of: pd.Timestamp | str | None = None, include_low: bool = False) -> LoopContext:
    """Filter by date, build the graph and find its cycles."""
    d = filter_as_of(deals, as_of)
    g = build_graph(d, include_low)
    return LoopContext(d, concentration, g, find_cycles(g), set(listed), include_low)


# =========================================================================== period-true inputs

#: stands in for "no date limit" in date comparisons
FAR_FUTURE = pd.Timestamp("2200-01-01")
#: concentration metrics that give a backlog total (USD) and a counterparty's share of it (percent)
BACKLOG_TOTAL_METRICS = ("remaining_performance_obligations", "revenue_backlog",
                         "commercial_remaining_performance_obligations", "ai_backlog")


def period_date(period: str, fiscal_period_end: pd.Timestamp | None = None) -> pd.Timestamp:
    """The date a concentration disclosure speaks for: '2025-11-30' as is, '2025-09' -> month end,
    '2025' -> 31 Dec, 'FY2025' -> that fiscal year's period end, 'FY2025-Q3' -> ~one quarter before it
    (``fiscal_period_end`` is the company's FY period end); anything else NaT."""
    text = str(period or "").strip()
    try:
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            return pd.Timestamp(text)
        if len(text) == 7 and text[4] == "-" and text[5:].isdigit():
            return pd.Timestamp(text) + pd.offsets.MonthEnd(0)
        if len(text) == 4 and text.isdigit():
            return pd.Timestamp(f"{text}-12-31")
    except ValueError:
        return pd.NaT
    if text.startswith("FY") and fiscal_period_end is not None and not pd.isna(fiscal_period_end):
        quarter = text[7:] if len(text) > 7 and text[6] == "-" else ""
        if quarter in ("", "Q4"):
            return pd.Timestamp(fiscal_period_end)
        if quarter in ("Q1", "Q2", "Q3"):
            return pd.Timestamp(fiscal_period_end) - pd.Timedelta(days=91 * (4 - int(quarter[1])))
    return pd.NaT


def _fiscal_period_ends(ctx: Context) -> dict[tuple[str, int], pd.Timestamp]:
    """(ticker, fiscal year) -> period end, from the real panel (for 'FY2025'-style disclosure periods)."""
    panel = ctx.full_panel if ctx.full_panel is not None else ctx.panel
    if panel is None or panel.empty:
        return {}
    pe = pd.to_datetime(panel["period_end"], errors="coerce")
    return dict(zip(panel.index, pe))


def dated_concentration(ctx: Context) -> pd.DataFrame:
    """The concentration table with ``date`` (:func:`period_date`) and numeric ``value``; computed once."""
    if "loop_concentration" in ctx.derived:
        return ctx.derived["loop_concentration"]
    conc = ctx.loop.concentration.copy()
    ends = _fiscal_period_ends(ctx)

    def fy_end(ticker: str, period: str) -> pd.Timestamp | None:
        text = str(period or "")
        if text.startswith("FY") and text[2:6].isdigit():
            return ends.get((ticker, int(text[2:6])))
        return None

    conc["date"] = pd.to_datetime(pd.Series([period_date(p, fy_end(t, p)) for t, p in zip(conc["ticker"], conc["period"])],
                                            index=conc.index, dtype=object), errors="coerce")
    conc["value"] = pd.to_numeric(conc["value"], errors="coerce")
    ctx.derived["loop_concentration"] = conc
    return conc


def _keys(ctx: Context) -> pd.DataFrame:
    """One row per company key: ticker, fiscal year window (start, end], information date, revenue in USD."""
    comp = ctx.companies
    pe = pd.to_datetime(comp["period_end"], errors="coerce")
    info = pd.to_datetime(comp.get("info_date", pd.Series(pd.NaT, index=comp.index)), errors="coerce")
    keys = pd.DataFrame({
        "ticker": ctx.tickers.to_numpy(),
        "fiscal_year": comp["fiscal_year"].to_numpy(),
        "fy_end": (pe + pd.Timedelta(days=1)).to_numpy(),  # the period-end day is inside the year
        "fy_start": (pe - pd.Timedelta(days=364)).to_numpy(),
        "period_end": pe.to_numpy(),
        "info": info.to_numpy(),
        "revenue_usd": (ctx.latest_col(F.REVENUE) * comp["fx_usd"]).to_numpy(),
    }, index=pd.Index(ctx.index, name="key"))
    return keys


def _deal_runs(deals: pd.DataFrame, include_low: bool) -> pd.DataFrame:
    """Revenue deals with their run [start, end) (end NaT without a term), the counted amount and amount / term."""
    d = deals[(deals["confidence"] != "excluded") & deals["flow"].isin(REVENUE_FLOWS)].copy()
    cnt = counted(d, include_low)
    d["start"] = pd.to_datetime(d["announced_date"])
    term = pd.to_numeric(d["term_years"], errors="coerce")
    d["end"] = d["start"] + pd.to_timedelta((term * 365.25).round(), unit="D")
    d["amount"] = pd.to_numeric(d["amount_usd"], errors="coerce").where(cnt)
    d["annual"] = d["amount"] / term.where(term > 0)
    return d


def _pairs(keys: pd.DataFrame, deals: pd.DataFrame, side: str) -> pd.DataFrame:
    """Every (company key, deal) with the company on ``side`` ("payee" or "payer") of the deal."""
    k = keys.reset_index().rename(columns={"ticker": "_ticker"})
    return k.merge(deals, left_on="_ticker", right_on=side, how="inner")


def _in_year(p: pd.DataFrame) -> pd.DataFrame:
    """Per pair: does the deal run inside the fiscal year, and the counted amount falling in it (USD)."""
    start, end = p["start"], p["end"]
    overlap = (start < p["fy_end"]) & (end.isna() | (end > p["fy_start"]))
    known = p["annual"].notna()
    lo = start.where(start > p["fy_start"], p["fy_start"])
    hi = end.where(end.notna() & (end < p["fy_end"]), p["fy_end"])
    days = (hi - lo).dt.days.clip(lower=0)
    return pd.DataFrame({"running": overlap, "contrib": (p["annual"] * days / 365.0).where(overlap & known, 0.0),
                         "unknown": overlap & ~known}, index=p.index)


def _outstanding(p: pd.DataFrame, when: pd.Series) -> pd.DataFrame:
    """Per pair: counted contract value still to run at ``when`` (straight line), and whether an undisclosed
    amount or term is still running then."""
    start, end = p["start"], p["end"]
    started = start <= when
    running = started & (end.isna() | (end > when))
    span = (end - start).dt.days
    left = ((end - when.where(when > start, start)).dt.days / span.where(span > 0)).clip(0.0, 1.0)
    value = (p["amount"] * left).where(running & p["annual"].notna(), 0.0)
    return pd.DataFrame({"value": value.fillna(0.0), "unknown": running & p["annual"].isna()}, index=p.index)


def _sum(values: pd.Series, keys: pd.Series, index: pd.Index) -> pd.Series:
    return values.groupby(keys).sum().reindex(index).fillna(0)


def exposure_inputs(ctx: Context, include_low: bool | None = None) -> pd.DataFrame:
    """Per company key: the period-true inputs of the five loop checks.

    Flows are those running inside the fiscal year (amount / term a year from the
    announcement, pro rata by days); point-in-time facts (backlog, cycles) are
    read as of the key's information date; vendor financing is what the company
    committed to its buyers during the fiscal year. ``include_low`` overrides
    the loop context's choice of counting low-confidence amounts.
    """
    lc: LoopContext = ctx.loop
    include_low = lc.include_low if include_low is None else include_low
    keys = _keys(ctx)
    idx = keys.index
    listed = lc.listed
    runs = _deal_runs(lc.deals, include_low)
    runs["private"] = ~runs["payer"].isin(listed)
    out = pd.DataFrame(index=idx)
    out["period_start"] = keys["fy_start"]
    out["period_end"] = keys["period_end"]
    out["info_date"] = keys["info"]
    out["revenue_usd"] = keys["revenue_usd"]
    out["present"] = _present(ctx, keys)

    p = _pairs(keys, runs, "payee")
    y = _in_year(p)
    out["inflow_in_year_usd"] = _sum(y["contrib"], p["key"], idx)
    out["deals_running_in_year"] = _sum(y["running"].astype(int), p["key"], idx)
    out["unknown_in_year"] = _sum(y["unknown"].astype(int), p["key"], idx)
    priv = p["private"]
    out["private_in_year_usd"] = _sum(y["contrib"].where(priv, 0.0), p["key"], idx)
    out["unknown_private_in_year"] = _sum((y["unknown"] & priv).astype(int), p["key"], idx)
    known_by_info = p["start"] <= p["info"].fillna(FAR_FUTURE)
    out["inflow_deals"] = _sum(known_by_info.astype(int), p["key"], idx)

    out = out.join(_backlog(ctx, keys))
    ref = out["backlog_date"].where(out["backlog_date"].notna(), _reference_date(keys, runs))
    o = _outstanding(p, p["key"].map(ref))
    out["loop_outstanding_usd"] = _sum(o["value"], p["key"], idx)
    out["unknown_outstanding"] = _sum(o["unknown"].astype(int), p["key"], idx)
    out["private_outstanding_usd"] = _sum(o["value"].where(priv, 0.0), p["key"], idx)
    out["unknown_private_outstanding"] = _sum((o["unknown"] & priv).astype(int), p["key"], idx)
    out["outstanding_date"] = ref

    out = out.join(_disclosed_revenue_shares(ctx, keys, set(lc.graph.nodes)))
    out = out.join(_vendor_financing(ctx, keys, runs, include_low))
    cycles = _cycles_at(ctx, keys)
    out["cycle_count"] = cycles["count"]
    out["cycles_truncated"] = cycles["truncated"]
    return out


def _reference_date(keys: pd.DataFrame, runs: pd.DataFrame) -> pd.Series:
    """The date forward contracts are read at when no backlog is disclosed: the information date, or (no
    limit) the later of the period end and the newest deal on file."""
    newest = runs["start"].max() if not runs.empty else pd.NaT
    fallback = keys["period_end"] if pd.isna(newest) else keys["period_end"].where(keys["period_end"] > newest, newest)
    return keys["info"].where(keys["info"].notna(), fallback)


def _present(ctx: Context, keys: pd.DataFrame) -> pd.Series:
    """Whether the company appears in the loop data as of each key's information date (a deal on either
    side, or a concentration disclosure)."""
    d = ctx.loop.deals[ctx.loop.deals["confidence"] != "excluded"]
    first = pd.concat([d[["payer", "announced_date"]].rename(columns={"payer": "party"}),
                       d[["payee", "announced_date"]].rename(columns={"payee": "party"})])
    first = first.groupby("party")["announced_date"].min()
    when = keys["ticker"].map(first)
    in_graph = when.notna() & (keys["info"].isna() | (when <= keys["info"]))
    conc = dated_concentration(ctx)
    disclosed = keys["ticker"].isin(set(conc["ticker"]))
    return (in_graph | disclosed).astype(bool)


def _window(conc: pd.DataFrame, keys: pd.DataFrame, metrics: tuple[str, ...], unit: str) -> pd.DataFrame:
    """Concentration rows of each key's company with ``metrics``/``unit``, dated inside (fiscal-year start,
    information date]; columns key + the row's fields."""
    rows = conc[conc["metric"].isin(metrics) & (conc["unit"] == unit) & conc["value"].notna() & conc["date"].notna()]
    k = keys[["ticker", "fy_start", "info"]].reset_index()
    m = k.merge(rows, on="ticker", how="inner")
    return m[(m["date"] >= m["fy_start"]) & (m["info"].isna() | (m["date"] <= m["info"]))]


def _backlog(ctx: Context, keys: pd.DataFrame) -> pd.DataFrame:
    """Per key: the latest backlog total (USD) and the largest disclosed counterparty share of backlog, both
    dated inside the key's window (:func:`_window`)."""
    conc = dated_concentration(ctx)
    idx = keys.index
    out = pd.DataFrame(index=idx)
    tot = _window(conc, keys, BACKLOG_TOTAL_METRICS, "USD").sort_values("date").drop_duplicates("key", keep="last")
    tot = tot.set_index("key")
    out["backlog_usd"] = tot["value"].reindex(idx)
    out["backlog_date"] = pd.to_datetime(tot["date"].reindex(idx))
    out["backlog_source"] = tot["source"].reindex(idx)
    sh = _window(conc, keys, BACKLOG_SHARE_METRICS, "percent")
    if not sh.empty:
        newest = sh.groupby("key")["date"].transform("max")
        sh = sh[sh["date"] == newest].sort_values("value").drop_duplicates("key", keep="last").set_index("key")
    out["backlog_share"] = (sh["value"] / 100.0).reindex(idx) if not sh.empty else np.nan
    for col, src in (("backlog_counterparty", "counterparty"), ("backlog_period", "period"),
                     ("backlog_share_source", "source")):
        out[col] = sh[src].reindex(idx) if not sh.empty else None
    return out


def _disclosed_revenue_shares(ctx: Context, keys: pd.DataFrame, parties: set[str]) -> pd.DataFrame:
    """Per key: the disclosed share of *that fiscal year's* revenue from loop counterparties (all, private)."""
    conc = dated_concentration(ctx)
    rows = conc[conc["metric"].isin(REVENUE_SHARE_METRICS) & (conc["unit"] == "percent") & conc["value"].notna()
                & conc["counterparty"].isin(parties)]
    idx = keys.index
    k = keys[["ticker", "fiscal_year"]].reset_index()
    k["period"] = "FY" + k["fiscal_year"].astype("Int64").astype(str)
    label = ctx.companies.get("basis_label", pd.Series("", index=ctx.index)).astype(str)
    k = k[~label.reindex(keys.index).str.startswith("TTM").to_numpy()]  # a fiscal year's share is not a TTM share
    m = k.merge(rows, on=["ticker", "period"], how="inner")
    m["private"] = ~m["counterparty"].isin(ctx.loop.listed)
    out = pd.DataFrame(index=idx)
    out["disclosed_revenue_share"] = (m.groupby("key")["value"].sum() / 100.0).reindex(idx)
    out["disclosed_private_share"] = (m[m["private"]].groupby("key")["value"].sum() / 100.0).reindex(idx)
    out["disclosed_revenue_period"] = m.groupby("key")["period"].first().reindex(idx)
    out["disclosed_revenue_counterparties"] = m.groupby("key")["counterparty"].agg(", ".join).reindex(idx)
    out["disclosed_revenue_source"] = m.groupby("key")["source"].agg("; ".join).reindex(idx)
    return out


def _vendor_financing(ctx: Context, keys: pd.DataFrame, runs: pd.DataFrame, include_low: bool) -> pd.DataFrame:
    """Per key: funding the company committed during the fiscal year to parties that buy from it."""
    d = ctx.loop.deals
    fin = d[(d["confidence"] != "excluded") & d["flow"].isin(FINANCING_FLOWS)].copy()
    fin["amount"] = pd.to_numeric(fin["amount_usd"], errors="coerce").where(counted(fin, include_low))
    idx = keys.index
    out = pd.DataFrame(index=idx, columns=["vendor_financing_usd", "vendor_financing_deals", "vendor_unknown",
                                           "vendor_financing_to"])
    buyers = set(zip(runs["payee"], runs["payer"]))  # (seller, buyer)
    p = _pairs(keys, fin, "payer")
    if p.empty:
        out["vendor_financing_usd"] = 0.0
        out["vendor_financing_deals"] = 0
        out["vendor_unknown"] = 0
        return out
    is_buyer = pd.Series([(s, b) in buyers for s, b in zip(p["payer"], p["payee"])], index=p.index)
    in_year = (p["announced_date"] >= p["fy_start"]) & (p["announced_date"] < p["fy_end"])
    p = p[is_buyer & in_year]
    out["vendor_financing_usd"] = _sum(p["amount"].fillna(0.0), p["key"], idx)
    out["vendor_financing_deals"] = _sum(pd.Series(1, index=p.index), p["key"], idx)
    out["vendor_unknown"] = _sum(p["amount"].isna().astype(int), p["key"], idx)
    out["vendor_financing_to"] = p.groupby("key")["payee"].agg(lambda s: ", ".join(sorted(set(s)))).reindex(idx)
    return out


def _cycles_at(ctx: Context, keys: pd.DataFrame) -> pd.DataFrame:
    """Per key: cycles through the company in the graph of the deals announced by its information date."""
    lc: LoopContext = ctx.loop
    d = lc.deals
    dates = pd.Series(np.sort(pd.to_datetime(d["announced_date"]).dropna().unique()))
    info = keys["info"]
    # the graph only changes at announcement dates: one graph per distinct "last announcement on or before"
    pos = np.searchsorted(dates.to_numpy(), info.fillna(FAR_FUTURE).to_numpy().astype(dates.dtype), side="right") - 1
    cache = ctx.derived.setdefault("loop_cycles_at", {})
    distinct = {dates.iloc[p] for p, limit in zip(pos, info) if not pd.isna(limit) and 0 <= p < len(dates) - 1}
    budget = max(0.05, TIME_BUDGET_S * 2 / max(1, len(distinct)))  # all graphs together: about 2 s at most
    counts, truncated = [], []
    for t, p, limit in zip(keys["ticker"], pos, info):
        if pd.isna(limit) or p >= len(dates) - 1:
            cycles = lc.cycles  # every deal of the context is known by then
        elif p < 0:
            cycles = []
        else:
            when = dates.iloc[p]
            if when not in cache:
                g = build_graph(filter_as_of(d, when), lc.include_low)
                cache[when] = find_cycles(g, budget_s=budget)
            cycles = cache[when]
        counts.append(sum(1 for c in cycles if t in c.nodes))
        truncated.append(bool(getattr(cycles, "truncated", False)))
    return pd.DataFrame({"count": counts, "truncated": truncated}, index=keys.index)


def _inputs(ctx: Context, include_low: bool | None = None) -> pd.DataFrame:
    key = ("loop_inputs", include_low)
    if key not in ctx.extra:
        ctx.extra[key] = exposure_inputs(ctx, include_low)
    return ctx.extra[key]


def _nan(ctx: Context) -> pd.DataFrame:
    nan = pd.Series(np.nan, index=ctx.index)
    return _frame(ctx.index, nan, nan, nan, False)


def _worst_of(ctx: Context, compute) -> pd.DataFrame:
    """``compute(ctx, inputs)`` on the loop inputs; when low-confidence amounts are counted, the worse of the
    results with and without them per company, so counting them can only lower or keep a loop score."""
    if ctx.loop is None:
        return _nan(ctx)
    if not ctx.loop.include_low:
        return compute(ctx, _inputs(ctx))
    without, with_low = compute(ctx, _inputs(ctx, False)), compute(ctx, _inputs(ctx, True))
    worse = with_low["points"].fillna(0.0) <= without["points"].fillna(0.0)
    return with_low.where(worse, without)


def loop_revenue_share(ctx: Context) -> pd.DataFrame:
    """(a) Loop revenue share = loop inflows falling in the fiscal year / that year's revenue (%).

    Period-true: a deal pays amount / term a year from its announcement for its
    term, and only the part of its run inside the fiscal year counts; a contract
    that starts after the year puts nothing into it, amount known or not. Where
    the company discloses the same fiscal year's revenue share from named loop
    counterparties, the larger of the two is used. Nothing is capped. A deal
    running in the year without a counted amount or term leaves the share
    undetermined: 0 points (a judged fail when the known part already fails).
    Points: 1 at <= 5% falling to 0 at >= 50%. Pass: < 20%. A company absent
    from the loop data: not applicable.
    """
    return _worst_of(ctx, _loop_revenue_share)


def _loop_revenue_share(ctx: Context, x: pd.DataFrame) -> pd.DataFrame:
    rev = x["revenue_usd"]
    flows = x["inflow_in_year_usd"]
    share_deals = F.safe_divide(flows, rev).where(~(rev.le(0) & flows.eq(0)), 0.0)
    share_deals = share_deals.where(~(rev.le(0) & flows.gt(0)), np.inf)
    disclosed = x["disclosed_revenue_share"]
    share = pd.concat([share_deals, disclosed], axis=1).max(axis=1, skipna=True)
    determined = x["unknown_in_year"].eq(0) | disclosed.notna()
    points = _ramp(share.replace(np.inf, 10.0), 0.50, 0.05)
    fails = share >= 0.20
    points = points.where(determined, np.where(fails, 0.0, np.nan))
    backlog_share = F.safe_divide(x["loop_outstanding_usd"], x["backlog_usd"])
    return _frame(ctx.index, share.replace(np.inf, np.nan), points, share < 0.20, x["present"], **{
        "Loop inflows in the fiscal year (USD)": flows, "Revenue (USD)": rev,
        "Fiscal year from": x["period_start"], "Fiscal year to": x["period_end"],
        "Deals running in the year": x["deals_running_in_year"], "Undisclosed in the year": x["unknown_in_year"],
        "Share from deals": share_deals.replace(np.inf, np.nan), "Disclosed share of revenue": disclosed,
        "Disclosure period": x["disclosed_revenue_period"], "Disclosed counterparties": x["disclosed_revenue_counterparties"],
        "Disclosure source": x["disclosed_revenue_source"], "Inflow deals": x["inflow_deals"],
        "Loop contracts outstanding (USD)": x["loop_outstanding_usd"], "Backlog (USD)": x["backlog_usd"],
        "Backlog date": x["backlog_date"], "Loop share of backlog": backlog_share})


def _date(x) -> str:
    return "n.a." if x is None or pd.isna(x) else pd.Timestamp(x).strftime("%b %Y")


def _count(x) -> int:
    """A count from a check row; missing (None or NaN, e.g. without loop data) counts as 0."""
    return 0 if is_missing(x) else int(x)


NOT_IN_LOOP = "Not applicable: no loop deals or disclosures on record for this company."


def _explain_loop_rev(r: Mapping, cur: str) -> str:
    if r.get("status") == "n.a.":
        return NOT_IN_LOOP
    year = f"the fiscal year {_date(r.get('Fiscal year from'))}–{_date(r.get('Fiscal year to'))}"
    n_unknown = _count(r.get("Undisclosed in the year"))
    if r.get("status") == "not on file":
        if is_missing(r.get("Revenue (USD)")) and is_missing(r.get("Disclosed share of revenue")):
            return "Not on file: revenue (or a disclosed customer share) of the scoring year."
        return (f"Not on file: {n_unknown} loop deal(s) ran in {year} without a disclosed amount or term, so the share "
                f"is at least {pct(r.get('Share from deals'))} and cannot be judged.")
    running = _count(r.get("Deals running in the year"))
    parts = [f"{running} loop deal(s) ran in {year}, bringing {money(r.get('Loop inflows in the fiscal year (USD)'))} "
             f"vs revenue {money(r.get('Revenue (USD)'))}" if running else f"no loop deal ran in {year}"]
    if not is_missing(r.get("Disclosed share of revenue")):
        parts.append(f"disclosed {pct(r['Disclosed share of revenue'], 0)} of {r['Disclosure period']} revenue from "
                     f"{r['Disclosed counterparties']}")
    if n_unknown and is_missing(r.get("Disclosed share of revenue")):
        parts.append(f"{n_unknown} more without an amount (the share is at least this)")
    text = f"Loop revenue share {pct(r['value'])}: " + "; ".join(parts) + "."
    later = _count(r.get("Inflow deals")) - running
    if later > 0:
        text += f" {later} other loop deal(s) do not fall in this fiscal year (judged against backlog instead)."
    return text


def backlog_concentration(ctx: Context) -> pd.DataFrame:
    """(b) Backlog concentration: the larger of the largest disclosed counterparty share of backlog (RPO)
    and the loop contracts still to run / backlog, both at the backlog date (%).

    Point in time: the latest disclosure dated inside the fiscal year or after
    it up to the information date. Loop contracts still to run are valued
    straight-line at that date. No backlog disclosed: passes when no loop
    contract is still running, not on file when one is. Points: 1 at <= 10%
    falling to 0 at >= 60%. Pass: <= 25%. Absent from the loop data: not applicable.
    """
    return _worst_of(ctx, _backlog_concentration)


def _backlog_concentration(ctx: Context, x: pd.DataFrame) -> pd.DataFrame:
    backlog = x["backlog_usd"]
    loop_share = F.safe_divide(x["loop_outstanding_usd"], backlog)
    disclosed = x["backlog_share"]
    share = pd.concat([disclosed, loop_share], axis=1).max(axis=1, skipna=True)
    forward = x["loop_outstanding_usd"].gt(0) | x["unknown_outstanding"].gt(0)
    nothing = backlog.isna() & disclosed.isna() & ~forward
    share = share.where(~nothing, 0.0)
    determined = disclosed.notna() | nothing | (backlog.notna() & x["unknown_outstanding"].eq(0))
    points = _ramp(share, 0.60, 0.10)
    points = points.where(determined, np.where(share > 0.25, 0.0, np.nan))
    return _frame(ctx.index, share, points, share <= 0.25, x["present"], **{
        "Largest disclosed share": disclosed, "Counterparty": x["backlog_counterparty"], "Period": x["backlog_period"],
        "Source": x["backlog_share_source"], "Backlog (USD)": backlog, "Backlog date": x["backlog_date"],
        "Loop contracts outstanding (USD)": x["loop_outstanding_usd"], "Undisclosed still running": x["unknown_outstanding"],
        "Read at": x["outstanding_date"], "Loop share of backlog": loop_share})


def _explain_backlog(r: Mapping, cur: str) -> str:
    if r.get("status") == "n.a.":
        return NOT_IN_LOOP
    backlog, disclosed = r.get("Backlog (USD)"), r.get("Largest disclosed share")
    out = money(r.get("Loop contracts outstanding (USD)"))
    n_unknown = _count(r.get("Undisclosed still running"))
    if r.get("status") == "not on file":
        if is_missing(backlog):
            return (f"Not on file: loop contracts still run ({out} counted, {n_unknown} without an amount) but no "
                    f"backlog (RPO) is disclosed to compare them with.")
        return f"Not on file: {n_unknown} loop contract(s) without an amount still run at {_date(r.get('Read at'))}."
    if is_missing(backlog) and is_missing(disclosed):
        return "No loop contract still to run and no backlog concentration disclosed."
    parts = []
    if not is_missing(disclosed):
        parts.append(f"{r['Counterparty']} {pct(disclosed, 0)} of backlog ({r['Period']})")
    if not is_missing(backlog):
        parts.append(f"loop contracts still to run {out} = {pct(r.get('Loop share of backlog'), 0)} of the "
                     f"{money(backlog)} backlog ({_date(r.get('Backlog date'))})")
    return f"Backlog concentration {pct(r['value'], 0)}: " + "; ".join(parts) + "."


def vendor_financing(ctx: Context) -> pd.DataFrame:
    """(c) Vendor financing = funding committed during the fiscal year to parties that buy from the company /
    that year's revenue (%).

    Funding = counted equity investments, warrants, loans/leases, backstops and
    JV commitments announced inside the fiscal year to a party that also pays
    the company under a revenue deal. None: 0 (pass). An undisclosed amount
    leaves it undetermined (0 points). Points: 1 at 0% falling to 0 at >= 50%
    of revenue. Pass: <= 10%. Absent from the loop data: not applicable.
    """
    return _worst_of(ctx, _vendor_financing_check)


def _vendor_financing_check(ctx: Context, x: pd.DataFrame) -> pd.DataFrame:
    rev = x["revenue_usd"]
    amt = x["vendor_financing_usd"].astype(float)
    ratio = F.safe_divide(amt, rev).where(~amt.eq(0), 0.0)
    determined = x["vendor_unknown"].astype(float).eq(0)
    points = _ramp(ratio, 0.50, 0.0)
    points = points.where(determined, np.where(ratio > 0.10, 0.0, np.nan))
    return _frame(ctx.index, ratio, points, ratio <= 0.10, x["present"], **{
        "Vendor financing (USD)": amt, "Financed buyers": x["vendor_financing_to"], "Revenue (USD)": rev,
        "Financing deals": x["vendor_financing_deals"], "Undisclosed amounts": x["vendor_unknown"],
        "Fiscal year from": x["period_start"], "Fiscal year to": x["period_end"]})


def _explain_vendor(r: Mapping, cur: str) -> str:
    if r.get("status") == "n.a.":
        return NOT_IN_LOOP
    n = _count(r.get("Financing deals"))
    year = f"{_date(r.get('Fiscal year from'))}–{_date(r.get('Fiscal year to'))}"
    if r.get("status") == "not on file":
        if is_missing(r.get("Revenue (USD)")):
            return "Not on file: revenue of the scoring year."
        return f"Not on file: funds buyers ({r['Financed buyers']}) in {year} with undisclosed amounts."
    if n == 0:
        return f"Committed no funding to its own customers in the fiscal year {year}."
    return (f"Funded buyers {r['Financed buyers']} with {money(r['Vendor financing (USD)'])} in {year}, "
            f"{pct(r['value'])} of that year's revenue {money(r['Revenue (USD)'])}.")


def on_cycle(ctx: Context) -> pd.DataFrame:
    """(d) Number of financing cycles (length <= 6) through the company, as of its information date (count).

    Points: 1 for none, falling linearly to 0 at 10 or more. Pass: on no cycle.
    When the bounded cycle search stopped early the count is a lower bound (said
    so). Absent from the loop data: not applicable.
    """
    if ctx.loop is None:
        return _nan(ctx)
    x = _inputs(ctx)
    n = x["cycle_count"].astype(float)
    return _frame(ctx.index, n, _ramp(n, 10.0, 0.0), n == 0, x["present"], **{
        "Cycles": n, "Lower bound": x["cycles_truncated"], "As of": x["info_date"]})


def _explain_cycle(r: Mapping, cur: str) -> str:
    if r.get("status") == "n.a.":
        return NOT_IN_LOOP
    n = _count(r.get("value"))
    if n == 0:
        return "On no financing cycle."
    bound = "at least " if r.get("Lower bound") is True else ""
    return (f"On {bound}{n} financing cycle(s) of up to {MAX_CYCLE_LENGTH} parties: money it pays out comes back "
            f"as revenue.")


def counterparty_quality(ctx: Context) -> pd.DataFrame:
    """(e) Private counterparties: the larger of revenue in the fiscal year from private payers / that year's
    revenue and private contracts still to run / backlog at the backlog date (%).

    Private players (OpenAI, Anthropic, xAI, Stargate, ...) publish no audited
    accounts and fund their commitments from new capital. Adding a deal with a
    listed company never improves the figure (it is measured against revenue
    and backlog, not against other loop inflows). Undisclosed private amounts
    leave it undetermined (0 points). Points: 1 at 0% falling to 0 at 30%.
    Pass: <= 10%. Absent from the loop data: not applicable.
    """
    return _worst_of(ctx, _counterparty_quality)


def _counterparty_quality(ctx: Context, x: pd.DataFrame) -> pd.DataFrame:
    rev = x["revenue_usd"]
    in_year = F.safe_divide(x["private_in_year_usd"], rev).where(~x["private_in_year_usd"].eq(0), 0.0)
    in_year = pd.concat([in_year, x["disclosed_private_share"]], axis=1).max(axis=1, skipna=True)
    backlog = x["backlog_usd"]
    forward = F.safe_divide(x["private_outstanding_usd"], backlog).where(~x["private_outstanding_usd"].eq(0), 0.0)
    share = pd.concat([in_year, forward], axis=1).max(axis=1, skipna=True)
    determined = (x["unknown_private_in_year"].eq(0) | x["disclosed_private_share"].notna()) \
        & x["unknown_private_outstanding"].eq(0) & forward.notna()
    points = _ramp(share, 0.30, 0.0)
    points = points.where(determined, np.where(share > 0.10, 0.0, np.nan))
    return _frame(ctx.index, share, points, share <= 0.10, x["present"], **{
        "Private revenue in the year (USD)": x["private_in_year_usd"], "Revenue (USD)": rev,
        "Private share of revenue": in_year, "Private contracts outstanding (USD)": x["private_outstanding_usd"],
        "Backlog (USD)": backlog, "Backlog date": x["backlog_date"], "Private share of backlog": forward,
        "Undisclosed private": x["unknown_private_in_year"] + x["unknown_private_outstanding"]})


def _explain_cpq(r: Mapping, cur: str) -> str:
    if r.get("status") == "n.a.":
        return NOT_IN_LOOP
    if r.get("status") == "not on file":
        if is_missing(r.get("Backlog (USD)")) and not is_missing(r.get("Private contracts outstanding (USD)")) \
                and r["Private contracts outstanding (USD)"] > 0:
            return (f"Not on file: private contracts still to run ({money(r['Private contracts outstanding (USD)'])}) "
                    f"but no backlog disclosed to compare them with.")
        return f"Not on file: {_count(r.get('Undisclosed private'))} private-counterparty deal(s) without an amount."
    if is_missing(r.get("value")) or r["value"] == 0:
        return "No revenue or backlog from private, unaudited counterparties."
    parts = [f"{pct(r.get('Private share of revenue'))} of the year's revenue"]
    if not is_missing(r.get("Private share of backlog")) and r["Private share of backlog"] > 0:
        parts.append(f"{pct(r['Private share of backlog'])} of the {money(r['Backlog (USD)'])} backlog "
                     f"({_date(r.get('Backlog date'))})")
    return "From private, unaudited counterparties: " + " and ".join(parts) + "."


LE = "loop_exposure"
for _check in (
    Check("loop_revenue_share", LE, "Loop revenue share", "percent", "< 20% of revenue",
          "loop inflows falling in the fiscal year (amount / term, pro rata) / that year's revenue, "
          "or the disclosed customer share of that year",
          "Customer-concentration disclosure (ASC 280-10-50-42)",
          "How much of the fiscal year's revenue came from players inside the circular-financing web.",
          loop_revenue_share, _explain_loop_rev),
    Check("backlog_concentration", LE, "Backlog concentration", "percent", "<= 25% of backlog",
          "max(largest disclosed counterparty share of RPO, loop contracts still to run / RPO), at the RPO date",
          "RPO disclosure (ASC 606-10-50-13)",
          "How much of the order book depends on one counterparty or on the loop.",
          backlog_concentration, _explain_backlog),
    Check("vendor_financing", LE, "Vendor financing", "percent", "<= 10% of revenue",
          "funding committed to buyers in the fiscal year / that year's revenue",
          "Vendor-financing red flag (telecom bubble, 2000)",
          "Whether the company funds the customers that buy from it.",
          vendor_financing, _explain_vendor),
    Check("on_cycle", LE, "On a financing cycle", "count", "none",
          "number of simple directed cycles (length <= 6) through the company, as of the information date",
          "Circular-financing analysis (bounded largest-first cycle search)",
          "Whether money paid out by the company flows back to it through the loop.",
          on_cycle, _explain_cycle),
    Check("counterparty_quality", LE, "Private counterparties", "percent", "<= 10% of revenue and of backlog",
          "max(private revenue in the year / revenue, private contracts still to run / backlog)",
          "Counterparty-risk analysis",
          "How much of revenue and backlog is promised by private, unaudited (typically cash-burning) players.",
          counterparty_quality, _explain_cpq),
):
    register(_check)


# =========================================================================== stress test

STRESS_FIELDS = [F.REVENUE, F.GROSS_PROFIT, F.OPERATING_INCOME, F.EBIT, F.EBITDA, F.OCF, F.FCF]
#: checks that measure history, not one year's earnings: held at their pre-stress result
STRESS_HELD_CHECKS = ("gross_margin_stability",)


def lost_revenue(ctx: Context, counterparty: str, honoured: float) -> pd.DataFrame:
    """Revenue each company loses in its scoring fiscal year if ``counterparty`` honours only ``honoured`` (0–1).

    Revenue from the counterparty in that year = the larger of (a) its deals'
    counted inflows falling inside the fiscal year (period-true; low-confidence
    amounts only when the loop context counts them) and (b) a disclosed share
    of that fiscal year's revenue from it × revenue. Contracts that run after the
    year put nothing into it (shown as ``to_run_after_usd``). Lost = (1 −
    honoured) × that, at most the revenue; a deal running in the year without a
    counted amount makes the figure a lower bound (``quantified`` False, with
    ``reason``). Amounts are USD; ``lost_local`` is in the reporting currency.
    """
    honoured = float(min(1.0, max(0.0, honoured)))
    lc: LoopContext = ctx.loop
    keys = _keys(ctx)
    idx = keys.index
    runs = _deal_runs(lc.deals, lc.include_low)
    runs = runs[runs["payer"] == counterparty]
    p = _pairs(keys, runs, "payee")
    y = _in_year(p)
    known = _sum(y["contrib"], p["key"], idx)
    unknown = _sum(y["unknown"].astype(int), p["key"], idx)
    after = _sum(_outstanding(p, p["fy_end"])["value"], p["key"], idx)
    exposed_deals = _sum(pd.Series(1, index=p.index), p["key"], idx)
    conc = dated_concentration(ctx)
    rows = conc[conc["metric"].isin(REVENUE_SHARE_METRICS) & (conc["unit"] == "percent") & conc["value"].notna()
                & (conc["counterparty"] == counterparty)]
    fy = "FY" + keys["fiscal_year"].astype("Int64").astype(str)
    share = pd.Series({k: rows[(rows["ticker"] == t) & (rows["period"] == f)]["value"].sum() / 100.0
                       for k, t, f in zip(idx, keys["ticker"], fy)
                       if not rows[(rows["ticker"] == t) & (rows["period"] == f)].empty}, dtype=float).reindex(idx)
    disclosed_any = keys["ticker"].isin(set(rows["ticker"]))
    rev_usd = keys["revenue_usd"]
    annual_usd = pd.concat([known.where(exposed_deals > 0), share * rev_usd], axis=1).max(axis=1, skipna=True)
    quantified = (unknown.eq(0) | share.notna()) & rev_usd.notna()
    lost_usd = ((1 - honoured) * annual_usd).clip(upper=rev_usd.where(rev_usd > 0))
    reason = pd.Series("", index=idx, dtype=object)
    reason[rev_usd.isna()] = "revenue of the scoring year not on file"
    reason[~quantified & rev_usd.notna()] = [
        f"{int(n)} deal(s) in the fiscal year without a counted amount: the loss shown is a lower bound"
        for n in unknown[~quantified & rev_usd.notna()]]
    none_in_year = (exposed_deals > 0) & annual_usd.fillna(0).eq(0) & quantified
    reason[none_in_year] = "no revenue from this counterparty falls in the scoring fiscal year"
    fx = ctx.companies["fx_usd"]
    return pd.DataFrame({
        "exposed": (exposed_deals > 0) | disclosed_any,
        "annual_from_counterparty_usd": annual_usd,
        "lost_usd": lost_usd,
        "lost_local": lost_usd / fx,
        "quantified": quantified,
        "to_run_after_usd": after.where(exposed_deals > 0),
        "reason": reason,
    }, index=idx)


def stressed_trailing(trailing: pd.DataFrame | None, lost_local: pd.Series) -> pd.DataFrame | None:
    """Trailing rows with each company's TTM revenue and profit lines cut by ``lost_local`` (see
    :func:`stressed_statements`)."""
    if trailing is None or trailing.empty:
        return trailing
    lost = lost_local.dropna()
    lost = lost[lost > 0]
    if lost.empty:
        return trailing
    s = trailing.copy()
    hit = s["ticker"].isin(lost.index) & s["field"].isin(STRESS_FIELDS) & (s["statement"] == "ttm")
    s.loc[hit, "value"] = s.loc[hit, "value"] - s.loc[hit, "ticker"].map(lost).to_numpy()
    return s


def stressed_statements(statements: pd.DataFrame, latest: pd.DataFrame, lost_local: pd.Series) -> pd.DataFrame:
    """Statements with the scoring year's revenue and profit lines cut by ``lost_local``.

    Lost revenue comes off Total Revenue, Gross Profit, Operating Income, EBIT,
    EBITDA, Operating Cash Flow and Free Cash Flow one for one (costs fixed in
    the short run: a deliberately severe stress). Only lines that are reported
    are changed; nothing is added.
    """
    lost = lost_local.dropna()
    lost = lost[lost > 0]
    if lost.empty:
        return statements
    years = latest["fiscal_year"].reindex(lost.index)
    key = pd.MultiIndex.from_arrays([lost.index, years.astype(int)])
    s = statements.copy()
    row_key = pd.MultiIndex.from_arrays([s["ticker"], s["fiscal_year"]])
    hit = row_key.isin(key) & s["field"].isin(STRESS_FIELDS)
    s.loc[hit, "value"] = s.loc[hit, "value"] - s.loc[hit, "ticker"].map(lost).to_numpy()
    return s
