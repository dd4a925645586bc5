"""Readable at a glance (issue 22), read from the live DOM: labels shown whole, chart labels apart.

Three checks, each a piece of JavaScript run in the page plus the Python that judges what it returns:

- ``cut_cells(root)``: HTML table cells (the report's tables, ``st.table``) whose text is wider or taller than the
  cell shows (``scrollWidth > clientWidth``), or ellipsized (``text-overflow: ellipsis`` with overflow).
- ``cut_grid_cells(frame)``: an ``st.dataframe`` draws on a canvas (Glide Data Grid), so its cells have no DOM box.
  The grid's own column widths (the props of its React component, as it sized them) are compared with each label's
  width measured by canvas ``measureText`` in the grid's own fonts (its ``--gdg-*`` theme variables) plus the cell
  padding the grid draws: the header of every column and every cell of the label column (the index, or the first
  column of a table without one) must fit.
- ``overlapping_labels(root)``: pairs of SVG text labels (a report chart, a Plotly chart's layers) whose boxes
  (``getBoundingClientRect``, less the font's inner leading) intersect.

Each returns what is wrong (empty: readable); tests/e2e/test_readability_checks.py shows each one failing on a
deliberately broken case, so an empty answer is not vacuous.

Usage:
    assert not cut_cells(viewer.locator("body"))
    assert not cut_grid_cells(st_page.main.locator('[data-testid="stDataFrame"]').nth(0))
    assert not overlapping_labels(viewer.locator("figure.chart").nth(0))
"""

from __future__ import annotations

CUT_CELLS_JS = """root => Array.from(root.querySelectorAll('th, td')).flatMap(el => {
    const text = el.innerText.trim();
    if (!text || !el.getClientRects().length) return [];
    const cs = getComputedStyle(el);
    const wide = el.scrollWidth > el.clientWidth + 1, tall = el.scrollHeight > el.clientHeight + 1;
    const ellipsis = cs.textOverflow === 'ellipsis' && (wide || Array.from(el.querySelectorAll('*')).some(
        c => c.scrollWidth > c.clientWidth + 1));
    return wide || tall || ellipsis ? [{text, scrollWidth: el.scrollWidth, clientWidth: el.clientWidth,
                                        scrollHeight: el.scrollHeight, clientHeight: el.clientHeight}] : [];
})"""

# The Glide grid's sized columns are props of the React component that draws it (the one with ``columns`` whose
# widths are all numbers and a ``getCellContent``); found by walking up from its accessible table's fiber.
GRID_JS = """frame => {
    const table = frame.querySelector('table[role=grid]');
    if (!table) return null;
    const key = Object.keys(table).find(k => k.startsWith('__reactFiber$'));
    let f = key ? table[key] : null;
    const sized = p => p && Array.isArray(p.columns) && p.columns.length && typeof p.getCellContent === 'function'
        && p.columns.every(c => typeof c.width === 'number');
    while (f && !sized(f.memoizedProps)) f = f.return;
    if (!f) return null;
    const p = f.memoizedProps;
    let styled = table;  // the element carrying the grid's theme as CSS variables
    while (styled && !getComputedStyle(styled).getPropertyValue('--gdg-font-family')) styled = styled.parentElement;
    const cs = getComputedStyle(styled || frame);
    const v = name => cs.getPropertyValue(name).trim();
    const family = v('--gdg-font-family'), pad = parseFloat(v('--gdg-cell-horizontal-padding')) || 8;
    const ctx = document.createElement('canvas').getContext('2d');
    const measure = (font, text) => { ctx.font = font; return ctx.measureText(text).width; };
    const headerFont = `${v('--gdg-header-font-style')} ${family}`;
    const baseFont = `${v('--gdg-base-font-style')} ${family}`;
    const rows = typeof p.rows === 'number' ? p.rows : 0;
    const shown = cell => cell ? String(cell.displayData ?? cell.data ?? '') : '';
    return {padding: pad, headerFont, baseFont, rows,
            columns: p.columns.map((c, i) => ({
                title: c.title || '', width: c.width, sticky: !!c.sticky,
                header: measure(headerFont, c.title || ''),
                cells: Array.from({length: Math.min(rows, 200)}, (_, r) => {
                    const text = shown(p.getCellContent([c.sourceIndex ?? i, r]));
                    return {text, width: measure(baseFont, text)};
                }),
            }))};
}"""

OVERLAP_JS = """root => {
    const boxes = Array.from(root.querySelectorAll('text')).flatMap(t => {
        const text = t.textContent.trim();
        const r = t.getBoundingClientRect();
        if (!text || !t.getClientRects().length || r.width < 1 || r.height < 1) return [];
        const cs = getComputedStyle(t);
        if (cs.visibility === 'hidden' || cs.display === 'none' || parseFloat(cs.opacity) === 0) return [];
        const inset = r.height * 0.15;  // a text box includes the font's inner leading above and below the glyphs
        return [{text, l: r.left, r: r.right, t: r.top + inset, b: r.bottom - inset}];
    });
    const out = [];
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i], b = boxes[j];
        const w = Math.min(a.r, b.r) - Math.max(a.l, b.l), h = Math.min(a.b, b.b) - Math.max(a.t, b.t);
        if (w > 1 && h > 1) out.push([a.text, b.text, Math.round(w), Math.round(h)]);
    }
    return out;
}"""


def cut_cells(root) -> list[dict]:
    """HTML table cells under the locator ``root`` whose text is not shown whole."""
    return root.evaluate(CUT_CELLS_JS)


def grid_columns(frame) -> dict | None:
    """What ``GRID_JS`` reads of one ``[data-testid="stDataFrame"]`` locator (None: no sized grid found)."""
    return frame.evaluate(GRID_JS)


def too_narrow(grid: dict, label_column: int | None = 0) -> list[str]:
    """Labels a grid (``grid_columns``) cannot show whole: every column header, and every cell of column
    ``label_column`` (the row labels: the index, or a table's first column; None: headers only). A label fits
    when its measured width plus the padding the grid draws on both sides is within the column's width."""
    pad, out = 2 * grid["padding"], []
    for i, col in enumerate(grid["columns"]):
        if col["header"] + pad > col["width"] + 0.5:
            out.append(f"header {col['title']!r}: {col['header']:.0f} px of text in a {col['width']:.0f} px column")
        if i == label_column:
            out += [f"row label {c['text']!r}: {c['width']:.0f} px of text in a {col['width']:.0f} px column"
                    for c in col["cells"] if c["width"] + pad > col["width"] + 0.5]
    return out


def cut_grid_cells(frame, label_column: int | None = 0) -> list[str]:
    grid = grid_columns(frame)
    assert grid is not None, "no Glide grid with sized columns found under this st.dataframe"
    return too_narrow(grid, label_column)


def overlapping_labels(root) -> list[list]:
    """Pairs ``[text a, text b, overlap px wide, overlap px tall]`` of SVG labels under ``root`` that intersect."""
    return root.evaluate(OVERLAP_JS)
