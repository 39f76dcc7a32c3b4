"""Teach the model your style without the app:
``python -m unet.finetune --glyphs FONT_OR_ZIP --out DIR [--minutes 10] [--chars N]``.

Reads the glyphs as the app does (a font, or a ZIP of images named by character), holds back about
10 % to score, fine-tunes a new style for ``--minutes`` and writes ``DIR/style.safetensors`` (load it
in the app's "Your own style" tab, or carry on with ``--resume``) and ``DIR/heldout.png`` (the
held-back glyphs: yours, then the style's). Progress is printed as it goes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from ..engine.stylizer import Stylizer
from ..engine.visualize import glyph_sheet
from ..errors import UserError
from ..startup import run_cli
from .stylefile import base_fingerprint, clean_name, load_style, style_bytes
from .tune import TRAIN_MODES, TuneConfig, draw, source_pairs, to_unit, tune_style
from .upload import read_glyphs

PROG = "python -m unet.finetune"


def main(argv=None) -> int:
    return run_cli(lambda: _main(argv), PROG)


def _main(argv=None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--glyphs", required=True, help="a font (TTF, OTF, TTC, WOFF2) or a ZIP of glyph images")
    p.add_argument("--out", required=True, help="folder for style.safetensors and heldout.png")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--chars", type=int, default=None, help="use at most N of the glyphs (default: all read)")
    p.add_argument("--name", default="My style")
    p.add_argument("--train", choices=TRAIN_MODES, default=TuneConfig.train)
    p.add_argument("--rank", type=int, default=TuneConfig.lora_rank,
                   help="LoRA rank with --train lora (README: rank 32 scored higher on a round face)")
    p.add_argument("--steps", type=int, default=None, help="stop after N steps (default: by time)")
    p.add_argument("--checkpoint", default=None, help="base model (default: the shipped one)")
    p.add_argument("--resume", default=None, help="a style file to carry on from")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--device", default="cpu", help="cpu, or cuda where there is a GPU")
    a = p.parse_args(argv)
    if a.chars is not None and a.chars < 1:
        raise UserError(f"--chars must be at least 1, got {a.chars}")
    cfg = TuneConfig(train=a.train, minutes=a.minutes, steps=a.steps, lora_rank=a.rank,
                     device=a.device)  # checks before work
    out = Path(a.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot write to {out}: {e.strerror or e}") from e
    if a.threads:
        torch.set_num_threads(a.threads)
    st = Stylizer.from_pretrained(a.checkpoint, device="cpu")
    base_id = base_fingerprint(st.model)
    resume = load_style(a.resume, st.model, base_id) if a.resume else None
    upload = read_glyphs(a.glyphs, size=st.glyph_size)
    pairs = source_pairs(st.source_font, upload.chars, upload.glyphs, st.glyph_size, a.chars)
    print(f"read {len(upload.chars)} glyphs from {upload.label}; {len(pairs.chars)} used"
          + (f", {len(pairs.not_in_source)} not drawn by the source font" if pairs.not_in_source else ""))
    for kind, count in upload.summary().get("rejected", {}).items():
        print(f"  skipped {count}: {kind}")

    def progress(r):
        left = max(0.0, r.budget_s - r.elapsed_s)
        print(f"step {r.step:5d}  {r.elapsed_s / 60:5.1f} min  ({left / 60:4.1f} left)  loss {r.loss:.4f}  "
              f"held-back SSIM {r.heldout_ssim:.3f}  dithered {r.heldout_dithered:.0%}", flush=True)

    names = st.styles
    tuned = tune_style(st.model, names, pairs.source, pairs.target, pairs.chars, cfg, progress,
                       resume=resume)
    path = out / "style.safetensors"
    path.write_bytes(style_bytes(tuned, clean_name(a.name), base_id, st.directory.name, pairs.target))
    held = [pairs.chars.index(c) for c in tuned.heldout_chars]
    drawn = draw(tuned.model, to_unit(pairs.source[held]), tuned.style_index)
    rows = [("yours", [torch.from_numpy(pairs.target[i].astype(np.float32) / 127.5 - 1) for i in held]),
            ("style", [torch.from_numpy(d * 2 - 1) for d in drawn])]
    glyph_sheet(rows, tuned.heldout_chars)[0].save(out / "heldout.png")
    before = tuned.before.get("ssim")
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB) and {out / 'heldout.png'}")
    print(f"held-back glyphs: SSIM {tuned.heldout['ssim']:.3f} (start: {tuned.start_style}"
          + (f", {before:.3f}" if before is not None else "") + f"), dithered {tuned.heldout['dithered']:.0%}; "
          f"{tuned.steps} steps in {tuned.seconds / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
