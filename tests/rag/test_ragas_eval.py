"""Ragas scoring through the real Ragas code path against the local OpenAI-compatible test server.

The server is a small deterministic judge (see tests/support/openai_test_server.py): the scores below come
out of Ragas' own prompts, parsing and score math, not out of a table of canned numbers.
"""

from __future__ import annotations

import asyncio

import pytest

from evaluators.rag.judge_llm import JudgeConcurrency
from evaluators.rag.metrics import JUDGED, METRICS, NON_LLM, RagSample, split_metrics
from evaluators.rag.scoring import RagasScorer, explain
from rag.models.llm import parse_llm
from tests.support.openai_test_server import judge_server, llm_server  # noqa: F401  (fixtures)

CTX = ["Java is a statically typed language released in 1995.",
       "Java has a garbage collector that reclaims unused memory automatically."]
REF = "Java reclaims unused memory automatically with a garbage collector."


def score(server, samples, metrics=None, gate_size=4, **kw):
    """Score samples concurrently with a fresh scorer (fresh clients, as each run does)."""
    async def go():
        sc = RagasScorer(metrics, parse_llm(f"openai:gpt-4o-mini@{server.base_url}"),
                         gate=JudgeConcurrency(gate_size), **kw)
        try:
            return await asyncio.gather(*(sc.score(s) for s in samples)), sc
        finally:
            await sc.aclose()
    return asyncio.run(go())


def minilm():
    from rag.models.registry import resolve

    enc = resolve("minilm").encoder()
    return lambda texts: enc.embed(list(texts))


def relevancy(question: str, generated: list[str], embed) -> float:
    """Ragas' answer relevancy for answers that are not noncommittal: the mean cosine of the generated
    questions' embeddings with the question's."""
    import numpy as np

    q, g = np.asarray(embed([question])[0]), np.asarray(embed(generated))
    return float((g @ q / (np.linalg.norm(g, axis=1) * np.linalg.norm(q))).mean())


def test_faithfulness_copied_is_1_contradicting_is_0(llm_server):  # noqa: F811
    copied = RagSample("auto garbage collection", "Java has a garbage collector that reclaims unused memory "
                       "automatically.", CTX, REF)
    contradicting = RagSample("auto garbage collection", "Java has no garbage collector. Programs free memory by "
                              "hand.", CTX, REF)
    half = RagSample("auto garbage collection", "Java is a statically typed language released in 1995. Java runs "
                     "only on Windows.", CTX, REF)
    (r1, r0, rh), sc = score(llm_server, [copied, contradicting, half], ["faithfulness"])
    assert r1["faithfulness"].value == 1.0
    assert r0["faithfulness"].value == 0.0
    assert rh["faithfulness"].value == 0.5
    reasons = explain(r0["faithfulness"].reasons)
    verdicts = [(r["item"], r["verdict"]) for r in reasons if r["verdict"] is not None]
    assert verdicts == [("Java has no garbage collector.", 0), ("Programs free memory by hand.", 0)]
    assert all(r["reason"] for r in reasons)
    assert llm_server.stats()["by_title"] == {"StatementGeneratorOutput": 3, "NLIStatementOutput": 3}
    assert sc.meter.totals()["calls"] == 6 and sc.meter.totals()["prompt_tokens"] > 1000


def test_all_judged_metrics_and_calls_per_sample(llm_server):  # noqa: F811
    (r,), sc = score(llm_server, [RagSample("auto garbage collection", CTX[1], CTX, REF, CTX)], JUDGED)
    assert r["faithfulness"].value == 1.0
    assert r["context_recall"].value == 1.0              # the reference sentence is supported by the contexts
    assert r["context_precision"].value == pytest.approx(0.5)  # only the 2nd context is useful: AP = 1/2
    # The server asks back the answer's first sentence (3 times, not noncommittal): the score is the MiniLM
    # cosine of that question with the real one, recomputed here from Ragas' formula
    generated = [x["question"] for x in r["answer_relevancy"].reasons]
    assert generated == ["Java has a garbage collector that reclaims unused memory automatically?"] * 3
    assert r["answer_relevancy"].value == pytest.approx(relevancy("auto garbage collection", generated, minilm()),
                                                        abs=1e-6)
    assert [x["item"] for x in explain(r["context_precision"].reasons)] == ["context 1", "context 2"]
    # Calls per sample (k = 2 contexts): faithfulness 2, answer relevancy 3, context precision k, recall 1
    assert llm_server.stats()["chat_calls"] == 2 + 3 + 2 + 1 == sum(METRICS[m].calls(2) for m in JUDGED)


