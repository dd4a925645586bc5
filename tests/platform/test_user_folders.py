"""Per-user folders of a signed-in app, the allow-list, model folders' paths, and the OIDC test provider's wire
format, without Streamlit.

- ``owner_id`` is SHA-256 of issuer and ``sub`` (hand-checked), so one ``sub`` at two providers is two users;
- ``user_path``: the data folder itself with nobody signed in (the CLI, an app without sign-in: unchanged), the
  user's own folder otherwise; the owner is per thread (a Streamlit session's script thread);
- two users' run stores and question sets are apart: ana's run is not in ben's list, nor in the shared store;
- ``spec_folder`` finds the folder of every folder-reading model spec and none of the others;
- a load test's thread records into the store of the user who started it;
- the provider: discovery, a one-time code, PKCE, the client's secret, an RS256 id_token its JWKS verifies.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from pathlib import Path

import pytest

from rag.settings import Settings, current_owner, owner_id, use_owner


@pytest.fixture
def owner():
    yield use_owner
    use_owner(None)


def test_owner_id_hashes_issuer_and_subject():
    assert owner_id("https://accounts.example", "ana-0001") == \
        hashlib.sha256(b"https://accounts.example\nana-0001").hexdigest()[:16]
    assert owner_id("https://a.example", "1") != owner_id("https://b.example", "1")  # same sub, two providers
    assert len(owner_id("i", "s")) == 16


def test_user_path_is_the_data_folder_without_sign_in_and_the_users_own_with(tmp_path, owner):
    s = Settings(data_dir=tmp_path)
    assert s.user_path("runs.sqlite") == tmp_path / "runs.sqlite"  # nobody signed in: as before
    owner(owner_id("iss", "ana"))
    assert s.user_path("runs.sqlite") == tmp_path / "users" / owner_id("iss", "ana") / "runs.sqlite"
    assert (tmp_path / "users" / owner_id("iss", "ana")).is_dir()
    seen = []
    t = threading.Thread(target=lambda: seen.append((current_owner(), s.user_path("runs.sqlite"))))
    t.start()
    t.join()
    assert seen == [(None, tmp_path / "runs.sqlite")]  # another thread (another session) is not ana


def test_two_users_runs_and_question_sets_are_apart(tmp_path, monkeypatch, owner):
    from rag.data.question_sets import EvalQuestion, list_question_sets, save_question_set
    from rag.runs import RunStore
    from rag.settings import reset_settings

    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    reset_settings()
    try:
        ana, ben = owner_id("iss", "ana"), owner_id("iss", "ben")
        owner(ana)
        run = RunStore.default().create("retrieval", {"models": ["bm25"], "k": 4})
        save_question_set("ana-questions", [EvalQuestion("q1", "what is BM25?")])
        assert [r.id for r in RunStore.default().list()] == [run]
        assert list_question_sets() == ["ana-questions"]
        owner(ben)
        assert RunStore.default().list() == [] and list_question_sets() == []
        owner(None)  # the CLI's store (the data folder's own) holds neither
        assert RunStore.default().list() == [] and list_question_sets() == []
        assert RunStore(tmp_path / "users" / ana / "runs.sqlite").get(run).kind == "retrieval"
    finally:
        monkeypatch.undo()
        reset_settings()


def test_the_allow_list():
    assert Settings(allowed_emails="").email_allowed("anyone@example.org")
    s = Settings(allowed_emails="ana@example.org, Ben@Example.org")
    assert s.email_allowed("ANA@example.org") and s.email_allowed("ben@example.org")
    assert not s.email_allowed("eve@example.org") and not s.email_allowed(None)


def test_spec_folder_finds_folder_specs_only():
    from rag.models.user_models import spec_folder

    assert [spec_folder(s) for s in ("st:/m/e5", "clip: /m/clip ", "img:/m/vit#dim=64", "clap:/m/clap", "aud:/a",
                                     "asr:/m/whisper", "ce:/m/rerank", "st:/m/x#query=q:%20")] == \
        ["/m/e5", "/m/clip", "/m/vit", "/m/clap", "/a", "/m/whisper", "/m/rerank", "/m/x"]
    assert [spec_folder(s) for s in ("minilm", "bm25", "hf:BAAI/bge-small-zh-v1.5", "cohere:embed-v4.0",
                                     "oai:nomic@http://127.0.0.1:11434/v1", "st:", "openai-3-small:256")] == [None] * 7


def test_the_oidc_test_provider_speaks_the_code_flow():
    import httpx
    from joserfc import jwt
    from joserfc.jwk import KeySet

    from tests.support.oidc_test_server import OidcServer

    redirect = "http://127.0.0.1:9/oauth2callback"
    with OidcServer("workbench", "s3cret", redirect) as srv, httpx.Client() as http:
        meta = http.get(srv.metadata_url).json()
        assert meta["issuer"] == srv.issuer and meta["code_challenge_methods_supported"] == ["S256"]
        verifier = "v" * 50
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        q = {"client_id": "workbench", "redirect_uri": redirect, "state": "st8", "nonce": "n0nce",
             "code_challenge": challenge, "code_challenge_method": "S256", "response_type": "code"}
        assert "Sign in as ana" in http.get(meta["authorization_endpoint"], params=q).text
        back = http.get(srv.issuer + "/authorize/choose", params={**q, "user": "ana"})
        assert back.status_code == 302 and back.headers["Location"].startswith(redirect + "?code=")
        code = back.headers["Location"].split("code=")[1].split("&")[0]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "code_verifier": verifier}
        assert http.post(meta["token_endpoint"], data=form, auth=("workbench", "wrong")).status_code == 401
        tok = http.post(meta["token_endpoint"], data=form, auth=("workbench", "s3cret")).json()
        keys = KeySet.import_key_set(http.get(meta["jwks_uri"]).json())
        claims = jwt.decode(tok["id_token"], keys, algorithms=["RS256"]).claims
        assert {k: claims[k] for k in ("iss", "aud", "sub", "email", "nonce")} == \
            {"iss": srv.issuer, "aud": "workbench", "sub": "ana-0001", "email": "ana@example.org", "nonce": "n0nce"}
        assert http.post(meta["token_endpoint"], data=form, auth=("workbench", "s3cret")).json() == \
            {"error": "invalid_grant"}  # a code is good once
        who = http.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {tok['access_token']}"}).json()
        assert who["sub"] == "ana-0001" and srv.issued == ["ana"]
        bad = http.get(srv.issuer + "/authorize/choose", params={**q, "redirect_uri": "http://evil.example/cb",
                                                                 "user": "ana"})
        assert bad.status_code == 400


def test_user_folders_are_under_the_data_folder(tmp_path, owner):
    owner("0123456789abcdef")
    assert Path(Settings(data_dir=tmp_path).user_path("loadtests", "r1", "x")).parent == \
        tmp_path / "users" / "0123456789abcdef" / "loadtests" / "r1"


def test_a_load_test_job_records_into_its_starters_store(tmp_path, monkeypatch, owner):
    """The load test runs in its own thread: it records into the store of the user who started it (here the
    run fails at once, nothing listens on the host, and the failed run is in ana's store, not the shared one)."""
    from loadtests.config import LoadConfig
    from loadtests.runner import LoadTestJob
    from rag.runs import RunStore
    from rag.settings import reset_settings
    from tests.conftest import free_port

    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    reset_settings()
    try:
        ana = owner_id("iss", "ana")
        owner(ana)
        job = LoadTestJob(LoadConfig(models=["bm25"], users=1, duration=1, host=f"http://127.0.0.1:{free_port()}"))
        owner(None)  # the starting thread moves on (another session's run)
        job.start()
        job.join(60)
        assert job.phase == "failed" and job.run_id, (job.phase, job.error)
        assert RunStore(tmp_path / "users" / ana / "runs.sqlite").get(job.run_id).status == "failed"
        assert RunStore(tmp_path / "runs.sqlite").list() == []
    finally:
        monkeypatch.undo()
        reset_settings()
