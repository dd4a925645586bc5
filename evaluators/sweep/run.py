"""Run a grid of retrieval setups on one dataset, score each at document level, and record it as one run.

On an audio folder the same holds per sound: an ``asr`` setup's segments collapse to their sound, and the
ASR model's record (word error rate against ``transcripts.jsonl`` when given) is kept beside its scores
(``evaluators.sweep.sources``).

Why document-level scoring: setups with different chunkings retrieve different units (whole documents,
200-character chunks, ...), while the qrels judge documents. Each chunk ranking is collapsed to a
document ranking (``rag.data.chunking.document_ranking``: a document's rank is its best chunk's rank, later
chunks dropped, ranks closed up) and scored with the trec_eval metrics on the same qrels, so every
setup is compared on the same judgments. A setup searches ``k`` units (its reranker's ``depth``
candidates, rescored, then the best k): a chunked setup returns at most k documents, the context a
RAG pipeline would hand its generator.

Each collection (model × chunking) is built or reused once and shared by every setup that searches it;
query-time parts never rebuild anything. Quality and latency come from two passes, because they ask
different questions: quality from every judged query searched in batches with the query embeddings from
the cache (``MilvusStore.search``, exactly what ``cli.py retrieval`` runs, so the rankings are the same),
latency from a timed sample of queries (``evaluators.sweep.latency``: 50 by default, one at a time,
embedding uncached, search and reranking, after a warm-up query) so p50/p95 (with a CI) say what a user
would wait. One loop did both before, re-embedding and searching every query alone: 5× a retrieval run.

Cost per 1,000 queries (``setup_cost``) is what serving the setup costs, not what the sweep cost: the
query's embedding (tokens per query, the dataset's judged queries at ~4 characters per token, × the
model's registry price, as ``evaluators.report.frontier.retrieval_cost`` prices retrieval runs) plus one
reranker call per query when that reranker endpoint's price is given. Local models, BM25 and local
cross-encoders cost 0 and their basis says why; an endpoint reranker without a price counts 0 and its
basis says "not priced". Building the index (embedding the corpus) is a one-off, not a per-query cost.
The run records the Milvus it searched (``public_uri``: no user, password or query string) so an
exported script can name it.

Usage:
    with Retriever() as wb:
        plan = plan_sweep(wb, ds, grid(["minilm", "bm25"], ks=[5, 10]))
        print(plan.describe())   # "4 setups, 2 collections (1 to build, 31 documents/chunks to index), 64 searches;
                                 #  about 9 s (embedding 31 documents/chunks: 2 s; 68 searches: 7 s; ...)"
        result = run_sweep(wb, ds, plan.setups)      # SweepResult; result.run_id once recorded
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from evaluators.retrieval.metrics import score_run
from evaluators.sweep.estimate import Estimate
from evaluators.sweep.latency import LATENCY_SAMPLE, Latency, latency_sample, time_queries
from evaluators.sweep.setups import Setup, check_reranker, rerank
from evaluators.sweep.sources import Sources, scoring_base
from rag.data.chunking import ChunkedDataset, document_ranking
from rag.data.dataset import Dataset
from rag.i18n import _
from rag.milvus.index_config import collection_name
from rag.models.registry import resolve, resolve_all
from rag.retrieval import Retriever

SweepProgress = Callable[[str, int, int, str], None]  # (stage "index" | "search", done, total, what)
CHARS_PER_TOKEN = 4.0  # as evaluators.report.frontier: no tokenizer download for an estimate


@dataclass
class SweepPlan:
    """What a sweep will do, before it starts: the count and an estimate of the work."""
    setups: list[Setup]
    collections: int                 # distinct (model, chunking)
    to_build: int                    # of those, not built yet (to embed and insert)
    units_to_index: int              # documents / chunks in the collections to build
    searches: int                    # setups × judged queries
    estimate: Estimate | None = None  # how long, from rates measured now (``evaluators.sweep.estimate``)

    def counts(self) -> str:
        return _("{setups} setups, {collections} collections ({to_build} to build, {units} documents/chunks to "
                 "index), {searches} searches").format(setups=len(self.setups), collections=self.collections,
                                                       to_build=self.to_build, units=self.units_to_index,
                                                       searches=self.searches)

    def describe(self) -> str:
        """The counts and, when timed, how long: ``…, 64 searches; about 9 s (…)``."""
        return self.counts() + (f"; {self.estimate.describe()}" if self.estimate else "")


@dataclass
class SetupResult:
    setup: Setup
    collection: str
    rankings: dict[str, list[tuple[str, float]]]        # query id -> document ranking (at most k)
    per_query: dict[str, dict[str, float]]              # query id -> metric -> value
    metrics: dict[str, float]                           # metric -> mean
    latency_ms: dict[str, float]                        # query id -> ms (the timed sample only)
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    latency: Latency | None = None                      # the sample's figures with their CIs
    cost_per_1k: float = 0.0                            # USD per 1,000 queries (``setup_cost``)
    cost_basis: str = ""                                # what that number rests on
    asr: dict | None = None                             # the ASR model's record (``asr`` part), WER included

    def to_json(self) -> dict:
        return {"id": self.setup.id, "parts": self.setup.model_dump(), "collection": self.collection,
                "metrics": self.metrics, "latency": self.latency_summary(), "asr": self.asr,
                "cost": {"usd_per_1k_queries": self.cost_per_1k, "basis": self.cost_basis},
                "per_query": self.per_query,
                "rankings": {q: [[d, round(s, 6)] for d, s in r] for q, r in self.rankings.items()}}

    def latency_summary(self) -> dict[str, float]:
        return self.latency.summary() if self.latency else {"p50_ms": self.p50_ms, "p95_ms": self.p95_ms}


@dataclass
class SweepResult:
    dataset: str
    setups: list[SetupResult]
    seconds: float = 0.0
    leaderboard: dict = field(default_factory=dict)       # evaluators.sweep.leaderboard.Leaderboard.to_json()
    run_id: str | None = None
    milvus_uri: str | None = None                         # the Milvus searched (``public_uri``)
    latency_sample: int = LATENCY_SAMPLE                  # queries timed per setup (asked; ≤ judged queries)

    def to_json(self) -> dict:
        return {"run_id": self.run_id, "dataset": self.dataset, "seconds": round(self.seconds, 3),
                "milvus_uri": self.milvus_uri,
                "leaderboard": self.leaderboard, "setups": [s.to_json() for s in self.setups]}


def plan_sweep(wb: Retriever, ds: Dataset, setups: list[Setup], timed: bool = True,
               latency_sample: int = LATENCY_SAMPLE) -> SweepPlan:
    """Check every model and reranker can run here (before any work), count what the sweep will do and
    (``timed``) estimate how long it takes from rates measured now (``evaluators.sweep.estimate``)."""
    if not ds.judged_queries:
        raise ValueError(_("dataset {dataset} has no judged queries: a sweep needs qrels to score").format(
            dataset=ds.name))
    base = scoring_base(ds, setups)  # setups search by query text; audio: text models need an ASR model
    specs = resolve_all([s.model for s in setups], check=True, settings=wb.settings)
    wb.store.capabilities.require(list(specs.values()), wb.index_config)
    for reranker in {s.reranker for s in setups}:
        check_reranker(reranker)
    chunks, keys, to_build, units = Sources(ds), {}, 0, 0
    to_embed: dict[str, list[str]] = {}  # dense model -> texts of its builds not in the embedding cache
    pending: dict[str, set[str]] = {}    # cache key -> texts already counted (minilm and hybrid share one)
    for s in setups:
        keys.setdefault(s.index_key, s)
    for s in keys.values():
        c = chunks.get(s)
        inputs = wb.store.inputs_for(c.dataset, specs[s.model], wb.index_config, c.label)
        if not wb.store.is_complete(collection_name(inputs), inputs, len(c.dataset.documents)):
            to_build += 1
            units += len(c.dataset.documents)
            if timed and c.dataset.modality == "text" and (enc := specs[s.model].encoder(wb.settings)) is not None:
                texts = [d.full_text for d in c.dataset.documents]
                cached = enc.cache.get_many(enc.spec.cache_key, texts)
                seen = pending.setdefault(enc.spec.cache_key, set())
                new = [t for i, t in enumerate(texts) if i not in cached and t not in seen]
                seen.update(new)
                to_embed.setdefault(s.model, []).extend(new)
    plan = SweepPlan(setups, len(keys), to_build, units, len(setups) * len(base.judged_queries))
    if timed:
        from evaluators.sweep.estimate import estimate, measure_rates

        rates = measure_rates(wb, to_embed, [s.model for s in setups], [s.reranker for s in setups])
        plan.estimate = estimate({m: len(t) for m, t in to_embed.items()}, setups, len(base.judged_queries), rates,
                                 latency_sample)
    return plan


def query_tokens(ds: Dataset) -> float:
    """Tokens per query the embedding is billed for: the judged queries' mean length ÷ 4 characters."""
    qs = ds.judged_queries
    return sum(len(q.text) for q in qs) / len(qs) / CHARS_PER_TOKEN if qs else 0.0


