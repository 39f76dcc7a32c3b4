"""Table 8: font export (``unet.font``): ms per glyph for each stage on a sample, and a whole GB2312
level-1 font (3,755 characters) end to end as ``python -m unet.font`` makes it."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from unet import fontexport as F
from unet.engine.charsets import gb2312_level1
from unet.engine.stylizer import Stylizer
from unet.fontexport.trace import potrace_path, trace
from unet.settings import EXPORT_BATCH

from . import measure as m

TARGET_LEVEL1_S = 180  # the target: the whole level-1 font in <= 3 minutes on 2 cores


def _per_glyph(fn, items) -> tuple[float, list]:
    """Seconds per item of ``fn`` over ``items``, and its results."""
    t = time.perf_counter()
    out = [fn(i) for i in items]
    return (time.perf_counter() - t) / len(items), out


def table_font(rep: m.Report, quick: bool, st: Stylizer, tiny: bool = False) -> dict:
    started = time.perf_counter()
    load0 = m.loadavg()
    style = st.styles[0]
    sample = list(gb2312_level1()[::15][:16 if tiny else 128 if quick else 256])
    threads = torch.get_num_threads()
    results: dict = {}
    with m.num_threads(threads):
        t = time.perf_counter()
        req = st.request("".join(sample), style)
        gens = [st.draw(sample[i:i + EXPORT_BATCH], req, with_target=False)
                for i in range(0, len(sample), EXPORT_BATCH)]
        results["generate"] = (time.perf_counter() - t) / len(sample)
    bitmaps = [(c, g, s) for gen in gens for c, g, s in zip(gen.chars, gen.generated, gen.source)]
    vectorizers = ["potrace", "contours"] if potrace_path() else ["contours"]
    glyphs = {}
    for vec in vectorizers:
        results[f"trace {vec}"], _ = _per_glyph(lambda b, v=vec: trace(b[1], v), bitmaps)
        results[f"trace+place+clean {vec}"], glyphs[vec] = _per_glyph(
            lambda b, v=vec: F.outline_glyph(b[0], b[1], st.source_font, b[2], v), bitmaps)
    names = F.FontNames("Benchmark", "Benchmark", "Machine-generated benchmark font", "none")
    best = glyphs[vectorizers[0]]
    for fmt in F.FORMATS:
        t = time.perf_counter()
        font = F.build_font(best, names, fmt)
        with tempfile.TemporaryDirectory() as tmp:
            font.save(Path(tmp) / f"b.{fmt}")
            results[f"size {fmt}"] = (Path(tmp) / f"b.{fmt}").stat().st_size / len(best)
        results[f"build {fmt}"] = (time.perf_counter() - t) / len(best)

    level1 = "".join(gb2312_level1())
    e2e_chars = level1[:64] if tiny else level1[:512] if quick else level1
    with tempfile.TemporaryDirectory() as tmp, m.num_threads(threads):
        out = Path(tmp) / "level1.ttf"
        t = time.perf_counter()
        report = F.export_font(st, e2e_chars, out, style)
        e2e = time.perf_counter() - t
    results["e2e"] = (e2e, len(report.generated), report.size, report.seconds, report.vectorizer)

    rows = [["generate (Stylizer, batches of 64)", m.ms(results["generate"]), ""]]
    for vec in vectorizers:
        rows.append([f"trace: {vec}", m.ms(results[f"trace {vec}"]), ""])
        rows.append([f"trace + place + remove overlaps: {vec}", m.ms(results[f"trace+place+clean {vec}"]), ""])
    for fmt in F.FORMATS:
        rows.append([f"build + save {fmt.upper()} ({vectorizers[0]} outlines)", m.ms(results[f"build {fmt}"]),
                     f"{results[f'size {fmt}'] / 1024:.2f} KiB/glyph"])
    n, size, seconds = results["e2e"][1], results["e2e"][2], results["e2e"][3]
    scale = len(level1) / n
    rows.append([f"**end to end, {n:,} characters** (`export_font`, TTF, {results['e2e'][4]})",
                 m.ms(e2e / n), f"{e2e:.0f} s, {size / 1e6:.1f} MB"
                 + ("" if n == len(level1) else f" (level 1 extrapolated: {e2e * scale:.0f} s)")])
    rep.add("## 8. Font export\n\n"
            f"Style {style!r}, {threads} torch thread(s), {len(bitmaps)} characters of GB2312 level 1 "
            "(every 15th) for the stage rows.\n\n"
            + m.md_table(["stage", "ms / glyph", "note"], rows)
            + f"\n\nEnd to end: {', '.join(f'{k} {v:.1f} s' for k, v in seconds.items())} (generation "
            "and tracing overlap: tracing runs on two threads while the next batch is generated). "
            f"Target: the whole level-1 font (3,755 characters) in ≤ {TARGET_LEVEL1_S} s on 2 cores. "
            f"{m.load_note(load0)}", 8, started)
    return results


def summary_rows(results: dict) -> list[list[str]]:
    e2e, n = results["e2e"][0], results["e2e"][1]
    level1 = e2e * len(gb2312_level1()) / n
    extrapolated = "" if n == len(gb2312_level1()) else " (extrapolated)"
    return [["font export: GB2312 level 1 (3,755 glyphs) end to end, 2 cores", f"≤ {TARGET_LEVEL1_S} s",
             f"{level1:.0f} s{extrapolated}", m.verdict(level1 <= TARGET_LEVEL1_S), "table 8"]]
