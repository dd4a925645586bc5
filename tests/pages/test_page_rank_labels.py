"""Row labels not cut (issue 22): the per-query rank table's index ("1" … "k", "Precision", "Recall") gets a
column width that holds "Precision" whole; Streamlit sized it from the first rows and showed "Precisio"."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from rag.runs import RunStore
from tests.conftest import ROOT
from tests.support.run_fixtures import make_dataset, write_retrieval_run


def test_the_history_rank_table_keeps_precision_whole():
    store = RunStore.default()
    ds = make_dataset("rank-labels", n_queries=4)
    run = write_retrieval_run(store, ds, {"minilm": {f"q{i}": 0.5 for i in range(4)},
                                          "bm25": {f"q{i}": 0.25 * i for i in range(4)}})
    at = AppTest.from_file(str(ROOT / "pages" / "6_History.py"), default_timeout=120).run()
    at.multiselect(key="history_selected").select(run).run()
    assert not at.exception
    rank = next(df for df in at.dataframe if "Precision" in list(df.value.index))
    config = json.loads(rank.proto.columns)
    assert config["_index"]["label"] == "Rank" and config["_index"]["width"] >= 7 * len("Precision") + 20
