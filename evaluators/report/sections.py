"""Pieces of the stakeholder report that read one kind of run: example rank tables, RAG answers,
load-test tables, sentences and charts. Split from ``evaluators.report.build`` to keep both modules small;
nothing here renders a page, everything returns escaped HTML tables or static SVG charts. The
per-kind builders (``retrieval_example``, ``rag_example``, ``load_section``) are named by the kinds'
entries in ``evaluators.stats.run_kinds``.

Usage:
    tables, notes = example_tables(store, [run], comparison, n=3)
    sentences, tables = judge_parts(store, [rag_run])    # how far to trust each judged run's judge
    section, _ = load_section(store, [load_run])
"""

from __future__ import annotations

import html
import math
import re

import pandas as pd
from markupsafe import Markup

from evaluators.formatting import display_frame, fmt_ms, fmt_rate, missing
from evaluators.report.charts import bar_chart, line_chart
from evaluators.stats.comparison import MetricComparison, model_labels
from evaluators.stats.labels import metric_label
from evaluators.stats.run_kinds import kind_of
from rag.i18n import N_, _, tidy
from rag.runs import Run, RunStore

NO_MATCH = "— (no match)"  # as evaluators.formatting.NO_MATCH (imported lazily there)
_LOAD_NAME = re.compile(r"^\s*\w+\[(.+)\]\s*$")  # Locust request names: "search[minilm]"
ANSWER_CHARS = 400


def judge_parts(store: RunStore, group: list[Run]) -> tuple[list[str], list[tuple[str, Markup]]]:
    """(sentences, tables) on each judged run's judge (``evaluators.judge.reliability``): its agreement with
    the qrels and its failures per metric, placed beside the judged metrics they qualify. Runs without a
    judge (every retrieval run) give nothing."""
    from evaluators.judge.reliability import confusion_frame, for_run, health_frame, noise_frame

    sentences, tables = [], []
    for run in group:
        if not run.config.get("judge"):
            continue
        rel = for_run(store, run)
        who = _(" (run {run})").format(run=run.id) if len(group) > 1 else ""
        sentences.append(_("How far to trust the judge{who}: {sentence}.").format(who=who, sentence=rel.sentence()))
        sentences += [_("Second judge{who}: {line}.").format(who=who, line=line)
                      for line in (rel.second or {}).get("sentences", [])]
        if rel.agreement:
            tables.append((_("Judge vs your qrels{who}: context precision verdicts").format(who=who),
                           _table(confusion_frame(rel))))
        if rel.health:
            tables.append((_("Judge failures per metric{who}").format(who=who), _table(health_frame(rel))))
        if rel.noise:
            tables.append((_("Judge repeats: 95% CI with the judge's noise{who}").format(who=who),
                           _table(noise_frame(rel))))
    return sentences, tables


def load_model_name(name: str) -> str:
    """``search[minilm]`` → ``minilm``; other names unchanged."""
    m = _LOAD_NAME.match(str(name))
    return m.group(1) if m else str(name)


