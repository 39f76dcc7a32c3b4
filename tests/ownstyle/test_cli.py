"""``python -m unet.finetune``: a font in, a style file and a held-back sheet out; problems are one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fontTools import subset

from unet.engine.charsets import load_charset
from unet.engine.glyphs import find_font_file
from unet.model import load_generator
from unet.ownstyle.cli import main
from unet.ownstyle.stylefile import base_fingerprint, load_style

from ..support import tiny_checkpoint

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def font(tmp_path_factory) -> Path:
    """40 GB2312 characters of LXGW WenKai, subset (a visitor's partial font)."""
    out = tmp_path_factory.mktemp("f") / "partial.ttf"
    opts = subset.Options()
    opts.name_IDs = ["*"]
    sub = subset.Subsetter(opts)
    from fontTools.ttLib import TTFont

    tt = TTFont(str(find_font_file("LXGWWenKai-Regular.ttf")))
    sub.populate(text="".join(load_charset("gb2312-1")[:40]))
    sub.subset(tt)
    tt.save(str(out))
    return out


def test_cli_teaches_and_writes_a_style_file(tmp_path, font, capsys):
    ckpt = tiny_checkpoint(tmp_path / "ckpt")
    out = tmp_path / "style"
    assert main(["--glyphs", str(font), "--out", str(out), "--steps", "3", "--checkpoint", str(ckpt),
                 "--chars", "30", "--name", "Partial"]) == 0
    printed = capsys.readouterr().out
    assert "read 40 glyphs" in printed and "30 used" in printed and "held-back glyphs: SSIM" in printed
    assert (out / "heldout.png").stat().st_size > 0
    base = load_generator(ckpt)[0]
    style = load_style(out / "style.safetensors", base, base_fingerprint(base))
    assert style.name == "Partial" and len(style.chars) == 30 and style.glyphs.shape == (30, 64, 64)
    # carry on from it
    assert main(["--glyphs", str(font), "--out", str(tmp_path / "more"), "--steps", "2", "--checkpoint",
                 str(ckpt), "--resume", str(out / "style.safetensors")]) == 0
    assert "start: file" in capsys.readouterr().out
    # another LoRA rank: the file carries it, and resuming keeps it
    assert main(["--glyphs", str(font), "--out", str(tmp_path / "r4"), "--steps", "1", "--checkpoint",
                 str(ckpt), "--chars", "30", "--rank", "4"]) == 0
    style = load_style(tmp_path / "r4" / "style.safetensors", base, base_fingerprint(base))
    assert style.rank == 4 and {u.shape[1] for u, _ in style.factors.values()} == {4}


def test_cli_problems_are_one_line(tmp_path):
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    run = subprocess.run([sys.executable, "-m", "unet.finetune", "--glyphs", str(bad), "--out", str(tmp_path / "o")],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "ZIP" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    run = subprocess.run([sys.executable, "-m", "unet.finetune", "--glyphs", str(bad), "--out", str(tmp_path / "o"),
                          "--minutes", "0"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "minutes" in run.stderr
    run = subprocess.run([sys.executable, "-m", "unet.finetune", "--glyphs", str(bad), "--out", str(tmp_path / "o"),
                          "--rank", "65"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "rank must be 1 to 64" in run.stderr and "Traceback" not in run.stderr
