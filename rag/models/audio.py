"""Local audio encoders: CLAP (text and audio in one space) and audio-only backbones.

``ClapEncoder`` (spec ``clap:FOLDER``) embeds text with CLAP's text tower and sounds with its audio
tower (``get_text_features`` / ``get_audio_features``, as the CLAP authors retrieve), so text queries
and audio queries search one sound corpus. FOLDER is a CLAP model saved with transformers
(``save_pretrained``: config.json, weights, tokenizer and ``ClapFeatureExtractor``), e.g.
laion/clap-htsat-unfused. ``AudioBackboneEncoder`` (``aud:FOLDER``) is an audio model saved with
transformers: an Audio Spectrogram Transformer (its own pooled output: the mean of the CLS and
distillation tokens) or a wav2vec2-family model (wav2vec2, HuBERT, WavLM, data2vec-audio: the mean of
the last hidden states over time). It embeds sounds only, so it answers audio queries (query by
example) and refuses text.

Sounds are read by ``rag.data.audio.load_audio``: mono, resampled to the feature extractor's
``sampling_rate``. A sound longer than the model's window (CLAP: ``nb_max_samples``, 10 s for the
LAION checkpoints) is embedded from its first window, so a vector never depends on a random crop;
AST's extractor pads or cuts to its own ``max_length`` frames. wav2vec2-family clips are batched only
with clips of the same length, so padding never changes a vector. Every vector is float32,
L2-normalised; models load lazily in float32, once per (folder, device) per process.

Usage:
    enc = ClapEncoder("/models/clap-htsat-unfused", "cpu")
    enc.encode(["a dog barking"])             # (1, dim) text vectors
    enc.encode_audio(["/data/bark.wav"])      # (1, dim) audio vectors in the same space
    AudioBackboneEncoder("/models/ast-audioset", "cpu").encode_audio(["/data/bark.wav"])
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.i18n import N_, _
from rag.models.base import ModalityError, ModelUnavailable
from rag.models.images import _device, _load_once, _normalised, _pooled, read_config

CLAP_TYPES = ("clap",)
BACKBONE_TYPES = ("audio-spectrogram-transformer", "wav2vec2", "hubert", "wavlm", "data2vec-audio",
                  "unispeech", "unispeech-sat", "sew", "sew-d")
TEXT_ONLY = N_("aud: models embed sounds only (an audio backbone has no text tower); "
               "use a clap:FOLDER model for text queries")


def folder_problem(path: str, kind: str) -> str | None:
    """Why ``path`` cannot be a ``clap:`` / ``aud:`` model folder, or None (files only, no model load)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        return _("no model folder at {path}").format(path=path)
    has = {p.name for p in folder.iterdir()}
    if "config.json" not in has:
        return _("{path} has no config.json: save the model there with save_pretrained (transformers)").format(
            path=path)
    try:
        model_type = str(read_config(folder).get("model_type", ""))
    except ModelUnavailable as e:
        return str(e)
    if kind == "clap" and model_type not in CLAP_TYPES:
        return _("{path} is a '{model_type}' model, not CLAP (clap: takes model_type clap); an audio-only backbone "
                 "is aud:{path}").format(path=path, model_type=model_type or "unknown")
    if kind == "aud" and model_type in CLAP_TYPES:
        return _("{path} is a CLAP model (text and audio towers): use clap:{path}").format(path=path)
    if kind == "aud" and model_type == "whisper":
        return _("{path} is a Whisper model (speech to text): use asr:{path}").format(path=path)
    if kind == "aud" and model_type not in BACKBONE_TYPES:
        return _("{path} is a '{model_type}' model, not an audio backbone (aud: takes model_type {types})").format(
            path=path, model_type=model_type or "unknown", types=", ".join(BACKBONE_TYPES))
    if "preprocessor_config.json" not in has:
        return _("{path} has no preprocessor_config.json: save the model's feature extractor there too").format(
            path=path)
    if kind == "clap" and not has & {"tokenizer_config.json", "tokenizer.json"}:
        return _("{path} has no tokenizer (tokenizer_config.json / tokenizer.json): save the tokenizer there too"
                 ).format(path=path)
    return None


