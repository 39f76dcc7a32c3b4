"""What the export and fine-tune load benchmarks share: ``python app.py`` started as a Space runs it,
one client timing /generate for new 8-character texts alone, then again and again while another
client's heavy call (an export, a fine-tune) runs."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .stylizer import TextPool

GENERATE_GAP_S = 0.5  # a visitor clicks now and then


def generate_timings(pool: TextPool, heavy: Callable, settle_s: float = 1.0, prepare: Callable | None = None,
                     env: dict[str, str] | None = None) -> tuple[list[float], list[float], float]:
    """One round on a fresh server: (seconds per /generate alone, the same while ``heavy(client)``
    runs, seconds ``heavy`` took). Texts come from ``pool`` (one pool for every round of a run, so
    that no text repeats); ``prepare(client)`` runs first on the heavy call's client (an upload);
    ``settle_s`` is waited after ``heavy`` starts (past what is not the heavy work itself); ``env``
    is set for the server."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio_client

    from tools.stress import Server

    st = pool.st
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        with Server() as server:
            live = gradio_client.Client(server.url, verbose=False)
            other = gradio_client.Client(server.url, verbose=False)

            def generate() -> float:
                t = time.perf_counter()
                live.predict(pool.take(), st.styles[0], "(none)", 0.5, st.layer_names, api_name="/generate")
                return time.perf_counter() - t

            generate()  # warm
            alone = [generate() for _ in range(4)]
            if prepare is not None:
                prepare(other)
            done, took = threading.Event(), []

            def run_heavy():
                t = time.perf_counter()
                try:
                    heavy(other)
                finally:
                    took.append(time.perf_counter() - t)
                    done.set()

            threading.Thread(target=run_heavy, daemon=True).start()
            time.sleep(settle_s)
            during = []
            while not done.is_set():
                during.append(generate())
                time.sleep(GENERATE_GAP_S)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return alone, during, took[0]