def test_not_applicable_is_not_zero_and_non_llm_metrics_run_without_a_judge():
    active, skipped = split_metrics(None, judge=None)
    assert active == NON_LLM and set(skipped) == set(JUDGED)
    assert all("judge" in why for why in skipped.values())

    async def go():
        sc = RagasScorer(None, None)
        return await sc.score(RagSample("q", REF, CTX, REF, [CTX[1]])), await sc.score(RagSample("q", REF, CTX))
    full, bare = asyncio.run(go())
    assert full["rouge_l"].value == 1.0 and full["bleu"].value == pytest.approx(1.0)
    assert full["string_similarity"].value == 1.0
    assert full["nonllm_context_recall"].value == 1.0                   # the reference context was retrieved
    assert full["nonllm_context_precision"].value == pytest.approx(0.5)  # ... at rank 2
    for name, r in bare.items():
        assert r.value is None and r.error is None and r.not_applicable.startswith("not applicable"), name


def test_fault_injection_empties_only_the_affected_rows(llm_server):  # noqa: F811
    llm_server.set_faults([{"kind": "http500", "match": "Which language is slow?"}])
    good = RagSample("auto garbage collection", CTX[1], CTX, REF)
    bad = RagSample("Which language is slow?", CTX[1], CTX, REF)
    (rg, rb), _ = score(llm_server, [good, bad], ["faithfulness", "context_recall", "rouge_l"], max_retries=0)
    assert rg["faithfulness"].value == 1.0 and rg["context_recall"].value == 1.0
    assert rb["faithfulness"].value is None and "500" in rb["faithfulness"].error
    assert rb["context_recall"].value is None and rb["context_recall"].error
    assert rb["rouge_l"].value == rg["rouge_l"].value > 0  # no judge needed: unaffected


def test_invalid_json_once_is_repaired_by_a_reask_but_persistent_invalid_json_fails(llm_server):  # noqa: F811
    llm_server.set_faults([{"kind": "invalid_json", "match": "first row", "times": 1},
                           {"kind": "invalid_json", "match": "second row"}])
    s1 = RagSample("first row", CTX[1], CTX, REF)
    s2 = RagSample("second row", CTX[1], CTX, REF)
    (r1, r2), sc = score(llm_server, [s1, s2], ["faithfulness"], max_retries=0)
    assert r1["faithfulness"].value == 1.0  # instructor's re-ask ("correct your JSON") recovered the reply
    assert r2["faithfulness"].value is None
    assert r2["faithfulness"].error.startswith("parse error: the judge's reply was not the JSON asked for (2 attempts)")
    assert llm_server.stats()["reasks"] == 2   # one re-ask per bad reply, not one per openai retry
    # every API response is metered, the bad replies and the re-asks too: row 1 3 calls, row 2 2 calls
    assert sc.meter.totals()["calls"] == llm_server.stats()["chat_calls"] == 5
    assert sc.meter.totals()["prompt_tokens"] == llm_server.stats()["prompt_tokens"]


def test_at_most_n_judge_calls_are_in_flight(llm_server):  # noqa: F811
    llm_server.latency = 0.2
    rows = [RagSample(f"row {i}", CTX[1], CTX, REF) for i in range(6)]
    results, _ = score(llm_server, rows, ["faithfulness", "context_recall"], gate_size=2)
    assert [r["faithfulness"].value for r in results] == [1.0] * 6
    assert llm_server.stats()["chat_calls"] == 6 * 3 and llm_server.stats()["max_in_flight"] == 2


