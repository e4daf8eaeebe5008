"""The screens CLI: score, card (JSON and PNG), loop; bad input gives a message and exit 2."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from screens.__main__ import main
from screens.export import safe_csv
from tests.conftest import skip_without_chromium

ROOT = Path(__file__).resolve().parents[1]
METRIC_KEYS = {"current_ratio", "net_debt_to_ebitda", "interest_coverage", "fcf_margin", "fcf_conversion", "fcf_yield",
               "gross_margin", "operating_margin", "gross_margin_stability", "capex_to_ocf"}


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_card_json_has_the_documented_shape(capsys):
    code, out, _ = run(capsys, "card", "MSFT", "--json")
    assert code == 0
    card = json.loads(out)
    for k in ("ticker", "name", "segment", "currency", "as_of", "composite", "grade", "pillars", "metrics"):
        assert k in card
    assert set(card["pillars"]) == {"balance_sheet", "free_cash_flow", "pricing_power", "loop_exposure"}
    chk = card["pillars"]["free_cash_flow"]["checks"][0]
    assert set(chk) >= {"id", "label", "value", "unit", "threshold", "result", "explanation", "inputs"}
    assert set(card["metrics"]) == METRIC_KEYS
    # MSFT FY2025 (June 2025 10-K): gross profit 193,893 / revenue 281,724 = 0.688; fractions, not percent
    assert card["metrics"]["gross_margin"] == pytest.approx(193893 / 281724)
    assert card["as_of"] == "2025-06-30"
    # net debt / EBITDA by hand from the embedded rows: MSFT reports the parts of total debt, not the total
    import pandas as pd

    rows = pd.read_csv(ROOT / "data" / "fundamentals.csv")
    v = rows[(rows["ticker"] == "MSFT") & (rows["fiscal_year"] == 2025)].set_index("field")["value"]
    current = v.get("Current Debt", v.get("Commercial Paper", 0) + v.get("Other Current Borrowings", 0))
    debt = v.get("Total Debt", current + v["Long Term Debt"])
    cash = v.get("Cash Cash Equivalents And Short Term Investments",
                 v["Cash And Cash Equivalents"] + v.get("Other Short Term Investments", 0))
    ebitda = v["Operating Income"] + v["Reconciled Depreciation"]
    assert card["metrics"]["net_debt_to_ebitda"] == pytest.approx((debt - cash) / ebitda)
    nd = next(c for c in card["pillars"]["balance_sheet"]["checks"] if c["id"] == "net_debt_to_ebitda")
    if "Total Debt" not in v:
        assert nd["derived_inputs"]["Total Debt"] == "derived: Current Debt + Long Term Debt"
    assert any(d["field"] == "Total Debt" and d["fiscal_year"] == 2025 for d in card["derived"]) == ("Total Debt" not in v)


def test_unknown_ticker_is_a_clear_message_and_exit_2(capsys):
    code, out, err = run(capsys, "card", "ZZZZ", "--json")
    assert code == 2 and "Unknown ticker" in err and out == ""


def test_score_json_csv_and_bad_arguments(capsys):
    code, out, _ = run(capsys, "score", "--preset", "Pricing power", "--json")
    assert code == 0
    rows = json.loads(out)["rows"]
    assert rows and all(r["gross_margin"] >= 0.40 for r in rows)
    code, out, _ = run(capsys, "score", "--segment", "energy", "--relative", "--csv")
    assert code == 0 and out.splitlines()[0].startswith("ticker,")
    assert all(",energy," in line for line in out.splitlines()[1:])
    assert run(capsys, "score", "--preset", "Nope")[0] == 2
    assert run(capsys, "score", "--segment", "crypto")[0] == 2


def test_loop_json_and_stress(capsys):
    code, out, _ = run(capsys, "loop", "--json", "--stress", "OpenAI=0.5")
    assert code == 0
    data = json.loads(out)
    assert {"nodes", "edges", "cycles", "exposure", "stress"} <= set(data)
    assert all(isinstance(c["nodes"], list) and len(c["nodes"]) <= 6 for c in data["cycles"])
    assert set(data["exposure"]["ORCL"]) >= {"loop_revenue_share", "on_cycle", "cycle_count", "vendor_financing", "score"}
    early = json.loads(run(capsys, "loop", "--json", "--as-of", "2024-01-01")[1])
    assert len(early["edges"]) < len(data["edges"])
    assert run(capsys, "loop", "--as-of", "yesterday-ish")[0] == 2
    assert run(capsys, "loop", "--stress", "OpenAI=abc")[0] == 2
    assert run(capsys, "loop", "--stress", "Nobody=0.5")[0] == 2


def test_csv_export_neutralises_formula_injection():
    import pandas as pd

    df = pd.DataFrame({"name": ["=HYPERLINK(\"http://evil\")", "+1+1", "@SUM(A1)", "Normal"], "value": [-1.5, 2, 3, 4]})
    text = safe_csv(df).decode()
    assert "'=HYPERLINK" in text and "'+1+1" in text and "'@SUM" in text
    assert "\n-1.5," not in text and ",-1.5" in text  # numbers untouched


def test_card_png_is_a_valid_1600x900_png(tmp_path):
    skip_without_chromium()
    out = tmp_path / "nvda.png"
    res = subprocess.run([sys.executable, "-m", "screens", "card", "NVDA", "--png", str(out)], cwd=ROOT,
                         capture_output=True, timeout=180)
    assert res.returncode == 0, res.stderr.decode()[-500:]
    head = out.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (1600, 900)
