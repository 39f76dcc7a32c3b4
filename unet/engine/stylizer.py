"""The one entry point for generation: ``Stylizer`` (used by the app, the CLI, benchmarks, tests).

Attention maps are captured by forward hooks on the ``SelfAttention`` modules (see ``unet.engine.hooks``);
layer toggles bypass modules by hooks that live exactly as long as one forward pass of ``draw``.

Memory stays bounded: for each layer and character we keep the query/key projections
(N x d floats, d = C/8) and two N-sized reductions, never the N x N map. A query-point map is a
single softmax row recomputed from q and k when asked for, which is why moving the query point
needs no new forward pass (and why a browser can compute it from q and k alone).
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import CheckpointError, FontError, GenerationError, shown
from ..model import UnetGenerator, attention_layers, load_generator
from ..settings import FORWARD_BATCH, GLYPH_CACHE_ENTRIES, MAX_CHARS, MAX_TEXT
from .cache import BoundedCache
from .glyphs import Font, FontSpec, Note, Skipped, split_text
from .hooks import attention_hooks
from .request import Request, make_request, parse_index, parse_point
from .runtime import fast_bf16_available
from .visualize import tensor_to_image

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "glyph-attention-3style"


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

    @staticmethod
    def concat(parts: list[LayerCapture]) -> LayerCapture:
        """One capture from the captures of consecutive chunks of a batch."""
        first = parts[0]
        return LayerCapture(first.name, first.resolution, first.gamma,
                            *(torch.cat([getattr(p, f) for p in parts])
                              for f in ("q", "k", "mean_received", "contribution")))

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
    request: Request | None = None  # the checked request this generation answers

    def query_maps(self, index, x, y) -> dict[str, np.ndarray]:
        """Per captured layer, the (h, w) map of where the query at glyph pixel (x, y) looks
        (``index``, ``x`` and ``y`` as a caller gives them: checked here)."""
        if not self.layers:
            raise GenerationError("attention was not captured for this generation (capture=False)")
        index = parse_index(index, len(self.chars))
        x, y = parse_point(x, y, self.glyph_size)
        return {n: c.query_map(index, x, y, self.glyph_size) for n, c in self.layers.items()}

    @property
    def nbytes(self) -> int:
        """Approximate memory held: glyph images and captured tensors (for bounded caches)."""
        images = sum(im.width * im.height * len(im.getbands())
                     for im in (*self.source, *self.generated, *self.target) if im is not None)
        tensors = sum(t.element_size() * t.nelement() for c in self.layers.values()
                      for t in (c.q, c.k, c.mean_received, c.contribution))
        return images + tensors


@dataclass(frozen=True)
class OwnGlyphs:
    """A visitor's style: its name as shown and their glyphs ((S, S) uint8 by character)."""

    label: str
    glyphs: dict[str, np.ndarray]


