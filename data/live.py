"""Live source: Yahoo Finance through the real ``yfinance`` library.

For each ticker we read ``info`` and the annual income statement, balance sheet
and cash flow, and map them to the canonical tables of :mod:`data.schema`; then
the *trailing* tables: Yahoo's own trailing-twelve-month income statement and
cash flow (``ttm_income_stmt``, ``ttm_cashflow``: ``freq="trailing"``, newest
column only) and the latest column of the quarterly balance sheet
(``quarterly_balance_sheet``). Kosmos never sums quarters itself. The trailing
rows (:data:`TRAILING_COLUMNS`) use the same labels and mapping as the annual
ones plus a ``statement`` column ("ttm" or "quarterly balance"); their
``fiscal_year`` is the calendar year of ``period_end`` (not used for scoring).
A ticker whose annual statements were fetched but whose trailing tables failed
or came back empty keeps its annual data; the trailing outcome is recorded
separately (:attr:`TickerOutcome.trailing`): "ok", "partial" (e.g. TTM income
but no quarterly balance sheet, with the reason), "none" or the failure.

``info["quoteType"]`` tells funds from companies: an ETF, mutual fund, index,
currency... is refused as "not a company" before any statement is requested.

yfinance hides its exceptions by default and answers an error with an empty
frame, so an empty answer can mean delisted, rate-limited or offline. This
module records the real reason per ticker (:class:`TickerOutcome`) and keeps
partial results: one bad ticker never fails the batch.

Robustness rules (see issue "Real data"):

* at most 4 concurrent workers and a deadline per ticker;
* every HTTP call's timeout is clamped (yfinance hard-codes 30 s);
* ``YFRateLimitError`` is retried with exponential back-off;
* after ``max_network_errors`` network failures in a row the batch stops and
  reports one clear "offline" state instead of waiting on every ticker;
* one deadline for the whole refresh (:class:`RefreshDeadline`), not per
  request: when Yahoo has answered nothing for ``quiet_s`` (default 20 s) the
  refresh stops as offline -- also when its hosts accept connections but never
  answer -- and no refresh runs longer than ``limit_s`` (default 120 s). The
  clamped session refuses requests once the deadline has passed and clamps each
  timeout to the time left, so abandoned workers end within the deadline too;
* symbols that are not ticker symbols (:data:`data.schema.TICKER_RE`: letters,
  digits and ``. - = ^``, at most 20 characters) are never requested or stored.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple, Protocol

import numpy as np
import pandas as pd

from data.schema import KNOWN_FIELDS, STATEMENT_COLUMNS, empty_market, empty_statements, is_ticker

log = logging.getLogger(__name__)

MAX_WORKERS = 4
HTTP_TIMEOUT_S = 8.0
PREFLIGHT_TIMEOUT_S = 5.0
#: offline when Yahoo has answered nothing for this long (preflight + this stays well under 30 s)
REFRESH_QUIET_S = 20.0
#: no refresh runs longer than this, however slowly Yahoo keeps answering
REFRESH_LIMIT_S = 120.0
FX_DEADLINE_S = 10.0
STATUS_INVALID = "invalid symbol"

#: label with spaces removed -> canonical label; accepts pretty and raw keys.
_FIELD_BY_KEY: dict[str, str] = {f.replace(" ", "").lower(): f for f in KNOWN_FIELDS}

STATUS_OK = "ok"
STATUS_PARTIAL = "partial"
STATUS_UNKNOWN = "unknown symbol"
STATUS_RATE_LIMITED = "rate limited"
STATUS_NETWORK = "network error"
STATUS_TIMEOUT = "timeout"
STATUS_OFFLINE = "offline"
STATUS_ERROR = "error"
STATUS_NO_STATEMENTS = "no statements"
STATUS_NOT_COMPANY = "not a company"  # an ETF, fund, index, currency... (Yahoo quoteType)
GOOD_STATUSES = (STATUS_OK, STATUS_PARTIAL)
#: trailing outcome when Yahoo answered but had no trailing table for the ticker
TRAILING_NONE = "none"

#: Yahoo quoteType values that are not companies with statements, and how to name them
NOT_COMPANY_TYPES: dict[str, str] = {
    "ETF": "an ETF", "MUTUALFUND": "a mutual fund", "MONEYMARKET": "a money-market fund", "INDEX": "an index",
    "CURRENCY": "a currency pair", "CRYPTOCURRENCY": "a cryptocurrency", "FUTURE": "a futures contract",
    "OPTION": "an option",
}

#: the trailing tables: Ticker attribute, value of the ``statement`` column, words, Yahoo page
TRAILING_FLOWS, TRAILING_BALANCE = "ttm", "quarterly balance"
TRAILING_PARTS: tuple[tuple[str, str, str, str], ...] = (
    ("ttm_income_stmt", TRAILING_FLOWS, "TTM income statement", "financials"),
    ("ttm_cashflow", TRAILING_FLOWS, "TTM cash flow", "cash-flow"),
    ("quarterly_balance_sheet", TRAILING_BALANCE, "quarterly balance sheet", "balance-sheet"),
)
TRAILING_COLUMNS: list[str] = ["ticker", "fiscal_year", "period_end", "currency", "field", "value", "source",
                               "note", "statement"]
_TRAILING_NOTE = {TRAILING_FLOWS: "Yahoo Finance trailing twelve months (Yahoo's TTM series, not summed by Kosmos)",
                  TRAILING_BALANCE: "Yahoo Finance quarterly balance sheet, latest quarter"}


_EMPTY_TRAILING = pd.DataFrame({c: pd.Series(dtype="int64" if c == "fiscal_year" else float if c == "value" else str)
                                for c in TRAILING_COLUMNS})


def empty_trailing() -> pd.DataFrame:
    """An empty trailing table (:data:`TRAILING_COLUMNS`)."""
    return _EMPTY_TRAILING.copy()


class TickerLike(Protocol):
    """What we use of ``yfinance.Ticker``; tests inject fakes with the same shape."""

    @property
    def info(self) -> dict[str, Any]: ...
    @property
    def income_stmt(self) -> pd.DataFrame: ...
    @property
    def balance_sheet(self) -> pd.DataFrame: ...
    @property
    def cashflow(self) -> pd.DataFrame: ...
    # read when present (yfinance >= 0.2.3x): ttm_income_stmt, ttm_cashflow, quarterly_balance_sheet


TickerFactory = Callable[[str], TickerLike]
ProgressCallback = Callable[[int, int, str], None]


@dataclass
class TickerOutcome:
    """How fetching one ticker ended, in words an investor can read."""

    ticker: str
    status: str
    message: str
    attempts: int = 1
    rows: int = 0
    #: how the trailing tables went: "ok", "partial", "none", a failure status, or "" (not attempted)
    trailing: str = ""
    trailing_message: str = ""

    @property
    def good(self) -> bool:
        return self.status in GOOD_STATUSES

    @property
    def trailing_good(self) -> bool:
        return self.trailing in GOOD_STATUSES


@dataclass
class RefreshResult:
    """Everything one live refresh produced, good and bad."""

    statements: pd.DataFrame
    market: pd.DataFrame
    names: dict[str, str]
    outcomes: dict[str, TickerOutcome]
    fetched_at: datetime
    offline: bool = False
    rate_limited: bool = False  # the batch stopped early because Yahoo kept answering HTTP 429
    cache_error: str | None = None  # why the refresh could not be saved (disk full, read-only cache)
    #: trailing rows (:data:`TRAILING_COLUMNS`) of the tickers whose trailing outcome is good
    trailing: pd.DataFrame = field(default_factory=empty_trailing)
    #: per ticker: Yahoo's quote_type, sector, industry, country (strings or None)
    profiles: dict[str, dict[str, str | None]] = field(default_factory=dict)

    @property
    def good_tickers(self) -> list[str]:
        return [t for t, o in self.outcomes.items() if o.good]

    def summary(self) -> str:
        text = self._outcome_summary()
        trailing = self._trailing_summary()
        if trailing:
            text = (text if text.endswith(".") else text + ".") + trailing
        return f"{text} NOT SAVED: {self.cache_error}." if self.cache_error else text

    def _trailing_summary(self) -> str:
        """' Trailing twelve months: 30 complete, 2 partial (NBIS: missing quarterly balance sheet), 2 none.'"""
        good = [o for o in self.outcomes.values() if o.good]
        if not good:
            return ""
        full = sum(o.trailing == STATUS_OK for o in good)
        partial = [o for o in good if o.trailing == STATUS_PARTIAL]
        other = [o for o in good if o.trailing not in GOOD_STATUSES]
        text = f" Trailing twelve months: {full} complete"
        if partial:
            text += f", {len(partial)} partial (" + "; ".join(f"{o.ticker} {o.trailing_message}" for o in partial[:5])
            text += "; …)" if len(partial) > 5 else ")"
        if other:
            text += f", {len(other)} without (" + "; ".join(f"{o.ticker}: {o.trailing or 'not fetched'}"
                                                           for o in other[:5])
            text += "; …)" if len(other) > 5 else ")"
        return text + "."

    def _outcome_summary(self) -> str:
        n_ok = len(self.good_tickers)
        if self.offline and n_ok == 0:
            return "Offline: Yahoo Finance cannot be reached; nothing was changed."
        if self.rate_limited and n_ok == 0:
            return "Yahoo Finance is rate-limiting this machine (HTTP 429); nothing was changed. Try again in a few minutes."
        bad = {t: o for t, o in self.outcomes.items() if not o.good}
        text = f"Fetched {n_ok} of {len(self.outcomes)} tickers from Yahoo Finance."
        if bad:
            text += " Failed: " + "; ".join(f"{t} ({o.status}: {o.message})" for t, o in bad.items())
        return text


# --------------------------------------------------------------------------- mapping

def fiscal_year_of(period_end: pd.Timestamp) -> int:
    """Fiscal year label of a period end.

    The calendar year of the period end, except that a 52/53-week year ending in
    the first week of January belongs to the previous year (a year "ending"
    2023-01-01 is fiscal 2022). Dell's year ending 2025-01-31 is FY2025, as Dell
    and the reference set label it.
    """
    ts = pd.Timestamp(period_end)
    if ts.month == 1 and ts.day <= 7:
        return ts.year - 1
    return ts.year


def canonical_field(label: Any) -> str | None:
    """Map a yfinance row label (pretty "Total Revenue" or raw "TotalRevenue") to ours."""
    if not isinstance(label, str):
        return None
    return _FIELD_BY_KEY.get(label.replace(" ", "").lower())


def _cells(frame: pd.DataFrame | None, newest_only: bool = False) -> dict[str, np.ndarray] | None:
    """The mappable cells of one yfinance statement frame as equal-length arrays (field, fiscal_year,
    period_end, value), label by label and newest period first as yfinance orders them; None when there are none.

    Unknown labels, non-date columns and non-finite cells are dropped (missing stays missing; nothing is
    filled). Two labels mapping to one field (Yahoo sending both spellings) keep the first. ``newest_only``:
    only the newest period column, ``fiscal_year`` = its calendar year (the trailing tables).
    """
    if frame is None or not isinstance(frame, pd.DataFrame) or frame.empty:
        return None
    fields = [canonical_field(label) for label in frame.index]
    rows = [i for i, f in enumerate(fields) if f is not None]
    cols, stamps = [], []
    for j, col in enumerate(frame.columns):
        try:
            period_end = pd.Timestamp(col)
        except (ValueError, TypeError):
            continue
        if pd.isna(period_end):
            continue
        cols.append(j)
        stamps.append(period_end)
    if not rows or not cols:
        return None
    if newest_only:
        k = max(range(len(stamps)), key=lambda i: (stamps[i], -i))  # the newest column (the first of equals)
        cols, stamps = [cols[k]], [stamps[k]]
        years = [stamps[0].year]
    else:
        years = [fiscal_year_of(ts) for ts in stamps]
    try:  # yfinance casts every column to float: one array, no per-cell conversion
        values = frame.to_numpy(dtype=float, na_value=np.nan)[np.ix_(rows, cols)]
    except (TypeError, ValueError):
        values = frame.iloc[rows, cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    r, c = np.nonzero(np.isfinite(values))
    if not len(r):
        return None
    year = np.asarray(years, dtype="int64")[c]
    fld = np.asarray([fields[i] for i in rows], dtype=object)[r]
    seen: set[tuple[int, str]] = set()
    first = np.array([not ((y, f) in seen or seen.add((y, f))) for y, f in zip(year.tolist(), fld)], dtype=bool)
    ends = np.asarray([ts.strftime("%Y-%m-%d") for ts in stamps], dtype=object)
    return {"field": fld[first], "fiscal_year": year[first], "period_end": ends[c[first]],
            "value": values[r[first], c[first]]}


def _table(parts: list[tuple[dict[str, np.ndarray], dict[str, str]]], ticker: str, currency: str,
           columns: list[str]) -> pd.DataFrame | None:
    """One frame of rows from several ``_cells`` results, each with its constant columns (source, ...)."""
    parts = [(cells, const) for cells, const in parts if cells is not None]
    if not parts:
        return None
    data: dict[str, Any] = {k: np.concatenate([cells[k] for cells, _ in parts])
                            for k in ("field", "fiscal_year", "period_end", "value")}
    for key in parts[0][1]:
        data[key] = np.concatenate([np.full(len(cells["field"]), const[key], dtype=object) for cells, const in parts])
    data["ticker"], data["currency"] = ticker, currency
    return pd.DataFrame(data, columns=columns)


def map_statement_frame(
    frame: pd.DataFrame | None, ticker: str, currency: str, source: str
) -> pd.DataFrame:
    """Turn one yfinance statement frame into canonical tidy rows.

    ``frame`` has labels as rows and period-end timestamps as columns; rows and
    cells may be missing or NaN. Unknown labels are ignored, NaN cells dropped
    (missing stays missing), non-date columns skipped. Nothing is filled.
    """
    out = _table([(_cells(frame), {"source": source})], ticker, currency, STATEMENT_COLUMNS)
    return empty_statements() if out is None else out


def map_trailing_frame(frame: pd.DataFrame | None, ticker: str, currency: str, statement: str,
                       source: str) -> pd.DataFrame:
    """One trailing yfinance frame (TTM income or cash flow, or the quarterly balance sheet) as trailing rows.

    Only the newest period column is kept: the end of the TTM window, or the
    latest quarter end (an older quarter never fills a gap in the newest one).
    Labels are mapped exactly like the annual statements; ``fiscal_year`` is the
    calendar year of ``period_end``; ``statement`` is "ttm" or "quarterly balance".
    """
    const = {"source": source, "note": _TRAILING_NOTE[statement], "statement": statement}
    out = _table([(_cells(frame, newest_only=True), const)], ticker, currency, TRAILING_COLUMNS)
    return empty_trailing() if out is None else out


def profile_of(info: dict[str, Any] | None) -> dict[str, str | None]:
    """Yahoo's quote type, sector, industry and country from ``info`` (None where Yahoo gave none)."""
    info = info or {}

    def text(key: str) -> str | None:
        v = info.get(key)
        return v.strip()[:80] if isinstance(v, str) and v.strip() else None

    qt = text("quoteType")
    return {"quote_type": qt.upper() if qt else None, "sector": text("sector"), "industry": text("industry"),
            "country": text("country")}


