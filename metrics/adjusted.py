"""Debt as reported -> adjusted: the commitments of the AI build-out next to the balance sheet.

Rating agencies add leases to debt; the AI build-out adds more that never
reaches the balance sheet: data-centre leases signed but not yet commenced,
purchase obligations, capacity backstops given to neoclouds, SPV financing of
data centres. Each is a sourced row of ``data/commitments.csv`` (``ticker,
as_of, kind, item, amount, currency, source, basis, note``).

Rules (also on the Methodology page):

* period-true: only disclosures dated on or before the scored year's
  balance-sheet date count, and per (company, item) the latest of them; a
  later disclosure belongs to a later balance sheet and is shown as such,
  never scored; a figure read only in an unverified post is shown, never counted;
* leases signed but not yet commenced count only when dated no earlier than
  the lease liabilities counted (an older figure would double count leases
  that have since commenced);
* adjusted debt = Total Debt (reported, or derived from its parts) + every
  counted commitment; adjusted net debt = adjusted debt − cash and short-term
  investments; both in the reporting currency (a commitment in another
  currency is not converted and not counted);
* adjusted net debt / EBITDA uses its own bands (an agency-style adjusted
  leverage scale): A < 2.5x (1 point), BBB 2.5–3.5x (0.75), BB 3.5–5x (0.5),
  B 5–7x (0.25), >= 7x (0); pass < 3.5x. Net cash passes. No commitments
  compiled for a company: n.a. (missing is never read as "none").

EBITDAR (leases added back) needs the operating lease cost, which is not
compiled: the card says so instead of showing a number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from metrics import financials as F
from metrics.checks import Check, Context, _frame, register
from metrics.format import is_missing, money, times

COMMITMENT_COLUMNS = ["ticker", "as_of", "kind", "item", "amount", "currency", "source", "basis", "note"]
LEASE_LIABILITY_KINDS = ("operating_lease_liability", "operating_lease_liability_current",
                         "operating_lease_liability_noncurrent", "finance_lease_liability",
                         "finance_lease_liability_current", "finance_lease_liability_noncurrent")
KIND_LABELS = {
    "operating_lease_liability": "Operating lease liabilities", "finance_lease_liability": "Finance lease liabilities",
    "lease_not_commenced": "Leases signed, not yet commenced", "purchase_commitment": "Purchase commitments",
    "guarantee": "Guarantees and backstops given", "spv_financing": "Off-balance-sheet SPV financing",
    "other_commitment": "Other build-out commitments",
}
#: (upper bound of adjusted net debt / EBITDA, band, points)
ADJUSTED_BANDS = [(2.5, "A", 1.0), (3.5, "BBB", 0.75), (5.0, "BB", 0.5), (7.0, "B", 0.25), (np.inf, "CCC or below", 0.0)]
ADJUSTED_PASS = 3.5


def kind_group(kind: str) -> str:
    """'operating_lease_liability_current' -> 'operating_lease_liability' (the bridge line it adds to)."""
    for base in ("operating_lease_liability", "finance_lease_liability"):
        if kind.startswith(base):
            return base
    return kind


def empty_commitments() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float if c == "amount" else object) for c in COMMITMENT_COLUMNS})


def select_commitments(commitments: pd.DataFrame, upto: pd.Timestamp | str | None = None) -> pd.DataFrame:
    """Every commitment row with ``counted`` (bool) and ``why`` (reason when not counted).

    Latest disclosure per (ticker, item), dated on or before ``upto`` when given.
    """
    c = commitments.copy() if not commitments.empty else empty_commitments()
    if c.empty:
        c["as_of_date"] = pd.Series(dtype="datetime64[ns]")
        c["counted"] = pd.Series(dtype=bool)
        c["why"] = pd.Series(dtype=object)
        return c
    c["as_of_date"] = pd.to_datetime(c["as_of"], errors="coerce")
    if upto is not None:
        c = c[c["as_of_date"] <= pd.Timestamp(upto)]
    c = c.sort_values(["ticker", "item", "as_of_date"])
    usable = c["basis"] != "unverified"
    latest = c[usable].groupby(["ticker", "item"])["as_of_date"].transform("max")
    c["counted"] = usable & (c["as_of_date"] == latest.reindex(c.index))
    c["why"] = np.where(~usable, "unverified source: shown, not counted",
                        np.where(c["counted"], "", "a later disclosure of the same item is counted"))
    lease_dates = c[c["counted"] & c["kind"].isin(LEASE_LIABILITY_KINDS)].groupby("ticker")["as_of_date"].max()
    liability_date = pd.to_datetime(c["ticker"].map(lease_dates.to_dict()))
    older = (c["kind"] == "lease_not_commenced") & c["counted"] & (c["as_of_date"] < liability_date)
    c.loc[older, "counted"] = False
    c.loc[older, "why"] = "older than the lease liabilities counted: those leases may have commenced since"
    return c


def adjusted_debt(ctx: Context) -> pd.DataFrame:
    """Per ticker: reported debt, counted commitments by bridge line, adjusted debt and net debt, ratio.

    Computed once per context (``ctx.derived["adjusted_debt"]``).
    """
    if "adjusted_debt" in ctx.derived:
        return ctx.derived["adjusted_debt"]
    idx = ctx.index
    sel = _selected(ctx)
    cur = ctx.companies["currency"]
    counted = sel[sel["counted"] & (sel["currency"] == sel["ticker"].map(cur))]
    counted = counted.assign(group=counted["kind"].map(kind_group))
    by_group = counted.groupby(["ticker", "group"])["amount"].sum().unstack("group")
    out = pd.DataFrame(index=idx)
    out["reported_debt"] = ctx.latest_col(F.TOTAL_DEBT)
    out["cash"] = ctx.latest_col(F.CASH)
    out["ebitda"] = ctx.latest_col(F.EBITDA_D)
    for kind in KIND_LABELS:
        out[kind] = by_group[kind].reindex(idx) if kind in by_group else np.nan
    has_any = sel.groupby("ticker").size().reindex(idx).fillna(0) > 0
    out["commitments_on_file"] = has_any
    out["commitments"] = out[list(KIND_LABELS)].sum(axis=1, min_count=1).fillna(0.0).where(has_any)
    out["adjusted_debt"] = out["reported_debt"] + out["commitments"]
    out["adjusted_net_debt"] = out["adjusted_debt"] - out["cash"]
    out["ratio"] = F.safe_divide(out["adjusted_net_debt"], out["ebitda"])
    ctx.derived["adjusted_debt"] = out
    return out


def _selected(ctx: Context) -> pd.DataFrame:
    """:func:`select_commitments` of the context's commitments, computed once per context."""
    if "commitments_selected" not in ctx.derived:
        ctx.derived["commitments_selected"] = select_commitments(
            ctx.extra.get("commitments", empty_commitments()), ctx.extra.get("commitments_upto"))
    return ctx.derived["commitments_selected"]


