"""Index settings: collections identified by their stored build inputs, kept per index config (real Milvus Lite)."""

from __future__ import annotations

import json

import pytest

from rag.data.dataset import Document, Query
from rag.milvus.index_config import IndexConfig, build_inputs, collection_name
from rag.milvus.store import BUILD_PROPERTY
from rag.models.registry import resolve

PREFIX = "a" * 60


def tiny(name: str, extra: str = "") -> object:
    from rag.data.validation import build_dataset

    docs = [Document("d1", "Garbage", "automatic garbage collection frees memory" + extra),
            Document("d2", "Threads", "threads share memory and need locks")]
    return build_dataset(name, docs, [Query("q1", "garbage collection")], {"q1": {"d1": 1}})


@pytest.fixture
def store(retriever):
    yield retriever.store
    for c in retriever.store.collections():  # only what these tests made
        if c["dataset"].startswith((PREFIX, "idx-")) or c["name"].startswith("wb_legacy_"):
            retriever.store.drop(c["name"])


def test_index_config_defaults_params_and_bad_input():
    cfg = IndexConfig("HNSW", "IP", {"M": 32, "ef": 8})
    assert cfg.to_json() == {"index_type": "HNSW", "metric": "IP", "params": {"M": 32, "efConstruction": 200, "ef": 8}}
    assert cfg.record() == {"index_type": "HNSW", "metric": "IP", "index_params": {"M": 32, "efConstruction": 200,
                                                                                    "ef": 8},
                            "bm25_analyzer_requested": "auto"}
    assert cfg.build_params() == {"M": 32, "efConstruction": 200}
    assert cfg.search_params(10) == {"metric_type": "IP", "params": {"ef": 10}}  # ef raised to k
    assert IndexConfig.from_json(cfg.to_json()) == IndexConfig("HNSW", "IP", {"M": 32, "efConstruction": 200, "ef": 8})
    assert IndexConfig("IVF_FLAT").label() == "IVF_FLAT/COSINE nlist=128 nprobe=16"
    with pytest.raises(ValueError, match="parameter 'nlist' does not apply to HNSW; it takes M, efConstruction, ef"):
        IndexConfig("HNSW", params={"nlist": 4})
    with pytest.raises(ValueError, match="index parameter 'M' does not apply to FLAT; it takes none"):
        IndexConfig("FLAT", params={"M": 4})
    with pytest.raises(ValueError, match=r"index parameter M must be a whole number ≥ 1 \(got 0\)"):
        IndexConfig("HNSW", params={"M": 0})


def test_flat_then_hnsw_keeps_both_and_each_is_reused(store):
    ds, spec = tiny("idx-both"), resolve("minilm")
    flat = store.ensure_collection(ds, spec, IndexConfig())
    hnsw = store.ensure_collection(ds, spec, IndexConfig("HNSW", params={"M": 8}))
    assert flat.name != hnsw.name and not flat.reused and not hnsw.reused
    assert store.client.has_collection(flat.name) and store.client.has_collection(hnsw.name)
    assert store.ensure_collection(ds, spec, IndexConfig()).reused
    assert store.ensure_collection(ds, spec, IndexConfig("HNSW", params={"M": 8, "ef": 99})).reused  # search param
    listed = {c["name"]: c for c in store.collections()}
    assert listed[flat.name] == {"name": flat.name, "dataset": "idx-both", "model": "minilm", "index": "FLAT/COSINE",
                                 "chunking": "", "rows": 2, "complete": True}
    assert listed[hnsw.name]["index"] == "HNSW/COSINE M=8 efConstruction=200 ef=64"
    stored = json.loads(store.client.describe_collection(hnsw.name)["properties"][BUILD_PROPERTY])
    assert stored == build_inputs(ds, spec, IndexConfig("HNSW", params={"M": 8}))
    assert stored["index"] == {"index_type": "HNSW", "metric": "COSINE", "params": {"M": 8, "efConstruction": 200}}
    assert store.builds(ds, "minilm") == [(c, IndexConfig.from_json(store.stored_inputs(c)["index"]))
                                          for c in sorted([flat.name, hnsw.name])]


