"""Held-out evaluation on the tiny trained run, and the glyph metrics themselves."""

import json

import numpy as np
import pytest
import torch

from unet.model import load_generator
from unet.train.data import GlyphPairs
from unet.train.evaluate import evaluate, generate_unit, main, markdown_table
from unet.train.metrics import (
    INK_THRESHOLD,
    defect_metrics,
    fragment_counts,
    glyph_metrics,
    speck_counts,
    texture_counts,
)

from ..support import SMILEY_FONT, TINY_HELDOUT, UKAI, WENKAI, require_font

METRIC_KEYS = {"l1", "rmse", "ssim", "ink_iou", "n", "dithered", "textured", "specks_mean",
               "texture_mean", "broken", "extra_fragments"}


def test_evaluate_rows_per_style(tiny_run, tiny_dataset, tmp_path):
    data = GlyphPairs(tiny_dataset)
    results = evaluate(tiny_run / "generator", data, limit=6, sheet_dir=tmp_path, sheet_count=4)
    assert results["heldout_chars"] == 6
    assert results["attention_layers"] == ["16x16", "8x8"]
    assert set(results["gamma"]) == {"16x16", "8x8"}
    assert list(results["styles"]) == ["LXGW WenKai", "AR PL UKai"]
    idx = data.heldout_index[:6]
    identity = data.source[idx].float().numpy() / 255
    for k, (name, rows) in enumerate(results["styles"].items()):
        assert list(rows) == ["model", "model, attention off", "identity", "real font"]
        assert rows["real font"]["ssim"] == pytest.approx(1.0) and rows["real font"]["broken"] == 0
        for label, m in rows.items():
            assert set(m) == METRIC_KEYS and m["n"] == 6, label
            assert 0 <= m["l1"] <= 1 and -1 <= m["ssim"] <= 1 and 0 <= m["ink_iou"] <= 1
        real = data.targets[k, idx].float().numpy() / 255
        assert rows["identity"] == pytest.approx(glyph_metrics(identity, real), rel=1e-6)  # float32 path
        assert (tmp_path / f"sheet_{name.replace(' ', '_')}.png").is_file()
    table = markdown_table(results)
    assert table.count("\n") == 2 + 2 * 4 - 1 and "| AR PL UKai | identity |" in table


def test_attention_off_row_is_the_bypassed_model(tiny_run, tiny_dataset):
    data = GlyphPairs(tiny_dataset)
    model, _, _ = load_generator(tiny_run / "generator")
    with torch.no_grad():  # make the attention matter, so "off" must differ from "on"
        for m in model.modules():
            if hasattr(m, "gamma"):
                m.gamma.fill_(2.0)
    src = GlyphPairs.to_unit(data.source[data.heldout_index[:3]])
    on = generate_unit(model, src, 1)
    off = generate_unit(model, src, 1, disabled=["16x16", "8x8"])
    assert on.shape == off.shape == (3, 64, 64) and 0 <= on.min() and on.max() <= 1
    assert not np.allclose(on, off)
    with torch.no_grad():
        for m in model.modules():
            if hasattr(m, "gamma"):
                m.gamma.zero_()
    np.testing.assert_allclose(generate_unit(model, src, 1), off, atol=1e-6)


def test_evaluate_cli_writes_metrics(tiny_run, tiny_dataset, tmp_path, capsys):
    main(["--checkpoint", str(tiny_run / "generator"), "--data", str(tiny_dataset),
          "--out", str(tmp_path), "--limit", "3", "--device", "cpu",
          "--compare", str(tiny_run / "generator")])
    results = json.loads((tmp_path / "metrics.json").read_text())
    assert results["heldout_chars"] == 3
    rows = results["styles"]["LXGW WenKai"]
    assert rows["compare"] == rows["model"]  # the same checkpoint compared with itself
    assert (tmp_path / "metrics.md").read_text().startswith("| style | system |")
    assert "| LXGW WenKai | model |" in capsys.readouterr().out


def test_evaluate_all_heldout_by_default(tiny_run, tiny_dataset):
    results = evaluate(tiny_run / "generator", GlyphPairs(tiny_dataset))
    assert results["heldout_chars"] == TINY_HELDOUT
    assert all(rows["model"]["n"] == TINY_HELDOUT for rows in results["styles"].values())


# --- metrics -----------------------------------------------------------------------------------

def test_identical_images_are_perfect():
    rng = np.random.default_rng(0)
    x = rng.random((3, 16, 16))
    m = glyph_metrics(x, x.copy())
    assert m["l1"] == 0 and m["rmse"] == 0 and m["n"] == 3
    assert m["ssim"] == pytest.approx(1.0) and m["ink_iou"] == 1.0


def test_l1_and_rmse_by_hand():
    rng = np.random.default_rng(1)
    pred = rng.random((3, 16, 16))
    real = rng.random((3, 16, 16))
    real[2] = pred[2] + 0.25 * (real[2] > 0.5) - 0.1  # a third image with a different error profile
    m = glyph_metrics(pred, real)
    l1 = np.mean([np.abs(p - r).mean() for p, r in zip(pred, real)])
    rmse = np.mean([np.sqrt(((p - r) ** 2).mean()) for p, r in zip(pred, real)])  # per image, then mean
    assert m["l1"] == pytest.approx(l1, rel=1e-12)
    assert m["rmse"] == pytest.approx(rmse, rel=1e-12)
    assert m["rmse"] != pytest.approx(np.sqrt(((pred - real) ** 2).mean()), rel=1e-6)