class _HFAudio:
    """A transformers audio model with its feature extractor (and tokenizer), float32, eval mode."""

    def __init__(self, folder: str, device: str, kind: str):
        import torch
        from transformers import AutoFeatureExtractor, AutoModel, AutoTokenizer

        problem = folder_problem(folder, kind)
        if problem:
            raise ModelUnavailable(problem)
        self.config = read_config(folder)
        self.model_type = str(self.config.get("model_type", ""))
        try:
            self.model = AutoModel.from_pretrained(folder, dtype=torch.float32).to(device).eval()
            self.extractor = AutoFeatureExtractor.from_pretrained(folder)
            self.tokenizer = AutoTokenizer.from_pretrained(folder) if kind == "clap" else None
        except (OSError, ValueError, KeyError, RuntimeError, ImportError) as e:
            raise ModelUnavailable(_("cannot load {folder} with transformers ({error}: {why})").format(
                folder=folder, error=type(e).__name__, why=e)) from None
        self.device = device
        self.rate = int(getattr(self.extractor, "sampling_rate", 16_000))
        self.window = getattr(self.extractor, "nb_max_samples", None)  # CLAP: samples per input window
        text_config = self.config.get("text_config") or {}
        # RoBERTa positions start after the padding index: the longest input is max_position_embeddings - 2
        self.max_length = int(text_config.get("max_position_embeddings") or 514) - 2

    def features(self, clips: list[np.ndarray]) -> dict:
        import torch

        kwargs = {"sampling_rate": self.rate, "return_tensors": "pt"}
        if len(clips) > 1 and self.model_type != "audio-spectrogram-transformer" and self.model_type not in CLAP_TYPES:
            kwargs["padding"] = True
        batch = self.extractor(clips, **kwargs)
        return {k: (v.to(self.device, torch.float32) if v.is_floating_point() else v.to(self.device))
                for k, v in batch.items() if isinstance(v, torch.Tensor)}


class _AudioEncoder:
    """What both encoders share: lazy loading, dim by probing, sounds read and resampled per batch."""

    kind = ""

    def __init__(self, folder: str, device: str | None = None):
        self.folder, self.device = str(folder), device
        self._dim: int | None = None

    @property
    def model(self) -> _HFAudio:
        device = _device(self.device)
        return _load_once(self.kind, self.folder, device, lambda: _HFAudio(self.folder, device, self.kind))

    def _encode_clips(self, clips: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._encode_clips([np.zeros(self.model.rate, dtype=np.float32)]).shape[1])
        return self._dim

    def read(self, path: str) -> np.ndarray:
        """A file's samples as the model takes them: mono, at its rate, cut to its window."""
        from rag.data.audio import load_audio

        m = self.model
        clip = load_audio(path, m.rate)
        return clip[:m.window] if m.window else clip

    def encode_audio(self, paths: list[str], batch_size: int = 64) -> np.ndarray:
        """Audio vectors (n, dim), float32, L2-normalised, in the order of ``paths``."""
        if not paths:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        for s in range(0, len(paths), batch_size):
            out.append(self._encode_clips([self.read(p) for p in paths[s:s + batch_size]]))
        return np.vstack(out)


class ClapEncoder(_AudioEncoder):
    """A CLAP folder saved with transformers: text and audio towers in one space."""

    kind = "clap"

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Text vectors from the text tower (n, dim), float32, L2-normalised."""
        import torch

        m = self.model
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        with torch.inference_mode():
            for s in range(0, len(texts), batch_size):
                batch = m.tokenizer(list(texts[s:s + batch_size]), padding=True, truncation=True,
                                    max_length=m.max_length, return_tensors="pt")
                batch = {k: v.to(m.device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}
                out.append(_normalised(_pooled(m.model.get_text_features(**batch))))
        return np.vstack(out)

    def _encode_clips(self, clips: list[np.ndarray]) -> np.ndarray:
        import torch

        m = self.model
        with torch.inference_mode():
            return _normalised(_pooled(m.model.get_audio_features(**m.features(clips))))


class AudioBackboneEncoder(_AudioEncoder):
    """An AST or wav2vec2-family folder saved with transformers: pooled features, sounds only."""

    kind = "aud"

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        raise ModalityError(_(TEXT_ONLY))

    def _encode_clips(self, clips: list[np.ndarray]) -> np.ndarray:
        import torch

        m = self.model
        out: list[np.ndarray | None] = [None] * len(clips)
        groups: dict[int, list[int]] = {}
        for i, c in enumerate(clips):  # same length together: no padding, so no padding effects
            groups.setdefault(len(c) if m.model_type != "audio-spectrogram-transformer" else 0, []).append(i)
        with torch.inference_mode():
            for idx in groups.values():
                result = m.model(**m.features([clips[i] for i in idx]))
                pooled = getattr(result, "pooler_output", None)
                vecs = _normalised(pooled if pooled is not None else result.last_hidden_state.mean(dim=1))
                for i, v in zip(idx, vecs):
                    out[i] = v
        return np.vstack(out)
