"""Streamlit session state shared by the pages: data, scores, sidebar controls, shareable URL.

The URL (``st.query_params``) carries ticker(s), preset, weights, mode, the
assumptions and the scoring basis (``basis=ttm``) so a link reopens the same
view; the page itself is the URL path. ``?add=SMCI`` adds a company like the
sidebar's "Add a company" box (with a notice saying how it went). Invalid
parameters are ignored with a visible notice.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from data.cache import Cache, is_stale
from data.loader import Dataset, add_company, added_companies, last_refresh, load_dataset, remove_company
from data.loop import load_deals, merge_deals
from metrics.checks import PILLARS
from metrics.engine import Scored
from metrics.depreciation import GPU_LIFE_CHOICES
from metrics.history import changes
from metrics.presets import DEFAULT_PRESET, Preset, load_presets
from metrics.scoring import Assumptions
from screens import filter_link
from screens.model import BASES, NEEDS_REFRESH, build_scored, effective_basis, freshness, has_trailing

WEIGHT_MAX = 5.0
GPU_AS_REPORTED = "as reported"
GPU_OPTIONS: list = [GPU_AS_REPORTED, *GPU_LIFE_CHOICES]
_TICKER = re.compile(r"^[A-Z0-9][A-Z0-9.\-=^]{0,19}$")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def md_escape(text: Any) -> str:
    """Escape user-derived text for st.markdown (no links, images or HTML can slip in)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def _cache_version() -> str:
    """Changes whenever a refresh adds a snapshot or a company is added or removed, so cached scores are rebuilt."""
    cache = Cache()
    dirs = cache.snapshot_dirs()
    version = dirs[0].name if dirs else "embedded"
    try:
        stat = cache.added_path.stat()
    except OSError:
        return version
    return f"{version}|added {stat.st_mtime_ns}-{stat.st_size}"


@st.cache_resource(show_spinner="Loading data…", max_entries=4)
def get_dataset(version: str) -> Dataset:
    """The dataset for one cache version, shared by all sessions.

    A resource, not ``cache_data``: no pickled copy per call (with a 5,000-company
    universe that copy cost ~40 MB and ~0.3 s per rerun). Pages only read it.
    """
    return load_dataset()


@st.cache_resource(show_spinner="Scoring the universe…", max_entries=16)
def _scored(version: str, deals_key: str, as_of: str | None, include_low: bool, _deals: pd.DataFrame | None,
            gpu_life: float | None = None, debt_basis: str = "reported", basis: str = "annual") -> Scored:
    return build_scored(get_dataset(version), _deals, as_of, include_low, Assumptions(gpu_life, debt_basis),
                        basis=basis)


def session_deals() -> tuple[pd.DataFrame | None, str]:
    """Embedded deals merged with this session's upload (if any), and a key for caching."""
    up = st.session_state.get("uploaded_deals")
    if up is None or up.empty:
        return None, "embedded"
    key = hashlib.sha1(pd.util.hash_pandas_object(up.astype(str), index=False).values.tobytes()).hexdigest()
    return merge_deals(load_deals(), up), key


def scored(as_of: str | None = None, include_low: bool = False) -> Scored:
    """Scores for this session's deals and assumptions (server life, debt basis), cached across sessions."""
    deals, key = session_deals()
    a = assumptions()
    return _scored(_cache_version(), key, as_of, include_low, deals, a.gpu_life, a.debt_basis, basis_in_use())


def basis_choice() -> str:
    """The session's basis choice: "annual" (latest fiscal year) or "ttm" (trailing twelve months)."""
    return "ttm" if st.session_state.get("basis") == "ttm" else "annual"


def basis_in_use() -> str:
    """The basis scores really use: the choice, except "annual" while no trailing data is cached."""
    return effective_basis(dataset(), basis_choice())


@st.cache_resource(show_spinner="Scoring the data before the last refresh…", max_entries=4)
def _scored_before_last_refresh(version: str, gpu_life: float | None, debt_basis: str, basis: str = "annual") -> Scored:
    before = load_dataset(before_last_refresh=True)
    return build_scored(before, assumptions=Assumptions(gpu_life, debt_basis), basis=effective_basis(before, basis))


