"""Kosmos — navigation only. Run: streamlit run app.py"""

import streamlit as st

st.set_page_config(page_title="Kosmos · AI-ecosystem screener", page_icon="🛰️", layout="wide")

PAGES = [
    st.Page("screens/screener.py", title="Screener", icon=":material/search:", url_path="screener", default=True),
    st.Page("screens/scorecard.py", title="Scorecard", icon=":material/badge:", url_path="scorecard"),
    st.Page("screens/loop_map.py", title="Loop map", icon=":material/cycle:", url_path="loop"),
    st.Page("screens/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    st.Page("screens/methodology.py", title="Methodology", icon=":material/straighten:", url_path="methodology"),
]

st.navigation(PAGES).run()
