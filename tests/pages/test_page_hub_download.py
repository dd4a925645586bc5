"""The Index page's download bar for an ``hf:`` model (issue 24): byte counts that grow to done, then the build.

huggingface_hub downloads in worker threads and reports bytes from them; a Streamlit bar can only be moved from
the page's script thread (from another one ``st.progress`` raises ``NoSessionContext``, which failed the download).
Here the real download code fetches a tiny BERT from the local hub (tests/support/hub_test_server.py, its large
file held back so the small ones arrive first) into a temporary HF cache, and every progress message the page
sends to the browser (``ScriptRunContext.enqueue``: what a browser session receives) is recorded in order.

huggingface_hub reads ``HF_ENDPOINT`` and ``HF_HOME`` once, at import, and this process imported it long ago: its
``constants`` are pointed at the local hub and the temporary cache as those variables would have set them.
"""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.models.test_hub_models import tiny_bert  # noqa: F401  (fixture)
from tests.support.hub_test_server import COMMIT, HubServer

pytestmark = pytest.mark.slow
DOWNLOADING = re.compile(r"^hf:acme/tiny-bert: downloading ([\d.]+)/([\d.]+) MB$")


@pytest.fixture
def local_hub(monkeypatch, tmp_path, tiny_bert):  # noqa: F811
    from huggingface_hub import constants

    with HubServer({"acme/tiny-bert": tiny_bert}, slow_from=1_000_000, delay=1.0) as hub:
        monkeypatch.setattr(constants, "ENDPOINT", hub.url)
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                            hub.url + "/{repo_id}/resolve/{revision}/{filename}")
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        yield hub, tmp_path / "hub"


def test_index_page_shows_the_hub_download_then_builds(milvus, local_hub, monkeypatch):
    from streamlit.runtime.scriptrunner_utils.script_run_context import ScriptRunContext

    hub, cache = local_hub
    sent: list[tuple[int, str]] = []   # (percent, text) of every progress bar message the session sent
    enqueue = ScriptRunContext.enqueue

    def recording(self, msg):
        if msg.WhichOneof("type") == "delta" and msg.delta.new_element.WhichOneof("type") == "progress":
            sent.append((msg.delta.new_element.progress.value, msg.delta.new_element.progress.text))
        return enqueue(self, msg)

    monkeypatch.setattr(ScriptRunContext, "enqueue", recording)
    at = AppTest.from_file(str(ROOT / "pages" / "2_Index.py"), default_timeout=180).run()
    at.multiselect[0].set_value([]).run()
    at.text_input[0].set_value("hf:acme/tiny-bert").run()
    at.button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]

    downloads = [(value, DOWNLOADING.match(text)) for value, text in sent if DOWNLOADING.match(text)]
    done = [float(m.group(1)) for _, m in downloads]
    total = {m.group(2) for _, m in downloads}
    assert len(total) == 1 and len(downloads) >= 2, sent                 # one total, a step before done
    assert done == sorted(done) and done[0] < done[-1] == float(total.pop()), sent
    assert downloads[-1][0] == 100 and downloads[0][0] < 100, sent      # the bar's fraction reaches done
    after = sent[sent.index(next(s for s in sent if DOWNLOADING.match(s[1]) and s[0] == 100)) + 1:]
    assert after and all(not DOWNLOADING.match(t) for _, t in after), sent  # then the build's own stages
    assert after[-1][1].startswith("hf:acme/tiny-bert: ") and after[-1][0] == 100, after

    # built here, or reused: another test of the session may have built the same tiny model's collection already
    ready = at.success[0].value
    assert re.fullmatch(r"Ready: hf:acme/tiny-bert \(([\d,]+ docs/s|reused)\)", ready), ready
    limits = next(d.value for d in at.dataframe if "max tokens" in d.value.columns).set_index("model")
    assert limits.loc["hf:acme/tiny-bert", "dims"] == "32"                # the tiny model's hidden size
    names = next(d.value for d in at.dataframe if "rows" in d.value.columns)
    assert any(n.startswith("wb_sample_hf") and str(r) == "31" for n, r in zip(names["name"], names["rows"])), names
    assert (cache / "models--acme--tiny-bert" / "snapshots" / COMMIT / "model.safetensors").is_file()
    assert any(p.endswith("/model.safetensors") and m == "GET" for m, p, _ in hub.requests)
