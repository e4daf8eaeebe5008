"""Screening presets (weights plus filters), kept as data in ``presets.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metrics.checks import PILLARS

PRESETS_FILE = Path(__file__).with_name("presets.json")
DEFAULT_PRESET = "Article criteria"
FILTER_KEYS = {
    "min_balance_sheet", "min_free_cash_flow", "min_pricing_power", "min_loop_exposure",
    "max_net_debt_to_ebitda", "min_fcf_margin", "min_gross_margin", "min_interest_coverage", "exclude_on_cycle",
}


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    weights: dict[str, float]
    filters: dict[str, Any] = field(default_factory=dict)


@lru_cache(maxsize=1)
def load_presets(path: Path = PRESETS_FILE) -> dict[str, Preset]:
    """All presets by name; weights must cover the four pillars and be >= 0."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, Preset] = {}
    for name, spec in raw.items():
        if name.startswith("_"):
            continue
        weights = {p: float(spec["weights"].get(p, 0.0)) for p in PILLARS}
        if any(w < 0 or not np.isfinite(w) for w in weights.values()) or sum(weights.values()) <= 0:
            raise ValueError(f"preset {name!r}: weights must be non-negative and not all zero")
        unknown = set(spec.get("filters", {})) - FILTER_KEYS
        if unknown:
            raise ValueError(f"preset {name!r}: unknown filters {sorted(unknown)}")
        out[name] = Preset(name, spec.get("description", ""), weights, dict(spec.get("filters", {})))
    return out


def apply_filters(table: pd.DataFrame, filters: dict[str, Any]) -> pd.DataFrame:
    """Rows of the score table that pass every filter (presets, screener and CLI share this).

    Keys: the preset filters in ``FILTER_KEYS`` plus ``segments`` / ``subsegments``
    (lists; empty = all) and ``market_cap_usd_bn`` ((low, high) in USD bn;
    companies without a market cap stay only while ``low`` is 0). A missing
    metric never passes a threshold filter (missing is not a pass); net cash
    passes any net debt / EBITDA limit.
    """
    mask = pd.Series(True, index=table.index)
    if filters.get("segments"):
        mask &= table["segment"].isin(filters["segments"])
    if filters.get("subsegments"):
        mask &= table["subsegment"].isin(filters["subsegments"])
    if filters.get("market_cap_usd_bn") is not None:
        lo, hi = filters["market_cap_usd_bn"]
        cap = table["market_cap_usd"]
        mask &= cap.between(lo * 1e9, hi * 1e9) | (cap.isna() & (lo <= 0))
    for pillar in PILLARS:
        v = filters.get(f"min_{pillar}")
        if v is not None and float(v) > 0:
            mask &= table[pillar].ge(float(v))
    if filters.get("max_net_debt_to_ebitda") is not None:
        limit = float(filters["max_net_debt_to_ebitda"])
        nd = table["net_debt_to_ebitda"]
        net_cash = table["net_debt_to_ebitda_result"].eq("pass") & (nd.isna() | nd.le(0))
        mask &= nd.le(limit) | net_cash
    for key, col in (("min_fcf_margin", "fcf_margin"), ("min_gross_margin", "gross_margin"),
                     ("min_interest_coverage", "interest_coverage")):
        if filters.get(key) is not None:
            mask &= table[col].ge(float(filters[key]))
    if filters.get("exclude_on_cycle") and "on_cycle" in table:
        mask &= ~table["on_cycle"].fillna(False).astype(bool)
    return table[mask]
