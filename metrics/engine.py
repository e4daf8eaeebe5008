"""Scoring pipeline: canonical tables in, ranked table, scorecards and stress results out.

Pure pandas (no Streamlit); the screens and CLIs call these functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from metrics import depreciation as D
from metrics import history as H
from metrics import financials as F
from metrics import loop as L
from metrics.checks import CHECKS, PILLARS, Context, checks_of, explain_result
from metrics.format import is_missing, money
from metrics import adjusted as A  # noqa: F401 - registers the adjusted-debt check
from metrics.scoring import (
    EQUAL_WEIGHTS,
    Adjustments,
    Assumptions,
    base_rows,
    debt_basis,
    build_context,
    composite_score,
    grade,
    pillar_scores,
    provisional_note,
    run_checks,
    score_table,
)

#: the flat metrics of a scorecard: key -> check id (values are plain fractions / multiples)
CARD_METRICS = {
    "current_ratio": "current_ratio", "net_debt_to_ebitda": "net_debt_to_ebitda",
    "interest_coverage": "interest_coverage", "fcf_margin": "fcf_margin", "fcf_conversion": "fcf_conversion",
    "fcf_yield": "fcf_yield", "gross_margin": "gross_margin", "operating_margin": "operating_margin",
    "gross_margin_stability": "gross_margin_stability", "capex_to_ocf": "capex_to_ocf",
}


@dataclass
class Scored:
    """Everything computed for one set of inputs."""

    ctx: Context
    results: dict[str, pd.DataFrame]
    statements: pd.DataFrame
    market: pd.DataFrame
    universe: pd.DataFrame
    fx: pd.DataFrame
    adjustments: Adjustments | None = None
    as_of: pd.Timestamp | str | None = None
    basis: str = "annual"
    trailing: pd.DataFrame | None = None

    def table(self, weights: Mapping[str, float] | None = None, relative: bool = False) -> pd.DataFrame:
        """The ranked headline table (:func:`metrics.scoring.score_table`) with derived inputs, cycles and the
        provisional note; one row per company, its scoring year."""
        weights = dict(weights or EQUAL_WEIGHTS)
        if "base_rows" not in self.ctx.derived:  # weight-independent: computed once per scored context
            self.ctx.derived["base_rows"] = base_rows(self.ctx, self.results)
        t = score_table(self.ctx, self.results, weights, relative, base=self.ctx.derived["base_rows"])
        t["derived_inputs"] = self.derived_labels().reindex(t.index).fillna("")
        if self.ctx.loop is not None:
            x = L._inputs(self.ctx)
            t["on_cycle"] = x["cycle_count"].reindex(t.index).gt(0)
            t["cycle_count"] = x["cycle_count"].reindex(t.index)
        else:
            t["on_cycle"] = False
            t["cycle_count"] = np.nan
        t["provisional_note"] = [provisional_note(r, weights) for r in t.to_dict("records")]
        return t


    def derived_labels(self) -> pd.Series:
        """Per ticker, the scoring-year inputs derived from parts: "Total Debt = Current Debt + Long Term Debt; ..."

        Computed once per scored context (the table is rebuilt on every weight change).
        """
        if "derived_labels" not in self.ctx.derived:
            cells = F.derived_cells(self.ctx.panel)
            year = cells["ticker"].map(self.ctx.companies["fiscal_year"])
            cells = cells[cells["fiscal_year"] == year]
            text = cells["field"].map(_FIELD_LABELS).fillna(cells["field"]) + " = " + cells["formula"]
            self.ctx.derived["derived_labels"] = text.groupby(cells["ticker"]).agg("; ".join)
        return self.ctx.derived["derived_labels"]


#: readable names of the derived panel columns
_FIELD_LABELS = {F.EBITDA_D: "EBITDA", F.FCF_D: "Free cash flow"}


def newest_due(statements: pd.DataFrame, index: pd.Index, as_of: pd.Timestamp | str | None = None) -> pd.DataFrame:
    """Per company of ``index``, the newest fiscal year whose results are due by ``as_of`` (today when None):
    ``newest_due_year`` and ``newest_due_period_end``, rolled forward from the newest fiscal year on file
    (:func:`metrics.financials.newest_due_year`; computed once per distinct year end). Shown beside the score
    ("FY2026 results (year to 2026-06-30) not on file"), never scored."""
    out = pd.DataFrame({"newest_due_year": pd.Series(pd.NA, index=index, dtype="Int64"),
                        "newest_due_period_end": pd.Series(None, index=index, dtype=object)})
    st = statements[statements["ticker"].isin(index)]
    if st.empty:
        return out
    years = pd.to_numeric(st["fiscal_year"], errors="coerce")
    last = st.assign(_fy=years).dropna(subset=["_fy"]).sort_values("_fy").drop_duplicates("ticker", keep="last")
    last = last.set_index("ticker")
    as_of = as_of if as_of is not None else pd.Timestamp.now()
    keys = list(zip(last["_fy"].astype(int), last["period_end"].astype(str)))
    pairs = {k: F.newest_due_year(k[0], k[1], as_of) for k in set(keys)}
    out.loc[last.index, "newest_due_year"] = pd.array([pairs[k][0] for k in keys], dtype="Int64")
    out.loc[last.index, "newest_due_period_end"] = [pairs[k][1] for k in keys]
    return out


def score(statements: pd.DataFrame, market: pd.DataFrame, universe: pd.DataFrame, fx: pd.DataFrame,
          loop: L.LoopContext | None = None, assumptions: Assumptions | None = None,
          adjustments: Adjustments | None = None, as_of: pd.Timestamp | str | None = None,
          basis: str = "annual", trailing: pd.DataFrame | None = None) -> Scored:
    """Build the headline context (each company's scoring year, or its trailing twelve months with
    ``basis="ttm"``) and run every check once (the expensive step; weights are applied later). ``as_of``:
    the information date of the scoring years (None = all on file)."""
    ctx = build_context(statements, market, universe, fx, loop, assumptions, adjustments, as_of=as_of,
                        basis=basis, trailing=trailing)
    ctx.companies = ctx.companies.join(newest_due(statements, ctx.companies.index, as_of))
    return Scored(ctx, run_checks(ctx), statements, market, universe, fx, adjustments, as_of, basis, trailing)


def _clean(x: Any) -> Any:
    """JSON-safe scalar: NaN/inf -> None, numpy -> python."""
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, pd.Timestamp):
        return x.strftime("%Y-%m-%d")
    if x is None or (not isinstance(x, str) and pd.isna(x)):
        return None
    return x


#: check-input labels that name a derived panel column
_INPUT_FIELDS = {"EBITDA (reported or OI + D&A)": F.EBITDA_D, "Free cash flow": F.FCF_D,
                 "Free cash flow (USD)": F.FCF_D, "EBIT (reported or operating income)": F.OPERATING_INCOME}


def sources_for(statements: pd.DataFrame, ticker: str) -> list[dict[str, Any]]:
    """Every input value of a company with its fiscal year, period end, currency, source URL and basis note."""
    rows = statements[statements["ticker"] == ticker].sort_values(["field", "fiscal_year"])
    notes = rows["note"] if "note" in rows else pd.Series(None, index=rows.index, dtype=object)
    return [{"field": r.field, "fiscal_year": int(r.fiscal_year), "period_end": r.period_end,
             "currency": r.currency, "value": _clean(r.value), "source": r.source, "note": _clean(n)}
            for r, n in zip(rows.itertuples(), notes)]


def derived_for(ctx: Context, ticker: str) -> list[dict[str, Any]]:
    """The company's derived figures (every fiscal year scored), each with its formula ("derived: A + B")."""
    try:
        block = ctx.panel.loc[[ticker]]
    except KeyError:
        return []
    cells = F.derived_cells(block)
    return [{"field": r.field, "fiscal_year": int(r.fiscal_year), "value": _clean(r.value),
             "source": f"derived: {r.formula}"} for r in cells.sort_values(["field", "fiscal_year"]).itertuples()]


