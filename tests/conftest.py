"""Shared fixtures: a tiny two-style glyph dataset and a tiny trained run, each built once per session.

Everything is deliberately small (64 px glyphs, ngf 4, a handful of steps) so the suite runs on two
CPU cores in well under a minute.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # the package is used from the checkout, not installed
    sys.path.insert(0, str(REPO))

from unet.glyphs import FontError, FontSpec, find_font_file  # noqa: E402

NOTO_TTC = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
WENKAI = FontSpec("LXGWWenKai-Regular.ttf")
UKAI = FontSpec("ukai.ttc", "AR PL UKai CN")
# Tiny models are dominated by thread-pool overhead: one thread is ~10x faster on a busy 2-core box.
torch.set_num_threads(1)

TINY_SIZE = 64
TINY_CHARS = 150
TINY_HELDOUT = 20


def require_font(name: str | Path) -> Path:
    """The font's path, or skip the test when the (Debian system) font is not installed."""
    try:
        return find_font_file(name)
    except FontError as e:
        pytest.skip(f"font not installed: {e}")



@pytest.fixture(scope="session")
def tiny_spec(tmp_path_factory):
    """DatasetSpec: the shipped source subset font -> LXGW WenKai and AR PL UKai, 150 GB2312-1
    characters at 64 px, 20 held out."""
    from unet.charsets import load_charset
    from unet.data import DEFAULT_SOURCE, DatasetSpec

    require_font(WENKAI.file)
    require_font(UKAI.file)
    charset = tmp_path_factory.mktemp("charset") / "tiny.txt"
    charset.write_text("".join(load_charset("gb2312-1")[:TINY_CHARS]), encoding="utf-8")
    return DatasetSpec(DEFAULT_SOURCE, {"LXGW WenKai": WENKAI, "AR PL UKai": UKAI},
                       charset=str(charset), heldout_charset="gb2312-1",
                       heldout_count=TINY_HELDOUT, size=TINY_SIZE, seed=0)


@pytest.fixture(scope="session")
def tiny_dataset(tiny_spec, tmp_path_factory) -> Path:
    from unet.data import build_dataset

    out = tmp_path_factory.mktemp("data") / "tiny"
    return build_dataset(tiny_spec, out, workers=1, show_progress=False)


def train_args(data: Path, out: Path, *extra: str) -> list[str]:
    """Arguments for a tiny CPU training run of ``unet.train``."""
    return ["--data", str(data), "--out", str(out), "--ngf", "4", "--ndf", "4", "--batch-size", "2",
            "--style-dim", "8", "--attention", "16,8", "--device", "cpu", "--no-progress",
            "--log-every", "1", "--sample-every", "0", *extra]


@pytest.fixture(scope="session")
def tiny_run(tiny_dataset, tmp_path_factory) -> Path:
    """A 2-step training run directory (log.jsonl, state.pt, generator/)."""
    from unet.train import main

    out = tmp_path_factory.mktemp("runs") / "tiny"
    main(train_args(tiny_dataset, out, "--steps", "2"))
    return out


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
