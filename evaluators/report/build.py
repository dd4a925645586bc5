"""The stakeholder report: one self-contained HTML file from one or more stored runs.

Why one file: it is mailed, attached to tickets and opened on laptops without the app, so
everything is inline: charts are static SVG drawn by ``evaluators.report.charts`` (no JavaScript
library, no CDN, no fonts, no images to fetch), so it opens offline, weighs kilobytes (inlining
Plotly made a one-run report 4.8 MB) and prints to PDF on clean pages (``@media print``).
Why every number comes from ``evaluators.stats.run_stats``: the verdict sentences, the tables, the
pages and the CI gate must agree, so they all read the run's one stored set of statistics (tests
check they do, exactly). Every cell goes through ``evaluators.formatting``: no None / nan, empty
cells say why.

The page is the Jinja2 template ``evaluators/report/templates/report.html.j2``; which section a run gets
is its kind's ``RunKind.section`` (``evaluators.stats.run_kinds``).

Safety: every piece of user text (dataset titles, questions, answers, model names, prompts) is
escaped: Jinja2 autoescape for the page, ``html_table`` for tables, ``svg_charts`` for chart
labels. Runs are read through the store, which never holds a secret.

Sections: executive summary (verdict sentence, winner with its interval, the quality–latency–cost
chart, what was compared on what data) · retrieval (means with 95% CIs, best/tied marks, pairwise
tests, sample-size hint, article-style rank tables with green / red relevance tints; an image run's
tables show each image's thumbnail, and an image query its picture, inline as ``data:`` URIs, file
names escaped; a folder gone since the run leaves ids only, with a note) · RAG quality
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
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from evaluators.formatting import (
    NO_MATCH,
    NOT_RELEVANT,
    RELEVANT,
    fmt_ci,
    fmt_ms,
    fmt_score,
    fmt_usd,
    is_missing,
    missing,
)
from evaluators.report.encoded import encoded_tables
from evaluators.report.frontier import NO_LOAD, frontier_chart, frontier_display, frontier_table
from evaluators.report.sections import example_tables, html_table, judge_parts, means_chart
from evaluators.report.your_data import your_data
from evaluators.retrieval.evaluate import LEGEND, TINTS
from evaluators.stats.comparison import BEST, MetricComparison, default_metric, find_metric, model_labels, run_metrics
from evaluators.stats.labels import fmt_p, glossed, metric_label
from evaluators.stats.run_kinds import describe_llm, kind_of
from evaluators.stats.run_stats import ALPHA, N_RESAMPLES, run_stats
from rag.data.language import LanguageProfile
from rag.i18n import N_, _, babel_locale, language, ngettext, tidy
from rag.runs import Run, RunStore, scrub

# The page itself is ``templates/report.html.j2``; autoescape is what keeps user text inert there.
# Its fixed text is in the message catalog (``rag.i18n``): ``{% trans %}`` blocks and ``_()``, extracted by Babel.
_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                   trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
_ENV.policies["ext.i18n.trimmed"] = True  # the catalog's keys are one line whatever the template's wrapping
_ENV.install_gettext_callables(gettext=_, ngettext=ngettext, newstyle=True)


def _table(frame: pd.DataFrame, floats: int = 3, **kw) -> Markup:
    """An escaped HTML table of display text (``report_sections.html_table``)."""
    return html_table(frame, floats=floats, **kw)


def _ci_table(cmp: MetricComparison) -> pd.DataFrame:
    t = cmp.table()
    return pd.DataFrame({N_("model"): t["model"], cmp.label: [fmt_score(v, _("not scored")) for v in t["mean"]],
                         N_("95% CI"): _ci(t["ci_low"], t["ci_high"]),
                         N_("queries scored"): [f"{n}/{tot} ({c:.0%})" if tot else "0" for n, tot, c in
                                                zip(t["n"], t["total"], t["coverage"].fillna(0))],
                         N_("coverage"): t["scored"], "": [_(m) if m else m for m in t["mark"]]})


def _ci(lows, highs) -> list[str]:
    return [_(UNBOUNDED) if lo == -math.inf or hi == math.inf else fmt_ci(lo, hi, _("not scored"))
            for lo, hi in zip(lows, highs)]


UNBOUNDED = N_("unbounded: too few questions")
STATUSES = (N_("done"), N_("running"), N_("failed"), N_("interrupted"))  # a run's status, read in the reader's words


def _pairs_table(cmp: MetricComparison) -> pd.DataFrame:
    p = cmp.pairs()
    return pd.DataFrame({"A": p["model_a"], "B": p["model_b"], "A − B": [fmt_score(v, _("no shared queries"))
                                                                          for v in p["diff"]],
                         N_("CI (inverts the test)"): _ci(p["ci_low"], p["ci_high"]),
                         N_("CI level"): [f"{v:.1%}" for v in p["ci_level"]],
                         N_("p (Holm)"): [fmt_p(v).removeprefix("p = ") for v in p["p_holm"]],
                         N_("significant"): p["significant"].map({True: _("yes"), False: _("no")}),
                         N_("queries"): p["n"],
                         N_("detectable diff."): [fmt_score(v, _("too few queries")) for v in p["mdd"]]})


def _runner_up(cmp: MetricComparison) -> str | None:
    """The ranked model closest to the best by mean (models of lower coverage are not ranked)."""
    res = cmp.result
    others = [s for s in cmp.result.models if s.n > 0 and s.model != res.best and s.model not in res.low_coverage]
    return max(others, key=lambda s: s.mean).model if others else None


def _coverage_lines(cmp: MetricComparison) -> str:
    """" bm25: 6 of 30 questions scored; 24 failed, left out: …." for every model short of full coverage."""
    lines = [cmp.coverage(s.model) for s in cmp.result.models
             if s.n > 0 and (s.n < (s.total or cmp.n_queries) or cmp.misses.get(s.model))]
    return "".join(" " + _("{line}.").format(line=line) for line in lines)


def _headline(cmp: MetricComparison, frontier: pd.DataFrame, labels: dict[tuple[str, str], str]) -> str:
    """The one-line verdict: the best (by coverage, then mean) vs the runner-up; coverage of every model
    short of full; then latency and cost of the two. No signal: says so, and names no one."""
    res = cmp.result
    if res.best is None:
        return tidy(cmp.verdicts()[0] + _coverage_lines(cmp))
    a, b = res.best, _runner_up(cmp)
    best = cmp.summary(a)
    text = _("{model} scores best on {metric}, {mean} [{low}, {high}] over {n} of {total} questions.").format(
        model=a, metric=glossed(cmp.label), mean=cmp._num(best.mean), low=cmp._num(best.low), high=cmp._num(best.high),
        n=best.n, total=best.total or cmp.n_queries)
    if b is None:
        return tidy(text + _coverage_lines(cmp))
    text += " " + cmp.pair_sentence(a, b).rstrip(".。")
    diff = cmp.result.pair(a, b).diff
    order = (b, a) if diff == diff and diff < 0 else (a, b)  # the sentence names the winner first
    rows = {labels.get((r["quality_run"], r["model"])): r for r in frontier.to_dict("records")}
    ra, rb = rows.get(order[0]), rows.get(order[1])
    if ra and rb and not is_missing(ra["p95_ms"]) and not is_missing(rb["p95_ms"]):
        at = {"a": fmt_ms(ra["p95_ms"]), "b": fmt_ms(rb["p95_ms"])}
        text += (_("; at {users} users p95 latency {a} ms vs {b} ms").format(users=f"{ra['users']:g}", **at)
                 if not is_missing(ra.get("users")) else _("; p95 latency {a} ms vs {b} ms").format(**at))
    if ra and rb:
        if ra["cost_per_1k"] == 0 and rb["cost_per_1k"] == 0:
            text += _("; both cost nothing per query (local models)")
        else:
            text += _("; cost per 1,000 queries {a} vs {b}").format(a=fmt_usd(ra["cost_per_1k"], _("unknown")),
                                                                     b=fmt_usd(rb["cost_per_1k"], _("unknown")))
    return tidy(text + _(".") + _coverage_lines(cmp))


def _winner(cmp: MetricComparison) -> str:
    """The winner with its interval and coverage, and whether the win is clear (not tied with anyone)."""
    res = cmp.result
    if res.best is None:
        return tidy((_("No winner on {metric}: no signal ({why}).") if res.no_signal
                else _("No winner on {metric}: no setup has a score on it.")).format(metric=glossed(cmp.label),
                                                                                    why=res.no_signal))
    b = cmp.summary(res.best)
    text = _("Winner on {metric}: {model}, {mean} (95% CI [{low}, {high}], {n} of {total} questions).").format(
        metric=glossed(cmp.label), model=b.model, mean=cmp._num(b.mean), low=cmp._num(b.low),
        high=cmp._num(b.high), n=b.n, total=b.total or cmp.n_queries)
    tied = sorted(res.tied_with_best - {res.best})
    too_few = [m for m in tied if cmp.pair_sentence(res.best, m).startswith("Too few")]
    tied = [m for m in tied if m not in too_few]
    if too_few:
        text += " " + _("Not a clear win: too few questions to tell it from {models}.").format(
            models=", ".join(too_few))
    if tied:
        text += " " + _("Not a clear win: statistically tied with {models} (Holm-adjusted p ≥ {alpha}).").format(
            models=", ".join(tied), alpha=f"{res.alpha:g}")
    if res.low_coverage:
        text += " " + _("Not ranked (lower coverage): {models}.").format(models=", ".join(sorted(res.low_coverage)))
    if tied or too_few:
        return tidy(text)
    others = [s.model for s in res.models if s.model != res.best and s.n > 0 and s.model not in res.low_coverage]
    return tidy(text + (" " + _("Significantly ahead of {models}.").format(models=", ".join(others)) if others else ""))


def _compared(group: list[Run], cmp: MetricComparison, load_runs: list[Run]) -> list[str]:
    """What was compared, on what data: setups with model ids, dataset, k / index or generator / judge, load."""
    run = group[0]
    ids = {m: i for r in group for m, i in (r.config.get("model_ids") or {}).items()}
    setups = [f"{m} ({ids[m]})" if ids.get(m) and ids[m] != m else m for m in cmp.scores]
    out = [_("Setups: {setups}.").format(setups=", ".join(setups))]
    h = run.dataset_hash
    data = {"dataset": run.dataset or _("unnamed"), "n": cmp.n_queries, "hash": (h or "")[:12]}
    out.append((_("Data: dataset “{dataset}”, {n} queries (content hash {hash}).") if h
                else _("Data: dataset “{dataset}”, {n} queries.")).format(**data))
    out.append(kind_of(run).describe(run, cmp.label))
    if load_runs:
        out += [_("Latency: load run {run}, {users} users on the {endpoint} endpoint.").format(
            run=r.id, users=r.config.get("users", "?"), endpoint=r.config.get("endpoint", "search")) for r in load_runs]
    else:
        out.append(_("Latency: {missing} (add a load run id to put latency on the chart).").format(
            missing=missing(_(NO_LOAD))))
    return out


def _group(runs: list[Run]) -> list[list[Run]]:
    """Runs reported together: quality runs that can be compared per query (same kind, dataset and,
    where the kind needs it, k) first, then every other run on its own."""
    groups: dict[tuple, list[Run]] = {}
    for r in sorted(runs, key=lambda r: not kind_of(r).quality):
        entry = kind_of(r)
        key = (r.kind, r.dataset_hash, r.config.get("k") if entry.same_cutoff else None) if entry.quality else (r.id,)
        groups.setdefault(key, []).append(r)
    return list(groups.values())




def _analyzer(run: Run) -> str | None:
    """The BM25 analyzer a run used: a retrieval/RAG run records the choice; a load run what it asked for
    ("auto") and, in its summary, what each collection it served was built with."""
    asked = run.config.get("bm25_analyzer")
    if isinstance(asked, dict):
        return asked.get("name")
    served = ((run.summary or {}).get("service") or {}).get("bm25_analyzers")
    if served:
        return ", ".join(f"{m}: {a}" for m, a in served.items()) + (_(" (asked: {asked})").format(asked=asked)
                                                                   if asked else "")
    return asked


def _asr(record: dict | None) -> str | None:
    """The transcription a run on an audio folder's speech was made with (``retrieval --asr``), WER included."""
    if not record:
        return None
    from rag.models.asr import summary

    return summary(record)


