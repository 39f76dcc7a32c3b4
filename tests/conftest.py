"""Shared fixtures: a tiny two-style glyph dataset and a tiny trained run, each built once per session.

Everything is deliberately small (64 px glyphs, ngf 4, a handful of steps) so the suite runs on two
CPU cores in well under a minute. Helpers live in ``tests/support.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from .support import TINY_CHARS, TINY_HELDOUT, TINY_SIZE, UKAI, WENKAI, require_font, train_args

# Tiny models are dominated by thread-pool overhead: one thread is ~10x faster on a busy 2-core box.
torch.set_num_threads(1)
@pytest.fixture(scope="session")
def tiny_spec(tmp_path_factory):
    """DatasetSpec: the shipped source subset font -> LXGW WenKai and AR PL UKai, 150 GB2312-1
    characters at 64 px, 20 held out."""
    from unet.engine.charsets import load_charset
    from unet.train.data import DEFAULT_SOURCE, DatasetSpec

    require_font(WENKAI.file)
    require_font(UKAI.file)
    charset = tmp_path_factory.mktemp("charset") / "tiny.txt"
    charset.write_text("".join(load_charset("gb2312-1")[:TINY_CHARS]), encoding="utf-8")
    return DatasetSpec(DEFAULT_SOURCE, {"LXGW WenKai": WENKAI, "AR PL UKai": UKAI},
                       charset=str(charset), heldout_charset="gb2312-1",
                       heldout_count=TINY_HELDOUT, size=TINY_SIZE, seed=0)


@pytest.fixture(scope="session")
def tiny_dataset(tiny_spec, tmp_path_factory) -> Path:
    from unet.train.data import build_dataset

    out = tmp_path_factory.mktemp("data") / "tiny"
    return build_dataset(tiny_spec, out, workers=1, show_progress=False)


@pytest.fixture(scope="session")
def tiny_run(tiny_dataset, tmp_path_factory) -> Path:
    """A 2-step training run directory (log.jsonl, state.pt, generator/)."""
    from unet.train.train import main

    out = tmp_path_factory.mktemp("runs") / "tiny"
    main(train_args(tiny_dataset, out, "--steps", "2"))
    return out


# --- the browser tests' app and chromium (tests/test_browser*.py): one of each per test module ------

@pytest.fixture(scope="module")
def url():
    """The real app on a free local port (a module that needs another app defines its own)."""
    from .support import running_app

    with running_app() as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    from .test_browser import launch

    with sync_playwright() as p:
        b = launch(p)
        try:
            yield b
        finally:
            b.close()
