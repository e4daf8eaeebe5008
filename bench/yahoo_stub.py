"""A loopback stub of the Yahoo Finance endpoints yfinance 1.x calls, for tests and benchmarks.

It serves the embedded statements (real reported figures) in Yahoo's JSON
shapes -- annual, quarterly and trailing (TTM) fundamentals timeseries, the
quote with its quoteType and asset profile (sector, industry) -- with an
optional latency per request and HTTP 429 answers for the first requests of
chosen symbols (quotes) or of chosen symbol and timescale pairs (timeseries).
:func:`trailing_from_annual` makes stand-in trailing tables from the annual
ones for the benchmark (labelled stub data, never shown as real figures). :func:`stub_session` returns a
``requests.Session`` that rewrites every ``https://*.yahoo.com`` URL to the stub,
so the real yfinance HTTP and parsing code runs end to end without a network.
Only loopback addresses are used.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import requests
from requests.adapters import HTTPAdapter

from data.schema import KNOWN_FIELDS


class StubState:
    """What the stub serves and how it misbehaves."""

    def __init__(self, statements: pd.DataFrame, names: dict[str, str], latency_s: float = 0.0,
                 rate_limit_first: dict[str, int] | None = None, currency: dict[str, str] | None = None,
                 trailing: pd.DataFrame | None = None, quarterly: pd.DataFrame | None = None,
                 profiles: dict[str, dict] | None = None, rate_limit_timeseries: dict[str, int] | None = None):
        self.statements = statements
        self.names = names
        self.latency_s = latency_s
        self.rate_limit_first = dict(rate_limit_first or {})
        self.currency = currency or {}
        #: TTM rows (ticker, period_end, field, value) served as ``trailing*`` types
        self.trailing = trailing if trailing is not None else pd.DataFrame(columns=["ticker", "period_end", "field", "value"])
        #: quarterly rows (any number of quarters) served as ``quarterly*`` types
        self.quarterly = quarterly if quarterly is not None else pd.DataFrame(columns=["ticker", "period_end", "field", "value"])
        #: per symbol: quoteType (default EQUITY), sector, industry, country
        self.profiles = profiles or {}
        #: "SYMBOL:trailing" / "SYMBOL:quarterly" / "SYMBOL:annual" -> answer that many timeseries requests with 429
        self.rate_limit_timeseries = dict(rate_limit_timeseries or {})
        self.hits: dict[str, int] = defaultdict(int)
        self.ts_hits: dict[str, int] = defaultdict(int)
        self.kinds: dict[str, int] = defaultdict(int)  # requests by kind: quote, annual, quarterly, trailing, other
        self.count_429 = 0
        self.requests = 0
        self.lock = threading.Lock()
        self.memo: dict = {}

    def known(self, symbol: str) -> bool:
        return symbol in self.names


_PERIOD_TYPE = {"annual": "12M", "quarterly": "3M", "trailing": "TTM"}
_BY_KEY = {f.replace(" ", ""): f for f in KNOWN_FIELDS}


def _timescale(types: list[str]) -> str:
    return next((p for p in _PERIOD_TYPE if types and types[0].startswith(p)), "annual")


def _series(state: StubState, scale: str, symbol: str) -> dict[str, list[tuple[str, int, float]]]:
    """field -> [(period_end, epoch seconds, value)] of one symbol and timescale.

    Memoised per frame object (tests replace a frame to change what Yahoo says), so the stub -- which shares
    the client's process and GIL in tests and benchmarks, unlike Yahoo -- spends as little CPU as it can.
    """
    frame = {"annual": state.statements, "quarterly": state.quarterly, "trailing": state.trailing}[scale]
    key = (scale, id(frame))
    with state.lock:
        index = state.memo.get(key)
    if index is None:
        index = {}
        stamps = {p: int(pd.Timestamp(p).timestamp()) for p in pd.unique(frame["period_end"].astype(str))}
        for t, f, p, v in zip(frame["ticker"], frame["field"], frame["period_end"].astype(str), frame["value"]):
            index.setdefault(t, {}).setdefault(f, []).append((p, stamps[p], float(v)))
        with state.lock:
            state.memo = {k: v for k, v in state.memo.items() if k[0] != scale}  # the frame was replaced
            state.memo[key] = (frame, index)  # keeps the frame alive so its id is not reused
    else:
        index = index[1]
    return index.get(symbol, {})


def _timeseries(state: StubState, symbol: str, types: list[str]) -> dict:
    """Yahoo's fundamentals-timeseries answer: one entry per requested type, values only where on file."""
    result = []
    cur = state.currency.get(symbol, "USD")
    series: dict[str, dict] = {}
    for t in types:
        scale = next((p for p in _PERIOD_TYPE if t.startswith(p)), None)
        field = _BY_KEY.get(t.removeprefix(scale)) if scale else None
        entry = {"meta": {"symbol": [symbol], "type": [t]}}
        if field is not None:
            if scale not in series:
                series[scale] = _series(state, scale, symbol)
            points = series[scale].get(field)
            if points:
                entry["timestamp"] = [ts for _, ts, _ in points]
                entry[t] = [{"dataId": 20100, "asOfDate": p, "periodType": _PERIOD_TYPE[scale], "currencyCode": cur,
                             "reportedValue": {"raw": v, "fmt": f"{v / 1e9:.2f}B"}} for p, _, v in points]
        result.append(entry)
    return {"timeseries": {"result": result, "error": None}}


