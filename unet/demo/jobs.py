"""Heavy work for visitors (font exports; next, fine-tunes and scans), scheduled apart from the live demo.

A public Space must not let heavy work shut the live demo out, nor one visitor (or one script with a
thousand sessions) hold everyone else back. ``JobQueue`` is the one place those rules live:

- Its jobs run on their own worker thread(s), at a lower CPU priority, never in Gradio's queue: the
  page's event waits here, asynchronously, so Gradio's queue only ever holds light events.
- At most one pending or running job per visitor, and at most ``max_pending`` in all. Past that a
  visitor is told "busy, try again in about N s" at once (``JobQueueFull``), not queued.
- Visitors are served in arrival order, one job each: fair without weights.
- A job is cancelled when its visitor leaves (``cancel_visitor``, from the page's unload) or stops
  waiting for it: whoever waits renews the job's lease (``Job.renew``); a job whose lease ran out is
  cancelled at its next progress report (``JobContext.check``), before it starts if still queued.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ..errors import UserError

log = logging.getLogger("glyph-attention")

LEASE_S = 10.0  # a job nobody asked about for this long is abandoned (the page asks every second)


class JobQueueFull(UserError):
    """The visitor already has a job, or every slot is taken: try again later."""


class JobCancelled(Exception):
    """Raised inside a job's work when its visitor left or stopped waiting (not a user error)."""


def lower_priority(niceness: int) -> None:
    """Lower the calling thread's CPU priority (Linux schedules threads by their own nice value;
    threads and processes it starts inherit it). Where that is not possible jobs simply run at
    normal priority."""
    if niceness <= 0:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (OSError, AttributeError):
        pass


@dataclass(eq=False)
class Job:
    """One visitor's piece of heavy work, its progress and its outcome."""

    visitor: str
    work: Callable[[JobContext], Any]
    size: float = 1.0  # units of work (an export: its glyphs), for time estimates
    lease_s: float = LEASE_S
    future: Future = field(default_factory=Future)
    progress: tuple[float, str] = (0.0, "waiting")
    started: float | None = None  # time.monotonic() when the worker took it
    _cancel: threading.Event = field(default_factory=threading.Event)
    _deadline: float = 0.0

    def __post_init__(self):
        self.renew()

    def renew(self) -> None:
        """Whoever waits for the job says so (the page's event, every few tenths of a second)."""
        self._deadline = time.monotonic() + self.lease_s

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set() or time.monotonic() > self._deadline

    def done(self) -> bool:
        return self.future.done()


class JobContext:
    """What a job's work sees: report progress, and stop when its visitor is gone."""

    def __init__(self, job: Job):
        self._job = job

    def check(self) -> None:
        if self._job.cancelled:
            raise JobCancelled(self._job.visitor)

    def report(self, fraction: float, message: str) -> None:
        """Progress for the page; also the point where a cancelled job stops."""
        self._job.progress = (float(fraction), str(message))
        self.check()