def parse_rerank_prices(text: str) -> dict[str, float]:
    """'MODEL=USD,…' (USD per 1,000 calls of a rerank endpoint, by its model name or whole spec) as a dict;
    ValueError names the pair that is not one. "" is no prices."""
    out: dict[str, float] = {}
    for pair in (p.strip() for p in (text or "").split(",")):
        if not pair:
            continue
        name, _sep, price = pair.rpartition("=")
        try:
            value = float(price)
        except ValueError:
            value = -1.0
        if not name.strip() or not value >= 0:
            raise ValueError(_("{pair}: give MODEL=USD (per 1,000 calls, ≥ 0)").format(pair=repr(pair)))
        out[name.strip()] = value
    return out


def setup_cost(setup: Setup, tokens_per_query: float, rerank_prices: dict[str, float] | None = None
               ) -> tuple[float, str]:
    """(USD per 1,000 queries, its basis): the query embedding at the model's registry price plus one
    call per query of a priced rerank endpoint (``rerank_prices``: its model name or whole spec → USD
    per 1,000 calls). Never a silent $0: each free part says why."""
    spec = resolve(setup.model)
    usd, parts = 0.0, []
    if spec.price_per_mtok:
        usd = tokens_per_query * spec.price_per_mtok * 1000 / 1e6
        parts.append(_("~{tokens} tokens/query ({how}) × {basis}").format(  # as the report's frontier words it
            tokens=f"{tokens_per_query:.0f}", how=_("dataset"), basis=_(spec.cost_basis)))
    else:
        parts.append(spec.cost_basis)
    if setup.reranker.startswith(("ce:", "hf:")):
        parts.append(_("reranker {reranker}: local cross-encoder (hardware not priced)").format(
            reranker=setup.reranker))
    elif setup.reranker.startswith("rerank:"):
        model, base = setup.reranker.removeprefix("rerank:").split("@", 1)
        prices = rerank_prices or {}
        price = prices.get(setup.reranker, prices.get(model))
        if price is None:
            parts.append(_("reranker {model} at {url}: not priced ($0 counted)").format(model=model, url=base))
        else:
            usd += float(price)
            parts.append(_("reranker {model}: {price} per 1,000 calls (given)").format(model=model,
                                                                                     price=f"${float(price):g}"))
    return usd, "; ".join(parts)


