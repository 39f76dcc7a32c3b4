"""The attention panel as a visitor meets it, in a real browser (Playwright + Debian's chromium): a
finger dragged over the glyph, the keyboard alone, a phone's screen, the page in Chinese, every layer
switched off. Leaves screenshots behind (tests/artifacts/attention-*.png)."""

from __future__ import annotations

import re

import pytest

from .support import REPO
from .test_browser import READY, open_page

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]
sync_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = REPO / "tests" / "artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
LAYERS = "32x32,16x16"
POINT = "() => window.glyphAttention.dataset.point"
# words the panel may show in any language: layer names, numbers, units, γ and the keys' own names
NAMES = re.compile(r"\d+x\d+|\bpx\b|γ|\bShift\b|\bEnter\b")


def visit(browser, url, locale="en", viewport=DESKTOP, touch=False):
    """A new visitor (own context) on the page, once its first glyph's attention panel is drawn."""
    page = open_page(browser, url, viewport=viewport, locale=locale, has_touch=touch, is_mobile=touch)
    page.goto(url)
    text = page.locator("#text textarea").input_value()
    page.wait_for_function(READY, arg=f"{text[0]}:{LAYERS}")
    return page, text


def show_panel(page):
    """Scroll so that the panel's title is at the top of the screen, as a visitor reading it would."""
    page.evaluate("() => document.querySelector('#attention .ga-title').scrollIntoView({block: 'start'})")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def shoot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"attention-{name}.png"
    page.screenshot(path=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page.locator("#attention").screenshot(path=str(ARTIFACTS / f"attention-{name}-panel.png"))


def point(page) -> tuple[int, int]:
    x, y = page.evaluate(POINT).split(",")
    return int(x), int(y)


def wait_point(page, x, y, pinned=None):
    page.wait_for_function("([want, pinned]) => { const a = window.glyphAttention;"
                           " return a.dataset.point === want && (pinned === null || a.dataset.pinned === pinned); }",
                           arg=[f"{x},{y}", None if pinned is None else ("1" if pinned else "0")])


def glyph_pixel(box, x, y) -> tuple[float, float]:
    """Glyph pixels (of 128) under the screen point (x, y) over a canvas with bounding box ``box``."""
    return (x - box["x"]) * 128 / box["width"], (y - box["y"]) * 128 / box["height"]


def test_a_finger_dragged_over_the_glyph_moves_the_query_point_and_a_tap_pins_it(browser, url):
    page, _ = visit(browser, url, viewport=PHONE, touch=True)
    show_panel(page)
    for sel in ("canvas.ga-glyph", "canvas.ga-query"):
        assert page.eval_on_selector(f"#attention {sel}", "e => getComputedStyle(e).touchAction") == "none"
    cdp = page.context.new_cdp_session(page)

    def touch(kind, at=None):
        cdp.send("Input.dispatchTouchEvent",
                 {"type": kind, "touchPoints": [{"x": at[0], "y": at[1]}] if at else []})

    for sel in ("canvas.ga-glyph", "canvas.ga-query"):
        box = page.locator(f"#attention {sel}").first.bounding_box()
        scrolled = page.evaluate("() => window.scrollY")
        start = (box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.2)
        end = (box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.8)
        touch("touchStart", start)
        for i in range(1, 11):  # a finger dragged down and to the right, over 10 moves
            touch("touchMove", (start[0] + (end[0] - start[0]) * i / 10, start[1] + (end[1] - start[1]) * i / 10))
        touch("touchEnd")
        want = glyph_pixel(box, *end)
        page.wait_for_function("([x, y]) => { const [px, py] = window.glyphAttention.dataset.point"
                               ".split(',').map(Number); return Math.abs(px - x) <= 1 && Math.abs(py - y) <= 1; }",
                               arg=list(want))
        assert page.evaluate("() => window.glyphAttention.dataset.pinned") == "0"  # a drag is no tap
        assert page.evaluate("() => window.scrollY") == scrolled  # the page stayed put under the finger

    # a tap pins the point where it lands, a tap on the pinned point releases it
    box = page.locator("#attention canvas.ga-glyph").bounding_box()
    at = (box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.55)
    x, y = (round(v) for v in glyph_pixel(box, *at))
    page.touchscreen.tap(*at)
    page.wait_for_function("() => window.glyphAttention.dataset.pinned === '1'")
    px, py = point(page)
    assert abs(px - x) <= 1 and abs(py - y) <= 1
    assert f"({px}, {py}) · pinned" in page.locator("#attention .ga-point").inner_text()
    page.touchscreen.tap(*at)
    page.wait_for_function("() => window.glyphAttention.dataset.pinned === '0'")
    page.context.close()


def test_the_keyboard_alone_moves_and_pins_the_query_point(browser, url):
    page, _ = visit(browser, url)
    show_panel(page)
    for sel in ("canvas.ga-glyph", "canvas.ga-query"):
        for canvas in page.locator(f"#attention {sel}").all():
            assert canvas.get_attribute("tabindex") == "0"
            assert "arrow keys move the query point" in canvas.get_attribute("aria-label")
    # Tab from the panel's title (a click there is where the browser's Tab order starts) to the glyph
    page.locator("#attention .ga-title").click()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.matches('#attention canvas.ga-glyph')")
    scrolled = page.evaluate("() => window.scrollY")
    x, y = point(page)
    page.keyboard.press("ArrowRight")
    wait_point(page, x + 1, y, pinned=False)
    page.keyboard.press("ArrowDown")
    wait_point(page, x + 1, y + 1)
    page.keyboard.press("Shift+ArrowDown")
    wait_point(page, x + 1, y + 9)
    page.keyboard.press("Shift+ArrowLeft")
    wait_point(page, x - 7, y + 9)
    page.keyboard.press("ArrowUp")
    wait_point(page, x - 7, y + 8)
    assert page.evaluate("() => window.scrollY") == scrolled  # the arrows moved the point, not the page
    readout = page.locator("#attention .ga-point")
    assert f"({x - 7}, {y + 8})" in readout.inner_text()
    assert "128 px glyph" in readout.inner_text().replace("\xa0", " ")  # the point's units
    page.keyboard.press("Enter")
    wait_point(page, x - 7, y + 8, pinned=True)
    assert f"({x - 7}, {y + 8}) · pinned" in readout.inner_text()
    assert "pinned" in page.locator("#attention .ga-live").inner_text()  # told to a screen reader too
    page.keyboard.press("Enter")
    wait_point(page, x - 7, y + 8, pinned=False)
    page.keyboard.press(" ")
    wait_point(page, x - 7, y + 8, pinned=True)
    page.keyboard.press("ArrowRight")  # a pinned point moves with the keys and stays pinned
    wait_point(page, x - 6, y + 8, pinned=True)
    # the same keys on a query map
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.matches('#attention canvas.ga-query')")
    page.keyboard.press("Shift+ArrowRight")
    wait_point(page, x + 2, y + 8, pinned=True)

    # the focus ring: visible, at least 2 px, contrast >= 3:1 against what is around it
    ring = page.evaluate(RING)
    assert ring["visible"] and ring["style"] == "solid" and ring["width"] >= 2, ring
    assert contrast(ring["colour"], ring["around"]) >= 3, ring
    shoot(page, "1280-en-focus")
    page.context.close()


# the colour behind an element: the first ancestor's non-transparent background, else white
BACKGROUND_OF = """(el => { for (let e = el; e; e = e.parentElement) {
    const c = getComputedStyle(e).backgroundColor;
    if (c && !/rgba\\(.*, 0\\)$/.test(c) && c !== 'transparent') return c; }
  return 'rgb(255, 255, 255)'; })"""

# every piece of text in the panel with its colour and the colour behind it
TEXTS = """() => [...document.querySelectorAll('#attention *')].filter(e =>
    [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) && e.getClientRects().length
    && !e.closest('.ga-live')).map(e => ({text: e.textContent.trim().slice(0, 40),
      colour: getComputedStyle(e).color, background: BACKGROUND(e)}))""".replace("BACKGROUND", BACKGROUND_OF)


# the focused element's outline, and the colour around it
RING = """() => { const e = document.activeElement, s = getComputedStyle(e);
    return {visible: e.matches(':focus-visible'), style: s.outlineStyle, width: parseFloat(s.outlineWidth),
            colour: s.outlineColor, around: BACKGROUND(e.parentElement)}; }""".replace("BACKGROUND", BACKGROUND_OF)


def rgb(colour: str) -> tuple[float, ...]:
    values = [float(v) for v in re.findall(r"[\d.]+", colour)]
    assert colour.startswith("rgb") and len(values) >= 3, colour
    return tuple(values[:3])


def contrast(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio of two CSS rgb() colours."""
    def luminance(c):
        lin = [v / 255 / 12.92 if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in rgb(c)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def words_outside_names(page) -> list[str]:
    """Latin words (2+ letters) in the panel's text and labels, other than names and units."""
    said = page.evaluate("() => [document.querySelector('#attention').innerText,"
                         " ...[...document.querySelectorAll('#attention [aria-label]')].map(e => e.ariaLabel)]")
    return re.findall(r"[A-Za-z]{2,}", NAMES.sub(" ", "\n".join(said)))


@pytest.mark.parametrize(("locale", "query"), [("zh-CN", "查询点"), ("zh-TW", "查詢點")])
def test_the_panel_speaks_chinese(browser, url, locale, query):
    page, _ = visit(browser, url, locale=locale)
    assert page.evaluate("() => document.documentElement.lang").lower() == locale.lower()
    show_panel(page)
    panel = page.locator("#attention")
    assert query in panel.inner_text() and "γ" in panel.inner_text()
    assert words_outside_names(page) == []
    if locale == "zh-CN":
        shoot(page, f"1280-{locale}")
    # the page's language changes (Gradio's Settings): the panel follows, then comes back
    page.evaluate("() => { document.documentElement.lang = 'en'; }")
    page.wait_for_function("() => document.querySelector('#attention .ga-point').textContent.startsWith('query point')")
    assert "Mean received" in panel.inner_text() and query not in panel.inner_text()
    page.evaluate(f"() => {{ document.documentElement.lang = '{locale}'; }}")
    page.wait_for_function(f"() => document.querySelector('#attention .ga-point').textContent.startsWith('{query}')")
    assert words_outside_names(page) == []
    page.context.close()


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_on_a_phone_the_maps_sit_by_the_glyph_and_nothing_overflows(browser, url, locale):
    page, _ = visit(browser, url, locale=locale, viewport=PHONE, touch=True)
    show_panel(page)
    glyph = page.locator("#attention canvas.ga-glyph").bounding_box()
    first = page.locator("#attention canvas.ga-query").first.bounding_box()
    beside = first["x"] >= glyph["x"] + glyph["width"] and first["y"] < glyph["y"] + glyph["height"]
    just_under = glyph["y"] + glyph["height"] <= first["y"] <= glyph["y"] + 2 * glyph["height"]
    assert beside or just_under, (glyph, first)
    assert first["y"] + first["height"] <= PHONE["height"]  # in view with the glyph: no scrolling past
    assert glyph["width"] >= 120  # still big enough to drag a finger over
    overflow = page.evaluate("""() => { const w = document.documentElement.clientWidth;
        return {page: document.documentElement.scrollWidth - w,
                parts: [...document.querySelectorAll('#attention *')].filter(e => e.getBoundingClientRect().right > w + 0.5)
                         .map(e => e.className || e.tagName),
                table: [...document.querySelectorAll('#attention .ga-scroll')].map(e => e.scrollWidth - e.clientWidth)}; }""")
    assert overflow["page"] <= 0 and overflow["parts"] == [] and all(v <= 0 for v in overflow["table"]), overflow
    shoot(page, f"390-{locale}")
    if locale == "en":
        page.set_viewport_size(DESKTOP)  # the same visitor on a wide screen
        show_panel(page)
        shoot(page, "1280-en")
    page.context.close()


def test_every_word_in_the_panel_is_legible(browser, url):
    page, _ = visit(browser, url)
    texts = page.evaluate(TEXTS)
    assert len(texts) > 20
    faint = [(t["text"], round(contrast(t["colour"], t["background"]), 2)) for t in texts
             if contrast(t["colour"], t["background"]) < 4.5]
    assert faint == []
    page.context.close()


def test_with_every_layer_off_the_panel_says_so_and_how_to_turn_one_on(browser, url):
    page, text = visit(browser, url)
    boxes = page.locator("#layers input[type=checkbox]")
    boxes.nth(0).uncheck()
    page.wait_for_function(READY, arg=f"{text[0]}:16x16")
    boxes.nth(1).uncheck()
    page.wait_for_function(READY, arg=f"{text[0]}:")
    panel = page.locator("#attention")
    words = panel.inner_text()
    assert "All attention layers are switched off." in words and "tick at least one layer" in words
    assert panel.locator("table, canvas.ga-query, canvas.ga-received, .ga-h").count() == 0  # no empty table
    assert panel.locator("canvas.ga-glyph").is_visible()
    show_panel(page)
    shoot(page, "off-1280-en")
    boxes.nth(1).check()
    page.wait_for_function(READY, arg=f"{text[0]}:16x16")
    assert panel.locator("canvas.ga-query").count() == 1 and panel.locator(".ga-off").count() == 0
    assert "Switched off: 32x32." in panel.inner_text()
    page.context.close()
