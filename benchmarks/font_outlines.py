"""Outline quality of an exported font against the style's real font, on the same characters:
``python -m benchmarks.font_outlines [--n 300 | --chars TEXT] [--style "LXGW WenKai"] [--before FILE]``.

The shipped model draws the characters (default: 300 spread evenly over GB2312 level 1), each bitmap
is traced, placed and cleaned as ``unet.fontexport.outline_glyph`` does for an export, and the glyphs
are built into a TrueType font. Against the style's real font (its TrueType glyphs, same characters):

- points per glyph (on- and off-curve points of the ``glyf`` table: median, p95, max);
- contours per glyph, and how many glyphs have fewer contours than the real font's glyph after its
  overlaps are removed as the exporter removes ours ("fused": strokes run together, counters closed);
- tiny contours: bounding box under 20 x 20 font units (UPM 1000), specks made into contours;
- bytes per glyph: each glyph's ``glyf`` record compiled (the real font has no hinting either), and
  the whole file's size over the glyphs in it (what the issue compared: 1.9 KB against 0.54 KB);
- round-trip SSIM: each exported glyph read back from the font file, moved back onto the 128 px
  canvas by the inverse of its placement, rasterised (4 x 4 supersampled) and compared with the
  bitmap it was traced from (no refit: tracing, fitting, curve conversion and rounding loss only);
- the ceiling: SSIM of the bitmap against its own thresholded ink (as the tracer sees it), what no
  solid outline can beat: the model's grey, mottled ink, not the tracing, is what stays below it;
- trace ms/glyph: ``trace`` alone, and trace + place + remove overlaps (``outline_glyph``), one thread.

The rows in italics do the same with the real font's own glyphs in place of the model's bitmaps
(normalised as the model's outputs are: what a perfect model would draw): what the tracing alone
fuses, and its round-trip SSIM without the model's soft grey edges, which no outline can match.

``--before FILE`` also runs another version of ``unet/fontexport/trace.py`` (e.g. ``git show
REV:unet/fontexport/trace.py > /tmp/trace_before.py``) on the same bitmaps, as a second column.
``--save DIR`` keeps the fonts. Prints a markdown table; not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from fontTools.pens.basePen import BasePen
from fontTools.pens.transformPen import TransformPen
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw
from skimage.metrics import structural_similarity

import unet.fontexport.export as export_module
from unet import fontexport as F
from unet.engine.charsets import gb2312_level1
from unet.engine.stylizer import Stylizer
from unet.fontexport.trace import THRESHOLD, potrace_path, trace, upsampled
from unet.settings import EXPORT_BATCH

from .measure import md_table

TINY = 20  # font units: a contour whose bounding box is smaller than this both ways is a speck
SUPERSAMPLE = 4


def sample_chars(n: int) -> list[str]:
    """``n`` characters spread evenly over GB2312 level 1 (every k-th)."""
    level1 = gb2312_level1()
    return list(level1[:: max(1, len(level1) // n)][:n])


# --- measuring a font's glyphs -----------------------------------------------------------------

def glyph_stats(font: TTFont, chars: list[str]) -> dict[str, np.ndarray]:
    """Per character: points, contours, tiny contours, compiled bytes; contours after overlap removal."""
    glyf, cmap = font["glyf"], font.getBestCmap()
    glyph_set = font.getGlyphSet()
    rows = []
    for ch in chars:
        name = cmap[ord(ch)]
        glyph = glyf[name]
        coords, ends, _ = glyph.getCoordinates(glyf)
        coords = np.asarray(coords, dtype=float).reshape(-1, 2)
        tiny, start = 0, 0
        for end in ends:
            part = coords[start:end + 1]
            w, h = part.max(0) - part.min(0)
            tiny += bool(w < TINY and h < TINY)
            start = end + 1
        merged = F.clean_path(lambda pen, n=name: glyph_set[n].draw(pen), even_odd=False)
        rows.append((len(coords), len(ends), tiny, len(glyph.compile(glyf)), len(list(merged.contours))))
    a = np.array(rows, dtype=float).reshape(-1, 5)
    return {"points": a[:, 0], "contours": a[:, 1], "tiny": a[:, 2], "bytes": a[:, 3], "merged": a[:, 4]}


_CUBIC_T = [(i / 10, 1 - i / 10) for i in range(1, 11)]
_QUAD_T = [(i / 6, 1 - i / 6) for i in range(1, 7)]


class _Polygons(BasePen):
    """Flattens a glyph's contours into polygons (cubic curves in 10 steps, quadratic ones in 6)."""

    def __init__(self):
        super().__init__(None)
        self.polygons, self._current = [], []

    def _moveTo(self, p):
        self._current = [p]

    def _lineTo(self, p):
        self._current.append(p)

    def _curveToOne(self, p1, p2, p3):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self._getCurrentPoint(), p1, p2, p3
        self._current += [(u * u * u * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t * t * t * x3,
                           u * u * u * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t * t * t * y3)
                          for t, u in _CUBIC_T]

    def _qCurveToOne(self, p1, p2):
        (x0, y0), (x1, y1), (x2, y2) = self._getCurrentPoint(), p1, p2
        self._current += [(u * u * x0 + 2 * u * t * x1 + t * t * x2, u * u * y0 + 2 * u * t * y1 + t * t * y2)
                          for t, u in _QUAD_T]

    def _closePath(self):
        if len(self._current) > 2:
            self.polygons.append(self._current)
        self._current = []

    _endPath = _closePath