def map_info(info: dict[str, Any] | None, ticker: str, fetched_on: str) -> tuple[pd.DataFrame, str | None, str | None]:
    """Market row, statement currency and company name from ``Ticker.info``.

    Yahoo drops keys whose value is null, so every key is optional. The
    statement currency is ``financialCurrency`` (price ``currency`` only as a
    fallback); market cap stays in the price currency.
    """
    info = info or {}
    price_currency = info.get("currency")
    fin_currency = info.get("financialCurrency") or price_currency
    name = info.get("longName") or info.get("shortName")
    cap = info.get("marketCap")
    shares = info.get("sharesOutstanding")
    market = None
    if isinstance(price_currency, str) and len(price_currency) == 3 and (cap or shares):
        market = pd.DataFrame(
            [{
                "ticker": ticker,
                "price_currency": price_currency.upper(),
                "market_cap": float(cap) if _positive(cap) else float("nan"),
                "shares_outstanding": float(shares) if _positive(shares) else float("nan"),
                "as_of": fetched_on,
                "source": f"https://finance.yahoo.com/quote/{ticker}",
            }]
        )
    currency = fin_currency.upper() if isinstance(fin_currency, str) and len(fin_currency) == 3 else None
    return (empty_market() if market is None else market), currency, name


def _positive(x: Any) -> bool:
    try:
        return math.isfinite(float(x)) and float(x) > 0
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- errors

