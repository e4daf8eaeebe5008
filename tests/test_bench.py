"""The benchmark report computes its ratios and verdicts from the runs it measured."""

from __future__ import annotations

import pytest

import bench.__main__ as report
import bench.render as render
from bench.render import RenderRun


def fake_runs(bare_first: float, screener_first: float) -> dict[str, list[RenderRun]]:
    def runs(first: float, rerun: float, mem: float, tab: float | None = None) -> list[RenderRun]:
        # three runs around the median: the report must take the middle one, not the mean
        return [RenderRun(first * 0.5, rerun * 0.5, mem * 0.5, tab and tab * 0.5), RenderRun(first, rerun, mem, tab),
                RenderRun(first * 3, rerun * 3, mem * 3, tab and tab * 3)]
    return {"bare": runs(bare_first, 0.1, 150), "embedded": runs(screener_first, 0.3, 200, 1.2),
            "scorecard": runs(4.0, 0.6, 210), "5,000": runs(3.5, 0.4, 390)}


@pytest.mark.parametrize(("screener_first", "ratio", "met"), [(3.0, "1.50x", "yes"), (3.2, "1.60x", "NO")])
def test_render_rows_report_median_ratios_to_the_bare_page(monkeypatch, tmp_path, screener_first, ratio, met):
    monkeypatch.setattr(render, "compare", lambda chromium, variants, repeats: fake_runs(2.0, screener_first))
    monkeypatch.setattr("bench.synthetic.write_synthetic_snapshot", lambda folder, n: None)
    rows = {r.measure: r for r in report.render_rows("/usr/bin/chromium", 3, tmp_path)}
    first = rows["first render, screener, embedded data"]
    assert (first.ratio, first.met, first.baseline) == (ratio, met, "2.00 s (bare page)")
    assert rows["first render, scorecard by link (MSFT)"].ratio == "2.00x"
    assert rows["open the heat-map tab, screener, embedded data"].ratio == "12.0x"  # 1.2 s vs a 0.1 s bare rerun
    big = rows["peak memory, screener, 5,000 companies"]
    assert (big.value, big.met) == ("390 MB", "yes")
    assert rows["first render, screener, 5,000 companies"].met == ""  # no target set by the issue


def test_the_table_lines_up_every_row(capsys):
    rows = [report.Row("a", "1 s"), report.Row("a much longer measure", "10 s", "2 s", "5.0x", "< 1 s", "NO")]
    report.print_table(rows)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and set(lines[1]) == {"-", " "}
    value_col = lines[0].index("median")
    assert lines[2][value_col:].startswith("1 s") and lines[3][value_col:].startswith("10 s")


def test_refresh_rows_report_the_ratio_to_the_request_floor_and_requests_per_ticker(monkeypatch):
    from bench.refresh import RefreshRun

    # 222 requests (3 of them answered 429) for 34 listed + 3 unknown tickers in 12.0 s:
    # floor = 222 x 0.2 s / 4 = 11.1 s, ratio 1.08x (<= 1.2x: met); (222 - 3) / 34 = 6.4 requests a ticker
    monkeypatch.setattr("bench.refresh.refresh_once", lambda latency: RefreshRun(12.0, 37, 222, 3, {"ok": 34}, 34))
    main, detail = report.refresh_rows(1)
    assert (main.value, main.ratio, main.met) == ("12.0 s", "1.08x", "yes")
    assert main.baseline.startswith("11.1 s") and detail.value == "6.4 / 3"
    monkeypatch.setattr("bench.refresh.refresh_once", lambda latency: RefreshRun(14.0, 37, 222, 3, {"ok": 34}, 34))
    assert report.refresh_rows(1)[0].met == "NO"  # 1.26x


def test_cycle_rows_report_the_20_party_search_against_the_embedded_one(monkeypatch):
    from bench.cycles import CycleRun

    # 0.01 s on the embedded deals (77 cycles), 0.15 s with the 20-party upload (capped at 2,000): 15.0x, < 1 s met
    times = {0: (0.01, 77, False), 20: (0.15, 2000, True)}
    monkeypatch.setattr("bench.cycles.time_cycle_search", lambda n, repeats: times[n])
    monkeypatch.setattr("bench.cycles.run_upload", lambda n: CycleRun(n, True, 0.05, 0.2, 0.1, 2000, True, None))
    search, end = report.cycle_rows(3)
    assert search.measure.startswith("cycle search, 20-party upload (at least 2,000 cycles")
    assert (search.value, search.ratio, search.met) == ("0.150 s", "15.0x", "yes")
    assert search.baseline == "0.010 s (embedded, 77 cycles)"
    assert (end.value, end.met) == ("0.250 s", "yes")  # parse + context
    times[20] = (1.2, 2000, True)
    assert report.cycle_rows(1)[0].met == "NO"


def test_the_cycle_search_on_the_20_party_upload_is_measured_for_real():
    from bench.cycles import complete_digraph_csv, run_upload, time_cycle_search

    assert complete_digraph_csv(20).count(b"\n") == 1 + 20 * 19  # header + every ordered pair
    seconds, kept, truncated = time_cycle_search(20, 1)
    assert seconds < 5.0 and kept == 2000 and truncated  # ~0.1 s here; unbounded it took 120 s and 1.9 GB
    run = run_upload(20)
    assert run.accepted and run.truncated and run.parse_s + run.context_s < 5.0
    assert not run_upload(40).accepted  # 1,560 rows: refused with a message, before any graph is built
