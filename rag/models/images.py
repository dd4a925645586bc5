"""Local image encoders: CLIP-style models (text and image in one space) and image-only backbones.

``ClipEncoder`` (spec ``clip:FOLDER``) embeds text with the text tower and images with the vision
tower, so text queries and image queries search one image corpus. FOLDER is a CLIP, SigLIP or SigLIP 2
model saved with transformers (``save_pretrained``: config.json, weights, tokenizer, image processor)
or a sentence-transformers CLIP folder (modules.json). ``ImageBackboneEncoder`` (``img:FOLDER``) is
an image model saved with transformers (ResNet, ViT, DINOv2, ...): its pooled features embed images
only, so it answers image queries (query by example) and refuses text.

Every vector is float32 and L2-normalised. Models load lazily, once per (folder, device) per process,
in float32 whatever dtype the folder was saved in; images are preprocessed by the PIL image processors
(``backend="pil"``), so vectors cached under one model id never depend on whether torchvision is
installed.

Usage:
    enc = ClipEncoder("/models/clip-vit-b32", "cpu")
    enc.encode(["a red circle"])           # (1, dim) text vectors
    enc.encode_images(["/data/a.png"])     # (1, dim) image vectors in the same space
    ImageBackboneEncoder("/models/resnet-50", "cpu").encode_images(["/data/a.png"])
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rag.data.dataset import DatasetError
from rag.i18n import N_, _
from rag.models.base import ModalityError, ModelUnavailable
from rag.models.text import load_sentence_transformer

CLIP_TYPES = ("clip", "siglip", "siglip2")  # config.json model_type a clip: folder may have
_SIGLIP_TYPES = ("siglip", "siglip2")       # text padded to max_length, as they are trained
TEXT_ONLY = N_("img: models embed images only (an image backbone has no text tower); "
               "use a clip:FOLDER model for text queries")


def open_image(path: str | Path):
    """The image at ``path`` as an RGB PIL image: EXIF rotation applied, transparency (RGBA, LA,
    P with a transparent colour) flattened onto white, grey and palette images converted.
    An unreadable file raises DatasetError naming it."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:  # PIL's broken-file errors
        raise DatasetError(_("cannot read the image ({error}: {why})").format(error=type(e).__name__, why=e),
                           file=str(path)) from None
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, im).convert("RGB")
    return im if im.mode == "RGB" else im.convert("RGB")


def read_config(folder: str | Path) -> dict:
    """config.json of a transformers folder ({} when there is none); bad JSON raises ModelUnavailable."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelUnavailable(_("{path} is not readable JSON ({why})").format(path=path, why=e)) from None


def folder_problem(path: str, kind: str) -> str | None:
    """Why ``path`` cannot be a ``clip:`` / ``img:`` model folder (what is missing), or None. Reads the
    folder's files only (no model load): what ``availability()`` says."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        return _("no model folder at {path}").format(path=path)
    has = {p.name for p in folder.iterdir()}
    if kind == "clip" and "modules.json" in has:
        return None  # a sentence-transformers CLIP folder: sentence-transformers reads the rest
    if "config.json" not in has:
        if kind == "clip":
            return _("{path} has no config.json or modules.json: save the model there with save_pretrained "
                     "(transformers) or sentence-transformers' save").format(path=path)
        return _("{path} has no config.json: save the model there with save_pretrained").format(path=path)
    try:
        model_type = str(read_config(folder).get("model_type", ""))
    except ModelUnavailable as e:
        return str(e)
    if kind == "clip" and model_type not in CLIP_TYPES:
        return _("{path} is a '{model_type}' model, not CLIP or SigLIP (clip: takes model_type {types}); an "
                 "image-only backbone is img:{path}").format(path=path, model_type=model_type or "unknown",
                                                            types=", ".join(CLIP_TYPES))
    if kind == "img" and model_type in CLIP_TYPES:
        return _("{path} is a {model_type} model (text and image towers): use clip:{path}").format(
            path=path, model_type=model_type)
    if not has & {"preprocessor_config.json", "processor_config.json"}:
        return _("{path} has no image processor (preprocessor_config.json, or processor_config.json as "
                 "transformers ≥ 5 writes it): save the model's processor there too").format(path=path)
    if kind == "clip" and not has & {"tokenizer_config.json", "tokenizer.json"}:
        return _("{path} has no tokenizer (tokenizer_config.json / tokenizer.json): save the tokenizer there too"
                 ).format(path=path)
    return _processor_problem(folder, path)