def classify_error(exc: BaseException) -> str:
    """Map an exception from yfinance or its HTTP stack to an outcome status."""
    name = type(exc).__name__
    text = str(exc)
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status == 404:
        return STATUS_UNKNOWN
    if status == 429:
        return STATUS_RATE_LIMITED
    if isinstance(status, int) and status >= 400:
        return STATUS_ERROR  # the server answered: not a network problem
    if name == "YFRateLimitError" or "Too Many Requests" in text or "429" in text:
        return STATUS_RATE_LIMITED
    if name in ("YFTickerMissingError", "YFTzMissingError", "YFPricesMissingError") or "delisted" in text:
        return STATUS_UNKNOWN
    if isinstance(exc, TimeoutError) or name in ("Timeout", "ReadTimeout", "ConnectTimeout"):
        return STATUS_TIMEOUT
    network_names = ("DNSError", "ConnectionError", "ProxyError", "SSLError", "CurlError", "RequestException")
    if isinstance(exc, (ConnectionError, OSError)) or name in network_names or "Could not resolve host" in text:
        return STATUS_NETWORK
    return STATUS_ERROR


class _RateLimited(Exception):
    pass


class RefreshDeadline:
    """When one refresh stops waiting: ``quiet_s`` after Yahoo last answered (or after the start), and at
    the latest ``limit_s`` after the start. Shared by every worker and request of the refresh."""

    def __init__(self, quiet_s: float = REFRESH_QUIET_S, limit_s: float = REFRESH_LIMIT_S,
                 clock: Callable[[], float] = time.monotonic):
        self.quiet_s, self.limit_s, self.clock = float(quiet_s), float(limit_s), clock
        self.start = self.last_answer = clock()

    def heard(self) -> None:
        """Yahoo answered something (any HTTP response, or a ticker's outcome)."""
        self.last_answer = self.clock()

    def at(self) -> float:
        """The clock reading at which the refresh gives up."""
        return min(self.last_answer + self.quiet_s, self.start + self.limit_s)

    def remaining(self) -> float:
        """Seconds left before the refresh gives up (negative once it has)."""
        return self.at() - self.clock()

    def passed(self) -> bool:
        """Whether the refresh has given up waiting."""
        return self.remaining() <= 0

    def reason(self) -> str:
        """Why the deadline passed, in words."""
        if self.silent:
            return f"no answer from Yahoo Finance within {self.quiet_s:g} s"
        return f"the refresh's {self.limit_s:g} s time limit passed"

    @property
    def silent(self) -> bool:
        """True when the deadline that applies is the quiet one (offline), not the overall limit."""
        return self.last_answer + self.quiet_s <= self.start + self.limit_s


