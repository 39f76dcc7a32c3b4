"""Does a visitor's fine-tune slow the live demo? ``python -m benchmarks.tune_load [--rounds 2]``.

Starts ``python app.py`` (as a Space runs it), has one client upload 300 glyphs of a font the model
never saw and teach them for a minute (/upload_glyphs, /teach_style), and times /generate for new
8-character texts from another client: alone, and while the fine-tune runs (its worker at its lower
CPU priority, as shipped). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import zipfile
from pathlib import Path

from .measure import md_table
from .under_load import generate_timings


def glyph_zip(directory: Path, count: int = 300) -> str:
    """A ZIP of ``count`` glyph images of MotoyaLMaru (Debian fonts-motoya-l-maruberi), else WenKai."""
    from unet.engine.charsets import load_charset
    from unet.engine.glyphs import Font
    from unet.errors import FontError

    try:
        font = Font("MTLmr3m.ttf")
    except FontError:
        font = Font("LXGWWenKai-Regular.ttf")
    chars = [c for c in load_charset("gb2312-1") if font.draws(c)][:count]
    path = directory / "glyphs.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for ch in chars:
            png = io.BytesIO()
            font.render(ch, 128).save(png, format="PNG")
            zf.writestr(f"{ch}.png", png.getvalue())
    return str(path)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.tune_load", description=__doc__)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--minutes", type=int, default=1)
    a = p.parse_args(argv)
    import gradio_client

    from .stylizer import TextPool, app_stylizer

    pool = TextPool(app_stylizer()[0])
    label = "during a fine-tune (nice 10, shipped)"
    timings: dict[str, list[float]] = {"alone": [], label: []}
    tune_s: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        zip_path = glyph_zip(Path(tmp))
        for _ in range(a.rounds):
            # 15 s: past reading the glyphs and choosing the start style, into the training
            alone, during, took = generate_timings(
                pool, lambda c: c.predict("bench", a.minutes, api_name="/teach_style"), settle_s=15.0,
                prepare=lambda c: c.predict(gradio_client.handle_file(zip_path), api_name="/upload_glyphs"))
            timings["alone"] += alone
            timings[label] += during
            tune_s.append(took)
    alone = statistics.median(timings["alone"])
    rows = [[k, str(len(v)), f"{1e3 * statistics.median(v):.0f}", f"{statistics.median(v) / alone:.2f}×",
             f"{1e3 * max(v):.0f}"] for k, v in timings.items() if v]
    print(f"## /generate (8 new characters) while another visitor's {a.minutes}-minute fine-tune runs "
          f"(the fine-tune took {statistics.median(tune_s):.0f} s end to end)\n")
    print(md_table(["case", "n", "p50 ms", "÷ alone", "max ms"], rows))


if __name__ == "__main__":
    main()
