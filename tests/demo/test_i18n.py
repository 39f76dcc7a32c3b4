"""The page's words (unet.demo.i18n): a complete catalog, and the language of a request."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from unet.demo import i18n


def test_every_key_has_every_language_and_the_same_blanks():
    table = i18n.catalog()
    assert len(table) > 100
    for key, texts in table.items():
        assert set(texts) == set(i18n.LANGUAGES), key
        blanks = {lang: sorted(set(re.findall(r"\{(\w+)\}", t))) for lang, t in texts.items()}
        assert len({tuple(b) for b in blanks.values()}) == 1, (key, blanks)  # each fills the same values
        for lang in ("zh-CN", "zh-TW"):
            words = re.sub(r"\{\w+\}", "", texts["en"])  # an untranslated English sentence, not a name
            assert texts[lang] != "" and (texts[lang] != texts["en"] or not re.search(r"[a-z]{4} [a-z]", words)), \
                (key, lang)


@pytest.mark.parametrize("tag,lang", [("zh-CN", "zh-CN"), ("zh", "zh-CN"), ("zh-Hans-CN", "zh-CN"),
                                      ("zh-TW", "zh-TW"), ("zh-HK", "zh-TW"), ("zh-Hant", "zh-TW"),
                                      ("zh_TW", "zh-TW"), ("en-GB", "en"), ("fr", None), ("", None), (None, None)])
def test_a_language_tag_maps_to_one_the_page_speaks(tag, lang):
    assert i18n.best_language(tag) == lang


def test_the_request_language_comes_from_the_cookie_then_accept_language_then_english():
    def request(cookie=None, accept=None):
        headers = {k: v for k, v in (("cookie", cookie), ("accept-language", accept)) if v is not None}
        return SimpleNamespace(headers=headers)

    assert i18n.language_of(None) == "en"  # a script that says nothing
    assert i18n.language_of(request()) == "en"
    assert i18n.language_of(request(accept="fr-FR,zh-TW;q=0.8,en;q=0.5")) == "zh-TW"  # by quality
    assert i18n.language_of(request(accept="en;q=0.2,zh;q=0.9")) == "zh-CN"
    assert i18n.language_of(request(cookie="a=1; ga_lang=en", accept="zh-CN")) == "en"  # the page's switch
    assert i18n.language_of(request(cookie="ga_lang=<script>", accept="zh-CN")) == "zh-CN"  # nonsense ignored
    assert i18n.language_of(request(accept="x;q=abc," * 500)) == "en"  # bounded, never an error


def test_text_fills_values_and_falls_back_to_english():
    assert i18n.text("zh-CN", "status.layers_off", layers="32x32") == "已关闭的注意力层：32x32。"
    assert i18n.text("de", "status.layers_off", layers="32x32") == "Attention switched off: 32x32."
    words = i18n.gradio_i18n(max_chars=64, extra={"x.extra": {lang: lang for lang in i18n.LANGUAGES}})
    assert words.translations_dict["zh-TW"]["app.text"] == "漢字（最多 64 個）"
    assert words.translations_dict["en"]["x.extra"] == "en"


def test_the_views_carry_the_catalog():
    from unet.demo import views

    for view in (views.SHEET, views.ATTENTION, views.FONT, views.LANGUAGE):
        assert view.js.startswith("// The page's words") and '"status.layers_off"' in view.js


def test_gradio_words_its_chinese_bundles_lack_come_from_the_catalog():
    """Gradio's status tracker says ``i18n("common.complete")`` after each event; its zh-CN bundle has
    no such key, so a Chinese page showed the raw key. Every key the tracker uses is either in the
    bundle or in our catalog."""
    import gradio

    assets = Path(gradio.__file__).parent / "templates" / "frontend" / "assets"
    tracker = "".join(p.read_text(encoding="utf-8", errors="ignore") for p in assets.glob("statustracker-*.js"))
    used = set(re.findall(r"i18n\(`([a-z_]+\.[a-z_]+)`\)", tracker))
    assert "common.complete" in used
    table = i18n.catalog()
    for lang in ("zh-CN", "zh-TW"):
        bundle = "".join(p.read_text(encoding="utf-8") for p in assets.glob(f"{lang}-*.js"))
        lacking = {key for key in used if not re.search(rf"\b{key.split('.')[1]}:`", bundle)}
        assert lacking <= set(table), (lang, sorted(lacking - set(table)))
