"""The stakeholder report: one self-contained HTML file from one or more stored runs.

Why one file: it is mailed, attached to tickets and opened on laptops without the app, so
everything is inline (Plotly's JavaScript once, in the page head; no CDN, no fonts, no images
to fetch) and it opens offline. Why every number comes from ``evaluators.run_stats``: the
verdict sentences, the tables, the pages and the CI gate must agree, so they all read the run's one
stored set of statistics (tests check they do, exactly).

Safety: every piece of user text (dataset titles, questions, answers, model names, prompts) is
escaped: Jinja2 autoescape for the page, ``DataFrame.to_html(escape=True)`` for tables, escaped
labels in figures (Plotly also writes its JSON with ``<`` as ``\\u003c``). Runs are read through
the store, which never holds a secret.

Sections: verdict · retrieval (means with 95% CIs, best/tied marks, pairwise tests, sample-size
hint, article-style rank tables for a few example queries) · RAG quality (Ragas means with CIs
and coverage, example answers) · load tests · quality–cost–latency frontier · reproducibility
manifest (dataset hash, model ids, index, generator, judge, prompt, package versions).

Usage:
    html = build_report(RunStore.default(), ["latest"])
    write_report(store, "RET_ID,LOAD_ID", "report.html")
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pandas as pd
from jinja2 import Environment
from markupsafe import Markup

from evaluators.comparison import (
    BEST,
    MetricComparison,
    default_metric,
    find_metric,
    metric_label,
    model_labels,
    run_metrics,
)
from evaluators.frontier import frontier_figure, frontier_table
from evaluators.report_sections import (
    example_tables,
    load_figure,
    load_sentences,
    load_tables,
    means_figure,
)
from evaluators.run_stats import ALPHA, N_RESAMPLES, run_stats
from rag.runs import Run, RunStore, scrub

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_TEMPLATE = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.1em} h2{border-bottom:2px solid #eee;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.92em}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f6f6f6} .verdict{background:#f3f8ff;border-left:4px solid #2b6cb0;padding:.6em 1.2em}
.muted{color:#666;font-size:.9em} pre{background:#f6f6f6;padding:.8em;overflow:auto;font-size:.85em}
.note{color:#8a5a00}
</style>
{% if plotlyjs %}<script type="text/javascript">{{ plotlyjs }}</script>{% endif %}
</head><body>
<h1>{{ title }}</h1>
<p class="muted">Generated {{ generated }} from run{{ 's' if runs|length > 1 }} {{ runs|join(', ') }}.</p>
<h2>Verdict</h2>
<div class="verdict"><ul>{% for v in headline %}<li>{{ v }}</li>{% endfor %}</ul></div>
{% for s in sections %}
<h2>{{ s.title }}</h2>
{% if s.intro %}<p class="muted">{{ s.intro }}</p>{% endif %}
{% if s.sentences %}<ul>{% for v in s.sentences %}<li>{{ v }}</li>{% endfor %}</ul>{% endif %}
{% for caption, table in s.tables %}<h3>{{ caption }}</h3>{{ table }}{% endfor %}
{% for fig in s.figures %}{{ fig }}{% endfor %}
{% for caption, table in s.examples %}<h3>{{ caption }}</h3>{{ table }}{% endfor %}
{% for n in s.notes %}<p class="note">{{ n }}</p>{% endfor %}
{% endfor %}
<h2>Reproducibility manifest</h2>
{% for m in manifest %}
<h3>Run {{ m.id }} ({{ m.kind }})</h3>
{{ m.table }}
<details><summary>Full configuration (JSON)</summary><pre>{{ m.config }}</pre></details>
{% endfor %}
<h2>Methods</h2>
<p class="muted">Means over queries with 95% percentile-bootstrap confidence intervals ({{ resamples }} resamples).
Models are compared on the same queries: the paired mean difference with a bootstrap CI and a two-sided paired
permutation (sign-flip) test, p-values Holm-corrected across all pairs of a metric. “{{ best }}” marks the highest
mean; “≈ tied” marks models not statistically different from it (Holm-adjusted p ≥ {{ alpha }}). The sample-size hint
is the difference detectable with 80% power under a normal approximation. Coverage = queries scored / queries
asked (a judge that fails on a query leaves it unscored).</p>
</body></html>""")


