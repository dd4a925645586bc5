"""Quality, cost and latency of each setup side by side, with the Pareto-optimal ones marked.

Why: "which model is best" has no answer until cost and speed are on the table. A setup (an
embedding model, or a retriever + generator pair in a RAG run) is on the *Pareto frontier* when
no other setup is at least as good on every axis and better on one: higher quality, lower cost
per 1,000 queries, lower p95 latency. Everything off the frontier is a setup you should not pick.

Where the numbers come from (all from stored runs, so the chart is reproducible):
* quality: a retrieval run's mean (nDCG@k by default) or a RAG run's Ragas mean;
* cost per 1,000 queries: query embedding = tokens per query (the dataset's queries at ~4
  characters per token, or 16 if the dataset cannot be read) x the registry price per 1M tokens,
  plus, for RAG runs, the generator's recorded token usage per question x the run's own price
  table (the judge's tokens are evaluation cost and left out). Local models (``st:`` folders,
  MiniLM, BM25), self-hosted endpoints (``oai:``) and the extractive baseline cost 0 because
  hardware is not priced, and ``cost_basis`` says so; a model that does not resolve has an
  unknown cost (NaN, ``cost_basis`` "unknown: <reason>"), never a silent $0;
* p95 latency: the load run(s) given, ``results[model]["p95_ms"]``.
An axis no setup has (e.g. no load run) is left out of the Pareto test; a setup missing a value
on an axis others have counts as worst on it.

Usage:
    frame = frontier_table(store, ["RETRIEVAL_RUN", "LOAD_RUN"])
    frame[["setup", "quality", "cost_per_1k", "p95_ms", "pareto"]]
    frontier_figure(frame).show()
"""

from __future__ import annotations

import html
import json
import math
from functools import lru_cache

import pandas as pd

from evaluators.formatting import display_frame, fmt_ms, fmt_score, fmt_usd
from evaluators.report.sections import load_model_name, load_results
from evaluators.stats.comparison import default_metric, find_metric, metric_value, per_query_scores, run_metrics
from evaluators.stats.labels import metric_label
from evaluators.stats.pareto import pareto_flags
from evaluators.stats.run_kinds import kind_of
from rag.i18n import N_, _
from rag.runs import Run, RunStore

CHARS_PER_TOKEN = 4.0
DEFAULT_QUERY_TOKENS = 16.0
COLUMNS = ["setup", "model", "kind", "quality", "quality_metric", "coverage", "scored", "cost_per_1k", "cost_basis",
           "p95_ms", "users", "latency_endpoint", "quality_run", "latency_run", "pareto"]


@lru_cache(maxsize=16)
def _dataset_query_tokens(source: str, content_hash: str | None) -> tuple[float | None, str]:
    """(tokens per query, "dataset") or (None, why the dataset's queries cannot be used)."""
    try:
        from rag.data.loaders import load_dataset

        ds = load_dataset(source)
    except Exception as e:  # moved, deleted, unreadable: say so in the cost basis
        return None, _("default: dataset {source} unreadable ({why})").format(source=source, why=str(e)[:120])
    if content_hash and ds.content_hash() != content_hash:
        return None, _("default: dataset {source} changed since the run").format(source=source)  # do not guess
    qs = ds.judged_queries or ds.queries
    return (sum(len(q.text) for q in qs) / len(qs) / CHARS_PER_TOKEN, N_("dataset")) if qs else \
        (None, _("default: dataset {source} has no queries").format(source=source))


def query_tokens(run: Run) -> tuple[float, str]:
    """Tokens per query for embedding cost: the run's own count, the dataset's, or a default (and why)."""
    if isinstance(run.config.get("query_tokens"), (int, float)):
        return float(run.config["query_tokens"]), N_("recorded")
    src = run.config.get("dataset_source")
    est, how = _dataset_query_tokens(src, run.dataset_hash) if src else (None, _("default: no dataset source recorded"))
    return (est, how) if est else (DEFAULT_QUERY_TOKENS, how)


def embedding_price(model: str) -> tuple[float | None, str]:
    """(USD per 1M tokens, where that comes from) for a stored model key; (None, "unknown: why")
    when the key does not resolve (a run recorded under a name this version does not know)."""
    from rag.models.base import ModelUnavailable
    from rag.models.registry import resolve

    try:
        spec = resolve(model)
    except ModelUnavailable as e:
        return None, f"unknown: {e}"
    return float(spec.price_per_mtok), spec.cost_basis


