"""The benchmark suite (``python -m benchmarks``): its quick mode runs end to end on a tiny checkpoint
and writes every table it ran; its candidate attention processors compute what the shipped ones do
and are set per model, never patched into the class; the runtime package does not depend on it."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmarks import attention_kernels
from benchmarks.__main__ import parse_args
from benchmarks.training import train_step
from unet import SelfAttention, UnetGenerator, attention_layers, explicit_attention, sdpa_attention
from unet.engine.stylizer import DEFAULT_CHECKPOINT

from .support import REPO, tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """The tests' tiny checkpoint (64 px, ngf 4, attention at 16 and 8), with the shipped character
    list, so the benchmark finds as many distinct 8-character texts as it asks for."""
    out = tiny_checkpoint(tmp_path_factory.mktemp("bench") / "tiny")
    shutil.copy(DEFAULT_CHECKPOINT / "training_chars.txt", out / "training_chars.txt")
    return out


def test_quick_run_on_a_tiny_checkpoint_writes_every_table(checkpoint, tmp_path):
    out = tmp_path / "bench.md"
    r = subprocess.run([sys.executable, "-m", "benchmarks", "--tiny", "--checkpoint", str(checkpoint),
                        "--only", "1,2,3,5,8", "--out", str(out)], cwd=REPO, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    assert text.index("# Benchmarks") < text.index("## Targets at a glance") < text.index(
        "## 1. Attention kernels") < text.index("## 2. Generator forward") < text.index(
        "## 3. Stylizer end-to-end") < text.index("## 5. Training") < text.index("## 8. Font export") < text.index(
        "_Total benchmark wall time")
    assert "## 4." not in text and "## 6." not in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    for cells in (
        ("command", "python -m benchmarks --tiny --checkpoint"),
        ("16×16", "fwd", "explicit (bmm, returns map)"),
        ("64×64", "fwd", "sdpa_attention (shipped)", "flash"),
        ("32×32", "fwd+bwd", "single-head SDPA, q/k zero-padded to C"),
        ("shipped 64 px, attention 16,8",),
        ("shipped, attention off (hooks)",),
        ("256 px, attention 64,32,16 (random weights)",),
        ("bare generator forward (pre-rendered glyphs)",),
        ("Stylizer.generate(capture=True)", "this part alone"),
        ("Generation.query_maps (move the query point, no forward)",),
        ("/generate handler work besides the forward: DemoService.generate",),
        ("attention 32,16 (shipped)", "≤ 1.3×"),
        ("attention none",),
        ("sdpa_attention vs explicit at 64×64, batch 1: speed", "table 1"),
        ("trace: contours",),
        ("build + save OTF",),
        ("**end to end, 64 characters**", "level 1 extrapolated"),
        ("font export: GB2312 level 1 (3,755 glyphs) end to end, 2 cores", "≤ 180 s", "(extrapolated)"),
        ("training time with ÷ without attention (batch 2)", "table 5"),
    ):
        assert any(all(c in row for c in cells) for row in rows), f"no row with {cells}"
    # every measured row has a time: nothing came out as NaN
    assert "| nan" not in text


@pytest.mark.parametrize("name", list(attention_kernels.VARIANTS))
def test_every_kernel_variant_computes_the_explicit_attention(name):
    torch.manual_seed(0)
    layer = SelfAttention(32)
    x = torch.randn(2, 32, 8, 8)
    fn = attention_kernels.VARIANTS[name][0]
    with torch.no_grad():
        assert torch.allclose(fn(layer, x), explicit_attention(layer, x), atol=1e-5)


def test_a_candidate_is_set_on_one_model_for_the_call_only():
    class_attrs = dict(vars(SelfAttention))
    a, b = (UnetGenerator(1, 1, 6, ngf=4, use_attention=True, image_size=64) for _ in range(2))
    with attention_kernels.using_processor(a, attention_kernels.multi_head_split):
        assert all(layer.processor is attention_kernels.multi_head_split
                   for layer in attention_layers(a).values())
        assert all(layer.processor is sdpa_attention for layer in attention_layers(b).values())
    assert all(layer.processor is sdpa_attention for layer in attention_layers(a).values())
    assert dict(vars(SelfAttention)) == class_attrs


def test_map_bytes_reads_layer_sizes_not_names():
    g = UnetGenerator(1, 1, 6, ngf=4, use_attention={16, 8}, image_size=64)
    assert attention_kernels.map_bytes(g, 2, explicit_attention) == 2 * 16 ** 4 * 4
    assert attention_kernels.map_bytes(g, 2, attention_kernels.single_head_padded) == 0
    assert attention_kernels.map_bytes(g, 2) == 0  # the shipped processor runs the flash kernel


def test_the_training_step_is_train_py_s():
    torch.manual_seed(0)
    g = UnetGenerator(1, 1, 6, ngf=4, use_attention={16}, image_size=64, num_styles=2, style_dim=8)
    before = [p.detach().clone() for p in g.parameters()]
    losses = train_step(g, batch=2, ndf=4)()
    assert {"d", "g_gan", "l1", "const", "cat"} <= set(losses)
    assert float(losses["cat"]) > 0  # the style classifier's loss is on, as in unet.train
    assert any(not torch.equal(p, q) for p, q in zip(before, g.parameters()))


def test_tables_that_serve_app_py_refuse_another_checkpoint(checkpoint):
    with pytest.raises(SystemExit):
        parse_args(["--checkpoint", str(checkpoint), "--only", "3,4"])
    args = parse_args(["--tiny", "--only", "1,3"])
    assert args.quick and args.only == {1, 3}


def test_the_runtime_package_imports_neither_benchmarks_nor_tools():
    for path in (REPO / "unet").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            assert not any(n.split(".")[0] in ("benchmarks", "tools") for n in names), (path, names)


def test_own_style_table_reads_runs_and_baselines(tmp_path, capsys):
    """``python -m benchmarks.own_style table``: one row per baseline and per run, with the gain
    over the identity baseline and the SSIM curve over minutes."""
    import json
    from argparse import Namespace

    from benchmarks import own_style

    (tmp_path / "round-baselines.json").write_text(json.dumps(
        {"identity": {"ssim": 0.5, "dithered": 0.0}, "LXGW WenKai": {"ssim": 0.42, "dithered": 0.01}}))
    (tmp_path / "round-lora-300.json").write_text(json.dumps(
        {"variant": "lora", "glyphs": 300, "steps": 339, "test": {"ssim": 0.62, "dithered": 0.0},
         "curve": [{"minutes": 1, "ssim": 0.56}, {"minutes": 10, "ssim": 0.62}]}))
    own_style.table(Namespace(out=str(tmp_path)))
    rows = capsys.readouterr().out.splitlines()
    assert "| round | identity (no training) | – | – | 0.500 | +0.000 | 0.0% | |" in rows
    assert "| round | lora | 300 | 339 | 0.620 | +0.120 | 0.0% | 0.560 / 0.620 |" in rows