def public_uri(uri: str | None) -> str | None:
    """A Milvus URI fit to record: no user, password, query string or fragment (a token never is)."""
    from urllib.parse import urlsplit, urlunsplit

    if not uri:
        return None
    parts = urlsplit(str(uri))
    if not parts.scheme or not parts.netloc:
        return str(uri).split("?", 1)[0]  # a local path
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def score_documents(found: dict[str, list[tuple[str, float]]], parents: dict[str, str],
                    qrels: dict[str, dict[str, int]], k: int):
    """(document rankings, per-query metrics, means): each query's chunk ranking collapsed to documents
    (``document_ranking``) and scored in that order with the trec_eval metrics at k."""
    rankings = {q: document_ranking(hits, parents) for q, hits in found.items()}
    per_query, means = score_run(rankings, qrels, k, sort_like_trec_eval=False)
    return rankings, per_query, means


def query_path(wb: Retriever, setup: Setup, collection: str, text_of: Callable[[str], str]
               ) -> Callable[[str], list[tuple[str, float]]]:
    """What serving one query of ``setup`` costs, as a callable the latency sample times: the query embedded
    by the model (its query prompt, no embedding cache: a user's query is new), one Milvus search of the built
    ``collection`` for ``setup.fetch`` hits, then the reranker when the setup has one. The same calls the
    load-test service makes for one ``/search`` (one model call, one Milvus search RPC; tested), nothing else:
    no collection checks per call (``MilvusStore.search`` checks a collection once), no cache lookups.
    Returns the ranking of units (chunks or documents), best first."""
    spec = resolve(setup.model)
    enc = spec.encoder(wb.settings)

    def one(text: str) -> list[tuple[str, float]]:
        vectors = None if enc is None else np.asarray([enc.embed_query(text)])
        hits = wb.store.search(collection, spec, [text], setup.fetch, wb.index_config, query_vectors=vectors,
                               settings=wb.settings, fusion=setup.fusion)[0]
        return rerank(setup.reranker, text, hits, text_of, setup.k, wb.settings)
    return one


