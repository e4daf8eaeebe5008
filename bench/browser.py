"""Start `streamlit run` on a free loopback port and drive it with headless Chromium (Playwright).

Shared by the end-to-end browser test and the render benchmark, so both wait
for the same definition of "rendering has finished".
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

# The script has finished (no rerun pending) and the page's content is drawn: with
# need = {chart: true} at least one plotly chart (SVG), with {grid: true} a data grid (canvas).
RENDERED = """(need) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  if (need.grid && !document.querySelector('[data-testid="stDataFrame"] canvas')) return false;
  return !need.chart || document.querySelectorAll('[data-testid="stPlotlyChart"] .main-svg').length > 0;
}"""
CHARTS = {"chart": True, "grid": False}
GRID = {"chart": False, "grid": True}
SCREENER = GRID  # the screener opens on its ranked table; heat map and scatter draw when their tab opens


# Counts script runs that finish (attribute flips to notRunning), with the time of the last one.
WATCH_RUNS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  window.__runs = 0; window.__lastDone = 0;
  new MutationObserver(() => {
    if (app.getAttribute('data-test-script-state') === 'notRunning') { window.__runs += 1; window.__lastDone = performance.now(); }
  }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


def chromium_path() -> str | None:
    """Debian's Chromium, if installed."""
    for p in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if p and Path(p).exists():
            return p
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    started_at: float  # time.perf_counter() just before the process was spawned


def wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """Block until Streamlit answers its health endpoint (raises RuntimeError otherwise)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("streamlit did not start in time")


@contextmanager
def streamlit_server(script: str = "app.py", env: dict[str, str] | None = None) -> Iterator[Server]:
    """`streamlit run SCRIPT` headless on 127.0.0.1:<free port>; stopped on exit."""
    port = free_port()
    full_env = {**os.environ, **(env or {})}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield Server(url, proc, t0)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
