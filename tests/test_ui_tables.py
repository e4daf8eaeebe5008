"""Every table on the five pages reads as a professional screener's would: labels in words, numbers formatted by
metrics/format.py (no None, nan or 1.000e+11), one PASS / FAIL / n.a. vocabulary with colour; the screener's first
screen and its CSV; methodology in plain words."""

from __future__ import annotations

import io
import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from screens.charts import RESULT_COLOURS, RESULT_TEXT
from tests.conftest import run_app

pytestmark = pytest.mark.usefixtures("clear_streamlit_caches")
RAW = re.compile(r"\b(None|nan|NaN|NaT)\b|<NA>|\d[eE][+-]\d")


def table_problems(element) -> list[str]:
    """What a reader would trip over in one st.dataframe / st.table: a code-form label, an unformatted float,
    a missing cell shown raw, scientific notation, or a result outside the one vocabulary."""
    df = element.value
    cfg = json.loads(getattr(element.proto, "columns", "") or "{}")
    out = []
    for col in df.columns:
        c = cfg.get(str(col), {})
        if c.get("hidden"):
            continue
        label = c.get("label") or str(col)
        kind = (c.get("type_config") or {}).get("type")
        if "_" in label:
            out.append(f"label in code form: {label!r}")
        s = df[col]
        if pd.api.types.is_bool_dtype(s):
            continue
        if pd.api.types.is_numeric_dtype(s):
            if pd.api.types.is_float_dtype(s) and not (c.get("type_config") or {}).get("format"):
                out.append(f"float column without a format: {label!r}")
            if s.isna().any() and kind != "progress":  # an empty bar says n.a. beside its grade; a number cell would not
                out.append(f"missing number shown raw: {label!r}")
            continue
        for v in s:
            if isinstance(v, (list, np.ndarray)):  # a sparkline's values
                continue
            if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
                out.append(f"missing cell in {label!r}")
            elif RAW.search(str(v)):
                out.append(f"{label!r}: {v!r}")
        if label == "Result":
            out += [f"result {v!r}" for v in set(s) - set(RESULT_TEXT.values())]
    return out


def all_problems(at) -> list[str]:
    return [p for el in [*at.dataframe, *at.table] for p in table_problems(el)]


def test_screener_tables_and_first_screen_columns():
    at = run_app()
    assert not at.exception
    view = at.dataframe[0]
    cols = list(view.value.columns)
    first = ["rank", "name", "grade", "composite", "balance_sheet", "free_cash_flow", "pricing_power", "loop_exposure",
             "fy", "age_months"]
    assert cols[:len(first)] == first  # what a reader needs first, left to right
    assert view.value["fy"].str.fullmatch(r"FY\d{4}").all() and view.value["age_months"].ge(0).all()
    assert not at.expander[0].proto.expanded  # filters collapsed: the ranked table is on the first screen
    assert not all_problems(at), all_problems(at)
    assert view.value["newest_results"].str.contains(r"FY\d{4} results \((?:release|filing|news|aggregator)").any()
    at.session_state["screener_view"] = "History"
    at.run()
    assert not all_problems(at), all_problems(at)


@pytest.mark.parametrize("ticker", ["NVDA", "ORCL", "GEV"])
def test_scorecard_tables_in_every_tab_and_expander(ticker):
    at = run_app({"ticker": ticker, "mode": "relative" if ticker == "ORCL" else "absolute"})
    at.switch_page("screens/scorecard.py").run()
    assert not at.exception
    checks = at.dataframe[0]
    assert set(checks.value["Result"]) <= set(RESULT_TEXT.values())
    arrow = checks.proto.arrow_data
    styles = arrow.styler.styles if arrow.HasField("styler") else ""
    assert RESULT_COLOURS["pass" if ticker != "GEV" else "not on file"] in styles  # results carry colour too
    problems = all_problems(at)
    for view in ("History", "Debt: reported → adjusted"):
        at.session_state["card_view"] = view
        at.run()
        problems += all_problems(at)
    for box in ("card_details", "card_sources", "card_life"):
        at.session_state[box] = True
    at.run()
    assert not at.exception
    problems += all_problems(at)
    assert not problems, problems


