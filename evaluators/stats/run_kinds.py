"""What each run kind means to a reader: one ``RunKind`` entry per kind instead of ``if kind == ...``.

The store knows a kind's *name and models* (``rag.runs.models``); this registry says how the
History list headlines it, whether it is compared per query (quality kinds: retrieval, RAG) or
only by its aggregates (load), its default metric, how the report and the quality–cost–latency
frontier present it. Every reader in ``evaluators`` (history, comparison, run_stats, gate,
report, report_sections, frontier) asks ``kind_of(run)`` rather than testing a kind's name.
Adding a kind = its models in ``rag.runs.models`` + one entry here.

Builders that live in the modules reading this registry are referenced by name (``_ref``) and
imported at first call, so the registry sits below them without an import cycle.

Usage:
    entry = kind_of(run)
    entry.headline(run)               # "nDCG@10 minilm 0.812, bm25 0.845"
    entry.quality                     # per-query scores: compared, gated with CIs, in the report's tables
    entry.default_metric(run, names)  # "ndcg@10"
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from rag.i18n import N_, _
from rag.runs import Run
from rag.runs.models import RUN_MODELS


def _ref(module: str, name: str) -> Callable:
    """``module.name``, imported when first called."""
    def call(*args, **kwargs):
        return getattr(importlib.import_module(module), name)(*args, **kwargs)
    call.__name__ = name
    return call


@dataclass(frozen=True)
class RunKind:
    """How one kind of run is summarised, headlined, compared, defaulted and reported."""

    name: str
    label: str                        # in titles and sentences: "retrieval", "RAG", "load"
    summary_table: str                # the summary key holding per-model aggregates ("metrics", "results")
    quality: bool                     # per-query scores in rows' ``scores``: compared, CI-gated, grouped
    headline: Callable[[Run], str]    # the History list's short "best model: value"
    default_metric: Callable[[Run, list[str]], str | None] = lambda run, names: names[0] if names else None
    same_cutoff: bool = False         # per-query comparable only at one k (the report groups by it)
    section: Callable | None = None   # report section builder: (store, runs, **options) -> (section, comparisons)
    section_title: str = ""           # the report's section title for quality kinds
    report_all_metrics: bool = False  # the report shows every metric (RAG), or only the main one (retrieval)
    means_table: bool = False         # the report adds an all-metrics means table
    relevance_legend: bool = False    # example tables carry ✅/❎ relevance tints
    example: Callable | None = None   # report example table: (group, rows, labels, qid, query, ds, cmp)
    describe: Callable | None = None  # the executive summary's line: (run, metric label) -> str
    setup: Callable[[Run, str], str] = lambda run, model: model         # a frontier setup's name
    cost: Callable | None = None      # frontier cost per 1k queries: (store, run, model) -> (usd, basis)
    endpoint: str = "search"          # the load-test endpoint whose latency fits this kind's setups
    latency: bool = False             # holds measured latency (load): the frontier's and summary's latency source


# ---------------------------------------------------------------- headlines and defaults

def _mean(v) -> float | None:
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _retrieval_headline(run: Run) -> str:
    k = run.config.get("k")
    vals = {m: _mean(v.get(f"ndcg@{k}")) for m, v in run.typed_summary().per_model().items()}
    vals = {m: v for m, v in vals.items() if v is not None}
    head = f"nDCG@{k} " + ", ".join(f"{m} {v:.3f}" for m, v in vals.items()) if vals else ""
    return head + speech_note(run.config.get("asr")) if head else ""


def speech_note(asr: dict | None) -> str:
    """`` · text by ASR whisper-small, WER 12.5%``: a run on an audio folder's transcripts names its ASR model."""
    if not isinstance(asr, dict):
        return ""
    name = str(asr.get("model", "")).rstrip("/").rsplit("/", 1)[-1]
    wer = asr.get("wer")
    if wer is None:
        return _(" · text by ASR {model}, WER not measured").format(model=name)
    return _(" · text by ASR {model}, WER {wer}").format(model=name, wer=f"{wer:.1%}")


def _rag_headline(run: Run) -> str:
    from evaluators.stats.labels import metric_label

    parts = []
    summary = run.typed_summary()
    name = _rag_default(run, list(dict.fromkeys(k for ms in summary.metrics.values() for k in ms)))
    for m, metrics in summary.metrics.items():
        agg = metrics.get(name) if name else None
        if agg is not None and agg.mean is not None:
            parts.append(f"{m} {metric_label(name)} {agg.mean:.3f} ({agg.n}/{agg.total})")
    return ", ".join(parts)


def _load_headline(run: Run) -> str:
    return ", ".join(f"{m} p95 {v['p95_ms']:.0f} ms" for m, v in run.typed_summary().per_model().items()
                     if _mean(v.get("p95_ms")) is not None)


def _retrieval_default(run: Run, names: list[str]) -> str | None:
    k = run.config.get("k")
    return f"ndcg@{k}" if f"ndcg@{k}" in names else (names[0] if names else None)


