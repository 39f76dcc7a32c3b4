"""Your own style, as a visitor meets it (headless Debian chromium via Playwright): upload a ZIP of
glyphs, teach the style and watch it, find it in your style list (and only yours), generate with
it, download its file, and see a bad upload said as a message. The app is the real one on the
shipped model; teaching stops after a few steps so the test takes about a minute."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pytest

from .test_browser import CHROMIUM, open_page, sheet_src, wait_painted
from .test_browser_page import english_words, shoot

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

WAIT_TEACH_MS = 240_000
APP = {}  # the app's StyleTuning, for the file-route checks


@pytest.fixture(scope="module")
def url():
    from unet.demo.ownstyles import StyleTuning
    from unet.demo.service import DemoService
    from unet.engine.stylizer import Stylizer
    from unet.ownstyle.tune import TuneConfig

    from .support import running_app

    svc = DemoService(Stylizer.from_pretrained(device="cpu"))
    tuning = StyleTuning(svc.own, niceness=0, config=TuneConfig(steps=4, eval_every_s=1.0))
    APP["tuning"] = tuning
    with running_app(svc, tuning) as base:
        yield base


@pytest.fixture(scope="module")
def glyphs(tmp_path_factory) -> str:
    from unet.engine.charsets import load_charset
    from unet.engine.glyphs import Font

    font = Font("SmileySans-Oblique.ttf")
    chars = [c for c in load_charset("gb2312-1") if font.draws(c)][:24]
    path = tmp_path_factory.mktemp("own") / "我的字.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for ch in chars:
            png = io.BytesIO()
            font.render(ch, 128).save(png, format="PNG")
            zf.writestr(f"U+{ord(ch):04X}.png", png.getvalue())
        zf.writestr("readme.txt", "not a glyph")
    return str(path)


def visitor(browser, url, locale="zh-CN", width=1280, height=900):
    page = open_page(browser, url, locale=locale, viewport={"width": width, "height": height})
    page.goto(url)
    wait_painted(page, None)
    page.locator("#status p").first.wait_for()
    return page


def style_options(page) -> list[str]:
    page.locator("#style input").click()
    names = page.locator("#style").get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return names


def test_a_visitor_teaches_their_style_and_only_they_see_it(browser, url, glyphs):
    page = visitor(browser, url)
    other = visitor(browser, url, locale="en-US")
    page.get_by_role("tab", name="你的风格").click()
    page.locator("#own-file input[type=file]").set_input_files(glyphs)
    page.wait_for_function("() => document.querySelector('#own-summary').innerText.includes('可用字形')")
    summary = page.locator("#own-summary").inner_text()
    assert "24" in summary and "跳过" in summary
    page.locator("#own-name input").fill("我的字")
    page.locator("#own-teach").click()
    page.wait_for_function("() => document.querySelector('#own-progress progress, #own-progress [data-state=done]')",
                           timeout=WAIT_TEACH_MS)
    page.wait_for_function("() => document.querySelector('#own-progress [data-state=done]')", timeout=WAIT_TEACH_MS)
    done = page.locator("#own-progress").inner_text()
    assert "完成" in done and "我的字" in done and "SSIM" in done
    assert page.locator("#own-progress img").count() == 1
    said = " ".join(page.locator(f"#own-{part}").inner_text() for part in ("summary", "progress", "teach", "stop"))
    assert not english_words(said.replace("JPEG", "").replace("WEBP", "").replace("BMP", "").replace("GIF", "")), said
    assert "**" not in said
    shoot(page, "own-done-zh-CN-1280")
    # the download is the style file
    with page.expect_download() as download:
        page.locator("#own-download").click()
    assert download.value.suggested_filename.endswith(".safetensors")
    # the style is in this visitor's list, and draws
    assert any("我的字" in name for name in style_options(page))
    old = sheet_src(page)
    page.locator("#style input").click()
    page.locator("#style input").fill("我的字")
    page.locator("[role=option]", has_text="我的字").first.wait_for()
    page.locator("#style input").press("Enter")
    wait_painted(page, old)
    assert "我的字" in page.locator("#sheet").inner_text()
    # another visitor's list does not have it, even after a reload of theirs
    other.reload()
    wait_painted(other, None)
    assert not any("我的字" in name for name in style_options(other))
    # nor do Gradio's file routes serve the style's file, its folder or the upload to anyone
    import requests

    styles = APP["tuning"].styles
    (mine,) = [s for s in styles._styles.values() if s.label == "我的字"]
    for path in (styles.file_path(mine), styles.files, styles.files / mine.key):
        reply = requests.get(f"{url}gradio_api/file={path}", timeout=10)
        assert reply.status_code in (403, 404), (path, reply.status_code)
    assert not any(p.suffix == ".zip" for p in Path(tempfile.gettempdir()).rglob("我的字.zip")
                   if "pytest" not in str(p))  # the upload was deleted once read


def test_a_bad_upload_is_one_message_in_the_page_language(browser, url, tmp_path):
    page = visitor(browser, url, width=390, height=844)
    page.get_by_role("tab", name="你的风格").click()
    bad = tmp_path / "broken.ttf"
    bad.write_bytes(b"\x00\x01\x00\x00" + b"\x07" * 400)
    page.locator("#own-file input[type=file]").set_input_files(str(bad))
    page.wait_for_function("() => document.querySelector('#own-summary').innerText.includes('⚠')")
    assert "无法读取这个字体" in page.locator("#own-summary").inner_text()
    assert page.locator(".toast-body").count() == 0
    page.locator("#own-teach").click()
    page.wait_for_function("() => document.querySelector('#own-progress [data-state=refused]')")
    assert "请先上传" in page.locator("#own-progress").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shoot(page, "own-refused-zh-CN-390")


def test_handwriting_template_photos_review_and_use(browser, url, tmp_path):
    """Print a template, upload photos of its filled pages, review the boxes (flagged ones come
    unticked), untick one more, use the rest: the upload summary counts them."""
    from .handwriting.test_reader import CHARS as HW_CHARS
    from .handwriting.test_reader import fill, photograph
    from .support import require_font

    pages, _ = fill(HW_CHARS, require_font("LXGWWenKai-Regular.ttf"), seed=1, special=True)
    photos = []
    for i, (page, size) in enumerate(zip(pages, (1600, 2400))):
        photos.append(tmp_path / f"page{i + 1}.jpg")
        photos[-1].write_bytes(photograph(page, size, seed=30 + i, angle=4.0 - 8 * i))
    page = visitor(browser, url, locale="en-US")
    page.get_by_role("tab", name="Your own style").click()
    page.locator("#hw").get_by_text("From your handwriting").click()
    page.locator("#hw-chars textarea").fill("永和九年")
    page.locator("#hw-make").click()
    with page.expect_download() as download:
        page.locator("#hw-pdf").click()
    assert download.value.suggested_filename.endswith(".pdf")
    page.locator("#hw-photos input[type=file]").set_input_files([str(p) for p in photos])
    page.wait_for_function("() => document.querySelectorAll('#hw-review figure').length > 0", timeout=120_000)
    assert page.locator("#hw-review figure").count() == len(HW_CHARS)
    assert "Read 2 of the template's 2 pages" in page.locator("#hw-review").inner_text()
    boxes = page.locator("#hw-keep input[type=checkbox]")
    ticked = sum(1 for i in range(boxes.count()) if boxes.nth(i).is_checked())
    assert 0 < ticked < boxes.count()  # the blank box has no glyph; the two flagged ones come unticked
    first = page.locator("#hw-keep input[type=checkbox]:checked").first
    first.uncheck()
    page.locator("#hw-use").click()
    page.wait_for_function("() => document.querySelector('#own-summary').innerText.includes('handwritten glyphs')")
    assert f"Using {ticked - 1} handwritten glyphs" in page.locator("#own-summary").inner_text()
    shoot(page, "own-handwriting-en-1280")