# --------------------------------------------------------------------------- fetching

def clamped_timeout(requested: float | None, http_timeout: float, deadline: RefreshDeadline | None) -> float:
    """The timeout one request gets: at most ``http_timeout`` and the time left before ``deadline``.

    Raises TimeoutError once the deadline has passed (the request is not sent).
    """
    limit = http_timeout
    if deadline is not None:
        left = deadline.remaining()
        if left <= 0:
            raise TimeoutError(f"refresh stopped: {deadline.reason()}")
        limit = min(limit, max(left, 0.05))
    return limit if requested is None else min(float(requested), limit)


def default_ticker_factory(http_timeout: float = HTTP_TIMEOUT_S,
                           deadline: RefreshDeadline | None = None) -> TickerFactory:
    """A factory of real ``yfinance.Ticker`` objects with clamped HTTP timeouts.

    yfinance's exceptions are un-hidden so we can record the real reason per
    ticker (an empty frame alone can't tell delisted from offline). With a
    ``deadline`` every request's timeout also ends at the refresh's deadline,
    requests after it are refused, and every answer counts as Yahoo being heard.
    """
    import yfinance as yf
    from curl_cffi import requests as curl_requests

    class ClampedSession(curl_requests.Session):
        def request(self, method, url, *args, **kwargs):  # type: ignore[override]
            kwargs["timeout"] = clamped_timeout(kwargs.get("timeout"), http_timeout, deadline)
            response = super().request(method, url, *args, **kwargs)
            if deadline is not None:
                deadline.heard()
            return response

    try:
        yf.config.debug.hide_exceptions = False
    except AttributeError:  # older yfinance
        pass
    session = ClampedSession(impersonate="chrome")

    def factory(symbol: str) -> TickerLike:
        return yf.Ticker(symbol, session=session)

    return factory


