"""Font exports in the app (``FontExports``), without a server: checked when asked for, one per
visitor in a bounded line, run at a lower priority, cancelled when the visitor leaves, and each font
kept until its page fetches it."""

from __future__ import annotations

import os
import threading
import time

import pytest

from unet.demo.exports import FontExports
from unet.demo.jobs import JobCancelled, JobQueueFull
from unet.engine.stylizer import Stylizer
from unet.errors import ExportError, GenerationError
from unet.settings import FONT_CACHE_BYTES, FONT_CACHE_ENTRIES

from ..support import require_font

SMILEY = "Smiley Sans"


@pytest.fixture(scope="module")
def stylizer():
    require_font("SmileySans-Oblique.ttf")
    return Stylizer.from_pretrained()


@pytest.fixture
def exports(stylizer):
    return FontExports(stylizer, max_chars=4, max_pending=2)


def hold_worker(exports: FontExports) -> threading.Event:
    """Occupy the export worker until the returned event is set."""
    gate, started = threading.Event(), threading.Event()

    def work(ctx):
        started.set()
        while not gate.wait(0.02):
            ctx.report(0.5, "holding")

    job = exports.jobs.submit("holder", work)
    assert started.wait(10)
    keep_alive = threading.Thread(target=lambda: [job.renew() or time.sleep(0.1) for _ in iter(job.done, True)],
                                  daemon=True)
    keep_alive.start()
    return gate


def test_an_export_is_checked_before_it_waits(exports):
    with pytest.raises(ExportError, match="at most 4 per export"):
        exports.plan("永和九年歲", SMILEY, "ttf", False)
    with pytest.raises(ExportError, match="too long"):
        exports.plan("a" * 10_001, SMILEY, "ttf", False)
    with pytest.raises(ExportError, match="format"):
        exports.plan("永", SMILEY, "woff", False)
    with pytest.raises(GenerationError, match="must be true or false, got 'false'"):
        exports.plan("永", SMILEY, "ttf", "false")  # a string is not a boolean
    with pytest.raises(ExportError, match="unknown preset"):
        exports.preset_text(["gb2312-500"])
    assert exports.jobs.load()["pending"] == 0  # nothing was queued


def test_one_export_per_visitor_a_bounded_line_and_the_font_kept_for_its_page(exports):
    gate = hold_worker(exports)
    alice = exports.submit("alice", exports.plan("永和", SMILEY, "ttf", False))
    with pytest.raises(JobQueueFull, match="one at a time"):
        exports.submit("alice", exports.plan("九", SMILEY, "ttf", False))
    with pytest.raises(JobQueueFull, match=r"busy: 2 fonts .* about \d+ s"):
        exports.submit("bob", exports.plan("九", SMILEY, "ttf", False))
    view = exports.status_view(alice)
    assert view["state"] == "waiting" and view["ahead"] == 1 and view["eta_s"] > 0
    gate.set()
    while not alice.done():
        alice.renew()
        time.sleep(0.05)
    ticket = alice.future.result()
    assert ticket["state"] == "done" and ticket["chars"] == "永和"
    assert exports.font_data(ticket["token"])["filename"] == ticket["filename"]
    assert ticket["filename"].startswith("GlyphAttentionSmileySans") and ticket["filename"].endswith(".ttf")
    assert "error" in exports.font_data(None) and "error" in exports.font_data("nope")
    assert exports.make("alice", "年", SMILEY, "ttf", False)["chars"] == "年"  # free again
    assert exports._fonts.max_entries == FONT_CACHE_ENTRIES and exports._fonts.max_bytes == FONT_CACHE_BYTES


def test_a_visitor_who_leaves_stops_their_export(exports):
    gate = hold_worker(exports)
    alice = exports.submit("alice", exports.plan("永和", SMILEY, "ttf", False))
    assert exports.cancel_visitor("alice")
    gate.set()
    with pytest.raises(JobCancelled):
        alice.future.result(timeout=30)
    assert exports.jobs.load()["cancelled"] == 1
    assert exports.make("alice", "年", SMILEY, "ttf", False)["chars"] == "年"


def test_exports_run_at_a_lower_priority(exports):
    job = exports.jobs.submit("x", lambda ctx: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    assert job.future.result(timeout=10) == os.getpriority(os.PRIO_PROCESS, 0) + 10  # they yield to the demo
    assert len(exports.preset_text("gb2312-500")) == len(exports.preset_text("big5-500")) == 500


def test_the_preview_text_uses_the_fonts_characters_with_punctuation_it_holds():
    """The preview sets running text: the characters in the order typed, cut into clauses with the
    Chinese punctuation and quotes every export holds (so vertical text shows where they sit),
    then digits and Latin; nothing the font lacks."""
    from fontTools.ttLib import TTFont

    from unet.demo.exports import preview_text
    from unet.fontexport import TEXT_FONT

    chars = "永和九年岁在癸丑暮春之初会于会稽山阴之兰亭修禊事也"
    text = preview_text(chars)
    assert [c for c in text if c in chars] == list(chars)
    assert "，" in text and "「" in text and "」" in text and text.split("\n")[0].endswith("。……")
    assert "0123456789" in text and "ABC" in text
    held = set(map(chr, TTFont(TEXT_FONT).getBestCmap())) | set(chars) | {"\n"}
    assert set(text) <= held, set(text) - held
    assert preview_text("永").startswith("永。") and preview_text(" \n").startswith("0123456789")
    assert len([c for c in preview_text(chars * 10) if c in chars]) == 60  # bounded
