"""What is known about a model before it is loaded: languages, max input tokens, size, memory, dims,
license, and the query / document prompts its authors specify.

Why mteb: its ``ModelMeta`` registry ships offline with ~950 models (the leaderboard's names) and their
prompts (E5 "query: " / "passage: ", BGE's query instruction, nomic's "search_query: "), which is what a
hand-written table would drift from. Loading it imports all of mteb's tasks (~12 s), so the extracted
fields are kept as a JSON snapshot per mteb version under ``data/cache/`` and read from there afterwards
(milliseconds). Entries registered here (``register``: our registry's models, provider presets) take
precedence over mteb's, and say where they come from (``source``).

Prompts come in two kinds: ``"text"`` is prepended to the input by a local model (sentence-transformers
``prompts``), ``"input_type"`` is an API parameter (Voyage / Cohere ``input_type``, Jina ``task``).

Usage:
    from rag.models import catalog
    info = catalog.lookup("hf:intfloat/multilingual-e5-small")   # ModelInfo | None
    info.query_prompt, info.document_prompt, info.max_tokens      # "query: ", "passage: ", 512
    small_zh = catalog.search(languages=["zh"], open_weights=True, max_memory_mb=500, modality="text")
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata
from pathlib import Path

PREFIXES = ("hf:", "ms:", "st:")  # spec prefixes that are followed by a hub id (st: only when not a folder)
# the generic retrieval instruction mteb's instruct wrappers use for a query when no task is named
RETRIEVAL_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"


# a macrolanguage code also matches its members as mteb lists them ("cmn-Hans" is Mandarin Chinese)
MACROLANGUAGES = {"zho": ("cmn", "yue", "wuu"), "ara": ("arb",), "msa": ("zsm", "ind"), "fas": ("pes",)}


@dataclass(frozen=True)
class ModelInfo:
    """One model's published facts. ``None`` means not published (never a guessed zero)."""

    name: str                               # the hub id / provider model name, e.g. "BAAI/bge-small-zh-v1.5"
    languages: tuple[str, ...] = ()         # ISO 639-3 with script, e.g. ("eng-Latn", "zho-Hans"); () unknown
    max_tokens: int | None = None           # max input tokens (position limit or the provider's limit)
    n_parameters: int | None = None
    memory_mb: float | None = None          # weights in memory (fp32 unless the authors say otherwise)
    embed_dim: int | None = None
    license: str | None = None
    open_weights: bool | None = None
    release_date: str | None = None         # ISO date
    modalities: tuple[str, ...] = ("text",)
    query_prompt: str | None = None         # None: no prompt; "" is an explicit empty prompt
    document_prompt: str | None = None
    prompt_kind: str = "text"               # "text" (prepended) | "input_type" (API parameter)
    source: str = "mteb"                    # "mteb" | "registry" | "provider"
    revision: str | None = None
    reference: str | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)  # e.g. a provider's price

    def supports(self, language: str) -> bool:
        """Whether ``language`` ("zh", "zho", "zho-Hans", "en") is among the model's languages."""
        code = normalize_language(language)
        wanted = {code, *MACROLANGUAGES.get(code, ())}
        return any(lang in wanted or lang.split("-")[0] in wanted for lang in self.languages)

    @property
    def prompts(self) -> dict[str, str]:
        """The prompts in sentence-transformers' form ({"query": ..., "document": ...}), set ones only."""
        return {k: v for k, v in (("query", self.query_prompt), ("document", self.document_prompt))
                if v is not None}


_registered: dict[str, ModelInfo] = {}
_aliases: dict[str, str] = {}            # registry name ("minilm") -> catalog name
_lock = threading.Lock()
_mteb: dict[str, ModelInfo] | None = None


def register(info: ModelInfo, *aliases: str) -> None:
    """Add (or replace) an entry that mteb lacks or that we know better (a provider's preset, a
    registry model); ``aliases`` are other names that look it up (a registry key like "minilm")."""
    with _lock:
        _registered[info.name.lower()] = info
        for a in aliases:
            _aliases[a.lower()] = info.name


def alias(name: str, catalog_name: str) -> None:
    """Make ``name`` (a registry key) look up ``catalog_name`` (a hub id in mteb's registry)."""
    with _lock:
        _aliases[name.lower()] = catalog_name


def catalog_name(name_or_spec) -> str:
    """The name to look up: a spec's ``catalog_name``/``key``, without ``hf:``/``ms:`` or ``@REVISION``."""
    if not isinstance(name_or_spec, str):
        for attr in ("catalog_name", "key", "name"):
            value = getattr(name_or_spec, attr, None)
            if value:
                name_or_spec = value
                break
        else:
            return ""
    name = name_or_spec.strip()
    for p in PREFIXES:
        if name.startswith(p):
            name = name[len(p):]
            break
    name = name.split("#", 1)[0]  # spec options, e.g. "hf:ORG/NAME#dim=256"
    if "@" in name and not name.startswith(("http://", "https://")):
        name = name.split("@", 1)[0]
    return name.strip()


def lookup(name_or_spec) -> ModelInfo | None:
    """The catalog entry for a name as users type it (``BAAI/bge-small-zh-v1.5``, ``hf:ORG/NAME@rev``,
    a registry key once the registry is imported, a ``ModelSpec``), or None when it is not known."""
    name = catalog_name(name_or_spec)
    if not name:
        return None
    key = name.lower()
    key = _aliases.get(key, name).lower()
    if key in _registered:
        return _registered[key]
    entries = _mteb_entries()
    if key in entries:
        return entries[key]
    # a name given without its organisation ("bge-small-zh-v1.5", "text-embedding-3-small")
    matches = [v for k, v in entries.items() if k.rsplit("/", 1)[-1] == key]
    return matches[0] if len(matches) == 1 else None


