"""Table 7: the live loop as a visitor sees it, in a real browser (Playwright + Debian's chromium)
against ``python app.py``: Generate and a layer toggle timed until the new sheet is painted, the
attention map's redraw rate while the mouse moves (and the requests it sends), several browsers
opening the page at once, and the server's memory after hundreds of sessions."""

from __future__ import annotations

import time
from pathlib import Path

from unet import Stylizer

from . import measure as m
from .gradio_api import api_args
from .stylizer import TextPool, bare_forward

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAINTED = """old => {
    const i = document.querySelector('#sheet img.ga-sheet-img');
    return i && i.complete && i.naturalWidth > 0 && i.src !== old;
}"""
SHEET_SRC = "() => { const i = document.querySelector('#sheet img.ga-sheet-img'); return i ? i.src : null; }"
MOVE_FOR_A_SECOND = """async () => {
    const canvas = document.querySelector('#attention canvas.ga-query');
    const box = canvas.getBoundingClientRect(), el = window.glyphAttention;
    const start = Number(el.dataset.redraws), t0 = performance.now();
    let i = 0;
    while (performance.now() - t0 < 1000) {
        canvas.dispatchEvent(new MouseEvent('mousemove', {bubbles: true,
            clientX: box.left + 10 + (i * 7) % 230, clientY: box.top + 10 + (i * 5) % 230}));
        i++;
        await new Promise(r => requestAnimationFrame(() => r()));
    }
    return {redraws: Number(el.dataset.redraws) - start, seconds: (performance.now() - t0) / 1000};
}"""


def _page(browser, url):
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(60_000)
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith((url.rstrip("/"), "data:"))
               else r.abort())
    return page


def pick(page, elem_id: str, option: str) -> None:
    """Choose ``option`` in a Gradio dropdown, as a visitor does (open it, click the option). The
    option is looked for inside that dropdown: a dropdown just closed keeps its list in the DOM for
    a moment (Gradio's closing transition), so a page-wide search may find two."""
    page.locator(f"{elem_id} input").click()
    page.locator(elem_id).get_by_role("option", name=option, exact=True).click()


def _until_painted(page, action) -> float:
    old = page.evaluate(SHEET_SRC)
    t = time.perf_counter()
    action()
    page.wait_for_function(PAINTED, arg=old, polling="raf")
    return time.perf_counter() - t


def browser_rows(url: str, st: Stylizer, rounds: int, pool: TextPool) -> dict:
    from playwright.sync_api import sync_playwright

    out = {"generate": [], "toggle": [], "style": [], "rate": None, "requests_per_move": None, "broken": 0,
           "pages": 0}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = _page(browser, url)
            page.goto(url)
            page.wait_for_function(PAINTED, arg=None)
            box, first = page.locator("#text textarea"), page.locator("#layers input[type=checkbox]").first
            for _ in range(rounds):
                box.fill(pool.take())
                out["generate"].append(_until_painted(page, lambda: page.locator("#generate").click()))
                page.wait_for_timeout(1000)  # a visitor looks at the glyphs before toggling
                out["toggle"].append(_until_painted(page, first.uncheck))
                _until_painted(page, first.check)  # back to every layer on (not timed)
                page.wait_for_timeout(1000)
                # a live style change (no Generate): the next style, then back (not timed)
                out["style"].append(_until_painted(page, lambda: pick(page, "#style", st.styles[1])))
                _until_painted(page, lambda: pick(page, "#style", st.styles[0]))
            page.wait_for_function("() => window.glyphAttention && window.glyphAttention.dataset.ready")
            page.locator("#attention canvas.ga-query").first.scroll_into_view_if_needed()
            requests = []
            page.on("request", lambda r: requests.append(r.url))
            rate = page.evaluate(MOVE_FOR_A_SECOND)
            out["rate"], out["requests_per_move"] = rate["redraws"] / rate["seconds"], len(requests)
            page.context.close()
            for _ in range(5 if rounds > 2 else 1):  # 8 browsers opening the page at once
                pages = [_page(browser, url) for _ in range(8)]
                for pg in pages:
                    pg.goto(url, wait_until="commit")
                for pg in pages:
                    pg.wait_for_function(PAINTED, arg=None)
                    pg.wait_for_function("() => window.glyphAttention && window.glyphAttention.dataset.ready")
                    ok = pg.evaluate("() => { const i = document.querySelector('#sheet img.ga-sheet-img');"
                                     " return i.naturalWidth === Number(i.getAttribute('width')); }")
                    out["broken"] += not ok
                    out["pages"] += 1
                    pg.context.close()
        finally:
            browser.close()
    return out


def _rss(pid: int) -> int:
    return m._proc_bytes(f"/proc/{pid}/status", "VmRSS")


def session_memory(server, st: Stylizer, sessions: int) -> tuple[int, int]:
    """Server RSS before and after ``sessions`` new sessions of one 24-character request each."""
    from gradio_client import Client

    chars = (st.heldout_chars or "") + (st.training_chars or "")
    before = _rss(server.pid)
    for i in range(sessions):
        text = chars[(i * 24) % max(1, len(chars) - 24):][:24]
        Client(server.url, verbose=False, download_files=False).predict(
            *api_args(st, st.layer_names, text), api_name="/generate")
    time.sleep(2)
    return before, _rss(server.pid)