def since_last_refresh(ticker: str) -> str:
    """'Since the last refresh (…): composite 72 → 68, grade B → C' or why there is nothing to compare."""
    when = last_refresh(Cache())
    if when is None:
        return "Changed since the last refresh: nothing to compare yet (no live refresh; scores come from the embedded data set)."
    a = assumptions()
    before = _scored_before_last_refresh(_cache_version(), a.gpu_life, a.debt_basis, basis_in_use())
    delta = changes(scored().table(), before.table())
    stamp = when.strftime("%Y-%m-%d %H:%M UTC")
    if ticker not in delta.index:
        return f"Changed since the last refresh ({stamp}): not scored before it."
    r = delta.loc[ticker]
    fmt = lambda v: "n.a." if pd.isna(v) else f"{v:.0f}"  # noqa: E731
    verb = "changed" if r["changed"] else "unchanged"
    return (f"Since the last refresh ({stamp}): {verb}, composite {fmt(r['composite_before'])} → "
            f"{fmt(r['composite_now'])}, grade {r['grade_before']} → {r['grade_now']}.")


def assumptions() -> Assumptions:
    """The session's server-life and debt-basis choices (sidebar, or a shared link)."""
    life = st.session_state.get("gpu_life", GPU_AS_REPORTED)
    return Assumptions(None if life == GPU_AS_REPORTED else float(life),
                       "adjusted" if st.session_state.get("debt_basis") == "adjusted" else "reported")


def dataset() -> Dataset:
    return get_dataset(_cache_version())


@dataclass
class Controls:
    preset: Preset
    weights: dict[str, float]
    relative: bool


def notice(msg: str) -> None:
    st.session_state.setdefault("_notices", []).append(msg)


def show_notices() -> None:
    """Show pending notices once. They quote link parameters, so they are Markdown-escaped: a crafted
    link cannot put a clickable link, image or formatting into a Kosmos warning."""
    for msg in st.session_state.pop("_notices", []):
        st.warning(md_escape(msg), icon=":material/warning:")


def _parse_weights(text: str) -> dict[str, float] | None:
    parts = text.split(",")
    if len(parts) != len(PILLARS):
        return None
    vals = [filter_link.parse_number(p) for p in parts]  # ASCII digits only
    if any(v is None or not (0 <= v <= WEIGHT_MAX) for v in vals) or sum(vals) <= 0:
        return None
    return dict(zip(PILLARS, vals))


def _from_link(qp, key: str, parse, message: str):
    """The parsed value of link parameter ``key``; None when absent, or when invalid (then ``message``,
    formatted with the first 40 characters of the raw value, becomes a notice). A key given several times
    uses its last value (:func:`repeated_key_notices` says so)."""
    raw = qp.get(key)
    if raw is None:
        return None
    value = parse(raw)
    if value is None:
        notice(message.format(raw[:40]))
    return value


def _parse_gpu_life(text: str) -> float | None:
    """'4' / '4.5' -> 4.0 / 4.5 when one of the offered lives; None otherwise."""
    value = filter_link.parse_number(text)
    return value if value in GPU_LIFE_CHOICES else None


MAX_LINK_TICKERS = 20  # entries read from a ticker list in a link; the rest are ignored with a notice


@dataclass
class TickerLink:
    """A link's ticker list sorted out: known tickers kept (order kept, up to the limit) and the rest, by reason."""

    good: list[str]
    unknown: list[str]
    duplicates: list[str]
    dropped: list[str]  # known, but beyond the limit
    ignored: int = 0  # entries beyond the first MAX_LINK_TICKERS


