"""Pillar scores, composite, letter grades and sector-relative mode.

Rules (also on the Methodology page):

* **Pillar score** (0–100) = 100 × Σ points / number of checks in the pillar.
  A check that cannot be computed scores 0 points: a missing check never counts
  as a pass, and removing an input can never raise a pillar score.
* **Status**: a pillar with fewer than half of its checks computable is
  "insufficient data": shown, flagged, and excluded from the composite.
* **Composite** = weighted mean of the pillar scores with enough data
  (weights from the preset, re-normalised over those pillars); n.a. when fewer
  than two weighted pillars have enough data (one pillar alone is not a rating).
* **Grade**: A >= 80, B >= 65, C >= 50, D >= 35, else F.
* **Sector-relative mode**: each score is replaced by its percentile rank
  (0–100) among companies of the same segment that have that score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from metrics import depreciation as D
from metrics import financials as F
from metrics.checks import CHECKS, PILLARS, Context, checks_of

GRADE_BANDS: list[tuple[float, str]] = [(80, "A"), (65, "B"), (50, "C"), (35, "D"), (-np.inf, "F")]
STATUS_OK = "ok"
STATUS_INSUFFICIENT = "insufficient data"
STATUS_NO_LOOP = "n.a. — no loop data"
EQUAL_WEIGHTS: dict[str, float] = {p: 1.0 for p in PILLARS}
MIN_PILLARS_FOR_COMPOSITE = 2


DEBT_BASES = ("reported", "adjusted")


@dataclass(frozen=True)
class Assumptions:
    """What the investor chose: server/GPU useful life (None = as reported) and the debt basis scored."""

    gpu_life: float | None = None
    debt_basis: str = "reported"

    def __post_init__(self) -> None:
        if self.debt_basis not in DEBT_BASES:
            raise ValueError(f"debt basis must be one of {DEBT_BASES}")
        if self.gpu_life is not None and not 1.0 <= float(self.gpu_life) <= 15.0:
            raise ValueError("server life must be between 1 and 15 years")


@dataclass
class Adjustments:
    """Sourced tables behind the assumptions: commitments, disclosed server lives, gross servers PP&E."""

    commitments: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())
    useful_lives: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())
    servers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())


def build_context(statements: pd.DataFrame, market: pd.DataFrame, universe: pd.DataFrame,
                  fx: pd.DataFrame, loop=None, assumptions: Assumptions | None = None,
                  adjustments: Adjustments | None = None, commitments_upto=None) -> Context:
    """Turn the canonical tables into the wide inputs the checks read.

    Each company is scored on its scoring year (the latest fiscal year with all
    three statements on file, :func:`metrics.financials.scoring_rows`); later
    partial years stay in ``full_panel`` only, out of every check. Market cap is
    converted to USD with the FX table (price currency); a missing rate leaves
    it missing. ``fx_usd`` is the rate of the statement currency of the scoring year.
    """
    assumptions = assumptions or Assumptions()
    adjustments = adjustments or Adjustments()
    uni = universe.drop_duplicates("ticker").set_index("ticker")
    adjust = None
    if not adjustments.useful_lives.empty:
        def adjust(panel: pd.DataFrame) -> pd.DataFrame:
            return D.apply_gpu_life(panel, adjustments.useful_lives, adjustments.servers, assumptions.gpu_life)
    full_panel = F.build_panel(_in_universe(statements, uni.index), adjust)
    latest = F.scoring_rows(full_panel)
    panel = F.up_to_scoring_year(full_panel, latest["fiscal_year"])
    rates = fx.set_index("currency")["usd_per_unit"] if not fx.empty else pd.Series(dtype=float)
    mk = market.drop_duplicates("ticker", keep="last").set_index("ticker").reindex(uni.index)
    companies = pd.DataFrame(index=uni.index)
    companies["name"] = uni["name"]
    companies["segment"] = uni["segment"]
    companies["subsegment"] = uni["subsegment"]
    companies["currency"] = latest["currency"].reindex(uni.index)
    companies["fiscal_year"] = latest["fiscal_year"].reindex(uni.index)
    companies["latest_fiscal_year"] = latest["latest_fiscal_year"].reindex(uni.index)
    companies["period_end"] = latest["period_end"].reindex(uni.index)
    companies["coverage"] = F.input_coverage(latest).reindex(uni.index)
    companies["fx_usd"] = companies["currency"].map(rates).astype(float)
    companies["market_cap_usd"] = (mk["market_cap"] * mk["price_currency"].map(rates)).astype(float)
    companies["market_cap_as_of"] = mk["as_of"]
    companies["market_cap_source"] = mk["source"]
    companies.index.name = "ticker"
    ctx = Context(panel=panel, latest=latest, companies=companies, loop=loop, full_panel=full_panel,
                  assumptions=assumptions)
    if not adjustments.commitments.empty:
        ctx.extra["commitments"] = adjustments.commitments
        ctx.extra["commitments_upto"] = commitments_upto
    return ctx


def _in_universe(statements: pd.DataFrame, tickers: pd.Index) -> pd.DataFrame:
    """Rows of companies in the universe; no copy when every company is (the common case).

    Tested on the distinct tickers with a set: pandas' ``isin`` on Arrow strings
    costs ~40 ms for 5,000 companies.
    """
    universe = set(tickers)
    distinct = pd.unique(statements["ticker"])
    known = [t for t in distinct if t in universe]
    return statements if len(known) == len(distinct) else statements[statements["ticker"].isin(known)]


def run_checks(ctx: Context) -> dict[str, pd.DataFrame]:
    """Every registered check over every company: {check id: result frame}."""
    return {c.id: c.compute(ctx) for c in CHECKS}


def pillar_scores(results: Mapping[str, pd.DataFrame], index: pd.Index, has_loop_data: bool,
                  debt_basis: str = "reported") -> pd.DataFrame:
    """Per pillar: ``<pillar>`` score (0–100 or NaN), ``<pillar>_status``, ``<pillar>_computable``."""
    out = pd.DataFrame(index=index)
    for pillar in PILLARS:
        checks = checks_of(pillar, debt_basis)
        if pillar == "loop_exposure" and (not has_loop_data or not checks):
            out[pillar] = np.nan
            out[f"{pillar}_status"] = STATUS_NO_LOOP
            out[f"{pillar}_computable"] = 0
            continue
        pts = pd.concat([results[c.id]["points"].reindex(index) for c in checks], axis=1)
        computable = pts.notna().sum(axis=1)
        score = 100.0 * pts.fillna(0.0).sum(axis=1) / len(checks)
        enough = computable * 2 >= len(checks)
        out[pillar] = score.where(enough)
        out[f"{pillar}_status"] = np.where(enough, STATUS_OK, STATUS_INSUFFICIENT)
        out[f"{pillar}_computable"] = computable
        out[f"{pillar}_partial"] = score  # shown with the insufficient flag, never used in the composite
    return out


def debt_basis(ctx: Context) -> str:
    """The debt basis scored in ``ctx`` ("reported" unless the investor chose "adjusted")."""
    return ctx.assumptions.debt_basis if ctx.assumptions is not None else "reported"


def composite_score(pillars: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    """Weighted mean of pillar scores with enough data; NaN if fewer than two (0–100)."""
    num = pd.Series(0.0, index=pillars.index)
    den = pd.Series(0.0, index=pillars.index)
    for p in PILLARS:
        w = float(weights.get(p, 0.0) or 0.0)
        if w <= 0:
            continue
        s = pillars[p]
        ok = s.notna()
        num = num + (s.fillna(0.0) * w).where(ok, 0.0)
        den = den + pd.Series(np.where(ok, w, 0.0), index=pillars.index)
    n_ok = sum(pillars[p].notna().astype(int) for p in PILLARS if float(weights.get(p, 0.0) or 0.0) > 0)
    return (num / den.where(den > 0)).where(n_ok >= MIN_PILLARS_FOR_COMPOSITE).astype(float)


def grade(score: pd.Series | float) -> pd.Series | str:
    """Letter grade A–F of a 0–100 score; 'n.a.' where missing."""
    if isinstance(score, pd.Series):
        bins = [-np.inf, 35, 50, 65, 80, np.inf]
        g = pd.cut(score, bins=bins, labels=["F", "D", "C", "B", "A"], right=False).astype(object)
        return g.where(score.notna(), "n.a.")
    if score is None or (isinstance(score, float) and np.isnan(score)):
        return "n.a."
    for lo, letter in GRADE_BANDS:
        if score >= lo:
            return letter
    return "F"


def sector_relative(scores: pd.DataFrame, segment: pd.Series, columns: list[str]) -> pd.DataFrame:
    """Percentile rank (0–100) of each column within its segment; NaN stays NaN.

    Ranks use the average method, scaled so the best company of a segment gets
    100; a segment with one scored company gets 100 for it.
    """
    out = scores.copy()
    for col in columns:
        out[col] = scores[col].groupby(segment).rank(pct=True, method="average") * 100.0
    return out


def score_table(ctx: Context, results: Mapping[str, pd.DataFrame], weights: Mapping[str, float] | None = None,
                relative: bool = False) -> pd.DataFrame:
    """The ranked screening table: company facts, pillar scores, composite, grade and key metrics."""
    weights = dict(weights or EQUAL_WEIGHTS)
    has_loop = ctx.loop is not None
    pillars = pillar_scores(results, ctx.index, has_loop, debt_basis(ctx))
    table = ctx.companies.join(pillars)
    table["composite"] = composite_score(pillars, weights)
    if relative:
        table = sector_relative(table, table["segment"], list(PILLARS) + ["composite"])
    table["grade"] = grade(table["composite"])
    for c in CHECKS:
        table[c.id] = results[c.id]["value"].reindex(ctx.index)
        table[f"{c.id}_result"] = result_labels(results[c.id])
    table = table.sort_values(["composite", "market_cap_usd"], ascending=[False, False], na_position="last")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


def result_labels(frame: pd.DataFrame) -> pd.Series:
    """'pass' / 'fail' / 'n.a.' per company from a check frame."""
    passed = frame["passed"]
    na = frame["points"].isna()
    return pd.Series(np.where(na, "n.a.", np.where(passed.fillna(False).astype(bool), "pass", "fail")),
                     index=frame.index)
