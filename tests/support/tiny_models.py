"""Tiny random image models built offline from configs, saved as the real ones are (``save_pretrained``).

No weights can be downloaded in tests, so each builder makes a model with the real architecture at a
toy size (hidden 32, one or two layers, 32x32 images, 8x8 patches), seeded so every build is the same,
and saves it with its PIL image processor and (for CLIP / SigLIP) a word-level tokenizer built with
``tokenizers`` over a small vocabulary of shape, colour and digit words. The folders load with
``AutoModel`` / ``AutoTokenizer`` / ``AutoImageProcessor`` exactly as a downloaded checkpoint does.

Usage:
    make_tiny_clip(tmp / "clip")      # then resolve(f"clip:{tmp / 'clip'}")
    make_tiny_siglip(tmp / "siglip")
    make_tiny_resnet(tmp / "resnet")  # then resolve(f"img:{tmp / 'resnet'}")
    make_tiny_vit(tmp / "vit")
    make_tiny_st_clip(tmp / "st-clip", tmp / "clip")  # a sentence-transformers folder over a tiny CLIP
"""

from __future__ import annotations

from pathlib import Path

WORDS = ("a an the of with and on in photo picture image drawing shape number digit small large big "
         "red green blue yellow black white orange purple gray "
         "circle square triangle star cross line dot ring "
         "zero one two three four five six seven eight nine "
         "0 1 2 3 4 5 6 7 8 9").split()

IMAGE_SIZE, PATCH, HIDDEN = 32, 8, 32


def _seed() -> None:
    import torch

    torch.manual_seed(0)


def _word_tokenizer(specials: list[str], template: str, max_length: int, **tokens):
    """A lower-casing word-level fast tokenizer over WORDS (unknown words map to <unk>)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate([*specials, *WORDS])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[(t, vocab[t]) for t in specials if t in template])
    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=max_length, unk_token="<unk>", **tokens)


def make_tiny_clip(folder: str | Path) -> Path:
    """A random CLIPModel (projection 16) with CLIPImageProcessorPil and a <bos> ... <eos> tokenizer."""
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel

    folder = Path(folder)
    specials = ["<pad>", "<unk>", "<bos>", "<eos>"]  # ids 0..3: eos (3) is not the legacy id 2 (argmax pooling)
    tokenizer = _word_tokenizer(specials, "<bos> $A <eos>", 16, pad_token="<pad>", bos_token="<bos>",
                                eos_token="<eos>")
    _seed()
    config = CLIPConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=16, pad_token_id=0, bos_token_id=2,
                         eos_token_id=3),
        vision_config=dict(hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=IMAGE_SIZE, patch_size=PATCH),
        projection_dim=16)
    CLIPModel(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    CLIPImageProcessorPil(size={"shortest_edge": IMAGE_SIZE},
                          crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}).save_pretrained(folder)
    return folder


def make_tiny_siglip(folder: str | Path) -> Path:
    """A random SiglipModel (dim 32) with SiglipImageProcessorPil and a $A </s> tokenizer padded to 16."""
    from transformers import SiglipConfig, SiglipImageProcessorPil, SiglipModel

    folder = Path(folder)
    specials = ["<pad>", "<unk>", "</s>"]
    tokenizer = _word_tokenizer(specials, "$A </s>", 16, pad_token="<pad>", eos_token="</s>")
    _seed()
    config = SiglipConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=16, pad_token_id=0, bos_token_id=None,
                         eos_token_id=2),
        vision_config=dict(hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=IMAGE_SIZE, patch_size=PATCH))
    SiglipModel(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    SiglipImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}).save_pretrained(folder)
    return folder


def make_tiny_resnet(folder: str | Path) -> Path:
    """A random ResNetModel (two basic stages, 16 channels out) with ConvNextImageProcessorPil (what
    AutoImageProcessor loads for microsoft/resnet-50)."""
    from transformers import ConvNextImageProcessorPil, ResNetConfig, ResNetModel

    folder = Path(folder)
    _seed()
    config = ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic")
    ResNetModel(config).eval().save_pretrained(folder)
    ConvNextImageProcessorPil(size={"shortest_edge": IMAGE_SIZE}).save_pretrained(folder)
    return folder


def make_tiny_vit(folder: str | Path) -> Path:
    """A random ViTModel (hidden 32, pooled CLS) with ViTImageProcessorPil."""
    from transformers import ViTConfig, ViTImageProcessorPil, ViTModel

    folder = Path(folder)
    _seed()
    config = ViTConfig(hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                       image_size=IMAGE_SIZE, patch_size=PATCH)
    ViTModel(config).eval().save_pretrained(folder)
    ViTImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}).save_pretrained(folder)
    return folder


def make_tiny_siglip2(folder: str | Path) -> Path:
    """A random Siglip2Model (NaFlex: up to 16 patches of 8x8 at any aspect ratio) with
    Siglip2ImageProcessorPil and the SigLIP word tokenizer."""
    from transformers import Siglip2Config, Siglip2ImageProcessorPil, Siglip2Model

    folder = Path(folder)
    specials = ["<pad>", "<unk>", "</s>"]
    tokenizer = _word_tokenizer(specials, "$A </s>", 16, pad_token="<pad>", eos_token="</s>")
    _seed()
    config = Siglip2Config(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=16, pad_token_id=0, bos_token_id=None,
                         eos_token_id=2),
        vision_config=dict(hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           num_patches=16, patch_size=PATCH))
    Siglip2Model(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    Siglip2ImageProcessorPil(patch_size=PATCH, max_num_patches=16).save_pretrained(folder)
    return folder


def make_tiny_st_clip(folder: str | Path, clip_folder: str | Path | None = None) -> Path:
    """A sentence-transformers CLIP folder (modules.json, one multimodal Transformer module, as
    sentence-transformers 6 saves CLIP) over the tiny CLIP in ``clip_folder`` (built if not given)."""
    import tempfile

    from sentence_transformers import SentenceTransformer

    folder = Path(folder)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(clip_folder) if clip_folder else make_tiny_clip(Path(tmp) / "clip")
        SentenceTransformer(str(source), device="cpu").save(str(folder))
    return folder


def make_tiny_dinov2(folder: str | Path) -> Path:
    """A random Dinov2Model (hidden 32, pooled = layer-normed CLS) with BitImageProcessorPil, as
    facebook/dinov2-* ship."""
    from transformers import BitImageProcessorPil, Dinov2Config, Dinov2Model

    folder = Path(folder)
    _seed()
    config = Dinov2Config(hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                          image_size=IMAGE_SIZE, patch_size=PATCH)
    Dinov2Model(config).eval().save_pretrained(folder)
    BitImageProcessorPil(size={"shortest_edge": IMAGE_SIZE},
                         crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}).save_pretrained(folder)
    return folder
