"""Audio models on real (tiny, random) transformers models: ``clap:FOLDER`` and ``aud:FOLDER``.

The oracles are independent of ``rag.models.audio``: the models loaded here with transformers and fed
samples read here with soundfile (resampled with scipy), and CLAP's own ``forward``, whose
``logits_per_text`` is the scaled cosine of its text and audio embeddings.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from rag.data.dataset import Dataset, Document, Query
from rag.models.audio import TEXT_ONLY, AudioBackboneEncoder, ClapEncoder, folder_problem
from rag.models.base import ModalityError, ModelUnavailable
from rag.models.registry import resolve
from rag.models.spec import fit_problem
from tests.support.tiny_audio_models import make_tiny_wav2vec2

RATE = 16_000


def tone(freq: float, seconds: float) -> np.ndarray:
    return (0.4 * np.sin(2 * np.pi * freq * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


@pytest.fixture(scope="module")
def sounds(tmp_path_factory) -> list[Path]:
    """Four clips: different pitches and lengths (one longer than the tiny CLAP's 2 s window)."""
    d = tmp_path_factory.mktemp("sounds")
    out = []
    for name, freq, secs in (("a", 220, 1.0), ("b", 880, 0.5), ("c", 440, 3.0), ("d", 1500, 0.7)):
        sf.write(d / f"{name}.wav", tone(freq, secs), RATE)
        out.append(d / f"{name}.wav")
    return out


@pytest.fixture(scope="module")
def tiny_w2v_dir(tiny_models_dir) -> Path:
    return make_tiny_wav2vec2(tiny_models_dir / "w2v")


def read(path: Path, rate: int) -> np.ndarray:
    from scipy.signal import resample_poly

    x, native = sf.read(path, dtype="float32")
    return resample_poly(x, rate // native, 1).astype(np.float32) if rate != native else x


def test_specs_and_what_a_folder_lacks(tiny_clap_dir, tiny_ast_dir, tiny_clip_dir, tmp_path):
    clap, ast = resolve(f"clap:{tiny_clap_dir}"), resolve(f"aud:{tiny_ast_dir}")
    assert (clap.modality, clap.query_kinds, ast.modality, ast.query_kinds) == ("audio", ("text", "audio"),
                                                                                 "audio", ("audio",))
    assert clap.availability() == (True, "ready") and clap.model_id == f"clap:{tiny_clap_dir.resolve()}"
    assert folder_problem(str(tmp_path / "none"), "clap") == f"no model folder at {tmp_path / 'none'}"
    assert folder_problem(str(tmp_path), "aud") == (f"{tmp_path} has no config.json: save the model there with "
                                                    "save_pretrained (transformers)")
    assert folder_problem(str(tiny_ast_dir), "clap") == (
        f"{tiny_ast_dir} is a 'audio-spectrogram-transformer' model, not CLAP (clap: takes model_type clap); an "
        f"audio-only backbone is aud:{tiny_ast_dir}")
    assert folder_problem(str(tiny_clap_dir), "aud") == (f"{tiny_clap_dir} is a CLAP model (text and audio "
                                                         f"towers): use clap:{tiny_clap_dir}")
    assert folder_problem(str(tiny_clip_dir), "aud") == (
        f"{tiny_clip_dir} is a 'clip' model, not an audio backbone (aud: takes model_type "
        "audio-spectrogram-transformer, wav2vec2, hubert, wavlm, data2vec-audio, unispeech, unispeech-sat, sew, sew-d)")
    bare = tmp_path / "bare"
    shutil.copytree(tiny_clap_dir, bare)
    (bare / "preprocessor_config.json").unlink()
    assert folder_problem(str(bare), "clap") == (f"{bare} has no preprocessor_config.json: save the model's "
                                                 "feature extractor there too")
    (bare / "tokenizer_config.json").unlink()
    shutil.copy(tiny_clap_dir / "preprocessor_config.json", bare)
    (bare / "tokenizer.json").unlink()
    assert folder_problem(str(bare), "clap") == (f"{bare} has no tokenizer (tokenizer_config.json / "
                                                 "tokenizer.json): save the tokenizer there too")
    with pytest.raises(ModelUnavailable, match="has no tokenizer"):
        resolve(f"clap:{bare}").encoder()


def test_fit_problem_for_audio(tiny_clap_dir, tiny_ast_dir, tiny_clip_dir):
    sounds = Dataset("sounds", [Document("a", "a.wav", "", audio="/x/a.wav", audio_sha="1")],
                     [Query("t1", "a tone"), Query("a1", "", audio="/x/a.wav", audio_sha="1")],
                     {"t1": {"a": 1}, "a1": {"a": 1}})
    text = Dataset("docs", [Document("d", "D", "text")], [Query("q", "x")], {"q": {"d": 1}})
    images = Dataset("pics", [Document("p", "p.png", "", "/x/p.png", "2")], [Query("q", "x")], {"q": {"p": 1}})
    clap, ast = resolve(f"clap:{tiny_clap_dir}"), resolve(f"aud:{tiny_ast_dir}")
    assert fit_problem(clap, sounds) is None and fit_problem(ast, sounds.select_queries("audio")) is None
    assert fit_problem(ast, sounds) == (
        f"aud:{tiny_ast_dir} is an audio backbone (audio→audio only): it cannot embed the 1 text queries of sounds; "
        "keep only the audio queries (--queries audio, or 'audio' under Queries on the Retrieval page)")
    assert fit_problem(resolve("minilm"), sounds) == (
        "minilm embeds text and sounds is an audio dataset: use a clap:FOLDER (text and audio queries) or "
        "aud:FOLDER (audio queries) model")
    assert fit_problem(resolve(f"clip:{tiny_clip_dir}"), sounds).startswith(
        f"clip:{tiny_clip_dir} embeds images and sounds is an audio dataset")
    assert fit_problem(clap, text) == f"clap:{tiny_clap_dir} embeds sounds and docs is a text dataset: use a text model"
    assert fit_problem(clap, images) == (f"clap:{tiny_clap_dir} embeds sounds and pics is an image dataset: use a "
                                         "clip:/img: model")


def test_clap_vectors_are_the_models_own(tiny_clap_dir, sounds):
    from transformers import AutoFeatureExtractor, AutoTokenizer, ClapModel

    enc = ClapEncoder(str(tiny_clap_dir), "cpu")
    got_audio = enc.encode_audio([str(p) for p in sounds], batch_size=3)
    got_text = enc.encode(["a pure tone", "a dog bark", "fast clicking ticking noise"])
    assert got_audio.shape == (4, 16) and got_text.shape == (3, 16) and enc.dim == 16
    model = ClapModel.from_pretrained(tiny_clap_dir).eval()
    fe = AutoFeatureExtractor.from_pretrained(tiny_clap_dir)
    tok = AutoTokenizer.from_pretrained(tiny_clap_dir)
    clips = [read(p, 48_000)[:96_000] for p in sounds]  # the 2 s window: the 3 s clip's first 2 s
    with torch.no_grad():
        feats = fe(clips, sampling_rate=48_000, return_tensors="pt")
        batch = tok(["a pure tone", "a dog bark", "fast clicking ticking noise"], padding=True, return_tensors="pt")
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], **feats)
    want_audio = torch.nn.functional.normalize(out.audio_embeds, dim=-1).numpy()
    want_text = torch.nn.functional.normalize(out.text_embeds, dim=-1).numpy()
    assert np.allclose(got_audio, want_audio, atol=1e-5) and np.allclose(got_text, want_text, atol=1e-5)
    # CLAP's own logits are the scaled cosine of exactly these vectors
    scale = model.logit_scale_t.exp().item()
    assert np.allclose(out.logits_per_text.numpy(), scale * got_text @ got_audio.T, atol=1e-4)
    assert np.allclose(enc.encode_audio([str(sounds[2])]), got_audio[2:3], atol=1e-5)  # no random crop


