"""Wide views of the canonical statements table, and the derived line items.

All functions are pure and vectorised over companies. Derived items are
computed here at run time and never stored:

* totals from reported parts, only where the total itself is not reported
  (:data:`DERIVED_TOTALS`): Gross Profit = Total Revenue − Cost Of Revenue;
  Current Debt = Commercial Paper + Other Current Borrowings; Total Debt =
  Current Debt + Long Term Debt; Total Liabilities = Total Assets − Total
  Equity (incl. minority interest); Cash & short-term investments = Cash And
  Cash Equivalents + Other Short Term Investments (no short-term investments
  reported counts as none: a lower bound that can only make net debt look
  worse, never better); Reconciled Depreciation = Depreciation + Amortization
  Of Intangibles (where the cash flow shows the two lines and no total);
* EBITDA = reported "EBITDA", else Operating Income + Reconciled Depreciation;
* EBIT = reported "EBIT", else Operating Income;
* FCF = reported "Free Cash Flow", else Operating Cash Flow + Capital Expenditure
  (capex is negative, as yfinance shows it);
* Net debt = Total Debt − Cash, Cash Equivalents And Short Term Investments.

A derived item is missing (NaN) whenever a required input is missing. Every
derived cell is flagged (column ``"<field> · derived"``) so the card, the
methodology and the CSV can say "derived: A + B" beside the number.

**Scoring year.** A company is scored on the latest fiscal year whose three
statements are on file (:func:`scoring_rows`); a newer year holding only a few
headline lines is reported as partial, never scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from metrics.format import join_and

REVENUE = "Total Revenue"
GROSS_PROFIT = "Gross Profit"
OPERATING_INCOME = "Operating Income"
NET_INCOME = "Net Income"
EBITDA = "EBITDA"
EBIT = "EBIT"
DEPRECIATION = "Reconciled Depreciation"
INTEREST_EXPENSE = "Interest Expense"
OCF = "Operating Cash Flow"
CAPEX = "Capital Expenditure"
FCF = "Free Cash Flow"
BUYBACKS = "Repurchase Of Capital Stock"
DIVIDENDS = "Cash Dividends Paid"
CASH = "Cash Cash Equivalents And Short Term Investments"
TOTAL_DEBT = "Total Debt"
CURRENT_DEBT = "Current Debt"
CURRENT_ASSETS = "Current Assets"
CURRENT_LIABILITIES = "Current Liabilities"
EQUITY = "Stockholders Equity"
TOTAL_ASSETS = "Total Assets"
RETAINED_EARNINGS = "Retained Earnings"
TOTAL_LIABILITIES = "Total Liabilities Net Minority Interest"
# reported parts of totals
COST_OF_REVENUE = "Cost Of Revenue"
CASH_AND_EQUIVALENTS = "Cash And Cash Equivalents"
SHORT_TERM_INVESTMENTS = "Other Short Term Investments"
COMMERCIAL_PAPER = "Commercial Paper"
OTHER_CURRENT_BORROWINGS = "Other Current Borrowings"
LONG_TERM_DEBT = "Long Term Debt"
CURRENT_LEASES = "Current Capital Lease Obligation"
LONG_TERM_LEASES = "Long Term Capital Lease Obligation"
TOTAL_EQUITY = "Total Equity Gross Minority Interest"
DEPRECIATION_ONLY = "Depreciation"  # where the cash flow shows depreciation and amortization as two lines
AMORTIZATION_INTANGIBLES = "Amortization Of Intangibles"

#: every field a check may read; absent columns are added as NaN.
PANEL_FIELDS = [
    REVENUE, GROSS_PROFIT, OPERATING_INCOME, NET_INCOME, EBITDA, EBIT, DEPRECIATION,
    INTEREST_EXPENSE, OCF, CAPEX, FCF, BUYBACKS, DIVIDENDS, CASH, TOTAL_DEBT, CURRENT_DEBT,
    CURRENT_ASSETS, CURRENT_LIABILITIES, EQUITY, TOTAL_ASSETS, RETAINED_EARNINGS, TOTAL_LIABILITIES,
    COST_OF_REVENUE, CASH_AND_EQUIVALENTS, SHORT_TERM_INVESTMENTS, COMMERCIAL_PAPER, OTHER_CURRENT_BORROWINGS,
    LONG_TERM_DEBT, CURRENT_LEASES, LONG_TERM_LEASES, TOTAL_EQUITY, DEPRECIATION_ONLY, AMORTIZATION_INTANGIBLES,
]


@dataclass(frozen=True)
class Derivation:
    """A total computed from reported parts when the total itself is not reported.

    ``parts``: (field, sign) pairs; ``optional``: parts that count as zero when
    not reported (only where treating them as zero can never flatter the company).
    """

    total: str
    parts: tuple[tuple[str, int], ...]
    optional: tuple[str, ...] = ()

    @property
    def formula(self) -> str:
        text = ""
        for i, (f, sign) in enumerate(self.parts):
            op = ("− " if sign < 0 else "+ ") if i else ("−" if sign < 0 else "")
            text += f" {op}{f}" if i else f"{op}{f}"
        return text


#: Totals derived from parts, in dependency order (Current Debt before Total Debt).
DERIVED_TOTALS: tuple[Derivation, ...] = (
    Derivation(GROSS_PROFIT, ((REVENUE, 1), (COST_OF_REVENUE, -1))),
    Derivation(CASH, ((CASH_AND_EQUIVALENTS, 1), (SHORT_TERM_INVESTMENTS, 1)), optional=(SHORT_TERM_INVESTMENTS,)),
    Derivation(CURRENT_DEBT, ((COMMERCIAL_PAPER, 1), (OTHER_CURRENT_BORROWINGS, 1))),
    Derivation(TOTAL_DEBT, ((CURRENT_DEBT, 1), (LONG_TERM_DEBT, 1))),
    Derivation(TOTAL_LIABILITIES, ((TOTAL_ASSETS, 1), (TOTAL_EQUITY, -1))),
    Derivation(DEPRECIATION, ((DEPRECIATION_ONLY, 1), (AMORTIZATION_INTANGIBLES, 1))),
)
DERIVED_SUFFIX = " · derived"

#: What each statement must show for a fiscal year to count as "on file" (any one of the lines).
STATEMENT_KEYS: dict[str, tuple[str, ...]] = {
    "income statement": (REVENUE, OPERATING_INCOME, NET_INCOME),
    "cash-flow statement": (OCF,),
    "balance-sheet total": (TOTAL_ASSETS,),
}

#: The inputs the checks read in the scoring year (after derivation): the coverage denominator.
SCORING_INPUTS: list[str] = [
    REVENUE, GROSS_PROFIT, OPERATING_INCOME, NET_INCOME, "ebitda", INTEREST_EXPENSE, OCF, CAPEX, BUYBACKS,
    DIVIDENDS, CASH, TOTAL_DEBT, CURRENT_DEBT, CURRENT_ASSETS, CURRENT_LIABILITIES, EQUITY, TOTAL_ASSETS,
    RETAINED_EARNINGS, TOTAL_LIABILITIES,
]

# derived columns (computed, never stored)
OPERATING_INCOME_REPORTED = "operating_income_reported"  # before a server-life assumption
GPU_ADJUSTED = "gpu_adjusted"  # True where a server-life assumption changed the year's earnings lines
EBITDA_D = "ebitda"
EBIT_D = "ebit"
FCF_D = "fcf"
NET_DEBT_D = "net_debt"


def build_panel(statements: pd.DataFrame, adjust=None) -> pd.DataFrame:
    """Company-year panel: index (ticker, fiscal_year), one column per field.

    Also carries ``period_end`` and ``currency`` (of that company-year) and the
    derived columns ``ebitda``, ``ebit``, ``fcf``, ``net_debt``. ``adjust``
    (panel -> panel) rewrites reported lines before anything is derived from
    them (the depreciation-life assumption, :mod:`metrics.depreciation`).
    """
    panel = raw_panel(statements)
    return add_derived(adjust(panel) if adjust is not None else panel)


def raw_panel(statements: pd.DataFrame) -> pd.DataFrame:
    """The reported lines as a (ticker, fiscal_year) panel, sorted, before anything is derived."""
    if statements.empty:
        idx = pd.MultiIndex.from_arrays([[], []], names=["ticker", "fiscal_year"])
        panel = pd.DataFrame(index=idx, columns=PANEL_FIELDS, dtype=float)
        panel["period_end"] = pd.Series(dtype=str)
        panel["currency"] = pd.Series(dtype=str)
        return panel
    return _pivot(statements).sort_index()


def _pivot(statements: pd.DataFrame) -> pd.DataFrame:
    """Vectorised long -> wide: one row per (ticker, fiscal_year); the first value of a duplicate wins.

    Strings are factorised once (pandas' string factorisation dominates a
    naive pivot_table on large universes).
    """
    t_codes, t_names = pd.factorize(statements["ticker"])
    f_codes, f_names = pd.factorize(statements["field"])
    years = statements["fiscal_year"].to_numpy(dtype=np.int64)
    row_codes, row_keys = pd.factorize(t_codes.astype(np.int64) * 10_000 + years)
    col_of = np.array([PANEL_FIELDS.index(f) if f in PANEL_FIELDS else -1 for f in f_names], dtype=np.int64)
    cols = col_of[f_codes]
    keep = cols >= 0
    grid = np.full((len(row_keys), len(PANEL_FIELDS)), np.nan)
    values = statements["value"].to_numpy(dtype=float)[keep]
    rows_k, cols_k = row_codes[keep], cols[keep]
    # one write per (row, field), the first occurrence (hash-based, no sort)
    first_of_pair = ~pd.Index(rows_k * len(PANEL_FIELDS) + cols_k).duplicated(keep="first")
    grid[rows_k[first_of_pair], cols_k[first_of_pair]] = values[first_of_pair]
    first = np.flatnonzero(~pd.Index(row_codes).duplicated(keep="first"))  # in code order
    index = pd.MultiIndex.from_arrays(
        [np.asarray(t_names, dtype=object)[row_keys // 10_000], row_keys % 10_000], names=["ticker", "fiscal_year"])
    panel = pd.DataFrame(grid, index=index, columns=PANEL_FIELDS)
    panel["period_end"] = statements["period_end"].iloc[first].to_numpy(dtype=object)
    panel["currency"] = statements["currency"].iloc[first].to_numpy(dtype=object)
    return panel


def derive_totals(panel: pd.DataFrame) -> pd.DataFrame:
    """Fill each :data:`DERIVED_TOTALS` total from its parts where the total is not reported.

    Adds a boolean ``"<total> · derived"`` column per total (True where the
    value was derived). Reported totals are never replaced.
    """
    out = panel.copy()
    for d in DERIVED_TOTALS:
        value = pd.Series(0.0, index=out.index)
        for field, sign in d.parts:
            part = out[field]
            if field in d.optional:
                part = part.fillna(0.0)
            value = value + sign * part
        if d.optional:  # at least one required part must be reported
            required = [f for f, _ in d.parts if f not in d.optional]
            value = value.where(out[required].notna().all(axis=1))
        derived = out[d.total].isna() & value.notna()
        out[d.total] = out[d.total].where(~derived, value)
        out[d.total + DERIVED_SUFFIX] = derived
    return out


def add_derived(panel: pd.DataFrame) -> pd.DataFrame:
    """Derive totals from parts, then add ebitda, ebit, fcf and net_debt (see module docstring).

    ``ebitda · derived`` and ``fcf · derived`` flag the cells computed rather than reported.
    """
    out = derive_totals(panel)
    out[EBITDA_D] = out[EBITDA].where(out[EBITDA].notna(), out[OPERATING_INCOME] + out[DEPRECIATION])
    out[EBITDA_D + DERIVED_SUFFIX] = out[EBITDA].isna() & out[EBITDA_D].notna()
    out[EBIT_D] = out[EBIT].where(out[EBIT].notna(), out[OPERATING_INCOME])
    out[FCF_D] = out[FCF].where(out[FCF].notna(), out[OCF] + out[CAPEX])
    out[FCF_D + DERIVED_SUFFIX] = out[FCF].isna() & out[FCF_D].notna()
    out[NET_DEBT_D] = out[TOTAL_DEBT] - out[CASH]
    return out


#: how each derived column is computed, for "derived: ..." labels
DERIVED_FORMULAS: dict[str, str] = {
    **{d.total: d.formula for d in DERIVED_TOTALS},
    EBITDA_D: f"{OPERATING_INCOME} + {DEPRECIATION}",
    FCF_D: f"{OCF} + {CAPEX}",
}


def derived_cells(panel: pd.DataFrame) -> pd.DataFrame:
    """Long table of derived cells: ticker, fiscal_year, field, value, formula (for cards and exports)."""
    frames = []
    for field, formula in DERIVED_FORMULAS.items():
        flag = panel.get(field + DERIVED_SUFFIX)
        if flag is None or not flag.any():
            continue
        hit = panel.loc[flag.astype(bool), field]
        frames.append(pd.DataFrame({"field": field, "value": hit.to_numpy(), "formula": formula}, index=hit.index))
    if not frames:
        return pd.DataFrame(columns=["ticker", "fiscal_year", "field", "value", "formula"])
    return pd.concat(frames).reset_index()


def statements_on_file(panel: pd.DataFrame) -> pd.DataFrame:
    """Per company-year, whether each statement is on file (:data:`STATEMENT_KEYS`), and ``complete``."""
    out = pd.DataFrame(index=panel.index)
    for name, keys in STATEMENT_KEYS.items():
        out[name] = panel[list(keys)].notna().any(axis=1)
    out["complete"] = out[list(STATEMENT_KEYS)].all(axis=1)
    return out


def scoring_rows(panel: pd.DataFrame) -> pd.DataFrame:
    """Per ticker, the row of its scoring year: the latest fiscal year with all three statements on file.

    A company with no complete year is scored on its latest year (``complete``
    False). Adds ``latest_fiscal_year`` (newest year holding any value) and
    ``complete``. Index: ticker; the year is the column ``fiscal_year``.
    Vectorised: no Python loop over companies.
    """
    out = panel.reset_index(level="fiscal_year")
    if panel.empty:
        out["latest_fiscal_year"] = pd.Series(dtype=float)
        out["complete"] = pd.Series(dtype=bool)
        return out
    complete = statements_on_file(panel)["complete"].to_numpy()
    codes = panel.index.codes[0]  # panel is sorted by (ticker, year)
    last = np.flatnonzero(np.r_[codes[1:] != codes[:-1], True])
    best = pd.Series(np.where(complete, np.arange(len(codes)), -1)).groupby(codes).max().to_numpy()
    rows = out.iloc[np.where(best >= 0, best, last)].copy()
    rows["latest_fiscal_year"] = out["fiscal_year"].to_numpy()[last]
    rows["complete"] = best >= 0
    return rows


def scoring_note(full_panel: pd.DataFrame, ticker: str, scoring_year: int | None) -> str:
    """Why ``ticker`` is scored on ``scoring_year``, in one sentence ("" when it is simply the newest year).

    E.g. "FY2026 partial (Total Revenue, Net Income only; no cash-flow statement
    or balance sheet on file): scored on FY2025."
    """
    try:
        block = full_panel.xs(ticker, level="ticker")
    except KeyError:
        return "No reported figures."
    if scoring_year is None or block.empty:
        return "No reported figures."
    on_file = statements_on_file(full_panel.loc[[ticker]]).droplevel("ticker")
    statements = [k for k in STATEMENT_KEYS]
    if not on_file.loc[scoring_year, "complete"]:
        missing = [k for k in statements if not on_file.loc[scoring_year, k]]
        return (f"No fiscal year has all three statements on file; scored on FY{scoring_year} "
                f"({join_and(missing)} missing).")
    newer = [int(y) for y in block.index if y > scoring_year]
    if not newer:
        return ""
    y = max(newer)
    shown = block.loc[y, [f for f in PANEL_FIELDS if f in block]].dropna().index.tolist()
    listed = ", ".join(shown[:3]) + (f" and {len(shown) - 3} more" if len(shown) > 3 else "")
    missing = [k for k in statements if not on_file.loc[y, k]]
    return f"FY{y} partial ({listed} only; {join_and(missing)} not on file): scored on FY{scoring_year}."


#: days after a fiscal year end by which its results are public: the SEC's 10-K deadline for large accelerated
#: filers (60 days); every company in the universe releases its results sooner
RESULTS_DUE_DAYS = 60


def newest_due_year(fiscal_year: int | None, period_end: object, as_of: object,
                    due_days: int = RESULTS_DUE_DAYS) -> tuple[int | None, str | None]:
    """The newest fiscal year whose results are due by ``as_of``, and its period end (YYYY-MM-DD).

    Rolls ``period_end`` (the end of ``fiscal_year``) forward a year at a time while the next year end plus
    ``due_days`` is on or before ``as_of``; a year end is approximate by a few days for 52/53-week years.
    (None, None) when the year or its end is unknown. E.g. (2025, "2025-06-30", "2026-12-03") -> (2026,
    "2026-06-30"); (2025, "2025-11-02", "2026-12-03") -> (2025, "2025-11-02"): FY2026's results are not due yet.
    """
    try:
        end, today = pd.Timestamp(period_end), pd.Timestamp(as_of)
    except (TypeError, ValueError):
        return None, None
    if fiscal_year is None or pd.isna(end) or pd.isna(today):
        return None, None
    end, today = end.tz_localize(None) if end.tzinfo else end, today.tz_localize(None) if today.tzinfo else today
    year, due = int(fiscal_year), pd.Timedelta(days=due_days)
    while end + pd.DateOffset(years=1) + due <= today:
        end, year = end + pd.DateOffset(years=1), year + 1
    return year, end.strftime("%Y-%m-%d")


#: how a company's newest fiscal year due is on file (:func:`newest_year_on_file`)
NEWEST_COMPLETE, NEWEST_HEADLINE, NEWEST_NOT_ON_FILE = "complete", "headline results", "not on file"


def newest_year_on_file(due_year: int | None, scored_year: int | None, scored_complete: bool,
                        results_year: int | None) -> str:
    """How the newest fiscal year whose results are due (:func:`newest_due_year`) is on file: ``"complete"``
    (the scored year is complete and at least that year), ``"headline results"`` (a results row of that year or
    newer, shown never scored) or ``"not on file"`` (neither; also when no due year is known).

    ``scored_complete=False`` marks a scored year without all three statements (scored on what is there): it
    counts as on file only through headline results. E.g. (2026, 2025, True, None) -> "not on file";
    (2026, 2025, True, 2026) -> "headline results"; (2025, 2025, True, None) -> "complete".
    """
    if due_year is None:
        return NEWEST_NOT_ON_FILE
    if scored_complete and scored_year is not None and int(scored_year) >= int(due_year):
        return NEWEST_COMPLETE
    if results_year is not None and int(results_year) >= int(due_year):
        return NEWEST_HEADLINE
    return NEWEST_NOT_ON_FILE


def up_to_scoring_year(panel: pd.DataFrame, scoring_year: pd.Series) -> pd.DataFrame:
    """The panel rows up to each ticker's scoring year (later partial years are left out of every check)."""
    if panel.empty:
        return panel
    limit = scoring_year.reindex(panel.index.get_level_values("ticker")).to_numpy(dtype=float)
    years = panel.index.get_level_values("fiscal_year").to_numpy(dtype=float)
    return panel[years <= limit]


