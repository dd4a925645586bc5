"""A Hugging Face hub of our own on 127.0.0.1: the few routes ``huggingface_hub.snapshot_download`` calls
(repo info, tree listing, HEAD/GET of ``/resolve/``), serving folders given to it and recording every
request (path, Authorization header), so tests drive the real download code without the network.

Usage:
    with HubServer({"acme/tiny": folder}) as hub:   # hub.url as HF_ENDPOINT
        ...; hub.requests                          # [(method, path, authorization)]
    HubServer({"acme/tiny": folder}, slow_from=1_000_000, delay=0.5)   # files of 1 MB or more wait 0.5 s: the
    # small files finish first, so a download's progress has a step between 0 and done to observe
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class HubServer:
    def __init__(self, repos: dict[str, Path], slow_from: int | None = None, delay: float = 0.0):
        self.repos = {r: Path(p) for r, p in repos.items()}
        self.slow_from, self.delay = slow_from, delay
        self.requests: list[tuple[str, str, str | None]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_HEAD(self):
                self._serve(body=False)

            def do_GET(self):
                self._serve(body=True)

            def _send(self, code: int, data: bytes, headers: dict, body: bool, delay: float = 0.0):
                self.send_response(code)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.flush()
                    time.sleep(delay)  # a large file's bytes arrive after the small files' (its size is known)
                    self.wfile.write(data)

            def _serve(self, body: bool):
                path = unquote(urlparse(self.path).path)
                hub.requests.append((self.command, path, self.headers.get("Authorization")))
                for repo, folder in hub.repos.items():
                    files = sorted(p for p in folder.rglob("*") if p.is_file())
                    if path in (f"/api/models/{repo}", f"/api/models/{repo}/revision/main",
                                f"/api/models/{repo}/revision/{COMMIT}"):
                        info = {"id": repo, "sha": COMMIT, "siblings": [
                            {"rfilename": str(p.relative_to(folder))} for p in files]}
                        return self._send(200, json.dumps(info).encode(), {"Content-Type": "application/json"}, body)
                    if path.startswith(f"/api/models/{repo}/tree/"):
                        tree = [{"type": "file", "path": str(p.relative_to(folder)), "size": p.stat().st_size,
                                 "oid": hashlib.sha1(p.read_bytes()).hexdigest()} for p in files]
                        return self._send(200, json.dumps(tree).encode(), {"Content-Type": "application/json"}, body)
                    prefix = f"/{repo}/resolve/"
                    if path.startswith(prefix):
                        name = path[len(prefix):].split("/", 1)[1]
                        p = folder / name
                        if not p.is_file():
                            return self._send(404, b"", {"X-Error-Code": "EntryNotFound"}, body)
                        data = p.read_bytes()
                        slow = body and hub.slow_from is not None and len(data) >= hub.slow_from
                        return self._send(200, data, {"X-Repo-Commit": COMMIT,
                                                      "ETag": f'"{hashlib.sha1(data).hexdigest()}"'}, body,
                                          delay=hub.delay if slow else 0.0)
                self._send(404, b'{"error": "Repository not found"}',
                           {"X-Error-Code": "RepoNotFound", "Content-Type": "application/json"}, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> HubServer:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
