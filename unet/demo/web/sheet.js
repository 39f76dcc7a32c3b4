// The sheet: one PNG (source / generated / real rows) that arrived inside the response. Clicking a
// glyph picks it for the attention panel; the ZIP is built by the server only when asked for.
// Runs as gr.HTML's js_on_load: `element`, `props`, `trigger` and `server` come from Gradio.
element.addEventListener("click", async e => {
  const v = props.value;
  if (!v || !v.layout) return;
  if (e.target.matches("button.ga-zip")) {
    e.target.disabled = true;
    try {
      const out = await server.glyph_zip(v.request);
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
      e.target.disabled = false;
    }
    return;
  }
  if (!e.target.matches("img.ga-sheet-img")) return;
  const L = v.layout, box = e.target.getBoundingClientRect();
  const x = (e.clientX - box.left) * v.width / box.width, y = (e.clientY - box.top) * v.height / box.height;
  const col = Math.floor((x - L.label_width) / (L.cell + L.pad)), block = Math.floor(y / L.block_height);
  const index = block * L.per_row + col;
  if (x >= L.label_width && col < L.per_row && index >= 0 && index < v.chars.length) {
    trigger("select", {index: index});
  }
});
// for tests and curious users: what the sheet shows (chars, layout, request)
element.sheetView = () => props.value;
window.glyphSheet = element;
