"""Device selection for local encoders: a pure function, tested for every case without a GPU."""

from __future__ import annotations

import pytest

from rag.models.devices import pick_device, runtime_info
from rag.settings import Settings

CPU = {"cuda": False, "cuda_count": 0, "mps": False}
ONE_GPU = {"cuda": True, "cuda_count": 1, "mps": False}
TWO_GPUS = {"cuda": True, "cuda_count": 2, "mps": False}
MAC = {"cuda": False, "cuda_count": 0, "mps": True}


@pytest.mark.parametrize("setting, info, expected", [
    ("auto", CPU, "cpu"), ("auto", ONE_GPU, "cuda"), ("auto", MAC, "mps"),
    ("auto", {"cuda": True, "cuda_count": 1, "mps": True}, "cuda"),  # CUDA first
    ("", CPU, "cpu"), (" AUTO ", MAC, "mps"),
    ("cpu", ONE_GPU, "cpu"), ("cpu", MAC, "cpu"),                     # the override wins
    ("cuda", ONE_GPU, "cuda"), ("cuda:1", TWO_GPUS, "cuda:1"), ("mps", MAC, "mps"),
])
def test_pick_device(setting, info, expected):
    assert pick_device(setting, info) == expected


@pytest.mark.parametrize("setting, info, message", [
    ("cuda", CPU, "WORKBENCH_DEVICE='cuda' but torch sees no CUDA GPU (CPU only); use auto or cpu"),
    ("cuda:2", TWO_GPUS, "WORKBENCH_DEVICE='cuda:2' but torch sees 2 CUDA GPU(s); use cuda:0...1"),
    ("mps", ONE_GPU, "WORKBENCH_DEVICE='mps' but torch sees no Apple MPS (1 CUDA GPU(s)); use auto or cpu"),
    ("gpu", ONE_GPU, "WORKBENCH_DEVICE='gpu' is not a device; use auto, cpu, cuda, cuda:N or mps"),
    ("cpu:0", CPU, "WORKBENCH_DEVICE='cpu:0' is not a device; use auto, cpu, cuda, cuda:N or mps"),
])
def test_pick_device_refuses_what_torch_cannot_use(setting, info, message):
    with pytest.raises(ValueError) as e:
        pick_device(setting, info)
    assert str(e.value) == message


def test_settings_read_device_and_batch(monkeypatch):
    monkeypatch.setenv("WORKBENCH_DEVICE", "cpu")
    monkeypatch.setenv("WORKBENCH_EMBED_BATCH", "16")
    s = Settings()
    assert (s.device, s.embed_batch) == ("cpu", 16)
    assert runtime_info(s) == {"device": "cpu", "embed_batch": 16}
    monkeypatch.delenv("WORKBENCH_DEVICE")
    monkeypatch.delenv("WORKBENCH_EMBED_BATCH")
    assert (Settings().device, Settings().embed_batch) == ("auto", 64)


def test_bad_device_is_recorded_as_such():
    assert runtime_info(Settings(device="gpu")) == {
        "device": "invalid (WORKBENCH_DEVICE='gpu' is not a device; use auto, cpu, cuda, cuda:N or mps)",
        "embed_batch": 64}


def test_this_machine_runs_minilm_on_the_cpu():
    """The tested default: this machine's torch is a CPU build, so auto means cpu, and the real model
    loads there with the configured batch size."""
    from rag.models.devices import embed_device, torch_info
    from rag.models.registry import resolve

    assert torch_info() == CPU
    assert embed_device(Settings()) == "cpu"
    enc = resolve("minilm").encoder(Settings(embed_batch=8))
    assert enc.batch_size == 8
    assert enc.raw.model.device.type == "cpu"
    assert enc.embed(["a", "b", "c"]).shape == (3, 384)


def test_every_run_kind_records_device_and_batch(milvus, capsys, monkeypatch):
    """Retrieval (through the CLI), RAG and load-test configs carry the device and batch size."""
    import cli
    from evaluators.rag.config import RagConfig, run_config_record
    from loadtests.config import LoadConfig
    from rag.data.samples.text import load_sample
    from rag.runs import RunStore
    from rag.settings import reset_settings

    monkeypatch.setenv("WORKBENCH_EMBED_BATCH", "32")
    reset_settings()
    try:
        assert cli.main(["retrieval", "--dataset", "sample", "--models", "bm25", "--k", "4"]) == 0
        run_id = capsys.readouterr().out.strip().splitlines()[-1].removeprefix("run_id ")
        cfg = RunStore.default().get(run_id).config
        assert (cfg["device"], cfg["embed_batch"]) == ("cpu", 32)
        rag = run_config_record(load_sample(), RagConfig(models=["bm25"]))
        assert (rag["device"], rag["embed_batch"]) == ("cpu", 32)
        load = LoadConfig(models=["bm25"]).record()
        assert (load["device"], load["embed_batch"]) == ("cpu", 32)
    finally:
        monkeypatch.delenv("WORKBENCH_EMBED_BATCH")
        reset_settings()
