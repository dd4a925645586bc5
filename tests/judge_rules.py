"""The deterministic judge behind tests/openai_test_server.py: how it reads a Ragas prompt and answers it.

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


def judge(prompt: str) -> Any:
    title, data = parse_prompt(prompt)
    if title is None:
        return None
    handler = HANDLERS.get(title)
    if handler is None:
        raise KeyError(f"test server has no judge for schema {title!r}")
    return handler(data or {})


def embed(text: str, dim: int = 64) -> list[float]:
    v = np.zeros(dim)
    for t in tokens(text):
        v[int(hashlib.md5(t.encode()).hexdigest(), 16) % dim] += 1.0
    n = np.linalg.norm(v)
    return (v / n if n else v + 1 / math.sqrt(dim)).tolist()


# ---------------------------------------------------------------- the HTTP app