def _processor_problem(folder: Path, path: str) -> str | None:
    """Load the image processor the way the encoder will (``AutoImageProcessor``, which reads either file):
    a folder is judged by what the pinned transformers loads, not by a file name it may have stopped writing."""
    from transformers import AutoImageProcessor

    try:
        AutoImageProcessor.from_pretrained(str(folder), backend="pil")
    except Exception as e:  # noqa: BLE001 - any load failure is the one line the user sees
        return _("{path}: its image processor does not load ({error}: {why})").format(
            path=path, error=type(e).__name__, why=str(e).splitlines()[0][:200])
    return None


# ---------------------------------------------------------------- loading (once per folder and device)

_loaded: dict[tuple[str, str, str], object] = {}
_load_lock = threading.Lock()


def _load_once(kind: str, folder: str, device: str, build: Callable[[], object]):
    with _load_lock:
        if (kind, folder, device) not in _loaded:
            _loaded[(kind, folder, device)] = build()
        return _loaded[(kind, folder, device)]


def _device(device: str | None) -> str:
    if device:
        return device
    from rag.models.devices import embed_device

    return embed_device()


class _HF:
    """A transformers model with its preprocessing, loaded in float32 and in eval mode."""

    def __init__(self, folder: str, device: str, text: bool):
        import torch
        from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

        problem = folder_problem(folder, "clip" if text else "img")
        if problem:
            raise ModelUnavailable(problem)
        self.config = read_config(folder)
        self.model_type = str(self.config.get("model_type", ""))
        try:
            model, info = AutoModel.from_pretrained(folder, dtype=torch.float32, output_loading_info=True)
            self.processor = AutoImageProcessor.from_pretrained(folder, backend="pil")
            self.tokenizer = AutoTokenizer.from_pretrained(folder) if text else None
        except (OSError, ValueError, KeyError, RuntimeError, ImportError) as e:
            raise ModelUnavailable(_("cannot load {folder} with transformers ({error}: {why})").format(
                folder=folder, error=type(e).__name__, why=e)) from None
        self.model = model.to(device).eval()
        self.device = device
        # a checkpoint saved without its pooler (a ViT classifier's backbone) gets a random one: don't use it
        self.pooler_is_random = any(k.startswith("pooler.") for k in info.get("missing_keys", ()))
        text_config = self.config.get("text_config") or {}
        self.max_length = int(text_config.get("max_position_embeddings") or 64)

    def pixels(self, images) -> dict:
        import torch

        batch = self.processor(images=images, return_tensors="pt")
        return {k: (v.to(self.device, torch.float32) if k == "pixel_values" else v.to(self.device))
                for k, v in batch.items() if isinstance(v, torch.Tensor)}


def _pooled(out):
    """The embedding a ``get_*_features`` call returns: a tensor (transformers 4) or its
    ``pooler_output`` (transformers 5 returns a BaseModelOutputWithPooling holding the projection)."""
    import torch

    if isinstance(out, torch.Tensor):
        return out
    pooled = getattr(out, "pooler_output", None)
    if pooled is None and isinstance(out, (tuple, list)):
        pooled = out[1] if len(out) > 1 else out[0]
    if pooled is None:
        raise ModelUnavailable(_("the model returned {kind} with no pooled embedding").format(kind=type(out).__name__))
    return pooled


