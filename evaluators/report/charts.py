"""Small static SVG charts for the report: bars with error bars, lines, a labelled scatter.

Why not Plotly in the report: inlining plotly.js made a one-run report 4.8 MB, and rendering
Plotly figures to SVG offline needs kaleido, which needs a Chrome. These charts are plain SVG
text (a few KB each), drawn here without a browser, print cleanly, and open offline. The pages
keep their interactive Plotly charts. Every label is HTML-escaped; each mark carries a ``<title>``
so hovering shows its exact value. Colours: the Okabe–Ito palette (colour-blind safe).

Usage:
    bar_chart(["nDCG@5", "MRR"], [("minilm", [(0.61, 0.52, 0.70), (0.7, 0.6, 0.8)])], "Mean with 95% CI")
    line_chart([("minilm p95", [0, 1, 2], [40, 42, 45])], "p95 over time", "seconds", "ms")
    scatter_chart([{"label": "bm25", "x": 45, "y": 0.66, "highlight": True}], "nDCG vs latency", "ms", "nDCG")
"""

from __future__ import annotations

import math
from html import escape

from markupsafe import Markup

from rag.i18n import _

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8C6D1F", "#000000"]
W, H = 720, 360
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 44, 64
FONT = 'font-family="system-ui,sans-serif"'


def _e(text) -> str:
    return escape(str(text), quote=True)


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (1-2-5 steps)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    if ticks[-1] < hi:
        ticks.append(round(t, 10))
    return ticks


def _tick_text(v: float, ticks: list[float]) -> str:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1
    digits = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{v:,.{digits}f}"


class _Canvas:
    """One chart: an x and a y scale over the plot area, SVG parts appended in order."""

    def __init__(self, title: str, x_label: str, y_label: str, width: int = W, height: int = H, extra: int = 0):
        self.w, self.h = width, height + extra   # ``extra``: room below the plot for wrapped labels, legend rows
        self.x0, self.x1, self.y0, self.y1 = LEFT, width - RIGHT, height - BOTTOM, TOP
        height = self.h
        self.parts = [f'<text x="{width / 2:.0f}" y="22" text-anchor="middle" font-size="15" '
                      f'font-weight="600">{_e(title)}</text>',
                      f'<text x="{(self.x0 + self.x1) / 2:.0f}" y="{height - 30}" text-anchor="middle" '
                      f'font-size="12" fill="#333">{_e(x_label)}</text>',
                      f'<text transform="translate(16 {(self.y0 + self.y1) / 2:.0f}) rotate(-90)" '
                      f'text-anchor="middle" font-size="12" fill="#333">{_e(y_label)}</text>']

    def y_axis(self, lo: float, hi: float) -> None:
        self.yt = nice_ticks(lo, hi)
        self.ylo, self.yhi = self.yt[0], self.yt[-1]
        for t in self.yt:
            y = self.sy(t)
            self.parts.append(f'<line x1="{self.x0}" x2="{self.x1}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>'
                              f'<text x="{self.x0 - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                              f'fill="#444">{_tick_text(t, self.yt)}</text>')
        self.parts.append(f'<line x1="{self.x0}" x2="{self.x0}" y1="{self.y0}" y2="{self.y1}" stroke="#888"/>'
                          f'<line x1="{self.x0}" x2="{self.x1}" y1="{self.y0}" y2="{self.y0}" stroke="#888"/>')

    def x_axis(self, lo: float, hi: float) -> None:
        self.xt = nice_ticks(lo, hi)
        self.xlo, self.xhi = self.xt[0], self.xt[-1]
        for t in self.xt:
            x = self.sx(t)
            self.parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{self.y0}" y2="{self.y0 + 4}" stroke="#888"/>'
                              f'<text x="{x:.1f}" y="{self.y0 + 17}" text-anchor="middle" font-size="11" '
                              f'fill="#444">{_tick_text(t, self.xt)}</text>')

    def sy(self, v: float) -> float:
        return self.y0 - (v - self.ylo) / (self.yhi - self.ylo) * (self.y0 - self.y1)

    def sx(self, v: float) -> float:
        return self.x0 + (v - self.xlo) / (self.xhi - self.xlo) * (self.x1 - self.x0)

    def legend(self, names: list[str], colors: list[str], marker: str = "rect") -> None:
        """One entry per name, wrapped onto as many rows as the width needs (``legend_rows`` reserved them)."""
        for (x, row), name, color in zip(legend_layout(names, self.x0, self.w - RIGHT), names, colors):
            y = self.h - 12 - 18 * (legend_rows(names, self.x0, self.w - RIGHT) - 1 - row)
            shape = (f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{color}"/>' if marker == "rect" else
                     f'<line x1="{x - 2}" x2="{x + 12}" y1="{y - 4}" y2="{y - 4}" stroke="{color}" stroke-width="3"/>')
            self.parts.append(shape + f'<text x="{x + 15}" y="{y}" font-size="12">{_e(name)}</text>')

    def svg(self, desc: str) -> Markup:
        return Markup(f'<figure class="chart"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.w} {self.h}" '
                      f'role="img" aria-label="{_e(desc)}" {FONT} style="max-width:100%;height:auto">'
                      f'<title>{_e(desc)}</title>' + "".join(self.parts) + "</svg></figure>")


