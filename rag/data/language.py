"""Which language a dataset is in: per text language and script, shares, mixed-language texts.

Everything downstream that depends on the language (the BM25 analyzer, the model/language fit warning,
text metrics, answer language) reads one :class:`LanguageProfile`, so the workbench never guesses
twice and every run records what it assumed.

Detection is offline, with the model inside the package: the Unicode script decides what a script
alone can decide (kana means Japanese, Hangul Korean, Han without kana Chinese), py3langid (142
languages, 4.5 MB, ~0.35 ms per short text) decides the rest. Measured 2026-12-06 on 38 short
questions (15 Chinese, 10 English, 10 Japanese, 3 Korean): py3langid alone 34/38 (two Chinese called
Wu), langdetect 30/38 (six Chinese called Korean, 35 ms per text), lingua 2.1.1 36/38 but a 96 MB
install and 24 s to load its models. The script rule fixes py3langid's CJK misses; the misses left are
short English questions read as Portuguese/Pidgin, which is why a whole dataset's shares, not one
text, choose the analyzer.

Usage:
    from rag.data.language import profile_dataset
    profile = profile_dataset(ds)
    profile.main_language          # "zh"
    profile.documents              # {"zh": 1.0}
    profile.summary()              # "Documents: 100 % Chinese · questions: 100 % Chinese · ..."
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import version

import regex

from rag.data.dataset import Dataset
from rag.i18n import N_, _, ngettext

UNDETERMINED = "und"  # ISO 639 "undetermined": no letters to judge (numbers, empty captions)
MAX_CHARS = 600       # a text's first characters are enough to tell its language, and bound the cost
MAX_TEXTS = 1_000     # per side (documents, queries): an even sample beyond this, said in the profile
KANA_SHARE = 0.1    # Chinese text quotes a Japanese name now and then: Japanese has more kana than that
MIXED_SHARE = 0.25    # a text is mixed when its second script holds at least this share of its words

# Languages py3langid names by a code that is a variety of an ISO 639-1 language we report.
_MACRO = {"wuu": "zh", "yue": "zh", "cmn": "zh", "gom": "kok", "ary": "ar", "arz": "ar", "uzs": "uz",
          "gug": "gn", "hbo": "he", "sdh": "ku"}

LANGUAGE_NAMES = {
    "zh": N_("Chinese"), "en": N_("English"), "ja": N_("Japanese"), "ko": N_("Korean"), "fr": N_("French"),
    "de": N_("German"), "es": N_("Spanish"), "pt": N_("Portuguese"), "it": N_("Italian"), "ru": N_("Russian"),
    "ar": N_("Arabic"), "hi": N_("Hindi"), "vi": N_("Vietnamese"), "th": N_("Thai"), "id": N_("Indonesian"),
    "tr": N_("Turkish"), "nl": N_("Dutch"), "pl": N_("Polish"), "uk": N_("Ukrainian"), "he": N_("Hebrew"),
    UNDETERMINED: N_("undetermined"),
}

# One "word" per CJK character (the scripts are written without spaces), one per run of other letters.
_WORD = regex.compile(r"\p{Han}|\p{Hiragana}|\p{Katakana}|\p{Hangul}+|\p{L}+")
_SCRIPTS = (("Han", regex.compile(r"\p{Han}")), ("Kana", regex.compile(r"[\p{Hiragana}\p{Katakana}]")),
            ("Hangul", regex.compile(r"\p{Hangul}")), ("Latin", regex.compile(r"\p{Latin}")),
            ("Cyrillic", regex.compile(r"\p{Cyrillic}")), ("Arabic", regex.compile(r"\p{Arabic}")),
            ("Devanagari", regex.compile(r"\p{Devanagari}")), ("Thai", regex.compile(r"\p{Thai}")),
            ("Greek", regex.compile(r"\p{Greek}")), ("Hebrew", regex.compile(r"\p{Hebrew}")))


def language_name(code: str) -> str:
    """"Chinese" for "zh" (中文 to a Chinese reader); the code itself for a language without a name here."""
    return _(LANGUAGE_NAMES[code]) if code in LANGUAGE_NAMES else code


def detector_name() -> str:
    """What detected the languages, with versions: recorded in every profile."""
    return f"py3langid {version('py3langid')} + Unicode scripts"


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import _load_identifier  # the packaged model, loaded once (~0.7 s)

    return _load_identifier(norm_probs=False)


_ident_lock = threading.Lock()


def _script_of(word: str) -> str:
    for name, pattern in _SCRIPTS:
        if pattern.match(word):
            return name
    return "Other"


@dataclass(frozen=True)
class TextLanguage:
    """One text's language (ISO 639-1, "und" when it has no letters), main script, and mixedness."""

    language: str
    script: str
    mixed: bool


