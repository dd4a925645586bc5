"""Provider presets (Cohere, Voyage, Jina, Gemini, DashScope, Zhipu, SiliconFlow) against local servers
that speak each wire format and record what they were sent (tests/support/provider_test_server.py).

Real parts: the workbench's own HTTP client code, Milvus Lite, the retrieval job; the only stand-ins are
the remote APIs. Asserted: the input type per side, the model, the dims and the key header each server
received; that a key never reaches another provider's (or a proxy's) server; prices equal to the table's
published numbers (hand-computed conversions); a missing key's refusal naming its variable; over-long
inputs counted and cut or refused, and a provider's 400 turned into one line.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rag.models import spec as spec_module
from rag.models.base import ModelUnavailable
from rag.models.provider_api import InputTooLong, estimate_tokens
from rag.models.providers import CNY_PER_USD, PROVIDERS, provider_rows
from rag.models.registry import resolve, resolve_all
from rag.settings import get_settings, reset_settings
from tests.support.provider_test_server import ProviderServer, vector

# provider -> (model, dims, expected query / document input types as the server records them)
CASES = {
    "cohere": ("embed-v4.0", 256, "search_query", "search_document"),
    "voyage": ("voyage-3.5", 512, "query", "document"),
    "jina": ("jina-embeddings-v3", 128, "retrieval.query", "retrieval.passage"),
    "gemini": ("gemini-embedding-001", 768, "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT"),
    "dashscope": ("text-embedding-v4", 256, None, None),
    "zhipu": ("embedding-3", 256, None, None),
    "siliconflow": ("Qwen/Qwen3-Embedding-0.6B", 128, None, None),
}


def key_of(provider: str) -> str:
    return f"{provider}-key-{abs(hash(provider)) % 10_000:04d}"


@pytest.fixture
def providers_env(monkeypatch):
    """One local server per provider, each provider's base URL and key variable pointing at its own."""
    monkeypatch.delenv("WORKBENCH_ENDPOINT_KEYS", raising=False)
    servers = {}
    try:
        for name, p in PROVIDERS.items():
            srv = ProviderServer(p.wire).__enter__()
            servers[name] = srv
            monkeypatch.setenv(p.base_env, srv.base_url)
            monkeypatch.setenv(p.key_env, key_of(name))
        reset_settings()
        spec_module._encoders.clear()  # encoders are cached per spec: these point at this test's servers
        yield servers
    finally:
        for srv in servers.values():
            srv.__exit__(None, None, None)
        spec_module._encoders.clear()
        reset_settings()


def header(provider: str) -> str:
    return key_of(provider) if PROVIDERS[provider].wire == "gemini" else f"Bearer {key_of(provider)}"


@pytest.mark.parametrize("provider", list(CASES))
def test_each_provider_gets_its_input_type_model_dims_and_key(providers_env, provider):
    model, dims, q_type, d_type = CASES[provider]
    srv = providers_env[provider]
    spec = resolve(f"{provider}:{model}:{dims}")
    assert spec.availability() == (True, "ready")
    raw = spec.make_raw(get_settings())
    docs = raw.encode_document(["doc one", "doc two"])
    query = raw.encode_query(["a question"])
    assert docs.shape == (2, dims) and query.shape == (1, dims)
    assert np.linalg.norm(docs, axis=1) == pytest.approx([1.0, 1.0])
    first, second = srv.requests
    assert first["sides"] == [d_type, d_type] and second["sides"] == [q_type]
    assert {first["dims"], second["dims"]} == {dims}
    assert first["key"] == second["key"] == header(provider)
    want_model = f"models/{model}" if provider == "gemini" else model
    assert first["model"] == second["model"] == want_model
    prefix = PROVIDERS[provider].models[model].query_prefix
    assert first["texts"] == ["doc one", "doc two"] and second["texts"] == [prefix + "a question"]
    path = {"cohere": "/v2/embed", "gemini": f"/v1beta/models/{model}:batchEmbedContents"}.get(provider)
    assert first["path"] == (path or "/v1/embeddings")
    # tokens: the API's count (words here) or, for Gemini, which returns none, our estimate
    if provider == "gemini":
        assert raw.tokens_estimated
        assert raw.tokens_used == estimate_tokens("doc one") + estimate_tokens("doc two") + estimate_tokens(
            "a question") == 3 + 3 + 4
    else:
        assert raw.tokens_used == 2 + 2 + len((prefix + "a question").split())


