"""Data files that cannot lie (issue 15): manifest, validate's verdict, plausibility bounds, clean data errors.

Every fault is made in a copy of the data folder under tmp_path, which the loaders read through
``$KOSMOS_DATA_DIR``; nothing under data/ is ever written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from data.embedded import clear_caches, load_statements
from data.identities import describe_refused, plausible_tables, statement_plausibility
from data.loader import load_dataset
from data.loop import load_concentration, load_deals
from data.manifest import MANIFEST_NAME, PACKAGE_DIR, build_manifest, verify, write_manifest
from data.schema import DataValidationError
from tests.conftest import statements_from

ROOT = Path(__file__).resolve().parents[1]
#: data rows of the shipped statements file, counted by pandas (not taken from the manifest under test)
ROWS = len(pd.read_csv(PACKAGE_DIR / "fundamentals.csv"))


def _forget() -> None:
    clear_caches()
    load_deals.cache_clear()
    load_concentration.cache_clear()


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A copy of the shipped data folder (CSV files, manifest, the reference files validate reads)."""
    folder = tmp_path / "data"
    (folder / "reference").mkdir(parents=True)
    for p in PACKAGE_DIR.glob("*.csv"):
        shutil.copy(p, folder / p.name)
    shutil.copy(PACKAGE_DIR / MANIFEST_NAME, folder / MANIFEST_NAME)
    for rel in ("reference/explanations.csv", "reference/published_ratios.csv"):
        shutil.copy(PACKAGE_DIR / rel, folder / rel)
    monkeypatch.setenv("KOSMOS_DATA_DIR", str(folder))
    _forget()
    yield folder
    _forget()


def _env(folder: Path) -> dict[str, str]:
    return {**os.environ, "KOSMOS_DATA_DIR": str(folder)}


def _validate(folder: Path, *args: str) -> tuple[int, dict]:
    out = subprocess.run([sys.executable, "-m", "data", "validate", "--json", *args], cwd=ROOT, env=_env(folder),
                         capture_output=True, text=True, timeout=180)
    return out.returncode, json.loads(out.stdout)


def _edit_line(path: Path, starts: str, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in the one line of ``path`` starting with ``starts``."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.startswith(starts) and old in line]
    assert len(hits) == 1, (starts, old, len(hits))
    lines[hits[0]] = lines[hits[0]].replace(old, new, 1)
    path.write_text("".join(lines), encoding="utf-8")


# ------------------------------------------------------------------ manifest

def test_the_shipped_manifest_matches_every_shipped_file():
    assert verify(PACKAGE_DIR) == []
    shipped = json.loads((PACKAGE_DIR / MANIFEST_NAME).read_text())
    assert shipped == build_manifest(PACKAGE_DIR)  # current: rewriting it would change nothing
    files = shipped["files"]
    for name in ("fundamentals.csv", "crosscheck.csv", "market.csv", "fx.csv", "universe.csv", "deals.csv",
                 "concentration.csv", "commitments.csv", "useful_lives.csv", "ppe_servers.csv", "results.csv",
                 "not_reported.csv", "reference/explanations.csv"):
        assert files[name]["rows"] > 0 and len(files[name]["sha256"]) == 64
    assert files["fundamentals.csv"]["rows"] == len(pd.read_csv(PACKAGE_DIR / "fundamentals.csv"))


def test_a_file_cut_mid_row_is_refused_by_the_loader_and_by_validate(data_copy):
    path = data_copy / "fundamentals.csv"
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * 0.6)])  # mid-row, as a full disk or an interrupted copy leaves it
    with pytest.raises(DataValidationError) as err:
        load_statements()
    text = str(err.value)
    assert "fundamentals.csv" in text and f"expected {ROWS} rows, found" in text and "sha256" in text
    assert "truncated" in text
    code, rep = _validate(data_copy)
    assert code == 1 and rep["ok"] is False
    assert rep["errors"] >= 1 and any("fundamentals.csv" in e and f"expected {ROWS} rows" in e
                                      for e in rep["data_errors"])


def test_a_header_only_file_is_refused(data_copy):
    path = data_copy / "fundamentals.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    with pytest.raises(DataValidationError, match=rf"expected {ROWS} rows, found 0"):
        load_statements()


def test_an_edited_value_with_the_same_row_count_is_refused(data_copy):
    _edit_line(data_copy / "fundamentals.csv", "NVDA,2025,", ",Total Revenue,130497000000,",
               ",Total Revenue,130497000001,")
    with pytest.raises(DataValidationError) as err:
        load_statements()
    assert "edited or replaced" in str(err.value) and f"expected {ROWS} rows, found {ROWS}" in str(err.value)


def test_a_missing_manifest_is_refused(data_copy):
    (data_copy / MANIFEST_NAME).unlink()
    with pytest.raises(DataValidationError, match="manifest.json is missing"):
        load_statements()


