"""Pieces of the stakeholder report that read one kind of run: example rank tables, RAG answers,
load-test tables, sentences and charts. Split from ``evaluators.report`` to keep both modules small;
nothing here renders a page, everything returns escaped HTML tables or Plotly figures.

Usage:
    tables, notes = example_tables(store, [run], comparison, n=3)
    figures = load_figure(load_run)
"""

from __future__ import annotations

import html
import math
import re

import pandas as pd
from markupsafe import Markup

from evaluators.comparison import MetricComparison, metric_label, model_labels
from rag.runs import Run, RunStore

_LOAD_NAME = re.compile(r"^\s*\w+\[(.+)\]\s*$")  # Locust request names: "search[minilm]"
ANSWER_CHARS = 400


def load_model_name(name: str) -> str:
    """``search[minilm]`` → ``minilm``; other names unchanged."""
    m = _LOAD_NAME.match(str(name))
    return m.group(1) if m else str(name)


def _table(frame: pd.DataFrame, index: bool = False, floats: int = 3) -> Markup:
    return Markup(frame.to_html(index=index, escape=True, na_rep="–", border=0,
                                float_format=lambda x: f"{x:.{floats}f}"))


def _dataset_for(run: Run, dataset=None):
    """The run's dataset if it can be read and is unchanged (same content hash), else None."""
    if dataset is not None and (run.dataset_hash is None or dataset.content_hash() == run.dataset_hash):
        return dataset
    src = run.config.get("dataset_source")
    if not src:
        return None
    try:
        from rag.loaders import load_dataset

        ds = load_dataset(src)
    except Exception:
        return None
    return ds if run.dataset_hash is None or ds.content_hash() == run.dataset_hash else None


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
        cols[m] = hits + [""] * (k - len(hits)) + [f"{pq.get(f'precision@{k}', math.nan):.2f}",
                                                    f"{pq.get(f'recall@{k}', math.nan):.2f}"]
    index = [str(i) for i in range(1, k + 1)] + ["Precision", "Recall"]
    return pd.DataFrame(cols, index=pd.Index(index, name="Rank"))


def example_tables(store: RunStore, group: list[Run], cmp: MetricComparison, n: int = 3,
                   dataset=None) -> tuple[list[tuple[str, Markup]], list[str]]:
    """(caption, table) per example query: the article's Rank × model table for retrieval runs
    (✅/❎ + titles when the dataset is readable), question → answer per setup for RAG runs."""
    if n <= 0:
        return [], []
    ds = _dataset_for(group[0], dataset)
    notes = [] if ds else ["The dataset could not be re-read (or changed since the run): examples show document "
                           "ids without relevance marks."]
    labels = model_labels(group)
    rows: dict[tuple[str, str], list[dict]] = {}
    for r in group:
        for row in store.rows(r.id):
            rows.setdefault((r.id, row["model"]), []).append(row)
    queries = {q.id: q for q in ds.queries} if ds else {}
    out = []
    for qid in pick_examples(cmp, n):
        q = queries.get(qid)
        caption = f"Query {qid}" + (f": “{q.text}”" if q else "")
        if group[0].kind == "retrieval":
            out.append((caption, _table(_retrieval_example(group, rows, labels, qid, ds).reset_index())))
        else:
            ref = f" (reference: {q.reference})" if q and q.reference else ""
            out.append((caption + ref, _table(_rag_example(rows, labels, qid, cmp))))
    return out, notes


def _retrieval_example(group, rows, labels, qid, ds) -> pd.DataFrame:
    k = int(group[0].config.get("k") or 10)
    rankings, per_query = {}, {}
    for (rid, model), items in rows.items():
        lab = labels.get((rid, model), model)
        rankings[lab] = {r["item_id"]: [(d, s) for d, s in r.get("ranking", [])] for r in items}
        per_query[lab] = {r["item_id"]: {key: v for key, v in r.items() if isinstance(v, (int, float))} for r in items}
    if ds is None:
        return _rank_table_ids(rankings, per_query, k, qid)
    from evaluators.retrieval_eval import RetrievalResult, comparison_table

    result = RetrievalResult(ds.name, k, list(rankings), rankings, per_query, {})
    return comparison_table(ds, result, qid)


