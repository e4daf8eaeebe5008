"""End to end in headless Chromium: start `streamlit run`, use the screener, open NVDA's scorecard by link."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench.browser import CHARTS, CHROMIUM_ARGS, GRID, RENDERED, streamlit_server
from tests.conftest import skip_without_chromium

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / ("docs" if os.environ.get("KOSMOS_UPDATE_DOCS") else "tests/_artifacts")
#: the card tab's image has loaded at its natural 1600x900
CARD_IMAGE = """() => { const img = document.querySelector('[data-testid="stImage"] img, [data-testid="stFullScreenFrame"] img');
  return img && img.complete && img.naturalWidth === 1600 && img.naturalHeight === 900; }"""
#: the visible part of each data grid, read from the grid's accessible table: headers and cell texts
GRID_TEXT = """() => [...document.querySelectorAll('[data-testid="stDataFrame"]')].map(g => {
  const t = g.querySelector('table'); const r = g.getBoundingClientRect();
  return {top: r.top, height: r.height, headers: t ? [...t.querySelectorAll('th')].map(x => x.textContent) : [],
          cells: t ? [...t.querySelectorAll('td')].map(x => x.textContent) : [], rows: t ? t.querySelectorAll('tbody tr').length : 0};
})"""
RAW = re.compile(r"\b(None|nan|NaN|NaT)\b|<NA>|\d[eE][+-]\d")
pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    chromium = skip_without_chromium()
    cache = str(tmp_path_factory.mktemp("cache"))
    with streamlit_server("app.py", {"KOSMOS_CACHE_DIR": cache}) as srv:
        yield srv.url, chromium, cache


def test_screener_then_scorecard_by_share_link(server):
    from playwright.sync_api import expect, sync_playwright

    url, chromium, cache = server
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
        with page.expect_download() as csv_dl:  # the CSV is built when pressed, and is the CLI's file
            page.get_by_role("button", name="Download as CSV").click()
        in_app_csv = Path(csv_dl.value.path()).read_bytes()
        page.goto(f"{url}/scorecard?ticker=NVDA&preset=Article+criteria&w=1,1,1,1&mode=absolute&gpu=3&debt=adjusted")
        page.wait_for_function(RENDERED, arg=GRID, timeout=60_000)  # the card is native: no plotly.js needed
        assert page.locator('[data-testid="stPlotlyChart"]').count() == 0
        page.wait_for_timeout(500)
        body = page.locator('[data-testid="stMain"]').inner_text()
        assert body.count("NVIDIA Corporation (NVDA)") == 1  # one header
        assert "Grade" in body and "Scored on" in body and "Server life: 3 years" in body
        for pillar in ("Balance-sheet strength", "Free cash flow", "Pricing power", "Loop exposure"):
            assert pillar in body
        page.get_by_role("tab", name="Debt: reported → adjusted").click()
        page.wait_for_function("() => document.body.innerText.includes('Net debt / EBITDA, adjusted')", timeout=30_000)
        page.get_by_role("tab", name="Card image (PNG)").click()
        # the in-app card is the PNG the CLI writes: 1600x900, and its download is byte for byte the CLI's file
        page.wait_for_function(CARD_IMAGE, timeout=90_000)
        with page.expect_download() as dl:
            page.get_by_role("button", name="Download the card (PNG, 1600×900)").click()
        in_app = Path(dl.value.path()).read_bytes()
        out = ROOT / ("docs" if os.environ.get("KOSMOS_UPDATE_DOCS") else "tests/_artifacts")
        out.mkdir(parents=True, exist_ok=True)
        page.goto(f"{url}/scorecard?ticker=MSFT&preset=Article+criteria&w=1,1,1,1&mode=absolute")
        page.wait_for_function(RENDERED, arg=GRID, timeout=60_000)
        page.wait_for_timeout(800)
        page.screenshot(path=str(out / "scorecard.png"), full_page=True)
        browser.close()
    assert (out / "scorecard.png").stat().st_size > 10_000
    cli = ROOT / "tests" / "_artifacts" / "card_by_link.png"
    res = subprocess.run([sys.executable, "-m", "screens", "card", "NVDA", "--png", str(cli), "--gpu-life", "3",
                          "--debt", "adjusted"], cwd=ROOT, capture_output=True, timeout=180,
                         env={**os.environ, "KOSMOS_CACHE_DIR": cache})
    assert res.returncode == 0, res.stderr.decode()[-400:]
    assert in_app[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", in_app[16:24]) == (1600, 900)
    assert in_app == cli.read_bytes()  # the picture shared from the browser is the CLI's picture
    res = subprocess.run([sys.executable, "-m", "screens", "score", "--csv"], cwd=ROOT, capture_output=True,
                         timeout=180, env={**os.environ, "KOSMOS_CACHE_DIR": cache})
    assert res.returncode == 0, res.stderr.decode()[-400:]
    assert in_app_csv.split(b"\r\n", 1)[0].startswith(b"ticker") and in_app_csv.count(b"\r\n") == 35  # 34 + header
    assert in_app_csv == res.stdout  # the screener's download is `python -m screens score --csv`
    hosts = {urlsplit(u).hostname for u in requested if urlsplit(u).scheme in ("http", "https", "ws", "wss")}
    assert requested and hosts == {"127.0.0.1"}, hosts  # the offline default run asks nothing of the internet


def _match_count(page) -> tuple[int, int]:
    head = page.get_by_role("heading").filter(has_text=" match").first.inner_text()
    n, _, total, _ = head.split(" ", 3)
    return int(n), int(total)


def test_two_browser_sessions_keep_their_own_filters(server):
    """Two people on one server at once: a filter set in one session never shows up in the other."""
    from playwright.sync_api import sync_playwright

    url, chromium, _ = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        alice, bob = (browser.new_context(viewport={"width": 1600, "height": 1200}).new_page() for _ in range(2))
        for page in (alice, bob):
            page.goto(f"{url}/")
            page.wait_for_function(RENDERED, arg=GRID, timeout=60_000)
        n, total = _match_count(alice)
        assert n == total == _match_count(bob)[0]
        alice.get_by_text("Filters (").first.click()  # the filters start collapsed: the table is the first screen
        box = alice.get_by_role("checkbox", name="Exclude companies on a loop cycle")
        for _ in range(3):  # a click landing while the page is still settling can be lost: click until it holds
            if box.is_checked():
                break
            alice.get_by_text("Exclude companies on a loop cycle").click()
            alice.wait_for_timeout(1_000)
        alice.wait_for_function(f"() => !document.body.innerText.includes('{total} of {total} match')", timeout=30_000)
        alice.wait_for_function(RENDERED, arg=GRID, timeout=60_000)
        n_alice, _ = _match_count(alice)
        assert n_alice < total
        alice.wait_for_function("() => location.search.includes('nocycle=1')", timeout=10_000)  # the screen is in her URL
        assert "nocycle" not in bob.url
        # Bob reruns his own script (a weight change) and still sees every company, unfiltered
        slider = bob.locator('[data-testid="stSidebar"] [data-testid="stSlider"] input[type=range]').first
        slider.focus()
        slider.press("ArrowRight")
        bob.wait_for_timeout(500)
        bob.wait_for_function(RENDERED, arg=GRID, timeout=60_000)
        assert _match_count(bob) == (total, total)
        bob.get_by_text("Filters (").first.click()
        assert not bob.get_by_role("checkbox", name="Exclude companies on a loop cycle").is_checked()
        assert "Filters (1 active)" in alice.locator('[data-testid="stMain"]').inner_text()
        assert _match_count(alice) == (n_alice, total)
        browser.close()


LABEL_BOXES = """() => {
  const chart = document.querySelector('[data-testid="stPlotlyChart"]');
  return [...chart.querySelectorAll('.scatterlayer .textpoint text')]
    .map(t => { const r = t.getBoundingClientRect(); return [t.textContent, r.left, r.top, r.right, r.bottom]; })
    .filter(b => b[3] > b[1] && b[4] > b[2]);
}"""


def test_loop_map_labels_do_not_overlap_at_1600x900(server):
    """The picture the article is about, as an investor would post it: every party's label readable."""
    from playwright.sync_api import sync_playwright

    url, chromium, _ = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        page.goto(f"{url}/loop")
        page.wait_for_function(RENDERED, arg=CHARTS, timeout=60_000)
        page.wait_for_timeout(800)
        boxes = page.evaluate(LABEL_BOXES)
        assert len(boxes) >= 20, boxes  # every party of the web is labelled
        overlaps = [(a[0], b[0]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                    if a[1] < b[3] - 1 and b[1] < a[3] - 1 and a[2] < b[4] - 1 and b[2] < a[4] - 1]
        assert not overlaps, overlaps
        out = ROOT / ("docs" if os.environ.get("KOSMOS_UPDATE_DOCS") else "tests/_artifacts")
        out.mkdir(parents=True, exist_ok=True)
        page.locator('[data-testid="stPlotlyChart"]').first.screenshot(path=str(out / "loop_map.png"))
        browser.close()
    assert (out / "loop_map.png").stat().st_size > 10_000


def test_first_screens_at_1600x900_show_readable_tables(server):
    """As a new user sees it at 1600x900: the screener opens on the ranked table with name, grade, composite, the four
    pillars, the scored year and its age in view without scrolling sideways; no grid on the five pages shows None,
    nan or scientific notation; a short result draws no empty row. Screenshots for the README."""
    from playwright.sync_api import sync_playwright

    from screens.screener import grid_height

    url, chromium, _ = server
    OUT.mkdir(parents=True, exist_ok=True)
    bad: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        page.goto(f"{url}/")
        page.wait_for_function(RENDERED, arg=GRID, timeout=60_000)
        page.wait_for_timeout(800)
        grid = page.evaluate(GRID_TEXT)[0]
        need = ["Company", "Grade", "Composite", "Balance sheet", "Free cash flow", "Pricing power", "Loop exposure",
                "Scored on", "Age"]
        assert grid["headers"][:len(need) + 2] == ["Ticker", "#", *need]
        assert len(grid["headers"]) > len(need) + 2  # a column after Age is drawn: Age is wholly in view
        assert grid["top"] < 450 and grid["rows"] >= 10  # the ranked table is the first screen
        page.screenshot(path=str(OUT / "screener.png"))
        pages = [("/", GRID), ("/scorecard?ticker=GEV", GRID), ("/loop", CHARTS), ("/compare?tickers=MSFT,ORCL,GEV", CHARTS),
                 ("/methodology", GRID)]
        for path, need_el in pages:
            page.goto(f"{url}{path}")
            page.wait_for_function(RENDERED, arg=need_el, timeout=60_000)
            page.wait_for_timeout(800)
            for g in page.evaluate(GRID_TEXT):
                bad += [f"{path}: {c!r}" for c in g["cells"] + g["headers"] if RAW.search(c)]
            if path.startswith("/compare"):
                page.screenshot(path=str(OUT / "compare.png"))
        page.goto(f"{url}/?seg=energy")
        page.wait_for_function(RENDERED, arg=GRID, timeout=60_000)
        page.wait_for_timeout(500)
        n, _ = _match_count(page)
        grid = page.evaluate(GRID_TEXT)[0]
        assert abs(grid["height"] - grid_height(n)) <= 2, (grid["height"], n)  # exactly its rows, no empty one
        browser.close()
    assert not bad, bad[:20]
