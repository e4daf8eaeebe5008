"""One entry point for the app and the CLIs: the freshest good data per ticker.

:func:`load_dataset` merges the embedded data set with the local cache of live
refreshes: for each ticker the cache wins when it holds a successful fetch,
else the embedded figures are used. :func:`refresh` runs a live refresh and
stores it in the cache.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from data.cache import AddedList, Cache, CachedView, CacheWriteError, is_stale
from data.embedded import EMBEDDED_SOURCE_LABEL, adjustment_tables, checked_tables, display_tables, embedded_tables
from data.identities import (concat_refused, describe_refused, empty_refused, fx_plausibility, plausible_tables,
                             statement_plausibility)
from data.live import (STATUS_NETWORK, STATUS_NO_STATEMENTS, STATUS_NOT_COMPANY, STATUS_OFFLINE, STATUS_OK,
                       STATUS_PARTIAL, STATUS_RATE_LIMITED, STATUS_TIMEOUT, STATUS_UNKNOWN, ProgressCallback,
                       RefreshResult, TickerFactory, empty_trailing, fetch_fx_rates, fetch_many)
from data.schema import empty_not_reported, empty_results, is_ticker

YAHOO_SOURCE_LABEL = "Yahoo Finance"
#: the segment of a company the user added (its subsegment is Yahoo's sector)
ADDED_SEGMENT = "added by you"
TICKER_HINT = "letters, digits and . - = ^, at most 20 characters, e.g. SMCI or 005930.KS"
#: refused values named one by one in the notice (the rest are counted)
NOTICE_EXAMPLES = 5
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


@dataclass
class Dataset:
    """Canonical tables plus where each ticker's data came from.

    ``provenance`` has one row per universe ticker: ``origin`` ("embedded",
    "yahoo" or "none"), ``fetched_at`` (UTC, for Yahoo data), ``stale``, and
    for the trailing rows ``trailing_fetched_at`` (NaT without any) and
    ``trailing_status`` ("ok", "partial" or "").

    ``trailing`` holds the live trailing rows (data.live.TRAILING_COLUMNS: Yahoo's
    TTM income statement and cash flow, ``statement`` "ttm", and the latest
    quarterly balance sheet, "quarterly balance"); empty for the embedded set.
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
    #: live trailing rows (TTM flows, latest quarterly balance sheet); empty without a live refresh
    trailing: pd.DataFrame = field(default_factory=empty_trailing)
    #: headline results of newest fiscal years (data.schema.RESULT_COLUMNS): shown with their precision, never scored
    results: pd.DataFrame = field(default_factory=empty_results)
    #: lines a company's statements do not show at all (data.schema.NOT_REPORTED_COLUMNS)
    not_reported: pd.DataFrame = field(default_factory=empty_not_reported)

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
    trailing = empty_trailing()
    trailing_tickers = pd.DataFrame(columns=["ticker", "fetched_at", "trailing_status"])

    if use_cache:
        cache = cache or Cache()
        added = cache.added()
        if added.error:
            notices.append(md_escape(added.error))
        try:
            view = cache.read(before_newest=before_last_refresh)
        except Exception as exc:  # noqa: BLE001 - the app must keep working on the embedded set
            view = None
            notices.append(f"Local cache unreadable ({type(exc).__name__}); using the embedded data set.")
        if view is not None:
            notices += _cache_notices(view, cache, now)
            view = _without_removed(view, added, set(universe["ticker"]))
            if not (view.empty and view.fx.empty):
                view, live_refused = _checked_view(view, fx, emb.explanations)
                refused += [view.refused, live_refused]
            if not view.empty:
                live = set(view.tickers["ticker"])
                statements = _overlay_statements(statements, view.statements, live,
                                                 concat_refused([view.refused, live_refused]))
                market = pd.concat([market[~market["ticker"].isin(view.market["ticker"])], view.market],
                                   ignore_index=True)
                # Tickers fetched live outside the universe join it: "added by you" with their Yahoo sector
                # when the user added them, else (a CLI refresh, the benchmarks' synthetic sets) as "other".
                extra = view.tickers[~view.tickers["ticker"].isin(universe["ticker"])]
                if not extra.empty:
                    universe = pd.concat([universe, _extra_universe(extra, added)], ignore_index=True)
                    prov = pd.concat([prov, pd.DataFrame({"ticker": extra["ticker"].to_numpy(), "origin": "none",
                                                          "stale": False})], ignore_index=True)
                fetched = view.tickers.set_index("ticker")["fetched_at"]
                is_live = prov["ticker"].isin(live)
                prov.loc[is_live, "origin"] = "yahoo"
                prov["fetched_at"] = pd.to_datetime(prov["ticker"].map(fetched), utc=True).astype("datetime64[us, UTC]")
                prov.loc[is_live, "stale"] = prov.loc[is_live, "fetched_at"].map(lambda t: is_stale(t, now))
                trailing = view.trailing[view.trailing["ticker"].isin(live)].reset_index(drop=True)
                trailing_tickers = view.trailing_tickers[view.trailing_tickers["ticker"].isin(set(trailing["ticker"]))]
            if not view.fx.empty:
                fx = pd.concat([fx[~fx["currency"].isin(view.fx["currency"])], view.fx], ignore_index=True)
        # an added company without cached figures (its snapshot set aside...) stays listed, so it can be removed
        missing = [t for t in added.tickers if t not in set(universe["ticker"])]
        if missing:
            none = pd.DataFrame({"ticker": missing, "name": "", "sector": ""})
            universe = pd.concat([universe, _extra_universe(none, added)], ignore_index=True)
            prov = pd.concat([prov, pd.DataFrame({"ticker": missing, "origin": "none", "stale": False})],
                             ignore_index=True)
    tr = trailing_tickers.drop_duplicates("ticker").set_index("ticker")
    when = {t: pd.Timestamp(v) for t, v in tr["fetched_at"].items() if pd.notna(v)}
    prov["trailing_fetched_at"] = pd.Series([when.get(t, pd.NaT) for t in prov["ticker"]], index=prov.index,
                                            dtype="datetime64[us, UTC]")
    status = {t: str(v) for t, v in tr["trailing_status"].items() if isinstance(v, str)}
    prov["trailing_status"] = pd.Series([status.get(t, "") for t in prov["ticker"]], index=prov.index, dtype=object)
    all_refused = concat_refused(refused)
    notices += refused_notices(all_refused)
    commitments, useful_lives, servers = adjustment_tables()
    results, not_reported = display_tables()
    return Dataset(statements, market, universe, fx, prov.reset_index(drop=True), notices,
                   commitments, useful_lives, servers, all_refused, trailing=trailing, results=results,
                   not_reported=not_reported)


