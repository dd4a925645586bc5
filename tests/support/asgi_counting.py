"""An ASGI app in front of another that counts the HTTP requests reaching it (which path served a request)."""

from __future__ import annotations


class CountingApp:
    def __init__(self, app):
        self.app, self.calls = app, 0

    async def __call__(self, scope, receive, send):
        self.calls += scope["type"] == "http"
        await self.app(scope, receive, send)
