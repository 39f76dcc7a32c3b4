"""What the Gradio app shows, computed from a ``Stylizer``: kept out of app.py so app.py is layout
and wiring only, and so this logic is testable without a browser."""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import os
import tempfile
import threading
import time
import uuid
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .inference import Generation, GenerationError, Stylizer
from .visualize import difference_image, glyph_sheet, heatmap_overlay

DISPLAY = 256  # px of a glyph in the attention panel
DOWNLOAD_DIR = Path(tempfile.gettempdir()) / "glyph-attention-downloads"
DOWNLOAD_TTL_S = 10 * 60

try:  # glibc only; elsewhere release_memory() does nothing
    _malloc_trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    _malloc_trim.argtypes, _malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
except (OSError, AttributeError, TypeError):  # pragma: no cover - depends on the libc
    _malloc_trim = None


def release_memory() -> None:
    """Hand freed heap memory back to the OS (about 2 ms).

    A forward pass allocates and frees hundreds of MB in pieces; glibc keeps what it can't return
    from the top of a fragmented heap, so without this a server's RSS grows by hundreds of MB over a
    thousand requests of new characters (measured with ``python -m unet.stress``)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


@dataclass(frozen=True)
class Request:
    """Everything that determines a generation; equal requests give equal outputs."""

    text: str
    style: str
    blend: str | None
    blend_weight: float
    disabled: tuple[str, ...]

    def same_glyphs(self, other: Request | None) -> bool:
        return other is not None and (self.text, self.style, self.blend, self.blend_weight) == (
            other.text, other.style, other.blend, other.blend_weight)


class DemoService:
    """Shared by all sessions. Its only state is a small LRU of finished generations keyed by the
    full request: a pure function of its key, so sessions cannot see each other's settings, and a
    repeated request (toggling a layer back, an API query point) needs no new forward pass."""

    def __init__(self, stylizer: Stylizer, cache_size: int = 8):
        self.st = stylizer
        self._cache: OrderedDict[tuple[Request, bool], Generation] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    # --- inputs ------------------------------------------------------------------------------
    def request(self, text, style, blend, blend_weight, enabled_layers) -> Request:
        if text is not None and not isinstance(text, str):  # the API passes JSON through as is
            raise GenerationError("text must be a string")
        blend = blend if blend and blend != "(none)" else None
        # validates both style names and the weight (checked here because a Request is hashed)
        self.st.style_weights(style or self.st.styles[0], blend, blend_weight)
        style, weight = style or self.st.styles[0], float(blend_weight)
        enabled = list(enabled_layers or [])
        unknown = [n for n in enabled if n not in self.st.layer_names]
        if unknown:
            raise GenerationError(f"unknown attention layer(s) {unknown}; this model has "
                                  f"{', '.join(self.st.layer_names)}")
        disabled = tuple(n for n in self.st.layer_names if n not in enabled)
        return Request(text or "", style, blend, weight if blend else 0.0, disabled)

    def run(self, req: Request, capture: bool = True) -> Generation:
        key = (req, capture)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        release_memory()  # what the previous request's image encoding freed
        try:
            gen = self.st.generate(req.text, style=req.style, blend=req.blend,
                                   blend_weight=req.blend_weight, disabled_layers=req.disabled,
                                   capture=capture)
        finally:
            release_memory()  # the forward pass's activations and attention maps
        with self._lock:
            self._cache[key] = gen
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return gen

    # --- outputs -----------------------------------------------------------------------------
    def sheet(self, gen: Generation) -> Image.Image:
        label = gen.style if len([w for w in gen.weights.values() if w > 0]) == 1 else "blend"
        rows = [("source", gen.source), (label, gen.generated)]
        if any(t is not None for t in gen.target):
            rows.append((f"real {gen.style}", gen.target))
        return glyph_sheet(rows, gen.chars, cell=96, label_width=150)

    def seen_label(self, ch: str) -> str:
        return "seen in training" if self.st.is_training_char(ch) else "unseen"

    def gallery(self, gen: Generation) -> list[tuple[Image.Image, str]]:
        return [(img, f"{ch} · {self.seen_label(ch)}") for ch, img in zip(gen.chars, gen.generated)]

    def status(self, gen: Generation) -> str:
        unseen = [c for c in gen.chars if not self.st.is_training_char(c)]
        mix = ", ".join(f"{n} {w:.0%}" for n, w in gen.weights.items() if w > 0)
        parts = [f"**{len(gen.chars)}** glyph(s) in {mix}; **{len(unseen)}** never seen in training"
                 + (f" ({''.join(unseen[:20])}{'…' if len(unseen) > 20 else ''})" if unseen else "") + "."]
        if gen.disabled_layers:
            parts.append(f"Attention switched off: {', '.join(gen.disabled_layers)}.")
        if gen.skipped:
            shown = "; ".join(str(s) for s in gen.skipped[:8])
            more = f" … and {len(gen.skipped) - 8} more" if len(gen.skipped) > 8 else ""
            parts.append(f"Skipped {len(gen.skipped)}: {shown}{more}.")
        parts += gen.notes
        return "  \n".join(parts)

    def skipped_message(self, gen: Generation) -> str | None:
        if not gen.skipped:
            return None
        kinds = sorted({s.reason for s in gen.skipped})
        return f"Skipped {len(gen.skipped)} character(s): " + "; ".join(kinds)

    def difference(self, on: Generation, off: Generation) -> list[tuple[Image.Image, str]]:
        """Per glyph: red = ink only with all layers on, blue = ink only with the toggles applied."""
        return [(difference_image(a, b), ch) for ch, a, b in zip(on.chars, on.generated, off.generated)]

    def char_choices(self, gen: Generation) -> list[tuple[str, int]]:
        return [(f"{ch} ({self.seen_label(ch)})", i) for i, ch in enumerate(gen.chars)]

    def glyph_for_click(self, gen: Generation, index: int, point: tuple[float, float] | None) -> Image.Image:
        img = gen.generated[index].convert("RGB").resize((DISPLAY, DISPLAY), Image.Resampling.NEAREST)
        if point is not None:
            return heatmap_overlay(gen.generated[index], [[0.0]], point, DISPLAY, alpha=0.0,
                                   glyph_size=gen.glyph_size)
        return img

    def attention_panel(self, gen: Generation, index: int, point: tuple[float, float]):
        """(query-map gallery, mean-received gallery, contribution markdown) for one character."""
        if not gen.layers:
            return [], [], "No attention layers are switched on."
        glyph = gen.generated[index]
        qmaps = gen.query_maps(index, *point)
        query = [(heatmap_overlay(glyph, m, point, DISPLAY, glyph_size=gen.glyph_size),
                  f"{n} · γ={gen.layers[n].gamma:+.3f}") for n, m in qmaps.items()]
        received = [(heatmap_overlay(glyph, c.mean_received[index].numpy(), None, DISPLAY),
                     f"{n} · mean received") for n, c in gen.layers.items()]
        rows = ["| layer | map | γ | ‖γ·attend(x)‖ / ‖x‖ |", "|---|---|---|---|"]
        rows += [f"| {n} | {c.resolution}×{c.resolution} | {c.gamma:+.3f} | {float(c.contribution[index]):.3f} |"
                 for n, c in gen.layers.items()]
        return query, received, "\n".join(rows)

    def metrics_markdown(self) -> str:
        """The checkpoint's held-out metrics (``metrics.json`` beside the weights) as a table."""
        import json

        path = self.st.directory / "metrics.json"
        if not path.is_file():
            return "_This checkpoint ships no held-out metrics._"
        m = json.loads(path.read_text(encoding="utf-8"))
        rows = [f"Held-out characters (never trained on): **{m['heldout_chars']}**.", "",
                "| style | system | SSIM | L1 | ink IoU |", "|---|---|---|---|---|"]
        for style, systems in m["styles"].items():
            for label, v in systems.items():
                rows.append(f"| {style} | {label} | {v['ssim']:.3f} | {v['l1']:.3f} | {v['ink_iou']:.3f} |")
        return "\n".join(rows)

    # --- downloads ---------------------------------------------------------------------------
    @staticmethod
    def _download_path(suffix: str) -> Path:
        DOWNLOAD_DIR.mkdir(parents=True, exist_ok=True)
        now = time.time()
        for old in DOWNLOAD_DIR.iterdir():  # bounded: files older than the TTL are removed
            try:
                if now - old.stat().st_mtime > DOWNLOAD_TTL_S:
                    old.unlink()
            except OSError:
                pass
        return DOWNLOAD_DIR / f"glyphs-{uuid.uuid4().hex[:12]}{suffix}"

    def sheet_file(self, sheet: Image.Image) -> str:
        path = self._download_path(".png")
        sheet.save(path, format="PNG")
        return str(path)

    def zip_file(self, gen: Generation) -> str:
        path = self._download_path(".zip")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for i, ch in enumerate(gen.chars):
                for kind, img in (("source", gen.source[i]), ("generated", gen.generated[i]),
                                  ("real", gen.target[i])):
                    if img is None:
                        continue
                    buf = io.BytesIO()
                    img.save(buf, format="PNG")
                    zf.writestr(f"{i:03d}_U+{ord(ch):04X}_{kind}.png", buf.getvalue())
        os.utime(path)
        return str(path)