def html_table(frame: pd.DataFrame, index: bool = False, floats: int = 3, reasons: dict[str, str] | None = None,
               formats: dict | None = None, cell_class=None) -> Markup:
    """An HTML table whose cells are display text (``evaluators.formatting``: no None/nan, missing
    cells say why), every cell escaped (what keeps user text inert); ``cell_class(text)`` may give
    a cell a CSS class (the relevance tints)."""
    shown = display_frame(frame, reasons, formats, floats)
    head = [_(h) if h else h for h in ([shown.index.name or ""] if index else []) + [str(c) for c in shown.columns]]
    out = ['<table class="data"><thead><tr>' + "".join(f"<th>{html.escape(h)}</th>" for h in head)
           + "</tr></thead><tbody>"]
    for idx, row in zip(shown.index, shown.itertuples(index=False)):
        cells = [f"<th>{html.escape(str(idx))}</th>"] if index else []
        for v in row:
            cls = cell_class(v) if cell_class else None
            shown = _(str(v)) if cls == "no-match" else str(v)  # the sentinel, in the reader's words
            cells.append((f'<td class="{cls}">' if cls else "<td>") + html.escape(shown, quote=False) + "</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return Markup("".join(out) + "</tbody></table>")


_table = html_table


def dataset_for(run: Run, dataset=None, load=None):
    """The run's dataset if it can be read and is unchanged (same content hash), else None: ``dataset``
    when it is the one, else its ``dataset_source`` read with ``load`` (``rag.data.loaders.load_dataset``).
    A run on only the text or only the image queries (the Retrieval page's Queries, ``--queries``)
    hashes that selection: it is matched too."""
    if dataset is not None:
        if run.dataset_hash is None:
            return dataset
        if (same := _same_queries(run, dataset)) is not None:
            return same
    src = run.config.get("dataset_source")
    if not src:
        return None
    try:
        if load is None:
            from rag.data.loaders import load_dataset as load
        ds = load(src)
        if (run.config.get("asr") or {}).get("model"):  # a run on an audio folder's transcripts (cached)
            from rag.models.asr import transcribe_dataset

            ds = transcribe_dataset(ds, run.config["asr"]["model"])
    except Exception:  # moved, deleted, now unreadable: the report shows ids and says why
        return None
    return ds if run.dataset_hash is None else _same_queries(run, ds)


def _same_queries(run: Run, ds):
    """``ds`` itself, or its text or image queries only, whichever has the run's content hash; else None."""
    kinds = ["all"] + (sorted(ds.query_kinds()) if ds.modality in ("image", "audio", "video") else [])
    return next((sub for sub in map(ds.select_queries, kinds) if sub.content_hash() == run.dataset_hash), None)


def unreadable_note(run: Run) -> str:
    """Why examples show ids only: the dataset could not be re-read, or it changed since the run."""
    src = run.config.get("dataset_source")
    if not src:
        return _("The dataset was not loaded from a file (an upload), so it cannot be re-read: examples show "
                 "document ids without relevance marks.")
    return (_("The dataset could not be re-read from {src} (moved, deleted or changed since the run): examples "
              "show document ids without relevance marks or thumbnails.") if _image_run(run) else
            _("The dataset could not be re-read from {src} (moved, deleted or changed since the run): examples "
              "show document ids without relevance marks.")).format(src=src)


def _image_run(run: Run) -> bool:
    """A run of image models (``clip:`` / ``img:``), known from its record alone."""
    return any(str(m).startswith(("clip:", "img:")) for m in run.config.get("models") or [])


def pick_examples(cmp: MetricComparison, n: int) -> list[str]:
    """The queries where the setups disagree most on the main metric (most telling), then the rest."""
    queries = list(dict.fromkeys(q for s in cmp.scores.values() for q in s))
    def spread(q: str) -> float:
        vals = [s[q] for s in cmp.scores.values() if q in s and not math.isnan(s[q])]
        return max(vals) - min(vals) if len(vals) > 1 else 0.0
    return sorted(queries, key=lambda q: -spread(q))[:n]


def _rank_table_ids(rankings: dict, per_query: dict, k: int, qid: str) -> pd.DataFrame:
    """Fallback when the dataset cannot be read: document ids, no relevance marks."""
    cols = {}
    for m, r in rankings.items():
        hits = [d for d, _ in r.get(qid, [])]
        pq = per_query[m].get(qid, {})
        cols[m] = hits + [NO_MATCH] * (k - len(hits)) + [
            missing(_("not scored")) if pq.get(f"{x}@{k}") is None else f"{pq[f'{x}@{k}']:.2f}"
            for x in ("precision", "recall")]
    index = [str(i) for i in range(1, k + 1)] + [_("Precision"), _("Recall")]
    return pd.DataFrame(cols, index=pd.Index(index, name=N_("Rank")))


def example_tables(store: RunStore, group: list[Run], cmp: MetricComparison, n: int = 3,
                   dataset=None) -> tuple[list[tuple[str, Markup]], list[str]]:
    """(caption, table) per example query: the article's Rank × model table for retrieval runs
    (✅/❎ + titles when the dataset is readable), question → answer per setup for RAG runs."""
    if n <= 0:
        return [], []
    ds = dataset_for(group[0], dataset)
    notes = [] if ds else [unreadable_note(group[0])]
    labels = model_labels(group)
    rows: dict[tuple[str, str], list[dict]] = {}
    for r in group:
        for row in store.rows(r.id):
            rows.setdefault((r.id, row["model"]), []).append(row)
    queries = {q.id: q for q in ds.queries} if ds else {}
    out = []
    for qid in pick_examples(cmp, n):
        q = queries.get(qid)
        caption = (_("Query {qid}: “{text}”").format(qid=qid, text=q.text) if q and q.text else
                   _("Query {qid} (an image: {file})").format(qid=qid, file=_file_name(q.image)) if q and q.image else
                   _("Query {qid} (a sound: {file})").format(qid=qid, file=_file_name(q.audio)) if q and q.audio else
                   _("Query {qid}").format(qid=qid))
        out.append(kind_of(group[0]).example(group, rows, labels, qid, q, ds, cmp, caption))
    return out, notes


def retrieval_example(group, rows, labels, qid, q, ds, cmp, caption) -> tuple[str, Markup]:
    """The article's Rank × model table for one query, relevance-tinted (``RunKind.example`` of retrieval)."""
    from evaluators.retrieval.evaluate import THUMB_PX, relevance_class

    if ds is not None and ds.modality in ("image", "audio", "video"):  # thumbnails, waveforms, best frames
        frame = _retrieval_frame(group, rows, labels, qid, ds, thumbs=THUMB_PX)
        return caption, (query_image_html(q) if q is not None else Markup("")) + image_rank_html(frame)
    return caption, _table(_retrieval_frame(group, rows, labels, qid, ds).reset_index(), cell_class=relevance_class)


def _file_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def query_image_html(q, size: int = 96) -> Markup:
    """An image query's own picture, or an audio query's waveform picture (inline data URI), and its file
    name, escaped; "" for a text query."""
    from evaluators.retrieval.evaluate import thumbnail

    path = q.image or getattr(q, "audio", "")
    if not path:
        return Markup("")
    name = html.escape(_file_name(path))
    src = thumbnail(path, size)
    img = (f'<img class="query-thumb" src="{html.escape(src)}" alt="{name}">' if src
           else f"{missing(_('image not found') if q.image else _('sound not found'))} ")
    what = (_("query image: {name}") if q.image else _("query sound: {name}")).format(name=name)
    return Markup(f'<p class="query-image">{img}<span class="muted">{what}</span></p>')


def image_rank_html(frame: pd.DataFrame) -> Markup:
    """``comparison_table(..., thumbs=...)`` as one HTML table: per model a cell with the thumbnail
    (a data URI: the file stays standalone) above '✅ file' / '❎ file', tinted by relevance; every
    file name escaped (text and ``alt``)."""
    from evaluators.retrieval.evaluate import IMAGE_COLUMN, relevance_class

    models = [c for c in frame.columns if not str(c).endswith(IMAGE_COLUMN)]
    out = [f'<table class="data images"><thead><tr><th>{html.escape(_("Rank"))}</th>'
           + "".join(f"<th>{html.escape(str(m))}</th>" for m in models) + "</tr></thead><tbody>"]
    for rank, row in frame.iterrows():
        cells = []
        for m in models:
            text, src = str(row[m]), str(row.get(f"{m}{IMAGE_COLUMN}", "") or "")
            cls = relevance_class(text)
            img = f'<img class="thumb" src="{html.escape(src)}" alt="{html.escape(text)}">' if src else ""
            cells.append((f'<td class="{cls}">' if cls else "<td>") + img + html.escape(text) + "</td>")
        out.append(f"<tr><th>{html.escape(str(rank))}</th>" + "".join(cells) + "</tr>")
    return Markup("".join(out) + "</tbody></table>")


def rag_example(group, rows, labels, qid, q, ds, cmp, caption) -> tuple[str, Markup]:
    """Question → answer per setup with the main metric (``RunKind.example`` of RAG)."""
    ref = _(" (reference: {reference})").format(reference=q.reference) if q and q.reference else ""
    return caption + ref, _table(_rag_frame(rows, labels, qid, cmp))


def run_query_frame(store: RunStore, run: Run, qid: str, ds=None, thumbs: int = 0) -> pd.DataFrame:
    """One stored retrieval run's Rank × model table for query ``qid`` (the History page's per-query view):
    ✅/❎ + titles with ``ds`` (``dataset_for``), thumbnail columns too with ``thumbs``; ids without it."""
    rows: dict[tuple[str, str], list[dict]] = {}
    for row in store.rows(run.id):
        rows.setdefault((run.id, row["model"]), []).append(row)
    return _retrieval_frame([run], rows, model_labels([run]), qid, ds, thumbs=thumbs)


def _retrieval_frame(group, rows, labels, qid, ds, thumbs: int = 0) -> pd.DataFrame:
    k = int(group[0].config.get("k") or 10)
    rankings, per_query, frames = {}, {}, {}
    best = {run.id: run.config.get("best_frames") or {} for run in group}  # a video run: best frames' seconds
    for (rid, model), items in rows.items():
        lab = labels.get((rid, model), model)
        rankings[lab] = {r["item_id"]: [(d, s) for d, s in r.get("ranking", [])] for r in items}
        per_query[lab] = {r["item_id"]: r["scores"] for r in items}
        if best.get(rid, {}).get(model):
            frames[lab] = best[rid][model]
    if ds is None:
        return _rank_table_ids(rankings, per_query, k, qid)
    from evaluators.retrieval.evaluate import RetrievalResult, comparison_table

    result = RetrievalResult(ds.name, k, list(rankings), rankings, per_query, {}, frames=frames)
    return comparison_table(ds, result, qid, thumbs=thumbs)


def _rag_frame(rows, labels, qid, cmp: MetricComparison) -> pd.DataFrame:
    out = []
    for (rid, model), items in rows.items():
        row = next((r for r in items if str(r["item_id"]) == qid), None)
        if row is None:
            continue
        answer = str(row.get("response") or "")
        out.append({N_("setup"): labels.get((rid, model), model),
                    N_("answer"): answer[:ANSWER_CHARS] + ("…" if len(answer) > ANSWER_CHARS else ""),
                    N_("retrieved"): ", ".join(map(str, row.get("retrieved_ids") or [])),
                    **{metric_label(cmp.metric): row["scores"].get(cmp.metric)}})
    return pd.DataFrame(out)


def means_chart(cmps: list[MetricComparison]) -> Markup:
    """Bars of each setup's mean with its 95% CI, one group per metric (static SVG)."""
    models = list(dict.fromkeys(s.model for c in cmps for s in c.result.models))
    series = []
    for model in models:
        vals = []
        for c in cmps:
            s = next((s for s in c.result.models if s.model == model), None)
            vals.append(None if s is None or math.isnan(s.mean) else (s.mean, s.low, s.high))
        series.append((model, vals))
    top = max((v[2] for _, vs in series for v in vs if v and v[2] == v[2]), default=1.0)
    return bar_chart([c.label for c in cmps], series, _("Mean with 95% bootstrap CI"), _("score"),
                     y_max=1.0 if top <= 1.0 else None)


# ---------------------------------------------------------------- load runs

def load_results(run: Run) -> dict[str, dict]:
    """``{model: {requests, failures, rps, p50_ms, p95_ms, p99_ms}}`` from a load run's summary."""
    res = (run.summary or {}).get(kind_of(run).summary_table) or {}
    return {str(m): v for m, v in res.items() if isinstance(v, dict)}


def load_section(store: RunStore, group: list[Run], **_options) -> tuple[dict, list]:
    """The section of one load run (``RunKind.section`` of load): sentences, tables and charts;
    ``headline`` is its first sentence. No per-query comparisons."""
    run = group[0]
    sents = load_sentences(run)
    return {"title": _("Load test · {run}").format(run=run.id), "sentences": sents, "tables": load_tables(run),
            "figures": load_charts(run, store), "examples": [], "notes": [], "headline": sents[0],
            "intro": _(", ").join(f"{_(k)} {v}" for k, v in run.config.items()
                                  if k in (N_("endpoint"), N_("users"), N_("spawn_rate"), N_("duration_s"), "k"))}, []


SPLIT_COLUMNS = (N_("wait_ms"), N_("embed_ms"), N_("search_ms"), N_("generate_ms"), N_("other_ms"))  # stage headers
LOAD_COLUMNS = [N_("users"), N_("requests"), N_("failures"), "rps", N_("p50_ms"), N_("p95_ms"), N_("p99_ms"),
                N_("avg_ms"), N_("duration_s")]  # the keys of the summary; headers read through the catalog


def _users(run: Run, model: str | None = None):
    v = load_results(run).get(model or "", {}).get("users") if model else None
    return v if v is not None else run.config.get("users")


def load_sentences(run: Run) -> list[str]:
    res = load_results(run)
    if not res:
        return [_("Load run {run} has no results ({status}).").format(run=run.id, status=_(run.status))]
    users = {_users(run, m) for m in res}
    one = len(users) == 1 and None not in users
    at = _("At {users} concurrent users").format(users=users.pop()) if one else _("Under load")
    parts = [(_("{model} p95 {p95} ms ({rps} req/s, {failures} failures)") if one or not v.get("users") else
              _("{model} p95 {p95} ms ({rps} req/s, {failures} failures, {users} users)")).format(
        model=m, p95=fmt_ms(v["p95_ms"]), rps=fmt_rate(v.get("rps"), _("no rate")), failures=v.get("failures") or 0,
        users=v.get("users"))
             for m, v in res.items() if isinstance(v.get("p95_ms"), (int, float))]
    out = [tidy(_("{at}: {parts}.").format(at=at, parts=_("; ").join(parts)))] if parts else []
    from rag.runs.models import batching_label  # how the service served it: batched or one at a time

    out.append(_("Served with {how}.").format(how=batching_label(run.config or {}, run.summary)))
    for m, v in ((run.summary or {}).get("slo") or {}).items():
        if isinstance(v, dict) and v.get("max_users") is not None:
            out.append(_("{model} meets the p95 latency objective up to {users} users ({rps} req/s).").format(
                model=m, users=v["max_users"], rps=fmt_rate(v.get("rps"), _("no rate"))))
    return out


def load_tables(run: Run) -> list[tuple[str, Markup]]:
    res = load_results(run)
    tables = []
    if res:
        frame = pd.DataFrame([{N_("model"): m, **{c: v.get(c) for c in LOAD_COLUMNS if c in v}}
                              for m, v in res.items()])
        tables.append((_("Requests and latency"), _table(frame, floats=1)))
        split = pd.DataFrame([{"model": m, **v["split"]} for m, v in res.items() if isinstance(v.get("split"), dict)
                              and v["split"]])
        if not split.empty:
            tables.append((_("Where the time goes (mean ms per stage)"),
                           _table(split, formats={c: fmt_ms for c in split.columns if c != "model"})))
        fails = [{"model": m, **f} for m, v in res.items() for f in v.get("top_failures") or [] if isinstance(f, dict)]
        if fails:
            tables.append((_("Most frequent failures"), _table(pd.DataFrame(fails))))
    slo = (run.summary or {}).get("slo") or {}
    if slo:
        tables.append((_("Capacity within the latency objective"),
                       _table(pd.DataFrame([{"model": m, **v} for m, v in slo.items() if isinstance(v, dict)]),
                              floats=1)))
    return tables


def load_charts(run: Run, store: RunStore | None = None) -> list[Markup]:
    """Static SVG: percentile bars per model; p95 and throughput over time from the stored
    histories; p95 against users from SLO steps. Labels are escaped by ``svg_charts``."""
    res = load_results(run)
    charts = []
    if res:
        names = list(res)
        charts.append(bar_chart(names, [(q.replace("_ms", ""), [v.get(q) for v in res.values()])
                                        for q in ("p50_ms", "p95_ms", "p99_ms")],
                                _("Latency percentiles per model"), "ms", digits=0))
    histories = {r.model: r.history for r in (store.typed_rows(run.id) if store else []) if r.item_id == "load"}
    if any(histories.values()):
        for key, title, unit in (("p95_ms", _("p95 latency over the test"), "p95 ms"),
                                 ("rps", _("Throughput over the test"), "req/s")):
            charts.append(line_chart([(m, [h.get("t") for h in hist], [h.get(key) for h in hist])
                                      for m, hist in histories.items()], title, _("seconds"), unit))
    steps = (run.summary or {}).get("slo_steps") or {}
    if any(steps.values()):
        target = next((v.get("target_p95_ms") for v in ((run.summary or {}).get("slo") or {}).values()
                       if isinstance(v, dict) and v.get("target_p95_ms")), None)
        charts.append(line_chart([(m, [s.get("users") for s in st], [s.get("p95_ms") for s in st])
                                  for m, st in steps.items()], _("p95 latency as users grow (SLO search)"),
                                 _("users"), "p95 ms",
                                 hline=(target, _("target p95 {ms} ms").format(ms=f"{target:g}")) if target else None,
                                 markers=True))
    return charts