def test_relative_history_says_it_shows_absolute_scores_and_marks_the_headline_row():
    at = run_app({"ticker": "ORCL", "mode": "relative"})
    at.switch_page("screens/scorecard.py").run()
    at.session_state["card_view"] = "History"
    at.run()
    assert any("absolute scores" in i.value for i in at.info)
    fy = at.dataframe[0].value["FY"]
    assert fy.str.endswith("(scored: the headline)").sum() == 1


def test_debt_bridge_formats_amounts_and_groups_later_disclosures():
    at = run_app({"ticker": "ORCL"})
    at.switch_page("screens/scorecard.py").run()
    at.session_state["card_view"] = "Debt: reported → adjusted"
    at.run()
    steps = at.dataframe[0].value
    assert steps["Amount"].str.fullmatch(r"−?[\d,]+\.\d|n\.a\.").all()  # 268.6 under 'Amount (USD bn)', not 268557000000
    assert "Disclosed after the year end (not scored)" in " ".join(m.value for m in at.markdown)
    later = at.dataframe[-1].value
    assert not later["counted"].any() and later["why_not_counted"].str.contains("later period").all()


def test_loop_map_tables_cycles_deals_exposure_and_stress_test():
    at = run_app()
    at.switch_page("screens/loop_map.py").run()
    assert not at.exception
    problems = all_problems(at)
    assert not problems, problems
    deals = next(d.value for d in at.dataframe if "Amount" in d.value)
    assert (deals["Amount"] == "100.0").any() and not deals["Amount"].str.contains("e+", regex=False).any()
    stress = next(d.value for d in at.dataframe if "Lost revenue" in d.value)
    assert stress["Lost revenue"].str.match(r"USD |n\.a\. \(").all()


def test_compare_and_methodology_tables():
    at = run_app({"tickers": "MSFT,ORCL,GEV"})
    at.switch_page("screens/compare.py").run()
    assert not at.exception and not all_problems(at), all_problems(at)
    radar = json.loads(at.get("plotly_chart")[0].proto.spec)
    gev = next(t for t in radar["data"] if t["name"] == "GEV")
    assert None in gev["r"] and 0 not in gev["r"][:3]  # pillars with too little on file are gaps, not 0
    side = at.dataframe[0].value.set_index("Measure")
    assert side.at["Gross margin", "ORCL"] == "n.a. (not reported by the company)"  # Oracle shows no gross profit
    assert side.at["Current ratio", "GEV"] == "n.a. (not on file)"
    assert side.at["Gross margin", "MSFT"].endswith(" %")
    at.switch_page("screens/methodology.py").run()
    assert not at.exception and not all_problems(at), all_problems(at)


def test_methodology_is_plain_words_and_its_lists_render():
    at = run_app()
    at.switch_page("screens/methodology.py").run()
    blocks = [m.value for m in at.markdown]
    for code in ("`", ":func:", "``", "==", ".py", ".csv", "data/", "metrics."):
        assert not [b for b in blocks if code in b], code
    for block in blocks:
        lines = block.splitlines()
        for i, line in enumerate(lines):
            assert not line.startswith("* "), line  # one bullet style
            if line.startswith("- ") and i and not lines[i - 1].startswith(("- ", "  ")):
                assert lines[i - 1].strip() == "", f"a list must follow a blank line: {lines[i - 1]!r}"
    assert sum(b.count("\n- ") for b in blocks) >= 15  # the lists are there
    for h in ("How a score is built", "The checks", "Assumptions you can change", "Limitations"):
        assert any(x.value == h for x in at.header)


def test_screener_csv_has_every_column_the_table_shows_in_stated_units():
    from screens.export import screen_frame
    from screens.model import build_scored

    sc = build_scored()
    frame = screen_frame(sc.table(), None, sc.ctx.panel)
    for col in ("ticker", "name", "grade", "composite_score", "balance_sheet_score", "loop_exposure_score",
                "market_cap_usd_bn", "net_debt_to_ebitda_x", "fcf_margin_pct", "gross_margin_pct",
                "scored_fiscal_year", "scored_year_age_months", "coverage_pct", "data_gaps", "newest_results"):
        assert col in frame, col
    from screens.export import screen_csv

    text = screen_csv(sc.table(), None, sc.ctx.panel).decode()
    back = pd.read_csv(io.StringIO(text))
    assert "e+" not in text and not re.search(r"\d\.\d{5,}", text)  # no 15-digit floats
    nvda = back.set_index("ticker").loc["NVDA"]
    assert nvda["market_cap_usd_bn"] == pytest.approx(4640.0) and nvda["fcf_margin_pct"] == pytest.approx(46.6)
    assert nvda["scored_fiscal_year"] == 2025 and 0 < nvda["coverage_pct"] <= 100


