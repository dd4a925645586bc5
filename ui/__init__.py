"""Streamlit components the pages are composed of (not pages themselves, so none shows up as a stray page)."""