def test_calls_spread_over_pools_of_four_and_each_pool_holds_at_most_four(llm_server):  # noqa: F811
    """At 10 in flight the judge has 3 HTTP pools of ≤ 4 connections (httpcore scans a whole pool on every
    request and response); every pool is used and none ever has more than 4 calls in flight."""
    from evaluators.rag.judge_llm import POOL_CONNECTIONS, JudgeLLM
    from rag.models.llm import tls_context

    assert POOL_CONNECTIONS == 4
    llm_server.latency = 0.2
    rows = [RagSample(f"row {i}", CTX[1], CTX, REF) for i in range(10)]
    peak: list[int] = []

    async def go():
        judge = JudgeLLM.build(parse_llm(f"openai:gpt-4o-mini@{llm_server.base_url}"), JudgeConcurrency(10), 30, 0)
        assert len(judge.clients) == 3 and judge.busy == [0, 0, 0]
        pools = [c._client._transport._pool for c in judge.clients]
        assert [p._max_connections for p in pools] == [4, 4, 4]
        assert {id(c._client._transport._pool._ssl_context) for c in judge.clients} == {id(tls_context())}
        from ragas.metrics.collections import ContextRecall

        metric = ContextRecall(llm=judge)

        async def watch():
            while True:
                peak.append(max(judge.busy))
                await asyncio.sleep(0.01)
        w = asyncio.create_task(watch())
        try:
            vals = await asyncio.gather(*(metric.ascore(user_input=r.user_input, reference=r.reference,
                                                        retrieved_contexts=r.retrieved_contexts) for r in rows))
            return [v.value for v in vals], [len(p.connections) for p in pools]
        finally:
            w.cancel()
            await judge.aclose()
    values, connections = asyncio.run(go())
    assert values == [1.0] * 10 and llm_server.stats()["chat_calls"] == 10
    assert max(peak) == 4 and llm_server.stats()["max_in_flight"] == 10     # 4 + 3 + 3 at once
    assert all(1 <= n <= 4 for n in connections), connections


def test_timeouts_are_reported_per_row(llm_server):  # noqa: F811
    llm_server.hang_seconds = 5
    llm_server.set_faults([{"kind": "timeout", "match": "slow row"}])
    (ok, slow), _ = score(llm_server, [RagSample("fast row", CTX[1], CTX, REF), RagSample("slow row", CTX[1], CTX,
                                                                                         REF)],
                          ["context_recall"], timeout=1, max_retries=0)
    assert ok["context_recall"].value == 1.0
    assert slow["context_recall"].value is None and slow["context_recall"].error.startswith("timeout")


def test_second_run_in_one_process_works(llm_server):  # noqa: F811
    """The 'second evaluate()' trap: each run builds fresh clients on its own event loop."""
    for _ in range(3):
        (r,), _ = score(llm_server, [RagSample("q", CTX[1], CTX, REF)], ["faithfulness"])
        assert r["faithfulness"].value == 1.0


def test_judge_without_key_or_url_is_refused(monkeypatch):
    from rag.settings import reset_settings

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    reset_settings()
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        RagasScorer(["faithfulness"], parse_llm("openai:gpt-4o-mini"))


def test_default_path_is_offline_no_telemetry_no_tiktoken(llm_server, monkeypatch):  # noqa: F811
    import tiktoken
    from ragas._analytics import do_not_track

    assert do_not_track()  # RAGAS_DO_NOT_TRACK=true is set before Ragas is imported

    def no_download(*a, **kw):
        raise AssertionError("tiktoken was asked for an encoding (it would download BPE files)")

    monkeypatch.setattr(tiktoken, "get_encoding", no_download)
    monkeypatch.setattr(tiktoken, "encoding_for_model", no_download)
    (r,), _ = score(llm_server, [RagSample("auto garbage collection", CTX[1], CTX, REF, CTX)], None)
    assert all(v.value is not None for v in r.values()), {k: v.error for k, v in r.items()}


