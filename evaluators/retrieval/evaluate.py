"""Score what each model returned, and lay it out: the retrieval comparison's evaluation side.

``evaluate_retrieval`` searches with a ``rag.retrieval.Retriever`` and scores the rankings with
trec_eval definitions on exactly what each model returned: a BM25 list shorter than k is scored as
it is (P@k still divides by k), never padded with unmatched documents. ``comparison_table`` is the
article's table: Rank | model A | model B | ... with each document's title and ✅/❎ (an empty slot
reads "— (no match)"), then Precision and Recall rows; for an image dataset (``thumbs=64``) each model
also gets a column of thumbnails (``data:image/png;base64,...``) beside its marks.

Usage:
    with Retriever() as wb:
        result = run_retrieval(wb, ds, ["minilm", "bm25"], k=4)   # evaluate_retrieval + save_run
    result.metrics["minilm"]["ndcg@4"], result.run_id
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from evaluators.formatting import NO_MATCH, NOT_RELEVANT, RELEVANT
from evaluators.retrieval.metrics import score_run
from rag.data.dataset import Dataset, DatasetError
from rag.i18n import N_, _
from rag.models.devices import runtime_info
from rag.models.registry import resolve
from rag.retrieval import IndexProgress, Ranking, Retriever
from rag.runs.models import RetrievalRow, RetrievalSummary

# Cell tints: in Noto Color Emoji ❎ is a green box like ✅, so the marks alone do not tell relevant
# from not relevant at a glance; the cell colour does (dark text on both, contrast > 12:1).
TINTS = {"relevant": "#d4f0d4", "not-relevant": "#f9d6d5", "no-match": "#eeeeee"}
THUMB_PX = 64                 # thumbnails in the per-query tables (page and report)
IMAGE_COLUMN = " · image"    # suffix of a model's thumbnail column in ``comparison_table(..., thumbs=...)``
# An image whose file is gone (moved or deleted since the dataset was loaded): a grey box that says so.
MISSING_THUMB = ("data:image/svg+xml;utf8,%3Csvg xmlns='http://www.w3.org/2000/svg' width='64' height='64'%3E"
                 "%3Crect width='64' height='64' fill='%23eeeeee'/%3E%3Ctext x='32' y='36' font-size='10' "
                 "text-anchor='middle' fill='%23555555'%3Enot found%3C/text%3E%3C/svg%3E")
# RELEVANT, NOT_RELEVANT and NO_MATCH written out: one literal, so it is a catalog key (the report translates it)
LEGEND = N_("Cell colour = relevance: green ✅ relevant, red ❎ not relevant, grey — (no match) (the model returned "
            "fewer than k).")


def relevance_class(cell) -> str | None:
    """``relevant`` / ``not-relevant`` / ``no-match`` for a comparison-table cell, else None."""
    text = str(cell)
    if text.startswith(RELEVANT):
        return "relevant"
    if text.startswith(NOT_RELEVANT):
        return "not-relevant"
    return "no-match" if text == NO_MATCH else None


def comparison_styler(table: pd.DataFrame):
    """The comparison table as a pandas Styler with green / red / grey cell backgrounds (the page
    passes it to ``st.dataframe``, which renders Styler background colours)."""
    def css(cell) -> str:
        cls = relevance_class(cell)
        return f"background-color: {TINTS[cls]}; color: #111111" if cls else ""

    return table.style.map(css)


@dataclass
class RetrievalResult:
    dataset: str
    k: int
    models: list[str]                                          # the spec strings given (resolve back)
    rankings: dict[str, dict[str, Ranking]]                   # model -> query id -> [(doc, score)]
    per_query: dict[str, dict[str, dict[str, float]]]          # model -> query id -> metric -> value
    metrics: dict[str, dict[str, float]]                       # model -> metric -> mean
    search_seconds: dict[str, float] = field(default_factory=dict)
    collections: dict[str, str] = field(default_factory=dict)
    model_ids: dict[str, str] = field(default_factory=dict)    # model -> resolved model id
    index: dict = field(default_factory=dict)                  # IndexConfig.record() of the retriever
    language: dict = field(default_factory=dict)               # {"language": profile, "bm25_analyzer": choice}
    model_info: dict[str, dict] = field(default_factory=dict)  # model -> limits, truncation, prompts, dim
    run_id: str | None = None                                  # set once recorded (``run_retrieval``)
    frames: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # video datasets: model ->
    #                                                          query id -> {video id: best frame's second}

    def to_json(self) -> dict:
        out = {"dataset": self.dataset, "k": self.k, **self.language, "metrics": self.metrics,
               "models": self.model_info,
               "rankings": {m: {q: [[d, round(s, 6)] for d, s in hits] for q, hits in r.items()}
                            for m, r in self.rankings.items()}}
        if self.frames:  # a video dataset: where in each ranked video its best frame is
            out["best_frames"] = self.frames
        return out

    def frame_time(self, model: str, query_id: str, doc_id: str) -> float | None:
        """The second of ``doc_id``'s best frame in ``model``'s results for ``query_id`` (video datasets)."""
        return self.frames.get(model, {}).get(query_id, {}).get(doc_id)

    def metrics_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.metrics).T.rename_axis("model")


def evaluate_retrieval(wb: Retriever, dataset: Dataset, models: list[str], k: int = 10, chunking: str = "",
                       progress: IndexProgress | None = None) -> RetrievalResult:
    """Index (or reuse), search every judged query with each model, score each ranking."""
    before = api_cuts(models, wb.settings)
    found = wb.search_all(dataset, models, k, chunking, progress)
    per_query, metrics = {}, {}
    for m in found.models:
        per_query[m], metrics[m] = score_run(found.rankings[m], dataset.qrels, k)
    from rag.models.limits import models_info

    info = models_info(found.models, dataset, wb.settings)  # max tokens, cut documents / queries, prompts, dim
    for m, n in api_cuts(found.models, wb.settings).items():  # what this run sent over the provider's limit
        info.setdefault(m, {})["sent_truncated"] = n - before.get(m, 0)
    return RetrievalResult(found.dataset, k, found.models, found.rankings, per_query, metrics,
                           found.search_seconds, found.collections, found.model_ids, wb.index_config.record(),
                           found.language, info, frames=found.frames)


def api_cuts(models: list[str], settings=None) -> dict[str, int]:
    """How many inputs each API model has cut to its provider's limit so far (``ProviderEncoder.truncated``,
    a per-session counter: a run reports the difference). Local and sparse models: not listed. Only encoders
    already made are read (a model not made yet has cut nothing): this never loads or downloads a model, so a
    hub model's download happens in the build, on its progress bar."""
    out = {}
    for m in models:
        try:
            enc = resolve(m).made_encoder(settings)
        except Exception:  # noqa: BLE001 - an unavailable model is reported by the search itself
            continue
        n = getattr(getattr(enc, "raw", None), "truncated", None)
        if isinstance(n, int):
            out[m] = n
    return out


