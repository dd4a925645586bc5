"""A Chinese reader forwards the report without meeting an English sentence of ours: the report built in
Chinese for a retrieval comparison, a RAG run, a load run, a sweep and a decision is scanned as text (tags,
styles and the raw JSON configuration removed) for English words; the only ones allowed are data and model
names, standard abbreviations and units (``ALLOWED``, said word by word). No raw None / nan either. The
English report of the same runs still reads today's words (a few anchors)."""

from __future__ import annotations

import html
import re

import pytest

from rag.runs import RunStore
from tests.support.openai_test_server import judge_server  # noqa: F401  (fixture)
from tests.support.run_fixtures import make_dataset, write_load_run, write_rag_run, write_retrieval_run

# data and model names of these fixtures, abbreviations kept in Chinese technical prose, units
ALLOWED = {
    # the fixtures' model, setup and generator names, ids and endpoints (data, never translated)
    "minilm", "bm25", "BM25", "test", "extractive", "search",
    # standard abbreviations and names a Chinese technical reader reads as is
    "nDCG", "MRR", "ROUGE", "BLEU", "RAG", "LLM", "JSON", "FLAT", "COSINE", "Holm", "Ragas", "API", "Python",
    "jieba", "rps", "req", "USD", "MB", "ms", "top", "HTTP", "Milvus", "ID", "ROUGE-L", "bootstrap", "token", "id",
    # metric names as the literature writes them (sentences add a Chinese gloss), Ragas' metric names
    "Precision", "Recall", "Hit", "Context", "precision", "recall", "non-LLM", "Spearman", "WER", "jiwer",
    # a speech-to-text run's recorded options: field names and values as the run record keeps them
    "decoding", "dtype", "float32", "device", "cpu", "sampling_rate",
}
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'’-]*[A-Za-z0-9]")
ID = re.compile(r"[a-z]\d+|\d+-d")  # q12, d3, p95, k5: ids and percentiles
RAW = re.compile(r"(?<![\w.])(None|nan|NaN|null)(?![\w.])")


