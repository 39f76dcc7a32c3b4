// The font preview: fetches the font just made (a server function, so Gradio keeps no copy), offers
// it as a download and sets the preview text in it with an @font-face rule pointing at the very
// same bytes. Runs as gr.HTML's js_on_load: `element`, `props`, `watch` and `server` come from Gradio.
let wanted = 0, url = null;

function say() {
  translate(element);
  const v = props.value, family = element.querySelector(".ga-font-family");
  if (v && family) family.textContent = lang().startsWith("zh") && v.family_zh ? v.family_zh : v.family;
}

async function load() {
  say();
  const v = props.value, mine = ++wanted;
  if (!v || !v.token) return;
  const note = element.querySelector(".ga-font-note");
  const out = await server.font_data(v.token);
  if (mine !== wanted) return;  // a newer font arrived meanwhile
  if (out.error) { note.textContent = out.gone ? t("font.gone") : out.error; return; }
  const bytes = Uint8Array.from(atob(out.font), c => c.charCodeAt(0));
  if (url) URL.revokeObjectURL(url);
  url = URL.createObjectURL(new Blob([bytes], {type: v.filename.endsWith(".otf") ? "font/otf" : "font/ttf"}));
  const link = element.querySelector("a.ga-font-download");
  link.href = url;
  link.download = out.filename;
  link.hidden = false;
  const style = element.querySelector("style.ga-font-face") || element.appendChild(document.createElement("style"));
  style.className = "ga-font-face";
  style.textContent = `@font-face { font-family: "${v.css_family}"; src: url(${url}); }`;
  await document.fonts.load(`48px "${v.css_family}"`, v.chars.slice(0, 8));
  if (mine !== wanted) return;
  for (const set of element.querySelectorAll(".ga-font-set")) set.style.fontFamily = `"${v.css_family}", sans-serif`;
  element.dataset.fontReady = v.css_family;  // tests wait for this
}

watch("value", load);
onLanguage(say);
load();
window.glyphFont = element;