def _rag_example(rows, labels, qid, cmp: MetricComparison) -> pd.DataFrame:
    out = []
    for (rid, model), items in rows.items():
        row = next((r for r in items if str(r.get("item_id", r.get("question_id"))) == qid), None)
        if row is None:
            continue
        answer = str(row.get("response") or "")
        out.append({"setup": labels.get((rid, model), model),
                    "answer": answer[:ANSWER_CHARS] + ("…" if len(answer) > ANSWER_CHARS else ""),
                    "retrieved": ", ".join(map(str, row.get("retrieved_ids") or [])),
                    **{metric_label(cmp.metric): row.get(cmp.metric)}})
    return pd.DataFrame(out)


def means_figure(cmps: list[MetricComparison]):
    """Bars of each setup's mean with its 95% CI, one group per metric."""
    import plotly.graph_objects as go

    fig = go.Figure()
    models = list(dict.fromkeys(s.model for c in cmps for s in c.result.models))
    for model in models:
        xs, ys, lo, hi = [], [], [], []
        for c in cmps:
            s = next((s for s in c.result.models if s.model == model), None)
            if s is None or math.isnan(s.mean):
                continue
            xs.append(c.label)
            ys.append(s.mean)
            lo.append(s.mean - s.low)
            hi.append(s.high - s.mean)
        fig.add_trace(go.Bar(name=html.escape(model), x=xs, y=ys,
                             error_y={"type": "data", "symmetric": False, "array": hi, "arrayminus": lo}))
    fig.update_layout(barmode="group", title="Mean with 95% bootstrap CI", yaxis_title="score", height=380,
                      margin={"t": 50, "l": 60, "r": 20, "b": 40})
    return fig


# ---------------------------------------------------------------- load runs

def load_results(run: Run) -> dict[str, dict]:
    """``{model: {requests, failures, rps, p50_ms, p95_ms, p99_ms}}`` from a load run's summary."""
    res = (run.summary or {}).get("results") or {}
    return {str(m): v for m, v in res.items() if isinstance(v, dict)}


LOAD_COLUMNS = ["users", "requests", "failures", "rps", "p50_ms", "p95_ms", "p99_ms", "avg_ms", "duration_s"]


def _users(run: Run, model: str | None = None):
    v = load_results(run).get(model or "", {}).get("users") if model else None
    return v if v is not None else run.config.get("users")


def load_sentences(run: Run) -> list[str]:
    res = load_results(run)
    if not res:
        return [f"Load run {run.id} has no results ({run.status})."]
    users = {_users(run, m) for m in res}
    at = f"At {users.pop()} concurrent users" if len(users) == 1 and None not in users else "Under load"
    parts = [f"{m} p95 {v['p95_ms']:.0f} ms ({v.get('rps', math.nan):.1f} req/s, {v.get('failures', 0)} failures"
             + (f", {v['users']} users" if at == "Under load" and v.get("users") else "") + ")"
             for m, v in res.items() if isinstance(v.get("p95_ms"), (int, float))]
    out = [f"{at}: " + "; ".join(parts) + "."] if parts else []
    from loadtests.results import batching_label  # how the service served it: batched or one at a time

    out.append(f"Served with {batching_label(run.config or {}, run.summary)}.")
    for m, v in ((run.summary or {}).get("slo") or {}).items():
        if isinstance(v, dict) and v.get("max_users") is not None:
            out.append(f"{m} meets the p95 latency objective up to {v['max_users']} users "
                       f"({v.get('rps', 0):.1f} req/s).")
    return out


