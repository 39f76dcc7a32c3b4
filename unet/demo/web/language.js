// The language switch: English, simplified or traditional Chinese. The page starts in the browser's
// language (Gradio's choice); a choice made here is remembered in this browser (localStorage).
// Gradio keeps its language in a store of its "core" module (the one its Settings panel changes):
// importing that already-loaded module gives the same instance, whose changeLocale switches every
// label at once. Runs as gr.HTML's js_on_load.
const SAVED = "ga-language";

async function gradioCore() {
  const urls = performance.getEntriesByType("resource").map(e => e.name)
    .concat([...document.querySelectorAll("script[src], link[href]")].map(e => e.src || e.href));
  const url = urls.find(u => /\/assets\/core-[\w-]+\.js(\?.*)?$/.test(u));
  if (!url) return null;
  try { const core = await import(url); return typeof core.changeLocale === "function" ? core : null; }
  catch (e) { return null; }
}

async function choose(code) {
  const core = await gradioCore();
  if (core) core.changeLocale(code);
  else document.documentElement.lang = code;  // at least the page's own views follow
}

function show() {
  for (const b of element.querySelectorAll("button[data-code]")) {
    b.setAttribute("aria-pressed", String(b.dataset.code === lang()));
  }
}

element.addEventListener("click", e => {
  const b = e.target.closest("button[data-code]");
  if (!b) return;
  try { localStorage.setItem(SAVED, b.dataset.code); } catch (err) { /* private mode: this page only */ }
  choose(b.dataset.code);
});
onLanguage(show);
show();
let saved = null;
try { saved = localStorage.getItem(SAVED); } catch (err) { saved = null; }
if (saved && saved !== lang()) choose(saved);
window.glyphLanguage = element;
window.glyphSay = t;  // the events' small scripts (app.py) say things in the page's language too
