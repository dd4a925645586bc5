"""The readability checks (tests/e2e/readability.py) fail on deliberately broken cases, so their empty answers on
the History page and the report (test_demo.py) mean something. Chromium only: no app is started."""

from __future__ import annotations

import pytest

from tests.e2e.readability import cut_cells, cut_grid_cells, overlapping_labels, too_narrow

FONT = "font-family:'DejaVu Sans',sans-serif;font-size:14px"


@pytest.fixture(scope="module")
def page(browser):
    context = browser.new_context(viewport={"width": 800, "height": 600})
    yield context.new_page()
    context.close()


def test_a_cell_too_narrow_for_its_label_is_found(page):
    page.set_content(f"""<body style="{FONT}"><table id="cut" style="table-layout:fixed;width:120px">
        <tr><th style="width:40px;overflow:hidden;white-space:nowrap">Precision</th><td>0.25</td></tr>
        <tr><th style="width:40px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis">Recall</th>
            <td>0.5</td></tr></table>
        <table id="whole"><tr><th>Precision</th><td>0.25</td></tr><tr><th>Recall</th><td>0.5</td></tr></table>""")
    assert [c["text"] for c in cut_cells(page.locator("#cut"))] == ["Precision", "Recall"]
    assert cut_cells(page.locator("#whole")) == []


def test_overlapping_chart_labels_are_found(page):
    page.set_content(f"""<body style="{FONT}"><svg id="svg" width="400" height="200" font-size="12">
        <g id="apart"><text x="10" y="20">bm25</text><text x="10" y="60">hybrid</text>
           <text x="200" y="20">minilm + extractive</text></g>
        <g id="clash"><text x="10" y="120">bm25 + extractive</text><text x="40" y="124">hybrid + extractive</text>
        </g></svg>""")
    assert overlapping_labels(page.locator("#apart")) == []
    [pair] = overlapping_labels(page.locator("#clash"))
    assert pair[:2] == ["bm25 + extractive", "hybrid + extractive"] and pair[2] > 50


def test_a_grid_column_narrower_than_its_row_labels_is_found(page):
    """The grid check's JavaScript on a stand-in of what it reads in Streamlit's grid: an accessible table whose
    React fiber leads to the sized columns, under an element with the grid's theme variables."""
    page.set_content("""<body><div id="grid" style="--gdg-font-family:sans-serif;--gdg-base-font-style:13px;
        --gdg-header-font-style:600 13px;--gdg-cell-horizontal-padding:8px"><table role="grid"></table></div>""")

    def grid(width: int) -> list[str]:
        page.evaluate("""width => {
            const cells = [['1', '2', 'Precision', 'Recall'], ['0.25', '0.50', '0.25', '0.50']];
            const props = {columns: [{title: 'Rank', width, sourceIndex: 0}, {title: 'minilm', width: 90,
                                      sourceIndex: 1}],
                           rows: 4, getCellContent: ([c, r]) => ({kind: 'text', displayData: cells[c][r]})};
            document.querySelector('#grid table')['__reactFiber$test'] = {memoizedProps: {}, return:
                {memoizedProps: {children: []}, return: {memoizedProps: props, return: null}}};
        }""", width)
        return cut_grid_cells(page.locator("#grid"))

    narrow = grid(60)  # "Recall" fits in 60 px, "Precision" (about 53 px of text and 2 × 8 px padding) does not
    assert len(narrow) == 1 and narrow[0].startswith("row label 'Precision': "), narrow
    assert grid(110) == []


def test_too_narrow_judges_headers_and_the_label_column_only():
    col = {"title": "cost basis", "width": 60.0, "header": 70.0, "cells": [{"text": "a long basis", "width": 90.0}]}
    label = {"title": "setup", "width": 80.0, "header": 30.0,
             "cells": [{"text": "minilm + extractive", "width": 120.0}]}
    grid = {"padding": 8, "columns": [label, col]}
    assert too_narrow(grid) == ["row label 'minilm + extractive': 120 px of text in a 80 px column",
                                "header 'cost basis': 70 px of text in a 60 px column"]
    assert too_narrow(grid, label_column=None) == ["header 'cost basis': 70 px of text in a 60 px column"]


def test_the_reports_bar_chart_keeps_its_labels_apart_with_many_bars(page):
    """The report's grouped bars with 8 RAG metrics × 3 models of nearly equal means (the demo's judged run): the
    value labels above the bars overlapped; drawn in the browser, no two labels of the chart intersect."""
    from evaluators.report.charts import bar_chart
    from tests.report.test_chart_labels import RAG_LABELS

    series = [(m, [(0.562 + 0.003 * i, 0.5, 0.6)] * len(RAG_LABELS)) for i, m in enumerate(("minilm", "bm25",
                                                                                             "hybrid"))]
    page.set_content(f'<body style="width:760px">{bar_chart(RAG_LABELS, series, "Mean with 95% CI")}</body>')
    assert page.locator("svg text").count() > len(RAG_LABELS) + 3
    assert overlapping_labels(page.locator("svg")) == []
    two = [(m, [(0.562 + 0.003 * i, 0.5, 0.6)] * 2) for i, m in enumerate(("minilm", "bm25", "hybrid"))]
    page.set_content(f'<body style="width:760px">{bar_chart(["nDCG@4", "MRR@4"], two, "Means")}</body>')
    assert page.get_by_text("0.565", exact=True).count() == 2        # wide bars keep their values
    assert overlapping_labels(page.locator("svg")) == []
