"""What keeps the live demo live under heavy work and scripts, without a server: the export line
(``JobQueue``), the limit on the page's fetches (``FetchLimit``), the forward-pass priorities
(``Workers``) and the request guard (body caps, uploads off)."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from unet.demo.guard import RequestGuard
from unet.demo.jobs import JobCancelled, JobQueue, JobQueueFull
from unet.demo.limits import Busy, FetchLimit
from unet.demo.service import FETCH, SPECULATION, VISITOR, Workers


def wait_for(condition, timeout=5.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


# --- the export line --------------------------------------------------------------------------------
def blocking_work(gate: threading.Event, log: list, name: str):
    def work(ctx):
        log.append(("start", name))
        while not gate.wait(0.01):
            ctx.report(0.5, "working")
        return name
    return work


def test_one_job_per_visitor_and_a_bounded_line():
    gate, log = threading.Event(), []
    q = JobQueue("t", max_pending=3, niceness=0)
    a = q.submit("a", blocking_work(gate, log, "a"))
    with pytest.raises(JobQueueFull, match="one at a time"):
        q.submit("a", blocking_work(gate, log, "a2"))
    q.submit("b", blocking_work(gate, log, "b"))
    q.submit("c", blocking_work(gate, log, "c"))
    with pytest.raises(JobQueueFull, match=r"busy: 3 jobs .* try again in about \d+ s"):
        q.submit("d", blocking_work(gate, log, "d"))
    wait_for(lambda: a.started is not None)
    gate.set()
    wait_for(lambda: q.load()["completed"] == 3)
    assert [n for _, n in log] == ["a", "b", "c"]  # arrival order
    assert q.load()["refused"] == 2
    q.submit("a", blocking_work(gate, log, "a3")).future.result(timeout=5)  # a may submit again


def test_visitors_are_served_in_arrival_order_and_told_their_place():
    gate, log = threading.Event(), []
    q = JobQueue("t", max_pending=4, niceness=0)
    jobs = [q.submit(v, blocking_work(gate, log, v)) for v in "xyz"]
    wait_for(lambda: jobs[0].started is not None)
    assert [q.ahead_of(j) for j in jobs] == [0, 1, 2]
    assert q.eta_s(jobs[2]) > q.eta_s(jobs[1]) > 0
    gate.set()
    assert [j.future.result(timeout=5) for j in jobs] == ["x", "y", "z"]


def test_a_visitor_who_leaves_is_cancelled_queued_or_running():
    gate, log = threading.Event(), []
    q = JobQueue("t", max_pending=4, niceness=0)
    running = q.submit("a", blocking_work(gate, log, "a"))
    queued = q.submit("b", blocking_work(gate, log, "b"))
    wait_for(lambda: running.started is not None)
    assert q.cancel_visitor("b") and q.cancel_visitor("a")
    with pytest.raises(JobCancelled):
        running.future.result(timeout=5)
    with pytest.raises(JobCancelled):
        queued.future.result(timeout=5)
    assert ("start", "b") not in log  # never started
    assert q.load()["cancelled"] == 2 and q.load()["pending"] == 0
    q.submit("a", blocking_work(gate, log, "again"))  # their slot is free again


def test_a_job_nobody_waits_for_stops_when_its_lease_runs_out():
    gate, log = threading.Event(), []
    q = JobQueue("t", max_pending=2, niceness=0, lease_s=0.3)
    job = q.submit("a", blocking_work(gate, log, "a"))
    t0 = time.monotonic()
    with pytest.raises(JobCancelled):
        job.future.result(timeout=5)
    assert time.monotonic() - t0 < 2


def test_a_renewed_job_runs_to_the_end_and_errors_reach_the_waiter():
    q = JobQueue("t", max_pending=2, niceness=0, lease_s=0.3)

    def slow(ctx):
        for i in range(8):
            ctx.report(i / 8, "step")
            time.sleep(0.1)
        return "done"

    job = q.submit("a", slow)
    while not job.done():
        job.renew()
        time.sleep(0.05)
    assert job.future.result() == "done"

    def broken(ctx):
        raise ValueError("bad font")

    with pytest.raises(ValueError, match="bad font"):
        q.submit("a", broken).future.result(timeout=5)
    assert q.submit("a", lambda ctx: 1).future.result(timeout=5) == 1  # the worker survived


# --- the page's fetches ------------------------------------------------------------------------------
def test_fetch_limit_per_visitor_and_in_all():
    async def scenario():
        limit = FetchLimit(running=1, waiting=2, per_visitor=1)
        release = asyncio.Event()
        order = []

        async def call(visitor):
            async with limit.slot(visitor):
                order.append(visitor)
                await release.wait()

        first = asyncio.create_task(call("a"))
        await asyncio.sleep(0.01)
        with pytest.raises(Busy, match="still fetching"):
            async with limit.slot("a"):
                pass
        waiting = [asyncio.create_task(call(v)) for v in "bc"]
        await asyncio.sleep(0.01)
        with pytest.raises(Busy, match="busy"):
            async with limit.slot("d"):
                pass
        assert order == ["a"]  # one running, two waiting
        release.set()
        await asyncio.gather(first, *waiting)
        assert order == ["a", "b", "c"] and limit.refused == 2
        async with limit.slot("d"):  # everything released
            pass

    asyncio.run(scenario())


# --- forward-pass priorities -------------------------------------------------------------------------
def test_a_visitor_goes_before_waiting_fetches_and_speculation():
    workers = Workers(1)
    gate, order = threading.Event(), []
    workers.submit(gate.wait)  # occupies the only thread
    futures = [workers.submit(order.append, name, priority=p)
               for name, p in [("spec", SPECULATION), ("fetch1", FETCH), ("fetch2", FETCH), ("visitor", VISITOR)]]
    gate.set()
    for f in futures:
        f.result(timeout=5)
    assert order == ["visitor", "fetch1", "fetch2", "spec"]


def test_worker_errors_reach_the_caller():
    workers = Workers(1)
    with pytest.raises(ZeroDivisionError):
        workers.submit(lambda: 1 / 0).result(timeout=5)
    assert workers.submit(lambda: 2).result(timeout=5) == 2


# --- the request guard -------------------------------------------------------------------------------
async def echo_app(scope, receive, send):
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(len(body)).encode()})


def call_guard(path: str, chunks: list[bytes], content_length: int | None, body_limit=100, upload_limit=0,
               guard: RequestGuard | None = None):
    guard = guard or RequestGuard(echo_app, body_limit=body_limit, upload_limit=upload_limit)
    headers = [] if content_length is None else [(b"content-length", str(content_length).encode())]
    scope = {"type": "http", "path": path, "method": "POST", "headers": headers}
    incoming = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    read, sent = [], []

    async def receive():
        read.append(1)
        return incoming.pop(0)

    async def send(message):
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return status, body, len(read)


def test_guard_passes_honest_bodies():
    assert call_guard("/gradio_api/queue/join", [b"x" * 60, b"y" * 40], content_length=100)[:2] == (200, b"100")


def test_guard_refuses_a_declared_large_body_before_reading_it():
    status, body, reads = call_guard("/gradio_api/queue/join", [b"x" * 101], content_length=10**9)
    assert status == 413 and reads == 0 and "over 100 bytes" in json.loads(body)["error"]


def test_guard_stops_an_undeclared_body_as_it_streams_in():
    status, body, reads = call_guard("/gradio_api/queue/join", [b"x" * 60] * 50, content_length=None)
    assert status == 413 and reads == 2  # stopped at the chunk that crossed the limit


def test_guard_closes_the_upload_route_while_uploads_are_off():
    status, body, reads = call_guard("/gradio_api/upload", [b"x"], content_length=1)
    assert status == 403 and reads == 0 and "no uploads" in json.loads(body)["error"]
    assert call_guard("/gradio_api/upload", [b"x" * 50], content_length=50, upload_limit=1000)[0] == 200
    assert call_guard("/gradio_api/upload", [b"x" * 50], content_length=50, upload_limit=10)[0] == 413


def test_guard_bounds_upload_bytes_per_window(monkeypatch):
    """A script's uploads bring in at most the budget per window (disk stays bounded), then 429
    saying when to come back; the window moves on."""
    guard = RequestGuard(echo_app, body_limit=100, upload_limit=50, upload_budget=120, upload_window_s=60)
    clock = [1000.0]
    monkeypatch.setattr("unet.demo.guard.time.monotonic", lambda: clock[0])
    assert call_guard("/gradio_api/upload", [b"x" * 50], 50, guard=guard)[0] == 200
    assert call_guard("/gradio_api/upload", [b"x" * 50], 50, guard=guard)[0] == 200
    status, body, reads = call_guard("/gradio_api/upload", [b"x" * 50], 50, guard=guard)
    assert status == 429 and reads == 0 and "try again in 60 s" in json.loads(body)["error"]
    # a body without a length is counted as it streams in, against what is left (20 bytes)
    assert call_guard("/gradio_api/upload", [b"x" * 15, b"x" * 15], None, guard=guard)[0] == 413
    clock[0] += 61
    assert call_guard("/gradio_api/upload", [b"x" * 50], 50, guard=guard)[0] == 200
    assert call_guard("/gradio_api/queue/join", [b"x" * 50], 50, guard=guard)[0] == 200  # other routes: no budget


def test_a_fetch_that_waits_too_long_is_told_busy():
    async def scenario():
        limit = FetchLimit(running=1, waiting=1, per_visitor=1, patience_s=0.1)
        release = asyncio.Event()

        async def hold():
            async with limit.slot("a"):
                await release.wait()

        holder = asyncio.create_task(hold())
        await asyncio.sleep(0.01)
        with pytest.raises(Busy, match="busy"):
            async with limit.slot("b"):
                pass
        release.set()
        await holder
        async with limit.slot("b"):  # its place was given back
            pass

    asyncio.run(scenario())


def test_only_one_fetch_runs_a_forward_pass_at_a_time(tmp_path):
    """A flood of the page's fetches never holds both workers: a visitor always finds one free."""
    from unet.demo.service import DemoService
    from unet.engine.stylizer import Stylizer

    from ..support import tiny_checkpoint

    svc = DemoService(Stylizer.from_pretrained(tiny_checkpoint(tmp_path), "cpu"), speculate=False)
    running, peak, lock = [0], [0], threading.Lock()
    real_run = svc._run

    def counted(req):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            time.sleep(0.05)
            return real_run(req)
        finally:
            with lock:
                running[0] -= 1

    svc._run = counted
    texts = ["永", "和", "九", "年"]
    threads = [threading.Thread(target=svc.result, args=(svc.request(t, "WenKai", None, 0, []),),
                                kwargs={"priority": FETCH}) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert peak[0] == 1
    threads = [threading.Thread(target=svc.result, args=(svc.request(t + "永", "WenKai", None, 0, []),))
               for t in texts]  # visitors' generations use both workers
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert peak[0] == 2


def test_estimates_follow_the_work_ahead():
    gate, log = threading.Event(), []
    q = JobQueue("t", max_pending=3, niceness=0, seconds_per_unit=1.0)
    big = q.submit("a", blocking_work(gate, log, "a"), size=100)
    small = q.submit("b", blocking_work(gate, log, "b"), size=1)
    wait_for(lambda: big.started is not None)
    assert 95 <= q.eta_s(big) <= 100 and q.eta_s(small) >= 96
    q.submit("c", blocking_work(gate, log, "c"), size=1)
    with pytest.raises(JobQueueFull, match=r"try again in about (9\d|100) s"):  # when the big one ends
        q.submit("d", blocking_work(gate, log, "d"))
    gate.set()
    wait_for(lambda: q.load()["completed"] == 3)
