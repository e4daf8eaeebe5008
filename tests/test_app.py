"""AppTest: every page renders on the embedded data; filters, query parameters and garbage input."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from screens.charts import RESULT_TEXT
from tests.conftest import match_count, run_app

PAGES = ["screens/screener.py", "screens/scorecard.py", "screens/loop_map.py", "screens/compare.py",
         "screens/methodology.py"]


pytestmark = pytest.mark.usefixtures("clear_streamlit_caches")


def app(params: dict | None = None, page: str | None = None) -> AppTest:
    at = run_app(params)
    if page:
        at.switch_page(page).run()
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(page):
    at = app(page=page if page != PAGES[0] else None)
    assert not at.exception, [e.value for e in at.exception]


def test_screener_counts_and_filters_change_rows():
    at = app()
    n, total = match_count(at)
    assert n == total >= 30
    assert len(at.dataframe[0].value) == n
    at.multiselect(key="f_segments").select("energy").run()
    n_energy, _ = match_count(at)
    assert 0 < n_energy < total and set(at.dataframe[0].value["segment"]) == {"energy"}
    at.checkbox(key="f_excl").check().run()
    assert match_count(at)[0] == n_energy  # no energy company sits on a loop cycle
    at.multiselect(key="f_segments").unselect("energy").run()
    n_no_cycle, _ = match_count(at)
    assert n_no_cycle < total
    assert not at.dataframe[0].value["on_cycle"].any()
    at.number_input(key="f_min_free_cash_flow").set_value(60).run()
    n_fcf, _ = match_count(at)
    assert n_fcf < n_no_cycle
    at.number_input(key="f_min_free_cash_flow").set_value(100).run()
    assert match_count(at)[0] == 0
    assert any("No company matches" in i.value for i in at.info)


def test_screener_views_are_lazy_tabs_that_draw_only_when_opened():
    at = app()
    assert [t.label for t in at.tabs] == ["Ranked table", "Heat map", "Scatter", "History"]
    assert len(at.dataframe) == 1 and not at.get("plotly_chart")  # first paint: table only, no plotly.js
    n, _ = match_count(at)
    with_cap = int(at.dataframe[0].value["market_cap_bn"].gt(0).sum())
    at.session_state["screener_view"] = "Heat map"
    at.run()
    assert not at.exception and not at.dataframe and len(at.get("plotly_chart")) == 1
    treemap = json.loads(at.get("plotly_chart")[0].proto.spec)
    tiles = [p for p in treemap["data"][0]["parents"] if p]  # companies; segments have no parent
    assert 0 < len(tiles) == with_cap  # every matching company with a market cap is a tile...
    at.session_state["screener_view"] = "Scatter"
    at.run()
    scatter = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert scatter["layout"]["xaxis"]["title"]["text"].startswith("Loop exposure")
    assert match_count(at)[0] == n  # ...and the filters still apply in every view
    at.session_state["screener_view"] = "History"
    at.run()
    assert not at.exception and not at.get("plotly_chart")
    hist = at.dataframe[0].value
    assert len(hist) >= 30 and hist["composite_hist"].map(len).max() >= 3  # several fiscal years per company
    assert hist["move"].str.contains("since FY").any()


def test_preset_applies_its_filter_and_weights():
    at = app()
    at.sidebar.selectbox(key="preset").select("Pricing power").run()
    assert at.session_state["w_pricing_power"] == 3.0
    assert at.checkbox(key="f_use_gm").value is True
    df = at.dataframe[0].value
    assert (df["gross_margin"].str.rstrip(" %").astype(float) >= 40).all()  # shown as text: n.a. never passes


def test_query_params_restore_the_scorecard_view():
    at = app({"ticker": "ORCL", "preset": "Fortress balance sheet", "w": "2,1,1,0", "mode": "relative"},
             page="screens/scorecard.py")
    assert not at.exception
    assert at.selectbox[0].value == "ORCL"
    assert at.session_state["preset"] == "Fortress balance sheet"
    assert at.session_state["w_balance_sheet"] == 2.0 and at.session_state["w_loop_exposure"] == 0.0
    assert at.session_state["relative"] is True
    assert at.query_params["ticker"] == ["ORCL"] or at.query_params["ticker"] == "ORCL"
    labels = [m.label for m in at.metric]
    assert "Grade" in labels and "Scored on" in labels


def test_scorecard_draws_its_checks_natively_and_builds_detail_tables_when_opened():
    from metrics.checks import PILLARS, checks_of

    at = app({"ticker": "MSFT"}, page="screens/scorecard.py")
    assert [t.label for t in at.tabs] == ["Checks", "History", "Debt: reported → adjusted", "Card image (PNG)"]
    assert not at.get("plotly_chart")  # header, grade, pillars and checks need no charting library
    assert len([h for h in at.markdown if "Microsoft Corporation (MSFT)" in h.value]) == 1  # one header
    checks = at.dataframe[0].value
    assert len(checks) == sum(len(checks_of(p)) for p in PILLARS)
    assert set(checks["Result"]) <= set(RESULT_TEXT.values())
    assert checks["Explanation"].str.len().gt(0).all()  # every result, n.a. included, says why
    labels = [e.label for e in at.expander]
    assert labels[0].startswith("Checks in detail") and labels[1].startswith("Sources (")
    n_sources = int(labels[1].split("(")[1].split()[0])
    at.session_state["card_sources"] = True
    at.run()
    src = at.dataframe[1].value
    assert len(src) == n_sources > 0 and src["source"].str.startswith("http").all()
    at.session_state["card_details"] = True
    at.run()
    per_pillar = [d.value for d in at.dataframe][1:5]
    expected = [len(checks_of(p)) for p in list(PILLARS)[:3]] + [5]  # loop: the checks (a)-(e)
    assert [len(d) for d in per_pillar] == expected


def test_garbage_query_params_are_ignored_with_a_notice():
    at = app({"ticker": "<script>alert(1)</script>", "preset": "DROP TABLE", "w": "9,x,1", "mode": "sideways",
              "evil": "1"})
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    assert "ticker" in text
    at.switch_page("screens/scorecard.py").run()
    assert not at.exception
    assert "preset" in text and "weights" in text and "mode" in text and "unknown link parameters" in text
    assert at.selectbox[0].value == "NVDA"  # fallback company
    assert all("<script>" not in m.value for m in at.markdown)


def test_compare_accepts_tickers_from_the_link():
    at = app({"tickers": "MSFT,AMZN,BOGUS"}, page="screens/compare.py")
    assert not at.exception
    assert at.multiselect[0].value == ["MSFT", "AMZN"]


def test_compare_speaks_one_vocabulary_for_missing_values():
    at = app({"tickers": "MSFT,GEV"}, page="screens/compare.py")  # GEV has few reported figures
    assert not at.exception
    table = at.dataframe[0].value
    cells = set(table.astype(str).to_numpy().ravel())
    assert "n.a." in cells and not cells & {"None", "nan", "NaN", "<NA>"}
    assert any(e.label.startswith("Why n.a.") for e in at.expander)
