"""Glyph Attention: the Gradio demo. Layout and event wiring only; the work is in ``unet.demo``.

Run ``python app.py`` (binds 127.0.0.1:7860 unless GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say
otherwise; every environment variable is read once, by ``unet.settings.Settings.from_env``).
"""

from __future__ import annotations

import functools
import logging

import gradio as gr

from unet.demo import views
from unet.demo.exports import PRESETS, FontExports
from unet.demo.service import DemoService
from unet.engine.stylizer import Stylizer
from unet.errors import UserError
from unet.settings import (
    GENERATIONS_AT_ONCE,
    MAX_CHARS,
    MAX_EXPORT_CHARS,
    QUEUE_SIZE,
    SESSION_TTL_S,
    Settings,
)

try:  # ZeroGPU on Hugging Face Spaces; plain CPU/GPU elsewhere
    import spaces

    gpu = spaces.GPU
except ImportError:  # pragma: no cover - depends on the host
    def gpu(fn):
        return fn

log = logging.getLogger("glyph-attention")
EXAMPLES = ["永和九年歲在癸丑", "天地玄黃宇宙洪荒", "春眠不覺曉處處聞啼鳥", "字體風格遷移", "龘靐齉爩"]
ABOUT = """
**How it works.** A pix2pix U-Net turns a glyph drawn in *Noto Serif CJK TC* into the chosen style.
Two of its skip-connection blocks (the 32×32 and 16×16 feature maps) carry SAGAN self-attention:
every position mixes in features from all others, weighted by `softmax(qᵀk)`, scaled by a learned
γ that starts at 0. The maps are captured with PyTorch forward hooks; unticking a layer bypasses it
with a hook for your request only.

**Query map**: where the position under the mouse looks (your browser computes it from the
layer's q and k; click to pin the point). **Mean received**: how much attention each position
receives from all queries. **‖γ·attend(x)‖/‖x‖**: how much the layer changes its input.
**Δ all layers on** (a sheet row while a layer is off): red is ink only with every layer on, blue
ink only with your toggles.

Glyphs marked *unseen* were never shown to the model in training: they are true generalisation.
The model card (`checkpoints/glyph-attention-3style/README.md`) has the held-out metrics.
"""


