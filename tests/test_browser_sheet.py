"""The glyph sheet in a real browser: its words are text (readable on a phone, in the page's
language), a blend shows each style's real font, a character a font lacks is marked and explained,
the PNG download is named by its characters and its words have glyphs, and a click on a glyph picks
it. Leaves screenshots behind: tests/artifacts/sheet-*.png."""

from __future__ import annotations

import io
import re

import pytest

from benchmarks.live_loop import PAINTED, SHEET_SRC, pick

from .support import REPO
from .test_browser import WAIT_MS, open_page

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]
sync_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = REPO / "tests" / "artifacts"
EXAMPLE = "永和九年歲在癸丑"  # what the page generates on load
PHONE, DESKTOP = (390, 844), (1280, 800)

# Every element of the sheet that shows text of its own, with what a reader needs to read it: its
# computed size and colour, and the colour behind it (the first opaque background above it).
TEXTS = """() => {
  const rgba = s => (s.match(/[\\d.]+/g) || []).map(Number).concat([1]).slice(0, 4);
  const back = e => {
    for (; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0.99) return c;
    }
    return [255, 255, 255, 1];
  };
  const out = [];
  for (const e of document.querySelectorAll('#sheet .ga-sheet-box *')) {
    const own = [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
    if (!own || !e.getClientRects().length) continue;
    const s = getComputedStyle(e);
    out.push({text: own, cls: e.className, size: parseFloat(s.fontSize), colour: rgba(s.color), back: back(e)});
  }
  return out;
}"""

# Where the sheet's parts are, to check that none is wider than the screen.
BOXES = """() => [...document.querySelectorAll('#sheet .ga-block, #sheet .ga-legend, #sheet .ga-tools')]
  .map(e => { const r = e.getBoundingClientRect(); return {cls: e.className, left: r.left, right: r.right}; })"""

# The characters (of the given texts) that the given CSS font list draws as a missing glyph: ink the
# same as an unassigned code point's (a .notdef box or nothing), or no ink at all.
MISSING_GLYPHS = """([family, texts]) => {
  const c = document.createElement('canvas'); c.width = c.height = 72;
  const ctx = c.getContext('2d');
  const ink = ch => {
    ctx.clearRect(0, 0, 72, 72);
    ctx.font = `48px ${family}`; ctx.textBaseline = 'middle'; ctx.fillStyle = '#000';
    ctx.fillText(ch, 8, 36);
    return Array.from(ctx.getImageData(0, 0, 72, 72).data.filter((_, i) => i % 4 === 3)).join(',');
  };
  const blank = ink(' '), notdef = ink('\\u0378');
  const chars = [...new Set([...texts.join('')])].filter(ch => ch.trim());
  return {chars, missing: chars.filter(ch => ink(ch) === notdef || ink(ch) === blank),
          selfcheck: ink('\\u0379') === notdef && ink('永') !== notdef};
}"""


def open_sheet(browser, url, locale="en", size=DESKTOP):
    """A fresh visitor (own context: cookies, session, language) with the example's sheet painted."""
    page = open_page(browser, url, viewport={"width": size[0], "height": size[1]}, locale=locale,
                     accept_downloads=True)
    page.goto(url)
    page.wait_for_function(PAINTED, arg=None, timeout=WAIT_MS)
    page.wait_for_selector("#sheet .ga-block")
    return page


