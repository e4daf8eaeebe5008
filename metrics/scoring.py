"""Company-year contexts, pillar scores, the composite, letter grades and sector-relative mode.

One scoring rule for every fiscal year (also on the Methodology page):

* **Unit scored** = one company in one fiscal year Y. The headline scores each
  company's scoring year (its latest fiscal year with all three statements on
  file); the score history scores every such year with the very same function
  (:func:`build_context` with ``years="all"``), so the History row of the
  scoring year *is* the headline.
* **Inputs of (company, Y)**: statements of Y and earlier; balance-sheet items
  and commitments at Y's balance-sheet date; loop flows that fall inside Y;
  point-in-time loop facts (backlog, cycles) as of Y's *information date* -- the
  end of the company's next fiscal year on file, or the as-of date (today) for
  the scoring year: the state while Y was the latest year reported. The dated
  market cap belongs to the scoring year only.
* **Check results**: pass / fail (judged, 0–1 points), not applicable (the check
  does not apply: excluded from the pillar) or not on file (inputs missing:
  0 points). Missing never counts as a pass.
* **Pillar score** (0–100) = 100 × Σ points / number of applicable checks, the
  missing ones at 0 (conservative). Beside it, the optimistic figure with the
  missing checks at full points: the range the missing data leaves open.
  A pillar none of whose applicable checks is on file has no score (n.a.;
  the composite counts it at 0). A pillar whose checks are all not applicable scores 100 (a company absent
  from the loop data has no loop exposure). Status: complete, partial (at
  least half on file) or insufficient data.
* **Composite** = weighted mean of all weighted pillars' conservative scores
  (weights from the preset, re-normalised), beside the optimistic range; n.a.
  when fewer than half of the applicable checks of the weighted pillars are on
  file. Rank, grade, presets and filters use the conservative composite, so
  deleting a reported value can never lift a company.
* **Grade**: A >= 80, B >= 65, C >= 50, D >= 35, else F (n.a. ranks last).
* **Sector-relative mode**: each conservative score is replaced by its
  percentile rank (0–100) among companies of the same segment that have it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from metrics import depreciation as D
from metrics import financials as F
from metrics.checks import (CHECKS, NOT_APPLICABLE, NOT_ON_FILE, PILLARS, Context, checks_of,
                            segment_gross_margin_medians)
from metrics import adjusted as _adjusted  # noqa: F401 - registers the adjusted-debt check
from metrics import loop as _loop  # noqa: F401 - registers the loop-exposure checks

GRADE_BANDS: list[tuple[float, str]] = [(80, "A"), (65, "B"), (50, "C"), (35, "D"), (-np.inf, "F")]
STATUS_COMPLETE = "complete"
STATUS_PARTIAL = "partial"
STATUS_INSUFFICIENT = "insufficient data"
STATUS_NO_EXPOSURE = "no loop exposure on record"
EQUAL_WEIGHTS: dict[str, float] = {p: 1.0 for p in PILLARS}
#: separator of score-history keys: company T in fiscal year Y is "T@Y"
SEP = "@"

DEBT_BASES = ("reported", "adjusted")


@dataclass(frozen=True)
class Assumptions:
    """What the investor chose: server/GPU useful life (None = as reported) and the debt basis scored."""

    gpu_life: float | None = None
    debt_basis: str = "reported"

    def __post_init__(self) -> None:
        if self.debt_basis not in DEBT_BASES:
            raise ValueError(f"debt basis must be one of {DEBT_BASES}")
        if self.gpu_life is not None and not 1.0 <= float(self.gpu_life) <= 15.0:
            raise ValueError("server life must be between 1 and 15 years")


@dataclass
class Adjustments:
    """Sourced tables behind the assumptions and the words: commitments, disclosed server lives, gross
    servers PP&E, and the lines a company does not report (so a card can say "not reported by the company")."""

    commitments: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())
    useful_lives: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())
    servers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())
    not_reported: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())


def real_tickers(keys) -> pd.Index:
    """Tickers of company keys: "NVDA@2024" -> "NVDA"; a plain ticker is its own key."""
    keys = pd.Index(keys, dtype=object)
    if not len(keys) or not keys.str.contains(SEP, regex=False).any():
        return keys
    return pd.Index(keys.str.split(SEP, n=1).str[0], dtype=object)


def scorable_years(full_panel: pd.DataFrame) -> pd.DataFrame:
    """Every (ticker, fiscal year) the rules score: the years with all three statements on file, plus each
    company's scoring year (its latest complete year, else its latest year). Columns: ticker, fiscal_year,
    scoring (True for the scoring year), next_period_end (period end of the next scorable year, NaT for the last)."""
    cols = ["ticker", "fiscal_year", "scoring", "period_end", "next_period_end"]
    if full_panel.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    latest = F.scoring_rows(full_panel)
    complete = F.statements_on_file(full_panel)["complete"]
    rows = full_panel.index.to_frame(index=False)
    rows["period_end"] = full_panel["period_end"].to_numpy()
    rows["complete"] = complete.to_numpy()
    rows["scoring"] = rows["fiscal_year"].to_numpy() == rows["ticker"].map(latest["fiscal_year"]).to_numpy()
    rows = rows[rows["complete"] | rows["scoring"]].sort_values(["ticker", "fiscal_year"]).reset_index(drop=True)
    nxt = rows.groupby("ticker")["period_end"].shift(-1)
    rows["next_period_end"] = pd.to_datetime(nxt, errors="coerce")
    return rows[cols]


def build_context(statements: pd.DataFrame, market: pd.DataFrame, universe: pd.DataFrame,
                  fx: pd.DataFrame, loop=None, assumptions: Assumptions | None = None,
                  adjustments: Adjustments | None = None, years: str = "scoring",
                  as_of: pd.Timestamp | str | None = None, basis: str = "annual",
                  trailing: pd.DataFrame | None = None) -> Context:
    """Turn the canonical tables into the wide inputs the checks read, one row per company-year scored.

    ``years="scoring"``: one row per company, keyed by its ticker, for its scoring
    year (the headline). ``years="all"``: one row per scorable fiscal year, keyed
    ``TICKER@YEAR`` (the score history). Both go through the same code: a row's
    inputs depend on its own company and year only (peer medians come from the
    whole data set), so a company-year scores the same in either view.
    ``as_of``: the information date of each company's scoring year (None = every
    deal and disclosure on file).

    ``basis="ttm"`` (headline only): a company with ``trailing`` rows (Yahoo's
    trailing-twelve-month income statement and cash flow, and its latest
    quarterly balance sheet, see :func:`trailing_rows`) is scored on them for
    every single-year check, while multi-year checks keep its annual history;
    ``companies["basis_label"]`` says which basis each company got.
    """
    assumptions = assumptions or Assumptions()
    adjustments = adjustments or Adjustments()
    uni = universe.drop_duplicates("ticker").set_index("ticker")
    statements = _in_universe(statements, uni.index)
    raw = F.raw_panel(statements)
    if not adjustments.useful_lives.empty:  # per (company, year): the same whichever view scores the year
        raw = D.apply_gpu_life(raw, adjustments.useful_lives, adjustments.servers, assumptions.gpu_life)
    real_panel = F.add_derived(raw)
    years_table = scorable_years(real_panel)
    if years == "scoring":
        keys = years_table[years_table["scoring"]].copy()
        keys["key"] = keys["ticker"]
    elif years == "all":
        keys = years_table.copy()
        keys["key"] = keys["ticker"] + SEP + keys["fiscal_year"].astype(int).astype(str)
    else:
        raise ValueError("years must be 'scoring' or 'all'")
    panel = _company_year_panel(real_panel, keys, plain=years == "scoring")
    latest = F.scoring_rows(panel)
    keys = keys.set_index("key")
    keys = keys[_member(keys.index, latest.index)]
    if years == "scoring":  # a company without any figure still gets its (empty) row
        absent = uni.index[~_member(uni.index, keys.index)]
        if len(absent):
            keys = pd.concat([keys, pd.DataFrame({"ticker": absent, "fiscal_year": np.nan, "scoring": True,
                                                  "period_end": None, "next_period_end": pd.NaT}, index=absent)])
        keys = keys.reindex(uni.index[_member(uni.index, keys.index)])
    index = pd.Index(keys.index, name="ticker" if years == "scoring" else "key", dtype=object)
    tick = keys["ticker"]
    rates = fx.set_index("currency")["usd_per_unit"] if not fx.empty else pd.Series(dtype=float)
    mk = market.drop_duplicates("ticker", keep="last").set_index("ticker")
    if not mk.empty:  # a stated cap, else price × shares (said so in the source text)
        mk = mk.assign(**F.market_caps(mk)[["market_cap", "market_cap_source", "market_cap_derived"]].rename(
            columns={"market_cap_source": "source"}))
    companies = pd.DataFrame(index=index)
    if years == "all":  # keys "T@Y": the company's ticker as a column (the headline's index is the ticker)
        companies["ticker"] = tick.to_numpy()
    for col in ("name", "segment", "subsegment"):
        companies[col] = tick.map(uni[col]).to_numpy()
    companies["currency"] = latest["currency"].reindex(index)
    companies["fiscal_year"] = latest["fiscal_year"].reindex(index)
    companies["latest_fiscal_year"] = tick.map(_newest_year(real_panel)).to_numpy()
    companies["period_end"] = latest["period_end"].reindex(index)
    companies["coverage"] = F.input_coverage(latest).reindex(index)
    companies["fx_usd"] = companies["currency"].map(rates).astype(float)
    scoring = keys["scoring"].astype(bool).to_numpy()
    cap = (tick.map(mk["market_cap"]) * tick.map(mk["price_currency"]).map(rates)).astype(float) if not mk.empty \
        else pd.Series(np.nan, index=index)
    companies["market_cap_usd"] = cap.where(scoring).to_numpy()
    for col, src in (("market_cap_as_of", "as_of"), ("market_cap_source", "source")):
        companies[col] = (tick.map(mk[src]).where(scoring) if src in mk else pd.Series(None, index=index)).to_numpy()
    # a plain flag (False without a cap), so every view reads it as is
    derived = tick.map(mk["market_cap_derived"]).fillna(False).astype(bool).to_numpy() if not mk.empty else False
    companies["market_cap_derived"] = derived & scoring
    info = pd.to_datetime(keys["next_period_end"], errors="coerce")
    if as_of is not None:
        info = info.where(info.notna() & (info <= pd.Timestamp(as_of)), pd.Timestamp(as_of))
    companies["info_date"] = info.to_numpy()
    latest = latest.reindex(index)
    segment = uni["segment"]
    segment_gm = segment_gross_margin_medians(real_panel, segment)
    companies["basis_label"] = ("FY" + companies["fiscal_year"].astype("Int64").astype("string")).fillna("n.a.")
    if basis == "ttm" and years == "scoring":
        latest, companies, segment_gm = _on_trailing(latest, companies, trailing, adjustments, assumptions)
    elif basis != "annual":
        raise ValueError("basis must be 'annual' or 'ttm' (the trailing basis scores the headline only)")
    ctx = Context(panel=panel, latest=latest, companies=companies, loop=loop, full_panel=real_panel,
                  assumptions=assumptions)
    ctx.extra["segment_gm"] = segment_gm
    ctx.extra["basis"] = basis
    if not adjustments.commitments.empty:
        ctx.extra["commitments"] = commitments_at_year_end(adjustments.commitments, companies)
        ctx.extra["commitments_all"] = adjustments.commitments
    if not adjustments.not_reported.empty:
        ctx.extra["not_reported"] = adjustments.not_reported
    return ctx


#: the trailing statements a live refresh stores (column ``statement`` of the trailing rows)
TRAILING_FLOWS, TRAILING_BALANCE = "ttm", "quarterly balance"
#: the pseudo fiscal year of a trailing row (never a real year: never mixed into a multi-year check)
TTM_YEAR = 9999


def _on_trailing(latest: pd.DataFrame, companies: pd.DataFrame, trailing: pd.DataFrame | None,
                 adjustments: Adjustments, assumptions: Assumptions) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The headline rows moved to the trailing basis where a company has trailing flows.

    The row's flows are Yahoo's TTM income statement and cash flow, its balance
    sheet the latest quarter's (both as fetched, never summed from quarters);
    derived items (EBITDA, FCF, totals from parts) are derived from them the
    same way. Period end = the TTM window's end (the loop checks' fiscal year
    becomes those twelve months). Peer medians for the segment stress come from
    the same rows (each company's TTM, else its annual scoring year). A company
    without trailing flows keeps its annual scoring year, labelled so.
    """
    companies = companies.copy()
    if trailing is None or trailing.empty:
        companies["basis_label"] = companies["basis_label"] + " (no trailing data: annual)"
        return latest, companies, _medians_of(latest, companies)
    t = trailing[trailing["ticker"].isin(companies.index)]
    flows = t[t["statement"] == TRAILING_FLOWS]
    bal = t[t["statement"] == TRAILING_BALANCE]
    have = pd.Index(pd.unique(flows["ticker"]))
    if have.empty:
        companies["basis_label"] = companies["basis_label"] + " (no trailing data: annual)"
        return latest, companies, _medians_of(latest, companies)
    ttm_end = flows.groupby("ticker")["period_end"].max()
    bal_end = bal.groupby("ticker")["period_end"].max()
    rows = pd.concat([flows, bal], ignore_index=True).assign(fiscal_year=TTM_YEAR)
    rows = rows[rows["ticker"].isin(have)]
    raw = F.raw_panel(rows)
    raw["period_end"] = raw.index.get_level_values("ticker").map(ttm_end).to_numpy()
    if not adjustments.useful_lives.empty:
        raw = D.apply_gpu_life(raw, adjustments.useful_lives, adjustments.servers, assumptions.gpu_life)
    ttm = F.add_derived(raw).droplevel("fiscal_year")
    rows_ttm = ttm.loc[have].copy()
    for col in ("fiscal_year", "latest_fiscal_year", "complete"):
        if col in latest:
            rows_ttm[col] = latest.loc[have, col].to_numpy()
    rows_ttm["period_end"] = ttm_end.reindex(have).astype(str).to_numpy()
    out = pd.concat([latest.drop(index=have), rows_ttm]).reindex(latest.index)
    companies.loc[have, "period_end"] = ttm_end.reindex(have).astype(str).to_numpy()
    companies.loc[have, "coverage"] = F.input_coverage(out.loc[have]).to_numpy()
    label = "TTM to " + ttm_end.reindex(have).astype(str)
    label = label + np.where(bal_end.reindex(have).notna(),
                             " · balance sheet " + bal_end.reindex(have).astype(str).fillna(""),
                             " · no quarterly balance sheet (balance-sheet checks not on file)")
    companies.loc[have, "basis_label"] = label.to_numpy()
    rest = companies.index.difference(have)
    companies.loc[rest, "basis_label"] = companies.loc[rest, "basis_label"] + " (no trailing data: annual)"
    return out, companies, _medians_of(out, companies)