def test_unknown_ticker_is_reported_once():
    at = run_app({"ticker": "ZZZZ"})
    seen = [w.value for w in at.warning if "ZZZZ" in w.value]
    at.switch_page("screens/scorecard.py").run()
    assert not at.exception
    seen += [w.value for w in at.warning if "ZZZZ" in w.value]
    assert len(seen) == 1, seen


def test_a_short_result_draws_no_empty_row():
    from screens.screener import grid_height

    assert grid_height(2) == 35 * 3 + 3 and grid_height(200) == grid_height(15)  # header + rows, nothing below


def test_charts_read_labels_outliers_sankey_and_edge_widths():
    import networkx as nx

    from screens.charts import label_points, network_figure, sankey_figure, scatter_figure
    from screens.model import build_scored

    sc = build_scored()
    t = sc.table().assign(fcf_margin_pct=lambda d: d["fcf_margin"] * 100)
    fig, note = scatter_figure(t, "loop_exposure", "fcf_margin_pct", "Loop exposure score", "FCF margin (%)",
                               y_unit=" %")
    drawn = [p for tr in fig.data for p in zip(tr.x, tr.y, tr.text, [c[1] for c in tr.customdata])]
    lo, hi = fig.layout.yaxis.range
    assert all(lo <= y <= hi for _, y, _, _ in drawn)  # CoreWeave's −310 % no longer squashes the axis...
    assert any(true.startswith("−3") or true.startswith("-3") for *_, true in drawn)  # ...its true value is in the hover
    not_drawn = t.index[t["fcf_margin_pct"].isna() | t["loop_exposure"].isna()]
    named = [tk for tk in not_drawn if tk in note.split(":", 1)[1].replace(".", ",").replace(" ", "").split(",")]
    assert len(not_drawn) and len(named) >= min(len(not_drawn), 10) and "outlier" in note  # said, not silent
    labels = [(x, y) for x, y, text, _ in drawn if text]
    assert 3 <= len(labels) <= 12  # the notable points only; hover for the rest
    x = pd.Series([100.0] * 15 + [40.0]), pd.Series([30.0] * 15 + [10.0])
    assert len(label_points(x[0], x[1], pd.Series(range(16), dtype=float), (0, 110), (0, 50))) == 2  # no pile-up
    g = sc.ctx.loop.graph
    sankey = sankey_figure(g, sc.ctx.loop.deals).data[0]
    pairs = set(zip(sankey.link.source, sankey.link.target))
    sides = len([x for x in sankey.node.x if x < 0.5])
    assert all(s < sides <= t for s, t in pairs)  # payers left, payees right: no self-loop, no cycle drawn
    assert nx.is_directed_acyclic_graph(nx.DiGraph(list(pairs)))
    assert max(sankey.link.value) == pytest.approx(300.0)  # the USD 300 bn OpenAI–Oracle contract is drawn
    net = network_figure(g, [], {}, {}, deals=sc.ctx.loop.deals)
    widths = {tr.line.width for tr in net.data if tr.mode == "lines" and tr.showlegend is False and tr.line.width}
    assert max(widths) > 9  # the largest deal is the widest edge, dashed as not counted
    widest = max((tr for tr in net.data if tr.mode == "lines" and tr.showlegend is False), key=lambda tr: tr.line.width)
    assert widest.line.dash == "dash"


def test_heat_map_tiles_hide_text_they_cannot_fit():
    from screens.charts import treemap_figure
    from screens.model import build_scored

    fig, _ = treemap_figure(build_scored().table())
    assert fig.layout.uniformtext.mode == "hide" and fig.layout.uniformtext.minsize >= 10
    assert all("market cap USD" in h for h in fig.data[0].customdata if h)
