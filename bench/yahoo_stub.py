"""A loopback stub of the Yahoo Finance endpoints yfinance 1.x calls, for tests and benchmarks.

It serves the embedded statements (real reported figures) in Yahoo's JSON
shapes, with an optional latency per request and HTTP 429 answers for the
first requests of chosen symbols. :func:`stub_session` returns a
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
                 rate_limit_first: dict[str, int] | None = None, currency: dict[str, str] | None = None):
        self.statements = statements
        self.names = names
        self.latency_s = latency_s
        self.rate_limit_first = dict(rate_limit_first or {})
        self.currency = currency or {}
        self.hits: dict[str, int] = defaultdict(int)
        self.count_429 = 0
        self.requests = 0
        self.lock = threading.Lock()

    def known(self, symbol: str) -> bool:
        return symbol in self.names


def _timeseries(state: StubState, symbol: str, types: list[str]) -> dict:
    rows = state.statements[state.statements["ticker"] == symbol]
    result = []
    by_key = {f.replace(" ", ""): f for f in KNOWN_FIELDS}
    for t in types:
        key = t.removeprefix("annual")
        field = by_key.get(key)
        entry = {"meta": {"symbol": [symbol], "type": [t]}}
        if field is not None:
            sub = rows[rows["field"] == field]
            if not sub.empty:
                entry["timestamp"] = [int(pd.Timestamp(p).timestamp()) for p in sub["period_end"]]
                entry[t] = [{"asOfDate": p, "reportedValue": {"raw": float(v)}} for p, v in zip(sub["period_end"], sub["value"])]
        result.append(entry)
    return {"timeseries": {"result": result, "error": None}}


class _Handler(BaseHTTPRequestHandler):
    state: StubState

    def log_message(self, *args):  # quiet
        pass

    def _send(self, code: int, body: dict | str, ctype: str = "application/json") -> None:
        data = body if isinstance(body, str) else json.dumps(body)
        raw = data.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

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
            if "/quoteSummary/" in path:
                return self._send(200, {"quoteSummary": {"result": [{
                    "quoteType": {"quoteType": "EQUITY", "symbol": symbol, "longName": st.names[symbol]},
                    "financialData": {"financialCurrency": cur},
                    "summaryDetail": {"currency": "USD", "marketCap": 1.0e11},
                    "defaultKeyStatistics": {}, "assetProfile": {},
                }], "error": None}})
            return self._send(200, {"quoteResponse": {"result": [{"symbol": symbol, "currency": "USD",
                                                                   "marketCap": 1.0e11, "longName": st.names[symbol]}],
                                                       "error": None}})
        if "/fundamentals-timeseries/" in path:
            symbol = path.rsplit("/", 1)[-1]
            types = ",".join(q.get("type", [])).split(",")
            if not st.known(symbol):
                return self._send(200, {"timeseries": {"result": [], "error": None}})
            return self._send(200, _timeseries(st, symbol, [t for t in types if t]))
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
