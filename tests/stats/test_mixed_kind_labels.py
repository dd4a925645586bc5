"""Labels that match values (issue 22): every History comparison of runs of mixed kinds, every metric it
offers, every cell of its statistics table and of its quality · cost · latency table is traced back to its
source (run, model, metric, k) and checked against that run's own statistics.

The defect this guards: comparing a retrieval run with a RAG run showed the retrieval run's nDCG values
under the column "Context precision (non-LLM)" (the frontier table named its one quality column after the
first row's metric).
"""

from __future__ import annotations

import itertools

import pytest

from evaluators.formatting import fmt_score
from evaluators.report.frontier import frontier_display, frontier_table
from evaluators.stats.comparison import NOT_SCORED, model_labels
from evaluators.stats.labels import metric_label
from evaluators.stats.run_stats import run_stats
from rag.runs import RunStore
from tests.support.run_fixtures import make_dataset, write_load_run, write_rag_run, write_retrieval_run
from ui.pickers import metric_choices


@pytest.fixture()
def runs(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    ds = make_dataset("mixed", n_queries=8)
    qs = [q.id for q in ds.queries]
    ret = write_retrieval_run(store, ds, {"minilm": {q: 0.2 + 0.03 * i for i, q in enumerate(qs)},
                                          "bm25": {q: 0.15 + 0.02 * (i % 4) for i, q in enumerate(qs)}}, k=5)
    rag = write_rag_run(store, ds, {m: {q: {"nonllm_context_precision": 0.5 + off + 0.01 * (i % 3),
                                            "rouge_l": 0.3 + off / 2 + 0.02 * (i % 2)} for i, q in enumerate(qs)}
                                    for m, off in (("minilm", 0.1), ("bm25", 0.0), ("hybrid", 0.2))})
    load = write_load_run(store, ds, {"minilm": {"p50_ms": 40, "p95_ms": 90, "p99_ms": 120, "rps": 20.0},
                                      "bm25": {"p50_ms": 10, "p95_ms": 30, "p99_ms": 50, "rps": 90.0}})
    return store, ret, rag, load


def _own(store, run_id: str, model: str, metric: str):
    """The value a cell must show: the model's mean in its own run's statistics (None if the run lacks it)."""
    stats = run_stats(store, [run_id], n_resamples=500)
    if metric not in stats.comparisons:
        return None
    s = stats.get(metric).summary(model)
    return s.mean if s.n else None


def test_every_mixed_kind_history_comparison_puts_each_value_under_its_own_label(runs):
    store, ret, rag, load = runs
    kinds = {ret: "retrieval", rag: "rag", load: "load"}
    walked = 0
    for size in (2, 3):
        for ids in itertools.combinations([ret, rag, load], size):
            if len({kinds[i] for i in ids}) < 2:
                continue
            quality = [i for i in ids if kinds[i] != "load"]
            names, _ = metric_choices(store, list(ids))
            labels = model_labels([store.get(i) for i in quality])
            for metric in names:
                walked += 1
                if len(quality) > 0:
                    cmp = run_stats(store, quality, n_resamples=500).get(metric)
                    table = cmp.table().set_index("model")
                    for (run_id, model), label in labels.items():
                        want = _own(store, run_id, model, metric)
                        if want is None:   # another kind's metric: not scored, never a value
                            assert table.loc[label, "mark"] == NOT_SCORED, (ids, metric, label)
                        else:
                            assert table.loc[label, "mean"] == pytest.approx(want), (ids, metric, label)
                frame = frontier_table(store, list(ids), metric)
                shown = frontier_display(frame)
                for i, row in frame.iterrows():
                    own_label = metric_label(row["quality_metric"])
                    assert own_label in shown.columns
                    want = _own(store, row["quality_run"], row["model"], row["quality_metric"])
                    assert shown.loc[i, own_label].startswith(fmt_score(want)), (ids, metric, own_label)
                    assert shown.loc[i, "run"] == row["quality_run"]
                    for other in {metric_label(m) for m in frame["quality_metric"]} - {own_label}:
                        cell = shown.loc[i, other]
                        assert cell.startswith(f"— {row['kind']} run: not "), (ids, metric, other, cell)
    assert walked >= 8   # (ret, rag), (ret, load), (rag, load), (ret, rag, load) × their metrics


def test_the_retrieval_runs_ndcg_is_never_under_a_rag_metrics_name(runs):
    store, ret, rag, load = runs
    frame = frontier_table(store, [ret, rag, load], "nonllm_context_precision")
    shown = frontier_display(frame)
    column = shown["Context precision (non-LLM)"]
    ndcg = {fmt_score(_own(store, ret, m, "ndcg@5")) for m in ("minilm", "bm25")}
    assert not any(cell.split(" ")[0] in ndcg for cell in column)
    assert set(shown.loc[frame["kind"] == "retrieval", "nDCG@5"].str.split(" ").str[0]) == ndcg
