"""Glyph Attention: the Gradio demo. Layout and event wiring only; the work is in ``unet.demo``.

Run ``python app.py`` (binds 127.0.0.1:7860 unless GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say
otherwise; every environment variable is read once, by ``unet.settings.Settings.from_env``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import inspect
import logging
import sys

import anyio
import gradio as gr
from starlette.middleware import Middleware

from unet.demo import i18n, views
from unet.demo.exports import PRESETS, FontExports
from unet.demo.guard import RequestGuard
from unet.demo.jobs import JobCancelled
from unet.demo.limits import FetchLimit
from unet.demo.ownstyles import StyleTuning, progress_html, review_choices, review_html, summary_markdown
from unet.demo.service import DemoService
from unet.engine.stylizer import Stylizer
from unet.errors import UserError
from unet.ownstyle.tune import TuneConfig
from unet.settings import (
    BODY_LIMIT,
    FETCHES_AT_ONCE,
    FETCHES_PER_VISITOR,
    FETCHES_WAITING,
    GENERATIONS_AT_ONCE,
    MAX_CHARS,
    MAX_EXPORT_CHARS,
    PROGRESS_EVERY_S,
    QUEUE_SIZE,
    SESSION_TTL_S,
    TUNE_MINUTES,
    UPLOAD_BUDGET,
    UPLOAD_LIMIT,
    UPLOAD_WINDOW_S,
    Settings,
)
from unet.startup import run_cli

try:  # ZeroGPU on Hugging Face Spaces; plain CPU/GPU elsewhere
    import spaces

    gpu = spaces.GPU
except ImportError:  # pragma: no cover - depends on the host
    def gpu(fn):
        return fn

log = logging.getLogger("glyph-attention")
EXAMPLES = ["永和九年歲在癸丑", "天地玄黃宇宙洪荒", "春眠不覺曉處處聞啼鳥", "字體風格遷移", "龘靐齉爩"]


def say(error: Exception, lang: str) -> str:
    """A request problem in the visitor's language: its catalog text where it names one (the
    catalog's English says the same as the message), else its English message."""
    key = getattr(error, "key", None)
    if key and lang != "en":  # in English, the message itself (it may carry a hint for a script)
        return i18n.text(lang, key, **getattr(error, "params", {}))
    return str(error)


def problem_line(error: UserError, lang: str, what: str) -> str:
    """A refused request said on the page, not as a toast: "⚠ " and the problem in the visitor's
    language, HTML-escaped (it may quote what they sent; Markdown and HTML both show it as text),
    logged once."""
    log.info("refused %s: %.200s", what, error)
    return "⚠ " + html.escape(say(error, lang))


def _refusal(fn, error: Exception, lang: str = "en") -> gr.Error:
    """A request problem becomes its message (and one log line); anything else is a logged bug."""
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, UserError):
        log.info("refused %s: %.200s", fn.__name__, error)
        return gr.Error(say(error, lang), print_exception=False)
    log.error("request failed", exc_info=error)
    return gr.Error(i18n.text(lang, "error.internal"), print_exception=False)