def run_setup(wb: Retriever, chunked: ChunkedDataset, setup: Setup, collection: str,
              tick: Callable[[], None] | None = None, sample: int = LATENCY_SAMPLE,
              base: Dataset | None = None) -> SetupResult:
    """Search every judged query in batches (query embeddings cached, as ``cli.py retrieval``), rerank,
    collapse to documents, score at the setup's k; then time ``sample`` queries one at a time (embedding,
    search, reranking) for its latency. ``base``: the queries and judgments to score on (an audio folder's
    text queries and its sounds' qrels; by default the searched dataset's own)."""
    spec = resolve(setup.model)
    ds = chunked.dataset
    base = base or ds
    text_of = lambda cid: ds.doc(cid).full_text  # noqa: E731  (the passage a reranker reads)
    queries = base.judged_queries
    hits = wb.store.search(collection, spec, [q.text for q in queries], setup.fetch, wb.index_config,
                           settings=wb.settings, fusion=setup.fusion)
    found = {q.id: rerank(setup.reranker, q.text, h, text_of, setup.k, wb.settings) for q, h in zip(queries, hits)}
    rankings, per_query, means = score_documents(found, chunked.parents, base.qrels, setup.k)
    lat = time_queries(query_path(wb, setup, collection, text_of), latency_sample(queries, sample), tick)
    return SetupResult(setup, collection, rankings, per_query, means, lat.per_query, lat.p50_ms, lat.p95_ms, lat)