def rasterise(draw, size: int = 128) -> Image.Image:
    """A drawing (``draw(pen)``, canvas pixels, y down) as a grey glyph: ink black on white, even-odd
    (the font's contours do not overlap, so each one flips what it covers)."""
    pen = _Polygons()
    draw(TransformPen(pen, (SUPERSAMPLE, 0, 0, SUPERSAMPLE, 0, 0)))
    big = size * SUPERSAMPLE
    ink = np.zeros((big, big), dtype=bool)
    for polygon in pen.polygons:
        mask = Image.new("1", (big, big), 0)
        ImageDraw.Draw(mask).polygon([tuple(p) for p in polygon], fill=1)
        ink ^= np.asarray(mask, dtype=bool)
    grey = 1.0 - ink.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE).mean(axis=(1, 3))
    return Image.fromarray(np.round(grey * 255).astype(np.uint8))


def ssim(a: Image.Image, b: Image.Image) -> float:
    return float(structural_similarity(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                                       data_range=255))


def solid_ceiling(bitmap: Image.Image) -> float:
    """SSIM of the bitmap against its own ink as the tracer sees it (upsampled, thresholded, averaged
    back down): what any solid outline can reach; the model's grey, mottled ink keeps it below 1."""
    up = np.asarray(upsampled(bitmap), dtype=np.float64) / 255.0
    solid = Image.fromarray(((up >= THRESHOLD) * 255).astype(np.uint8)).resize(bitmap.size, Image.Resampling.BOX)
    return ssim(solid, bitmap.convert("L"))


def invert(m: tuple) -> tuple:
    a, b, c, d, e, f = m
    det = a * d - b * c
    return (d / det, -b / det, -c / det, a / det, (c * f - d * e) / det, (b * e - a * f) / det)


# --- one variant -------------------------------------------------------------------------------

