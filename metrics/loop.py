"""The circular-financing graph, its cycles, the loop-exposure checks and the stress test.

Graph: a networkx ``DiGraph`` of money flows, payer -> payee. Several deals
between the same pair are one edge carrying the list of deals. An edge's
dollars are the sum of its *counted* deals' disclosed amounts: deals flagged
"excluded" (terminated, not executed, stake valuations) never form an edge;
"low"-confidence amounts (unconfirmed, estimated) are shown but only counted
when the user asks for it. An as-of date keeps the deals announced on or before
it (a deal dated by month or year counts from the first day of that period).

Cycles: every simple directed cycle up to length 6 (``nx.simple_cycles`` with
``length_bound``). A cycle carries the dollars of its smallest edge; if any
edge's amount is undisclosed, the cycle's dollars are undisclosed too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd

from metrics import financials as F
from metrics.checks import Check, Context, _frame, _ramp, register
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


def find_cycles(g: nx.DiGraph, max_length: int = MAX_CYCLE_LENGTH) -> list[Cycle]:
    """All simple directed cycles of length <= ``max_length``, each rotated to start at its smallest node.

    Sorted by dollars carried (undisclosed last), then length.
    """
    out: list[Cycle] = []
    for nodes in nx.simple_cycles(g, length_bound=max_length):
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

    def cycles_of(self, node: str) -> list[Cycle]:
        return [c for c in self.cycles if node in c.nodes]


def loop_context(deals: pd.DataFrame, concentration: pd.DataFrame, listed: set[str],
                 as_of: pd.Timestamp | str | None = None, include_low: bool = False) -> LoopContext:
    """Filter by date, build the graph and find its cycles."""
    d = filter_as_of(deals, as_of)
    g = build_graph(d, include_low)
    return LoopContext(d, concentration, g, find_cycles(g), set(listed), include_low)


def _latest_disclosure(conc: pd.DataFrame, metrics: tuple[str, ...]) -> pd.DataFrame:
    rows = conc[conc["metric"].isin(metrics) & conc["value"].notna() & (conc["unit"] == "percent")]
    return rows


def exposure_inputs(ctx: Context) -> pd.DataFrame:
    """Per ticker: annualised loop inflows, private share, vendor financing, cycles, disclosed shares.

    Revenue is converted to USD with ``fx_usd``; deals are in USD already.
    """
    lc: LoopContext = ctx.loop
    idx = ctx.index
    d = lc.deals[lc.deals["confidence"] != "excluded"]
    cnt = counted(d, lc.include_low)
    nodes = set(lc.graph.nodes)
    rev_deals = d[d["flow"].isin(REVENUE_FLOWS)]
    term = pd.to_numeric(rev_deals["term_years"], errors="coerce")
    annual = (pd.to_numeric(rev_deals["amount_usd"], errors="coerce") / term.where(term > 0))  # annualised_amount, vectorised
    annual = annual.where(cnt.reindex(rev_deals.index, fill_value=False))
    rev_deals = rev_deals.assign(annual_usd=annual)
    inflow_annual = rev_deals.groupby("payee")["annual_usd"].sum(min_count=1)
    pe = pd.to_datetime(ctx.companies["period_end"], errors="coerce").reindex(idx)
    in_year, running = inflows_in_fiscal_year(rev_deals, pe)
    backlog = _latest_backlog(lc.concentration, idx)
    outstanding = outstanding_at(rev_deals, backlog["backlog_date"])
    headline = rev_deals.assign(amt=rev_deals["amount_usd"].where(cnt.reindex(rev_deals.index, fill_value=False)))
    inflow_total = headline.groupby("payee")["amt"].sum(min_count=1)
    private = headline[~headline["payer"].isin(lc.listed)]
    inflow_private = private.groupby("payee")["amt"].sum(min_count=1)
    n_inflow_deals = rev_deals.groupby("payee").size()

    # disclosed revenue share from loop counterparties, for the company's scoring fiscal year only
    conc = _latest_disclosure(lc.concentration, REVENUE_SHARE_METRICS)
    conc = conc[conc["counterparty"].isin(nodes)]
    fy_label = ("FY" + ctx.companies["fiscal_year"].astype("Int64").astype("string")).reindex(idx)
    disclosed_rev = {}
    for t, grp in conc.groupby("ticker"):
        if t not in fy_label.index or pd.isna(fy_label[t]):
            continue
        sub = grp[grp["period"] == fy_label[t]]
        if sub.empty:
            continue
        disclosed_rev[t] = (float(sub["value"].sum()) / 100.0, fy_label[t], ", ".join(sub["counterparty"]),
                            "; ".join(sub["source"]))
    bconc = _latest_disclosure(lc.concentration, BACKLOG_SHARE_METRICS)
    disclosed_backlog = {}
    for t, grp in bconc.groupby("ticker"):
        latest_period = sorted(grp["period"])[-1]
        sub = grp[grp["period"] == latest_period]
        row = sub.loc[sub["value"].idxmax()]
        disclosed_backlog[t] = (float(row["value"]) / 100.0, latest_period, str(row["counterparty"]),
                                str(row["source"]), str(row.get("note") or ""))

    # vendor financing: company funds a counterparty that buys from it
    fin = d[d["flow"].isin(FINANCING_FLOWS)]
    buyers = set(zip(rev_deals["payer"], rev_deals["payee"]))  # (buyer, seller)
    vf = fin[[ (r.payee, r.payer) in buyers for r in fin.itertuples()]] if len(fin) else fin
    vf_amt = vf.assign(amt=vf["amount_usd"].where(cnt.reindex(vf.index, fill_value=False))) if len(vf) else vf.assign(amt=[])
    vendor_total = vf_amt.groupby("payer")["amt"].sum(min_count=1) if len(vf_amt) else pd.Series(dtype=float)
    vendor_n = vf_amt.groupby("payer").size() if len(vf_amt) else pd.Series(dtype=float)
    vendor_names = vf_amt.groupby("payer")["payee"].agg(lambda s: ", ".join(sorted(set(s)))) if len(vf_amt) else pd.Series(dtype=str)

    out = pd.DataFrame(index=idx)
    out["in_graph"] = [t in nodes for t in idx]
    out["inflow_annual_usd"] = inflow_annual.reindex(idx)
    out["inflow_in_year_usd"] = in_year.reindex(idx)
    out["deals_running_in_year"] = running.reindex(idx).fillna(0)
    out["period_start"] = pe - pd.Timedelta(days=364)
    out["period_end"] = pe
    out = out.join(backlog)
    out["loop_outstanding_usd"] = outstanding.reindex(idx)
    out["inflow_total_usd"] = inflow_total.reindex(idx)
    out["inflow_private_usd"] = inflow_private.reindex(idx)
    out["inflow_deals"] = n_inflow_deals.reindex(idx).fillna(0)
    out["disclosed_revenue_share"] = [disclosed_rev.get(t, (np.nan,))[0] for t in idx]
    out["disclosed_revenue_period"] = [disclosed_rev.get(t, (None, None))[1] for t in idx]
    out["disclosed_revenue_counterparties"] = [disclosed_rev.get(t, (None, None, None))[2] for t in idx]
    out["disclosed_revenue_source"] = [disclosed_rev.get(t, (None, None, None, None))[3] for t in idx]
    out["backlog_share"] = [disclosed_backlog.get(t, (np.nan,))[0] for t in idx]
    out["backlog_period"] = [disclosed_backlog.get(t, (None, None))[1] for t in idx]
    out["backlog_counterparty"] = [disclosed_backlog.get(t, (None, None, None))[2] for t in idx]
    out["backlog_source"] = [disclosed_backlog.get(t, (None,) * 4)[3] for t in idx]
    out["vendor_financing_usd"] = vendor_total.reindex(idx)
    out["vendor_financing_deals"] = vendor_n.reindex(idx).fillna(0)
    out["vendor_financing_to"] = vendor_names.reindex(idx)
    out["cycle_count"] = [len(lc.cycles_of(t)) for t in idx]
    out["revenue_usd"] = ctx.latest_col(F.REVENUE) * ctx.companies["fx_usd"]
    return out


def _runs(deals: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Start and end of each deal's run: from its announcement for ``term_years`` (NaT without a term)."""
    start = pd.to_datetime(deals["announced_date"])
    days = (pd.to_numeric(deals["term_years"], errors="coerce") * 365.25).round()
    end = start + pd.to_timedelta(days, unit="D")
    return start, end


