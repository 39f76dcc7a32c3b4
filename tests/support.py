"""What several test modules share: fonts, tiny training arguments and checkpoints, and the real app
launched in-process on a free local port (imported as ``from .support import ...``)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import unet
from unet.engine.glyphs import FontSpec, find_font_file
from unet.errors import FontError
from unet.model import save_generator
from unet.train.data import DEFAULT_SOURCE

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network calls from the tests

REPO = Path(__file__).resolve().parent.parent
NOTO_TTC = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
WENKAI = FontSpec("LXGWWenKai-Regular.ttf")
UKAI = FontSpec("ukai.ttc", "AR PL UKai CN")
SMILEY_FONT = FontSpec("SmileySans-Oblique.ttf")
TINY_SIZE = 64
TINY_CHARS = 150
TINY_HELDOUT = 20
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STYLE = "LXGW WenKai"  # the shipped checkpoint's first style
LAYERS = ["32x32", "16x16"]  # its attention layers, outermost first


def require_font(name: str | Path) -> Path:
    """The font's path, or skip the test when the (Debian system) font is not installed."""
    try:
        return find_font_file(name)
    except FontError as e:
        pytest.skip(f"font not installed: {e}")


def train_args(data: Path, out: Path, *extra: str) -> list[str]:
    """Arguments for a tiny CPU training run of ``unet.train``."""
    return ["--data", str(data), "--out", str(out), "--ngf", "4", "--ndf", "4", "--batch-size", "2",
            "--style-dim", "8", "--attention", "16,8", "--device", "cpu", "--no-progress",
            "--log-every", "1", "--sample-every", "0", *extra]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def tiny_checkpoint(directory: Path, seed: int = 0) -> Path:
    """A 64 px, 2-style model with non-zero gamma so attention changes the output."""
    torch.manual_seed(seed)
    model = unet.UnetGenerator(1, 1, 6, ngf=4, use_attention={16, 8}, image_size=64, num_styles=2,
                               style_dim=4)
    for layer in unet.attention_layers(model).values():
        torch.nn.init.constant_(layer.gamma, 0.8)
        torch.nn.init.normal_(layer.query.weight, std=1.0)
        torch.nn.init.normal_(layer.key.weight, std=1.0)
    model.eval()
    meta = {"glyphs": {"size": 64, "source": DEFAULT_SOURCE.to_dict()},
            "styles": [{"name": "WenKai", "font": {"file": "LXGWWenKai-Regular.ttf", "family": None}},
                       {"name": "Nowhere", "font": {"file": "no-such-font.ttf", "family": None}}],
            "training_chars_file": "training_chars.txt"}
    save_generator(model, directory, meta)
    (directory / "training_chars.txt").write_text("永和九", encoding="utf-8")
    return directory



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app(service=None, tuning=None) -> Iterator[str]:
    """The real app (shipped checkpoint unless ``service`` is given; ``tuning``: a ``StyleTuning``
    for it) served on 127.0.0.1:<free port>, launched as app.py launches it; yields its base URL."""
    from app import build_demo, launch_options
    from unet.settings import Settings

    demo = build_demo(service, tuning=tuning)
    port = free_port()
    options = launch_options(Settings(server_port=port), demo)  # the same guards as ``python app.py``
    demo.launch(**options, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def read_png(path_or_bytes) -> bytes:
    """The file's bytes (or a data: URI's), after checking they are a PNG."""
    if isinstance(path_or_bytes, str) and path_or_bytes.startswith("data:image/png;base64,"):
        import base64

        data = base64.b64decode(path_or_bytes.split(",", 1)[1])
    else:
        data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    assert data[:8] == PNG_MAGIC, f"not a PNG: {data[:8]!r}"
    return data


def pixels(path_or_bytes):
    """A PNG (file, bytes or data: URI) as a numpy array (checks the magic bytes first)."""
    import numpy as np
    from PIL import Image

    img = Image.open(io.BytesIO(read_png(path_or_bytes)))
    return np.asarray(img.convert("RGB") if img.mode == "P" else img)  # palette PNGs as colours


def fitted_ink(img, threshold: int = 128):
    """Ink (darker than ``threshold``) of a bitmap, fitted into 112 px and centred as unet.engine.glyphs
    fits a rendered glyph: compares glyphs drawn at different sizes and places (bool, 128 x 128)."""
    import numpy as np
    from PIL import Image

    ink = Image.fromarray(((np.asarray(img.convert("L")) < threshold) * 255).astype(np.uint8))
    ink = ink.crop(ink.getbbox())
    scale = 112 / max(ink.size)
    w, h = max(1, round(ink.width * scale)), max(1, round(ink.height * scale))
    canvas = Image.new("L", (128, 128), 0)
    canvas.paste(ink.resize((w, h), Image.Resampling.LANCZOS), ((128 - w) // 2, (128 - h) // 2))
    return np.asarray(canvas) >= 128


def ink_iou(a, b) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))