def _extra_universe(extra: pd.DataFrame, added: AddedList) -> pd.DataFrame:
    """Universe rows for tickers outside the embedded universe (columns of ``extra``: ticker, name, sector)."""
    entries = [added.companies.get(t) or {} for t in extra["ticker"]]
    is_added = np.array([bool(e) for e in entries], dtype=bool)
    names = extra["name"].fillna("").astype(str).to_numpy(dtype=object)
    names = np.where([bool(e.get("name")) for e in entries], [e.get("name") or "" for e in entries], names)
    names = np.where(names == "", extra["ticker"].to_numpy(dtype=object), names)
    cached_sector = extra["sector"].fillna("").astype(str).to_numpy(dtype=object) if "sector" in extra else \
        np.full(len(extra), "", dtype=object)
    sector = np.array([e.get("sector") or s or "sector not given by Yahoo" for e, s in zip(entries, cached_sector)],
                      dtype=object)
    return pd.DataFrame({
        "ticker": extra["ticker"].to_numpy(), "name": names,
        "segment": np.where(is_added, ADDED_SEGMENT, "other"),
        "subsegment": np.where(is_added, sector, "user-added"),
        "country": [e.get("country") for e in entries], "price_currency": None,
        "origin": np.where(is_added, "added", "user"),
    })


def _without_removed(view: CachedView, added: AddedList, universe: set[str]) -> CachedView:
    """``view`` without the tickers the user removed (unless in the embedded universe or added again)."""
    gone = {t for t in added.removed if t not in universe and t not in added.companies}
    if not gone:
        return view
    keep = lambda f: f[~f["ticker"].isin(gone)].reset_index(drop=True)  # noqa: E731
    return replace(view, statements=keep(view.statements), market=keep(view.market), tickers=keep(view.tickers),
                   trailing=keep(view.trailing), trailing_tickers=keep(view.trailing_tickers))