def _medians_of(latest: pd.DataFrame, companies: pd.DataFrame) -> pd.DataFrame:
    """Segment gross-margin medians of the scored rows themselves, keyed (segment, each row's fiscal year)."""
    gm = F.safe_divide(latest[F.GROSS_PROFIT], latest[F.REVENUE])
    seg = companies["segment"]
    med = gm.groupby(seg).median()
    cnt = gm.groupby(seg).count()
    key = pd.MultiIndex.from_arrays([seg.to_numpy(), companies["fiscal_year"].to_numpy()],
                                    names=["segment", "fiscal_year"])
    frame = pd.DataFrame({"median": seg.map(med).to_numpy(), "count": seg.map(cnt).to_numpy()}, index=key)
    return frame[~frame.index.duplicated()]


def _newest_year(panel: pd.DataFrame) -> pd.Series:
    """Per ticker, the newest fiscal year holding any value."""
    if panel.empty:
        return pd.Series(dtype=float)
    return pd.Series(panel.index.get_level_values("fiscal_year"), index=panel.index.get_level_values("ticker")) \
        .groupby(level=0).max()


def _company_year_panel(panel: pd.DataFrame, keys: pd.DataFrame, plain: bool) -> pd.DataFrame:
    """The panel rows of each company key: its company's fiscal years up to the key's year, ticker level = key.

    ``plain`` (one key per company, key == ticker): a filter, no copy per year.
    """
    if panel.empty or keys.empty:
        return panel.iloc[0:0]
    if plain:
        return F.up_to_scoring_year(panel, keys.set_index("ticker")["fiscal_year"])
    rows = panel.index.to_frame(index=False)
    rows["_row"] = np.arange(len(rows))
    m = rows.merge(keys[["ticker", "fiscal_year", "key"]].rename(columns={"fiscal_year": "_upto"}), on="ticker")
    m = m[m["fiscal_year"] <= m["_upto"]].sort_values(["key", "fiscal_year"])
    out = panel.iloc[m["_row"].to_numpy()].copy()
    out.index = pd.MultiIndex.from_arrays([m["key"].to_numpy(), m["fiscal_year"].to_numpy()],
                                          names=["ticker", "fiscal_year"])
    return out


