"""Synthetic question sets: Ragas' TestsetGenerator via the test server, saved, edited and run."""

from __future__ import annotations

import pandas as pd
import pytest

from evaluators.rag.config import RagConfig
from evaluators.rag.cost import UsageMeter
from evaluators.rag.job import run_rag
from evaluators.rag.testset import NEEDS_LLM, generate_testset, why_unavailable
from rag.data.dataset import DatasetError
from rag.data.question_sets import (
    list_question_sets,
    load_question_set,
    questions_from_dataset,
    questions_from_records,
    save_question_set,
)
from tests.support.openai_test_server import judge_server, llm_server  # noqa: F401  (fixtures)


def test_without_an_llm_the_generator_explains_what_is_needed(monkeypatch):
    from rag.settings import reset_settings

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    reset_settings()
    assert why_unavailable("none") == NEEDS_LLM
    assert "OPENAI_API_KEY" in why_unavailable("openai:gpt-4o-mini")
    assert why_unavailable("ollama:llama3.1") is None  # a local server needs no key


def test_question_sets_from_dataset_and_files(sample):
    qs = questions_from_dataset(sample)
    q1 = next(q for q in qs if q.id == "q1")
    assert q1.reference and set(q1.relevant_ids) == {"java", "python", "javascript", "golang"}
    assert len(q1.reference_contexts) == 4 and q1.reference_contexts[0].startswith(sample.doc(q1.relevant_ids[0]).title)
    save_question_set("unit-set", qs[:2])
    assert "unit-set" in list_question_sets() and load_question_set("unit-set") == qs[:2]
    with pytest.raises(DatasetError):
        save_question_set("../escape", qs)
    with pytest.raises(DatasetError, match="duplicate"):
        save_question_set("dups", [qs[0], qs[0]])


@pytest.mark.slow
def test_generate_edit_save_and_run_a_synthetic_set(retriever, sample, llm_server):  # noqa: F811
    meter = UsageMeter()
    qs = generate_testset(sample, f"compat:gen@{llm_server.base_url}", size=4, meter=meter)
    assert len(qs) == 4
    for q in qs:
        assert q.question and q.reference and len(q.reference_contexts) == 1
        assert q.relevant_ids and sample.doc(q.relevant_ids[0]).full_text == q.reference_contexts[0]
    assert meter.totals()["calls"] == llm_server.stats()["chat_calls"] > 0   # transforms included
    # edit in a table (as the page's data editor does), then save as a question set
    frame = pd.DataFrame([q.to_json() for q in qs])
    frame.loc[0, "question"] = "Which language did Dennis Ritchie create?"
    edited = questions_from_records(frame.to_dict("records"))
    save_question_set("synthetic-unit", edited)
    result = run_rag(sample, RagConfig(models=["bm25"], k=3, question_set="synthetic-unit"), retriever=retriever)
    assert len(result.rows) == 4 and result.rows[0]["question"] == "Which language did Dennis Ritchie create?"
    assert result.summary["metrics"]["bm25"]["nonllm_context_recall"]["n"] == 4