def _language(args, kwargs) -> str:
    """The language of the event's request, where the function takes one (``gr.Request``)."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, gr.Request):
            return i18n.language_of(value)
    return "en"


def user_errors(fn):
    """Turn request problems into a message for the user (in their language) and anything else into
    a logged error (an event's function, plain or an async generator)."""
    if inspect.isasyncgenfunction(fn):
        @functools.wraps(fn)
        async def stream(*args, **kwargs):
            try:
                async with contextlib.aclosing(fn(*args, **kwargs)) as updates:
                    async for update in updates:
                        yield update
            except Exception as e:
                raise _refusal(fn, e, _language(args, kwargs)) from None
        return stream

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # never show a traceback to the user
            raise _refusal(fn, e, _language(args, kwargs)) from None

    return wrapper


def visitor(request: gr.Request | None) -> str:
    """Who is asking: the browser session (a script sends one too; the limits hold per session)."""
    return (request.session_hash if request is not None else None) or "anonymous"


async def fetch_visitor(request) -> str:
    """Who sent a server function's call: Gradio hands those Starlette's request, not a
    ``gr.Request``; the session is in its JSON body, which Gradio has already read (and Starlette
    keeps)."""
    session = getattr(request, "session_hash", None)
    if session is None:
        with contextlib.suppress(Exception):
            body = await request.json()
            session = body.get("session_hash") if isinstance(body, dict) else None
    return session if isinstance(session, str) and session else "anonymous"


# the sheet dims while a live change is drawn (page.css), saying so in the page's language
MARK_UPDATING = """() => { const s = document.getElementById("sheet"); if (!s) return;
  s.dataset.updating = window.glyphSay ? window.glyphSay("app.updating") : "…"; s.classList.add("ga-updating"); }"""
UNMARK_UPDATING = """() => { document.getElementById("sheet")?.classList.remove("ga-updating"); }"""


def raw(component):
    """Pass the component's value on as sent: the engine checks it, names the problem and quotes at
    most a short prefix of it (Gradio's own check echoes the whole value, e.g. 1 MB into the log)."""
    component.preprocess = lambda payload: payload
    return component


def _english_label(block) -> str:
    """A component's label in English (labels are catalog keys, ``gr.I18n``), else its kind."""
    label = getattr(block, "label", None)
    key = getattr(label, "key", None)
    if key in i18n.catalog():
        return i18n.text("en", key, max_chars=MAX_CHARS, max_export=MAX_EXPORT_CHARS)
    return label if isinstance(label, str) and label else type(block).__name__.lower()


class GlyphBlocks(gr.Blocks):
    """``gr.Blocks`` whose answer to an API call with too few values is a short message. Gradio's own
    is a ValueError that quotes every value it got into the log, with a traceback, and reaches the
    caller as ``{"error": null}``."""

    def validate_inputs(self, block_fn, inputs):
        wanted = [b for b in block_fn.inputs if not getattr(b, "stateful", False)]
        if len(inputs) < len(block_fn.inputs):
            names = ", ".join(_english_label(b) for b in wanted)
            log.info("refused %s: %d values", block_fn.name, len(inputs))
            raise gr.Error(f"{block_fn.name} takes {len(wanted)} values ({names}); got {len(inputs)}",
                           print_exception=False)


PAGE_CSS = (views.WEB / "page.css").read_text(encoding="utf-8")
# Orange buttons with white text at 5.2:1 (Gradio's default orange is 2.8:1); fonts: PAGE_CSS
THEME = gr.themes.Default(primary_hue="orange", font=["Noto Sans CJK SC", "sans-serif"],
                          font_mono=["Noto Sans Mono CJK SC", "monospace"]).set(
    button_primary_background_fill="*primary_700", button_primary_background_fill_hover="*primary_800",
    button_primary_text_color="white", button_primary_border_color="*primary_700")


def launch_options(settings: Settings, demo: gr.Blocks | None = None) -> dict:
    """``demo.launch`` arguments that keep a public server safe (app.py and the tests use them), and
    the page's words, typeface and colours (``demo.translations``, from ``build_demo``)."""
    return dict(
        i18n=getattr(demo, "translations", None), theme=THEME, css=PAGE_CSS,
        # no run history: it would keep every sheet (PNG data) in the visitor's browser storage, and
        # its footer link ("Runs") has no translation
        run_history=False, footer_links=["api", "gradio", "settings"],
        server_name=settings.server_name or "127.0.0.1", server_port=settings.server_port,
        max_file_size=UPLOAD_LIMIT, show_error=False,
        # Gradio keeps each session's last inputs and outputs (and a copy of the page's config,
        # ~80 KiB) in memory, least recently used dropped first; with every body capped, memory is
        # bounded by sessions x BODY_LIMIT
        state_session_capacity=settings.max_sessions,
        app_kwargs={"middleware": [Middleware(RequestGuard, body_limit=BODY_LIMIT, upload_limit=UPLOAD_LIMIT,
                                              upload_budget=UPLOAD_BUDGET, upload_window_s=UPLOAD_WINDOW_S)]},
        share=False)  # explicit: else GRADIO_SHARE=true or a notebook host opens a tunnel


def build_demo(service: DemoService | None = None, settings: Settings | None = None,
               tuning: StyleTuning | None = None) -> gr.Blocks:
    """The page. ``service`` and ``tuning`` default to the shipped model's (tests pass their own)."""
    settings = settings or Settings.from_env()
    svc = service or DemoService(Stylizer.from_pretrained(settings.checkpoint, precision=settings.precision))
    st = svc.st
    exports = FontExports(st, niceness=settings.export_niceness)
    # a fine-tune runs where the model does: on a GPU machine there (not on ZeroGPU: see README)
    tuning = tuning or StyleTuning(svc.own, niceness=settings.export_niceness, threads=settings.threads,
                                   config=TuneConfig(eval_every_s=15.0, device=str(st.device)))

    def shown_outputs(out):
        attention = out.attention if out.attention is not None else gr.skip()
        return (out.sheet, out.status, gr.update(choices=out.choices, value=out.session.index),
                attention, out.session)

    @gpu
    @user_errors
    def generate(text, style, blend, weight, layers, session=None, request: gr.Request = None):
        """API (/generate, /toggle): a problem is an error the caller gets."""
        return shown_outputs(svc.generate(session, text, style, blend, weight, layers,
                                          i18n.language_of(request), visitor(request)))

    @gpu
    def generate_on_page(text, style, blend, weight, layers, session=None, request: gr.Request = None):
        """The page's Generate, toggles and live changes: a problem is one line in the status, in
        the visitor's language; the glyphs, the character list and the panel keep what they show
        (an error would mark each of them, and a toast would say it again)."""
        lang = i18n.language_of(request)
        try:
            return shown_outputs(svc.generate(session, text, style, blend, weight, layers, lang,
                                              visitor(request)))
        except UserError as e:
            log.info("refused generate: %.200s", e)
            message = say(e, lang)
        except Exception as e:
            log.error("request failed", exc_info=e)
            message = i18n.text(lang, "error.internal")
        key = "status.error" if session is not None else "status.error.first"
        return gr.skip(), i18n.text(lang, key, message=message), gr.skip(), gr.skip(), gr.skip()

    fetches = FetchLimit(FETCHES_AT_ONCE, FETCHES_WAITING, FETCHES_PER_VISITOR)

    def fetch(fn):
        """A page's fetch (a server function; they bypass Gradio's queue): async, so it holds no
        thread while it waits, and limited per visitor and in all (``FetchLimit``)."""
        async def call(data, request: gr.Request) -> dict:
            try:
                who = await fetch_visitor(request)
                async with fetches.slot(who):
                    return await anyio.to_thread.run_sync(fn, data, who)
            except UserError as e:
                log.info("refused %s: %.200s", fn.__name__, e)
                return {"error": str(e)}
        call.__name__ = fn.__name__  # no functools.wraps: Gradio must see the request parameter
        call.__doc__ = fn.__doc__
        return call

    @user_errors
    def pick_char(index, session):
        return svc.pick(session, index)[::-1]

    @user_errors
    def pick_from_sheet(evt: gr.EventData, session):
        session, attention = svc.pick(session, evt._data.get("index") if evt._data else None)
        return attention, session.index, session

    def panel(visible: bool):
        @user_errors
        def show(session):
            session, attention = svc.show_panel(session, visible)
            return gr.skip() if attention is None else attention, session
        return show

    @fetch
    def glyph_zip(data, who) -> dict:
        """The sheet's ZIP button (called from the page): built only when asked for."""
        return svc.glyph_zip(data, who)

    @fetch
    def attention_data(ticket, who) -> dict:
        """The attention panel's numbers (called from the page, so Gradio keeps no copy per session)."""
        return svc.attention_data(ticket, who)

    @gpu
    @user_errors
    def query_point(text: str, style: str, blend: str, weight: float, layers: list[str], index: int,
                    x: float, y: float, request: gr.Request = None) -> dict:
        """API: per layer, the attention map (rows of floats) of character ``index`` for the query at
        glyph pixel (x, y), with the layer's resolution, gamma and contribution."""
        return svc.query_point(svc.request(text, style, blend, weight, layers, visitor(request)), index, x, y)

    @user_errors
    async def make_font(text, style, fmt, complete, request: gr.Request):
        """Checked at once, then waits for its turn outside Gradio's queue (``FontExports``): the
        preview shows its place in line, then its progress, then the font. Each update renews the
        job's lease: when the page is gone, Gradio stops asking for updates and the job stops."""
        stylizer = svc.stylizer_for(style, visitor(request))  # the visitor's own style's, or the base
        plan = await asyncio.to_thread(exports.plan, text, style, fmt, complete, stylizer)
        job = exports.submit(visitor(request), plan, stylizer)
        finished = asyncio.wrap_future(job.future)
        finished.add_done_callback(lambda f: f.cancelled() or f.exception())  # read even if nobody waits
        try:
            while not finished.done():
                job.renew()
                yield exports.status_view(job)
                await asyncio.wait([finished], timeout=PROGRESS_EVERY_S)
            yield finished.result()
        finally:
            if not job.done():
                job.cancel()

    def visitor_left(request: gr.Request):
        """The tab was closed: its export and its fine-tune (waiting or running) stop, its upload
        and its own styles go."""
        exports.cancel_visitor(visitor(request))
        tuning.drop_visitor(visitor(request))

    def style_lists(who: str, lang: str) -> tuple:
        """The visitor's style list in the three places a style is chosen (style, blend, font)."""
        choices = tuning.choices(who, lang)
        return (gr.update(choices=choices), gr.update(choices=[(words("app.blend.none"), "(none)")] + choices),
                gr.update(choices=choices))

    async def wait_for(job, show):
        """Wait for a background job, renewing its lease; yields ``show(status)`` every so often."""
        finished = asyncio.wrap_future(job.future)
        finished.add_done_callback(lambda f: f.cancelled() or f.exception())  # read even if nobody waits
        try:
            while not finished.done():
                job.renew()
                update = show()
                if update is not None:
                    yield update
                await asyncio.wait([finished], timeout=PROGRESS_EVERY_S)
        finally:
            if not job.done():
                job.cancel()

    async def read_upload(path, request: gr.Request):
        """An upload in the "Your own style" tab: read as background work; the page says what was
        read (a problem is said there too, in the visitor's language). A style file becomes a
        style at once."""
        who, lang = visitor(request), i18n.language_of(request)
        skip = (gr.skip(),) * 4
        try:
            job = tuning.submit_read(who, path)
            async for _ in wait_for(job, lambda: None):
                pass
            view, style = job.future.result()
        except UserError as e:
            yield problem_line(e, lang, "upload"), *skip
            return
        except JobCancelled:
            return
        if style is None:
            yield summary_markdown(view, lang), *skip
            return
        yield (summary_markdown(view, lang), *style_lists(who, lang),
               gr.update(value=str(tuning.style_file(who, style.key)), visible=True))

    async def teach(name, minutes, request: gr.Request):
        """Teach the uploaded glyphs as a new style: waits for its turn outside Gradio's queue,
        shows its progress (held-back glyphs redrawn as it learns), then adds the style to this
        visitor's lists and offers its file. Stop, or closing the page, cancels it."""
        who, lang = visitor(request), i18n.language_of(request)
        skip = (gr.skip(),) * 4
        try:
            if isinstance(name, str) and not name.strip():
                name = i18n.text(lang, "style.default_name")
            job = tuning.submit(who, name, minutes)
            async for view in wait_for(job, lambda: progress_html(tuning.status_view(job), lang)):
                yield view, *skip
            result = job.future.result()
        except UserError as e:
            yield f'<div class="ga-tune" data-state="refused">{problem_line(e, lang, "teach")}</div>', *skip
            return
        except JobCancelled:
            yield (f'<div class="ga-tune" data-state="stopped">{html.escape(i18n.text(lang, "style.progress.stopped"))}'
                   "</div>", *skip)
            return
        yield (progress_html(result, lang), *style_lists(who, lang),
               gr.update(value=str(tuning.style_file(who, result["key"])), visible=True))

    def stop_teaching(request: gr.Request):
        tuning.cancel_visitor(visitor(request))

    async def background(job):
        """The result of a short background job (reading photos, making a template)."""
        async for _ in wait_for(job, lambda: None):
            pass
        return job.future.result()

    async def make_template(text, request: gr.Request):
        """The printable template for the characters typed (or the default 300)."""
        lang = i18n.language_of(request)
        try:
            path = await background(tuning.submit_template(visitor(request), text))
        except UserError as e:
            return gr.skip(), problem_line(e, lang, "template")
        except JobCancelled:
            return gr.skip(), gr.skip()
        return gr.update(value=str(path), visible=True), ""

    async def read_photos(paths, request: gr.Request):
        """Photos of filled pages: read as background work, then the glyphs to review."""
        who, lang = visitor(request), i18n.language_of(request)
        try:
            scan = await background(tuning.submit_read(who, paths, scan=True))
        except UserError as e:
            return problem_line(e, lang, "photos"), gr.skip(), gr.skip()
        except JobCancelled:
            return gr.skip(), gr.skip(), gr.skip()
        choices, ticked = review_choices(scan, lang)
        return review_html(scan, lang), gr.update(choices=choices, value=ticked), ""

    def use_scan(chars, request: gr.Request):
        """The ticked glyphs become this visitor's upload: then Teach the style."""
        lang = i18n.language_of(request)
        try:
            return summary_markdown(tuning.use_scan(visitor(request), chars), lang)
        except UserError as e:
            return problem_line(e, lang, "use_scan")

    @user_errors
    def fill_preset(key):
        return exports.preset_text(key)

    @fetch
    def font_data(token, who) -> dict:
        """The font preview's fetch of the font just made (called from the page)."""
        return exports.font_data(token)

    T = i18n.gradio_i18n  # noqa: N806 - reads as the catalog's word for a key
    words = T(max_chars=MAX_CHARS, max_export=MAX_EXPORT_CHARS,
              extra={"app.metrics": {lang: svc.metrics_markdown(lang) for lang in i18n.LANGUAGES}})

    # delete_cache: files Gradio keeps for the app (uploads, which the app deletes as soon as it has read
    # them, and copies of style-file downloads) are looked for every 5 minutes and go after 30
    with GlyphBlocks(title="Glyph Attention · 字形注意力", delete_cache=(300, 1800)) as demo:
        demo.translations = words  # launch_options hands it to launch()
        with gr.Row(equal_height=False):
            with gr.Column(scale=5):
                gr.Markdown(words("app.intro"))
            with gr.Column(scale=2, min_width=240):
                gr.HTML(None, **views.LANGUAGE.html_kwargs(), elem_id="language", padding=False)
        session = gr.State(None, time_to_live=SESSION_TTL_S)  # a Session: keys, never images
        with gr.Row():
            with gr.Column(scale=2):
                # raw: Gradio's Textbox would turn a list into its text, "['永']"
                text = raw(gr.Textbox(label=words("app.text"), value=EXAMPLES[0], max_lines=3, elem_id="text"))
                with gr.Row():
                    style = raw(gr.Dropdown(st.styles, value=st.styles[0], label=words("app.style"),
                                            elem_id="style"))
                    blend = raw(gr.Dropdown([(words("app.blend.none"), "(none)")] + [(s, s) for s in st.styles],
                                            value="(none)", label=words("app.blend"), elem_id="blend"))
                weight = gr.Slider(0, 1, value=0.5, step=0.05, label=words("app.weight"), elem_id="weight")
                raw(weight)  # Gradio's own check fails a string or NaN with a generic message
                layers = raw(gr.CheckboxGroup(
                    [(f"{n} (γ={i['gamma']:+.2f})", n) for n, i in st.layer_info().items()],
                    value=st.layer_names, label=words("app.layers"), elem_id="layers"))
                button = gr.Button(words("app.generate"), variant="primary", elem_id="generate")
            with gr.Column(scale=3):
                status = gr.Markdown(elem_id="status")
                sheet = gr.HTML(None, **views.SHEET.html_kwargs(), server_functions=[glyph_zip],
                                elem_id="sheet")
        examples = gr.Examples([[e] for e in EXAMPLES], inputs=[text], label=words("app.examples"))
        with gr.Tabs():
            with gr.Tab(words("app.tab.attention"), elem_id="attention-tab") as attention_tab:
                # raw: a page whose session expired still holds its old choices
                char = raw(gr.Dropdown(choices=[], label=words("app.char"), type="value", elem_id="char"))
                attention = gr.HTML(None, **views.ATTENTION.html_kwargs(),
                                    server_functions=[attention_data], elem_id="attention")
            with gr.Tab(words("app.tab.font"), elem_id="font-tab") as font_tab:
                gr.Markdown(words("app.font.intro"))
                with gr.Row():
                    with gr.Column(scale=2):
                        font_text = raw(gr.Textbox(label=words("app.font.text"), value=EXAMPLES[0], lines=3,
                                                   elem_id="font-text"))
                        preset = raw(gr.Dropdown([(words(f"app.font.preset.{key}"), key) for key in PRESETS],
                                                 value=None, label=words("app.font.preset"), elem_id="font-preset"))
                        with gr.Row():
                            font_style = raw(gr.Dropdown(st.styles, value=st.styles[0], label=words("app.font.style"),
                                                         elem_id="font-style"))
                            font_format = raw(gr.Radio([(words("app.font.ttf"), "ttf"), (words("app.font.otf"), "otf")],
                                                       value="ttf", label=words("app.font.format"), elem_id="font-format"))
                        complete = raw(gr.Checkbox(False, label=words("app.font.complete"), elem_id="font-complete"))
                        font_button = gr.Button(words("app.font.make"), variant="primary", elem_id="make-font")
                    with gr.Column(scale=3):
                        font_preview = gr.HTML(None, **views.FONT.html_kwargs(),
                                               server_functions=[font_data], elem_id="font-preview")
            with gr.Tab(words("app.tab.own"), elem_id="own-tab") as own_tab:
                gr.Markdown(words("app.own.intro"))
                with gr.Row():
                    with gr.Column(scale=2):
                        own_file = gr.File(label=words("app.own.file"), type="filepath", elem_id="own-file",
                                           file_types=[".ttf", ".otf", ".ttc", ".otc", ".woff", ".woff2",
                                                       ".zip", ".safetensors"])
                        own_summary = gr.Markdown(elem_id="own-summary")
                        own_name = raw(gr.Textbox(label=words("app.own.name"), value="", max_lines=1,
                                                  elem_id="own-name"))
                        own_minutes = raw(gr.Slider(*TUNE_MINUTES, value=10, step=1, label=words("app.own.minutes"),
                                                    elem_id="own-minutes"))
                        with gr.Row():
                            own_teach = gr.Button(words("app.own.teach"), variant="primary", elem_id="own-teach")
                            own_stop = gr.Button(words("app.own.stop"), elem_id="own-stop")
                    with gr.Column(scale=3):
                        own_progress = gr.HTML(None, elem_id="own-progress")
                        own_download = gr.DownloadButton(words("app.own.download"), visible=False,
                                                         elem_id="own-download")
                with gr.Accordion(words("app.hw.title"), open=False, elem_id="hw"):
                    gr.Markdown(words("app.hw.intro"))
                    with gr.Row():
                        with gr.Column(scale=2):
                            hw_text = raw(gr.Textbox(label=words("app.hw.chars"), lines=2, elem_id="hw-chars"))
                            hw_make = gr.Button(words("app.hw.make"), elem_id="hw-make")
                            hw_pdf = gr.DownloadButton(words("app.hw.download"), visible=False, elem_id="hw-pdf")
                            hw_note = gr.Markdown(elem_id="hw-note")
                        with gr.Column(scale=3):
                            hw_photos = gr.File(label=words("app.hw.photos"), file_count="multiple", type="filepath",
                                                file_types=["image"], elem_id="hw-photos")
                    hw_review = gr.HTML(None, elem_id="hw-review")
                    hw_keep = raw(gr.CheckboxGroup([], label=words("app.hw.keep"), elem_id="hw-keep"))
                    hw_use = gr.Button(words("app.hw.use"), variant="primary", elem_id="hw-use")
            with gr.Tab(words("app.tab.about"), elem_id="about-tab") as about_tab:
                gr.Markdown(words("app.about"))
                gr.Markdown(words("app.metrics"))

        inputs = [text, style, blend, weight, layers, session]
        outputs = [sheet, status, char, attention, session]
        # Two generations may run at once (one torch thread each on 2 cores); identical requests
        # are computed once (DemoService.result), toggles are usually answered from the cache.
        model = {"concurrency_id": "model", "concurrency_limit": GENERATIONS_AT_ONCE}
        # The API's /generate and /toggle raise a problem as an error; they hang on a button the
        # page does not show, so that the page's own events can say it in the status instead.
        api_button = gr.Button(visible=False, elem_id="api-generate")
        api_button.click(generate, inputs, outputs, api_name="generate", **model)
        api_button.click(generate, inputs, outputs, api_name="toggle", **model)
        page = {"api_visibility": "private", **model}
        live = {**page, "show_progress": "hidden", "trigger_mode": "always_last"}
        button.click(generate_on_page, inputs, outputs, **page)
        text.submit(generate_on_page, inputs, outputs, **page)
        examples.load_input_event.then(generate_on_page, inputs, outputs, **page)
        demo.load(generate_on_page, inputs, outputs, **page)
        # Live: a layer, the style, the blend or its weight redraws at once from the same
        # cache-first path as Generate, the sheet dimmed and marked "updating" meanwhile.
        for trigger in (layers.input, style.input, blend.input, weight.input):
            trigger(None, None, None, js=MARK_UPDATING, **{"api_visibility": "private", "queue": False})
            trigger(generate_on_page, inputs, outputs, **live).then(None, None, None, js=UNMARK_UPDATING)
        # The attention panel reads q and k kept from the generation: no forward pass in the usual
        # case, so it never waits behind generations.
        panel_group = {"concurrency_id": "panel", "concurrency_limit": 2, "api_visibility": "private",
                       "show_progress": "hidden"}
        char.input(pick_char, [char, session], [attention, session], **panel_group)
        sheet.select(pick_from_sheet, [session], [attention, char, session], **panel_group)
        attention_tab.select(panel(True), [session], [attention, session], **panel_group)
        about_tab.select(panel(False), [session], [attention, session], **panel_group)
        font_tab.select(panel(False), [session], [attention, session], **panel_group)
        # Exports wait in their own line (FontExports: one per visitor, a few in all, one running at
        # a time at a lower priority), not in Gradio's queue: no concurrency limit here, so an
        # export's event never holds a place in the queue that Generate needs.
        # The button is greyed out while its export waits or runs (it would ignore a second click).
        quick = {"queue": False, "api_visibility": "private", "show_progress": "hidden"}
        font_button.click(lambda: gr.update(interactive=False), None, font_button, trigger_mode="once", **quick) \
            .then(make_font, [font_text, font_style, font_format, complete], [font_preview],
                  api_name="make_font", concurrency_id="export", concurrency_limit=None, show_progress="hidden") \
            .then(lambda: gr.update(interactive=True), None, font_button, **quick)
        # Your own style: uploads are read and styles taught in their own lines (StyleTuning), outside
        # Gradio's queue, like exports; Stop answers at once.
        style_outputs = [style, blend, font_style, own_download]
        own_file.upload(read_upload, [own_file], [own_summary, *style_outputs], api_name="upload_glyphs",
                        concurrency_id="own", concurrency_limit=None, show_progress="hidden")
        own_teach.click(lambda: gr.update(interactive=False), None, own_teach, trigger_mode="once", **quick) \
            .then(teach, [own_name, own_minutes], [own_progress, *style_outputs], api_name="teach_style",
                  concurrency_id="own", concurrency_limit=None, show_progress="hidden") \
            .then(lambda: gr.update(interactive=True), None, own_teach, **quick)
        own_stop.click(stop_teaching, None, None, api_name="stop_teaching", **{**quick, "api_visibility": "public"})
        own_tab.select(panel(False), [session], [attention, session], **panel_group)
        hw_make.click(make_template, [hw_text], [hw_pdf, hw_note], api_name="handwriting_template",
                      concurrency_id="own", concurrency_limit=None)
        hw_photos.upload(read_photos, [hw_photos], [hw_review, hw_keep, hw_note], api_name="read_handwriting",
                         concurrency_id="own", concurrency_limit=None, show_progress="hidden")
        hw_use.click(use_scan, [hw_keep], [own_summary], api_name="use_handwriting",
                     concurrency_id="own", concurrency_limit=None)
        demo.unload(visitor_left)
        preset.input(fill_preset, [preset], [font_text], api_visibility="private")
        gr.api(query_point, api_name="query_point", concurrency_id="panel", concurrency_limit=2)
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    return demo


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    # One intra-op thread by default: on 2 shared vCPUs, two torch threads were 2-8x slower whenever
    # other work loaded the host (they wait on a descheduled peer), and only ~1.5x faster on a quiet
    # one (BENCHMARKS.md). On a dedicated machine set GLYPH_THREADS=2.
    import torch

    from unet.engine.runtime import limit_malloc_arenas

    settings = Settings.from_env()  # here, so a bad variable is a one-line message too
    limit_malloc_arenas(2)  # before Gradio starts its threads: see unet/engine/runtime.py
    torch.set_num_threads(settings.threads)
    demo = build_demo(settings=settings)
    demo.launch(**launch_options(settings, demo))


if __name__ == "__main__":
    # start-up failures (a setting, the checkpoint, a font, a port in use) are one line, no traceback
    sys.exit(run_cli(main))
