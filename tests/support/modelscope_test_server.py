"""A ModelScope of our own on 127.0.0.1: the two routes of its public API a download uses (the repo's
file list, and one file by revision and path), serving folders given to it and recording every request,
so tests drive ``rag.models.modelscope`` without the network.

Usage:
    with ModelScopeServer({"acme/tiny": folder}) as ms:   # ms.url as MODELSCOPE_DOMAIN
        ...; ms.requests                                 # [(path, {query params})]
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

PREFIX = "/api/v1/models/"


class ModelScopeServer:
    def __init__(self, repos: dict[str, Path]):
        self.repos = {r: Path(p) for r, p in repos.items()}
        self.requests: list[tuple[str, dict]] = []
        ms = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, code: int, data: bytes, kind: str = "application/json"):
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                ms.requests.append((url.path, params))
                if not url.path.startswith(PREFIX) or params.get("Revision") != "master":
                    return self._send(404, b'{"Code": 404, "Message": "not found"}')
                repo, _, route = url.path[len(PREFIX):].partition("/repo")
                folder = ms.repos.get(repo)
                if folder is None:
                    return self._send(404, b'{"Code": 404, "Message": "model not found"}')
                if route == "/files":
                    files = [{"Name": p.name, "Path": p.relative_to(folder).as_posix(), "Type": "blob",
                              "Size": p.stat().st_size} for p in sorted(folder.rglob("*")) if p.is_file()]
                    dirs = [{"Name": p.name, "Path": p.relative_to(folder).as_posix(), "Type": "tree", "Size": 0}
                            for p in sorted(folder.rglob("*")) if p.is_dir()]
                    return self._send(200, json.dumps({"Code": 200, "Data": {"Files": dirs + files}}).encode())
                path = folder / params.get("FilePath", "")
                if route == "" and path.is_file():
                    return self._send(200, path.read_bytes(), "application/octet-stream")
                return self._send(404, b'{"Code": 404, "Message": "file not found"}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ModelScopeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
