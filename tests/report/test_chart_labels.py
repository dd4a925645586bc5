"""Readable at a glance (issue 22): the report's SVG chart labels are neither cut nor overlapping.

Checked on the SVG text itself: every group label keeps all its words (wrapped into lines that fit its slot,
at 7 px a character: a generous width for 12 px system-ui), the labels of setups that sit close together on
the scatter get boxes that do not intersect, and a legend of long names stays inside the chart.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree

from evaluators.report.charts import LEFT, RIGHT, W, bar_chart, scatter_chart

SVG = "{http://www.w3.org/2000/svg}"
PX = 7.0
RAG_LABELS = ["Faithfulness", "Answer relevancy", "Context precision (LLM)", "Context recall (LLM)",
              "Context precision (non-LLM)", "Context recall (non-LLM)", "ROUGE-L", "BLEU"]


def _svg(markup) -> ElementTree.Element:
    return ElementTree.fromstring(re.search(r"<svg.*</svg>", str(markup), re.S).group(0))


def _box(el) -> tuple[float, float, float, float]:
    x, y, text = float(el.get("x")), float(el.get("y")), el.text or ""
    w = PX * len(text)
    left = {"middle": x - w / 2, "start": x, "end": x - w}[el.get("text-anchor", "start")]
    return left, y - 11, left + w, y + 2


def test_long_metric_names_wrap_inside_their_slot_and_keep_every_word():
    series = [(m, [(0.5, 0.4, 0.6)] * len(RAG_LABELS)) for m in ("minilm", "bm25", "hybrid")]
    svg = _svg(bar_chart(RAG_LABELS, series, "Mean with 95% bootstrap CI"))
    slot = (W - LEFT - RIGHT) / len(RAG_LABELS)
    groups = [t for t in svg.iter(f"{SVG}text") if t.find(f"{SVG}tspan") is not None]
    assert len(groups) == len(RAG_LABELS)
    for label, text in zip(RAG_LABELS, groups):
        lines = [s.text for s in text.findall(f"{SVG}tspan")]
        assert " ".join(lines) == label                       # nothing cut
        scale = float(text.get("font-size")) / 12                # a word wider than the slot gets a smaller font
        assert all(PX * scale * len(line) <= slot for line in lines), (label, lines, slot)   # clear of neighbours


def test_close_setups_on_the_scatter_get_labels_that_do_not_overlap():
    points = [{"label": "bm25", "x": 0.0, "y": 0.175, "highlight": True},
              {"label": "hybrid", "x": 0.0, "y": 0.178, "highlight": False},
              {"label": "minilm", "x": 0.0, "y": 0.181, "highlight": False},
              {"label": "openai-3-small:512", "x": 0.02, "y": 0.18, "highlight": True},
              {"label": "e5", "x": 0.01, "y": 0.9, "highlight": False}]   # far away: the four above sit close
    svg = _svg(scatter_chart(points, "Context precision vs cost", "cost", "Context precision", x_format="${:.4f}"))
    names = {p["label"] for p in points}
    labels = [t for t in svg.iter(f"{SVG}text") if t.text in names]
    assert sorted(t.text for t in labels) == sorted(names)
    boxes = [_box(t) for t in labels]
    for i, a in enumerate(boxes):
        assert 0 <= a[0] and a[2] <= W, (labels[i].text, a)
        for j, b in enumerate(boxes[i + 1:], i + 1):
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (labels[i].text, labels[j].text)


def test_a_crowded_scatter_numbers_its_points_and_names_them_in_a_key():
    # the demo's RAG comparison: six setups whose context precision and p95 sit close (the names overlapped)
    xy = [(181, 0.566), (270, 0.566), (190, 0.567), (265, 0.567), (45, 0.568), (50, 0.568)]
    names = ["minilm + extractive [20261206-140457-a644]", "hybrid + extractive [20261206-140457-a644]",
             "minilm + openai [20261206-140504-76bb]", "hybrid + openai [20261206-140504-76bb]",
             "bm25 + extractive [20261206-140457-a644]", "bm25 + openai [20261206-140504-76bb]"]
    points = [{"label": n, "x": x, "y": y, "highlight": n.startswith("bm25")} for n, (x, y) in zip(names, xy)]
    markup = str(scatter_chart(points, "Context precision (non-LLM) vs latency", "p95 ms", "Context precision"))
    svg = _svg(markup)
    numbers = [t for t in svg.iter(f"{SVG}text") if (t.text or "").isdigit() and t.get("font-size") == "12"
               and t.text in {str(i) for i in range(1, 7)}]
    assert sorted(t.text for t in numbers) == [str(i) for i in range(1, 7)]
    assert not any(n in "".join(t.text or "" for t in svg.iter(f"{SVG}text")) for n in names)  # not in the plot
    boxes = [_box(t) for t in numbers]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])
    key = re.search(r'<p class="chart-key">(.*?)</p></figure>$', markup).group(1)
    assert all(f"{n}</b> {name}" in key.replace("<b>", "") for n, name in
               zip(range(1, 7), [p["label"] for p in sorted(points, key=lambda p: p["highlight"])]))


def test_a_legend_of_long_names_wraps_inside_the_chart():
    names = [f"st:/models/very-long-local-model-name-{i} [20261206-{i:04d}]" for i in range(5)]
    svg = _svg(bar_chart(["nDCG@10"], [(n, [0.5]) for n in names], "Means"))
    texts = [t for t in svg.iter(f"{SVG}text") if t.text in names]
    assert len(texts) == 5
    assert all(_box(t)[2] <= W for t in texts), [(t.text, _box(t)) for t in texts]
    height = float(svg.get("viewBox").split()[3])
    assert all(float(t.get("y")) < height for t in texts)
