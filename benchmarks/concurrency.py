"""Table 6: throughput with 8 concurrent Gradio clients, each a thread with its own session."""

from __future__ import annotations

import threading
import time

from unet import Stylizer

from . import measure as m
from .gradio_api import api_args
from .stylizer import TextPool


def table_concurrency(rep: m.Report, quick: bool, st: Stylizer, server, single_p50: float) -> dict:
    from gradio_client import Client

    n_clients, duration = 8, (20.0 if not quick else 6.0)
    clients = [Client(server.url, verbose=False, download_files=False) for _ in range(n_clients)]
    pool = TextPool(st)
    for c in clients[:1]:
        c.predict(*api_args(st, st.layer_names, pool.take()), api_name="/generate")
    lat: list[tuple[float, float]] = []
    errors = []
    lock = threading.Lock()
    barrier = threading.Barrier(n_clients + 1)

    def worker(c):
        barrier.wait()
        while time.perf_counter() < deadline:
            text = pool.take()
            t = time.perf_counter()
            try:
                c.predict(*api_args(st, st.layer_names, text), api_name="/generate")
            except Exception as e:  # noqa: BLE001 - reported in the table
                errors.append(repr(e))
                continue
            with lock:
                lat.append((t, time.perf_counter()))

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in clients]
    load0, t_table = m.loadavg(), time.perf_counter()
    for th in threads:
        th.start()
    deadline = time.perf_counter() + duration
    barrier.wait()
    t0 = time.perf_counter()
    for th in threads:
        th.join()
    wall = max(e for _, e in lat) - t0 if lat else float("nan")
    lats = [e - s for s, e in lat]
    rows = [[n_clients, f"{duration:.0f} s (+ requests in flight)", len(lat), len(errors),
             f"{len(lat) / wall:.2f}", f"{1 / single_p50:.2f}", m.ms(m.p50(lats)), m.ms(m.p95(lats))]]
    rep.add("## 6. Throughput with 8 concurrent Gradio clients\n\n" + m.md_table(
        ["clients", "window", "requests done", "errors", "requests/s", "1 ÷ single-client p50 (table 4)",
         "latency p50 ms", "latency p95 ms"], rows) + (
        "\n\nEach client is a thread with its own `gradio_client.Client` (own session, "
        "download_files=False) making sequential /generate requests, each for a new 8-character text. Every "
        "model event shares one concurrency group (app.py's `concurrency_limit` generations at a time), "
        "so requests queue and latency ≈ clients × service time ÷ that limit. "
        f"{m.load_note(load0)}"
        + (f" First error: `{errors[0][:200]}`" if errors else "")), 6, t_table)
    return {"clients": n_clients, "rps": len(lat) / wall, "errors": len(errors)}


def summary_rows(results: dict) -> list[list[str]]:
    """Table 6's line of the targets at a glance."""
    ok = results["rps"] >= 2.3 and results["errors"] == 0
    return [[f"{results['clients']} concurrent clients, new texts each request", "≥ 2.3 req/s, 0 errors",
             f"{results['rps']:.2f} req/s, {results['errors']} errors", m.verdict(ok), "table 6"]]
