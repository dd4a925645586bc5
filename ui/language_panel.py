"""Language on the pages: the dataset's profile, the BM25 analyzer (app-wide), models that do not fit.

The analyzer choice lives in a session key no widget owns (like the index type: ``ui.state``), so
the Retrieval, RAG quality and Sweep pages use the analyzer chosen on the Index page.

Usage:
    language_caption(ds)                   # Data, Index, Retrieval pages
    analyzer_setting(caps, ds)             # Index page: "auto" or a named analyzer, and what auto means here
    model_fit_notes(["minilm", "bm25"], ds)  # "all-MiniLM-L6-v2 is an English model; 100 % of ..."
"""

from __future__ import annotations

import streamlit as st

from rag.data.language import language_name, profile_dataset
from ui.state import INDEX_KEYS, _copy, _seeded, index_config


@st.cache_data(show_spinner="Profiling the languages…", max_entries=8)
def _profile(_ds, key: str):
    return profile_dataset(_ds)


def profile(ds):
    """The dataset's language profile (cached per content hash, here and in ``rag.data.language``)."""
    return _profile(ds, ds.content_hash())


def language_caption(ds) -> None:
    if ds.modality == "image" and not any(d.text for d in ds.documents):
        return
    st.caption(f"🌐 Languages · {profile(ds).summary()}")


def language_details(ds) -> None:
    """The Data page's profile: shares per language for documents and questions, scripts, mixed texts."""
    import pandas as pd

    p = profile(ds)
    rows = [{"side": side, "language": f"{language_name(lang)} ({lang})", "share": f"{100 * share:.1f} %"}
            for side, shares in (("documents", p.documents), ("questions", p.queries)) for lang, share in
            shares.items()]
    with st.expander(f"Languages: main language {language_name(p.main_language)}", expanded=False):
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        scripts = ", ".join(f"{k} {100 * v:.0f} %" for k, v in p.document_side.scripts.items())
        st.caption(f"Scripts (documents): {scripts} · mixed-language texts: {p.mixed_count} · detector: {p.detector}")


def analyzer_setting(caps, ds) -> None:
    """The BM25 analyzer select (app-wide key) and what it resolves to on this server for this dataset."""
    from rag.milvus.analyzers import ANALYZERS, analyzer_names, choose_analyzer
    from rag.milvus.capabilities import MilvusUnsupported

    names = analyzer_names()
    st.selectbox("BM25 analyzer (BM25 and hybrid)", names, key=_seeded("w_bm25_analyzer", index_config().bm25_analyzer),
                 on_change=_copy, args=("w_bm25_analyzer", INDEX_KEYS["analyzer"]),
                 format_func=lambda n: "auto (from the corpus' language)" if n == "auto" else
                 f"{n}: {ANALYZERS[n].description}",
                 help="auto picks the analyzer for the corpus' main language (English: standard + stop words; "
                      "Chinese: jieba on Milvus Lite, chinese on a server). The choice holds app-wide.")
    try:
        choice = choose_analyzer(profile(ds).main_language, caps, index_config().bm25_analyzer)
    except MilvusUnsupported as e:
        st.warning(f"BM25 and hybrid cannot run on this data: {e}", icon="⚠️")
        return
    st.caption(f"BM25 analyzer for **{ds.name}**: {choice.label()}" + (f" — {choice.note}" if choice.note else ""))


def model_fit_notes(names: list[str], ds) -> None:
    """A warning per model whose languages do not cover the corpus (nothing for models that fit)."""
    from rag.models.base import ModelUnavailable
    from rag.models.language_fit import fit_warning
    from rag.models.registry import resolve

    for name in names:
        try:
            why = fit_warning(resolve(name), profile(ds))
        except (ModelUnavailable, ValueError):
            continue
        if why:
            st.warning(f"**{name}**: {why}. Its scores measure the mismatch, not retrieval on your data.", icon="🌐")
