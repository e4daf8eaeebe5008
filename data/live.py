"""Live source: Yahoo Finance through the real ``yfinance`` library.

For each ticker we read ``info`` and the annual income statement, balance sheet
and cash flow, and map them to the canonical tables of :mod:`data.schema`.

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
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

import pandas as pd

from data.schema import KNOWN_FIELDS, empty_market, empty_statements, is_ticker

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
GOOD_STATUSES = (STATUS_OK, STATUS_PARTIAL)


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

    @property
    def good(self) -> bool:
        return self.status in GOOD_STATUSES


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

    @property
    def good_tickers(self) -> list[str]:
        return [t for t, o in self.outcomes.items() if o.good]

    def summary(self) -> str:
        text = self._outcome_summary()
        return f"{text} NOT SAVED: {self.cache_error}." if self.cache_error else text

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


def map_statement_frame(
    frame: pd.DataFrame | None, ticker: str, currency: str, source: str
) -> pd.DataFrame:
    """Turn one yfinance statement frame into canonical tidy rows.

    ``frame`` has labels as rows and period-end timestamps as columns; rows and
    cells may be missing or NaN. Unknown labels are ignored, NaN cells dropped
    (missing stays missing), non-date columns skipped. Nothing is filled.
    """
    if frame is None or not isinstance(frame, pd.DataFrame) or frame.empty:
        return empty_statements()
    rows = []
    for label, series in frame.iterrows():
        fld = canonical_field(label)
        if fld is None:
            continue
        for col, raw in series.items():
            try:
                period_end = pd.Timestamp(col)
            except (ValueError, TypeError):
                continue
            if pd.isna(period_end):
                continue
            try:
                value = float(raw)
            except (TypeError, ValueError):
                continue
            if not math.isfinite(value):
                continue
            rows.append(
                (ticker, fiscal_year_of(period_end), period_end.strftime("%Y-%m-%d"),
                 currency, fld, value, source)
            )
    if not rows:
        return empty_statements()
    out = pd.DataFrame(rows, columns=list(empty_statements().columns))
    # Two labels can map to one field only if Yahoo sends both spellings: keep the first.
    return out.drop_duplicates(["ticker", "fiscal_year", "field"]).reset_index(drop=True)


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
    market = empty_market()
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
    return market, currency, name


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
) -> tuple[pd.DataFrame, pd.DataFrame, str | None, TickerOutcome]:
    """Fetch one ticker; never raises. Returns (statements, market, name, outcome)."""
    fetched_on = fetched_on or datetime.now(timezone.utc).strftime("%Y-%m-%d")
    attempts = 0
    delay = backoff_s
    while True:
        attempts += 1
        try:
            return _fetch_once(ticker, factory, deadline, clock, fetched_on, attempts)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an outcome
            status = classify_error(exc)
            if status == STATUS_RATE_LIMITED and attempts <= retries and clock() + delay < deadline:
                log.info("%s rate limited, retry %d in %.1fs", ticker, attempts, delay)
                sleep(delay)
                delay *= 2
                continue
            message = {
                STATUS_RATE_LIMITED: f"Yahoo rate limit (HTTP 429) after {attempts} attempt(s)",
                STATUS_UNKNOWN: "unknown or delisted symbol",
                STATUS_TIMEOUT: "no answer before the deadline",
                STATUS_NETWORK: f"network error: {type(exc).__name__}",
            }.get(status, f"{type(exc).__name__}: {str(exc)[:120]}")
            return empty_statements(), empty_market(), None, TickerOutcome(ticker, status, message, attempts)


def _fetch_once(ticker, factory, deadline, clock, fetched_on, attempts):
    t = factory(ticker)
    info = t.info
    market, currency, name = map_info(info, ticker, fetched_on)
    parts = []
    empty_parts = []
    for attr, page in (("income_stmt", "financials"), ("balance_sheet", "balance-sheet"), ("cashflow", "cash-flow")):
        if clock() > deadline:
            raise TimeoutError(f"deadline passed before {attr}")
        frame = getattr(t, attr)
        if currency is None:
            if frame is not None and not getattr(frame, "empty", True):
                raise ValueError("Yahoo gave statements without a currency; not stored")
            empty_parts.append(attr)
            continue
        mapped = map_statement_frame(frame, ticker, currency, f"https://finance.yahoo.com/quote/{ticker}/{page}")
        if mapped.empty:
            empty_parts.append(attr)
        parts.append(mapped)
    statements = pd.concat(parts, ignore_index=True) if parts else empty_statements()
    quote_type = (info or {}).get("quoteType")
    if statements.empty:
        if not info or (quote_type is None and name is None):
            return empty_statements(), empty_market(), None, TickerOutcome(
                ticker, STATUS_UNKNOWN, "unknown or delisted symbol (Yahoo returned no quote and no statements)", attempts
            )
        return empty_statements(), market, name, TickerOutcome(
            ticker, STATUS_ERROR, "Yahoo returned no annual statements", attempts
        )
    status = STATUS_PARTIAL if empty_parts else STATUS_OK
    msg = "complete" if not empty_parts else "missing: " + ", ".join(empty_parts)
    return statements, market, name, TickerOutcome(ticker, status, msg, attempts, len(statements))


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
        self.pending = list(symbols)
        self.futures: dict[Future, tuple[str, float]] = {}

    def job(self, sym: str):
        """One ticker, in a worker thread; never raises."""
        if self.stop.is_set() or self.deadline.passed():
            return empty_statements(), empty_market(), None, _not_attempted(sym, self.stop_reason or STATUS_OFFLINE)
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

    def _collect(self) -> list[tuple[str, tuple]]:
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
                results.append((sym, (empty_statements(), empty_market(), None, timed_out)))
        if over and not self.stop.is_set():
            self.stop_reason = STATUS_OFFLINE if self.deadline.silent else STATUS_TIMEOUT
            self.stop.set()
        return results

    def _record(self, sym: str, res: tuple) -> None:
        st_rows, mk_rows, name, outcome = res
        if outcome.attempts and outcome.status not in (STATUS_NETWORK, STATUS_TIMEOUT, STATUS_OFFLINE):
            self.deadline.heard()  # Yahoo answered (injected factories have no session to say so)
        self._count(outcome)
        if outcome.good:
            self.statements.append(st_rows)
            self.markets.append(mk_rows)
            if name:
                self.names[sym] = name
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
                             rate_limited=self.stop_reason == STATUS_RATE_LIMITED)


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
