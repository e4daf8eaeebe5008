"""The screener's filters in the URL: a link reopens the same screen; anything invalid is ignored with a notice."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from streamlit.testing.v1 import AppTest

from metrics.checks import PILLARS
from metrics.presets import load_presets
from screens.filter_link import PARAMS, decode, encode, preset_defaults
from tests.conftest import match_count, run_app

SEGMENTS = {"chips", "cloud", "energy", "networking"}
SUBSEGMENTS = {"hyperscaler", "nuclear power", "GPU/accelerators"}
CAP_MAX = 3708.0


@hs.composite
def widget_values(draw):
    """Any state the screener's filter widgets can be in."""
    lo = draw(hs.integers(0, int(CAP_MAX)))
    values = {
        "f_segments": draw(hs.lists(hs.sampled_from(sorted(SEGMENTS)), unique=True, max_size=4)),
        "f_subsegments": draw(hs.lists(hs.sampled_from(sorted(SUBSEGMENTS)), unique=True, max_size=3)),
        "f_mcap": (float(lo), float(draw(hs.integers(lo, int(CAP_MAX))))),
        **{f"f_min_{p}": draw(hs.integers(0, 20)) * 5 for p in PILLARS},
        "f_use_nd": draw(hs.booleans()), "f_nd": draw(hs.integers(0, 40)) / 2,
        "f_use_fcf": draw(hs.booleans()), "f_fcf": float(draw(hs.integers(-100, 100))),
        "f_use_gm": draw(hs.booleans()), "f_gm": float(draw(hs.integers(0, 100))),
        "f_excl": draw(hs.booleans()),
    }
    return values


PRESET_FILTERS = [p.filters for p in load_presets().values()]


@settings(max_examples=200, deadline=None)
@given(widget_values(), hs.sampled_from(PRESET_FILTERS))
def test_a_link_reproduces_every_filter_that_matters(values, preset_filters):
    params = encode(values, preset_filters, CAP_MAX)
    assert set(params) <= set(PARAMS)
    restored, notices = decode(params, SEGMENTS, SUBSEGMENTS)
    assert notices == []
    state = {**preset_defaults(preset_filters), "f_segments": [], "f_subsegments": [], "f_mcap": (0.0, CAP_MAX),
             **restored}
    for key in ("f_segments", "f_subsegments", "f_mcap", "f_excl", *[f"f_min_{p}" for p in PILLARS]):
        assert state[key] == values[key], key
    for use, val in (("f_use_nd", "f_nd"), ("f_use_fcf", "f_fcf"), ("f_use_gm", "f_gm")):
        assert state[use] == values[use]
        if values[use]:  # a switched-off threshold's number does not change the screen
            assert state[val] == values[val]


def test_the_preset_screen_needs_no_filter_parameters():
    for filters in PRESET_FILTERS:
        values = {**preset_defaults(filters), "f_segments": [], "f_subsegments": [], "f_mcap": (0.0, CAP_MAX)}
        assert encode(values, filters, CAP_MAX) == {}
    # switching off the preset's own filter must be written down, or the link would switch it back on
    pricing = load_presets()["Pricing power"].filters
    assert encode({**preset_defaults(pricing), "f_use_gm": False}, pricing, CAP_MAX) == {"gm": "off"}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hs.dictionaries(hs.sampled_from(PARAMS), hs.text(max_size=60)))
def test_any_filter_parameters_give_valid_widget_values_or_a_notice(params):
    values, notices = decode(params, SEGMENTS, SUBSEGMENTS)
    assert set(values) <= set(preset_defaults({})) | {"f_segments", "f_subsegments", "f_mcap"}
    assert set(values.get("f_segments", [])) <= SEGMENTS and set(values.get("f_subsegments", [])) <= SUBSEGMENTS
    if "f_mcap" in values:
        lo, hi = values["f_mcap"]
        assert 0 <= lo <= hi
    for p in PILLARS:
        assert 0 <= values.get(f"f_min_{p}", 0) <= 100
    assert -100 <= values.get("f_fcf", 0) <= 100 and 0 <= values.get("f_gm", 0) <= 100 and 0 <= values.get("f_nd", 0) <= 20
    assert all(len(n) < 300 for n in notices)


# ------------------------------------------------------------------ in the app

pytestmark = pytest.mark.usefixtures("clear_streamlit_caches")


def url_params(at: AppTest) -> dict[str, str]:
    return {k: (v[0] if isinstance(v, list) else v) for k, v in ((k, at.query_params[k]) for k in at.query_params)}


def test_a_screen_shared_by_link_reopens_with_the_same_filters_and_rows():
    at = run_app()
    at.multiselect(key="f_segments").select("energy").select("cloud").run()
    at.checkbox(key="f_excl").check().run()
    at.number_input(key="f_min_free_cash_flow").set_value(20).run()
    n, total = match_count(at)
    assert 0 < n < total
    link = url_params(at)
    assert link["seg"] == "energy,cloud" and link["nocycle"] == "1" and link["min"] == "0,20,0,0"
    rows = list(at.dataframe[0].value.index)

    other = run_app(link)  # a new session, as when a colleague opens the link
    assert not other.exception and not other.warning
    assert match_count(other) == (n, total)
    assert list(other.dataframe[0].value.index) == rows
    assert other.multiselect(key="f_segments").value == ["energy", "cloud"] and other.checkbox(key="f_excl").value