def _rag_default(run: Run, names: list[str]) -> str | None:
    """The first metric every model scored on every question it applies to, with some signal (not every
    mean 0); else the first with the best coverage. A metric a model mostly failed is never the headline."""
    metrics = run.typed_summary().metrics if names else {}

    def coverage(name: str) -> float:
        aggs = [ms.get(name) for ms in metrics.values()]
        return min((a.n / a.total if a is not None and a.total else 0.0) for a in aggs) if aggs else 0.0

    def signal(name: str) -> bool:
        return any(ms.get(name) is not None and ms[name].mean for ms in metrics.values())

    full = [n for n in names if coverage(n) == 1.0 and signal(n)]
    if full:
        return full[0]
    return max(names, key=lambda n: (signal(n), coverage(n)), default=None)  # max keeps the first on ties


def _retrieval_describe(run: Run, label: str) -> str:
    c = run.config
    index = " / ".join(str(c[x]) for x in ("index_type", "metric") if c.get(x))
    return (_("Retrieval: top k = {k}, {index} index; main metric {metric}.") if index
            else _("Retrieval: top k = {k}; main metric {metric}.")).format(k=c.get("k"), index=index, metric=label)


def _rag_describe(run: Run, label: str) -> str:
    from evaluators.formatting import missing
    from evaluators.stats.run_kinds import describe_llm

    c = run.config
    return _("RAG: generator {generator}, judge {judge}; main metric {metric}.").format(
        generator=describe_llm(c.get("generator")) or missing(_("not recorded")),
        judge=describe_llm(c.get("judge")) or _("none"), metric=label)


def _rag_setup(run: Run, model: str) -> str:
    gen = run.config.get("generator")
    return f"{model} + {gen.get('spec') if isinstance(gen, dict) else gen or '?'}"


def _sweep_headline(run: Run) -> str:
    summary = run.summary or {}
    rows = summary.get("leaderboard") or []
    if not rows:
        return ""
    tied = sum(1 for r in rows if r.get("tied_with_best")) - 1
    values = {"n": len(rows), "metric": rows[0]["metric"], "setup": rows[0]["setup"], "mean": f"{rows[0]['mean']:.3f}"}
    if tied > 0:
        return _("{n} setups; best {metric} {setup} {mean}, {tied} tied with it").format(**values, tied=tied)
    return _("{n} setups; best {metric} {setup} {mean}").format(**values)


def _decision_headline(run: Run) -> str:
    rec = (run.summary or {}).get("recommended")
    return _("recommended {model}").format(model=rec) if rec else _("no candidate meets the brief")


RUN_KINDS: dict[str, RunKind] = {k.name: k for k in (
    RunKind("retrieval", N_("retrieval"), "metrics", quality=True, headline=_retrieval_headline,
            default_metric=_retrieval_default, same_cutoff=True,
            section=_ref("evaluators.report.build", "quality_section"), section_title=N_("Retrieval"),
            means_table=True,
            relevance_legend=True, example=_ref("evaluators.report.sections", "retrieval_example"),
            describe=_retrieval_describe, cost=_ref("evaluators.report.frontier", "retrieval_cost")),
    RunKind("rag", N_("RAG"), "metrics", quality=True, headline=_rag_headline, default_metric=_rag_default,
            section=_ref("evaluators.report.build", "quality_section"), section_title=N_("RAG quality (Ragas)"),
            report_all_metrics=True, example=_ref("evaluators.report.sections", "rag_example"),
            describe=_rag_describe, setup=_rag_setup, cost=_ref("evaluators.report.frontier", "rag_cost"),
            endpoint="rag"),
    RunKind("load", N_("load"), "results", quality=False, headline=_load_headline, latency=True,
            section=_ref("evaluators.report.sections", "load_section")),
    RunKind("sweep", N_("sweep"), "metrics", quality=False, headline=_sweep_headline,
            section=_ref("evaluators.report.sweep_section", "sweep_section")),
    RunKind("decision", N_("decision"), "verdicts", quality=False, headline=_decision_headline,
            section=_ref("evaluators.report.decision_section", "decision_section")),
)}
if set(RUN_KINDS) != set(RUN_MODELS):  # a kind the store accepts but no reader knows (or back): a code bug
    raise RuntimeError(  # i18n: internal
        f"run kinds differ: store {sorted(RUN_MODELS)}, evaluators {sorted(RUN_KINDS)}")


def kind_of(run: Run | str) -> RunKind:
    """The registry entry of a run (or a kind's name); ValueError names the known kinds."""
    name = run if isinstance(run, str) else run.kind
    if name not in RUN_KINDS:
        raise ValueError(_("unknown run kind '{kind}'; known: {known}").format(kind=name, known=", ".join(RUN_KINDS)))
    return RUN_KINDS[name]


def describe_llm(v) -> str | None:
    """A generator / judge record (``{"spec", "label"}`` or ``{"provider", "model", "base_url"}``) as text."""
    if not isinstance(v, dict):
        return v
    if "provider" in v:
        return f"{v['provider']}:{v.get('model')}" + (f" @ {v['base_url']}" if v.get("base_url") else "")
    return " · ".join(str(x) for x in (v.get("spec"), _(v["label"]) if v.get("label") else None) if x)