def adjusted_band(ratio: float) -> str:
    """Band of an adjusted net debt / EBITDA multiple ('net cash' at or below zero)."""
    if is_missing(ratio):
        return "n.a."
    if ratio <= 0:
        return "net cash"
    return next(band for upper, band, _ in ADJUSTED_BANDS if ratio < upper)


def adjusted_net_debt_to_ebitda(ctx: Context) -> pd.DataFrame:
    """Adjusted net debt / EBITDA, scoring year (multiple, x): debt plus build-out commitments.

    Adjusted net debt = Total Debt + counted commitments (leases, leases not yet
    commenced, purchase commitments, guarantees/backstops, SPV financing; see
    the module rules) − cash and short-term investments. Bands: A < 2.5x (1.0),
    BBB 2.5–3.5x (0.75), BB 3.5–5x (0.5), B 5–7x (0.25), >= 7x (0). Pass: < 3.5x.
    Net cash passes; positive adjusted net debt with EBITDA <= 0 fails. n.a.
    when no commitments are compiled for the company or total debt is missing.
    """
    a = adjusted_debt(ctx)
    ratio, nd, ebitda = a["ratio"], a["adjusted_net_debt"], a["ebitda"]
    pts = pd.Series(np.select([ratio < u for u, _, _ in ADJUSTED_BANDS], [p for _, _, p in ADJUSTED_BANDS],
                              default=np.nan), index=ratio.index).where(ratio.notna())
    net_cash = nd <= 0
    pts = pts.where(~net_cash, 1.0).where(~(nd.gt(0) & ebitda.le(0)), 0.0).where(nd.notna())
    value = ratio.where(nd.notna() & ~(nd.gt(0) & ebitda.le(0)))
    return _frame(ctx.index, value, pts, (ratio < ADJUSTED_PASS) | net_cash, **{
        "Total Debt (reported)": a["reported_debt"], "Commitments added": a["commitments"],
        "Adjusted debt": a["adjusted_debt"], F.CASH: a["cash"], "EBITDA (reported or OI + D&A)": ebitda,
        "Adjusted net debt": nd, "Commitments on file": a["commitments_on_file"]})


