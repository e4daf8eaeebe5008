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

Plausibility bounds (:func:`plausible_tables`) are different: a value outside
them is not a finding to explain but a value nobody can have reported, and it is
*refused* -- left out of the tables the app scores and listed with its reason:

* a statement line beyond USD 100 tn (1e14) in absolute value, USD-equivalent;
* a statement line more than 1000x the (high) median of the same line in the
  company's other years, or -- with at least two other years -- less than
  1/1000 of their (low) median; zeros are not compared, and a company-year
  explained under ``units`` or ``plausibility`` in ``explanations.csv`` is kept;
* a market cap beyond USD 20 tn (2e13) or more than 1e12 shares outstanding;
* an FX rate (USD per unit) outside the sane range of its currency (:data:`FX_SANE_RANGE`).

Amounts in a currency without a usable rate are converted at the lowest sane
rate of that currency, so a missing rate never refuses a value.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

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
                "Commercial Paper", "Other Current Borrowings", "Depreciation", "Amortization Of Intangibles")


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


# --------------------------------------------------------------------------- plausibility bounds

STATEMENT_LIMIT_USD = 1e14
MARKET_CAP_LIMIT_USD = 2e13
SHARES_LIMIT = 1e12
RELATIVE_FACTOR = 1000.0
#: USD per unit of currency: anything outside is a typo or a corrupt source, never a quote
FX_SANE_RANGE: dict[str, tuple[float, float]] = {
    "USD": (0.999, 1.001), "EUR": (0.5, 2.5), "GBP": (0.6, 3.0), "CHF": (0.5, 2.5), "JPY": (0.002, 0.03),
    "TWD": (0.01, 0.1), "CNY": (0.05, 0.5), "HKD": (0.08, 0.2), "KRW": (0.0002, 0.003), "INR": (0.004, 0.05),
    "CAD": (0.4, 1.5), "AUD": (0.3, 1.5), "SEK": (0.04, 0.3), "NOK": (0.04, 0.3), "DKK": (0.05, 0.4),
    "ILS": (0.1, 0.7), "SGD": (0.4, 1.2),
}
DEFAULT_FX_RANGE = (1e-6, 10.0)
REFUSED_COLUMNS = ["table", "ticker", "fiscal_year", "field", "value", "reason", "source", "origin"]
PLAUSIBILITY_RULES = ("units", "plausibility")  # explanations that keep a far-off value


_EMPTY_REFUSED = pd.DataFrame({c: pd.Series(dtype=float if c in ("fiscal_year", "value") else object)
                               for c in REFUSED_COLUMNS})


def empty_refused() -> pd.DataFrame:
    """A refused-rows table with no rows (columns: :data:`REFUSED_COLUMNS`)."""
    return _EMPTY_REFUSED.copy()


