"""Score history: every fiscal year on file scored with the same rules, and what changed since a refresh.

For each fiscal year Y, a company is scored as it stood at the end of Y, by the
headline rules: its statements up to Y (a partial Y that the scoring-year
rule would skip has no point), the loop deals announced by the end of the month its Y ends in, the commitments
disclosed by then, and the investor's current assumptions (server life, debt
basis, weights). Market caps are not kept by date, so FCF yield is n.a. in
every historical year (it scores zero points like any n.a. check): a history
point and the headline score of the same year can differ by that check and by
deals announced after the year end. Pure pandas; no Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from metrics import loop as L
from metrics.checks import CHECKS, PILLARS, Context
from metrics.scoring import (
    Adjustments,
    Assumptions,
    EQUAL_WEIGHTS,
    build_context,
    composite_score,
    grade,
    pillar_scores,
)

HISTORY_COLUMNS = ["ticker", "fiscal_year", "period_end", *PILLARS, "composite", "grade"]
LOOP_CHECKS = [c for c in CHECKS if c.pillar == "loop_exposure"]


SEP = "@"


def _replicate(table: pd.DataFrame, years: list[int], upto: pd.Series | None = None,
               date_column: str | None = None) -> pd.DataFrame:
    """``table`` once per history year with tickers renamed ``TICKER@YEAR``.

    With ``upto`` (period end per pseudo ticker) and ``date_column``, a row is kept
    only when its date is on or before that pseudo company's period end.
    """
    if table.empty:
        return table
    parts = []
    for year in years:
        part = table.assign(ticker=table["ticker"] + f"{SEP}{year}")
        if upto is not None and date_column is not None:
            when = pd.to_datetime(part["ticker"].map(upto), errors="coerce")
            part = part[pd.to_datetime(part[date_column], errors="coerce") <= when]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _half_year_end(dates: pd.Series) -> pd.Series:
    """The last 30 June or 31 December on or before each date (no look-ahead)."""
    d = pd.to_datetime(dates)
    june = pd.to_datetime(d.dt.year.astype(str) + "-06-30")
    dec_before = pd.to_datetime((d.dt.year - 1).astype(str) + "-12-31")
    return june.where(d >= june, dec_before).where(d.dt.strftime("%m-%d") != "12-31", d)


def score_history(statements: pd.DataFrame, market: pd.DataFrame, universe: pd.DataFrame, fx: pd.DataFrame,
                  deals: pd.DataFrame | None = None, concentration: pd.DataFrame | None = None,
                  assumptions: Assumptions | None = None, adjustments: Adjustments | None = None,
                  weights: Mapping[str, float] | None = None, years: list[int] | None = None) -> pd.DataFrame:
    """One row per (ticker, fiscal year) the headline rules would score: pillar scores, composite and grade.

    All years are scored in one pass: company T at year Y becomes the pseudo
    company ``T@Y`` holding the statements up to Y (segment medians are taken
    within the same year). ``deals``/``concentration`` given: the loop pillar uses
    the deals announced by the last 30 June or 31 December on or before each
    company's period end (one loop context per half-year; no look-ahead).
    Commitments count only when disclosed by the company's period end.
    """
    weights = dict(weights or EQUAL_WEIGHTS)
    assumptions = assumptions or Assumptions()
    years = sorted(int(y) for y in statements["fiscal_year"].unique()) if years is None else sorted(years)
    if not years or statements.empty:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    pseudo = pd.concat([statements[statements["fiscal_year"] <= y].assign(ticker=lambda f, y=y: f["ticker"] + f"{SEP}{y}")
                        for y in years], ignore_index=True)
    uni = pd.concat([universe.assign(ticker=universe["ticker"] + f"{SEP}{y}", segment=universe["segment"] + f"{SEP}{y}")
                     for y in years], ignore_index=True)
    adj = adjustments or Adjustments()
    # period ends of the pseudo companies' own years, for commitments known by then
    pe = pseudo[pseudo["fiscal_year"] == pseudo["ticker"].str.rsplit(SEP, n=1).str[1].astype(int)]
    period_end = pe.groupby("ticker")["period_end"].first()
    pseudo_adj = Adjustments(_replicate(adj.commitments, years, period_end, "as_of"),
                             _replicate(adj.useful_lives, years), _replicate(adj.servers, years))
    ctx = build_context(pseudo, market.iloc[0:0], uni, fx, None, assumptions, pseudo_adj)
    own_year = ctx.index.str.rsplit(SEP, n=1).str[1].astype(int)
    keep = ctx.index[ctx.companies["fiscal_year"].to_numpy() == own_year]
    results = {c.id: c.compute(ctx) for c in CHECKS if c.pillar != "loop_exposure"}
    has_loop = deals is not None and concentration is not None
    if has_loop:
        results.update(_loop_results(ctx, keep, deals, concentration, set(universe["ticker"])))
    p = pillar_scores(results, ctx.index, has_loop, assumptions.debt_basis).loc[keep]
    comp = composite_score(p, weights)
    out = pd.DataFrame({"ticker": keep.str.rsplit(SEP, n=1).str[0], "fiscal_year": own_year[ctx.index.isin(keep)],
                        "period_end": ctx.companies.loc[keep, "period_end"].to_numpy()})
    for pid in PILLARS:
        out[pid] = p[pid].to_numpy()
    out["composite"] = comp.to_numpy()
    out["grade"] = grade(comp).to_numpy()
    return out[HISTORY_COLUMNS].sort_values(["ticker", "fiscal_year"], ignore_index=True)


def _loop_results(ctx, keep: pd.Index, deals, concentration, listed: set[str]) -> dict[str, pd.DataFrame]:
    """Loop checks of the pseudo companies ``keep``, each with the loop as of its half-year end."""
    as_of = _half_year_end(pd.Series(pd.to_datetime(ctx.companies.loc[keep, "period_end"]).to_numpy(), index=keep))
    frames: dict[str, list[pd.DataFrame]] = {c.id: [] for c in LOOP_CHECKS}
    for when, group in as_of.groupby(as_of):
        real = group.index.str.rsplit(SEP, n=1).str[0]
        sub = Context(panel=ctx.panel.iloc[0:0], latest=ctx.latest.loc[group.index].set_axis(real),
                      companies=ctx.companies.loc[group.index].set_axis(real),
                      loop=L.loop_context(deals, concentration, listed, when))
        for c in LOOP_CHECKS:
            frames[c.id].append(c.compute(sub).set_axis(group.index))
    return {cid: pd.concat(parts).reindex(ctx.index) if parts else
            pd.DataFrame({"value": np.nan, "points": np.nan, "passed": np.nan}, index=ctx.index)
            for cid, parts in frames.items()}


def grade_move(history: pd.DataFrame, ticker: str) -> str:
    """'Moved from B to C since FY2024' / 'Held grade B since FY2023' / '' (fewer than two graded years)."""
    h = history[(history["ticker"] == ticker) & (history["grade"] != "n.a.")].sort_values("fiscal_year")
    if len(h) < 2:
        return ""
    first, last = h.iloc[0], h.iloc[-1]
    since = f"since FY{int(first['fiscal_year'])}"
    if first["grade"] == last["grade"]:
        return f"Held grade {last['grade']} {since} (FY{int(last['fiscal_year'])}: composite {last['composite']:.0f})."
    return (f"Moved from {first['grade']} to {last['grade']} {since} (composite {first['composite']:.0f} → "
            f"{last['composite']:.0f} in FY{int(last['fiscal_year'])}).")


def changes(now: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """Per ticker in both score tables: composite and grade before and now, and whether either changed."""
    cols = ["composite", "grade", "fiscal_year"]
    both = now[cols].merge(before[cols], left_index=True, right_index=True, suffixes=("_now", "_before"))
    moved = (both["grade_now"] != both["grade_before"]) | ~np.isclose(
        both["composite_now"].astype(float).fillna(-1), both["composite_before"].astype(float).fillna(-1))
    both["changed"] = moved
    return both
