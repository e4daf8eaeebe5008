"""Glue between the data layer and the metrics (no Streamlit): used by the pages and the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.loader import Dataset, load_dataset
from data.loop import load_concentration, load_deals
from metrics import format as fmt
from metrics import loop as L
from metrics.engine import Scored, score
from metrics.scoring import Adjustments, Assumptions


def listed_tickers(dataset: Dataset) -> set[str]:
    """Loop parties that are listed: every ticker of the universe plus listed loop tickers."""
    return set(dataset.universe["ticker"])


def adjustments_of(dataset: Dataset) -> Adjustments:
    """The dataset's commitments, server lives and servers PP&E as scoring inputs."""
    return Adjustments(dataset.commitments, dataset.useful_lives, dataset.servers,
                       getattr(dataset, "not_reported", None) if getattr(dataset, "not_reported", None) is not None
                       else pd.DataFrame())


BASES = {"annual": "Latest fiscal year", "ttm": "Trailing twelve months"}
NEEDS_REFRESH = ("Trailing twelve months needs a live refresh from Yahoo Finance (its TTM income statement and cash "
                 "flow and the latest quarterly balance sheet); none is cached yet, so scoring stays on the latest "
                 "fiscal year.")


def has_trailing(dataset: Dataset) -> bool:
    """Whether the dataset holds any trailing rows (only a live refresh brings them)."""
    tr = getattr(dataset, "trailing", None)
    return tr is not None and not tr.empty


def effective_basis(dataset: Dataset, basis: str) -> str:
    """The basis scoring really uses: "ttm" only when asked for and trailing rows are on file, else "annual"."""
    return "ttm" if basis == "ttm" and has_trailing(dataset) and _scores_trailing() else "annual"


def _scores_trailing() -> bool:
    """Whether the metrics side takes ``basis`` / ``trailing`` (feature check, not a version number)."""
    import inspect

    return {"basis", "trailing"} <= set(inspect.signature(score).parameters)


def build_scored(dataset: Dataset | None = None, deals: pd.DataFrame | None = None,
                 as_of: str | pd.Timestamp | None = None, include_low: bool = False,
                 assumptions: Assumptions | None = None, basis: str = "annual") -> Scored:
    """Score the universe with the loop context (embedded deals unless ``deals`` is given).

    ``basis="ttm"`` scores each company with trailing rows on its TTM flows and
    latest quarterly balance sheet (``dataset.trailing``); without any trailing
    rows the basis stays annual (:func:`effective_basis`).
    """
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)}")
    dataset = dataset or load_dataset()
    deals = load_deals() if deals is None else deals
    loop = L.loop_context(deals, load_concentration(), listed_tickers(dataset), as_of, include_low)
    extra = {}
    if effective_basis(dataset, basis) == "ttm":
        extra = {"basis": "ttm", "trailing": dataset.trailing}
    return score(dataset.statements, dataset.market, dataset.universe, dataset.fx, loop, assumptions,
                 adjustments_of(dataset), **extra)


def fetch_times(provenance: pd.DataFrame, basis_label: pd.Series) -> pd.Series:
    """When each company of ``basis_label`` (its index) had its scored figures fetched, in UTC (NaT for embedded
    figures): the trailing rows' fetch time for a company scored on them ("TTM to ..."), else its annual
    statements'."""
    prov = provenance.drop_duplicates("ticker").set_index("ticker").reindex(basis_label.index)
    on_ttm = basis_label.astype(str).str.startswith("TTM")
    annual_at = pd.to_datetime(prov["fetched_at"], utc=True)
    ttm_at = pd.to_datetime(prov["trailing_fetched_at"], utc=True) if "trailing_fetched_at" in prov \
        else pd.Series(pd.NaT, index=basis_label.index, dtype="datetime64[ns, UTC]")
    return annual_at.where(~on_ttm | ttm_at.isna(), ttm_at)


def freshness(dataset: Dataset, scored: Scored, now: pd.Timestamp | None = None, texts: bool = True) -> pd.DataFrame:
    """Per company, how old its data is: the scored period's end and the months since, when it was fetched and
    the hours since, and ``basis_text`` ("TTM to 2026-09-30 · balance sheet 2026-09-30 · fetched 2026-12-03 14:05
    UTC"), ``age_text`` ("period ended 2026-09-30, 2 months ago · fetched 3 h ago") and ``card_text``, both in
    one line ("TTM to 2026-09-30 · balance sheet 2026-09-30 · fetched 2026-12-03 14:05 UTC (3 h ago) · period
    ended 2 months ago").

    The fetch time is that of the trailing rows for a company scored on them, else of its annual statements.
    ``texts=False``: the numbers only (the sidebar's summary; no per-row strings for 5,000 companies).
    """
    now = pd.Timestamp(now if now is not None else pd.Timestamp.now(tz="UTC"))
    now = now.tz_localize("UTC") if now.tzinfo is None else now
    comp = scored.ctx.companies
    out = pd.DataFrame(index=comp.index)
    label = comp["basis_label"] if "basis_label" in comp else \
        ("FY" + comp["fiscal_year"].astype("Int64").astype("string")).fillna("n.a.")
    out["basis_label"] = label.astype(str)
    end = pd.to_datetime(comp["period_end"], errors="coerce")
    end = end.dt.tz_localize("UTC") if end.dt.tz is None else end
    out["period_end"] = end.dt.strftime("%Y-%m-%d")
    out["months_since_period_end"] = fmt.whole_months(end, now)
    prov = dataset.provenance.drop_duplicates("ticker").set_index("ticker").reindex(out.index)
    fetched = fetch_times(dataset.provenance, out["basis_label"])
    out["fetched_at"] = fetched
    out["hours_since_refresh"] = ((now - fetched).dt.total_seconds() / 3600).round(1)
    out["origin"] = prov["origin"].fillna("none")
    if not texts:
        return out
    stamp = fetched.dt.strftime("fetched %Y-%m-%d %H:%M UTC")
    src = stamp.where(fetched.notna(), np.where(out["origin"] == "embedded", "embedded data set", "no figures"))
    out["basis_text"] = out["basis_label"] + " · " + src
    months = out["months_since_period_end"]
    period = ("period ended " + out["period_end"].fillna("") + ", " + months.map(_months_ago)).where(end.notna(),
                                                                                                     "no period scored")
    hours = out["hours_since_refresh"].map(lambda h: "" if pd.isna(h) else f"fetched {fmt.hours_ago(h)}")
    hours = hours.where(fetched.notna(), np.where(out["origin"] == "embedded", "embedded data set (no live refresh)",
                                                  "no figures"))
    out["age_text"] = period + " · " + hours
    ago = out["hours_since_refresh"].map(lambda h: "" if pd.isna(h) else f" ({fmt.hours_ago(h)})")
    since = months.map(lambda m: "" if pd.isna(m) else f" · period ended {_months_ago(m)}")
    out["card_text"] = out["basis_text"] + ago.where(fetched.notna(), "") + since.where(end.notna(), "")
    return out


def _months_ago(m: float) -> str:
    if pd.isna(m):
        return "age unknown"
    if m < 1:
        return "less than a month ago"
    n = int(m)
    return f"{n} month{'s' if n != 1 else ''} ago"
