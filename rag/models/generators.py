"""Answer generators as a registry: an LLM over the OpenAI chat API, or the offline extractive baseline.

The RAG step under test is "given a question and the top-k retrieved contexts, write an answer". A
generator is one small contract (``agenerate(question, contexts) -> Answer``, with token usage) and
the registry maps a spec string to a factory, so a new kind of generator is one entry:

- ``extractive``: no LLM. Answers with the context sentences most similar to the question (MiniLM
  cosine; word overlap when no encoder is given). A *baseline*: it shows what retrieval alone gives
  and lets the whole pipeline run offline; it is labelled as a baseline wherever it appears.
- ``openai[:MODEL]``, ``ollama:MODEL``, ``vllm:MODEL``, ``lmstudio:MODEL``, ``compat:MODEL@URL``:
  chat completions through the openai client (see ``rag.models.llm`` for base URLs and keys).

The prompt template is editable; it must contain ``{context}`` and ``{question}`` (filled by plain
replacement, so other braces in a template are left alone).

Usage:
    gen = make_generator("extractive", GenerationConfig(k=4))
    ans = asyncio.run(gen.agenerate("auto garbage collection", [Context("java", "Java", "Java ...")]))
    ans.text, ans.prompt_tokens, ans.completion_tokens
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from rag.i18n import N_, _, carry_language
from rag.models.llm import PROVIDERS, LLMEndpoint, parse_llm

DEFAULT_PROMPT = """Answer the question using only the context below. Be concise: one to three sentences.
Answer in the language the question is written in.
If the context does not contain the answer, say "I don't know" in the language of the question.

Context:
{context}

