"""Keys go only where they belong: asserted on the Authorization header each request carried.

The local OpenAI-compatible server records every request's header, so each test names exactly which
key an endpoint received: a third-party URL (``compat:``, ``oai:``, ``ollama:``) none, OpenAI's base URL
the OpenAI key, a URL with its own configured key that key, and a browser session's typed key only
that session's calls.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from evaluators.rag.judge_llm import JudgeConcurrency
from evaluators.rag.metrics import RagSample
from evaluators.rag.scoring import RagasScorer
from rag.models.base import ModelUnavailable
from rag.models.generators import Context, GenerationConfig, make_generator
from rag.models.llm import parse_llm
from rag.models.registry import resolve
from rag.settings import Settings, get_settings, reset_settings
from tests.support.openai_test_server import judge_server, llm_server  # noqa: F401  (fixtures)

ENV_KEY = "sk-env-default-7f3a9c"
SESSION_KEY = "sk-session-a-51e2d0"
ENDPOINT_KEY = "vllm-endpoint-key-93b1"
JAVA = Context("java", "Java", "Java is a statically typed language released in 1995. Java runs on the JVM.")


@pytest.fixture
def env_key(monkeypatch):
    """OPENAI_API_KEY set app-wide, no OPENAI_BASE_URL (the key belongs to api.openai.com)."""
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("WORKBENCH_ENDPOINT_KEYS", raising=False)
    reset_settings()
    yield
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("WORKBENCH_ENDPOINT_KEYS", raising=False)
    reset_settings()


def generate(spec: str, base_url: str | None = None, settings=None, n: int = 2) -> list[str]:
    async def go():
        gen = make_generator(spec, GenerationConfig(max_retries=0), base_url, settings)
        try:
            return [(await gen.agenerate("When was Java released?", [JAVA])).text for _ in range(n)]
        finally:
            await gen.aclose()
    return asyncio.run(go())


def test_a_compat_url_gets_no_openai_key(env_key, llm_server):  # noqa: F811
    answers = generate(f"compat:m@{llm_server.base_url}")
    assert answers == ["Java is a statically typed language released in 1995."] * 2
    assert llm_server.authorizations() == [("/v1/chat/completions", None)] * 2  # was: Bearer sk-env… on both


def test_the_openai_key_goes_to_the_base_url_configured_for_it(env_key, monkeypatch, llm_server):  # noqa: F811
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    reset_settings()
    generate("openai:gpt-4o-mini")
    assert llm_server.authorizations() == [("/v1/chat/completions", f"Bearer {ENV_KEY}")] * 2
    llm_server.reset_stats()
    generate("ollama:llama3.1", base_url="http://127.0.0.1:9/v1".replace(":9/", f":{llm_server.port}/"))
    assert llm_server.keys_seen() == {f"Bearer {ENV_KEY}"}  # same URL as OPENAI_BASE_URL: the user chose it


def test_a_per_endpoint_key_goes_to_that_endpoint_only(env_key, monkeypatch, llm_server):  # noqa: F811
    monkeypatch.setenv("WORKBENCH_ENDPOINT_KEYS", json.dumps({llm_server.base_url + "/": ENDPOINT_KEY}))
    reset_settings()
    generate(f"vllm:m@{llm_server.base_url}", n=1)
    assert llm_server.authorizations() == [("/v1/chat/completions", f"Bearer {ENDPOINT_KEY}")]
    s = get_settings()
    assert s.key_for("http://other:8000/v1") is None and s.key_for(None) == ENV_KEY
    assert ENDPOINT_KEY not in repr(s) and ENDPOINT_KEY not in str(parse_llm("vllm:m").to_config())


def test_local_presets_get_no_key(env_key):
    s = get_settings()
    for spec in ("ollama:llama3.1", "vllm:m", "lmstudio:m", "compat:m@http://h:1/v1"):
        assert parse_llm(spec).api_key(s) == "no-key"  # a placeholder the HTTP client strips
    assert parse_llm("openai").api_key(s) == ENV_KEY


def test_oai_embeddings_and_their_check_send_no_openai_key(env_key, llm_server):  # noqa: F811
    spec = resolve(f"oai:emb@{llm_server.base_url}")
    assert spec.availability() == (True, "ready")
    vecs = spec.make_raw(get_settings()).encode(["Java runs on the JVM."])
    assert vecs.shape == (1, 64)
    assert llm_server.authorizations() == [("/v1/models", None), ("/v1/embeddings", None)]
    with pytest.raises(ModelUnavailable, match="unreachable"):
        resolve("oai:emb@http://127.0.0.1:9/v1").encoder()


def test_the_judge_sends_no_key_to_a_compat_url(env_key, llm_server):  # noqa: F811
    async def go(judge):
        sc = RagasScorer(["faithfulness"], judge, gate=JudgeConcurrency(2))
        try:
            return await sc.score(RagSample("q", "Java runs on the JVM.", ["Java runs on the JVM."]))
        finally:
            await sc.aclose()
    r = asyncio.run(go(parse_llm(f"compat:j@{llm_server.base_url}")))
    assert r["faithfulness"].value == 1.0
    assert llm_server.authorizations() == [("/v1/chat/completions", None)] * 2
    llm_server.reset_stats()
    mine = get_settings().with_keys(SESSION_KEY, llm_server.base_url)  # a session's key for its own URL
    asyncio.run(go(parse_llm("openai:gpt-4o-mini", settings=mine)))
    assert llm_server.keys_seen() == {f"Bearer {SESSION_KEY}"}


def test_a_session_key_is_that_sessions_only(env_key, monkeypatch, llm_server):  # noqa: F811
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    reset_settings()
    app_wide = get_settings()
    session_a = app_wide.with_keys(SESSION_KEY)
    generate("openai:gpt-4o-mini", settings=session_a, n=1)
    generate("openai:gpt-4o-mini", n=1)                       # session B: the environment default
    assert llm_server.authorizations() == [("/v1/chat/completions", f"Bearer {SESSION_KEY}"),
                                           ("/v1/chat/completions", f"Bearer {ENV_KEY}")]
    assert get_settings().openai_key == ENV_KEY and app_wide.openai_key == ENV_KEY
    # a typed URL without a typed key: the app-wide key stays with the app-wide URL
    elsewhere = app_wide.with_keys("", "http://attacker.example/v1")
    assert elsewhere.openai_key is None and elsewhere.key_for("http://attacker.example/v1") is None
    assert isinstance(session_a, Settings) and SESSION_KEY not in repr(session_a)


def test_a_session_key_reaches_that_sessions_embedding_models_only(monkeypatch, milvus, sample, llm_server,  # noqa: F811
                                                                   tmp_path):
    """The sidebar's key is passed to the Retriever a page builds (ui.resources.retriever): indexing and
    searching with an OpenAI embedding model send that key, and no other session's requests carry it."""
    from evaluators.retrieval.evaluate import evaluate_retrieval
    from rag.retrieval import Retriever

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    reset_settings()
    try:
        assert not resolve("openai-3-small:64").availability()[0]  # app-wide: no key, so not runnable
        # its own embedding cache: the session's shared one may hold the sample's vectors from another test
        session = get_settings().with_keys(SESSION_KEY, llm_server.base_url).model_copy(update={"data_dir": tmp_path})
        wb = Retriever(milvus, settings=session)
        try:
            result = evaluate_retrieval(wb, sample, ["openai-3-small:64"], k=4)
            assert len(result.rankings["openai-3-small:64"]) == 16
            assert llm_server.keys_seen() == {f"Bearer {SESSION_KEY}"}
            paths = {p for p, _ in llm_server.authorizations()}
            assert "/v1/embeddings" in paths
            with pytest.raises(ModelUnavailable, match="OPENAI_API_KEY"):  # another session: no key, refused
                evaluate_retrieval(Retriever(milvus), sample, ["openai-3-small:64"], k=4)
            for name in result.collections.values():
                wb.store.drop(name)
        finally:
            wb.close()
    finally:
        reset_settings()
