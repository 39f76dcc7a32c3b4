"""The one entry point for generation: ``Stylizer`` (used by the app, the CLI, benchmarks, tests).

Attention maps are captured by forward hooks on the ``SelfAttention`` modules (see ``unet.hooks``);
layer toggles bypass modules by hooks that live exactly as long as one ``generate`` call.

Memory stays bounded: for each layer and character we keep the query/key projections
(N x d floats, d = C/8) and two N-sized reductions, never the N x N map. A query-point map is a
single softmax row recomputed from q and k when asked for, which is why moving the query point
needs no new forward pass.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .checkpoint import CheckpointError, load_generator
from .glyphs import Font, FontError, FontSpec, Skipped, split_text
from .hooks import attention_hooks, check_layer_names
from .model import UnetGenerator, attention_layers
from .visualize import tensor_to_image

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "glyph-attention-3style"
MAX_CHARS = 64  # glyphs per request; more are reported as skipped
MAX_TEXT = 10_000  # code points scanned per request; the rest of a longer text is ignored


def fast_bf16_available(device: torch.device) -> bool:
    """True where bfloat16 matrix units make autocast pay: CUDA with bf16, or a CPU with AMX."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    check = getattr(torch.cpu, "_is_amx_tile_supported", None)  # private; absent in some builds
    try:
        return bool(check and check())
    except Exception:  # pragma: no cover - depends on the build
        return False


class GenerationError(ValueError):
    """A request that cannot be served, with a message meant for the person who made it."""


@dataclass
class LayerCapture:
    """What one attention layer did for a batch of characters (no N x N map is stored)."""

    name: str
    resolution: int  # feature map is resolution x resolution
    gamma: float
    q: torch.Tensor  # (B, N, d) query projections
    k: torch.Tensor  # (B, N, d) key projections
    mean_received: torch.Tensor  # (B, h, w): mean attention each position receives over all queries
    contribution: torch.Tensor  # (B,): ||gamma * attend(x)|| / ||x||

    def query_map(self, index: int, x: float, y: float, glyph_size: int) -> np.ndarray:
        """(h, w) attention of the query at glyph pixel (x, y) over all positions; sums to 1."""
        h = w = self.resolution
        col = min(w - 1, max(0, int(math.floor(x * w / glyph_size))))
        row = min(h - 1, max(0, int(math.floor(y * h / glyph_size))))
        q = self.q[index, row * w + col]  # (d,)
        weights = torch.softmax(self.k[index] @ q, dim=0)  # (N,)
        return weights.reshape(h, w).numpy()


@dataclass
class Generation:
    """One request's result: PIL images per character, plus what was skipped and why."""

    chars: list[str]
    source: list  # PIL.Image per char
    generated: list
    target: list  # PIL.Image or None (target font lacks the char / is not installed)
    skipped: list[Skipped]
    style: str
    weights: dict[str, float]
    disabled_layers: list[str]
    glyph_size: int
    layers: dict[str, LayerCapture] = field(default_factory=dict)  # empty unless capture=True
    notes: list[str] = field(default_factory=list)

    def query_maps(self, index: int, x: float, y: float) -> dict[str, np.ndarray]:
        """Per captured layer, the (h, w) map of where the query at glyph pixel (x, y) looks."""
        if not self.layers:
            raise GenerationError("attention was not captured for this generation (capture=False)")
        if not 0 <= index < len(self.chars):
            raise GenerationError(f"character index {index} out of range 0..{len(self.chars) - 1}")
        if not (math.isfinite(x) and math.isfinite(y)):
            raise GenerationError("the query point must have finite coordinates")
        return {n: c.query_map(index, x, y, self.glyph_size) for n, c in self.layers.items()}