def split_tickers(raw: str, known: set[str], limit: int = 4) -> TickerLink:
    """Sort 'NVDA,nvda,MSFT,…' into known tickers (case-insensitive, each once, at most ``limit``), unknown entries,
    repeats and known tickers beyond the limit."""
    parts = str(raw).split(",")
    good: list[str] = []
    unknown: list[str] = []
    dups: list[str] = []
    for part in parts[:MAX_LINK_TICKERS]:
        t = part.strip().upper()
        if not t:
            continue
        if not (_TICKER.match(t) and t in known):
            unknown.append(part.strip()[:20])
        elif t in good:
            if t not in dups:
                dups.append(t)
        else:
            good.append(t)
    ignored = sum(1 for p in parts[MAX_LINK_TICKERS:] if p.strip())
    return TickerLink(good[:limit], unknown, dups, good[limit:], ignored)


def parse_tickers(raw: str, known: set[str], limit: int = 4) -> tuple[list[str], list[str]]:
    """Split 'NVDA,MSFT' into known tickers (order kept, each once, max ``limit``) and unknown entries."""
    link = split_tickers(raw, known, limit)
    return link.good, link.unknown


def dropped_notice(link: TickerLink, limit: int) -> str | None:
    """'Compare shows at most 4 companies: dropped AMD, INTC from the link.' (None when nothing was dropped)."""
    if not link.dropped:
        return None
    if limit == 1:
        return f"The link names several tickers: showing {link.good[0]}, ignored {', '.join(link.dropped)}."
    return f"Compare shows at most {limit} companies: dropped {', '.join(link.dropped)} from the link."


def ticker_notices(link: TickerLink, param: str, limit: int) -> list[str]:
    """The notices for a link's ticker list: unknown entries, repeats, tickers beyond the limit, entries ignored."""
    out = []
    if link.unknown:
        out.append(f"Ignored unknown {param} in the link: {', '.join(link.unknown)}.")
    if link.duplicates:
        out.append(f"Repeated in the link's {param}, used once: {', '.join(link.duplicates)}.")
    dropped = dropped_notice(link, limit)
    if dropped:
        out.append(dropped)
    if link.ignored:
        out.append(f"Ignored {link.ignored} more {param} after the first {MAX_LINK_TICKERS} in the link.")
    return out


def repeated_key_notices(qp) -> list[str]:
    """A notice per link parameter given more than once (``?w=1,1,1,1&w=2,2,2,2``): the last value is used."""
    get_all = getattr(qp, "get_all", None)
    if get_all is None:
        return []
    out = []
    for key in list(qp.keys()):
        values = get_all(key)
        if len(values) > 1:
            out.append(f"The link gives {key[:20]!r} {len(values)} times: used the last of {len(values)} values "
                       f"({str(values[-1])[:40]!r}).")
    return out


def _cap_max_bn() -> float:
    """The screener's market-cap slider maximum (USD bn): the largest company, rounded up."""
    caps = scored().ctx.companies["market_cap_usd"].dropna() / 1e9  # what the screener's table shows
    return float(math.ceil(caps.max())) if len(caps) else 1.0


