"""The report's "Your data" part: the languages of each dataset reported on, the BM25 analyzer used,
models that do not read that language, and judged metrics that ran on English prompts.

Read from what every run records (``language``, ``bm25_analyzer``; rag.data.language and
rag.milvus.analyzers), so a report built later says what the run assumed then.

Usage:
    parts = your_data(runs)   # [{"dataset": "sample-zh", "lines": ["Documents: 100 % Chinese ...", ...]}]
"""

from __future__ import annotations

from rag.data.language import LanguageProfile, language_name
from rag.i18n import _
from rag.models.language_fit import fit_warning


def _fit_lines(models: list[str], profile: LanguageProfile) -> list[str]:
    from rag.models.registry import resolve

    out = []
    for m in models:
        try:
            why = fit_warning(resolve(m), profile)
        except Exception:  # a model spec this machine cannot resolve any more: nothing to say about it
            continue
        if why:
            out.append(_("{model}: {why}.").format(model=m, why=why))
    return out


def analyzer_sentence(choice: dict) -> str:
    how = (_("chosen for {language}").format(language=language_name(choice.get("language", "und")))
           if choice.get("chosen") == "auto" else _("set by the user"))
    note = f" ({_(choice['note'])})" if choice.get("note") else ""
    return _("BM25 analyzer: {name} ({how}){note}.").format(name=choice.get("name"), how=how, note=note)


def judge_prompt_sentence(config: dict, profile: LanguageProfile) -> str | None:
    """Judged metrics on a non-English corpus: Ragas' prompts stayed English (said, so the reader knows)."""
    if not config.get("judge") or profile.main_language in ("en", "und"):
        return None
    return _("Judged metrics used Ragas' English prompts on {language} data (Ragas 0.4.3 adapts prompts only by "
             "translating them with an LLM; not done here).").format(language=language_name(profile.main_language))


def your_data(runs) -> list[dict]:
    """One entry per dataset (content hash) among the runs that recorded a language profile."""
    out: dict[str, dict] = {}
    for run in runs:
        c = run.config or {}
        if not c.get("language"):
            continue
        profile = LanguageProfile.from_json(c["language"])
        part = out.setdefault(run.dataset_hash or run.dataset or run.id, {
            "dataset": run.dataset or _("dataset"), "lines": [_("Languages: {summary}.").format(
                summary=profile.summary())]})
        lines = part["lines"]
        for line in ([analyzer_sentence(c["bm25_analyzer"])] if c.get("bm25_analyzer") else []) + \
                _fit_lines(list(c.get("models") or []), profile) + \
                [s for s in [judge_prompt_sentence(c, profile)] if s]:
            if line not in lines:
                lines.append(line)
    return list(out.values())
