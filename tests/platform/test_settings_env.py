"""Every variable the load-test service, the locustfiles and Milvus Lite's watchdog read goes through
``Settings``: same names, same defaults as when each module read ``os.environ`` itself."""

from __future__ import annotations

from rag.settings import Settings

VARS = ("WORKBENCH_DATASET", "WORKBENCH_SERVICE_MODELS", "WORKBENCH_SERVICE_MILVUS_URI", "WORKBENCH_GENERATOR",
        "WORKBENCH_LOCUST_MODELS", "WORKBENCH_PARENT_PID", "WORKBENCH_MILVUS_IDLE_S", "MILVUS_TOKEN")


def _clean(monkeypatch):
    for v in VARS:
        monkeypatch.delenv(v, raising=False)


def test_defaults(monkeypatch):
    _clean(monkeypatch)
    s = Settings(_env_file=None)
    assert (s.service_dataset, s.service_models, s.service_milvus_uri, s.service_generator) == \
        ("sample", "", "", "extractive")
    assert (s.locust_models, s.parent_pid, s.milvus_idle_s, s.milvus_key) == ("", None, 30.0, None)


def test_read_by_their_names(monkeypatch):
    _clean(monkeypatch)
    for k, v in {"WORKBENCH_DATASET": "/data/scifact", "WORKBENCH_SERVICE_MODELS": "minilm, bm25",
                 "WORKBENCH_SERVICE_MILVUS_URI": "http://127.0.0.1:19530", "WORKBENCH_GENERATOR": "openai:gpt-4o-mini",
                 "WORKBENCH_LOCUST_MODELS": "minilm,bm25", "WORKBENCH_PARENT_PID": "4242",
                 "WORKBENCH_MILVUS_IDLE_S": "2", "MILVUS_TOKEN": "root:Milvus"}.items():
        monkeypatch.setenv(k, v)
    s = Settings(_env_file=None)
    assert (s.service_dataset, s.service_models, s.service_milvus_uri, s.service_generator) == \
        ("/data/scifact", "minilm, bm25", "http://127.0.0.1:19530", "openai:gpt-4o-mini")
    assert (s.locust_models, s.parent_pid, s.milvus_idle_s, s.milvus_key) == ("minilm,bm25", 4242, 2.0, "root:Milvus")
    assert "root:Milvus" not in repr(s)


def test_a_parent_pid_that_is_no_pid_means_no_parent(monkeypatch):
    for bad in ("", "abc", "0", "-5"):
        monkeypatch.setenv("WORKBENCH_PARENT_PID", bad)
        assert Settings(_env_file=None).parent_pid is None
    monkeypatch.setenv("MILVUS_TOKEN", "")
    assert Settings(_env_file=None).milvus_key is None


def test_the_service_flags_default_to_the_settings():
    from loadtests.service_state import ServiceConfig

    cfg = ServiceConfig.from_settings(Settings(_env_file=None, service_models="minilm, bm25,",
                                               service_dataset="/d/x", service_generator="extractive"))
    assert (cfg.dataset, cfg.models, cfg.milvus_uri, cfg.generator) == ("/d/x", ["minilm", "bm25"], None, "extractive")
    assert ServiceConfig.from_settings(Settings(_env_file=None)).models is None
