"""Stylizer: hooks capture, live toggles, thread isolation, loading, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

import unet
from unet.engine.glyphs import find_font_file
from unet.engine.hooks import attention_hooks
from unet.engine.stylizer import Stylizer
from unet.errors import CheckpointError, FontError, GenerationError, UnknownLayerError
from unet.train.data import DEFAULT_SOURCE

from ..support import tiny_checkpoint

ROOT = Path(__file__).resolve().parents[2]
TEXT = "永和九年歲在"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt"))


@pytest.fixture(scope="module")
def st(ckpt) -> Stylizer:
    return Stylizer.from_pretrained(ckpt, device="cpu")


def arrays(images) -> np.ndarray:
    return np.stack([np.asarray(i, dtype=np.int16) for i in images])


def test_public_surface(st):
    out = st.generate(TEXT, style=st.styles[0], disabled_layers=[])
    assert st.styles == ["WenKai", "Nowhere"]
    assert st.training_chars == "永和九"
    assert isinstance(st.model, unet.UnetGenerator)
    assert out.chars == list(TEXT)
    assert len(out.source) == len(out.generated) == len(out.target) == len(TEXT)
    assert out.source[0].size == (64, 64) and out.generated[0].mode == "L"
    assert out.skipped == []


def test_target_glyphs_and_missing_target_font(st):
    try:
        find_font_file("LXGWWenKai-Regular.ttf")
    except FontError:
        pytest.skip("LXGW WenKai is not installed")
    assert all(t is not None for t in st.generate("永和").target)
    assert st.generate("永和", style="Nowhere").target == [None, None]


def test_capture_one_map_per_layer_rows_sum_to_one(st):
    out = st.generate(TEXT, capture=True)
    assert list(out.layers) == st.layer_names == ["16x16", "8x8"]
    for name, cap in out.layers.items():
        r = cap.resolution
        assert name == f"{r}x{r}"
        assert cap.mean_received.shape == (len(TEXT), r, r)
        # the mean of row-stochastic rows sums to 1
        assert torch.allclose(cap.mean_received.sum((1, 2)), torch.ones(len(TEXT)), atol=1e-4)
        assert cap.contribution.shape == (len(TEXT),) and (cap.contribution > 0).all()
    maps = out.query_maps(2, 10.0, 50.0)
    for m in maps.values():
        assert m.sum() == pytest.approx(1.0, abs=1e-4)


def test_query_map_matches_explicit_reference(st):
    out = st.generate(TEXT, capture=True)
    inputs = {}

    def grab(name):
        def hook(module, args, output):
            inputs[name] = args[0].detach()
        return hook

    layers = unet.attention_layers(st.model)
    handles = [m.register_forward_hook(grab(n)) for n, m in layers.items()]
    try:
        with torch.inference_mode():
            st.model(st.render_sources(out.chars), torch.tensor([1.0, 0.0]))
    finally:
        for h in handles:
            h.remove()
    x, y, i = 37.0, 21.0, 3
    for name, module in layers.items():
        r = out.layers[name].resolution
        with torch.inference_mode():
            _, attn = module.attend_explicit(inputs[name][i:i + 1])  # (1, N, N)
        row = int(y * r / 64) * r + int(x * r / 64)
        expected = attn[0, row].reshape(r, r).numpy()
        np.testing.assert_allclose(out.query_maps(i, x, y)[name], expected, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(out.layers[name].mean_received[i].numpy(),
                                   attn[0].mean(0).reshape(r, r).numpy(), rtol=1e-4, atol=1e-6)


def test_toggle_equals_gamma_zero(ckpt, st):
    base = arrays(st.generate(TEXT).generated)
    for name in st.layer_names:
        toggled = arrays(st.generate(TEXT, disabled_layers=[name]).generated)
        assert (toggled != base).any(), f"switching {name} off changed nothing"
        ref = Stylizer.from_pretrained(ckpt, device="cpu")
        torch.nn.init.zeros_(unet.attention_layers(ref.model)[name].gamma)
        np.testing.assert_array_equal(toggled, arrays(ref.generate(TEXT).generated))
    # toggles last exactly one call
    np.testing.assert_array_equal(arrays(st.generate(TEXT).generated), base)
    assert all(not m._forward_hooks for m in unet.attention_layers(st.model).values())


def test_concurrent_toggles_do_not_leak(st):
    settings = [(), ("16x16",), ("8x8",), ("16x16", "8x8")]
    serial = {s: arrays(st.generate(TEXT, disabled_layers=s, capture=bool(len(s) % 2)).generated)
              for s in settings}
    assert len({a.tobytes() for a in serial.values()}) == len(settings)
    errors, barrier = [], threading.Barrier(8)

    def worker(k):
        try:
            barrier.wait()
            for j in range(6):
                s = settings[(k + j) % len(settings)]
                got = arrays(st.generate(TEXT, disabled_layers=s, capture=bool(len(s) % 2)).generated)
                if not np.array_equal(got, serial[s]):
                    errors.append((k, j, s))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_hooks_removed_when_call_raises(st):
    def boom(*_):
        raise RuntimeError("capture failed")

    with pytest.raises(RuntimeError, match="capture failed"):
        with attention_hooks(st.model, ["8x8"], boom):
            st.model(st.render_sources(["永"]), torch.tensor([1.0, 0.0]))
    assert all(not m._forward_hooks for m in unet.attention_layers(st.model).values())


def test_blend_between_styles(st):
    a = arrays(st.generate(TEXT, style="WenKai").generated).astype(float)
    b = arrays(st.generate(TEXT, style="Nowhere").generated).astype(float)
    mid = arrays(st.generate(TEXT, style="WenKai", blend="Nowhere", blend_weight=0.5).generated)
    assert np.abs(mid - a).mean() > 0 and np.abs(mid - b).mean() > 0
    one = arrays(st.generate(TEXT, style="WenKai", blend="Nowhere", blend_weight=1.0).generated)
    np.testing.assert_array_equal(one, b)


@pytest.mark.parametrize("kwargs, message", [
    ({"text": ""}, "at least one Chinese character"),
    ({"text": "   \n\t"}, "at least one Chinese character"),
    ({"text": "abc 😀 123"}, "none of the characters can be drawn"),
    ({"text": "永", "style": "Comic Sans"}, "unknown style 'Comic Sans'"),
    ({"text": "永", "blend": "nope", "blend_weight": 0.5}, "unknown style 'nope'"),
    ({"text": "永", "blend": "WenKai", "blend_weight": float("nan")}, "blend weight"),
    ({"text": "永", "blend": "WenKai", "blend_weight": -0.5}, "blend weight"),
    ({"text": "永", "blend": "Nowhere", "blend_weight": "0.5"}, "blend weight must be a number"),
    ({"text": "永", "style": "x" * 2 ** 20}, r"unknown style 'xxx.*… \(1,048,576 characters\); available"),
])
def test_bad_input_messages(st, kwargs, message):
    with pytest.raises(GenerationError, match=message) as excinfo:
        st.generate(**kwargs)
    assert len(str(excinfo.value)) < 1000  # bounded however large the input (a 1 MB style: its prefix)


def test_unknown_layer_name(st):
    with pytest.raises(UnknownLayerError, match=r"unknown attention layer\(s\) \['64x64'\].*16x16"):
        st.generate("永", disabled_layers=["64x64"])


def test_skipped_characters_and_limit(st):
    out = st.generate("永a😀\u200b𠀀" + "永")
    assert out.chars == ["永"]
    reasons = {s.char: s.reason for s in out.skipped}
    assert "not a CJK ideograph" in reasons["a"]
    assert "emoji" in reasons["😀"]
    assert "control" in reasons["\u200b"]
    assert reasons["𠀀"] == "not in the source font"
    many = "".join(chr(0x4E00 + i) for i in range(st.max_chars + 6))
    out = st.generate(many)
    assert len(out.chars) == st.max_chars
    assert sum("over the limit" in s.reason for s in out.skipped) == 6


def test_rendering_matches_training_path(st):
    from unet.train.data import render_all

    arr = render_all(DEFAULT_SOURCE, list("永和"), 64, workers=1)
    mine = ((st.render_sources(["永", "和"]).squeeze(1) + 1) * 127.5).round().numpy()
    np.testing.assert_array_equal(arr, mine.astype(np.uint8))


def test_corrupt_checkpoint_message(ckpt, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in ckpt.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    data = (bad / "model.safetensors").read_bytes()
    (bad / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="model.safetensors"):
        Stylizer.from_pretrained(bad)


def test_load_from_offline_hub_cache(ckpt, tmp_path):
    """A cache laid out as huggingface_hub lays it, read with HF_HUB_OFFLINE=1."""
    cache = tmp_path / "hub"
    repo = cache / "models--someone--tiny-glyphs"
    commit = "0123456789abcdef0123456789abcdef01234567"
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for f in ckpt.iterdir():
        (snap / f.name).write_bytes(f.read_bytes())
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "HF_HOME": str(tmp_path)}
    code = ("import unet; st = unet.Stylizer.from_pretrained('someone/tiny-glyphs', device='cpu'); "
            "print(st.styles, len(st.generate('永和').generated))")
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "['WenKai', 'Nowhere'] 2" in r.stdout
    code = "import unet; unet.Stylizer.from_pretrained('someone/not-cached', device='cpu')"
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode != 0 and "could not load checkpoint 'someone/not-cached'" in r.stderr


@pytest.mark.slow
def test_shipped_model_32_chars_with_capture_memory():
    """Peak resident memory of a 32-character request with capture on stays under 1.5 GB.

    Measured as VmHWM of the child's own address space: ru_maxrss would also count the parent's
    RSS at fork time (Linux carries it across exec), i.e. the size of the pytest process.
    """
    code = (
        "import re, unet, torch\n"
        "st = unet.Stylizer.from_pretrained(device='cpu')\n"
        "text = ''.join(st.training_chars[:32])\n"
        "out = st.generate(text, capture=True)\n"
        "assert len(out.chars) == 32 and len(out.layers) == len(st.layer_names)\n"
        "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    peak_mb = int(r.stdout.split()[-1]) / 1024
    assert peak_mb < 1500, f"peak RSS {peak_mb:.0f} MB"


def test_shipped_checkpoint_config():
    config = json.loads((ROOT / "checkpoints/glyph-attention-3style/config.json").read_text())
    assert config["glyphs"]["source"]["family"] == "Noto Serif CJK TC"
    assert len(config["styles"]) >= 2


def test_bfloat16_precision_is_close_and_toggles_stay_exact(ckpt, st):
    fast = Stylizer.from_pretrained(ckpt, device="cpu", precision="bfloat16")
    assert fast.bf16 and not st.bf16
    a = arrays(st.generate(TEXT).generated).astype(float)
    b = arrays(fast.generate(TEXT).generated).astype(float)
    assert np.abs(a - b).mean() < 2.0  # of 255
    out = fast.generate(TEXT, capture=True)
    for m in out.query_maps(0, 30.0, 30.0).values():
        assert m.sum() == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ValueError, match="precision"):
        Stylizer.from_pretrained(ckpt, device="cpu", precision="half")