def table_live(rep: m.Report, quick: bool, st: Stylizer, server) -> dict:
    load0, t_table = m.loadavg(), time.perf_counter()
    pool = TextPool(st)
    bare = bare_forward(st)(1)  # one intra-op thread: how app.py runs the generator
    bare_s = m.p50([m.timed(bare) for _ in range(5)])
    b = browser_rows(server.url, st, 2 if quick else 8, pool) if CHROMIUM.exists() else None
    bare_s = m.p50([bare_s] + [m.timed(bare) for _ in range(5)])  # before and after: same load
    sessions = 30 if quick else 300
    before, after = session_memory(server, st, sessions)
    rows = []
    if b:
        gen, tog, sty = m.p50(b["generate"]), m.p50(b["toggle"]), m.p50(b["style"])
        rows += [["browser: click Generate → new sheet painted", m.ms(gen), f"{gen / bare_s:.2f}×", "≤ 3×",
                  m.verdict(gen / bare_s <= 3)],
                 ["browser: untick a layer → sheet repainted", m.ms(tog), f"{tog / bare_s:.2f}×", "≤ 1.5×",
                  m.verdict(tog / bare_s <= 1.5)],
                 ["browser: pick another style (live, no Generate) → sheet repainted", m.ms(sty),
                  f"{sty / bare_s:.2f}×", "≤ 1.5×", m.verdict(sty / bare_s <= 1.5)],
                 ["browser: map redraws while the mouse moves", f"{b['rate']:.0f} /s, "
                  f"{b['requests_per_move']} requests", "", "≥ 30 /s, 0 requests",
                  m.verdict(b["rate"] >= 30 and b["requests_per_move"] == 0)],
                 [f"browsers opening the page at once (8 × {b['pages'] // 8})",
                  f"{b['broken']} of {b['pages']} with a broken glyph", "", "0", m.verdict(b["broken"] == 0)]]
    grown = after - before
    rows.append([f"server memory after {sessions} sessions of one 24-character request",
                 f"{m.mib(before)} → {m.mib(after)} ({m.mib(grown)})", "", "≤ +200 MiB (300 sessions)",
                 m.verdict(grown <= 200 * m.MiB)])
    rep.add("## 7. The live loop in a browser\n\n" + m.md_table(
        ["measure (8 characters, shipped model)", "p50 ms / result", "÷ bare forward (1 thread)", "target", ""], rows)
        + f"\n\nBare forward p50 {m.ms(bare_s)} ms in this process with 1 intra-op thread (as app.py "
        "runs it), measured before "
        "and after the browser rows. Browser rows: Playwright drives Debian's chromium against "
        "`python app.py`; a time runs from the click to the frame in which the new sheet image is "
        "decoded (`img.complete`, polled every animation frame), a new text each round; a toggle "
        "comes 1 s after its generation (what the speculator uses). The redraw rate dispatches one "
        "mouse move per animation frame for a second and counts the panel's redraws; the network "
        "log is read over that second. Memory: the server's RSS, each session a new "
        f"`gradio_client.Client`. {m.load_note(load0)}", 7, t_table)
    return {"browser": b, "bare": bare_s, "memory": (before, after, sessions)}


def summary_rows(results: dict) -> list[list[str]]:
    """Table 7's lines of the targets at a glance."""
    rows, b, bare = [], results["browser"], results["bare"]
    if b:
        gen, tog, sty = (m.p50(b[k]) / bare for k in ("generate", "toggle", "style"))
        rows += [["browser: click Generate → glyphs painted ÷ bare forward", "≤ 3×", f"{gen:.2f}×",
                  m.verdict(gen <= 3), "table 7"],
                 ["browser: untick a layer → glyphs repainted ÷ bare forward", "≤ 1.5×", f"{tog:.2f}×",
                  m.verdict(tog <= 1.5), "table 7"],
                 ["browser: pick another style (live) → glyphs repainted ÷ bare forward", "≤ 1.5×",
                  f"{sty:.2f}×", m.verdict(sty <= 1.5), "table 7"],
                 ["browser: map redraws while the mouse moves", "≥ 30 /s, 0 requests per move",
                  f"{b['rate']:.0f} /s, {b['requests_per_move']} requests",
                  m.verdict(b["rate"] >= 30 and b["requests_per_move"] == 0), "table 7"],
                 ["8 browsers opening the page at once", "0 broken glyphs",
                  f"{b['broken']} of {b['pages']} pages", m.verdict(b["broken"] == 0), "table 7"]]
    before, after, sessions = results["memory"]
    rows.append([f"server memory after {sessions} sessions (24 characters each)", "≤ +200 MiB",
                 f"+{m.mib(after - before)}", m.verdict(after - before <= 200 * m.MiB), "table 7"])
    return rows