def history(scored: Scored, ticker: str) -> pd.DataFrame:
    """Per fiscal year: revenue, gross margin, FCF, net debt (reporting currency) for sparklines."""
    try:
        p = scored.ctx.panel.xs(ticker, level="ticker")
    except KeyError:
        return pd.DataFrame(columns=["revenue", "gross_margin", "fcf", "net_debt"])
    return pd.DataFrame({
        "revenue": p[F.REVENUE], "gross_margin": F.safe_divide(p[F.GROSS_PROFIT], p[F.REVENUE]),
        "fcf": p[F.FCF_D], "net_debt": p[F.NET_DEBT_D],
    })


def history_lists(panel: pd.DataFrame, column: str, index: pd.Index) -> pd.Series:
    """Per ticker the list of yearly values of ``column`` in fiscal-year order (for sparklines).

    A ticker without values gets an empty list. Vectorised: the values are
    sorted once and cut at ticker boundaries (no per-group pandas work), so
    5,000 companies take milliseconds.
    """
    s = panel[column].dropna()
    out = pd.Series([[] for _ in range(len(index))], index=index, dtype=object)
    if s.empty:
        return out
    s = s.sort_index(level=["ticker", "fiscal_year"])
    tickers = s.index.get_level_values("ticker").to_numpy()
    starts = np.flatnonzero(np.r_[True, tickers[1:] != tickers[:-1]])
    chunks = np.split(s.to_numpy(dtype=float), starts[1:])
    lists = pd.Series([c.tolist() for c in chunks], index=tickers[starts], dtype=object)
    hit = index.isin(lists.index)
    out[hit] = lists.reindex(index[hit]).to_numpy()
    return out


