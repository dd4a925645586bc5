"""Scoring: retrieval metrics, Ragas wiring and statistics. No Streamlit imports."""
