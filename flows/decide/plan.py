"""Step 5: how each passing candidate would be deployed, and what it costs.

Per candidate: the index type for the corpus size (FLAT, exact, up to ``FLAT_MAX_DOCS``; HNSW above,
measured 10k×384 at 9.5 ms vs FLAT's 32 ms on this machine, ARCHITECTURE.md; when HNSW is proposed its
recall@k against FLAT is measured on this data, ``hnsw_recall``), vector memory
(dims × 4 bytes × documents, + HNSW's graph links ``M × 2 × 4`` bytes per vector, + the sparse BM25
index at ~8 bytes per (document, term) posting; model weights added for local models), the one-off
embedding time (measured here: a sample of the corpus encoded without the cache) and cost (estimated
corpus tokens × the model's price), the monthly query cost at the brief's volume (the frontier's cost
per 1,000 queries, ``evaluators.report.frontier.retrieval_cost``), Milvus Lite or a server, and the
setup as code (the sweep exporter's pymilvus script over the retrieval run's collection).

Usage:
    p = plan_candidate("minilm", brief, analysis, store.get(ev.retrieval_run), store)
    p["memory_mb"], p["index_type"], p["cost_month_usd"], p["script"]
"""

from __future__ import annotations

import time
from types import SimpleNamespace

from flows.decide.analysis import DataAnalysis, estimate_tokens
from flows.decide.brief import Brief
from rag.data.dataset import Dataset
from rag.i18n import _

FLAT_MAX_DOCS = 100_000       # exact search stays fast enough below this on one machine
LITE_MAX_DOCS = 1_000_000     # Milvus Lite (one local process): prototyping and single-machine scale
LITE_MAX_USERS = 32
HNSW_M = 16
SPARSE_POSTING_BYTES = 8      # term id + weight per (document, distinct term)
TIMING_SAMPLE = 32            # documents encoded to time embedding


def index_choice(n_docs: int, flat_max_docs: int = FLAT_MAX_DOCS) -> tuple[str, str]:
    if n_docs <= flat_max_docs:
        return "FLAT", _("{n} documents ≤ {limit}: exact search is fast enough, and recall is 100 % by definition "
                         "(no HNSW recall to measure)").format(n=f"{n_docs:,}", limit=f"{flat_max_docs:,}")
    return "HNSW", _("{n} documents > {limit}: HNSW (M={m}) for latency").format(n=f"{n_docs:,}",
                                                                                limit=f"{flat_max_docs:,}", m=HNSW_M)


def hnsw_recall(ds: Dataset, model: str, k: int, retriever) -> dict:
    """HNSW's recall@k against FLAT on this data: both collections built (or reused) through the store with
    the index config, every judged question searched in each; recall = |HNSW top k ∩ FLAT top k| / |FLAT top k|
    per question, averaged. The retriever is copied (same Milvus client) with each config, as the pages do."""
    import copy

    from rag.milvus.index_config import IndexConfig

    metric = retriever.index_config.metric
    found = {}
    for cfg in (IndexConfig("FLAT", metric), IndexConfig("HNSW", metric, {"M": HNSW_M})):
        r = copy.copy(retriever)
        r.index_config = cfg
        found[cfg.index_type] = r.search_all(ds, [model], k=k).rankings[model]
    per = []
    for qid, exact in found["FLAT"].items():
        want = {d for d, _ in exact[:k]}
        if want:
            per.append(len(want & {d for d, _ in found["HNSW"].get(qid, [])[:k]}) / len(want))
    recall = sum(per) / len(per) if per else None
    return {"recall_at_k": None if recall is None else round(recall, 4), "k": k, "questions": len(per),
            "ef": IndexConfig("HNSW", metric).search_params(k)["params"]["ef"], "M": HNSW_M, "metric": metric}


def vector_memory_mb(kind: str, dims: int | None, n_docs: int, index_type: str, doc_terms: float) -> float:
    dense = (dims or 0) * 4 * n_docs if kind in ("dense", "hybrid") else 0
    if dense and index_type == "HNSW":
        dense += HNSW_M * 2 * 4 * n_docs
    sparse = doc_terms * SPARSE_POSTING_BYTES * n_docs if kind in ("sparse", "hybrid") else 0
    return (dense + sparse) / 1e6


def _timing(spec, ds: Dataset) -> tuple[float | None, str]:
    """Seconds per document, measured by encoding a sample without the cache (None for BM25)."""
    if not spec.has_dense:
        return None, _("BM25 is computed by Milvus at insert: no embedding step")
    try:
        raw = spec.encoder().raw
        texts = [d.full_text for d in ds.documents[:TIMING_SAMPLE]]
        raw.encode(texts[:2])  # warm-up: the first call loads the weights
        t = time.perf_counter()
        raw.encode(texts)
        return (time.perf_counter() - t) / max(len(texts), 1), _("measured on {n} documents here").format(
            n=len(texts))
    except Exception as e:  # an API down: said, not guessed
        return None, _("not measured ({reason})").format(reason=str(e).splitlines()[0][:160])