def scorecard(scored: Scored, ticker: str, weights: Mapping[str, float] | None = None,
              relative: bool = False, source_label: str = "Embedded data set",
              with_history: bool = True) -> dict[str, Any]:
    """One company's scorecard as a JSON-ready dict (see the CLI ``card --json``).

    ``with_history=False`` leaves out the score history (about a second the first
    time for the whole universe); the page builds it when its tab opens.
    """
    ticker = ticker.upper()
    if ticker not in scored.ctx.index:
        raise KeyError(ticker)
    weights = dict(weights or EQUAL_WEIGHTS)
    table = scored.table(weights, relative)
    row = table.loc[ticker]
    comp = scored.ctx.companies.loc[ticker]
    cur = comp["currency"] if isinstance(comp["currency"], str) else "USD"
    fy = comp["fiscal_year"]
    derived = derived_for(scored.ctx, ticker)
    derived_now = {d["field"]: d["source"] for d in derived if not is_missing(fy) and d["fiscal_year"] == int(fy)}
    pillars: dict[str, Any] = {}
    basis = debt_basis(scored.ctx)
    for pid, label in PILLARS.items():
        checks = []
        for c in checks_of(pid, basis):
            rec = scored.results[c.id].loc[ticker].to_dict()
            inputs = {k: _clean(v) for k, v in rec.items()
                      if k not in ("value", "points", "passed", "status", "Not reported", "Not applicable because")}
            derived_basis = {k: derived_now[f] for k in inputs if (f := _INPUT_FIELDS.get(k, k)) in derived_now
                             and inputs[k] is not None}
            checks.append({
                "id": c.id, "label": c.label, "value": _clean(rec["value"]), "unit": c.unit,
                "threshold": c.threshold, "result": rec["status"], "points": _clean(rec["points"]),
                "explanation": explain_result(c, rec, cur), "inputs": inputs, "derived_inputs": derived_basis,
                "formula": c.formula, "reference": c.reference, "help": c.help,
            })
        pillars[pid] = {"label": label, "score": _clean(row[pid]), "score_high": _clean(row[f"{pid}_high"]),
                        "status": row[f"{pid}_status"], "on_file": int(row[f"{pid}_on_file"]),
                        "applicable": int(row[f"{pid}_applicable"]), "checks": checks}
    scoring_year = None if is_missing(fy) else int(fy)
    due_year = None if is_missing(comp.get("newest_due_year")) else int(comp["newest_due_year"])
    due_end = _clean(comp.get("newest_due_period_end"))
    return {
        "ticker": ticker, "name": comp["name"], "segment": comp["segment"], "subsegment": _clean(comp["subsegment"]),
        "currency": cur if isinstance(comp["currency"], str) else None,
        "as_of": _clean(comp["period_end"]), "fiscal_year": scoring_year,
        "basis_label": str(comp["basis_label"]) if "basis_label" in comp.index else
        (f"FY{scoring_year}" if scoring_year else "n.a."),
        "newest_due_year": due_year, "newest_due_period_end": due_end,
        "scoring_note": F.scoring_note(scored.ctx.full_panel, ticker, scoring_year)
        if scored.ctx.full_panel is not None else "",
        "coverage": _clean(comp["coverage"]),
        "data_source": source_label, "mode": "sector-relative" if relative else "absolute",
        "weights": weights, "composite": _clean(row["composite"]), "grade": row["grade"],
        "composite_low": _clean(row["composite_low"]), "composite_high": _clean(row["composite_high"]),
        "provisional": bool(row["provisional"]), "provisional_note": row["provisional_note"],
        "checks_on_file": int(row["checks_on_file"]), "checks_applicable": int(row["checks_applicable"]),
        "rank": int(row["rank"]), "of": int(len(table)),
        "market_cap_usd": _clean(comp["market_cap_usd"]), "market_cap_as_of": _clean(comp["market_cap_as_of"]),
        "market_cap_source": _clean(comp["market_cap_source"]),
        "market_cap_derived": bool(comp["market_cap_derived"]),
        "pillars": pillars,
        "metrics": {k: _clean(scored.results[cid].loc[ticker, "value"]) for k, cid in CARD_METRICS.items()},
        "sources": sources_for(scored.statements, ticker),
        "derived": derived,
        "assumptions": assumptions_of(scored.ctx),
        **({"history": history_of(scored, ticker, weights)} if with_history else {}),
        "adjusted_debt": A.bridge(scored.ctx, ticker),
        "server_life": server_life_of(scored.ctx, ticker),
    }


