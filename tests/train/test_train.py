"""Training: a smoke run, bit-for-bit resume, and (slow) two-process DDP on CPU."""

import json
import os
import subprocess
import sys

import pytest
import torch

from unet import attention_layers
from unet.model import load_generator
from unet.train.train import edge_l1, lr_factor, main, parse_attention, pyramid_l1, set_train_mode

from ..support import REPO, read_jsonl, train_args


def test_smoke_run_writes_everything(tiny_run, tiny_dataset):
    log = read_jsonl(tiny_run / "log.jsonl")
    steps = [r for r in log if "event" not in r]
    assert [r["step"] for r in steps] == [1, 2]
    for r in steps:
        for key in ("d", "g_gan", "l1", "const", "cat", "lr", "samples_per_s"):
            assert key in r and r[key] == r[key], key  # present and not NaN
        assert r["l1"] > 0
    assert log[-1]["event"] == "done" and log[-1]["step"] == 2

    state = torch.load(tiny_run / "state.pt", map_location="cpu", weights_only=True)
    assert state["step"] == 2 and set(state) >= {"g", "d", "opt_g", "opt_d", "rng"}

    model, config, _ = load_generator(tiny_run / "generator")
    assert [s["name"] for s in config["styles"]] == ["LXGW WenKai", "AR PL UKai"]
    assert config["glyphs"]["size"] == 64
    assert model.config.use_attention == [8, 16] and model.config.num_styles == 2
    assert list(attention_layers(model)) == ["16x16", "8x8"]
    for k, v in model.state_dict().items():
        assert torch.equal(v, state["g"][k]), k
    gen = tiny_run / "generator"
    assert (gen / "training_chars.txt").read_text() == (tiny_dataset / "train.txt").read_text()
    assert (gen / "heldout_chars.txt").read_text() == (tiny_dataset / "heldout.txt").read_text()
    run_config = json.loads((tiny_run / "config.json").read_text())
    assert run_config["steps"] == 2 and run_config["world_size"] == 1
    with torch.no_grad():
        y = model(torch.ones(2, 1, 64, 64), torch.tensor([0, 1]))
    assert y.shape == (2, 1, 64, 64) and torch.isfinite(y).all()


def test_resume_is_bit_for_bit(tiny_dataset, tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    main(train_args(tiny_dataset, straight, "--steps", "4"))
    main(train_args(tiny_dataset, resumed, "--steps", "4", "--stop-after", "2"))
    half = torch.load(resumed / "state.pt", map_location="cpu", weights_only=True)
    assert half["step"] == 2
    main(train_args(tiny_dataset, resumed, "--steps", "4", "--resume"))

    a = torch.load(straight / "state.pt", map_location="cpu", weights_only=True)
    b = torch.load(resumed / "state.pt", map_location="cpu", weights_only=True)
    assert a["step"] == b["step"] == 4
    for net in ("g", "d"):
        assert set(a[net]) == set(b[net])
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), f"{net}.{k}"
    for opt in ("opt_g", "opt_d"):
        for pid, sa in a[opt]["state"].items():
            for k, v in sa.items():
                assert torch.equal(v, b[opt]["state"][pid][k]), f"{opt}.{pid}.{k}"
    # and the log carries on where it stopped
    steps = [r["step"] for r in read_jsonl(resumed / "log.jsonl") if "event" not in r]
    assert steps == [1, 2, 3, 4]


