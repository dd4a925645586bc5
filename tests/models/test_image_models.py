"""Image models end to end on real (tiny, random) transformers models: ``clip:FOLDER`` and ``img:FOLDER``.

Real parts: CLIP / SigLIP / SigLIP 2 / ResNet / ViT built from configs and saved with ``save_pretrained``
(tests/support/tiny_models.py), loaded back through AutoModel / AutoTokenizer / AutoImageProcessor, the
sentence-transformers loader, and the on-disk embedding cache. The oracles are independent of
``rag.models.images``: the models' own ``forward`` (CLIP's and SigLIP's logits are the scaled cosine of
their text and image embeddings), sentence-transformers' CLIP loader on the same weights, and the
ResNet pooler's definition (the global average of the last feature map).
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from rag.data.dataset import Dataset, DatasetError, Document, Query
from rag.models.base import ModalityError, ModelUnavailable
from rag.models.images import TEXT_ONLY, ClipEncoder, ImageBackboneEncoder, open_image
from rag.models.registry import resolve, resolve_all
from rag.models.spec import fit_problem
from tests.support.tiny_models import (
    make_tiny_clip,
    make_tiny_dinov2,
    make_tiny_siglip2,
    make_tiny_st_clip,
    make_tiny_vit,
)

COLOURS = {"red": (220, 20, 20), "green": (20, 200, 40), "blue": (30, 40, 220)}
TEXTS = ["a red circle", "a blue square on a white background with a big star", "seven", "zebra"]


def draw(path: Path, colour: str, shape: str = "circle", size: tuple[int, int] = (48, 40)) -> Path:
    """A PNG of one coloured shape on white."""
    im = Image.new("RGB", size, (255, 255, 255))
    d = ImageDraw.Draw(im)
    box = (6, 6, size[0] - 6, size[1] - 6)
    (d.ellipse if shape == "circle" else d.rectangle)(box, fill=COLOURS[colour])
    im.save(path)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> list[Path]:
    """Five small images of different sizes (one wide, one tall, one grey) as an image corpus has."""
    d = tmp_path_factory.mktemp("images")
    out = [draw(d / "red-circle.png", "red"), draw(d / "blue-square.png", "blue", "square"),
           draw(d / "green-wide.png", "green", size=(96, 24)), draw(d / "red-tall.png", "red", "square", (20, 70))]
    Image.new("L", (30, 30), 90).save(d / "grey.png")
    return [*out, d / "grey.png"]


@pytest.fixture(scope="module")
def tiny_siglip2_dir(tiny_models_dir) -> Path:
    return make_tiny_siglip2(tiny_models_dir / "siglip2")


@pytest.fixture(scope="module")
def tiny_st_clip_dir(tiny_models_dir, tiny_clip_dir) -> Path:
    return make_tiny_st_clip(tiny_models_dir / "st-clip", tiny_clip_dir)


@pytest.fixture
def clip_like(request) -> Path:
    """The folder of each text-and-image model kind ``clip:`` takes."""
    return request.getfixturevalue(request.param)


CLIP_KINDS = pytest.mark.parametrize("clip_like,dim", [("tiny_clip_dir", 16), ("tiny_siglip_dir", 32),
                                                       ("tiny_siglip2_dir", 32), ("tiny_st_clip_dir", 16)],
                                     indirect=["clip_like"], ids=["clip", "siglip", "siglip2", "st-clip"])


def image_ds(tmp_path: Path, queries: list[Query], name: str = "shapes") -> Dataset:
    a, b = draw(tmp_path / "a.png", "red"), draw(tmp_path / "b.png", "blue", "square")
    docs = [Document("a", "", "a red circle", image=str(a), image_sha=sha(a)),
            Document("b", "", "", image=str(b), image_sha=sha(b))]
    return Dataset(name, docs, queries, {q.id: {"a": 1} for q in queries})


# ---------------------------------------------------------------- specs and availability

def test_clip_and_img_resolve_to_image_specs(tiny_clip_dir, tiny_resnet_dir, tmp_path):
    clip, img = resolve(f"clip:{tiny_clip_dir}"), resolve(f" img:{tiny_resnet_dir} ")
    assert (clip.kind, clip.modality, clip.query_kinds) == ("dense", "image", ("text", "image"))
    assert (img.kind, img.modality, img.query_kinds) == ("dense", "image", ("image",))
    assert (clip.ref, img.ref) == (f"clip:{tiny_clip_dir}", f"img:{tiny_resnet_dir}")
    assert (clip.model_id, img.model_id) == (f"clip:{tiny_clip_dir.resolve()}", f"img:{tiny_resnet_dir.resolve()}")
    assert clip.name.startswith("clip-clip-") and img.name.startswith("img-resnet-")
    assert clip.cost_basis == "local image model folder on this machine (hardware not priced)"
    assert clip.availability() == (True, "ready") and img.availability() == (True, "ready")
    (tmp_path / "a" / "clip").mkdir(parents=True)
    (tmp_path / "b" / "clip").mkdir(parents=True)
    assert resolve(f"clip:{tmp_path}/a/clip").name != resolve(f"clip:{tmp_path}/b/clip").name
    assert resolve(f"clip:{tmp_path}/a/clip").name != resolve(f"img:{tmp_path}/a/clip").name
    with pytest.raises(ModelUnavailable, match=r"or hf:ORG/NAME\[@REVISION\], ms:ORG/NAME\[@REVISION\], st:FOLDER, "
                                               r"oai:MODEL@BASE_URL, "
                                               r"PROVIDER:MODEL\[:DIMS\] \(cohere, voyage, jina, gemini, "
                                               r"dashscope, zhipu, siliconflow\), openai-3-small:DIMS, "
                                               r"clip:FOLDER \(CLIP/SigLIP: text and image queries on images\), "
                                               r"img:FOLDER \(image backbone: image queries\), clap:FOLDER"):
        resolve("clip:")


def test_availability_says_what_is_missing(tmp_path, tiny_clip_dir, tiny_resnet_dir):
    def why(spec: str) -> str:
        ok, reason = resolve(spec).availability()
        assert not ok
        return reason

    assert why("clip:/no/such/model") == "no model folder at /no/such/model"
    (tmp_path / "empty").mkdir()
    assert why(f"clip:{tmp_path}/empty") == (f"{tmp_path}/empty has no config.json or modules.json: save the model "
                                             "there with save_pretrained (transformers) or sentence-transformers' save")
    assert why(f"img:{tmp_path}/empty") == (f"{tmp_path}/empty has no config.json: save the model there with "
                                            "save_pretrained")
    assert why(f"clip:{tiny_resnet_dir}") == (f"{tiny_resnet_dir} is a 'resnet' model, not CLIP or SigLIP (clip: "
                                              f"takes model_type clip, siglip, siglip2); an image-only backbone is "
                                              f"img:{tiny_resnet_dir}")
    assert why(f"img:{tiny_clip_dir}") == (f"{tiny_clip_dir} is a clip model (text and image towers): use "
                                           f"clip:{tiny_clip_dir}")
    no_proc = shutil.copytree(tiny_resnet_dir, tmp_path / "no-proc")
    (no_proc / "preprocessor_config.json").unlink()
    assert why(f"img:{no_proc}") == (f"{no_proc} has no image processor (preprocessor_config.json, or "
                                     "processor_config.json as transformers ≥ 5 writes it): save the model's "
                                     "processor there too")
    broken = shutil.copytree(tiny_resnet_dir, tmp_path / "broken-proc")
    (broken / "preprocessor_config.json").write_text('{"image_processor_type": "NoSuchImageProcessor"}')
    assert why(f"img:{broken}").startswith(f"{broken}: its image processor does not load (")
    no_tok = shutil.copytree(tiny_clip_dir, tmp_path / "no-tok")
    (no_tok / "tokenizer_config.json").unlink()
    (no_tok / "tokenizer.json").unlink()
    assert why(f"clip:{no_tok}") == (f"{no_tok} has no tokenizer (tokenizer_config.json / tokenizer.json): save the "
                                     "tokenizer there too")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    assert why(f"img:{bad}").startswith(f"{bad}/config.json is not readable JSON (Expecting property name")
    with pytest.raises(ModelUnavailable, match=f"^clip:{tmp_path}/empty: {tmp_path}/empty has no config.json"):
        resolve_all([f"clip:{tiny_clip_dir}", f"clip:{tmp_path}/empty"], check=True)  # refused before any work
    with pytest.raises(ModelUnavailable, match="^no model folder at /no/such/model$"):
        ClipEncoder("/no/such/model", "cpu").encode(["a red circle"])  # loading says why, too


def test_fit_problem_says_which_model_fits_which_dataset(tmp_path, tiny_clip_dir, tiny_resnet_dir):
    text_ds = Dataset("notes", [Document("d1", "", "some text")], [Query("q1", "text?")], {"q1": {"d1": 1}})
    mixed = image_ds(tmp_path, [Query("q1", "a red circle"), Query("q2", "", image=str(tmp_path / "a.png"))])
    clip, img, minilm = resolve(f"clip:{tiny_clip_dir}"), resolve(f"img:{tiny_resnet_dir}"), resolve("minilm")
    assert fit_problem(clip, text_ds) == (f"clip:{tiny_clip_dir} embeds images and notes is a text dataset: "
                                          "use a text model")
    assert fit_problem(minilm, mixed) == ("minilm embeds text and shapes is an image dataset: use a clip:FOLDER "
                                          "(text and image queries) or img:FOLDER (image queries) model")
    assert fit_problem(img, mixed) == (f"img:{tiny_resnet_dir} is an image backbone (image→image only): it cannot "
                                       "embed the 1 text queries of shapes; keep only the image queries (--queries "
                                       "image, or 'image' under Queries on the Retrieval page)")
    assert fit_problem(clip, mixed) is None and fit_problem(img, mixed.select_queries("image")) is None


# ---------------------------------------------------------------- the encoders

@CLIP_KINDS
def test_clip_like_vectors(clip_like, dim, images):
    spec = resolve(f"clip:{clip_like}")
    enc = spec.encoder()
    assert enc.dim == dim
    text, image = enc.raw.encode(TEXTS), enc.raw.encode_images([str(p) for p in images])
    assert text.shape == (len(TEXTS), dim) and image.shape == (len(images), dim)
    assert text.dtype == image.dtype == np.float32
    assert np.linalg.norm(text, axis=1) == pytest.approx([1.0] * len(TEXTS), abs=1e-6)
    assert np.linalg.norm(image, axis=1) == pytest.approx([1.0] * len(images), abs=1e-6)
    assert len({v.tobytes() for v in image}) == len(images)  # five different images, five different vectors
    # one by one equals the batch (padding and batching change nothing), and twice is the same
    np.testing.assert_allclose(np.vstack([enc.raw.encode([t]) for t in TEXTS]), text, atol=1e-5)
    np.testing.assert_allclose(np.vstack([enc.raw.encode_images([str(p)]) for p in images]), image, atol=1e-5)
    twice = enc.raw.encode_images([str(images[0])] * 2)
    np.testing.assert_array_equal(twice[0], twice[1])
    np.testing.assert_array_equal(enc.raw.encode_images([str(images[0])]), enc.raw.encode_images([str(images[0])]))
    np.testing.assert_allclose(enc.embed_query(TEXTS[0]), text[0], atol=1e-6)
    if not enc.raw.is_sentence_transformer:
        assert enc.raw.model.model.training is False and next(enc.raw.model.model.parameters()).dtype == torch.float32


@pytest.mark.parametrize("clip_like", ["tiny_clip_dir", "tiny_siglip_dir"], indirect=True, ids=["clip", "siglip"])
def test_text_and_image_vectors_are_the_models_own_joint_space(clip_like, images):
    """The model's own forward scores text against image by its scaled cosine (SigLIP adds a bias):
    our normalised text and image vectors reproduce its logits."""
    from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

    enc = ClipEncoder(str(clip_like), "cpu")
    text, image = enc.encode(TEXTS), enc.encode_images([str(p) for p in images])
    model = AutoModel.from_pretrained(clip_like).eval()
    siglip = model.config.model_type == "siglip"
    tokens = AutoTokenizer.from_pretrained(clip_like)(TEXTS, padding="max_length" if siglip else True,
                                                      return_tensors="pt")
    pixels = AutoImageProcessor.from_pretrained(clip_like, backend="pil")([open_image(p) for p in images],
                                                                          return_tensors="pt")
    with torch.inference_mode():
        logits = model(**tokens, **pixels).logits_per_text.numpy()
    scale = model.logit_scale.exp().item()
    bias = model.logit_bias.item() if siglip else 0.0
    np.testing.assert_allclose(logits, scale * text @ image.T + bias, atol=1e-4)


def test_a_sentence_transformers_clip_folder_gives_the_transformers_vectors(tiny_clip_dir, tiny_st_clip_dir, images):
    hf, st = ClipEncoder(str(tiny_clip_dir), "cpu"), ClipEncoder(str(tiny_st_clip_dir), "cpu")
    assert (hf.is_sentence_transformer, st.is_sentence_transformer) == (False, True)
    paths = [str(p) for p in images]
    np.testing.assert_allclose(st.encode(TEXTS), hf.encode(TEXTS), atol=1e-5)
    np.testing.assert_allclose(st.encode_images(paths), hf.encode_images(paths), atol=1e-5)


def test_models_load_once_per_folder_and_device(tiny_clip_dir):
    a, b = ClipEncoder(str(tiny_clip_dir), "cpu"), ClipEncoder(str(tiny_clip_dir), "cpu")
    assert a.model is b.model
    assert resolve(f"clip:{tiny_clip_dir}").encoder() is resolve(f"clip:{tiny_clip_dir}").encoder()


def test_resnet_pools_its_last_feature_map_and_refuses_text(tiny_resnet_dir, images, tmp_path):
    from transformers import AutoImageProcessor, AutoModel

    spec = resolve(f"img:{tiny_resnet_dir}")
    enc = spec.encoder()
    paths = [str(p) for p in images]
    vecs = enc.embed_images(paths)
    assert enc.dim == 16 and vecs.shape == (5, 16) and vecs.dtype == np.float32
    assert np.linalg.norm(vecs, axis=1) == pytest.approx([1.0] * 5, abs=1e-6)
    np.testing.assert_allclose(np.vstack([enc.raw.encode_images([p]) for p in paths]), vecs, atol=1e-5)
    model = AutoModel.from_pretrained(tiny_resnet_dir).eval()  # the oracle: global average of the last map
    pixels = AutoImageProcessor.from_pretrained(tiny_resnet_dir, backend="pil")([open_image(p) for p in paths],
                                                                                return_tensors="pt")
    with torch.inference_mode():
        fmap = model(**pixels).last_hidden_state.mean(dim=(2, 3)).numpy()
    np.testing.assert_allclose(vecs, fmap / np.linalg.norm(fmap, axis=1, keepdims=True), atol=1e-5)

    assert TEXT_ONLY == ("img: models embed images only (an image backbone has no text tower); use a clip:FOLDER "
                         "model for text queries")
    with pytest.raises(ModalityError, match=f"^{TEXT_ONLY}$".replace("(", r"\(").replace(")", r"\)")):
        enc.raw.encode(["a red circle"])
    with pytest.raises(ModalityError):
        enc.embed_query("a red circle")
    queries = [Query("q1", "", image=paths[0]), Query("q2", "a red circle"), Query("q3", "two")]
    with pytest.raises(ModalityError) as err:
        enc.embed_queries(queries)
    assert str(err.value) == (f"img:{tiny_resnet_dir}: img: models embed images only (an image backbone has no text "
                              "tower), so it cannot embed the 2 text queries; keep only the image queries or use a "
                              "clip:FOLDER model")
    np.testing.assert_allclose(enc.embed_queries(queries[:1]), vecs[:1], atol=1e-6)


@pytest.mark.parametrize("make", [make_tiny_vit, make_tiny_dinov2], ids=["vit", "dinov2"])
def test_transformer_backbones_give_their_pooled_output(make, tmp_path, images):
    from transformers import AutoImageProcessor, AutoModel

    folder = make(tmp_path / "model")
    assert resolve(f"img:{folder}").availability() == (True, "ready")
    paths = [str(p) for p in images]
    vecs = resolve(f"img:{folder}").encoder().embed_images(paths)
    model = AutoModel.from_pretrained(folder).eval()
    pixels = AutoImageProcessor.from_pretrained(folder, backend="pil")([open_image(p) for p in paths],
                                                                       return_tensors="pt")
    with torch.inference_mode():
        pooled = model(**pixels).pooler_output.numpy()
    assert vecs.shape == (5, 32)
    np.testing.assert_allclose(vecs, pooled / np.linalg.norm(pooled, axis=1, keepdims=True), atol=1e-5)


def test_a_vit_saved_without_its_pooler_is_pooled_by_the_mean_of_its_tokens(tmp_path, images):
    """A random pooler (missing from the checkpoint) would make every vector noise: the mean is used."""
    from transformers import AutoImageProcessor, ViTModel

    full = make_tiny_vit(tmp_path / "vit")
    ViTModel.from_pretrained(full, add_pooling_layer=False).save_pretrained(tmp_path / "vit-nopool")
    shutil.copy(full / "preprocessor_config.json", tmp_path / "vit-nopool")
    paths = [str(p) for p in images]
    pooled, mean = (ImageBackboneEncoder(str(tmp_path / d), "cpu").encode_images(paths) for d in ("vit", "vit-nopool"))
    model = ViTModel.from_pretrained(full).eval()
    pixels = AutoImageProcessor.from_pretrained(full, backend="pil")([open_image(p) for p in paths],
                                                                     return_tensors="pt")
    with torch.inference_mode():
        out = model(**pixels)
    for got, want in ((pooled, out.pooler_output.numpy()), (mean, out.last_hidden_state.mean(dim=1).numpy())):
        np.testing.assert_allclose(got, want / np.linalg.norm(want, axis=1, keepdims=True), atol=1e-5)


def test_a_half_precision_folder_runs_in_float32(tmp_path, tiny_resnet_dir, images):
    """transformers 5 loads a checkpoint in its saved dtype by default: the encoders ask for float32."""
    from transformers import AutoModel

    AutoModel.from_pretrained(tiny_resnet_dir).half().save_pretrained(tmp_path / "half")
    shutil.copy(tiny_resnet_dir / "preprocessor_config.json", tmp_path / "half")
    enc = ImageBackboneEncoder(str(tmp_path / "half"), "cpu")
    vecs = enc.encode_images([str(images[0])])
    assert next(enc.model.model.parameters()).dtype == torch.float32 and vecs.dtype == np.float32
    np.testing.assert_allclose(vecs, ImageBackboneEncoder(str(tiny_resnet_dir), "cpu").encode_images([str(images[0])]),
                               atol=2e-2)  # the same weights, rounded to float16


def test_tiny_builds_are_deterministic(tmp_path, tiny_clip_dir):
    again = make_tiny_clip(tmp_path / "clip")
    assert (again / "model.safetensors").read_bytes() == (tiny_clip_dir / "model.safetensors").read_bytes()


# ---------------------------------------------------------------- the cache and queries

def test_image_vectors_are_cached_by_the_bytes_of_the_image(tiny_clip_dir, tmp_path):
    spec = resolve(f"clip:{tiny_clip_dir}")
    enc = spec.encoder()
    paths = [draw(tmp_path / "a.png", "red"), draw(tmp_path / "b.png", "blue", "square"),
             draw(tmp_path / "c.png", "green")]
    seen: list[tuple[int, int]] = []
    first = enc.embed_images([str(p) for p in paths], [sha(p) for p in paths], lambda d, n: seen.append((d, n)),
                             batch_size=2)
    assert enc.last_cache_hits == 0 and seen == [(0, 3), (2, 3), (3, 3)]
    assert enc.cache.count(spec.cache_key + "#image") >= 3
    np.testing.assert_allclose(first, enc.raw.encode_images([str(p) for p in paths]), atol=1e-6)
    again = enc.embed_images([str(p) for p in paths])  # no shas given: computed from the files
    assert enc.last_cache_hits == 3
    np.testing.assert_array_equal(again, first)
    moved = shutil.copy(paths[0], tmp_path / "moved.png")  # same bytes elsewhere: a hit
    enc.embed_images([str(moved)], [sha(moved)])
    assert enc.last_cache_hits == 1
    draw(paths[1], "green", "square")  # same path, different bytes: re-embedded
    changed = enc.embed_images([str(p) for p in paths], [sha(p) for p in paths])
    assert enc.last_cache_hits == 2
    np.testing.assert_array_equal(changed[[0, 2]], first[[0, 2]])
    assert not np.allclose(changed[1], first[1])
    np.testing.assert_allclose(changed[1], enc.raw.encode_images([str(paths[1])])[0], atol=1e-6)
    draw(paths[1], "red")  # now the bytes of a.png: a's vector, from the cache
    np.testing.assert_array_equal(enc.embed_images([str(paths[1])]), first[:1])
    assert enc.last_cache_hits == 1
    with pytest.raises(ValueError, match="^embed_images: 3 paths but 1 shas$"):
        enc.embed_images([str(p) for p in paths], ["x"])


def test_text_vectors_keep_their_cache_keys(tiny_clip_dir):
    spec = resolve(f"clip:{tiny_clip_dir}")
    enc = spec.encoder()
    texts = [f"a green triangle {uuid.uuid4().hex}", f"nine {uuid.uuid4().hex}"]  # new to this session's cache
    before = enc.cache.count(spec.cache_key)  # (the browser journey embeds the sample's text queries before this)
    enc.embed(texts)
    assert enc.cache.count(spec.cache_key) == before + 2
    assert enc.cache.get_many(spec.cache_key, texts[1:])[0] == pytest.approx(enc.raw.encode(texts[1:])[0], abs=1e-6)


def test_queries_of_both_kinds_come_back_in_query_order(tiny_siglip_dir, tmp_path):
    enc = resolve(f"clip:{tiny_siglip_dir}").encoder()
    a, b = draw(tmp_path / "qa.png", "green"), draw(tmp_path / "qb.png", "blue")
    queries = [Query("q1", "a red circle"), Query("q2", "", image=str(a), image_sha=sha(a)), Query("q3", "seven"),
               Query("q4", "", image=str(b), image_sha=sha(b))]
    vecs = enc.embed_queries(queries)
    assert vecs.shape == (4, 32) and vecs.dtype == np.float32
    np.testing.assert_allclose(vecs[[0, 2]], enc.raw.encode(["a red circle", "seven"]), atol=1e-6)
    np.testing.assert_allclose(vecs[[1, 3]], enc.raw.encode_images([str(a), str(b)]), atol=1e-6)
    np.testing.assert_array_equal(enc.embed_queries(queries), vecs)
    assert enc.last_cache_hits == 4
    assert enc.embed_queries([]).shape == (0, 32)


def test_a_text_model_refuses_images():
    enc = resolve("minilm").encoder()  # refuses before loading anything
    with pytest.raises(ModalityError, match=r"^minilm embeds text only: it cannot embed images; use a clip:FOLDER "
                                            r"or img:FOLDER model$"):
        enc.embed_images(["/x.png"])
    with pytest.raises(ModalityError, match=r"^minilm embeds text only: it cannot embed the 1 image queries; use a "
                                            r"clip:FOLDER or img:FOLDER model$"):
        enc.embed_queries([Query("q1", "text"), Query("q2", "", image="/x.png")])


# ---------------------------------------------------------------- reading images

def test_images_are_read_as_rgb(tmp_path):
    Image.new("RGBA", (4, 4), (255, 0, 0, 0)).save(tmp_path / "clear.png")  # fully transparent red
    Image.new("LA", (4, 4), (0, 128)).save(tmp_path / "la.png")             # half-transparent black
    Image.new("L", (4, 4), 77).save(tmp_path / "grey.png")
    pal = Image.new("P", (4, 4), 1)
    pal.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    pal.save(tmp_path / "pal.png")
    pal.save(tmp_path / "pal-clear.png", transparency=1)
    Image.new("CMYK", (4, 4), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")
    got = {p: open_image(tmp_path / p) for p in ("clear.png", "la.png", "grey.png", "pal.png", "pal-clear.png",
                                                 "cmyk.jpg")}
    assert {im.mode for im in got.values()} == {"RGB"}
    assert got["clear.png"].getpixel((0, 0)) == (255, 255, 255)  # transparency is white, not the hidden red
    assert got["la.png"].getpixel((0, 0)) == (127, 127, 127)
    assert got["grey.png"].getpixel((0, 0)) == (77, 77, 77)
    assert got["pal.png"].getpixel((0, 0)) == (0, 200, 0)
    assert got["pal-clear.png"].getpixel((0, 0)) == (255, 255, 255)
    assert got["cmyk.jpg"].getpixel((0, 0))[0] > 200 and got["cmyk.jpg"].getpixel((0, 0))[1] < 50


def test_an_unreadable_image_names_its_file(tmp_path, tiny_resnet_dir):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError) as err:
        ImageBackboneEncoder(str(tiny_resnet_dir), "cpu").encode_images([str(tmp_path / "broken.png")])
    assert str(err.value).startswith(f"{tmp_path}/broken.png: cannot read the image (UnidentifiedImageError: ")
    with pytest.raises(DatasetError, match=f"^{tmp_path}/gone.png: cannot read the image \\(FileNotFoundError: "):
        open_image(tmp_path / "gone.png")
    enc = resolve(f"img:{tiny_resnet_dir}").encoder()
    with pytest.raises(DatasetError, match=f"^{tmp_path}/gone.png: cannot read the image \\(FileNotFoundError: "
                                           "No such file or directory\\)$"):
        enc.embed_images([str(tmp_path / "gone.png")])  # no sha given: the hash reads the file


def _hub_layout(folder: Path, root: Path) -> Path:
    """``folder`` as the HF cache lays a snapshot out: files are symlinks into ``blobs/``."""
    import hashlib

    repo = root / "models--acme--tiny-clip"
    snap = repo / "snapshots" / ("0" * 40)
    (repo / "blobs").mkdir(parents=True)
    snap.mkdir(parents=True)
    for f in folder.iterdir():
        blob = repo / "blobs" / hashlib.sha256(f.read_bytes()).hexdigest()
        shutil.copy(f, blob)
        (snap / f.name).symlink_to(Path("../..") / "blobs" / blob.name)
    return snap


def test_a_clip_folder_saved_by_the_pinned_transformers_loads_and_embeds_the_same(tmp_path, tiny_clip_dir):
    """transformers 5.24's ``CLIPProcessor.save_pretrained`` writes processor_config.json (the image processor
    inside) and no preprocessor_config.json: the folder is what AutoProcessor loads, so it must run."""
    from transformers import CLIPModel, CLIPProcessor

    saved = tmp_path / "clip-5.24"
    CLIPModel.from_pretrained(tiny_clip_dir).save_pretrained(saved)
    CLIPProcessor.from_pretrained(tiny_clip_dir).save_pretrained(saved)
    files = {p.name for p in saved.iterdir()}
    assert "processor_config.json" in files and "preprocessor_config.json" not in files
    hub = _hub_layout(saved, tmp_path / "hf")
    texts = ["a red circle", "two blue squares"]
    expected = ClipEncoder(str(tiny_clip_dir), "cpu").encode(texts)
    for folder in (saved, hub):
        assert resolve(f"clip:{folder}").availability() == (True, "ready")
        assert np.allclose(ClipEncoder(str(folder), "cpu").encode(texts), expected, atol=1e-6)
