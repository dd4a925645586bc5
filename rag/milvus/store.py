"""One Milvus collection per (dataset, model, chunking, index config), built once and reused until its inputs change.

Everything that shapes a collection's contents (dataset name and corpus hash, model id, chunking,
index type/metric/build params, BM25 settings) is stored *in* the collection, as JSON in its
``workbench.build`` property, and hashed into its name, e.g. ``wb_sample_minilm_1a2b3c4d5e6f``
(the readable part is a hint only: a collection is identified by its stored inputs, never by
slicing its name). A build never drops a collection of another index configuration or another
dataset; after a successful build it drops only the stale builds of the *same* (dataset, model,
chunking, index config) whose corpus changed. Collections without stored inputs (older builds,
foreign ones) are listed as "unknown origin" and never dropped automatically. (Measured on
Milvus Lite 3.2.2: ``create_collection(..., properties=...)`` keeps them across restarts;
``description=`` is accepted and silently dropped, so it is not used.)

A build streams: it embeds ``CHUNK_DOCS`` documents, inserts them, and goes on, so its memory does
not grow with the corpus (beyond what Milvus holds). A collection is created with
``workbench.complete`` = "false" and marked "true" only after the last insert, the flush and the
load (Milvus Lite 3.2.2: ``alter_collection_properties`` keeps the mark across restarts). Only a
complete collection with the expected row count is reused or searched (``search`` refuses an
incomplete one with ``IncompleteCollection``); a build killed with ``kill -9`` is rebuilt by the
next ``ensure_collection``, and the on-disk embedding cache means nothing is embedded twice. A
build that fails (an exception) drops its collection. Inserts are flushed (unflushed rows are
scanned in Python, ignoring indexes) and collections are loaded before search. An image or audio corpus
is embedded from its files (``CachedEncoder.embed_images`` / ``embed_audio``, cached by the bytes' hash) and
its collection holds each file's ``path`` (``text`` is the caption). Inputs and names: ``rag.milvus.index_config``;
the BM25 analyzer: ``rag.milvus.language_aware``; healing a dead embedded server: ``rag.milvus.healing``.

Usage:
    store = MilvusStore(ensure_milvus())
    built = store.ensure_collection(dataset, resolve("minilm"), IndexConfig())
    hits = store.search(built.name, resolve("minilm"), ["auto garbage collection"], k=4)
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from rag.data.dataset import Dataset
from rag.i18n import _
from rag.milvus.capabilities import Capabilities, detect
from rag.milvus.healing import Healing
from rag.milvus.index_config import (
    BM25_PARAMS,
    FINGERPRINT_VERSION,
    IndexConfig,
    build_inputs,
    collection_name,
    same_build,
)
from rag.milvus.language_aware import LanguageAware
from rag.milvus.server import MilvusInfo, MilvusUnavailable
from rag.models.spec import ModelSpec

StageProgress = Callable[[str, int, int], None]  # (stage, done, total); stages "embed", "insert"

RRF_K = 60
MAX_TEXT_BYTES = 65_000  # VARCHAR max_length is 65,535 bytes

BUILD_PROPERTY = "workbench.build"  # collection property holding the fingerprint inputs (JSON)
COMPLETE_PROPERTY = "workbench.complete"  # "false" at creation, "true" once flushed and loaded
CHUNK_DOCS = 2048      # documents embedded and inserted per step: bounds a build's memory
INSERT_ROWS, INSERT_BYTES = 512, 8_000_000  # per insert call
_after_chunk: Callable[[int], None] | None = None  # test hook: called with the rows inserted so far


class IncompleteCollection(RuntimeError):
    """A search named a collection whose build has not finished; the message says what to do."""


@dataclass
class BuildResult:
    name: str
    model: str
    reused: bool
    n_docs: int
    seconds: float = 0.0
    embed_seconds: float = 0.0
    cache_hits: int = 0
    load_seconds: float = 0.0  # model load, not in ``seconds`` (docs/s measures indexing, not start-up)
    analyzer: str = ""         # the BM25 analyzer of a BM25/hybrid collection ("" for dense)

    @property
    def docs_per_s(self) -> float:
        return self.n_docs / self.seconds if self.seconds else float("inf")


def _clip(text: str) -> str:
    b = text.encode("utf-8")
    return text if len(b) <= MAX_TEXT_BYTES else b[:MAX_TEXT_BYTES].decode("utf-8", errors="ignore")


def _score(hit: dict, spec: ModelSpec, cfg: IndexConfig) -> float:
    d = float(hit["distance"])
    if spec.kind == "sparse":
        return abs(d)  # Milvus Lite reports BM25 negated (best first); Milvus server positive
    if spec.kind == "dense" and cfg.metric == "L2":
        return -d
    return d


def canonical_order(hits: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Score descending, ties by doc id descending: exactly the order trec_eval evaluates."""
    return sorted(sorted(hits, key=lambda h: h[0], reverse=True), key=lambda h: -h[1])


