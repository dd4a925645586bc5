"""The deterministic judge behind tests/support/openai_test_server.py: how it reads a Ragas prompt and answers it.

Each reply is computed from the prompt's own input (word overlap, verbatim occurrence), never looked up
in a table of canned scores, so a test can compute the expected metric by hand. The server module
documents the rules per reply schema; this module holds them, plus the generator's answer and the
hashed bag-of-words embeddings of ``/v1/embeddings``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

import numpy as np

STOP = set("a an and are as at be but by for from has have if in into is it its of on or such that the their then "
           "there these they this to was were will with which who what how do does can not no so than".split())
SCHEMA_MARK = "as specified in JSON Schema:\n"
INPUT_MARK = "Now perform the same with the following input\ninput: "
NONCOMMITTAL = ("i don't know", "i do not know", "not sure", "cannot answer", "no information", "unable to answer")


# ---------------------------------------------------------------- text helpers

def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def content(text: str) -> set[str]:
    return {t for t in tokens(text) if t not in STOP}


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def verbatim(statement: str, context: str) -> bool:
    st, ctx = " ".join(tokens(statement)), " ".join(tokens(context))
    return bool(st) and f" {st} " in f" {ctx} "


def coverage(part: str, whole: str) -> float:
    p = content(part)
    return len(p & content(whole)) / len(p) if p else 0.0


def _json_at(text: str, start: int) -> Any:
    return json.JSONDecoder().raw_decode(text[start:].lstrip())[0]


def parse_prompt(text: str) -> tuple[str | None, dict | None]:
    """(schema title, input data) of a Ragas prompt, or (None, None) for a plain prompt."""
    i = text.find(SCHEMA_MARK)
    if i < 0:
        return None, None
    schema = _json_at(text, i + len(SCHEMA_MARK))
    j = text.rfind(INPUT_MARK)
    data = _json_at(text, j + len(INPUT_MARK)) if j >= 0 else {}
    return schema.get("title"), data


# ---------------------------------------------------------------- the judge

def _statements(d: dict) -> dict:
    return {"statements": sentences(d.get("answer", ""))}


def _nli(d: dict) -> dict:
    ctx = d.get("context", "")
    return {"statements": [{"statement": s, "verdict": int(verbatim(s, ctx)),
                            "reason": "found word for word in the context" if verbatim(s, ctx)
                            else "not stated in the context"} for s in d.get("statements", [])]}


def _relevance(d: dict) -> dict:
    resp = d.get("response", "")
    first = (sentences(resp) or [""])[0].rstrip(".!?")
    return {"question": f"{first}?" if first else "", "noncommittal": int(any(n in resp.lower() for n in NONCOMMITTAL))}


def _verification(d: dict) -> dict:
    cov = coverage(d.get("answer", ""), d.get("context", ""))
    return {"reason": f"the context covers {cov:.0%} of the answer's content words", "verdict": int(cov >= 0.35)}


def _recall(d: dict) -> dict:
    ctx = d.get("context", "")
    return {"classifications": [{"statement": s, "reason": f"context covers {coverage(s, ctx):.0%} of its words",
                                 "attributed": int(coverage(s, ctx) >= 0.5)} for s in sentences(d.get("answer", ""))]}


def _string_io(d: dict) -> dict:
    if "prompt_value" in d:  # Ragas asks to fix a reply it could not parse: answer the original prompt again
        return {"text": json.dumps(judge(d["prompt_value"]))}
    text = d.get("text", "")
    return {"text": " ".join(sentences(text)[:2]) or text[:200]}


def _first_words(d: dict, n: int = 6) -> str:
    text = " ".join(str(v) for v in d.values() if isinstance(v, str))
    return " ".join([w for w in re.findall(r"[A-Za-z][\w+#-]*", text) if w.lower() not in STOP][:n])


# Test-set generator prompts (ragas.testset): small answers derived from the input.
def _persona(d: dict) -> dict:
    return {"name": "Developer", "role_description": "A software developer choosing a programming language."}


def _themes_mapping(d: dict) -> dict:
    themes = d.get("themes", [])[:3]
    return {"mapping": {p.get("name", "Developer"): themes for p in d.get("personas", [])}}


def _query_answer(d: dict) -> dict:
    ctx = d.get("context", "") or json.dumps(d)
    term = d.get("term") or (d.get("themes") or ["this language"])[0]
    cands = [s for s in sentences(ctx) if len(s) > 20] or [ctx]
    answer = next((s for s in cands if term.lower() in s.lower()), cands[0])
    return {"query": f"What does the text say about {term}?", "answer": answer}


HANDLERS = {
    "StatementGeneratorOutput": _statements,
    "NLIStatementOutput": _nli,
    "AnswerRelevanceOutput": _relevance,
    "ContextPrecisionOutput": _verification,
    "ContextRecallOutput": _recall,
    "StringIO": _string_io,
    "Persona": _persona,
    "PersonaThemesMapping": _themes_mapping,
    "GeneratedQueryAnswer": _query_answer,
    "QuestionPotentialOutput": lambda d: {"score": 2},
    "NEROutput": lambda d: {"entities": _first_words(d, 3).split()},
    "ThemesAndConcepts": lambda d: {"output": _first_words(d, 3).split()},
    "Keyphrases": lambda d: {"keyphrases": _first_words(d, 3).split()},
    "Headlines": lambda d: {"headlines": [_first_words(d, 4)]},
}


def generate_answer(prompt: str) -> str:
    """A RAG answer: the context sentence sharing the most content words with the question."""
    q_at = prompt.rfind("Question:")
    question = prompt[q_at + 9:].split("\n", 1)[0] if q_at >= 0 else prompt
    c_at = prompt.find("Context:")
    ctx = prompt[c_at + 8:q_at] if c_at >= 0 and q_at > c_at else prompt
    cands = [s for s in sentences(ctx) if not re.fullmatch(r"\[\d+\].*", s) or len(s) > 40]
    cands = [re.sub(r"^\[\d+\]\s*", "", s) for s in cands]
    if not cands:
        return "I don't know."
    q = content(question)
    return max(cands, key=lambda s: len(q & content(s)))  # max() keeps the first of equals


def judge(prompt: str, noise: JudgeNoise | None = None, repeat: int = 0) -> Any:
    """The reply to one prompt (None for a plain generation prompt); ``noise`` flips its verdicts."""
    title, data = parse_prompt(prompt)
    if title is None:
        return None
    handler = HANDLERS.get(title)
    if handler is None:
        raise KeyError(f"test server has no judge for schema {title!r}")
    reply = handler(data or {})
    return noise.apply(title, reply, prompt, repeat) if noise is not None else reply


# ---------------------------------------------------------------- a noisy or biased judge

# The verdicts a judge can get wrong: (reply schema, list field or None for the reply itself, verdict field)
VERDICTS = {
    "context_precision": ("ContextPrecisionOutput", None, "verdict"),          # useful / not useful
    "faithfulness": ("NLIStatementOutput", "statements", "verdict"),           # NLI: supported or not
    "context_recall": ("ContextRecallOutput", "classifications", "attributed"),  # reference sentence attributed
}


def flip_draw(prompt: str, repeat: int, seed: int, item: int) -> float:
    """A uniform number in [0, 1) fixed by (prompt, repeat index, seed, verdict index): reproducible noise,
    the same in every process and order of requests."""
    h = hashlib.sha256(f"{seed}\x00{repeat}\x00{item}\x00{prompt}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2 ** 64


class JudgeNoise:
    """How the test judge gets verdicts wrong, so κ and spreads are known by construction.

    ``mode`` "noisy": each verdict (of the ``kinds``, default all three of ``VERDICTS``) flips with
    probability ``p``, decided by ``flip_draw`` (p = 0 gives exactly the plain judge's replies).
    ``mode`` "biased": every verdict of the ``kinds`` flips, or with ``only`` = 0 / 1 only the verdicts
    that were 0 / 1 (``only=0`` on context precision: a lenient judge that finds every context useful).

    Usage:
        JudgeNoise.from_json({"mode": "noisy", "p": 0.3, "seed": 7})
        JudgeNoise.from_json({"mode": "biased", "kinds": ["context_precision"], "only": 0})
    """

    def __init__(self, mode: str = "noisy", p: float = 0.0, seed: int = 0, kinds: list[str] | None = None,
                 only: int | None = None):
        if mode not in ("noisy", "biased"):
            raise ValueError(f"noise mode must be 'noisy' or 'biased', not {mode!r}")
        unknown = set(kinds or []) - set(VERDICTS)
        if unknown or not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"noise needs 0 <= p <= 1 and kinds among {sorted(VERDICTS)}")
        self.mode, self.p, self.seed, self.only = mode, float(p), int(seed), only
        self.kinds = list(kinds) if kinds else list(VERDICTS)

    @classmethod
    def from_json(cls, d: dict | None) -> JudgeNoise | None:
        return cls(**d) if d else None

    def flips(self, prompt: str, repeat: int, item: int, verdict: int) -> bool:
        if self.only is not None and int(verdict) != int(self.only):
            return False
        return self.mode == "biased" or flip_draw(prompt, repeat, self.seed, item) < self.p

    def apply(self, title: str, reply: dict, prompt: str, repeat: int) -> dict:
        for kind in self.kinds:
            schema, items, key = VERDICTS[kind]
            if schema != title:
                continue
            for i, entry in enumerate([reply] if items is None else reply[items]):
                if self.flips(prompt, repeat, i, entry[key]):
                    entry[key] = 1 - int(entry[key])
                    entry["reason"] = f"{entry.get('reason', '')} (verdict flipped by the {self.mode} test judge)"
        return reply


def embed(text: str, dim: int = 64) -> list[float]:
    v = np.zeros(dim)
    for t in tokens(text):
        v[int(hashlib.md5(t.encode()).hexdigest(), 16) % dim] += 1.0
    n = np.linalg.norm(v)
    return (v / n if n else v + 1 / math.sqrt(dim)).tolist()


# ---------------------------------------------------------------- the HTTP app