def load_trace_module(path: Path):
    """Another version of ``unet/fontexport/trace.py``, imported inside the package (relative imports)."""
    spec = importlib.util.spec_from_file_location("unet.fontexport._trace_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def tracing_with(trace_fn):
    """``outline_glyph`` traces with ``trace_fn`` inside the block."""
    saved = export_module.trace
    export_module.trace = trace_fn
    try:
        yield
    finally:
        export_module.trace = saved


def run_variant(st: Stylizer, bitmaps: list, trace_fn, vectorizer: str, geometry, out: Path) -> dict:
    chars = [c for c, _, _ in bitmaps]
    t = time.perf_counter()
    for _, bitmap, _ in bitmaps:
        trace_fn(bitmap, vectorizer)
    trace_s = (time.perf_counter() - t) / len(bitmaps)
    t = time.perf_counter()
    with tracing_with(trace_fn):
        glyphs = [F.outline_glyph(c, g, st.source_font, s, vectorizer, geometry) for c, g, s in bitmaps]
    outline_s = (time.perf_counter() - t) / len(bitmaps)
    names = F.FontNames("Outlines", "Outlines", "Machine-generated benchmark font", "none")
    F.build_font(glyphs, names, "ttf").save(out)
    font = TTFont(out)
    stats = glyph_stats(font, chars)
    glyph_set, cmap = font.getGlyphSet(), font.getBestCmap()
    scores = []
    for c, bitmap, source in bitmaps:
        matrix = F.placement_matrix(F.Placement.from_source(st.source_font, c, source), st.source_font, c,
                                    geometry)
        back = rasterise(lambda pen, n=cmap[ord(c)], m=matrix: glyph_set[n].draw(TransformPen(pen, invert(m))),
                         bitmap.width)
        scores.append(ssim(back, bitmap.convert("L")))
    return {**stats, "ssim": np.array(scores), "ceiling": np.array([solid_ceiling(b) for _, b, _ in bitmaps]), "trace_ms": 1e3 * trace_s, "outline_ms": 1e3 * outline_s,
            "file": out.stat().st_size / font["maxp"].numGlyphs}


def table(real: dict | None, variants: dict[str, dict]) -> str:
    """Rows per measure; columns: the real font, then each variant (``{"model": ..., "crisp": ...}``:
    traced from the model's bitmaps, and from the real font's own glyphs drawn the same way)."""
    names = list(variants)
    header = ["per glyph"] + (["real font"] if real else []) + names
    n = len(next(iter(variants.values()))["model"]["points"])

    def row(label, fn, fmt="{:.0f}", kind="model", ratio=False, of_real=True):
        cells = [label]
        if real:
            cells.append(fmt.format(fn(real)) if of_real else "")
        for name in names:
            v = variants[name].get(kind)
            value = fn(v) if v else None
            cell = "" if value is None else fmt.format(value)
            if ratio and real and value is not None:
                cell += f" ({value / fn(real):.2f}×)"
            cells.append(cell)
        return cells

    def fused(v):
        return None if real is None else int((v["contours"] < real["merged"]).sum())

    return md_table(header, [
        row("points: median", lambda v: np.median(v["points"]), ratio=True),
        row("points: p95", lambda v: np.percentile(v["points"], 95), ratio=True),
        row("points: max", lambda v: v["points"].max(), ratio=True),
        row("contours: mean", lambda v: v["contours"].mean(), "{:.2f}"),
        row(f"glyphs with fewer contours than the real font (of {n})", fused, of_real=False),
        row("tiny contours (< 20 × 20 units), all glyphs", lambda v: v["tiny"].sum()),
        row("glyphs with a tiny contour", lambda v: (v["tiny"] > 0).sum()),
        row("bytes (glyf record): mean", lambda v: v["bytes"].mean(), ratio=True),
        row("file bytes / glyphs in the file (whole TTF)", lambda v: v["file"], ratio=True),
        row("round-trip SSIM: median", lambda v: np.median(v["ssim"]), "{:.3f}", of_real=False),
        row("round-trip SSIM: min", lambda v: v["ssim"].min(), "{:.3f}", of_real=False),
        row("SSIM of the thresholded bitmap (no solid outline does better): median",
            lambda v: np.median(v["ceiling"]), "{:.3f}", of_real=False),
        row("trace ms/glyph", lambda v: v["trace_ms"], "{:.1f}", of_real=False),
        row("trace + place + remove overlaps ms/glyph", lambda v: v["outline_ms"], "{:.1f}", of_real=False),
        row("*real font's glyphs traced:* points: median", lambda v: np.median(v["points"]), kind="crisp",
            ratio=True),
        row(f"*real font's glyphs traced:* fewer contours than the real font (of {n})", fused,
            kind="crisp", of_real=False),
        row("*real font's glyphs traced:* round-trip SSIM: median", lambda v: np.median(v["ssim"]),
            "{:.3f}", kind="crisp", of_real=False),
        row("*real font's glyphs traced:* SSIM of the thresholded bitmap: median", lambda v: np.median(v["ceiling"]),
            "{:.3f}", kind="crisp", of_real=False),
        row("*real font's glyphs traced:* round-trip SSIM: min", lambda v: v["ssim"].min(), "{:.3f}",
            kind="crisp", of_real=False),
    ])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.font_outlines", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=300, help="characters spread over GB2312 level 1 (default 300)")
    p.add_argument("--chars", help="these characters instead")
    p.add_argument("--style", default="LXGW WenKai")
    p.add_argument("--vectorizer", default="auto", help="auto, potrace or contours")
    p.add_argument("--before", type=Path, help="another trace.py to compare with, on the same bitmaps")
    p.add_argument("--save", type=Path, help="keep the fonts (and the bitmaps) in this folder")
    p.add_argument("--threads", type=int, default=2, help="torch threads for drawing the glyphs")
    a = p.parse_args(argv)
    started = time.perf_counter()
    torch.set_num_threads(a.threads)
    st = Stylizer.from_pretrained()
    vectorizer = F.pick_vectorizer(a.vectorizer)
    real_font = st.target_font(a.style)
    chars = [c for c in (list(dict.fromkeys(a.chars)) if a.chars else sample_chars(a.n))
             if st.source_font.draws(c)]
    if real_font is not None:
        chars = [c for c in chars if real_font.draws(c)]
    req = st.request("".join(chars), a.style)
    bitmaps = []
    for i in range(0, len(chars), EXPORT_BATCH):
        gen = st.draw(chars[i:i + EXPORT_BATCH], req, with_target=False)
        bitmaps += list(zip(gen.chars, gen.generated, gen.source))
    geometry = F.style_geometry(st, a.style)
    # what a perfect model would draw: the real font's glyphs, normalised as the model's outputs are
    crisp = [(c, real_font.render(c, st.glyph_size), s) for c, _, s in bitmaps] if real_font else []
    modules = {}
    if a.before:
        modules["before"] = load_trace_module(a.before).trace
    modules["after" if a.before else "export"] = trace
    variants = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = a.save or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name, trace_fn in modules.items():
            variants[name] = {"model": run_variant(st, bitmaps, trace_fn, vectorizer, geometry,
                                                   folder / f"{name}.ttf")}
            if crisp:
                variants[name]["crisp"] = run_variant(st, crisp, trace_fn, vectorizer, geometry,
                                                      folder / f"{name}-real-glyphs.ttf")
        if a.save:
            for c, g, _ in bitmaps:
                g.save(folder / f"U+{ord(c):04X}.png")
    real = None
    if real_font is not None and real_font.path.suffix.lower() == ".ttf" and real_font.face_index == 0:
        tt = TTFont(real_font.path)
        if tt["head"].unitsPerEm == F.UPM:
            real = {**glyph_stats(tt, chars), "file": real_font.path.stat().st_size / tt["maxp"].numGlyphs}
    print(f"## Outlines: {len(chars)} characters, style {a.style!r}, {vectorizer}"
          + (f"; real font {real_font.path.name}" if real else "") + "\n")
    print(table(real, variants))
    print(f"\n_{time.perf_counter() - started:.0f} s; characters: {''.join(chars[:40])}"
          f"{'…' if len(chars) > 40 else ''}; potrace {'installed' if potrace_path() else 'missing'}._")


if __name__ == "__main__":
    main()