class Fetched(NamedTuple):
    """What fetching one ticker gave (empty tables on failure)."""

    statements: pd.DataFrame
    market: pd.DataFrame
    name: str | None
    outcome: TickerOutcome
    trailing: pd.DataFrame
    profile: dict[str, str | None]


def _failed(ticker: str, status: str, message: str, attempts: int, market: pd.DataFrame | None = None,
            name: str | None = None, profile: dict | None = None) -> Fetched:
    return Fetched(empty_statements(), market if market is not None else empty_market(), name,
                   TickerOutcome(ticker, status, message, attempts), empty_trailing(), profile or {})


def fetch_one(
    ticker: str,
    factory: TickerFactory,
    *,
    deadline: float,
    retries: int = 4,
    backoff_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    fetched_on: str | None = None,
) -> Fetched:
    """Fetch one ticker (annual statements, then the trailing tables); never raises."""
    fetched_on = fetched_on or datetime.now(timezone.utc).strftime("%Y-%m-%d")
    attempts = 0
    delay = backoff_s
    while True:
        attempts += 1
        try:
            return _fetch_once(ticker, factory, deadline, clock, fetched_on, attempts,
                               _Backoff(retries, backoff_s, sleep, clock, deadline))
        except Exception as exc:  # noqa: BLE001 - every failure becomes an outcome
            status = classify_error(exc)
            if status == STATUS_RATE_LIMITED and attempts <= retries and clock() + delay < deadline:
                log.info("%s rate limited, retry %d in %.1fs", ticker, attempts, delay)
                sleep(delay)
                delay *= 2
                continue
            return _failed(ticker, status, _failure_message(status, exc, attempts), attempts)


def _failure_message(status: str, exc: BaseException, attempts: int) -> str:
    return {
        STATUS_RATE_LIMITED: f"Yahoo rate limit (HTTP 429) after {attempts} attempt(s)",
        STATUS_UNKNOWN: "unknown or delisted symbol",
        STATUS_TIMEOUT: "no answer before the deadline",
        STATUS_NETWORK: f"network error: {type(exc).__name__}",
    }.get(status, f"{type(exc).__name__}: {str(exc)[:120]}")


@dataclass
class _Backoff:
    """Retries of one trailing table on HTTP 429 (the annual part is retried as a whole by fetch_one)."""

    retries: int
    backoff_s: float
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    deadline: float

    def call(self, fn: Callable[[], Any]) -> Any:
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001
                if (classify_error(exc) != STATUS_RATE_LIMITED or attempt >= self.retries
                        or self.clock() + delay >= self.deadline):
                    raise
                self.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover


def _fetch_once(ticker, factory, deadline, clock, fetched_on, attempts, backoff: _Backoff) -> Fetched:
    t = factory(ticker)
    info = t.info
    market, currency, name = map_info(info, ticker, fetched_on)
    profile = profile_of(info)
    kind = NOT_COMPANY_TYPES.get(profile["quote_type"] or "")
    if kind:  # a fund has no company statements: asking for them would only cost requests
        return _failed(ticker, STATUS_NOT_COMPANY, f"{kind} (Yahoo quoteType {profile['quote_type']}), not a company: "
                       "no income statement, balance sheet or cash flow to score", attempts, market, name, profile)
    parts: list[tuple[dict | None, dict[str, str]]] = []
    empty_parts = []
    for attr, page in (("income_stmt", "financials"), ("balance_sheet", "balance-sheet"), ("cashflow", "cash-flow")):
        if clock() > deadline:
            raise TimeoutError(f"deadline passed before {attr}")
        try:
            frame = getattr(t, attr)
        except Exception as exc:  # noqa: BLE001 - "no such table" is an empty answer, anything else a failure
            if not _empty_answer(exc):
                raise
            frame = None
        if currency is None:
            if frame is not None and not getattr(frame, "empty", True):
                raise ValueError("Yahoo gave statements without a currency; not stored")
            empty_parts.append(attr)
            continue
        cells = _cells(frame)
        if cells is None:
            empty_parts.append(attr)
        parts.append((cells, {"source": f"https://finance.yahoo.com/quote/{ticker}/{page}"}))
    statements = _table(parts, ticker, currency, STATEMENT_COLUMNS) if currency else None
    if statements is None:
        if not info or (profile["quote_type"] is None and name is None):
            return _failed(ticker, STATUS_UNKNOWN, "unknown or delisted symbol (Yahoo returned no quote and no "
                           "statements)", attempts)
        return _failed(ticker, STATUS_NO_STATEMENTS, "Yahoo returned no annual statements", attempts, market, name,
                       profile)
    trailing, t_status, t_message = _fetch_trailing(t, ticker, currency, deadline, clock, backoff)
    status = STATUS_PARTIAL if empty_parts else STATUS_OK
    msg = "complete" if not empty_parts else "missing: " + ", ".join(empty_parts)
    outcome = TickerOutcome(ticker, status, msg, attempts, len(statements), t_status, t_message)
    return Fetched(statements, market, name, outcome, trailing, profile)