def input_coverage(latest: pd.DataFrame) -> pd.Series:
    """Share (0–1) of :data:`SCORING_INPUTS` present in each company's scoring year (after derivation)."""
    cols = [c for c in SCORING_INPUTS if c in latest]
    return latest[cols].notna().sum(axis=1) / len(SCORING_INPUTS)


def _ticker_blocks(series: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray, pd.Index]:
    """``series`` sorted by (ticker, fiscal_year), the first and last row of each ticker's block, and the tickers.

    Vectorised with the index codes: no Python loop over companies.
    """
    s = series if series.index.is_monotonic_increasing else series.sort_index()
    codes = s.index.codes[0]
    start = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    end = np.r_[start[1:] - 1, len(codes) - 1]
    return s, start, end, pd.Index(s.index.levels[0][codes[start]], name="ticker")


def first_and_last(series: pd.Series) -> pd.DataFrame:
    """Per ticker, the first and last fiscal years in which ``series`` (indexed by ticker, year) is present.

    Returns columns first_year, first, last_year, last, n_years (index ticker).
    """
    cols = ["first_year", "first", "last_year", "last", "n_years"]
    if series.dropna().empty:
        return pd.DataFrame(columns=cols, dtype=float, index=pd.Index([], name="ticker"))
    s, start, end, names = _ticker_blocks(series.dropna())
    years = s.index.get_level_values("fiscal_year").to_numpy()
    vals = s.to_numpy(dtype=float)
    return pd.DataFrame({"first_year": years[start], "first": vals[start], "last_year": years[end],
                         "last": vals[end], "n_years": end - start + 1}, index=names)


