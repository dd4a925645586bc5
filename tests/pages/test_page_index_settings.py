"""AppTest over app.py's navigation: the index choice survives page switches and every page run records it."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

TIMEOUT = 240


def _by_label(widgets, label):
    return next(w for w in widgets if w.label == label)


def test_hnsw_choice_survives_retrieval_and_is_recorded(milvus):
    from rag.milvus.store import MilvusStore
    from rag.runs import RunStore

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/2_Index.py").run()
    _by_label(at.selectbox, "Index type (dense models)").set_value("HNSW").run()
    _by_label(at.number_input, "M").set_value(8).run()
    assert _by_label(at.number_input, "efConstruction").value == 200
    _by_label(at.button, "Build collections").click().run()
    assert not at.exception and not at.error
    assert "Ready: minilm" in at.success[0].value
    store = MilvusStore(milvus)
    before = set(store.client.list_collections())
    built = {c["model"]: c for c in store.collections() if c["dataset"] == "sample" and c["name"] in before}
    hnsw = next(c["name"] for c in store.collections()
                if c["model"] == "minilm" and c["index"] == "HNSW/COSINE M=8 efConstruction=200 ef=64")
    assert built

    at.switch_page("pages/3_Retrieval.py").run()
    assert any(c.value == "Index: HNSW/COSINE M=8 efConstruction=200 ef=64 (set on the Index page)" for c in at.caption)
    _by_label(at.button, "Compare").click().run()
    assert not at.exception and not at.error
    # a full run of another page (no st.stop) drops the Index page's widget keys, as measured in the browser
    assert "w_index_type" not in at.session_state and at.session_state["app_index_type"] == "HNSW"
    run = RunStore.default().get(at.session_state["retrieval_run_id"])
    assert (run.config["index_type"], run.config["metric"], run.config["index_params"]) == \
        ("HNSW", "COSINE", {"M": 8, "efConstruction": 200, "ef": 64})
    assert run.config["collections"]["minilm"] == hnsw

    at.switch_page("pages/2_Index.py").run()
    assert not at.exception
    assert _by_label(at.selectbox, "Index type (dense models)").value == "HNSW"
    assert _by_label(at.selectbox, "Metric").value == "COSINE"
    assert _by_label(at.number_input, "M").value == 8
    assert set(store.client.list_collections()) == before  # nothing dropped, no FLAT build
    assert store.client.has_collection(hnsw)
    store.client.close()
