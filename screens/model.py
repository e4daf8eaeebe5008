"""Glue between the data layer and the metrics (no Streamlit): used by the pages and the CLI."""

from __future__ import annotations

import pandas as pd

from data.loader import Dataset, load_dataset
from data.loop import load_concentration, load_deals
from metrics import loop as L
from metrics.engine import Scored, score
from metrics.scoring import Adjustments, Assumptions


def listed_tickers(dataset: Dataset) -> set[str]:
    """Loop parties that are listed: every ticker of the universe plus listed loop tickers."""
    return set(dataset.universe["ticker"])


def adjustments_of(dataset: Dataset) -> Adjustments:
    """The dataset's commitments, server lives and servers PP&E as scoring inputs."""
    return Adjustments(dataset.commitments, dataset.useful_lives, dataset.servers)


def build_scored(dataset: Dataset | None = None, deals: pd.DataFrame | None = None,
                 as_of: str | pd.Timestamp | None = None, include_low: bool = False,
                 assumptions: Assumptions | None = None) -> Scored:
    """Score the universe with the loop context (embedded deals unless ``deals`` is given)."""
    dataset = dataset or load_dataset()
    deals = load_deals() if deals is None else deals
    loop = L.loop_context(deals, load_concentration(), listed_tickers(dataset), as_of, include_low)
    return score(dataset.statements, dataset.market, dataset.universe, dataset.fx, loop, assumptions,
                 adjustments_of(dataset))
