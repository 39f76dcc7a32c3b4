"""The page's live views, as ``gr.HTML`` templates: the sheet, the attention panel, the font preview.

Their JavaScript lives beside this file in ``web/`` (read once at import); the templates only lay
out what a response carries (see ``DemoService.sheet`` and ``DemoService.attention``).
"""

from __future__ import annotations

from pathlib import Path

WEB = Path(__file__).resolve().parent / "web"
SHEET_JS = (WEB / "sheet.js").read_text(encoding="utf-8")
ATTENTION_JS = (WEB / "attention.js").read_text(encoding="utf-8")
FONT_JS = (WEB / "font.js").read_text(encoding="utf-8")

SHEET_HTML = """
<div class="ga-sheet-box">
${value && value.src
  ? `<img class="ga-sheet-img" src="${value.src}" width="${value.width}" height="${value.height}"
          alt="source, generated and real glyphs of ${value.chars.join('')}"
          title="click a generated glyph to look at its attention">
     <div class="ga-tools">
       <a class="ga-png ga-button" download="glyphs.png" href="${value.src}">Sheet (PNG)</a>
       <button class="ga-zip ga-button" type="button">All glyphs (ZIP)</button>
       <span class="ga-note"></span>
     </div>`
  : `<div class="ga-empty">Type characters and press Generate.</div>`}
</div>
"""

# what every view's CSS shares: the placeholder before the first result, and link-buttons
COMMON_CSS = """
.ga-empty { color: #888; padding: 24px; }
.ga-button { padding: 6px 14px; border-radius: 6px; border: 1px solid #ccc; background: #f4f4f5;
  color: #222; text-decoration: none; font-size: 14px; cursor: pointer; }
"""

SHEET_CSS = COMMON_CSS + """
.ga-sheet-img { max-width: 100%; height: auto; cursor: pointer; display: block; }
.ga-tools { display: flex; gap: 12px; align-items: center; margin-top: 8px; }
.ga-note { color: #b00; font-size: 13px; }
"""

# The panel's markup is built by web/attention.js once the numbers have arrived (the value is only
# a ticket naming the glyph; see DemoService.attention_ticket).
ATTENTION_HTML = """
<div class="ga-att">${value ? '<div class="ga-empty">Loading the attention of ' + value.char + '…</div>'
                            : '<div class="ga-empty">Generate glyphs to see their attention.</div>'}</div>
"""

ATTENTION_CSS = COMMON_CSS + """
.ga-att { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
.ga-row { display: flex; gap: 12px; flex-wrap: wrap; }
.ga-title { font-weight: 600; margin: 6px 0; }
.ga-help, .ga-point { color: #666; font-size: 13px; margin: 4px 0; }
.ga-att canvas { width: 256px; height: 256px; cursor: crosshair; image-rendering: pixelated;
  border: 1px solid #ddd; }
.ga-att figure { margin: 0; }
.ga-att figcaption { font-size: 13px; color: #444; text-align: center; }
.ga-table { border-collapse: collapse; margin-top: 8px; font-size: 13px; }
.ga-table td, .ga-table th { border: 1px solid #ccc; padding: 3px 8px; }
"""

# The exported font's preview: the value names the font (see FontExports.make); web/font.js fetches
# its bytes, links them for download and sets the editable text in the font itself.
FONT_HTML = """
<div class="ga-font">
${value && value.token
  ? `<div class="ga-font-summary"><b>${value.family}</b>: ${value.summary}
       (${(value.size / 1e6).toFixed(2)} MB)</div>
     <a class="ga-font-download ga-button" hidden>Download ${value.filename}</a>
     <span class="ga-font-note"></span>
     <div class="ga-font-hint">Type below: the text is set by your browser in the font you just made.</div>
     <textarea class="ga-font-preview" rows="3" spellcheck="false">${value.chars.slice(0, 60)}</textarea>
     ${value.skipped_count ? `<div class="ga-font-hint">Skipped ${value.skipped_count}:
        ${value.skipped.join("; ").replace(/&/g, "&amp;").replace(/</g, "&lt;")}</div>` : ""}`
  : `<div class="ga-empty">Pick characters and press Make font; the font appears here.</div>`}
</div>
"""

FONT_CSS = COMMON_CSS + """
.ga-font-download { display: inline-block; margin: 8px 0; }
.ga-font-download[hidden] { display: none; }
.ga-font-preview { width: 100%; font-size: 48px; line-height: 1.3; border: 1px solid #ddd;
  padding: 8px; box-sizing: border-box; resize: vertical; }
.ga-font-hint { color: #666; font-size: 13px; margin: 4px 0; }
.ga-font-note { color: #b00; font-size: 13px; margin-left: 8px; }
"""