def retrieval_cost(store: RunStore | None, run: Run, model: str) -> tuple[float, str]:
    """Query embedding cost per 1k queries (``RunKind.cost`` of retrieval)."""
    price, basis = embedding_price(model)
    if price is None:
        return math.nan, basis
    if price == 0:
        return 0.0, basis
    toks, how = query_tokens(run)
    return toks * price * 1000 / 1e6, _("~{tokens} tokens/query ({how}) × {basis}").format(
        tokens=f"{toks:.0f}", how=_(how), basis=_(basis))


def _llm_model(spec: str | None) -> str | None:
    """``openai:gpt-4o-mini@URL`` → ``gpt-4o-mini`` (the name token usage is keyed by)."""
    if not spec or ":" not in spec:
        return None
    return spec.partition(":")[2].split("@", 1)[0] or None


def rag_cost(store: RunStore, run: Run, model: str) -> tuple[float, str]:
    """``RunKind.cost`` of RAG: query embedding (as retrieval) + the generator's tokens per question ×
    the run's price table.
    Rows keep usage per LLM model; the judge's tokens are evaluation cost, not serving cost, so they
    are left out, unless generator and judge are the same model (then they cannot be told apart)."""
    emb, basis = retrieval_cost(store, run, model)
    basis = _(basis)  # a model's cost note (a catalog key) or the priced sentence, in the reader's words
    gen = run.config.get("generator")
    if not isinstance(gen, dict) or gen.get("baseline", True):
        return emb, basis + _("; extractive baseline (no LLM)")
    gen_model = _llm_model(gen.get("spec"))
    judge_model = (run.config.get("judge") or {}).get("model")
    rows = store.rows(run.id, model=model)
    if not rows or not gen_model:
        return emb, basis + _("; generator usage not recorded")
    from evaluators.rag.cost import PriceTable

    table = run.summary.get("prices") or (run.config.get("rag") or {}).get("prices") or {}
    prices = PriceTable.from_json(json.dumps(table))
    if prices.price(gen_model) is None:
        return emb, basis + _("; {model} unpriced").format(model=gen_model)
    same = gen_model == judge_model
    usd = sum(prices.cost(m, u.get("prompt_tokens", 0), u.get("completion_tokens", 0))
              for r in rows for m, u in (r.get("usage") or {}).items() if m == gen_model or same)
    note = _(" (includes the judge's tokens: same model)") if same else ""
    return emb + usd / len(rows) * 1000, basis + _("; {model} tokens × run prices{note}").format(model=gen_model,
                                                                                                 note=note)


def _latency(load_runs: list[Run], model: str, endpoint: str) -> tuple[float, object, str | None, str | None]:
    """p95 for a setup from the first load run that measured it, preferring load runs of the matching
    endpoint (``search`` for retrieval, ``rag`` for RAG). Locust names like ``search[minilm]`` match."""
    ordered = sorted(load_runs, key=lambda r: r.config.get("endpoint", endpoint) != endpoint)
    for run in ordered:
        for key, v in load_results(run).items():
            if model in (key, load_model_name(key)) and isinstance(v.get("p95_ms"), (int, float)):
                return float(v["p95_ms"]), v.get("users", run.config.get("users")), run.config.get("endpoint"), run.id
    return math.nan, None, None, None


