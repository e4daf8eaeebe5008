"""End to end in headless Chromium: start `streamlit run`, use the screener, open NVDA's scorecard by link."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench.browser import CHARTS, CHROMIUM_ARGS, GRID, RENDERED, streamlit_server
from tests.conftest import skip_without_chromium

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    chromium = skip_without_chromium()
    with streamlit_server("app.py", {"KOSMOS_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}) as srv:
        yield srv.url, chromium


def test_screener_then_scorecard_by_share_link(server):
    from playwright.sync_api import expect, sync_playwright

    url, chromium = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1400})
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(f"{url}/")
        page.wait_for_function(RENDERED, arg=GRID, timeout=60_000)
        expect(page.get_by_text("match", exact=False).first).to_be_visible()
        assert page.locator('[data-testid="stDataFrame"]').count() >= 1
        assert page.locator('[data-testid="stPlotlyChart"]').count() == 0  # charts wait for their tab
        page.get_by_role("tab", name="Heat map").click()
        page.wait_for_function(RENDERED, arg=CHARTS, timeout=60_000)
        assert "Market map" in page.locator('[data-testid="stPlotlyChart"]').first.text_content()
        page.goto(f"{url}/scorecard?ticker=NVDA&preset=Article+criteria&w=1,1,1,1&mode=absolute")
        page.wait_for_function(RENDERED, arg=CHARTS, timeout=60_000)
        page.wait_for_timeout(500)
        body = page.locator('[data-testid="stMain"]').inner_text()
        assert "NVIDIA Corporation (NVDA)" in body
        assert "Grade" in body and "n.a." in body  # NVDA has no embedded figures yet: no grade, shown as n.a.
        for pillar in ("Balance-sheet strength", "Free cash flow", "Pricing power", "Loop exposure"):
            assert pillar in body
        assert "As of" in body
        card_svg = page.locator('[data-testid="stPlotlyChart"]').first.text_content()
        assert "Loop ego network" in card_svg
        out = ROOT / ("docs" if os.environ.get("KOSMOS_UPDATE_DOCS") else "tests/_artifacts")
        out.mkdir(parents=True, exist_ok=True)
        page.goto(f"{url}/scorecard?ticker=MSFT&preset=Article+criteria&w=1,1,1,1&mode=absolute")
        page.wait_for_function(RENDERED, arg=CHARTS, timeout=60_000)
        page.wait_for_timeout(800)
        page.screenshot(path=str(out / "scorecard.png"), full_page=True)
        browser.close()
    assert (out / "scorecard.png").stat().st_size > 10_000
    hosts = {urlsplit(u).hostname for u in requested if urlsplit(u).scheme in ("http", "https", "ws", "wss")}
    assert requested and hosts == {"127.0.0.1"}, hosts  # the offline default run asks nothing of the internet