def concat_refused(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One refused-rows table from several (empty ones skipped)."""
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else empty_refused()


def refused_rows(table: str, rows: pd.DataFrame, field: pd.Series | str, value: pd.Series,
                 reason: pd.Series | str, origin: str) -> pd.DataFrame:
    """Refused-rows table for ``rows`` (one refused value each)."""
    if rows.empty:
        return empty_refused()
    return pd.DataFrame({
        "table": table, "ticker": rows["ticker"].astype(str).to_numpy() if "ticker" in rows else
        rows["currency"].astype(str).to_numpy(),
        "fiscal_year": pd.to_numeric(rows["fiscal_year"], errors="coerce").to_numpy(dtype=float)
        if "fiscal_year" in rows else float("nan"),
        "field": field if isinstance(field, str) else field.astype(str).to_numpy(),
        "value": pd.to_numeric(value, errors="coerce").to_numpy(dtype=float),
        "reason": reason if isinstance(reason, str) else reason.astype(str).to_numpy(),
        "source": rows["source"].astype(str).to_numpy() if "source" in rows else "",
        "origin": origin,
    }, columns=REFUSED_COLUMNS)


def _texts(template: str, values: pd.Series) -> pd.Series:
    """``template.format(v)`` for each value, as an object Series on the same index."""
    return pd.Series([template.format(v) for v in values], index=values.index, dtype=object)


def fx_plausibility(fx: pd.DataFrame, origin: str = "embedded") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rates inside their currency's sane range, refused rates with the reason)."""
    if fx.empty:
        return fx, empty_refused()
    bounds = fx["currency"].map(lambda c: FX_SANE_RANGE.get(str(c), DEFAULT_FX_RANGE))
    lo, hi = bounds.str[0].astype(float), bounds.str[1].astype(float)
    rate = pd.to_numeric(fx["usd_per_unit"], errors="coerce")
    bad = ~((rate >= lo) & (rate <= hi))
    reason = pd.Series([f"USD per {c} {r:.6g} is outside its sane range {a:g} – {b:g}" for c, r, a, b in
                        zip(fx.loc[bad, "currency"], rate[bad], lo[bad], hi[bad])], index=fx.index[bad], dtype=object)
    return fx[~bad], refused_rows("fx", fx[bad], "usd_per_unit", rate[bad], reason, origin)


def _usd_rates(currencies: pd.Series, fx: pd.DataFrame) -> np.ndarray:
    """USD per unit for each currency: the table's (checked) rate, else the currency's lowest sane rate."""
    known = dict(zip(fx["currency"], pd.to_numeric(fx["usd_per_unit"], errors="coerce"))) if not fx.empty else {}
    codes, uniques = pd.factorize(currencies.astype(object))
    per = np.array([known.get(c, FX_SANE_RANGE.get(str(c), DEFAULT_FX_RANGE)[0]) for c in uniques], dtype=float)
    per = np.append(per, DEFAULT_FX_RANGE[0])  # code -1 (a missing currency) reads the last slot
    return per[codes]


def _relative_outliers(statements: pd.DataFrame, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """(mask, ratio) by position: rows > ``factor`` x the high median of the same line's other years, or (with
    two or more other years) < 1/``factor`` of their low median. Vectorised: within each (ticker, field) the
    values are sorted, and the median of the others is read off the sorted row by skipping the row's own rank."""
    mask, ratio = np.zeros(len(statements), dtype=bool), np.full(len(statements), np.nan)
    mag = statements["value"].abs().to_numpy(dtype=float)
    nz = np.flatnonzero(mag > 0)
    if len(nz) < 2:
        return mask, ratio
    t_codes = pd.factorize(statements["ticker"])[0][nz].astype(np.int64)
    f_codes = pd.factorize(statements["field"])[0][nz]
    codes = t_codes * (int(f_codes.max()) + 1) + f_codes
    order = np.lexsort((mag[nz], codes))
    g, m_sorted = codes[order], mag[nz][order]
    start = np.searchsorted(g, g, side="left")
    n = np.searchsorted(g, g, side="right") - start
    rank, others = np.arange(len(g)) - start, n - 1
    k_hi, k_lo = others // 2, np.maximum(others - 1, 0) // 2
    ref_hi = m_sorted[np.minimum(start + k_hi + (k_hi >= rank), len(g) - 1)]
    ref_lo = m_sorted[np.minimum(start + k_lo + (k_lo >= rank), len(g) - 1)]
    up = (others >= 1) & (m_sorted > factor * ref_hi)
    down = (others >= 2) & (m_sorted * factor < ref_lo)
    pos = nz[order]
    mask[pos] = up | down
    ratio[pos] = np.where(up, m_sorted / ref_hi, m_sorted / ref_lo)
    return mask, ratio


def statement_plausibility(statements: pd.DataFrame, fx: pd.DataFrame, explanations: pd.DataFrame | None = None,
                           origin: str = "embedded",
                           factor: float = RELATIVE_FACTOR) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(statement rows inside the bounds of the module docstring, refused rows with their reasons)."""
    if statements.empty:
        return statements, empty_refused()
    value = pd.to_numeric(statements["value"], errors="coerce")
    usd = value.abs() * _usd_rates(statements["currency"], fx)
    absurd = usd > STATEMENT_LIMIT_USD
    reasons = [refused_rows("statements", statements[absurd], statements.loc[absurd, "field"], value[absurd],
                        _texts("beyond USD 100 tn (USD-equivalent {:.3g})", usd[absurd]), origin)]
    rest = statements[~absurd]
    far_pos, ratio_pos = _relative_outliers(rest, factor)
    far, ratio = pd.Series(far_pos, index=rest.index), pd.Series(ratio_pos, index=rest.index)
    if far.any():
        far[far] = ~_explained_years(rest[far], explanations).to_numpy()
    reasons.append(refused_rows("statements", rest[far], rest.loc[far, "field"], rest.loc[far, "value"],
                            _texts("{:.3g}x the median of the same line in the company's other years "
                                   f"(limit {factor:g}x)", ratio[far]), origin))
    return rest[~far], concat_refused(reasons)


def _explained_years(statements: pd.DataFrame, explanations: pd.DataFrame | None) -> pd.Series:
    """Rows whose company-year (or company) is explained under a plausibility rule."""
    keep = pd.Series(False, index=statements.index)
    if explanations is None or explanations.empty:
        return keep
    ex = explanations[explanations["rule"].isin(PLAUSIBILITY_RULES)]
    years = pd.to_numeric(ex["fiscal_year"], errors="coerce")
    every_year = set(ex.loc[years.isna(), "ticker"])
    some_years = set(zip(ex.loc[years.notna(), "ticker"], years.dropna().astype(int)))
    pairs = zip(statements["ticker"], pd.to_numeric(statements["fiscal_year"], errors="coerce"))
    return pd.Series([t in every_year or (t, int(y)) in some_years for t, y in pairs], index=statements.index)


def market_plausibility(market: pd.DataFrame, fx: pd.DataFrame,
                        origin: str = "embedded") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(market rows within USD 20 tn of market cap and 1e12 shares, refused rows with their reasons)."""
    if market.empty:
        return market, empty_refused()
    cap = pd.to_numeric(market["market_cap"], errors="coerce")
    shares = pd.to_numeric(market["shares_outstanding"], errors="coerce")
    if "price" in market:  # a cap the app will derive (price × shares) is held to the same bound
        cap = cap.where(cap.notna(), pd.to_numeric(market["price"], errors="coerce") * shares)
    usd = cap * _usd_rates(market["price_currency"], fx)
    big_cap, many = usd > MARKET_CAP_LIMIT_USD, shares > SHARES_LIMIT
    refused = [refused_rows("market", market[big_cap], "market_cap", cap[big_cap],
                        _texts("market cap beyond USD 20 tn (USD-equivalent {:.3g})", usd[big_cap]), origin),
               refused_rows("market", market[many & ~big_cap], "shares_outstanding", shares[many & ~big_cap],
                        "more than 1e12 shares outstanding", origin)]
    return market[~(big_cap | many)], concat_refused(refused)


def plausible_tables(statements: pd.DataFrame, market: pd.DataFrame, fx: pd.DataFrame,
                     explanations: pd.DataFrame | None = None, origin: str = "embedded",
                     rates: pd.DataFrame | None = None
                     ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(statements, market, fx) inside the plausibility bounds, and every refused row with its reason.

    ``rates``: FX rates to convert amounts with (default: ``fx`` after its own check).
    """
    fx_ok, fx_refused = fx_plausibility(fx, origin)
    conv = fx_ok if rates is None else fx_plausibility(rates, origin)[0]
    st_ok, st_refused = statement_plausibility(statements, conv, explanations, origin)
    mk_ok, mk_refused = market_plausibility(market, conv, origin)
    return st_ok, mk_ok, fx_ok, concat_refused([st_refused, mk_refused, fx_refused])


def describe_refused(row) -> str:
    """'NVDA FY2025 Total Revenue 1e+30: beyond USD 100 tn (...)' for one refused row."""
    year = "" if pd.isna(row.fiscal_year) else f" FY{int(row.fiscal_year)}"
    return f"{row.ticker}{year} {row.field} {row.value:.4g}: {row.reason}"


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


# --------------------------------------------------------------------------- rounded values and source kinds

BILLION = 1e9
#: note wording that says the page showed the figure rounded
_ROUNDED_NOTE = re.compile(r"\brounded\b", re.IGNORECASE)
#: note wording that says the figure is as a page displayed it ("as shown", "shown in B", ...)
_SHOWN_NOTE = re.compile(r"\bas shown\b|\bshown (?:as|in|to|rounded)\b", re.IGNORECASE)
ROUNDED_RULE = (
    "A value is listed as rounded when (1) it is billion-scale and a multiple of 0.1 bn (a '17.2 bn' headline), "
    "(2) it is billion-scale, a multiple of 10 m and its note says the page showed it rounded or 'as shown' "
    "(a statement in millions gives such lines to the million, so a multiple of 10 m alone is a one-in-ten "
    "chance: those are only counted), or (3) its note says 'rounded' and it is a multiple of 0.1 m. The step is "
    "the power of ten its trailing zeros imply."
)


def rounding_step(value: float) -> float:
    """The power of ten the trailing zeros of ``value`` (full units) imply: 17,200,000,000 -> 1e8; 0 -> nan."""
    n = int(round(abs(float(value)))) if np.isfinite(value) else 0
    if n == 0:
        return float("nan")
    zeros = len(str(n)) - len(str(n).rstrip("0"))
    return float(10 ** zeros)


def rounded_values(statements: pd.DataFrame) -> pd.DataFrame:
    """Statement rows that look rounded (:data:`ROUNDED_RULE`), with the implied ``step`` and the ``rule`` met.

    Columns: ticker, fiscal_year, field, value, step, rule, source. Nothing is changed: the list tells a reader
    which figures are not exact to the unit the statement reports in.
    """
    cols = ["ticker", "fiscal_year", "field", "value", "step", "rule", "source"]
    if statements.empty:
        return pd.DataFrame(columns=cols)
    value = pd.to_numeric(statements["value"], errors="coerce")
    step = value.map(rounding_step)
    note = statements["note"].fillna("").astype(str) if "note" in statements else pd.Series("", index=statements.index)
    big = value.abs() >= BILLION
    said_rounded = note.str.contains(_ROUNDED_NOTE)
    said_shown = note.str.contains(_SHOWN_NOTE)
    r1 = big & (step >= 1e8)
    r2 = big & (step >= 1e7) & (said_rounded | said_shown) & ~r1
    r3 = said_rounded & (step >= 1e5) & ~r1 & ~r2
    rule = pd.Series(None, index=statements.index, dtype=object)
    rule[r1] = "0.1 bn headline"
    rule[r2] = "10 m, note says rounded / as shown"
    rule[r3] = "note says rounded"
    hit = rule.notna()
    out = statements.loc[hit, ["ticker", "fiscal_year", "field", "source"]].assign(
        value=value[hit], step=step[hit], rule=rule[hit])
    return out[cols].sort_values(["ticker", "fiscal_year", "field"]).reset_index(drop=True)


SOURCE_KINDS: tuple[str, ...] = ("filing or release", "aggregator", "news")
#: statement aggregators and summary sites (their own tables or summaries of filings), by host suffix
AGGREGATOR_HOSTS: tuple[str, ...] = (
    "stockanalysis.com", "stock-analysis-on.net", "stock-analysis-sveltekit.pages.dev", "macrotrends.net",
    "marketbeat.com", "roic.ai", "gurufocus.com", "stocksift.com", "vcpscanner.com", "devyara.com",
    "stock-data.online", "edwyn.app", "reportify.ai", "valuesense.io", "discountingcashflows.com",
    "beautifydata.com", "statfolio.net", "stockopedia.com", "tools-codex.pages.dev", "portfoliosavvy.com",
    "stocktitan.net", "bullfincher.io", "baha.com", "alphamadera.com", "10xinsights.com", "finvincio.com",
    "financialmodelingprep.com", "finance.yahoo.com", "smart-lab.ru", "secinvestors.com", "monexa.ai",
    "intellectia.ai", "stocktoria.com", "wallstreetnumbers.com", "intrinsicalpha.com", "opencapital.sh", "mlq.ai",
    "stocknear.com", "financedashboard.ai", "tipranks.com", "sectally.pages.dev", "marketscreener.com",
    "metricduck.com", "billiver.com", "companiesmarketcap.com", "ycharts.com", "morningstar.com", "finboard.net",
    "alphaspread.com", "simplywall.st", "macroaxis.com", "filingradar.com", "secwatch.observer",
    "alpha-sense.com", "earningsanatomy.com", "equityanalystai.com", "investing.com",
)
#: news wires that carry companies' releases as issued
NEWSWIRE_HOSTS: tuple[str, ...] = ("businesswire.com", "globenewswire.com", "prnewswire.com", "newswire.ca",
                                   "accesswire.com")
#: verbatim copies of EDGAR filings and their R pages
EDGAR_MIRROR_HOSTS: tuple[str, ...] = ("archive.fast-edgar.com", "fast-edgar.com", "edgar.tools", "capedge.com",
                                       "capedgeqa.com", "samay58.github.io", "d18rn0p25nwr6d.cloudfront.net",
                                       "d1f19qmytqk9eo.cloudfront.net")
#: companies' own domains (investor-relations sites, newsrooms)
COMPANY_HOSTS: tuple[str, ...] = (
    "nvidia.com", "amd.com", "broadcom.com", "tsmc.com", "intel.com", "micron.com", "asml.com", "arm.com",
    "marvell.com", "qualcomm.com", "microsoft.com", "aboutamazon.com", "abc.xyz", "atmeta.com", "oracle.com",
    "coreweave.com", "nebius.com", "arista.com", "cisco.com", "ciena.com", "credosemi.com", "dell.com",
    "constellationenergy.com", "vistracorp.com", "nexteraenergy.com", "gevernova.com", "eaton.com", "vertiv.com",
    "talenenergy.com", "oklo.com", "nokia.com", "iren.com", "corescientific.com", "softbank.jp", "group.softbank",
)
_IR_PREFIXES = ("investor.", "investors.", "ir.", "newsroom.")
#: a path holding an EDGAR accession number or CIK folder (a copy of a filing), or a stock exchange's / regulator's
#: filing store (TDnet, the TSE's XBRL attachments, ESEF filings)
_FILING_PATH = re.compile(r"\d{10}-\d{2}-\d{6}|/\d{18}/|/CIK-\d{10}/|tdnet|/XBRLData/|/financialreports/media/filings/",
                          re.IGNORECASE)


def _host_is(host: str, suffixes: tuple[str, ...]) -> bool:
    return any(host == s or host.endswith("." + s) for s in suffixes)


def source_kind(url: object) -> str:
    """The kind of page a statement value was read from, by its URL alone: "filing or release" (sec.gov, copies
    of EDGAR filings, exchange filing stores, company IR sites, the release wires), "aggregator" (statement
    sites, :data:`AGGREGATOR_HOSTS`) or "news" (anything else: news sites, blogs, reposts)."""
    try:
        parts = urlsplit(str(url).strip())
    except ValueError:
        return "news"
    host = (parts.hostname or "").lower().rstrip(".")
    for prefix in ("www.", "m."):
        if host.startswith(prefix):
            host = host[len(prefix):]
    if _host_is(host, AGGREGATOR_HOSTS):
        return "aggregator"
    if _host_is(host, ("sec.gov",) + EDGAR_MIRROR_HOSTS + NEWSWIRE_HOSTS + COMPANY_HOSTS) \
            or host.startswith(_IR_PREFIXES):
        return "filing or release"
    if _FILING_PATH.search(parts.path or ""):
        return "filing or release"
    return "news"


def source_kind_shares(statements: pd.DataFrame) -> dict:
    """Count and share of ``statements`` rows by :func:`source_kind` of their source URL."""
    kinds = statements["source"].map(source_kind) if not statements.empty else pd.Series(dtype=object)
    n = int(len(kinds))
    return {"values": n, "by_kind": {k: {"values": int((kinds == k).sum()),
                                          "share": round(float((kinds == k).sum()) / n, 3) if n else 0.0}
                                     for k in SOURCE_KINDS}}
