"""Baseline for the render benchmark: a bare Streamlit page showing the same universe table.

No scoring, no charts: just the universe CSV in a data grid and one sidebar
slider to trigger a rerun. Kosmos's render times are reported as ratios to this.
"""

from pathlib import Path

import pandas as pd
import streamlit as st

st.sidebar.slider("Weight", 0.0, 5.0, 1.0, step=0.5)
st.title("Bare page")
st.dataframe(pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "universe.csv"))
