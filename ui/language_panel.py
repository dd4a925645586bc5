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

from rag.data.language import UNDETERMINED, language_name, profile_dataset
from rag.i18n import DEFAULT, N_, _, babel_locale, current_language, ngettext
from ui.interface_language import keep_on_switch
from ui.state import INDEX_KEYS, _copy, _seeded, index_config

# The BM25 analyzers' descriptions (rag.milvus.analyzers, English at import): keys here, shown with _().
ANALYZER_TEXTS = (
    N_("standard tokenizer + lowercase + English stop words"),
    N_("standard tokenizer + lowercase: languages written with spaces between words"),
    N_("jieba Chinese word segmentation"), N_("Milvus' Chinese analyzer (jieba + cnalphanumonly filter)"),
    N_("lindera with the IPADIC dictionary (Japanese)"), N_("lindera with the ko-dic dictionary (Korean)"),
    N_("ICU word boundaries (Thai, Lao, Khmer, Burmese and spaced languages)"))


def language_label(code: str) -> str:
    """A language's name in the session's language: Babel's display name ("中文"), the English name as
    ``rag.data.language`` writes it in English (the source text unchanged)."""
    if current_language() == DEFAULT or not code:
        return language_name(code)
    if code == UNDETERMINED:
        return _("undetermined")
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(code).get_display_name(babel_locale()) or language_name(code)
    except (ValueError, UnknownLocaleError):
        return language_name(code)


def _pct(x: float) -> str:
    p = 100 * x  # as rag.data.language writes a share
    return f"{p:.1f} %" if 0 < p < 1 or 99 < p < 100 else f"{p:.0f} %"


def profile_summary(p) -> str:
    """``LanguageProfile.summary()`` in the session's language (the same text in English)."""
    def side(shares: dict[str, float], top: int = 3) -> str:
        if not shares:
            return _("none")
        parts = [_("{share} {language}").format(share=_pct(v), language=language_label(k))
                 for k, v in list(shares.items())[:top]]
        rest = sum(list(shares.values())[top:])
        return _(", ").join(parts) + (_(", {share} other").format(share=_pct(rest)) if rest > 0 else "")

    d = p.document_side
    sampled = "" if d.profiled == d.total else _(" (a sample of {n} of {total} documents)").format(
        n=f"{d.profiled:,}", total=f"{d.total:,}")
    mixed = ngettext("{n} mixed-language text", "{n} mixed-language texts", p.mixed_count).format(n=p.mixed_count)
    if p.mixed_count:
        mixed += f" ({_pct(p.mixed_share)})"
    return _("Documents: {documents}{sampled} · questions: {questions} · {mixed}").format(
        documents=side(p.documents), sampled=sampled, questions=side(p.queries), mixed=mixed)


@st.cache_data(show_spinner=False, max_entries=8)
def _profile(_ds, key: str):
    return profile_dataset(_ds)


def profile(ds):
    """The dataset's language profile (cached per content hash, here and in ``rag.data.language``)."""
    with st.spinner(_("Profiling the languages…")):
        return _profile(ds, ds.content_hash())


def language_caption(ds) -> None:
    if ds.modality == "image" and not any(d.text for d in ds.documents):
        return
    st.caption("🌐 " + _("Languages · {summary}").format(summary=profile_summary(profile(ds))))


def language_details(ds) -> None:
    """The Data page's profile: shares per language for documents and questions, scripts, mixed texts."""
    import pandas as pd

    p = profile(ds)
    from ui.tables import localized

    rows = [{"side": side, "language": f"{language_label(lang)} ({lang})", "share": f"{100 * share:.1f} %"}
            for side, shares in (("documents", p.documents), ("questions", p.queries)) for lang, share in
            shares.items()]
    with st.expander(_("Languages: main language {language}").format(language=language_label(p.main_language)),
                     expanded=False):
        st.dataframe(localized(pd.DataFrame(rows)), hide_index=True, width="stretch")
        scripts = ", ".join(f"{k} {100 * v:.0f} %" for k, v in p.document_side.scripts.items())
        st.caption(_("Scripts (documents): {scripts} · mixed-language texts: {mixed} · detector: {detector}").format(
            scripts=scripts, mixed=p.mixed_count, detector=p.detector.replace("Unicode scripts", _("Unicode scripts"))))


def analyzer_setting(caps, ds) -> None:
    """The BM25 analyzer select (app-wide key) and what it resolves to on this server for this dataset."""
    from rag.milvus.analyzers import ANALYZERS, analyzer_names, choose_analyzer
    from rag.milvus.capabilities import MilvusUnsupported

    names = analyzer_names()
    st.selectbox(_("BM25 analyzer (BM25 and hybrid)"), names,
                 key=keep_on_switch(_seeded("w_bm25_analyzer", index_config().bm25_analyzer)),
                 on_change=_copy, args=("w_bm25_analyzer", INDEX_KEYS["analyzer"]),
                 format_func=lambda n: _("auto (from the corpus' language)") if n == "auto" else
                 f"{n}: {_(ANALYZERS[n].description)}",
                 help=_("auto picks the analyzer for the corpus' main language (English: standard + stop words; "
                        "Chinese: jieba on Milvus Lite, chinese on a server). The choice holds app-wide."))
    try:
        choice = choose_analyzer(profile(ds).main_language, caps, index_config().bm25_analyzer)
    except MilvusUnsupported as e:
        st.warning(_("BM25 and hybrid cannot run on this data: {error}").format(error=e), icon="⚠️")
        return
    how = (_("chosen for {language}").format(language=language_label(choice.language)) if choice.chosen == "auto"
           else _("set by you"))
    st.caption(_("BM25 analyzer for **{dataset}**: {analyzer}").format(dataset=ds.name,
                                                                       analyzer=f"{choice.name} ({how})")
               + (f" — {choice.note}" if choice.note else ""))


def model_fit_notes(names: list[str], ds) -> None:
    """A warning per model whose languages do not cover the corpus (nothing for models that fit)."""
    from rag.models.base import ModelUnavailable
    from rag.models.registry import resolve

    for name in names:
        try:
            why = fit_note(resolve(name), profile(ds))
        except (ModelUnavailable, ValueError):
            continue
        if why:
            st.warning(_("**{model}**: {why}. Its scores measure the mismatch, not retrieval on your data.").format(
                model=name, why=why), icon="🌐")


def fit_note(spec, p) -> str | None:
    """``rag.models.language_fit.fit_warning`` in the session's language (the same text in English, which is what
    runs record): "all-MiniLM-L6-v2 是英语模型，而你的文档 100 % 是中文"."""
    from rag.models.language_fit import fit_gap, fit_warning, model_name, pct

    if current_language() == DEFAULT or (gap := fit_gap(spec, p)) is None:
        return fit_warning(spec, p)
    langs, lang, share = gap
    model = model_name(spec)
    if spec.kind == "hybrid":
        model = _("the dense part of {spec} ({model})").format(spec=spec.ref, model=model)
    return _("{model} is a {reads} model; {share} of your documents are {language}").format(
        model=model, reads=_(" and ").join(language_label(c) for c in langs), share=pct(share),
        language=language_label(lang))
