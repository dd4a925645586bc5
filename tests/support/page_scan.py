"""One scan for every page test: no shown text of an AppTest run reads like a raw value.

Why: ``None``, ``nan`` or a Python repr in front of a reader means a value skipped the formatting
helpers (``evaluators.formatting``); a missing value must say why instead ("— no load run yet").
"""

from __future__ import annotations

import json
import re

RAW_CELL = re.compile(r"^(None|nan|NaN|NaT|<NA>|null|inf|-inf)$|\bNone\b|\bnan\b|\bNaN\b|\bNaT\b|<NA>"
                      r"|<object|<function|object at 0x|Timestamp\(|np\.float|numpy\.")
TEXT_KINDS = ("markdown", "caption", "subheader", "header", "title", "text", "info", "warning", "success", "error",
              "metric")


def raw_cells(at) -> list[str]:
    """Every shown text of an AppTest run that reads like a raw value: dataframe cells (and missing
    cells, which Streamlit draws as ``None``), index labels, metrics and every text element."""
    found = []
    for d in at.dataframe:
        frame = d.value
        found += [f"missing cell in {list(frame.columns)}" for _ in range(int(frame.isna().sum().sum()))]
        found += [str(v) for col in frame.columns for v in frame[col].tolist() if RAW_CELL.search(str(v))]
        found += [str(v) for v in frame.index.tolist() if RAW_CELL.search(str(v))]
    for kind in TEXT_KINDS:
        for e in getattr(at, kind):
            shown = [e.value] + ([e.label, e.delta] if kind == "metric" else [])
            found += [str(s) for s in shown if s is not None and RAW_CELL.search(str(s))]
    return found


# --- interface language: what of an AppTest run is still English in a Chinese session -------------------------
# A word of three or more Latin letters left in a shown text is English of ours unless it is a name the reader
# must see as it is (data, models, libraries, file formats) or a standard abbreviation; code spans, URLs, paths,
# file names and option specs (``ce:FOLDER``, ``file.wav@12.0-15.5``) are dropped before the words are read.
KEEP_WORDS = frozenset(w.lower() for w in (
    # abbreviations and units a Chinese technical reader reads in English
    "nDCG", "MRR", "MAP", "BM25", "RRF", "LLM", "LLMs", "API", "URL", "HTTP", "SLO", "CSV", "JSON", "JSONL", "HTML",
    "PARQUET", "CJK", "USD", "CLI", "GPU", "CPU", "top", "ROUGE", "BLEU", "sacreBLEU", "Levenshtein", "token", "IDs",
    "qrels", "BEIR", "top-k", "FLAT", "HNSW", "IVF", "COSINE", "RAG", "ASR", "ndcg", "mrr", "recall", "precision",
    # libraries, products and servers, named as their authors do
    "Milvus", "Lite", "Ragas", "TestsetGenerator", "Locust", "FastHttpUser", "OpenAI", "Ollama", "Cohere", "Whisper",
    "MiniLM", "Streamlit", "Plotly",
    # the options' own values, typed as shown (none = whole documents; search/rag/milvus endpoints; fusion kinds)
    "none", "search", "rag", "milvus", "rrf", "weighted", "extractive", "compat", "all",
))
# code spans, URLs and run ids first (Chinese has no spaces to stop the patterns below)
_CODE = re.compile(r"`[^`]*`|https?://[^\s`]+|\b\d{8}-\d{6}-[0-9a-f]{4}\b")
_DROP = re.compile(r"[^\s`]*[/\\@:=_.][^\s`]*|\{[^}]*\}|\b\w*\d\w*\b|\w+\(\)")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")
WIDGETS = ("button", "checkbox", "toggle", "number_input", "text_input", "text_area", "selectbox", "multiselect",
           "radio", "slider", "select_slider", "date_input", "color_picker")


def shown_texts(at) -> list[str]:
    """Every interface text of an AppTest run: titles, markdown, captions, alerts, widget labels / help /
    placeholders, expander and tab labels, metric labels, buttons (download buttons too), table headers.
    Not table cells and option lists (data: ids, model names, questions), which the raw scan covers."""
    texts = [e.value for kind in TEXT_KINDS if kind != "metric" for e in getattr(at, kind)]
    texts += [m.label for m in at.metric]
    for kind in WIDGETS:
        for w in getattr(at, kind):
            texts += [w.label, getattr(w, "help", None), getattr(w, "placeholder", None)]
    # a multiselect without a placeholder shows Streamlit's own, in English: "LABEL: Choose options"
    texts += [f"{w.label}: Choose options" for w in at.multiselect if not getattr(w.proto, "placeholder", "")]
    texts += [b.proto.label for b in at.get("download_button")]
    texts += [e.label for e in at.expander] + [t.label for t in at.tabs]
    for d in at.dataframe:  # a header as drawn: its column_config label, else the column's name
        frame, config = d.value, _column_config(d)
        texts += [str(config.get(str(c), {}).get("label") or c) for c in frame.columns]
        texts += [str(n) for n in frame.index.names if n]
    return [str(t) for t in texts if t]


def _column_config(d) -> dict:
    try:
        return json.loads(d.proto.columns or "{}")
    except (AttributeError, ValueError):
        return {}


def english_left(at, allow: tuple[str, ...] = (), elsewhere: tuple[str, ...] = ()) -> list[str]:
    """The shown texts (``shown_texts``) that still hold an English word of ours: none in a Chinese session.
    ``allow``: the data's and models' own names in this test (a dataset, a model key, a run's generator label),
    each matched as a substring and dropped first; ``elsewhere``: patterns (``re.search``) of whole texts that
    other modules build and translate, left out of this scan."""
    found = []
    for text in shown_texts(at):
        if any(re.search(p, text) for p in elsewhere):
            continue
        rest = text
        for name in sorted(allow, key=len, reverse=True):
            rest = rest.replace(name, " ")
        rest = _DROP.sub(" ", _CODE.sub(" ", rest))
        words = [w for w in _LATIN_WORD.findall(rest) if w.lower() not in KEEP_WORDS and len(w) >= 3]
        if words:
            found.append(f"{text!r}: {', '.join(words)}")
    return found
