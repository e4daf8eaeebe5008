"""Methodology in plain words: how a score is built, every check's formula, unit, threshold and reference,
which year is scored, the assumptions you can change, where the figures come from and what Kosmos cannot do.

Written for investors, not developers: no code names or file paths; the numbers (grade bands, thresholds,
derived totals) are read from the scoring code, so the page cannot drift from what is computed.
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from metrics import financials as F
from metrics.checks import CHECKS, PILLARS
from metrics.scoring import GRADE_BANDS
from screens import state
from screens.charts import RESULT_MEANING, RESULT_TEXT

UNITS = {"x": "multiple (x)", "percent": "% of the base", "pp": "percentage points", "ratio": "ratio",
         "score": "score", "count": "count", "USD": "USD"}
#: formula shorthand of the checks, in words
WORDS = [(r"\bDebt_last\b", "debt (latest year)"), (r"\bEBITDA_last\b", "EBITDA (latest year)"),
         (r"\bDebt_first\b", "debt (first year)"), (r"\bEBITDA_first\b", "EBITDA (first year)"),
         (r"\bOM_latest\b", "operating margin (latest year)"), (r"\bOM_first\b", "operating margin (first year)"),
         (r"\bGM_segment_median\b", "segment median gross margin"), (r"\bGM_min\b", "weakest gross margin on record"),
         (r"\bGM\b", "gross margin"), (r"\bOI\b", "operating income"), (r"\bRPO\b", "backlog (RPO)"),
         (r"\bWC/TA\b", "working capital / total assets"), (r"\bRE/TA\b", "retained earnings / total assets"),
         (r"\bEBIT/TA\b", "EBIT / total assets"), (r"\bBVE/TL\b", "book equity / total liabilities"),
         (r"\bST investments\b", "short-term investments"), (r"<=", "≤"), (r">=", "≥")]


def plain(text: str) -> str:
    """A formula or threshold with its shorthand spelled out ('GM_min' -> 'weakest gross margin on record')."""
    out = str(text)
    for pattern, word in WORDS:
        out = re.sub(pattern, word, out)
    return out.replace("_", " ")


def check_table(pillar: str) -> pd.DataFrame:
    """The checks of one pillar: what each tells you, how it is computed, when it passes, its unit and source."""
    return pd.DataFrame([{"Check": c.label, "What it tells you": c.help, "Formula": plain(c.formula),
                          "Passes when": plain(c.threshold), "Unit": UNITS.get(c.unit, c.unit),
                          "Reference": c.reference} for c in CHECKS if c.pillar == pillar])


def derived_table() -> pd.DataFrame:
    """The totals Kosmos derives when a filing shows only their parts, and what happens when a part is missing."""
    rows = [{"Figure": d.total, "Derived as": d.formula,
             "When a part is missing": "counts as none (can only make net debt look worse)" if d.optional else "n.a."}
            for d in F.DERIVED_TOTALS]
    rows += [{"Figure": "EBITDA", "Derived as": F.DERIVED_FORMULAS[F.EBITDA_D], "When a part is missing": "n.a."},
             {"Figure": "Free cash flow", "Derived as": F.DERIVED_FORMULAS[F.FCF_D] + " (capex is reported negative)",
              "When a part is missing": "n.a."},
             {"Figure": "Net debt", "Derived as": "Total Debt − cash, cash equivalents and short-term investments",
              "When a part is missing": "n.a."}]
    return pd.DataFrame(rows)


def grade_bands() -> str:
    """'A ≥ 80, B ≥ 65, C ≥ 50, D ≥ 35, F below' from the scoring rules."""
    return ", ".join(f"{g} ≥ {b:g}" for b, g in GRADE_BANDS if b > -1e9) + ", F below"


SCORES = f"""
Kosmos scores each company on four **pillars**, each from 0 to 100: balance-sheet strength, free cash flow,
pricing power and exposure to the circular-financing loop (100 = no exposure on record). Each pillar is a set of
**checks**, and every check has one of four results:

{chr(10).join(f"- **{RESULT_TEXT[k]}**: {v}." for k, v in RESULT_MEANING.items())}

A **pillar score** is the points of its checks divided by the number of checks that apply, times 100. A check
that is not on file counts as zero points, so missing data never lifts a company. Next to it Kosmos shows the
score the company would reach if every missing check passed: the range the missing data leaves open. A pillar
none of whose applicable checks is on file has no score: it shows n.a. (0–100 open) and sorts last, while the
composite still counts it at zero. Checks that do not apply to a company are left out, and the scorecard says how
many ("5 of 7 checks do not apply").

The **composite** is the weighted mean of the four pillar scores (weights from the preset or the sidebar). When
fewer than half of the checks that apply are on file, the composite and the grade are n.a. and the company
ranks last. A pillar with fewer than half of its checks on file is marked provisional.

**Grades** follow the composite: {grade_bands()}.

