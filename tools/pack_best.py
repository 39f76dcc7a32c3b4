"""Pick the attention variant with the best mean held-out SSIM and write its weights as fp16 shards
(the device tool returns files of at most 16 MiB); load both with safetensors and save them as
one ``model.safetensors`` to join them."""

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

runs, out = Path(sys.argv[1]), Path(sys.argv[2])
scores = {}
for run in runs.iterdir():
    m = run / "eval" / "metrics.json"
    if m.is_file() and run.name != "noattn":
        styles = json.loads(m.read_text())["styles"].values()
        scores[run.name] = sum(s["model"]["ssim"] for s in styles) / len(styles)
best = max(scores, key=scores.get)
print("mean SSIM by variant:", scores, "-> shipping", best)
tensors = load_file(str(runs / best / "generator" / "model.safetensors"))
keys = sorted(tensors)
half = len(keys) // 2
for i, part in enumerate((keys[:half], keys[half:])):
    save_file({k: tensors[k].to(torch.float16) if tensors[k].is_floating_point() else tensors[k]
               for k in part}, str(out / f"{best}-part{i}.safetensors"))
(out / "best.txt").write_text(best)