def score_history_of(scored: Scored, weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Every scorable fiscal year scored by the headline's own function (:mod:`metrics.history`).

    Computed once per scored context and weights. The row of each company's
    scoring year equals its headline score (same inputs, same rules).
    """
    key = ("history", tuple(sorted((weights or EQUAL_WEIGHTS).items())))
    if key not in scored.ctx.derived:
        scored.ctx.derived[key] = H.score_history(
            scored.statements, scored.market, scored.universe, scored.fx, scored.ctx.loop,
            scored.ctx.assumptions, scored.adjustments, weights, scored.as_of)
    return scored.ctx.derived[key]


HISTORY_BASIS = ("every fiscal year scored by the headline's own rules (statements to that year; loop flows inside "
                 "it; backlog and cycles as they stood until the next fiscal year was on file, or today for the "
                 "scoring year; commitments at the year end). FCF yield is not on file before the scoring year: no "
                 "market cap dated at earlier year ends, so earlier years lose up to 20 points of the FCF pillar "
                 "for that reason alone")


def history_of(scored: Scored, ticker: str, weights: Mapping[str, float] | None = None) -> dict[str, Any]:
    """One company's score history, JSON-ready: rows per fiscal year and the grade move in words."""
    h = score_history_of(scored, weights)
    rows = h[h["ticker"] == ticker]
    return {"rows": [{k: _clean(v) for k, v in r.items() if k != "ticker"} for r in rows.to_dict("records")],
            "grade_move": H.grade_move(h, ticker), "basis": HISTORY_BASIS}


def assumptions_of(ctx: Context) -> dict[str, Any]:
    """The investor's assumptions behind a score, JSON-ready."""
    a = ctx.assumptions or Assumptions()
    return {"gpu_life_years": a.gpu_life, "gpu_life": D.gpu_life_label(a.gpu_life), "debt_basis": a.debt_basis}


def server_life_of(ctx: Context, ticker: str) -> dict[str, Any]:
    """The depreciation-life panel of a card: disclosed life, base, change in D&A and in operating margin.

    ``adjusted`` is False (with ``reason``) when the scoring year has no single
    disclosed server life or no servers PP&E / servers depreciation on file:
    such a company keeps its reported depreciation under any assumption.
    """
    row = ctx.latest.loc[ticker] if ticker in ctx.latest.index else pd.Series(dtype=object)
    life, base = row.get("gpu_life_reported"), row.get("gpu_base")
    fy = ctx.companies.at[ticker, "fiscal_year"] if ticker in ctx.companies.index else None
    reason = D.not_adjusted_reason(life, base, None if is_missing(fy) else int(fy))
    if reason:
        return {"adjusted": False, "reason": reason, "reported_life_years": _clean(life)}
    delta, rev = row.get("gpu_depreciation_change"), row.get(F.REVENUE)
    used = row.get("gpu_life_used")
    return {"adjusted": True, "reported_life_years": _clean(life), "life_used_years": _clean(used),
            "base": _clean(base), "base_basis": row.get("gpu_base_basis"),
            "depreciation_change": _clean(delta),
            "trace": (f"{money(base, ctx.companies.at[ticker, 'currency'])} / {float(used):g} − / {float(life):g} years"
                      if not is_missing(used) else ""),
            "operating_margin_change": _clean(-delta / rev + 0.0) if not is_missing(delta) and not is_missing(rev)
            and rev > 0 else None}


# --------------------------------------------------------------------------- stress

@dataclass
class StressResult:
    counterparty: str
    honoured: float
    table: pd.DataFrame  # per exposed company: before/after metrics and scores with deltas


def stress_test(scored: Scored, counterparty: str, honoured: float,
                weights: Mapping[str, float] | None = None) -> StressResult:
    """If ``counterparty`` honours only ``honoured`` (0–1) of its commitments.

    Only revenue the counterparty contributed inside each company's scoring
    fiscal year is cut (:func:`metrics.loop.lost_revenue`: period-true, the
    loop context's low-confidence choice honoured). Recomputes revenue, FCF, net
    debt / EBITDA, every check and every score. Loop-exposure checks (they
    measure the commitments) and historical stability are held at their
    pre-stress results. A check's points under stress are capped at its
    pre-stress points (a check not on file under stress scores 0), so a lower
    ``honoured`` never raises a score. ``reason`` says why a row shows n.a.
    """
    ctx = scored.ctx
    if ctx.loop is None:
        raise ValueError("the stress test needs loop data")
    weights = dict(weights or EQUAL_WEIGHTS)
    lost = L.lost_revenue(ctx, counterparty, honoured)
    exposed = lost.index[lost["exposed"]]
    on_ttm = ctx.companies["basis_label"].astype(str).str.startswith("TTM")
    s_statements = L.stressed_statements(scored.statements, ctx.latest, lost["lost_local"].where(~on_ttm))
    s_trailing = L.stressed_trailing(scored.trailing, lost["lost_local"].where(on_ttm))
    s_ctx = build_context(s_statements, scored.market, scored.universe, scored.fx, ctx.loop, ctx.assumptions,
                          scored.adjustments, as_of=scored.as_of, basis=scored.basis, trailing=s_trailing)
    s_ctx.extra = ctx.extra  # loop inputs are structural: reuse
    held = {c.id for c in CHECKS if c.pillar == "loop_exposure"} | set(L.STRESS_HELD_CHECKS)
    s_results = {}
    for c in CHECKS:
        before = scored.results[c.id]
        if c.id in held:
            s_results[c.id] = before
            continue
        s_results[c.id] = _capped(c.compute(s_ctx), before)
    basis = debt_basis(ctx)
    p_before = pillar_scores(scored.results, ctx.index, basis)
    p_after = pillar_scores(s_results, ctx.index, basis)
    c_before = composite_score(p_before, weights)
    c_after = composite_score(p_after, weights)
    rows = []
    for t in exposed:
        b_lat, a_lat = ctx.latest, s_ctx.latest
        row = {
            "ticker": t, "name": ctx.companies.at[t, "name"], "currency": ctx.companies.at[t, "currency"],
            "fiscal_year": ctx.companies.at[t, "fiscal_year"],
            "annual_from_counterparty_usd": lost.at[t, "annual_from_counterparty_usd"],
            "lost_revenue_usd": lost.at[t, "lost_usd"], "quantified": bool(lost.at[t, "quantified"]),
            "to_run_after_usd": lost.at[t, "to_run_after_usd"], "reason": lost.at[t, "reason"],
            "revenue_before": _get(b_lat, t, F.REVENUE), "revenue_after": _get(a_lat, t, F.REVENUE),
            "fcf_before": _get(b_lat, t, F.FCF_D), "fcf_after": _get(a_lat, t, F.FCF_D),
            "net_debt_to_ebitda_before": scored.results["net_debt_to_ebitda"].at[t, "value"],
            "net_debt_to_ebitda_after": s_results["net_debt_to_ebitda"].at[t, "value"],
            "composite_before": c_before.at[t, "composite"], "composite_after": c_after.at[t, "composite"],
        }
        for p in PILLARS:
            row[f"{p}_before"] = p_before.at[t, p]
            row[f"{p}_after"] = p_after.at[t, p]
        row["composite_delta"] = (row["composite_after"] - row["composite_before"]
                                  if not is_missing(row["composite_before"]) and not is_missing(row["composite_after"])
                                  else np.nan)
        row["grade_before"] = grade(row["composite_before"] if not is_missing(row["composite_before"]) else float("nan"))
        row["grade_after"] = grade(row["composite_after"] if not is_missing(row["composite_after"]) else float("nan"))
        rows.append(row)
    cols = ["ticker", "name", "currency", "fiscal_year", "annual_from_counterparty_usd", "lost_revenue_usd",
            "quantified", "to_run_after_usd", "reason", "revenue_before", "revenue_after", "fcf_before", "fcf_after",
            "net_debt_to_ebitda_before", "net_debt_to_ebitda_after", "composite_before", "composite_after",
            "composite_delta", "grade_before", "grade_after"] + [f"{p}_{w}" for p in PILLARS for w in ("before", "after")]
    table = pd.DataFrame(rows, columns=cols).set_index("ticker") if rows else pd.DataFrame(columns=cols).set_index("ticker")
    return StressResult(counterparty, honoured, table)


def _capped(after: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """A stressed check result whose points never exceed the unstressed ones (not on file counts as 0);
    a check that did not apply before the stress does not apply after it."""
    from metrics.checks import FAIL, NOT_APPLICABLE, NOT_ON_FILE, PASS

    out = after.copy()
    was_na = before["status"] == NOT_APPLICABLE
    pts = np.fmin(after["points"].fillna(0.0), before["points"].fillna(0.0))
    judged = before["points"].notna()
    out["points"] = pts.where(judged & ~was_na)
    passed = after["passed"].fillna(False).astype(bool) & before["passed"].fillna(False).astype(bool)
    out["status"] = np.where(was_na, NOT_APPLICABLE, np.where(out["points"].notna(),
                                                               np.where(passed, PASS, FAIL), NOT_ON_FILE))
    return out


def _get(frame: pd.DataFrame, t: str, col: str) -> float:
    try:
        v = frame.at[t, col]
    except KeyError:
        return float("nan")
    return float(v) if not is_missing(v) else float("nan")
