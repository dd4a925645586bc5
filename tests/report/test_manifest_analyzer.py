"""The report's manifest names the BM25 analyzer of every kind of run (a load run records it per served model)."""

from types import SimpleNamespace

from evaluators.report.build import _analyzer


def run(config, summary=None):
    return SimpleNamespace(config=config, summary=summary or {})


def test_the_analyzer_line_of_each_kind_of_run():
    assert _analyzer(run({"bm25_analyzer": {"name": "jieba", "params": {"tokenizer": "jieba"}}})) == "jieba"
    served = {"service": {"bm25_analyzers": {"bm25": "jieba", "hybrid": "jieba"}}}
    assert _analyzer(run({"bm25_analyzer": "auto"}, served)) == "bm25: jieba, hybrid: jieba (asked: auto)"
    assert _analyzer(run({"bm25_analyzer": "auto"})) == "auto"   # a load run recorded before the service said
    assert _analyzer(run({})) is None
