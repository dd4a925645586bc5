"""The questions a RAG run asks: from a dataset's queries, or a saved question set (e.g. synthetic).

Each question carries what Ragas' reference-based metrics need: the reference answer (when the
dataset has one) and the reference contexts (the texts of the documents judged relevant in qrels,
or the contexts a test-set generator built the question from), plus the relevant document ids so
retrieved contexts can be marked ✅/❎.

A question set is a JSONL file in ``<data_dir>/question_sets/NAME.jsonl``, one question per line:
``{"id", "question", "reference", "reference_contexts", "relevant_ids"}``. It is tied to a corpus
only through ``relevant_ids``; run it against the dataset it was made from.

Usage:
    qs = questions_from_dataset(ds)                 # judged queries or queries with a reference answer
    save_question_set("languages-synthetic", qs)
    load_question_set("languages-synthetic")[0].question
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field

from rag.data.dataset import Dataset, DatasetError
from rag.i18n import _
from rag.settings import get_settings


@dataclass
class EvalQuestion:
    id: str
    question: str
    reference: str | None = None
    reference_contexts: list[str] = field(default_factory=list)
    relevant_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def questions_from_dataset(ds: Dataset, limit: int | None = None) -> list[EvalQuestion]:
    """Queries that can be scored by something: judged (qrels) or carrying a reference answer."""
    qs = [EvalQuestion(q.id, q.text, q.reference, ds.reference_contexts(q.id),
                       sorted(ds.relevant(q.id), key=lambda d: (-ds.relevant(q.id)[d], d)))
          for q in ds.queries if q.id in ds.qrels or q.reference]
    return qs[:limit] if limit else qs


def questions_from_records(records: list[dict]) -> list[EvalQuestion]:
    """From an edited table (one dict per row); list cells may come back as arrays or None."""
    def as_list(v):
        return [] if v is None or (isinstance(v, float) and v != v) else [str(x) for x in list(v)]
    return [EvalQuestion(str(r["id"]), str(r["question"]), r.get("reference") or None,
                         as_list(r.get("reference_contexts")), as_list(r.get("relevant_ids")))
            for r in records if str(r.get("question") or "").strip()]


def _path(name: str):
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,80}", name or ""):
        raise DatasetError(_("question set name {name}: use letters, digits, '-', '_' or '.'").format(name=repr(name)))
    return get_settings().user_path("question_sets", f"{name}.jsonl")


def save_question_set(name: str, questions: list[EvalQuestion]) -> str:
    if not questions:
        raise DatasetError(_("a question set needs at least one question"))
    seen = set()
    for i, q in enumerate(questions, 1):
        if not str(q.question).strip():
            raise DatasetError(_("empty question"), file=f"{name}.jsonl", line=i, field="question")
        if q.id in seen:
            raise DatasetError(_("duplicate id {id}").format(id=repr(q.id)), file=f"{name}.jsonl", line=i, field="id")
        seen.add(q.id)
    p = _path(name)
    p.write_text("".join(json.dumps(q.to_json(), ensure_ascii=False) + "\n" for q in questions))
    return str(p)


def load_question_set(name: str) -> list[EvalQuestion]:
    p = _path(name)
    if not p.exists():
        raise DatasetError(_("no question set named {name} (saved sets: {sets})").format(
            name=repr(name), sets=", ".join(list_question_sets()) or _("none")))
    out = []
    for i, line in enumerate(p.read_text().splitlines(), 1):
        if line.strip():
            try:
                d = json.loads(line)
                out.append(EvalQuestion(str(d["id"]), d["question"], d.get("reference"),
                                        list(d.get("reference_contexts") or []), list(d.get("relevant_ids") or [])))
            except (ValueError, KeyError) as e:
                raise DatasetError(_("bad question: {why}").format(why=e), file=p.name, line=i) from e
    return out


def list_question_sets() -> list[str]:
    folder = get_settings().user_path("question_sets", "x").parent
    return sorted(p.stem for p in folder.glob("*.jsonl"))
