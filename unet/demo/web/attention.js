// The attention panel: every layer's map for the query point, computed here from the layer's q and k
// (fetched once per glyph), so moving the point sends no request at all.
// Runs as gr.HTML's js_on_load, after the i18n prelude (t, translate, onLanguage): `element`, `props`,
// `watch` and `server` come from Gradio. The component's value is a ticket naming the glyph;
// `server.attention_data(ticket)` returns the numbers.
//
// The query point moves with the mouse, a finger or pen dragged over a picture (Pointer Events; the
// pictures are `touch-action: none`, so the page does not scroll under the finger) and the arrow keys
// on a focused picture (1 px of the glyph, 8 px with Shift). A click, a tap, Enter or Space pins it
// (the mouse no longer moves it) and releases it again.
const SHOW = 256;  // px of each canvas (CSS may draw it smaller on a narrow screen)
const SLOP = 6;    // CSS px a finger may wander and still make a tap rather than a drag
const NEAR = 8;    // glyph px: a click this close to the pinned point releases it
const VIRIDIS = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
                 [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]];

function decode(b64) {  // base64 of little-endian float32 -> Float32Array
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

function viridis(v) {  // v in [0, 1] -> [r, g, b], linear between 9 stops (as unet.engine.visualize)
  const x = Math.min(1, Math.max(0, v)) * (VIRIDIS.length - 1);
  const lo = Math.min(VIRIDIS.length - 2, Math.floor(x)), f = x - lo;
  return VIRIDIS[lo].map((c, i) => c * (1 - f) + VIRIDIS[lo + 1][i] * f);
}

const esc = s => String(s).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
                                                      '"': "&quot;", "'": "&#39;"}[c]));

// A translated element: its words now, and data-t/data-p so that translate(element) redoes them.
function said(tag, key, params, attrs = "") {
  const p = params ? ` data-p="${esc(JSON.stringify(params))}"` : "";
  return `<${tag} ${attrs} data-t="${key}"${p}>${esc(t(key, params))}</${tag}>`;
}
function label(key, params) {  // a translated aria-label
  return `data-t="${key}" data-t-attr="aria-label" data-p="${esc(JSON.stringify(params))}"` +
    ` aria-label="${esc(t(key, params))}"`;
}

const view = {layers: [], size: 128, ink: null, glyph: null, point: [64, 64], pinned: false,
              frame: 0, redraws: 0, announce: false};

// softmax over keys of q_i . k_j for the query cell under glyph pixel (x, y): the same cell choice
// and the same maths as LayerCapture.query_map on the server.
function queryMap(layer, x, y) {
  const r = layer.resolution, d = layer.d, n = r * r;
  const col = Math.min(r - 1, Math.max(0, Math.floor(x * r / view.size)));
  const row = Math.min(r - 1, Math.max(0, Math.floor(y * r / view.size)));
  const qi = (row * r + col) * d;
  const logits = new Float64Array(n);
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let c = 0; c < d; c++) s += layer.q[qi + c] * layer.k[j * d + c];
    logits[j] = s;
    if (s > max) max = s;
  }
  let sum = 0;
  for (let j = 0; j < n; j++) { logits[j] = Math.exp(logits[j] - max); sum += logits[j]; }
  for (let j = 0; j < n; j++) logits[j] /= sum;
  return logits;
}