class JobQueue:
    """Fair, bounded, cancellable heavy work on ``workers`` threads of lower CPU priority."""

    def __init__(self, name: str, max_pending: int, workers: int = 1, niceness: int = 10,
                 lease_s: float = LEASE_S, seconds_per_unit: float = 1.0, what: str = "job"):
        self.name, self.max_pending, self.lease_s, self.what = name, max_pending, lease_s, what
        self._queue: deque[Job] = deque()
        self._by_visitor: dict[str, Job] = {}  # pending or running, one per visitor
        self._running: list[Job] = []
        self._cond = threading.Condition()
        self._rates: deque[float] = deque([seconds_per_unit], maxlen=8)  # recent s per unit, for ETAs
        self._niceness = niceness
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
                         for i in range(workers)]
        for t in self._threads:
            t.start()
        self.completed = self.cancelled = self.refused = 0  # counters for the stress tool and tests

    # --- visitors ---------------------------------------------------------------------------------
    def submit(self, visitor: str, work: Callable[[JobContext], Any], size: float = 1.0) -> Job:
        """Queue ``work`` for ``visitor``, or refuse at once with a message saying when to come back."""
        with self._cond:
            if visitor in self._by_visitor:
                self.refused += 1
                raise JobQueueFull(f"your previous {self.what} is still being made; one at a time",
                                   key=f"{self.what}.busy.yours")
            if len(self._by_visitor) >= self.max_pending:
                self.refused += 1
                retry = self._retry_after_s()
                raise JobQueueFull(f"busy: {len(self._by_visitor)} {self.what}s are being made or waiting; "
                                   f"please try again in about {retry} s", key=f"{self.what}.busy.all",
                                   count=len(self._by_visitor), seconds=retry)
            job = Job(visitor, work, max(float(size), 1e-3), self.lease_s)
            self._queue.append(job)
            self._by_visitor[visitor] = job
            self._cond.notify()
        return job

    def cancel_visitor(self, visitor: str) -> bool:
        """The visitor left: stop their job (queued: never started; running: at its next report)."""
        with self._cond:
            job = self._by_visitor.get(visitor)
        if job is None:
            return False
        job.cancel()
        with self._cond:
            self._cond.notify_all()
        return True

    def ahead_of(self, job: Job) -> int:
        """Jobs that will start before ``job`` (0 once it runs)."""
        with self._cond:
            if job not in self._queue:
                return 0
            return len(self._running) + list(self._queue).index(job)

    def eta_s(self, job: Job) -> int:
        """Roughly when ``job`` finishes, in seconds: the work left ahead of it and its own, at the
        recent seconds per unit."""
        with self._cond:
            running = list(self._running)
            ahead = [] if job in running or job not in self._queue else \
                list(self._queue)[:list(self._queue).index(job)]
        if job in running:
            return max(1, round(self._left_s(job)))
        slots = max(1, len(self._threads))
        before = sum(self._left_s(r) for r in running) + sum(self._left_s(q) for q in ahead)
        return max(1, round(before / slots + self._left_s(job)))

    def load(self) -> dict:
        """Counts for the stress tool and the tests."""
        with self._cond:
            return {"pending": len(self._queue), "running": len(self._running),
                    "completed": self.completed, "cancelled": self.cancelled, "refused": self.refused}

    # --- the worker -------------------------------------------------------------------------------
    def _rate(self) -> float:
        """Recent seconds per unit of work (the median of the last few jobs)."""
        return sorted(self._rates)[len(self._rates) // 2]

    def _left_s(self, job: Job) -> float:
        """Seconds of work ``job`` still has, estimated."""
        total = job.size * self._rate()
        if job.started is None:
            return total
        return max(1.0, total - (time.monotonic() - job.started))

    def _retry_after_s(self) -> int:
        """Seconds until a place in line frees up, roughly (called with the lock held): when the
        first running job ends."""
        ends = [self._left_s(r) for r in self._running] or [self._left_s(q) for q in list(self._queue)[:1]]
        return max(5, round(min(ends, default=5)))

    def _next(self) -> Job:
        with self._cond:
            while True:
                while self._queue and self._queue[0].cancelled:
                    self._finish(self._queue.popleft(), cancelled=True)
                if self._queue:
                    job = self._queue.popleft()
                    self._running.append(job)
                    job.started = time.monotonic()
                    return job
                self._cond.wait(timeout=1.0)

    def _finish(self, job: Job, cancelled: bool) -> None:
        """Called with the lock held: the visitor may submit again."""
        if self._by_visitor.get(job.visitor) is job:
            del self._by_visitor[job.visitor]
        if job in self._running:
            self._running.remove(job)
        if cancelled:
            self.cancelled += 1
            log.info("%s: cancelled a job (its page left or stopped waiting)%s", self.name,
                     "" if job.started is None else f" after {time.monotonic() - job.started:.1f} s")
            if not job.future.done():
                job.future.set_exception(JobCancelled(job.visitor))
        else:
            self.completed += 1

    def _work(self) -> None:
        lower_priority(self._niceness)
        while True:
            job = self._next()
            try:
                result = job.work(JobContext(job))
            except JobCancelled:
                with self._cond:
                    self._finish(job, cancelled=True)
                continue
            except BaseException as e:  # the waiting event reports it (a UserError is a message)
                with self._cond:
                    self._finish(job, cancelled=False)
                job.future.set_exception(e)
                continue
            with self._cond:
                self._rates.append((time.monotonic() - job.started) / job.size)
                self._finish(job, cancelled=False)
            job.future.set_result(result)
