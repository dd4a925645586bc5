"""Generators (extractive baseline, OpenAI-compatible chat via the local test server) and LLM specs."""

from __future__ import annotations

import asyncio

import pytest

from rag.models.generators import (
    DEFAULT_PROMPT,
    GENERATORS,
    ChatGenerator,
    Context,
    ExtractiveGenerator,
    GenerationConfig,
    generator_endpoint,
    generator_kind,
    generator_label,
    make_generator,
    render_prompt,
)
from rag.models.llm import LLMUnavailable, parse_llm
from rag.settings import reset_settings
from tests.support.openai_test_server import judge_server, llm_server  # noqa: F401  (fixtures)

JAVA = Context("java", "Java", "Java is a statically typed language released in 1995. Memory is managed "
                               "automatically by a garbage collector. Java runs on the JVM.")
C = Context("c", "C", "C is a procedural language from Bell Labs. C has no garbage collector: programs free "
                      "memory by hand with malloc and free.")


def test_prompt_template_is_filled_and_validated():
    text = render_prompt(DEFAULT_PROMPT, "auto garbage collection", [JAVA, C])
    assert "Question: auto garbage collection" in text
    assert "[1] Java\nJava is" in text and "[2] C\nC is" in text
    with pytest.raises(ValueError, match=r"\{question\}"):
        GenerationConfig(prompt_template="Context: {context}")
    custom = render_prompt('Reply as JSON {"a": 1}. {context} // {question}', "q", [C])
    assert custom.startswith('Reply as JSON {"a": 1}. [1] C')


def test_extractive_baseline_answers_from_the_most_relevant_sentences():
    gen = ExtractiveGenerator(n_sentences=1)  # word overlap: no model needed
    ans = asyncio.run(gen.agenerate("automatic garbage collector", [C, JAVA]))
    assert ans.text == "Memory is managed automatically by a garbage collector."
    assert (ans.prompt_tokens, ans.completion_tokens) == (0, 0)
    assert gen.is_baseline and not gen.uses_llm and "baseline" in gen.label
    assert ExtractiveGenerator().answer("anything", []) == "I don't know."


@pytest.mark.slow
def test_extractive_with_minilm_uses_semantics():
    gen = make_generator("extractive", GenerationConfig(extractive_sentences=1))
    assert gen.embed is not None  # the packaged MiniLM
    ans = asyncio.run(gen.agenerate("Which language frees memory for you?", [C, JAVA]))
    assert "garbage collector" in ans.text


def test_chat_generator_through_an_openai_compatible_server(llm_server):  # noqa: F811
    gen = make_generator(f"compat:test-model@{llm_server.base_url}", GenerationConfig(max_retries=0))
    assert isinstance(gen, ChatGenerator) and not gen.is_baseline

    async def go():
        try:
            return await gen.agenerate("Which language frees memory automatically with a garbage collector?", [C, JAVA])
        finally:
            await gen.aclose()

    ans = asyncio.run(go())
    assert ans.text == "Memory is managed automatically by a garbage collector."  # the server's best sentence
    assert ans.model == "test-model" and ans.prompt_tokens > 50 and ans.completion_tokens > 0
    assert llm_server.stats()["by_title"] == {"generation": 1}


def test_chat_generator_retries_http_500_and_reports_persistent_failure(llm_server):  # noqa: F811
    llm_server.set_faults([{"kind": "http500", "times": 1}])
    gen = make_generator(f"compat:m@{llm_server.base_url}", GenerationConfig(max_retries=2))
    assert asyncio.run(gen.agenerate("garbage collector", [JAVA])).text  # the client's retry recovers
    llm_server.set_faults([{"kind": "http500"}])
    gen = make_generator(f"compat:m@{llm_server.base_url}", GenerationConfig(max_retries=0))
    with pytest.raises(Exception, match="500|server error"):
        asyncio.run(gen.agenerate("garbage collector", [JAVA]))


def test_llm_specs_and_base_url_precedence(monkeypatch):
    assert parse_llm("none") is None and parse_llm("") is None
    assert parse_llm("openai").model == "gpt-4o-mini"
    ep = parse_llm("ollama:llama3.1")
    assert ep.resolved_base_url() == "http://localhost:11434/v1"
    assert parse_llm("ollama:llama3.1", "http://gpu:11434/v1").resolved_base_url() == "http://gpu:11434/v1"
    assert parse_llm("compat:m@http://h:1/v1").resolved_base_url() == "http://h:1/v1"
    with pytest.raises(LLMUnavailable):
        parse_llm("anthropic:claude")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env-host:9/v1")
    reset_settings()
    try:
        assert parse_llm("openai:gpt-4o").resolved_base_url() == "http://env-host:9/v1"  # OPENAI_BASE_URL honoured
        monkeypatch.delenv("OPENAI_BASE_URL")
        reset_settings()
        ok, why = parse_llm("openai:gpt-4o").availability()
        assert not ok and "OPENAI_API_KEY" in why
        assert parse_llm("compat:m").availability()[0] is False
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123456")
        reset_settings()
        assert parse_llm("openai:gpt-4o").availability() == (True, "ready")
        assert "sk-test" not in str(parse_llm("openai:gpt-4o").to_config())
    finally:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        reset_settings()


def test_generator_registry():
    assert set(GENERATORS) >= {"extractive", "openai", "ollama", "vllm", "lmstudio", "compat"}
    assert generator_kind("extractive").is_baseline and not generator_kind("openai:gpt-4o").is_baseline
    assert generator_endpoint("extractive") is None
    assert generator_endpoint("openai:gpt-4o").model == "gpt-4o"
    assert generator_label("extractive") == "Extractive (baseline, no LLM)"
    assert generator_label("openai:gpt-4o-mini") == "OpenAI: gpt-4o-mini"
    with pytest.raises(ValueError, match="unknown generator"):
        generator_kind("t5")