def commitments_at_year_end(commitments: pd.DataFrame, companies: pd.DataFrame) -> pd.DataFrame:
    """Commitment rows of each company key dated on or before the key's balance-sheet date (ticker = key).

    Period-true: a commitment disclosed after the year end belongs to a later
    balance sheet and is shown on the card as a later disclosure, never scored.
    """
    tickers = companies["ticker"] if "ticker" in companies else pd.Series(companies.index, index=companies.index)
    keys = pd.DataFrame({"key": companies.index, "ticker": tickers.to_numpy(),
                         "_pe": pd.to_datetime(companies["period_end"], errors="coerce").to_numpy()})
    merged = commitments.merge(keys, on="ticker", how="inner")
    when = pd.to_datetime(merged["as_of"], errors="coerce")
    merged = merged[when.notna() & (when <= merged["_pe"])]
    return merged.drop(columns=["ticker", "_pe"]).rename(columns={"key": "ticker"}).reset_index(drop=True)


def _member(values: pd.Index, other) -> np.ndarray:
    """``values.isin(other)`` through a set: pandas' ``isin`` on Arrow strings walks the values in Python (about
    35 ms per call for 5,000 companies)."""
    pool = set(other)
    return np.fromiter((v in pool for v in values), dtype=bool, count=len(values))


