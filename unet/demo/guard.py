"""What any HTTP request may send the server, checked before the body is read: an ASGI middleware.

Gradio reads a request body whole, and keeps each session's last inputs as they arrived, so a
script's 200 MB body becomes 200 MB of memory. ``RequestGuard`` answers 413 to a body longer than
``body_limit`` (from its Content-Length, or while it streams in without one) and, while the app
takes no uploads (``upload_limit`` 0), 403 to Gradio's upload route. Every session therefore holds
at most a body's worth of input, and memory is bounded by sessions x ``body_limit``.
"""

from __future__ import annotations

import json
import logging

log = logging.getLogger("glyph-attention")

UPLOAD_ROUTES = ("/upload", "/upload/")


class RequestGuard:
    """ASGI middleware: ``app_kwargs={"middleware": [Middleware(RequestGuard, body_limit=...)]}``."""

    def __init__(self, app, body_limit: int, upload_limit: int = 0):
        self.app, self.body_limit, self.upload_limit = app, body_limit, upload_limit

    def limit_for(self, path: str) -> int | None:
        """Bytes a body to ``path`` may hold; None: the route is closed."""
        if path.endswith(UPLOAD_ROUTES):
            return self.upload_limit or None
        return self.body_limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope.get("path", ""))
        if limit is None:
            log.info("refused %s: uploads are off", scope.get("path"))
            return await _refuse(send, 403, "this app takes no uploads")
        length = _content_length(scope)
        if length is not None and length > limit:
            log.info("refused %s: body of %d bytes", scope.get("path"), length)
            return await _refuse(send, 413, f"request body over {limit:,} bytes")
        received, started, refused = 0, False, False

        async def counted_receive():
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # answer now; the app then sees a client that went away, and what it would
                    # still send is dropped
                    refused = True
                    log.info("refused %s: body over %d bytes (streamed)", scope.get("path"), limit)
                    if not started:
                        await _refuse(send, 413, f"request body over {limit:,} bytes")
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not refused:
                raise


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