CHAR_PX = 7.0   # average width of a 12 px system-ui character: what label layout budgets per character


def legend_layout(names: list[str], x0: float, x1: float) -> list[tuple[float, int]]:
    """(x, row) of each legend entry: left to right, a new row when the next one would pass ``x1``."""
    out, x, row = [], x0, 0
    for name in names:
        width = 30 + CHAR_PX * len(str(name))
        if x > x0 and x + width - 15 > x1:
            x, row = x0, row + 1
        out.append((x, row))
        x += width
    return out


def legend_rows(names: list[str], x0: float, x1: float) -> int:
    return max((row for _, row in legend_layout(names, x0, x1)), default=0) + 1


def wrap_label(text: str, max_chars: int) -> list[str]:
    """Words onto lines of at most ``max_chars`` characters (a longer word keeps a line of its own): a group
    label wider than its slot is wrapped, never overlapped with its neighbour or cut."""
    lines: list[str] = []
    for word in str(text).split():
        if lines and len(lines[-1]) + 1 + len(word) <= max_chars:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _boxes_overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(points: list[tuple[float, float, str]], bounds: tuple[float, float, float, float],
                 strict: bool = False) -> list[tuple[float, float, str]] | None:
    """(x, y, text-anchor) for each point's label: above it, else below, right, left, or further above,
    the first spot that overlaps no label placed before and stays inside ``bounds`` (x0, y0, x1, y1).
    ``strict``: None when some label finds no such spot (the caller then numbers the points)."""
    placed: list[tuple[float, float, float, float]] = []
    marks = [(x - 10, y - 10, x + 10, y + 10) for x, y, _ in points]
    out = []
    for x, y, text in points:
        w, h = CHAR_PX * len(str(text)), 13.0
        spots = [(x, y - 13, "middle"), (x, y + 24, "middle"), (x + 13, y + 4, "start"), (x - 13, y + 4, "end"),
                 (x, y - 28, "middle"), (x, y + 39, "middle"), (x + 13, y - 11, "start"), (x - 13, y - 11, "end"),
                 (x, y - 43, "middle"), (x, y + 54, "middle")]
        chosen = None
        for sx, sy, anchor in spots:
            left = sx - w / 2 if anchor == "middle" else sx if anchor == "start" else sx - w
            box = (left, sy - h + 2, left + w, sy + 2)
            inside = box[0] >= bounds[0] and box[2] <= bounds[2] and box[1] >= bounds[1] and box[3] <= bounds[3]
            if inside and not any(_boxes_overlap(box, o) for o in placed + marks):
                chosen = (sx, sy, anchor, box)
                break
        if chosen is None:  # crowded: the first spot inside the chart, overlap or not
            if strict:
                return None
            sx, sy, anchor = spots[0]
            chosen = (sx, sy, anchor, (sx - w / 2, sy - h + 2, sx + w / 2, sy + 2))
        placed.append(chosen[3])
        out.append(chosen[:3])
    return out


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


VALUE_PX = 6.5  # a generous width of one character of a bar's 10 px value label