def test_backbones_pool_their_outputs_and_refuse_text(tiny_ast_dir, tiny_w2v_dir, sounds):
    from transformers import AutoFeatureExtractor, AutoModel

    for folder in (tiny_ast_dir, tiny_w2v_dir):
        enc = AudioBackboneEncoder(str(folder), "cpu")
        got = enc.encode_audio([str(p) for p in sounds])
        model, fe = AutoModel.from_pretrained(folder).eval(), AutoFeatureExtractor.from_pretrained(folder)
        want = []
        with torch.no_grad():
            for p in sounds:  # one clip at a time: no padding at all
                out = model(**fe([read(p, 16_000)], sampling_rate=16_000, return_tensors="pt"))
                pooled = out.pooler_output if folder == tiny_ast_dir else out.last_hidden_state.mean(dim=1)
                want.append(torch.nn.functional.normalize(pooled, dim=-1).numpy()[0])
        assert got.shape == (4, 32) and np.allclose(got, np.array(want), atol=1e-5), folder
        with pytest.raises(ModalityError) as e:
            enc.encode(["a tone"])
        assert str(e.value) == TEXT_ONLY


def test_audio_vectors_are_cached_by_the_bytes(tiny_clap_dir, sounds, tmp_path):
    spec = resolve(f"clap:{tiny_clap_dir}")
    enc = spec.encoder()
    fresh = tmp_path / "fresh.wav"
    sf.write(fresh, tone(333, 0.4) * 0.9, RATE)
    seen = []
    first = enc.embed_audio([str(fresh)], progress=lambda d, t: seen.append((d, t)))
    assert enc.last_cache_hits == 0 and seen == [(0, 1), (1, 1)]
    copy = tmp_path / "moved.wav"
    shutil.copy(fresh, copy)  # same bytes elsewhere: from the cache
    assert np.allclose(enc.embed_audio([str(copy)]), first) and enc.last_cache_hits == 1
    assert enc.cache.count(spec.cache_key + "#audio") >= 1
    queries = [Query("t", "a pure tone"), Query("a", "", audio=str(copy))]
    vecs = enc.embed_queries(queries)
    assert np.allclose(vecs[1], first[0]) and np.allclose(vecs[0], enc.raw.encode(["a pure tone"])[0], atol=1e-6)
    with pytest.raises(ModalityError) as e:
        resolve("minilm").encoder().embed_audio([str(fresh)])
    assert str(e.value) == "minilm cannot embed sounds; use a clap:FOLDER or aud:FOLDER model"