def parse_fusion(fusion: str | None) -> tuple[str, float]:
    """``rrf:K`` (K a whole number ≥ 1) or ``weighted:A`` (0 ≤ A ≤ 1, the dense weight; BM25 gets 1 - A);
    None or "" is the default ``rrf:60``. ValueError says what is accepted."""
    text = (fusion or f"rrf:{RRF_K}").strip().lower()
    kind, _sep, value = text.partition(":")
    try:
        number = float(value)
    except ValueError:
        number = None
    if kind == "rrf" and number is not None and number >= 1 and number == int(number):
        return "rrf", int(number)
    if kind == "weighted" and number is not None and 0 <= number <= 1:
        return "weighted", number
    raise ValueError(_("fusion {fusion}: give rrf:K (K a whole number >= 1, e.g. rrf:60) or weighted:A "
                       "(the dense weight, 0 <= A <= 1, e.g. weighted:0.3)").format(fusion=repr(fusion)))


def fusion_ranker(fusion: str | None = None):
    """The pymilvus ranker of a hybrid search: ``RRFRanker(K)`` or ``WeightedRanker(A, 1 - A)`` (dense, BM25)."""
    from pymilvus import RRFRanker, WeightedRanker

    kind, value = parse_fusion(fusion)
    return RRFRanker(int(value)) if kind == "rrf" else WeightedRanker(value, 1 - value)


