"""A visitor's own style in the demo, without a browser: upload, fine-tune job, isolation between
visitors, exports, style files, clean-up. A tiny 64 px model keeps it to seconds."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unet.demo.exports import FontExports
from unet.demo.jobs import JobCancelled
from unet.demo.ownstyles import OwnStyles, StyleRoomError, StyleTuning, progress_html, summary_markdown
from unet.demo.service import DemoService
from unet.engine.charsets import load_charset
from unet.engine.glyphs import Font
from unet.engine.stylizer import Stylizer
from unet.errors import GenerationError, UserError
from unet.ownstyle.tune import TuneConfig

from ..support import tiny_checkpoint

CHARS = "".join(load_charset("gb2312-1")[:30])


@pytest.fixture(scope="module")
def st(tmp_path_factory):
    return Stylizer.from_pretrained(tiny_checkpoint(tmp_path_factory.mktemp("c")), "cpu")


@pytest.fixture
def svc(st):
    return DemoService(st, speculate=False)


@pytest.fixture
def tuning(svc):
    return StyleTuning(svc.own, niceness=0, config=TuneConfig(steps=4, eval_every_s=0.0))


def glyph_zip(path, chars=CHARS) -> str:
    """A ZIP of black-on-white PNGs named by character."""
    font = Font("LXGWWenKai-Regular.ttf")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for ch in chars:
            png = io.BytesIO()
            font.render(ch, 96).save(png, format="PNG")
            zf.writestr(f"glyphs/{ch}.png", png.getvalue())
    path.write_bytes(buf.getvalue())
    return str(path)


def wait(job, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not job.done() and time.monotonic() < deadline:
        job.renew()
        time.sleep(0.05)
    return job.future.result(timeout=1)


def teach(tuning, who, tmp_path, name="Mine") -> dict:
    view, style = wait(tuning.submit_read(who, glyph_zip(tmp_path / f"{who}.zip")))
    assert style is None and view["usable"] == len(CHARS)
    return wait(tuning.submit(who, name, 10))


def test_upload_is_read_summarised_and_deleted(tuning, tmp_path):
    path = glyph_zip(tmp_path / "g.zip", CHARS + "ab")
    view, style = wait(tuning.submit_read("a", path))
    assert style is None and view["usable"] == len(CHARS) and view["enough"]
    assert view["rejected"] == {"not_cjk": 2}
    assert not (tmp_path / "g.zip").exists()  # the upload is deleted once read
    text = summary_markdown(view, "zh-CN")
    assert "30" in text and "跳过 2 个：不是汉字" in text


def test_a_bad_upload_is_a_message(tuning, tmp_path):
    (tmp_path / "x.ttf").write_bytes(b"\x00\x01\x00\x00" + b"garbage" * 50)
    with pytest.raises(UserError) as e:
        wait(tuning.submit_read("a", str(tmp_path / "x.ttf")))
    assert e.value.key == "upload.bad_font"
    few = glyph_zip(tmp_path / "few.zip", CHARS[:5])
    view, _ = wait(tuning.submit_read("a", few))
    assert not view["enough"] and "at least 20" in summary_markdown(view, "en")
    with pytest.raises(UserError, match="at least 20"):
        tuning.submit("a", "x", 10)


def test_teaching_adds_a_style_only_its_owner_can_use(svc, tuning, tmp_path):
    result = teach(tuning, "alice", tmp_path)
    key = result["key"]
    assert result["steps"] == 4 and result["label"] == "Mine" and 0 <= result["ssim"] <= 1
    assert ("Mine (yours)", key) in tuning.choices("alice") and key not in dict(tuning.choices("bob")).values()
    # the owner generates, blends and sees their own glyphs as the real row
    out = svc.generate(None, CHARS[:3], key, "WenKai", 0.3, ["16x16", "8x8"], visitor="alice")
    rows = out.sheet["rows"]
    assert rows[1]["mix"][0]["style"] == "Mine" and rows[2] == {"kind": "real", "style": "Mine", "weight": 0.7,
                                                                "missing": []}
    assert "Mine 70%" in out.status and key not in out.status
    ticket = svc.ticket(svc.result(out.session.req), 0)
    assert "layers" in svc.attention_data(ticket, "alice")
    # anyone else, even with the key: refused everywhere a request enters
    with pytest.raises(GenerationError, match="no longer kept"):
        svc.generate(None, CHARS[:3], key, None, 0, ["16x16"], visitor="bob")
    assert "error" in svc.attention_data(ticket, "bob") and "error" in svc.glyph_zip(ticket["request"], "bob")
    assert "error" in svc.attention_data(ticket, None)
    assert svc.stylizer_for(key, "bob") is svc.st
    assert tuning.style_file("bob", key) is None
    exports = FontExports(svc.st, niceness=0)
    with pytest.raises(GenerationError, match="unknown style"):
        exports.plan(CHARS[:3], key, "ttf", False, svc.stylizer_for(key, "bob"))


def test_two_own_styles_do_not_blend_and_limits_hold(svc, tuning, tmp_path):
    a = teach(tuning, "carol", tmp_path, "One")["key"]
    b = teach(tuning, "carol", tmp_path, "Two")["key"]
    with pytest.raises(GenerationError, match="cannot be blended"):
        svc.request("永", a, b, 0.5, [], "carol")
    with pytest.raises(StyleRoomError, match="2 styles"):
        tuning.submit("carol", "Three", 10)


def test_style_file_round_trip_and_complete_font(svc, tuning, tmp_path):
    result = teach(tuning, "dave", tmp_path, "Dave's hand")
    path = tuning.style_file("dave", result["key"])
    assert path.name == "Dave-s-hand.safetensors" and path.stat().st_size < 2_000_000
    # complete mode keeps the visitor's glyphs (traced) and draws the rest
    exports = FontExports(svc.st, niceness=0)
    stylizer = svc.stylizer_for(result["key"], "dave")
    plan = exports.plan(CHARS[:3] + "龘", result["key"], "ttf", True, stylizer)
    assert plan.kept == list(CHARS[:3]) and plan.chars == ["龘"]
    assert "Dave" in plan.names.family and "own" not in plan.names.family
    font = exports.make("dave", CHARS[:3] + "龘", result["key"], "ttf", True, stylizer=stylizer)
    assert font["counts"]["kept"] == 3 and font["counts"]["generated"] == 1
    # someone else uploads the file: it is a style of theirs now
    copy = tmp_path / "copy.safetensors"
    copy.write_bytes(path.read_bytes())
    view, style = wait(tuning.submit_read("erin", str(copy)))
    assert style.owner == "erin" and style.label == "Dave's hand" and view["usable"] == len(CHARS)
    out_a = svc.generate(None, CHARS[:4], result["key"], None, 0, ["16x16", "8x8"], visitor="dave")
    out_b = svc.generate(None, CHARS[:4], style.key, None, 0, ["16x16", "8x8"], visitor="erin")
    assert out_a.sheet["src"] == out_b.sheet["src"]  # the same glyphs from the file
    # and can carry on teaching from it
    more = wait(tuning.submit("erin", "More", 10))
    assert more["start"] == "file"


def test_stop_and_leaving_clean_up(svc, tuning, tmp_path):
    slow = StyleTuning(svc.own, niceness=0, config=TuneConfig(steps=10_000, eval_every_s=0.0))
    wait(slow.submit_read("frank", glyph_zip(tmp_path / "f.zip")))
    job = slow.submit("frank", "x", 10)
    while job.started is None:
        time.sleep(0.05)
    time.sleep(0.5)
    assert slow.cancel_visitor("frank")
    with pytest.raises(JobCancelled):
        wait(job)
    assert svc.own.of("frank") == []
    result = teach(tuning, "gina", tmp_path)
    path = tuning.style_file("gina", result["key"])
    assert path.is_file()
    tuning.drop_visitor("gina")
    assert svc.own.of("gina") == [] and not path.exists()
    with pytest.raises(UserError, match="upload your glyphs first"):
        tuning.submit("gina", "x", 10)


def test_bad_minutes_and_names(tuning, tmp_path):
    wait(tuning.submit_read("h", glyph_zip(tmp_path / "h.zip")))
    for minutes in (0, 31, "10", None, True, float("nan")):
        with pytest.raises(UserError, match="minutes"):
            tuning.submit("h", "x", minutes)
    result = wait(tuning.submit("h", "<script>alert(1)</script>" * 3, 10))
    assert "<script>" not in progress_html(result, "en")


def test_where_a_style_started_is_said_in_the_page_language():
    done = {"state": "done", "label": "x", "steps": 3, "ssim": 0.5, "before": 0.4}
    assert "内置风格的平均" in progress_html({**done, "start": "mean"}, "zh-CN")
    assert "your style file" in progress_html({**done, "start": "file"}, "en")
    assert "Kai" in progress_html({**done, "start": "Kai"}, "zh-TW")


def test_styles_expire(st):
    own = OwnStyles(st, ttl_s=0.0)
    import torch

    from unet.ownstyle.tune import extend_styles

    style = own.add("v", "x", extend_styles(st.model, torch.zeros(4)), {}, b"file", {})
    path = own.file_path(style)
    assert path.read_bytes() == b"file"
    time.sleep(0.01)
    own.expire()
    assert own.get(style.key) is None and len(own) == 0 and not path.exists()


def test_the_files_folder_goes_with_the_registry(st):
    import gc
    import subprocess
    import sys

    own = OwnStyles(st)
    folder = own.files
    assert folder.is_dir()
    del own
    gc.collect()
    assert not folder.exists()
    # and when the process ends (a restarted server leaves no folder behind)
    code = ("import sys; from pathlib import Path; from unet.demo.ownstyles import OwnStyles; "
            "o = OwnStyles(None); (o.files / 'k').mkdir(); (o.files / 'k' / 'f').write_bytes(b'x'); "
            "print(o.files)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert not Path(out.stdout.strip()).exists()


def test_progress_view_draws_held_back_glyphs(tuning, tmp_path):
    wait(tuning.submit_read("i", glyph_zip(tmp_path / "i.zip")))
    seen = []
    job = tuning.submit("i", "x", 10)
    while not job.done():
        job.renew()
        seen.append(tuning.status_view(job))
        time.sleep(0.01)
    teaching = [v for v in seen if v.get("state") == "teaching"]
    assert teaching and teaching[-1]["samples"].startswith("data:image/png;base64,")
    html_text = progress_html(teaching[-1], "zh-CN")
    assert "<progress" in html_text and "留作评分" in html_text
    img = Image.open(io.BytesIO(__import__("base64").b64decode(teaching[-1]["samples"].split(",")[1])))
    assert img.size[1] == 2 * 64  # yours over the style's


def test_nothing_is_shared_between_sessions_by_cache(svc, tuning, tmp_path):
    """Two visitors with styles of the same name get different keys and different glyphs."""
    a = teach(tuning, "j", tmp_path, "Same")["key"]
    b = teach(tuning, "k", tmp_path, "Same")["key"]
    assert a != b
    ga = svc.generate(None, "永", a, None, 0, ["16x16", "8x8"], visitor="j").session.req
    gb = svc.generate(None, "永", b, None, 0, ["16x16", "8x8"], visitor="k").session.req
    assert ga != gb
    assert np.asarray(svc.result(ga).generated[0]).shape == (64, 64)


# --- handwriting: template, photos, review, use -------------------------------------------------

@pytest.fixture(scope="module")
def handwritten(tmp_path_factory):
    """Photos of the two filled pages of tests/handwriting (a blank box, two characters, one cut off)."""
    from ..handwriting.test_reader import CHARS as HW_CHARS
    from ..handwriting.test_reader import fill, photograph
    from ..support import require_font

    pages, _ = fill(HW_CHARS, require_font("LXGWWenKai-Regular.ttf"), seed=1, special=True)
    folder = tmp_path_factory.mktemp("photos")
    paths = []
    for i, (page, size) in enumerate(zip(pages, (1600, 2400))):
        path = folder / f"page{i + 1}.jpg"
        path.write_bytes(photograph(page, size, seed=20 + i, angle=5.0 - 8 * i))
        paths.append(path)
    return HW_CHARS, paths


def copies(paths, tmp_path):
    """The app deletes what it read: give it copies."""
    out = []
    for p in paths:
        (tmp_path / p.name).write_bytes(p.read_bytes())
        out.append(str(tmp_path / p.name))
    return out


def test_handwriting_pages_are_read_reviewed_and_used(tuning, handwritten, tmp_path):
    from unet.demo.ownstyles import review_choices, review_html

    chars, photos = handwritten
    scan = wait(tuning.submit_read("hw", copies(photos[:1], tmp_path), scan=True), 60)
    assert sorted(scan["pages"]) == [1] and scan["total"] == 2
    assert "⚠" in review_html(scan, "en") and "2" in review_html(scan, "en")  # page 2 missing
    sent = copies(photos[1:], tmp_path)
    scan = wait(tuning.submit_read("hw", sent, scan=True), 60)  # the next page joins
    assert sorted(scan["pages"]) == [1, 2] and not any(Path(p).exists() for p in sent)  # deleted once read
    choices, ticked = review_choices(scan, "zh-CN")
    doubtful = [label for label, _ in choices if "（" in label or "(" in label]
    assert doubtful and len(ticked) == len(choices) - len(doubtful)  # flagged boxes start unticked
    page = review_html(scan, "zh-CN")
    assert page.count("<figure") == len(chars) and "空白" in page and "<script" not in page
    # unticking is honoured, and the glyphs become the upload the style is taught from
    keep = ticked[:-3]
    view = tuning.use_scan("hw", keep)
    assert view["usable"] == len(keep) and view["enough"]
    result = wait(tuning.submit("hw", "手写", 10))
    assert result["glyphs"] == len(keep)


def test_handwriting_failures_are_messages(tuning, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("L", (1200, 1600), 255).save(blank)
    with pytest.raises(UserError) as e:
        wait(tuning.submit_read("hw2", [str(blank)], scan=True))
    assert e.value.key == "scan.no_markers"
    with pytest.raises(UserError, match="first"):
        tuning.use_scan("hw2", ["永"])
    with pytest.raises(UserError) as e:
        tuning.template_pdf("abc")
    assert e.value.key == "template.not_cjk"


def test_templates_are_made_once_per_list(tuning):
    a = tuning.template_pdf("永和九年")
    assert a.read_bytes()[:5] == b"%PDF-" and tuning.template_pdf("永和九年") == a
    assert tuning.template_pdf("歲在癸丑") != a