def inflows_in_fiscal_year(rev_deals: pd.DataFrame, period_end: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Per payee: loop inflows that fall in its fiscal year (USD), and how many deals ran in that year.

    A deal with amount A and term T years pays A / T a year from its announcement
    for T years; the part of that run inside the fiscal year (period end − 365
    days, period end] (365 days, the period-end day included) is counted, pro rata by days. Deals without a counted
    amount or a term cannot be placed in time and are left out (the share is a
    lower bound). ``period_end``: the payee's scoring-year period end.
    """
    if rev_deals.empty:
        empty = pd.Series(dtype=float)
        return empty, empty
    start, end = _runs(rev_deals)
    year_end = rev_deals["payee"].map(period_end) + pd.Timedelta(days=1)  # the period end day is inside the year
    year_start = year_end - pd.Timedelta(days=365)
    overlap = (end.where(end < year_end, year_end) - start.where(start > year_start, year_start)).dt.days.clip(lower=0)
    inflow = rev_deals["annual_usd"] * overlap / 365.0
    running = (overlap > 0) & inflow.notna()
    return inflow.where(running).groupby(rev_deals["payee"]).sum(min_count=1), running.groupby(rev_deals["payee"]).sum()


def outstanding_at(rev_deals: pd.DataFrame, when: pd.Series) -> pd.Series:
    """Per payee: contracted loop value not yet earned at date ``when[payee]`` (USD, straight-line)."""
    if rev_deals.empty or when.dropna().empty:
        return pd.Series(dtype=float)
    start, end = _runs(rev_deals)
    at = rev_deals["payee"].map(when)
    left = ((end - at.where(at > start, start)).dt.days.clip(lower=0) / (end - start).dt.days)
    value = rev_deals["amount_usd"].where(rev_deals["annual_usd"].notna()) * left.where(start <= at)
    return value.groupby(rev_deals["payee"]).sum(min_count=1)


def _latest_backlog(conc: pd.DataFrame, idx: pd.Index) -> pd.DataFrame:
    """Latest disclosed total backlog / RPO per ticker (USD) with its date and source."""
    metrics = ("remaining_performance_obligations", "revenue_backlog", "commercial_remaining_performance_obligations")
    rows = conc[conc["metric"].isin(metrics) & (conc["unit"] == "USD") & conc["value"].notna()].copy()
    rows["date"] = pd.to_datetime(rows["period"], errors="coerce")
    rows = rows.dropna(subset=["date"]).sort_values("date").drop_duplicates("ticker", keep="last").set_index("ticker")
    return pd.DataFrame({"backlog_usd": pd.to_numeric(rows["value"]).reindex(idx),
                         "backlog_date": rows["date"].reindex(idx), "backlog_source": rows["source"].reindex(idx)},
                        index=idx)


def _inputs(ctx: Context) -> pd.DataFrame:
    key = "loop_inputs"
    if key not in ctx.extra:
        ctx.extra[key] = exposure_inputs(ctx)
    return ctx.extra[key]


def _nan(ctx: Context) -> pd.DataFrame:
    nan = pd.Series(np.nan, index=ctx.index)
    return _frame(ctx.index, nan, nan, nan)


def loop_revenue_share(ctx: Context) -> pd.DataFrame:
    """(a) Loop revenue share = loop inflows falling in the scoring fiscal year / that year's revenue (%).

    Period-true: a deal pays amount / term a year from its announcement for its
    term, and only the part of its run inside the fiscal year counts
    (:func:`inflows_in_fiscal_year`); contracts that start later are compared
    with backlog (RPO), never with this year's revenue. Where a disclosed share
    of the same fiscal year's revenue from named loop counterparties exists, the
    larger of the two is used. Nothing is capped: a share above 100% is shown
    as such. No inflow deals: 0. Deals without amount or term cannot be placed
    in time (the share is then a lower bound; if none can, n.a.). Points: 1 at
    <= 5% falling to 0 at >= 50%. Pass: < 20%. Revenue missing or <= 0: n.a.
    """
    if ctx.loop is None:
        return _nan(ctx)
    x = _inputs(ctx)
    rev = x["revenue_usd"]
    no_deals = x["inflow_deals"] == 0
    dated = x["inflow_annual_usd"].notna()  # some deal has amount and term: its run can be placed in time
    in_year = x["inflow_in_year_usd"].where(~dated | x["inflow_in_year_usd"].notna(), 0.0)
    in_year = in_year.where(~no_deals, 0.0)
    share_deals = F.safe_divide(in_year, rev)
    share = pd.concat([share_deals, x["disclosed_revenue_share"]], axis=1).max(axis=1, skipna=True)
    share = share.where(rev.gt(0) | x["disclosed_revenue_share"].notna())
    backlog_share = F.safe_divide(x["loop_outstanding_usd"], x["backlog_usd"])
    return _frame(ctx.index, share, _ramp(share, 0.50, 0.05), share < 0.20, **{
        "Loop inflows in the fiscal year (USD)": in_year, "Revenue (USD)": rev,
        "Fiscal year from": x["period_start"], "Fiscal year to": x["period_end"],
        "Deals running in the year": x["deals_running_in_year"],
        "Share from deals": share_deals, "Disclosed share of revenue": x["disclosed_revenue_share"],
        "Disclosure period": x["disclosed_revenue_period"], "Disclosed counterparties": x["disclosed_revenue_counterparties"],
        "Disclosure source": x["disclosed_revenue_source"], "Inflow deals": x["inflow_deals"],
        "Loop contracts outstanding (USD)": x["loop_outstanding_usd"], "Backlog (USD)": x["backlog_usd"],
        "Backlog date": x["backlog_date"], "Loop share of backlog": backlog_share})


def _date(x) -> str:
    return "n.a." if x is None or pd.isna(x) else pd.Timestamp(x).strftime("%b %Y")


def _count(x) -> int:
    """A count from a check row; missing (None or NaN, e.g. without loop data) counts as 0."""
    return 0 if is_missing(x) else int(x)


def _explain_loop_rev(r: Mapping, cur: str) -> str:
    n = _count(r.get("Inflow deals"))
    if is_missing(r.get("value")):
        if n and not is_missing(r.get("Revenue (USD)")):
            return f"{n} loop revenue deal(s), none with both amount and term: cannot be placed in a fiscal year."
        return "Not computable: revenue not reported and no disclosed customer share for the scoring year."
    year = f"the fiscal year {_date(r.get('Fiscal year from'))}–{_date(r.get('Fiscal year to'))}"
    parts = []
    if n:
        running = _count(r.get("Deals running in the year"))
        parts.append(f"{running} of {n} loop deal(s) ran in {year}, bringing "
                     f"{money(r.get('Loop inflows in the fiscal year (USD)'))} vs revenue {money(r.get('Revenue (USD)'))}")
    if not is_missing(r.get("Disclosed share of revenue")):
        parts.append(f"disclosed {pct(r['Disclosed share of revenue'], 0)} of {r['Disclosure period']} revenue from "
                     f"{r['Disclosed counterparties']}")
    if not parts:
        return "No revenue deals with loop counterparties in the data set."
    text = f"Loop revenue share {pct(r['value'])}: " + "; ".join(parts) + "."
    if not is_missing(r.get("Loop share of backlog")):
        text += (f" Contracts still to run: {money(r['Loop contracts outstanding (USD)'])}, "
                 f"{pct(r['Loop share of backlog'], 0)} of the {money(r['Backlog (USD)'])} backlog ({_date(r['Backlog date'])}).")
    return text


def backlog_concentration(ctx: Context) -> pd.DataFrame:
    """(b) Largest disclosed share of backlog (RPO) from one counterparty (%).

    From concentration disclosures (share_of_rpo, share_of_commercial_rpo,
    share_of_backlog; latest period). Points: 1 at <= 10% falling to 0 at >= 60%.
    Pass: <= 25%. Not disclosed: n.a.
    """
    if ctx.loop is None:
        return _nan(ctx)
    x = _inputs(ctx)
    s = x["backlog_share"]
    return _frame(ctx.index, s, _ramp(s, 0.60, 0.10), s <= 0.25, **{
        "Counterparty": x["backlog_counterparty"], "Period": x["backlog_period"], "Source": x["backlog_source"]})


def _explain_backlog(r: Mapping, cur: str) -> str:
    if is_missing(r.get("value")):
        return "No backlog (RPO) concentration disclosed."
    return f"{r['Counterparty']} accounts for {pct(r['value'], 0)} of backlog ({r['Period']})."


def vendor_financing(ctx: Context) -> pd.DataFrame:
    """(c) Vendor financing = funding given to counterparties that buy from the company / revenue (%).

    Funding = counted equity investments, warrants, loans/leases, backstops and
    JV commitments paid to a party that also pays the company under a revenue
    deal. No such deal: 0 (pass). Points: 1 at 0% falling to 0 at >= 50% of
    revenue. Pass: <= 10%. Funding with undisclosed amounts, or no revenue: n.a.
    """
    if ctx.loop is None:
        return _nan(ctx)
    x = _inputs(ctx)
    rev = x["revenue_usd"]
    amt = x["vendor_financing_usd"]
    has = x["vendor_financing_deals"] > 0
    ratio = F.safe_divide(amt.fillna(0.0), rev).where(~has | amt.notna())
    return _frame(ctx.index, ratio, _ramp(ratio, 0.50, 0.0), ratio <= 0.10, **{
        "Vendor financing (USD)": amt, "Financed buyers": x["vendor_financing_to"], "Revenue (USD)": rev,
        "Financing deals": x["vendor_financing_deals"]})


def _explain_vendor(r: Mapping, cur: str) -> str:
    n = _count(r.get("Financing deals"))
    if is_missing(r.get("value")):
        if n and is_missing(r.get("Vendor financing (USD)")):
            return f"Funds buyers ({r['Financed buyers']}) with undisclosed amounts."
        return "Not computable: revenue not reported."
    if n == 0:
        return "Does not fund its own customers in the loop data set."
    return (f"Funds buyers {r['Financed buyers']} with {money(r['Vendor financing (USD)'])}, "
            f"{pct(r['value'])} of revenue {money(r['Revenue (USD)'])}.")


def on_cycle(ctx: Context) -> pd.DataFrame:
    """(d) Number of financing cycles (length <= 6) through the company (count).

    Points: 1 for none, falling linearly to 0 at 10 or more. Pass: on no cycle.
    """
    if ctx.loop is None:
        return _nan(ctx)
    x = _inputs(ctx)
    n = x["cycle_count"].astype(float)
    return _frame(ctx.index, n, _ramp(n, 10.0, 0.0), n == 0, **{"Cycles": n, "In loop graph": x["in_graph"]})


def _explain_cycle(r: Mapping, cur: str) -> str:
    n = _count(r.get("value"))
    if n == 0:
        return "On no financing cycle." if r.get("In loop graph") else "Not part of the loop graph."
    return f"On {n} financing cycle(s) of up to {MAX_CYCLE_LENGTH} parties: money it pays out comes back as revenue."


def counterparty_quality(ctx: Context) -> pd.DataFrame:
    """(e) Share of loop inflows from private counterparties (%).

    Private players (OpenAI, Anthropic, xAI, Stargate, ...) publish no audited
    accounts and fund their commitments from new capital. Share = Σ counted
    inflow amounts from private payers / Σ counted inflow amounts. Points: 1 at
    0% falling to 0 at 100%. Pass: <= 25%. No inflow deals: 0 (pass); inflows
    with no disclosed amount: n.a.
    """
    if ctx.loop is None:
        return _nan(ctx)
    x = _inputs(ctx)
    total, priv = x["inflow_total_usd"], x["inflow_private_usd"].fillna(0.0)
    share = F.safe_divide(priv, total)
    none = x["inflow_deals"] == 0
    share = share.where(~none, 0.0)
    return _frame(ctx.index, share, _ramp(share, 1.0, 0.0), share <= 0.25, **{
        "Inflows from private parties (USD)": x["inflow_private_usd"], "All loop inflows (USD)": total,
        "Inflow deals": x["inflow_deals"]})


def _explain_cpq(r: Mapping, cur: str) -> str:
    if _count(r.get("Inflow deals")) == 0:
        return "No loop inflows to depend on."
    if is_missing(r.get("value")):
        return "Loop inflows have no disclosed amounts."
    return (f"{pct(r['value'])} of disclosed loop inflows ({money(r['All loop inflows (USD)'])}) come from private, "
            f"unaudited counterparties.")


LE = "loop_exposure"
for _check in (
    Check("loop_revenue_share", LE, "Loop revenue share", "percent", "< 20% of revenue",
          "loop inflows falling in the fiscal year (amount / term, pro rata) / that year's revenue, "
          "or the disclosed customer share of that year",
          "Customer-concentration disclosure (ASC 280-10-50-42)",
          "How much of revenue comes from players inside the circular-financing web.",
          loop_revenue_share, _explain_loop_rev),
    Check("backlog_concentration", LE, "Backlog concentration", "percent", "<= 25% from one counterparty",
          "largest disclosed counterparty share of RPO/backlog", "RPO disclosure (ASC 606-10-50-13)",
          "How much of the order book depends on one counterparty.",
          backlog_concentration, _explain_backlog),
    Check("vendor_financing", LE, "Vendor financing", "percent", "<= 10% of revenue",
          "funding given to buyers / revenue", "Vendor-financing red flag (telecom bubble, 2000)",
          "Whether the company funds the customers that buy from it.",
          vendor_financing, _explain_vendor),
    Check("on_cycle", LE, "On a financing cycle", "count", "none",
          "number of simple directed cycles (length <= 6) through the company",
          "Circular-financing analysis (networkx simple_cycles)",
          "Whether money paid out by the company flows back to it through the loop.",
          on_cycle, _explain_cycle),
    Check("counterparty_quality", LE, "Counterparty quality", "percent", "<= 25% from private counterparties",
          "inflows from private payers / all loop inflows", "Counterparty-risk analysis",
          "Share of loop inflows promised by private, unaudited (typically cash-burning) players.",
          counterparty_quality, _explain_cpq),
):
    register(_check)


# =========================================================================== stress test

STRESS_FIELDS = [F.REVENUE, F.GROSS_PROFIT, F.OPERATING_INCOME, F.EBIT, F.EBITDA, F.OCF, F.FCF]
#: checks that measure history, not one year's earnings: held at their pre-stress result
STRESS_HELD_CHECKS = ("gross_margin_stability",)


def lost_revenue(ctx: Context, counterparty: str, honoured: float) -> pd.DataFrame:
    """Annual revenue each company loses if ``counterparty`` honours only ``honoured`` (0–1) of its commitments.

    Annual revenue from the counterparty = the larger of (a) Σ amount / term of
    its revenue deals (low-confidence amounts included: this is a scenario) with the company and (b) a disclosed share of
    revenue from it × latest revenue. Lost = (1 − honoured) × that, at most the
    revenue. Amounts are USD; ``lost_local`` is in the reporting currency.
    """
    honoured = float(min(1.0, max(0.0, honoured)))
    lc: LoopContext = ctx.loop
    idx = ctx.index
    d = lc.deals[(lc.deals["payer"] == counterparty) & lc.deals["flow"].isin(REVENUE_FLOWS)
                 & (lc.deals["confidence"] != "excluded")]
    cnt = counted(d, include_low=True)  # a stress scenario reads reported-but-unconfirmed amounts too
    annual = pd.Series([annualised_amount(a, t) if c else np.nan
                        for a, t, c in zip(d["amount_usd"], d["term_years"], cnt)], index=d.index, dtype=float)
    from_deals = annual.groupby(d["payee"]).sum(min_count=1).reindex(idx)
    exposed_deals = d.groupby("payee").size().reindex(idx).fillna(0)
    conc = _latest_disclosure(lc.concentration, REVENUE_SHARE_METRICS)
    conc = conc[conc["counterparty"] == counterparty]
    disclosed = pd.Series(np.nan, index=idx)
    for t, grp in conc.groupby("ticker"):
        if t in idx:
            disclosed[t] = float(grp.sort_values("period").iloc[-1]["value"]) / 100.0
    rev_local = ctx.latest_col(F.REVENUE)
    fx = ctx.companies["fx_usd"]
    rev_usd = rev_local * fx
    from_disclosure = disclosed * rev_usd
    annual_usd = pd.concat([from_deals, from_disclosure], axis=1).max(axis=1, skipna=True)
    lost_usd = ((1 - honoured) * annual_usd).clip(upper=rev_usd.where(rev_usd > 0))
    out = pd.DataFrame({
        "exposed": (exposed_deals > 0) | disclosed.notna(),
        "annual_from_counterparty_usd": annual_usd,
        "lost_usd": lost_usd,
        "lost_local": lost_usd / fx,
        "quantified": annual_usd.notna() & rev_usd.notna(),
    }, index=idx)
    return out


def stressed_statements(statements: pd.DataFrame, latest: pd.DataFrame, lost_local: pd.Series) -> pd.DataFrame:
    """Statements with the latest year's revenue and profit lines cut by ``lost_local``.

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
