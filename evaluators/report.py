"""The stakeholder report: one self-contained HTML file from one or more stored runs.

Why one file: it is mailed, attached to tickets and opened on laptops without the app, so
everything is inline: charts are static SVG drawn by ``evaluators.svg_charts`` (no JavaScript
library, no CDN, no fonts, no images to fetch), so it opens offline, weighs kilobytes (inlining
Plotly made a one-run report 4.8 MB) and prints to PDF on clean pages (``@media print``).
Why every number comes from ``evaluators.run_stats``: the verdict sentences, the tables, the
pages and the CI gate must agree, so they all read the run's one stored set of statistics (tests
check they do, exactly). Every cell goes through ``evaluators.formatting``: no None / nan, empty
cells say why.

Safety: every piece of user text (dataset titles, questions, answers, model names, prompts) is
escaped: Jinja2 autoescape for the page, ``html_table`` for tables, ``svg_charts`` for chart
labels. Runs are read through the store, which never holds a secret.

Sections: executive summary (verdict sentence, winner with its interval, the quality–latency–cost
chart, what was compared on what data) · retrieval (means with 95% CIs, best/tied marks, pairwise
tests, sample-size hint, article-style rank tables with green / red relevance tints) · RAG quality
(Ragas means with CIs and coverage, example answers) · load tests · quality–cost–latency frontier ·
reproducibility manifest (dataset hash, model ids, index, generator, judge, prompt, packages).

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
    fmt_p,
    metric_label,
    model_labels,
    run_metrics,
)
from evaluators.formatting import fmt_ci, fmt_ms, fmt_score, fmt_usd, is_missing, missing
from evaluators.frontier import NO_LOAD, frontier_chart, frontier_display, frontier_table
from evaluators.report_sections import example_tables, html_table, load_charts, load_sentences, load_tables, means_chart
from evaluators.retrieval_eval import LEGEND, NO_MATCH, NOT_RELEVANT, RELEVANT, TINTS
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
th{background:#f6f6f6} .muted{color:#666;font-size:.9em} .note{color:#8a5a00}
pre{background:#f6f6f6;padding:.8em;overflow:auto;font-size:.85em;white-space:pre-wrap}
.summary{background:#f3f8ff;border-left:4px solid #2b6cb0;padding:.4em 1.4em 1em;margin-top:1.2em}
.summary h2{border:0;margin-top:.6em} .verdict{font-size:1.12em;font-weight:600}
.winner{font-size:1.05em} .summary ul{margin:.3em 0}
figure.chart{margin:.8em 0;max-width:760px} figure.chart svg{background:#fff}
td.relevant,.swatch.relevant{background:{{ tints.relevant }};color:#111}
td.not-relevant,.swatch.not-relevant{background:{{ tints['not-relevant'] }};color:#111}
td.no-match,.swatch.no-match{background:{{ tints['no-match'] }};color:#333}
.swatch{display:inline-block;padding:0 .5em;border:1px solid #ccc;margin-right:.6em}
td.relevant,td.not-relevant,td.no-match,.swatch,.summary{-webkit-print-color-adjust:exact;print-color-adjust:exact}
@page{size:A4;margin:14mm 12mm}
@media print{
body{max-width:none;margin:0;padding:0;font-size:10pt;line-height:1.35}
.summary{break-after:page;border-left-width:3px}
h2,h3{break-after:avoid} table,figure,.verdict,.winner,li{break-inside:avoid}
table{font-size:8.5pt;width:100%} th,td{padding:.15em .35em} figure.chart{max-width:100%}
details>pre{display:none} details>summary{list-style:none}
}
</style>
</head><body>
<h1>{{ title }}</h1>
<p class="muted">Generated {{ generated }} from run{{ 's' if runs|length > 1 }} {{ runs|join(', ') }}.</p>
<section class="summary" id="summary">
<h2>Executive summary</h2>
{% if summary.verdict %}<p class="verdict">{{ summary.verdict }}</p>{% endif %}
{% if summary.winner %}<p class="winner">{{ summary.winner }}</p>{% endif %}
{% if summary.chart %}{{ summary.chart }}{% endif %}
{% if summary.compared %}<h3>What was compared, on what data</h3>
<ul>{% for c in summary.compared %}<li>{{ c }}</li>{% endfor %}</ul>{% endif %}
{% if summary.more %}<h3>Also in this report</h3>
<ul>{% for v in summary.more %}<li>{{ v }}</li>{% endfor %}</ul>{% endif %}
</section>
{% for s in sections %}
<h2>{{ s.title }}</h2>
{% if s.intro %}<p class="muted">{{ s.intro }}</p>{% endif %}
{% if s.sentences %}<ul>{% for v in s.sentences %}<li>{{ v }}</li>{% endfor %}</ul>{% endif %}
{% for caption, table in s.tables %}<h3>{{ caption }}</h3>{{ table }}{% endfor %}
{% for fig in s.figures %}{{ fig }}{% endfor %}
{% if s.legend %}<p class="legend"><span class="swatch relevant">{{ rel }} relevant</span>
<span class="swatch not-relevant">{{ nonrel }} not relevant</span><span class="swatch no-match">{{ nomatch }}</span>
<span class="muted">{{ legend }}</span></p>{% endif %}
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


def _table(frame: pd.DataFrame, floats: int = 3, **kw) -> Markup:
    """An escaped HTML table of display text (``report_sections.html_table``)."""
    return html_table(frame, floats=floats, **kw)


def _ci_table(cmp: MetricComparison) -> pd.DataFrame:
    t = cmp.table()
    return pd.DataFrame({"model": t["model"], cmp.label: [fmt_score(v, "not scored") for v in t["mean"]],
                         "95% CI": _ci(t["ci_low"], t["ci_high"]),
                         "queries scored": [f"{n}/{tot} ({c:.0%})" if tot else "0" for n, tot, c in
                                            zip(t["n"], t["total"], t["coverage"].fillna(0))],
                         "": t["mark"]})


def _ci(lows, highs) -> list[str]:
    return [fmt_ci(lo, hi, "not scored") for lo, hi in zip(lows, highs)]


def _pairs_table(cmp: MetricComparison) -> pd.DataFrame:
    p = cmp.pairs()
    return pd.DataFrame({"A": p["model_a"], "B": p["model_b"], "A − B": [fmt_score(v, "no shared queries")
                                                                          for v in p["diff"]],
                         "95% CI": _ci(p["ci_low"], p["ci_high"]),
                         "p (Holm)": [fmt_p(v).removeprefix("p = ") for v in p["p_holm"]],
                         "significant": p["significant"].map({True: "yes", False: "no"}),
                         "queries": p["n"], "detectable diff.": [fmt_score(v, "too few queries") for v in p["mdd"]]})


def _ranked(cmp: MetricComparison) -> list:
    return sorted((s for s in cmp.result.models if s.mean == s.mean), key=lambda s: -s.mean)


def _headline(cmp: MetricComparison, frontier: pd.DataFrame, labels: dict[tuple[str, str], str]) -> str:
    """The one-line verdict: best vs runner-up on quality; then latency and cost of the two."""
    ranked = _ranked(cmp)
    if len(ranked) < 2:
        return cmp.verdicts()[0]
    a, b = ranked[0].model, ranked[1].model
    best = ranked[0]
    text = (f"{a} scores best on {cmp.label}, {cmp._num(best.mean)} [{cmp._num(best.low)}, {cmp._num(best.high)}] "
            f"over {best.n} queries. " + cmp.pair_sentence(a, b).rstrip("."))
    diff = cmp.result.pair(a, b).diff
    order = (b, a) if diff == diff and diff < 0 else (a, b)  # the sentence names the winner first
    rows = {labels.get((r["quality_run"], r["model"])): r for r in frontier.to_dict("records")}
    ra, rb = rows.get(order[0]), rows.get(order[1])
    if ra and rb and not is_missing(ra["p95_ms"]) and not is_missing(rb["p95_ms"]):
        users = f"at {ra['users']:g} users " if not is_missing(ra.get("users")) else ""
        text += f"; {users}p95 latency {fmt_ms(ra['p95_ms'])} ms vs {fmt_ms(rb['p95_ms'])} ms"
    if ra and rb:
        if ra["cost_per_1k"] == 0 and rb["cost_per_1k"] == 0:
            text += "; both cost nothing per query (local models)"
        else:
            text += (f"; cost per 1,000 queries {fmt_usd(ra['cost_per_1k'], 'unknown')} vs "
                     f"{fmt_usd(rb['cost_per_1k'], 'unknown')}")
    return text + "."


def _winner(cmp: MetricComparison) -> str:
    """The winner with its interval, and whether the win is clear (not tied with anyone)."""
    res = cmp.result
    if res.best is None:
        return f"No setup has a score on {cmp.label}."
    b = cmp.summary(res.best)
    text = (f"Winner on {cmp.label}: {b.model}, {cmp._num(b.mean)} (95% CI [{cmp._num(b.low)}, "
            f"{cmp._num(b.high)}], {b.n} queries).")
    tied = sorted(res.tied_with_best - {res.best})
    if tied:
        return text + f" Not a clear win: statistically tied with {', '.join(tied)} (Holm-adjusted p ≥ {res.alpha:g})."
    others = [s.model for s in res.models if s.model != res.best and s.n > 0]
    return text + (f" Significantly ahead of {', '.join(others)}." if others else "")


def _compared(group: list[Run], cmp: MetricComparison, load_runs: list[Run]) -> list[str]:
    """What was compared, on what data: setups with model ids, dataset, k / index or generator / judge, load."""
    run = group[0]
    ids = {m: i for r in group for m, i in (r.config.get("model_ids") or {}).items()}
    setups = [f"{m} ({ids[m]})" if ids.get(m) and ids[m] != m else m for m in cmp.scores]
    out = [f"Setups: {', '.join(setups)}."]
    h = run.dataset_hash
    out.append(f"Data: dataset “{run.dataset or 'unnamed'}”, {cmp.n_queries} queries"
               + (f" (content hash {h[:12]})" if h else "") + ".")
    c = run.config
    if run.kind == "retrieval":
        index = " / ".join(str(c[x]) for x in ("index_type", "metric") if c.get(x))
        out.append(f"Retrieval: top k = {c.get('k')}" + (f", {index} index" if index else "") +
                   f"; main metric {cmp.label}.")
    else:
        out.append(f"RAG: generator {_describe_llm(c.get('generator')) or missing('not recorded')}, "
                   f"judge {_describe_llm(c.get('judge')) or 'none'}; main metric {cmp.label}.")
    if load_runs:
        out += [f"Latency: load run {r.id}, {r.config.get('users', '?')} users on the "
                f"{r.config.get('endpoint', 'search')} endpoint." for r in load_runs]
    else:
        out.append(f"Latency: {missing(NO_LOAD)} (add a load run id to put latency on the chart).")
    return out


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
             ("k", c.get("k")), ("index", " / ".join(c[x] if isinstance(c[x], str) else json.dumps(c[x]) for x in
                                 ("index_type", "metric", "index_params") if c.get(x))),
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
                     dataset=None) -> tuple[dict, list[MetricComparison]]:
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
        sec["tables"].append(("All metrics (means)", _table(all_means, reasons={c: "not scored"
                                                                               for c in all_means.columns})))
    if cmps:
        sec["figures"].append(means_chart(cmps))
        sec["examples"], notes = example_tables(store, group, cmps[0], examples, dataset)
        sec["notes"] += notes
        sec["legend"] = kind == "retrieval" and bool(sec["examples"]) and not notes
    return sec, cmps


def _frontier_section(kind: str, frontier: pd.DataFrame, chart: Markup | None, in_summary: bool) -> dict:
    metric = metric_label(frontier["quality_metric"].iloc[0])
    notes = [f"No load run in this report: latency is not on the chart ({missing(NO_LOAD)}). Add a load run id."] \
        if frontier["p95_ms"].isna().all() else []
    pareto = ", ".join(frontier.loc[frontier["pareto"], "setup"])
    return {"title": f"Quality, cost and latency · {'retrieval' if kind == 'retrieval' else 'RAG'}",
            "intro": "Pareto-optimal setups: no other setup is at least as good on every axis and better on one."
                     + (" The chart is in the executive summary." if in_summary and chart else ""),
            "sentences": [], "tables": [("Setups", _table(frontier_display(frontier)))], "examples": [],
            "notes": notes, "figures": [chart] if chart and not in_summary else [],
            "headline": f"Pareto-optimal on {metric}, cost and latency: {pareto or missing('none scored')}."}


def build_report(store: RunStore, run_ids: list[str] | str, metric: str | None = None, examples: int = 3,
                 title: str | None = None, n_resamples: int = N_RESAMPLES, dataset=None) -> str:
    """The report's HTML text for the given runs (ids, ``"A,B"`` or ``latest``)."""
    ids = store.resolve_ids(run_ids)
    runs = [store.get(i) for i in ids]
    load_runs = [r for r in runs if r.kind == "load"]
    headline, sections, frontiers, summary = [], [], [], {}
    for group in _group(runs):
        sec, cmps = _quality_section(store, group, metric, examples, n_resamples, dataset)
        sections.append(sec)
        if cmps:
            frontier = frontier_table(store, [r.id for r in group] + [r.id for r in load_runs], cmps[0].metric)
            headline.append(_headline(cmps[0], frontier, model_labels(group)))
            chart = frontier_chart(frontier) if not frontier.empty else None
            if not summary:  # the first quality comparison is the report's headline
                summary = {"verdict": headline[-1], "winner": _winner(cmps[0]), "compared": _compared(
                    group, cmps[0], load_runs), "chart": chart or sec["figures"][0]}
            frontiers.append((group[0].kind, frontier, chart, summary.get("chart") is chart))
    for run in load_runs:
        sents = load_sentences(run)
        headline += sents[:1]
        sections.append({"title": f"Load test · {run.id}", "sentences": sents, "tables": load_tables(run),
                         "figures": load_charts(run, store), "examples": [], "notes": [],
                         "intro": ", ".join(f"{k} {v}" for k, v in run.config.items()
                                            if k in ("endpoint", "users", "spawn_rate", "duration_s", "k"))})
    for kind, frontier, chart, in_summary in frontiers:
        if frontier.empty:
            continue
        sec = _frontier_section(kind, frontier, chart, in_summary)
        headline.append(sec.pop("headline"))
        sections.append(sec)
    if not headline:
        headline = ["These runs have no per-query scores or load results to compare."]
    headline += [f"Run {r.id} ({r.kind}) is {r.status}" + (f": {r.error}" if r.error else "") +
                 "; its numbers cover only what finished." for r in runs if r.status != "done"]
    if not summary:  # load runs only, or nothing comparable
        summary = {"verdict": headline[0], "chart": (sections[0]["figures"] or [None])[0] if sections else None,
                   "compared": [f"Load run {r.id}: {r.config.get('users', '?')} users on the "
                                f"{r.config.get('endpoint', 'search')} endpoint, dataset “{r.dataset}”."
                                for r in load_runs]}
    summary["more"] = [h for h in headline if h != summary.get("verdict")]
    return _TEMPLATE.render(title=title or "RAG evaluation report", generated=time.strftime("%Y-%m-%d %H:%M"),
                            runs=ids, summary=summary, sections=sections, manifest=[_manifest(r) for r in runs],
                            resamples=f"{n_resamples:,}", best=BEST, alpha=ALPHA, tints=TINTS, rel=RELEVANT,
                            nonrel=NOT_RELEVANT, nomatch=NO_MATCH, legend=LEGEND)


def write_report(store: RunStore, run_ids: list[str] | str, output: str | Path, **kw) -> Path:
    """``build_report`` into a file (parent folders created); returns the path."""
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_report(store, run_ids, **kw), encoding="utf-8")
    return path


def report_numbers(cmp: MetricComparison) -> dict[str, float]:
    """The means a verdict quotes, rounded as printed (tests compare them with the store)."""
    return {s.model: round(s.mean, cmp.digits) for s in cmp.result.models if not math.isnan(s.mean)}
