"""The report's "Your data" part: languages, the BM25 analyzer, models that do not read the language,
English judge prompts, as recorded by the runs."""

from evaluators.report.your_data import your_data
from rag.data.language import profile_dataset
from rag.data.samples.text import load_sample


def test_your_data_from_recorded_runs(tmp_path):
    from rag.runs import RunStore

    store = RunStore(tmp_path / "runs.sqlite")
    ds = load_sample("sample-zh")
    language = profile_dataset(ds).to_json()
    analyzer = {"name": "jieba", "params": {"tokenizer": "jieba"}, "language": "zh", "chosen": "auto"}
    a = store.create("retrieval", {"models": ["minilm", "bm25"], "k": 5, "language": language,
                                   "bm25_analyzer": analyzer}, dataset=ds)
    b = store.create("rag", {"models": ["minilm"], "k": 4, "language": language, "judge": {"spec": "openai"}},
                     dataset=ds)
    parts = your_data([store.get(a), store.get(b)])
    assert parts == [{"dataset": "sample-zh", "lines": [
        "Languages: Documents: 100 % Chinese · questions: 100 % Chinese · 0 mixed-language texts.",
        "BM25 analyzer: jieba (chosen for Chinese).",
        "minilm: all-MiniLM-L6-v2 is an English model; 100 % of your documents are Chinese.",
        "Judged metrics used Ragas' English prompts on Chinese data (Ragas 0.4.3 adapts prompts only by "
        "translating them with an LLM; not done here)."]}]
    english = store.create("retrieval", {"models": ["minilm"], "language": profile_dataset(load_sample()).to_json()},
                           dataset=load_sample())
    assert your_data([store.get(english)])[0]["lines"] == [
        "Languages: Documents: 100 % English · questions: 100 % English · 0 mixed-language texts."]
