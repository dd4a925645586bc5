"""Which query / document prompts a model is encoded with, and where they come from.

Order (per role): the user's option (``#query=…``, ``#document=…``), else the model's own config
(sentence-transformers' ``prompts`` in ``config_sentence_transformers.json``, what its ``encode_query`` /
``encode_document`` apply), else the catalog (mteb's registry: E5's "query: " / "passage: ", BGE's
query instruction), else none. An empty prompt in a model's own config does not count as specified:
sentence-transformers ≥ 5 writes ``{"query": "", "document": ""}`` into every folder it saves, including
E5's, whose authors publish "query: " / "passage: ".

The prompts are part of the embedding-cache key (per role) and of the collection's identity (the
document prompt), and every run records them (``Prompts.record``).

Usage:
    p = resolve_prompts(own_prompts(folder), catalog.lookup(spec), {"query": "query: "})
    p.query, p.document, p.origin["query"]        # "query: ", "passage: ", "user"
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

ROLES = ("query", "document")


@dataclass(frozen=True)
class Prompts:
    query: str | None = None
    document: str | None = None
    origin: dict = field(default_factory=dict, compare=False, hash=False)  # role -> user|model|catalog|none
    kind: str = "text"   # "text" (prepended) | "input_type" (an API parameter)

    def get(self, role: str | None) -> str | None:
        return getattr(self, role) if role in ROLES else None

    def cache_suffix(self, role: str | None) -> str:
        """What the role's prompt adds to the cache key: nothing without a prompt, so caches built before
        prompts existed (and every symmetric model's) stay valid."""
        p = self.get(role)
        if not p:
            return ""
        return f"#{role[0]}={hashlib.sha256(p.encode('utf-8')).hexdigest()[:12]}"

    def record(self) -> dict:
        """What a run stores and the pages show: the prompts and where each came from."""
        return {"query_prompt": self.query, "document_prompt": self.document,
                "prompt_source": {r: self.origin.get(r, "none") for r in ROLES}, "prompt_kind": self.kind}

    def label(self) -> str:
        """One line for the pages and the CLI: ``query "query: " (catalog) · document "passage: " (catalog)``."""
        parts = [f'{r} {json.dumps(self.get(r), ensure_ascii=False)} ({self.origin.get(r, "none")})'
                 for r in ROLES if self.get(r)]
        return " · ".join(parts) or "no prompts"


def own_prompts(folder: str | Path | None) -> dict:
    """The non-empty prompts a sentence-transformers folder declares (``{}`` when none or no folder)."""
    if not folder:
        return {}
    path = Path(folder) / "config_sentence_transformers.json"
    try:
        prompts = json.loads(path.read_text(encoding="utf-8")).get("prompts") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    return {k: v for k, v in prompts.items() if isinstance(v, str) and v}


def resolve_prompts(own: dict, info, user: dict) -> Prompts:
    """Per role: ``user`` (the spec's options), else ``own`` (the folder's config), else ``info`` (a
    ``catalog.ModelInfo`` or None), else none."""
    values, origin = {}, {}
    for role in ROLES:
        if role in user:
            values[role], origin[role] = user[role], "user"
        elif own.get(role):
            values[role], origin[role] = own[role], "model"
        elif info is not None and info.prompts.get(role):
            values[role], origin[role] = info.prompts[role], "catalog"
        else:
            values[role], origin[role] = None, "none"
    kind = "input_type" if info is not None and info.prompt_kind == "input_type" else "text"
    return Prompts(values["query"], values["document"], origin, kind)