def _normalised(x) -> np.ndarray:
    import torch

    x = torch.nn.functional.normalize(x.float().reshape(x.shape[0], -1), dim=-1)
    return x.cpu().numpy().astype(np.float32)


def _empty_rgb(size: int = 32):
    from PIL import Image

    return Image.new("RGB", (size, size), (0, 0, 0))


class _ImageEncoder:
    """What both encoders share: lazy loading, dim by probing, images read per batch."""

    kind = ""

    def __init__(self, folder: str, device: str | None = None):
        self.folder, self.device = str(folder), device  # device None: embed_device() (WORKBENCH_DEVICE)
        self._dim: int | None = None

    @property
    def model(self):
        """The loaded model: once per (folder, device) in this process."""
        device = _device(self.device)
        return _load_once(self.kind, self.folder, device, lambda: self._build(device))

    def _build(self, device: str):
        raise NotImplementedError

    def _encode_pil(self, images: list) -> np.ndarray:
        raise NotImplementedError

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._encode_pil([_empty_rgb()]).shape[1])
        return self._dim

    def encode_images(self, paths: list[str], batch_size: int = 64) -> np.ndarray:
        """Image vectors (n, dim), float32, L2-normalised, in the order of ``paths``."""
        if not paths:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        for s in range(0, len(paths), batch_size):
            out.append(self._encode_pil([open_image(p) for p in paths[s:s + batch_size]]))
        return np.vstack(out)


class ClipEncoder(_ImageEncoder):
    """A CLIP / SigLIP / SigLIP 2 folder (transformers) or a sentence-transformers CLIP folder."""

    kind = "clip"

    @property
    def is_sentence_transformer(self) -> bool:
        return (Path(self.folder) / "modules.json").is_file()

    def _build(self, device: str):
        if self.is_sentence_transformer:
            return load_sentence_transformer(self.folder, device)
        return _HF(self.folder, device, text=True)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Text vectors from the text tower (n, dim), float32, L2-normalised."""
        m = self.model
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not isinstance(m, _HF):
            return self._st_encode(m, list(texts), batch_size)
        import torch

        # SigLIP is trained on text padded to its full length (its docs: padding="max_length"); CLIP
        # pools the EOS token under a causal mask, so padding to the longest in the batch is the same
        pad = "max_length" if m.model_type in _SIGLIP_TYPES else True
        out = []
        with torch.inference_mode():
            for s in range(0, len(texts), batch_size):
                batch = m.tokenizer(list(texts[s:s + batch_size]), padding=pad, truncation=True,
                                    max_length=m.max_length, return_tensors="pt")
                batch = {k: v.to(m.device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}
                out.append(_normalised(_pooled(m.model.get_text_features(**batch))))
        return np.vstack(out)

    def _encode_pil(self, images: list) -> np.ndarray:
        m = self.model
        if not isinstance(m, _HF):
            return self._st_encode(m, images, len(images))
        import torch

        with torch.inference_mode():
            return _normalised(_pooled(m.model.get_image_features(**m.pixels(images))))

    @staticmethod
    def _st_encode(m, items: list, batch_size: int) -> np.ndarray:
        vecs = m.encode(items, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                        show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32)


class ImageBackboneEncoder(_ImageEncoder):
    """An image model saved with transformers (ResNet, ViT, DINOv2, ...): pooled features, images only."""

    kind = "img"

    def _build(self, device: str):
        return _HF(self.folder, device, text=False)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        raise ModalityError(_(TEXT_ONLY))

    def _encode_pil(self, images: list) -> np.ndarray:
        import torch

        m = self.model
        with torch.inference_mode():
            out = m.model(**m.pixels(images))
        pooled = None if m.pooler_is_random else getattr(out, "pooler_output", None)
        if pooled is not None:
            return _normalised(pooled)  # ResNet: (B, C, 1, 1), flattened
        hidden = out.last_hidden_state
        return _normalised(hidden.mean(dim=(2, 3)) if hidden.dim() == 4 else hidden.mean(dim=1))
