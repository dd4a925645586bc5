"""Whether an LLM is configured, and the judged RAG job's config: shared by the demo and Decide.

Why its own module: both flows run the judged job the same way (same generator and judge, the same
spend cap rule), and the demo now runs Decide as a step, so neither may import the other for it
(``flows`` has no import cycles among its modules).

Usage:
    ok, why = llm_configured(settings)          # (False, NO_LLM) without a key or base URL
    cfg = judged_config(["minilm"], k=4, spend_cap_usd=0.5)
"""

from __future__ import annotations

from rag.i18n import N_
from rag.models.llm import parse_llm

# a catalog key: shown with _(why) where the language is known (the demo's step, Decide's evaluation step)
NO_LLM = N_("no LLM configured: set OPENAI_API_KEY (environment, .env or the sidebar) or an OpenAI-compatible "
            "base URL to add LLM answers and the judged metrics")


def llm_configured(settings=None) -> tuple[bool, str]:
    """Whether the judged step can run with these settings, and why not."""
    ok, why = parse_llm("openai", None, settings).availability(settings)
    return ok, ("" if ok else NO_LLM)


def judged_config(models: list[str], k: int, spend_cap_usd: float, llm: str = "openai", index: dict | None = None):
    from evaluators.rag.config import RagConfig

    return RagConfig(models=list(models), generator=llm, judge=llm, k=k, spend_cap_usd=spend_cap_usd,
                     **({"index": index} if index else {}))