def search(languages=None, license: str | None = None, open_weights: bool | None = None,
           max_memory_mb: float | None = None, modality: str | None = None) -> list[ModelInfo]:
    """Models that support every language in ``languages`` (ISO 639-1/3 codes, optionally with script),
    have ``license`` (case-insensitive), open or closed weights, fit in ``max_memory_mb`` (models with no
    published memory are left out when a limit is given) and embed ``modality``; newest first."""
    if isinstance(languages, str):
        languages = [languages]
    out = []
    pool = {**_mteb_entries(), **_registered}
    for info in pool.values():
        if languages and not all(info.supports(lang) for lang in languages):
            continue
        if license is not None and (info.license or "").lower() != license.lower():
            continue
        if open_weights is not None and info.open_weights is not open_weights:
            continue
        if max_memory_mb is not None and (info.memory_mb is None or info.memory_mb > max_memory_mb):
            continue
        if modality is not None and modality not in info.modalities:
            continue
        out.append(info)
    return sorted(out, key=lambda i: (i.release_date or "", i.name), reverse=True)


def normalize_language(code: str) -> str:
    """"zh" -> "zho", "zho-Hans" -> "zho-Hans", "EN" -> "eng" (mteb's own ISO 639-1 -> 639-3 table)."""
    code = code.strip()
    lang, _sep, script = code.partition("-")
    lang = lang.lower()
    if len(lang) == 2:
        lang = _iso1_to_iso3().get(lang, lang)
    return f"{lang}-{script.capitalize()}" if script else lang


def _iso1_to_iso3() -> dict[str, str]:
    import importlib.util

    spec = importlib.util.find_spec("mteb")
    if spec is None or not spec.submodule_search_locations:
        return {"zh": "zho", "en": "eng"}
    path = Path(next(iter(spec.submodule_search_locations))) / "languages" / "iso_639_1_to_3.json"
    return json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- mteb's registry, snapshotted


def _mteb_version() -> str | None:
    try:
        return metadata.version("mteb")
    except metadata.PackageNotFoundError:
        return None


def _snapshot_path(version: str) -> Path:
    from rag.settings import get_settings

    return get_settings().path("cache", f"mteb-models-{version}.json")


def _mteb_entries() -> dict[str, ModelInfo]:
    """mteb's models by lower-cased name (and by their renamed-from names), from the snapshot if any."""
    global _mteb
    if _mteb is not None:
        return _mteb
    with _lock:
        if _mteb is not None:
            return _mteb
        version = _mteb_version()
        if version is None:
            _mteb = {}
            return _mteb
        path = _snapshot_path(version)
        rows = None
        if path.exists():
            try:
                rows = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                rows = None
        if rows is None:
            rows = _extract_from_mteb()
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
            tmp.replace(path)
        names = {f.name for f in fields(ModelInfo)}
        entries = {}
        for row in rows:
            aka = row.pop("aliases", [])
            info = ModelInfo(**{k: tuple(v) if isinstance(v, list) else v for k, v in row.items() if k in names})
            entries[info.name.lower()] = info
            for a in aka:
                entries.setdefault(a.lower(), info)
        _mteb = entries
        return _mteb


def _extract_from_mteb() -> list[dict]:
    import mteb

    try:  # old names users still type ("voyageai/voyage-3.5" is now "mongodb/voyage-3.5")
        from mteb.models.get_model_meta import _MODEL_RENAMES as renames
    except ImportError:
        renames = {}
    old_names: dict[str, list[str]] = {}
    for old, new in renames.items():
        old_names.setdefault(new, []).append(old)
    rows = []
    for meta in mteb.get_model_metas():
        if meta.name is None:
            continue
        q, d = _prompts(meta)
        kind = "text" if meta.open_weights else "input_type"
        info = ModelInfo(
            name=meta.name, languages=tuple(meta.languages or ()),
            max_tokens=_finite_int(meta.max_tokens),
            n_parameters=_finite_int(meta.n_parameters), memory_mb=meta.memory_usage_mb,
            embed_dim=meta.embed_dim if isinstance(meta.embed_dim, int) else None,
            license=meta.license, open_weights=meta.open_weights,
            release_date=str(meta.release_date) if meta.release_date else None,
            modalities=tuple(meta.modalities or ("text",)), query_prompt=q, document_prompt=d,
            prompt_kind=kind, source="mteb", revision=meta.revision, reference=meta.reference)
        row = asdict(info)
        row.pop("extra")
        row["aliases"] = old_names.get(meta.name, [])
        rows.append(row)
    return rows


def _finite_int(value) -> int | None:
    """mteb writes ``inf`` for models without a token limit (static embeddings): no number to show."""
    try:
        return int(value) if value and math.isfinite(float(value)) else None
    except (TypeError, ValueError):
        return None


def _prompts(meta) -> tuple[str | None, str | None]:
    """(query, document) prompts from mteb's loader arguments: ``model_prompts`` ("query"/"document",
    else "Retrieval-query"/"Retrieval-document"), else an instruct model's template filled with the
    generic retrieval instruction (documents get none unless the template applies to passages)."""
    kw = meta.loader_kwargs or {}
    prompts = kw.get("model_prompts") or {}
    if isinstance(prompts, dict) and prompts:
        q = prompts.get("query", prompts.get("Retrieval-query"))
        d = prompts.get("document", prompts.get("Retrieval-document"))
        if q is not None or d is not None:
            return (q if isinstance(q, str) else None, d if isinstance(d, str) else None)
    template = kw.get("instruction_template")
    if isinstance(template, str) and "{instruction}" in template:
        q = template.format(instruction=RETRIEVAL_INSTRUCTION)
        return q, (q if kw.get("apply_instruction_to_passages") else None)
    return None, None