def test_finetune_from_checkpoint_as_inference(tiny_run, tiny_dataset, tmp_path):
    """--init starts from a checkpoint (--output-blur adds the filter to it); --freeze-bn keeps every
    running statistic; without GAN and category weights D is never run; edge and pyramid losses are
    logged."""
    init = tiny_run / "generator"
    out = tmp_path / "ft"
    main(train_args(tiny_dataset, out, "--steps", "2", "--init", str(init), "--freeze-bn",
                    "--freeze-dropout", "--gan-weight", "0", "--category-weight", "0",
                    "--edge-weight", "10", "--pyramid-weight", "10", "--output-blur"))
    before, _, _ = load_generator(init)
    after, _, _ = load_generator(out / "generator")
    assert after.config.output_blur and not before.config.output_blur  # added, weights carried over
    sb, sa = before.state_dict(), after.state_dict()
    for k in sb:
        if "running_" in k or "num_batches" in k:
            assert torch.equal(sb[k], sa[k]), k  # BatchNorm statistics untouched
    assert any(not torch.equal(sb[k], sa[k]) for k in sb if k.endswith("weight"))  # but it learned
    steps = [r for r in read_jsonl(out / "log.jsonl") if "step" in r and "event" not in r]
    assert all(r["d"] == 0 and r["g_gan"] == 0 and r["edge"] > 0 and r["pyramid"] > 0 for r in steps)
    assert not any(r.get("event") == "collapse_warning" for r in read_jsonl(out / "log.jsonl"))
    state = torch.load(out / "state.pt", map_location="cpu", weights_only=True)
    assert all(torch.equal(v, state["d"][k]) for k, v in state["d"].items())  # D exists, unused


def test_finetune_refuses_other_styles(tiny_run, tiny_dataset, tmp_path):
    cfg = json.loads((tiny_run / "generator" / "config.json").read_text())
    cfg["styles"] = cfg["styles"][::-1]
    other = tmp_path / "swapped"
    other.mkdir()
    for f in (tiny_run / "generator").iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    (other / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(SystemExit, match="styles"):
        main(train_args(tiny_dataset, tmp_path / "x", "--steps", "1", "--init", str(other)))


def test_set_train_mode_freezes_what_inference_freezes(tiny_run):
    model, _, _ = load_generator(tiny_run / "generator")
    set_train_mode(model, freeze_bn=True, freeze_dropout=False)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    drops = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    assert norms and drops and not any(m.training for m in norms) and all(m.training for m in drops)
    set_train_mode(model, freeze_bn=False, freeze_dropout=True)
    assert all(m.training for m in norms) and not any(m.training for m in drops)


def test_edge_and_pyramid_losses():
    flat = torch.zeros(1, 1, 16, 16)
    checker = (torch.arange(16)[:, None] + torch.arange(16)[None]).remainder(2).float()[None, None]
    checker = checker * 0.2 - 0.1  # a faint checkerboard around the same mean as ``flat``
    assert edge_l1(flat, flat) == 0 and pyramid_l1(flat, flat) == 0
    assert edge_l1(checker, flat) > 0.19  # every pixel difference is 0.2
    assert pyramid_l1(checker, flat) < 1e-6  # invisible once pooled: why edges are needed too
    shifted = torch.zeros(1, 1, 16, 16)
    shifted[..., :8, :] = 1
    assert pyramid_l1(shifted, flat) > 0.4


def test_parse_attention():
    assert parse_attention("all") is True and parse_attention("none") is False
    assert parse_attention("16, 32,16") == [16, 32]


def test_lr_schedule():
    assert lr_factor(0, 100, 0.5) == lr_factor(49, 100, 0.5) == 1.0
    assert lr_factor(75, 100, 0.5) == pytest.approx(0.5)
    assert lr_factor(100, 100, 0.5) == 0.0


@pytest.mark.slow
def test_ddp_two_processes_on_cpu(tiny_dataset, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "unet.train", *train_args(tiny_dataset, out, "--steps", "2")]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run_config = json.loads((out / "config.json").read_text())
    assert run_config["world_size"] == 2
    log = read_jsonl(out / "log.jsonl")
    assert log[-1]["event"] == "done" and log[-1]["step"] == 2
    state = torch.load(out / "state.pt", map_location="cpu", weights_only=True)
    assert len(state["rng"]) == 2  # one RNG state per rank, for --resume
    model, config, _ = load_generator(out / "generator")
    assert model.config.num_styles == 2 and list(attention_layers(model)) == ["16x16", "8x8"]