def at_span_ends(series: pd.Series) -> pd.DataFrame:
    """Per ticker, ``series`` at the first and the last fiscal year on record (columns first, last).

    ``series`` must be indexed like the panel, missing values included: the
    span's end years are then the first and last rows of each ticker's block,
    and a missing value there stays NaN (never replaced by a neighbouring year).
    """
    if series.empty:
        return pd.DataFrame(columns=["first", "last"], dtype=float, index=pd.Index([], name="ticker"))
    s, start, end, names = _ticker_blocks(series)
    vals = s.to_numpy(dtype=float)
    return pd.DataFrame({"first": vals[start], "last": vals[end]}, index=names)


def record_span(panel: pd.DataFrame) -> pd.DataFrame:
    """Per ticker, the fiscal years on record: first_year, last_year and n_years = last − first + 1.

    A year between the first and the last counts as on record even when the
    company reported nothing for it: multi-year checks must see every year of
    the span, so a missing year can never be skipped (and so never help).
    """
    years = pd.Series(panel.index.get_level_values("fiscal_year"), index=panel.index, dtype=float)
    ends = at_span_ends(years).rename(columns={"first": "first_year", "last": "last_year"})
    ends["n_years"] = ends["last_year"] - ends["first_year"] + 1
    return ends


#: optional market columns of a cap derived from a dated price and a share count read on another page
PRICE, SHARES, SHARES_AS_OF, SHARES_SOURCE = "price", "shares_outstanding", "shares_as_of", "shares_source"


