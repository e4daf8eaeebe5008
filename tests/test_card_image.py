"""The 1600x900 card: one builder for the app, its download and the CLI; designed empty states; escaped labels;
and, in headless Chromium with the plotly.js kaleido uses, every text box inside its panel."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from screens.charts import CARD_H, CARD_PANELS, CARD_W, fit, text_width, wrap

#: what a cell must never show: a Python/pandas missing value or scientific notation
RAW = re.compile(r"\b(None|nan|NaN|NaT)\b|<NA>|\d[eE][+-]\d")
CARDS = ["NVDA", "GEV", "ORCL", "TSM"]  # TSM: "Taiwan Semiconductor Manufacturing Company Limited"


@pytest.fixture(scope="module")
def scored():
    from data.loader import load_dataset
    from screens.model import build_scored

    ds = load_dataset()
    return ds, build_scored(ds)


def _figure(scored, ticker: str, results: pd.DataFrame | None = None):
    from screens.export import card_and_figure

    ds, sc = scored
    if results is not None:
        ds = type("DS", (), {"results": results, "provenance": ds.provenance})()
    return card_and_figure(sc, ticker, dataset=ds)


def _texts(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def test_text_fitting_never_exceeds_its_room():
    long = "Not on file: Total Debt, Cash Cash Equivalents And Short Term Investments and EBITDA not on file."
    assert text_width(fit(long, 300, 11), 11) <= 300 and fit(long, 300, 11).endswith("…")
    assert fit("short", 300, 11) == "short"
    lines = wrap(long * 3, 500, 11, max_lines=2)
    assert len(lines) == 2 and all(text_width(x, 11) <= 500 for x in lines)


@pytest.mark.parametrize("ticker", CARDS)
def test_the_card_is_1600x900_and_every_text_is_tagged_with_a_panel_it_starts_in(scored, ticker):
    _, fig = _figure(scored, ticker)
    assert (fig.layout.width, fig.layout.height) == (CARD_W, CARD_H)
    for a in fig.layout.annotations:
        x0, y0, x1, y1 = CARD_PANELS[a.name]
        px, py = a.x * CARD_W, (1 - a.y) * CARD_H
        assert x0 - 0.5 <= px <= x1 + 0.5 and y0 - 0.5 <= py <= y1 + 0.5, (a.name, a.text)
    assert not [t for t in _texts(fig) if RAW.search(t)]
    assert set(fig.layout.meta["subplots"].values()) <= set(CARD_PANELS)


def test_a_company_with_little_data_gets_a_designed_empty_state_not_empty_axes(scored):
    card, fig = _figure(scored, "GEV")
    assert card["composite"] is None
    texts = _texts(fig)
    assert "No graded fiscal year yet" in texts and "Fewer than two fiscal years on file" in texts
    assert any(t.startswith("Not graded: 0 of") for t in texts)
    assert not fig.data  # no chart drawn on data it does not have
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False


def test_the_newest_results_release_is_on_the_card_with_its_precision_and_growth_never_scored(scored):
    results = pd.DataFrame([{"ticker": "NVDA", "fiscal_year": 2026, "period_end": "2026-01-25", "currency": "USD",
                             "field": "Total Revenue", "value": 215.9e9, "precision": 1e8, "stated": "$215.9 billion",
                             "released": "2026-02-25", "source": "https://example.test/r", "note": "", "kind": "release"}])
    card, fig = _figure(scored, "NVDA", results)
    texts = _texts(fig)
    assert "FY2026 results (release, rounded)" in texts and "USD 215.9 bn" in texts
    assert any(t.startswith("+65.") and t.endswith(" %") for t in texts)  # vs FY2025 revenue USD 130.5 bn
    assert any("rounded to 0.1 bn" in t for t in texts)
    assert card["composite"] == _figure(scored, "NVDA")[0]["composite"]  # never feeds a score


def test_names_on_the_card_are_escaped(scored):
    from metrics.engine import history
    from screens.charts import scorecard_figure

    card, _ = _figure(scored, "MSFT")
    evil = {**card, "name": "<img src=x onerror=alert(1)>"}
    fig = scorecard_figure(evil, history(scored[1], "MSFT"), None)
    blob = json.dumps(fig.to_plotly_json(), default=str)
    assert "&lt;img src=x" in blob and "<img" not in blob


MEASURE = """async (fig) => {
  const div = document.getElementById('card');
  await Plotly.newPlot(div, fig.data, fig.layout, {staticPlot: true});
  const base = div.getBoundingClientRect();
  const box = (t) => { const r = t.getBoundingClientRect();
    return [t.textContent, r.left - base.left, r.top - base.top, r.right - base.left, r.bottom - base.top]; };
  const out = {annotations: [], subplots: []};
  div.querySelectorAll('g.annotation').forEach(g => {
    const t = g.querySelector('text.annotation-text') || g.querySelector('text');
    if (t && t.textContent) out.annotations.push([+g.getAttribute('data-index'), ...box(t)]);
  });
  div.querySelectorAll('.cartesianlayer g.subplot').forEach(g => {
    const id = [...g.classList].find(c => c !== 'subplot');
    g.querySelectorAll('text').forEach(t => { if (t.textContent) out.subplots.push([id, ...box(t)]); });
  });
  return out;
}"""


@pytest.mark.browser
def test_every_text_box_of_the_card_lies_inside_its_panel_in_chromium(scored):
    """Draws each card with the plotly.js that kaleido uses for the PNG, at 1600x900, and measures every text box:
    inside its panel, inside the figure, and never on top of another text of the same panel."""
    import plotly
    from playwright.sync_api import sync_playwright

    from bench.browser import CHROMIUM_ARGS
    from tests.conftest import skip_without_chromium

    chromium = skip_without_chromium()
    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    failures = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": CARD_W, "height": CARD_H})
        page.set_content(f'<html><body style="margin:0"><div id="card" style="width:{CARD_W}px;height:{CARD_H}px">'
                         "</div></body></html>")
        page.add_script_tag(path=str(plotly_js))
        for ticker in CARDS:
            _, fig = _figure(scored, ticker)
            spec = json.loads(fig.to_json())
            got = page.evaluate(MEASURE, spec)
            names = [a["name"] for a in spec["layout"]["annotations"]]
            assert len(got["annotations"]) == len(names), ticker  # every annotation was drawn
            boxes: dict[str, list] = {}
            for i, text, left, top, right, bottom in got["annotations"]:
                boxes.setdefault(names[i], []).append((text, left, top, right, bottom))
            for sub, text, left, top, right, bottom in got["subplots"]:
                boxes.setdefault(spec["layout"]["meta"]["subplots"][sub], []).append((text, left, top, right, bottom))
            for panel, items in boxes.items():
                x0, y0, x1, y1 = CARD_PANELS[panel]
                for text, left, top, right, bottom in items:
                    if not (x0 - 1 <= left and right <= x1 + 1 and y0 - 1 <= top and bottom <= y1 + 1):
                        failures.append(f"{ticker} {panel}: {text!r} at {left:.0f},{top:.0f}-{right:.0f},{bottom:.0f}")
                for i, a in enumerate(items):
                    for b in items[i + 1:]:
                        if a[1] < b[3] - 1 and b[1] < a[3] - 1 and a[2] < b[4] - 1 and b[2] < a[4] - 1:
                            failures.append(f"{ticker} {panel}: {a[0]!r} overlaps {b[0]!r}")
        browser.close()
    assert not failures, "\n".join(failures[:30])


def test_a_pillar_resting_on_fewer_checks_because_some_do_not_apply_says_so(scored):
    """Oracle reports no gross profit: the pricing-power checks built on it do not apply, and the pillar's score
    rests on the rest. The card image and the scorecard say how many were left out, counted from the checks."""
    from tests.conftest import run_app

    card, fig = _figure(scored, "ORCL")
    p = card["pillars"]["pricing_power"]
    left_out = [c for c in p["checks"] if c["result"] == "n.a."]
    assert left_out and p["applicable"] == len(p["checks"]) - len(left_out)
    said = f"{len(left_out)} of {len(p['checks'])} checks do not apply"
    assert any(said in t for t in _texts(fig))
    at = run_app({"ticker": "ORCL"})
    at.switch_page("screens/scorecard.py").run()
    from screens.charts import not_applicable_note, pillar_status

    # one text in every view: the scorecard's pillar caption is the card image's pillar status line
    status = pillar_status(p)
    assert said in status and any(status in t for t in _texts(fig))
    assert any(c.value.endswith(status) for c in at.caption), [c.value for c in at.caption]

    assert not_applicable_note({"checks": [{"result": "pass"}, {"result": "not on file"}]}) == ""


@pytest.mark.parametrize("pillar, says, never", [
    ({"status": "complete", "on_file": 3, "applicable": 3, "checks": [{"result": "pass"}] * 3},
     "3 of 3 checks on file · complete", "up to"),
    ({"status": "partial", "on_file": 2, "applicable": 3, "score_high": 100.0,
      "checks": [{"result": "pass"}, {"result": "fail"}, {"result": "not on file"}, {"result": "n.a."}]},
     "2 of 3 checks on file · up to 100 if the missing passed · 1 of 4 checks do not apply", "provisional"),
    ({"status": "insufficient data", "on_file": 1, "applicable": 3, "score_high": 66.7,
      "checks": [{"result": "fail"}, {"result": "not on file"}, {"result": "not on file"}]},
     "1 of 3 checks on file · provisional · up to 67 if the missing passed", "complete"),
    ({"status": "insufficient data", "on_file": 0, "applicable": 2, "score_high": 100.0,
      "checks": [{"result": "not on file"}] * 2}, "none of 2 checks on file: n.a.", "up to"),
    ({"status": "insufficient data", "on_file": 0, "applicable": 0, "score_high": 100.0,
      "checks": [{"result": "n.a."}] * 2}, "no check applies: n.a. · 2 of 2 checks do not apply", "on file"),
    ({"status": "no loop exposure on record", "on_file": 0, "applicable": 0, "checks": []},
     "no loop exposure on record: scores 100", "n.a."),
])
def test_a_pillar_status_says_what_its_score_rests_on(pillar, says, never):
    from screens.charts import pillar_status

    text = pillar_status(pillar)
    assert text == says and never not in text
