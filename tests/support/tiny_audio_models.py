"""Tiny random audio models built offline from configs, saved as the real ones are (``save_pretrained``).

As ``tests/support/tiny_models.py`` for images: the real architectures at toy sizes, seeded, saved
with their feature extractors (and for CLAP a word-level tokenizer over sound words), so the folders
load with ``AutoModel`` / ``AutoFeatureExtractor`` / ``AutoTokenizer`` as a downloaded checkpoint does.

The CLAP is the one ARCHITECTURE.md measured: text hidden 64, audio hidden 32 (= patch_embeds_hidden_size
16 × 2 for depths [1, 1]), spec_size 128 with 64 mel bins, 48 kHz, hop 480, 2 s window,
``truncation="rand_trunc"`` (the default "fusion" needs a fusion model).

Usage:
    make_tiny_clap(tmp / "clap")       # then resolve(f"clap:{tmp / 'clap'}")
    make_tiny_ast(tmp / "ast")         # then resolve(f"aud:{tmp / 'ast'}")
    make_tiny_wav2vec2(tmp / "w2v")
"""

from __future__ import annotations

from pathlib import Path

from tests.support.tiny_models import _seed, _word_tokenizer

SOUND_WORDS = ("a an the of and tone pure high low pitched rising falling chirp sweep noise white hiss rumble "
               "click clicking ticking fast chord minor major musical dog bark").split()


def make_tiny_clap(folder: str | Path) -> Path:
    """A random ClapModel (projection 16) with ClapFeatureExtractor (2 s window) and a <s> ... </s> tokenizer."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, PreTrainedTokenizerFast

    folder = Path(folder)
    specials = ["<s>", "<pad>", "</s>", "<unk>"]  # RoBERTa's ids: pad 1 is the position padding index
    vocab = {t: i for i, t in enumerate([*specials, *SOUND_WORDS])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>",
                                                       special_tokens=[("<s>", 0), ("</s>", 2)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=16, unk_token="<unk>",
                                        pad_token="<pad>", bos_token="<s>", eos_token="</s>")
    _seed()
    config = ClapConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=64, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=20, pad_token_id=1),
        audio_config=dict(patch_embeds_hidden_size=16, hidden_size=32, depths=[1, 1], num_attention_heads=[2, 2],
                          spec_size=128, num_mel_bins=64, window_size=4, enable_fusion=False),
        projection_dim=16)
    ClapModel(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    ClapFeatureExtractor(feature_size=64, sampling_rate=48_000, hop_length=480, max_length_s=2,
                         truncation="rand_trunc", padding="repeatpad").save_pretrained(folder)
    return folder


def make_tiny_ast(folder: str | Path) -> Path:
    """A random ASTModel (hidden 32, 2 layers, 16 mel bins × 64 frames) with ASTFeatureExtractor at 16 kHz."""
    from transformers import ASTConfig, ASTFeatureExtractor, ASTModel

    folder = Path(folder)
    _seed()
    config = ASTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                       num_mel_bins=16, max_length=64, patch_size=16, frequency_stride=8, time_stride=8)
    ASTModel(config).eval().save_pretrained(folder)
    ASTFeatureExtractor(num_mel_bins=16, max_length=64, sampling_rate=16_000).save_pretrained(folder)
    return folder


def make_tiny_wav2vec2(folder: str | Path) -> Path:
    """A random Wav2Vec2Model (hidden 32, 2 layers, two conv layers) with Wav2Vec2FeatureExtractor at 16 kHz."""
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    folder = Path(folder)
    _seed()
    config = Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                            conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 4), num_conv_pos_embeddings=16,
                            num_conv_pos_embedding_groups=2, do_stable_layer_norm=False, feat_extract_norm="group")
    Wav2Vec2Model(config).eval().save_pretrained(folder)
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16_000, padding_value=0.0, do_normalize=True,
                             return_attention_mask=False).save_pretrained(folder)
    return folder


__all__ = ["make_tiny_clap", "make_tiny_ast", "make_tiny_wav2vec2", "_word_tokenizer"]