def market_caps(market: pd.DataFrame) -> pd.DataFrame:
    """Per market row (same index): ``market_cap`` as the page states it, else price × shares outstanding.

    A derived cap (``market_cap_derived`` True) is the share price on its date (``as_of``, from ``source``)
    times the shares outstanding another page states (``shares_as_of``, ``shares_source``), in the price
    currency; it is never stored, and ``market_cap_source`` says how it was made: "derived: price USD 802.13
    (2026-02-13, <url>) × 268.7 m shares (2026-04-24, <url>)". A stated cap always wins; a row with neither a
    cap nor both parts has no cap (NaN), never a zero.
    """
    out = pd.DataFrame(index=market.index)
    stated = pd.to_numeric(market["market_cap"], errors="coerce") if "market_cap" in market \
        else pd.Series(np.nan, index=market.index)
    price = pd.to_numeric(market[PRICE], errors="coerce") if PRICE in market else pd.Series(np.nan, index=market.index)
    shares = pd.to_numeric(market[SHARES], errors="coerce") if SHARES in market \
        else pd.Series(np.nan, index=market.index)
    parts = price * shares
    derived = stated.isna() & (price > 0) & (shares > 0)
    out["market_cap"] = stated.where(stated.notna(), parts.where(derived))
    out["market_cap_derived"] = derived
    source = market["source"].astype(object) if "source" in market else pd.Series(None, index=market.index)
    out["market_cap_source"] = source

    def text(r: pd.Series, col: str, default: str) -> str:
        v = r.get(col)
        return default if v is None or (not isinstance(v, str) and pd.isna(v)) or not str(v).strip() else str(v)

    for i in np.flatnonzero(derived.to_numpy()):  # a handful of rows: the derivation said in words
        r = market.iloc[i]
        out.iloc[i, out.columns.get_loc("market_cap_source")] = (
            f"derived: price {text(r, 'price_currency', '')} {float(r[PRICE]):,.2f} ({text(r, 'as_of', 'n.a.')}, "
            f"{text(r, 'source', 'source not stated')}) × {float(r[SHARES]) / 1e6:,.2f} m shares "
            f"({text(r, SHARES_AS_OF, 'date not stated')}, {text(r, SHARES_SOURCE, text(r, 'source', ''))})")
    return out


def safe_divide(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN where the denominator is zero, negative or missing."""
    num = pd.to_numeric(numerator, errors="coerce")
    den = pd.to_numeric(denominator, errors="coerce")
    den = den.where(den > 0)
    return (num / den).replace([np.inf, -np.inf], np.nan)