SHORT_WORDS = 6  # py3langid reads "What do pandas eat?" as Portuguese: under this many words it cannot tell


def detect_text(text: str, prior: str | None = None) -> TextLanguage:
    """Language and script of one text; "mixed" when a second script holds >= 25 % of its words.
    ``prior`` (the corpus' language) decides a short Latin-script text, which py3langid cannot.

    Usage:
        detect_text("熊猫吃什么？")  # TextLanguage(language='zh', script='Han', mixed=False)
    """
    text = (text or "")[:MAX_CHARS]
    scripts = Counter(_script_of(w) for w in _WORD.findall(text))
    if not scripts:
        return TextLanguage(UNDETERMINED, "", False)
    cjk = scripts.get("Han", 0) + scripts.get("Kana", 0)
    japanese = cjk > 0 and scripts.get("Kana", 0) >= KANA_SHARE * cjk  # Japanese: 30-40 % kana
    if japanese:  # kanji and kana are one writing system: not a mix
        scripts["Han+Kana"] = scripts.pop("Han", 0) + scripts.pop("Kana", 0)
    (script, _), *rest = scripts.most_common()
    mixed = bool(rest) and rest[0][1] / sum(scripts.values()) >= MIXED_SHARE
    if japanese:
        lang = "ja"
    elif script == "Hangul":
        lang = "ko"
    elif script in ("Han", "Kana"):  # Han without (enough) kana: Chinese
        lang = "zh"
    elif prior and script == "Latin" and prior not in ("zh", "ja", "ko", UNDETERMINED) \
            and sum(scripts.values()) < SHORT_WORDS:
        lang = prior
    else:
        with _ident_lock:
            lang, _ = _identifier().classify(text)
        lang = _MACRO.get(lang, lang)
    return TextLanguage(lang, script, mixed)


def _sample(texts: list[str]) -> list[str]:
    if len(texts) <= MAX_TEXTS:
        return texts
    step = len(texts) / MAX_TEXTS
    return [texts[int(i * step)] for i in range(MAX_TEXTS)]


def _shares(counter: Counter, n: int) -> dict[str, float]:
    return {k: round(v / n, 4) for k, v in counter.most_common()} if n else {}


@dataclass(frozen=True)
class SideProfile:
    """The languages of one side (documents or queries): shares, scripts, mixed texts, sample size."""

    total: int
    profiled: int
    languages: dict[str, float]
    scripts: dict[str, float]
    mixed: int

    @classmethod
    def of(cls, texts: list[str], prior: str | None = None) -> SideProfile:
        texts = [t for t in texts if t.strip()]
        sample = _sample(texts)
        found = [detect_text(t, prior) for t in sample]
        n = len(found)
        return cls(total=len(texts), profiled=n,
                   languages=_shares(Counter(f.language for f in found), n),
                   scripts=_shares(Counter(f.script for f in found), n),
                   mixed=sum(f.mixed for f in found))