def load_tables(run: Run) -> list[tuple[str, Markup]]:
    res = load_results(run)
    tables = []
    if res:
        frame = pd.DataFrame([{"model": m, **{c: v.get(c) for c in LOAD_COLUMNS if c in v}} for m, v in res.items()])
        tables.append(("Requests and latency", _table(frame, floats=1)))
        split = pd.DataFrame([{"model": m, **v["split"]} for m, v in res.items() if isinstance(v.get("split"), dict)
                              and v["split"]])
        if not split.empty:
            tables.append(("Where the time goes (mean ms per stage)", _table(split, floats=1)))
        fails = [{"model": m, **f} for m, v in res.items() for f in v.get("top_failures") or [] if isinstance(f, dict)]
        if fails:
            tables.append(("Most frequent failures", _table(pd.DataFrame(fails))))
    slo = (run.summary or {}).get("slo") or {}
    if slo:
        tables.append(("Capacity within the latency objective",
                       _table(pd.DataFrame([{"model": m, **v} for m, v in slo.items() if isinstance(v, dict)]),
                              floats=1)))
    return tables


def load_figure(run: Run, store: RunStore | None = None) -> list:
    """Percentile bars per model (throughput on a second axis); p95 over time from the stored
    histories; p95 against users from SLO steps. User labels are escaped."""
    import plotly.graph_objects as go

    res = load_results(run)
    figs = []
    if res:
        names = [html.escape(m) for m in res]
        fig = go.Figure()
        for q in ("p50_ms", "p95_ms", "p99_ms"):
            fig.add_trace(go.Bar(name=q.replace("_ms", ""), x=names, y=[v.get(q) for v in res.values()]))
        fig.add_trace(go.Scatter(name="req/s", x=names, y=[v.get("rps") for v in res.values()], yaxis="y2",
                                 mode="markers", marker={"size": 14, "symbol": "diamond", "color": "#111"}))
        fig.update_layout(barmode="group", title="Latency percentiles and throughput", yaxis={"title": "ms"},
                          yaxis2={"title": "req/s", "overlaying": "y", "side": "right"}, height=380,
                          margin={"t": 50, "l": 60, "r": 60, "b": 40})
        figs.append(fig)
    histories = {r["model"]: r.get("history") or [] for r in (store.rows(run.id) if store else [])
                 if r.get("item_id") == "load"}
    if any(histories.values()):
        fig = go.Figure()
        for m, hist in histories.items():
            fig.add_trace(go.Scatter(name=f"{html.escape(m)} p95", x=[h.get("t") for h in hist],
                                     y=[h.get("p95_ms") for h in hist], mode="lines"))
            fig.add_trace(go.Scatter(name=f"{html.escape(m)} req/s", x=[h.get("t") for h in hist],
                                     y=[h.get("rps") for h in hist], mode="lines", yaxis="y2",
                                     line={"dash": "dot"}))
        fig.update_layout(title="p95 latency and throughput over the test", xaxis_title="seconds",
                          yaxis={"title": "p95 ms"}, yaxis2={"title": "req/s", "overlaying": "y", "side": "right"},
                          height=380, margin={"t": 50, "l": 60, "r": 60, "b": 40})
        figs.append(fig)
    steps = (run.summary or {}).get("slo_steps") or {}
    if any(steps.values()):
        fig = go.Figure()
        for m, st in steps.items():
            fig.add_trace(go.Scatter(name=html.escape(m), x=[s.get("users") for s in st],
                                     y=[s.get("p95_ms") for s in st], mode="lines+markers"))
        target = next((v.get("target_p95_ms") for v in ((run.summary or {}).get("slo") or {}).values()
                       if isinstance(v, dict) and v.get("target_p95_ms")), None)
        if target:
            fig.add_hline(y=target, line_dash="dash", annotation_text=f"target p95 {target:g} ms")
        fig.update_layout(title="p95 latency as users grow (SLO search)", xaxis_title="users",
                          yaxis_title="p95 ms", height=380, margin={"t": 50, "l": 60, "r": 20, "b": 40})
        figs.append(fig)
    return figs