def text_of(page: str) -> str:
    """The reader's text: no styles, no tags, no raw JSON configuration (the ``<details>`` block is data)."""
    page = re.sub(r"<style.*?</style>|<pre>.*?</pre>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def without_packages(text: str) -> str:
    """The manifest's package list (``pymilvus 3.0.2, torch 2.13.0+cpu, …``) is names: data, not words of ours."""
    return re.sub(r"软件包 .*?(?= 完整配置)", " ", text)


# a model's name, metric keys, the sweep's setup ids (``minilm | whole | k5``)
DATA_NAMES = ["all-MiniLM-L6-v2", "test/minilm", "test/bm25", "rouge_l", "bleu", "ndcg", "| whole |",
              "asr:/models/whisper-tiny", "generate(return_timestamps=True)", "wer jiwer",
              "transcripts.jsonl",
              "{context}", "{question}"]  # and the RAG prompt's placeholders (the user's template)


def english_words(text: str, run_ids=()) -> list[str]:
    for name in [*DATA_NAMES, *run_ids]:  # run ids: data (hex digits may spell a word)
        text = text.replace(name, " ")
    text = re.sub(r"\b[0-9a-f]{12,16}\b", " ", text)  # content hashes
    return sorted({w for w in WORD.findall(without_packages(text)) if w not in ALLOWED and w.lower() not in ALLOWED
                   and not ID.fullmatch(w)})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A retrieval comparison (with its language record and models as encoded), a RAG run, a load run, a sweep
    and a decision made from them: every section of the report, from stored runs, no model run."""
    from evaluators.stats.run_stats import run_stats
    from flows.decide.brief import Brief
    from flows.decide.evaluate import Evaluation
    from flows.decide.flow import save_decision
    from flows.decide.record import decide
    from rag.data.dataset import Dataset, Document, Query
    from rag.data.language import profile_dataset
    from rag.i18n import language

    store = RunStore(tmp_path_factory.mktemp("zh") / "runs.sqlite")
    base = make_dataset(name="合成数据", n_queries=16, title=lambda i: f"文档{i}",
                        query_text=lambda i: f"问题{i}是什么")
    ds = Dataset(base.name, [Document(d.id, d.title, f"第{i}篇文档的正文。") for i, d in enumerate(base.documents)],
                 [Query(q.id, q.text, f"答案{i}") for i, q in enumerate(base.queries)], base.qrels, source=base.source)
    qs = [q.id for q in ds.queries]
    info = {"max_tokens": 256, "dim": 384, "documents": 20, "documents_truncated": 2, "queries_truncated": 0,
            "counted_with": "model tokenizer", "query_prompt": None, "document_prompt": None}
    retrieval = write_retrieval_run(
        store, ds, {"minilm": {q: 0.9 - 0.02 * (i % 3) for i, q in enumerate(qs)},
                    "bm25": {q: 0.4 + 0.03 * (i % 4) for i, q in enumerate(qs)}},
        config={"language": profile_dataset(ds).to_json(), "models_info": {"minilm": info},
                "bm25_analyzer": {"name": "jieba", "chosen": "auto", "language": "zh"}})
    rag = write_rag_run(store, ds, {m: {q: {"rouge_l": v - 0.1 * (i % 2), "bleu": v / 2} for i, q in enumerate(qs)}
                                    for m, v in (("minilm", 0.7), ("bm25", 0.5))},
                        responses={(m, q): f"{m} 的回答 {q}" for m in ("minilm", "bm25") for q in qs},
                        prompt="根据上下文回答：{context} 问题：{question}")
    load = write_load_run(store, ds, {"minilm": {"p50_ms": 12.0, "p95_ms": 30.0, "p99_ms": 41.0},
                                      "bm25": {"p50_ms": 3.0, "p95_ms": 6.5, "p99_ms": 9.0}}, users=4)
    sweep = _sweep_run(store, ds, qs)
    asr = write_retrieval_run(store, ds, {"bm25": {q: 0.5 for q in qs}}, config={"asr": _asr_record(0.125)})
    asr_unmeasured = write_retrieval_run(store, ds, {"bm25": {q: 0.5 for q in qs}}, config={"asr": _asr_record(None)})
    cmp = run_stats(store, [retrieval], 500).get("ndcg@5")
    ev = Evaluation(metric="nDCG@5", retrieval_run=retrieval, load_run=load, comparison=cmp,
                    quality={s.model: {"mean": s.mean, "ci_low": s.low, "ci_high": s.high, "n": s.n}
                             for s in cmp.result.models}, p95_ms={"minilm": 30.0, "bm25": 6.5})
    brief = Brief(k=5, min_quality=0.4, p95_ms=20.0, users=4)
    plans = {"minilm": {"cost_month_usd": 0.0, "one_off_usd": 0.0, "memory_mb": 120.0},
             "bm25": {"cost_month_usd": 0.0, "one_off_usd": 0.0, "memory_mb": 4.0}}
    with language("zh"):  # the record's sentences are written in the flow's language (cli.py decide --lang zh)
        record = {"brief": brief.to_json(), "profile": {"findings": []}, "shortlist": {"candidates": []},
                  "evaluation": ev.to_json(), "plans": plans, **decide(brief, ev, plans, ["minilm", "bm25"]),
                  "verification": {}}
    decision = save_decision(store, ds, brief, record, ["minilm", "bm25"])
    return store, {"retrieval": retrieval, "rag": rag, "load": load, "sweep": sweep, "decision": decision,
                   "asr": asr, "asr_unmeasured": asr_unmeasured}


def _asr_record(wer) -> dict:
    """A run's ``config["asr"]`` as ``asr_run_record`` writes it (options: the recorded ``OPTIONS``)."""
    from evaluators.retrieval.asr_record import OPTIONS

    return {"model": "asr:/models/whisper-tiny", "spec": "asr:/models/whisper-tiny", "sounds": 3, "segments": 7,
            "cached": 2, "empty": ["hum.wav"], "dropped_audio_queries": 1, "wer": wer, "wer_files": 2,
            "per_file_wer": {}, "options": dict(OPTIONS), "fingerprint": "0123abcd4567ef89"}


def _sweep_run(store, ds, qs) -> str:
    """A sweep run recorded as ``save_sweep`` records it, its leaderboard ranked by the real ``leaderboard``."""
    from evaluators.sweep.leaderboard import leaderboard
    from evaluators.sweep.run import SetupResult
    from evaluators.sweep.setups import Setup
    from rag.runs.models import SweepSummary

    results = [SetupResult(Setup(model=m, k=5), f"c_{m}", {}, {q: {"ndcg@5": v + 0.01 * (i % 5)}
                                                              for i, q in enumerate(qs)},
                           {"ndcg@5": v}, {}, p50_ms=p50, p95_ms=2 * p50, cost_per_1k=0.0,
                           cost_basis="local model on this machine (hardware not priced)")
               for m, v, p50 in (("minilm", 0.8, 10.0), ("bm25", 0.5, 2.0))]
    board = leaderboard(results, "ndcg", n_resamples=500).to_json()
    run_id = store.create("sweep", {"models": ["minilm", "bm25"], "k": 5, "dataset_source": ds.source}, dataset=ds)
    store.finish(run_id, SweepSummary(metrics={r.setup.id: r.metrics for r in results},
                                      latency={r.setup.id: r.latency_summary() for r in results},
                                      metric=board.get("metric"), leaderboard=board.get("rows", []),
                                      mdd=board.get("mdd"), n_queries=board.get("n_queries"),
                                      notes=board.get("notes", [])))
    return run_id


@pytest.mark.parametrize("kinds", [["retrieval", "load"], ["rag"], ["load"], ["sweep"], ["decision"],
                                   ["asr", "asr_unmeasured"]],
                         ids=["retrieval+load", "rag", "load", "sweep", "decision", "speech to text"])
def test_the_chinese_report_has_no_english_sentence_of_ours_and_no_raw_none(runs, kinds):
    from evaluators.report.build import build_report

    store, ids = runs
    text = text_of(build_report(store, [ids[k] for k in kinds], n_resamples=500, lang="zh"))
    assert english_words(text, ids.values()) == [], text
    assert RAW.findall(text) == []
    assert "执行摘要" in text


def test_the_decision_section_and_record_read_in_chinese(runs):
    from evaluators.report.build import build_report

    store, ids = runs
    text = text_of(build_report(store, [ids["decision"]], n_resamples=500, lang="zh"))
    assert "决策 · 合成数据" in text and "逐项对照需求的全部候选" in text
    assert "推荐：bm25。" in text  # minilm fails the p95 limit at 4 users: bm25 is the only one that passes


def test_the_english_report_of_the_same_runs_keeps_its_words(runs):
    from evaluators.report.build import build_report

    store, ids = runs
    text = text_of(build_report(store, [ids["retrieval"], ids["load"]], n_resamples=500, lang="en"))
    for words in ("Requests and latency", "Latency percentiles per model", "Models as encoded", "documents cut",
                  "2 of 20", "BM25 analyzer: jieba (chosen for Chinese).", "Languages: Documents: 100 % Chinese",
                  "CI (inverts the test)", "significant", "Load test · "):
        assert words in text, words


def test_no_space_after_the_glosss_closing_bracket_in_chinese_sentences(runs):
    """nDCG@5（归一化折损累计增益）上…: a full-width bracket takes no space; English sentences keep theirs."""
    from evaluators.report.build import build_report
    from rag.i18n import tidy

    store, ids = runs
    text = text_of(build_report(store, [ids["retrieval"]], n_resamples=500, lang="zh"))
    assert "nDCG@5（归一化折损累计增益）上得分最高" in text
    assert "nDCG@5（归一化折损累计增益）胜出者" in text
    assert re.findall(r"）\s+(?:上|胜出者|最佳)", text) == []
    assert "。 显著领先" not in text and "显著领先于 bm25。" in text
    assert tidy("minilm beats bm25 on nDCG@5 by 0.600 [0.600, 0.600], p = 0.002 (30 paired queries).") == \
        "minilm beats bm25 on nDCG@5 by 0.600 [0.600, 0.600], p = 0.002 (30 paired queries)."
    assert tidy("在 nDCG@5（归一化折损累计增益） 上优于 bm25。 显著领先") == \
        "在 nDCG@5（归一化折损累计增益）上优于 bm25。显著领先"


def test_an_error_raised_in_a_loaders_worker_thread_reads_in_the_callers_language(tmp_path):
    """The image checks run in a thread pool: the message formed there (size over the limit) is in the
    caller's language (a browser session's), not the pool thread's default."""
    from rag.data.dataset import DatasetError
    from rag.data.images import load_image_folder
    from rag.i18n import language
    from tests.data.test_image_data import write_folder

    root = write_folder(tmp_path / "f")
    with language("zh"), pytest.raises(DatasetError) as err:
        load_image_folder(root, max_image_bytes=50)
    with language("zh"):
        assert re.fullmatch(r"corpus/\w\.\w+：图片大小为 [\d,]+ 字节，超过上限 50 字节"
                            r"（调大 WORKBENCH_MAX_IMAGE_MB 或缩小图片）", str(err.value)), str(err.value)
    with pytest.raises(DatasetError) as err:
        load_image_folder(root, max_image_bytes=50)
    assert re.fullmatch(r"corpus/\w\.\w+: image is [\d,]+ bytes, over the 50 bytes limit "
                        r"\(raise WORKBENCH_MAX_IMAGE_MB or shrink the image\)", str(err.value)), str(err.value)


@pytest.fixture(scope="module")
def judged(judge_server, sample, retriever, tmp_path_factory):  # noqa: F811
    """A real RAG run on the sample with the local test judge (plain), its repeats (K = 2) and a second, biased
    judge: the report's judge-reliability section with every table (verdicts vs qrels, failures per metric and
    judge, repeats' intervals) and the second judge's sentences."""
    from evaluators.rag.config import RagConfig
    from evaluators.rag.job import run_rag
    from tests.support.openai_test_server import JudgeServer

    with JudgeServer(noise={"mode": "biased", "kinds": ["context_precision"]}) as biased:
        cfg = RagConfig(models=["minilm", "bm25"], generator="extractive",
                        judge=f"compat:judge@{judge_server.base_url}",
                        metrics=["context_precision", "context_recall", "nonllm_context_recall"], k=3, limit=6,
                        concurrency=8, timeout=10, max_retries=0, judge_repeats=2,
                        second_judge=f"compat:judge2@{biased.base_url}")
        return run_rag(sample, cfg, retriever=retriever).run_id


@pytest.mark.slow
def test_the_chinese_report_of_a_judged_rag_run_has_no_english_sentence_of_ours(judged, sample):
    """The judge's section (how far to trust it, the second judge's verdicts, the verdicts-vs-qrels, failures and
    repeats tables) in Chinese. The sample is English: its questions, answers, documents and the run's prompt
    (the examples) are data, taken out word by word, as is the judge's endpoint."""
    from evaluators.report.build import build_report

    store = RunStore.default()
    run = store.get(judged)
    page = build_report(store, [judged], n_resamples=500, lang="zh")
    data = " ".join([*(f"{d.id} {d.title} {d.text}" for d in sample.documents),
                     *(f"{q.text} {q.reference or ''}" for q in sample.queries), run.config["rag"]["prompt_template"],
                     *run.config["model_ids"].values(), *run.config["metrics_active"], "sample"])
    text = text_of(page).replace(run.summary["judge"], " ")
    words = sorted(set(english_words(text, [judged])) - set(WORD.findall(data)))
    assert words == [], (words, text)
    assert RAW.findall(text) == []
    for words in ("评审模型的可信程度：评审模型在 75 % 的上下文上与你的相关性标注一致，κ 0.51 [0.23, 0.78]，"
                  "中等一致（n = 36 条上下文，6 个问题）；"
                  "它给出的上下文召回率与按你的标注算出的召回率的 Spearman ρ 为 0.84（n = 12 行）。",
                  "第二评审模型：两个评审模型在 0 % 的上下文判定上一致，κ -0.98（n = 36 条上下文）。",
                  "第二评审模型：context_precision 上的结论取决于评审模型（第一个：bm25，第二个：minilm）。",
                  "第二评审模型：无论用哪个评审模型，各模型在 context_recall 上都持平。",
                  "评审模型 标注：相关 标注：不相关 有用 14 2 无用 7 13",
                  "指标 评审模型 行数 已评分 失败 解析失败 无得分（非数值） Context precision 第一个 12 12",
                  "重复次数 均值 95% 置信区间（单次评审） 95% 置信区间（计入评审噪声） 重复打分不一致的行"):
        assert words in text, words
    assert "Context precision 第二个 12 12 0 (0%)" in text and "重复打分标准差" in text
