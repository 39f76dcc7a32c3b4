"""What any HTTP request may send the server, checked before the body is read: an ASGI middleware.

Gradio reads a request body whole, and keeps each session's last inputs as they arrived, so a
script's 200 MB body becomes 200 MB of memory. ``RequestGuard`` answers 413 to a body longer than
``body_limit`` (from its Content-Length, or while it streams in without one). Every session therefore
holds at most a body's worth of input, and memory is bounded by sessions x ``body_limit``.

Gradio's upload route writes files to disk, where they stay until the app reads and deletes them or
Gradio's cache clean-up removes them. So an upload may hold ``upload_limit`` bytes (0: the route is
closed, 403), and all uploads together at most ``upload_budget`` bytes per ``upload_window_s``
(past that: 429, "try again in N s"): whatever a script sends, the disk holds at most the budget of
the windows within the cache's clean-up age.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque

log = logging.getLogger("glyph-attention")

UPLOAD_ROUTES = ("/upload", "/upload/")


class RequestGuard:
    """ASGI middleware: ``app_kwargs={"middleware": [Middleware(RequestGuard, body_limit=...)]}``."""

    def __init__(self, app, body_limit: int, upload_limit: int = 0, upload_budget: int | None = None,
                 upload_window_s: float = 600.0):
        self.app, self.body_limit, self.upload_limit = app, body_limit, upload_limit
        self.upload_budget = upload_budget if upload_budget is not None else 10 * upload_limit
        self.upload_window_s = upload_window_s
        self._uploads: deque[tuple[float, int]] = deque()  # (when, bytes) of recent uploads
        # one event loop (the server's) calls this middleware: no lock needed

    def limit_for(self, path: str) -> int | None:
        """Bytes a body to ``path`` may hold; None: the route is closed."""
        if self.is_upload(path):
            return self.upload_limit or None
        return self.body_limit

    @staticmethod
    def is_upload(path: str) -> bool:
        return path.endswith(UPLOAD_ROUTES)

    def upload_room(self) -> tuple[int, float]:
        """(bytes uploads may still bring in this window, seconds until the oldest one leaves it)."""
        now = time.monotonic()
        while self._uploads and now - self._uploads[0][0] > self.upload_window_s:
            self._uploads.popleft()
        used = sum(n for _, n in self._uploads)
        wait = self.upload_window_s - (now - self._uploads[0][0]) if self._uploads else 0.0
        return self.upload_budget - used, wait

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
        upload = self.is_upload(scope.get("path", ""))
        if upload:
            room, wait = self.upload_room()
            if room < (length or 1):
                log.info("refused %s: the upload budget is spent", scope.get("path"))
                return await _refuse(send, 429, f"too many uploads just now; please try again in {wait:.0f} s")
            limit = min(limit, room)
            entry = (time.monotonic(), length or 0)  # counted now, so uploads at once share the room
            self._uploads.append(entry)
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
        finally:
            if upload and received > entry[1]:  # a body without a length is counted as it came
                self._uploads.append((entry[0], received - entry[1]))


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
