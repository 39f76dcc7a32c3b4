"""Same-budget fine-tuning ablation of the dithering fixes, and its score table.

    python -m tools.finetune_ablation run   --data DATASET --out runs/ablation [--steps 60] [--lanes 2]
    python -m tools.finetune_ablation score --data DATASET --out runs/ablation [--heldout 200]

``run`` fine-tunes the shipped checkpoint once per variant (each change alone, the same steps,
batch, learning rate and seed), ``lanes`` runs at a time with the cores split between them.
``score`` prints a markdown table: held-out SSIM and defect rates on held-out characters, and the
defect rates on a fixed sample of 300 seen GB2312 level-1 characters.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints" / "glyph-attention-3style"
VARIANTS = {  # name -> extra unet.train flags; every variant: no GAN, L1 x100 + constant loss
    "base": [],
    "freeze-bn": ["--freeze-bn"],
    "as-inference": ["--freeze-bn", "--freeze-dropout"],
    "edge": ["--edge-weight", "100"],
    "pyramid": ["--pyramid-weight", "100"],
    "output-blur": ["--output-blur"],
}
COMMON = ["--gan-weight", "0", "--category-weight", "0", "--batch-size", "8", "--lr", "1e-4",
          "--decay-from", "1.0", "--sample-every", "0", "--no-progress",
          "--ckpt-minutes", "1000", "--device", "cpu", "--log-every", "10"]


def seen_sample(data: Path, count: int = 300, seed: int = 7) -> str:
    """A fixed sample of GB2312 level-1 characters the model trained on."""
    from unet.engine.charsets import load_charset

    held = set((data / "heldout.txt").read_text(encoding="utf-8"))
    chars = [c for c in load_charset("gb2312-1") if c not in held]
    random.Random(seed).shuffle(chars)
    return "".join(chars[:count])


def run(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    threads = os.environ.get("OMP_NUM_THREADS") or max(1, (os.cpu_count() or 1) // args.lanes)

    def one(name: str) -> None:
        cmd = [sys.executable, "-m", "unet.train", "--data", args.data, "--out", str(out / name),
               "--init", args.init, "--steps", str(args.steps), *COMMON, *VARIANTS[name]]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        with open(out / f"{name}.log", "w") as log:
            subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)

    with ThreadPoolExecutor(args.lanes) as pool:
        list(pool.map(one, [v for v in VARIANTS if v in args.only.split(",")] if args.only else VARIANTS))


def score(args) -> None:
    from unet.train.data import GlyphPairs
    from unet.train.evaluate import evaluate, scan_charset

    data = GlyphPairs(args.data)
    seen = seen_sample(Path(args.data))
    names = args.only.split(",") if args.only else ["shipped"] + list(VARIANTS)
    rows = [("shipped (no fine-tune)", Path(args.init))] if "shipped" in names else []
    rows += [(name, Path(args.out) / name / "generator") for name in VARIANTS if name in names]
    print("| variant | style | held-out SSIM | held-out dithered | held-out textured | seen dithered "
          "| seen textured | held-out broken |")
    print("|---|---|---|---|---|---|---|---|")
    results = {}
    for label, ckpt in rows:
        if not (ckpt / "model.safetensors").is_file():
            continue
        held = evaluate(ckpt, data, limit=args.heldout, with_ablation=False)["styles"]
        scan = scan_charset(ckpt, seen)["styles"]
        results[label] = {"heldout": held, "seen": scan}
        for style, systems in held.items():
            h, s = systems["model"], scan[style]["model"]
            print(f"| {label} | {style} | {h['ssim']:.3f} | {h['dithered']:.1%} | {h['textured']:.1%} "
                  f"| {s['dithered']:.1%} | {s['textured']:.1%} | {h['broken']:.1%} |", flush=True)
    name = f"ablation-{args.only.replace(',', '+')}.json" if args.only else "ablation.json"
    (Path(args.out) / name).write_text(json.dumps(results, indent=1, ensure_ascii=False))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m tools.finetune_ablation", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["run", "score"])
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--init", default=str(SHIPPED))
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--lanes", type=int, default=2)
    p.add_argument("--only", default="", help="comma-separated variant names (default: all; "
                   "'shipped' names the starting checkpoint in score)")
    p.add_argument("--heldout", type=int, default=200)
    args = p.parse_args(argv)
    run(args) if args.command == "run" else score(args)


if __name__ == "__main__":
    main()
