"""A tiny random Whisper saved as the real checkpoints are: model, WhisperProcessor, timestamp-capable
generation config.

Whisper's tokenizer is byte-level BPE (GPT-2's byte alphabet) followed by its special tokens and the
1501 timestamp tokens ``<|0.00|>`` … ``<|30.00|>``; ``no_timestamps_token_id`` in the generation config is
what lets ``generate(return_timestamps=True)`` run (timestamps begin one id after it). The vocabulary here
is the 256 byte symbols, three merges, the English-only specials and the timestamps; tokens other than
lower-case letters and the space are suppressed so the random transcripts are readable words.

Usage:
    make_tiny_whisper(tmp / "whisper")     # then transcribe(ds, f"asr:{tmp / 'whisper'}")
"""

from __future__ import annotations

import string
from pathlib import Path

from tests.support.tiny_models import _seed

SPECIALS = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|translate|>",
            "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>"]


def make_tiny_whisper(folder: str | Path) -> Path:
    """A random WhisperForConditionalGeneration (d_model 16, one layer each side, 80 mel bins) and its processor."""
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperTokenizer,
    )
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    folder = Path(folder)
    byte_symbols = bytes_to_unicode()
    vocab = {c: i for i, c in enumerate(byte_symbols.values())}
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    for s in SPECIALS + [f"<|{i * 0.02:.2f}|>" for i in range(1501)]:
        vocab[s] = len(vocab)
    tokenizer = WhisperTokenizer(vocab=vocab, merges=merges, additional_special_tokens=SPECIALS[1:],
                                 pad_token="<|endoftext|>")
    eot, sot, nots = (vocab[t] for t in ("<|endoftext|>", "<|startoftranscript|>", "<|notimestamps|>"))
    keep = {byte_symbols[ord(c)] for c in string.ascii_lowercase} | {"Ġ", "Ġt", "he", "Ġthe"}
    _seed()
    config = WhisperConfig(vocab_size=len(vocab), num_mel_bins=80, d_model=16, encoder_layers=1, decoder_layers=1,
                           encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                           decoder_ffn_dim=32, max_source_positions=1500, max_target_positions=64,
                           decoder_start_token_id=sot, eos_token_id=eot, pad_token_id=eot, bos_token_id=eot,
                           begin_suppress_tokens=None, suppress_tokens=None)
    model = WhisperForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        decoder_start_token_id=sot, eos_token_id=eot, pad_token_id=eot, bos_token_id=eot, max_length=64,
        no_timestamps_token_id=nots, is_multilingual=False, max_initial_timestamp_index=50,
        suppress_tokens=[i for t, i in vocab.items() if i < nots and t not in keep and i != eot],
        begin_suppress_tokens=[eot])
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(folder)
    return folder