**Sector-relative mode** replaces each score by its percentile within the company's segment (chips,
networking, cloud, energy): 80 means better than 80 % of its peers.
"""

SCORING_YEAR = f"""
**Which year is scored.** Each company is scored on its latest fiscal year whose income statement, cash-flow
statement and balance sheet are all on file. A newer year with only a few lines (an early revenue figure, say)
is shown as partial and left out of every check; the scorecard says which year was scored, why, and how many
months have passed since that year ended (the screener's Age column).

**Newest results (headline figures, rounded).** For a company whose newest fiscal year is not complete on file,
Kosmos shows that year's headline figures (revenue, net income, cash flow, capex or free cash flow, cash and debt
where stated) with the precision the page states, for example "USD 215.9 bn, rounded to 0.1 bn", its date, its
page and the growth against the scored year (for capex: the growth of the amount spent). The title names the
kind of page they were read from: "FY2026 results (release, rounded)" only when the company's release or filing
states them, "(aggregator, rounded)" or "(news, rounded)" when a statement aggregator or a news report does.
These figures are shown for information and never feed a score.

**Newest year due.** A fiscal year's results are public within {F.RESULTS_DUE_DAYS} days of its end (the SEC's deadline for large
companies' annual reports; every company here reports sooner). When the newest year due by today is neither
complete on file nor covered by a results release, the scorecard, the card image and the screener say so, for
example "FY2026 results (year to 2026-06-30) not on file", so an old scored year is never mistaken for the newest.

**Derived figures.** Kosmos stores reported values only. Where a filing shows the parts of a total but not the
total, the total is computed when you open the page and labelled *derived* on the scorecard, in its sources and
in the CSV export. A reported total is never replaced.
"""

ASSUMPTIONS = """
**Debt: reported or adjusted.** Rating agencies add leases to debt; the AI build-out adds more that never
reaches the balance sheet. The adjusted view adds, to total debt:

- lease liabilities (operating and finance);
- data-centre leases signed but not yet commenced;
- purchase commitments (chips, capacity, multi-year cloud contracts);
- capacity backstops given to neoclouds, and financing of data centres through special-purpose companies.

Only commitments disclosed on or before the scored year's balance-sheet date count, and for each item the latest
of them; a commitment disclosed after the year end is shown in its own group, "Disclosed after the year end (not
scored)". A figure read only in an unverified post is shown, never counted. Leases signed but not commenced count
only when they are no older than the lease liabilities counted, so a lease is never counted twice. A commitment
in another currency than the statements is not converted and not counted. Adjusted net debt / EBITDA has its own
bands: A below 2.5x, BBB 2.5–3.5x, BB 3.5–5x, B 5–7x; it passes below 3.5x, and net cash passes. A company with
no commitments compiled shows n.a.: missing is never read as "none".

**Server and GPU useful life.** Hyperscalers and neoclouds stretched the useful life of servers from 3–4 to 5–6
years, which lowers depreciation and lifts operating income without a dollar of cash changing hands. Choose a
life of 3 to 6 years and Kosmos recomputes, straight line:

- the change in depreciation = servers at cost / chosen life − servers at cost / disclosed life;
- operating income and EBIT fall by that change (or rise, for a longer life), and every check built on them
  moves with them;
- EBITDA, cash flow and free cash flow do not move (depreciation is not cash); gross profit and net income stay
  as reported (filings do not show line by line where server depreciation sits, or its tax effect).

The base is the gross cost of servers and network equipment from the property-and-equipment note, or a disclosed
annual server depreciation times the disclosed life; total capex is never used (it also buys buildings and land).
A company without a single disclosed server life, or without that base, is left as reported and says so.
"""

HISTORY = """
**Score history.** Every fiscal year on file is scored with exactly the rules of the headline score, using only
what was known then: statements up to that year, commitments at that year end, loop flows inside that year,
backlog and cycles as they stood until the next year was reported. The row of the scored year is the headline.
Earlier years have no dated market capitalisation, so their free-cash-flow yield is not on file (which costs
their free-cash-flow pillar up to 20 points). The History tab always shows absolute scores.

**Loop figures are period-true.** A deal pays its amount spread evenly over its term from its announcement, and
only the part that falls inside a fiscal year counts against that year's revenue; a contract that starts later
puts nothing into it. Contracts still to run are compared with the backlog (remaining performance obligations)
at the backlog date instead. Deals carry a confidence flag: terminated deals and stake valuations are excluded;
low-confidence amounts (unconfirmed reports, analyst estimates) are shown but counted only when you ask for it,
and counting them can never raise a score.