@dataclass(frozen=True)
class LanguageProfile:
    """A dataset's languages: what its documents and questions are written in.

    ``documents`` / ``queries`` map ISO 639-1 codes to the share of texts in that language (largest
    first). ``main_language`` is the documents' largest language (the queries' when the corpus has no
    text, e.g. images without captions); BM25 and the fit warnings follow it.

    Usage:
        p = profile_dataset(ds)
        p.main_language, p.documents, p.mixed_count, p.mixed_share
        json.dumps(p.to_json())
    """

    main_language: str
    documents: dict[str, float]
    queries: dict[str, float]
    mixed_count: int
    mixed_share: float
    document_side: SideProfile = field(repr=False)
    query_side: SideProfile = field(repr=False)
    detector: str = ""

    @property
    def mixed(self) -> dict[str, float]:
        """Mixed-language texts (documents and questions together): {"count": n, "share": x}."""
        return {"count": self.mixed_count, "share": self.mixed_share}

    def share(self, language: str, side: str = "documents") -> float:
        """The share of ``side``'s texts in ``language`` (0.0 when none)."""
        return (self.documents if side == "documents" else self.queries).get(language, 0.0)

    def to_json(self) -> dict:
        """What a run records (plain JSON types)."""
        return {"main_language": self.main_language, "documents": self.documents, "queries": self.queries,
                "mixed": self.mixed, "document_scripts": self.document_side.scripts,
                "query_scripts": self.query_side.scripts,
                "profiled": {"documents": [self.document_side.profiled, self.document_side.total],
                             "queries": [self.query_side.profiled, self.query_side.total]},
                "detector": self.detector}

    @classmethod
    def from_json(cls, data: dict) -> LanguageProfile:
        """Back from :meth:`to_json` (a run's record), for reports and comparisons."""
        prof = data.get("profiled", {})
        docs = SideProfile(prof.get("documents", [0, 0])[1], prof.get("documents", [0, 0])[0],
                           data.get("documents", {}), data.get("document_scripts", {}), 0)
        qs = SideProfile(prof.get("queries", [0, 0])[1], prof.get("queries", [0, 0])[0],
                         data.get("queries", {}), data.get("query_scripts", {}), 0)
        mixed = data.get("mixed", {})
        return cls(data.get("main_language", UNDETERMINED), data.get("documents", {}), data.get("queries", {}),
                   int(mixed.get("count", 0)), float(mixed.get("share", 0.0)), docs, qs, data.get("detector", ""))

    def summary(self) -> str:
        """One plain line: "Documents: 100 % Chinese · questions: 96 % Chinese, 4 % English · 0 mixed"."""
        def side(shares: dict[str, float], top: int = 3) -> str:
            if not shares:
                return _("none")
            parts = [_("{share} {language}").format(share=_pct(v), language=language_name(k))
                     for k, v in list(shares.items())[:top]]
            rest = sum(list(shares.values())[top:])
            return _(", ").join(parts) + (_(", {share} other").format(share=_pct(rest)) if rest > 0 else "")

        sampled = "" if self.document_side.profiled == self.document_side.total else _(
            " (a sample of {profiled} of {total} documents)").format(profiled=f"{self.document_side.profiled:,}",
                                                                     total=f"{self.document_side.total:,}")
        mixed = ngettext("{n} mixed-language text", "{n} mixed-language texts", self.mixed_count).format(
            n=self.mixed_count)
        if self.mixed_count:
            mixed += f" ({_pct(self.mixed_share)})"
        return _("Documents: {documents}{sampled} · questions: {questions} · {mixed}").format(
            documents=side(self.documents), sampled=sampled, questions=side(self.queries), mixed=mixed)


def _pct(x: float) -> str:
    p = 100 * x
    return f"{p:.1f} %" if 0 < p < 1 or 99 < p < 100 else f"{p:.0f} %"


def profile_texts(documents: list[str], queries: list[str]) -> LanguageProfile:
    """The profile of raw texts (what :func:`profile_dataset` does once the texts are out)."""
    docs = SideProfile.of(documents)
    qs = SideProfile.of(queries, next(iter(docs.languages), None))  # short questions read in the corpus' language
    main_side = docs if docs.languages else qs
    main = next(iter(main_side.languages), UNDETERMINED)
    n = docs.profiled + qs.profiled
    mixed = docs.mixed + qs.mixed
    return LanguageProfile(main, docs.languages, qs.languages, mixed, round(mixed / n, 4) if n else 0.0,
                           docs, qs, detector_name())


_cache: dict[str, LanguageProfile] = {}
_cache_lock = threading.Lock()


def profile_dataset(ds: Dataset) -> LanguageProfile:
    """The dataset's language profile, computed once per content hash (documents, queries, qrels).

    Usage:
        profile_dataset(load_dataset("sample-zh")).main_language  # "zh"
    """
    key = ds.content_hash()
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    profile = profile_texts([d.full_text for d in ds.documents], [q.text for q in ds.queries])
    with _cache_lock:
        _cache[key] = profile
    return profile

