"""A shared app behind sign-in: Streamlit's OIDC login against a local test provider, two users apart.

The app runs with ``[auth]`` in a secrets file pointing at tests/support/oidc_test_server.py and with
``WORKBENCH_DATA_ROOTS`` set. In two browser contexts:

1. every URL shows the sign-in screen first; ana signs in through the provider's login form, runs the
   sample's retrieval comparison (bm25) and sees her run in History; it is stored in her own folder;
2. ben signs in in a second context: his History has no runs, not ana's, and the key ana typed is not his; a
   BEIR folder and a model folder outside the roots are refused with the exact line;
3. signing out returns to the sign-in screen (also after a reload: the cookie is gone).

Waits wait on what a click produces (a heading, a table, a status line), never on fixed sleeps.
"""

from __future__ import annotations

import re
import secrets

import pytest

from tests.conftest import free_port
from tests.e2e.conftest import ARTIFACTS, launch_app
from tests.e2e.streamlit_page import NAV, StreamlitPage

pytestmark = pytest.mark.slow
SIDEBAR = '[data-testid="stSidebar"]'


@pytest.fixture(scope="module")
def oidc(tmp_path_factory):
    from tests.support.oidc_test_server import OidcServer

    port = free_port()
    with OidcServer("workbench", "secret-" + secrets.token_hex(8), f"http://127.0.0.1:{port}/oauth2callback") as srv:
        yield srv, port


@pytest.fixture(scope="module")
def signin_app(milvus, data_dir, oidc, tmp_path_factory):
    import shutil

    srv, port = oidc
    here = tmp_path_factory.mktemp("signin")
    roots = here / "roots"
    roots.mkdir()
    auth = here / "secrets.toml"
    auth.write_text(f'[auth]\nredirect_uri = "{srv.redirect_uri}"\ncookie_secret = "{secrets.token_hex(32)}"\n'
                    f'client_id = "{srv.client_id}"\nclient_secret = "{srv.client_secret}"\n'
                    f'server_metadata_url = "{srv.metadata_url}"\n')
    app = launch_app(data_dir, {"WORKBENCH_DATA_ROOTS": str(roots)}, ("--secrets.files", str(auth)),
                     log_name="streamlit-signin", port=port)
    app.roots = roots
    try:
        yield app
    finally:
        app.stop()
        if app.log.exists() and ARTIFACTS.exists():
            shutil.copy(app.log, ARTIFACTS / "streamlit-signin.log")


@pytest.fixture(scope="module")
def users(browser, signin_app, artifacts):
    contexts, pages = [], []
    for _ in range(2):
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        page.set_default_timeout(120_000)
        contexts.append(ctx)
        pages.append(StreamlitPage(page, signin_app, artifacts))
    yield pages
    for ctx in contexts:
        ctx.close()


def _sign_in_screen(p: StreamlitPage) -> None:
    p.page.locator("h1").filter(has_text="Sign in").first.wait_for(timeout=120_000)
    assert p.page.locator(NAV).count() == 0  # no page of the app before sign-in


def _sign_in(p: StreamlitPage, user: str) -> None:
    p.page.goto(p.app.url)
    _sign_in_screen(p)
    p.main.get_by_role("button", name="Sign in", exact=True).click()
    p.page.get_by_role("button", name=f"Sign in as {user}").click()  # the provider's login form
    p.page.locator(NAV).wait_for(timeout=120_000)
    p.wait_idle()
    p.page.locator(SIDEBAR).get_by_text(f"Signed in as {user}@example.org").wait_for()


def test_two_signed_in_users_see_only_their_own_runs(users, signin_app, oidc, data_dir):
    from rag.runs import RunStore
    from rag.settings import owner_id

    srv, _ = oidc
    ana, ben = users
    _sign_in(ana, "ana")
    sidebar = ana.page.locator(SIDEBAR)  # a key ana types is her session's (ben's sidebar never shows it)
    sidebar.get_by_text("API key and endpoint").click()
    ana.fill("OpenAI API key", "sk-ana-" + secrets.token_hex(16), within=sidebar)  # committed, its rerun over,
    ana.wait_idle(settle=0.2, start=0)  # before the click (a click into a field's blur rerun is lost)
    sidebar.get_by_role("button", name="Use these", exact=True).click()
    ana.wait_idle()
    sidebar.get_by_text("(this session's key)").wait_for()
    ana.goto("Retrieval")
    box = ana.main.get_by_role("combobox", name="Models", exact=True).first
    box.click()
    for _ in range(2):  # minilm and bm25 are chosen: clear both, then bm25 alone (the fastest run: no encoder)
        ana.page.keyboard.press("Backspace")
    ana.page.keyboard.press("Escape")
    ana.wait_idle()
    ana.select("Models", "bm25")
    chosen = ana.main.locator('[data-testid="stMultiSelect"]').first.inner_text()
    assert "bm25" in chosen and "minilm" not in chosen, chosen
    ana.press("Compare", "Metrics per model", timeout=300)
    run_id = re.search(r"Run (\S+) · k = 4", ana.text(re.compile(r"^Run \S+ · k = 4")).inner_text()).group(1)
    ana.goto("History")
    ana.cell(run_id)
    stored = RunStore(data_dir / "users" / owner_id(srv.issuer, "ana-0001") / "runs.sqlite")
    assert stored.get(run_id).config["models"] == ["bm25"]

    _sign_in(ben, "ben")
    assert "this session's key" not in ben.page.locator(SIDEBAR).inner_text()
    ben.goto("History")
    ben.text("No runs yet.", exact=False)
    assert run_id not in ben.page.locator("body").inner_text()
    assert not (data_dir / "users" / owner_id(srv.issuer, "ben-0002") / "runs.sqlite").exists() or \
        RunStore(data_dir / "users" / owner_id(srv.issuer, "ben-0002") / "runs.sqlite").list() == []
    assert srv.issued == ["ana", "ben"]


def test_folders_outside_the_roots_are_refused(users, signin_app):
    ben = users[1]
    roots = signin_app.roots.resolve()
    ben.goto("Data")
    ben.main.get_by_text("BEIR folder", exact=True).click()
    ben.wait_idle()
    ben.fill("BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)", "/etc")
    ben.button("Load folder")
    ben.text(f"Not loaded: /etc: outside the folders this shared app may read (WORKBENCH_DATA_ROOTS: {roots})",
             exact=True)
    ben.goto("Retrieval")
    ben.fill("Your own models (comma-separated)", "st:/usr/share")
    ben.text(f"Not loaded: /usr/share: outside the folders this shared app may read (WORKBENCH_DATA_ROOTS: {roots})",
             exact=True)


def test_signing_out_returns_to_the_sign_in_screen(users):
    ben = users[1]
    ben.page.locator(SIDEBAR).get_by_role("button", name="Sign out", exact=True).click()
    _sign_in_screen(ben)
    ben.page.reload()
    _sign_in_screen(ben)