Question: {question}
Answer:"""

# Local-model encoding during a run happens on this one thread: off the event loop (so LLM calls in
# flight keep moving), and never two at once (a Hugging Face fast tokenizer used from two threads can
# fail with "Already borrowed"). Calls are a handful of sentences each, so one thread is enough.
ENCODE_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode")

STOP = set("a an and are as at be but by for from has have if in into is it its of on or such that the their then "
           "there these they this to was were will with which who what how do does can".split())


@dataclass(frozen=True)
class Context:
    doc_id: str
    title: str
    text: str

    @property
    def full_text(self) -> str:
        return f"{self.title}\n{self.text}" if self.title else self.text


@dataclass
class Answer:
    text: str
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class GenerationConfig:
    k: int = 4
    temperature: float = 0.0
    prompt_template: str = DEFAULT_PROMPT
    max_tokens: int = 300
    timeout: float = 60.0
    max_retries: int = 2
    extractive_sentences: int = 2
    max_connections: int = 16      # the run's concurrency: at most this many calls in flight

    def __post_init__(self):
        missing = [p for p in ("{context}", "{question}") if p not in self.prompt_template]
        if missing:
            if len(missing) == 2:
                raise ValueError(_("the prompt template must contain {first} and {second}").format(
                    first=missing[0], second=missing[1]))
            raise ValueError(_("the prompt template must contain {placeholder}").format(placeholder=missing[0]))
        if self.k < 1:
            raise ValueError(_("k must be at least 1 (got {k})").format(k=self.k))


def render_prompt(template: str, question: str, contexts: list[Context]) -> str:
    block = "\n\n".join(f"[{i}] {c.full_text}" for i, c in enumerate(contexts, 1))
    return template.replace("{context}", block).replace("{question}", question)


# "I don't know" in the question's language (``rag.data.language.detect_text``); a language is one entry
NO_ANSWER = {"en": "I don't know.", "zh": "我不知道。", "ja": "わかりません。", "ko": "모르겠습니다.",
             "fr": "Je ne sais pas.", "de": "Ich weiß es nicht.", "es": "No lo sé.", "pt": "Não sei.",
             "it": "Non lo so.", "ru": "Я не знаю."}
# a CJK sentence: up to its end mark (。！？, or a fullwidth/ASCII ! ?) and any closing quotes/brackets
_CJK_SENTENCE = re.compile(r"[^。！？!?]*[。！？!?]+[」』”’）)]*|[^。！？!?]+$")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def no_answer(question: str) -> str:
    """"I don't know." in the question's language (English when the language has no entry). CJK is told by
    its script; a Latin-script question of under 6 words stays English (py3langid reads "What do pandas
    eat?" as Portuguese: too short to tell)."""
    from rag.data.language import detect_text

    found = detect_text(question)
    if found.script not in ("Han", "Han+Kana", "Hangul") and len(question.split()) < 6:
        return NO_ANSWER["en"]
    return NO_ANSWER.get(found.language, NO_ANSWER["en"])


def split_sentences(text: str) -> list[str]:
    """Sentences of English (end mark, space, capital), Chinese and Japanese (after 。！？, no space needed)."""
    out = []
    for part in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", text):
        pieces = _CJK_SENTENCE.findall(part) if _CJK.search(part) else [part]
        out.extend(p.strip() for p in pieces)
    return [s for s in out if len(s) > 1]


def _stems(text: str) -> set[str]:
    """Content words cut to 5 letters: a crude stemmer (collector ~ collection) good enough for overlap;
    CJK text (no spaces) counts character pairs instead."""
    words = {w[:5] for w in re.findall(r"\w+", _CJK.sub(" ", text.lower())) if w not in STOP}
    cjk = "".join(_CJK.findall(text))
    return words | {cjk[i:i + 2] for i in range(len(cjk) - 1)}


# ---------------------------------------------------------------- generators

class ExtractiveGenerator:
    """Baseline: the ``n`` context sentences most similar to the question, best first. No LLM, no cost."""

    is_baseline = True
    uses_llm = False

    def __init__(self, n_sentences: int = 2, embed: Callable[[list[str]], np.ndarray] | None = None):
        self.n, self.embed = n_sentences, embed
        self.name = "extractive"
        self.label = N_("Extractive (baseline, no LLM)")
        self.model = "extractive"

    def answer(self, question: str, contexts: list[Context]) -> str:
        cands = [(rank, s) for rank, c in enumerate(contexts) for s in split_sentences(c.text)]
        if not cands:
            return no_answer(question)
        if self.embed is not None:
            vecs = self.embed([question] + [s for _i, s in cands])
            scores = vecs[1:] @ vecs[0]
        else:
            q = _stems(question)
            scores = np.array([len(q & _stems(s)) / (len(q) or 1) for _i, s in cands])
        # best score first; among equals, the higher-ranked context and the earlier sentence
        order = sorted(range(len(cands)), key=lambda i: (-round(float(scores[i]), 6), cands[i][0], i))
        picked = [cands[i][1] for i in order[:self.n]]
        return ("" if all(_CJK.search(p[-1:]) or p[-1:] in "。！？」』”" for p in picked) else " ").join(picked)

    async def agenerate(self, question: str, contexts: list[Context]) -> Answer:
        t = time.perf_counter()
        text = await asyncio.get_running_loop().run_in_executor(ENCODE_POOL, carry_language(self.answer), question,
                                                                contexts)
        return Answer(text, self.model, 0, 0, time.perf_counter() - t)

    async def aclose(self) -> None:
        return None


class ChatGenerator:
    """An OpenAI-compatible chat model. A fresh client per generator (one per run): see ``rag.models.llm``."""

    is_baseline = False
    uses_llm = True

    def __init__(self, endpoint: LLMEndpoint, config: GenerationConfig):
        self.endpoint, self.config = endpoint, config
        self.name, self.model = endpoint.spec, endpoint.model
        self.label = f"{PROVIDERS[endpoint.provider].label}: {endpoint.model}"
        self.client = endpoint.async_client(config.timeout, config.max_retries, config.max_connections)

    async def agenerate(self, question: str, contexts: list[Context]) -> Answer:
        t = time.perf_counter()
        prompt = render_prompt(self.config.prompt_template, question, contexts)
        resp = await self.client.chat.completions.create(
            model=self.endpoint.model, messages=[{"role": "user", "content": prompt}],
            temperature=self.config.temperature, max_tokens=self.config.max_tokens)
        usage = resp.usage
        return Answer((resp.choices[0].message.content or "").strip(), self.endpoint.model,
                      usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0,
                      time.perf_counter() - t)

    async def aclose(self) -> None:
        await self.client.close()


# ---------------------------------------------------------------- the registry

def _minilm_embed() -> Callable[[list[str]], np.ndarray] | None:
    """The packaged MiniLM behind the on-disk cache, or None (word overlap) if it is not installed."""
    from rag.models.base import ModelUnavailable
    from rag.models.registry import resolve

    try:
        enc = resolve("minilm").encoder()
    except ModelUnavailable:
        return None
    return enc.embed


@dataclass(frozen=True)
class GeneratorKind:
    name: str
    label: str
    is_baseline: bool
    make: Callable[..., object] = field(repr=False)  # (spec, config, base_url, settings)
    help: str = ""


def _make_extractive(spec: str, cfg: GenerationConfig, base_url: str | None, settings=None) -> ExtractiveGenerator:
    return ExtractiveGenerator(cfg.extractive_sentences, _minilm_embed())


def _make_chat(spec: str, cfg: GenerationConfig, base_url: str | None, settings=None) -> ChatGenerator:
    return ChatGenerator(parse_llm(spec, base_url, settings), cfg)


GENERATORS: dict[str, GeneratorKind] = {
    "extractive": GeneratorKind("extractive", N_("Extractive (baseline, no LLM)"), True, _make_extractive,
                                N_("Offline baseline: the most relevant sentences of the retrieved contexts.")),
    **{p.name: GeneratorKind(p.name, p.label, False, _make_chat, p.help) for p in PROVIDERS.values()},
}


def generator_kind(spec: str) -> GeneratorKind:
    kind = GENERATORS.get(spec.strip().partition(":")[0])
    if kind is None:
        raise ValueError(_("unknown generator '{spec}'; use extractive or {choices}").format(
            spec=spec, choices=", ".join(f"{p}:MODEL" for p in PROVIDERS)))
    return kind


def make_generator(spec: str, config: GenerationConfig | None = None, base_url: str | None = None,
                   settings=None):
    """A fresh generator for one run (LLM generators own an HTTP client: ``await gen.aclose()``).
    ``settings``: whose keys it uses (one browser session's; None: the app-wide settings)."""
    return generator_kind(spec).make(spec.strip(), config or GenerationConfig(), base_url, settings)


def generator_label(spec: str, base_url: str | None = None) -> str:
    """``Extractive (baseline, no LLM)`` or ``OpenAI: gpt-4o-mini`` (with `` @ URL`` for a custom server)."""
    kind = generator_kind(spec)
    ep = None if kind.is_baseline else parse_llm(spec, base_url)
    return kind.label if ep is None else f"{kind.label}: {ep.model}" + (f" @ {ep.base_url}" if ep.base_url else "")


def generator_endpoint(spec: str, base_url: str | None = None) -> LLMEndpoint | None:
    """The LLM behind a generator spec (None for the baseline): for availability checks and pricing."""
    return None if generator_kind(spec).is_baseline else parse_llm(spec, base_url)
