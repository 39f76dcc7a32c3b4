"""Paired glyph dataset: deterministic split, cache, loading and paired augmentation."""

import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch

import unet.train.data
from unet.engine.charsets import load_charset
from unet.engine.glyphs import Font, FontSpec, image_to_array
from unet.train.data import GlyphPairs, build_dataset, paired_jitter, parse_font_arg, split_heldout

from ..support import TINY_CHARS, TINY_HELDOUT, TINY_SIZE


def fake_render(calls):
    def render(spec, chars, size, workers, progress=None):
        calls.append((spec, len(chars)))
        return np.full((len(chars), size, size), 255, np.uint8)
    return render


def read(path):
    return path.read_text(encoding="utf-8")


# --- split -------------------------------------------------------------------------------------

def test_split_heldout_is_seeded():
    cands = load_charset("gb2312-1")[:300]
    pool = set(cands[::2])
    a = split_heldout(cands, pool, 30, seed=0)
    assert a == split_heldout(list(reversed(cands)), pool, 30, seed=0)  # input order irrelevant
    assert a != split_heldout(cands, pool, 30, seed=1)
    assert len(a) == len(set(a)) == 30 and set(a) <= pool and a == sorted(a)
    with pytest.raises(ValueError, match="asked for 151 held-out characters but only 150"):
        split_heldout(cands, pool, 151, seed=0)


def test_build_split_deterministic_per_seed(tiny_dataset, tiny_spec, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(unet.train.data, "render_all", fake_render(calls))
    held = {}
    for seed in (0, 1):  # fresh directories: no cache; rendering faked, the split is real
        out = build_dataset(dataclasses.replace(tiny_spec, seed=seed), tmp_path / str(seed),
                            workers=1, show_progress=False)
        held[seed] = read(out / "heldout.txt")
    assert len(calls) == 2 * 3  # source + 2 targets, for each build
    assert held[0] == read(tiny_dataset / "heldout.txt")  # same seed, same split
    assert held[0] != held[1]
    assert len(held[1]) == TINY_HELDOUT


# --- the built dataset -------------------------------------------------------------------------

def test_tiny_dataset_files_and_split(tiny_dataset, tiny_spec):
    chars = read(tiny_dataset / "chars.txt")
    held = read(tiny_dataset / "heldout.txt")
    train = read(tiny_dataset / "train.txt")
    meta = json.loads(read(tiny_dataset / "meta.json"))
    assert len(chars) == TINY_CHARS
    assert len(held) == TINY_HELDOUT and len(set(held)) == TINY_HELDOUT
    assert not set(held) & set(train)
    assert set(held) | set(train) == set(chars) and len(train) == TINY_CHARS - TINY_HELDOUT
    assert set(held) <= set(load_charset("gb2312-1"))
    assert meta["key"] == tiny_spec.key()
    assert meta["styles"] == ["LXGW WenKai", "AR PL UKai"]
    assert (meta["num_chars"], meta["num_heldout"], meta["num_train"]) == (150, 20, 130)

    arrays = np.load(tiny_dataset / "glyphs.npz")
    assert arrays["source"].shape == (150, TINY_SIZE, TINY_SIZE)
    assert arrays["targets"].shape == (2, 150, TINY_SIZE, TINY_SIZE)
    assert arrays["source"].dtype == arrays["targets"].dtype == np.uint8
    mask = arrays["mask"]
    assert mask.shape == (2, 150)
    index = {c: i for i, c in enumerate(chars)}
    assert mask[:, [index[c] for c in held]].all()  # every style draws every held-out char
    assert mask.any(0).all()  # every char drawn by at least one style
    # the stored glyphs are the documented rendering
    fonts = [Font.from_spec(tiny_spec.source)] + [Font.from_spec(s) for s in tiny_spec.targets.values()]
    for i in (0, 77, 149):
        assert np.array_equal(arrays["source"][i], image_to_array(fonts[0].render(chars[i], TINY_SIZE)))
        for k in range(2):
            if mask[k, i]:
                want = image_to_array(fonts[k + 1].render(chars[i], TINY_SIZE))
                assert np.array_equal(arrays["targets"][k, i], want)
    # different fonts really draw differently
    assert not np.array_equal(arrays["source"], arrays["targets"][0])


def test_second_build_comes_from_cache(tiny_dataset, tiny_spec, monkeypatch):
    before = {p.name: p.stat().st_mtime_ns for p in tiny_dataset.iterdir()}

    def fail(*args, **kwargs):
        raise AssertionError("re-rendered a cached dataset")

    monkeypatch.setattr(unet.train.data, "render_all", fail)
    assert build_dataset(tiny_spec, tiny_dataset, workers=1, show_progress=False) == tiny_dataset
    assert {p.name: p.stat().st_mtime_ns for p in tiny_dataset.iterdir()} == before


def test_changed_spec_rebuilds(tiny_dataset, tiny_spec, tmp_path, monkeypatch):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_dataset, copy)
    calls = []
    monkeypatch.setattr(unet.train.data, "render_all", fake_render(calls))
    changed = dataclasses.replace(tiny_spec, size=32)
    assert changed.key() != tiny_spec.key()
    build_dataset(changed, copy, workers=1, show_progress=False)
    assert len(calls) == 3
    assert json.loads(read(copy / "meta.json"))["key"] == changed.key()