def _in_universe(statements: pd.DataFrame, tickers: pd.Index) -> pd.DataFrame:
    """Rows of companies in the universe; no copy when every company is (the common case).

    Tested on the distinct tickers with a set: pandas' ``isin`` on Arrow strings
    costs ~40 ms for 5,000 companies.
    """
    universe = set(tickers)
    distinct = pd.unique(statements["ticker"])
    known = [t for t in distinct if t in universe]
    return statements if len(known) == len(distinct) else statements[statements["ticker"].isin(known)]


def run_checks(ctx: Context) -> dict[str, pd.DataFrame]:
    """Every registered check over every company-year: {check id: result frame}.

    Each frame also carries ``Not reported``: the lines the company itself does
    not report (sourced table), so explanations can say so instead of "not on
    file"; a check that needs such a line (``Check.needs``) does not apply to
    that company-year (n.a., with ``Not applicable because``).
    """
    reasons = _not_reported(ctx)
    known = pd.Series({k: "; ".join(v) for k, v in reasons.items()}, dtype=object).reindex(ctx.index).fillna("")
    out = {}
    for c in CHECKS:
        frame = c.compute(ctx)
        frame["Not reported"] = known
        if c.needs and reasons:
            frame = _not_applicable_where_not_reported(ctx, frame, c.needs, reasons)
        out[c.id] = frame
    return out


