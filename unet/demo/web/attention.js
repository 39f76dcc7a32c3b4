// The attention panel: every layer's map for the point under the mouse, computed here from the
// layer's q and k (fetched once per glyph), so moving the mouse sends no request at all.
// Runs as gr.HTML's js_on_load: `element`, `props`, `watch` and `server` come from Gradio. The
// component's value is a ticket naming the glyph; `server.attention_data(ticket)` returns the numbers.
const SHOW = 256;  // px of the glyph and of each map on screen
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

const view = {layers: [], size: 128, ink: null, pinned: null, hover: null, frame: 0, redraws: 0};

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

function mark(ctx, [x, y]) {
  const s = SHOW / view.size, cx = x * s, cy = y * s, rad = 6;
  ctx.strokeStyle = "rgb(255,40,40)";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.arc(cx, cy, rad, 0, 2 * Math.PI);
  for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
    ctx.moveTo(cx + dx * rad, cy + dy * rad);
    ctx.lineTo(cx + dx * 2 * rad, cy + dy * 2 * rad);
  }
  ctx.stroke();
}

function redraw() {
  view.frame = 0;
  const point = view.hover || view.pinned;
  for (const layer of view.layers) {
    const canvas = element.querySelector(`canvas.ga-query[data-layer="${layer.name}"]`);
    if (canvas) paint(canvas, queryMap(layer, point[0], point[1]), layer.resolution, point);
  }
  const glyph = element.querySelector("canvas.ga-glyph");
  if (glyph && view.glyph) {
    const ctx = glyph.getContext("2d");
    ctx.drawImage(view.glyph, 0, 0, SHOW, SHOW);
    mark(ctx, point);
  }
  const where = element.querySelector(".ga-point");
  if (where) where.textContent = `query (${point[0].toFixed(0)}, ${point[1].toFixed(0)})` +
    (view.hover ? "" : " · pinned");
  view.redraws += 1;
  element.dataset.redraws = String(view.redraws);
}

function schedule() {  // at most one redraw per animation frame, however fast the mouse moves
  if (!view.frame) view.frame = requestAnimationFrame(redraw);
}

function glyphPoint(event) {  // mouse position over any of the panel's canvases -> glyph pixels
  const box = event.target.getBoundingClientRect();
  const f = view.size / box.width;
  return [Math.min(view.size, Math.max(0, (event.clientX - box.left) * f)),
          Math.min(view.size, Math.max(0, (event.clientY - box.top) * (view.size / box.height)))];
}

const sign = g => (g >= 0 ? "+" : "") + g.toFixed(3);

function markup(v) {  // the panel for one glyph's payload (DemoService.attention_view)
  const figures = (kind, caption) => v.layers.map(l => `<figure><canvas class="${kind} ga-hover"
      data-layer="${l.name}" width="${SHOW}" height="${SHOW}"></canvas>
      <figcaption>${caption(l)}</figcaption></figure>`).join("");
  return `<div class="ga-col">
      <div class="ga-title">${v.char} · ${v.seen ? "seen in training" : "unseen"}</div>
      <canvas class="ga-glyph ga-hover" width="${SHOW}" height="${SHOW}"></canvas>
      <div class="ga-point">query</div>
      <div class="ga-help">Move over any image to move the query point; click to pin it.</div>
      <table class="ga-table"><tr><th>layer</th><th>map</th><th>γ</th><th>‖γ·attend(x)‖ / ‖x‖</th></tr>
      ${v.layers.map(l => `<tr><td>${l.name}</td><td>${l.resolution}×${l.resolution}</td>
        <td>${sign(l.gamma)}</td><td>${l.contribution.toFixed(3)}</td></tr>`).join("")}</table>
      ${v.off.length ? `<div class="ga-help">Switched off: ${v.off.join(", ")}.</div>` : ""}
    </div>
    <div class="ga-col">
      <div class="ga-title">Where the query point looks, per layer</div>
      <div class="ga-row">${figures("ga-query", l => `${l.name} · γ=${sign(l.gamma)}`)
        || '<div class="ga-help">No attention layer is switched on.</div>'}</div>
      <div class="ga-title">Mean attention each position receives</div>
      <div class="ga-row">${figures("ga-received", l => `${l.name} · mean received`)}</div>
    </div>`;
}

let wanted = 0;  // the newest ticket: an older answer arriving late is dropped

async function load() {
  const ticket = props.value, mine = ++wanted;
  view.layers = [];
  delete element.dataset.ready;
  if (!ticket) return;
  const v = await server.attention_data(ticket);
  if (mine !== wanted) return;
  const box = element.querySelector(".ga-att");
  if (v.error) { box.innerHTML = `<div class="ga-empty">${v.error}</div>`; return; }
  box.innerHTML = markup(v);
  view.size = v.size;
  view.pinned = view.pinned || [v.size / 2, v.size / 2];
  view.hover = null;
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

element.addEventListener("mousemove", e => {
  if (!e.target.matches("canvas.ga-hover") || !view.layers.length) return;
  view.hover = glyphPoint(e);
  schedule();
});
element.addEventListener("mouseout", e => {
  if (!e.target.matches("canvas.ga-hover")) return;
  view.hover = null;
  schedule();
});
element.addEventListener("click", e => {
  if (!e.target.matches("canvas.ga-hover") || !view.layers.length) return;
  view.pinned = glyphPoint(e);
  view.hover = null;
  schedule();
});

// for tests and curious users: the maps the panel would draw for glyph pixel (x, y)
element.glyphMaps = (x, y) => Object.fromEntries(view.layers.map(l => [l.name, Array.from(queryMap(l, x, y))]));
window.glyphAttention = element;
watch("value", load);
load();