class Stylizer:
    """Load a checkpoint and turn text into styled glyphs, with attention capture and layer toggles.

    Safe to share between threads: per-call state lives in the call (hooks are filtered by a
    context variable), and font access is locked.
    """

    def __init__(self, model: UnetGenerator, config: dict, directory: Path,
                 device: str | torch.device = "cpu", max_chars: int = MAX_CHARS,
                 precision: str = "float32"):
        if precision not in ("float32", "bfloat16", "auto"):
            raise ValueError(f"precision must be 'float32', 'bfloat16' or 'auto', got {shown(precision)}")
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
        self.own: dict[str, OwnGlyphs] = {}  # styles a visitor taught (``with_style``), by key
        self._lock = threading.Lock()
        # uint8 glyphs, 16 KiB each at 128 px (not 64 KiB as float32): at most 8 MiB each. Rendering
        # a glyph takes ~4 ms against ~100 ms for its forward pass, so a bigger cache buys little.
        self._source_cache: BoundedCache[np.ndarray] = BoundedCache(GLYPH_CACHE_ENTRIES)
        self._target_cache: BoundedCache = BoundedCache(GLYPH_CACHE_ENTRIES)  # PIL image or None

    # --- loading ---------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path_or_repo: str | Path | None = None, device: str | None = None,
                        revision: str | None = None, **kwargs) -> Stylizer:
        """The shipped checkpoint by default; else a local directory or a Hub repo id."""
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model, config, directory = load_generator(path_or_repo or DEFAULT_CHECKPOINT, device, revision)
        return cls(model, config, directory, device, **kwargs)

    def with_style(self, key: str, label: str, model: UnetGenerator,
                   glyphs: Mapping[str, np.ndarray]) -> Stylizer:
        """This stylizer with one more style, taught by a visitor (``unet.ownstyle``): ``model`` is
        the base plus that style's row (and its merged deltas), ``key`` what requests name it by,
        ``label`` what pages show, ``glyphs`` the visitor's own glyphs (the "real" row, and what a
        complete font keeps). Fonts and caches are shared; the base is not changed."""
        if model.config.num_styles != len(self.style_specs) + 1:
            raise ValueError(f"the model has {model.config.num_styles} styles; expected "
                             f"{len(self.style_specs) + 1}")
        other = copy.copy(self)
        other.model = model.to(self.device).eval()
        other.style_specs = {**self.style_specs, key: None}
        other.own = {**self.own, key: OwnGlyphs(label, dict(glyphs))}
        return other

    def label(self, style: str) -> str:
        """What a page shows for a style: a taught style's name, else the style's own name."""
        own = self.own.get(style)
        return own.label if own is not None else style

    def has_real(self, style: str) -> bool:
        """Whether real glyphs of the style are at hand: its font is installed, or a visitor gave them."""
        return style in self.own or self.target_font(style) is not None

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
        return {n: {"resolution": m.resolution, "gamma": float(m.gamma.detach())}
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
        own = self.own.get(style)
        if own is not None:
            glyph = own.glyphs.get(ch)
            return None if glyph is None else Image.fromarray(np.asarray(glyph, dtype=np.uint8), "L")
        key = (style, ch)
        missing = object()
        img = self._target_cache.get(key, missing)
        if img is missing:
            font = self.target_font(style)
            img = font.render(ch, self.glyph_size) if font is not None and font.draws(ch) else None
            self._target_cache.put(key, img)
        return img

    def request(self, text, style: str | None = None, disabled_layers: Iterable[str] = (),
                blend: str | None = None, blend_weight: float = 0.0,
                enabled_layers: Iterable[str] | None = None) -> Request:
        """Validate a request against this model's styles and layers (``GenerationError`` if not).

        ``style``: a name from ``styles`` (default: the first); ``blend``/``blend_weight``: mix in a
        second style (0 = only ``style``, 1 = only ``blend``); ``disabled_layers``: attention layer
        names switched off, or ``enabled_layers``: those left on (the others are switched off).
        """
        return make_request(text, style, blend, blend_weight, disabled_layers, self.styles,
                            self.layer_names, enabled_layers)

    def prepare(self, text: str) -> tuple[list[str], list[Skipped], list[str]]:
        """Split text into usable characters (at most ``max_chars``), skipped ones and notes."""
        notes = []
        if len(text) > MAX_TEXT:
            notes.append(Note(f"only the first {MAX_TEXT:,} of {len(text):,} characters of the text were read",
                              "text_cut", {"limit": f"{MAX_TEXT:,}", "length": f"{len(text):,}"}))
            text = text[:MAX_TEXT]
        if not text.strip():
            raise GenerationError("please type at least one Chinese character", key="error.empty")
        chars, skipped = split_text(text, self.source_font)
        if len(chars) > self.max_chars:
            over = chars[self.max_chars:]
            chars = chars[: self.max_chars]
            skipped += [Skipped(c, f"over the limit of {self.max_chars} characters per request", "over_limit")
                        for c in over]
        if not chars:
            examples = "; ".join(str(s) for s in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
            raise GenerationError(f"none of the characters can be drawn: {examples}", key="error.nothing_drawable",
                                  details=examples)
        return chars, skipped, notes

    def render_sources(self, chars: Sequence[str]) -> torch.Tensor:
        """(B, 1, S, S) in [-1, 1], from the source font in the training normalisation (cached)."""
        out = []
        for ch in chars:
            arr = self._source_cache.get(ch)
            if arr is None:
                arr = self._source_cache.put(ch, np.asarray(self.source_font.render(ch, self.glyph_size),
                                                            dtype=np.uint8))
            out.append(torch.from_numpy(arr.astype(np.float32) / 127.5 - 1.0)[None])
        return torch.stack(out)

    # Three ways in, one word each: ``generate`` takes what a person typed and checks it (as
    # ``DemoService.generate`` does for the page), ``run`` a checked ``Request`` (its text is split
    # into characters here), ``draw`` characters already split (the font exporter's batches) with a
    # checked ``Request`` for the style and the layers.
    def generate(self, text: str, style: str | None = None, disabled_layers: Iterable[str] = (),
                 blend: str | None = None, blend_weight: float = 0.0, capture: bool = False,
                 with_target: bool = True) -> Generation:
        """Text -> styled glyphs in one batched forward pass (``request`` says what the options mean;
        ``capture``: record attention for ``query_maps``)."""
        return self.run(self.request(text, style, disabled_layers, blend, blend_weight), capture,
                        with_target)

    def run(self, req: Request, capture: bool = False, with_target: bool = True) -> Generation:
        """Serve a request made by ``request``: split its text, then ``draw``."""
        chars, skipped, notes = self.prepare(req.text)
        return self.draw(chars, req, capture, with_target, skipped, notes)

    @torch.inference_mode()
    def draw(self, chars: Sequence[str], req: Request, capture: bool = False, with_target: bool = True,
             skipped: Sequence[Skipped] = (), notes: Sequence[str] = ()) -> Generation:
        """Draw ``chars`` (drawable by the source font, as ``prepare`` or ``split_text`` left them) in
        ``req``'s style with ``req``'s layers switched off; ``req.text`` is not read."""
        chars = list(chars)
        weights = req.weights(self.styles)
        src = self.render_sources(chars).to(self.device)  # (B, 1, S, S)
        parts: dict[str, list[LayerCapture]] = {}

        def record(name, module, x, y):
            r = module.resolution  # the feature map is r x r
            with torch.autocast(x.device.type, enabled=False):  # maps in full precision
                x, y = x.float(), y.float()
                q, k = module.query_key(x)  # (B, N, d) each; v is not needed
                received = torch.empty(x.shape[0], r * r)
                for b in range(x.shape[0]):  # one (N, N) map at a time keeps memory bounded
                    received[b] = module.attention_map(q[b:b + 1], k[b:b + 1])[0].mean(0).cpu()
            contribution = (y - x).flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1).clamp_min(1e-12)
            parts.setdefault(name, []).append(LayerCapture(name, r, float(module.gamma), q.cpu(), k.cpu(),
                                                           received.reshape(-1, r, r), contribution.cpu()))

        style_vec = None
        if self.model.config.num_styles:
            style_vec = torch.tensor([weights[s] for s in self.styles], device=self.device)
        outs = []
        # Glyphs are independent in eval mode (BatchNorm uses its running statistics), so a long
        # request runs in chunks: the same outputs, with the working set of FORWARD_BATCH glyphs.
        for chunk in src.split(FORWARD_BATCH):
            with attention_hooks(self.model, req.disabled, record if capture else None), \
                    torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                outs.append(self.model(chunk, style_vec).float())  # (b, 1, S, S)
        out = torch.cat(outs)  # (B, 1, S, S)
        captures = {n: LayerCapture.concat(parts[n]) for n in self.layer_names if n in parts}  # outermost first
        name = max(weights, key=weights.get)
        target = [self.render_target(name, c) for c in chars] if with_target else [None] * len(chars)
        return Generation(chars=chars, source=[tensor_to_image(t) for t in src],
                          generated=[tensor_to_image(t) for t in out], target=target,
                          skipped=list(skipped), style=name, weights=weights,
                          disabled_layers=list(req.disabled), glyph_size=self.glyph_size,
                          layers=captures, notes=list(notes), request=req)