def _empty_answer(exc: BaseException) -> bool:
    """yfinance's way of saying "Yahoo has no such table" once exceptions are not hidden: an empty timeseries
    result, or (trailing tables) an IndexError taking the newest column of a table without any."""
    return isinstance(exc, IndexError) or "Empty fundamentals-timeseries" in str(exc)


def _fetch_trailing(t: TickerLike, ticker: str, currency: str, deadline: float, clock: Callable[[], float],
                    backoff: _Backoff) -> tuple[pd.DataFrame, str, str]:
    """The trailing tables of one ticker: (rows, status, message). Never raises.

    Status "ok" when all three tables came back, "partial" when some did (the
    message names the missing ones and why), "none" when Yahoo answered without
    any, else the failure ("rate limited", "network error", "timeout", "error").
    """
    parts: list[tuple[dict, dict[str, str]]] = []
    missing: list[str] = []
    failures: list[tuple[str, str]] = []
    for attr, statement, label, page in TRAILING_PARTS:
        if clock() > deadline:
            failures.append((label, STATUS_TIMEOUT))
            missing.append(f"{label} (deadline passed)")
            continue
        if failures and failures[-1][1] in (STATUS_RATE_LIMITED, STATUS_NETWORK, STATUS_TIMEOUT):
            missing.append(f"{label} (not asked: {failures[-1][1]})")
            continue
        try:
            frame = backoff.call(lambda a=attr: getattr(t, a, None))
        except Exception as exc:  # noqa: BLE001
            if _empty_answer(exc):
                missing.append(f"{label} (Yahoo returned none)")
                continue
            status = classify_error(exc)
            failures.append((label, status))
            missing.append(f"{label} ({status})")
            continue
        cells = _cells(frame, newest_only=True)
        if cells is None:
            missing.append(f"{label} (Yahoo returned none)")
            continue
        if parts and statement == TRAILING_FLOWS and parts[0][1]["statement"] == TRAILING_FLOWS:
            keep = ~np.isin(cells["field"], parts[0][0]["field"])  # a line in both TTM tables: the income one
            cells = {k: v[keep] for k, v in cells.items()}
        parts.append((cells, {"source": f"https://finance.yahoo.com/quote/{ticker}/{page}",
                              "note": _TRAILING_NOTE[statement], "statement": statement}))
    if parts:
        rows = _table(parts, ticker, currency, TRAILING_COLUMNS)
        ends = {const["statement"]: cells["period_end"][0] for cells, const in parts if len(cells["period_end"])}
        if not missing:
            return rows, STATUS_OK, f"TTM to {ends.get(TRAILING_FLOWS)} · balance sheet {ends.get(TRAILING_BALANCE)}"
        return rows, STATUS_PARTIAL, "missing: " + ", ".join(missing)
    if failures:
        return empty_trailing(), failures[0][1], "missing: " + ", ".join(missing)
    return empty_trailing(), TRAILING_NONE, "Yahoo returned no trailing statements"


def yahoo_reachable(host: str = "query2.finance.yahoo.com", timeout_s: float = PREFLIGHT_TIMEOUT_S) -> str | None:
    """Quick connectivity check: ``None`` when a TCP connection to Yahoo opens, else the reason."""
    import socket

    try:
        with socket.create_connection((host, 443), timeout=timeout_s):
            return None
    except socket.gaierror:
        return "DNS lookup failed"
    except (TimeoutError, socket.timeout):
        return f"no answer within {timeout_s:.0f} s"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


def forget_yfinance_responses() -> None:
    """Empty yfinance's in-process response cache.

    yfinance memoises GET responses per URL (``YfData.cache_get``, an
    ``lru_cache``) for the life of the process, so without this a second
    refresh in a long-running app would silently return the first refresh's
    answers instead of asking Yahoo again.
    """
    try:
        from yfinance.data import YfData

        YfData.cache_get.cache_clear()
    except (ImportError, AttributeError):  # a yfinance without that cache: nothing to forget
        pass


