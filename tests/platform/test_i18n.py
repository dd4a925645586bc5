"""The message catalog (``rag.i18n``): every key the source asks for is in every language's catalog,
translated, with the same placeholders, and no catalog holds a key the source no longer asks for.
Keys are extracted by Babel's own extractors (Python and the report's Jinja2 template), so a new
``_("…")`` that lands without its Chinese fails here."""

from __future__ import annotations

import re
import string
from datetime import datetime

import pytest
from babel.messages.pofile import read_po

from rag import i18n
from tests.conftest import ROOT


def _po(code: str):
    loc = i18n.LANGUAGES[code][0]
    with (i18n.LOCALE_DIR / loc / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=loc)


def _key(m):
    return (m.context, m.id) if m.context else (m.id if isinstance(m.id, str) else tuple(m.id))


@pytest.fixture(scope="module")
def source_keys() -> set:
    return set(i18n.extract_keys(ROOT))


def test_the_source_asks_for_the_sidebar_titles_report_and_verdicts(source_keys):
    # one key from each area that is translated so far: a broken extractor would pass the tests below vacuously
    for key in ("Interface language", "Data", "Executive summary", "Reproducibility manifest",
                "{a} and {b} are statistically tied on {metric}: difference {diff} {ci}, {p} ({n} paired queries).",
                ("metric gloss", "nDCG"), "error: {message}"):
        assert key in source_keys, key


@pytest.mark.parametrize("code", [c for c in i18n.LANGUAGES if c != i18n.DEFAULT])
def test_every_key_translated_and_none_unused(code, source_keys):
    catalog = {_key(m): m for m in _po(code) if m.id}
    assert sorted(map(str, source_keys - set(catalog))) == [], "keys missing from the catalog: run python -m " \
                                                               "rag.i18n extract, then translate them"
    assert sorted(map(str, set(catalog) - source_keys)) == [], "keys no source asks for"
    untranslated = [k for k, m in catalog.items() if not (m.string if isinstance(m.string, str) else all(m.string))]
    assert untranslated == [] and not [k for k, m in catalog.items() if m.fuzzy]


@pytest.mark.parametrize("code", [c for c in i18n.LANGUAGES if c != i18n.DEFAULT])
def test_translations_keep_every_placeholder(code):
    """A translation that drops or renames ``{model}`` / ``%(ids)s`` would raise or lose a number at run time."""
    def fields(text: str) -> set[str]:
        return {f for _lit, f, _spec, _conv in string.Formatter().parse(text.replace("%%", "")) if f} \
            | set(re.findall(r"%\((\w+)\)s", text))

    for m in _po(code):
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        for s in strings:
            assert fields(s) == fields(ids[-1]), (m.id, s)


def test_english_is_the_source_text_and_chinese_the_catalog():
    with i18n.language("en"):
        assert i18n._("Executive summary") == "Executive summary" and i18n.ngettext("a run", "runs", 2) == "runs"
    with i18n.language("zh"):
        assert i18n._("Executive summary") == "执行摘要"
        assert i18n.pgettext("metric gloss", "nDCG") == "归一化折损累计增益"
        assert i18n.fmt_number(1234567.891) == "1,234,567.891"
        assert i18n.fmt_datetime(datetime(2026, 12, 6, 9, 5)) == "2026年12月6日 09:05:00"
    with i18n.language("en"):
        assert i18n.fmt_datetime(datetime(2026, 12, 6, 9, 5)) == "Dec 6, 2026, 9:05:00\u202fAM"


def test_language_tags_and_the_environment(monkeypatch):
    assert [i18n.normalize(t) for t in ("zh-CN", "zh_Hans_CN", "en-US", "zh-CN,zh;q=0.9,en;q=0.8",
                                         "fr-FR,en;q=0.5", "fr", "", None)] == \
        ["zh", "zh", "en", "zh", "en", None, None, None]
    monkeypatch.setenv("WORKBENCH_LANG", "zh_CN")
    assert i18n.env_language() == "zh"
    with i18n.language(None):   # nothing chosen: the environment's
        assert i18n.current_language() == "zh" and i18n._("Status") == "状态"
    monkeypatch.setenv("WORKBENCH_LANG", "klingon")
    assert i18n.env_language() == "en"


def test_a_with_block_restores_the_previous_language():
    with i18n.language("zh"):
        with i18n.language("en"):
            assert i18n._("Status") == "Status"
        assert i18n._("Status") == "状态"


def test_every_navigation_label_is_a_translated_key(source_keys):
    """app.py's PAGES table stays a literal (tests read it with ast); its titles are translated at use with
    ``_(t)``, so each must be a key some page asks for (its ``st.title``) and translated."""
    import ast

    tree = ast.parse((ROOT / "app.py").read_text())
    table = next(n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "PAGES")
    titles = [t for _f, t, _i in ast.literal_eval(table)]
    assert len(titles) == 8 and set(titles) <= source_keys
    with i18n.language("zh"):
        assert [i18n._(t) for t in titles] == ["决策", "数据", "索引", "检索", "RAG 质量", "压力测试", "历史记录",
                                               "参数扫描"]


def test_no_interface_string_skips_the_catalog():
    """Every literal a reader meets (a raise's message, a Streamlit call, a printed CLI line) goes through ``_()``,
    in the whole code base (``tests/support/untranslated.py``; ``# i18n: internal`` marks a line no reader sees)."""
    from tests.support.untranslated import scan

    assert scan(["rag", "evaluators", "flows", "loadtests", "commands", "ui", "pages", "app.py", "cli.py"]) == []


def test_the_scanner_finds_what_skips_the_catalog(tmp_path):
    from tests.support.untranslated import scan_file

    f = tmp_path / "page.py"
    f.write_text('import streamlit as st\nfrom rag.i18n import _\n'
                 'st.caption(f"{n} rows loaded")\nst.caption(_("{n} rows loaded").format(n=1))\n'
                 'st.button("Run", help=_("Runs it"))\nst.write("—")\nprint("done")\n'
                 'raise ValueError("no corpus")\nraise ValueError(_("no corpus"))\n'
                 'raise ValueError("internal")  # i18n: internal\n', encoding="utf-8")
    hits = scan_file(f, {"raise", "st", "print"})
    assert [h.split(" ", 1)[1] for h in hits] == ["st: ' rows loaded'", "st: 'Run'", "print: 'done'",
                                                  "raise ValueError: 'no corpus'"]