def test_answer_relevancy_with_remote_openai_compatible_embeddings(llm_server):  # noqa: F811
    (r,), _ = score(llm_server, [RagSample("Which language has a garbage collector?", CTX[1], CTX)],
                    ["answer_relevancy"], embeddings=f"compat:emb@{llm_server.base_url}")
    from tests.support.judge_rules import embed

    generated = [x["question"] for x in r["answer_relevancy"].reasons]
    assert generated == ["Java has a garbage collector that reclaims unused memory automatically?"] * 3
    want = relevancy("Which language has a garbage collector?", generated, lambda ts: [embed(t) for t in ts])
    assert r["answer_relevancy"].value == pytest.approx(want, abs=1e-9)   # the server's hashed bag-of-words cosine
    assert llm_server.stats()["embedding_calls"] == 2   # question + generated questions, no tiktoken payloads


ID_ROWS = [  # (retrieved ids, reference ids): overlap, none, all, duplicates, int vs str ids, empty sides
    (["java", "c", "go"], ["java", "python"]),
    (["c", "go"], ["java"]),
    (["java", "python"], ["python", "java"]),
    (["java", "java", "c"], ["java"]),
    ([1, 2, 3], ["2", "3", "4", "5"]),
    ([], ["java"]),
    (["java"], []),
]


def test_context_metrics_by_id_equal_ragas_private_id_based_classes():
    import math
    import warnings

    from ragas.dataset_schema import SingleTurnSample

    from evaluators.rag.id_metrics import id_context_precision, id_context_recall

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ragas.metrics import _IDBasedContextPrecision, _IDBasedContextRecall  # tests may use private names
    ours = {"precision": id_context_precision, "recall": id_context_recall}
    theirs = {"precision": _IDBasedContextPrecision(), "recall": _IDBasedContextRecall()}
    got = {}
    for kind in ours:
        for ret, ref in ID_ROWS:
            want = asyncio.run(theirs[kind].single_turn_ascore(SingleTurnSample(
                user_input="q", retrieved_context_ids=ret, reference_context_ids=ref)))
            mine = ours[kind](ret, ref)
            assert (math.isnan(mine) and math.isnan(want)) or mine == want, (kind, ret, ref, mine, want)
            got[kind] = [*got.get(kind, []), None if math.isnan(mine) else round(mine, 4)]
    assert got == {"precision": [0.3333, 0.0, 1.0, 0.5, 0.6667, None, 0.0],
                   "recall": [0.5, 0.0, 1.0, 1.0, 0.5, 0.0, None]}


def test_context_metrics_run_by_id_where_ids_exist_and_by_text_otherwise():
    async def go():
        sc = RagasScorer(["nonllm_context_precision", "nonllm_context_recall"], None)
        # Texts that do not fuzzy-match but whose ids are judged: by id counts the hit, by text would not.
        by_id = await sc.score(RagSample("q", REF, ["Garbage collection: JVM", "Python is dynamic."], REF,
                                         ["Java has a garbage collector that reclaims unused memory."],
                                         ["java", "python"], ["java", "golang"]))
        by_text = await sc.score(RagSample("q", REF, CTX, REF, [CTX[1]]))
        return by_id, by_text
    by_id, by_text = asyncio.run(go())
    assert {n: (r.value, r.variant) for n, r in by_id.items()} == {
        "nonllm_context_precision": (0.5, "by id"), "nonllm_context_recall": (0.5, "by id")}
    assert {n: (r.value, r.variant) for n, r in by_text.items()} == {
        "nonllm_context_precision": (pytest.approx(0.5), "by text"), "nonllm_context_recall": (1.0, "by text")}


def test_display_label_names_the_variant():
    from evaluators.rag.metrics import display_label

    assert display_label("nonllm_context_recall", "by id") == "Context recall (non-LLM, by id)"
    assert display_label("nonllm_context_precision", "by text") == "Context precision (non-LLM, by text)"
    assert display_label("rouge_l") == "ROUGE-L"
