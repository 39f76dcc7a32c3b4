"""How many of the page's fetches (Gradio server functions) may be in flight, per visitor and in all.

Server functions bypass Gradio's queue: a script could start any number at once, and each sync one
would hold a thread of the pool that every event shares. So the app's server functions are async
and enter a ``FetchLimit`` first: at most ``per_visitor`` of one visitor at once, at most ``running``
doing work and ``waiting`` waiting in all; past that the call is answered at once with a message,
and a call that waited ``patience_s`` for its turn is answered the same way (a message, not a
client's timeout).
It lives on one event loop (Gradio's), so it needs no lock.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ..errors import UserError


class Busy(UserError):
    """Too many calls in flight: try again in a moment."""


class FetchLimit:
    def __init__(self, running: int, waiting: int, per_visitor: int, patience_s: float = 10.0):
        self.running, self.waiting, self.per_visitor = running, waiting, per_visitor
        self.patience_s = patience_s  # a call that waited this long for a slot is answered "busy"
        self._slots = asyncio.Semaphore(running)
        self._admitted = 0  # running or waiting
        self._per: Counter[str] = Counter()
        self.refused = 0  # for the stress tool and the tests

    @asynccontextmanager
    async def slot(self, visitor: str) -> AsyncIterator[None]:
        if self._per[visitor] >= self.per_visitor:
            self.refused += 1
            raise Busy("this page is still fetching; please try again in a moment")
        if self._admitted >= self.running + self.waiting:
            self.refused += 1
            raise Busy("the server is busy; please try again in a few seconds")
        self._per[visitor] += 1
        self._admitted += 1
        try:
            try:
                await asyncio.wait_for(self._slots.acquire(), self.patience_s)
            except (TimeoutError, asyncio.TimeoutError):
                self.refused += 1
                raise Busy("the server is busy; please try again in a few seconds") from None
            try:
                yield
            finally:
                self._slots.release()
        finally:
            self._admitted -= 1
            self._per[visitor] -= 1
            if not self._per[visitor]:
                del self._per[visitor]