def _not_applicable_where_not_reported(ctx: Context, frame: pd.DataFrame, needs: tuple[str, ...],
                                       reasons: dict[str, dict[str, str]]) -> pd.DataFrame:
    """Rows not on file because the company does not report a line the check needs: n.a. with the reason."""
    frame = frame.copy()
    why = pd.Series("", index=frame.index, dtype=object)
    for key, fields in reasons.items():
        if key not in frame.index or frame.at[key, "status"] != NOT_ON_FILE:
            continue
        absent = [f for f in needs if f in fields and pd.isna(ctx.latest.at[key, f] if f in ctx.latest else np.nan)]
        if absent:
            why[key] = "; ".join(f"{f} not reported by the company ({fields[f]})" for f in absent)
    hit = why != ""
    frame.loc[hit, "status"] = NOT_APPLICABLE
    frame.loc[hit, "points"] = np.nan
    frame["Not applicable because"] = why
    return frame


def _not_reported(ctx: Context) -> dict[str, dict[str, str]]:
    """Per company key: {field: reason} of the lines the company does not report in that fiscal year."""
    nr = ctx.extra.get("not_reported")
    if nr is None or nr.empty:
        return {}
    nr = nr.assign(_from=pd.to_numeric(nr["from_year"], errors="coerce").fillna(0),
                   _to=pd.to_numeric(nr["to_year"], errors="coerce").fillna(9999))
    by_ticker = {t: g for t, g in nr.groupby("ticker")}
    out: dict[str, dict[str, str]] = {}
    for key, t, y in zip(ctx.index, ctx.tickers, ctx.companies["fiscal_year"]):
        g = by_ticker.get(t)
        if g is None or pd.isna(y):
            continue
        rows = g[(g["_from"] <= y) & (g["_to"] >= y)]
        if not rows.empty:
            out[key] = {f: str(r) for f, r in zip(rows["field"], rows["reason"])}
    return out


