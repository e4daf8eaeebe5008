"""Render benchmark: `streamlit run` to first complete render, and rerun latency after a weight change.

Each figure is a median over repeated cold starts, reported with the same
measurement of a bare Streamlit page (``bench/bare_app.py``) taken in the same
run, interleaved, so machine noise hits both alike. Peak memory (VmHWM, the
resident-set high-water mark) of the app process is read after the page has
rendered.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.browser import CHARTS, CHROMIUM_ARGS, RENDERED, WATCH_RUNS, streamlit_server


@dataclass
class RenderRun:
    first_render_s: float
    rerun_s: float
    peak_rss_mb: float
    tab_s: float | None = None  # click on ``tab`` until its chart is drawn (screener's lazy chart tabs)


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a process in MB (Linux VmHWM; else the current RSS)."""
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return psutil.Process(pid).memory_info().rss / 2**20


def nudge_first_slider(page, attempts: int = 3, wait_ms: int = 15_000) -> float:
    """Press ArrowRight on the first sidebar slider until a script run follows; returns the press time
    (``performance.now()``, ms). A key press can be lost while the page still settles: then press again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    slider = page.locator('[data-testid="stSidebar"] [data-testid="stSlider"] input[type=range]').first
    for attempt in range(attempts):
        page.evaluate(WATCH_RUNS)
        slider.focus()
        t0 = page.evaluate("performance.now()")
        slider.press("ArrowRight")
        try:
            page.wait_for_function("() => window.__runs >= 1", timeout=wait_ms, polling=20)
            return t0
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def measure_once(browser, script: str, need: dict[str, bool], env: dict[str, str] | None = None,
                 path: str = "/", tab: str | None = None, timeout_ms: int = 120_000) -> RenderRun:
    """Cold start ``script``, open ``path`` in a fresh page until rendered, nudge the first sidebar slider,
    then (with ``tab``) open that tab until its plotly chart is drawn."""
    with streamlit_server(script, env) as server:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        try:
            page.goto(server.url + path)
            page.wait_for_function(RENDERED, arg=need, timeout=timeout_ms, polling=50)
            first = time.perf_counter() - server.started_at
            page.wait_for_timeout(300)
            t0 = nudge_first_slider(page)
            page.wait_for_function(RENDERED, arg=need, timeout=timeout_ms, polling=50)
            page.wait_for_timeout(300)  # a second, chained run would move __lastDone
            rerun = (page.evaluate("window.__lastDone") - t0) / 1000
            tab_s = None
            if tab:
                t0 = time.perf_counter()
                page.get_by_role("tab", name=tab).click()
                page.wait_for_function(RENDERED, arg=CHARTS, timeout=timeout_ms, polling=20)
                tab_s = time.perf_counter() - t0
            mem = peak_rss_mb(server.proc.pid)
        finally:
            page.close()
    return RenderRun(first, rerun, mem, tab_s)


@dataclass
class Variant:
    name: str
    script: str
    need: dict[str, bool]
    env: dict[str, str] | None = None
    path: str = "/"
    tab: str | None = None


def compare(chromium: str, variants: list[Variant], repeats: int = 3) -> dict[str, list[RenderRun]]:
    """Cold starts of every variant, interleaved round by round; all runs per variant."""
    from playwright.sync_api import sync_playwright

    runs: dict[str, list[RenderRun]] = {v.name: [] for v in variants}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for _ in range(repeats):
                for v in variants:
                    runs[v.name].append(measure_once(browser, v.script, v.need, v.env, v.path, v.tab))
        finally:
            browser.close()
    return runs


def median(runs: list[RenderRun], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in runs)
