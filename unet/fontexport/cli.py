"""``python -m unet.font`` (or ``python -m unet.fontexport``): a font of generated glyphs.

Characters come from ``--charset`` (named charsets joined by ``+``, a UTF-8 text file, or the
characters themselves); the export is checked once (``plan_export``) before any glyph is drawn.
"""

from __future__ import annotations

import argparse
import sys

from ..engine.charsets import resolve_charset
from ..engine.stylizer import Stylizer
from ..startup import exit_on_sigterm, run_cli
from .build import FORMATS
from .export import format_for, plan_export, write_font

PROG = "python -m unet.font"


def main(argv=None) -> int:
    """The command line; a problem the person can fix is one line on stderr and exit status 2."""
    return run_cli(lambda: _main(argv), PROG)


def _main(argv=None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--charset", required=True,
                   help="named charset(s) joined by + (gb2312-1, big5-1, ...), a UTF-8 text file, or "
                        "the characters themselves")
    p.add_argument("--out", required=True, help="font file to write (.ttf or .otf)")
    p.add_argument("--style", default=None, help="style name (default: the model's first)")
    p.add_argument("--format", choices=FORMATS, default=None, help="default: from --out's suffix, else ttf")
    p.add_argument("--complete", action="store_true",
                   help="keep the real font's own glyphs where it has them; generate only the rest")
    p.add_argument("--vectorizer", default="auto", choices=("auto", "potrace", "contours"))
    p.add_argument("--family", default=None, help="family name (default: 'Glyph Attention <style>')")
    p.add_argument("--checkpoint", default=None, help="directory or Hub repo id (default: shipped model)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    a = p.parse_args(argv)
    import torch
    from tqdm.auto import tqdm

    if a.threads:
        torch.set_num_threads(a.threads)
    bar = None

    def progress(fraction, message):
        nonlocal bar
        if bar is None:
            bar = tqdm(total=100, unit="%", bar_format="{l_bar}{bar}| {elapsed}<{remaining}")
        bar.set_description(message)
        bar.update(round(100 * fraction) - bar.n)

    # SIGTERM (a service stopping, a container shutting down) unwinds like an error, so write_font
    # removes its unfinished .part file instead of leaving it beside --out.
    with exit_on_sigterm():
        try:
            text = "".join(resolve_charset(a.charset))
            st = Stylizer.from_pretrained(a.checkpoint)
            plan = plan_export(st, text, a.style, format_for(a.out, a.format), a.complete, a.vectorizer,
                               a.family)
            report = write_font(st, plan, a.out, progress=progress)
        finally:
            if bar is not None:
                bar.close()  # before any error line, so the line is not drawn over the bar
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