def trailing_from_annual(statements: pd.DataFrame, months: int = 9) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stand-in (TTM flows, quarterly balance sheets) for a stub: the values of each company's fullest fiscal
    year, dated ``months`` after its newest fiscal year end -- flows as the TTM window, balance lines as the
    latest quarter, with the quarter before it (scaled by 0.97) as an older column. Benchmark and test data only, never real figures."""
    from data.schema import COMPONENT_FIELDS

    balance = {"Cash Cash Equivalents And Short Term Investments", "Total Debt", "Current Debt", "Current Assets",
               "Current Liabilities", "Stockholders Equity", "Total Assets", "Retained Earnings",
               "Total Liabilities Net Minority Interest", *[f for f in COMPONENT_FIELDS if f != "Cost Of Revenue"]}
    counts = statements.groupby(["ticker", "fiscal_year"]).size().reset_index(name="n")
    best = counts.sort_values(["n", "fiscal_year"]).drop_duplicates("ticker", keep="last")  # fullest year, newest
    latest = statements.merge(best[["ticker", "fiscal_year"]], on=["ticker", "fiscal_year"])
    newest = pd.to_datetime(statements.groupby("ticker")["period_end"].max())  # windows end after the newest year
    end = (pd.to_datetime(latest["ticker"].map(newest)) + pd.DateOffset(months=months)) + pd.offsets.MonthEnd(0)
    rows = latest.assign(period_end=end.dt.strftime("%Y-%m-%d"))[["ticker", "period_end", "field", "value"]]
    flows = rows[~rows["field"].isin(balance)].reset_index(drop=True)
    bal = rows[rows["field"].isin(balance)]
    older = bal.assign(period_end=(pd.to_datetime(bal["period_end"]) - pd.DateOffset(months=3)
                                   + pd.offsets.MonthEnd(0)).dt.strftime("%Y-%m-%d"), value=bal["value"] * 0.97)
    return flows, pd.concat([bal, older], ignore_index=True)


class _Handler(BaseHTTPRequestHandler):
    state: StubState
    protocol_version = "HTTP/1.1"  # keep-alive, as Yahoo's servers do (every answer sends its Content-Length)
    # TCP_NODELAY: headers and body leave at once, without Nagle's wait for the client's delayed ACK (~40 ms a
    # response on loopback, which no real server adds)
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet
        pass

    def _send(self, code: int, body: dict | str, ctype: str = "application/json") -> None:
        data = body if isinstance(body, str) else json.dumps(body)
        raw = data.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(raw)))
        self._headers_buffer.append(b"\r\n")  # end of headers, sent with the body in one write
        self.wfile.write(b"".join(self._headers_buffer) + raw)
        self._headers_buffer = []

    def do_GET(self):  # noqa: N802 - http.server API
        st = self.state
        with st.lock:
            st.requests += 1
        if st.latency_s:
            time.sleep(st.latency_s)
        parts = urlsplit(self.path)
        path, q = parts.path, parse_qs(parts.query)
        if path.endswith("/getcrumb"):
            return self._send(200, "stub-crumb", "text/plain")
        if "/quoteSummary/" in path or path.endswith("/v7/finance/quote"):
            symbol = path.rsplit("/", 1)[-1] if "/quoteSummary/" in path else (q.get("symbols") or [""])[0]
            with st.lock:
                st.kinds["quote"] += 1
                st.hits[symbol] += 1
                limited = st.hits[symbol] <= st.rate_limit_first.get(symbol, 0)
                if limited:
                    st.count_429 += 1
            if limited:
                return self._send(429, "Too Many Requests", "text/plain")
            if not st.known(symbol):
                err = {"code": "Not Found", "description": f"Quote not found for symbol: {symbol}"}
                key = "quoteSummary" if "/quoteSummary/" in path else "quoteResponse"
                return self._send(404 if key == "quoteSummary" else 200, {key: {"result": None if key == "quoteSummary" else [], "error": err}})
            cur = st.currency.get(symbol, "USD")
            prof = st.profiles.get(symbol, {})
            quote_type = prof.get("quoteType", "EQUITY")
            if "/quoteSummary/" in path:
                profile = {k: prof[k] for k in ("sector", "industry", "country") if prof.get(k)}
                return self._send(200, {"quoteSummary": {"result": [{
                    "quoteType": {"quoteType": quote_type, "symbol": symbol, "longName": st.names[symbol]},
                    "financialData": {"financialCurrency": cur} if quote_type == "EQUITY" else {},
                    "summaryDetail": {"currency": "USD", "marketCap": 1.0e11},
                    "defaultKeyStatistics": {}, "assetProfile": profile,
                }], "error": None}})
            return self._send(200, {"quoteResponse": {"result": [{"symbol": symbol, "currency": "USD",
                                                                   "quoteType": quote_type,
                                                                   "marketCap": 1.0e11, "longName": st.names[symbol]}],
                                                       "error": None}})
        if "/fundamentals-timeseries/" in path:
            symbol = path.rsplit("/", 1)[-1]
            types = [t for t in ",".join(q.get("type", [])).split(",") if t]
            scale = "info" if "trailingPegRatio" in types else _timescale(types)  # info's own timeseries call
            key = f"{symbol}:{scale}"
            with st.lock:
                st.kinds["quote" if scale == "info" else scale] += 1
                st.ts_hits[key] += 1
                limited = st.ts_hits[key] <= st.rate_limit_timeseries.get(key, 0)
                if limited:
                    st.count_429 += 1
            if limited:
                return self._send(429, "Too Many Requests", "text/plain")
            if not st.known(symbol):
                return self._send(200, {"timeseries": {"result": [], "error": None}})
            return self._send(200, _timeseries(st, symbol, types))
        with st.lock:
            st.kinds["other"] += 1
        return self._send(200, "", "text/html")  # fc.yahoo.com cookie page, consent pages


class YahooStub:
    """Context manager running the stub on 127.0.0.1:<free port>."""

    def __init__(self, state: StubState):
        handler = type("Handler", (_Handler,), {"state": state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.state = state
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "YahooStub":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Rewrite(HTTPAdapter):
    def __init__(self, port: int, **kw):
        self.port = port
        super().__init__(**kw)

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        if parts.hostname and parts.hostname.endswith("yahoo.com"):
            request.url = f"http://127.0.0.1:{self.port}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)


def stub_session(port: int, pool: int = 8) -> requests.Session:
    """A requests.Session whose Yahoo URLs go to the loopback stub."""
    s = requests.Session()
    # Yahoo hands out an A3 cookie on fc.yahoo.com; seed it so yfinance behaves as against the real site
    s.cookies.set("A3", "stub-cookie", domain=".yahoo.com", path="/", expires=int(time.time()) + 86_400)
    adapter = _Rewrite(port, pool_connections=pool, pool_maxsize=pool)
    s.mount("https://", adapter)
    s.mount("http://", adapter)
    return s


def stub_factory(port: int):
    """A ticker factory for :func:`data.live.fetch_many` that runs real ``yfinance.Ticker`` against the stub."""
    import yfinance as yf

    yf.config.debug.hide_exceptions = False
    session = stub_session(port)

    def factory(symbol: str):
        return yf.Ticker(symbol, session=session)

    return factory


#: companies outside the universe the stub also knows, for "Add a company" tests (stub data, not real figures)
EXTRA_COMPANIES = {
    "SMCI": {"name": "Super Micro Computer, Inc.", "like": "DELL", "sector": "Technology",
             "industry": "Computer Hardware", "country": "United States"},
    "SPY": {"name": "SPDR S&P 500 ETF Trust", "quoteType": "ETF"},
    "NEWCO": {"name": "Newco Holdings (no statements)", "sector": "Industrials"},
}


def universe_state(latency_s: float = 0.0, rate_limit_first: dict[str, int] | None = None, *,
                   trailing: bool = True, extra: bool = True, **kw) -> StubState:
    """A stub knowing every universe company (embedded annual figures, and with ``trailing`` stand-in TTM and
    quarterly tables from :func:`trailing_from_annual`) plus, with ``extra``, :data:`EXTRA_COMPANIES`: SMCI (an
    equity with statements copied from DELL's), SPY (an ETF) and NEWCO (an equity without statements)."""
    from data.embedded import embedded_tables

    st, _, uni, _ = embedded_tables()
    names = dict(zip(uni["ticker"], uni["name"]))  # listed companies are known to Yahoo, figures or not
    profiles: dict[str, dict] = {}
    if extra:
        copies = []
        for sym, e in EXTRA_COMPANIES.items():
            names[sym] = e["name"]
            profiles[sym] = {k: e[k] for k in ("quoteType", "sector", "industry", "country") if k in e}
            if e.get("like"):
                copies.append(st[st["ticker"] == e["like"]].assign(ticker=sym))
        st = pd.concat([st, *copies], ignore_index=True)
    flows, quarterly = trailing_from_annual(st) if trailing else (None, None)
    return StubState(st, names, latency_s=latency_s, rate_limit_first=rate_limit_first, trailing=flows,
                     quarterly=quarterly, profiles={**profiles, **kw.pop("profiles", {})}, **kw)
