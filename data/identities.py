"""Accounting identities and plausibility rules over the reported statements.

Each rule looks at reported values only (nothing derived) and returns
:class:`Violation` rows naming the company-year, the values and the source URL
of every row involved, so a reader can open both pages. Nothing is dropped or
corrected here: a violation is either fixed in the compiled files or explained
in ``data/reference/explanations.csv`` (``rule, ticker, fiscal_year,
explanation``; an empty fiscal year explains every year of that company).

Rules (tolerances in parentheses):

* ``gross_profit_le_revenue`` -- Gross Profit <= Total Revenue;
* ``gross_profit_identity`` -- Gross Profit = Total Revenue − Cost Of Revenue (0.5 %);
* ``current_assets_le_total_assets``; ``current_liabilities_le_total_liabilities``;
* ``cash_parts_le_total`` -- Cash And Cash Equivalents and Other Short Term
  Investments each <= Cash, Cash Equivalents And Short Term Investments;
* ``debt_parts_le_total`` -- Current Debt and Long Term Debt each <= Total Debt;
* ``debt_parts_sum`` -- Total Debt = Current Debt + Long Term Debt (1 %; a
  larger total usually includes leases or other borrowings: explain it);
* ``balance_identity`` -- Total Liabilities + Total Equity = Total Assets (0.5 %);
* ``sign`` -- outflows (capex, buybacks, dividends) <= 0; revenue, assets,
  liabilities, cash, debt, cost of revenue and interest expense >= 0;
* ``units`` -- a value more than 300x above or below the median of the same
  line in the company's other years (a thousands/millions slip is ~1000x; a
  line that really collapses towards zero is explained, not corrected);
* ``period_end`` -- one period end per company-year, in the fiscal year it
  labels, and consecutive year ends 350-380 days apart;
* ``fcf_identity`` -- a cross-check page's Free Cash Flow = Operating Cash Flow
  + Capital Expenditure of the compiled figures (1 %).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

REVENUE, COST, GROSS = "Total Revenue", "Cost Of Revenue", "Gross Profit"
CA, TA, CL, TL = "Current Assets", "Total Assets", "Current Liabilities", "Total Liabilities Net Minority Interest"
TE = "Total Equity Gross Minority Interest"
CASH, STI, CASH_STI = "Cash And Cash Equivalents", "Other Short Term Investments", \
    "Cash Cash Equivalents And Short Term Investments"
CD, LTD, TD = "Current Debt", "Long Term Debt", "Total Debt"
OCF, CAPEX, FCF = "Operating Cash Flow", "Capital Expenditure", "Free Cash Flow"
OUTFLOWS = ("Capital Expenditure", "Repurchase Of Capital Stock", "Cash Dividends Paid")
NON_NEGATIVE = (REVENUE, TA, CA, CL, TL, CASH, STI, CASH_STI, CD, LTD, TD, COST, "Interest Expense",
                "Commercial Paper", "Other Current Borrowings")


@dataclass(frozen=True)
class Violation:
    """One broken rule, with the values and sources involved."""

    rule: str
    ticker: str
    fiscal_year: int | None
    message: str
    sources: tuple[str, ...]

    def as_dict(self) -> dict:
        d = asdict(self)
        d["sources"] = list(self.sources)
        return d


def _wide(statements: pd.DataFrame, column: str) -> pd.DataFrame:
    return statements.pivot_table(index=["ticker", "fiscal_year"], columns="field", values=column,
                                  aggfunc="first")


def _fmt(x: float) -> str:
    return f"{x:,.0f}"


def _pairwise(values: pd.DataFrame, sources: pd.DataFrame, rule: str, small: str, big: str,
              tol: float = 0.0) -> list[Violation]:
    """``small`` <= ``big`` (within ``tol`` of big) wherever both are reported."""
    if small not in values or big not in values:
        return []
    both = values[[small, big]].dropna()
    bad = both[both[small] > both[big] * (1 + tol) + 0.5]
    return [Violation(rule, t, int(y), f"{small} {_fmt(r[small])} > {big} {_fmt(r[big])}",
                      (sources.at[(t, y), small], sources.at[(t, y), big])) for (t, y), r in bad.iterrows()]


def _sum_rule(values: pd.DataFrame, sources: pd.DataFrame, rule: str, total: str,
              parts: tuple[tuple[str, int], ...], tol: float) -> list[Violation]:
    """total = Σ sign·part within ``tol`` (relative to the total) wherever all are reported."""
    cols = [total, *[p for p, _ in parts]]
    if any(c not in values for c in cols):
        return []
    rows = values[cols].dropna()
    expected = sum(sign * rows[p] for p, sign in parts)
    off = (rows[total] - expected).abs() > tol * rows[total].abs().clip(lower=1.0)
    formula = " ".join(("+ " if s > 0 else "− ") + p for p, s in parts).lstrip("+ ")
    out = []
    for (t, y), r in rows[off].iterrows():
        exp = sum(s * r[p] for p, s in parts)
        out.append(Violation(rule, t, int(y), f"{total} {_fmt(r[total])} ≠ {formula} = {_fmt(exp)} "
                             f"({(r[total] - exp) / abs(r[total]):+.1%})",
                             tuple(sources.at[(t, y), c] for c in cols)))
    return out


def sign_rules(statements: pd.DataFrame) -> list[Violation]:
    """Outflows must be <= 0; stocks and costs >= 0."""
    s = statements
    bad = s[(s["field"].isin(OUTFLOWS) & (s["value"] > 0)) | (s["field"].isin(NON_NEGATIVE) & (s["value"] < 0))]
    return [Violation("sign", r.ticker, int(r.fiscal_year), f"{r.field} {_fmt(r.value)} has the wrong sign",
                      (r.source,)) for r in bad.itertuples()]


def unit_rules(statements: pd.DataFrame, factor: float = 300.0) -> list[Violation]:
    """A value more than ``factor`` times off the median |value| of the same line in the other years."""
    out = []
    s = statements[statements["value"] != 0]
    for (t, f), g in s.groupby(["ticker", "field"]):
        if len(g) < 2:
            continue
        mag = g["value"].abs().to_numpy()
        for i, r in enumerate(g.itertuples()):
            others = np.delete(mag, i)
            med = float(np.median(others))
            if med > 0 and (mag[i] > factor * med or mag[i] * factor < med):
                out.append(Violation("units", t, int(r.fiscal_year),
                                     f"{f} {_fmt(r.value)} is {mag[i] / med:.3g}x the median of its other years",
                                     (r.source,)))
    return out


def period_rules(statements: pd.DataFrame) -> list[Violation]:
    """One period end per company-year, inside the labelled year, consecutive ends 350–380 days apart."""
    out = []
    ends = statements.groupby(["ticker", "fiscal_year"])["period_end"].agg(lambda x: sorted(set(x)))
    src = statements.groupby(["ticker", "fiscal_year"])["source"].agg(lambda x: tuple(sorted(set(x)))[:3])
    for (t, y), pe in ends.items():
        if len(pe) > 1:
            out.append(Violation("period_end", t, int(y), f"several period ends {', '.join(pe)}", src[(t, y)]))
        elif int(pe[0][:4]) != int(y):
            out.append(Violation("period_end", t, int(y), f"period end {pe[0]} is not in FY{y}", src[(t, y)]))
    first = ends.map(lambda x: pd.Timestamp(x[0]))
    for t, g in first.groupby(level="ticker"):
        g = g.droplevel("ticker").sort_index()
        for (y0, d0), (y1, d1) in zip(g.items(), list(g.items())[1:]):
            if y1 == y0 + 1 and not 350 <= (d1 - d0).days <= 380:
                out.append(Violation("period_end", t, int(y1),
                                     f"FY{y0} ends {d0.date()} and FY{y1} ends {d1.date()}: {(d1 - d0).days} days apart",
                                     src[(t, y1)]))
    return out


def fcf_rules(values: pd.DataFrame, sources: pd.DataFrame, crosscheck: pd.DataFrame,
              tol: float = 0.01) -> list[Violation]:
    """A cross-check page's FCF against OCF + CapEx of the compiled figures (``values``/``sources``: wide,
    by (ticker, fiscal_year), as :func:`identity_violations` pivots them once)."""
    if crosscheck.empty:
        return []
    if OCF not in values or CAPEX not in values:
        return []
    out = []
    for r in crosscheck[crosscheck["field"] == FCF].itertuples():
        key = (r.ticker, r.fiscal_year)
        if key not in values.index:
            continue
        ocf, capex = values.at[key, OCF], values.at[key, CAPEX]
        if pd.isna(ocf) or pd.isna(capex):
            continue
        derived = ocf + capex
        if abs(r.value - derived) > tol * max(abs(derived), 1.0):
            out.append(Violation("fcf_identity", r.ticker, int(r.fiscal_year),
                                 f"Free Cash Flow {_fmt(r.value)} on a second page ≠ OCF + CapEx = {_fmt(derived)} "
                                 f"({(r.value - derived) / abs(derived):+.1%})",
                                 (r.source, sources.at[key, OCF], sources.at[key, CAPEX])))
    return out


def identity_violations(statements: pd.DataFrame, crosscheck: pd.DataFrame | None = None) -> list[Violation]:
    """Every rule of the module docstring over the reported statements (and the cross-check FCF rows)."""
    if statements.empty:
        return []
    values, sources = _wide(statements, "value"), _wide(statements, "source")
    v: list[Violation] = []
    v += _pairwise(values, sources, "gross_profit_le_revenue", GROSS, REVENUE)
    v += _sum_rule(values, sources, "gross_profit_identity", GROSS, ((REVENUE, 1), (COST, -1)), 0.005)
    v += _pairwise(values, sources, "current_assets_le_total_assets", CA, TA)
    v += _pairwise(values, sources, "current_liabilities_le_total_liabilities", CL, TL)
    v += _pairwise(values, sources, "cash_parts_le_total", CASH, CASH_STI)
    v += _pairwise(values, sources, "cash_parts_le_total", STI, CASH_STI)
    v += _pairwise(values, sources, "debt_parts_le_total", CD, TD, tol=0.001)
    v += _pairwise(values, sources, "debt_parts_le_total", LTD, TD, tol=0.001)
    v += _sum_rule(values, sources, "debt_parts_sum", TD, ((CD, 1), (LTD, 1)), 0.01)
    v += _sum_rule(values, sources, "balance_identity", TA, ((TL, 1), (TE, 1)), 0.005)
    v += sign_rules(statements)
    v += unit_rules(statements)
    v += period_rules(statements)
    if crosscheck is not None:
        v += fcf_rules(values, sources, crosscheck)
    return list(dict.fromkeys(v))  # the same finding from two identical pages is one violation


def explained(violations: list[Violation], explanations: pd.DataFrame) -> list[tuple[Violation, str | None]]:
    """Pair each violation with its explanation (rule + ticker + fiscal year, or + ticker for all years)."""
    table: dict[tuple[str, str, int | None], str] = {}
    for r in explanations.itertuples():
        year = None if pd.isna(r.fiscal_year) or str(r.fiscal_year).strip() == "" else int(float(r.fiscal_year))
        table[(r.rule, r.ticker, year)] = r.explanation
    return [(v, table.get((v.rule, v.ticker, v.fiscal_year)) or table.get((v.rule, v.ticker, None)))
            for v in violations]


class _Page(NamedTuple):
    """A figure read from a second page."""

    value: float
    source: str
    note: str | None


def crosscheck_report(statements: pd.DataFrame, crosscheck: pd.DataFrame, years: pd.DataFrame,
                      tol: float = 0.01) -> dict:
    """Revenue and FCF of every company-year against a second page.

    ``years``: (ticker, fiscal_year) pairs to cover. FCF is compared as OCF +
    CapEx on both sides (a page showing both lines gives its own FCF), or
    against a page's own Free Cash Flow. A "second page" must differ from every
    page the compiled figures were read from. Returns the coverage and every
    disagreement above ``tol`` with both sources and the compiler's note.
    """
    values, sources = _wide(statements, "value"), _wide(statements, "source")
    pages: dict[tuple[str, int, str], list[_Page]] = {}
    for r in crosscheck.drop_duplicates(["ticker", "fiscal_year", "field", "source"]).itertuples():
        note = None if pd.isna(r.note) else str(r.note)
        pages.setdefault((r.ticker, int(r.fiscal_year), r.field), []).append(_Page(float(r.value), r.source, note))
    covered = {"revenue": 0, "fcf": 0}
    disagreements, missing = [], []
    for t, y in years.itertuples(index=False):
        key, y = (t, int(y)), int(y)
        own = values.loc[key] if key in values.index else pd.Series(dtype=float)
        own_src = sources.loc[key] if key in sources.index else pd.Series(dtype=object)
        fcf_pages = list(pages.get((t, y, FCF), []))
        for o in pages.get((t, y, OCF), []):
            fcf_pages += [_Page(o.value + c.value, o.source, o.note) for c in pages.get((t, y, CAPEX), [])
                          if c.source == o.source]
        checks = [("revenue", REVENUE, own.get(REVENUE, np.nan), pages.get((t, y, REVENUE), []), (REVENUE,)),
                  ("fcf", "Free cash flow (OCF + CapEx)", own.get(OCF, np.nan) + own.get(CAPEX, np.nan),
                   fcf_pages, (OCF, CAPEX))]
        for kind, label, mine, found, fields in checks:
            if pd.isna(mine):
                continue
            compiled_from = {own_src.get(f) for f in fields} - {None, np.nan}
            second = [p for p in found if p.source not in compiled_from]
            if not second:
                missing.append({"ticker": t, "fiscal_year": y, "figure": kind})
                continue
            covered[kind] += 1
            for p in second:
                diff = (p.value - mine) / abs(mine) if mine else np.inf
                if abs(diff) > tol:
                    disagreements.append({
                        "ticker": t, "fiscal_year": y, "figure": label, "compiled": float(mine),
                        "second_page": p.value, "difference": round(float(diff), 4),
                        "compiled_sources": sorted(str(x) for x in compiled_from), "second_source": p.source,
                        "note": p.note})
    return {"company_years": int(len(years)), "revenue_cross_checked": covered["revenue"],
            "fcf_cross_checked": covered["fcf"], "not_cross_checked": missing,
            "disagreements_over_1pct": disagreements}