def frontier_table(store: RunStore, run_ids: list[str] | str, metric: str | None = None) -> pd.DataFrame:
    """One row per setup in the quality runs (retrieval / RAG) of ``run_ids``, latency from its load runs."""
    runs = [store.get(r) for r in store.resolve_ids(run_ids)]
    quality = [r for r in runs if kind_of(r).quality]
    load_runs = [r for r in runs if kind_of(r).latency]
    rows = []
    for run in quality:
        entry = kind_of(run)
        names = run_metrics(store, run)
        m = (find_metric(names, metric) if metric else None) or default_metric(store, run)
        if m is None:
            continue
        # the mean the statistics show (misses scored 0, evaluation failures left out), with its coverage
        per_query = per_query_scores(store, run.id, m)
        asked = len(set().union(*[set(v) for v in per_query.values()])) if per_query else 0
        for model in run.config.get("models") or list(run.typed_summary().per_model()):
            vals = [v for v in (per_query.get(model) or {}).values() if not math.isnan(v)]
            q = (sum(vals) / len(vals) if vals else None) if model in per_query else metric_value(run, m, model)
            coverage = f"{len(vals)}/{asked}" if model in per_query else ""
            scored = len(vals) if model in per_query else math.nan
            cost, basis = entry.cost(store, run, model)
            setup = entry.setup(run, model)
            p95, users, endpoint, lat_run = _latency(load_runs, model, entry.endpoint)
            if len(quality) > 1:
                setup += f" [{run.id}]"
            rows.append({"setup": setup, "model": model, "kind": run.kind,
                         "quality": math.nan if q is None else q, "quality_metric": m, "coverage": coverage,
                         "scored": scored,
                         "cost_per_1k": cost, "cost_basis": basis, "p95_ms": p95, "users": users,
                         "latency_endpoint": endpoint, "quality_run": run.id, "latency_run": lat_run})
    frame = pd.DataFrame(rows, columns=COLUMNS[:-1])
    frame["pareto"] = False
    frame["low_coverage"] = False
    for _metric, part in frame.groupby("quality_metric", sort=False):  # nDCG and a Ragas score are not one axis
        # coverage before ranking: a setup scored on fewer questions than the others is not on the frontier
        low = part["scored"] < part["scored"].max()
        frame.loc[part.index, "low_coverage"] = low
        full = part[~low]
        frame.loc[full.index, "pareto"] = pareto_flags(full)
    return frame.astype({"pareto": bool, "low_coverage": bool})




def frontier_figure(frame: pd.DataFrame, metric: str | None = None, title: str | None = None):
    """Quality (y) against p95 latency (x; cost per 1k if no latency), one quality metric (``metric`` or the
    first): one legend entry per setup (its colour; Pareto-optimal setups as stars, joined by a dotted line),
    cost and coverage in each point's hover. Names sit in the legend, never beside the points: labels beside
    close points overlapped each other and the axis ticks (issue 22), and Plotly does not move them apart. A
    chart of one run's setups leaves the run id out of the names. Labels are HTML-escaped (Plotly renders a
    subset of HTML)."""
    import plotly.graph_objects as go

    from evaluators.report.charts import PALETTE

    metric = metric or (frame["quality_metric"].iloc[0] if len(frame) else None)
    data = frame[frame["quality"].notna() & (frame["quality_metric"] == metric)].copy()
    use_latency = data["p95_ms"].notna().any()
    xcol, xtitle = ("p95_ms", _("p95 latency (ms, load test)")) if use_latency else \
        ("cost_per_1k", _("cost per 1,000 queries (USD)"))
    metric = metric_label(metric) if metric else _("quality")
    full = data["scored"].max() if len(data) else 0
    one_run = data["quality_run"].nunique() == 1
    data["label"] = [html.escape((s.removesuffix(f" [{run}]") if one_run else str(s))
                                 + (_(" ({coverage} scored)").format(coverage=c) if n < full else ""))
                     for s, c, n, run in zip(data["setup"], data["coverage"], data["scored"], data["quality_run"])]
    hover = ("%{customdata[0]}<br>" + metric + " %{y:.3f}<br>" + _("cost/1k queries") + " $%{customdata[1]:.4f}"
             "<br>p95 %{customdata[2]:.0f} ms<extra></extra>")
    fig = go.Figure()
    for i, r in enumerate(data.to_dict("records")):
        on = bool(r["pareto"])
        fig.add_trace(go.Scatter(
            x=[r[xcol]], y=[r["quality"]], mode="markers", name=r["label"] + (" ★" if on else ""),
            legendgroup="Pareto-optimal" if on else "dominated",
            marker={"symbol": "star" if on else "circle", "size": 18 if on else 11, "color": PALETTE[i % len(PALETTE)],
                    "line": {"width": 1, "color": "#222"}},
            customdata=[[r["label"], r["cost_per_1k"], r["p95_ms"]]], hovertemplate=hover))
    front = data[data["pareto"] & data[xcol].notna()].sort_values(xcol)
    if len(front) > 1:
        fig.add_trace(go.Scatter(x=front[xcol], y=front["quality"], mode="lines", name=_("frontier"),
                                 line={"dash": "dot", "color": "#d62728"}, hoverinfo="skip"))
    default = (_("{metric} vs latency") if use_latency else _("{metric} vs cost")).format(metric=metric)
    fig.update_layout(title=html.escape(title or default),
                      xaxis_title=xtitle, yaxis_title=metric, height=420, margin={"t": 50, "l": 60, "r": 20, "b": 50},
                      legend={"orientation": "h", "y": -0.2})
    return fig