def script_for(model: str, k: int, retrieval_run, fmt: str = "pymilvus") -> str | None:
    """The sweep exporter's script for ``model`` over the retrieval run's collection (None if it refuses)."""
    from evaluators.sweep.export import render_script
    from evaluators.sweep.setups import Setup

    try:
        from rag.models.registry import resolve

        setup = Setup(model=model, k=k, fusion="rrf:60" if resolve(model).kind == "hybrid" else None)
        collection = (retrieval_run.config.get("collections") or {}).get(model)
        cfg = {**retrieval_run.config, "collections": {setup.id: collection}}
        run = SimpleNamespace(id=retrieval_run.id, dataset=retrieval_run.dataset, config=cfg, kind="sweep")
        return render_script(run, setup, fmt)
    except Exception as e:  # ExportRefused and friends: the plan says why
        return "# " + _("no script: {reason}").format(reason=str(e).splitlines()[0][:200])


def plan_candidate(model: str, brief: Brief, a: DataAnalysis, ds: Dataset, retrieval_run, store,
                   info=None, retriever=None, flat_max_docs: int = FLAT_MAX_DOCS) -> dict:
    from evaluators.report.frontier import retrieval_cost
    from rag.models.registry import resolve

    spec = resolve(model)
    n = a.n_documents
    index_type, index_why = index_choice(n, flat_max_docs)
    recall = None
    if index_type == "HNSW" and not spec.has_dense:
        index_type, index_why = "SPARSE_INVERTED_INDEX", _("BM25 only: Milvus' sparse inverted index (exact)")
    elif index_type == "HNSW" and retriever is None:
        index_why += _("; ") + _("its recall against FLAT not measured (no Milvus connection given)")
    elif index_type == "HNSW":
        try:
            recall = hnsw_recall(ds, model, brief.k, retriever)
            index_why += _("; ") + _("measured here: recall@{k} {recall} against FLAT over {n} questions "
                                     "(ef {ef})").format(k=brief.k, recall=f"{recall['recall_at_k']:.4f}",
                                                         n=recall["questions"], ef=recall["ef"])
        except Exception as e:  # a server that cannot build HNSW: said, not guessed
            index_why += _("; ") + _("its recall against FLAT not measured ({reason})").format(
                reason=str(e).splitlines()[0][:160])
    dims = None
    if spec.has_dense:
        dims = info.embed_dim if info and info.embed_dim else None
        if dims is None:
            try:
                dims = int(spec.encoder().dim)
            except Exception:
                dims = None
    doc_terms = sum(len(set(d.full_text.lower().split())) for d in ds.documents) / max(n, 1)
    vectors = vector_memory_mb(spec.kind, dims, n, index_type, doc_terms)
    local = spec.has_dense and float(spec.price_per_mtok) == 0 and (info is None or info.open_weights is not False)
    weights = float(info.memory_mb) if local and info and info.memory_mb else 0.0
    per_doc, timing_how = _timing(spec, ds)
    corpus_tokens = sum(estimate_tokens(d.full_text) for d in ds.documents)
    price = float(spec.price_per_mtok)
    per_1k, basis = retrieval_cost(store, retrieval_run, model)
    cost_month = per_1k * brief.queries_per_day * 30 / 1000
    server = n > LITE_MAX_DOCS or brief.users > LITE_MAX_USERS
    return {
        "model": model, "kind": spec.kind, "dims": dims, "index_type": index_type, "index_reason": index_why,
        "hnsw_recall": recall,
        "vector_memory_mb": round(vectors, 3), "weights_memory_mb": weights,
        "memory_mb": round(vectors + weights, 3),
        "memory_basis": (_("{dims} dims × 4 bytes × {n} documents").format(dims=dims, n=f"{n:,}") if dims else "")
        + (" + " + _("sparse postings (estimated)") if spec.has_sparse else "")
        + (" + " + _("{mb} MB weights").format(mb=f"{weights:g}") if weights else ""),
        "embed_seconds": round(per_doc * n, 2) if per_doc is not None else None, "embed_timing": timing_how,
        "corpus_tokens": corpus_tokens,
        "one_off_usd": round(corpus_tokens * price / 1e6, 6) if price == price else None,
        "cost_per_1k_usd": per_1k, "cost_basis": basis,
        "cost_month_usd": round(cost_month, 4) if cost_month == cost_month else None,
        "milvus": "server" if server else "lite",
        "milvus_reason": (_("a Milvus standalone/cluster or Zilliz Cloud (MILVUS_URI): {n} documents (Lite ≤ "
                            "{max_docs}), {users} users (Lite ≤ {max_users})") if server else
                          _("Milvus Lite as a local server fits: {n} documents (Lite ≤ {max_docs}), {users} users "
                            "(Lite ≤ {max_users})")).format(n=f"{n:,}", max_docs=f"{LITE_MAX_DOCS:,}",
                                                           users=brief.users, max_users=LITE_MAX_USERS),
        "script": script_for(model, brief.k, retrieval_run),
    }
