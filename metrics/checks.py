"""The explained checks behind the pillar scores.

Each check is a small pure function over a :class:`Context` (canonical tables
turned into wide frames), vectorised over companies. It returns a frame indexed
by ticker with:

* ``value`` -- the metric (a plain fraction or multiple; NaN when not computable
  or when the documented result has no finite number, e.g. net cash);
* ``points`` -- the check's contribution in [0, 1] (NaN = n.a.);
* ``passed`` -- True / False (NaN = n.a.);
* the inputs, named by their statement labels, so every number can be traced.

Every check documents formula, unit, threshold and reference; ``explain``
turns one row into the one-line sentence shown in the UI. Zero or negative
denominators give n.a. or the documented result, never inf.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metrics import financials as F
from metrics.format import is_missing, money, months_between, pct, pp, times

PILLARS: dict[str, str] = {
    "balance_sheet": "Balance-sheet strength",
    "free_cash_flow": "Free cash flow",
    "pricing_power": "Pricing power",
    "loop_exposure": "Loop exposure",
}


@dataclass
class Context:
    """Inputs of all checks, indexed by ticker.

    ``panel``: (ticker, fiscal_year) x fields (see :func:`metrics.financials.build_panel`)
    up to each company's scoring year; ``full_panel``: every year on file, later
    partial years included; ``latest``: the scoring year per ticker
    (:func:`metrics.financials.scoring_rows`); ``companies``: one row per
    ticker with ``segment``, ``currency`` (statement currency), ``fx_usd``
    (USD per unit of it, NaN if unknown) and ``market_cap_usd``.
    """

    panel: pd.DataFrame
    latest: pd.DataFrame
    companies: pd.DataFrame
    loop: Any = None  # metrics.loop.LoopContext when loop data is present
    full_panel: pd.DataFrame | None = None
    #: the investor's assumptions (metrics.scoring.Assumptions): server life, debt basis
    assumptions: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: values derived from this context's own panel, computed once (never shared with a stressed context)
    derived: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def index(self) -> pd.Index:
        return self.companies.index

    @property
    def tickers(self) -> pd.Series:
        """The company of each row: the index itself in the headline, the ``ticker`` column for ``T@Y`` keys."""
        if "ticker" in self.companies:
            return self.companies["ticker"]
        return pd.Series(self.companies.index, index=self.companies.index)

    @property
    def span(self) -> pd.DataFrame:
        """Fiscal years on record per ticker (:func:`metrics.financials.record_span`), computed once."""
        if "record_span" not in self.derived:
            self.derived["record_span"] = F.record_span(self.panel).reindex(self.index)
        return self.derived["record_span"]

    def latest_col(self, column: str) -> pd.Series:
        return self.latest[column].reindex(self.index) if column in self.latest else pd.Series(
            np.nan, index=self.index)


@dataclass(frozen=True)
class Check:
    """A documented, explainable check."""

    id: str
    pillar: str
    label: str
    unit: str  # "x", "percent", "pp", "ratio", "count", "score"
    threshold: str
    formula: str
    reference: str
    help: str
    compute: Callable[[Context], pd.DataFrame]
    explain: Callable[[Mapping[str, Any], str], str]
    #: a check of another basis takes the place of check ``replaces`` when that basis is chosen
    replaces: str | None = None
    basis: str | None = None
    #: statement lines the check cannot do without: where the company itself does not report one of them
    #: (sourced not-reported table) the check does not apply to it (n.a.), instead of "not on file"
    needs: tuple[str, ...] = ()


#: the four results a check can have (one vocabulary everywhere)
PASS, FAIL, NOT_APPLICABLE, NOT_ON_FILE = "pass", "fail", "n.a.", "not on file"
RESULTS = (PASS, FAIL, NOT_APPLICABLE, NOT_ON_FILE)


def _frame(index: pd.Index, value, points, passed, applicable=True, **inputs) -> pd.DataFrame:
    """Assemble a check result.

    ``points`` in [0, 1] where the check is judged; NaN where it is not. A row
    that is not judged is *not applicable* where ``applicable`` is False (the
    check does not apply to the company: excluded from the pillar's
    denominator) and *not on file* otherwise (inputs missing: it scores 0).
    ``status`` carries the result: pass / fail / n.a. / not on file.
    """
    pts = _array(points, index, float)
    pts = np.clip(pts, 0.0, 1.0)
    app = _flags(applicable, index, default=True)
    pts = np.where(app, pts, np.nan)
    judged = ~np.isnan(pts)
    judged_pass = _flags(passed, index, default=False)
    status = np.where(judged, np.where(judged_pass, PASS, FAIL), np.where(app, NOT_ON_FILE, NOT_APPLICABLE))
    data = {"value": _array(value, index, float), "points": pts,
            "passed": np.where(judged, judged_pass, np.nan).astype(object), "status": status.astype(object)}
    for k, v in inputs.items():
        data[k] = v.reindex(index).to_numpy() if isinstance(v, pd.Series) else _array(v, index, None)
    return pd.DataFrame(data, index=index)


def _flags(x, index: pd.Index, default: bool) -> np.ndarray:
    """``x`` (bool scalar, Series or array, missing values allowed) as a bool array; missing -> ``default``."""
    if isinstance(x, (bool, np.bool_)) or x is None:
        return np.full(len(index), default if x is None else bool(x))
    s = x.reindex(index) if isinstance(x, pd.Series) and not x.index.equals(index) else x
    arr = pd.array(np.asarray(s, dtype=object) if not isinstance(s, pd.Series) or s.dtype == object else s.to_numpy(),
                   dtype="boolean")
    return arr.fillna(default).to_numpy(dtype=bool)


def _array(x, index: pd.Index, dtype) -> np.ndarray:
    """``x`` (Series aligned on ``index``, array or scalar) as a numpy array of len(index)."""
    if isinstance(x, pd.Series):
        x = x.reindex(index) if not x.index.equals(index) else x
        arr = x.to_numpy()
    elif np.isscalar(x) or x is None:
        arr = np.full(len(index), x, dtype=object if dtype is None else dtype)
    else:
        arr = np.asarray(x)
    if dtype is float:
        return pd.to_numeric(pd.Series(arr), errors="coerce").to_numpy(dtype=float) if arr.dtype == object \
            else arr.astype(float)
    return arr if dtype is None else arr.astype(dtype)


def explain_result(check: "Check", r: Mapping[str, Any], cur: str) -> str:
    """The one-line explanation of a check result (a check left n.a. because the company does not report a
    line it needs says so; otherwise the check's own sentence)."""
    if r.get("status") == NOT_APPLICABLE and r.get("Not applicable because"):
        return f"Not applicable: {r['Not applicable because']}."
    return check.explain(r, cur)


def missing_text(r: Mapping[str, Any], labels: list[str]) -> str:
    """'Retained Earnings and Total Assets not on file' for the ``labels`` whose value in ``r`` is missing.

    A field the company itself does not report (``r["Not reported"]``, from the
    sourced not-reported table) is named as such: "not reported by the company".
    """
    missing = [k for k in labels if is_missing(r.get(k))]
    if not missing:
        return ""
    known = str(r.get("Not reported") or "")
    by_company = [k for k in missing if k and k in known]
    on_file = [k for k in missing if k not in by_company]
    parts = []
    if on_file:
        parts.append(f"{_join(on_file)} not on file")
    if by_company:
        parts.append(f"{_join(by_company)} not reported by the company")
    return "; ".join(parts)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _ramp(x: pd.Series, zero_at: float, full_at: float) -> pd.Series:
    """Linear points: 0 at ``zero_at``, 1 at ``full_at`` (either direction), clipped; NaN stays NaN."""
    return ((x - zero_at) / (full_at - zero_at)).clip(0.0, 1.0)


def _where(cond: pd.Series, a, b) -> pd.Series:
    return pd.Series(np.where(cond, a, b), index=cond.index)


# =========================================================================== balance sheet

#: (upper bound of net debt / EBITDA, band, points) -- rating-agency style leverage bands.
NET_DEBT_BANDS = [(2.0, "A", 1.0), (3.0, "BBB", 0.75), (3.5, "BBB-/BB+", 0.625), (5.0, "BB", 0.5),
                  (7.0, "B", 0.25), (np.inf, "CCC or below", 0.0)]


def net_debt_band(ratio: float) -> str:
    """Leverage band of a net debt / EBITDA multiple (net cash counts as 'net cash')."""
    if is_missing(ratio):
        return "n.a."
    if ratio <= 0:
        return "net cash"
    for upper, band, _ in NET_DEBT_BANDS:
        if ratio < upper:
            return band
    return NET_DEBT_BANDS[-1][1]


def _bands(ratio: pd.Series, bands: list[tuple[float, str, float]]) -> pd.Series:
    """Points of a leverage multiple by band (NaN stays NaN)."""
    return pd.Series(np.select([ratio < u for u, _, _ in bands], [p for _, _, p in bands], default=np.nan),
                     index=ratio.index).where(ratio.notna())


def net_debt_to_ebitda(ctx: Context) -> pd.DataFrame:
    """Net debt / EBITDA, scoring year (multiple, x).

    Net debt = Total Debt − Cash, Cash Equivalents And Short Term Investments;
    EBITDA = reported, else Operating Income + Reconciled Depreciation.
    No debt (Total Debt 0, e.g. a filing stating the company has none) and net
    cash (net debt <= 0) pass with full points; net debt with EBITDA <= 0
    fails with 0 points (no finite multiple). Bands (points): A < 2x (1.0),
    BBB 2–3x (0.75), 3–3.5x (0.625), BB 3.5–5x (0.5), B 5–7x (0.25), >= 7x (0).
    Pass: < 3x (investment-grade leverage). Debt, cash or (with net debt) EBITDA
    not on file: not on file.
    """
    debt, cash = ctx.latest_col(F.TOTAL_DEBT), ctx.latest_col(F.CASH)
    ebitda = ctx.latest_col(F.EBITDA_D)
    net_debt = (debt - cash).where(~debt.eq(0), -cash.fillna(0.0))
    ratio = F.safe_divide(net_debt, ebitda)
    net_cash = net_debt <= 0
    points = _bands(ratio, NET_DEBT_BANDS).where(~net_cash, 1.0)
    points = points.where(~(net_debt.gt(0) & ebitda.le(0)), 0.0)
    passed = (ratio < 3.0) | net_cash
    value = (net_debt / ebitda.where(ebitda > 0)).where(net_debt.notna())
    value = value.where(~(net_debt.gt(0) & ebitda.le(0)), np.nan)
    return _frame(ctx.index, value, points, passed, **{
        F.TOTAL_DEBT: debt, F.CASH: cash, "EBITDA (reported or OI + D&A)": ebitda, "Net debt": net_debt})


def _explain_net_debt(r: Mapping[str, Any], cur: str) -> str:
    nd, debt, cash, ebitda = r.get("Net debt"), r.get(F.TOTAL_DEBT), r.get(F.CASH), r.get("EBITDA (reported or OI + D&A)")
    if r.get("status") == NOT_ON_FILE:
        return f"Not on file: {missing_text(r, [F.TOTAL_DEBT, F.CASH, 'EBITDA (reported or OI + D&A)'])}."
    if not is_missing(debt) and debt == 0:
        return "No debt on file at the year end (total debt 0): nothing to repay."
    if nd <= 0:
        cover = "" if is_missing(debt) or debt <= 0 else f" cover total debt {times(cash / debt)}"
        return f"Net cash {money(-nd, cur)}: cash and short-term investments{cover or ' exceed total debt'}."
    if ebitda <= 0:
        return f"Net debt {money(nd, cur)} with negative EBITDA {money(ebitda, cur)}: debt not serviceable from earnings."
    ratio = nd / ebitda
    return f"Net debt {money(nd, cur)} is {times(ratio)} EBITDA of {money(ebitda, cur)} (band {net_debt_band(ratio)})."


#: Damodaran's synthetic rating for large non-financial firms: (min coverage, rating).
DAMODARAN_RATINGS = [
    (8.5, "AAA"), (6.5, "AA"), (5.5, "A+"), (4.25, "A"), (3.0, "A-"), (2.5, "BBB"), (2.25, "BB+"),
    (2.0, "BB"), (1.75, "B+"), (1.5, "B"), (1.25, "B-"), (0.8, "CCC"), (0.65, "CC"), (0.2, "C"),
    (-np.inf, "D"),
]


def synthetic_rating(coverage: float) -> str:
    """Damodaran's synthetic rating of an interest-coverage ratio (large firms table)."""
    if is_missing(coverage):
        return "n.a."
    for lower, rating in DAMODARAN_RATINGS:
        if coverage >= lower:
            return rating
    return "D"


def interest_coverage(ctx: Context) -> pd.DataFrame:
    """Interest coverage = EBIT / Interest Expense, scoring year (x).

    EBIT = reported EBIT, else Operating Income. Mapped to Damodaran's
    synthetic rating; points rise linearly along the 15-step ladder from D (0)
    to AAA (1). Pass: >= 2.5x (BBB, investment grade). Interest expense
    reported as exactly 0 passes (no interest burden). No debt on file (Total
    Debt 0) and no interest expense reported: not applicable. Otherwise missing
    or negative interest expense, or missing EBIT: not on file.
    """
    ebit, interest = ctx.latest_col(F.EBIT_D), ctx.latest_col(F.INTEREST_EXPENSE)
    debt = ctx.latest_col(F.TOTAL_DEBT)
    cov = F.safe_divide(ebit, interest)
    n = len(DAMODARAN_RATINGS)
    idx = pd.Series(np.select([cov >= lo for lo, _ in DAMODARAN_RATINGS], list(range(n)), default=n - 1),
                    index=cov.index)
    points = (1 - idx / (n - 1)).where(cov.notna())
    zero_interest = interest.eq(0)
    points = points.where(~zero_interest, 1.0)
    passed = (cov >= 2.5) | zero_interest
    applicable = ~(interest.isna() & debt.eq(0))
    return _frame(ctx.index, cov, points, passed, applicable, **{
        "EBIT (reported or operating income)": ebit, F.INTEREST_EXPENSE: interest, F.TOTAL_DEBT: debt})


def _explain_interest(r: Mapping[str, Any], cur: str) -> str:
    ebit, interest, cov = r.get("EBIT (reported or operating income)"), r.get(F.INTEREST_EXPENSE), r.get("value")
    if r.get("status") == NOT_APPLICABLE:
        return "Not applicable: no debt on file at the year end, so no interest to cover."
    if not is_missing(interest) and interest == 0:
        return f"No interest expense (EBIT {money(ebit, cur)})."
    if r.get("status") == NOT_ON_FILE:
        text = missing_text(r, ["EBIT (reported or operating income)", F.INTEREST_EXPENSE])
        return f"Not on file: {text or 'interest expense reported as negative (check the source)'}."
    return (f"EBIT {money(ebit, cur)} covers interest of {money(interest, cur)} {times(cov)}: "
            f"synthetic rating {synthetic_rating(cov)} (Damodaran).")


def current_ratio(ctx: Context) -> pd.DataFrame:
    """Current ratio = Current Assets / Current Liabilities, scoring year (x).

    Points: 0 at 0.5x rising to 1 at 1.5x. Pass: > 1.0x (short-term assets
    cover short-term liabilities). Current liabilities <= 0: not applicable.
    """
    ca, cl = ctx.latest_col(F.CURRENT_ASSETS), ctx.latest_col(F.CURRENT_LIABILITIES)
    cr = F.safe_divide(ca, cl)
    return _frame(ctx.index, cr, _ramp(cr, 0.5, 1.5), cr > 1.0, ~cl.le(0),
                  **{F.CURRENT_ASSETS: ca, F.CURRENT_LIABILITIES: cl})


def _explain_current(r: Mapping[str, Any], cur: str) -> str:
    cr = r.get("value")
    if r.get("status") == NOT_APPLICABLE:
        return "Not applicable: no current liabilities reported."
    if is_missing(cr):
        return f"Not on file: {missing_text(r, [F.CURRENT_ASSETS, F.CURRENT_LIABILITIES])}."
    verb = "cover" if cr > 1 else "do not cover"
    return (f"Current assets {money(r[F.CURRENT_ASSETS], cur)} {verb} current liabilities "
            f"{money(r[F.CURRENT_LIABILITIES], cur)} ({times(cr, 2)}).")


def _leverage(debt: pd.Series, ebitda: pd.Series) -> pd.Series:
    """Gross debt / EBITDA (x): 0 with no debt, +inf with debt and EBITDA <= 0, NaN when an input is missing."""
    lev = debt / ebitda.where(ebitda > 0)
    lev = lev.where(~(debt.gt(0) & ebitda.le(0)), np.inf)
    return lev.where(~debt.eq(0), 0.0)


def leverage_trend(ctx: Context) -> pd.DataFrame:
    """Change in gross debt / EBITDA from the first to the latest fiscal year on record (x).

    Leverage = Total Debt / EBITDA at both ends of the record (see
    :func:`metrics.financials.record_span`; at least two years; a missing end
    year is never replaced by a later one). Change = latest − first, in turns of
    EBITDA, so a trend from a near-zero debt base reads sensibly. No debt at the
    latest end passes; debt with EBITDA <= 0 at the latest end fails; leverage
    coming down from EBITDA <= 0 passes. Points: 1 at <= 0x falling to 0 at
    +1.5x. Pass: <= +0.25x (stable or falling).
    """
    span = ctx.span
    enough = span["n_years"] >= 2
    debt = F.at_span_ends(ctx.panel[F.TOTAL_DEBT]).reindex(ctx.index)
    ebitda = F.at_span_ends(ctx.panel[F.EBITDA_D]).reindex(ctx.index)
    lev0, lev1 = _leverage(debt["first"], ebitda["first"]), _leverage(debt["last"], ebitda["last"])
    known = enough & lev0.notna() & lev1.notna()
    finite = np.isfinite(lev0) & np.isfinite(lev1)
    change = (lev1 - lev0).where(known & finite)
    points = _ramp(change, 1.5, 0.0)
    points = points.where(~(known & np.isinf(lev1)), 0.0)            # debt, no EBITDA now
    points = points.where(~(known & np.isinf(lev0) & np.isfinite(lev1)), 1.0)  # recovered from no EBITDA
    points = points.where(~(known & lev1.eq(0)), 1.0)                # no debt now
    passed = (change <= 0.25) | (known & lev1.eq(0)) | (known & np.isinf(lev0) & np.isfinite(lev1))
    return _frame(ctx.index, change, points.where(known), passed, **{
        "First leverage": lev0.replace(np.inf, np.nan), "Latest leverage": lev1.replace(np.inf, np.nan),
        "First debt": debt["first"], "Latest debt": debt["last"],
        "First EBITDA": ebitda["first"], "Latest EBITDA": ebitda["last"],
        "First year": span["first_year"], "Last year": span["last_year"], "Years on record": span["n_years"]})


def _explain_leverage(r: Mapping[str, Any], cur: str) -> str:
    if r.get("status") == NOT_ON_FILE:
        if is_missing(r.get("Years on record")) or r["Years on record"] < 2:
            return "Not on file: total debt and EBITDA needed in at least two fiscal years."
        y0, y1 = int(r["First year"]), int(r["Last year"])
        gaps = missing_text({"FY%d total debt" % y0: r.get("First debt"), "FY%d EBITDA" % y0: r.get("First EBITDA"),
                             "FY%d total debt" % y1: r.get("Latest debt"), "FY%d EBITDA" % y1: r.get("Latest EBITDA")},
                            [f"FY{y0} total debt", f"FY{y0} EBITDA", f"FY{y1} total debt", f"FY{y1} EBITDA"])
        return f"Not on file: {gaps}."
    y0, y1 = int(r["First year"]), int(r["Last year"])

    def lev(d, e):
        if not is_missing(d) and d == 0:
            return "no debt"
        if is_missing(e) or e <= 0:
            return "debt with EBITDA not positive"
        return f"{times(d / e)} EBITDA"
    a, b = lev(r.get("First debt"), r.get("First EBITDA")), lev(r.get("Latest debt"), r.get("Latest EBITDA"))
    change = r.get("value")
    tail = "" if is_missing(change) else f" ({'+' if change >= 0 else '−'}{abs(change):.1f}x)"
    return f"Debt / EBITDA FY{y0} {a} → FY{y1} {b}{tail}."


def refinancing_pressure(ctx: Context) -> pd.DataFrame:
    """Current debt / (cash and short-term investments + operating cash flow), scoring year (x).

    How much of the debt due within a year the company could repay from cash on
    hand plus one year of operating cash flow. Points: 1 at <= 0.25x falling to
    0 at >= 1x. Pass: <= 0.5x. No current debt, or no debt at all, passes;
    current debt against a non-positive denominator fails.
    """
    cd, cash, ocf = ctx.latest_col(F.CURRENT_DEBT), ctx.latest_col(F.CASH), ctx.latest_col(F.OCF)
    debt = ctx.latest_col(F.TOTAL_DEBT)
    cd = cd.where(cd.notna() | ~debt.eq(0), 0.0)  # no debt at all: nothing due within a year
    den = cash + ocf
    ratio = F.safe_divide(cd, den)
    points = _ramp(ratio, 1.0, 0.25)
    points = points.where(~(cd.gt(0) & den.le(0)), 0.0).where(~cd.eq(0), 1.0)
    points = points.where(cd.notna())
    passed = (ratio <= 0.5) | cd.eq(0)
    return _frame(ctx.index, ratio, points, passed, **{F.CURRENT_DEBT: cd, F.CASH: cash, F.OCF: ocf})


def _explain_refi(r: Mapping[str, Any], cur: str) -> str:
    cd, cash, ocf, ratio = r.get(F.CURRENT_DEBT), r.get(F.CASH), r.get(F.OCF), r.get("value")
    if not is_missing(cd) and cd == 0:
        return "No debt due within a year."
    if r.get("status") == NOT_ON_FILE:
        return f"Not on file: {missing_text(r, [F.CURRENT_DEBT, F.CASH, F.OCF])}."
    if is_missing(ratio):
        return f"Debt due within a year {money(cd, cur)} against non-positive cash plus operating cash flow."
    return (f"Debt due within a year {money(cd, cur)} is {times(ratio, 2)} of cash {money(cash, cur)} "
            f"plus operating cash flow {money(ocf, cur)}.")


def altman_z(ctx: Context) -> pd.DataFrame:
    """Altman Z'' (non-manufacturer form), scoring year (score).

    Z'' = 6.56·WC/TA + 3.26·RE/TA + 6.72·EBIT/TA + 1.05·BVE/TL with WC = Current
    Assets − Current Liabilities, RE = Retained Earnings, BVE = Stockholders
    Equity, TL = Total Liabilities Net Minority Interest. Zones: > 2.6 safe
    (pass, 1 point), 1.1–2.6 grey (0.5), < 1.1 distress (0). Not on file when
    any input is missing or TA/TL <= 0.
    """
    ca, cl = ctx.latest_col(F.CURRENT_ASSETS), ctx.latest_col(F.CURRENT_LIABILITIES)
    ta, re_ = ctx.latest_col(F.TOTAL_ASSETS), ctx.latest_col(F.RETAINED_EARNINGS)
    ebit, bve, tl = ctx.latest_col(F.EBIT_D), ctx.latest_col(F.EQUITY), ctx.latest_col(F.TOTAL_LIABILITIES)
    z = (6.56 * F.safe_divide(ca - cl, ta) + 3.26 * F.safe_divide(re_, ta)
         + 6.72 * F.safe_divide(ebit, ta) + 1.05 * F.safe_divide(bve, tl))
    points = pd.Series(np.select([z > 2.6, z >= 1.1], [1.0, 0.5], default=0.0), index=z.index).where(z.notna())
    return _frame(ctx.index, z, points, z > 2.6, **{
        F.CURRENT_ASSETS: ca, F.CURRENT_LIABILITIES: cl, F.TOTAL_ASSETS: ta, F.RETAINED_EARNINGS: re_,
        "EBIT (reported or operating income)": ebit, F.EQUITY: bve, F.TOTAL_LIABILITIES: tl})


def _explain_altman(r: Mapping[str, Any], cur: str) -> str:
    z = r.get("value")
    if is_missing(z):
        text = missing_text(r, [F.RETAINED_EARNINGS, F.TOTAL_LIABILITIES, F.TOTAL_ASSETS, F.CURRENT_ASSETS,
                                F.CURRENT_LIABILITIES, F.EQUITY, "EBIT (reported or operating income)"])
        return f"Not on file: {text or 'total assets or total liabilities not positive'}."
    zone = "safe" if z > 2.6 else ("grey" if z >= 1.1 else "distress")
    return f"Altman Z'' {z:.2f}: {zone} zone (safe > 2.6, distress < 1.1)."


# =========================================================================== free cash flow

def fcf_margin(ctx: Context) -> pd.DataFrame:
    """FCF margin = free cash flow / Total Revenue, scoring year (%).

    FCF = reported, else Operating Cash Flow + Capital Expenditure. Points: 0 at
    <= 0% rising to 1 at 20%. Pass: >= 10%. No revenue (<= 0): fails.
    """
    fcf, rev = ctx.latest_col(F.FCF_D), ctx.latest_col(F.REVENUE)
    m = F.safe_divide(fcf, rev)
    points = _ramp(m, 0.0, 0.20).where(~(rev.le(0) & fcf.notna()), 0.0)
    return _frame(ctx.index, m, points, m >= 0.10, **{"Free cash flow": fcf, F.REVENUE: rev})


def _explain_fcf_margin(r: Mapping[str, Any], cur: str) -> str:
    if r.get("status") == NOT_ON_FILE:
        return f"Not on file: {missing_text(r, ['Free cash flow', F.REVENUE])}."
    if is_missing(r.get("value")):
        return f"Free cash flow {money(r['Free cash flow'], cur)} with no revenue."
    return f"Free cash flow {money(r['Free cash flow'], cur)} on revenue {money(r[F.REVENUE], cur)}: margin {pct(r['value'])}."


def fcf_conversion(ctx: Context) -> pd.DataFrame:
    """FCF conversion = free cash flow / Net Income, scoring year (%).

    Points: 0 at 50% rising to 1 at 100%. Pass: >= 80%. With a net loss the
    ratio is not meaningful, so the cash decides: positive FCF passes (cash
    beats the accounts), FCF <= 0 fails.
    """
    fcf, ni = ctx.latest_col(F.FCF_D), ctx.latest_col(F.NET_INCOME)
    c = F.safe_divide(fcf, ni)
    loss = ni.le(0) & fcf.notna()
    points = _ramp(c, 0.5, 1.0).where(~loss, (fcf > 0).astype(float))
    passed = (c >= 0.8) | (loss & fcf.gt(0))
    return _frame(ctx.index, c, points, passed, **{"Free cash flow": fcf, F.NET_INCOME: ni})


def _explain_fcf_conv(r: Mapping[str, Any], cur: str) -> str:
    fcf, ni = r.get("Free cash flow"), r.get(F.NET_INCOME)
    if r.get("status") == NOT_ON_FILE:
        return f"Not on file: {missing_text(r, ['Free cash flow', F.NET_INCOME])}."
    if is_missing(r.get("value")):
        verdict = "positive free cash flow despite the loss" if fcf > 0 else "no free cash flow either"
        return f"Net income {money(ni, cur)} is not positive, free cash flow {money(fcf, cur)}: {verdict}."
    return f"Free cash flow is {pct(r['value'])} of net income ({money(fcf, cur)} / {money(ni, cur)})."


def fcf_yield(ctx: Context) -> pd.DataFrame:
    """FCF yield = free cash flow (USD) / market capitalisation (USD) (%).

    FCF of the scoring year is converted from the reporting currency with the
    FX table (live rate, else the embedded table); market cap is in USD, dated,
    and used for the scoring year only (no market cap is on file at earlier
    year ends, so earlier years are not on file). Points: 0 at <= 0% rising to
    1 at 5%. Pass: >= 3%.
    """
    fcf = ctx.latest_col(F.FCF_D)
    fx = ctx.companies["fx_usd"]
    cap = ctx.companies["market_cap_usd"]
    fcf_usd = fcf * fx
    y = F.safe_divide(fcf_usd, cap)
    return _frame(ctx.index, y, _ramp(y, 0.0, 0.05), y >= 0.03,
                  **{"Free cash flow (USD)": fcf_usd, "Market cap (USD)": cap, "FX (USD per unit)": fx,
                     "Free cash flow": fcf, "Market cap date": ctx.companies.get("market_cap_as_of"),
                     "Market cap derived": ctx.companies.get("market_cap_derived"),
                     "Year end": ctx.companies.get("period_end")})


#: months between the fiscal year end and the market cap's date beyond which the FCF yield's explanation says that
#: it pairs an old year's cash flow with a newer price (a year plus the two months results take to come out)
STALE_YIELD_MONTHS = 14


def _explain_fcf_yield(r: Mapping[str, Any], cur: str) -> str:
    if is_missing(r.get("value")):
        if is_missing(r.get("Market cap (USD)")):
            return "Not on file: no market capitalisation dated for this fiscal year."
        if is_missing(r.get("FX (USD per unit)")):
            return f"Not on file: no {cur}/USD rate on file."
        return f"Not on file: {missing_text(r, ['Free cash flow']) or 'free cash flow not on file'}."
    derived = ", derived: price × shares" if bool(r.get("Market cap derived")) else ""  # a plain flag, never NaN
    when = "" if is_missing_text(r.get("Market cap date")) else f" ({r['Market cap date']}{derived})"
    gap = months_between(r.get("Year end"), r.get("Market cap date"))
    stale = (f" The market cap is dated {gap} months after the year end: an old year's cash flow against a newer "
             "price." if gap is not None and gap > STALE_YIELD_MONTHS else "")
    return (f"Free cash flow {money(r['Free cash flow (USD)'])} is {pct(r['value'])} of a "
            f"{money(r['Market cap (USD)'])} market cap{when}.{stale}")


def is_missing_text(x: Any) -> bool:
    """True for None, NaN and empty strings."""
    return x is None or (isinstance(x, float) and np.isnan(x)) or (isinstance(x, str) and not x.strip())


def fcf_consistency(ctx: Context) -> pd.DataFrame:
    """Share of the fiscal years on record with positive free cash flow (%).

    Denominator: every fiscal year on record (:func:`metrics.financials.record_span`),
    so a year without a reported FCF counts as not positive -- a missing year
    can never make the record look cleaner. Needs FCF in at least two years.
    Points = the share. Pass: positive in every year on record.
    """
    span = ctx.span
    fcf = ctx.panel[F.FCF_D].dropna()
    g = (fcf > 0).groupby(level="ticker")
    n = g.size().reindex(ctx.index)
    positive = g.sum().reindex(ctx.index)
    share = F.safe_divide(positive, span["n_years"]).where(n >= 2)
    return _frame(ctx.index, share, share, share >= 1.0, **{
        "Years on record": span["n_years"], "Years with FCF": n, "Years positive": positive,
        "First year": span["first_year"], "Last year": span["last_year"]})


def _explain_fcf_consistency(r: Mapping[str, Any], cur: str) -> str:
    if is_missing(r.get("value")):
        have = 0 if is_missing(r.get("Years with FCF")) else int(r["Years with FCF"])
        return f"Not on file: free cash flow needed in at least two fiscal years ({have} on file)."
    on_record, with_fcf = int(r["Years on record"]), int(r["Years with FCF"])
    text = (f"Free cash flow positive in {int(r['Years positive'])} of {on_record} fiscal years on record "
            f"(FY{int(r['First year'])}–FY{int(r['Last year'])})")
    if with_fcf < on_record:
        gap = on_record - with_fcf
        text += f"; {gap} year{'s' if gap > 1 else ''} without a figure on file count{'' if gap > 1 else 's'} as not positive"
    return text + "."


def capex_to_ocf(ctx: Context) -> pd.DataFrame:
    """Capex / operating cash flow, scoring year (%): are capital needs self-funded?

    |Capital Expenditure| / Operating Cash Flow. Points: 1 at <= 50% falling to
    0 at >= 100%. Pass: < 100% (capex paid from operating cash). Operating cash
    flow <= 0 with capex on file fails (no finite ratio).
    """
    capex, ocf = ctx.latest_col(F.CAPEX).abs(), ctx.latest_col(F.OCF)
    r = F.safe_divide(capex, ocf)
    points = _ramp(r, 1.0, 0.5)
    neg = ocf.le(0) & capex.notna()
    points = points.where(~neg, 0.0)
    return _frame(ctx.index, r, points, (r < 1.0) & ~neg, **{"Capex (absolute)": capex, F.OCF: ocf})


def _explain_capex(r: Mapping[str, Any], cur: str) -> str:
    if r.get("status") == NOT_ON_FILE:
        return f"Not on file: {missing_text(r, ['Capex (absolute)', F.OCF]).replace('Capex (absolute)', 'Capital Expenditure')}."
    if is_missing(r.get("value")):
        return f"Operating cash flow {money(r[F.OCF], cur)} is not positive: capex {money(r['Capex (absolute)'], cur)} is externally funded."
    word = "self-funded" if r["value"] < 1 else "not covered by operating cash flow"
    return f"Capex {money(r['Capex (absolute)'], cur)} is {pct(r['value'])} of operating cash flow: {word}."


def shareholder_returns_covered(ctx: Context) -> pd.DataFrame:
    """(Buybacks + dividends) / free cash flow, scoring year (%).

    Payouts = −(Repurchase Of Capital Stock + Cash Dividends Paid); both lines
    must be on file (a missing line is not read as zero; a filing that states
    no dividends were paid is recorded as a 0). Points: 1 at <= 75% falling to
    0 at >= 125%. Pass: payouts <= FCF. No payouts pass; payouts with FCF <= 0 fail.
    """
    bb, dv = ctx.latest_col(F.BUYBACKS), ctx.latest_col(F.DIVIDENDS)
    fcf = ctx.latest_col(F.FCF_D)
    payouts = -(bb + dv)
    r = F.safe_divide(payouts, fcf)
    points = _ramp(r, 1.25, 0.75)
    points = points.where(~(payouts.gt(0) & fcf.le(0)), 0.0).where(~payouts.le(0), 1.0)
    points = points.where(payouts.notna() & (fcf.notna() | payouts.le(0)))
    passed = (r <= 1.0) | payouts.le(0)
    return _frame(ctx.index, r, points, passed, **{
        "Buybacks + dividends": payouts, F.BUYBACKS: bb, F.DIVIDENDS: dv, "Free cash flow": fcf})


def _explain_payouts(r: Mapping[str, Any], cur: str) -> str:
    if r.get("status") == NOT_ON_FILE:
        return f"Not on file: {missing_text(r, [F.BUYBACKS, F.DIVIDENDS, 'Free cash flow'])}."
    p, fcf = r["Buybacks + dividends"], r["Free cash flow"]
    if p <= 0:
        return "No buybacks or dividends paid."
    if is_missing(r.get("value")):
        return f"Buybacks and dividends {money(p, cur)} paid despite non-positive free cash flow."
    return f"Buybacks and dividends {money(p, cur)} use {pct(r['value'])} of free cash flow {money(fcf, cur)}."


# =========================================================================== pricing power

def _gross_margins(ctx: Context) -> pd.Series:
    return F.safe_divide(ctx.panel[F.GROSS_PROFIT], ctx.panel[F.REVENUE])


def gross_margin(ctx: Context) -> pd.DataFrame:
    """Gross margin = Gross Profit / Total Revenue, scoring year (%).

    Pass: >= 40% (the moat heuristic). Points: 0 at 20% rising to 1 at 60%.
    No revenue (<= 0): fails.
    """
    gp, rev = ctx.latest_col(F.GROSS_PROFIT), ctx.latest_col(F.REVENUE)
    gm = F.safe_divide(gp, rev)
    points = _ramp(gm, 0.20, 0.60).where(~rev.le(0), 0.0)
    return _frame(ctx.index, gm, points, gm >= 0.40, **{F.GROSS_PROFIT: gp, F.REVENUE: rev})


def _explain_gm(r: Mapping[str, Any], cur: str) -> str:
    if r.get("status") == NOT_ON_FILE:
        return f"Not on file: {missing_text(r, [F.GROSS_PROFIT, F.REVENUE])}."
    if is_missing(r.get("value")):
        return "No revenue: no gross margin to defend."
    side = "above" if r["value"] >= 0.4 else "below"
    return f"Gross margin {pct(r['value'])}, {side} the 40% moat heuristic."


def _gross_margin_record(ctx: Context) -> pd.DataFrame:
    """Lowest and highest gross margin over every fiscal year on record; NaN unless all years have one."""
    if "gross_margin_record" in ctx.derived:
        return ctx.derived["gross_margin_record"]
    span = ctx.span
    g = _gross_margins(ctx).dropna().groupby(level="ticker")
    n = g.size().reindex(ctx.index)
    complete = (n >= 2) & n.eq(span["n_years"])
    ctx.derived["gross_margin_record"] = pd.DataFrame({
        "low": g.min().reindex(ctx.index).where(complete), "high": g.max().reindex(ctx.index).where(complete),
        "years": n, "on_record": span["n_years"]}, index=ctx.index)
    return ctx.derived["gross_margin_record"]


def gross_margin_stability(ctx: Context) -> pd.DataFrame:
    """Range of gross margin across the fiscal years on record (max − min, pp).

    Needs gross margin in every fiscal year on record (at least two): a missing
    year could hide the swing, so it leaves the check not on file. Points: 1 at
    0 pp falling to 0 at 15 pp. Pass: <= 5 pp (margins that do not swing with the cycle).
    """
    rec = _gross_margin_record(ctx)
    rng = rec["high"] - rec["low"]
    return _frame(ctx.index, rng, _ramp(rng, 0.15, 0.0), rng <= 0.05, **{
        "Lowest gross margin": rec["low"], "Highest gross margin": rec["high"],
        "Years": rec["years"], "Years on record": rec["on_record"]})


def _explain_gm_stab(r: Mapping[str, Any], cur: str) -> str:
    if is_missing(r.get("value")):
        have = 0 if is_missing(r.get("Years")) else int(r["Years"])
        need = "" if is_missing(r.get("Years on record")) else f" ({have} of {int(r['Years on record'])} on file)"
        return f"Not on file: gross margin needed in every fiscal year on record, at least two{need}."
    return (f"Gross margin moved within {pp(r['value'])} over {int(r['Years'])} years "
            f"({pct(r['Lowest gross margin'])} to {pct(r['Highest gross margin'])}).")


def gross_profitability(ctx: Context) -> pd.DataFrame:
    """Gross profitability = Gross Profit / Total Assets, scoring year (ratio; Novy-Marx 2013).

    Points: 0 at 0 rising to 1 at 0.5. Pass: >= 0.30. Total assets <= 0: not on file.
    """
    gp, ta = ctx.latest_col(F.GROSS_PROFIT), ctx.latest_col(F.TOTAL_ASSETS)
    g = F.safe_divide(gp, ta)
    return _frame(ctx.index, g, _ramp(g, 0.0, 0.5), g >= 0.30, **{F.GROSS_PROFIT: gp, F.TOTAL_ASSETS: ta})


def _explain_gp(r: Mapping[str, Any], cur: str) -> str:
    if is_missing(r.get("value")):
        return f"Not on file: {missing_text(r, [F.GROSS_PROFIT, F.TOTAL_ASSETS]) or 'total assets not positive'}."
    return f"Gross profit is {r['value']:.2f} of total assets {money(r[F.TOTAL_ASSETS], cur)} (Novy-Marx: >= 0.30 is high)."


def operating_margin(ctx: Context) -> pd.DataFrame:
    """Operating margin = Operating Income / Total Revenue, scoring year (%).

    Points: 0 at <= 0% rising to 1 at 30%. Pass: >= 15%. No revenue (<= 0): fails.
    """
    oi, rev = ctx.latest_col(F.OPERATING_INCOME), ctx.latest_col(F.REVENUE)
    om = F.safe_divide(oi, rev)
    points = _ramp(om, 0.0, 0.30).where(~(rev.le(0) & oi.notna()), 0.0)
    return _frame(ctx.index, om, points, om >= 0.15, **{F.OPERATING_INCOME: oi, F.REVENUE: rev})


def _explain_om(r: Mapping[str, Any], cur: str) -> str:
    if r.get("status") == NOT_ON_FILE:
        return f"Not on file: {missing_text(r, [F.OPERATING_INCOME, F.REVENUE])}."
    if is_missing(r.get("value")):
        return f"Operating income {money(r[F.OPERATING_INCOME], cur)} with no revenue."
    return f"Operating income {money(r[F.OPERATING_INCOME], cur)} on revenue {money(r[F.REVENUE], cur)}: margin {pct(r['value'])}."


#: a margin beyond ±100% comes from a revenue base too small to read as a trend
ABSURD_MARGIN = 1.0


def operating_margin_trend(ctx: Context) -> pd.DataFrame:
    """Change in operating margin from the first to the latest fiscal year on record (pp).

    Both ends need an operating margin (a missing end year is never replaced by
    a later one); at least two years. With a server-life assumption in force,
    both ends use the same basis: the adjusted operating income when both ends
    are adjusted, else the reported one (the assumption never compares an
    adjusted year with an unadjusted one). Pass: >= 0 pp (stable or expanding).
    Points: 1 at >= 0 pp falling to 0 at −10 pp.
    """
    span = ctx.span
    oi = ctx.panel[F.OPERATING_INCOME]
    reported = ctx.panel.get(F.OPERATING_INCOME_REPORTED, oi)
    adjusted = ctx.panel.get(F.GPU_ADJUSTED, pd.Series(False, index=oi.index)).fillna(False).astype(float)
    both_adjusted = F.at_span_ends(adjusted).reindex(ctx.index).min(axis=1).fillna(0).astype(bool)
    om_adj = F.at_span_ends(F.safe_divide(oi, ctx.panel[F.REVENUE])).reindex(ctx.index)
    om_rep = F.at_span_ends(F.safe_divide(reported, ctx.panel[F.REVENUE])).reindex(ctx.index)
    first = om_adj["first"].where(both_adjusted, om_rep["first"])
    last = om_adj["last"].where(both_adjusted, om_rep["last"])
    delta = (last - first).where(span["n_years"] >= 2)
    basis = np.where(both_adjusted, "server-life adjusted", "as reported")
    return _frame(ctx.index, delta, _ramp(delta, -0.10, 0.0), delta >= 0, **{
        "First margin": first, "Latest margin": last, "Basis": basis,
        "First year": span["first_year"], "Last year": span["last_year"]})


def _explain_om_trend(r: Mapping[str, Any], cur: str) -> str:
    if is_missing(r.get("value")):
        return "Not on file: operating margin needed in the first and latest fiscal years on record (at least two years)."
    verb = "widened" if r["value"] >= 0 else "narrowed"
    first, last = r["First margin"], r["Latest margin"]
    text = (f"Operating margin {verb} by {pp(abs(r['value']))} from {pct(first)} (FY{int(r['First year'])}) "
            f"to {pct(last)} (FY{int(r['Last year'])})")
    if abs(first) > ABSURD_MARGIN or abs(last) > ABSURD_MARGIN:
        text += ": a margin beyond ±100% comes from a very small revenue base, so read the change with care"
    return text + "."


def _stress(ctx: Context, floor_gm: pd.Series) -> pd.DataFrame:
    """Operating income and FCF if the gross margin fell to ``floor_gm``.

    Lost gross profit = Revenue × max(0, GM_latest − floor); it comes straight
    off operating income and FCF (costs below gross profit held constant).
    Points: 1 when stressed operating income and stressed FCF both stay
    positive ("pricing power holds"); 0.5 when operating income stays positive
    but FCF does not, or FCF is not on file (judged on profit only, never full
    points); 0 when operating income turns negative.
    """
    rev, gp = ctx.latest_col(F.REVENUE), ctx.latest_col(F.GROSS_PROFIT)
    oi, fcf = ctx.latest_col(F.OPERATING_INCOME), ctx.latest_col(F.FCF_D)
    gm = F.safe_divide(gp, rev)
    drop = (gm - floor_gm).clip(lower=0)
    lost = rev * drop
    s_oi = oi - lost
    s_om = F.safe_divide(s_oi, rev)
    s_fcf = fcf - lost
    holds = (s_oi > 0) & (s_fcf > 0)
    points = pd.Series(np.where(s_oi > 0, np.where(s_fcf > 0, 1.0, 0.5), 0.0), index=s_om.index).where(s_om.notna())
    return _frame(ctx.index, s_om, points, holds, **{
        "Gross margin": gm, "Stressed gross margin": gm - drop, "Stressed operating income": s_oi,
        "Stressed FCF": s_fcf, F.REVENUE: rev, F.GROSS_PROFIT: gp, F.OPERATING_INCOME: oi})


def normalisation_own_floor(ctx: Context) -> pd.DataFrame:
    """Normalisation stress (a): operating margin if gross margin falls to the company's weakest year (%).

    The weakest year is taken over every fiscal year on record, so gross margin
    is needed in all of them (at least two): a missing year might have been the
    weakest. Pass (1 point): stressed operating income and stressed FCF stay
    positive; 0.5 points when only operating income does (see :func:`_stress`).
    """
    return _stress(ctx, _gross_margin_record(ctx)["low"])


def segment_gross_margin_medians(panel: pd.DataFrame, segment: pd.Series, years: pd.Series | None = None) -> pd.DataFrame:
    """Median gross margin per (segment, fiscal year) over the companies with a gross margin that year.

    ``panel`` holds real companies (index ticker, fiscal_year); ``segment`` maps
    ticker -> segment; ``years`` (optional) limits each ticker to the years
    listed (its scorable years). Columns: median, count; index (segment, fiscal_year).
    """
    gm = F.safe_divide(panel[F.GROSS_PROFIT], panel[F.REVENUE]).dropna()
    if gm.empty:
        idx = pd.MultiIndex.from_arrays([[], []], names=["segment", "fiscal_year"])
        return pd.DataFrame({"median": pd.Series(dtype=float), "count": pd.Series(dtype=float)}, index=idx)
    t = gm.index.get_level_values("ticker")
    y = gm.index.get_level_values("fiscal_year")
    frame = pd.DataFrame({"segment": t.map(segment), "fiscal_year": y, "gm": gm.to_numpy()})
    return frame.groupby(["segment", "fiscal_year"])["gm"].agg(["median", "count"])


def normalisation_segment_median(ctx: Context) -> pd.DataFrame:
    """Normalisation stress (b): operating margin if gross margin falls to the segment median (%).

    The median of the gross margins that the company's segment peers report
    for the same fiscal year (at least three companies with a gross margin;
    fewer: not on file). Peers are every company of the data set, whichever
    rows are being scored, so a company's score never depends on which other
    years are shown. Pass (1 point): stressed operating income and FCF stay
    positive; 0.5 points when only operating income does.
    """
    medians = ctx.extra.get("segment_gm")
    seg = ctx.companies["segment"]
    year = ctx.companies["fiscal_year"]
    if medians is None or medians.empty:
        floor = pd.Series(np.nan, index=ctx.index)
        count = floor
    else:
        key = pd.MultiIndex.from_arrays([seg.to_numpy(), year.to_numpy()])
        looked = medians.reindex(key)
        floor = pd.Series(looked["median"].to_numpy(), index=ctx.index)
        count = pd.Series(looked["count"].to_numpy(), index=ctx.index)
    floor = floor.where(count >= 3)
    out = _stress(ctx, floor)
    out["Segment median gross margin"] = floor
    out["Peers with a gross margin"] = count
    return out


def _explain_stress(label: str, needs: str | None = None):
    def explain(r: Mapping[str, Any], cur: str) -> str:
        if is_missing(r.get("value")):
            gaps = missing_text(r, [F.REVENUE, F.GROSS_PROFIT, F.OPERATING_INCOME])
            if gaps:
                return f"Not on file: {gaps}."
            peers = r.get("Peers with a gross margin")
            if not is_missing(peers) and peers < 3:
                return f"Not on file: {int(peers)} segment peer(s) with a gross margin that year (three needed)."
            return f"Not on file: needs {needs or label}."
        gm, sgm = r["Gross margin"], r["Stressed gross margin"]
        s_oi, s_fcf = r["Stressed operating income"], r.get("Stressed FCF")
        if is_missing(s_fcf):
            cash = "free cash flow not on file (judged on operating income only, half points at most)"
        else:
            cash = f"FCF {money(s_fcf, cur)}"
        if s_oi <= 0:
            verdict = "loss-making: pricing power does not hold"
        elif not is_missing(s_fcf) and s_fcf > 0:
            verdict = "profitable and cash-generative: pricing power holds"
        elif is_missing(s_fcf):
            verdict = "still profitable"
        else:
            verdict = "profitable but burning cash: holds on profit only"
        if gm <= sgm + 1e-12:
            return (f"Gross margin {pct(gm)} is already at or below {label}; operating margin {pct(r['value'])}, "
                    f"{cash}: {verdict}.")
        return f"At {label} ({pct(sgm)} gross margin) operating margin would be {pct(r['value'])}, {cash}: {verdict}."
    return explain


# =========================================================================== registry

BS, FC, PP = "balance_sheet", "free_cash_flow", "pricing_power"

CHECKS: list[Check] = [
    Check("net_debt_to_ebitda", BS, "Net debt / EBITDA", "x", "< 3.0x (A < 2x, BBB 2–3x, BB 3.5–5x, B 5–7x); net cash passes",
          "(Total Debt − Cash & ST investments) / EBITDA", "S&P / Moody's leverage bands for industrials",
          "How many years of EBITDA would repay net debt. Net cash counts as strong (a negative multiple; "
          "'net cash' when EBITDA is not on file).",
          net_debt_to_ebitda, _explain_net_debt),
    Check("interest_coverage", BS, "Interest coverage", "x", ">= 2.5x (BBB synthetic rating)",
          "EBIT / Interest Expense", "Damodaran, synthetic ratings for large non-financial firms",
          "How many times operating profit covers interest; mapped to a synthetic credit rating.",
          interest_coverage, _explain_interest),
    Check("current_ratio", BS, "Current ratio", "x", "> 1.0x", "Current Assets / Current Liabilities",
          "Graham & Dodd liquidity test", "Whether short-term assets cover short-term liabilities.",
          current_ratio, _explain_current),
    Check("leverage_trend", BS, "Leverage trend", "x", "debt / EBITDA up by at most 0.25x",
          "Debt_last / EBITDA_last − Debt_first / EBITDA_first", "Rating-agency leverage trend analysis",
          "Whether debt has grown faster than earnings from the first to the latest fiscal year on record, "
          "in turns of EBITDA.",
          leverage_trend, _explain_leverage),
    Check("refinancing_pressure", BS, "Refinancing pressure", "x", "<= 0.5x",
          "Current Debt / (Cash & ST investments + Operating Cash Flow)", "Liquidity coverage, Moody's liquidity analysis",
          "Debt due within a year relative to cash on hand plus a year of operating cash flow.",
          refinancing_pressure, _explain_refi),
    Check("altman_z", BS, "Altman Z''", "score", "> 2.6 safe; < 1.1 distress",
          "6.56 WC/TA + 3.26 RE/TA + 6.72 EBIT/TA + 1.05 BVE/TL", "Altman (2000), Z'' for non-manufacturers",
          "Bankruptcy-risk score from working capital, retained earnings, EBIT and book equity.",
          altman_z, _explain_altman),
    Check("fcf_margin", FC, "FCF margin", "percent", ">= 10%", "Free Cash Flow / Total Revenue",
          "Common quality screen (e.g. Morningstar cash-flow health)", "Share of revenue left as free cash after capex.",
          fcf_margin, _explain_fcf_margin),
    Check("fcf_conversion", FC, "FCF conversion (FCF / net income)", "percent", ">= 80%", "Free Cash Flow / Net Income",
          "Earnings-quality heuristic (cash conversion)", "How much of accounting profit turns into free cash.",
          fcf_conversion, _explain_fcf_conv),
    Check("fcf_yield", FC, "FCF yield", "percent", ">= 3%", "Free Cash Flow (USD) / Market Cap (USD)",
          "Valuation screen; currency-consistent via FX", "Free cash flow relative to what the market pays for the company.",
          fcf_yield, _explain_fcf_yield),
    Check("fcf_consistency", FC, "FCF consistency", "percent", "positive in every year",
          "years with FCF > 0 / fiscal years on record", "Simply Wall St-style consistency check",
          "Whether free cash flow has been positive in every fiscal year on record (a year without a figure is not positive).",
          fcf_consistency, _explain_fcf_consistency),
    Check("capex_to_ocf", FC, "Capex / operating cash flow", "percent", "< 100% (self-funded)",
          "|Capital Expenditure| / Operating Cash Flow", "Self-funding test for capital intensity",
          "Whether capital spending is paid out of operating cash flow.",
          capex_to_ocf, _explain_capex),
    Check("shareholder_returns_covered", FC, "Buybacks + dividends covered", "percent", "<= 100% of FCF",
          "−(Repurchase Of Capital Stock + Cash Dividends Paid) / Free Cash Flow", "Payout sustainability",
          "Whether buybacks and dividends are paid from free cash flow rather than debt.",
          shareholder_returns_covered, _explain_payouts),
    Check("gross_margin", PP, "Gross margin", "percent", ">= 40%", "Gross Profit / Total Revenue",
          "Moat heuristic (Buffett; Morningstar)", "Share of revenue left after direct costs: a sign of pricing power.",
          gross_margin, _explain_gm, needs=(F.GROSS_PROFIT,)),
    Check("gross_margin_stability", PP, "Gross margin stability", "pp", "range <= 5 pp",
          "max − min of annual gross margin", "GuruFocus-style 'current vs history'",
          "Whether gross margin holds steady through every fiscal year on record.",
          gross_margin_stability, _explain_gm_stab, needs=(F.GROSS_PROFIT,)),
    Check("gross_profitability", PP, "Gross profitability", "ratio", ">= 0.30", "Gross Profit / Total Assets",
          "Novy-Marx (2013), 'The other side of value'", "Gross profit earned per dollar of assets.",
          gross_profitability, _explain_gp, needs=(F.GROSS_PROFIT,)),
    Check("operating_margin", PP, "Operating margin", "percent", ">= 15%", "Operating Income / Total Revenue",
          "Profitability screen", "Share of revenue left after all operating costs.",
          operating_margin, _explain_om, needs=(F.OPERATING_INCOME,)),
    Check("operating_margin_trend", PP, "Operating margin trend", "pp", ">= 0 pp",
          "OM_latest − OM_first", "Margin trajectory", "Whether operating margin widened or narrowed.",
          operating_margin_trend, _explain_om_trend, needs=(F.OPERATING_INCOME,)),
    Check("normalisation_own_floor", PP, "Stress: own weakest gross margin", "percent", "operating income and FCF stay positive",
          "(OI − Revenue × (GM − GM_min)) / Revenue", "Margin-normalisation stress test",
          "Operating margin and FCF if gross margin fell back to the company's weakest year on record.",
          normalisation_own_floor, _explain_stress("its weakest year's gross margin", "a gross margin in every fiscal year on record"), needs=(F.GROSS_PROFIT, F.OPERATING_INCOME)),
    Check("normalisation_segment_median", PP, "Stress: segment median gross margin", "percent", "operating income and FCF stay positive",
          "(OI − Revenue × (GM − GM_segment_median)) / Revenue", "Margin-normalisation stress test",
          "Operating margin and FCF if gross margin fell to the segment peers' median of the same year.",
          normalisation_segment_median, _explain_stress("the segment median gross margin"), needs=(F.GROSS_PROFIT, F.OPERATING_INCOME)),
]

CHECKS_BY_ID: dict[str, Check] = {c.id: c for c in CHECKS}


def register(check: Check) -> None:
    """Add a check (used by the loop module); ids are unique."""
    if check.id in CHECKS_BY_ID:
        return
    CHECKS.append(check)
    CHECKS_BY_ID[check.id] = check


def checks_of(pillar: str, debt_basis: str = "reported") -> list[Check]:
    """The scored checks of ``pillar``: with ``debt_basis="adjusted"`` a check of that basis takes the
    place of the check it replaces (adjusted net debt / EBITDA for the reported one)."""
    chosen = [c for c in CHECKS if c.pillar == pillar and c.basis in (None, debt_basis)]
    substitute = {c.replaces: c for c in chosen if c.replaces}
    return [substitute.get(c.id, c) for c in chosen if not c.replaces]