# --- loading -----------------------------------------------------------------------------------

def test_glyph_pairs(tiny_dataset):
    data = GlyphPairs(tiny_dataset)
    assert data.styles == ["LXGW WenKai", "AR PL UKai"] and data.size == TINY_SIZE
    assert len(data.heldout_index) == TINY_HELDOUT
    held = set(data.heldout_index.tolist())
    style, char = data.train_pairs.unbind(1)
    assert not held & set(char.tolist())
    assert bool(data.mask[style, char].all())
    assert len(data.train_pairs) == int(data.mask.sum()) - 2 * TINY_HELDOUT
    assert sorted(data.chars[i] for i in data.heldout_index.tolist()) == sorted(data.heldout_chars)

    src, tgt, s = data.batch(torch.tensor([0, 5, len(data.train_pairs) - 1]))
    assert src.shape == tgt.shape == (3, 1, TINY_SIZE, TINY_SIZE)
    assert src.dtype == torch.float32 and src.min() >= -1 and src.max() <= 1
    assert torch.equal(s, data.train_pairs[[0, 5, -1], 0])
    assert torch.equal(tgt[2, 0], GlyphPairs.to_unit(data.targets[s[2], data.train_pairs[-1, 1]])[0])


def test_to_unit():
    x = torch.tensor([[0, 255], [51, 204]], dtype=torch.uint8)
    y = GlyphPairs.to_unit(x)
    assert y.shape == (1, 2, 2)
    torch.testing.assert_close(y[0], torch.tensor([[-1.0, 1.0], [-0.6, 0.6]]))


# --- augmentation ------------------------------------------------------------------------------

def glyph_batch(seed=0, b=4, size=32):
    g = torch.Generator().manual_seed(seed)
    x = torch.ones(b, 1, size, size)
    for i in range(b):  # a dark rectangle per sample, at random places
        y0, x0 = torch.randint(4, size // 2, (2,), generator=g).tolist()
        x[i, 0, y0:y0 + 10, x0:x0 + 8] = -1
    return x


def test_jitter_zero_is_identity():
    src, tgt = glyph_batch(0), glyph_batch(1)
    a, b = paired_jitter(src, tgt, 0.0)
    torch.testing.assert_close(a, src, rtol=0, atol=1e-5)
    torch.testing.assert_close(b, tgt, rtol=0, atol=1e-5)


def test_jitter_applies_one_transform_to_both():
    src, tgt = glyph_batch(0), glyph_batch(1)
    a1, b1 = paired_jitter(src, tgt, 0.2, torch.Generator().manual_seed(5))
    b2, a2 = paired_jitter(tgt, src, 0.2, torch.Generator().manual_seed(5))
    assert torch.equal(a1, a2) and torch.equal(b1, b2)  # the transform depends on the draw only
    same_a, same_b = paired_jitter(src, src, 0.2, torch.Generator().manual_seed(5))
    assert torch.equal(same_a, same_b)
    assert torch.equal(same_a, a1)
    assert not torch.allclose(a1, src, atol=1e-3)  # it did move something
    # samples get different transforms
    c1, _ = paired_jitter(src[:1].expand(4, -1, -1, -1), src[:1].expand(4, -1, -1, -1), 0.2,
                          torch.Generator().manual_seed(5))
    assert not torch.allclose(c1[0], c1[1])


def test_jitter_pads_with_white_and_is_seeded():
    src = glyph_batch(0)
    a, _ = paired_jitter(src, src, 0.3, torch.Generator().manual_seed(1))
    b, _ = paired_jitter(src, src, 0.3, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert a.min() >= -1 - 1e-5 and a.max() <= 1 + 1e-5
    assert (a[:, :, 0, 0] > 0.99).all()  # corners far from any ink stay white


def test_batch_augment_uses_the_generator(tiny_dataset):
    data = GlyphPairs(tiny_dataset)
    idx = torch.tensor([0, 1])
    s1, t1, _ = data.batch(idx, 0.1, torch.Generator().manual_seed(3))
    s2, t2, _ = data.batch(idx, 0.1, torch.Generator().manual_seed(3))
    s0, t0, _ = data.batch(idx)
    assert torch.equal(s1, s2) and torch.equal(t1, t2)
    assert not torch.equal(s1, s0)


def test_parse_font_arg():
    assert parse_font_arg("Kai=ukai.ttc:AR PL UKai CN") == ("Kai", FontSpec("ukai.ttc", "AR PL UKai CN"))
    assert parse_font_arg("W=LXGWWenKai-Regular.ttf") == ("W", FontSpec("LXGWWenKai-Regular.ttf"))
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        parse_font_arg("no-equals.ttf")
