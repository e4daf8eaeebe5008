"""One entry point for the app and the CLIs: the freshest good data per ticker.

:func:`load_dataset` merges the embedded data set with the local cache of live
refreshes: for each ticker the cache wins when it holds a successful fetch,
else the embedded figures are used. :func:`refresh` runs a live refresh and
stores it in the cache.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from data.cache import Cache, CachedView, CacheWriteError, is_stale
from data.embedded import EMBEDDED_SOURCE_LABEL, adjustment_tables, checked_tables, embedded_tables
from data.identities import concat_refused, describe_refused, empty_refused, plausible_tables
from data.live import ProgressCallback, RefreshResult, TickerFactory, fetch_fx_rates, fetch_many

YAHOO_SOURCE_LABEL = "Yahoo Finance"
#: refused values named one by one in the notice (the rest are counted)
NOTICE_EXAMPLES = 5
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


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
    #: values left out of the tables above: implausible (data.identities.plausible_tables) or, in a cached
    #: snapshot, breaking the schema; columns data.identities.REFUSED_COLUMNS (origin "embedded", "yahoo", "cache")
    refused: pd.DataFrame = field(default_factory=empty_refused)

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

    Both pass the same checks: the embedded files their manifest, schemas and
    plausibility bounds; cached rows the schema row by row and the same bounds.
    Refused values are left out, listed in ``Dataset.refused`` and named in a
    notice; a refused live value never displaces the embedded value for the same
    company, year and line. ``before_last_refresh``: the data as it stood
    before the newest refresh snapshot.
    """
    emb = checked_tables()
    statements, market, universe, fx = embedded_tables()
    notices: list[str] = []
    refused = [emb.refused]
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
            notices += _cache_notices(view, cache, now)
            if not (view.empty and view.fx.empty):
                view, live_refused = _checked_view(view, fx, emb.explanations)
                refused += [view.refused, live_refused]
            if not view.empty:
                live = set(view.tickers["ticker"])
                statements = _overlay_statements(statements, view.statements, live,
                                                 concat_refused([view.refused, live_refused]))
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
    all_refused = concat_refused(refused)
    notices += refused_notices(all_refused)
    commitments, useful_lives, servers = adjustment_tables()
    return Dataset(statements, market, universe, fx, prov.reset_index(drop=True), notices,
                   commitments, useful_lives, servers, all_refused)


def _cache_notices(view: CachedView, cache: Cache, now: datetime) -> list[str]:
    """Notices for snapshots set aside (or, in a read-only cache, skipped) as corrupt."""
    out = [f"A corrupt cache snapshot was set aside ({md_escape(q)}); data rebuilt from the others."
           for q in dict.fromkeys([*view.quarantined, *cache.recently_set_aside(now)])]
    out += [f"A corrupt cache snapshot was skipped ({md_escape(q)}): the cache is read-only, so it stays in "
            "place; data rebuilt from the others." for q in view.skipped]
    return out


def _checked_view(view: CachedView, embedded_fx: pd.DataFrame,
                  explanations: pd.DataFrame) -> tuple[CachedView, pd.DataFrame]:
    """``view`` with its statements, market and FX inside the plausibility bounds, and the refused rows."""
    rates = pd.concat([embedded_fx[~embedded_fx["currency"].isin(view.fx["currency"])], view.fx], ignore_index=True)
    st, mk, fx, refused = plausible_tables(view.statements, view.market, view.fx, explanations, "yahoo", rates)
    checked = CachedView(st.reset_index(drop=True), mk.reset_index(drop=True), view.tickers, fx.reset_index(drop=True),
                         view.quarantined, view.skipped, view.refused)
    return checked, refused


def _overlay_statements(embedded: pd.DataFrame, live: pd.DataFrame, live_tickers: set[str],
                        refused: pd.DataFrame) -> pd.DataFrame:
    """Live rows replace the embedded rows of their tickers, except that where a live value was refused (NaN,
    implausible) the embedded value for the same (ticker, fiscal year, field) stays, if it is in the currency
    the live data uses for that company."""
    kept = embedded[~embedded["ticker"].isin(live_tickers)]
    r = refused[(refused["table"] == "statements") & refused["fiscal_year"].notna()]
    if not r.empty:  # set lookups: isin() against thousands of live tickers costs more than the rest
        on_file = set(embedded["ticker"].unique())
        r = r[np.array([t in live_tickers and t in on_file for t in r["ticker"]], dtype=bool)]
    if r.empty or live.empty:
        return pd.concat([kept, live], ignore_index=True)
    tickers = set(r["ticker"])
    keys = set(zip(r["ticker"], r["fiscal_year"].astype(int), r["field"]))
    mine = live[live["ticker"].isin(tickers)]
    live_keys = set(zip(mine["ticker"], mine["fiscal_year"].astype(int), mine["field"]))
    cand = embedded[embedded["ticker"].isin(tickers)]
    cand_keys = zip(cand["ticker"], cand["fiscal_year"].astype(int), cand["field"])
    cand = cand[np.array([k in keys and k not in live_keys for k in cand_keys], dtype=bool)]
    currency = mine.groupby("ticker")["currency"].first()
    back = cand[cand["currency"].to_numpy(dtype=object) == cand["ticker"].map(currency).to_numpy(dtype=object)]
    return pd.concat([kept, live, back], ignore_index=True)


def refused_notices(refused: pd.DataFrame, examples: int = NOTICE_EXAMPLES) -> list[str]:
    """One notice naming the first refused values (Markdown-escaped) and counting the rest; none without any."""
    if refused.empty:
        return []
    shown = "; ".join(md_escape(describe_refused(r)) for r in refused.head(examples).itertuples())
    more = f"; and {len(refused) - examples} more" if len(refused) > examples else ""
    where = ", ".join(sorted(set(refused["origin"])))
    return [f"{len(refused)} value(s) refused and left out of the scores ({where}): {shown}{more}. "
            "`python -m data validate` lists the embedded ones."]


def md_escape(text: object) -> str:
    """Escape text for a Markdown notice (no link, image or HTML can slip in)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


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
    currencies are fetched too and stored with the snapshot. A write that fails
    (disk full, read-only cache) leaves the cache as it was and is reported in
    ``result.cache_error`` (and its summary), not raised.
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
    try:
        (cache or Cache()).write(result, fx_rates)
    except CacheWriteError as exc:  # disk full, read-only: said in the summary, never a traceback
        result.cache_error = str(exc)
    return result