def test_bad_filter_parameters_are_ignored_with_a_notice_and_the_rest_applies():
    at = run_app({"seg": "energy,[evil](http://x.example)", "mcap": "9-1", "min": "1,2", "gm": "abc", "nocycle": "1"})
    assert not at.exception
    source = " ".join(w.value for w in at.warning)  # the Markdown as sent to the browser
    shown = source.replace("\\", "")  # what the reader sees once the escapes are rendered
    for what in ("unknown segment", "market-cap range", "minimum scores", "gm="):
        assert what in shown
    assert "[evil](http" in shown and "](http" not in source  # escaped: the text cannot become a clickable link
    assert at.multiselect(key="f_segments").value == ["energy"] and at.checkbox(key="f_excl").value
    assert set(at.dataframe[0].value["segment"]) == {"energy"}


# ------------------------------------------------------------------ the low link items of issue 15, each with a notice

def warnings_of(at: AppTest) -> str:
    return " ".join(w.value for w in at.warning).replace("\\", "")  # as the reader sees it


def test_numbers_in_links_must_be_written_in_ascii_digits():
    from screens.filter_link import parse_number
    from screens.state import _parse_gpu_life, _parse_weights

    assert parse_number("4") == 4 and parse_number(" 2.5 ") == 2.5 and parse_number("1e3") == 1000
    for text in ["٤", "۴", "４", "٤.٥", "nan", "inf", "", "0x10", "1_0", "4\u0660"]:  # Arabic-Indic, Persian, full-width
        assert parse_number(text) is None, text
    assert _parse_weights("١,١,١,١") is None and _parse_weights("1,1,1,1") is not None
    assert _parse_gpu_life("٤") is None and _parse_gpu_life("4") == 4.0
    values, notices = decode({"nd": "٢", "min": "٥٠,0,0,0"}, SEGMENTS, SUBSEGMENTS)
    assert values == {} and len(notices) == 2


def test_a_market_cap_range_above_the_slider_is_ignored_with_a_notice_not_reset_silently():
    values, notices = decode({"mcap": "5000-9000"}, SEGMENTS, SUBSEGMENTS, cap_max=CAP_MAX)
    assert "f_mcap" not in values and "5000-9000" in notices[0] and "3708" in notices[0]
    values, notices = decode({"mcap": "10-9000"}, SEGMENTS, SUBSEGMENTS, cap_max=CAP_MAX)
    assert values["f_mcap"] == (10, 9000) and not notices  # clipped to the slider: the same companies match
    at = run_app({"mcap": "5000-9000"})
    assert not at.exception
    assert "market-cap range '5000-9000'" in warnings_of(at) and "slider's maximum" in warnings_of(at)


def test_a_repeated_link_key_uses_the_last_value_with_a_notice():
    at = run_app({"w": ["1,1,1,1", "2,0,1,1"], "mode": ["relative", "absolute"]})
    assert not at.exception
    text = warnings_of(at)
    assert "'w' 2 times: used the last of 2 values ('2,0,1,1')" in text and "'mode' 2 times" in text
    assert at.slider(key="w_balance_sheet").value == 2.0 and at.slider(key="w_free_cash_flow").value == 0.0
    assert at.toggle(key="relative").value is False


def test_duplicate_tickers_are_used_once_with_a_notice_not_called_unknown():
    from screens.state import split_tickers

    link = split_tickers("NVDA, nvda,MSFT,NVDA", {"NVDA", "MSFT"})
    assert (link.good, link.unknown, link.duplicates, link.dropped) == (["NVDA", "MSFT"], [], ["NVDA"], [])
    at = run_app({"tickers": "MSFT,msft,AMZN"})
    text = warnings_of(at)
    assert "used once: MSFT" in text and "unknown" not in text
    at.switch_page("screens/compare.py").run()
    assert not at.exception and at.multiselect[0].value == ["MSFT", "AMZN"]


def test_a_fifth_compare_ticker_is_dropped_with_a_notice_naming_it():
    at = run_app({"tickers": "MSFT,AMZN,NVDA,ORCL,AMD,INTC"})  # the link's first page says it
    assert "at most 4 companies: dropped AMD, INTC" in warnings_of(at)
    at.switch_page("screens/compare.py").run()
    assert at.multiselect[0].value == ["MSFT", "AMZN", "NVDA", "ORCL"] and "dropped" not in warnings_of(at)  # once
    other = run_app()  # a link changed while the session runs: the compare page says it itself
    other.query_params["tickers"] = "MSFT,AMZN,NVDA,ORCL,AMD"
    other.switch_page("screens/compare.py").run()
    assert not other.exception and "dropped AMD" in warnings_of(other)
    assert other.multiselect[0].value == ["MSFT", "AMZN", "NVDA", "ORCL"]
