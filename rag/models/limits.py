"""How much of a dataset a model never sees: its max input tokens and how many documents and queries
exceed it, counted with the model's own tokenizer (prompt included, as the model is fed).

Why: encoders cut silently at ``max_seq_length`` (MiniLM: 256 tokens, so most SciFact abstracts lose
their ends); a comparison must say so next to the numbers. API models are counted against their
published limit (the provider table, else the catalog) with the estimate the API encoder itself cuts
by (``provider_api.estimate_tokens``: one token per CJK character, one per 3 others; no provider
tokenizer ships offline here), so the counts shown are the inputs a run will cut when sending.

Usage:
    model_limits(resolve("minilm"), dataset)
    # {"max_tokens": 256, "documents": 5183, "documents_truncated": 3680, "queries_truncated": 0,
    #  "query_prompt": None, "document_prompt": None, "dim": 384, "counted_with": "model tokenizer"}
"""

from __future__ import annotations

from rag.i18n import N_, _
from rag.models import catalog

ESTIMATE = N_("estimate: 1 token per CJK character, 1 per 3 other characters, against the published limit")


def _over(counts: list[int], limit: int | None) -> int:
    return sum(n > limit for n in counts) if limit else 0


def model_limits(spec, dataset, settings=None) -> dict:
    """Limits and truncation counts of ``spec`` on ``dataset``'s documents and judged queries."""
    prompts = spec.prompts(settings)
    docs = [d.full_text for d in dataset.documents]
    queries = [q.text for q in dataset.judged_queries if getattr(q, "kind", "text") == "text"]
    out = {"max_tokens": None, "documents": len(docs), "documents_truncated": 0, "queries_truncated": 0,
           **{k: v for k, v in prompts.record().items() if k in ("query_prompt", "document_prompt")},
           "dim": None, "counted_with": None}
    if not spec.has_dense:
        out["counted_with"] = N_("no token limit (BM25 indexes every word)")  # shown through _()
        return out
    enc = spec.encoder(settings)
    out["dim"] = enc.dim
    model = getattr(enc.raw, "model", None)
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is not None and getattr(model, "max_seq_length", None):
        limit = int(model.max_seq_length)

        def count(texts: list[str], prompt: str | None) -> list[int]:
            ids = tokenizer([(prompt or "") + t for t in texts], add_special_tokens=True, truncation=False,
                            verbose=False)["input_ids"]
            return [len(i) for i in ids]

        out.update(max_tokens=limit, documents_truncated=_over(count(docs, prompts.document), limit),
                   queries_truncated=_over(count(queries, prompts.query), limit), counted_with=N_("model tokenizer"))
        return out
    from rag.models.provider_api import estimate_tokens

    info = catalog.lookup(spec)
    limit = getattr(enc.raw, "max_tokens", None) or (info.max_tokens if info else None)
    est = lambda texts: [estimate_tokens(t) for t in texts]  # noqa: E731
    out.update(max_tokens=limit, documents_truncated=_over(est(docs), limit),
               queries_truncated=_over(est(queries), limit),
               counted_with=ESTIMATE if limit else N_("limit not published"))
    return out


def limits_row(model: str, info: dict) -> dict:
    """One table row for the pages: model, dims, max tokens, what was cut, prompts (as the authors' text)."""
    limit = info.get("max_tokens")
    counted = limit and "documents_truncated" in info  # a load run's service reports its limit, not counts
    how = _(info["counted_with"]) if info.get("counted_with") else "—"  # our words, in the reader's language
    return {N_("model"): model, N_("dims"): str(info.get("dim") or "—"),
            N_("max tokens"): f"{limit:,}" if limit else "—",
            N_("documents cut"): (_("{cut} of {total}").format(cut=f"{info['documents_truncated']:,}",
                                                                total=f"{info['documents']:,}") if counted else how),
            N_("queries cut"): f"{info['queries_truncated']:,}" if counted else "—",
            N_("query prompt"): repr(info["query_prompt"]) if info.get("query_prompt") else _("none"),
            N_("document prompt"): repr(info["document_prompt"]) if info.get("document_prompt") else _("none"),
            N_("counted with"): how,
            **({N_("cut when sent (API)"): f"{info['sent_truncated']:,}"} if info.get("sent_truncated") is not None
               else {})}


def models_info(models: list[str], dataset, settings=None) -> dict[str, dict]:
    """``model_limits`` of each model spec on a text dataset, as run records keep it (``models_info``);
    a model that cannot load says why in its row instead of failing the run's record. Images: none."""
    from rag.models.base import ModelUnavailable
    from rag.models.registry import resolve

    if getattr(dataset, "modality", "text") != "text":
        return {}
    out = {}
    for m in models:
        try:
            out[m] = model_limits(resolve(m), dataset, settings)
        except (ModelUnavailable, OSError, ValueError) as e:
            out[m] = {"max_tokens": None, "dim": None, "counted_with": _("not computed: {why}").format(why=e)}
    return out