def test_a_key_never_reaches_another_providers_server(providers_env, monkeypatch):
    for provider, (model, dims, *_) in CASES.items():
        resolve(f"{provider}:{model}:{dims}").make_raw(get_settings()).encode_query(["which key"])
    for provider, srv in providers_env.items():
        assert srv.keys_seen() == {header(provider)}, provider
    # a proxy URL in the spec gets no provider key: refused before any request, then only its own key
    with ProviderServer("cohere") as proxy:
        spec = resolve(f"cohere:embed-v4.0:256@{proxy.base_url}")
        ok, why = spec.availability()
        assert not ok and why.startswith(f"no key for {proxy.base_url}: COHERE_API_KEY is sent only to "
                                         f"{providers_env['cohere'].base_url}")
        monkeypatch.setenv("WORKBENCH_ENDPOINT_KEYS", f'{{"{proxy.base_url}": "proxy-key-1"}}')
        reset_settings()
        spec.make_raw(get_settings()).encode_document(["via the proxy"])
        assert proxy.keys_seen() == {"Bearer proxy-key-1"}
    assert all(srv.keys_seen() == {header(p)} for p, srv in providers_env.items())


def test_a_missing_key_is_refused_naming_its_variable(monkeypatch):
    for p in PROVIDERS.values():
        monkeypatch.delenv(p.key_env, raising=False)
        monkeypatch.delenv(p.base_env, raising=False)
    reset_settings()
    assert resolve("voyage:voyage-3.5").availability() == (
        False, "needs VOYAGE_API_KEY (environment, .env, or the sidebar) for Voyage AI")
    with pytest.raises(ModelUnavailable, match=r"^dashscope:text-embedding-v4: needs DASHSCOPE_API_KEY "):
        resolve_all(["minilm", "dashscope:text-embedding-v4"], check=True)
    # a key typed in the sidebar is bound to the provider's URL and makes it runnable for that session
    mine = get_settings().with_endpoint_keys({"https://api.voyageai.com/v1": "typed"})
    assert resolve("voyage:voyage-3.5").availability(mine) == (True, "ready")
    assert resolve("jina:jina-embeddings-v3").availability(mine)[0] is False
    reset_settings()


def test_prices_are_the_table_and_cost_basis_says_where_they_come_from():
    from evaluators.report.frontier import embedding_price

    assert embedding_price("gemini:gemini-embedding-001") == (0.15, "$0.15/1M tokens (published list price)")
    assert embedding_price("dashscope:text-embedding-v4") == (0.072, "$0.072/1M tokens (published list price)")
    assert embedding_price("cohere:embed-v4.0") == (
        0.12, "$0.12/1M tokens (unverified: toolstac.com (third party))")
    usd, basis = embedding_price("zhipu:embedding-2")
    assert CNY_PER_USD == 7.2 and usd == round(0.5 / 7.2, 6) == 0.069444  # yuan price at the stated rate
    assert basis == "$0.069444/1M tokens (¥0.5/1M converted at 7.2; published list price)"
    usd, basis = embedding_price("siliconflow:BAAI/bge-m3")  # no published price found: unknown, not $0
    assert math.isnan(usd) and basis.startswith("unknown: price unverified")
    # a sweep's query cost per 1k queries: 12 tokens/query × $0.06/1M × 1000 = $0.00072
    spec = resolve("voyage:voyage-3.5")
    assert 12 * spec.price_per_mtok * 1000 / 1e6 == pytest.approx(0.00072)