def test_deals_and_concentration_cut_in_half_are_refused(data_copy):
    for name, loader in (("deals.csv", load_deals), ("concentration.csv", load_concentration)):
        path = data_copy / name
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(lines[: len(lines) // 2]))
        _forget()
        with pytest.raises(DataValidationError, match=rf"{name}: does not match manifest.json"):
            loader()
    code, rep = _validate(data_copy)
    assert code == 1
    assert any(e.startswith("deals.csv") for e in rep["data_errors"]) and any(
        e.startswith("concentration.csv") for e in rep["data_errors"])


def test_validate_reads_the_deals_file(data_copy):
    """A bad deals row with a manifest that matches it (rewritten) still fails validate, naming the row."""
    path = data_copy / "deals.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace(lines[1].split(",")[4], "not_a_flow", 1)
    path.write_text("".join(lines))
    write_manifest(data_copy)
    code, rep = _validate(data_copy)
    assert code == 1 and any(e.startswith("deals.csv row 0 (line 2)") and "unknown flow type" in e
                             for e in rep["data_errors"])


def test_ok_needs_no_errors_and_every_done_when_check(monkeypatch, capsys):
    import data.__main__ as cli

    report = {"errors": 0, "done_when": {"coverage_95pct_for_all": False, "no_unsourced_values": True}}
    monkeypatch.setattr(cli, "validation_report", lambda: report)
    assert cli.main(["validate", "--json"]) == 0  # no errors: exit 0 ...
    assert json.loads(capsys.readouterr().out)["ok"] is False  # ... but not ok: a done-when check is unmet
    assert cli.main(["validate", "--json", "--strict"]) == 1
    capsys.readouterr()
    report.update(errors=2, done_when={"coverage_95pct_for_all": True})
    assert cli.main(["validate", "--json"]) == 1 and json.loads(capsys.readouterr().out)["ok"] is False
    report.update(errors=0)
    assert cli.main(["validate", "--json", "--strict"]) == 0 and json.loads(capsys.readouterr().out)["ok"] is True


def test_validate_help_documents_ok_and_the_exit_codes():
    out = subprocess.run([sys.executable, "-m", "data", "validate", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "Exit codes" in out.stdout and "done_when" in out.stdout and "--strict" in out.stdout


# ------------------------------------------------------------------ plausibility bounds

def _absurd_copy(folder: Path) -> None:
    """NVDA revenue 1e30, MSFT long-term debt 1e30, AMD market cap 1e30, EUR rate 1e-7; manifest rewritten."""
    _edit_line(folder / "fundamentals.csv", "NVDA,2025,", ",Total Revenue,130497000000,", ",Total Revenue,1e30,")
    _edit_line(folder / "fundamentals.csv", "MSFT,2025,", ",Long Term Debt,40152000000,", ",Long Term Debt,1e30,")
    _edit_line(folder / "market.csv", "AMD,", "AMD,USD,333270000000,", "AMD,USD,1e30,")
    _edit_line(folder / "fx.csv", "EUR,", "EUR,1.1845,", "EUR,1e-7,")
    write_manifest(folder)


def test_absurd_values_are_refused_at_load_and_shown_as_a_notice(data_copy):
    _absurd_copy(data_copy)
    ds = load_dataset(use_cache=False)
    st = ds.statements
    nvda = st[(st["ticker"] == "NVDA") & (st["field"] == "Total Revenue")]
    assert 2025 not in set(nvda["fiscal_year"]) and nvda["value"].max() < 1e12  # left out, nothing else touched
    msft = st[(st["ticker"] == "MSFT") & (st["field"] == "Long Term Debt")]
    assert msft["value"].max() < 1e12
    assert "AMD" not in set(ds.market["ticker"]) and "EUR" not in set(ds.fx["currency"])
    got = {(r.ticker, r.field) for r in ds.refused.itertuples()}
    assert got == {("NVDA", "Total Revenue"), ("MSFT", "Long Term Debt"), ("AMD", "market_cap"),
                   ("EUR", "usd_per_unit")}
    assert all(r for r in ds.refused["reason"])
    notice = " ".join(ds.notices)
    assert "4 value(s) refused" in notice and "NVDA FY2025 Total Revenue" in notice and "usd\\_per\\_unit" in notice


def test_validate_lists_refused_values_and_fails(data_copy):
    _absurd_copy(data_copy)
    code, rep = _validate(data_copy)
    assert code == 1 and rep["ok"] is False and rep["errors"] >= 4
    texts = [v["text"] for v in rep["implausible_values"]]
    assert any(t.startswith("NVDA FY2025 Total Revenue 1e+30: beyond USD 100 tn") for t in texts)
    assert any(t.startswith("AMD market_cap 1e+30") for t in texts)
    assert any(t.startswith("EUR usd_per_unit") for t in texts)


def test_a_value_1000x_its_other_years_is_refused_and_explained_ones_kept():
    rows = [("A", 2022, "Total Revenue", 100e6), ("A", 2023, "Total Revenue", 120e6),
            ("A", 2024, "Total Revenue", 150e9),
            ("B", 2023, "Current Debt", 746e6), ("B", 2024, "Current Debt", 0.1e6),  # two years: the larger one is off
            ("C", 2023, "Cash Dividends Paid", 0.0), ("C", 2024, "Cash Dividends Paid", -5e9),  # zero is not compared
            ("D", 2022, "Net Income", 2e9), ("D", 2023, "Net Income", 2.1e9), ("D", 2024, "Net Income", 1e3)]
    st = statements_from(rows)
    kept, refused = statement_plausibility(st, pd.DataFrame(columns=["currency", "usd_per_unit"]))
    assert {(r.ticker, int(r.fiscal_year)) for r in refused.itertuples()} == {("A", 2024), ("B", 2023), ("D", 2024)}
    assert "1.25e+03x the median" in refused.set_index("ticker").at["A", "reason"]
    explanations = pd.DataFrame({"rule": ["units"], "ticker": ["B"], "fiscal_year": [2023.0], "explanation": ["real"]})
    _, refused = statement_plausibility(st, pd.DataFrame(columns=["currency", "usd_per_unit"]), explanations)
    assert "B" not in set(refused["ticker"])


def test_bounds_convert_with_checked_rates_and_a_missing_rate_never_refuses():
    st = statements_from([("T", 2024, "Total Revenue", 5e15)]).assign(currency="JPY")  # JPY 5e15 = USD 3e13
    fx = pd.DataFrame({"currency": ["JPY"], "usd_per_unit": [0.0064], "as_of": ["2026-01-01"], "source": ["x"]})
    assert plausible_tables(st, st.iloc[:0], fx)[3].empty
    assert plausible_tables(st, st.iloc[:0], fx.iloc[:0])[3].empty  # no rate: converted at the lowest sane one
    st2 = st.assign(value=5e17)  # USD 3.2e15
    refused = plausible_tables(st2, st2.iloc[:0], fx)[3]
    assert len(refused) == 1 and describe_refused(next(refused.itertuples())).startswith("T FY2024 Total Revenue")


# ------------------------------------------------------------------ data errors: messages, not tracebacks

def test_screens_cli_reports_a_data_error_cleanly_and_exits_non_zero(data_copy):
    path = data_copy / "fundamentals.csv"
    path.write_bytes(path.read_bytes()[:50_000])
    out = subprocess.run([sys.executable, "-m", "screens", "score", "--json"], cwd=ROOT, env=_env(data_copy),
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 1 and out.stdout == ""
    assert "Traceback" not in out.stderr
    assert "fundamentals.csv: does not match manifest.json" in out.stderr
    assert f"expected {ROWS} rows" in out.stderr


def test_screens_cli_names_file_row_and_column_of_a_schema_error(data_copy):
    _edit_line(data_copy / "fundamentals.csv", "NVDA,2025,", ",Total Revenue,130497000000,", ",Total Revenue,lots,")
    write_manifest(data_copy)
    out = subprocess.run([sys.executable, "-m", "screens", "card", "NVDA", "--json"], cwd=ROOT, env=_env(data_copy),
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "fundamentals.csv row" in out.stderr and "column 'value'" in out.stderr


@pytest.mark.usefixtures("clear_streamlit_caches")
def test_the_app_shows_a_data_error_and_stops_without_a_traceback(data_copy):
    from tests.conftest import run_app

    path = data_copy / "deals.csv"
    path.write_bytes(path.read_bytes()[:5_000])
    at = run_app(timeout=120)
    assert not at.exception
    assert any("a data file failed its checks" in e.value for e in at.error)
    assert any("deals.csv: does not match manifest.json" in c.value for c in at.code)


def test_a_value_on_file_for_a_line_the_company_does_not_report_is_an_error(data_copy):
    """not_reported.csv says Oracle shows no D&A total for FY2024; a stored total contradicts it and fails validate."""
    path = data_copy / "fundamentals.csv"
    with path.open("a", encoding="utf-8") as f:
        f.write("ORCL,2024,2024-05-31,USD,Reconciled Depreciation,5463000000,https://stockanalysis.com/x,\n")
    write_manifest(data_copy)
    code, rep = _validate(data_copy)
    assert code == 1 and rep["errors"] >= 1
    (c,) = rep["not_reported"]["conflicts_with_values_on_file"]
    assert (c["ticker"], c["fiscal_year"], c["field"]) == ("ORCL", 2024, "Reconciled Depreciation")
