"""Depreciation honesty: what if servers and GPUs wore out in N years instead of the disclosed life?

Hyperscalers and neoclouds stretched the useful life of servers from 3–4 to
5–6 years (Microsoft 2022, Alphabet 2023, Meta 2022/2025, CoreWeave 2023); a
longer life lowers depreciation and lifts operating income without a dollar of
cash changing hands. Kosmos recomputes the earnings lines as if the life were
N years (straight-line approximation):

* reported life L: the disclosed life of servers / network / technology
  equipment in force in that fiscal year (``data/useful_lives.csv``, with the
  year each change took effect);
* depreciable base B: gross cost of servers and network equipment from the
  PP&E note of that fiscal year (``data/ppe_servers.csv``) when disclosed,
  else |capital expenditure| × L (a fleet renewed every L years at this year's
  capex costs about L × capex; capex also buys buildings and land, so this
  overstates the base: an upper bound of the effect, labelled as such);
* change in depreciation ΔD = B / N − B / L (positive when N < L);
* Reconciled Depreciation + ΔD, Operating Income − ΔD, reported EBIT − ΔD;
  EBITDA, cash flow and FCF do not move (depreciation is not cash); gross
  profit and net income are left as reported (where server depreciation sits
  inside cost of revenue, and the tax effect, are not disclosed line by line).

Companies without a disclosed single server life (e.g. a 2–7 year range) are
not adjusted and say so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metrics import financials as F

GPU_LIFE_CHOICES: tuple[float, ...] = (3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0)
SERVER_CLASS = r"server|technology equipment|gpu|computer equipment"
SERVERS_GROSS = "Servers And Network Equipment Gross"
BASE_PPE = "servers and network equipment at gross cost (PP&E note)"
BASE_CAPEX = "approximation: |capital expenditure| × reported life (upper bound)"


def server_lives(useful_lives: pd.DataFrame) -> pd.DataFrame:
    """Disclosed server lives with their effective dates: ticker, effective_from, life (years).

    Rows naming servers, technology equipment, computer equipment or GPUs with a
    single life; several rows taking effect the same day (servers and network
    equipment) keep the servers' one (the first).
    """
    if useful_lives.empty:
        return pd.DataFrame({"ticker": pd.Series(dtype=object), "effective_from": pd.Series(dtype="datetime64[ns]"),
                             "life": pd.Series(dtype=float)})
    u = useful_lives.copy()
    u["life"] = pd.to_numeric(u["useful_life_years"], errors="coerce")
    u["effective_from"] = pd.to_datetime(u["effective_from"], errors="coerce", format="mixed")
    u = u[u["asset_class"].str.contains(SERVER_CLASS, case=False, regex=True) & u["life"].notna()]
    u["effective_from"] = u["effective_from"].fillna(pd.Timestamp("1900-01-01"))  # undated: in force throughout
    u = u.drop_duplicates(["ticker", "effective_from"], keep="first")
    return u[["ticker", "effective_from", "life"]].sort_values(["ticker", "effective_from"]).reset_index(drop=True)


def life_in_force(lives: pd.DataFrame, tickers: pd.Series, period_end: pd.Series) -> pd.Series:
    """The server life in force at each (ticker, period end): the latest change effective on or before it."""
    out = pd.Series(np.nan, index=tickers.index)
    if lives.empty:
        return out
    ends = pd.to_datetime(period_end, errors="coerce")
    for t, g in lives.groupby("ticker"):
        hit = tickers == t
        if not hit.any():
            continue
        pos = np.searchsorted(g["effective_from"].to_numpy(), ends[hit].to_numpy(), side="right") - 1
        vals = np.where(pos >= 0, g["life"].to_numpy()[np.clip(pos, 0, None)], np.nan)
        out[hit] = vals
    return out


def apply_gpu_life(panel: pd.DataFrame, useful_lives: pd.DataFrame, servers: pd.DataFrame,
                   gpu_life: float | None) -> pd.DataFrame:
    """The raw panel (before :func:`metrics.financials.add_derived`) with earnings lines at a server life of ``gpu_life``.

    Always adds ``gpu_life_reported``, ``gpu_life_used``, ``gpu_base``,
    ``gpu_base_basis`` and ``gpu_depreciation_change`` (0 when ``gpu_life`` is
    None, i.e. as reported). See the module docstring for the formula.
    """
    out = panel.copy()
    tickers = pd.Series(out.index.get_level_values("ticker"), index=out.index)
    life = life_in_force(server_lives(useful_lives), tickers, out["period_end"])
    base_ppe = pd.Series(np.nan, index=out.index)
    if not servers.empty:
        s = servers[servers["field"] == SERVERS_GROSS]
        s = s.set_index(["ticker", s["fiscal_year"].astype(int)])["value"]
        s = s[~s.index.duplicated()]
        base_ppe = pd.Series(s.reindex(out.index).to_numpy(dtype=float), index=out.index)
    base_capex = out[F.CAPEX].abs() * life
    base = base_ppe.where(base_ppe.notna(), base_capex).where(life.notna())
    basis = pd.Series(np.where(base_ppe.notna(), BASE_PPE, BASE_CAPEX), index=out.index).where(base.notna())
    used = life if gpu_life is None else pd.Series(float(gpu_life), index=out.index).where(life.notna())
    delta = (base / used - base / life).fillna(0.0)
    out["gpu_life_reported"] = life
    out["gpu_life_used"] = used
    out["gpu_base"] = base
    out["gpu_base_basis"] = basis
    out["gpu_depreciation_change"] = delta.where(base.notna())
    out[F.OPERATING_INCOME] = out[F.OPERATING_INCOME] - delta
    out[F.DEPRECIATION] = out[F.DEPRECIATION] + delta
    out[F.EBIT] = out[F.EBIT] - delta
    return out


def gpu_life_label(gpu_life: float | None) -> str:
    """'as reported' or '4 years' / '4.5 years'."""
    return "as reported" if gpu_life is None else f"{gpu_life:g} years"