def _explain_adjusted(r: Mapping[str, Any], cur: str) -> str:
    if not r.get("Commitments on file"):
        return "Not computable: no leases or build-out commitments compiled for this company (not read as none)."
    nd = r.get("Adjusted net debt")
    if is_missing(nd):
        return "Not computable: total debt or cash and short-term investments not reported."
    added = f"{money(r['Total Debt (reported)'], cur)} debt + {money(r['Commitments added'], cur)} commitments"
    if nd <= 0:
        return f"Adjusted net cash {money(-nd, cur)} ({added})."
    ebitda = r.get("EBITDA (reported or OI + D&A)")
    if is_missing(ebitda) or ebitda <= 0:
        return f"Adjusted net debt {money(nd, cur)} ({added}) with EBITDA not positive."
    ratio = nd / ebitda
    return f"Adjusted net debt {money(nd, cur)} ({added}) is {times(ratio)} EBITDA (band {adjusted_band(ratio)})."


ADJUSTED_CHECK = Check(
    "adjusted_net_debt_to_ebitda", "balance_sheet", "Adjusted net debt / EBITDA", "x",
    "< 3.5x (A < 2.5x, BBB 2.5–3.5x, BB 3.5–5x, B 5–7x); net cash passes",
    "(Total Debt + leases + commitments not yet on the balance sheet − Cash & ST investments) / EBITDA",
    "Agency-style adjusted leverage (leases and debt-like commitments added)",
    "Leverage once data-centre leases, purchase commitments, backstops and SPV financing are counted as debt.",
    adjusted_net_debt_to_ebitda, _explain_adjusted, replaces="net_debt_to_ebitda", basis="adjusted")
register(ADJUSTED_CHECK)


def later_disclosures(ctx: Context, ticker: str) -> list[dict[str, Any]]:
    """Commitments of the company dated after the scoring year's balance sheet: shown, never scored (a later
    period's balance sheet)."""
    every = ctx.extra.get("commitments_all")
    if every is None or every.empty or ticker not in ctx.companies.index:
        return []
    real = ctx.tickers.get(ticker, ticker)
    pe = pd.to_datetime(ctx.companies.at[ticker, "period_end"], errors="coerce")
    rows = every[every["ticker"] == real].copy()
    rows["when"] = pd.to_datetime(rows["as_of"], errors="coerce")
    rows = rows[rows["when"] > pe].sort_values(["when", "kind"], ascending=[False, True])
    fy = ctx.companies.at[ticker, "fiscal_year"]
    why = f"disclosed after the FY{int(fy)} balance-sheet date: a later period, not scored" if not is_missing(fy) \
        else "a later period, not scored"
    return [{"line": KIND_LABELS.get(kind_group(r.kind), r.kind), "item": r.item, "as_of": r.as_of,
             "amount": float(r.amount), "currency": r.currency, "counted": False, "why_not_counted": why,
             "basis": r.basis, "source": r.source, "note": None if pd.isna(r.note) else str(r.note)}
            for r in rows.itertuples()]


def bridge(ctx: Context, ticker: str) -> dict[str, Any]:
    """The card panel 'debt as reported -> adjusted' for one company (JSON-ready), every line sourced."""
    a = adjusted_debt(ctx).loc[ticker]
    cur = ctx.companies.at[ticker, "currency"]
    sel = _selected(ctx)
    rows = sel[sel["ticker"] == ticker].sort_values(["counted", "kind", "as_of_date"], ascending=[False, True, False])
    lines = [{"line": KIND_LABELS[kind_group(r.kind)], "item": r.item, "as_of": r.as_of, "amount": float(r.amount),
              "currency": r.currency, "counted": bool(r.counted and r.currency == cur),
              "why_not_counted": (r.why or ("other currency" if r.currency != cur else "")) or None,
              "basis": r.basis, "source": r.source, "note": None if pd.isna(r.note) else str(r.note)}
             for r in rows.itertuples()]
    lines += later_disclosures(ctx, ticker)

    def num(x: Any) -> float | None:
        return None if is_missing(x) else float(x)

    reported_nd = a["reported_debt"] - a["cash"]
    reported_ratio = reported_nd / a["ebitda"] if not is_missing(reported_nd) and a["ebitda"] > 0 else np.nan
    return {
        "currency": cur if isinstance(cur, str) else None,
        "commitments_on_file": bool(a["commitments_on_file"]),
        "reported_debt": num(a["reported_debt"]), "commitments_added": num(a["commitments"]),
        "adjusted_debt": num(a["adjusted_debt"]), "cash": num(a["cash"]), "ebitda": num(a["ebitda"]),
        "reported_net_debt": num(reported_nd), "adjusted_net_debt": num(a["adjusted_net_debt"]),
        "reported_ratio": num(reported_ratio),
        "adjusted_ratio": num(a["ratio"]), "adjusted_band": adjusted_band(a["ratio"]),
        "ebitdar": None, "ebitdar_note": "n.a.: operating lease cost not compiled, so EBITDAR cannot be formed",
        "lines": lines,
    }
