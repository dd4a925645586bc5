"""Image retrieval in a real browser: the image sample on the Data page, tiny CLIP and SigLIP compared on the
Retrieval page, an img: backbone refused on text queries and run on the image ones, the text-only RAG quality
page saying so, the result kept across the page switch, and the run's thumbnails on History.

Streamlit draws st.dataframe on a canvas (glide-data-grid): an ImageColumn thumbnail is no <img> element.
Its accessible copy (the hidden table[role=grid] the canvas holds) carries each cell's data:image/png URI,
and the canvas pixels show the drawing; both are asserted: the URI decodes to the sample's 64x64 thumbnail,
and a screenshot of the grid holds the drawing's exact colour (the sample's shapes are flat colours on white,
e.g. blue (30, 80, 220), which nothing else in a grid is drawn in). An image query's own picture is an st.image,
a real <img>.

Random tiny models (tests/support/tiny_models.py): only properties are asserted: an image query whose image is in the
corpus (i1 = corpus/red-circle.png, i2 = corpus/green-star.png) ranks that image first.
"""

from __future__ import annotations

import base64
import io
import re

import pytest

from tests.e2e.journey_helpers import RUN_ID, column, frame_with

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def streamlit_app(shared_app):
    """The app this module shares with the other page walks (tests/e2e/conftest.py, shared_app)."""
    return shared_app

PNG = "data:image/png;base64,"
RGB = {"red": (220, 30, 40), "green": (30, 150, 60), "blue": (30, 80, 220)}  # rag.data.samples.images.COLOURS
RUNS: dict[str, str] = {}  # step -> run id


@pytest.fixture(scope="module")
def models(tiny_clip_dir, tiny_siglip_dir, tiny_resnet_dir) -> dict[str, str]:
    return {"clip": f"clip:{tiny_clip_dir}", "siglip": f"clip:{tiny_siglip_dir}", "resnet": f"img:{tiny_resnet_dir}"}


def png_size(uri: str) -> tuple[int, int]:
    """The size of the PNG a data URI holds (it must decode)."""
    from PIL import Image

    assert uri.startswith(PNG), uri[:60]
    with Image.open(io.BytesIO(base64.b64decode(uri[len(PNG):]))) as im:
        im.load()
        return im.size


def pixels_of(png, rgb: tuple[int, int, int], tol: int = 4) -> int:
    """How many pixels of a screenshot have the colour ``rgb`` (± ``tol`` per channel)."""
    from PIL import Image

    with Image.open(png) as im:
        return sum(n for n, c in im.convert("RGB").getcolors(maxcolors=1 << 24)
                   if all(abs(a - b) <= tol for a, b in zip(c, rgb)))


def grid_shot(p, name: str, index: int = 0):
    """A screenshot of the index-th visible st.dataframe (its canvas, as drawn)."""
    frames = p.main.locator('[data-testid="stDataFrame"]')
    frame = [frames.nth(i) for i in range(frames.count()) if frames.nth(i).is_visible()][index]
    frame.scroll_into_view_if_needed()
    p.wait_idle(settle=0.8, start=0)  # the canvas draws the rows it scrolled into view
    path = p.artifacts / f"{name}.png"
    frame.screenshot(path=str(path))
    return path


def view_shot(p, name: str, what=None):
    """A screenshot of the window only (``what`` scrolled into view): cheaper than ``StreamlitPage.shot``."""
    if what is not None:
        what.scroll_into_view_if_needed()
    p.wait_idle(settle=0.3, start=0)
    path = p.artifacts / f"{name}.png"
    p.page.screenshot(path=str(path))
    return path


def pick_query(p, option: str) -> None:
    """The "Query" selectbox set to ``option`` ("i1: ...") as a user with a keyboard does: open it, type "i1:",
    Enter. Its list draws only the options in view and an image query comes after the ten text ones, so
    StreamlitPage.select finds it only on its third try, 10 s later (it types then)."""
    box = p.main.get_by_role("combobox", name="Query", exact=True).first
    opt = p.page.get_by_role("option", name=option, exact=True).first
    p.wait_idle(settle=0.2, start=0)
    box.click()
    p.page.keyboard.type(option.split(":")[0] + ":")  # filters the list down to this one query
    try:
        opt.wait_for(state="visible", timeout=10_000)
    except Exception:  # the list did not open: the generic way
        p.page.keyboard.press("Escape")
        p.select("Query", option)
        return
    p.page.keyboard.press("Enter")
    p.wait_idle()
    assert box.input_value() == option, box.input_value()


def shown_run(p) -> str:
    """The run id in the Retrieval page's caption "Run <id> · k = … · N judged queries"."""
    caption = p.main.get_by_text(re.compile(r"^Run .* · k = \d+ · \d+ judged queries")).first
    return RUN_ID.search(caption.inner_text()).group(0) if caption.is_visible() else ""


