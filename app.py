"""Glyph Attention: the Gradio demo. Layout and event wiring only; the work is in ``unet``.

Run ``python app.py`` (binds 127.0.0.1:7860 unless GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say
otherwise).
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import replace

import gradio as gr

from unet.checkpoint import CheckpointError
from unet.demo import DISPLAY, DemoService
from unet.glyphs import FontError
from unet.inference import MAX_CHARS, GenerationError, Stylizer

try:  # ZeroGPU on Hugging Face Spaces; plain CPU/GPU elsewhere
    import spaces

    gpu = spaces.GPU
except ImportError:  # pragma: no cover - depends on the host
    def gpu(fn):
        return fn

log = logging.getLogger("glyph-attention")
MODEL = "model"  # one concurrency group for every event that runs the generator
EXAMPLES = ["永和九年歲在癸丑", "天地玄黃宇宙洪荒", "春眠不覺曉處處聞啼鳥", "字體風格遷移", "龘靐齉爩"]
ABOUT = """
**How it works.** A pix2pix U-Net turns a glyph drawn in *Noto Serif CJK TC* into the chosen style.
Two of its skip-connection blocks (the 32×32 and 16×16 feature maps) carry SAGAN self-attention:
every position mixes in features from all others, weighted by `softmax(qᵀk)`, scaled by a learned
γ that starts at 0. The maps below are captured with PyTorch forward hooks; unticking a layer
bypasses it with a hook for your request only.

**Query map**: where the clicked position looks. **Mean received**: how much attention each
position receives from all queries. **‖γ·attend(x)‖/‖x‖**: how much the layer changes its input.

Glyphs labelled *unseen* were never shown to the model in training: they are true generalisation.
The model card (`checkpoints/glyph-attention-3style/README.md`) has the held-out metrics.
"""


def user_errors(fn):
    """Turn request problems into a message for the user and anything else into a logged error."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (GenerationError, FontError, CheckpointError) as e:
            raise gr.Error(str(e), print_exception=False) from None
        except gr.Error:
            raise
        except Exception:  # never show a traceback to the user
            log.exception("request failed")
            raise gr.Error("Something went wrong while drawing these glyphs; please try again.",
                           print_exception=False) from None

    return wrapper