def init_from_query_params() -> None:
    """Read the URL once per session into widget state; bad values become notices."""
    if st.session_state.get("_qp_loaded"):
        return
    st.session_state["_qp_loaded"] = True
    qp = st.query_params
    for n in repeated_key_notices(qp):
        notice(n)
    if qp.get("add") is not None:  # before anything reads the dataset: ?add=SMCI&ticker=SMCI opens its card
        _add_from_link(qp.get("add"))
    presets = load_presets()
    preset = qp.get("preset")
    if preset is not None:
        if preset in presets:
            st.session_state["preset"] = preset
        else:
            notice(f"Ignored unknown preset in the link: {preset[:40]!r}.")
    chosen = presets[st.session_state.get("preset", DEFAULT_PRESET)]
    weights = dict(chosen.weights)
    parsed = _from_link(qp, "w", _parse_weights,
                        "Ignored invalid weights in the link: {!r} (expected four numbers 0–5, e.g. 1,1,1,1).")
    if parsed is not None:
        weights = parsed
    for p in PILLARS:
        st.session_state[f"w_{p}"] = float(weights[p])
    mode = _from_link(qp, "mode", lambda m: m if m in ("absolute", "relative") else None,
                      "Ignored unknown mode {!r} (use absolute or relative).")
    if mode is not None:
        st.session_state["relative"] = mode == "relative"
    life = _from_link(qp, "gpu", _parse_gpu_life, "Ignored invalid server life in the link: {!r} (use 3 to 6 in steps of 0.5).")
    if life is not None:
        st.session_state["gpu_life"] = life
    debt = _from_link(qp, "debt", lambda d: d if d in ("reported", "adjusted") else None,
                      "Ignored unknown debt basis {!r} (use reported or adjusted).")
    if debt is not None:
        st.session_state["debt_basis"] = debt
    basis = _from_link(qp, "basis", lambda b: b if b in BASES else None,
                       "Ignored unknown basis {!r} (use annual or ttm).")
    if basis is not None:
        st.session_state["basis"] = basis
        if basis == "ttm" and not has_trailing(dataset()):
            notice("The link asks for the trailing-twelve-months basis. " + NEEDS_REFRESH)
    known = set(dataset().universe["ticker"])
    for param, key, limit in (("ticker", "ticker", 1), ("tickers", "compare", 4)):
        if param not in qp:
            continue
        link = split_tickers(qp.get(param), known, limit)
        if link.good:
            st.session_state[key] = link.good[0] if limit == 1 else link.good
        if link.dropped:
            st.session_state[f"_dropped_seen_{param}"] = qp.get(param)  # the page does not say it again
        for n in ticker_notices(link, param, limit):
            notice(n)
    uni = dataset().universe
    values, filter_notices = filter_link.decode({k: qp.get(k) for k in filter_link.PARAMS if k in qp},
                                                set(uni["segment"].dropna()), set(uni["subsegment"].dropna()),
                                                cap_max=_cap_max_bn() if "mcap" in qp else None)
    for k, v in values.items():  # the screener's restore() hands these to its widgets
        st.session_state[f"_keep_{k}"] = v
    for n in filter_notices:
        notice(n)
    known_params = {"preset", "w", "mode", "ticker", "tickers", "gpu", "debt", "basis", "add", *filter_link.PARAMS}
    extra = [k for k in qp.keys() if k not in known_params]
    if extra:
        notice(f"Ignored unknown link parameters: {', '.join(x[:20] for x in extra[:5])}.")


def _on_preset_change() -> None:
    keeper("preset")()
    p = load_presets()[st.session_state["preset"]]
    for k, v in p.weights.items():
        st.session_state[f"w_{k}"] = float(v)
    # the screener's filter widgets follow the preset
    for k, v in filter_link.preset_defaults(p.filters).items():
        st.session_state[k] = v
    keep([k for k in st.session_state if isinstance(k, str) and (k.startswith("w_") or k.startswith("f_"))])


def restore(keys: list[str]) -> None:
    """Give widgets their last value across pages.

    Streamlit drops a keyed widget's state when another page renders a widget
    of the same key, so every value is mirrored in a ``_keep_`` key.
    """
    for k in keys:
        if f"_keep_{k}" in st.session_state:
            st.session_state[k] = st.session_state[f"_keep_{k}"]


def keeper(key: str):
    """on_change callback: remember the widget's new value before the page reruns."""
    def cb() -> None:
        st.session_state[f"_keep_{key}"] = st.session_state[key]
    return cb


def keep(keys: list[str]) -> None:
    for k in keys:
        if k in st.session_state:
            st.session_state[f"_keep_{k}"] = st.session_state[k]


SIDEBAR_KEYS = ["preset", "relative", "gpu_life", "debt_basis", "basis"] + [f"w_{p}" for p in PILLARS]