def _manifest(run: Run) -> dict:
    c = run.config
    env = c.get("environment") or {}
    models = c.get("models") or []
    ids = c.get("model_ids") or {}
    items = [(_("created"), time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.created))),
             (_("status"), _(run.status)),
             (_("error"), run.error),
             (_("dataset"), run.dataset), (_("dataset content hash"), run.dataset_hash),
             (_("dataset source"), c.get("dataset_source")),
             (_("models"), ", ".join(f"{m} = {ids[m]}" if m in ids else str(m) for m in models)),
             ("k", c.get("k")), (_("index"), " / ".join(c[x] if isinstance(c[x], str) else json.dumps(c[x]) for x in
                                 ("index_type", "metric", "index_params") if c.get(x))),
             (_("language"), LanguageProfile.from_json(c["language"]).summary() if c.get("language") else None),
             (_("BM25 analyzer"), _analyzer(run)),
             (_("speech to text"), _asr(c.get("asr"))),
             (_("generator"), describe_llm(c.get("generator"))), (_("judge"), describe_llm(c.get("judge"))),
             (_("prompt"), c.get("prompt") or (c.get("rag") or {}).get("prompt_template")),
             (_("metrics"), ", ".join(c.get("metrics_active") or [])),
             (_("users"), c.get("users")), ("Python", env.get("python")),
             (_("packages"), ", ".join(f"{p} {v}" for p, v in (env.get("packages") or {}).items() if v))]
    frame = pd.DataFrame([(k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                          for k, v in items if v not in (None, "", [], {})], columns=[N_("field"), N_("value")])
    return {"id": run.id, "kind": _(kind_of(run).label), "table": _table(frame),
            "config": json.dumps(scrub(c), indent=2, ensure_ascii=False, default=str)}


def quality_section(store: RunStore, group: list[Run], metric: str | None = None, examples: int = 3,
                    n_resamples: int = N_RESAMPLES, dataset=None) -> tuple[dict, list[MetricComparison]]:
    """The section of one group of quality runs (``RunKind.section`` of retrieval and RAG)."""
    entry = kind_of(group[0])
    ids = [r.id for r in group]
    names = list(dict.fromkeys(n for r in group for n in run_metrics(store, r)))
    stats = run_stats(store, ids, n_resamples)  # the same object the pages and the gate read
    main = (find_metric(names, metric) if metric else None) or stats.main_metric(default_metric(store, group[0]))
    metrics = [main] + [n for n in names if n != main] if entry.report_all_metrics else [main]
    cmps = [stats.get(m) for m in metrics if m]
    sec = {"title": _(entry.section_title) + " · " + (group[0].dataset or _("dataset")), "sentences": [], "tables": [],
           "figures": [], "examples": [], "notes": [], "intro": _("{setups} setups, {queries} queries").format(
               setups=len(cmps[0].scores), queries=cmps[0].n_queries)
           + (_(", k = {k}").format(k=group[0].config.get("k")) if entry.same_cutoff else "") if cmps else ""}
    for cmp in cmps:
        sec["sentences"] += cmp.verdicts()
        sec["tables"].append((_("{metric}: mean and 95% CI").format(metric=cmp.label), _table(_ci_table(cmp))))
        if len(cmp.scores) > 1:
            sec["tables"].append((_("{metric}: paired differences").format(metric=cmp.label),
                                  _table(_pairs_table(cmp))))
    judge_sentences, judge_tables = judge_parts(store, group)   # what the judged metrics above are worth
    sec["sentences"] += judge_sentences
    sec["tables"] += judge_tables
    if entry.means_table and cmps:
        all_means = stats.frame().assign(metric=lambda f: f["metric"].map(metric_label)).pivot(
            index="model", columns="metric", values="mean").reindex(stats.models)
        all_means = all_means[[metric_label(m) for m in stats.metrics]].rename_axis(None, axis=1).reset_index()
        sec["tables"].append((_("All metrics (means)"), _table(all_means, reasons={c: _("not scored")
                                                                               for c in all_means.columns})))
    if cmps:
        sec["figures"].append(means_chart(cmps))
        sec["examples"], notes = example_tables(store, group, cmps[0], examples, dataset)
        sec["notes"] += notes
        sec["legend"] = entry.relevance_legend and bool(sec["examples"]) and not notes
    return sec, cmps


def _frontier_section(kind: str, frontier: pd.DataFrame, chart: Markup | None, in_summary: bool) -> dict:
    metric = metric_label(frontier["quality_metric"].iloc[0])
    notes = [_("No load run in this report: latency is not on the chart ({missing}). Add a load run id.").format(
        missing=missing(_(NO_LOAD)))] \
        if frontier["p95_ms"].isna().all() else []
    pareto = ", ".join(frontier.loc[frontier["pareto"], "setup"])
    return {"title": _("Quality, cost and latency") + f" · {_(kind_of(kind).label)}",
            "intro": _("Pareto-optimal setups: no other setup is at least as good on every axis and better on one.")
                     + (" " + _("The chart is in the executive summary.") if in_summary and chart else ""),
            "sentences": [], "tables": [(_("Setups"), _table(frontier_display(frontier)))], "examples": [],
            "notes": notes, "figures": [chart] if chart and not in_summary else [],
            "headline": _("Pareto-optimal on {metric}, cost and latency: {setups}.").format(
                metric=metric, setups=pareto or missing(_("none scored")))}


def _tidy_section(sec: dict) -> None:
    """Our assembled words without the spaces Chinese never takes (``rag.i18n.tidy``); English unchanged."""
    for key in ("title", "intro", "headline"):
        if isinstance(sec.get(key), str):
            sec[key] = tidy(sec[key])
    for key in ("sentences", "notes"):
        sec[key] = [tidy(x) if isinstance(x, str) else x for x in sec.get(key) or []]


def build_report(store: RunStore, run_ids: list[str] | str, metric: str | None = None, examples: int = 3,
                 title: str | None = None, n_resamples: int = N_RESAMPLES, dataset=None,
                 lang: str | None = None) -> str:
    """The report's HTML text for the given runs (ids, ``"A,B"`` or ``latest``), in ``lang`` (``zh``, ``en``;
    default: the current interface language, ``rag.i18n``)."""
    with language(lang):
        return _build(store, run_ids, metric, examples, title, n_resamples, dataset)


def _build(store: RunStore, run_ids, metric, examples, title, n_resamples, dataset) -> str:
    ids = store.resolve_ids(run_ids)
    runs = [store.get(i) for i in ids]
    load_runs = [r for r in runs if kind_of(r).latency]  # latency for the frontier (not a sweep or decision)
    headline, sections, frontiers, summary = [], [], [], {}
    for group in _group(runs):
        sec, cmps = kind_of(group[0]).section(store, group, metric=metric, examples=examples,
                                              n_resamples=n_resamples, dataset=dataset)
        if "headline" in sec:
            headline += [sec.pop("headline")]
        sec["tables"] = sec.get("tables", []) + encoded_tables(group)  # prompts, dims, limits and cuts, any kind
        _tidy_section(sec)
        sections.append(sec)
        if cmps:
            frontier = frontier_table(store, [r.id for r in group] + [r.id for r in load_runs], cmps[0].metric)
            headline.append(_headline(cmps[0], frontier, model_labels(group)))
            chart = frontier_chart(frontier) if not frontier.empty else None
            if not summary:  # the first quality comparison is the report's headline
                summary = {"verdict": headline[-1], "winner": _winner(cmps[0]), "compared": _compared(
                    group, cmps[0], load_runs), "chart": chart or sec["figures"][0]}
            frontiers.append((group[0].kind, frontier, chart, summary.get("chart") is chart))
    for kind, frontier, chart, in_summary in frontiers:
        if frontier.empty:
            continue
        sec = _frontier_section(kind, frontier, chart, in_summary)
        headline.append(sec.pop("headline"))
        sections.append(sec)
    if not headline:
        headline = [_("These runs have no per-query scores or load results to compare.")]
    headline += [(_("Run {run} ({kind}) is {status}: {error}; its numbers cover only what finished.") if r.error else
                  _("Run {run} ({kind}) is {status}; its numbers cover only what finished.")).format(
        run=r.id, kind=_(kind_of(r).label), status=_(r.status), error=r.error) for r in runs if r.status != "done"]
    if not summary:  # load runs only, or nothing comparable
        summary = {"verdict": headline[0], "chart": (sections[0]["figures"] or [None])[0] if sections else None,
                   "compared": [_("Load run {run}: {users} users on the {endpoint} endpoint, dataset “{dataset}”.")
                                .format(run=r.id, users=r.config.get("users", "?"),
                                        endpoint=r.config.get("endpoint", "search"), dataset=r.dataset)
                                for r in load_runs]}
    summary["more"] = [h for h in headline if h != summary.get("verdict")]
    return _ENV.get_template("report.html.j2").render(
        title=title or _("RAG evaluation report"), html_lang=babel_locale().replace("_", "-"),
        generated=time.strftime("%Y-%m-%d %H:%M"), runs=ids, summary=summary,
        your_data=your_data(runs),
        sections=sections, manifest=[_manifest(r) for r in runs], resamples=f"{n_resamples:,}", best=_(BEST),
        alpha=ALPHA,
        tints=TINTS, rel=RELEVANT, nonrel=NOT_RELEVANT, nomatch=_(NO_MATCH), legend=_(LEGEND))


def write_report(store: RunStore, run_ids: list[str] | str, output: str | Path, **kw) -> Path:
    """``build_report`` into a file (parent folders created); returns the path."""
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_report(store, run_ids, **kw), encoding="utf-8")
    return path

