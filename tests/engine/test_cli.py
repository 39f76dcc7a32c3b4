"""``python -m unet.infer``: what a user types, run as a user runs it."""

from __future__ import annotations

import subprocess
import sys

from PIL import Image

from ..support import REPO


def infer(*args: str):
    return subprocess.run([sys.executable, "-m", "unet.infer", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_cli_writes_a_sheet_and_maps(tmp_path):
    r = infer("永和", "--style", "AR PL UKai", "--out", str(tmp_path / "s.png"),
              "--maps-dir", str(tmp_path / "maps"), "--query", "64", "40", "--disable", "16x16")
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and Image.open(tmp_path / "s.png").size[0] > 2 * 64
    names = sorted(p.name for p in (tmp_path / "maps").iterdir())
    assert names == ["00_U+6C38_32x32_query.png", "00_U+6C38_32x32_received.png",
                     "01_U+548C_32x32_query.png", "01_U+548C_32x32_received.png"]


def test_cli_errors_are_messages_not_tracebacks(tmp_path):
    for args, message in [(["永", "--disable", "bogus"], "unknown attention layer(s) ['bogus']"),
                          (["永", "--style", "Comic Sans"], "unknown style 'Comic Sans'"),
                          (["😀"], "none of the characters can be drawn"),
                          (["永", "--blend", "AR PL UKai", "--blend-weight", "2"], "blend weight"),
                          (["永", "--maps-dir", str(tmp_path), "--query", "1e400", "1"], "query point")]:
        r = infer(*args, "--out", str(tmp_path / "x.png"))
        assert r.returncode == 2, (args, r.stderr)
        assert message in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_start_up_problems_are_one_line(tmp_path):
    broken = tmp_path / "ckpt"
    broken.mkdir()
    (broken / "config.json").write_text('{"generator": {}, "styles": "LXGW WenKai"}')
    for args, message in [(["永", "--checkpoint", str(broken)], f"{broken / 'config.json'}: styles: "),
                          (["永", "--out", str(tmp_path / "sheet.txt")], "not an image file name"),
                          (["永", "--out", str(tmp_path / "no" / "such" / "dir.png")], "cannot write")]:
        r = infer(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.startswith("python -m unet.infer: error: ") and r.stderr.count("\n") == 1, r.stderr
        assert message in r.stderr, r.stderr