def test_ink_iou_by_hand():
    white = np.ones((2, 8, 8))
    pred, real = white.copy(), white.copy()
    pred[0, 1, 1:4] = 0.0  # ink at (1,1) (1,2) (1,3)
    real[0, 1, 2:5] = 0.2  # ink at (1,2) (1,3) (1,4): overlap 2, union 4
    real[0, 6, 6] = INK_THRESHOLD  # exactly at the threshold: not ink
    pred[0, 5, 5] = 0.51  # lighter than mid-grey: not ink
    # second image: no ink anywhere in either -> IoU 1 by convention
    m = glyph_metrics(pred, real)
    assert m["ink_iou"] == pytest.approx((2 / 4 + 1.0) / 2)
    one = glyph_metrics(pred[:1], real[:1])
    assert one["ink_iou"] == pytest.approx(0.5)
    # ink in the prediction only: IoU 0
    assert glyph_metrics(pred[:1], white[:1])["ink_iou"] == 0.0


def test_ssim_drops_for_different_images():
    rng = np.random.default_rng(2)
    x = rng.random((2, 16, 16))
    assert glyph_metrics(x, 1 - x)["ssim"] < 0.5


def test_shape_mismatch():
    with pytest.raises(ValueError, match="shape mismatch"):
        glyph_metrics(np.ones((1, 16, 16)), np.ones((1, 16, 8)))


# --- defect measures ---------------------------------------------------------------------------

def _checker(n: int) -> np.ndarray:
    return (np.arange(n)[:, None] + np.arange(n)[None]).astype(int) % 2


def test_specks_count_a_thresholded_checkerboard():
    g = np.ones((2, 32, 32))
    g[0, 10:16, 10:16] = _checker(6)  # a 6x6 ink/paper checkerboard blob
    g[1, 8:24, 8:12] = 0.0  # a solid stroke: no specks
    # 18 ink dots, and the 8 paper pixels of the blob enclosed by ink on all four sides
    assert speck_counts(g).tolist() == [26, 0]
    m = defect_metrics(g)
    assert m["dithered"] == 0.5 and m["specks_mean"] == 13


def test_texture_catches_a_faint_halo_the_threshold_misses():
    g = np.ones((3, 32, 32))
    g[0, 4:12, 4:12] = 0.92 + 0.06 * _checker(8)  # light dotted halo, never below 0.5
    g[1] = np.linspace(0, 1, 32)[None, :]  # a smooth ramp (an anti-aliased edge): no texture
    g[2, 8:24, 8:12] = 0.0
    assert speck_counts(g).tolist() == [0, 0, 0]
    t = texture_counts(g)
    assert t[0] >= 36 and t[1] == 0 and t[2] == 0
    assert defect_metrics(g)["textured"] == pytest.approx(1 / 3)


def test_broken_strokes_count_extra_fragments():
    real = np.ones((2, 32, 32))
    real[:, 8:24, 14:18] = 0.0  # one vertical stroke
    pred = real.copy()
    pred[0, 15:17, 14:18] = 1.0  # the stroke cut in two
    pred[1, 2, 2] = 0.0  # a one-pixel speck is not a fragment
    assert fragment_counts(real).tolist() == [1, 1] and fragment_counts(pred).tolist() == [2, 1]
    m = defect_metrics(pred, real)
    assert m["broken"] == 0.5 and m["extra_fragments"] == 0.5


@pytest.mark.parametrize("font", [WENKAI, UKAI, SMILEY_FONT])
def test_real_fonts_score_about_zero(font):
    """The floor the model is held to: real glyphs are neither dithered nor textured."""
    from unet.engine.charsets import load_charset
    from unet.engine.glyphs import Font, image_to_array

    require_font(font.file)
    f = Font.from_spec(font)
    chars = [c for c in load_charset("gb2312-1")[::37] if f.draws(c)][:100]
    real = np.stack([image_to_array(f.render(c, 128)) for c in chars]) / 255.0
    m = defect_metrics(real, real)
    assert m["dithered"] == 0 and m["textured"] <= 0.02 and m["broken"] == 0, m


def test_evaluate_cli_scans_a_charset(tiny_run, tiny_dataset, tmp_path, capsys):
    charset = tmp_path / "chars.txt"
    charset.write_text("永和九年歲在癸丑永", encoding="utf-8")  # a repeat is scanned once
    main(["--checkpoint", str(tiny_run / "generator"), "--data", str(tiny_dataset), "--out", str(tmp_path),
          "--limit", "2", "--device", "cpu", "--charset", str(charset)])
    scan = json.loads((tmp_path / "metrics.json").read_text())["charset"]
    assert scan["name"] == str(charset) and scan["chars"] == 8
    for style, rows in scan["styles"].items():
        assert {"dithered", "textured"} <= set(rows["model"]), style
        assert rows["real font"]["dithered"] == 0
    assert "Whole charset" in capsys.readouterr().out