def pillar_scores(results: Mapping[str, pd.DataFrame], index: pd.Index, debt_basis: str = "reported") -> pd.DataFrame:
    """Per pillar: ``<pillar>`` conservative score (0–100; n.a. when none of its applicable checks is on
    file), ``<pillar>_high`` (missing checks at full points),
    ``<pillar>_status``, ``<pillar>_on_file`` and ``<pillar>_applicable`` (check counts)."""
    out = pd.DataFrame(index=index)
    for pillar in PILLARS:
        checks = checks_of(pillar, debt_basis)
        status = pd.concat([results[c.id]["status"].reindex(index) for c in checks], axis=1)
        pts = pd.concat([results[c.id]["points"].reindex(index) for c in checks], axis=1)
        applicable = (status != NOT_APPLICABLE).sum(axis=1)
        missing = (status == NOT_ON_FILE).sum(axis=1) + status.isna().sum(axis=1)
        on_file = applicable - missing
        got = pts.fillna(0.0).sum(axis=1)
        none_apply = applicable.eq(0)
        den = applicable.where(~none_apply)
        # no check applies: for loop exposure, no exposure on record (100); for any other pillar nothing can be
        # judged. Nothing on file although checks apply: nothing judged either. Both have no score (n.a., never
        # shown as a 0; the optimistic bound is 100) and the composite counts them at 0 (see composite_score).
        empty = 100.0 if pillar == "loop_exposure" else np.nan
        out[pillar] = (100.0 * got / den).where(~none_apply, empty).where(none_apply | on_file.gt(0))
        out[f"{pillar}_high"] = (100.0 * (got + missing) / den).where(~none_apply, 100.0)
        out[f"{pillar}_status"] = np.select(
            [none_apply, missing.eq(0), on_file * 2 >= applicable],
            [STATUS_NO_EXPOSURE if pillar == "loop_exposure" else STATUS_INSUFFICIENT, STATUS_COMPLETE,
             STATUS_PARTIAL], default=STATUS_INSUFFICIENT)
        out[f"{pillar}_on_file"] = on_file
        out[f"{pillar}_applicable"] = applicable
    return out


def debt_basis(ctx: Context) -> str:
    """The debt basis scored in ``ctx`` ("reported" unless the investor chose "adjusted")."""
    return ctx.assumptions.debt_basis if ctx.assumptions is not None else "reported"


def composite_score(pillars: pd.DataFrame, weights: Mapping[str, float]) -> pd.DataFrame:
    """Conservative composite (``composite``), its optimistic bound (``composite_high``), ``provisional``
    (a weighted pillar has insufficient data) and the check counts behind it.

    composite = Σ w·pillar / Σ w over every pillar with weight > 0 (missing
    checks at 0); n.a. when fewer than half of those pillars' applicable checks
    are on file. composite_high uses each pillar's optimistic score.
    """
    used = [p for p in PILLARS if float(weights.get(p, 0.0) or 0.0) > 0]
    w = pd.Series({p: float(weights[p]) for p in used})
    out = pd.DataFrame(index=pillars.index)
    if not used:
        for col in ("composite", "composite_low", "composite_high"):
            out[col] = np.nan
        out["provisional"] = False
        out["checks_on_file"] = 0
        out["checks_applicable"] = 0
        return out
    low = sum(pillars[p].fillna(0.0) * w[p] for p in used) / w.sum()  # a pillar with nothing on file counts 0
    high = sum(pillars[f"{p}_high"] * w[p] for p in used) / w.sum()
    on_file = sum(pillars[f"{p}_on_file"] for p in used)
    applicable = sum(pillars[f"{p}_applicable"] for p in used)
    enough = (on_file * 2 >= applicable) | applicable.eq(0)
    out["composite"] = low.where(enough).astype(float)
    out["composite_low"] = low.astype(float)
    out["composite_high"] = high.astype(float)
    out["provisional"] = pd.concat([pillars[f"{p}_status"] == STATUS_INSUFFICIENT for p in used], axis=1).any(axis=1) \
        | ~enough
    out["checks_on_file"] = on_file
    out["checks_applicable"] = applicable
    return out