def rank_table(p, models: list[str]) -> list[list[str]]:
    """The per-query table of an image run: Rank, then per model its thumbnails and its ✅/❎ column."""
    rows = frame_with(p, "Rank")
    assert rows[0] == ["Rank", *[c for m in models for c in (f"🖼️ {m}", m)]], rows[0]
    assert column(rows, "Rank")[-2:] == ["Precision", "Recall"]
    return rows


# ---------------------------------------------------------------------------------------------- steps

def test_01_data_page_loads_the_image_sample_with_thumbnails(st_page):
    p = st_page
    p.press("Load the image sample", "Loaded image-sample.")
    caption = p.text(re.compile(r"^Dataset image-sample: 30 images")).inner_text()
    assert re.fullmatch(r"Dataset image-sample: 30 images, 15 judged questions \(10 text, 5 image\), \d+ judgments\.",
                        caption), caption
    docs = frame_with(p, "caption")
    assert docs[0] == ["image", "id", "file", "caption"]
    first = dict(zip(docs[0], docs[1]))
    assert first["id"] == "blue-circle" and first["file"] == "blue-circle.png" and first["caption"] == "a blue circle"
    assert all(png_size(u) == (64, 64) for u in column(docs, "image")), "every thumbnail is a 64x64 PNG"
    assert p.main.locator('[data-testid="stDataFrame"] img').count() == 0  # drawn on the canvas, not as <img>
    # The first rows are the blue shapes (ids sorted): their flat blue is on the canvas, so the images are drawn.
    assert pixels_of(grid_shot(p, "img_01_documents_grid"), RGB["blue"]) > 2000

    p.main.get_by_role("tab", name="Questions").click()
    p.cell("t1")  # the text queries come first
    questions = frame_with(p, "kind")
    assert questions[0] == ["id", "kind", "question", "image", "relevant"]
    t1 = dict(zip(questions[0], questions[1]))
    assert t1["id"] == "t1" and t1["kind"] == "text" and t1["question"] and t1["image"] == ""
    frame = p.main.locator('[data-testid="stDataFrame"]').filter(visible=True).first
    frame.hover()
    p.page.mouse.wheel(0, 2000)  # the grid holds only the rows in view: scroll down to the image queries
    p.cell("i1")
    questions = frame_with(p, "kind")
    i1 = next(dict(zip(questions[0], r)) for r in questions[1:] if r[0] == "i1")
    assert i1["kind"] == "image" and i1["question"] == "red-circle.png"
    assert png_size(i1["image"]) == (64, 64) and i1["relevant"] == "red-circle, red-circle-small"
    assert pixels_of(grid_shot(p, "img_01_questions_grid"), RGB["red"]) > 500  # i1's red circle is drawn
    p.main.get_by_role("tab", name="Documents").click()
    p.shot("img_01_data")


def test_02_retrieval_compares_clip_and_siglip(st_page, models):
    p = st_page
    pair = [models["clip"], models["siglip"]]
    p.goto("Retrieval")
    p.text("Image datasets are searched with image models")  # no registry model embeds images
    assert p.main.get_by_role("button", name="Compare", exact=True).is_disabled()
    p.fill("Your own models (comma-separated)", ", ".join(pair))
    p.fill("k (top documents)", "5")
    p.press("Compare", lambda: bool(shown_run(p)), timeout=300)
    caption = p.text(re.compile(r"^Run .* · k = 5 · 15 judged queries")).inner_text()
    RUNS["pair"] = RUN_ID.search(caption).group(0)
    assert not p.main.locator('[data-testid="stAlertContentError"]').count()
    metrics = frame_with(p, "ndcg@5")
    assert column(metrics, "model") == pair
    assert all(re.fullmatch(r"[01]\.\d{3} \[[01]\.\d{3}, [01]\.\d{3}\]", v) for v in column(metrics, "ndcg@5")), metrics
    p.text("Who wins, and how sure we are")

    # The first query is a text one; then i1, a corpus image: both models rank its own image first.
    pick_query(p, "i1: 🖼️ red-circle.png (image)")
    p.text("Image query red-circle.png · relevant: red-circle.png, red-circle-small.png")
    picture = p.main.locator('[data-testid="stImage"] img')
    assert picture.count() == 1  # the query's own picture, a real <img>
    # the 64x64 file itself (thumbnails never upscale), drawn up to 128 px wide (ui.images.QUERY_PX; its column
    # is a little narrower at this window width)
    complete, natural, drawn = picture.first.evaluate(
        "i => [i.complete, i.naturalWidth, i.getBoundingClientRect().width]")
    assert complete and natural == 64 and 100 < drawn <= 128, (complete, natural, drawn)
    p.cell("✅ red-circle.png")
    table = rank_table(p, pair)
    for m in pair:
        marks, thumbs = column(table, m), column(table, f"🖼️ {m}")
        assert marks[0] == "✅ red-circle.png", (m, marks)
        assert all(c[:2] in ("✅ ", "❎ ") and c.endswith(".png") for c in marks[:5]), marks
        assert all(png_size(u) == (64, 64) for u in thumbs[:5]) and thumbs[5:] == ["", ""], thumbs
    shot = grid_shot(p, "img_02_rank_i1_grid", index=-1)
    assert pixels_of(shot, RGB["red"]) > 1000  # the red circle, drawn at rank 1 for both models
    assert pixels_of(shot, (0xd4, 0xf0, 0xd4), tol=3) > 1000  # the ✅ cells' green tint (TINTS["relevant"])
    p.shot("img_02_retrieval_i1")


