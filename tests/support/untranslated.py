"""Find interface strings that would reach a reader without going through the message catalog.

A string literal (or f-string) handed straight to a user-facing sink is English for every reader, whatever
the language switch says. The sinks: the message of a ``raise`` (errors are shown on the pages and printed by
the CLI), Streamlit's display and widget calls in ``ui/`` and ``pages/`` (``st.caption("...")``), and the
CLI's ``print`` / ``typer.echo`` lines. A literal passed through ``_()``, ``ngettext``, ``pgettext`` or ``N_``
(then ``.format``-ed) is fine; so is a literal with no letters (``"—"``, ``"{:.3f}"``).

A line that is deliberately not for readers (an internal invariant, a machine-read ``run_id`` line) carries
``# i18n: internal`` on the line where the call starts, saying why is optional.

Usage:
    from tests.support.untranslated import scan
    assert scan(["rag/data"]) == []   # each hit: "rag/data/beir.py:12 raise DatasetError: 'no corpus...'"
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRANSLATORS = {"_", "ngettext", "pgettext", "N_", "npgettext", "gettext"}
ST_SINKS = {
    "title", "header", "subheader", "caption", "markdown", "write", "info", "warning", "error", "success",
    "toast", "button", "checkbox", "toggle", "radio", "selectbox", "multiselect", "slider", "select_slider",
    "text_input", "text_area", "number_input", "file_uploader", "download_button", "form_submit_button",
    "expander", "tabs", "metric", "status", "spinner", "popover", "link_button", "page_link", "progress",
    "date_input", "color_picker", "camera_input", "chat_input", "dialog",
}
ST_KEYWORDS = {"label", "help", "placeholder", "text", "body", "caption"}
MARK = "# i18n: internal"


def _has_letters(s: str) -> bool:
    return any(c.isalpha() for c in s)


def _is_translated(node: ast.AST) -> bool:
    """``_("...")``, ``_("...").format(...)``, ``ngettext(...)`` and the like."""
    if isinstance(node, ast.Call):
        f = node.func
        if isinstance(f, ast.Name) and f.id in TRANSLATORS:
            return True
        if isinstance(f, ast.Attribute) and f.attr in TRANSLATORS:
            return True
        if isinstance(f, ast.Attribute) and f.attr == "format":
            return _is_translated(f.value)
    return False


def _raw_english(node: ast.AST | None) -> str | None:
    """The English text of a literal / f-string / concatenation not passed through a translator, else None."""
    if node is None or _is_translated(node):
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value if _has_letters(node.value) else None
    if isinstance(node, ast.JoinedStr):
        text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
        return text if _has_letters(text) else None
    if isinstance(node, ast.BinOp):  # "a" + b, "a %s" % b
        return _raw_english(node.left) or _raw_english(node.right)
    if isinstance(node, ast.IfExp):
        return _raw_english(node.body) or _raw_english(node.orelse)
    return None


def _sink_args(call: ast.Call, kind: str) -> list[ast.AST]:
    if kind == "st":
        return call.args[:1] + [k.value for k in call.keywords if k.arg in ST_KEYWORDS]
    return call.args[:1]


def _kind(call: ast.Call) -> str | None:
    f = call.func
    if isinstance(f, ast.Attribute) and f.attr in ST_SINKS and isinstance(f.value, ast.Name) \
            and f.value.id in {"st", "container", "col", "box", "tab"}:
        return "st"
    if isinstance(f, ast.Name) and f.id == "print":
        return "print"
    if isinstance(f, ast.Attribute) and f.attr in {"echo", "secho"} and isinstance(f.value, ast.Name) \
            and f.value.id == "typer":
        return "print"
    return None


def scan_file(path: Path, sinks: set[str]) -> list[str]:
    """Hits in one file: ``path:line sink: 'text'``. ``sinks``: any of ``raise``, ``st``, ``print``."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    hits = []

    def hit(node: ast.AST, what: str, text: str) -> None:
        if MARK not in lines[node.lineno - 1]:
            hits.append((node.lineno, f"{rel}:{node.lineno} {what}: {text[:70]!r}"))

    for node in ast.walk(ast.parse(source)):
        if "raise" in sinks and isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            name = node.exc.func.id if isinstance(node.exc.func, ast.Name) else getattr(node.exc.func, "attr", "?")
            if name in {"NotImplementedError", "AssertionError", "TypeError", "AttributeError", "StopIteration"}:
                continue  # programming errors: not messages for a reader
            if (text := _raw_english(node.exc.args[0] if node.exc.args else None)) is not None:
                hit(node, f"raise {name}", text)
        elif isinstance(node, ast.Call) and (kind := _kind(node)) in sinks:
            for arg in _sink_args(node, kind):
                if (text := _raw_english(arg)) is not None:
                    hit(node, kind, text)
    return [h for _line, h in sorted(hits)]  # in the file's order


def scan(paths: list[str], sinks: tuple[str, ...] = ("raise", "st", "print")) -> list[str]:
    """Every hit under ``paths`` (folders or files, relative to the project root)."""
    out = []
    for p in paths:
        target = ROOT / p
        for f in sorted([target] if target.is_file() else target.rglob("*.py")):
            if "__pycache__" not in f.parts:
                out.extend(scan_file(f, set(sinks)))
    return out
