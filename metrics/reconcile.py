"""Kosmos's ratios against independently published ones (pure pandas, no Streamlit).

Each published ratio (``data/reference/published_ratios.csv``: ticker,
fiscal_year, ratio, value, source, note) is compared with the same ratio
computed from the embedded figures with the scoring formulas
(:data:`RATIO_FORMULAS`). Definitions differ between sites (EBIT vs operating
income, leases in debt), so each ratio has its own tolerance
(:data:`TOLERANCES`); a difference beyond it is listed with both numbers and the
page, never hidden.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metrics import financials as F

#: ratio id -> (numerator column, denominator column) of the panel
RATIO_FORMULAS: dict[str, tuple[str, str]] = {
    "gross_margin": (F.GROSS_PROFIT, F.REVENUE),
    "operating_margin": (F.OPERATING_INCOME, F.REVENUE),
    "current_ratio": (F.CURRENT_ASSETS, F.CURRENT_LIABILITIES),
    "interest_coverage": (F.EBIT_D, F.INTEREST_EXPENSE),
    "fcf_margin": (F.FCF_D, F.REVENUE),
    "debt_to_equity": (F.TOTAL_DEBT, F.EQUITY),
}
#: ratio id -> (kind, tolerance): "abs" in ratio units (0.01 = 1 pp of a margin), "rel" as a fraction
TOLERANCES: dict[str, tuple[str, float]] = {
    "gross_margin": ("abs", 0.01), "operating_margin": ("abs", 0.01), "fcf_margin": ("abs", 0.01),
    "current_ratio": ("rel", 0.03), "interest_coverage": ("rel", 0.10), "debt_to_equity": ("rel", 0.10),
}


def company_year_ratios(panel: pd.DataFrame) -> pd.DataFrame:
    """Every :data:`RATIO_FORMULAS` ratio per (ticker, fiscal_year); NaN where a denominator is <= 0 or missing."""
    return pd.DataFrame({r: F.safe_divide(panel[num], panel[den]) for r, (num, den) in RATIO_FORMULAS.items()},
                        index=panel.index)


def compare_published(panel: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """One row per published ratio: ``computed``, ``difference`` and ``agrees`` (NaN when Kosmos cannot compute it).

    ``difference`` is absolute for "abs" ratios and relative (to the published value) for "rel" ones.
    """
    ours = company_year_ratios(panel).stack().rename("computed")
    ours.index = ours.index.set_names(["ticker", "fiscal_year", "ratio"])
    pub = published[published["ratio"].isin(list(RATIO_FORMULAS))].copy()
    pub["fiscal_year"] = pub["fiscal_year"].astype(int)
    out = pub.join(ours, on=["ticker", "fiscal_year", "ratio"])
    kind = out["ratio"].map(lambda r: TOLERANCES[r][0])
    tol = out["ratio"].map(lambda r: TOLERANCES[r][1])
    diff = out["computed"] - out["value"]
    rel = diff / out["value"].abs().where(out["value"] != 0)
    out["difference"] = np.where(kind == "abs", diff, rel)
    out["tolerance"] = tol
    out["agrees"] = (out["difference"].abs() <= tol).where(out["computed"].notna() & out["difference"].notna())
    return out


def summary(compared: pd.DataFrame) -> dict:
    """Counts per ratio: published, comparable (Kosmos computes it), agreeing within tolerance."""
    comparable = compared[compared["agrees"].notna()]
    per = {}
    for ratio, g in compared.groupby("ratio"):
        c = g[g["agrees"].notna()]
        per[ratio] = {"published": int(len(g)), "comparable": int(len(c)), "agree": int(c["agrees"].astype(bool).sum()),
                      "tolerance": f"{TOLERANCES[ratio][1]:g} {'absolute' if TOLERANCES[ratio][0] == 'abs' else 'relative'}"}
    agree = int(comparable["agrees"].astype(bool).sum())
    return {"published": int(len(compared)), "comparable": int(len(comparable)), "agree": agree,
            "agree_share": round(agree / len(comparable), 3) if len(comparable) else None, "per_ratio": per}
