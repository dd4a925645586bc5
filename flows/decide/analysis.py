"""Step 2: the data, analysed for the decision: language, size, lengths, duplicates and leaks.

Each finding carries what it *means for the decision*, because a number alone does not tell a user
what to do: a test set whose questions are copied from its documents rewards lexical matching (BM25
wins by construction), duplicate documents make two ranks "relevant" for one hit, near-duplicate
questions count one case twice and narrow the intervals falsely, long documents are cut by models
with a short input limit.

Lengths are in *estimated tokens*: Han, kana and Hangul characters count one token each (the
tokenizers of the models here split CJK per character or finer), other words 1.3 tokens each (a
WordPiece/BPE average on English text); the record says "estimated". Near-duplicate questions are
pairs with a RapidFuzz ``ratio`` ≥ 90 after normalisation (case, spaces, punctuation), exact
duplicates are identical after normalisation.

Usage:
    a = analyse(ds)
    a.n_documents, a.doc_tokens["p95"], [f.key for f in a.findings]
    a.truncated_share(256)       # share of documents longer than a 256-token limit
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np

from rag.data.dataset import Dataset
from rag.data.language import LanguageProfile, profile_dataset
from rag.i18n import _

NEAR_DUPLICATE = 90          # RapidFuzz ratio (0-100) from which two questions count as the same question
MAX_PAIRS_SHOWN = 5
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_WORD = re.compile(r"[^\W\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
WORD_TOKENS = 1.3


def estimate_tokens(text: str) -> int:
    """Estimated model tokens of ``text``: one per CJK character, 1.3 per other word."""
    return len(_CJK.findall(text)) + math.ceil(WORD_TOKENS * len(_WORD.findall(text)))


def normalise(text: str) -> str:
    """Case-, width- and punctuation-insensitive form used to find copies."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(c)[0] in "PZS" else c for c in text)
    return " ".join(text.split())


@dataclass
class Finding:
    """One observation about the data, its size, and what it means for the decision."""
    key: str
    title: str
    value: str
    meaning: str
    severity: str = "info"            # "info" | "warning"
    examples: list = field(default_factory=list)


def _dist(values: list[int]) -> dict:
    if not values:
        return {"min": 0, "p50": 0, "p95": 0, "max": 0, "mean": 0.0}
    a = np.asarray(values)
    return {"min": int(a.min()), "p50": int(np.percentile(a, 50)), "p95": int(np.percentile(a, 95)),
            "max": int(a.max()), "mean": round(float(a.mean()), 1)}


@dataclass
class DataAnalysis:
    """What step 2 found; ``findings`` in the order the Decide page shows them."""
    dataset: str
    n_documents: int
    n_queries: int
    n_judged: int
    profile: LanguageProfile
    doc_tokens: dict
    query_tokens: dict
    duplicate_documents: list[list[str]]
    duplicate_questions: list[list[str]]
    near_duplicate_questions: list[tuple[str, str, float]]
    leaked_questions: list[tuple[str, str]]          # (query id, the document id it was copied from)
    findings: list[Finding]
    _doc_lengths: list[int] = field(default_factory=list, repr=False)

    def truncated_share(self, max_tokens: int | None) -> float | None:
        """Share of documents over ``max_tokens`` (None when the limit is not published)."""
        if not max_tokens or not self._doc_lengths:
            return None
        return sum(n > max_tokens for n in self._doc_lengths) / len(self._doc_lengths)

    def to_json(self) -> dict:
        return {"dataset": self.dataset, "documents": self.n_documents, "queries": self.n_queries,
                "judged_queries": self.n_judged, "language": self.profile.to_json(),
                "language_summary": self.profile.summary(), "doc_tokens": self.doc_tokens,
                "query_tokens": self.query_tokens, "tokens": "estimated",
                "duplicate_documents": self.duplicate_documents, "duplicate_questions": self.duplicate_questions,
                "near_duplicate_questions": [list(p) for p in self.near_duplicate_questions],
                "leaked_questions": [list(p) for p in self.leaked_questions],
                "findings": [asdict(f) for f in self.findings]}


def _groups(items: list[tuple[str, str]]) -> list[list[str]]:
    by: dict[str, list[str]] = defaultdict(list)
    for item_id, text in items:
        if text:
            by[text].append(item_id)
    return [ids for ids in by.values() if len(ids) > 1]


def _near_duplicates(queries: list[tuple[str, str]], exact: list[list[str]]) -> list[tuple[str, str, float]]:
    from rapidfuzz import fuzz, process

    same = {frozenset(g) for g in exact}
    texts = [t for _, t in queries]
    if len(texts) < 2:
        return []
    scores = process.cdist(texts, texts, scorer=fuzz.ratio, score_cutoff=NEAR_DUPLICATE, workers=1)
    out = []
    for i, j in zip(*np.nonzero(np.triu(scores, k=1))):
        a, b = queries[i][0], queries[j][0]
        if texts[i] != texts[j] and not any({a, b} <= g for g in same):
            out.append((a, b, round(float(scores[i, j]), 1)))
    return out


