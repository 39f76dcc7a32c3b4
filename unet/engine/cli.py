"""Command line generation: ``python -m unet.infer "永和九年" --style "LXGW WenKai" --out sheet.png``.

``--maps-dir DIR`` also writes, per character, the mean-attention-received overlay of every layer
and (with ``--query X Y`` in glyph pixels) the query-point maps.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

from ..errors import UserError
from ..startup import run_cli
from .request import parse_point
from .stylizer import Generation, Stylizer
from .visualize import glyph_sheet, heatmap_overlay

PROG = "python -m unet.infer"


def main(argv=None) -> int:
    """The command line; a problem the person can fix is one line on stderr and exit status 2."""
    return run_cli(lambda: _main(argv), PROG)


def _main(argv=None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("text")
    p.add_argument("--checkpoint", default=None, help="directory or Hub repo id (default: shipped model)")
    p.add_argument("--style", default=None)
    p.add_argument("--blend", default=None, help="second style to mix in")
    p.add_argument("--blend-weight", type=float, default=0.0)
    p.add_argument("--disable", action="append", default=[], help="attention layer to switch off")
    p.add_argument("--out", default="sheet.png")
    p.add_argument("--maps-dir", default=None)
    p.add_argument("--query", type=float, nargs=2, default=None, metavar=("X", "Y"))
    a = p.parse_args(argv)
    if Path(a.out).suffix.lower() not in Image.registered_extensions():  # before minutes of work
        raise UserError(f"--out {a.out}: not an image file name (use .png)")
    st = Stylizer.from_pretrained(a.checkpoint)
    req = st.request(a.text, a.style, a.disable, a.blend, a.blend_weight)
    query = parse_point(*a.query, st.glyph_size) if a.query else None  # before the forward pass
    out = st.run(req, capture=a.maps_dir is not None)
    rows = [("source", out.source), (out.style, out.generated)]
    if any(t is not None for t in out.target):
        rows.append(("real", out.target))
    try:
        glyph_sheet(rows, out.chars)[0].save(a.out)
        if a.maps_dir:
            write_maps(out, Path(a.maps_dir), query)
    except OSError as e:  # a folder that is missing or not writable
        raise UserError(f"cannot write {e.filename or a.out}: {e.strerror or e}") from e
    print(f"wrote {a.out} ({len(out.chars)} characters)")
    for s in out.skipped:
        print(f"skipped {s}")
    if a.maps_dir:
        print(f"wrote attention maps to {a.maps_dir}")
    return 0


def write_maps(out: Generation, directory: Path, query: tuple[float, float] | None) -> None:
    """Per character and layer: the mean-received overlay, and the query map where one is asked for
    (``query``: a point already checked by ``parse_point``)."""
    directory.mkdir(parents=True, exist_ok=True)
    for i, ch in enumerate(out.chars):
        stem = f"{i:02d}_U+{ord(ch):04X}"
        for name, cap in out.layers.items():
            heatmap_overlay(out.generated[i], cap.mean_received[i].numpy()).save(
                directory / f"{stem}_{name}_received.png")
        if query:
            for name, cap in out.layers.items():
                heatmap_overlay(out.generated[i], cap.query_map(i, *query, out.glyph_size), query,
                                glyph_size=out.glyph_size).save(directory / f"{stem}_{name}_query.png")


if __name__ == "__main__":
    sys.exit(main())
