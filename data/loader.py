"""One entry point for the app and the CLIs: the freshest good data per ticker.

:func:`load_dataset` merges the embedded data set with the local cache of live
refreshes: for each ticker the cache wins when it holds a successful fetch,
else the embedded figures are used. :func:`refresh` runs a live refresh and
stores it in the cache.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd

from data.cache import Cache, is_stale
from data.embedded import EMBEDDED_SOURCE_LABEL, adjustment_tables, embedded_tables
from data.live import ProgressCallback, RefreshResult, TickerFactory, fetch_fx_rates, fetch_many

YAHOO_SOURCE_LABEL = "Yahoo Finance"


@dataclass
class Dataset:
    """Canonical tables plus where each ticker's data came from.

    ``provenance`` has one row per universe ticker: ``origin`` ("embedded",
    "yahoo" or "none"), ``fetched_at`` (UTC, for Yahoo data), ``stale``.
    """

    statements: pd.DataFrame
    market: pd.DataFrame
    universe: pd.DataFrame
    fx: pd.DataFrame
    provenance: pd.DataFrame
    notices: list[str] = field(default_factory=list)
    #: sourced tables behind the assumptions: commitments, server useful lives, gross servers PP&E
    commitments: pd.DataFrame = field(default_factory=pd.DataFrame)
    useful_lives: pd.DataFrame = field(default_factory=pd.DataFrame)
    servers: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def fiscal_year_range(self) -> tuple[int, int] | None:
        if self.statements.empty:
            return None
        return int(self.statements["fiscal_year"].min()), int(self.statements["fiscal_year"].max())

    def badge(self, now: datetime | None = None) -> str:
        """Short data-source label for the sidebar."""
        now = now or datetime.now(timezone.utc)
        yahoo = self.provenance[self.provenance["origin"] == "yahoo"]
        years = self.fiscal_year_range
        span = f"reports FY{years[0]} – FY{years[1]}" if years else "no reports"
        if yahoo.empty:
            return f"{EMBEDDED_SOURCE_LABEL} · {span}"
        newest = pd.Timestamp(yahoo["fetched_at"].max())
        age = humanize_age(pd.Timestamp(now) - newest)
        stale = " · STALE (older than 24 h)" if is_stale(newest, now) else ""
        return f"{YAHOO_SOURCE_LABEL} · fetched {age} ago for {len(yahoo)} tickers{stale} · embedded for the rest · {span}"


def humanize_age(delta: pd.Timedelta) -> str:
    """'12 min', '3 h', '2 d' for a non-negative time span."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def load_dataset(cache: Cache | None = None, *, use_cache: bool = True, now: datetime | None = None,
                 before_last_refresh: bool = False) -> Dataset:
    """Embedded data set overlaid with the freshest good cached refresh per ticker.

    ``before_last_refresh``: the data as it stood before the newest refresh snapshot.
    """
    statements, market, universe, fx = embedded_tables()
    notices: list[str] = []
    now = now or datetime.now(timezone.utc)
    prov = pd.DataFrame({"ticker": universe["ticker"]})
    embedded_tickers = set(statements["ticker"])
    prov["origin"] = prov["ticker"].map(lambda t: "embedded" if t in embedded_tickers else "none")
    prov["fetched_at"] = pd.Series(pd.NaT, index=prov.index, dtype="datetime64[us, UTC]")
    prov["stale"] = False
    universe = universe.copy()

    if use_cache:
        cache = cache or Cache()
        try:
            view = cache.read(before_newest=before_last_refresh)
        except Exception as exc:  # noqa: BLE001 - the app must keep working on the embedded set
            view = None
            notices.append(f"Local cache unreadable ({type(exc).__name__}); using the embedded data set.")
        if view is not None:
            for q in dict.fromkeys([*view.quarantined, *cache.recently_set_aside(now)]):
                notices.append(f"A corrupt cache snapshot was set aside ({q}); data rebuilt from the others.")
            if not view.empty:
                live = set(view.tickers["ticker"])
                statements = pd.concat(
                    [statements[~statements["ticker"].isin(live)], view.statements], ignore_index=True
                )
                market = pd.concat([market[~market["ticker"].isin(view.market["ticker"])], view.market],
                                   ignore_index=True)
                # Tickers the user added for a live fetch join the universe as "other".
                extra = view.tickers[~view.tickers["ticker"].isin(universe["ticker"])]
                if not extra.empty:
                    universe = pd.concat([universe, pd.DataFrame({
                        "ticker": extra["ticker"], "name": extra["name"].where(extra["name"] != "", extra["ticker"]),
                        "segment": "other", "subsegment": "user-added", "country": None,
                        "price_currency": None, "origin": "user",
                    })], ignore_index=True)
                    prov = pd.concat([prov, pd.DataFrame({"ticker": extra["ticker"].to_numpy(), "origin": "none",
                                                          "stale": False})], ignore_index=True)
                fetched = view.tickers.set_index("ticker")["fetched_at"]
                is_live = prov["ticker"].isin(live)
                prov.loc[is_live, "origin"] = "yahoo"
                prov["fetched_at"] = pd.to_datetime(prov["ticker"].map(fetched), utc=True).astype("datetime64[us, UTC]")
                prov.loc[is_live, "stale"] = prov.loc[is_live, "fetched_at"].map(lambda t: is_stale(t, now))
                if not view.fx.empty:
                    fx = pd.concat([fx[~fx["currency"].isin(view.fx["currency"])], view.fx], ignore_index=True)
    commitments, useful_lives, servers = adjustment_tables()
    return Dataset(statements, market, universe, fx, prov.reset_index(drop=True), notices,
                   commitments, useful_lives, servers)


def last_refresh(cache: Cache | None = None) -> pd.Timestamp | None:
    """When the newest refresh snapshot was written (UTC), or None without any refresh."""
    dirs = (cache or Cache()).snapshot_dirs()
    if not dirs:
        return None
    try:
        return pd.Timestamp(datetime.strptime(dirs[0].name, "%Y%m%dT%H%M%S%fZ"), tz="UTC")
    except ValueError:
        return None


def refresh(
    tickers: Iterable[str] | None = None,
    *,
    cache: Cache | None = None,
    factory: TickerFactory | None = None,
    progress: ProgressCallback | None = None,
    **fetch_kwargs,
) -> RefreshResult:
    """Live refresh of ``tickers`` (default: the whole universe) into the cache.

    The cache is written only when at least one ticker succeeded; failures and
    an offline network leave it untouched. FX rates for non-USD statement
    currencies are fetched too and stored with the snapshot.
    """
    if tickers is None:
        tickers = embedded_tables()[2]["ticker"].tolist()
    result = fetch_many(tickers, factory, progress=progress, **fetch_kwargs)
    fx_rates: dict[str, float] = {}
    if result.good_tickers:
        currencies = set(result.statements["currency"]) | set(result.market["price_currency"])
        currencies.discard("USD")
        if currencies:
            fx_rates = fetch_fx_rates(currencies, factory)
    (cache or Cache()).write(result, fx_rates)
    return result
