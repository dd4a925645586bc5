"""The pipeline under test: datasets, embedders, Milvus store, retrieval, generators, run store.

Nothing in this package imports Streamlit, so every step can be run and tested headless.
"""
