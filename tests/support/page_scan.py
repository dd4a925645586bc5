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


# --- the interface language (issue 29): no interface string of ours left in English -----------------------------
# What a reader sees besides the text elements: widget labels, help texts, placeholders, the options a choice
# shows, tab / expander / status labels, buttons and links, table headers (cells hold data and are not read).
WIDGET_KINDS = ("button", "download_button", "page_link", "selectbox", "multiselect", "radio", "text_input",
                "number_input", "checkbox", "toggle", "text_area", "file_uploader", "expander", "tabs", "status")
ENGLISH_WORD = re.compile(r"[A-Za-z][a-z]{2,}")  # a word of three letters or more; abbreviations (BM25, CI) pass
# names and identifiers, stripped before reading: code spans, specs and paths (hf:ORG/NAME, qrels/<split>.tsv,
# ndcg@10, #max_tokens=N), hyphenated names (sentence-transformers, sample-zh), camelCase parameters
NAMES = re.compile(r"`[^`]*`|[A-Za-z0-9._<>\[\]%&~-]*[/:@#=_](?=\S)[A-Za-z0-9./:@#=%&_<>\[\]-]*"
                   r"|\b\w+(?:-\w+)+\b|\b[A-Za-z][a-z]*[A-Z]\w*\b|\.[a-z]{2,7}\b")
# Names, units and terms kept in English in Chinese text on purpose (data, model, tool and product names; the
# field's terms the catalog keeps, metric abbreviations as the field writes them): every word here is a decision.
ALLOWED_WORDS = frozenset("""
milvus lite minilm hybrid sample scifact jieba lindera ipadic chinese english standard icu cnalphanumonly auto
bootstrap token tokens holm beir excel parquet jsonl corpus queries qrels captions split tsv png jpg webp txt pdf
docx html json csv xlsx hugging face hub openai cohere voyage jina gemini dashscope zhipu siliconflow google
alibaba clip siglip resnet dinov2 clap ast img aud unverified unicode latin han hiragana katakana hangul common
py3langid flat hnsw streamlit plotly ragas locust setup decision report regression
ndcg mrr map precision recall hit langid base transformers
""".split())


def shown_texts(at) -> list[str]:
    """Every interface text an AppTest run shows: text elements, widgets' labels, help, placeholders and options,
    block labels, table headers and index names."""
    out = []
    for kind in TEXT_KINDS:
        for e in getattr(at, kind):
            out += [e.value] + ([e.label] if kind == "metric" else [])
    for kind in WIDGET_KINDS:
        for w in getattr(at, kind):
            out += [getattr(w, a, None) for a in ("label", "help", "placeholder")]
            out += list(getattr(w, "options", None) or [])
    for d in at.dataframe:
        frame = d.value
        out += [str(c) for c in frame.columns] + [str(n) for n in frame.index.names if n]
    return [t for t in out if isinstance(t, str) and t.strip()]


def english_left(at, data: tuple[str, ...] = (), allowed: frozenset[str] = ALLOWED_WORDS) -> list[str]:
    """The shown texts that still read English after ``data`` (the dataset's texts, ids, model names: shown as
    they are, never translated) and names are taken out: each with the English words found."""
    return english_lines(shown_texts(at), data, allowed)


def english_lines(texts, data: tuple[str, ...] = (), allowed: frozenset[str] = ALLOWED_WORDS) -> list[str]:
    """``english_left`` for plain texts (a browser page's lines): each text still reading English, with its words."""
    found = []
    shown = sorted({d for d in data if d and d.strip()}, key=len, reverse=True)  # whole words only: an id "rec"
    data_re = re.compile("|".join(rf"(?<![A-Za-z0-9]){re.escape(d)}(?![A-Za-z0-9])" for d in shown)) if shown \
        else None                                                            # is not the start of "recall"
    for text in texts:
        rest = data_re.sub(" ", text) if data_re else text
        words = [w for w in ENGLISH_WORD.findall(NAMES.sub(" ", rest)) if w.lower() not in allowed]
        if words:
            found.append(f"{text[:160]!r}: {words}")
    return found


# --- the interface language, the result pages' scan (RAG quality, Load test, History, Sweep) -------------------
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
    "MiniLM", "Streamlit", "Plotly", "Hugging", "Face", "hub", "transformers", "sentence-transformers", "CLIP",
    "SigLIP", "ViT", "ResNet", "DINOv2",
    # statisticians' names, as the field writes them (Holm correction)
    "Holm",
    # the options' own values, typed as shown (none = whole documents; search/rag/milvus endpoints; fusion kinds)
    "none", "search", "rag", "milvus", "rrf", "weighted", "extractive", "compat", "all",
    # a sweep setup's id names its chunking as typed (``bm25 | whole | k4``): an identifier, not a sentence
    "whole",
))
# code spans, URLs and run ids first (Chinese has no spaces to stop the patterns below)
_CODE = re.compile(r"`[^`]*`|https?://[^\s`]+|\b\d{8}-\d{6}-[0-9a-f]{4}\b")
_DROP = re.compile(r"[^\s`]*[/\\@:=_.][^\s`]*|\{[^}]*\}|\b\w*\d\w*\b|\w+\(\)")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")
WIDGETS = ("button", "checkbox", "toggle", "number_input", "text_input", "text_area", "selectbox", "multiselect",
           "radio", "slider", "select_slider", "date_input", "color_picker")


def result_page_texts(at) -> list[str]:
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


def english_left_after(at, allow: tuple[str, ...] = (), elsewhere: tuple[str, ...] = ()) -> list[str]:
    """The shown texts (``result_page_texts``) that still hold an English word of ours: none in a Chinese session.
    ``allow``: the data's and models' own names in this test (a dataset, a model key, a run's generator label),
    each matched as a substring and dropped first; ``elsewhere``: patterns (``re.search``) of whole texts that
    other modules build and translate, left out of this scan."""
    found = []
    for text in result_page_texts(at):
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
