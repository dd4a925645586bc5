"""One option syntax for every model kind: ``SPEC#key=value&key=value``.

Why this shape: a spec string is the key results, run records, History, the report, the gate and the
exported script carry, so options must live inside it and round-trip as typed. ``#`` cannot start a
registry name, a hub id or an http URL's path part we use, and the part after it is URL query encoding
(the web's convention): ``%20`` for a trailing space, ``%2C`` for a comma (model lists are comma-separated),
``%26`` for ``&``; Chinese text needs no escaping.

Keys (a new option is one entry in ``OPTIONS``):
  query, document   the query / document prompt (text prepended by a local model; an API's input type)
  dim               Matryoshka truncation for local models (``truncate_dim``), ``dimensions`` for OpenAI
  max_tokens        the model's max input tokens (``max_seq_length``), up to its position limit
  revision          a hub revision (same as ``hf:ORG/NAME@REVISION``)
  fps               video frames sampled per second for clip:/img: models on a video folder (default 1)

Usage:
    base, opts = split_options("hf:intfloat/e5-small#query=query:%20&document=passage:%20&dim=256")
    # "hf:intfloat/e5-small", {"query": "query: ", "document": "passage: ", "dim": 256}
    join_options(base, opts)   # the canonical string again
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from rag.i18n import N_, _
from rag.models.base import ModelUnavailable


def _positive_int(key: str, text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise ModelUnavailable(_("option {key}={value}: give a whole number of at least 1").format(
            key=key, value=repr(text)))
    return int(text)


def _fps(key: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 10:
        raise ModelUnavailable(_("option {key}={value}: give frames a second above 0 and at most 10, e.g. fps=0.5")
                               .format(key=key, value=repr(text)))
    return value


OPTIONS = {  # key -> (parse, what it means: shown in errors and the README)
    "query": (lambda k, v: v, N_("query prompt")),
    "document": (lambda k, v: v, N_("document prompt")),
    "dim": (_positive_int, N_("Matryoshka dims (truncate_dim / dimensions)")),
    "max_tokens": (_positive_int, N_("max input tokens (max_seq_length)")),
    "revision": (lambda k, v: v.strip(), N_("hub revision")),
    "fps": (_fps, N_("video frames a second (clip:/img: on video folders)")),
}


def split_options(spec: str) -> tuple[str, dict]:
    """``(base spec, {option: value})``; an unknown or malformed option raises ModelUnavailable naming it."""
    base, sep, tail = spec.partition("#")
    opts: dict = {}
    if not sep:
        return spec.strip(), opts
    for part in (p for p in tail.split("&") if p.strip()):
        key, eq, raw = part.partition("=")
        key = key.strip()
        if key not in OPTIONS or not eq:
            known = _(", ").join(_("{key} ({what})").format(key=k, what=_(what))
                                 for k, (_check, what) in OPTIONS.items())
            raise ModelUnavailable(_("model {spec}: unknown option {option}; give #key=value&… with key one of "
                                     "{known}").format(spec=repr(spec), option=repr(part), known=known))
        opts[key] = OPTIONS[key][0](key, unquote(raw))
    return base.strip(), opts


def join_options(base: str, opts: dict) -> str:
    """The spec string for ``base`` with ``opts`` (keys in ``OPTIONS`` order, values URL-encoded)."""
    parts = [f"{k}={quote(str(opts[k]), safe=':/')}" for k in OPTIONS if k in opts and opts[k] is not None]
    return base + ("#" + "&".join(parts) if parts else "")
