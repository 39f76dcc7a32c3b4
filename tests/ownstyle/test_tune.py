"""Fine-tuning a new style and its style file, on a tiny model (seconds)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from safetensors.torch import save

from unet.model import UnetGenerator
from unet.ownstyle.stylefile import StyleFileError, base_fingerprint, clean_name, load_style, style_bytes
from unet.ownstyle.tune import (
    Cancelled,
    TuneConfig,
    TuneError,
    cosine_factor,
    draw,
    extend_styles,
    lora_targets,
    nearest_style,
    to_unit,
    tune_style,
)

SIZE = 32


def tiny_base(seed: int = 0) -> UnetGenerator:
    torch.manual_seed(seed)
    return UnetGenerator(1, 1, 5, ngf=8, use_dropout=True, use_attention=[8], image_size=SIZE,
                         num_styles=2, style_dim=8, max_mult=2).eval()


def pairs(n: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Bars as source, the same bars thicker as target: a style a tiny model can learn."""
    rng = np.random.default_rng(seed)
    src = np.full((n, SIZE, SIZE), 255, np.uint8)
    tgt = src.copy()
    for i in range(n):
        x0, y0 = rng.integers(4, 20, 2)
        src[i, y0:y0 + 8, x0:x0 + 2] = 0
        tgt[i, y0:y0 + 8, x0:x0 + 5] = 0
    return src, tgt, [chr(0x4E00 + i) for i in range(n)]


@pytest.mark.parametrize("mode", ["embedding", "lora", "decoder", "all"])
def test_tuning_learns_and_leaves_the_base_alone(mode):
    base = tiny_base()
    before = {k: v.clone() for k, v in base.state_dict().items()}
    src, tgt, chars = pairs()
    tuned = tune_style(base, ["a", "b"], src, tgt, chars,
                       TuneConfig(train=mode, steps=40, minutes=5, eval_every_s=0.0, lr=2e-3))
    assert all(torch.equal(before[k], v) for k, v in base.state_dict().items())
    assert tuned.style_index == 2 and tuned.model.config.num_styles == 3
    assert tuned.steps == 40 and len(tuned.history) >= 2
    assert set(tuned.heldout_chars) <= set(chars) and len(tuned.heldout_chars) == 3
    assert tuned.heldout["ssim"] >= tuned.history[0].heldout_ssim  # the best state is kept
    # the shipped rows are untouched in the tuned model
    assert torch.equal(tuned.model.style_embedding.weight[:2], base.style_embedding.weight)
    if mode == "embedding":
        assert set(tuned.delta) == {"style_row"}
    if mode == "lora":
        assert {k.split(".")[0] for k in tuned.delta} == {"style_row", "lora"}
        assert not any("parametrizations" in k for k in tuned.model.state_dict())  # merged


def test_lora_learns_this_style_better_than_the_start():
    base = tiny_base()
    src, tgt, chars = pairs(40)
    tuned = tune_style(base, ["a", "b"], src, tgt, chars,
                       TuneConfig(train="lora", steps=80, eval_every_s=0.0, lora_lr=1e-2))
    assert tuned.heldout["l1"] < 0.8 * tuned.before["l1"]


def test_the_start_is_the_nearest_of_the_shipped_rows_and_their_mean():
    base = tiny_base()
    with torch.no_grad():  # two rows apart, so that their mean draws unlike either
        base.style_embedding.weight.copy_(torch.tensor([[3.0] * 4 + [0.0] * 4, [0.0] * 4 + [3.0] * 4]))
    src = to_unit(pairs(24)[0])
    with_mean = extend_styles(base, base.style_embedding.weight.mean(0))
    for k, expected in ((0, 0), (1, 1), (2, None)):  # glyphs drawn by row 0, row 1, the mean
        drawn = torch.from_numpy(draw(with_mean, src, k) * 2 - 1)[:, None]
        assert nearest_style(base, src, drawn) == expected
    src, tgt, chars = pairs()
    mean_start = tune_style(base, ["a", "b"], src, tgt, chars, TuneConfig(init="mean", steps=1, eval_every_s=0.0))
    assert mean_start.start_style == "mean" and mean_start.before["ssim"] == mean_start.history[0].heldout_ssim


def test_too_few_glyphs_and_bad_settings_are_messages():
    src, tgt, chars = pairs(10)
    with pytest.raises(TuneError, match="at least 20"):
        tune_style(tiny_base(), ["a", "b"], src, tgt, chars, TuneConfig(steps=1))
    with pytest.raises(TuneError):
        TuneConfig(train="encoder")
    with pytest.raises(TuneError):
        TuneConfig(minutes=float("nan"))


def test_cancel_stops_at_the_next_step():
    src, tgt, chars = pairs()
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        tune_style(tiny_base(), ["a", "b"], src, tgt, chars, TuneConfig(steps=1000), cancel=stop)


def test_progress_reports_samples_and_time_budget():
    src, tgt, chars = pairs()
    seen = []
    tuned = tune_style(tiny_base(), ["a", "b"], src, tgt, chars,
                       TuneConfig(minutes=0.02, eval_every_s=0.3), progress=seen.append)
    assert seen[-1].done and seen[-1].step == tuned.steps
    assert 1.0 <= tuned.seconds <= 3.0
    assert seen[0].samples.dtype == np.uint8 and seen[0].samples.shape[1:] == (SIZE, SIZE)
    # which glyphs the samples are: held-back ones, by their index in the upload
    assert [chars[i] for i in seen[0].sample_index] == tuned.heldout_chars[:len(seen[0].samples)]