def run_sweep(wb: Retriever, ds: Dataset, setups: list[Setup], progress: SweepProgress | None = None,
              store=None, metric: str = "ndcg", record: bool = True, n_resamples: int | None = None,
              rerank_prices: dict[str, float] | None = None, latency_sample_size: int = LATENCY_SAMPLE
              ) -> SweepResult:
    """Build (or reuse) each collection once, run every setup (latency from ``latency_sample_size``
    queries timed one at a time), price it (``setup_cost``), rank them (``evaluators.sweep.leaderboard``)
    and record the sweep as a ``sweep`` run (``record``)."""
    from evaluators.sweep.leaderboard import leaderboard

    base = scoring_base(ds, setups)
    t0 = time.perf_counter()
    chunks = Sources(ds)
    built: dict[tuple, str] = {}
    keys = list(dict.fromkeys(s.index_key for s in setups))
    total = len(setups) * len(latency_sample(base.judged_queries, latency_sample_size))  # the timed searches
    done = 0
    results = []
    for s in setups:
        c = chunks.get(s)
        if s.index_key not in built:
            if progress:
                progress("index", len(built), len(keys), f"{s.model} {s.chunking}")
            built[s.index_key] = wb.store.ensure_collection(c.dataset, resolve(s.model), wb.index_config, c.label,
                                                            settings=wb.settings).name

        def tick(_s=s):
            nonlocal done
            done += 1
            if progress:
                progress("search", done, total, _s.id)
        results.append(run_setup(wb, c, s, built[s.index_key], tick, latency_sample_size, base))
        results[-1].cost_per_1k, results[-1].cost_basis = setup_cost(s, query_tokens(base), rerank_prices)
        results[-1].asr = chunks.record(s.asr)
    result = SweepResult(ds.name, results, time.perf_counter() - t0, milvus_uri=public_uri(wb.info.uri),
                         latency_sample=latency_sample_size)
    result.leaderboard = leaderboard(results, metric, **({"n_resamples": n_resamples} if n_resamples else {})).to_json()
    if record:
        result.run_id = save_sweep(store, ds, result, wb, (chunks.transcripts() or [base])[0])
    return result


def save_sweep(store, ds: Dataset, result: SweepResult, wb: Retriever, text_ds: Dataset | None = None) -> str:
    """One ``sweep`` run: the setups in its config, a row per (setup, query), means and latency in its summary
    (and each ASR setup's record, WER included). ``text_ds``: the text whose language BM25 was analysed in
    (an audio folder's transcript)."""
    from rag.models.devices import runtime_info
    from rag.runs import RunStore
    from rag.runs.models import SweepConfig, SweepRow, SweepSummary

    store = store or RunStore.default()
    setups = [r.setup for r in result.setups]
    cfg = SweepConfig(models=list(dict.fromkeys(s.model for s in setups)), k=max(s.k for s in setups),
                      dataset_source=ds.source, setups=[s.model_dump() for s in setups],
                      grid={"ks": sorted({s.k for s in setups}), "latency_sample": result.latency_sample,
                            "asrs": sorted({s.asr for s in setups if s.asr})},
                      collections={r.setup.id: r.collection for r in result.setups},
                      milvus_uri=result.milvus_uri, query_tokens=query_tokens(ds),
                      **wb.index_config.record(), **runtime_info(),
                      **wb.store.language_record(text_ds or ds, wb.index_config,
                                                 sparse=any(resolve(s.model).has_sparse for s in setups)))
    run_id = store.create("sweep", cfg, dataset=ds)
    store.add_rows(run_id, [SweepRow(model=r.setup.id, item_id=q, ranking=r.rankings.get(q, []), scores=v,
                                     latency_ms=r.latency_ms.get(q))
                            for r in result.setups for q, v in r.per_query.items()])
    board = result.leaderboard
    store.finish(run_id, SweepSummary(
        metrics={r.setup.id: r.metrics for r in result.setups},
        latency={r.setup.id: r.latency_summary() for r in result.setups},
        cost={r.setup.id: {"usd_per_1k_queries": r.cost_per_1k, "basis": r.cost_basis} for r in result.setups},
        asr={r.setup.id: r.asr for r in result.setups if r.asr},
        metric=board.get("metric"), leaderboard=board.get("rows", []), seconds=result.seconds,
        mdd=board.get("mdd"), n_queries=board.get("n_queries"), notes=board.get("notes", [])))
    return run_id
