"""Score history: every scorable fiscal year scored by the headline's own function, and what changed since a refresh.

A company in fiscal year Y is the company key ``T@Y`` of a context built with
``years="all"`` (:func:`metrics.scoring.build_context`): the same inputs, the same
checks, the same pillar and composite rules as the headline, which is the
``years="scoring"`` context of the same tables. So the History row of a
company's scoring year equals its headline score for the same assumptions
(tested for every company). Earlier years read their point-in-time loop facts
as of the end of the next fiscal year on file (the state while that year was
the latest reported), and have no dated market cap (FCF yield not on file).
Pure pandas; no Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from metrics.checks import PILLARS
from metrics.scoring import (
    Adjustments,
    Assumptions,
    EQUAL_WEIGHTS,
    build_context,
    run_checks,
    score_rows,
)

HISTORY_COLUMNS = ["ticker", "fiscal_year", "period_end", "scoring_year", *PILLARS, "composite", "composite_low",
                   "composite_high", "provisional", "grade"]


def score_history(statements: pd.DataFrame, market: pd.DataFrame, universe: pd.DataFrame, fx: pd.DataFrame,
                  loop=None, assumptions: Assumptions | None = None, adjustments: Adjustments | None = None,
                  weights: Mapping[str, float] | None = None, as_of=None) -> pd.DataFrame:
    """One row per (ticker, scorable fiscal year): pillar scores, composite (conservative, with its optimistic
    bound), provisional flag and grade, scored by the same function as the headline."""
    weights = dict(weights or EQUAL_WEIGHTS)
    if statements.empty:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    ctx = build_context(statements, market, universe, fx, loop, assumptions, adjustments, years="all", as_of=as_of)
    rows = score_rows(ctx, run_checks(ctx), weights)
    out = pd.DataFrame({"ticker": rows["ticker"].to_numpy(), "fiscal_year": rows["fiscal_year"].astype(int).to_numpy(),
                        "period_end": rows["period_end"].to_numpy(), "scoring_year": _is_last(rows)})
    for col in [*PILLARS, "composite", "composite_low", "composite_high", "provisional", "grade"]:
        out[col] = rows[col].to_numpy()
    return out[HISTORY_COLUMNS].sort_values(["ticker", "fiscal_year"], ignore_index=True)


def _is_last(rows: pd.DataFrame) -> np.ndarray:
    """True for each company's newest scored year (its scoring year)."""
    last = rows.groupby("ticker")["fiscal_year"].transform("max")
    return (rows["fiscal_year"] == last).to_numpy()


def grade_move(history: pd.DataFrame, ticker: str) -> str:
    """The company's grades over its graded fiscal years, in words:

    - one grade throughout: 'Held grade B since FY2023 (FY2025: composite 73).'
    - one change: 'Moved from B to C since FY2024 (composite 69 → 52 in FY2025).'
    - more changes: 'Grade C in FY2022, B in FY2023–FY2024, C in FY2025 (composite 54).' (never "held" when the
      grade left and came back)
    - '' with fewer than two graded years.
    """
    h = history[(history["ticker"] == ticker) & (history["grade"] != "n.a.")].sort_values("fiscal_year")
    if len(h) < 2:
        return ""
    first, last = h.iloc[0], h.iloc[-1]
    since = f"since FY{int(first['fiscal_year'])}"
    runs: list[tuple[str, int, int]] = []  # (grade, first year, last year) of consecutive graded years
    for g, y in zip(h["grade"], h["fiscal_year"].astype(int)):
        if runs and runs[-1][0] == g:
            runs[-1] = (g, runs[-1][1], y)
        else:
            runs.append((g, y, y))
    if len(runs) == 1:
        return f"Held grade {last['grade']} {since} (FY{int(last['fiscal_year'])}: composite {last['composite']:.0f})."
    if len(runs) == 2:
        return (f"Moved from {first['grade']} to {last['grade']} {since} (composite {first['composite']:.0f} → "
                f"{last['composite']:.0f} in FY{int(last['fiscal_year'])}).")
    parts = [f"{g} in FY{a}" if a == b else f"{g} in FY{a}–FY{b}" for g, a, b in runs]
    return f"Grade {', '.join(parts)} (composite {last['composite']:.0f})."


def changes(now: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """Per ticker in both score tables: composite and grade before and now, and whether either changed."""
    cols = ["composite", "grade", "fiscal_year"]
    both = now[cols].merge(before[cols], left_index=True, right_index=True, suffixes=("_now", "_before"))
    moved = (both["grade_now"] != both["grade_before"]) | ~np.isclose(
        both["composite_now"].astype(float).fillna(-1), both["composite_before"].astype(float).fillna(-1))
    both["changed"] = moved
    return both