def _leaks(queries: list[tuple[str, str]], docs: list[tuple[str, str]], min_words: int = 4) -> list[tuple[str, str]]:
    """Questions whose normalised text occurs inside a document (only questions of ≥ ``min_words``
    words or ≥ 8 CJK characters: "python" inside a document about Python is not a leak)."""
    out = []
    for qid, q in queries:
        if len(q.split()) < min_words and len(_CJK.findall(q)) < 8:
            continue
        hit = next((did for did, d in docs if q in d), None)
        if hit:
            out.append((qid, hit))
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def analyse(ds: Dataset) -> DataAnalysis:
    """Every step-2 finding on ``ds`` (text datasets; an image corpus is measured on its captions)."""
    profile = profile_dataset(ds)
    doc_lengths = [estimate_tokens(d.full_text) for d in ds.documents]
    q_lengths = [estimate_tokens(q.text) for q in ds.queries if q.text]
    docs = [(d.id, normalise(d.full_text)) for d in ds.documents]
    qs = [(q.id, normalise(q.text)) for q in ds.queries if q.text]
    dup_docs = _groups(docs)
    dup_qs = _groups(qs)
    near = _near_duplicates(qs, dup_qs)
    leaks = _leaks(qs, docs)
    n_q = len(ds.queries)
    dt, qt = _dist(doc_lengths), _dist(q_lengths)
    f = [Finding("language", _("Language"), profile.summary(),
                 _("Candidates must cover {language}; BM25 needs an analyzer for it; a model trained on another "
                   "language is excluded in step 3.").format(language=repr(profile.main_language)))]
    size = len(ds.documents)
    f.append(Finding("size", _("Corpus size"),
                     _("{documents} documents, {questions} questions ({judged} judged)").format(
                         documents=f"{size:,}", questions=f"{n_q:,}", judged=f"{len(ds.judged_queries):,}"),
                     _("Sets the index type and memory in step 5. With fewer than 50 judged questions the intervals "
                       "are wide: expect ties, and add questions before trusting a small difference.")
                     if len(ds.judged_queries) < 50 else
                     _("Sets the index type and memory in step 5. Enough judged questions to separate models that "
                       "differ by a few points.")))
    f.append(Finding("lengths", _("Document length (estimated tokens)"),
                     _("median {p50}, p95 {p95}, max {max}; questions median {questions_p50}").format(
                         p50=dt["p50"], p95=dt["p95"], max=dt["max"], questions_p50=qt["p50"]),
                     _("A model whose input limit is below the long documents embeds only their beginning: step 3 "
                       "shows each candidate's truncated share and excludes one that cuts too many.")))
    n_dup = sum(len(g) - 1 for g in dup_docs)
    f.append(Finding("duplicate_documents", _("Duplicate documents"),
                     f"{n_dup} ({_pct(n_dup / size) if size else '0 %'})",
                     _("Copies take several of the top k slots for one answer and, when only one copy is judged "
                       "relevant, count a correct hit as a miss: deduplicate before indexing.") if n_dup else
                     _("None: every ranked slot is a distinct document."),
                     "warning" if n_dup else "info", dup_docs[:MAX_PAIRS_SHOWN]))
    n_dq = sum(len(g) - 1 for g in dup_qs)
    f.append(Finding("duplicate_questions", _("Duplicate or near-duplicate questions"),
                     _("{exact} exact, {near} near (ratio ≥ {ratio})").format(exact=n_dq, near=len(near),
                                                                             ratio=NEAR_DUPLICATE),
                     _("Repeated questions count one case several times, so the intervals are narrower than the "
                       "evidence: remove or merge them before the comparison is trusted.") if n_dq or near else
                     _("None: each question is its own case."), "warning" if n_dq or near else "info",
                     (dup_qs + [list(p[:2]) for p in near])[:MAX_PAIRS_SHOWN]))
    f.append(Finding("leaked_questions", _("Questions copied verbatim from a document"),
                     _("{n} of {total} ({share})").format(n=len(leaks), total=len(qs), share=_pct(len(leaks) / len(qs)))
                     if qs else _("{n} of {total}").format(n=len(leaks), total=len(qs)),
                     _("A test set that quotes its documents rewards exact word overlap: BM25 and hybrid look better "
                       "here than on real users' questions. Write those questions the way users ask.") if leaks else
                     _("None: the questions are not copied from the documents."), "warning" if leaks else "info",
                     [list(p) for p in leaks[:MAX_PAIRS_SHOWN]]))
    return DataAnalysis(ds.name, size, n_q, len(ds.judged_queries), profile, dt, qt, dup_docs, dup_qs, near, leaks,
                        f, doc_lengths)
