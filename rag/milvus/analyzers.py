"""BM25 text analyzers: which one tokenizes a corpus' language, and whether this Milvus has it.

BM25 matches query terms against document terms, so the analyzer must cut text into the words of
its language. Milvus' ``standard`` tokenizer splits on spaces and punctuation: right for English
and every language written with spaces, wrong for Chinese, Japanese, Korean and Thai, where it keeps
a whole run of characters as one token (measured on CMRC 2018 dev: nDCG@10 0.166, no document at
all for 2,661 of 3,219 questions; with jieba 0.967). The analyzer is chosen from the dataset's
language profile unless the user names one, is checked against what the connected Milvus runs
(Milvus Lite 3.2.2 has only the ``standard`` and ``jieba`` tokenizers; servers >= 2.5 add the
``chinese`` analyzer and ``lindera``, >= 2.5.11 ``icu``), and a language no available analyzer
handles is refused for BM25 with the reason instead of being tokenized wrong. A new analyzer is one
entry in ``ANALYZERS``; a language's preference order is one entry in ``PREFERRED``.

Usage:
    choice = choose_analyzer("zh", caps)          # caps: rag.milvus.capabilities.Capabilities
    choice.name, choice.params                    # "jieba", {"tokenizer": "jieba"} on Milvus Lite
    choose_analyzer("ja", lite_caps)              # raises MilvusUnsupported with the reason
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.i18n import N_, _
from rag.milvus.capabilities import Capabilities, MilvusUnsupported

# Lucene's English stop-word set (what Pyserini's BM25 baselines use).
ENGLISH_STOP_WORDS = ["a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into",
                      "is", "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then",
                      "there", "these", "they", "this", "to", "was", "will", "with"]
AUTO = "auto"
SPACE_SEPARATED = "*"  # "every language written with spaces between words"
# languages written without spaces between words: the standard tokenizer cannot cut them
NO_SPACES = {"zh", "ja", "ko", "th", "lo", "km", "my", "bo", "dz"}


@dataclass(frozen=True)
class Analyzer:
    """One BM25 analyzer: Milvus ``analyzer_params``, the languages it tokenizes, where it runs.

    ``lite`` says whether Milvus Lite 3.x runs it; ``since`` is the first Milvus server version with it.
    """

    name: str
    params: dict
    languages: tuple[str, ...]    # ISO 639-1 codes, or SPACE_SEPARATED
    description: str
    lite: bool
    since: tuple[int, ...] = (2, 5)

    def handles(self, language: str) -> bool:
        if SPACE_SEPARATED in self.languages and language not in NO_SPACES:
            return True
        return language in self.languages

    def reason_not_on(self, caps: Capabilities | None) -> str | None:
        """Why this Milvus cannot run the analyzer, or None (no server known: assume Milvus Lite)."""
        if caps is None or caps.lite:
            return None if self.lite else _(
                "the {name} analyzer needs a Milvus server >= {version}; Milvus Lite has only the standard and "
                "jieba tokenizers").format(name=self.name, version=".".join(map(str, self.since)))
        n = caps.number
        if n is not None and tuple(n[:len(self.since)]) < self.since:
            return _("the {name} analyzer needs Milvus >= {version}; this server is {server}").format(
                name=self.name, version=".".join(map(str, self.since)), server=".".join(map(str, n)))
        return None


ANALYZERS: dict[str, Analyzer] = {a.name: a for a in (
    Analyzer("english", {"tokenizer": "standard",
                         "filter": ["lowercase", {"type": "stop", "stop_words": ENGLISH_STOP_WORDS}]},
             ("en",), N_("standard tokenizer + lowercase + English stop words"), lite=True),
    Analyzer("standard", {"tokenizer": "standard", "filter": ["lowercase"]}, (SPACE_SEPARATED,),
             N_("standard tokenizer + lowercase: languages written with spaces between words"), lite=True),
    Analyzer("jieba", {"tokenizer": "jieba"}, ("zh",), N_("jieba Chinese word segmentation"), lite=True),
    Analyzer("chinese", {"type": "chinese"}, ("zh",),
             N_("Milvus' Chinese analyzer (jieba + cnalphanumonly filter)"), lite=False),
    Analyzer("lindera-ja", {"tokenizer": {"type": "lindera", "dict_kind": "ipadic"}}, ("ja",),
             N_("lindera with the IPADIC dictionary (Japanese)"), lite=False),
    Analyzer("lindera-ko", {"tokenizer": {"type": "lindera", "dict_kind": "ko-dic"}}, ("ko",),
             N_("lindera with the ko-dic dictionary (Korean)"), lite=False),
    Analyzer("icu", {"tokenizer": "icu", "filter": ["lowercase"]}, (SPACE_SEPARATED, "th", "lo", "km", "my"),
             N_("ICU word boundaries (Thai, Lao, Khmer, Burmese and spaced languages)"), lite=False,
             since=(2, 5, 11)),
)}

# language -> analyzers to try, best first; a language not here: "standard" if written with spaces
PREFERRED: dict[str, tuple[str, ...]] = {
    "en": ("english",),
    "zh": ("chinese", "jieba"),
    "ja": ("lindera-ja",),
    "ko": ("lindera-ko",),
    "th": ("icu",), "lo": ("icu",), "km": ("icu",), "my": ("icu",),
    "und": ("english",),  # no letters to judge (numbers, empty captions): today's default
}
DEFAULT = "english"


def analyzer_names() -> list[str]:
    """"auto" and every analyzer name: what ``--bm25-analyzer`` and the Index page accept."""
    return [AUTO, *ANALYZERS]


def check_name(name: str) -> str:
    """The name if known, else ValueError listing the choices."""
    if name != AUTO and name not in ANALYZERS:
        raise ValueError(_("unknown BM25 analyzer {name}; choose from {choices}").format(
            name=repr(name), choices=", ".join(analyzer_names())))
    return name


@dataclass(frozen=True)
class AnalyzerChoice:
    """The analyzer a BM25 collection uses, the language it was chosen for, and how it was chosen.

    Usage:
        choice.to_json()  # {"name": "jieba", "params": {...}, "language": "zh", "chosen": "auto"}
    """

    name: str
    params: dict
    language: str
    chosen: str      # "auto" (from the language profile) or "user"
    note: str = ""   # e.g. a user-chosen analyzer that does not tokenize the corpus' language

    def to_json(self) -> dict:
        out = {"name": self.name, "params": self.params, "language": self.language, "chosen": self.chosen}
        return {**out, "note": self.note} if self.note else out

    def label(self) -> str:
        if self.chosen == AUTO:
            return _("{name} (chosen for {language})").format(name=self.name,
                                                             language=_language_name(self.language))
        return _("{name} (set by you)").format(name=self.name)


def _language_name(code: str) -> str:
    from rag.data.language import language_name

    return language_name(code)


def choose_analyzer(language: str, caps: Capabilities | None, requested: str = AUTO) -> AnalyzerChoice:
    """The analyzer for a corpus whose main language is ``language`` on this Milvus (None: Milvus Lite).

    ``requested`` "auto" picks the first of the language's preferred analyzers this server runs; a
    name forces that analyzer (refused if this server lacks it). MilvusUnsupported says why BM25
    cannot serve the language here."""
    check_name(requested)
    where = caps.short() if caps is not None else "Milvus Lite"
    if requested != AUTO:
        a = ANALYZERS[requested]
        if (why := a.reason_not_on(caps)) is not None:
            raise MilvusUnsupported(_("BM25 analyzer {name}: {why}").format(name=requested, why=why))
        note = "" if a.handles(language) else _("{name} does not tokenize {language}, the corpus' main "
                                                "language").format(name=a.name, language=_language_name(language))
        return AnalyzerChoice(a.name, a.params, language, "user", note)
    names = PREFERRED.get(language) or (("standard",) if language not in NO_SPACES else ("icu",))
    reasons = []
    for name in names:
        a = ANALYZERS[name]
        why = a.reason_not_on(caps)
        if why is None:
            return AnalyzerChoice(a.name, a.params, language, AUTO)
        reasons.append(why)
    raise MilvusUnsupported(_(
        "BM25 cannot tokenize {language} on {server}: {reasons}. The standard tokenizer would keep each run of "
        "{language} characters as one token, so BM25 would miss almost every match; use a Milvus server that "
        "has it (MILVUS_URI) or a dense model").format(language=_language_name(language), server=where,
                                                      reasons="; ".join(reasons)))