def bar_chart(groups: list[str], series: list[tuple[str, list]], title: str, y_label: str = "score",
              y_max: float | None = None, digits: int = 3) -> Markup:
    """Grouped bars: one group per entry of ``groups``, one bar per series. A value is a number,
    ``(mean, low, high)`` (drawn with an error bar) or None (no bar). Each bar's value is written above it when
    the bar is wide enough to hold it (many metrics × models: the labels overlapped), and is always in its
    tooltip and in the report's tables."""
    def parts(v):
        if isinstance(v, (tuple, list)):
            return v[0], (v[1] if len(v) > 1 else None), (v[2] if len(v) > 2 else None)
        return v, None, None

    vals = [x for _, vs in series for v in vs for x in parts(v) if _finite(x)]
    slot = (W - RIGHT - LEFT) / max(len(groups), 1)
    wrapped = [wrap_label(g, max(4, int(slot / CHAR_PX) - 1)) for g in groups]
    extra = 14 * (max((len(w) for w in wrapped), default=1) - 1) + 18 * (legend_rows(
        [n for n, _ in series], LEFT, W - RIGHT) - 1)
    c = _Canvas(title, "", y_label, extra=extra)
    c.y_axis(min(0.0, min(vals, default=0.0)), y_max if y_max is not None else max(vals, default=1.0))
    bw = min(60.0, slot * 0.8 / max(len(series), 1))
    for gi, g in enumerate(groups):
        gx = c.x0 + slot * gi + (slot - bw * len(series)) / 2
        cx = c.x0 + slot * (gi + 0.5)
        lines = "".join(f'<tspan x="{cx:.1f}" dy="{0 if i == 0 else 14}">{_e(line)}</tspan>'
                        for i, line in enumerate(wrapped[gi]))
        longest = max(len(line) for line in wrapped[gi])   # one word wider than the slot: a smaller font
        size = max(8.0, min(12.0, 12.0 * (slot - 4) / (CHAR_PX * longest))) if longest else 12.0
        c.parts.append(f'<text x="{cx:.1f}" y="{c.y0 + 17}" text-anchor="middle" font-size="{size:.1f}">{lines}'
                       f'<title>{_e(g)}</title></text>')
        for si, (name, vs) in enumerate(series):
            mean, lo, hi = parts(vs[gi] if gi < len(vs) else None)
            if not _finite(mean):
                continue
            x, color = gx + bw * si, PALETTE[si % len(PALETTE)]
            y, base = c.sy(mean), c.sy(max(0.0, c.ylo))
            tip = f"{name} · {g}: {mean:.{digits}f}" + (f" [{lo:.{digits}f}, {hi:.{digits}f}]"
                                                        if _finite(lo) and _finite(hi) else "")
            c.parts.append(f'<rect x="{x + 1:.1f}" y="{min(y, base):.1f}" width="{bw - 2:.1f}" '
                           f'height="{abs(base - y):.1f}" fill="{color}"><title>{_e(tip)}</title></rect>')
            top = y
            if _finite(lo) and _finite(hi):
                cx, ylo, yhi = x + bw / 2, c.sy(lo), c.sy(hi)
                top = yhi
                c.parts.append(f'<path d="M{cx:.1f} {ylo:.1f}V{yhi:.1f}M{cx - 5:.1f} {ylo:.1f}h10M{cx - 5:.1f} '
                               f'{yhi:.1f}h10" stroke="#222" stroke-width="1.4" fill="none"/>')
            value = f"{mean:.{digits}f}"
            if bw - 2 >= VALUE_PX * len(value):  # only above a bar it fits: narrower, it ran into its neighbours'
                c.parts.append(f'<text x="{x + bw / 2:.1f}" y="{top - 5:.1f}" text-anchor="middle" font-size="10" '
                               f'fill="#222">{value}</text>')
    c.legend([n for n, _ in series], [PALETTE[i % len(PALETTE)] for i in range(len(series))])
    return c.svg(title)


def line_chart(series: list[tuple[str, list, list]], title: str, x_label: str, y_label: str,
               hline: tuple[float, str] | None = None, markers: bool = False) -> Markup:
    """One line per ``(name, xs, ys)``; points with a missing x or y are skipped. ``hline`` = (y, label)."""
    clean = [(n, [(x, y) for x, y in zip(xs, ys) if _finite(x) and _finite(y)]) for n, xs, ys in series]
    xs = [x for _, pts in clean for x, _ in pts]
    ys = [y for _, pts in clean for _, y in pts] + ([hline[0]] if hline else [])
    c = _Canvas(title, x_label, y_label, extra=18 * (legend_rows([n for n, _ in clean], LEFT, W - RIGHT) - 1))
    c.y_axis(min(0.0, min(ys, default=0.0)), max(ys, default=1.0))
    c.x_axis(min(xs, default=0.0), max(xs, default=1.0))
    for i, (name, pts) in enumerate(clean):
        color = PALETTE[i % len(PALETTE)]
        if pts:
            d = "M" + "L".join(f"{c.sx(x):.1f} {c.sy(y):.1f}" for x, y in pts)
            c.parts.append(f'<path d="{d}" stroke="{color}" stroke-width="2" fill="none"><title>{_e(name)}</title>'
                           "</path>")
        if markers:
            c.parts += [f'<circle cx="{c.sx(x):.1f}" cy="{c.sy(y):.1f}" r="3.5" fill="{color}"><title>'
                        f'{_e(name)}: {x:g}, {y:,.0f}</title></circle>' for x, y in pts]
    if hline:
        y = c.sy(hline[0])
        c.parts.append(f'<line x1="{c.x0}" x2="{c.x1}" y1="{y:.1f}" y2="{y:.1f}" stroke="#D55E00" '
                       f'stroke-dasharray="6 4"/><text x="{c.x1 - 4}" y="{y - 5:.1f}" text-anchor="end" '
                       f'font-size="11" fill="#D55E00">{_e(hline[1])}</text>')
    c.legend([n for n, _ in clean], [PALETTE[i % len(PALETTE)] for i in range(len(clean))], marker="line")
    return c.svg(title)