def provisional_note(row: Mapping, weights: Mapping[str, float]) -> str:
    """'provisional: balance sheet 2 of 6 checks on file' (or '' when no weighted pillar lacks data)."""
    parts = []
    for p, label in PILLARS.items():
        if float(weights.get(p, 0.0) or 0.0) <= 0 or row.get(f"{p}_status") != STATUS_INSUFFICIENT:
            continue
        parts.append(f"{label.lower()} {int(row[f'{p}_on_file'])} of {int(row[f'{p}_applicable'])} checks on file")
    if not parts and not row.get("provisional"):
        return ""
    if not parts:
        return (f"not rated: {int(row['checks_on_file'])} of {int(row['checks_applicable'])} checks on file "
                "(at least half needed)")
    return "provisional: " + "; ".join(parts)


def grade(score: pd.Series | float) -> pd.Series | str:
    """Letter grade A–F of a 0–100 score; 'n.a.' where missing."""
    if isinstance(score, pd.Series):
        bins = [-np.inf, 35, 50, 65, 80, np.inf]
        g = pd.cut(score, bins=bins, labels=["F", "D", "C", "B", "A"], right=False).astype(object)
        return g.where(score.notna(), "n.a.")
    if score is None or (isinstance(score, float) and np.isnan(score)):
        return "n.a."
    for lo, letter in GRADE_BANDS:
        if score >= lo:
            return letter
    return "F"


def sector_relative(scores: pd.DataFrame, segment: pd.Series, columns: list[str]) -> pd.DataFrame:
    """Percentile rank (0–100) of each column within its segment; NaN stays NaN.

    Ranks use the average method, scaled so the best company of a segment gets
    100; a segment with one scored company gets 100 for it.
    """
    out = scores.copy()
    for col in columns:
        out[col] = scores[col].groupby(segment).rank(pct=True, method="average") * 100.0
    return out


def base_rows(ctx: Context, results: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The weight-independent part of the scored rows: company facts, pillar scores and counts, and every
    check's value and result (``<check>``, ``<check>_result``). A weight change reuses it."""
    pillars = pillar_scores(results, ctx.index, debt_basis(ctx))
    table = ctx.companies.join(pillars)
    checks = {}
    for c in CHECKS:
        checks[c.id] = results[c.id]["value"].reindex(ctx.index)
        checks[f"{c.id}_result"] = results[c.id]["status"].reindex(ctx.index)
    return table.join(pd.DataFrame(checks, index=ctx.index))


def with_composite(base: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """:func:`base_rows` plus the composite (conservative, with its optimistic bound) and grade for ``weights``,
    placed after the pillar columns."""
    weights = dict(weights or EQUAL_WEIGHTS)
    first_check = CHECKS[0].id
    cut = base.columns.get_loc(first_check)
    comp = composite_score(base, weights)
    comp["grade"] = grade(comp["composite"])
    return pd.concat([base.iloc[:, :cut], comp, base.iloc[:, cut:]], axis=1)


def score_rows(ctx: Context, results: Mapping[str, pd.DataFrame], weights: Mapping[str, float] | None = None
               ) -> pd.DataFrame:
    """The scored rows of a context: company facts, pillar scores and counts, composite (conservative, with
    its optimistic bound), grade, and every check's value and result. One computation for every view: the
    headline table, the score history, the card image and the CSV all read these rows."""
    return with_composite(base_rows(ctx, results), weights)


def score_table(ctx: Context, results: Mapping[str, pd.DataFrame], weights: Mapping[str, float] | None = None,
                relative: bool = False, base: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ranked screening table: :func:`score_rows` (from ``base``, :func:`base_rows` of the same context and
    results, when given), then sector-relative percentiles when asked, ranked by the conservative composite (n.a.
    last, ordered by their conservative figure), then market cap."""
    table = with_composite(base if base is not None else base_rows(ctx, results), weights)
    if relative:
        table = sector_relative(table, table["segment"], list(PILLARS) + ["composite"])
        table["grade"] = grade(table["composite"])
    table = table.sort_values(["composite", "composite_low", "market_cap_usd"], ascending=[False, False, False],
                              na_position="last")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


def result_labels(frame: pd.DataFrame) -> pd.Series:
    """'pass' / 'fail' / 'n.a.' / 'not on file' per company from a check frame."""
    return frame["status"]
