"""The embedded data set: real reported figures, sourced, validated on load."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from data.embedded import load_market, load_statements, load_universe
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
    """Nothing filled or changed: each embedded value is one reference row, verbatim."""
    ref = pd.concat([pd.read_csv(p) for p in SHARED.glob("*.csv") if not p.stem.endswith("_market")
                     and not p.stem.endswith("_fill")])
    emb = load_statements()
    merged = emb.merge(ref, on=["ticker", "fiscal_year", "field"], suffixes=("", "_ref"), how="left")
    assert merged["value_ref"].notna().all()
    assert (merged["value"] == merged["value_ref"]).all()
    assert (merged["source"] == merged["source_ref"]).all()
    assert len(emb) == len(ref.dropna(subset=["value"]))


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


def test_validate_cli_json_reports_coverage():
    out = subprocess.run([sys.executable, "-m", "data", "validate", "--json"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rep = json.loads(out.stdout)
    assert rep["companies"] >= 30 and len(rep["segments"]) == 4
    assert rep["unsourced_values"] == 0
    assert rep["share_with_2plus_fiscal_years"]["of_companies_with_figures"] >= 0.9
    assert "NVDA" in rep["companies_without_figures"]
