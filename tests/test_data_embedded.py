"""The embedded data set: real reported figures, sourced, validated on load."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from data.embedded import load_crosscheck, load_market, load_statements, load_universe
from data.schema import DataValidationError, SEGMENTS

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "reference" / "fundamentals"


def test_every_reference_company_is_in_the_universe():
    uni = load_universe()
    assert len(uni) >= 30
    assert set(uni["segment"]) == set(SEGMENTS)
    for t in ("NVDA", "TSM", "ASML", "MSFT", "CEG", "ANET", "NOK", "IREN", "CORZ", "SFTBY"):
        assert t in set(uni["ticker"])


def test_every_value_has_a_source_and_period():
    s = load_statements()
    assert (s["source"].str.startswith("http")).all()
    assert s["period_end"].str.match(r"^\d{4}-\d{2}-\d{2}$").all()
    assert not s.duplicated(["ticker", "fiscal_year", "field"]).any()


@pytest.mark.skipif(not SHARED.exists(), reason="shared/reference not beside the project")
def test_embedded_values_equal_the_reference_file_values():
    """Nothing filled or changed: each embedded value is one row of the project's compilation or of the
    shared reference, verbatim (value and source), and every compiled row is either used or kept as a
    cross-check with its reason."""
    own = pd.concat([pd.read_csv(p) for p in (ROOT / "data" / "reference" / "fundamentals").glob("*.csv")])
    shared = pd.concat([pd.read_csv(p) for p in SHARED.glob("*.csv") if not p.stem.endswith("_market")])
    ref = pd.concat([own, shared])[["ticker", "fiscal_year", "field", "value", "source"]]
    emb = load_statements()
    merged = emb.merge(ref, on=["ticker", "fiscal_year", "field", "value", "source"], how="left", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()
    used = emb.set_index(["ticker", "fiscal_year", "field"]).index
    xc = load_crosscheck()
    moved = xc[xc["note"].fillna("").str.contains("REJECTED")].set_index(["ticker", "fiscal_year", "field"]).index
    assert own.set_index(["ticker", "fiscal_year", "field"]).index.isin(used.union(moved)).all()
    assert not emb["field"].isin(["Free Cash Flow", "EBITDA"]).any()  # derived at run time, never stored


def test_validator_names_file_row_and_column(tmp_path):
    bad = tmp_path / "fundamentals.csv"
    bad.write_text("ticker,fiscal_year,period_end,currency,field,value,source\n"
                   "MSFT,2025,2025-06-30,USD,Total Revenue,281724000000,https://x\n"
                   "MSFT,2024,2024-06-30,USD,Total Revenue,abc,https://x\n"
                   "MSFT,2023,2023-06-30,US,Not A Field,1,\n")
    with pytest.raises(DataValidationError) as err:
        load_statements(bad)
    text = str(err.value)
    assert "fundamentals.csv row 1 (line 3), column 'value'" in text
    assert "column 'currency'" in text and "column 'field'" in text and "column 'source'" in text


def test_validator_reports_missing_column_and_unparseable_file(tmp_path):
    p = tmp_path / "market.csv"
    p.write_text("ticker,price_currency\nMSFT,USD\n")
    with pytest.raises(DataValidationError, match="market_cap"):
        load_market(p)
    q = tmp_path / "universe.csv"
    q.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataValidationError, match="cannot parse|column"):
        load_universe(q)


def test_validate_cli_json_reports_coverage_identities_and_cross_checks():
    out = subprocess.run([sys.executable, "-m", "data", "validate", "--json"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    rep = json.loads(out.stdout)
    assert out.returncode == (1 if rep["errors"] else 0)  # errors decide the exit code ...
    assert rep["ok"] is (rep["errors"] == 0 and all(rep["done_when"].values()))  # ... ok also needs every done-when
    assert rep["companies"] == 34 and len(rep["segments"]) == 4
    assert rep["companies_with_figures"] == 34 and rep["companies_without_figures"] == []
    assert rep["unsourced_values"] == 0 and rep["implausible_values"] == []
    assert rep["identity_violations"]["unexplained"] == 0 and rep["errors"] == 0  # a new break must be fixed or explained
    assert rep["tables"]["deals.csv"] > 0 and rep["tables"]["concentration.csv"] > 0  # validate reads them too
    assert rep["share_with_2plus_fiscal_years"]["of_all_companies"] == 1.0
    assert set(rep["done_when"]) >= {"coverage_95pct_for_all", "no_unexplained_identity_violations",
                                     "market_caps_within_30_days"}
    for v in rep["identity_violations"]["list"]:
        assert v["sources"] and all(s.startswith("http") for s in v["sources"])
    xc = rep["cross_checks"]
    assert xc["revenue_cross_checked"] + len([m for m in xc["not_cross_checked"] if m["figure"] == "revenue"]) > 0
    nvda = next(c for c in rep["per_company"] if c["ticker"] == "NVDA")
    assert nvda["scoring_year"] >= 2025 and nvda["coverage"] > 0.5
    # issue 16: rounded values, source kinds of the scoring-year values, lines not reported
    rv = rep["rounded_values"]
    assert rv["count"] == len(rv["list"]) == sum(rv["by_rule"].values()) > 0 and rv["rule"]
    assert {"ticker": "VST", "fiscal_year": 2024, "field": "Total Revenue"}.items() <= next(
        r for r in rv["list"] if r["ticker"] == "VST" and r["field"] == "Total Revenue").items()
    sk = rep["source_kinds_of_scoring_year_values"]
    rows = pd.read_csv(ROOT / "data" / "fundamentals.csv")
    scored = {c["ticker"]: c["scoring_year"] for c in rep["per_company"] if c["statements_complete"]}
    expected = rows[rows["fiscal_year"] == rows["ticker"].map(scored)]
    assert sk["values"] == len(expected) == sum(v["values"] for v in sk["by_kind"].values())
    assert sk["company_years"] == len(scored) and set(sk["companies_without_a_scoring_year"]).isdisjoint(scored)
    assert rep["not_reported"]["lines"] > 0 and rep["not_reported"]["conflicts_with_values_on_file"] == []
    assert rep["results"]["rows"] == len(pd.read_csv(ROOT / "data" / "results.csv"))


def test_validated_tables_are_reused_only_for_identical_files(tmp_path, isolated_cache):
    from data.embedded import validated_csv

    good = tmp_path / "fundamentals.csv"
    good.write_text("ticker,fiscal_year,period_end,currency,field,value,source\n"
                    "MSFT,2025,2025-06-30,USD,Total Revenue,281724000000,https://x\n")
    first = validated_csv(good, "statements")
    assert list((isolated_cache / "validated").glob("fundamentals-*.parquet"))  # kept for the next start
    again = validated_csv(good, "statements")
    pd.testing.assert_frame_equal(first, again)
    good.write_text(good.read_text().replace("281724000000", "abc"))  # same name, new bytes: validated again
    with pytest.raises(DataValidationError, match="column 'value'"):
        validated_csv(good, "statements")
    (isolated_cache / "validated").chmod(0o500)  # a read-only cache folder only costs a validation
    try:
        good.write_text(good.read_text().replace("abc", "1"))
        assert validated_csv(good, "statements")["value"].iloc[0] == 1.0
    finally:
        (isolated_cache / "validated").chmod(0o700)


def test_results_and_not_reported_tables_load_and_reach_the_dataset():
    from data.embedded import load_not_reported, load_results
    from data.loader import load_dataset
    from data.schema import NOT_REPORTED_COLUMNS, RESULT_COLUMNS

    ds = load_dataset(use_cache=False)
    assert list(ds.results.columns) == RESULT_COLUMNS and list(ds.not_reported.columns) == NOT_REPORTED_COLUMNS
    assert len(ds.results) == len(pd.read_csv(ROOT / "data" / "results.csv")) > 0
    assert len(ds.not_reported) == len(pd.read_csv(ROOT / "data" / "not_reported.csv")) > 0
    pd.testing.assert_frame_equal(ds.results, load_results())
    assert ds.results["value"].dtype == float and ds.not_reported["from_year"].dtype.kind == "i"
    assert load_not_reported()["source"].str.startswith("http").all()


def test_absent_results_and_not_reported_files_give_empty_tables_with_their_columns(tmp_path):
    from data.embedded import load_not_reported, load_results
    from data.schema import NOT_REPORTED_COLUMNS, RESULT_COLUMNS

    res, nr = load_results(tmp_path / "results.csv"), load_not_reported(tmp_path / "not_reported.csv")
    assert res.empty and list(res.columns) == RESULT_COLUMNS
    assert nr.empty and list(nr.columns) == NOT_REPORTED_COLUMNS


def test_results_and_not_reported_validators_name_the_bad_cells(tmp_path):
    from data.embedded import load_not_reported, load_results

    bad = tmp_path / "results.csv"
    bad.write_text("ticker,fiscal_year,period_end,currency,field,value,precision,stated,released,source,note,kind\n"
                   "NVDA,2026,2026-01-25,USD,Total Revenue,215900000000,100000000,$215.9 billion,2026-02-25,"
                   "https://x.test,,company release\n"
                   "NVDA,2026,2026-01-25,USD,Net Income,120100000000,0,$120.1B,Feb 2026,https://y.test,,blog\n")
    with pytest.raises(DataValidationError) as err:
        load_results(bad)
    text = str(err.value)
    assert "column 'precision'" in text and "column 'released'" in text and "column 'kind'" in text
    nr = tmp_path / "not_reported.csv"
    nr.write_text("ticker,field,from_year,to_year,reason,source\n"
                  "ORCL,Reconciled Depreciation,2024,2023,two cash-flow lines and no total,https://x.test\n"
                  "ORCL,Not A Line,2023,2025,two cash-flow lines and no total,ftp://x.test\n")
    with pytest.raises(DataValidationError) as err:
        load_not_reported(nr)
    text = str(err.value)
    assert "to_year before from_year" in text and "column 'field'" in text and "column 'source'" in text