def fetch_many(
    tickers: Iterable[str],
    factory: TickerFactory | None = None,
    *,
    preflight: Callable[[], str | None] | None = None,
    max_workers: int = MAX_WORKERS,
    per_ticker_timeout_s: float = 25.0,
    retries: int = 4,
    backoff_s: float = 1.0,
    max_network_errors: int = 3,
    max_rate_limited: int = 3,
    progress: ProgressCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
    quiet_s: float = REFRESH_QUIET_S,
    limit_s: float = REFRESH_LIMIT_S,
) -> RefreshResult:
    """Fetch many tickers concurrently; partial results are kept.

    ``preflight()`` (default for the real source: :func:`yahoo_reachable`)
    returns a reason when Yahoo is unreachable; then nothing is attempted.
    ``progress(done, total, ticker)`` is called after each ticker. After
    ``max_network_errors`` consecutive network failures the remaining tickers
    are not attempted and the result is marked ``offline``; after
    ``max_rate_limited`` consecutive tickers that stayed rate-limited through
    all their retries, likewise, marked ``rate_limited`` (Yahoo limits per
    machine, so the other tickers would only wait out the same back-off).
    The whole refresh shares one :class:`RefreshDeadline`: nothing heard from
    Yahoo for ``quiet_s`` seconds stops it as offline, and it never runs longer
    than ``limit_s``. Symbols that are not ticker symbols are never requested.
    """
    raw = list(dict.fromkeys(t.strip().upper() for t in tickers if t and t.strip()))
    invalid = {s: TickerOutcome(s[:40], STATUS_INVALID, "not a ticker symbol (letters, digits and . - = ^, at most "
                                "20 characters); not requested", 0) for s in raw if not is_ticker(s)}
    symbols = [s for s in raw if s not in invalid]
    fetched_at = datetime.now(timezone.utc)
    if factory is None:
        preflight = preflight or yahoo_reachable
    reason = preflight() if preflight else None
    if reason is not None:
        outcomes = {s: TickerOutcome(s, STATUS_OFFLINE, f"not attempted: {reason}", 0) for s in symbols}
        _report_all(progress, symbols)
        return RefreshResult(empty_statements(), empty_market(), {}, {**outcomes, **invalid}, fetched_at, offline=True)
    deadline = RefreshDeadline(quiet_s, limit_s)
    factory = factory or default_ticker_factory(deadline=deadline)
    forget_yfinance_responses()
    batch = _Batch(symbols, factory, deadline, fetched_at.strftime("%Y-%m-%d"), max(1, min(max_workers, MAX_WORKERS)),
                   per_ticker_timeout_s, retries, backoff_s, max_network_errors, max_rate_limited, progress, sleep)
    batch.run()
    return batch.result(fetched_at, invalid)


def _report_all(progress: ProgressCallback | None, symbols: list[str]) -> None:
    """Progress for a batch that attempts nothing."""
    if progress:
        for i, s in enumerate(symbols, 1):
            progress(i, len(symbols), s)


class _Batch:
    """The state of one :func:`fetch_many` run: a bounded pool, counters that stop the batch early, results."""

    def __init__(self, symbols, factory, deadline, fetched_on, max_workers, per_ticker_timeout_s, retries,
                 backoff_s, max_network_errors, max_rate_limited, progress, sleep):
        self.symbols, self.factory, self.deadline, self.fetched_on = symbols, factory, deadline, fetched_on
        self.max_workers, self.per_ticker_timeout_s, self.retries, self.backoff_s = (
            max_workers, per_ticker_timeout_s, retries, backoff_s)
        self.max_network_errors, self.max_rate_limited, self.progress, self.sleep = (
            max_network_errors, max_rate_limited, progress, sleep)
        self.stop = threading.Event()
        self.stop_reason = ""
        self.consecutive_network = self.consecutive_limited = self.done = 0
        self.outcomes: dict[str, TickerOutcome] = {}
        self.statements: list[pd.DataFrame] = []
        self.markets: list[pd.DataFrame] = []
        self.names: dict[str, str] = {}
        self.trailing: list[pd.DataFrame] = []
        self.profiles: dict[str, dict[str, str | None]] = {}
        self.pending = list(symbols)
        self.futures: dict[Future, tuple[str, float]] = {}

    def job(self, sym: str):
        """One ticker, in a worker thread; never raises."""
        if self.stop.is_set() or self.deadline.passed():
            return _skipped(_not_attempted(sym, self.stop_reason or STATUS_OFFLINE))
        deadline = time.monotonic() + self.per_ticker_timeout_s
        return fetch_one(sym, self.factory, deadline=deadline, retries=self.retries, backoff_s=self.backoff_s,
                         sleep=self.sleep, fetched_on=self.fetched_on)

    def run(self) -> None:
        """Fetch every symbol (or stop early); abandoned workers are left to end on their own."""
        pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="kosmos-fetch")
        try:
            self._submit(pool)
            while self.futures:
                for sym, res in self._collect():
                    self._record(sym, res)
                if self.stop.is_set():
                    for sym in self.pending:
                        self._finish(sym, _not_attempted(sym, self.stop_reason))
                    self.pending.clear()
                self._submit(pool)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        for sym, _ in self.futures.values():  # pragma: no cover - only after an exception above
            self.outcomes.setdefault(sym, TickerOutcome(sym, STATUS_ERROR, "interrupted", 0))

    def _submit(self, pool: ThreadPoolExecutor) -> None:
        while self.pending and len(self.futures) < self.max_workers:
            sym = self.pending.pop(0)
            self.futures[pool.submit(self.job, sym)] = (sym, time.monotonic() + self.per_ticker_timeout_s + 1.0)

    def _collect(self) -> list[tuple[str, Fetched]]:
        """Wait for the next finished ticker, a hung one's deadline or the refresh's deadline."""
        now = time.monotonic()
        until = min(min(d for _, d in self.futures.values()), self.deadline.at())
        finished, _ = wait(list(self.futures), timeout=max(0.0, until - now), return_when=FIRST_COMPLETED)
        results = [(self.futures.pop(f)[0], f.result()) for f in finished]
        now, over = time.monotonic(), self.deadline.passed()
        for fut, (sym, dl) in list(self.futures.items()):
            if over or now >= dl:  # hung worker, or the refresh's deadline: abandon it, keep going
                self.futures.pop(fut)
                fut.cancel()
                why = self.deadline.reason() if over else f"no answer within {self.per_ticker_timeout_s:.0f} s"
                timed_out = TickerOutcome(sym, STATUS_TIMEOUT, why)
                results.append((sym, _skipped(timed_out)))
        if over and not self.stop.is_set():
            self.stop_reason = STATUS_OFFLINE if self.deadline.silent else STATUS_TIMEOUT
            self.stop.set()
        return results

    def _record(self, sym: str, res: Fetched) -> None:
        st_rows, mk_rows, name, outcome = res.statements, res.market, res.name, res.outcome
        if res.profile:
            self.profiles[sym] = {**res.profile, "name": name}
        if outcome.attempts and outcome.status not in (STATUS_NETWORK, STATUS_TIMEOUT, STATUS_OFFLINE):
            self.deadline.heard()  # Yahoo answered (injected factories have no session to say so)
        self._count(outcome)
        if outcome.good:
            self.statements.append(st_rows)
            self.markets.append(mk_rows)
            if name:
                self.names[sym] = name
            if outcome.trailing_good and not res.trailing.empty:
                self.trailing.append(res.trailing)
        self._finish(sym, outcome)

    def _count(self, outcome: TickerOutcome) -> None:
        """Consecutive network errors and rate-limited tickers; stop the batch when either runs too long."""
        if outcome.status in (STATUS_NETWORK, STATUS_TIMEOUT):
            self.consecutive_network += 1
        elif outcome.status != STATUS_OFFLINE and outcome.attempts:
            self.consecutive_network = 0
        if outcome.status == STATUS_RATE_LIMITED and outcome.attempts:
            self.consecutive_limited += 1
        elif outcome.attempts:
            self.consecutive_limited = 0
        if not self.stop.is_set() and self.consecutive_network >= self.max_network_errors:
            self.stop_reason = STATUS_OFFLINE
            self.stop.set()
        elif not self.stop.is_set() and self.consecutive_limited >= self.max_rate_limited:
            self.stop_reason = STATUS_RATE_LIMITED
            self.stop.set()

    def _finish(self, sym: str, outcome: TickerOutcome) -> None:
        self.outcomes[sym] = outcome
        self.done += 1
        if self.progress:
            self.progress(self.done, len(self.symbols), sym)

    def result(self, fetched_at: datetime, invalid: dict[str, TickerOutcome]) -> RefreshResult:
        """The batch as a :class:`RefreshResult` (invalid symbols listed with their reason)."""
        unreachable = (STATUS_NETWORK, STATUS_TIMEOUT, STATUS_OFFLINE)
        offline = self.stop_reason == STATUS_OFFLINE or (
            bool(self.outcomes) and all(o.status in unreachable for o in self.outcomes.values()))
        st = [s for s in self.statements if not s.empty]
        mk = [m for m in self.markets if not m.empty]
        outcomes = {s: self.outcomes[s] for s in self.symbols if s in self.outcomes}
        return RefreshResult(pd.concat(st, ignore_index=True) if st else empty_statements(),
                             pd.concat(mk, ignore_index=True) if mk else empty_market(), self.names,
                             {**outcomes, **invalid}, fetched_at, offline,
                             rate_limited=self.stop_reason == STATUS_RATE_LIMITED,
                             trailing=pd.concat(self.trailing, ignore_index=True) if self.trailing else empty_trailing(),
                             profiles=dict(self.profiles))