def test_a_moving_average_is_scored_and_kept_and_the_schedule_cools():
    src, tgt, chars = pairs(40)
    cfg = TuneConfig(train="lora", steps=60, eval_every_s=0.0, lora_lr=1e-2, ema=0.9, schedule="cosine")
    tuned = tune_style(tiny_base(), ["a", "b"], src, tgt, chars, cfg)
    assert tuned.heldout["l1"] < 0.8 * tuned.before["l1"]
    # the kept weights are the average's: the held-back score is what the returned model draws
    held = [chars.index(c) for c in tuned.heldout_chars]
    drawn = draw(tuned.model, to_unit(src[held]), tuned.style_index)
    assert abs(np.abs(drawn - tgt[held] / 255.0).mean() - tuned.heldout["l1"]) < 1e-4
    with pytest.raises(TuneError):
        TuneConfig(ema=1.0)
    with pytest.raises(TuneError):
        TuneConfig(schedule="step")
    factors = [cosine_factor(d / 10) for d in range(12)]
    assert factors[0] == 1.0 and factors[10] == factors[11] == pytest.approx(0.05)
    assert all(a > b for a, b in zip(factors[:10], factors[1:10]))


@pytest.mark.parametrize("mode", ["embedding", "lora", "decoder"])
def test_style_file_round_trip(tmp_path, mode):
    base = tiny_base()
    src, tgt, chars = pairs()
    tuned = tune_style(base, ["a", "b"], src, tgt, chars, TuneConfig(train=mode, steps=10, eval_every_s=0.0))
    path = tmp_path / "s.safetensors"
    path.write_bytes(style_bytes(tuned, "Mine", base_fingerprint(base), "tiny", glyphs=tgt))
    loaded = load_style(path, base, base_fingerprint(base))
    assert loaded.name == "Mine" and loaded.chars == chars and np.array_equal(loaded.glyphs, tgt)
    rebuilt = loaded.build(base)
    x = to_unit(src[:4])
    assert np.abs(draw(rebuilt, x, 2) - draw(tuned.model, x, 2)).max() < 1e-5
    if mode in ("embedding", "lora"):  # a small file: the row and factors, no weights
        assert not loaded.weights and len(loaded.factors) == (len(lora_targets(base)) if mode == "lora" else 0)
    # carry on from the file: starts where it ended
    again = tune_style(base, ["a", "b"], src, tgt, chars, TuneConfig(steps=2, eval_every_s=0.0), resume=loaded)
    assert again.train == mode and again.start_style == "file"
    assert abs(again.before["ssim"] - tuned.heldout["ssim"]) < 1e-6


def test_style_files_that_lie_are_refused(tmp_path):
    base = tiny_base()
    fp = base_fingerprint(base)
    src, tgt, chars = pairs()
    tuned = tune_style(base, ["a", "b"], src, tgt, chars, TuneConfig(train="lora", steps=2, eval_every_s=0.0))
    good = style_bytes(tuned, "Mine", fp, "tiny")

    def refused(data: bytes, match: str):
        path = tmp_path / "x.safetensors"
        path.write_bytes(data)
        with pytest.raises(StyleFileError, match=match):
            load_style(path, base, fp)

    refused(b"\x00" * 100, "damaged")
    refused(good[:len(good) // 2], "damaged")
    refused(save({"x": torch.zeros(1)}, metadata={"format": "pt"}), "not a Glyph Attention style")
    other = tiny_base(seed=1)
    path = tmp_path / "y.safetensors"
    path.write_bytes(good)
    with pytest.raises(StyleFileError, match="another model"):
        load_style(path, other, base_fingerprint(other))
    meta = {"format": "glyph-attention-style", "base": fp, "train": "lora", "name": "x"}
    row = torch.zeros(1, 8)
    refused(save({"style_row": row, "evil": torch.zeros(3)}, metadata=meta), "unknown tensor")
    refused(save({"style_row": torch.full((1, 8), float("nan"))}, metadata=meta), "finite")
    refused(save({"style_row": torch.zeros(1, 9)}, metadata=meta), "style row")
    name = next(iter(lora_targets(base)))
    refused(save({"style_row": row, f"lora.{name}.u": torch.zeros(3, 2), f"lora.{name}.v": torch.zeros(2, 5)},
                 metadata=meta), "low-rank")
    refused(save({"style_row": row, "weight.model.model.0.weight": torch.zeros(2, 2)},
                 metadata={**meta, "train": "all"}), "shape")
    with pytest.raises(StyleFileError, match="at most"):
        path.write_bytes(good)
        load_style(path, base, fp, max_bytes=100)


def test_clean_name():
    assert clean_name("  My\n\x00 style  ") == "My style"
    assert clean_name("") == "My style" and clean_name(None) == "My style"
    assert len(clean_name("永" * 100)) == 24


def test_extend_styles_copies_the_row():
    base = tiny_base()
    model = extend_styles(base, torch.ones(8))
    assert torch.equal(model.style_embedding.weight[2], torch.ones(8))
    x = to_unit(pairs(2)[0])
    assert np.array_equal(draw(model, x, 0), draw(base, x, 0))
