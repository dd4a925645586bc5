"""Issue 24: each model's prompts, dims, max tokens and cuts recorded in every run kind and shown next
to the model in the report ("Models as encoded") and History; API inputs cut to the provider's limit
counted in the retrieval JSON's ``models`` block and on the page."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rag.runs import RunStore
from tests.report.test_report import text_of
from tests.support.run_fixtures import write_load_run

OPTIONED = "minilm#query=query:%20&dim=128"


@pytest.fixture(scope="module")
def optioned_run(retriever, sample, tmp_path_factory):
    from evaluators.retrieval.evaluate import evaluate_retrieval, save_run

    store = RunStore(tmp_path_factory.mktemp("encoded") / "runs.sqlite")
    result = evaluate_retrieval(retriever, sample, [OPTIONED, "bm25"], k=5)
    return store, save_run(store, sample, result), result


def test_report_shows_the_prompt_and_128_dims_next_to_the_model(optioned_run, sample):
    from evaluators.report.build import build_report
    from evaluators.report.encoded import encoded_frame

    store, run_id, result = optioned_run
    info = store.get(run_id).config["models_info"]
    assert info[OPTIONED]["query_prompt"] == "query: " and info[OPTIONED]["dim"] == 128
    assert info[OPTIONED]["document_prompt"] is None and info[OPTIONED]["max_tokens"] == 256  # MiniLM's limit
    assert info["bm25"]["dim"] is None
    # an independent count with MiniLM's own tokenizer, the prompt prepended as the model is fed
    from rag.models.registry import resolve

    tok = resolve("minilm").encoder().raw.model.tokenizer
    over = sum(len(tok("query: " + q.text)["input_ids"]) > 256 for q in sample.judged_queries)
    docs_over = sum(len(tok(d.full_text)["input_ids"]) > 256 for d in sample.documents)
    assert (info[OPTIONED]["queries_truncated"], info[OPTIONED]["documents_truncated"]) == (over, docs_over)
    text = " ".join(text_of(build_report(store, [run_id], n_resamples=500)).split())
    assert "Models as encoded" in text
    row = encoded_frame(store.get(run_id)).set_index("model").loc[OPTIONED]
    assert (row["dims"], row["max tokens"], row["query prompt"], row["document prompt"]) == \
        ("128", "256", "'query: '", "none")
    assert (f"{OPTIONED} 128 256 {docs_over} of {len(sample.documents)} {over} 'query: ' none model tokenizer"
            in text), text[text.find("Models as encoded"):][:400]


def test_rag_and_load_runs_record_and_show_the_models_as_encoded(sample, tmp_path):
    from evaluators.rag.config import RagConfig, run_config_record
    from evaluators.report.build import build_report

    rec = run_config_record(sample, RagConfig(models=[OPTIONED, "bm25"]))
    assert rec["models_info"][OPTIONED]["dim"] == 128 and rec["models_info"][OPTIONED]["query_prompt"] == "query: "
    assert rec["models_info"]["bm25"]["counted_with"] == "no token limit (BM25 indexes every word)"
    # a load run: what the service says it serves (its /models answer) is recorded beside the latencies
    from loadtests.service_state import LoadedModel
    from rag.milvus.index_config import IndexConfig
    from rag.models.registry import resolve

    spec = resolve(OPTIONED)
    served = {"models": [LoadedModel(OPTIONED, spec, "c", IndexConfig(), spec.encoder()).describe(5)]}
    assert served["models"][0]["encoded"] == {"query_prompt": "query: ", "document_prompt": None, "dim": 128,
                                              "max_tokens": 256,
                                              "counted_with": "as served (cuts not counted under load)"}
    store = RunStore(tmp_path / "runs.sqlite")
    load = write_load_run(store, sample, {OPTIONED: {"p50_ms": 40, "p95_ms": 120, "p99_ms": 200, "rps": 30.0}},
                          served=served)
    text = " ".join(text_of(build_report(store, [load])).split())
    assert "Models as encoded model dims max tokens" in text
    assert f"{OPTIONED} 128 256 as served (cuts not counted under load) — 'query: ' none" in text, text


def test_an_api_model_over_its_limit_reports_what_was_cut_when_sent(monkeypatch, retriever):
    from evaluators.report.encoded import encoded_frame
    from evaluators.retrieval.evaluate import evaluate_retrieval, limits_line
    from rag.data.dataset import Dataset, Document, Query
    from rag.models import spec as spec_module
    from rag.models.providers import PROVIDERS
    from rag.settings import reset_settings
    from tests.support.provider_test_server import ProviderServer

    p = PROVIDERS["dashscope"]
    long_doc = "检索增强" * 2600          # 10,400 CJK characters: ~10,400 tokens estimated, over 8,192
    docs = [Document("d0", "long one", long_doc), Document("d1", "long two", "生成" + long_doc),
            Document("d2", "short", "向量数据库的索引类型")]
    ds = Dataset("api-cut", docs, [Query("q0", "索引类型有哪些", "")], {"q0": {"d2": 1}}, source="test:api-cut")
    with ProviderServer(p.wire) as srv:
        monkeypatch.setenv(p.base_env, srv.base_url)
        monkeypatch.setenv(p.key_env, "dashscope-test-key")
        monkeypatch.delenv("WORKBENCH_ENDPOINT_KEYS", raising=False)
        reset_settings()
        spec_module._encoders.clear()
        try:
            key = "dashscope:text-embedding-v4:256"
            result = evaluate_retrieval(retriever, ds, [key], k=2)
            sent = [t for r in srv.requests for t in r["texts"]]
        finally:
            spec_module._encoders.clear()
            reset_settings()
    info = result.to_json()["models"][key]
    long_sent = [t for t in sent if len(t) > 100]   # cut here (DashScope has no truncate flag): prefixes
    assert info["sent_truncated"] == 2 and len(long_sent) == 2
    assert all(any(d.full_text.startswith(t) and len(t) < len(d.full_text) for d in docs[:2]) for t in long_sent)
    assert info["documents_truncated"] == 2 and info["max_tokens"] == 8192  # the estimate agrees with what was cut
    assert "2 inputs cut to the provider's limit when sent" in limits_line(key, info)
    row = encoded_frame(SimpleNamespace(config={"models_info": {key: info}}, summary=None)).iloc[0]
    assert row["cut when sent (API)"] == "2"


def test_history_run_detail_shows_the_models_as_encoded(optioned_run, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    store, run_id, _ = optioned_run
    monkeypatch.setattr(RunStore, "default", classmethod(lambda cls: store))
    at = AppTest.from_file(str(ROOT / "pages" / "6_History.py"), default_timeout=180).run()
    at.multiselect(key="history_selected").select(run_id).run()
    assert not at.exception
    assert any(m.value == "**Models as encoded**" for m in at.markdown)
    frames = [d.value for d in at.dataframe if "query prompt" in d.value.columns]
    assert len(frames) == 1
    row = frames[0].set_index("model").loc[OPTIONED]
    assert (row["dims"], row["max tokens"], row["query prompt"]) == ("128", "256", "'query: '")
