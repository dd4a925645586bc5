"""The interface language: one gettext message catalog for the app, the CLI's messages and the report.

Why gettext + Babel: plural forms (``ngettext``), ``{name}`` placeholders the translator can move, a
standard extractor (``pybabel extract``, Jinja2's ``babel_extract`` for the report template) and
locale-aware numbers and dates (``babel.numbers``, ``babel.dates``), with no ``if lang == ...`` in callers:
a new language is one ``.po`` file and one ``LANGUAGES`` entry.

The catalog: the English text is the key (gettext's convention), so English needs no translation file and
an English reader sees exactly the source text. ``rag/locale/messages.pot`` is the template (every key,
extracted from the source and merged into each ``.po``: ``python -m rag.i18n extract``),
``rag/locale/zh_CN/LC_MESSAGES/messages.po`` the Chinese. The ``.po`` is compiled in memory when first used
(Babel's ``read_po`` + ``write_mo``, ~10 ms):
no binary ``.mo`` in git to fall out of step with its ``.po``, no build step before ``streamlit run``.

Which language: ``set_language`` sets it for the current thread / task (a ``ContextVar``): each Streamlit
session runs its script in its own thread and sets it at the top of every rerun, so two browsers can read
two languages; the CLI sets it once from ``--lang`` or ``WORKBENCH_LANG``; ``language("zh")`` is a
``with`` block (the report). Default: ``WORKBENCH_LANG``, else English.

Usage:
    from rag.i18n import _, ngettext, set_language
    set_language("zh")
    _("Status")                                   # '状态'
    ngettext("{n} query", "{n} queries", 3).format(n=3)
    fmt_number(12345.6)                            # '12,345.6'
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import io
import os
import re
from contextvars import ContextVar
from datetime import datetime
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
# code -> (Babel locale, the name shown in the language switch, in its own language). English is the source.
LANGUAGES: dict[str, tuple[str, str]] = {"en": ("en", "English"), "zh": ("zh_CN", "简体中文")}
DEFAULT = "en"

_current: ContextVar[str | None] = ContextVar("workbench_ui_language", default=None)


def normalize(tag: str | None) -> str | None:
    """Our code for a language tag (``zh-CN``, ``zh_Hans``, ``en-US``, an Accept-Language header), or None."""
    if not tag:
        return None
    for part in str(tag).split(","):  # "zh-CN,zh;q=0.9,en;q=0.8": the first we have wins
        code = part.split(";")[0].strip().replace("_", "-").split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return None


def env_language() -> str:
    """``WORKBENCH_LANG`` (``zh``, ``zh_CN``, ``en``…) when set and known, else English."""
    return normalize(os.environ.get("WORKBENCH_LANG")) or DEFAULT


def set_language(code: str | None) -> str:
    """Use this language for the current thread / task; unknown or empty -> ``WORKBENCH_LANG``. Returns it."""
    lang = normalize(code) or env_language()
    _current.set(lang)
    return lang


def current_language() -> str:
    """The language set for this thread / task, else ``WORKBENCH_LANG``, else English."""
    return _current.get() or env_language()


@contextlib.contextmanager
def language(code: str | None):
    """``with language("zh"):`` for one job (a report), the previous language restored after it."""
    token = _current.set(normalize(code) or current_language())
    try:
        yield
    finally:
        _current.reset(token)


def carry_language(fn):
    """``fn`` wrapped to run in the language current here, in whatever thread calls it: a pool's worker
    thread starts with no language of its own (a ``ContextVar`` is not inherited by threads), so a job's
    error raised there would read in ``WORKBENCH_LANG`` instead of the session's. Usage:
    ``pool.map(carry_language(check), items)``."""
    lang = current_language()

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with language(lang):
            return fn(*args, **kwargs)
    return run


def babel_locale(code: str | None = None) -> str:
    """The Babel locale of a language (``zh_CN``), the current one by default."""
    return LANGUAGES[normalize(code) or current_language()][0]


@cache
def translations(code: str) -> gettext.NullTranslations:
    """The compiled catalog of a language (English: the identity)."""
    po = LOCALE_DIR / babel_locale(code) / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalog = read_po(f, locale=babel_locale(code))
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def _(message: str) -> str:
    """The message in the current language (the English text itself when untranslated)."""
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the current language (Chinese has one form)."""
    return translations(current_language()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """The message in the current language, disambiguated by a context (``pgettext("metric gloss", "nDCG")``)."""
    return translations(current_language()).pgettext(context, message)


def N_(message: str) -> str:
    """Mark a constant for the catalog without translating it now (gettext's ``gettext_noop``): a registry's
    label is defined at import, in no language; its reader calls ``_(label)`` when the language is known."""
    return message


_CJK_GAP = re.compile(r"(?<=[）】」』，。；：！？、])[ \t]+|[ \t]+(?=[（【「『，。；：！？、）])"
                      r"|(?<=[\u4e00-\u9fff])[ \t]+(?=[\u4e00-\u9fff])")  # and none between two Han characters


def tidy(text: str) -> str:
    """Our sentence without the spaces a full-width punctuation mark never takes (``nDCG@5（归一化折损累计增益） 上``
    → ``…增益）上``; two sentences joined by ``" "`` after ``。``; a placeholder's Chinese value next to Chinese
    words). English text has no full-width marks or Han characters: unchanged.
    Applied to the sentences we assemble, never to data (a question's own spacing is the user's)."""
    return _CJK_GAP.sub("", text)


def fmt_number(value: float, fmt: str | None = None) -> str:
    """A number with the current locale's separators (``babel.numbers.format_decimal``)."""
    from babel.numbers import format_decimal

    return format_decimal(value, format=fmt, locale=babel_locale())


def fmt_datetime(value: datetime, fmt: str = "medium") -> str:
    """A date and time as the current locale writes it (``babel.dates.format_datetime``)."""
    from babel.dates import format_datetime

    return format_datetime(value, format=fmt, locale=babel_locale())


# --- the catalog's upkeep: `python -m rag.i18n extract` rewrites the template from the source -------------------
SOURCE_DIRS = ("rag", "evaluators", "loadtests", "flows", "commands", "ui", "pages")
SOURCE_FILES = ("app.py", "cli.py")


def extract_keys(root: Path) -> dict:
    """Every message the source asks for (``_``, ``N_``, ``ngettext``, ``pgettext`` and the report template's
    ``{% trans %}`` / ``_()``), with where, by Babel's extractors: what the catalog must hold, no more."""
    from babel.messages.extract import extract_from_dir, extract_from_file

    method_map = [("**.py", "python"), ("**/templates/**.j2", "jinja2.ext:babel_extract")]
    options = {"**/templates/**.j2": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    keywords = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
    found: dict = {}  # msgid, (singular, plural) or (context, msgid) -> where

    def add(msg, ctx: str | None, where: str) -> None:
        key = msg if isinstance(msg, str) else tuple(msg)
        found.setdefault((ctx, key) if ctx else key, []).append(where)

    for d in SOURCE_DIRS:
        for path, lineno, msg, _comments, ctx in extract_from_dir(root / d, method_map=method_map,
                                                                   keywords=keywords, options_map=options):
            add(msg, ctx, f"{d}/{path}:{lineno}")
    for name in SOURCE_FILES:
        for lineno, msg, _comments, ctx in extract_from_file("python", root / name, keywords=keywords):
            add(msg, ctx, f"{name}:{lineno}")
    return found


def update_catalogs(root: Path) -> list[Path]:
    """Rewrite ``messages.pot`` from the source and merge it into every language's ``.po`` (new keys empty,
    keys no longer asked for dropped): what ``python -m rag.i18n extract`` does after strings change."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    template = Catalog(project="rag-workbench", charset="utf-8")
    for key, where in sorted(extract_keys(root).items(), key=lambda kv: str(kv[0])):
        ctx, msg = (key if isinstance(key, tuple) and key[0] in CONTEXTS else (None, key))
        template.add(msg, context=ctx, locations=[(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in where])
    written = [LOCALE_DIR / f"{DOMAIN}.pot"]
    with written[0].open("wb") as f:
        write_po(f, template, sort_output=True, width=120, omit_header=True)
    for code, (loc, _name) in LANGUAGES.items():
        po = LOCALE_DIR / loc / "LC_MESSAGES" / f"{DOMAIN}.po"
        if code == DEFAULT or not po.exists():
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=loc)
        catalog.update(template, no_fuzzy_matching=True)
        with po.open("wb") as f:
            write_po(f, catalog, sort_output=True, width=120, ignore_obsolete=True, omit_header=False,
                     include_lineno=False)
        written.append(po)
    return written


CONTEXTS = ("metric gloss",)  # the pgettext contexts in use (a key (context, msgid) vs a plural pair)


if __name__ == "__main__":  # python -m rag.i18n extract
    import sys

    if sys.argv[1:] == ["extract"]:
        print(*update_catalogs(Path(__file__).resolve().parent.parent), sep="\n")
