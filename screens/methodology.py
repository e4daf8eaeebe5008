"""Methodology: every metric's formula, unit, threshold and reference; sources; limitations."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from metrics import adjusted as A
from metrics import depreciation as D
from metrics import financials as F
from metrics import history as H
from metrics import loop as L
from metrics.checks import CHECKS, PILLARS
from metrics import scoring
from screens import state


def render() -> None:
    state.page("Methodology")
    ds = state.dataset()
    st.info("Kosmos is a research tool. Nothing here is investment advice.", icon=":material/info:")
    st.header("Scores")
    st.markdown(scoring.__doc__.split("Rules (also on the Methodology page):", 1)[-1])
    st.header("Checks")
    for pid, label in PILLARS.items():
        st.subheader(label)
        rows = [{"Check": c.label, "Formula": c.formula, "Unit": c.unit, "Threshold (pass)": c.threshold,
                 "Reference": c.reference, "What it tells you": c.help} for c in CHECKS if c.pillar == pid]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        with st.expander(f"Exact rules of the {label.lower()} checks"):
            for c in CHECKS:
                if c.pillar == pid:
                    st.markdown(f"**{c.label}** (`{c.id}`)")
                    st.text((c.compute.__doc__ or "").strip())
    st.header("Scoring year and derived figures")
    st.markdown(
        "**Scoring year.** Each company is scored on the latest fiscal year whose income statement, cash-flow "
        "statement and balance sheet are all on file (at least revenue, operating income or net income; operating "
        "cash flow; total assets). A newer year holding only a few lines (an early debt figure, headline revenue) "
        "is shown as partial and left out of every check; the scorecard says which year was scored and why.\n\n"
        "**Derived figures.** Stored data holds reported values only. Where a filing shows the parts but not the "
        "total, Kosmos derives the total at run time and labels it *derived* on the card, in its sources table and "
        "in the CSV export (column `derived_inputs`). A reported total is never replaced.")
    st.dataframe(pd.DataFrame(
        [{"Figure": d.total, "Derived as": d.formula,
          "When a part is missing": "counts as none (can only make net debt look worse)" if d.optional else "n.a."}
         for d in F.DERIVED_TOTALS]
        + [{"Figure": "EBITDA", "Derived as": F.DERIVED_FORMULAS[F.EBITDA_D], "When a part is missing": "n.a."},
           {"Figure": "Free cash flow", "Derived as": F.DERIVED_FORMULAS[F.FCF_D], "When a part is missing": "n.a."},
           {"Figure": "Net debt", "Derived as": "Total Debt − Cash, Cash Equivalents And Short Term Investments",
            "When a part is missing": "n.a."}]), hide_index=True, width="stretch")
    st.caption("Inputs on file (screener column) = share of the 19 inputs the checks read that are reported or "
               "derived in the scoring year: " + ", ".join(F.SCORING_INPUTS).replace("ebitda", "EBITDA") + ".")
    st.header("Assumptions you can change")
    st.markdown(
        "**Debt: reported → adjusted.** " + A.__doc__.split("Rules (also on the Methodology page):", 1)[-1]
        .split("EBITDAR", 1)[0].strip() + "\n\nEBITDAR (leases added back) needs the operating lease cost, which is "
        "not compiled: shown as n.a. with that reason.")
    st.markdown("**Server and GPU useful life.** " + D.__doc__.split("(straight-line approximation):", 1)[-1].strip())
    st.markdown("**Score history.** " + H.__doc__.split("\n\n", 1)[-1].split("Pure pandas", 1)[0].strip())
    st.markdown("**Loop figures are period-true.** " + (L.loop_revenue_share.__doc__ or "").split("\n\n", 1)[-1].strip())
    st.header("Data sources and as-of dates")
    yr = ds.fiscal_year_range
    st.markdown(
        f"- **Embedded data set**: reported annual figures compiled by the project from filings, SEC R pages, "
        f"press-release statements and statement pages (`data/reference/`), plus the shared starting input; one "
        f"value per row with its source URL and basis note, fiscal years FY{yr[0]}–FY{yr[1]} (each company's "
        f"scoring year differs: see its scorecard). Nothing is filled, estimated or interpolated; derived numbers "
        f"(totals from parts, EBITDA, FCF, net debt) are computed at run time and labelled. `python -m data "
        f"validate` checks accounting identities, units and period ends, cross-checks revenue and FCF against a "
        f"second page and reproduces independently published ratios.\n"
        f"- **Market caps** carry their own dates; they are not one snapshot.\n"
        f"- **Yahoo Finance** (live refresh through yfinance): annual statements and quote data; cached locally "
        f"with the fetch time; older than 24 h is flagged stale.\n"
        f"- **FX**: live rates from Yahoo (e.g. TWDUSD=X) after a refresh; offline the embedded table holds dated, "
        f"sourced EUR and JPY quotes (no TWD rate was found on a page, so TSMC's FCF yield is n.a. offline) — a "
        f"missing rate gives n.a., never a guess.\n"
        f"- **Loop data**: deals and disclosed concentration compiled from news and filings (2023 to mid-2026), "
        f"each with a confidence flag: excluded (terminated, not executed, stake valuations), low (unconfirmed or "
        f"estimated; counted only on request), medium ('up to', announced), high.\n"
        f"- **Commitments and server lives**: leases, purchase commitments, backstops and SPV financing, and the "
        f"disclosed useful lives of servers, each a sourced row (basis: filing, secondary, or unverified — shown, "
        f"never counted).")
    st.header("Limitations")
    st.markdown(
        "- Coverage is uneven: the share of scoring inputs on file differs by company (the screener's 'Inputs on "
        "file' column); several companies lack balance-sheet lines, so their balance-sheet pillar is 'insufficient "
        "data' rather than guessed.\n"
        "- A missing check scores zero points, so pillar scores also measure how verifiable a company is.\n"
        "- Multi-year checks judge every fiscal year on record up to the scoring year, so a missing year never "
        "flatters a company: FCF consistency counts a year without FCF as not positive; gross-margin stability and "
        "the weakest-year stress need a gross margin in every year; trends run between the first and the scoring "
        "year and need both ends.\n"
        "- The server-life assumption moves operating income, not gross profit or net income (where server "
        "depreciation sits inside cost of revenue, and the tax effect, are not disclosed line by line); without a "
        "disclosed servers PP&E the base is approximated from capex (an upper bound).\n"
        "- Adjusted debt adds the latest disclosure of each commitment; purchase commitments are not debt in the "
        "accounting sense but fixed outflows of the build-out. EBITDAR is not formed (lease cost not compiled).\n"
        "- Score history has no dated market caps: FCF yield is n.a. in every historical year.\n"
        "- The stress test removes lost revenue one for one from profit and cash flow (costs fixed in the short run).")


if __name__ == "__main__":
    render()
