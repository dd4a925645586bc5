"""The display rules every page and the report share: exact strings, no None / nan ever."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from evaluators.formatting import (
    display_frame,
    fmt_ci,
    fmt_ms,
    fmt_pct,
    fmt_rate,
    fmt_score,
    fmt_usd,
    fmt_value,
    missing,
)


def test_scores_ms_and_dollars_read_the_same_everywhere():
    assert fmt_score(0.41249) == "0.412" and fmt_score(1) == "1.000" and fmt_score(np.float32(0.5)) == "0.500"
    assert fmt_score(None) == "—" and fmt_score(math.nan, "not scored") == "— not scored"
    assert fmt_ci(0.1, 0.23456) == "[0.100, 0.235]" and fmt_ci(math.nan, 0.2, "n/a") == "— n/a"
    assert fmt_ms(119.6) == "120" and fmt_ms(1234.4) == "1,234" and fmt_ms(np.nan, "no load run yet") == \
        "— no load run yet"
    assert fmt_usd(0) == "$0.00" and fmt_usd(0.00042) == "$0.0004" and fmt_usd(0.0099) == "$0.0099"
    assert fmt_usd(0.01) == "$0.01" and fmt_usd(12.345) == "$12.35" and fmt_usd(1234.5) == "$1,234.50"
    assert fmt_usd(0.00001) == "<$0.0001" and fmt_usd(None, "unknown cost") == "— unknown cost"
    assert fmt_rate(30) == "30.0" and fmt_pct(0.755) == "76%" and missing() == "—" and missing("x") == "— x"


def test_any_value_becomes_text_without_a_python_repr():
    assert fmt_value(None) == "—" and fmt_value(pd.NA) == "—" and fmt_value(pd.NaT) == "—" and fmt_value("") == "—"
    assert fmt_value(True) == "yes" and fmt_value(np.bool_(False)) == "no"
    assert fmt_value(np.int64(7)) == "7" and fmt_value(0.1234567) == "0.123" and fmt_value(2.0, floats=1) == "2.0"
    assert fmt_value(math.inf) == "∞" and fmt_value([1, "a", None]) == "1, a, —" and fmt_value([]) == "—"
    assert fmt_value({"nprobe": 8, "ef": None}) == "nprobe: 8; ef: —"


def test_display_frame_formats_known_columns_and_says_why_cells_are_empty():
    frame = pd.DataFrame({"setup": ["bm25", "minilm"], "quality": [0.8666, np.nan], "cost_per_1k": [0.0, 0.00031],
                          "p95_ms": [44.6, None], "pareto": [True, False], "users": [10, None]})
    shown = display_frame(frame, {"p95_ms": "no load run yet", "quality": "not scored"})
    assert shown.to_dict("records") == [
        {"setup": "bm25", "quality": "0.867", "cost_per_1k": "$0.00", "p95_ms": "45", "pareto": "yes",
         "users": "10"},
        {"setup": "minilm", "quality": "— not scored", "cost_per_1k": "$0.0003", "p95_ms": "— no load run yet",
         "pareto": "no", "users": "—"}]
    assert list(frame["quality"].isna()) == [False, True]  # the input is left alone


def test_svg_charts_are_small_static_and_escape_labels():
    from evaluators.report.charts import bar_chart, line_chart, nice_ticks, scatter_chart

    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0] and nice_ticks(0, 120) == [0, 25, 50, 75, 100, 125]
    evil = "<svg onload=alert(1)>"
    bars = bar_chart(["nDCG@5"], [(evil, [(0.8, 0.7, 0.9)]), ("bm25", [None])], "Mean & CI")
    assert evil not in bars and "&lt;svg onload=alert(1)&gt;" in bars and "Mean &amp; CI" in bars
    assert "<title>&lt;svg onload=alert(1)&gt; · nDCG@5: 0.800 [0.700, 0.900]</title>" in bars
    assert bars.count("<rect x=") == 3  # one bar (None draws nothing) + two legend swatches
    pts = scatter_chart([{"label": "a", "x": 45, "y": 0.87, "highlight": True},
                         {"label": "b", "x": 120, "y": 0.82, "highlight": False},
                         {"label": "c", "x": math.nan, "y": 0.5}], "q vs ms", "ms", "q")
    assert pts.count("<polygon") == 1 and pts.count("<circle") == 1 and ">c<" not in pts
    lines = line_chart([("m", [0, 1, None], [40, 42, 45])], "p95", "s", "ms", hline=(100, "target"))
    assert lines.count("<path") == 1 and "target" in lines and "None" not in lines + bars + pts
    assert max(len(bars), len(pts), len(lines)) < 6000