def _skipped(outcome: TickerOutcome) -> Fetched:
    """A ticker not fetched (the batch stopped, or its worker was abandoned)."""
    return Fetched(empty_statements(), empty_market(), None, outcome, empty_trailing(), {})


def _not_attempted(sym: str, reason: str) -> TickerOutcome:
    """Outcome of a ticker skipped after the batch stopped early (offline, rate-limited or out of time)."""
    if reason == STATUS_RATE_LIMITED:
        return TickerOutcome(sym, STATUS_RATE_LIMITED, "not attempted: Yahoo kept answering HTTP 429", 0)
    if reason == STATUS_TIMEOUT:
        return TickerOutcome(sym, STATUS_TIMEOUT, "not attempted: the refresh's time limit passed", 0)
    return TickerOutcome(sym, STATUS_OFFLINE, "not attempted: Yahoo Finance unreachable", 0)


def fetch_fx_rates(currencies: Iterable[str], factory: TickerFactory | None = None,
                   deadline_s: float = FX_DEADLINE_S) -> dict[str, float]:
    """Live USD-per-unit rates via yfinance (``TWDUSD=X``); missing ones are omitted. All of them within
    ``deadline_s`` seconds: the rates not fetched by then are left out (the embedded ones stay)."""
    deadline = RefreshDeadline(deadline_s, deadline_s)
    factory = factory or default_ticker_factory(deadline=deadline)
    rates: dict[str, float] = {}
    for cur in sorted(set(c.upper() for c in currencies)):
        if cur == "USD":
            rates[cur] = 1.0
            continue
        if deadline.passed():
            log.info("FX %s not fetched: %s", cur, deadline.reason())
            continue
        try:
            info = factory(f"{cur}USD=X").info or {}
            price = info.get("regularMarketPrice") or info.get("previousClose")
            if _positive(price):
                rates[cur] = float(price)
        except Exception as exc:  # noqa: BLE001
            log.info("FX %s unavailable: %s", cur, exc)
    return rates