def _table(frame: pd.DataFrame, floats: int = 3) -> Markup:
    """An escaped HTML table (``escape=True`` is what keeps user text inert)."""
    return Markup(frame.to_html(index=False, escape=True, na_rep="–", border=0,
                                float_format=lambda x: f"{x:.{floats}f}"))


class _Figures:
    """Plotly figures as HTML divs; the JavaScript goes once into the page head."""

    def __init__(self):
        self.count = 0

    def html(self, fig) -> Markup:
        self.count += 1
        fig.update_layout(template="plotly_white")  # not Streamlit's template: its colours only render in Streamlit
        return Markup(fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False,
                                                                                   "responsive": True}))


def _ci_table(cmp: MetricComparison) -> pd.DataFrame:
    t = cmp.table()
    return pd.DataFrame({"model": t["model"], cmp.label: t["mean"], "95% CI": _ci(t["ci_low"], t["ci_high"]),
        "queries scored": [f"{n}/{tot} ({c:.0%})" if tot else "0" for n, tot, c in zip(t["n"], t["total"],
                                                                                        t["coverage"].fillna(0))],
        "": t["mark"]})


def _ci(lows, highs) -> list[str]:
    return [f"[{lo:.3f}, {hi:.3f}]" if lo == lo else "–" for lo, hi in zip(lows, highs)]


def _pairs_table(cmp: MetricComparison) -> pd.DataFrame:
    p = cmp.pairs()
    return pd.DataFrame({"A": p["model_a"], "B": p["model_b"], "A − B": p["diff"],
                         "95% CI": _ci(p["ci_low"], p["ci_high"]),
                         "p (Holm)": p["p_holm"], "significant": p["significant"].map({True: "yes", False: "no"}),
                         "queries": p["n"], "detectable diff.": p["mdd"]})


def _headline(cmp: MetricComparison, frontier: pd.DataFrame, labels: dict[tuple[str, str], str]) -> str:
    """The one-line verdict: best vs runner-up on quality; then latency and cost of the two."""
    res = cmp.result
    ranked = sorted((s for s in res.models if s.mean == s.mean), key=lambda s: -s.mean)
    if len(ranked) < 2:
        return cmp.verdicts()[0]
    a, b = ranked[0].model, ranked[1].model
    best = ranked[0]
    text = (f"{a} scores best on {cmp.label}, {cmp._num(best.mean)} [{cmp._num(best.low)}, {cmp._num(best.high)}] "
            f"over {best.n} queries. " + cmp.pair_sentence(a, b).rstrip("."))
    diff = res.pair(a, b).diff
    order = (b, a) if diff == diff and diff < 0 else (a, b)  # the sentence names the winner first
    rows = {labels.get((r["quality_run"], r["model"])): r for r in frontier.to_dict("records")}
    ra, rb = rows.get(order[0]), rows.get(order[1])
    if ra and rb and ra["p95_ms"] == ra["p95_ms"] and rb["p95_ms"] == rb["p95_ms"]:
        users = f"at {ra['users']} users " if ra.get("users") else ""
        text += f"; {users}p95 latency {ra['p95_ms']:.0f} ms vs {rb['p95_ms']:.0f} ms"
    if ra and rb:
        if ra["cost_per_1k"] == 0 and rb["cost_per_1k"] == 0:
            text += "; both cost nothing per query (local models)"
        else:
            text += f"; cost per 1,000 queries ${ra['cost_per_1k']:.4f} vs ${rb['cost_per_1k']:.4f}"
    return text + "."


def _group(runs: list[Run]) -> list[list[Run]]:
    """Quality runs that can be compared per query: same kind, dataset and (retrieval) k."""
    groups: dict[tuple, list[Run]] = {}
    for r in runs:
        if r.kind != "load":
            groups.setdefault((r.kind, r.dataset_hash, r.config.get("k") if r.kind == "retrieval" else None),
                              []).append(r)
    return list(groups.values())