def contrast(fg, bg) -> float:
    """WCAG contrast of text colour ``fg`` (rgba, alpha blended onto ``bg``) on ``bg``."""
    rgb = [fg[i] * fg[3] + bg[i] * (1 - fg[3]) for i in range(3)]

    def lum(c):
        c = [v / 255 for v in c[:3]]
        c = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    hi, lo = sorted((lum(rgb), lum(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def sheet_words(page) -> list[str]:
    """Every word the sheet shows or says: its text, and its alt, title and aria-label attributes."""
    return page.evaluate("""() => {
      const box = document.querySelector('#sheet .ga-sheet-box');
      const out = [box.innerText];
      for (const e of box.querySelectorAll('[alt], [title], [aria-label]')) {
        for (const a of ['alt', 'title', 'aria-label']) if (e.getAttribute(a)) out.push(e.getAttribute(a));
      }
      return out;
    }""")


def names_of(view) -> set[str]:
    """What may stay as it is in any language: style names, layer names, code points."""
    names = {m["style"] for r in view["rows"] for m in r.get("mix", [])}
    names |= {r["style"] for r in view["rows"] if "style" in r}
    names |= {layer for r in view["rows"] for layer in r.get("off", [])}
    return names


def english_left(texts: list[str], names: set[str]) -> list[str]:
    """Latin words left once names, code points and numbers are taken out."""
    words = []
    for text in texts:
        for name in sorted(names, key=len, reverse=True):
            text = text.replace(name, " ")
        text = re.sub(r"U\+[0-9A-F]{4,6}", " ", text)
        words += re.findall(r"[A-Za-z]+", text)
    return words


def shoot(page, name: str):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("#sheet").scroll_into_view_if_needed()
    page.locator("#sheet").screenshot(path=str(ARTIFACTS / name))


@pytest.mark.parametrize("locale,size", [("en", DESKTOP), ("en", PHONE), ("zh-CN", DESKTOP), ("zh-CN", PHONE)],
                         ids=["en-1280", "en-390", "zh-CN-1280", "zh-CN-390"])
def test_sheet_words_are_readable_text_that_fits_the_screen(browser, url, locale, size):
    page = open_sheet(browser, url, locale, size)
    view = page.evaluate("() => window.glyphSheet.sheetView()")
    texts = page.evaluate(TEXTS)
    shown = [x["text"] for x in texts]
    # row names, code points and seen/unseen marks are DOM text, as are the legend and buttons
    assert [f"U+{ord(c):04X}" for c in EXAMPLE] == [x["text"] for x in texts if x["cls"] == "ga-code"]
    marks = [x["text"] for x in texts if x["cls"].startswith("ga-seen")]
    assert len(marks) >= len(EXAMPLE)
    names = {"en": ["source", "generated", "real font"], "zh-CN": ["源字形", "生成结果", "真实字体"]}[locale]
    assert all(name in shown for name in names), shown
    assert "LXGW WenKai" in shown
    if locale == "en":
        assert "seen" in marks
    else:
        assert "见过" in marks
    # readable: at least 12 px and 4.5:1 against what is behind it
    for x in texts:
        assert x["size"] >= 12, x
        assert contrast(x["colour"], x["back"]) >= 4.5, (x, contrast(x["colour"], x["back"]))
    # nothing wider than the screen: the characters wrap into blocks instead
    width = size[0]
    boxes = page.evaluate(BOXES)
    assert all(b["left"] >= 0 and b["right"] <= width + 0.5 for b in boxes), boxes
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    if size == PHONE:
        assert page.locator("#sheet .ga-block").count() >= 2
    if locale == "zh-CN":
        assert english_left(sheet_words(page), names_of(view)) == []
    shoot(page, f"sheet-{locale}-{size[0]}.png")
    page.context.close()


def test_the_sheet_follows_a_change_of_language(browser, url):
    page = open_sheet(browser, url, "en", DESKTOP)
    src = page.evaluate(SHEET_SRC)
    page.evaluate("() => { document.documentElement.lang = 'zh-TW'; }")
    page.locator("#sheet .ga-row-name", has_text="真實字型").wait_for()
    words = sheet_words(page)
    assert english_left(words, names_of(page.evaluate("() => window.glyphSheet.sheetView()"))) == []
    assert "見過" in words[0] and "下載字表圖片" in words[0]
    assert page.evaluate(SHEET_SRC) == src  # the same glyphs: only the words changed
    page.context.close()


def download_png(page, tmp_path, name: str):
    """Download the sheet's PNG: its file name, the image, and the words drawn into it."""
    from PIL import Image

    with page.expect_download() as download:
        page.locator("#sheet button.ga-png").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_bytes(path.read_bytes())
    drawn = page.evaluate("() => window.glyphSheet.sheetDownload")
    image = Image.open(io.BytesIO(path.read_bytes()))
    image.load()
    return download.value.suggested_filename, image, drawn


def assert_every_glyph_drawn(page, drawn):
    found = page.evaluate(MISSING_GLYPHS, [drawn["font"], drawn["text"]])
    assert found["selfcheck"], found  # the check tells a missing glyph from a drawn one
    assert len(found["chars"]) > 10 and found["missing"] == [], found


def test_blend_rows_missing_glyphs_and_the_png_download(browser, url, tmp_path):
    """A blend shows a real row per style with its weight; Smiley Sans has no 靐: its cell says so,
    and the legend says what that means. Then the PNG download, with a Δ row."""
    page = open_sheet(browser, url, "en", DESKTOP)
    text = "永和靐"
    page.locator("#text textarea").fill(text)
    pick(page, "#blend", "Smiley Sans")
    page.locator("#weight input[type=range]").fill("0.3")
    page.locator("#generate").click()
    # the page may redraw at each change (live updates): wait for the sheet of all of them
    page.wait_for_function("""want => { const v = window.glyphSheet.sheetView();
        return v && JSON.stringify(v.request.slice(0, 4)) === JSON.stringify(want); }""",
                           arg=[text, "LXGW WenKai", "Smiley Sans", 0.3])
    page.wait_for_function(PAINTED, arg=None)
    view = page.evaluate("() => window.glyphSheet.sheetView()")
    assert view["chars"] == list(text)
    labels = page.locator("#sheet .ga-block").first.locator(".ga-label")
    rows = [labels.nth(i).inner_text().replace("\n", " ") for i in range(labels.count())]
    assert rows == ["source the model's input", "generated LXGW WenKai 70% + Smiley Sans 30%",
                    "real font LXGW WenKai · 70%", "real font Smiley Sans · 30%"], rows
    # 靐 is not in Smiley Sans: an explicit, explained state in its row, not a blank or a crossed box
    missing = page.locator("#sheet .ga-glyphs .ga-missing")
    assert missing.count() == 1 and missing.first.inner_text().replace("\n", " ") == "not in this font"
    cell, row = missing.first.bounding_box(), labels.nth(3).bounding_box()
    assert abs((cell["y"] + cell["height"] / 2) - (row["y"] + row["height"] / 2)) < 4  # in Smiley's row
    heads = page.locator("#sheet .ga-head").nth(2).bounding_box()
    assert abs((cell["x"] + cell["width"] / 2) - (heads["x"] + heads["width"] / 2)) < 4  # under 靐
    legend = page.locator("#sheet .ga-legend").inner_text()
    assert "not in this font" in legend and "the real font has no glyph for this character" in legend
    assert "never seen in training" in legend  # 靐 was not in the training set
    shoot(page, "sheet-en-1280-blend.png")

    # untick a layer: a Δ row joins; then the PNG of all of it
    page.locator("#layers input[type=checkbox]").first.uncheck()
    page.locator("#sheet .ga-row-name", has_text="Δ vs all layers on").wait_for()
    page.wait_for_function(PAINTED, arg=None)
    name, image, drawn = download_png(page, tmp_path, "sheet-download-en.png")
    assert name == f"glyphs-{text}.png"
    assert image.format == "PNG" and image.size == (drawn["width"], drawn["height"])
    assert image.size[0] > 3 * 98 and image.size[1] > 5 * 98  # the glyphs and the words around them
    words = " ".join(drawn["text"])
    for part in ["U+9750", "unseen", "real font", "Smiley Sans · 30%", "Δ vs all layers on", "not in this font"]:
        assert part in words, part
    assert_every_glyph_drawn(page, drawn)
    page.context.close()


def test_png_download_in_chinese(browser, url, tmp_path):
    page = open_sheet(browser, url, "zh-CN", PHONE)
    name, image, drawn = download_png(page, tmp_path, "sheet-download-zh-CN.png")
    assert name == f"glyphs-{EXAMPLE}.png"
    assert image.format == "PNG" and image.size == (drawn["width"], drawn["height"])
    words = " ".join(drawn["text"])
    assert "源字形" in words and "真实字体" in words and "见过" in words
    assert english_left(drawn["text"], {"LXGW WenKai"}) == []
    assert_every_glyph_drawn(page, drawn)
    page.context.close()


def test_clicking_a_glyph_picks_it_for_the_attention_panel(browser, url):
    page = open_sheet(browser, url, "en", PHONE)
    assert page.locator("#sheet .ga-block").count() >= 2
    view = page.evaluate("() => window.glyphSheet.sheetView()")
    generated = [r["kind"] for r in view["rows"]].index("generated")

    def picked(ch):
        page.wait_for_function("ch => (document.querySelector('#char input') || {}).value?.includes(ch)", arg=ch)

    # a glyph in the second block: its own slice of the PNG
    block = page.locator("#sheet .ga-block").nth(1)
    first = int(block.locator(".ga-pick").first.get_attribute("data-index"))
    glyphs = block.locator(".ga-glyphs")
    glyphs.scroll_into_view_if_needed()
    box = glyphs.bounding_box()
    pitch = box["height"] / len(view["rows"])
    page.mouse.click(box["x"] + 1.5 * pitch, box["y"] + (generated + 0.5) * pitch)
    picked(EXAMPLE[first + 1])
    # and from the keyboard
    page.locator(f"#sheet .ga-pick[data-index='{first}']").focus()
    page.keyboard.press("Enter")
    picked(EXAMPLE[first])
    page.context.close()
