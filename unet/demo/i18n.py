"""The page's words in English, simplified and traditional Chinese: one catalog for both sides.

The catalog is ``web/strings/*.json`` (one file per part of the page: ``{key: {"en": ..., "zh-CN":
..., "zh-TW": ...}}``, ``{name}`` for a value filled in). It is used three ways:

- component labels, the About text and other static words go through ``gr.I18n`` (``gradio_i18n``),
  which the browser translates by its language, or by the one picked in Gradio's Settings;
- the page's own views (sheet, attention panel, font preview) carry the catalog in their JavaScript
  (``JS_PRELUDE``: ``t(key, params)``) and follow the page's language, which Gradio keeps in
  ``<html lang>``; the prelude also copies it into the ``ga_lang`` cookie;
- messages made on the server (toasts, errors) are written in the language of the request
  (``language_of``: that cookie, else the browser's ``Accept-Language``, else English), so a
  script that says nothing gets English.

``gradio.json`` holds Gradio's own keys that its Chinese bundles lack (its status tracker announces
``common.complete`` after every event, which a Chinese page would otherwise read out as the key).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("en", "zh-CN", "zh-TW")
COOKIE = "ga_lang"
STRINGS_DIR = Path(__file__).resolve().parent / "web" / "strings"
TRADITIONAL = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    """Every key of every part, checked: each in every language, no key in two parts."""
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(STRINGS_DIR.glob("*.json")):
        part = json.loads(path.read_text(encoding="utf-8"))
        for key, texts in part.items():
            if key in merged:
                raise ValueError(f"{path.name}: key {key!r} is also in another part")
            missing = [lang for lang in LANGUAGES if not isinstance(texts.get(lang), str)]
            if missing:
                raise ValueError(f"{path.name}: key {key!r} has no text in {', '.join(missing)}")
            merged[key] = {lang: texts[lang] for lang in LANGUAGES}
    return merged


def best_language(tag: str | None) -> str | None:
    """One of LANGUAGES for a language tag ('zh-Hant-TW' -> zh-TW, 'zh' -> zh-CN), else None."""
    if not isinstance(tag, str) or not tag.strip():
        return None
    tag = tag.strip().lower().replace("_", "-")
    if tag.startswith("zh"):
        return "zh-TW" if tag.startswith(TRADITIONAL) else "zh-CN"
    if tag.startswith("en"):
        return "en"
    return None


def from_accept_language(header: str | None) -> str | None:
    """The first language of an ``Accept-Language`` header (by quality) that the page speaks."""
    if not isinstance(header, str):
        return None
    ranked = []
    for i, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag))
    for _, _, tag in sorted(ranked):
        lang = best_language(tag)
        if lang:
            return lang
    return None


def language_of(request) -> str:
    """The language to answer a request in: the page's (cookie), else the browser's, else English.
    ``request``: a ``gr.Request``, a Starlette request, or None (a script without either: English)."""
    if request is None:
        return "en"
    headers = getattr(request, "headers", None) or {}
    cookies = getattr(request, "cookies", None)
    chosen = None
    if isinstance(cookies, dict):
        chosen = cookies.get(COOKIE)
    if chosen is None:
        for item in str(headers.get("cookie", "") or "").split(";"):
            name, _, value = item.strip().partition("=")
            if name == COOKIE:
                chosen = value
    return best_language(chosen) or from_accept_language(headers.get("accept-language")) or "en"


def text(lang: str, key: str, **params) -> str:
    """The catalog's text for ``key`` in ``lang`` (English where ``lang`` is not one of LANGUAGES),
    with ``{name}`` filled in from ``params``."""
    entry = catalog()[key]
    template = entry.get(lang) or entry["en"]
    return template.format(**params) if params else template


def gradio_i18n(extra: dict[str, dict[str, str]] | None = None, **fill):
    """The catalog as ``gr.I18n`` (component labels and Markdown are translated in the browser,
    which cannot fill in values: ``fill`` names the few fixed ones, e.g. ``max_chars=64``), plus
    ``extra`` keys made at start-up ({key: {language: text}})."""
    import gradio as gr

    table = {**catalog(), **(extra or {})}

    def filled(template: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: str(fill.get(m.group(1), m.group(0))), template)

    return gr.I18n(**{lang: {k: filled(v[lang]) for k, v in table.items()} for lang in LANGUAGES})


def js_prelude() -> str:
    """JavaScript every view starts with: the catalog, ``lang()``, ``t(key, params)``,
    ``translate(root)`` (fills every ``[data-t]`` element: ``data-t`` the key, ``data-p`` its
    parameters as JSON) and ``onLanguage(fn)``; it keeps the ``ga_lang`` cookie up to date."""
    script = (Path(__file__).resolve().parent / "web" / "i18n.js").read_text(encoding="utf-8")
    return script.replace("__STRINGS__", json.dumps(catalog(), ensure_ascii=False))


__all__ = ["COOKIE", "LANGUAGES", "best_language", "catalog", "from_accept_language", "gradio_i18n",
           "js_prelude", "language_of", "text"]