def limits_line(model: str, info: dict) -> str:
    """One line per model for the CLI and the pages: its limit, what was cut, its prompts and dims."""
    if info.get("max_tokens") is None:
        cut = _(info["counted_with"]) if info.get("counted_with") else _("no published limit")
    else:
        cut = _("max {max} tokens: {docs_cut} of {docs} documents and {queries_cut} queries truncated ({how})").format(
            max=f"{info['max_tokens']:,}", docs_cut=f"{info['documents_truncated']:,}", docs=f"{info['documents']:,}",
            queries_cut=f"{info['queries_truncated']:,}", how=_(info["counted_with"]))
    prompts = " · ".join((_("query prompt {prompt}") if r == "query" else _("document prompt {prompt}")).format(
        prompt=repr(info[f"{r}_prompt"])) for r in ("query", "document") if info.get(f"{r}_prompt"))
    dim = f"{info['dim']}-d" if info.get("dim") else ""
    if info.get("sent_truncated") is not None:
        cut += _("; {n} inputs cut to the provider's limit when sent").format(n=f"{info['sent_truncated']:,}")
    return f"{model}: " + _("; ").join(p for p in (cut, prompts or _("no prompts") if dim else "", dim) if p)


def run_retrieval(retriever: Retriever, dataset: Dataset, models: list[str], k: int = 10, store=None,
                  chunking: str = "", progress: IndexProgress | None = None,
                  config: dict | None = None) -> RetrievalResult:
    """The retrieval job, the one owner of its record: evaluate, then record the run and its statistics
    (a run is recorded only once every model was searched; ``result.run_id`` says which). ``config``: more
    of the setup to record (``{"asr": ...}`` when the dataset is an audio folder's transcripts)."""
    from rag.runs import RunStore

    result = evaluate_retrieval(retriever, dataset, models, k, chunking, progress)
    result.run_id = save_run(store or RunStore.default(), dataset, result, config)
    return result


