"""The Index page's providers panel: each preset with its price and whether a key is set; a key typed
there is this session's, bound to that provider's URL, and never shown back."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from rag.models.providers import PROVIDERS
from rag.settings import reset_settings
from tests.conftest import ROOT

TYPED = "sk-voyage-typed-4411"


def _providers_frame(at):
    return next(d.value for d in at.dataframe if "spec" in d.value.columns)


def test_index_page_lists_providers_and_takes_a_key_for_one(milvus, monkeypatch):
    for p in PROVIDERS.values():
        monkeypatch.delenv(p.key_env, raising=False)
        monkeypatch.delenv(p.base_env, raising=False)
    monkeypatch.setenv("COHERE_API_KEY", "co-env")
    reset_settings()
    at = AppTest.from_file(str(ROOT / "pages" / "2_Index.py"), default_timeout=240).run()
    assert not at.exception
    rows = _providers_frame(at).set_index("spec")
    assert rows.loc["dashscope:text-embedding-v4", "price"] == "$0.072/1M tokens"
    assert rows.loc["siliconflow:BAAI/bge-m3", "price"] == "price unverified (not published where we looked)"
    assert rows.loc["cohere:embed-v4.0", "key set"] == "✅ set"
    assert rows.loc["voyage:voyage-3.5", "key set"] == "❎ not set"
    next(s for s in at.selectbox if s.label == "Provider").set_value("voyage").run()
    next(t for t in at.text_input if t.label.startswith("Voyage AI API key")).input(TYPED).run()
    next(b for b in at.button if b.label == "Use this key").click().run()
    assert not at.exception
    rows = _providers_frame(at).set_index("spec")
    assert rows.loc["voyage:voyage-3.5", "key set"] == "✅ set"
    assert rows.loc["jina:jina-embeddings-v3", "key set"] == "❎ not set"
    assert at.session_state["provider_keys"] == {"https://api.voyageai.com/v1": TYPED}
    shown = " ".join(str(e.value) for kind in ("markdown", "caption", "error", "info") for e in getattr(at, kind))
    assert TYPED not in shown and TYPED not in _providers_frame(at).to_string()
    reset_settings()