def scatter_chart(points: list[dict], title: str, x_label: str, y_label: str, x_format: str = "{:,.0f}",
                  connect_highlighted: bool = True) -> Markup:
    """Labelled points ``{"label", "x", "y", "highlight", "tip"}``; highlighted ones (the Pareto
    frontier) are large red stars joined by a dotted line, the rest grey circles."""
    pts = [p for p in points if _finite(p.get("x")) and _finite(p.get("y"))]
    c = _Canvas(title, x_label, y_label)
    ys, xs = [p["y"] for p in pts], [p["x"] for p in pts]
    pad_y = (max(ys) - min(ys)) * 0.15 if len(ys) > 1 and max(ys) > min(ys) else 0.05
    c.y_axis(max(0.0, min(ys, default=0.0) - pad_y), max(ys, default=1.0) + pad_y)
    pad_x = (max(xs) - min(xs)) * 0.1 if len(xs) > 1 and max(xs) > min(xs) else max(abs(xs[0]) * 0.2, 1) if xs else 1
    c.x_axis(max(0.0, min(xs, default=0.0) - pad_x) if min(xs, default=0) >= 0 else min(xs) - pad_x,
             max(xs, default=1.0) + pad_x)
    front = sorted((p for p in pts if p.get("highlight")), key=lambda p: p["x"])
    if connect_highlighted and len(front) > 1:
        d = "M" + "L".join(f"{c.sx(p['x']):.1f} {c.sy(p['y']):.1f}" for p in front)
        c.parts.append(f'<path d="{d}" stroke="#D55E00" stroke-width="1.5" stroke-dasharray="4 4" fill="none"/>')
    ordered = sorted(pts, key=lambda p: bool(p.get("highlight")))
    bounds = (0, 28, c.w, c.y0)
    shown = [str(p["label"]) for p in ordered]
    spots = place_labels([(c.sx(p["x"]), c.sy(p["y"]), t) for p, t in zip(ordered, shown)], bounds, strict=True)
    numbered = spots is None
    if numbered:  # too crowded for the names beside the points: numbers there, the names in a key below
        shown = [str(i) for i in range(1, len(ordered) + 1)]
        spots = place_labels([(c.sx(p["x"]), c.sy(p["y"]), t) for p, t in zip(ordered, shown)], bounds)
    for p, label, (lx, ly, anchor) in zip(ordered, shown, spots):
        x, y = c.sx(p["x"]), c.sy(p["y"])
        tip = p.get("tip") or f"{p['label']}: {p['y']:.3f}, {x_format.format(p['x'])}"
        if p.get("highlight"):
            star = " ".join(f"{x + r * math.sin(a):.1f},{y - r * math.cos(a):.1f}" for i in range(10)
                            for a, r in [(i * math.pi / 5, 10 if i % 2 == 0 else 4.2)])
            mark = f'<polygon points="{star}" fill="#D55E00" stroke="#222" stroke-width="0.8">'
        else:
            mark = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="#9e9e9e" stroke="#222" stroke-width="0.8">'
        c.parts.append(mark + f'<title>{_e(tip)}</title>' + ("</polygon>" if p.get("highlight") else "</circle>")
                       + f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}" font-size="12">'
                         f'{_e(label)}</text>')
    c.legend([_("Pareto-optimal"), _("dominated")], ["#D55E00", "#9e9e9e"])
    if numbered:  # the key inside the figure, as HTML text: it wraps with the page, never over the plot
        key = " · ".join(f"<b>{n}</b> {_e(p['label'])}" for n, p in zip(shown, ordered))
        return Markup(str(c.svg(title)).replace("</figure>", f'<p class="chart-key">{key}</p></figure>'))
    return c.svg(title)