NO_LOAD = N_("no load run yet")
RUN_KIND_NAMES = (N_("retrieval"), N_("rag"))  # the kinds a frontier row can be, as catalog keys


def frontier_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The frontier as people read it: formatted numbers, ★ for Pareto-optimal, and every empty
    cell saying why ("— no load run yet", "— unknown cost") instead of None / NaN. Each quality metric
    has its own column, so a retrieval run's nDCG never sits under a RAG metric's name (a setup's cell
    under another kind's metric says so); the run and the coverage sit beside every value."""
    show = frame[["setup", "kind", "quality_run", "cost_per_1k", "p95_ms", "users", "latency_endpoint", "pareto",
                  "cost_basis"]].copy()
    metrics = list(dict.fromkeys(frame["quality_metric"]))
    for pos, m in enumerate(metrics):
        mine = frame["quality_metric"] == m
        cells = [f"{fmt_score(q, _('not scored'))} ({cov})" if cov else fmt_score(q, _("not scored"))
                 for q, cov in zip(frame["quality"], frame["coverage"])]
        show.insert(3 + pos, metric_label(m), [c if own else _("— {kind} run: not {metric}").format(
            kind=_(kind), metric=metric_label(m)) for c, own, kind in zip(cells, mine, frame["kind"])])
    show["pareto"] = [_("not ranked: lower coverage") if low else _("★ yes") if on else ""
                      for on, low in zip(frame["pareto"], frame["low_coverage"])]
    show["kind"] = [_(k) for k in show["kind"]]  # a run kind's name (RUN_KIND_NAMES), in the reader's words
    show["cost_basis"] = [_(b) if isinstance(b, str) else b for b in show["cost_basis"]]  # a model's cost note
    show = display_frame(show, {"cost_per_1k": N_("unknown cost"), "p95_ms": NO_LOAD, "users": NO_LOAD,
                                "latency_endpoint": NO_LOAD})
    return show.rename(columns={"setup": _("setup"), "kind": _("kind"), "quality_run": _("run"),
                                "cost_per_1k": _("USD per 1k queries"), "p95_ms": _("p95 ms"), "users": _("users"),
                                "latency_endpoint": _("load endpoint"), "pareto": _("Pareto-optimal"),
                                "cost_basis": _("cost basis")})


def frontier_chart(frame: pd.DataFrame, metric: str | None = None, title: str | None = None):
    """The frontier as a static SVG scatter for the report: quality (y) against p95 latency (x; cost
    per 1k queries when no setup has a latency), Pareto-optimal setups as stars on a dotted line."""
    from evaluators.report.charts import scatter_chart

    metric = metric or (frame["quality_metric"].iloc[0] if len(frame) else None)
    data = frame[frame["quality"].notna() & (frame["quality_metric"] == metric)]
    use_latency = data["p95_ms"].notna().any()
    xcol, xtitle = ("p95_ms", _("p95 latency (ms, load test)")) if use_latency else \
        ("cost_per_1k", _("cost per 1,000 queries (USD)"))
    label = metric_label(metric) if metric else _("quality")
    full = data["scored"].max() if len(data) else 0
    points = [{"label": r["setup"] + (_(" ({coverage} scored)").format(coverage=r["coverage"])
                                      if r["scored"] < full else ""),
               "x": r[xcol], "y": r["quality"], "highlight": bool(r["pareto"]),
               "tip": _("{setup}: {metric} {quality} ({coverage} scored) · p95 {p95} ms · {cost} per 1k queries")
               .format(
                   setup=r["setup"], metric=label, quality=fmt_score(r["quality"]), coverage=r["coverage"] or "n/a",
                   p95=fmt_ms(r["p95_ms"], _(NO_LOAD)), cost=fmt_usd(r["cost_per_1k"], _("unknown cost")))}
              for r in data.to_dict("records")]
    if not use_latency and not any(p["x"] == p["x"] for p in points):
        return None
    return scatter_chart(points, title or (_("{metric} vs latency") if use_latency else _("{metric} vs cost")).format(
        metric=label), xtitle, label,
                         x_format="{:,.0f}" if use_latency else "${:.4f}")
