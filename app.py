"""Kosmos — navigation only. Run: streamlit run app.py"""

from pathlib import Path

import streamlit as st

from data.schema import DataValidationError

# A local image, served by Streamlit itself: an emoji icon costs ~0.3 s of regex compilation on the
# first run, a Material icon makes the browser fetch the favicon from Google's font servers.
FAVICON = Path(__file__).parent / "screens" / "assets" / "favicon.png"
st.set_page_config(page_title="Kosmos · AI-ecosystem screener", page_icon=FAVICON, layout="wide")

PAGES = [
    st.Page("screens/screener.py", title="Screener", icon=":material/search:", url_path="screener", default=True),
    st.Page("screens/scorecard.py", title="Scorecard", icon=":material/badge:", url_path="scorecard"),
    st.Page("screens/loop_map.py", title="Loop map", icon=":material/cycle:", url_path="loop"),
    st.Page("screens/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    st.Page("screens/methodology.py", title="Methodology", icon=":material/straighten:", url_path="methodology"),
]

try:
    st.navigation(PAGES).run()
except DataValidationError as exc:  # a broken data file: the precise message, never a traceback
    st.error("Kosmos cannot show its data: a data file failed its checks (file, row and column below). "
             "Restore the file or rebuild the data set with `python -m data.build_embedded`; "
             "`python -m data validate` gives the full report.", icon=":material/error:")
    st.code(str(exc), language=None)
    st.stop()
