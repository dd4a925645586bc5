"""Step 3: the shortlist, every candidate kept or excluded with its reason, public scores beside it.

Where candidates come from: the models the user names (registry keys, ``st:FOLDER``, provider specs),
else every registry model; each is matched to its catalog entry (``rag.models.catalog``: mteb's offline
``ModelMeta`` registry plus our own entries) for languages, license, open weights, memory and max
tokens. The catalog is also *surveyed* for models that fit the brief and the data, which the user can
then fetch and name (``st:FOLDER``); they are listed, not evaluated, because weights are not downloaded.

Filters are a table (``RULES``): each rule returns the reason a candidate is excluded, or None. A
published fact that is missing never excludes (a user's own folder has no catalog entry); it is said.

Public benchmark scores come from mteb's results cache on disk (``MTEB_CACHE`` or ``~/.cache/mteb``,
the layout mteb's ``ResultCache`` writes: ``results/<org>__<name>/<revision>/<Task>.json``, and the
cloned ``remote/results/...``). Each candidate's score is the mean ``main_score`` (test split, mean of
subsets) over the tasks *every* scored candidate has, so the means are comparable; absent → said so.

Usage:
    sl = shortlist(brief, analysis, ["minilm", "bm25", "hybrid"])
    [c.key for c in sl.kept], {c.key: c.excluded for c in sl.candidates if c.excluded}
    sl.public.scores          # {"minilm": 0.41, ...} or {} with sl.public.note saying why
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flows.decide.analysis import DataAnalysis
from flows.decide.brief import Brief
from rag.i18n import _
from rag.models import catalog
from rag.models.catalog import ModelInfo

# licenses that allow commercial use as published; "nc" in a license id means non-commercial
COMMERCIAL = {"apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "cc-by-4.0", "cc-by-sa-4.0", "cc0-1.0",
              "openrail", "openrail++", "bigscience-openrail-m", "creativeml-openrail-m", "gemma", "llama3",
              "llama3.1", "llama3.2", "mpl-2.0", "unlicense", "openmdw-1.1"}
SURVEY_SIZE = 8


@dataclass
class Candidate:
    """A model considered in step 3: its catalog facts, whether it is kept, and why not."""
    key: str                         # what runs key it by ("minilm", "st:/models/x")
    source: str                      # "yours" | "registry" | "catalog"
    kind: str = "dense"              # dense | sparse | hybrid
    info: ModelInfo | None = None
    excluded: str | None = None      # the reason, or None when kept
    notes: list[str] = field(default_factory=list)
    truncated: float | None = None   # share of documents over the model's max tokens
    public: float | None = None      # mean public score over the common tasks
    price_per_mtok: float = 0.0
    runnable: bool = True

    def to_json(self) -> dict:
        i = self.info
        return {"model": self.key, "source": self.source, "kind": self.kind, "kept": self.excluded is None,
                "excluded": self.excluded, "notes": self.notes, "catalog_name": i.name if i else None,
                "languages": list(i.languages) if i else None, "license": i.license if i else None,
                "open_weights": i.open_weights if i else None, "memory_mb": i.memory_mb if i else None,
                "max_tokens": i.max_tokens if i else None, "embed_dim": i.embed_dim if i else None,
                "truncated_share": self.truncated, "public_score": self.public,
                "price_per_mtok": self.price_per_mtok}


def license_allows_commercial(info: ModelInfo | None) -> tuple[bool | None, str]:
    """(True/False/None = unknown, why) for commercial use."""
    if info is None:
        return None, _("license not in the catalog (your own model: check it)")
    lic = (info.license or "").lower()
    if not lic or lic == "not specified":
        if info.open_weights is False:
            return True, _("hosted API: commercial use under the provider's terms")
        return None, _("license not published")
    if "nc" in lic.replace("-", " ").split() or "non-commercial" in lic or "noncommercial" in lic:
        return False, _("license {license} forbids commercial use").format(license=info.license)
    if lic in COMMERCIAL:
        return True, _("license {license}").format(license=info.license)
    return None, _("license {license}: read its terms for commercial use").format(license=info.license)


# ---------------------------------------------------------------- the rules: reason to exclude, or None

def _rule_runs_here(c: Candidate, brief: Brief, a: DataAnalysis) -> str | None:
    return None if c.runnable else _("not runnable here: {why}").format(why="; ".join(c.notes[-1:]))


def _rule_where(c: Candidate, brief: Brief, a: DataAnalysis) -> str | None:
    hosted = c.price_per_mtok != 0 or (c.info is not None and c.info.open_weights is False)
    if brief.where == "local" and hosted:
        return _("a hosted API, and the brief allows local models only")
    return None


def _rule_license(c: Candidate, brief: Brief, a: DataAnalysis) -> str | None:
    if c.kind == "sparse":
        return None
    ok, why = license_allows_commercial(c.info)
    if ok is None:
        c.notes.append(why)
    return why if brief.commercial and ok is False else None


def _rule_language(c: Candidate, brief: Brief, a: DataAnalysis) -> str | None:
    lang = a.profile.main_language
    if c.kind == "sparse" or c.info is None or not c.info.languages or lang == "und":
        if c.info is not None and not c.info.languages and c.kind != "sparse":
            c.notes.append(_("languages not published"))
        return None
    return None if c.info.supports(lang) else \
        _("does not list {language} among its languages ({languages}…)").format(
            language=lang, languages=", ".join(c.info.languages[:4]))


def _rule_memory(c: Candidate, brief: Brief, a: DataAnalysis) -> str | None:
    mem = c.info.memory_mb if c.info else None
    if brief.memory_mb is not None and mem is not None and mem > brief.memory_mb:
        return _("weights need {mb} MB > the brief's {limit} MB").format(mb=f"{mem:,.0f}",
                                                                           limit=f"{brief.memory_mb:,.0f}")
    return None


def _rule_length(c: Candidate, brief: Brief, a: DataAnalysis) -> str | None:
    if c.kind == "sparse":
        return None
    c.truncated = a.truncated_share(c.info.max_tokens if c.info else None)
    if c.truncated is None:
        return None
    if c.truncated > brief.max_truncated:
        return _("max {tokens} tokens cuts {share} of the documents (> {allowed} allowed)").format(
            tokens=c.info.max_tokens, share=f"{c.truncated:.0%}", allowed=f"{brief.max_truncated:.0%}")
    if c.truncated > 0:
        c.notes.append(_("cuts {share} of the documents at {tokens} tokens").format(share=f"{c.truncated:.0%}",
                                                                                  tokens=c.info.max_tokens))
    return None


Rule = Callable[[Candidate, Brief, DataAnalysis], str | None]
RULES: list[Rule] = [_rule_runs_here, _rule_where, _rule_license, _rule_language, _rule_memory, _rule_length]


def check(c: Candidate, brief: Brief, a: DataAnalysis) -> Candidate:
    """Apply every rule in order; the first that refuses is the exclusion (notes keep the rest)."""
    for rule in RULES:
        why = rule(c, brief, a)
        if why and c.excluded is None:
            c.excluded = why
    return c


def candidate_of(key: str, source: str) -> Candidate:
    """A named model as a candidate: resolved, checked for this machine, matched to the catalog."""
    from rag.models.base import ModelUnavailable
    from rag.models.registry import resolve

    try:
        spec = resolve(key)
    except ModelUnavailable as e:
        return Candidate(key, source, runnable=False, notes=[str(e).splitlines()[0][:200]])
    info = catalog.lookup(spec.model_id) if spec.kind != "sparse" else None
    ok, why = spec.availability()
    c = Candidate(key, source, spec.kind, info or catalog.lookup(key), price_per_mtok=float(spec.price_per_mtok),
                  runnable=ok)
    if not ok:
        c.notes.append(why)
    if spec.kind == "sparse":
        c.notes.append(_("BM25: no model to run; its tokenizer follows the data's language"))
    return c


# ---------------------------------------------------------------- public scores (mteb results cache)

def mteb_cache_dir() -> Path:
    return Path(os.environ.get("MTEB_CACHE") or Path.home() / ".cache" / "mteb")


def _task_score(path: Path) -> float | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    scores = data.get("scores") or {}
    split = scores.get("test") or next(iter(scores.values()), None) or []
    vals = [s.get("main_score") for s in split if isinstance(s.get("main_score"), (int, float))]
    return sum(vals) / len(vals) if vals else None


def _model_tasks(cache: Path, name: str) -> dict[str, float]:
    """{task: main score} for one model, every revision in the cache (the newest file wins per task)."""
    folder = name.replace("/", "__")
    out: dict[str, tuple[float, float]] = {}
    for base in (cache / "results" / folder, cache / "remote" / "results" / folder):
        for p in base.glob("*/*.json"):
            if p.name == "model_meta.json":
                continue
            v = _task_score(p)
            if v is not None and (p.stem not in out or p.stat().st_mtime > out[p.stem][1]):
                out[p.stem] = (v, p.stat().st_mtime)
    return {t: v for t, (v, _) in out.items()}


@dataclass
class PublicScores:
    """Public benchmark means per candidate over the tasks they all have, and what was (not) found."""
    cache: str
    tasks: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    note: str = ""

    def to_json(self) -> dict:
        return {"cache": self.cache, "tasks": self.tasks, "scores": self.scores, "note": self.note}


def public_scores(cands: list[Candidate], cache: Path | None = None) -> PublicScores:
    cache = cache or mteb_cache_dir()
    out = PublicScores(str(cache))
    if not (cache / "results").is_dir() and not (cache / "remote" / "results").is_dir():
        out.note = _("no mteb results cache at {cache}: public scores absent (online: "
                     "`mteb.ResultCache().download_from_remote()`, or set MTEB_CACHE to a copy)").format(cache=cache)
        return out
    per = {c.key: _model_tasks(cache, c.info.name) for c in cands if c.info is not None}
    per = {k: v for k, v in per.items() if v}
    if not per:
        out.note = _("the mteb results cache at {cache} has no results for these candidates").format(cache=cache)
        return out
    common = sorted(set.intersection(*(set(v) for v in per.values())))
    if not common:
        out.note = _("the candidates share no task in the mteb results cache: no comparable public score")
        return out
    out.tasks = common
    out.scores = {k: round(sum(v[t] for t in common) / len(common), 4) for k, v in per.items()}
    missing = [c.key for c in cands if c.key not in out.scores]
    tasks = ", ".join(common[:6]) + ("…" if len(common) > 6 else "")
    out.note = (_("mean main score over {n} task(s) every scored candidate has: {tasks}; no public score: {missing}")
                .format(n=len(common), tasks=tasks, missing=", ".join(missing)) if missing else
                _("mean main score over {n} task(s) every scored candidate has: {tasks}").format(n=len(common),
                                                                                                tasks=tasks))
    for c in cands:
        c.public = out.scores.get(c.key)
    return out


# ---------------------------------------------------------------- the shortlist

@dataclass
class Shortlist:
    candidates: list[Candidate]
    survey: list[Candidate]
    survey_total: int
    public: PublicScores

    @property
    def kept(self) -> list[Candidate]:
        return [c for c in self.candidates if c.excluded is None]

    def to_json(self) -> dict:
        return {"candidates": [c.to_json() for c in self.candidates], "public": self.public.to_json(),
                "survey": [c.to_json() for c in self.survey], "survey_total": self.survey_total}


def survey(brief: Brief, a: DataAnalysis, exclude: set[str], size: int = SURVEY_SIZE) -> tuple[list[Candidate], int]:
    """Catalog models that pass the brief on this data (not evaluated: named for the user to fetch)."""
    lang = a.profile.main_language
    found = catalog.search(languages=[lang] if lang != "und" else None,
                           open_weights=True if brief.where == "local" else None,
                           max_memory_mb=brief.memory_mb, modality="image" if brief.task == "image" else "text")
    out = []
    for info in found:
        if info.name in exclude:
            continue
        c = Candidate(f"hf:{info.name}", "catalog", "dense", info, runnable=True)
        check(c, brief, a)
        if c.excluded is None and (not brief.commercial or license_allows_commercial(info)[0]):
            c.notes.append(_("not evaluated: fetch its weights and name it as st:FOLDER"))
            out.append(c)
    return out[:size], len(out)


def shortlist(brief: Brief, a: DataAnalysis, models: list[str] | None = None, cache: Path | None = None,
              with_survey: bool = True) -> Shortlist:
    """Step 3. ``models``: the user's candidates (else the registry's); ``cache``: the mteb results cache."""
    from rag.models.registry import REGISTRY

    named = list(dict.fromkeys(m.strip() for m in models if m.strip())) if models else list(REGISTRY)
    cands = [check(candidate_of(m, "yours" if models else "registry"), brief, a) for m in named]
    pub = public_scores(cands, cache)
    got, total = survey(brief, a, {c.info.name for c in cands if c.info}) if with_survey else ([], 0)
    return Shortlist(cands, got, total, pub)
