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
  PP&E note of that fiscal year (``data/ppe_servers.csv``), or a disclosed
  annual depreciation of servers × L. Nothing else is used: total capex buys
  warehouses, buildings and land too, so it is never a stand-in. A year
  without either figure is left as reported, and the card says so;
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
SERVERS_DEPRECIATION = "Servers Depreciation"
BASE_DEPRECIATION = "disclosed servers depreciation × reported life"


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
                   gpu_life: float | None, real_ticker=None) -> pd.DataFrame:
    """The raw panel (before :func:`metrics.financials.add_derived`) with earnings lines at a server life of ``gpu_life``.

    ``real_ticker`` maps the panel's company keys to tickers (score-history keys
    are ``TICKER@YEAR``). Always adds ``gpu_life_reported``, ``gpu_life_used``,
    ``gpu_base``, ``gpu_base_basis``, ``gpu_depreciation_change`` (0 when
    ``gpu_life`` is None, i.e. as reported), the reported operating income and
    ``gpu_adjusted`` (the year's lines were changed). The extra depreciation
    B / N − B / L never exceeds the disclosed base B (it is at most B / N).
    """
    out = panel.copy()
    keys = out.index.get_level_values("ticker")
    tickers = pd.Series(np.asarray(real_ticker(keys) if real_ticker is not None else keys, dtype=object),
                        index=out.index)
    life = life_in_force(server_lives(useful_lives), tickers, out["period_end"])
    years = out.index.get_level_values("fiscal_year").astype(int)
    base_ppe = _servers_field(servers, SERVERS_GROSS, tickers, years)
    base_dep = _servers_field(servers, SERVERS_DEPRECIATION, tickers, years) * life
    base = base_ppe.where(base_ppe.notna(), base_dep).where(life.notna())
    basis = pd.Series(np.where(base_ppe.notna(), BASE_PPE, BASE_DEPRECIATION), index=out.index).where(base.notna())
    used = life if gpu_life is None else pd.Series(float(gpu_life), index=out.index).where(life.notna())
    delta = (base / used - base / life).fillna(0.0)
    out["gpu_life_reported"] = life
    out["gpu_life_used"] = used
    out["gpu_base"] = base
    out["gpu_base_basis"] = basis
    out["gpu_depreciation_change"] = delta.where(base.notna())
    out[F.OPERATING_INCOME_REPORTED] = out[F.OPERATING_INCOME]
    out[F.GPU_ADJUSTED] = (gpu_life is not None) & base.notna()
    out[F.OPERATING_INCOME] = out[F.OPERATING_INCOME] - delta
    parts_only = out[F.DEPRECIATION].isna()  # the total is derived later from its parts: move the part instead
    out[F.DEPRECIATION_ONLY] = out[F.DEPRECIATION_ONLY] + delta.where(parts_only, 0.0)
    out[F.DEPRECIATION] = out[F.DEPRECIATION] + delta
    out[F.EBIT] = out[F.EBIT] - delta
    return out


def _servers_field(servers: pd.DataFrame, field: str, tickers: pd.Series, years) -> pd.Series:
    """``field`` of ``data/ppe_servers.csv`` for each (ticker, fiscal year) of the panel; NaN where absent."""
    if servers.empty:
        return pd.Series(np.nan, index=tickers.index)
    s = servers[servers["field"] == field]
    s = s.set_index([s["ticker"], s["fiscal_year"].astype(int)])["value"].astype(float)
    s = s[~s.index.duplicated()]
    key = pd.MultiIndex.from_arrays([tickers.to_numpy(), np.asarray(years)])
    return pd.Series(s.reindex(key).to_numpy(dtype=float), index=tickers.index)


def not_adjusted_reason(life: float | None, base: float | None, fiscal_year: int | None) -> str:
    """Why a company-year keeps its reported depreciation under a server-life assumption."""
    from metrics.format import is_missing

    if is_missing(life):
        return "no single disclosed useful life for servers on file: left as reported"
    if is_missing(base):
        year = f" for FY{fiscal_year}" if fiscal_year else ""
        return (f"no servers & network equipment PP&E or servers depreciation on file{year}: left as reported "
                "(total capex also buys buildings and land, so it is not used instead)")
    return ""


def gpu_life_label(gpu_life: float | None) -> str:
    """'as reported' or '4 years' / '4.5 years'."""
    return "as reported" if gpu_life is None else f"{gpu_life:g} years"
