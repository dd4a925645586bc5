"""A local OpenID Connect provider for tests: the wire format Streamlit's ``st.login`` (Authlib) speaks.

The identity provider is a remote service the tests cannot reach, so this stands in for it on 127.0.0.1:
a discovery document, ``/authorize`` (a page with one "Sign in as NAME" button per test user, as a real
provider's login form; the button redirects back to the app with a one-time code), ``/token`` (the code,
the client's secret and the PKCE verifier checked, an ``id_token`` signed RS256 with a key made for this
server), ``/jwks`` and ``/userinfo``. Everything it answered is recorded (``srv.issued``: the users who got
tokens, in order).

Usage:
    with OidcServer(client_id="workbench", client_secret="s3cret", redirect_uri=".../oauth2callback") as srv:
        srv.metadata_url         # "http://127.0.0.1:PORT/.well-known/openid-configuration"
        srv.issuer               # the id_token's iss
        srv.issued               # ["ana", "ben"]: who signed in
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

USERS = {  # name -> the claims a provider gives for that person
    "ana": {"sub": "ana-0001", "email": "ana@example.org", "name": "Ana Test"},
    "ben": {"sub": "ben-0002", "email": "ben@example.org", "name": "Ben Test"},
}


class OidcServer:
    """Usage: see the module docstring."""

    def __init__(self, client_id: str, client_secret: str, redirect_uri: str, users: dict | None = None):
        from joserfc.jwk import RSAKey

        self.client_id, self.client_secret, self.redirect_uri = client_id, client_secret, redirect_uri
        self.users = users or USERS
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
        self.codes: dict[str, dict] = {}      # code -> {user, nonce, redirect_uri, challenge}
        self.tokens: dict[str, str] = {}      # access token -> user
        self.issued: list[str] = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.issuer = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.metadata_url = self.issuer + "/.well-known/openid-configuration"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True, name="oidc-test-server")

    def __enter__(self) -> OidcServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def metadata(self) -> dict:
        i = self.issuer
        return {"issuer": i, "authorization_endpoint": i + "/authorize", "token_endpoint": i + "/token",
                "jwks_uri": i + "/jwks", "userinfo_endpoint": i + "/userinfo",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"], "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "code_challenge_methods_supported": ["S256"]}

    def claims(self, user: str) -> dict:
        return {"iss": self.issuer, "aud": self.client_id, **self.users[user]}

    def id_token(self, user: str, nonce: str | None) -> str:
        from joserfc import jwt

        now = int(time.time())
        claims = {**self.claims(user), "iat": now, "exp": now + 600, "auth_time": now}
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)

    def login_page(self, q: dict) -> str:
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in q.items() if k in ("client_id", "redirect_uri", "state", "nonce",
                                                        "code_challenge", "code_challenge_method"))
        buttons = "".join(f'<button type="submit" name="user" value="{u}">Sign in as {u}</button>'
                          for u in self.users)
        return (f"<!doctype html><title>Test provider</title><h1>Test provider</h1>"
                f'<form method="get" action="/authorize/choose">{hidden}{buttons}</form>')

    def choose(self, q: dict) -> tuple[int, dict]:
        """The login form's button: a one-time code for the user, redirected back to the app."""
        if q.get("client_id") != self.client_id or q.get("redirect_uri") != self.redirect_uri:
            return 400, {"error": "invalid_request", "error_description": "unknown client or redirect_uri"}
        if q.get("user") not in self.users:
            return 400, {"error": "access_denied"}
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = {"user": q["user"], "nonce": q.get("nonce"), "redirect_uri": q["redirect_uri"],
                                "challenge": q.get("code_challenge")}
        return 302, {"Location": f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state', '')})}"}

    def token(self, form: dict, authorization: str | None) -> tuple[int, dict]:
        cid, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            from urllib.parse import unquote

            cid, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
            cid, secret = unquote(cid), unquote(secret)
        if (cid, secret) != (self.client_id, self.client_secret):
            return 401, {"error": "invalid_client"}
        with self.lock:
            grant = self.codes.pop(form.get("code", ""), None)  # one use only
        if grant is None or form.get("grant_type") != "authorization_code" \
                or form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        if grant["challenge"]:
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
                return 400, {"error": "invalid_grant", "error_description": "PKCE verifier does not match"}
        access = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[access] = grant["user"]
            self.issued.append(grant["user"])
        return 200, {"access_token": access, "token_type": "Bearer", "expires_in": 600, "scope": "openid email profile",
                     "id_token": self.id_token(grant["user"], grant["nonce"])}


def _handler(srv: OidcServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet: the tests assert on srv.issued
            pass

        def _send(self, status: int, body: dict | str, headers: dict | None = None) -> None:
            raw = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Type", "text/html" if isinstance(body, str) else "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._send(200, srv.metadata())
            elif url.path == "/jwks":
                self._send(200, {"keys": [srv.key.as_dict(private=False)]})
            elif url.path == "/authorize":
                self._send(200, srv.login_page(q))
            elif url.path == "/authorize/choose":
                status, out = srv.choose(q)
                self._send(status, "", out) if status == 302 else self._send(status, out)
            elif url.path == "/userinfo":
                user = srv.tokens.get((self.headers.get("Authorization") or "").removeprefix("Bearer "))
                self._send(200, srv.claims(user)) if user else self._send(401, {"error": "invalid_token"})
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:
            if urlparse(self.path).path != "/token":
                return self._send(404, {"error": "not_found"})
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            form = {k: v[0] for k, v in parse_qs(body).items()}
            self._send(*srv.token(form, self.headers.get("Authorization")))

    return Handler