class MilvusStore(Healing, LanguageAware):
    """Usage: see the module docstring. ``ensure_collection``, ``search`` and ``ping`` heal: when this
    folder's embedded server dies during one of them, it is restarted once (``rag.milvus.healing.heal``)
    and the call runs again (complete collections are reused, the embedding cache keeps what was embedded)."""

    def __init__(self, info: MilvusInfo):
        self.info = info
        self.client = info.client()
        self._caps: Capabilities | None = None
        self._complete: set[str] = set()  # names seen complete (search checks once per collection)
        self.restarted_at: float | None = None  # monotonic time of the last restart this store made

    @property
    def capabilities(self) -> Capabilities:
        """What this server can run (read once): models and index types it cannot are refused up front."""
        if self._caps is None:
            self._caps = detect(self.client)
        return self._caps

    def ensure_collection(self, *args, **kwargs) -> BuildResult:
        """``_ensure_collection`` (its arguments), healing a dead embedded server once."""
        return self._healing(lambda: self._ensure_collection(*args, **kwargs))

    def search(self, *args, **kwargs) -> list[list[tuple[str, float]]]:
        """``_search`` (its arguments), healing a dead embedded server once."""
        return self._healing(lambda: self._search(*args, **kwargs))

    def _ensure_collection(self, dataset: Dataset, spec: ModelSpec, cfg: IndexConfig | None = None,
                           chunking: str = "", progress: StageProgress | None = None,
                           force: bool = False, settings=None) -> BuildResult:
        """Reuse the complete collection of these inputs, or build it in bounded chunks (embed
        ``CHUNK_DOCS`` documents, insert them, next), so memory does not grow with the corpus. An
        incomplete one (a build killed mid-way) is rebuilt: the embedding cache holds every chunk
        it embedded, so nothing is embedded twice."""
        cfg = cfg or IndexConfig()
        self.capabilities.require([spec], cfg)  # before anything is created (MilvusUnsupported)
        analyzer = self.bm25_analyzer(dataset, cfg) if spec.has_sparse else None  # refused here, not mid-build
        inputs = build_inputs(dataset, spec, cfg, chunking, analyzer.params if analyzer else None)
        a_name = analyzer.name if analyzer else ""
        name = collection_name(inputs)
        n = len(dataset.documents)
        if not force and self.is_complete(name, inputs, n):
            self.client.load_collection(name)
            if progress:
                progress("insert", n, n)
            return BuildResult(name, spec.name, reused=True, n_docs=n, analyzer=a_name)

        t_load = time.perf_counter()
        enc = spec.encoder(settings)  # settings: a browser session's own keys (None: app-wide)
        if enc is not None:
            enc.load()  # the clock (and the first progress call) starts after the model is loaded
        t0 = time.perf_counter()
        if progress:
            progress("embed" if enc is not None else "insert", 0, n)
        if self.client.has_collection(name):
            self.client.drop_collection(name)
        dim = enc.dim if enc is not None else None
        images = dataset.modality in ("image", "audio")  # a media corpus: vectors from the files, paths stored
        self._create(name, spec, cfg, dim=dim, inputs=inputs, images=images,
                     analyzer=analyzer.params if analyzer else None)
        self._complete.discard(name)
        hits = done = 0
        t_embed = 0.0
        try:
            docs = iter(dataset.documents)
            while chunk := list(itertools.islice(docs, CHUNK_DOCS)):
                texts = [d.full_text for d in chunk]
                vectors = None
                if enc is not None:
                    te = time.perf_counter()
                    vectors = (enc.embed_media(dataset.modality, chunk) if images
                               else enc.embed(texts, role="document"))
                    t_embed += time.perf_counter() - te
                    hits += enc.last_cache_hits
                    if progress:
                        progress("embed", done + len(chunk), n)
                self._insert(name, chunk, texts, vectors)
                done += len(chunk)
                if progress:
                    progress("insert", done, n)
                if _after_chunk is not None:
                    _after_chunk(done)
            self.client.flush(name)
            self.client.load_collection(name)
            if self.row_count(name) != n:  # duplicate ids collapse in Milvus Lite: never mark that complete
                raise RuntimeError(_("collection {name} holds {rows} rows for {n} documents (duplicate document "
                                     "ids?)").format(name=name, rows=self.row_count(name), n=n))
            self.client.alter_collection_properties(name, properties={COMPLETE_PROPERTY: "true"})
        except BaseException:
            self._drop_quietly(name)  # a failed build leaves nothing; a killed one stays marked incomplete
            raise
        self._complete.add(name)
        for other in self.client.list_collections():  # stale builds of the same inputs, older corpus
            stored = self.stored_inputs(other) if other != name else None
            if stored is not None and same_build(stored, inputs) and stored["corpus_hash"] != inputs["corpus_hash"]:
                self._drop_quietly(other)
        return BuildResult(name, spec.name, reused=False, n_docs=n, seconds=time.perf_counter() - t0,
                           embed_seconds=t_embed, cache_hits=hits, load_seconds=t0 - t_load, analyzer=a_name)

    def _insert(self, name: str, docs: list, texts: list[str], vectors) -> None:
        rows, size = [], 0
        for i, d in enumerate(docs):
            row = {"id": d.id, "title": _clip(d.title), "text": _clip(texts[i])}
            if d.image or d.audio:
                row["path"] = _clip(d.image or d.audio)
            if vectors is not None:
                row["dense"] = vectors[i].tolist()
            rows.append(row)
            size += len(row["text"]) + len(row["title"])
            if len(rows) >= INSERT_ROWS or size >= INSERT_BYTES:  # gRPC messages stay far below 64 MB
                self.client.insert(name, rows)
                rows, size = [], 0
        if rows:
            self.client.insert(name, rows)

    def is_complete(self, name: str, inputs: dict | None = None, n: int | None = None) -> bool:
        """Built to the end (flushed, loaded, then marked), holding ``inputs`` and ``n`` rows when given.
        A collection without the mark (killed mid-build, or built before marks existed) is incomplete."""
        if not self.client.has_collection(name):
            return False
        props = self._properties(name)
        if props.get(COMPLETE_PROPERTY) != "true":
            return False
        if inputs is not None and self.stored_inputs(name) != inputs:
            return False
        return n is None or self.row_count(name) == n

    def require_complete(self, name: str) -> None:
        """Refuse to search a collection whose build has not finished (its results would be partial)."""
        if name in self._complete:
            return
        if not self.is_complete(name):
            raise IncompleteCollection(_(
                "collection {name} is not completely built (its build was interrupted or is still running); build "
                "it again (Index page, or any cli.py run that uses it): the embedding cache keeps what was embedded"
            ).format(name=name))
        self.client.load_collection(name)  # after a restart of the server its collections are released
        self._complete.add(name)

    def _create(self, name: str, spec: ModelSpec, cfg: IndexConfig, dim: int | None, inputs: dict,
                images: bool = False, analyzer: dict | None = None) -> None:
        from pymilvus import DataType, Function, FunctionType

        schema = self.client.create_schema(auto_id=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=512)
        schema.add_field("title", DataType.VARCHAR, max_length=65535)  # an image's file name
        if images:
            schema.add_field("path", DataType.VARCHAR, max_length=65535)  # the image file; "text" is its caption
        if spec.has_sparse:
            schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                             analyzer_params=analyzer)
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                         input_field_names=["text"], output_field_names=["sparse"]))
        else:
            schema.add_field("text", DataType.VARCHAR, max_length=65535)
        if spec.has_dense:
            schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
        ip = self.client.prepare_index_params()
        if spec.has_dense:
            ip.add_index(field_name="dense", index_type=cfg.index_type, metric_type=cfg.metric,
                         params=cfg.build_params())
        if spec.has_sparse:
            ip.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params=BM25_PARAMS)
        self.client.create_collection(name, schema=schema, index_params=ip,
                                      properties={BUILD_PROPERTY: json.dumps(inputs, sort_keys=True),
                                                  COMPLETE_PROPERTY: "false"})

    def row_count(self, name: str) -> int:
        return int(self.client.get_collection_stats(name).get("row_count", 0))

    def _search(self, name: str, spec: ModelSpec, queries: list[str], k: int, cfg: IndexConfig | None = None,
                query_vectors=None, batch: int = 64, settings=None,
                fusion: str | None = None) -> list[list[tuple[str, float]]]:
        """Top-k (doc id, score) per query, higher score better, in trec_eval order. ``fusion`` is how a
        hybrid model fuses its dense and BM25 lists (``fusion_ranker``; default RRF 60); other kinds ignore it."""
        from pymilvus import AnnSearchRequest

        cfg = cfg or IndexConfig()
        self.require_complete(name)
        if spec.has_dense and query_vectors is None:
            query_vectors = spec.encoder(settings).embed(queries, role="query")
        out: list[list[tuple[str, float]]] = []
        for s in range(0, len(queries), batch):
            qs = queries[s:s + batch]
            dense = None if query_vectors is None else [v.tolist() for v in query_vectors[s:s + batch]]
            if spec.kind == "hybrid":
                reqs = [AnnSearchRequest(data=dense, anns_field="dense", param=cfg.search_params(k), limit=k),
                        AnnSearchRequest(data=qs, anns_field="sparse", param={"metric_type": "BM25"}, limit=k)]
                res = self.client.hybrid_search(name, reqs, fusion_ranker(fusion), limit=k, output_fields=["id"])
            elif spec.kind == "sparse":
                res = self.client.search(name, data=qs, anns_field="sparse", limit=k, output_fields=["id"],
                                         search_params={"metric_type": "BM25"})
            else:
                res = self.client.search(name, data=dense, anns_field="dense", limit=k, output_fields=["id"],
                                         search_params=cfg.search_params(k))
            out.extend(canonical_order([(h["id"], _score(h, spec, cfg)) for h in hits]) for hits in res)
        return out

    def fetch(self, name: str, ids: list[str]) -> dict[str, dict]:
        """Title and text of documents by id (the service uses this; the app has the dataset)."""
        if not ids:
            return {}
        # ids may hold quotes, backslashes and newlines: each becomes an escaped string literal
        # (Milvus Lite has no filter templates, so filter_params is not an option here)
        literals = ", ".join(json.dumps(i, ensure_ascii=False) for i in ids)
        rows = self.client.query(name, filter=f"id in [{literals}]", output_fields=["id", "title", "text"])
        return {r["id"]: r for r in rows}

    def _properties(self, name: str) -> dict:
        try:
            return dict(self.client.describe_collection(name).get("properties") or {})
        except Exception:
            return {}

    def stored_inputs(self, name: str) -> dict | None:
        """The build inputs stored in a collection, or None (built before they were stored, or not ours)."""
        try:
            raw = self._properties(name).get(BUILD_PROPERTY)
            inputs = json.loads(raw) if raw else None
        except Exception:
            return None
        return inputs if isinstance(inputs, dict) and inputs.get("v") == FINGERPRINT_VERSION else None

    def collections(self) -> list[dict]:
        """Every workbench collection with what it holds, read from its stored inputs."""
        out = []
        for c in sorted(self.client.list_collections()):
            if not c.startswith("wb_"):
                continue
            inp = self.stored_inputs(c)
            if inp is None:
                out.append({"name": c, "dataset": _("unknown origin"), "model": "", "index": "", "chunking": "",
                            "rows": self.row_count(c), "complete": self.is_complete(c)})
                continue
            index = IndexConfig.from_json(inp["index"]).label() if inp.get("index") else ""
            index = " + ".join(p for p in (index, "BM25" if inp.get("bm25") else "") if p)
            out.append({"name": c, "dataset": inp["dataset"], "model": inp["model"], "index": index,
                        "chunking": inp["chunking"], "rows": self.row_count(c), "complete": self.is_complete(c)})
        return out

    def builds(self, dataset: Dataset, model_name: str, chunking: str = "") -> list[tuple[str, IndexConfig | None]]:
        """Complete collections holding ``dataset``'s current corpus for a model: (name, index config or
        None for BM25-only), as stored in each collection."""
        out = []
        for c in sorted(self.client.list_collections()):
            inp = self.stored_inputs(c)
            if inp and inp["dataset"] == dataset.name and inp["corpus_hash"] == dataset.corpus_hash() \
                    and inp["model"] == model_name and inp["chunking"] == chunking and self.is_complete(c):
                out.append((c, IndexConfig.from_json(inp["index"]) if inp["index"] else None))
        return out

    def drop(self, name: str) -> None:
        self.client.drop_collection(name)

    def _drop_quietly(self, name: str) -> None:
        try:
            self.client.drop_collection(name)
        except Exception:
            pass

    def ping(self) -> None:
        try:
            self._healing(lambda: self.client.list_collections(timeout=5))
        except MilvusUnavailable:
            raise
        except Exception as e:
            raise MilvusUnavailable(_("{server} does not answer: {why}. {hint}").format(
                server=self.info.describe(), why=e, hint=self.info.fix_hint())) from e