def build_demo(service: DemoService | None = None) -> gr.Blocks:
    svc = service or DemoService(Stylizer.from_pretrained(
        precision=os.environ.get("GLYPH_PRECISION", "auto")))
    st = svc.st
    size = st.glyph_size
    center = (size / 2, size / 2)

    def current(state, text, style, blend, weight, layers) -> dict:
        """The session's generation for these inputs: reused from state, or computed."""
        req = svc.request(text, style, blend, weight, layers)
        if state and state.get("req") == req:
            return state
        gen = svc.run(req, capture=True)
        return {"req": req, "gen": gen, "index": 0, "point": center, "base": None}

    def outputs_for(state, with_files: bool):
        gen = state["gen"]
        sheet = svc.sheet(gen)
        query, received, contrib = svc.attention_panel(gen, state["index"], state["point"])
        diff = svc.difference(state["base"], gen) if state["base"] is not None else []
        files = (svc.sheet_file(sheet), svc.zip_file(gen)) if with_files else (gr.skip(), gr.skip())
        return (sheet, svc.gallery(gen), svc.status(gen), diff,
                gr.update(choices=svc.char_choices(gen), value=state["index"]),
                svc.glyph_for_click(gen, state["index"], state["point"]), query, received, contrib,
                *files, state)

    @gpu
    @user_errors
    def generate(text, style, blend, weight, layers, state=None):
        req = svc.request(text, style, blend, weight, layers)
        gen = svc.run(req, capture=True)
        if gen.skipped:
            gr.Warning(svc.skipped_message(gen))
        for note in gen.notes:
            gr.Warning(note)
        base = None
        if req.disabled:  # the difference view compares against all layers switched on
            prev = state.get("base_gen") if state else None
            on = replace(req, disabled=())
            base = prev if prev is not None and state.get("base_req") == on else svc.run(on, capture=False)
        new = {"req": req, "gen": gen, "index": 0, "point": center, "base": base,
               "base_gen": base if req.disabled else gen, "base_req": replace(req, disabled=())}
        return outputs_for(new, with_files=True)

    @gpu
    @user_errors
    def example(text):
        """An example in the default style with every layer on (cached on first use)."""
        gen = svc.run(svc.request(text, st.styles[0], None, 0.0, st.layer_names), capture=False)
        return svc.sheet(gen), svc.gallery(gen), svc.status(gen)

    @gpu
    @user_errors
    def pick_char(index, text, style, blend, weight, layers, state):
        state = dict(current(state, text, style, blend, weight, layers))
        state["index"] = _valid_index(index, state["gen"])
        query, received, contrib = svc.attention_panel(state["gen"], state["index"], state["point"])
        return svc.glyph_for_click(state["gen"], state["index"], state["point"]), query, received, contrib, state

    @gpu
    @user_errors
    def click(evt: gr.SelectData, text, style, blend, weight, layers, state):
        state = dict(current(state, text, style, blend, weight, layers))
        x, y = (evt.index if isinstance(evt.index, (list, tuple)) else (DISPLAY / 2, DISPLAY / 2))
        state["point"] = _glyph_point(x, y, size)
        query, received, contrib = svc.attention_panel(state["gen"], state["index"], state["point"])
        return svc.glyph_for_click(state["gen"], state["index"], state["point"]), query, received, contrib, state

    @gpu
    @user_errors
    def query_point(text: str, style: str, blend: str, weight: float, layers: list[str], index: int,
                    x: float, y: float) -> dict:
        """API: per layer, the attention map (rows of floats) of character ``index`` for the query at
        glyph pixel (x, y), with the layer's resolution, gamma and contribution."""
        gen = current(None, text, style, blend, weight, layers)["gen"]
        index = _valid_index(index, gen)
        point = _glyph_point(x, y, size, size)
        maps = gen.query_maps(index, *point) if gen.layers else {}
        return {"char": gen.chars[index], "point": list(point),
                "layers": {n: {"resolution": c.resolution, "gamma": c.gamma,
                               "contribution": float(c.contribution[index]),
                               "map": maps[n].round(6).tolist()} for n, c in gen.layers.items()}}

    with gr.Blocks(title="Glyph Attention", delete_cache=(120, 600)) as demo:
        gr.Markdown("# Glyph Attention\nChinese font style transfer with a self-attention U-Net. "
                    "Type characters, pick a style, then probe what each attention layer looks at.")
        state = gr.State(None, time_to_live=1800)
        with gr.Row():
            with gr.Column(scale=2):
                text = gr.Textbox(label=f"Characters (up to {MAX_CHARS})", value=EXAMPLES[0],
                                  max_lines=3, elem_id="text")
                with gr.Row():
                    style = gr.Dropdown(st.styles, value=st.styles[0], label="Style", elem_id="style")
                    blend = gr.Dropdown(["(none)"] + st.styles, value="(none)", label="Blend with")
                weight = gr.Slider(0, 1, value=0.5, step=0.05, label="Blend weight (0 = style, 1 = blend)")
                # Pass the raw value on: DemoService.request checks it and names the problem
                # (Gradio's own check fails a string or NaN with a generic message).
                weight.preprocess = lambda payload: payload
                layers = gr.CheckboxGroup(
                    [(f"{n} (γ={i['gamma']:+.2f})", n) for n, i in st.layer_info().items()],
                    value=st.layer_names, label="Attention layers (untick to switch off live)",
                    elem_id="layers")
                button = gr.Button("Generate", variant="primary", elem_id="generate")
            with gr.Column(scale=3):
                status = gr.Markdown(elem_id="status")
                sheet = gr.Image(label="Source / generated / real", type="pil", format="png",
                                 interactive=False, elem_id="sheet")
                # a numeric height: gradio 6 gives height="auto" a 450 px minimum; 6 columns fit the
                # column's width (each thumbnail is at least 100 px), 8 overflowed it sideways
                gallery = gr.Gallery(label="Generated glyphs", format="png", columns=6, height=260,
                                     object_fit="contain", elem_id="gallery")
                with gr.Row():
                    sheet_dl = gr.DownloadButton("Sheet (PNG)")
                    zip_dl = gr.DownloadButton("All glyphs (ZIP)")
        gr.Examples([[e] for e in EXAMPLES], inputs=[text], outputs=[sheet, gallery, status],
                    fn=example, cache_examples=True, cache_mode="lazy", label="Examples",
                    api_visibility="private")
        with gr.Tab("Attention"):
            with gr.Row():
                with gr.Column(scale=1):
                    char = gr.Dropdown(choices=[], label="Character", type="value", elem_id="char")
                    probe = gr.Image(label="Click the glyph to set the query point", type="pil",
                                     format="png", interactive=False, height=DISPLAY, width=DISPLAY,
                                     elem_id="probe")
                    contrib = gr.Markdown()
                with gr.Column(scale=2):
                    query = gr.Gallery(label="Query map per layer", format="png", columns=4,
                                       height="auto", elem_id="query")
                    received = gr.Gallery(label="Mean attention received per layer", format="png",
                                          columns=4, height="auto", elem_id="received")
        with gr.Tab("Difference"):
            gr.Markdown("Red: ink only with every layer on. Blue: ink only with your toggles.")
            diff = gr.Gallery(label="Toggled vs all layers on", format="png", columns=8, height="auto",
                              elem_id="diff")
        with gr.Tab("About"):
            gr.Markdown(ABOUT)
            gr.Markdown(svc.metrics_markdown())

        inputs = [text, style, blend, weight, layers]
        outputs = [sheet, gallery, status, diff, char, probe, query, received, contrib, sheet_dl,
                   zip_dl, state]
        common = {"concurrency_id": MODEL, "concurrency_limit": 1}
        button.click(generate, inputs + [state], outputs, api_name="generate", **common)
        text.submit(generate, inputs + [state], outputs, api_visibility="private", **common)
        layers.input(generate, inputs + [state], outputs, api_name="toggle", show_progress="hidden",
                     trigger_mode="always_last", **common)
        # The attention panel reads maps kept from the last generation (or the generation cache):
        # it runs no forward pass in the usual case, so it does not wait behind generations. The
        # Stylizer is thread-safe, so the rare recomputation may overlap one.
        panel = {"concurrency_id": "panel", "concurrency_limit": 2}
        char.input(pick_char, [char] + inputs + [state], [probe, query, received, contrib, state],
                   api_visibility="private", show_progress="hidden", **panel)
        probe.select(click, inputs + [state], [probe, query, received, contrib, state],
                     api_visibility="private", show_progress="hidden", trigger_mode="always_last", **panel)
        gr.api(query_point, api_name="query_point", **panel)
        demo.load(generate, inputs + [state], outputs, api_visibility="private", **common)
    demo.queue(default_concurrency_limit=1, max_size=128)
    return demo


