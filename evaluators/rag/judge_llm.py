"""The judge as Ragas' collections metrics call it: an async OpenAI client, a concurrency limit, a trace.

``ragas.metrics.collections`` metrics take an ``InstructorBaseRagasLLM`` (what ``ragas.llms.llm_factory``
builds over an ``openai.AsyncOpenAI``) and call ``await llm.agenerate(prompt, OutputModel)`` once per
judge step. ``JudgeLLM`` wraps that LLM so each call

- passes the run's ``JudgeConcurrency`` (at most N LLM calls in flight, shared with the generator);
- records the parsed reply (statements, verdicts, reasons) in the current row-metric's ``JudgeTrace``,
  which is how the judge's reasons reach each row: the metrics themselves return only a number;
- adds the token usage the API returned, per model, to that trace's meter (an instructor
  ``completion:response`` hook, so "fix your JSON" re-asks are counted too).

The current trace is a ``ContextVar``: each row-metric runs in its own asyncio task, so calls of
concurrent rows never mix. Retries: the openai client retries HTTP 5xx/429/timeouts ``max_retries``
times; instructor only re-asks a reply that did not parse (once, ``PARSE_REASKS``), never an HTTP
error, so retries are not multiplied. Instructor sends the reply's JSON schema in a system message and
``response_format={"type": "json_object"}`` (JSON mode): any OpenAI-compatible server that honours
JSON mode, or just follows the prompt, works.

Answer relevancy embeds with the packaged MiniLM by default (offline, free, on the encoder thread,
not the event loop: there it stalled every LLM call in flight, measured up to 2 s per row on 2 cores)
or, given ``openai:MODEL`` / ``compat:MODEL@URL``, with Ragas' OpenAI embeddings over that endpoint.

Usage:
    judge = JudgeLLM.build(parse_llm("openai:gpt-4o-mini"), JudgeConcurrency(8), timeout=60, max_retries=2)
    with JudgeTrace(meter, judge.model) as trace:
        await Faithfulness(llm=judge).ascore(user_input=q, response=a, retrieved_contexts=ctxs)
    trace.outputs    # [{"step": "StatementGenerator", "statements": [...]}, {"step": "NLIStatement", ...}]
    await judge.aclose()
"""

from __future__ import annotations

import asyncio
import functools
import logging
from contextlib import nullcontext
from contextvars import ContextVar

import orjson

import rag.settings  # noqa: F401  (sets RAGAS_DO_NOT_TRACK and the offline flags before ragas is imported)

# isort: split
from ragas.embeddings import BaseRagasEmbedding
from ragas.llms import llm_factory
from ragas.llms.base import InstructorBaseRagasLLM

from evaluators.rag.cost import UsageMeter
from rag.i18n import _
from rag.models.generators import ENCODE_POOL
from rag.models.llm import LLMEndpoint, parse_llm
from rag.processes import event_loop_choice

# HTTP connections per pool. httpcore checks every pooled connection (expiry: a socket-readable poll through
# anyio's attribute dict) on each request and each response, so one pool of N connections costs O(N) per
# call: with 64 in flight it was half of the event loop's time (py-spy, bench_ragas_concurrency at 64).
# Above this many calls in flight the judge's calls are spread over several pools of this size.
POOL_CONNECTIONS = 4
PARSE_REASKS = 1      # instructor re-asks a reply that is not valid JSON of the schema once (as Ragas' own fix did)
MAX_TOKENS = 4096     # Ragas' default is 1024: a long answer's statements and verdicts can need more

# A failed call is reported on its row (describe_error); instructor would also log each one at ERROR.
logging.getLogger("instructor").setLevel(logging.CRITICAL)


class JudgeConcurrency:
    """At most ``size`` LLM calls in flight across the generator and the judge of one run.

    Usage:
        limit = JudgeConcurrency(8)
        async with limit.sem:
            await client.chat.completions.create(...)
    """

    def __init__(self, size: int):
        self.size = max(1, int(size))
        self._sem: asyncio.Semaphore | None = None

    @property
    def sem(self) -> asyncio.Semaphore:
        if self._sem is None:  # created inside the run's event loop
            self._sem = asyncio.Semaphore(self.size)
        return self._sem


_TRACE: ContextVar[JudgeTrace | None] = ContextVar("judge_trace", default=None)


