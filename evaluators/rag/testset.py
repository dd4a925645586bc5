"""A synthetic question set from the loaded corpus, written by Ragas' TestsetGenerator.

Needs an LLM (OpenAI or any OpenAI-compatible server): without one, ``why_unavailable`` says what
to set. The documents go in as *pre-chunked* nodes (``generate_with_chunks``), which skips Ragas'
token-length bucketing: that step uses tiktoken, which downloads its BPE files on first use and
fails offline. The transforms are the lean part of Ragas' pre-chunked defaults (summary → summary
embedding with the local MiniLM, and named entities), and questions come from the single-hop
specific synthesizer: each question is written from one document, so that document is its one
relevant id (a qrel) and its text the reference context. Personas are generated from the summaries.
The LLM is Ragas' instructor LLM (``ragas_judge.JudgeLLM``, every response's usage on ``meter``) and the
embeddings the local MiniLM, as for the metrics.

The questions are returned for editing and then saved with ``rag.data.question_sets.save_question_set``.

Usage:
    why = why_unavailable("openai:gpt-4o-mini")        # None when it can run
    qs = generate_testset(ds, "openai:gpt-4o-mini", size=10)
    save_question_set("sample-synthetic", qs)
"""

from __future__ import annotations

from evaluators.rag.cost import UsageMeter
from evaluators.rag.judge_llm import JudgeLLM, MiniLMEmbeddings
from rag.data.dataset import Dataset
from rag.data.question_sets import EvalQuestion
from rag.i18n import N_, _
from rag.models.llm import parse_llm

NEEDS_LLM = N_("Generating a test set needs an LLM: set OPENAI_API_KEY (environment, .env or the sidebar), or "
               "choose an OpenAI-compatible server (e.g. ollama:llama3.1, compat:MODEL@http://host:port/v1).")


def why_unavailable(llm_spec: str | None, base_url: str | None = None, settings=None) -> str | None:
    try:
        ep = parse_llm(llm_spec, base_url, settings)
    except ValueError as e:
        return str(e)
    if ep is None:
        return _(NEEDS_LLM)
    ok, why = ep.availability()
    return None if ok else _("{endpoint}: {why}. {needs}").format(endpoint=ep.label, why=why, needs=_(NEEDS_LLM))


def _byte_tokenizer():
    """Ragas' extractors cut long texts with tiktoken by default (a download); UTF-8 bytes need nothing,
    and 32,000 bytes (their default limit) is a safe ~8k-token chunk."""
    from ragas.tokenizers import BaseTokenizer

    class ByteTokenizer(BaseTokenizer):
        def encode(self, text: str) -> list[int]:
            return list(text.encode("utf-8"))

        def decode(self, tokens: list[int]) -> str:
            return bytes(tokens).decode("utf-8", errors="ignore")

    return ByteTokenizer()


def _transforms(llm, embeddings):
    from ragas.testset.transforms import Parallel
    from ragas.testset.transforms.extractors import EmbeddingExtractor, SummaryExtractor
    from ragas.testset.transforms.extractors.llm_based import NERExtractor

    tok = _byte_tokenizer()
    return [SummaryExtractor(llm=llm, tokenizer=tok),
            Parallel(EmbeddingExtractor(embedding_model=embeddings, property_name="summary_embedding",
                                        embed_property_name="summary"),
                     NERExtractor(llm=llm, tokenizer=tok))]


def generate_testset(ds: Dataset, llm_spec: str, size: int = 10, base_url: str | None = None,
                     max_docs: int = 200, timeout: float = 60.0, max_retries: int = 2,
                     meter: UsageMeter | None = None, id_prefix: str = "syn", settings=None) -> list[EvalQuestion]:
    """``size`` questions with reference answers and reference contexts from up to ``max_docs`` documents."""
    why = why_unavailable(llm_spec, base_url, settings)
    if why:
        raise ValueError(why)
    from langchain_core.documents import Document as LCDocument
    from ragas.run_config import RunConfig
    from ragas.testset import TestsetGenerator
    from ragas.testset.synthesizers.single_hop.specific import SingleHopSpecificQuerySynthesizer

    ep = parse_llm(llm_spec, base_url, settings)  # settings: whose keys (a browser session's or app-wide)
    meter = meter or UsageMeter()
    client = _client(ep, timeout, max_retries)
    llm = JudgeLLM(client, ep.model, None, meter)  # usage of every call, transforms included
    emb = MiniLMEmbeddings()
    docs = [d for d in ds.documents if d.text.strip()][:max_docs]
    chunks = [LCDocument(page_content=d.full_text, metadata={"doc_id": d.id}) for d in docs]
    run_config = RunConfig(timeout=int(timeout), max_retries=1, max_wait=1, max_workers=8)
    gen = TestsetGenerator(llm=llm, embedding_model=emb)
    testset = gen.generate_with_chunks(
        chunks, testset_size=size, transforms=_transforms(llm, emb),
        query_distribution=[(SingleHopSpecificQuerySynthesizer(llm=llm), 1.0)], run_config=run_config,
        raise_exceptions=False)
    by_text = {d.full_text: d.id for d in docs}
    out = []
    for i, s in enumerate(testset.to_list(), 1):
        if not s.get("user_input"):
            continue
        refs = list(s.get("reference_contexts") or [])
        out.append(EvalQuestion(f"{id_prefix}{i}", s["user_input"], s.get("reference"), refs,
                                [by_text[r] for r in refs if r in by_text]))
    return out


def _client(ep, timeout: float, max_retries: int):
    """An async client without keep-alive: Ragas runs each test-set stage in its own event loop, and a
    pooled connection opened in one loop fails in the next ("Connection error"). ``http_clients``: an
    endpoint without a key sends no Authorization header."""
    import httpx
    from openai import AsyncOpenAI

    from rag.models.llm import http_clients

    pool = http_clients(sync=False, timeout=timeout, limits=httpx.Limits(max_keepalive_connections=0))
    return AsyncOpenAI(api_key=ep.api_key(), base_url=ep.resolved_base_url(), timeout=timeout,
                       max_retries=max_retries, http_client=pool)
