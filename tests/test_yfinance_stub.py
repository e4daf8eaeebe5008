"""One path through the real yfinance HTTP and parsing code, against a loopback Yahoo stub."""

from __future__ import annotations

import pytest

from bench.yahoo_stub import StubState, YahooStub, stub_factory
from data.cache import Cache
from data.embedded import embedded_tables
from data.live import STATUS_OK, STATUS_UNKNOWN, fetch_many
from data.loader import load_dataset


@pytest.fixture()
def stub(tmp_path):
    import yfinance as yf

    yf.set_tz_cache_location(str(tmp_path / "yf"))
    st, _, uni, _ = embedded_tables()
    names = {t: n for t, n in zip(uni["ticker"], uni["name"]) if t in set(st["ticker"])}
    state = StubState(st, names, rate_limit_first={"MSFT": 3}, currency={"ORCL": "EUR"})
    with YahooStub(state) as s:
        yield s


def test_real_yfinance_against_stub_maps_values_and_reasons(stub, isolated_cache):
    res = fetch_many(["MSFT", "ORCL", "NOPE"], stub_factory(stub.port), preflight=lambda: None, backoff_s=0.05)
    o = res.outcomes
    assert o["MSFT"].status == STATUS_OK and o["MSFT"].attempts >= 2  # survived HTTP 429s with back-off
    assert stub.state.count_429 == 3
    assert o["NOPE"].status == STATUS_UNKNOWN  # Yahoo's 404, not a network error
    emb = embedded_tables()[0]
    want = emb[(emb["ticker"] == "MSFT") & (emb["field"] == "Total Revenue")].set_index("fiscal_year")["value"]
    got = res.statements[(res.statements["ticker"] == "MSFT") & (res.statements["field"] == "Total Revenue")]
    assert got.set_index("fiscal_year")["value"].sort_index().equals(want.sort_index())
    orcl = res.statements[res.statements["ticker"] == "ORCL"]
    assert set(orcl["currency"]) == {"EUR"}  # financialCurrency, not the price currency
    Cache(isolated_cache).write(res)
    ds = load_dataset(Cache(isolated_cache))
    prov = ds.provenance.set_index("ticker")
    assert prov.at["MSFT", "origin"] == "yahoo" and prov.at["ORCL", "origin"] == "yahoo"


def test_second_refresh_in_one_process_asks_yahoo_again(stub):
    """yfinance memoises responses per URL; a refresh must not be served from that memo."""
    fetch_many(["MSFT"], stub_factory(stub.port), preflight=lambda: None, backoff_s=0.01)
    first = stub.state.requests
    stub.state.statements = stub.state.statements.assign(
        value=lambda d: d["value"].where(~((d["ticker"] == "MSFT") & (d["field"] == "Total Revenue")), 1.0))
    res = fetch_many(["MSFT"], stub_factory(stub.port), preflight=lambda: None, backoff_s=0.01)
    assert stub.state.requests - first >= 4  # quote + three statements asked again
    rev = res.statements[res.statements["field"] == "Total Revenue"]["value"]
    assert not rev.empty and set(rev) == {1.0}  # and saw Yahoo's new answer


def test_refresh_benchmark_runs_twice_in_one_process_with_real_requests():
    """The benchmark's medians need every run to reach the stub (no memoised or broken second run)."""
    from bench.refresh import UNKNOWN, refresh_once

    runs = [refresh_once(latency_s=0.0, rate_limited={"MSFT": 1}, backoff_s=0.01) for _ in range(2)]
    for r in runs:
        assert r.http_429 == 1 and r.requests > 4 * (r.tickers - len(UNKNOWN))
        assert r.outcomes.get("unknown symbol") == len(UNKNOWN)
        assert r.outcomes.get("ok", 0) + r.outcomes.get("partial", 0) >= 20
        # the trailing tables too: TTM income and cash flow and the quarterly balance sheet, one request each
        fetched = r.outcomes.get("ok", 0) + r.outcomes.get("partial", 0)
        assert r.kinds["trailing"] == 2 * fetched and r.kinds["quarterly"] == fetched
        assert r.kinds["annual"] == 3 * fetched and r.trailing_ok >= 20
