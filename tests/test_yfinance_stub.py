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