// Heatmap over the glyph, as unet.engine.visualize.heatmap_overlay: colour = (a / max) ** 0.5, blended
// at 0.65 over the glyph, ink darkened so the strokes stay readable; the query point is marked.
function paint(canvas, map, r, point) {
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(SHOW, SHOW);
  let peak = 0;
  for (const v of map) if (v > peak) peak = v;
  const colours = Array.from(map, v => viridis(Math.sqrt(peak > 0 ? v / peak : 0)));
  for (let py = 0; py < SHOW; py++) {
    const cy = Math.floor(py * r / SHOW);
    for (let px = 0; px < SHOW; px++) {
      const p = py * SHOW + px, heat = colours[cy * r + Math.floor(px * r / SHOW)];
      const g = view.ink ? view.ink[p] : 255, m = (255 - g) / 255 * 0.55;
      for (let c = 0; c < 3; c++) img.data[4 * p + c] = 20 * m + (g * 0.35 + heat[c] * 0.65) * (1 - m);
      img.data[4 * p + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  if (point) mark(ctx, point);
}

function mark(ctx, [x, y]) {  // the query point: a red ring with four ticks, on a white halo
  const s = SHOW / view.size, cx = x * s, cy = y * s, rad = 6;
  const path = () => {
    ctx.beginPath();
    ctx.arc(cx, cy, rad, 0, 2 * Math.PI);
    for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
      ctx.moveTo(cx + dx * rad, cy + dy * rad);
      ctx.lineTo(cx + dx * 2 * rad, cy + dy * 2 * rad);
    }
  };
  ctx.strokeStyle = "rgba(255,255,255,0.85)";
  ctx.lineWidth = 4;
  path();
  ctx.stroke();
  ctx.strokeStyle = view.pinned ? "rgb(200,0,0)" : "rgb(255,40,40)";
  ctx.lineWidth = 2;
  path();
  ctx.stroke();
  if (view.pinned) { ctx.fillStyle = "rgb(200,0,0)"; ctx.fillRect(cx - 2, cy - 2, 4, 4); }
}

const whole = v => v.toFixed(0);

function pointWords() {
  const [x, y] = view.point;
  return t(view.pinned ? "attention.point.pinned" : "attention.point",
           {x: whole(x), y: whole(y), size: view.size});
}

function redraw() {
  view.frame = 0;
  const point = view.point;
  for (const layer of view.layers) {
    const canvas = element.querySelector(`canvas.ga-query[data-layer="${layer.name}"]`);
    if (canvas) paint(canvas, queryMap(layer, point[0], point[1]), layer.resolution, point);
  }
  const glyph = element.querySelector("canvas.ga-glyph");
  if (glyph && view.glyph) {
    const ctx = glyph.getContext("2d");
    ctx.drawImage(view.glyph, 0, 0, SHOW, SHOW);
    if (view.layers.length) mark(ctx, point);
  }
  const where = element.querySelector(".ga-point");
  if (where) where.textContent = pointWords();
  if (view.announce) {  // said aloud to a screen reader after a key, not on every mouse move
    const live = element.querySelector(".ga-live");
    if (live) live.textContent = pointWords();
    view.announce = false;
  }
  const panel = element.querySelector(".ga-panel");
  if (panel) panel.classList.toggle("ga-is-pinned", view.pinned);
  element.dataset.point = `${whole(point[0])},${whole(point[1])}`;
  element.dataset.pinned = view.pinned ? "1" : "0";
  view.redraws += 1;
  element.dataset.redraws = String(view.redraws);
}

function schedule() {  // at most one redraw per animation frame, however fast the pointer moves
  if (!view.frame) view.frame = requestAnimationFrame(redraw);
}

function glyphPoint(event, canvas) {  // a pointer over one of the panel's canvases -> glyph pixels
  const c = canvas || event.target, box = c.getBoundingClientRect();  // the picture: inside the border
  const x = event.clientX - box.left - c.clientLeft, y = event.clientY - box.top - c.clientTop;
  return [Math.min(view.size, Math.max(0, x * (view.size / (c.clientWidth || box.width)))),
          Math.min(view.size, Math.max(0, y * (view.size / (c.clientHeight || box.height))))];
}

const sign = g => (g >= 0 ? "+" : "") + g.toFixed(3);

function offMarkup(v) {  // every attention layer switched off: say so, and how to switch one on
  return `${said("p", v.seen ? "attention.title.seen" : "attention.title.unseen", {char: v.char}, 'class="ga-title"')}
    <div class="ga-off">
      <canvas class="ga-glyph" width="${SHOW}" height="${SHOW}" role="img"
        ${label("attention.aria.glyph.off", {char: v.char})}></canvas>
      <div class="ga-off-words" role="status">
        ${said("p", "attention.off.all.title", null, 'class="ga-off-title"')}
        ${said("p", "attention.off.all.body", null, 'class="ga-text"')}
        ${said("p", "attention.off.all.how", null, 'class="ga-text"')}
      </div>
    </div>`;
}

function markup(v) {  // the panel for one glyph's payload (DemoService.attention_view)
  const figures = (kind, focusable, aria, caption) => v.layers.map(l => `<figure class="ga-fig">
      <canvas class="${kind} ga-hover" data-layer="${esc(l.name)}" width="${SHOW}" height="${SHOW}"
        ${focusable ? 'tabindex="0" role="application"' : 'role="img"'}
        ${label(aria, {layer: l.name, char: v.char})}></canvas>
      <figcaption>${caption(l)}</figcaption></figure>`).join("");
  const cell = l => (v.size / l.resolution).toFixed(0);
  const rows = v.layers.map(l => `<tr><th scope="row">${esc(l.name)}</th>
      ${said("td", "attention.cell.map", {r: l.resolution, cell: cell(l)})}
      ${said("td", l.gamma < 0 ? "attention.cell.subtracts" : "attention.cell.adds", {gamma: sign(l.gamma)})}
      <td>${l.contribution.toFixed(3)}</td></tr>`).join("");
  const legend = key => `<div>${said("dt", `attention.legend.${key}.term`)}
      ${said("dd", `attention.legend.${key}`)}</div>`;
  return `${said("p", v.seen ? "attention.title.seen" : "attention.title.unseen", {char: v.char}, 'class="ga-title"')}
    <div class="ga-grid">
      <div class="ga-side">
        <figure class="ga-fig">
          <canvas class="ga-glyph ga-hover" width="${SHOW}" height="${SHOW}" tabindex="0"
            role="application" ${label("attention.aria.glyph", {char: v.char})}></canvas>
          ${said("figcaption", "attention.glyph.caption")}
        </figure>
        <p class="ga-point"></p>
        <p class="ga-live" role="status" aria-live="polite"></p>
      </div>
      <div class="ga-qhead">
        ${said("h4", "attention.query.title", null, 'class="ga-h"')}
        ${said("p", "attention.query.legend", null, 'class="ga-text"')}
      </div>
      <div class="ga-row ga-qmaps">${figures("ga-query", true, "attention.aria.query",
        l => `${esc(l.name)} · γ = ${sign(l.gamma)}`)}</div>
      <div class="ga-help">
        ${said("p", "attention.help.pointer", null, 'class="ga-text"')}
        ${said("p", "attention.help.keys", null, 'class="ga-text"')}
      </div>
      <div class="ga-rgroup">
        ${said("h4", "attention.received.title", null, 'class="ga-h"')}
        ${said("p", "attention.received.legend", null, 'class="ga-text"')}
        <div class="ga-row ga-rmaps">${figures("ga-received", false, "attention.aria.received",
          l => esc(l.name))}</div>
      </div>
      <div class="ga-layers">
        ${said("h4", "attention.layers.title", null, 'class="ga-h"')}
        <div class="ga-scroll"><table class="ga-table">
          <thead><tr>${said("th", "attention.col.layer", null, 'scope="col"')}
            ${said("th", "attention.col.map", null, 'scope="col"')}
            ${said("th", "attention.col.gamma", null, 'scope="col"')}
            ${said("th", "attention.col.ratio", null, 'scope="col"')}</tr></thead>
          <tbody>${rows}</tbody></table></div>
        <dl class="ga-legend">${["map", "gamma", "ratio"].map(legend).join("")}</dl>
        ${v.off.length ? said("p", "attention.off.some", {names: v.off.join(", ")}, 'class="ga-text ga-off-some"') : ""}
      </div>
    </div>`;
}

let wanted = 0;  // the newest ticket: an older answer arriving late is dropped

async function load() {
  const ticket = props.value, mine = ++wanted;
  view.layers = [];
  view.glyph = null;
  delete element.dataset.ready;
  const waiting = element.querySelector(".ga-empty[data-t]");
  if (waiting && ticket) waiting.dataset.p = JSON.stringify({char: ticket.char ?? ""});
  translate(element);
  if (!ticket) return;
  const v = await server.attention_data(ticket);
  if (mine !== wanted) return;
  const box = element.querySelector(".ga-att");
  if (v.error) { box.innerHTML = `<div class="ga-empty">${esc(v.error)}</div>`; return; }
  box.innerHTML = `<div class="ga-panel${v.layers.length ? "" : " ga-all-off"}">` +
    (v.layers.length ? markup(v) : offMarkup(v)) + "</div>";
  if (v.size !== view.size) view.point = [v.size / 2, v.size / 2];
  view.size = v.size;
  view.layers = v.layers.map(l => ({...l, q: decode(l.q), k: decode(l.k),
                                    received: decode(l.received)}));
  const glyph = new Image();
  glyph.onload = () => {
    if (mine !== wanted) return;
    const off = document.createElement("canvas");
    off.width = off.height = SHOW;
    const ctx = off.getContext("2d");
    ctx.drawImage(glyph, 0, 0, SHOW, SHOW);
    const px = ctx.getImageData(0, 0, SHOW, SHOW).data;
    view.ink = new Uint8ClampedArray(SHOW * SHOW).map((_, i) => px[4 * i]);
    view.glyph = glyph;
    for (const layer of view.layers) {
      const canvas = element.querySelector(`canvas.ga-received[data-layer="${layer.name}"]`);
      if (canvas) paint(canvas, layer.received, layer.resolution, null);
    }
    redraw();
    element.dataset.ready = v.char + ":" + v.layers.map(l => l.name).join(",");
  };
  glyph.src = v.glyph;
}

let tapped = -Infinity;  // when a finger last tapped (performance.now())
const live = e => e.target instanceof Element && e.target.matches("canvas.ga-hover") && view.layers.length;
const move = p => { view.point = p; schedule(); };

// the mouse (and synthetic MouseEvents, as benchmarks/live_loop.py sends): the point follows it
// unless it is pinned
element.addEventListener("mousemove", e => {  // (not the one a browser sends after a tap)
  if (live(e) && !view.pinned && performance.now() - tapped >= 800) move(glyphPoint(e));
});

// a click or a tap pins the point there; on the pinned point, it releases it
function pin(p) {
  if (view.pinned && Math.hypot(p[0] - view.point[0], p[1] - view.point[1]) <= NEAR) {
    view.pinned = false;
  } else {
    view.point = p;
    view.pinned = true;
  }
  schedule();
}

// a finger or a pen: the point follows a drag (pinned or not) from the canvas it started on; one
// that lifts where it landed is a tap, taken here rather than from the browser's click, which may
// never come (a tap that stops what the browser thinks is a fling) or come as a MouseEvent (Safari)
let drag = null;
element.addEventListener("pointerdown", e => {
  if (e.pointerType === "mouse" || !live(e)) return;
  drag = {id: e.pointerId, canvas: e.target, x: e.clientX, y: e.clientY, moved: false};
  try { e.target.setPointerCapture(e.pointerId); } catch (err) { /* a synthetic pointer */ }
});
element.addEventListener("pointermove", e => {
  if (!drag || e.pointerId !== drag.id || !view.layers.length) return;
  if (!drag.moved && Math.hypot(e.clientX - drag.x, e.clientY - drag.y) < SLOP) return;
  drag.moved = true;
  e.preventDefault();
  move(glyphPoint(e, drag.canvas));
});
element.addEventListener("pointerup", e => {
  if (!drag || e.pointerId !== drag.id) return;
  if (!drag.moved && view.layers.length) {
    tapped = performance.now();
    pin(glyphPoint(e, drag.canvas));
  }
  drag = null;
});
element.addEventListener("pointercancel", e => { if (drag && e.pointerId === drag.id) drag = null; });

element.addEventListener("click", e => {  // the mouse's; a finger's click was its tap
  if (!live(e) || e.pointerType === "touch" || e.pointerType === "pen" || performance.now() - tapped < 800) return;
  pin(glyphPoint(e));
});

// the keyboard, on a focused picture: arrows move the point 1 px (Shift: 8), Enter or Space pins it
const ARROWS = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1]};
element.addEventListener("keydown", e => {
  if (!live(e) || e.altKey || e.ctrlKey || e.metaKey) return;
  if (e.key in ARROWS) {
    const step = e.shiftKey ? 8 : 1, [dx, dy] = ARROWS[e.key], top = view.size - 1;
    const [x, y] = view.point;
    view.point = [Math.min(top, Math.max(0, Math.round(x) + dx * step)),
                  Math.min(top, Math.max(0, Math.round(y) + dy * step))];
  } else if (e.key === "Enter" || e.key === " ") {
    if (!e.repeat) view.pinned = !view.pinned;
  } else {
    return;
  }
  e.preventDefault();  // no page scroll
  view.announce = true;
  schedule();
});

onLanguage(() => {  // the page's language changed: every word again, in it
  translate(element);
  if (view.glyph) redraw();
});

// for tests and curious users: the maps the panel would draw for glyph pixel (x, y), and the point
element.glyphMaps = (x, y) => Object.fromEntries(view.layers.map(l => [l.name, Array.from(queryMap(l, x, y))]));
element.queryPoint = () => ({x: view.point[0], y: view.point[1], pinned: view.pinned});
window.glyphAttention = element;
watch("value", load);
load();
