"""Shared fixtures: no test touches the network; the cache lives in a temp folder."""

from __future__ import annotations

import socket

import pandas as pd
import pytest


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own empty Kosmos cache folder."""
    monkeypatch.setenv("KOSMOS_CACHE_DIR", str(tmp_path / "kosmos-cache"))
    return tmp_path / "kosmos-cache"


@pytest.fixture(autouse=True)
def no_network(monkeypatch, request):
    """Refuse any connection that is not to this machine."""
    if request.node.get_closest_marker("browser"):
        return
    real = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1")) or not isinstance(host, str):
            return real(self, address)
        raise OSError(f"network disabled in tests: {address}")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "getaddrinfo", _refuse_dns(socket.getaddrinfo))


def _refuse_dns(real):
    def fake(host, *args, **kwargs):
        if host in ("localhost", "127.0.0.1", "::1") or (isinstance(host, str) and host.startswith("127.")):
            return real(host, *args, **kwargs)
        raise socket.gaierror(f"DNS disabled in tests: {host}")
    return fake


def statements_from(rows: list[tuple]) -> pd.DataFrame:
    """Canonical statements from (ticker, year, field, value) tuples; USD, period end Dec 31."""
    return pd.DataFrame(
        [{"ticker": t, "fiscal_year": y, "period_end": f"{y}-12-31", "currency": "USD", "field": f,
          "value": float(v), "source": "https://example.test/filing"} for t, y, f, v in rows]
    )


@pytest.fixture
def clear_streamlit_caches():
    """AppTest runs share the process's Streamlit caches: start each test from empty ones."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def run_app(params: dict | None = None, timeout: float = 90):
    """A fresh AppTest session of the whole app, opened with ``params`` as the link's query parameters."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file("../app.py", default_timeout=timeout)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    return at.run()


def match_count(at) -> tuple[int, int]:
    """(matching, total) from the screener's "N of M match" heading."""
    head = next(s.value for s in at.subheader if "match" in s.value)
    n, _, total, _ = head.split(" ", 3)
    return int(n), int(total)


def skip_without_chromium() -> str:
    """Chromium's path; skips locally without it, but fails in CI (KOSMOS_REQUIRE_BROWSER=1)."""
    import os

    from bench.browser import chromium_path

    path = chromium_path()
    if path:
        return path
    if os.environ.get("KOSMOS_REQUIRE_BROWSER"):
        pytest.fail("Chromium is required here (KOSMOS_REQUIRE_BROWSER=1) but /usr/bin/chromium is missing")
    pytest.skip("no Chromium installed locally (apt-get install chromium); CI installs it and runs this test")