def _cache_notices(view: CachedView, cache: Cache, now: datetime) -> list[str]:
    """Notices for snapshots set aside (or, in a read-only cache, skipped) as corrupt."""
    out = [f"A corrupt cache snapshot was set aside ({md_escape(q)}); data rebuilt from the others."
           for q in dict.fromkeys([*view.quarantined, *cache.recently_set_aside(now)])]
    out += [f"A corrupt cache snapshot was skipped ({md_escape(q)}): the cache is read-only, so it stays in "
            "place; data rebuilt from the others." for q in view.skipped]
    return out


def _checked_view(view: CachedView, embedded_fx: pd.DataFrame,
                  explanations: pd.DataFrame) -> tuple[CachedView, pd.DataFrame]:
    """``view`` with its statements, trailing rows, market and FX inside the plausibility bounds, and the refused
    rows (trailing ones with table "trailing": they never bring an embedded annual value back)."""
    rates = pd.concat([embedded_fx[~embedded_fx["currency"].isin(view.fx["currency"])], view.fx], ignore_index=True)
    st, mk, fx, refused = plausible_tables(view.statements, view.market, view.fx, explanations, "yahoo", rates)
    trailing, tr_refused = view.trailing, empty_refused()
    if not trailing.empty:
        conv = fx_plausibility(rates, "yahoo")[0]
        parts = []
        for _, rows in trailing.groupby("statement", sort=False):  # one value per line and ticker in each
            ok, bad = statement_plausibility(rows, conv, explanations, "yahoo")
            parts.append(ok)
            tr_refused = concat_refused([tr_refused, bad.assign(table="trailing")])
        trailing = pd.concat(parts, ignore_index=True)
    checked = replace(view, statements=st.reset_index(drop=True), market=mk.reset_index(drop=True),
                      fx=fx.reset_index(drop=True), trailing=trailing.reset_index(drop=True))
    return checked, concat_refused([refused, tr_refused])


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
    """Live refresh of ``tickers`` (default: the whole universe and the companies the user added) into the cache.

    The cache is written only when at least one ticker succeeded; failures and
    an offline network leave it untouched. FX rates for non-USD statement
    currencies are fetched too and stored with the snapshot. A write that fails
    (disk full, read-only cache) leaves the cache as it was and is reported in
    ``result.cache_error`` (and its summary), not raised.
    """
    if tickers is None:
        tickers = embedded_tables()[2]["ticker"].tolist()
        tickers += [t for t in (cache or Cache()).added().tickers if t not in tickers]
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


# --------------------------------------------------------------------------- companies added by the user

@dataclass
class AddResult:
    """How adding (or removing) one company went, in words for the sidebar, a link notice or the CLI."""

    ticker: str
    status: str  # "added", "already in Kosmos", "removed", "invalid symbol", "not added", or a fetch status
    message: str
    result: RefreshResult | None = None

    @property
    def ok(self) -> bool:
        """True when the company is (now) in Kosmos, or was removed as asked."""
        return self.status in ("added", "already in Kosmos", "removed")


def normalise_symbol(raw: object) -> str:
    """What the user typed as a Yahoo symbol: trimmed, upper case (' smci ' -> 'SMCI')."""
    return str(raw if raw is not None else "").strip().upper()


def invalid_symbol_message(raw: object) -> str:
    text = "".join(c for c in str(raw if raw is not None else "").strip()[:20] if c.isprintable())
    shown = repr(text) if text else "An empty symbol"
    return f"{shown} is not a ticker symbol: use {TICKER_HINT}."