def test_03_an_img_backbone_needs_the_image_queries(st_page, models):
    p = st_page
    three = [models["clip"], models["siglip"], models["resnet"]]
    p.fill("Your own models (comma-separated)", ", ".join(three))
    why_box = p.text(re.compile(r"is an image backbone \(image→image only\)"))
    why = why_box.inner_text()
    assert why.endswith(f"{models['resnet']} is an image backbone (image→image only): it cannot embed the 10 text "
                        "queries of image-sample; keep only the image queries (--queries image, or 'image' under "
                        "Queries on the Retrieval page)"), why
    assert p.main.get_by_role("button", name="Compare", exact=True).is_disabled()
    view_shot(p, "img_03_backbone_refused", why_box)

    image_queries = p.main.get_by_role("radio", name="image (5)")
    for _ in range(3):  # a click that lands in a rerun in flight is lost: until the choice holds
        p.wait_idle(settle=0.2, start=0)
        p.main.get_by_text("image (5)", exact=True).click()
        p.wait_idle()
        if image_queries.is_checked():
            break
    assert image_queries.is_checked()
    assert not p.main.get_by_text(re.compile(r"image backbone")).count()
    assert p.main.get_by_role("button", name="Compare", exact=True).is_enabled()
    p.press("Compare", lambda: shown_run(p) not in ("", RUNS["pair"]), timeout=300)
    p.text(re.compile(r"^Run .* · k = 5 · 5 judged queries"))
    RUNS["three"] = shown_run(p)
    assert column(frame_with(p, "ndcg@5"), "model") == three
    pick_query(p, "i2: 🖼️ green-star.png (image)")
    p.cell("✅ green-star.png")
    table = rank_table(p, three)
    assert [column(table, m)[0] for m in three] == ["✅ green-star.png"] * 3
    assert pixels_of(grid_shot(p, "img_03_rank_i2_grid", index=-1), RGB["green"]) > 1000
    view_shot(p, "img_03_retrieval_image_queries", p.main.get_by_text("Per query: which documents").first)


def test_04_rag_quality_sends_image_datasets_to_retrieval_and_the_result_stays(st_page, models):
    p = st_page
    three = [models["clip"], models["siglip"], models["resnet"]]
    p.goto("RAG quality", timeout=240)
    note = p.text(re.compile(r"image datasets are evaluated on the Retrieval page only")).inner_text()
    assert "image-sample is an image dataset" in note, note
    assert not p.main.get_by_role("button", name="Run", exact=True).count()
    view_shot(p, "img_04_rag_quality")

    # Back on Retrieval: the last run is shown again, with the Queries choice and the models it was made with
    # (Streamlit drops a widget's value on a page switch; ui.pickers.kept keeps these two in the session).
    p.goto("Retrieval")
    p.text(re.compile(r"^Run .* · k = 5 · 5 judged queries"))
    assert shown_run(p) == RUNS["three"]
    assert p.main.get_by_role("radio", name="image (5)").is_checked()
    assert p.field("Your own models (comma-separated)").input_value() == ", ".join(three)
    assert column(frame_with(p, "ndcg@5"), "model") == three
    assert not p.main.get_by_text("Choose models and k, then press").count()
    assert p.main.get_by_role("button", name="Compare", exact=True).is_enabled()
    p.cell("✅ red-circle.png")  # the per-query table, on its first query (i1) again
    view_shot(p, "img_04_retrieval_back", p.main.get_by_text("Per query: which documents").first)


def test_05_history_lists_the_run_with_thumbnails(st_page, models):
    p = st_page
    three = [models["clip"], models["siglip"], models["resnet"]]
    p.goto("History")
    runs = frame_with(p, "kind")
    listed = {r[runs[0].index("id")]: dict(zip(runs[0], r)) for r in runs[1:]}
    for step in ("pair", "three"):
        assert listed[RUNS[step]]["kind"] == "retrieval" and listed[RUNS[step]]["dataset"] == "image-sample", listed
    p.select("Open one run, or pick two or more to compare", RUNS["three"], exact=False)
    p.main.get_by_role("tab", name="Per query").click()
    p.wait_idle()
    pick_query(p, "i2: 🖼️ green-star.png (image)")
    p.cell("✅ green-star.png")
    table = rank_table(p, three)
    assert [column(table, m)[0] for m in three] == ["✅ green-star.png"] * 3
    assert all(png_size(column(table, f"🖼️ {m}")[0]) == (64, 64) for m in three)
    assert pixels_of(grid_shot(p, "img_05_history_grid", index=-1), RGB["green"]) > 1000
    view_shot(p, "img_05_history_per_query", p.main.get_by_role("tab", name="Per query"))
