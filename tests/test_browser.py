"""The app in a real browser: headless Debian chromium driven by Playwright clicks through the UI
(type, generate, untick a layer, probe the attention maps) and leaves screenshots behind
(tests/artifacts/app.png, and docs/screenshot.png for the README)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from benchmarks.live_loop import ARGS, CHROMIUM, MOVE_FOR_A_SECOND, PAINTED, SHEET_SRC, pick

from .support import REPO

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = REPO / "tests" / "artifacts"
SCREENSHOT = REPO / "docs" / "screenshot.png"
TEXT = "天地玄黃宇"
WAIT_MS = 45_000  # generous: two CPU cores shared with other work

READY = """want => { const a = window.glyphAttention; return a && a.dataset.ready === want; }"""


def launch(p):
    return p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)


def open_page(browser, url, **context):
    """A page in a context of its own: its own cookies and Gradio session, like another visitor
    (``context``: ``browser.new_context`` options, e.g. locale or viewport)."""
    page = browser.new_context(**{"viewport": {"width": 1400, "height": 1000}, **context}).new_page()
    page.set_default_timeout(WAIT_MS)
    # nothing but the app: no web fonts or analytics from the internet
    page.route("**/*", lambda route: route.continue_()
               if route.request.url.startswith(url.rstrip("/")) or route.request.url.startswith("data:")
               else route.abort())
    return page


@pytest.fixture(scope="module")
def page(browser, url):
    return open_page(browser, url)


def sheet_src(page) -> str | None:
    return page.evaluate(SHEET_SRC)


def wait_painted(page, old: str | None) -> str:
    page.wait_for_function(PAINTED, arg=old, timeout=WAIT_MS)
    return sheet_src(page)


def test_click_through_the_app(page, url):
    page.goto(url)
    # the app generates the textbox's example on load
    box = page.locator("#text textarea")
    box.wait_for()
    initial = box.input_value()
    assert initial
    first = wait_painted(page, None)
    page.locator("#status").get_by_text("glyph(s)").wait_for()
    page.wait_for_function(READY, arg=f"{initial[0]}:32x32,16x16")

    # type new characters and press Generate
    box.fill("")
    box.press_sequentially(TEXT)
    assert box.input_value() == TEXT
    page.locator("#generate").click()
    generated = wait_painted(page, first)
    assert f"**{len(TEXT)}**" not in page.locator("#status").inner_text()  # markdown rendered
    page.locator("#status").get_by_text(f"{len(TEXT)} glyph(s)").wait_for()
    page.wait_for_function(READY, arg=f"{TEXT[0]}:32x32,16x16")

    # untick the first attention layer: the glyphs are generated again, differently
    boxes = page.locator("#layers input[type=checkbox]")
    assert boxes.count() == 2 and all(boxes.nth(i).is_checked() for i in range(2))
    boxes.nth(0).uncheck()
    toggled = wait_painted(page, generated)
    page.locator("#status").get_by_text("Attention switched off: 32x32").wait_for()
    page.wait_for_function(READY, arg=f"{TEXT[0]}:16x16")  # only the enabled layer's map

    # tick it again: the very same sheet as before
    boxes.nth(0).check()
    restored = wait_painted(page, toggled)
    assert restored == generated

    # click the third generated glyph in the sheet: the attention panel shows that character
    sheet = page.locator("#sheet img.ga-sheet-img")
    sheet.scroll_into_view_if_needed()
    box = sheet.bounding_box()
    natural = page.evaluate("() => { const i = document.querySelector('#sheet img.ga-sheet-img');"
                            " return [i.naturalWidth, i.naturalHeight]; }")
    scale = box["width"] / natural[0]
    L = page.evaluate("() => window.glyphSheet.sheetView().layout")
    x = (L["label_width"] + 2 * (L["cell"] + L["pad"]) + L["cell"] / 2) * scale
    y = (L["header"] + (L["cell"] + L["pad"]) + L["cell"] / 2) * scale
    sheet.click(position={"x": x, "y": y})
    page.wait_for_function(READY, arg=f"{TEXT[2]}:32x32,16x16")
    assert TEXT[2] in page.locator("#char input").input_value()

    # hover: every layer's map follows the mouse, drawn in the page with no request per move
    canvas = page.locator("#attention canvas.ga-query").first
    canvas.scroll_into_view_if_needed()
    cb = canvas.bounding_box()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    start = int(page.evaluate("() => window.glyphAttention.dataset.redraws"))
    t0 = page.evaluate("() => performance.now()")
    moves = 60
    for i in range(moves):
        page.mouse.move(cb["x"] + 20 + 3 * i, cb["y"] + 30 + 2 * i)
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
    elapsed = (page.evaluate("() => performance.now()") - t0) / 1000
    redraws = int(page.evaluate("() => window.glyphAttention.dataset.redraws")) - start
    assert requests == [], requests  # 0 requests per move
    assert redraws >= moves * 0.9, (redraws, elapsed)
    # the page's own rate: one synthetic mouse move per animation frame for a second
    rate = page.evaluate(MOVE_FOR_A_SECOND)
    assert rate["redraws"] / rate["seconds"] >= 30, rate
    assert requests == [], requests
    # click pins the point; leaving the canvas goes back to it
    canvas.click(position={"x": 64, "y": 80})
    page.mouse.move(0, 0)
    page.wait_for_function("() => document.querySelector('#attention .ga-point').textContent"
                           ".includes('(32, 40) · pinned')")

    # screenshots: the test's artefact, and the README's picture
    page.mouse.move(cb["x"] + 64, cb["y"] + 80)
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "app.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)


def test_browser_maps_equal_the_query_point_api(page, url):
    """The maps the page draws (computed in JavaScript from q and k) are the server's maps."""
    from gradio_client import Client

    page.goto(url)
    text = page.locator("#text textarea").input_value()
    page.wait_for_function(READY, arg=f"{text[0]}:32x32,16x16")
    client = Client(url, verbose=False)
    for x, y in [(20.0, 30.0), (64.0, 64.0), (127.5, 3.0), (0.0, 128.0)]:
        browser = page.evaluate("([x, y]) => window.glyphAttention.glyphMaps(x, y)", [x, y])
        api = client.predict(text, "LXGW WenKai", "(none)", 0.5, ["32x32", "16x16"], 0, x, y,
                             api_name="/query_point")
        for name, layer in api["layers"].items():
            want = np.asarray(layer["map"]).ravel()
            got = np.asarray(browser[name])
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, atol=2e-6, err_msg=f"{name} at {(x, y)}")