def add_company(raw: object, *, cache: Cache | None = None, factory: TickerFactory | None = None,
                **fetch_kwargs) -> AddResult:
    """Fetch one ticker live, validate it and keep it as a company "added by you".

    Refused with a message: a symbol outside :data:`data.schema.TICKER_RE`, an
    unknown or delisted symbol, an ETF / fund / index (Yahoo quoteType), a
    ticker without annual statements, Yahoo's rate limit, no network. A good
    fetch is stored like any refresh (one atomic snapshot, trailing tables
    included) and the ticker is recorded in the cache folder's ``added.json``
    (atomic), so it survives a restart and is refreshed with the universe.
    """
    sym = normalise_symbol(raw)
    if not is_ticker(sym):
        return AddResult(sym[:20], "invalid symbol", invalid_symbol_message(raw))
    cache = cache or Cache()
    if sym in set(embedded_tables()[2]["ticker"]):
        return AddResult(sym, "already in Kosmos", f"{sym} is already in the Kosmos universe.")
    added = cache.added()
    if sym in added.companies:
        return AddResult(sym, "already in Kosmos", f"{sym} is already among the companies you added "
                         "(“Refresh from Yahoo Finance” updates it).")
    result = refresh([sym], cache=cache, factory=factory, **fetch_kwargs)
    o = result.outcomes.get(sym)
    if o is None or not o.good:
        return AddResult(sym, o.status if o else "not added", _not_added_message(sym, result), result)
    if result.cache_error:
        return AddResult(sym, "not added", f"{sym} was fetched but could not be saved: {result.cache_error}.", result)
    profile = result.profiles.get(sym) or {}
    name = result.names.get(sym) or profile.get("name") or sym
    try:
        cache.record_added({"ticker": sym, "name": name, "sector": profile.get("sector"),
                            "industry": profile.get("industry"), "country": profile.get("country"),
                            "quote_type": profile.get("quote_type"),
                            "added_at": result.fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ")})
    except CacheWriteError as exc:
        return AddResult(sym, "not added", f"{sym} was fetched but the list of added companies could not be saved: "
                         f"{exc}.", result)
    sector = profile.get("sector") or "not given by Yahoo"
    if o.trailing == STATUS_OK:
        basis = f"annual statements and the trailing twelve months ({o.trailing_message})"
    elif o.trailing == STATUS_PARTIAL:
        basis = f"annual statements; trailing data partial ({o.trailing_message})"
    else:
        basis = f"annual statements; no trailing data ({o.trailing_message or 'not fetched'})"
    annual = "" if o.status == STATUS_OK else f" Annual statements partial ({o.message})."
    return AddResult(sym, "added", f"Added {sym} — {name} (Yahoo sector: {sector}) as a company added by you, "
                     f"scored with the same rules on its {basis}.{annual} It is kept across restarts; remove it "
                     "under “Add a company”.", result)


def _not_added_message(sym: str, result: RefreshResult) -> str:
    """Why ``sym`` was not added, in words (never 'error' alone)."""
    o = result.outcomes.get(sym)
    status, why = (o.status, o.message) if o else ("", "no answer")
    name = (result.profiles.get(sym) or {}).get("name")
    if status == STATUS_UNKNOWN:
        return f"Yahoo Finance does not know {sym} (unknown or delisted symbol). Nothing was added."
    if status == STATUS_NOT_COMPANY:
        return f"{sym} is {why}. Nothing was added."
    if status == STATUS_NO_STATEMENTS:
        label = f"{sym} ({name})" if name else sym
        return f"Yahoo Finance has no annual statements for {label}: nothing to score. Nothing was added."
    if status == STATUS_RATE_LIMITED:
        return (f"Yahoo Finance is rate-limiting this machine (HTTP 429): {sym} was not added. "
                "Try again in a few minutes.")
    if result.offline or status in (STATUS_NETWORK, STATUS_OFFLINE, STATUS_TIMEOUT):
        return f"Offline: Yahoo Finance cannot be reached ({why}); {sym} was not added."
    return f"{sym} could not be fetched ({status}: {why}); nothing was added."


def remove_company(raw: object, *, cache: Cache | None = None) -> AddResult:
    """Remove a company the user added. Its cached snapshots stay (history) but are no longer shown;
    the embedded universe cannot be changed this way."""
    sym = normalise_symbol(raw)
    if not is_ticker(sym):
        return AddResult(sym[:20], "invalid symbol", invalid_symbol_message(raw))
    cache = cache or Cache()
    try:
        removed = cache.record_removed(sym)
    except CacheWriteError as exc:
        return AddResult(sym, "not removed", f"{sym} could not be removed: {exc}.")
    if not removed:
        return AddResult(sym, "not removed", f"{sym} is not a company you added (only those can be removed).")
    return AddResult(sym, "removed", f"Removed {sym}. Its cached figures are kept but no longer shown; add it "
                     "again any time.")


def added_companies(cache: Cache | None = None) -> AddedList:
    """The companies the user added (ticker -> entry) and those removed."""
    return (cache or Cache()).added()