def sidebar() -> Controls:
    """Data badge, refresh, preset, weights and mode; returns the current controls."""
    restore(SIDEBAR_KEYS)
    init_from_query_params()
    presets = load_presets()
    st.session_state.setdefault("preset", DEFAULT_PRESET)
    for p in PILLARS:
        st.session_state.setdefault(f"w_{p}", float(presets[st.session_state["preset"]].weights[p]))
    st.session_state.setdefault("relative", False)
    st.session_state.setdefault("gpu_life", GPU_AS_REPORTED)
    st.session_state.setdefault("debt_basis", "reported")
    st.session_state.setdefault("basis", "annual")
    ds = dataset()
    with st.sidebar:
        badge = ds.badge()
        if "STALE" in badge:
            st.warning(badge, icon=":material/hourglass_top:")
        else:
            st.caption(f":material/database: {badge}")
        for n in ds.notices:
            st.warning(n)
        if st.session_state.get("_offline"):
            st.error(st.session_state["_offline"], icon=":material/wifi_off:")
        freshness_panel(ds)
        refresh_button(ds)
        basis_control(ds)
        add_company_box()
        st.divider()
        st.selectbox("Preset", list(presets), key="preset", on_change=_on_preset_change,
                     help="Weights and filters; see Methodology.")
        st.caption(presets[st.session_state["preset"]].description)
        st.markdown("**Pillar weights**")
        for p, label in PILLARS.items():
            st.slider(label, 0.0, WEIGHT_MAX, step=0.5, key=f"w_{p}", on_change=keeper(f"w_{p}"))
        st.toggle("Sector-relative grades", key="relative", on_change=keeper("relative"),
                  help="Percentile of each score within the company's segment, instead of absolute 0–100.")
        st.markdown("**Assumptions**")
        st.select_slider("Server & GPU useful life (years)", GPU_OPTIONS, key="gpu_life", on_change=keeper("gpu_life"),
                         format_func=lambda v: v if isinstance(v, str) else f"{v:g}",
                         help="Recompute depreciation, operating income and EBIT-based checks as if servers and GPUs "
                              "were depreciated over this many years instead of each company's disclosed life "
                              "(straight line; FCF does not move). See Methodology.")
        st.radio("Debt basis", ["reported", "adjusted"], key="debt_basis", horizontal=True,
                 on_change=keeper("debt_basis"),
                 help="Adjusted adds leases, leases signed but not commenced, purchase commitments, backstops and "
                      "SPV financing to debt in the net debt / EBITDA check.")
        st.caption("Kosmos · not investment advice")
    keep(SIDEBAR_KEYS)
    weights = {p: float(st.session_state[f"w_{p}"]) for p in PILLARS}
    if sum(weights.values()) <= 0:
        st.sidebar.error("All weights are zero: using equal weights.")
        weights = {p: 1.0 for p in PILLARS}
    return Controls(presets[st.session_state["preset"]], weights, bool(st.session_state["relative"]))


def page(title: str | None = None, caption: str | None = None) -> Controls:
    """Every page's preamble: sidebar controls, pending notices, then title and caption."""
    controls = sidebar()
    show_notices()
    if title:
        st.title(title)
    if caption:
        st.caption(caption)
    return controls


def refresh_button(ds: Dataset) -> None:
    """Live refresh of the universe from Yahoo Finance with a progress bar."""
    if not st.button("Refresh from Yahoo Finance", help="Fetch the latest annual statements, the trailing twelve "
                     "months (TTM income statement and cash flow) and the latest quarterly balance sheet for every "
                     "company, including the ones you added. Failures never overwrite good data; offline this says "
                     "so within seconds."):
        return
    run_refresh(ds)


def run_refresh(ds: Dataset) -> None:
    """One live refresh of the universe (the sidebar button or the stale-data offer): progress, then the summary."""
    from data.loader import refresh

    bar = st.progress(0.0, text="Connecting to Yahoo Finance…")

    def progress(done: int, total: int, ticker: str) -> None:
        bar.progress(done / max(total, 1), text=f"{done}/{total} · {ticker}")

    result = refresh(ds.universe["ticker"].tolist(), progress=progress)
    bar.empty()
    if result.offline and not result.good_tickers:
        st.session_state["_offline"] = "Offline: Yahoo Finance cannot be reached. Showing the embedded data set."
    else:
        st.session_state.pop("_offline", None)
        (st.success if result.good_tickers else st.warning)(md_escape(result.summary()[:400]))
    get_dataset.clear()


#: how long a reachability check of Yahoo Finance is trusted (the stale-data offer asks at most this often)
REACHABLE_TTL_S = 600