def _valid_index(index, gen) -> int:
    try:
        i = int(index)
    except (TypeError, ValueError):
        raise GenerationError(f"character index must be an integer, got {index!r}") from None
    if not 0 <= i < len(gen.chars):
        raise GenerationError(f"character index {i} out of range 0..{len(gen.chars) - 1}")
    return i


def _glyph_point(x, y, glyph_size: int, shown: int = DISPLAY) -> tuple[float, float]:
    """Clicked pixel of the displayed glyph -> glyph pixel, clamped to the glyph."""
    try:
        x, y = float(x), float(y)
    except (TypeError, ValueError):
        raise GenerationError(f"the query point must be two numbers, got {x!r}, {y!r}") from None
    if x != x or y != y:  # NaN
        raise GenerationError("the query point must be two numbers, got NaN")
    scale = glyph_size / shown
    clamp = lambda v: min(glyph_size - 1.0, max(0.0, v * scale))  # noqa: E731
    return clamp(x), clamp(y)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    # One intra-op thread by default: on 2 shared vCPUs, two torch threads were 2-8x slower whenever
    # other work loaded the host (they wait on a descheduled peer), and only ~1.5x faster on a quiet
    # one (BENCHMARKS.md). On a dedicated machine set GLYPH_THREADS=2.
    import torch

    torch.set_num_threads(max(1, int(os.environ.get("GLYPH_THREADS", "1"))))
    build_demo().launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                        max_file_size="1mb", show_error=False,
                        share=False)  # explicit: else GRADIO_SHARE=true or a notebook host opens a tunnel