def test_many_browsers_opening_the_page_at_once_all_see_every_glyph(browser, url):
    """The race of issue 13: every page load runs the same example at the same moment."""
    broken = []
    for _ in range(2):
        pages = [open_page(browser, url) for _ in range(6)]
        for pg in pages:
            pg.goto(url, wait_until="commit")
        for pg in pages:
            pg.wait_for_function(PAINTED, arg=None, timeout=WAIT_MS)
            ok = pg.evaluate("""() => {
                const i = document.querySelector('#sheet img.ga-sheet-img');
                return i.complete && i.naturalWidth === Number(i.getAttribute('width'));
            }""")
            pg.wait_for_function("() => window.glyphAttention && window.glyphAttention.dataset.ready")
            if not ok:
                broken.append(pg.evaluate(SHEET_SRC)[:80])
            pg.context.close()
    assert broken == []


# the page draws a character in the given CSS font family on a canvas and returns its ink (alpha)
DRAW_IN_FONT = """([family, ch]) => {
  const c = document.createElement("canvas"); c.width = c.height = 320;
  const ctx = c.getContext("2d");
  ctx.font = `256px "${family}"`; ctx.textBaseline = "middle"; ctx.textAlign = "center";
  ctx.fillText(ch, 160, 160);
  return Array.from(ctx.getImageData(0, 0, 320, 320).data.filter((_, i) => i % 4 === 3));
}"""


def test_make_a_font_download_it_and_the_page_sets_text_in_it(browser, url):
    """Export a few characters from the Make a font tab: the download is that font, and the preview
    (the browser itself, through @font-face) draws each character as the glyph it was made from."""
    from fontTools.ttLib import TTFont
    from PIL import Image

    from unet.engine.stylizer import Stylizer

    from .support import fitted_ink, ink_iou

    chars, style = "永和九年", "Smiley Sans"
    page = open_page(browser, url)
    page.goto(url)
    page.get_by_role("tab", name="Make a font").click()
    page.locator("#font-text textarea").fill(chars + " abc")
    pick(page, "#font-style", style)
    page.locator("#make-font").click()
    page.wait_for_function("() => window.glyphFont && window.glyphFont.dataset.fontReady", timeout=WAIT_MS)
    preview = page.locator("#font-preview")
    assert "4 generated" in preview.inner_text() and "3 skipped" in preview.inner_text()
    family = page.evaluate("() => window.glyphFont.dataset.fontReady")
    # running text with punctuation, a vertical sample and a 300 px specimen, all set in the new font
    looks = page.evaluate("""() => [...document.querySelectorAll('#font-preview .ga-font-set')].map(e => {
      const s = getComputedStyle(e);
      return {cls: e.className, family: s.fontFamily, mode: s.writingMode, size: s.fontSize,
              text: e.value || e.textContent};
    })""")
    assert [x["cls"].split()[0] for x in looks] == ["ga-font-preview", "ga-font-vertical", "ga-font-specimen"]
    assert all(family in x["family"] for x in looks), looks
    assert looks[0]["text"].startswith("永和九年。") and "0123456789" in looks[0]["text"], looks[0]
    assert looks[1]["mode"] == "vertical-rl" and looks[1]["text"].startswith("永和九年"), looks[1]
    assert looks[2]["size"] == "300px" and looks[2]["text"] == "永和", looks[2]

    with page.expect_download() as download:
        page.locator("a.ga-font-download").click()
    font = TTFont(download.value.path())
    assert set(chars) <= set(map(chr, font.getBestCmap())) and "glyf" in font
    assert download.value.suggested_filename == f"GlyphAttentionSmileySans{len(chars)}.ttf"

    generated = Stylizer.from_pretrained().generate(chars, style, with_target=False)
    for ch, glyph in zip(generated.chars, generated.generated):
        def drawn(fam, ch=ch):
            alpha = np.array(page.evaluate(DRAW_IN_FONT, [fam, ch]), dtype=np.uint8).reshape(320, 320)
            return fitted_ink(Image.fromarray(255 - alpha))
        in_export, fallback = drawn(family), drawn("serif")
        expected = fitted_ink(glyph)
        assert ink_iou(in_export, expected) >= 0.8, ch
        assert ink_iou(in_export, expected) > ink_iou(fallback, expected) + 0.2, ch  # not a system font
    ARTIFACTS.mkdir(exist_ok=True)
    preview.screenshot(path=str(ARTIFACTS / "font.png"))
    page.context.close()