def test_rows_show_price_limit_and_whether_a_key_is_set(monkeypatch):
    for p in PROVIDERS.values():
        monkeypatch.delenv(p.key_env, raising=False)
    monkeypatch.setenv("VOYAGE_API_KEY", "v")
    reset_settings()
    rows = {r["spec"]: r for r in provider_rows(get_settings())}
    assert rows["voyage:voyage-3.5"]["key set"] and not rows["cohere:embed-v4.0"]["key set"]
    assert rows["dashscope:text-embedding-v4"]["price"] == "$0.072/1M tokens"
    assert rows["zhipu:embedding-3"]["price"] == "¥0.5/1M tokens (≈$0.0694 at 7.2 CNY/USD) (unverified)"
    assert rows["zhipu:embedding-3"]["max tokens"] == "8,192 (unverified)"
    assert rows["jina:jina-embeddings-v3"]["input type"] == "task=retrieval.query / retrieval.passage"
    assert all("v" != str(v) for r in rows.values() for v in r.values())  # the key itself is never shown
    reset_settings()


def test_over_long_inputs_are_counted_cut_or_refused_never_a_raw_400(providers_env):
    long_zh = "检索" * 5000  # 10,000 CJK characters: ~10,000 tokens estimated, over text-embedding-v4's 8,192
    raw = resolve("dashscope:text-embedding-v4:256").make_raw(get_settings())
    raw.encode_document(["short", long_zh])
    sent = providers_env["dashscope"].requests[-1]["texts"]
    assert raw.truncated == 1 and sent[0] == "short" and len(sent[1]) == 8192  # cut here: no API-side flag
    raw.on_over = "refuse"
    with pytest.raises(InputTooLong, match=r"the document '检索检索.*'… is ~10,000 tokens \(estimated\), over "
                                           r"the model's limit of 8,192"):
        raw.encode_document([long_zh])
    # Cohere truncates on its own when asked: sent whole with truncate END, still counted
    co = resolve("cohere:embed-multilingual-v3.0").make_raw(get_settings())
    co.encode_document(["word " * 400])
    last = providers_env["cohere"].requests[-1]
    assert co.truncated == 1 and last["body"]["truncate"] == "END" and last["texts"] == ["word " * 400]
    # a provider's own 400 (its limit is lower than published) comes back as one line naming the text
    with ProviderServer("voyage", reject_over=3) as strict:
        enc = resolve(f"voyage:voyage-3.5:256@{strict.base_url}").make_raw(
            get_settings().with_endpoint_keys({strict.base_url: "k"}))
        with pytest.raises(InputTooLong, match=r"^Voyage AI \(voyage:voyage-3.5\) answered HTTP 400: input too "
                                               r"long: exceeds the 3 token limit — a text of this batch is over "
                                               r"its limit \(first: 'one two three four'…\)"):
            enc.encode_document(["one two three four"])


def test_retrieval_with_a_provider_embeds_each_side_with_its_input_type(providers_env, retriever, sample):
    from evaluators.retrieval.evaluate import evaluate_retrieval
    from rag.milvus.store import canonical_order

    key = "voyage:voyage-3.5:256"
    result = evaluate_retrieval(retriever, sample, [key], k=4)
    reqs = providers_env["voyage"].requests
    doc_texts = {t for r in reqs if r["sides"][0] == "document" for t in r["texts"]}
    query_texts = [t for r in reqs if r["sides"][0] == "query" for t in r["texts"]]
    assert doc_texts == {d.full_text for d in sample.documents}
    assert sorted(query_texts) == sorted(q.text for q in sample.queries if q.id in result.rankings[key])
    docs = np.array([vector(d.full_text, "document", 256) for d in sample.documents])
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    for q in sample.queries:
        if q.id not in result.rankings[key]:
            continue
        qv = np.array(vector(q.text, "query", 256))
        scores = docs @ (qv / np.linalg.norm(qv))
        expected = canonical_order([(d.id, float(s)) for d, s in zip(sample.documents, scores)])
        got = result.rankings[key][q.id]
        assert [d for d, _ in got] == [d for d, _ in expected[:4]], q.id
