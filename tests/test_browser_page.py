"""The page as visitors meet it (issue: a Chinese interface, one clear message per problem): its
language (a zh-CN browser reads no English words but names; the switch; server messages follow),
one message per problem that keeps the previous result, live style changes, one typeface, focus and
contrast, the export button's state, and a phone's width. Headless Debian chromium via Playwright."""

from __future__ import annotations

import re

import pytest

from unet.demo import i18n

from .test_browser import ARTIFACTS, CHROMIUM, open_page, pick, sheet_src, wait_painted

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

# Words a Chinese page may still show: names of styles, fonts, software, formats, measures and
# symbols (layer names and numbers have no two letters in a row).
NAMES = {"LXGW", "WenKai", "AR", "PL", "UKai", "Smiley", "Sans", "Noto", "Serif", "CJK", "TC", "SC", "U-Net",
         "Net", "SAGAN", "PyTorch", "pix2pix", "pix", "softmax", "qᵀk", "attend", "TrueType", "OpenType", "CFF",
         "ttf", "otf", "SIL", "OFL", "SSIM", "L1", "IoU", "API", "Gradio", "px", "MB", "potrace", "contours",
         "python", "unet", "font", "checkpoints", "glyph", "attention", "3style", "README", "md", "Shift",
         "Enter", "English", "Glyph", "Attention", "PNG", "ZIP", "Latin"}


def english_words(text: str) -> list[str]:
    """Runs of two or more Latin letters that are not names (code points and layer names, such as
    U+6C38 and 32x32, are not words)."""
    text = re.sub(r"U\+[0-9A-F]{4,6}|\b\d+x\d+\b|checkpoints/\S+|\S+\.(ttf|otf|png|zip)\b", " ", text)
    return sorted({w for w in re.findall(r"[A-Za-z][A-Za-z0-9ᵀ]+", text) if w not in NAMES})


def visitor(browser, url, locale="en-US", width=1280, height=900, **extra):
    """A new visitor (own context: cookies, storage, Gradio session) with the page generated."""
    page = open_page(browser, url, locale=locale, viewport={"width": width, "height": height}, **extra)
    page.goto(url)
    wait_painted(page, None)
    page.locator("#status p").first.wait_for()
    return page


# each point at a desktop and a phone width, in English and in simplified Chinese
VIEWS = [pytest.param(locale, width, height, id=f"{locale}-{width}")
         for locale in ("en-US", "zh-CN") for width, height in ((1280, 900), (390, 844))]


def lang_of(locale: str) -> str:
    return "en" if locale.startswith("en") else locale


def shoot(page, name: str) -> None:
    """A screenshot in tests/artifacts/ (looked at when the test was written)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"page-{name}.png"), full_page=True)


def status(page) -> str:
    return page.locator("#status").inner_text()


def test_a_chinese_browser_reads_chinese_everywhere(browser, url):
    page = visitor(browser, url, locale="zh-CN")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    seen = {"main": page.locator("body").inner_text()}
    assert "生成" in seen["main"] and "风格" in seen["main"] and "个字形" in status(page)
    # a problem, said by the server in the page's language
    page.locator("#text textarea").fill("永abc")
    page.locator("#generate").click()
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('非汉字')")
    seen["status"] = status(page)
    page.get_by_role("tab", name="关于").click()
    page.locator("#about-tab").get_by_text("原理").wait_for()
    seen["about"] = page.locator("#about-tab").inner_text()
    page.get_by_role("tab", name="制作字体").click()
    page.locator("#font-text textarea").fill("永和")
    page.locator("#make-font").click()
    page.wait_for_function("() => window.glyphFont && window.glyphFont.dataset.fontReady")
    seen["font"] = page.locator("#font-tab").inner_text()
    seen["page after it all"] = page.locator("body").inner_text()  # the footer included
    assert "生成 2 个" in seen["font"] and "下载" in seen["font"], seen["font"]
    for where, text in seen.items():
        words = english_words(text)
        assert words == [], (where, words, [text[max(0, text.find(w) - 80):text.find(w) + 40] for w in words])
    page.context.close()


def test_the_language_switch_changes_labels_views_and_messages_and_is_remembered(browser, url):
    page = visitor(browser, url, locale="zh-CN")
    assert page.locator("#generate").inner_text() == "生成"
    page.locator("#language button[data-code=en]").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert page.locator("#generate").inner_text() == "Generate"
    assert page.locator("#language button[data-code=en]").get_attribute("aria-pressed") == "true"
    page.locator("#text textarea").fill("永")
    page.locator("#generate").click()
    page.locator("#status").get_by_text("1 glyph(s)").wait_for()  # the server answers in English now
    page.reload()  # remembered in this browser
    wait_painted(page, None)
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert page.locator("#generate").inner_text() == "Generate"
    page.locator("#language button[data-code=zh-TW]").click()
    page.wait_for_function("() => document.documentElement.lang === 'zh-TW'")
    assert page.locator("#generate").inner_text() == "生成" and "風格" in page.locator("#style").inner_text()
    page.context.close()


@pytest.mark.parametrize("locale,width,height", VIEWS)
def test_a_problem_is_one_line_and_keeps_the_previous_result(browser, url, locale, width, height):
    lang = lang_of(locale)
    page = visitor(browser, url, locale, width, height)
    before, chars = sheet_src(page), page.locator("#char input").input_value()
    page.locator("#text textarea").fill("  ")
    page.locator("#generate").click()
    expected = i18n.text(lang, "status.error", message=i18n.text(lang, "error.empty"))
    try:
        page.wait_for_function("want => document.querySelector('#status').innerText.trim() === want",
                               arg=expected)
    except Exception as e:  # say what the status did show
        raise AssertionError(f"status {status(page)!r}, expected {expected!r}") from e
    page.wait_for_timeout(500)
    assert sheet_src(page) == before and page.locator("#char input").input_value() == chars
    assert page.locator(".toast-body").count() == 0  # no toast saying it again
    assert page.locator(".error").count() == 0, page.locator(".error").all_inner_texts()  # no red badges
    shoot(page, f"problem-{locale}-{width}")
    # a mix of problems: one line per kind, with the characters, and no toasts
    page.locator("#text textarea").fill("永abcdefgh😀和")
    page.locator("#generate").click()
    wait_painted(page, before)
    lines = status(page).split("\n")
    assert lines[1:] == ["⚠ " + i18n.text(lang, "status.skip.not_cjk", count=8, chars="a b c d e f g h"),
                         "⚠ " + i18n.text(lang, "status.skip.emoji", count=1, chars="😀")], lines
    assert page.locator(".toast-body").count() == 0
    page.context.close()


@pytest.mark.parametrize("locale,width,height", VIEWS)
def test_style_and_blend_change_live_without_generate(browser, url, locale, width, height):
    page = visitor(browser, url, locale, width, height)
    first = sheet_src(page)
    pick(page, "#style", "Smiley Sans")
    styled = wait_painted(page, first)  # no Generate pressed
    page.locator("#status").get_by_text("Smiley Sans 100%").wait_for()
    pick(page, "#blend", "AR PL UKai")
    wait_painted(page, styled)
    page.wait_for_function("() => ['Smiley Sans 50%', 'AR PL UKai 50%'].every("
                           "w => document.querySelector('#status').innerText.includes(w))")
    page.wait_for_function("() => !document.querySelector('#sheet').classList.contains('ga-updating')")
    shoot(page, f"blend-{locale}-{width}")
    page.context.close()


def platform_fonts(page, selector: str) -> list[str]:
    """The fonts Chromium really drew an element's text with (DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = [f["familyName"] for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]]
    cdp.detach()
    return fonts


