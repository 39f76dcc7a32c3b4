"""The app in a real browser: headless Debian chromium driven by Playwright clicks through the UI
(type, generate, untick a layer, probe the attention maps) and leaves screenshots behind
(tests/artifacts/app.png, and docs/screenshot.png for the README)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from .support import REPO, running_app  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "tests" / "artifacts"
SCREENSHOT = REPO / "docs" / "screenshot.png"
TEXT = "天地玄黃宇"
WAIT_MS = 45_000  # generous: two CPU cores shared with other work

SRCS = "sel => [...document.querySelectorAll(sel)].map(e => e.src)"
CHANGED = """([sel, old, n]) => {
    const now = [...document.querySelectorAll(sel)].map(e => e.src);
    return now.length === n && now.every(s => s && !s.startsWith('blob:')) &&
           JSON.stringify(now) !== JSON.stringify(old);
}"""


@pytest.fixture(scope="module")
def url():
    with running_app() as base:
        yield base


@pytest.fixture(scope="module")
def page(url):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(WAIT_MS)
            # nothing but the app: no web fonts or analytics from the internet
            page.route("**/*", lambda route: route.continue_()
                       if route.request.url.startswith(url.rstrip("/")) or route.request.url.startswith("data:")
                       else route.abort())
            yield page
        finally:
            browser.close()


def srcs(page, sel: str) -> list[str]:
    return page.evaluate(SRCS, sel)


def wait_changed(page, sel: str, old: list[str], n: int) -> list[str]:
    page.wait_for_function(CHANGED, arg=[sel, old, n], timeout=WAIT_MS)
    return srcs(page, sel)


def test_click_through_the_app(page, url):
    page.goto(url)
    # the app generates the textbox's example on load
    box = page.locator("#text textarea")
    box.wait_for()
    initial = box.input_value()
    assert initial
    first = wait_changed(page, "#gallery img", [], len(initial))
    page.locator("#status").get_by_text("glyph(s)").wait_for()

    # type new characters and press Generate
    box.fill("")
    box.press_sequentially(TEXT)
    assert box.input_value() == TEXT
    page.locator("#generate").click()
    generated = wait_changed(page, "#gallery img", first, len(TEXT))
    assert len(generated) == len(TEXT) == 5
    assert page.locator("#gallery .caption-label").first.inner_text().startswith(TEXT[0])
    assert f"**{len(TEXT)}**" not in page.locator("#status").inner_text()  # markdown rendered
    page.locator("#status").get_by_text(f"{len(TEXT)} glyph(s)").wait_for()

    # untick the first attention layer: the glyphs are generated again, differently
    boxes = page.locator("#layers input[type=checkbox]")
    assert boxes.count() == 2 and all(boxes.nth(i).is_checked() for i in range(2))
    boxes.nth(0).uncheck()
    toggled = wait_changed(page, "#gallery img", generated, len(TEXT))
    assert set(toggled).isdisjoint(generated)  # every glyph changed
    page.locator("#status").get_by_text("Attention switched off: 32x32").wait_for()

    # tick it again: the same glyphs as before (same bytes, so the same content-addressed URLs)
    boxes.nth(0).check()
    restored = wait_changed(page, "#gallery img", toggled, len(TEXT))
    assert restored == generated

    # the Attention tab: clicking the probe glyph moves the query point and redraws the maps
    page.get_by_role("tab", name="Attention").click()
    probe = page.locator("#probe img")
    probe.wait_for(state="visible")
    page.wait_for_function("sel => document.querySelectorAll(sel).length === 2", arg="#query img")
    before = srcs(page, "#query img")
    probe_before = probe.get_attribute("src")
    probe.click(position={"x": 60, "y": 70})
    after = wait_changed(page, "#query img", before, 2)
    assert set(after).isdisjoint(before)
    assert probe.get_attribute("src") != probe_before  # the crosshair moved

    # screenshots: the test's artefact, and the README's picture
    page.wait_for_timeout(300)  # let the images finish painting
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "app.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)
