// The sheet. Its glyphs are pixels: one PNG of cells without a word, inside the response
// (DemoService.sheet_view: rows x characters, wrapped every layout.per_row characters). Its words
// are text, in the page's language: each block of characters has the row names at its left and each
// character's code point and seen/unseen mark above it, then come the legend and the buttons. A
// block holds as many characters as fit the box (at least 60 px a glyph), so a phone gets narrow
// blocks and no horizontal scrolling; each block shows its slices of the PNG.
// Clicking a glyph picks it for the attention panel. The PNG download is drawn here (the glyphs and
// the same words, in the page's font and language); the ZIP is built by the server when asked for.
// Runs as gr.HTML's js_on_load: `element`, `props`, `trigger`, `server` and `watch` come from Gradio;
// `t` and `onLanguage` from i18n.js, which comes first.
const MIN_PITCH = 60;  // px of a glyph and its gap on screen, at least
const SAFE_NAME = /[\\/:*?"<>|\u0000-\u001f]/g;  // not in a file name

function make(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}
function place(e, left, top, width, height) {
  Object.assign(e.style, {left: `${left}px`, top: `${top}px`, width: `${width}px`, height: `${height}px`});
  return e;
}
const code = ch => "U+" + ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
const percent = w => `${Math.round(w * 100)}%`;

// [name, detail] of a sheet row, in the page's language (style and layer names stay as they are)
function rowWords(row) {
  if (row.kind === "source") return [t("sheet.row.source"), t("sheet.row.source.detail")];
  if (row.kind === "generated") {
    const mix = row.mix || [];
    return [t("sheet.row.generated"),
            mix.length === 1 ? mix[0].style : mix.map(m => `${m.style} ${percent(m.weight)}`).join(" + ")];
  }
  if (row.kind === "real") {
    return [t("sheet.row.real"), row.weight < 1 ? `${row.style} · ${percent(row.weight)}` : row.style];
  }
  if (row.kind === "delta") return [t("sheet.row.delta"), t("sheet.row.delta.off", {layers: row.off.join(", ")})];
  return [row.kind, ""];
}
const missingCells = v => new Set(v.rows.flatMap((row, r) => (row.missing || []).map(j => `${r}:${j}`)));
const fileName = v => `glyphs-${v.chars.slice(0, 8).join("").replace(SAFE_NAME, "")}.png`;

// how the box's width is used: the label column, characters per block, px per glyph (with its gap)
function fit(v) {
  const box = element.querySelector(".ga-sheet-box");
  const width = Math.max(200, (box && box.clientWidth) || element.clientWidth || 600);
  const labels = width < 560 ? 92 : 136, gap = 8;
  const room = width - labels - gap, native = v.layout.cell + v.layout.pad;
  const per = Math.max(1, Math.min(v.chars.length, Math.floor(room / MIN_PITCH)));
  const pitch = Math.max(40, Math.min(native, Math.floor(room / per)));
  return {labels, per, pitch, key: `${labels}/${per}/${pitch}`};
}

function legend(v) {
  const out = make("div", "ga-legend");
  const key = (...parts) => {
    const k = make("span", "ga-key");
    k.append(...parts);
    out.append(k);
  };
  if (v.seen.includes(false)) key(make("span", "ga-seen is-unseen", t("sheet.unseen")), t("sheet.legend.unseen"));
  if (v.seen.includes(true)) key(make("span", "ga-seen", t("sheet.seen")), t("sheet.legend.seen"));
  if (missingCells(v).size) key(make("span", "ga-missing", t("sheet.missing")), t("sheet.legend.missing"));
  if (v.rows.some(r => r.kind === "delta")) {
    const red = make("span", "ga-swatch"), blue = make("span", "ga-swatch");
    red.style.background = "#ff0000";
    blue.style.background = "#0000ff";
    key(make("b", null, "Δ"), red, t("sheet.legend.delta.red"), blue, t("sheet.legend.delta.blue"));
  }
  key(t("sheet.legend.pick"));
  return out;
}

let shown = null;  // [value, fit key, language] of what is on screen
function render(force) {
  const v = props.value, box = element.querySelector(".ga-sheet-box");
  if (!box) return;
  if (!v || !v.src || !v.layout || !v.rows) {
    if (shown !== null || force || !box.firstChild) {
      box.replaceChildren(make("div", "ga-empty", t("sheet.empty")));
    }
    shown = null;
    return;
  }
  const f = fit(v);
  if (!force && shown && shown[0] === v && shown[1] === f.key && shown[2] === lang()) return;
  shown = [v, f.key, lang()];
  const L = v.layout, P = L.per_row, R = v.rows.length, n = v.chars.length;
  const native = L.cell + L.pad, s = f.pitch / native, missing = missingCells(v);
  const generated = v.rows.findIndex(r => r.kind === "generated");
  const blocks = [];
  for (let start = 0; start < n; start += f.per) {
    const end = Math.min(n, start + f.per), cols = end - start;
    const block = make("section", "ga-block");
    block.style.gridTemplateColumns = `${f.labels}px ${cols * f.pitch}px`;
    const heads = make("div", "ga-heads");
    heads.style.gridTemplateColumns = `repeat(${cols}, ${f.pitch}px)`;
    for (let j = start; j < end; j++) {
      const head = make("div", "ga-head");
      head.append(make("span", "ga-code", code(v.chars[j])),
                  make("span", v.seen[j] ? "ga-seen" : "ga-seen is-unseen", t(v.seen[j] ? "sheet.seen" : "sheet.unseen")));
      heads.append(head);
    }
    const labels = make("div", "ga-labels");
    labels.style.gridTemplateRows = `repeat(${R}, ${f.pitch}px)`;
    for (const row of v.rows) {
      const [name, detail] = rowWords(row), label = make("div", "ga-label");
      label.dataset.kind = row.kind;
      label.append(make("span", "ga-row-name", name));
      if (detail) label.append(make("span", "ga-row-detail", detail));
      labels.append(label);
    }
    const glyphs = make("div", "ga-glyphs");
    Object.assign(glyphs.style, {width: `${cols * f.pitch}px`, height: `${R * f.pitch}px`});
    // the slices of the PNG: one per stretch of characters that lies in one of its blocks
    for (let j = start; j < end;) {
      const b = Math.floor(j / P), stop = Math.min(end, (b + 1) * P);
      const run = place(make("div", "ga-run"), (j - start) * f.pitch, 0, (stop - j) * f.pitch, R * f.pitch);
      const img = make("img", blocks.length === 0 && j === 0 ? "ga-cells ga-sheet-img" : "ga-cells");
      img.src = v.src;
      img.width = v.width;
      img.height = v.height;
      img.alt = j === 0 ? t("sheet.alt", {chars: v.chars.join("")}) : "";
      img.title = t("sheet.legend.pick");
      img.draggable = false;
      place(img, -(j % P) * f.pitch, -b * R * f.pitch, v.width * s, v.height * s);
      run.append(img);
      glyphs.append(run);
      j = stop;
    }
    for (let r = 0; r < R; r++) {
      for (let j = start; j < end; j++) {
        if (missing.has(`${r}:${j}`)) {
          glyphs.append(place(make("div", "ga-missing", t("sheet.missing")),
                              (j - start) * f.pitch, r * f.pitch, f.pitch - f.pitch * L.pad / native,
                              f.pitch - f.pitch * L.pad / native));
        }
      }
    }
    if (generated >= 0) {
      for (let j = start; j < end; j++) {
        const pick = place(make("button", "ga-pick"), (j - start) * f.pitch, generated * f.pitch, f.pitch, f.pitch);
        pick.type = "button";
        pick.dataset.index = j;
        pick.setAttribute("aria-label", t("sheet.pick", {char: v.chars[j], code: code(v.chars[j])}));
        glyphs.append(pick);
      }
    }
    block.append(make("div", "ga-corner"), heads, labels, glyphs);
    blocks.push(block);
  }
  const tools = make("div", "ga-tools");
  const png = make("button", "ga-png ga-button", t("sheet.png")), zip = make("button", "ga-zip ga-button", t("sheet.zip"));
  png.type = zip.type = "button";
  const note = make("span", "ga-note");
  note.setAttribute("role", "status");
  tools.append(png, zip, note);
  box.replaceChildren(...blocks, legend(v), tools);
}

// --- the PNG download: the glyphs and the words, drawn in the page's font -------------------------
function lines(ctx, text, width) {
  // text broken into lines that fit: at spaces, or between any two characters of Chinese
  const out = [];
  let line = "";
  for (const piece of text.match(/[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]|\S+\s*|\s+/g) || []) {
    if (line && ctx.measureText(line + piece.trimEnd()).width > width) {
      out.push(line.trimEnd());
      line = piece.trimStart();
    } else {
      line += piece;
    }
  }
  if (line.trim()) out.push(line.trimEnd());
  return out;
}

async function drawSheet(v) {
  const img = new Image();
  img.src = v.src;
  await img.decode();
  const L = v.layout, P = L.per_row, R = v.rows.length, n = v.chars.length, native = L.cell + L.pad;
  const style = getComputedStyle(element), family = style.fontFamily || "sans-serif";
  const font = (size, weight = 400) => `${weight} ${size}px ${family}`;
  const drawn = [];  // every text drawn (for tests: each character must be in some font)
  const canvas = document.createElement("canvas"), ctx = canvas.getContext("2d");
  const margin = 20, headH = 44, gap = 22, cols = Math.min(P, n), blocks = Math.ceil(n / P);
  const words = v.rows.map(rowWords);
  let labelW = 120;
  for (const [name, detail] of words) {
    ctx.font = font(16, 600);
    labelW = Math.max(labelW, ctx.measureText(name).width + 16);
    ctx.font = font(14);
    labelW = Math.max(labelW, ctx.measureText(detail).width + 16);
  }
  labelW = Math.ceil(Math.min(labelW, 300));
  const width = Math.max(margin * 2 + labelW + cols * native, 420), textW = width - margin * 2;
  const missing = missingCells(v);
  // the legend: [swatch colour or null, text], one item a line (or more: wrapped)
  const legendItems = [];
  if (v.seen.includes(false)) legendItems.push([null, t("sheet.legend.item", {mark: t("sheet.unseen"), text: t("sheet.legend.unseen")})]);
  if (v.seen.includes(true)) legendItems.push([null, t("sheet.legend.item", {mark: t("sheet.seen"), text: t("sheet.legend.seen")})]);
  if (missing.size) legendItems.push([null, t("sheet.legend.item", {mark: t("sheet.missing"), text: t("sheet.legend.missing")})]);
  if (v.rows.some(r => r.kind === "delta")) {
    legendItems.push(["#ff0000", `Δ ${t("sheet.legend.delta.red")}`], ["#0000ff", `Δ ${t("sheet.legend.delta.blue")}`]);
  }
  ctx.font = font(14);
  const legendLines = legendItems.map(([swatch, s]) => [swatch, lines(ctx, s, textW - 24)]);
  const legendH = legendLines.reduce((h, [, ls]) => h + ls.length * 20 + 4, 0);
  canvas.width = width;
  canvas.height = margin + blocks * (headH + R * native + gap) + legendH + margin;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const text = (s, x, y, size, colour, weight = 400, align = "left") => {
    ctx.font = font(size, weight);
    ctx.fillStyle = colour;
    ctx.textAlign = align;
    ctx.textBaseline = "middle";
    ctx.fillText(s, x, y);
    drawn.push(s);
  };
  let y = margin;
  for (let b = 0; b < blocks; b++) {
    const start = b * P, end = Math.min(n, start + P), x0 = margin + labelW;
    for (let j = start; j < end; j++) {
      const cx = x0 + (j - start) * native + L.cell / 2;
      text(code(v.chars[j]), cx, y + 12, 13, "#3f4750", 400, "center");
      text(t(v.seen[j] ? "sheet.seen" : "sheet.unseen"), cx, y + 31, 13, v.seen[j] ? "#3f4750" : "#05662f",
           v.seen[j] ? 400 : 700, "center");
    }
    y += headH;
    ctx.drawImage(img, 0, b * L.block_height, (end - start) * native, R * native, x0, y, (end - start) * native, R * native);
    ctx.strokeStyle = "#d0d7de";
    ctx.lineWidth = 1;
    ctx.strokeRect(x0 - 0.5, y - 0.5, (end - start) * native + 1, R * native + 1);
    words.forEach(([name, detail], r) => {
      const cy = y + r * native + native / 2;
      ctx.font = font(14);
      const sub = detail ? lines(ctx, detail, labelW - 12).slice(0, 3) : [];
      const top = cy - (sub.length * 18) / 2;
      text(name, margin, top, 16, "#1f2328", 600);
      sub.forEach((s, k) => text(s, margin, top + 19 + k * 18, 14, "#3f4750"));
      for (let j = start; j < end; j++) {
        if (!missing.has(`${r}:${j}`)) continue;
        const x = x0 + (j - start) * native, yy = y + r * native;
        ctx.setLineDash([6, 4]);
        ctx.strokeStyle = "#6b7280";
        ctx.lineWidth = 2;
        ctx.strokeRect(x + 1, yy + 1, L.cell - 2, L.cell - 2);
        ctx.setLineDash([]);
        ctx.font = font(13);
        const ls = lines(ctx, t("sheet.missing"), L.cell - 12);
        ls.forEach((s, k) => text(s, x + L.cell / 2, yy + L.cell / 2 + (k - (ls.length - 1) / 2) * 17, 13,
                                  "#3f4750", 400, "center"));
      }
    });
    y += R * native + gap;
  }
  for (const [swatch, ls] of legendLines) {
    if (swatch) {
      ctx.fillStyle = swatch;
      ctx.fillRect(margin, y + 3, 14, 14);
    }
    ls.forEach(s => { text(s, margin + (swatch ? 22 : 0), y + 10, 14, "#1f2328"); y += 20; });
    y += 4;
  }
  element.sheetDownload = {name: fileName(v), text: drawn, font: family, width: canvas.width, height: canvas.height};
  return canvas;
}

async function downloadPng(button) {
  const v = props.value;
  button.disabled = true;
  try {
    const canvas = await drawSheet(v);
    const blob = await new Promise(done => canvas.toBlob(done, "image/png"));
    if (!blob) throw new Error("canvas.toBlob");
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = fileName(v);
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (err) {
    element.querySelector(".ga-note").textContent = t("sheet.png.failed", {error: String(err.message || err)});
  } finally {
    button.disabled = false;
  }
}

async function downloadZip(button) {
  button.disabled = true;
  try {
    const out = await server.glyph_zip(props.value.request);
    if (out.error) throw new Error(out.error);
    const bytes = Uint8Array.from(atob(out.zip), c => c.charCodeAt(0));
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([bytes], {type: "application/zip"}));
    a.download = out.name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (err) {
    element.querySelector(".ga-note").textContent = String(err.message || err);
  } finally {
    button.disabled = false;
  }
}

element.addEventListener("click", e => {
  const v = props.value;
  if (!v || !v.layout) return;
  const target = e.target;
  if (target.matches("button.ga-png")) return void downloadPng(target);
  if (target.matches("button.ga-zip")) return void downloadZip(target);
  if (target.matches("button.ga-pick")) return void trigger("select", {index: Number(target.dataset.index)});
  if (!target.matches("img.ga-cells")) return;
  // where in the PNG the click fell: its block and column name the character (any row of it)
  const L = v.layout, box = target.getBoundingClientRect(), native = L.cell + L.pad;
  const x = (e.clientX - box.left) * v.width / box.width, y = (e.clientY - box.top) * v.height / box.height;
  const col = Math.floor(x / native), block = Math.floor(y / L.block_height);
  const index = block * L.per_row + col;
  if (col >= 0 && col < L.per_row && index >= 0 && index < v.chars.length) trigger("select", {index: index});
});
watch("value", () => render(false));
onLanguage(() => render(true));
new ResizeObserver(() => render(false)).observe(element);
render(true);
// for tests and curious users: what the sheet shows (chars, rows, layout, request)
element.sheetView = () => props.value;
window.glyphSheet = element;