def user_errors(fn):
    """Turn request problems into a message for the user and anything else into a logged error."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            raise gr.Error(str(e), print_exception=False) from None
        except gr.Error:
            raise
        except Exception:  # never show a traceback to the user
            log.exception("request failed")
            raise gr.Error("Something went wrong while drawing these glyphs; please try again.",
                           print_exception=False) from None

    return wrapper


def build_demo(service: DemoService | None = None, settings: Settings | None = None) -> gr.Blocks:
    settings = settings or Settings.from_env()
    svc = service or DemoService(Stylizer.from_pretrained(settings.checkpoint, precision=settings.precision))
    st = svc.st
    exports = FontExports(st, niceness=settings.export_niceness)

    @gpu
    @user_errors
    def generate(text, style, blend, weight, layers, session=None):
        out = svc.generate(session, text, style, blend, weight, layers)
        for message in out.warnings:
            gr.Warning(message)
        attention = out.attention if out.attention is not None else gr.skip()
        return (out.sheet, out.status, gr.update(choices=out.choices, value=out.session.index),
                attention, out.session)

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

    def glyph_zip(data) -> dict:
        """The sheet's ZIP button (called from the page): built only when asked for."""
        return svc.glyph_zip(data)

    def attention_data(ticket) -> dict:
        """The attention panel's numbers (called from the page, so Gradio keeps no copy per session)."""
        return svc.attention_data(ticket)

    @gpu
    @user_errors
    def query_point(text: str, style: str, blend: str, weight: float, layers: list[str], index: int,
                    x: float, y: float) -> dict:
        """API: per layer, the attention map (rows of floats) of character ``index`` for the query at
        glyph pixel (x, y), with the layer's resolution, gamma and contribution."""
        return svc.query_point(svc.request(text, style, blend, weight, layers), index, x, y)

    @user_errors
    def make_font(text, style, fmt, complete, request: gr.Request, progress=gr.Progress()):
        def report(fraction, message):
            progress(fraction, desc=message)
        return exports.make(request.session_hash or "api", text, style, fmt, complete, report)

    @user_errors
    def fill_preset(key):
        return exports.preset_text(key)

    def font_data(token) -> dict:
        """The font preview's fetch of the font just made (called from the page)."""
        return exports.font_data(token)

    with gr.Blocks(title="Glyph Attention") as demo:
        gr.Markdown("# Glyph Attention\nChinese font style transfer with a self-attention U-Net. "
                    "Type characters, pick a style, then move over a glyph to see what each "
                    "attention layer looks at.")
        session = gr.State(None, time_to_live=SESSION_TTL_S)  # a Session: keys, never images
        with gr.Row():
            with gr.Column(scale=2):
                text = gr.Textbox(label=f"Characters (up to {MAX_CHARS})", value=EXAMPLES[0],
                                  max_lines=3, elem_id="text")
                with gr.Row():
                    style = gr.Dropdown(st.styles, value=st.styles[0], label="Style", elem_id="style")
                    blend = gr.Dropdown(["(none)"] + st.styles, value="(none)", label="Blend with")
                weight = gr.Slider(0, 1, value=0.5, step=0.05, label="Blend weight (0 = style, 1 = blend)")
                # Pass the raw value on: the engine checks it and names the problem
                # (Gradio's own check fails a string or NaN with a generic message).
                weight.preprocess = lambda payload: payload
                layers = gr.CheckboxGroup(
                    [(f"{n} (γ={i['gamma']:+.2f})", n) for n, i in st.layer_info().items()],
                    value=st.layer_names, label="Attention layers (untick to switch off live)",
                    elem_id="layers")
                button = gr.Button("Generate", variant="primary", elem_id="generate")
            with gr.Column(scale=3):
                status = gr.Markdown(elem_id="status")
                sheet = gr.HTML(None, **views.SHEET.html_kwargs(), server_functions=[glyph_zip],
                                elem_id="sheet")
        examples = gr.Examples([[e] for e in EXAMPLES], inputs=[text], label="Examples")
        with gr.Tabs():
            with gr.Tab("Attention", elem_id="attention-tab") as attention_tab:
                char = gr.Dropdown(choices=[], label="Character (or click a glyph in the sheet)",
                                   type="value", elem_id="char")
                attention = gr.HTML(None, **views.ATTENTION.html_kwargs(),
                                    server_functions=[attention_data], elem_id="attention")
            with gr.Tab("Make a font", elem_id="font-tab") as font_tab:
                gr.Markdown("Put the characters you want into an installable font drawn in a style. "
                            f"Up to {MAX_EXPORT_CHARS} characters per font here; the command line "
                            "(`python -m unet.font`) has no limit. The font is under the SIL Open "
                            "Font License.")
                with gr.Row():
                    with gr.Column(scale=2):
                        font_text = gr.Textbox(label=f"Characters for the font (up to {MAX_EXPORT_CHARS})",
                                               value=EXAMPLES[0], lines=3, elem_id="font-text")
                        preset = gr.Dropdown([(label, key) for key, (label, _) in PRESETS.items()],
                                             value=None, label="…or fill in a set", elem_id="font-preset")
                        with gr.Row():
                            font_style = gr.Dropdown(st.styles, value=st.styles[0], label="Style",
                                                     elem_id="font-style")
                            font_format = gr.Radio([("TrueType (.ttf)", "ttf"), ("OpenType CFF (.otf)", "otf")],
                                                   value="ttf", label="Format", elem_id="font-format")
                        complete = gr.Checkbox(False, label="Complete: keep the real font's own glyphs "
                                               "where it has them (OFL fonts only)", elem_id="font-complete")
                        font_button = gr.Button("Make font", variant="primary", elem_id="make-font")
                    with gr.Column(scale=3):
                        font_preview = gr.HTML(None, **views.FONT.html_kwargs(),
                                               server_functions=[font_data], elem_id="font-preview")
            with gr.Tab("About") as about_tab:
                gr.Markdown(ABOUT)
                gr.Markdown(svc.metrics_markdown())

        inputs = [text, style, blend, weight, layers, session]
        outputs = [sheet, status, char, attention, session]
        # Two generations may run at once (one torch thread each on 2 cores); identical requests
        # are computed once (DemoService.result), toggles are usually answered from the cache.
        model = {"concurrency_id": "model", "concurrency_limit": GENERATIONS_AT_ONCE}
        button.click(generate, inputs, outputs, api_name="generate", **model)
        text.submit(generate, inputs, outputs, api_visibility="private", **model)
        examples.load_input_event.then(generate, inputs, outputs, api_visibility="private", **model)
        layers.input(generate, inputs, outputs, api_name="toggle", show_progress="hidden",
                     trigger_mode="always_last", **model)
        demo.load(generate, inputs, outputs, api_visibility="private", **model)
        # The attention panel reads q and k kept from the generation: no forward pass in the usual
        # case, so it never waits behind generations.
        panel_group = {"concurrency_id": "panel", "concurrency_limit": 2, "api_visibility": "private",
                       "show_progress": "hidden"}
        char.input(pick_char, [char, session], [attention, session], **panel_group)
        sheet.select(pick_from_sheet, [session], [attention, char, session], **panel_group)
        attention_tab.select(panel(True), [session], [attention, session], **panel_group)
        about_tab.select(panel(False), [session], [attention, session], **panel_group)
        font_tab.select(panel(False), [session], [attention, session], **panel_group)
        # One export at a time on the whole server (each visitor also at most one): a font of 500
        # characters keeps one CPU thread busy for ~20 s, the other stays with the live demo.
        font_button.click(make_font, [font_text, font_style, font_format, complete], [font_preview],
                          api_name="make_font", concurrency_id="export", concurrency_limit=1,
                          trigger_mode="once")
        preset.input(fill_preset, [preset], [font_text], api_visibility="private")
        gr.api(query_point, api_name="query_point", concurrency_id="panel", concurrency_limit=2)
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    return demo


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    # One intra-op thread by default: on 2 shared vCPUs, two torch threads were 2-8x slower whenever
    # other work loaded the host (they wait on a descheduled peer), and only ~1.5x faster on a quiet
    # one (BENCHMARKS.md). On a dedicated machine set GLYPH_THREADS=2.
    import torch

    from unet.engine.runtime import limit_malloc_arenas

    settings = Settings.from_env()
    limit_malloc_arenas(2)  # before Gradio starts its threads: see unet/engine/runtime.py
    torch.set_num_threads(settings.threads)
    build_demo(settings=settings).launch(
        server_name=settings.server_name or "127.0.0.1", server_port=settings.server_port,
        max_file_size="1mb", show_error=False,
        # Gradio keeps each session's last outputs (and a copy of the page's config) in memory,
        # closed sessions for an hour: this bounds how many it keeps.
        state_session_capacity=settings.max_sessions,
        share=False)  # explicit: else GRADIO_SHARE=true or a notebook host opens a tunnel