class Stylizer:
    """Load a checkpoint and turn text into styled glyphs, with attention capture and layer toggles.

    Safe to share between threads: per-call state lives in the call (hooks are filtered by a
    context variable), and font access is locked.
    """

    def __init__(self, model: UnetGenerator, config: dict, directory: Path,
                 device: str | torch.device = "cpu", max_chars: int = MAX_CHARS,
                 precision: str = "float32"):
        if precision not in ("float32", "bfloat16", "auto"):
            raise ValueError(f"precision must be 'float32', 'bfloat16' or 'auto', got {precision!r}")
        self.model = model.eval()
        self.config = config
        self.directory = Path(directory)
        self.device = torch.device(device)
        self.max_chars = max_chars
        # bf16 autocast: on held-out glyphs SSIM moved by 1e-5 and no pixel by more than 0.06 (of
        # 1), for ~1.8x speed on an AMX CPU. "auto" uses it only where the hardware makes it pay.
        self.bf16 = precision == "bfloat16" or (precision == "auto" and fast_bf16_available(self.device))
        glyphs = config.get("glyphs") or {}
        if "source" not in glyphs:
            raise CheckpointError(f"{self.directory / 'config.json'}: no 'glyphs.source' font")
        self.glyph_size = int(glyphs.get("size", model.config.image_size))
        self.source_font = Font.from_spec(FontSpec.from_dict(glyphs["source"]))
        self.style_specs = {s["name"]: FontSpec.from_dict(s["font"]) for s in config.get("styles", [])}
        if not self.style_specs:
            self.style_specs = {"default": None}
        if model.config.num_styles and len(self.style_specs) != model.config.num_styles:
            raise CheckpointError(f"{self.directory / 'config.json'}: {len(self.style_specs)} style "
                                  f"names for a model with {model.config.num_styles} styles")
        self.training_chars = self._read_chars(config.get("training_chars_file"))
        self.heldout_chars = self._read_chars(config.get("heldout_chars_file"))
        self._target_fonts: dict[str, Font | None] = {}
        self._lock = threading.Lock()
        # uint8 glyphs, 16 KiB each at 128 px (not 64 KiB as float32): at most 16 MiB. Rendering a
        # glyph takes ~4 ms against ~100 ms for its forward pass, so a bigger cache buys little.
        self._source_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._target_cache: OrderedDict[tuple[str, str], object] = OrderedDict()  # PIL or None
        self._source_cache_size = 1024

    # --- loading ---------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path_or_repo: str | Path | None = None, device: str | None = None,
                        revision: str | None = None, **kwargs) -> Stylizer:
        """The shipped checkpoint by default; else a local directory or a Hub repo id."""
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model, config, directory = load_generator(path_or_repo or DEFAULT_CHECKPOINT, device, revision)
        return cls(model, config, directory, device, **kwargs)

    def _read_chars(self, name: str | None) -> str:
        if not name or not (self.directory / name).is_file():
            return ""
        return (self.directory / name).read_text(encoding="utf-8")

    # --- public surface ----------------------------------------------------------------------
    @property
    def styles(self) -> list[str]:
        """Style names, the default first."""
        return list(self.style_specs)

    @property
    def layer_names(self) -> list[str]:
        return list(attention_layers(self.model))

    def layer_info(self) -> dict[str, dict]:
        """Per attention layer: feature-map resolution and learned gamma."""
        return {n: {"resolution": int(n.split("x")[0]), "gamma": float(m.gamma.detach())}
                for n, m in attention_layers(self.model).items()}

    def is_training_char(self, ch: str) -> bool:
        return ch in self.training_chars

    def target_font(self, style: str) -> Font | None:
        """The real font of a style, or None where it is not installed or unreadable."""
        with self._lock:
            if style not in self._target_fonts:
                spec = self.style_specs.get(style)
                try:
                    self._target_fonts[style] = Font.from_spec(spec) if spec else None
                except FontError:
                    self._target_fonts[style] = None
            return self._target_fonts[style]

    def render_target(self, style: str, ch: str):
        """The real glyph of ``ch`` in ``style``'s font (cached), or None where the font lacks it."""
        key = (style, ch)
        with self._lock:
            if key in self._target_cache:
                self._target_cache.move_to_end(key)
                return self._target_cache[key]
        font = self.target_font(style)
        img = font.render(ch, self.glyph_size) if font is not None and font.draws(ch) else None
        with self._lock:
            self._target_cache[key] = img
            while len(self._target_cache) > self._source_cache_size:
                self._target_cache.popitem(last=False)
        return img

    def style_weights(self, style: str | None = None, blend: str | None = None,
                      blend_weight: float = 0.0) -> dict[str, float]:
        """Validate a style (and an optional second one mixed in with ``blend_weight``)."""
        style = style or self.styles[0]
        for s in (style, blend):
            if s is not None and (not isinstance(s, str) or s not in self.style_specs):
                raise GenerationError(f"unknown style {s!r}; available: {', '.join(self.styles)}")
        try:
            t = float(blend_weight)
        except (TypeError, ValueError):
            raise GenerationError(f"blend weight must be a number in [0, 1], got {blend_weight!r}") from None
        if not math.isfinite(t) or not 0.0 <= t <= 1.0:
            raise GenerationError(f"blend weight must be a number in [0, 1], got {blend_weight!r}")
        weights = dict.fromkeys(self.styles, 0.0)
        if blend is None or blend == style or t == 0.0:
            weights[style] = 1.0
        else:
            weights[style] = 1.0 - t
            weights[blend] = weights.get(blend, 0.0) + t
        return weights

    def prepare(self, text: str) -> tuple[list[str], list[Skipped], list[str]]:
        """Split text into usable characters (at most ``max_chars``), skipped ones and notes."""
        if not isinstance(text, str):
            raise GenerationError("text must be a string")
        notes = []
        if len(text) > MAX_TEXT:
            notes.append(f"only the first {MAX_TEXT:,} of {len(text):,} characters of the text were read")
            text = text[:MAX_TEXT]
        if not text.strip():
            raise GenerationError("please type at least one Chinese character")
        chars, skipped = split_text(text, self.source_font)
        if len(chars) > self.max_chars:
            over = chars[self.max_chars:]
            chars = chars[: self.max_chars]
            skipped += [Skipped(c, f"over the limit of {self.max_chars} characters per request")
                        for c in over]
            notes.append(f"{len(over)} character(s) over the limit of {self.max_chars} were skipped")
        if not chars:
            shown = "; ".join(str(s) for s in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
            raise GenerationError(f"none of the characters can be drawn: {shown}")
        return chars, skipped, notes

    def render_sources(self, chars: Sequence[str]) -> torch.Tensor:
        """(B, 1, S, S) in [-1, 1], from the source font in the training normalisation (cached)."""
        out = []
        for ch in chars:
            with self._lock:
                arr = self._source_cache.get(ch)
                if arr is not None:
                    self._source_cache.move_to_end(ch)
            if arr is None:
                arr = np.asarray(self.source_font.render(ch, self.glyph_size), dtype=np.uint8)
                with self._lock:
                    self._source_cache[ch] = arr
                    while len(self._source_cache) > self._source_cache_size:
                        self._source_cache.popitem(last=False)
            out.append(torch.from_numpy(arr.astype(np.float32) / 127.5 - 1.0)[None])
        return torch.stack(out)

    @torch.inference_mode()
    def generate(self, text: str, style: str | None = None, disabled_layers: Iterable[str] = (),
                 blend: str | None = None, blend_weight: float = 0.0, capture: bool = False,
                 with_target: bool = True) -> Generation:
        """Text -> styled glyphs in one batched forward pass.

        ``style``: a name from ``styles`` (default: the first); ``blend``/``blend_weight``: mix in a
        second style (0 = only ``style``, 1 = only ``blend``); ``disabled_layers``: attention layer
        names switched off for this call only; ``capture``: record attention for ``query_maps``.
        """
        weights = self.style_weights(style, blend, blend_weight)
        disabled = check_layer_names(self.model, disabled_layers)
        chars, skipped, notes = self.prepare(text)
        src = self.render_sources(chars).to(self.device)
        captures: dict[str, LayerCapture] = {}

        def record(name, module, x, y):
            r = x.shape[-1]  # the feature map is r x r
            with torch.autocast(x.device.type, enabled=False):  # maps in full precision
                x, y = x.float(), y.float()
                q = module.query(x).flatten(2).transpose(1, 2)  # (B, N, d); v is not needed
                k = module.key(x).flatten(2).transpose(1, 2)  # (B, N, d)
                received = torch.empty(x.shape[0], r * r)
                for b in range(x.shape[0]):  # one (N, N) map at a time keeps memory bounded
                    received[b] = module.attention_map(q[b:b + 1], k[b:b + 1])[0].mean(0).cpu()
            contribution = (y - x).flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1).clamp_min(1e-12)
            captures[name] = LayerCapture(name, r, float(module.gamma), q.cpu(), k.cpu(),
                                          received.reshape(-1, r, r), contribution.cpu())

        style_vec = None
        if self.model.config.num_styles:
            style_vec = torch.tensor([weights[s] for s in self.styles], device=self.device)
        with attention_hooks(self.model, disabled, record if capture else None), \
                torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            out = self.model(src, style_vec).float()
        captures = {n: captures[n] for n in self.layer_names if n in captures}  # outermost first
        name = max(weights, key=weights.get)
        target = [self.render_target(name, c) for c in chars] if with_target else [None] * len(chars)
        return Generation(chars=chars, source=[tensor_to_image(t) for t in src],
                          generated=[tensor_to_image(t) for t in out], target=target,
                          skipped=skipped, style=name, weights=weights, disabled_layers=disabled,
                          glyph_size=self.glyph_size, layers=captures, notes=notes)
