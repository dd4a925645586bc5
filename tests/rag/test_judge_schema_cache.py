"""The judge's reply schemas computed once (evaluators.rag.judge_llm.schema_cached / reply_model): every request
the judge sends and every score are the same as with Ragas and instructor building them per call."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi import Request

import evaluators.rag.scoring as scoring
from evaluators.rag.judge_llm import JudgeConcurrency, reply_model, schema_cached
from evaluators.rag.metrics import JUDGED, RagSample
from rag.models.llm import parse_llm
from tests.support.openai_test_server import JudgeServer

SAMPLES = [
    RagSample("What reclaims memory in Java?", "Java has a garbage collector. It was released in 1995.",
              ["Java is a statically typed language released in 1995.",
               "Java has a garbage collector that reclaims unused memory automatically."],
              reference="Java reclaims unused memory automatically with a garbage collector."),
    RagSample("When was Java released?", "In 1995.", ["Java is a statically typed language released in 1995."],
              reference="Java was released in 1995."),
]


@pytest.fixture(scope="module")
def recording_server():
    """The test judge, recording every chat request's JSON body."""
    srv = JudgeServer()
    srv.bodies = []

    @srv.app.middleware("http")
    async def record(request: Request, call_next):
        if request.url.path.endswith("/chat/completions"):
            srv.bodies.append(json.loads(await request.body()))
        return await call_next(request)

    with srv:
        yield srv


def run(server, samples) -> tuple[list, list[str]]:
    """Scores of ``samples`` with every judged metric, and the request bodies sent (sorted, as JSON)."""
    server.bodies.clear()

    async def go():
        sc = scoring.RagasScorer(list(JUDGED), parse_llm(f"openai:gpt-4o-mini@{server.base_url}"),
                                 gate=JudgeConcurrency(4))
        try:
            return await asyncio.gather(*(sc.score(s) for s in samples))
        finally:
            await sc.aclose()

    results = asyncio.run(go())
    scores = [{n: r.value for n, r in res.items()} for res in results]
    return scores, sorted(json.dumps(b, sort_keys=True) for b in server.bodies)


def test_requests_and_scores_equal_those_built_per_call(recording_server, monkeypatch):
    cached_scores, cached_bodies = run(recording_server, SAMPLES)
    monkeypatch.setattr(scoring, "cache_prompt_schemas", lambda metric: metric)
    monkeypatch.setattr("evaluators.rag.judge_llm.reply_model", lambda model: model)
    plain_scores, plain_bodies = run(recording_server, SAMPLES)
    assert len(cached_bodies) == len(plain_bodies) >= 2 * (2 + 3 + 1 + 1)  # faithfulness, relevancy, precision, recall
    assert cached_bodies == plain_bodies
    assert cached_scores == plain_scores
    assert cached_scores[1]["faithfulness"] == 1.0  # "In 1995." is in its context


def test_the_schema_is_the_models_own_and_a_caller_cannot_change_the_next_one():
    from ragas.metrics.collections.faithfulness.util import NLIStatementOutput

    fast = schema_cached(NLIStatementOutput)
    assert fast.__name__ == "NLIStatementOutput" and issubclass(fast, NLIStatementOutput)
    assert fast.model_json_schema() == NLIStatementOutput.model_json_schema()
    assert fast.model_json_schema(mode="serialization") == NLIStatementOutput.model_json_schema(mode="serialization")
    fast.model_json_schema()["title"] = "changed"
    assert fast.model_json_schema()["title"] == "NLIStatementOutput"
    assert schema_cached(NLIStatementOutput) is fast
    assert reply_model(NLIStatementOutput) is reply_model(NLIStatementOutput)
    reply = reply_model(NLIStatementOutput).model_validate({"statements": []})
    assert isinstance(reply, NLIStatementOutput) and type(reply).__name__ == "NLIStatementOutput"