def event_loop_factory():
    """The loop factory for a RAG run's ``asyncio.Runner``: uvloop's unless ``WORKBENCH_RAG_LOOP=asyncio``
    (``rag.processes.event_loop_choice``); None: asyncio's own."""
    if event_loop_choice("WORKBENCH_RAG_LOOP") == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return None


@functools.cache
def schema_cached(model: type) -> type:
    """``model`` as a subclass of the same name and docstring whose ``model_json_schema`` is computed once per
    set of arguments (a copy is returned each time, so a caller that edits it cannot change the next one).

    Why: pydantic builds a model's JSON schema anew on every call (~1 ms here), and a judge call asked for it
    twice (Ragas puts the reply's schema in the prompt, instructor in its JSON-mode system message): with the
    class instructor made per call, ~3 ms of the event loop's Python per judge call, and at 64 calls in flight
    that Python is what holds the judge above the ideal wall time (benchmarks/README.md, issue 27). The schema and
    so every request are byte for byte the same (tests/rag/test_judge_schema_cache.py)."""
    memo: dict = {}

    def model_json_schema(cls, *args, **kwargs):
        try:
            key = (cls, args, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:  # an unhashable argument (a custom generator instance): not cached
            return super(cached, cls).model_json_schema(*args, **kwargs)
        if key not in memo:
            memo[key] = orjson.dumps(super(cached, cls).model_json_schema(*args, **kwargs))
        return orjson.loads(memo[key])

    cached = type(model.__name__, (model,), {"__doc__": model.__doc__, "__module__": model.__module__,
                                              "__qualname__": model.__qualname__,
                                              "model_json_schema": classmethod(model_json_schema)})
    return cached


@functools.cache
def reply_model(model: type) -> type:
    """The class instructor parses a reply into, made once per reply model: instructor's own wrapper
    (``response_schema``, which it would otherwise create anew on every call with pydantic's ``create_model``),
    its schema cached (``schema_cached``). Instructor uses a model that is already a ``ResponseSchema`` as it is."""
    from instructor.v2.core.function_calls import ResponseSchema, response_schema

    return model if issubclass(model, ResponseSchema) else schema_cached(response_schema(model))


def cache_prompt_schemas(metric) -> object:
    """Give each of a Ragas collections metric's prompts (``PydanticPrompt``-like: ``output_model`` and
    ``to_string``) its reply model with the schema cached, so ``to_string`` stops rebuilding it per call; the
    prompt text is unchanged. Returns ``metric``."""
    for value in getattr(metric, "__dict__", {}).values():
        model = getattr(value, "output_model", None)
        if isinstance(model, type) and callable(getattr(value, "to_string", None)):
            value.output_model = schema_cached(model)
    return metric


class JudgeTrace:
    """One row-metric's parsed judge replies and token usage; current inside ``with`` (this task only)."""

    def __init__(self, meter: UsageMeter, model: str):
        self.meter, self.model = meter, model
        self.outputs: list[dict] = []

    def __enter__(self) -> JudgeTrace:
        self._token = _TRACE.set(self)
        return self

    def __exit__(self, *exc) -> None:
        _TRACE.reset(self._token)

    def reply(self, reply) -> None:
        self.outputs.append({"step": type(reply).__name__.removesuffix("Output"), **reply.model_dump()})

    def usage(self, response) -> None:
        u = getattr(response, "usage", None)
        self.meter.add(getattr(response, "model", None) or self.model, getattr(u, "prompt_tokens", 0),
                       getattr(u, "completion_tokens", 0))


class JudgeLLM(InstructorBaseRagasLLM):
    """Ragas' instructor LLM under the run's concurrency limit, tracing each reply (see the module doc).

    ``client`` is one ``openai.AsyncOpenAI`` or a list of them (``build``: one per ``POOL_CONNECTIONS``
    calls in flight); each call goes to the client with the fewest calls in flight, so no pool holds
    more than its share of connections and none is scanned at more than that size."""

    is_async = True   # what Ragas' prompts (test-set generation) check before awaiting agenerate

    def __init__(self, client, model: str, concurrency: JudgeConcurrency | None, meter: UsageMeter | None = None,
                 busy: list[int] | None = None, **model_args):
        """``model_args`` go to every request (``seed`` / ``temperature`` of a judge repeat), on top of Ragas'.
        ``busy``: calls in flight per client, shared by the repeats of one judge (they share its clients)."""
        self.clients = list(client) if isinstance(client, (list, tuple)) else [client]
        self.client, self.model, self.concurrency, self.meter = self.clients[0], model, concurrency, meter
        self.busy = busy if busy is not None else [0] * len(self.clients)
        self.llms = [llm_factory(model, client=c, max_retries=PARSE_REASKS, max_tokens=MAX_TOKENS, **model_args)
                     for c in self.clients]
        for llm in self.llms:
            llm.client.on("completion:response", self._on_response)
        self.llm = self.llms[0]

    @classmethod
    def build(cls, judge: LLMEndpoint, concurrency: JudgeConcurrency, timeout: float, max_retries: int,
              **model_args) -> JudgeLLM:
        """Fresh async clients for this run (bound to its event loop; the key is the one for its URL): one
        per ``POOL_CONNECTIONS`` calls the run lets into flight, each pool that size."""
        ok, why = judge.availability()
        if not ok:
            raise ValueError(_("judge {judge}: {why}").format(judge=judge.label, why=why))
        pools = -(-concurrency.size // POOL_CONNECTIONS)
        clients = [judge.async_client(timeout=timeout, max_retries=max_retries,
                                      max_connections=min(concurrency.size, POOL_CONNECTIONS)) for _i in range(pools)]
        return cls(clients, judge.model, concurrency, **model_args)

    def repeat(self, index: int, temperature: float | None = None) -> JudgeLLM:
        """The same judge (same clients, same limit) for repeat ``index``: its requests carry the OpenAI
        ``seed`` = index (and ``temperature``), so each repeat is a separate draw of the judge."""
        args = {"seed": index} | ({"temperature": temperature} if temperature is not None else {})
        return JudgeLLM(self.clients, self.model, self.concurrency, self.meter, self.busy, **args)

    def _on_response(self, response) -> None:
        """Usage of every API response (re-asks too): to the current row-metric's trace, else ``meter``."""
        trace = _TRACE.get()
        if trace is not None:
            trace.usage(response)
        elif self.meter is not None:
            JudgeTrace(self.meter, self.model).usage(response)

    def generate(self, prompt, response_model):
        raise TypeError("JudgeLLM is async only: await agenerate()")

    async def agenerate(self, prompt, response_model):
        async with self.concurrency.sem if self.concurrency else nullcontext():  # None: no limit (test sets)
            i = min(range(len(self.busy)), key=self.busy.__getitem__)
            self.busy[i] += 1
            try:
                reply = await self.llms[i].agenerate(prompt, reply_model(response_model))
            finally:
                self.busy[i] -= 1
        trace = _TRACE.get()
        if trace is not None:
            trace.reply(reply)
        return reply

    async def aclose(self) -> None:
        for c in self.clients:
            await c.close()


class MiniLMEmbeddings(BaseRagasEmbedding):
    """Ragas embeddings over the packaged MiniLM (rag.models.registry, disk-cached), encoded on the encoder thread."""

    is_async = True   # Ragas' embedding extractor then awaits aembed_text (else it warns and uses a thread)

    def __init__(self):
        super().__init__()
        from rag.models.registry import resolve

        self.encoder = resolve("minilm").encoder()

    def embed_text(self, text: str, **kw) -> list[float]:
        return self.embed_texts([text])[0]

    def embed_texts(self, texts: list[str], **kw) -> list[list[float]]:
        return self.encoder.embed(list(texts)).tolist()

    async def aembed_text(self, text: str, **kw) -> list[float]:
        return (await self.aembed_texts([text]))[0]

    async def aembed_texts(self, texts: list[str], **kw) -> list[list[float]]:
        return await asyncio.get_running_loop().run_in_executor(ENCODE_POOL, self.embed_texts, list(texts))


def build_embeddings(spec: str, timeout: float, max_retries: int, settings=None) -> tuple[BaseRagasEmbedding, object]:
    """(embeddings, client to close or None): ``minilm`` (default, local) or ``openai:MODEL`` / ``compat:M@URL``
    (any OpenAI-compatible ``/embeddings``; the key is the one configured for that URL, else none is sent)."""
    if spec in ("", "minilm"):
        return MiniLMEmbeddings(), None
    from ragas.embeddings import OpenAIEmbeddings

    ep = parse_llm(spec, settings=settings)
    client = ep.async_client(timeout=timeout, max_retries=max_retries)
    return OpenAIEmbeddings(client=client, model=ep.model), client