def _describe_llm(v) -> str | None:
    """A generator / judge record (``{"spec", "label"}`` or ``{"provider", "model", "base_url"}``) as text."""
    if not isinstance(v, dict):
        return v
    if "provider" in v:
        return f"{v['provider']}:{v.get('model')}" + (f" @ {v['base_url']}" if v.get("base_url") else "")
    return " · ".join(str(x) for x in (v.get("spec"), v.get("label")) if x)


def _manifest(run: Run) -> dict:
    c = run.config
    env = c.get("environment") or {}
    models = c.get("models") or []
    ids = c.get("model_ids") or {}
    items = [("created", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.created))), ("status", run.status),
             ("error", run.error),
             ("dataset", run.dataset), ("dataset content hash", run.dataset_hash),
             ("dataset source", c.get("dataset_source")),
             ("models", ", ".join(f"{m} = {ids[m]}" if m in ids else str(m) for m in models)),
             ("k", c.get("k")), ("index", " / ".join(str(c[x]) for x in ("index_type", "metric", "index_params")
                                                     if c.get(x))),
             ("generator", _describe_llm(c.get("generator"))), ("judge", _describe_llm(c.get("judge"))),
             ("prompt", c.get("prompt") or (c.get("rag") or {}).get("prompt_template")),
             ("metrics", ", ".join(c.get("metrics_active") or [])),
             ("users", c.get("users")), ("python", env.get("python")),
             ("packages", ", ".join(f"{p} {v}" for p, v in (env.get("packages") or {}).items() if v))]
    frame = pd.DataFrame([(k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                          for k, v in items if v not in (None, "", [], {})], columns=["field", "value"])
    return {"id": run.id, "kind": run.kind, "table": _table(frame),
            "config": json.dumps(scrub(c), indent=2, ensure_ascii=False, default=str)}


def _quality_section(store: RunStore, group: list[Run], metric: str | None, examples: int, n_resamples: int,
                     figs: _Figures, dataset=None) -> tuple[dict, list[MetricComparison]]:
    kind = group[0].kind
    ids = [r.id for r in group]
    names = list(dict.fromkeys(n for r in group for n in run_metrics(store, r)))
    main = (find_metric(names, metric) if metric else None) or default_metric(store, group[0])
    metrics = [main] + [n for n in names if n != main] if kind == "rag" else [main]
    stats = run_stats(store, ids, n_resamples)  # the same object the pages and the gate read
    cmps = [stats.get(m) for m in metrics if m]
    sec = {"title": ("Retrieval" if kind == "retrieval" else "RAG quality (Ragas)") +
           f" · {group[0].dataset or 'dataset'}", "sentences": [], "tables": [], "figures": [], "examples": [],
           "notes": [], "intro": f"{len(cmps[0].scores)} setups, {cmps[0].n_queries} queries"
           + (f", k = {group[0].config.get('k')}" if kind == "retrieval" else "") if cmps else ""}
    for cmp in cmps:
        sec["sentences"] += cmp.verdicts()
        sec["tables"].append((f"{cmp.label}: mean and 95% CI", _table(_ci_table(cmp))))
        if len(cmp.scores) > 1:
            sec["tables"].append((f"{cmp.label}: paired differences", _table(_pairs_table(cmp))))
    if kind == "retrieval" and cmps:
        all_means = stats.frame().assign(metric=lambda f: f["metric"].map(metric_label)).pivot(
            index="model", columns="metric", values="mean").reindex(stats.models)
        all_means = all_means[[metric_label(m) for m in stats.metrics]].rename_axis(None, axis=1).reset_index()
        sec["tables"].append(("All metrics (means)", _table(all_means)))
    if cmps:
        sec["figures"].append(figs.html(means_figure(cmps)))
        sec["examples"], notes = example_tables(store, group, cmps[0], examples, dataset)
        sec["notes"] += notes
    return sec, cmps


def _frontier_section(kind: str, frontier: pd.DataFrame, figs: _Figures) -> dict:
    metric = metric_label(frontier["quality_metric"].iloc[0])
    show = frontier[["setup", "quality", "cost_per_1k", "p95_ms", "users", "latency_endpoint", "pareto",
                     "cost_basis"]].rename(columns={"quality": metric, "cost_per_1k": "USD per 1k queries",
                                                    "p95_ms": "p95 ms", "latency_endpoint": "load endpoint",
                                                    "pareto": "Pareto-optimal", "cost_basis": "cost basis"})
    show["Pareto-optimal"] = show["Pareto-optimal"].map({True: "★ yes", False: ""})
    show["USD per 1k queries"] = show["USD per 1k queries"].map(lambda v: f"${v:.4f}" if v == v else "–")
    show["p95 ms"] = show["p95 ms"].map(lambda v: f"{v:.0f}" if v == v else "–")
    notes = ["No load run in this report: latency is not on the chart. Add a load run id."] \
        if frontier["p95_ms"].isna().all() else []
    pareto = ", ".join(frontier.loc[frontier["pareto"], "setup"])
    return {"title": f"Quality, cost and latency · {'retrieval' if kind == 'retrieval' else 'RAG'}",
            "intro": "Pareto-optimal setups: no other setup is at least as good on every axis and better on one.",
            "sentences": [], "tables": [("Setups", _table(show))], "examples": [], "notes": notes,
            "figures": [figs.html(frontier_figure(frontier))],
            "headline": f"Pareto-optimal on {metric}, cost and latency: {pareto}."}


def build_report(store: RunStore, run_ids: list[str] | str, metric: str | None = None, examples: int = 3,
                 title: str | None = None, n_resamples: int = N_RESAMPLES, dataset=None) -> str:
    """The report's HTML text for the given runs (ids, ``"A,B"`` or ``latest``)."""
    ids = store.resolve_ids(run_ids)
    runs = [store.get(i) for i in ids]
    figs = _Figures()
    headline, sections = [], []
    load_ids = [r.id for r in runs if r.kind == "load"]
    frontiers = []
    for group in _group(runs):
        sec, cmps = _quality_section(store, group, metric, examples, n_resamples, figs, dataset)
        sections.append(sec)
        if cmps:
            frontier = frontier_table(store, [r.id for r in group] + load_ids, cmps[0].metric)
            headline.append(_headline(cmps[0], frontier, model_labels(group)))
            frontiers.append((group[0].kind, frontier))
    for run in (r for r in runs if r.kind == "load"):
        sents = load_sentences(run)
        headline += sents[:1]
        sections.append({"title": f"Load test · {run.id}", "sentences": sents, "tables": load_tables(run),
                         "figures": [figs.html(f) for f in load_figure(run, store)], "examples": [], "notes": [],
                         "intro": ", ".join(f"{k} {v}" for k, v in run.config.items()
                                            if k in ("endpoint", "users", "spawn_rate", "duration_s", "k"))})
    for kind, frontier in frontiers:
        if frontier.empty:
            continue
        sec = _frontier_section(kind, frontier, figs)
        headline.append(sec.pop("headline"))
        sections.append(sec)
    if not headline:
        headline = ["These runs have no per-query scores or load results to compare."]
    headline += [f"Run {r.id} ({r.kind}) is {r.status}" + (f": {r.error}" if r.error else "") +
                 "; its numbers cover only what finished." for r in runs if r.status != "done"]
    plotlyjs = ""
    if figs.count:
        from plotly.offline import get_plotlyjs

        plotlyjs = Markup(get_plotlyjs())
    return _TEMPLATE.render(title=title or "RAG evaluation report", generated=time.strftime("%Y-%m-%d %H:%M"),
                            runs=ids, headline=headline, sections=sections, manifest=[_manifest(r) for r in runs],
                            plotlyjs=plotlyjs, resamples=f"{n_resamples:,}", best=BEST, alpha=ALPHA)


def write_report(store: RunStore, run_ids: list[str] | str, output: str | Path, **kw) -> Path:
    """``build_report`` into a file (parent folders created); returns the path."""
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_report(store, run_ids, **kw), encoding="utf-8")
    return path


def report_numbers(cmp: MetricComparison) -> dict[str, float]:
    """The means a verdict quotes, rounded as printed (tests compare them with the store)."""
    return {s.model: round(s.mean, cmp.digits) for s in cmp.result.models if not math.isnan(s.mean)}