def luminance(rgb: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", rgb)[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: str, bg: str) -> float:
    a, b = sorted([luminance(fg), luminance(bg)], reverse=True)
    return (a + 0.05) / (b + 0.05)


@pytest.mark.parametrize("locale,width,height", VIEWS)
def test_one_typeface_visible_focus_and_readable_buttons(browser, url, locale, width, height):
    page = visitor(browser, url, locale, width, height)
    for selector in ["#generate", "#component-0 h1, h1", "#text label span, #text span"]:
        fonts = platform_fonts(page, selector)
        assert len(set(fonts)) == 1 and "CJK" in fonts[0], (selector, fonts)  # Latin and CJK, bold too
    button = page.locator("#generate")
    colours = button.evaluate("b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]")
    assert contrast(*colours) >= 4.5, colours
    button.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # focus by keyboard: :focus-visible
    outline = button.evaluate("b => [getComputedStyle(b).outlineStyle, parseFloat(getComputedStyle(b).outlineWidth)]")
    assert outline[0] != "none" and outline[1] >= 2, outline
    page.context.close()


@pytest.mark.parametrize("locale,width,height", VIEWS)
def test_make_font_is_greyed_out_while_it_works(browser, url, locale, width, height):
    page = visitor(browser, url, locale, width, height)
    page.get_by_role("tab", name=i18n.text(lang_of(locale), "app.tab.font")).click()
    page.locator("#font-text textarea").fill("永和九年")
    button = page.locator("#make-font")
    button.click()
    page.wait_for_function("() => document.querySelector('#make-font').disabled")
    page.wait_for_function("() => window.glyphFont && window.glyphFont.dataset.fontReady")
    page.wait_for_function("() => !document.querySelector('#make-font').disabled")
    shoot(page, f"font-{locale}-{width}")
    page.context.close()


def test_a_phone_sees_the_page_without_sideways_scrolling(browser, url):
    page = visitor(browser, url, locale="zh-CN", width=390, height=844, is_mobile=True, has_touch=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.context.close()


def test_a_blend_weight_beyond_1_is_refused_not_taken_as_100_percent(browser, url):
    page = visitor(browser, url)
    pick(page, "#blend", "AR PL UKai")
    page.locator("#status").get_by_text("AR PL UKai 50%").wait_for()
    before = sheet_src(page)
    number = page.locator("#weight input[type=number]")
    number.fill("1.5")
    number.press("Enter")
    page.locator("#status").get_by_text("the blend weight must be a number in [0, 1], got 1.5").wait_for()
    assert sheet_src(page) == before
    number.fill("0.75")
    number.press("Enter")
    wait_painted(page, before)
    page.locator("#status").get_by_text("AR PL UKai 75%").wait_for()
    page.context.close()