**Stress test.** If a counterparty honours only part of its commitments, the revenue it brings inside each
company's scored year is cut by the share not honoured, and the same amount comes off operating profit and cash
flow (costs are fixed in the short run). Every check and score is recomputed; loop checks and multi-year
stability are held, and no check can score more under stress than before.
"""

SOURCES = """
- **Reported figures**: annual statements compiled by the project from 10-K, 20-F and annual-report pages, SEC
  financial-statement pages, results releases and statement pages; one value per line, each with the page it
  was read from and a note on its basis (GAAP or IFRS as reported, full units, nothing summed or estimated).
  Accounting identities, units and period ends are checked, revenue and free cash flow are cross-checked against
  a second page, and independently published ratios are reproduced.
- **Market capitalisations** carry their own dates and pages; they are not one snapshot. Where no page states a
  cap inside the data set's window, Kosmos derives it from a share price on a stated date times the shares
  outstanding another page states, and says so ("derived" on the card, the derivation with both pages on the
  scorecard, a "derived" basis column in the CSV).
- **Live refresh** from Yahoo Finance (the sidebar button): annual statements and quote data, kept on this
  computer with the time they were fetched; data older than 24 hours is flagged stale.
- **Exchange rates**: live from Yahoo after a refresh; offline, a table of dated and sourced quotes. A missing
  rate gives n.a., never a guess.
- **Loop deals and disclosed customer concentration**: compiled from company releases, filings and major news
  outlets (2023 to mid-2026), each with its page and confidence flag.
- **Commitments and server lives**: leases, purchase commitments, backstops, financing vehicles and the disclosed
  useful lives of servers, each with its page and basis (read in a filing, quoted by news or an aggregator, or
  unverified: shown, never counted).
"""

LIMITATIONS = """
- Coverage is uneven: the share of scoring inputs on file differs by company (the screener's Inputs on file
  column). Several companies lack balance-sheet lines, so their balance-sheet pillar is provisional rather than
  guessed, and a missing check scores zero: scores also measure how verifiable a company is.
- Multi-year checks judge every fiscal year on record up to the scored year, so a missing year never flatters a
  company: free-cash-flow consistency counts a year without free cash flow as not positive; gross-margin
  stability and the weakest-year stress need a gross margin in every year; trends need the first and the scored
  year.
- The server-life assumption moves operating income, not gross profit or net income.
- Adjusted debt adds the latest disclosure of each commitment; purchase commitments are not debt in the
  accounting sense but fixed outflows of the build-out. EBITDAR (leases added back) is not formed: the operating
  lease cost is not compiled.
- Score history has no dated market capitalisations: free-cash-flow yield is n.a. in every earlier year.
- Free-cash-flow yield sets the scored year's cash flow against a market cap of early 2026; when the cap is dated
  more than 14 months after that year's end (a newer year's results are out), its explanation says so.
- The stress test removes lost revenue one for one from profit and cash flow.
- Newest results (from releases, filings, news or aggregators) are rounded as stated and are never scored.
- A few scored inputs are on file only as a page rounded them (ASML's FY2024 balance sheet to EUR 0.1 bn, a
  buyback stated as "USD 1 billion"): a check built on them is only as precise as that page. The scorecard's
  Checks tab names them and its Sources table gives every value's precision.
"""


def render() -> None:
    state.page("Methodology")
    ds = state.dataset()
    st.info("Kosmos is a research tool. Nothing here is investment advice.", icon=":material/info:")
    st.header("How a score is built")
    st.markdown(SCORES)
    st.header("The checks")
    st.caption("Each check's formula, unit, pass threshold and the research or practice it comes from. A check earns "
               "0 to 1 point: in steps (rating bands) or on a sliding scale between two levels; it passes when it "
               "meets the threshold.")
    for pid, label in PILLARS.items():
        st.subheader(label)
        st.dataframe(check_table(pid), hide_index=True, width="stretch", row_height=68, column_config={
            "What it tells you": st.column_config.TextColumn("What it tells you", width="large"),
            "Formula": st.column_config.TextColumn("Formula", width="large"),
            "Passes when": st.column_config.TextColumn("Passes when", width="medium")})
    st.header("Scoring year, newest results and derived figures")
    st.markdown(SCORING_YEAR)
    st.dataframe(derived_table(), hide_index=True, width="stretch")
    st.caption(f"Inputs on file (screener column) = the share of the {len(F.SCORING_INPUTS)} inputs the checks read "
               "that are reported, or derived from reported parts, in the scored year: "
               + ", ".join(F.SCORING_INPUTS).replace("ebitda", "EBITDA") + ".")
    st.header("Assumptions you can change")
    st.markdown(ASSUMPTIONS)
    st.header("History, loop figures and the stress test")
    st.markdown(HISTORY)
    st.header("Data sources and dates")
    yr = ds.fiscal_year_range
    if yr:
        st.markdown(f"Fiscal years on file: FY{yr[0]} to FY{yr[1]}; each company's scored year differs (see its "
                    "scorecard). Nothing is filled in, estimated or interpolated.")
    st.markdown(SOURCES)
    st.header("Limitations")
    st.markdown(LIMITATIONS)


if __name__ == "__main__":
    render()