def test_datasets_sharing_a_60_char_prefix_get_their_own_collections(store):
    spec = resolve("bm25")
    one = store.ensure_collection(tiny(PREFIX + "x1"), spec)
    two = store.ensure_collection(tiny(PREFIX + "x2"), spec)
    assert one.name != two.name
    assert one.name[:-12] == two.name[:-12] == "wb_" + "a" * 24 + "_bm25_"  # the readable part is only a hint
    assert store.client.has_collection(one.name) and store.client.has_collection(two.name)
    assert store.ensure_collection(tiny(PREFIX + "x1"), spec).reused
    assert {store.stored_inputs(one.name)["dataset"], store.stored_inputs(two.name)["dataset"]} == \
        {PREFIX + "x1", PREFIX + "x2"}


def test_changed_content_drops_only_its_own_stale_build(store):
    spec = resolve("minilm")
    old_flat = store.ensure_collection(tiny("idx-change"), spec).name
    old_hnsw = store.ensure_collection(tiny("idx-change"), spec, IndexConfig("HNSW")).name
    neighbour = store.ensure_collection(tiny("idx-change-2"), spec).name  # shares the name's prefix
    new_flat = store.ensure_collection(tiny("idx-change", " and more"), spec).name
    assert new_flat != old_flat
    existing = set(store.client.list_collections())
    assert old_flat not in existing                           # its own stale build
    assert {new_flat, old_hnsw, neighbour} <= existing        # another index config, another dataset


def test_collections_without_stored_inputs_are_listed_and_never_dropped(store):
    from pymilvus import DataType

    ds, spec = tiny("idx-legacy"), resolve("bm25")
    legacy = collection_name(build_inputs(ds, spec, IndexConfig()))[:-12].replace("wb_", "wb_legacy_") + "deadbeef"
    schema = store.client.create_schema(auto_id=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    ip = store.client.prepare_index_params()
    ip.add_index(field_name="v", index_type="FLAT", metric_type="COSINE")
    store.client.create_collection(legacy, schema=schema, index_params=ip)
    store.ensure_collection(ds, spec)
    store.ensure_collection(tiny("idx-legacy", " changed"), spec)
    assert store.client.has_collection(legacy)
    assert next(c for c in store.collections() if c["name"] == legacy) == \
        {"name": legacy, "dataset": "unknown origin", "model": "", "index": "", "chunking": "", "rows": 0,
         "complete": False}
    assert store.stored_inputs(legacy) is None


def test_cli_retrieval_records_the_index_config(milvus, capsys):
    import cli
    from rag.runs import RunStore

    code = cli.main(["retrieval", "--dataset", "sample", "--models", "minilm", "--k", "4", "--index", "HNSW",
                     "--metric", "IP", "--index-params", '{"M": 8, "ef": 32}'])
    assert code == 0
    run_id = capsys.readouterr().out.strip().splitlines()[-1].removeprefix("run_id ")
    cfg = RunStore.default().get(run_id).config
    assert (cfg["index_type"], cfg["metric"], cfg["index_params"]) == ("HNSW", "IP",
                                                                        {"M": 8, "efConstruction": 200, "ef": 32})


@pytest.mark.parametrize("params,message", [
    ("{M: 8}", "error: --index-params is not JSON (Expecting property name enclosed in double quotes)"),
    ("[8]", "error: --index-params must be a JSON object such as '{\"M\": 16}' (got [8])"),
    ('{"nprobe": 4}', "error: index parameter 'nprobe' does not apply to HNSW; it takes M, efConstruction, ef"),
])
def test_cli_bad_index_params_one_line(capsys, params, message):
    import cli

    assert cli.main(["retrieval", "--dataset", "sample", "--index", "HNSW", "--index-params", params]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message), err


def test_load_and_rag_run_configs_record_the_index(sample):
    from evaluators.rag.config import RagConfig, run_config_record
    from loadtests.config import LoadConfig

    load = LoadConfig(models=["bm25"], index_type="HNSW", metric="L2", index_params={"M": 8})
    rec = load.record()
    assert (rec["index_type"], rec["metric"], rec["index_params"]) == ("HNSW", "L2",
                                                                        {"M": 8, "efConstruction": 200, "ef": 64})
    with pytest.raises(ValueError, match="index parameter 'nlist' does not apply to HNSW"):
        LoadConfig(models=["bm25"], index_type="HNSW", index_params={"nlist": 8}).validate()
    rag = run_config_record(sample, RagConfig(models=["bm25"], index=IndexConfig("IVF_FLAT", "IP").to_json()))
    assert (rag["index_type"], rag["metric"], rag["index_params"]) == ("IVF_FLAT", "IP", {"nlist": 128, "nprobe": 16})
    assert rag["rag"]["index"] == {"index_type": "IVF_FLAT", "metric": "IP", "params": {"nlist": 128, "nprobe": 16}}
