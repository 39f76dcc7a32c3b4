// The page's words (unet/demo/web/strings/*.json), put in front of every view's script by
// unet/demo/i18n.py. The language is Gradio's (it keeps it in <html lang>: the browser's, or the one
// picked in Settings); it is copied into the ga_lang cookie so that the server's messages follow.
const STRINGS = __STRINGS__;
function lang() {
  const tag = (document.documentElement.lang || navigator.language || "en").toLowerCase();
  if (tag.startsWith("zh")) return /^zh-(tw|hk|mo|hant)/.test(tag) ? "zh-TW" : "zh-CN";
  return "en";
}
function t(key, params) {
  const entry = STRINGS[key];
  if (!entry) return key;
  const text = entry[lang()] ?? entry.en;
  return text.replace(/\{(\w+)\}/g, (m, name) => (params && name in params ? String(params[name]) : m));
}
function translate(root) {
  for (const el of root.querySelectorAll("[data-t]")) {
    let params = null;
    try { params = el.dataset.p ? JSON.parse(el.dataset.p) : null; } catch (e) { params = null; }
    const words = t(el.dataset.t, params);
    if (el.dataset.tAttr) el.setAttribute(el.dataset.tAttr, words); else el.textContent = words;
  }
}
function rememberLanguage() {
  document.cookie = `ga_lang=${lang()}; path=/; max-age=31536000; SameSite=Lax`;
}
function onLanguage(fn) {
  new MutationObserver(() => { rememberLanguage(); fn(); })
    .observe(document.documentElement, {attributes: true, attributeFilter: ["lang"]});
}
rememberLanguage();
