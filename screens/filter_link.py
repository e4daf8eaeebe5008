"""The screener's filters in the URL, Finviz-style, so a link reopens the same screen.

Pure functions (no Streamlit): :func:`encode` turns the filter widgets' values
into query parameters, writing only what differs from the preset's defaults
(and from the full market-cap range) so links stay short; :func:`decode` turns
parameters back into widget values, ignoring anything invalid with a notice.

Parameters (all optional)::

    seg=cloud,energy        segments            sub=nuclear power     subsegments
    mcap=10-500             market cap, USD bn  min=50,0,40,0         minimum pillar scores
    nd=2.5 | off            net debt / EBITDA at most (x)
    fcfm=10 | off           FCF margin at least (%)
    gm=40 | off             gross margin at least (%)
    nocycle=1 | 0           exclude companies on a loop cycle
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from metrics.checks import PILLARS

PARAMS = ("seg", "sub", "mcap", "min", "nd", "fcfm", "gm", "nocycle")
MAX_ITEMS = 20
_ASCII_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)

# (parameter, use-key, value-key, preset filter key, preset default value, scale to widget units, bounds)
THRESHOLDS = (
    ("nd", "f_use_nd", "f_nd", "max_net_debt_to_ebitda", 3.0, 1.0, (0.0, 20.0)),
    ("fcfm", "f_use_fcf", "f_fcf", "min_fcf_margin", 0.10, 100.0, (-100.0, 100.0)),
    ("gm", "f_use_gm", "f_gm", "min_gross_margin", 0.40, 100.0, (0.0, 100.0)),
)


def preset_defaults(preset_filters: Mapping[str, Any]) -> dict[str, Any]:
    """The filter widgets' values a preset starts from (as ``screens.screener`` seeds them)."""
    out: dict[str, Any] = {f"f_min_{p}": int(preset_filters.get(f"min_{p}", 0)) for p in PILLARS}
    for _, use_key, value_key, filter_key, default, scale, _ in THRESHOLDS:
        out[use_key] = filter_key in preset_filters
        out[value_key] = float(preset_filters.get(filter_key, default)) * scale
    out["f_excl"] = bool(preset_filters.get("exclude_on_cycle", False))
    return out


def _num(x: float) -> str:
    return f"{x:g}"


def encode(values: Mapping[str, Any], preset_filters: Mapping[str, Any], cap_max: float) -> dict[str, str]:
    """Query parameters for the filter widget ``values`` (keys ``f_...``); empty when nothing differs."""
    base = preset_defaults(preset_filters)
    qp: dict[str, str] = {}
    for param, key in (("seg", "f_segments"), ("sub", "f_subsegments")):
        if values.get(key):
            qp[param] = ",".join(values[key])
    lo_hi = values.get("f_mcap")
    if lo_hi is not None and tuple(lo_hi) != (0.0, cap_max):
        qp["mcap"] = f"{_num(lo_hi[0])}-{_num(lo_hi[1])}"
    mins = [int(values.get(f"f_min_{p}", base[f"f_min_{p}"])) for p in PILLARS]
    if mins != [base[f"f_min_{p}"] for p in PILLARS]:
        qp["min"] = ",".join(str(m) for m in mins)
    for param, use_key, value_key, *_ in THRESHOLDS:
        use, value = bool(values.get(use_key, base[use_key])), float(values.get(value_key, base[value_key]))
        if use != base[use_key] or (use and value != base[value_key]):
            qp[param] = _num(value) if use else "off"
    excl = bool(values.get("f_excl", base["f_excl"]))
    if excl != base["f_excl"]:
        qp["nocycle"] = "1" if excl else "0"
    return qp


def parse_number(text: str) -> float | None:
    """A finite number written in ASCII digits ('4', '-2.5', '1e3'); None for anything else.

    'nan', 'inf', garbage and digits of other scripts (Arabic-Indic '٤', full-width
    '４', which ``float`` alone would read) are refused.
    """
    if not isinstance(text, str) or not _ASCII_NUMBER.fullmatch(text.strip()):
        return None
    x = float(text)
    return x if math.isfinite(x) else None


def _names(raw: str, known: set[str], label: str, notices: list[str]) -> list[str]:
    items = [x.strip() for x in str(raw).split(",") if x.strip()][:MAX_ITEMS]
    good = list(dict.fromkeys(x for x in items if x in known))
    bad = [x[:30] for x in items if x not in known]
    if bad:
        notices.append(f"Ignored unknown {label} in the link: {', '.join(bad[:5])}.")
    return good


def _decode_mcap(raw: str, cap_max: float | None, out: dict[str, Any], notices: list[str]) -> None:
    """``mcap=LO-HI`` (USD bn) into ``out["f_mcap"]``, or a notice: when invalid, or when the whole range lies above
    the slider's maximum ``cap_max`` (the largest company; the screener would otherwise reset it silently)."""
    parts = raw.split("-")
    lo, hi = (parse_number(parts[0]), parse_number(parts[1])) if len(parts) == 2 else (None, None)
    if lo is None or hi is None or not 0 <= lo <= hi:
        notices.append(f"Ignored invalid market-cap range {raw[:30]!r} (expected e.g. 10-500, USD bn).")
    elif cap_max is not None and lo > cap_max:
        notices.append(f"Ignored market-cap range {raw[:30]!r}: no company is above USD {_num(cap_max)} bn, "
                       f"the slider's maximum; showing all market caps.")
    else:
        out["f_mcap"] = (lo, hi)


def decode(params: Mapping[str, str], segments: set[str], subsegments: set[str],
           cap_max: float | None = None) -> tuple[dict[str, Any], list[str]]:
    """Widget values (keys ``f_...``) from the link's filter parameters, and a notice per ignored value.

    ``cap_max``: the market-cap slider's maximum (USD bn); a range entirely above it is ignored with a notice.
    """
    out: dict[str, Any] = {}
    notices: list[str] = []
    if "seg" in params:
        out["f_segments"] = _names(params["seg"], segments, "segment", notices)
    if "sub" in params:
        out["f_subsegments"] = _names(params["sub"], subsegments, "subsegment", notices)
    if "mcap" in params:
        _decode_mcap(str(params["mcap"]), cap_max, out, notices)
    if "min" in params:
        parts = str(params["min"]).split(",")
        mins = [parse_number(x) for x in parts] if len(parts) == len(PILLARS) else []
        if mins and all(m is not None and 0 <= m <= 100 and m == int(m) for m in mins):
            out.update({f"f_min_{p}": int(m) for p, m in zip(PILLARS, mins)})
        else:
            notices.append(f"Ignored invalid minimum scores {str(params['min'])[:30]!r} "
                           "(expected four whole numbers 0–100, e.g. 50,0,40,0).")
    for param, use_key, value_key, _, _, _, (lo, hi) in THRESHOLDS:
        if param not in params:
            continue
        raw = str(params[param])
        if raw == "off":
            out[use_key] = False
            continue
        x = parse_number(raw)
        if x is not None and lo <= x <= hi:
            out[use_key], out[value_key] = True, x
        else:
            notices.append(f"Ignored invalid {param}={raw[:20]!r} (expected a number from {_num(lo)} to {_num(hi)}, or off).")
    if "nocycle" in params:
        raw = str(params["nocycle"]).lower()
        if raw in ("1", "true", "0", "false"):
            out["f_excl"] = raw in ("1", "true")
        else:
            notices.append(f"Ignored invalid nocycle={raw[:20]!r} (expected 1 or 0).")
    return out, notices