@st.cache_data(ttl=REACHABLE_TTL_S, show_spinner=False)
def yahoo_reachability() -> str | None:
    """None when Yahoo Finance accepts a connection, else the reason (checked only when cached data is stale)."""
    from data import live

    return live.yahoo_reachable(timeout_s=2.0)


def freshness_table(texts: bool = True) -> pd.DataFrame:
    """Per company of the current scores: basis_label, period_end, months_since_period_end, fetched_at,
    hours_since_refresh, basis_text ("TTM to … · balance sheet … · fetched … UTC") and age_text (for the
    screener's columns and the card's header; see :func:`screens.model.freshness`)."""
    return freshness(dataset(), scored(), texts=texts)


def _newest_fetch(ds: Dataset) -> pd.Timestamp | None:
    yahoo = ds.provenance[ds.provenance["origin"] == "yahoo"]
    return None if yahoo.empty else pd.Timestamp(yahoo["fetched_at"].max())


def freshness_panel(ds: Dataset) -> None:
    """Hours since the last refresh, months since the scored periods ended, and -- when the cached data is older
    than 24 h and Yahoo Finance is reachable -- an offer to refresh (it never runs without the click)."""
    now = pd.Timestamp.now(tz="UTC")
    newest = _newest_fetch(ds)
    ages = freshness(ds, scored(), now, texts=False)["months_since_period_end"].dropna()
    periods = (f"scored periods ended {ages.min():.0f}–{ages.max():.0f} months ago (median {ages.median():.0f})"
               if len(ages) else "no period scored")
    if newest is None:
        st.caption(f":material/schedule: No live refresh yet · {periods}.")
        return
    hours = (now - newest).total_seconds() / 3600
    st.caption(f":material/schedule: Last refresh {hours:.0f} h ago ({newest.strftime('%Y-%m-%d %H:%M')} UTC) · "
               f"{periods}.")
    if not is_stale(newest, now):
        return
    reason = yahoo_reachability()
    if reason is not None:
        st.caption(f"The cached Yahoo data is older than 24 h, but Yahoo Finance cannot be reached right now "
                   f"({md_escape(reason)}): no refresh offered.")
        return
    st.info(f"The cached Yahoo data is {hours:.0f} h old (older than 24 h) and Yahoo Finance is reachable.",
            icon=":material/update:")
    if st.button("Refresh now", key="refresh_offer", help="Runs the same live refresh as the button below; nothing "
                 "is fetched until you click."):
        run_refresh(ds)


def basis_control(ds: Dataset) -> None:
    """The scoring basis: latest fiscal year, or trailing twelve months (live refresh only; stays annual without)."""
    st.radio("Scoring basis", list(BASES), format_func=BASES.get, key="basis", on_change=keeper("basis"),
             help="Latest fiscal year: each company's newest fiscal year with all three statements. Trailing twelve "
                  "months: Yahoo's TTM income statement and cash flow and the latest quarter's balance sheet for "
                  "every single-year check (never summed from quarters by Kosmos); multi-year checks keep the annual "
                  "history. Companies without trailing data stay on their fiscal year, labelled so.")
    if basis_choice() != "ttm":
        return
    if not has_trailing(ds):
        offline = " Yahoo Finance could not be reached at the last attempt." if st.session_state.get("_offline") else ""
        st.info(NEEDS_REFRESH + offline, icon=":material/info:")
        return
    n = ds.trailing.loc[ds.trailing["statement"] == "ttm", "ticker"].nunique()
    st.caption(f"TTM flows for {n} of {len(ds.universe)} companies; the others are scored on their latest fiscal "
               "year (labelled \"no trailing data: annual\").")


def _show_add_result() -> None:
    res = st.session_state.pop("_add_result", None)
    if res:
        ok, msg = res
        (st.success if ok else st.error)(md_escape(msg))


