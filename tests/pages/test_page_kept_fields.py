"""The Retrieval page keeps k and the typed models across a page switch (Streamlit deletes a widget's key
on every run where the widget is not drawn; the page seeds it back)."""

from __future__ import annotations

from tests.conftest import ROOT


def test_k_and_typed_models_survive_a_page_switch(milvus):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/3_Retrieval.py").run()
    assert not at.exception and at.number_input[0].value == 4  # the sample's default
    at.number_input[0].set_value(7).run()
    at.text_input(key="retrieval_models_custom").set_value("st:/no/such/model").run()
    at.switch_page("pages/5_Load_test.py").run()  # a full run of another page drops those widgets' keys
    assert not at.exception and "retrieval_k" not in at.session_state
    at.switch_page("pages/3_Retrieval.py").run()
    assert not at.exception
    assert at.number_input[0].value == 7
    assert at.text_input(key="retrieval_models_custom").value == "st:/no/such/model"
    assert not [w for w in at.warning if "Session State" in str(w.value)]  # no default-vs-state warning
