"""The page's two live views, as ``gr.HTML`` templates: the sheet and the attention panel.

Their JavaScript lives beside this file in ``web/`` (read once at import); the templates only lay
out what a response carries (see ``DemoService.sheet`` and ``DemoService.attention``).
"""

from __future__ import annotations

from pathlib import Path

WEB = Path(__file__).resolve().parent / "web"
SHEET_JS = (WEB / "sheet.js").read_text(encoding="utf-8")
ATTENTION_JS = (WEB / "attention.js").read_text(encoding="utf-8")

SHEET_HTML = """
<div class="ga-sheet-box">
${value && value.src
  ? `<img class="ga-sheet-img" src="${value.src}" width="${value.width}" height="${value.height}"
          alt="source, generated and real glyphs of ${value.chars.join('')}"
          title="click a generated glyph to look at its attention">
     <div class="ga-tools">
       <a class="ga-png" download="glyphs.png" href="${value.src}">Sheet (PNG)</a>
       <button class="ga-zip" type="button">All glyphs (ZIP)</button>
       <span class="ga-note"></span>
     </div>`
  : `<div class="ga-empty">Type characters and press Generate.</div>`}
</div>
"""

SHEET_CSS = """
.ga-sheet-img { max-width: 100%; height: auto; cursor: pointer; display: block; }
.ga-tools { display: flex; gap: 12px; align-items: center; margin-top: 8px; }
.ga-tools a, .ga-tools button { padding: 6px 14px; border-radius: 6px; border: 1px solid #ccc;
  background: #f4f4f5; color: #222; text-decoration: none; font-size: 14px; cursor: pointer; }
.ga-note { color: #b00; font-size: 13px; }
.ga-empty { color: #888; padding: 24px; }
"""

ATTENTION_HTML = """
<div class="ga-att">
${value && value.layers
  ? `<div class="ga-col">
       <div class="ga-title">${value.char} · ${value.seen ? 'seen in training' : 'unseen'}</div>
       <canvas class="ga-glyph ga-hover" width="256" height="256"></canvas>
       <div class="ga-point">query</div>
       <div class="ga-help">Move over any image to move the query point; click to pin it.</div>
       <table class="ga-table"><tr><th>layer</th><th>map</th><th>γ</th><th>‖γ·attend(x)‖ / ‖x‖</th></tr>
       ${value.layers.map(l => `<tr><td>${l.name}</td><td>${l.resolution}×${l.resolution}</td>
         <td>${l.gamma >= 0 ? '+' : ''}${l.gamma.toFixed(3)}</td><td>${l.contribution.toFixed(3)}</td></tr>`).join('')}
       </table>
       ${value.off.length ? `<div class="ga-help">Switched off: ${value.off.join(', ')}.</div>` : ''}
     </div>
     <div class="ga-col">
       <div class="ga-title">Where the query point looks, per layer</div>
       <div class="ga-row">${value.layers.map(l => `<figure><canvas class="ga-query ga-hover"
         data-layer="${l.name}" width="256" height="256"></canvas>
         <figcaption>${l.name} · γ=${l.gamma >= 0 ? '+' : ''}${l.gamma.toFixed(3)}</figcaption></figure>`).join('')
         || '<div class="ga-help">No attention layer is switched on.</div>'}</div>
       <div class="ga-title">Mean attention each position receives</div>
       <div class="ga-row">${value.layers.map(l => `<figure><canvas class="ga-received ga-hover"
         data-layer="${l.name}" width="256" height="256"></canvas>
         <figcaption>${l.name} · mean received</figcaption></figure>`).join('')}</div>
     </div>`
  : `<div class="ga-empty">Generate glyphs to see their attention.</div>`}
</div>
"""

ATTENTION_CSS = """
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
.ga-empty { color: #888; padding: 24px; }
"""