def _add_clicked() -> None:
    """on_click of "Add": fetch the typed symbol live (before the rerun draws anything)."""
    raw = st.session_state.get("add_symbol", "")
    with st.spinner(f"Fetching {str(raw).strip().upper()[:20]} from Yahoo Finance…"):
        res = add_company(raw)
    st.session_state["_add_result"] = (res.ok, res.message)
    if res.status == "added":
        st.session_state["add_symbol"] = ""
        get_dataset.clear()
    elif res.result is not None and res.result.offline:
        st.session_state["_offline"] = "Offline: Yahoo Finance cannot be reached. Showing the cached data."


def _remove_clicked(ticker: str):
    def cb() -> None:
        res = remove_company(ticker)
        st.session_state["_add_result"] = (res.ok, res.message)
        if st.session_state.get("ticker") == ticker:
            st.session_state.pop("ticker", None)
        get_dataset.clear()
    return cb


def add_company_box() -> None:
    """Sidebar box: add any ticker (fetched live, validated, kept across restarts) and remove added ones."""
    added = added_companies(Cache())
    with st.expander("Add a company", expanded=bool(added.companies) or "_add_result" in st.session_state):
        _show_add_result()
        st.text_input("Yahoo Finance symbol", key="add_symbol", max_chars=20, placeholder="e.g. SMCI, 005930.KS",
                      help="Any listed company on Yahoo Finance. Kosmos fetches it live, checks it is a company with "
                           "statements (not an ETF or fund), scores it with the same rules and keeps it (segment "
                           "\"added by you\", with its Yahoo sector) until you remove it. A link can do the same: "
                           "?add=SMCI.")
        st.button("Add", key="add_button", on_click=_add_clicked, help="Fetches from Yahoo Finance only when clicked.")
        for t, entry in added.companies.items():
            c1, c2 = st.columns([3, 1], vertical_alignment="center")
            c1.caption(md_escape(f"{t} — {entry.get('name') or t} · {entry.get('sector') or 'sector not given'}"))
            c2.button("Remove", key=f"remove_{t}", on_click=_remove_clicked(t), help=f"Remove {t} from Kosmos.")


def _add_from_link(raw: str) -> None:
    """``?add=SMCI``: the same as the "Add a company" box, said in a notice (never silently)."""
    from data.loader import invalid_symbol_message, normalise_symbol
    from data.schema import is_ticker

    if not is_ticker(normalise_symbol(raw)):
        notice(f"Ignored the link's add: {invalid_symbol_message(raw)}")
        return
    with st.spinner(f"Adding {normalise_symbol(raw)} from the link: fetching from Yahoo Finance…"):
        res = add_company(raw)
    if res.status == "added":
        get_dataset.clear()
    notice(f"From the link (add={res.ticker}): {res.message}")


def assumption_params() -> dict[str, str]:
    """URL parameters of the assumptions, only where they differ from the defaults."""
    a = assumptions()
    out = {}
    if a.gpu_life is not None:
        out["gpu"] = f"{a.gpu_life:g}"
    if a.debt_basis != "reported":
        out["debt"] = a.debt_basis
    if basis_choice() == "ttm":
        out["basis"] = "ttm"
    return out


def sync_query_params(**extra: str | None) -> None:
    """Write the shareable state into the URL (page-specific keys via ``extra``)."""
    qp = {"preset": st.session_state.get("preset", DEFAULT_PRESET),
          "w": ",".join(f"{st.session_state[f'w_{p}']:g}" for p in PILLARS),
          "mode": "relative" if st.session_state.get("relative") else "absolute", **assumption_params()}
    for k, v in extra.items():
        if v:
            qp[k] = v
    current = st.query_params.to_dict()
    if current != qp:
        st.query_params.from_dict(qp)


def share_link(path: str, **params: str) -> str:
    """Relative share link for the current view."""
    from urllib.parse import urlencode

    qp = {"preset": st.session_state.get("preset", DEFAULT_PRESET),
          "w": ",".join(f"{st.session_state[f'w_{p}']:g}" for p in PILLARS),
          "mode": "relative" if st.session_state.get("relative") else "absolute", **assumption_params(), **params}
    try:
        base = str(st.context.url).split("?")[0].rsplit("/", 1)[0]
    except Exception:  # noqa: BLE001
        base = ""
    return f"{base}/{path}?{urlencode(qp)}"
