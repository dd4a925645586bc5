"""Does a model read the corpus' language? One sentence next to its scores when it does not.

A model trained on English text embeds Chinese as noise; its low score then says nothing about
retrieval on this corpus, only about the mismatch. ``ModelSpec.languages`` holds what a model reads
(its card or catalog entry: all-MiniLM-L6-v2 is English, OpenAI's embeddings are multilingual, BM25
reads what its analyzer tokenizes: ``rag.milvus.analyzers``); this module compares it with the
dataset's ``LanguageProfile`` and says so, in the words every page, the CLI and the report show.

Usage:
    fit_warning(resolve("minilm"), profile_dataset(ds))
    # "all-MiniLM-L6-v2 is an English model; 100 % of your documents are Chinese"
"""

from __future__ import annotations

from rag.data.language import LanguageProfile, language_name
from rag.i18n import _

MULTILINGUAL, BY_ANALYZER = "*", "analyzer"
NOTICE_SHARE = 0.2  # a language not the main one is named when it holds at least this share of documents


def model_name(spec) -> str:
    """all-MiniLM-L6-v2 from sentence-transformers/all-MiniLM-L6-v2 (the name on the model's card)."""
    return spec.model_id.rsplit("/", 1)[-1] if spec.model_id else spec.ref


def pct(x: float) -> str:
    p = 100 * x
    return f"{p:.1f} %" if 0 < p < 1 or 99 < p < 100 else f"{p:.0f} %"


def fit_gap(spec, profile: LanguageProfile) -> tuple[tuple[str, ...], str, float] | None:
    """(the languages the model reads, the uncovered language, its share of the documents) when the model's
    languages do not cover the corpus (its main language, or any language holding >= 20 % of the documents),
    else None (covered, multilingual, BM25, or languages unknown). The facts ``fit_warning`` words (the pages
    word them in the reader's language)."""
    langs = tuple(getattr(spec, "languages", ()) or ())
    if not langs or MULTILINGUAL in langs or BY_ANALYZER in langs:
        return None
    uncovered = [(lang, share) for lang, share in profile.documents.items()
                 if lang not in langs and lang != "und" and (lang == profile.main_language or share >= NOTICE_SHARE)]
    if not uncovered:
        return None
    lang, share = max(uncovered, key=lambda x: x[1])
    return langs, lang, share


def fit_warning(spec, profile: LanguageProfile) -> str | None:
    """Why the model's languages do not cover the corpus, in the current language (English by default), or None."""
    if (gap := fit_gap(spec, profile)) is None:
        return None
    langs, lang, share = gap
    reads = _(" and ").join(language_name(code) for code in langs)
    part = _("the dense part of {ref}, ").format(ref=spec.ref) if spec.kind == "hybrid" else ""
    # English's article follows the language's name ("an English model"); both keys read alike in Chinese
    return (_("{part}{model} is an {reads} model; {share} of your documents are {language}")
            if reads[:1].upper() in "AEIOU" else
            _("{part}{model} is a {reads} model; {share} of your documents are {language}")).format(
        part=part, model=model_name(spec), reads=reads, share=pct(share), language=language_name(lang))


def fit_warnings(specs, profile: LanguageProfile) -> dict[str, str]:
    """{model key: warning} for the models whose languages do not cover the corpus."""
    out = {}
    for spec in specs:
        if (w := fit_warning(spec, profile)) is not None:
            out[spec.ref] = w
    return out
