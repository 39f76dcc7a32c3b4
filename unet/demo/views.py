"""The page's live views, as ``gr.HTML`` parts: the sheet, the attention panel, the font preview
and the language switch.

Each view is three files in ``web/``: ``NAME.html`` (a template of what a response carries),
``NAME.css`` (after ``common.css``, the placeholder and link-buttons every view shares) and
``NAME.js`` (what runs in the page). The sheet's value is one PNG of glyph cells and what each row
and column is (``DemoService.sheet_view``): ``sheet.js`` lays them out with their labels as text,
in the page's language and to the page's width. The attention panel's value is only a ticket naming
the glyph: ``attention.js`` builds its markup once the numbers have arrived. The font preview's
value names the font (``FontExports.make``): ``font.js`` fetches its bytes, links them for download
and sets the editable text in the font itself.

Every view's script starts with ``i18n.js_prelude()``: the page's words in its three languages and
``t(key)`` / ``translate(root)`` (``unet.demo.i18n``), so a view speaks the page's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .i18n import js_prelude

WEB = Path(__file__).resolve().parent / "web"


@dataclass(frozen=True)
class View:
    """One ``gr.HTML``'s template, CSS and JavaScript (``gr.HTML(html_template=..., css_template=...,
    js_on_load=...)``)."""

    html: str
    css: str
    js: str

    @classmethod
    def load(cls, name: str) -> View:
        def read(file: str) -> str:
            return (WEB / file).read_text(encoding="utf-8")

        return cls(read(f"{name}.html"), read("common.css") + read(f"{name}.css"),
                   js_prelude() + read(f"{name}.js"))

    def html_kwargs(self) -> dict:
        return {"html_template": self.html, "css_template": self.css, "js_on_load": self.js}


SHEET = View.load("sheet")
ATTENTION = View.load("attention")
FONT = View.load("font")
LANGUAGE = View.load("language")