def thumbnail(path: str, size: int = THUMB_PX, seconds: float | None = None) -> str | None:
    """An image's thumbnail, a sound's waveform picture (``size`` wide, ``size`` / 3 high), or a video's frame
    at ``seconds`` (its best frame; the first without), as a ``data:image/png;base64,...`` URI, or None when
    the file is gone or unreadable (a table then shows ``MISSING_THUMB`` or the id, never a traceback)."""
    from rag.data.audio import AUDIO_EXTS, waveform_data_uri
    from rag.data.images import thumbnail_data_uri
    from rag.data.video import VIDEO_EXTS, frame_data_uri

    if not path:
        return None
    try:
        if path.lower().endswith(VIDEO_EXTS):
            return frame_data_uri(path, seconds or 0.0, size)
        if path.lower().endswith(AUDIO_EXTS):
            return waveform_data_uri(path, size, max(16, size // 3))
        return thumbnail_data_uri(path, size)
    except (DatasetError, OSError):
        return None


def doc_label(dataset: Dataset, doc_id: str) -> str:
    """A document's title, and for a chunk which one (``guide.md #3``): every chunk of a file shares its
    title, so the title alone cannot tell the reader which passage was retrieved."""
    title = dataset.doc(doc_id).title or doc_id
    file, sep, n = doc_id.rpartition("#")
    return f"{title} #{n}" if sep and n.isdigit() and title.startswith(file) and title != doc_id else title


def comparison_table(dataset: Dataset, result: RetrievalResult, query_id: str, thumbs: int = 0) -> pd.DataFrame:
    """The article's table for one query: Rank | model… with '✅ Title' / '❎ Title' cells, then
    Precision and Recall rows. A rank the model left empty (it matched fewer than k) says so.
    ``thumbs`` (pixels, image and audio datasets): before each model's column, ``model · image`` with each
    image's thumbnail URI or each sound's waveform picture (``MISSING_THUMB`` for a file gone since; ""
    for empty and score rows)."""
    rel = dataset.relevant(query_id)
    k = result.k
    cols: dict[str, list[str]] = {}
    for m in result.models:
        hits = result.rankings[m].get(query_id, [])[:k]
        times = {d: result.frame_time(m, query_id, d) for d, _ in hits}  # a video: its best frame's second
        cells = [f"{RELEVANT if d in rel else NOT_RELEVANT} {doc_label(dataset, d)}"
                 + (f" @ {times[d]:.1f} s" if times[d] is not None else "") for d, _ in hits]
        if thumbs:
            images = [thumbnail(dataset.doc(d).media, thumbs, times[d]) or MISSING_THUMB for d, _ in hits]
            cols[m + IMAGE_COLUMN] = images + [""] * (k - len(images) + 2)
        cols[m] = cells + [NO_MATCH] * (k - len(cells))
        pq = result.per_query[m].get(query_id, {})
        cols[m] += [f"{pq.get(f'precision@{k}', 0.0):.2f}", f"{pq.get(f'recall@{k}', 0.0):.2f}"]
    index = [str(i) for i in range(1, k + 1)] + [_("Precision"), _("Recall")]
    return pd.DataFrame(cols, index=pd.Index(index, name=_("Rank")))


def save_run(store, dataset: Dataset, result: RetrievalResult, config: dict | None = None) -> str:
    """Record a retrieval run (config, per-query rows with rankings and ``scores``, means) and its statistics."""
    cfg = {"models": result.models, "k": result.k, "collections": result.collections,
           "model_ids": {m: result.model_ids.get(m) or resolve(m).model_id for m in result.models},
           "dataset_source": dataset.source, "query_kinds": dataset.query_kinds(), **result.index, **result.language,
           **runtime_info(), "models_info": result.model_info,
           **({"best_frames": result.frames} if result.frames else {}), **(config or {})}
    run_id = store.create("retrieval", cfg, dataset=dataset)
    rows = [RetrievalRow(model=m, item_id=q, ranking=result.rankings[m].get(q, []), scores=vals)
            for m in result.models for q, vals in result.per_query[m].items()]
    store.add_rows(run_id, rows)
    store.finish(run_id, RetrievalSummary(metrics=result.metrics, search_seconds=result.search_seconds))
    from evaluators.stats.run_stats import run_stats

    run_stats(store, run_id)  # computed once as the run finishes; every page, report and gate reads it
    return run_id


def ranking_detail(dataset: Dataset, result: RetrievalResult, query_id: str) -> pd.DataFrame:
    """Per model, per rank: document, title (an image's file name), score and its relevance grade (drill-down)."""
    qrels = dataset.qrels.get(query_id, {})
    title = "file" if dataset.modality == "image" else "title"
    return pd.DataFrame([{"model": m, "rank": i, "doc id": d, title: dataset.doc(d).title, "score": s,
                          "grade": qrels.get(d, 0), "relevant": RELEVANT if qrels.get(d, 0) > 0 else NOT_RELEVANT}
                         for m in result.models for i, (d, s) in enumerate(result.rankings[m].get(query_id, []), 1)])
