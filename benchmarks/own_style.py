"""How well does a visitor's own style come out? ``python -m benchmarks.own_style run|table``.

    python -m benchmarks.own_style run   --out runs/own [--fonts round,fangsong,hand]
                                         [--variants lora,plain] [--glyphs 300] [--minutes 10]
                                         [--steps N] [--lanes 1] [--threads 2]
    python -m benchmarks.own_style table --out runs/own

On fonts the model never saw (Debian packages: ``fonts-motoya-l-maruberi`` round,
``fonts-cwtex-fs`` FangSong, ``fonts-klee`` handwriting-like), each run fine-tunes a new style on
``--glyphs`` GB2312 level-1 characters the font draws and scores it on 200 others (the same 200 for
every run of a font), at 1, 2, 5 and 10 minutes of training (scoring time is not counted). Rows that
need no training: the identity baseline (the source glyph as the answer) and the nearest shipped
style. ``--steps`` bounds steps instead of minutes (for runs on a loaded machine: say how many steps
10 quiet minutes make). Each run writes ``<font>-<variant>-<glyphs>.json``; ``table`` prints them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

FONTS = {  # name -> (file, family, Debian package)
    "round": ("MTLmr3m.ttf", None, "fonts-motoya-l-maruberi"),
    "fangsong": ("cwfs.ttf", None, "fonts-cwtex-fs"),
    "hand": ("KleeOne-Regular.ttf", None, "fonts-klee"),
}
VARIANTS = {  # name -> TuneConfig fields
    "embedding": {"train": "embedding"},
    "lora": {"train": "lora"},
    "lora-aug": {"train": "lora", "augment": True},
    "lora-r32": {"train": "lora", "lora_rank": 32},
    "lora-r32-lr1e-3": {"train": "lora", "lora_rank": 32, "lora_lr": 1e-3},
    "decoder": {"train": "decoder"},
    "all": {"train": "all"},
    "plain": {"train": "all", "init": "mean", "embedding_lr": 2e-4, "lr": 2e-4},  # the baseline
    # the weights averaged over the last ~200 steps, the learning rates cooling to 5 % by the end
    "lora-ema": {"train": "lora", "ema": 0.995, "schedule": "cosine"},
    "all-ema": {"train": "all", "ema": 0.995, "schedule": "cosine"},
}
TEST_COUNT = 200
CURVE_MINUTES = (1, 2, 5, 10, 20, 30)


def split(font_name: str, glyphs: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """(training characters, test characters): test is fixed per font, training nested by count."""
    from unet.engine.charsets import load_charset
    from unet.engine.glyphs import Font
    from unet.train.data import DEFAULT_SOURCE

    source, target = Font.from_spec(DEFAULT_SOURCE), Font(FONTS[font_name][0], FONTS[font_name][1])
    pool = [c for c in load_charset("gb2312-1") if source.draws(c) and target.draws(c)]
    random.Random(seed).shuffle(pool)
    test, rest = pool[:TEST_COUNT], pool[TEST_COUNT:]
    return rest[:glyphs], test


def render(font_name: str, chars) -> tuple[np.ndarray, np.ndarray]:
    from unet.engine.glyphs import Font, image_to_array
    from unet.train.data import DEFAULT_SOURCE

    source, target = Font.from_spec(DEFAULT_SOURCE), Font(FONTS[font_name][0], FONTS[font_name][1])
    return (np.stack([image_to_array(source.render(c)) for c in chars]),
            np.stack([image_to_array(target.render(c)) for c in chars]))


def one_run(font_name: str, variant: str, glyphs: int, minutes: float, steps: int | None,
            out: Path) -> dict:
    """One fine-tune, scored on the test characters along the way; writes and returns its JSON."""
    import torch

    from unet.model import load_generator
    from unet.ownstyle.tune import TuneConfig, draw, to_unit, tune_style
    from unet.train.metrics import glyph_metrics

    base, config, _ = load_generator(Path(__file__).resolve().parents[1] / "checkpoints" / "glyph-attention-3style")
    names = [s["name"] for s in config["styles"]]
    train_chars, test_chars = split(font_name, glyphs)
    src, tgt = render(font_name, train_chars)
    test_src, test_tgt = render(font_name, test_chars)
    test_x, test_real = to_unit(test_src), test_tgt.astype(np.float32) / 255.0
    cfg = replace(TuneConfig(), **VARIANTS[variant], minutes=minutes, steps=steps, eval_every_s=20)
    marks = [m for m in CURVE_MINUTES if m < minutes] + [minutes]
    curve = []

    def probe(model, k, elapsed_s, step):
        if marks and elapsed_s >= marks[0] * 60 - 1:
            m = glyph_metrics(draw(model, test_x, k), test_real)
            curve.append({"minutes": marks.pop(0), "step": step, "ssim": m["ssim"], "dithered": m["dithered"]})

    t0 = time.perf_counter()
    tuned = tune_style(base, names, src, tgt, train_chars, cfg, probe=probe)
    final = glyph_metrics(draw(tuned.model, test_x, tuned.style_index), test_real)
    result = {"font": font_name, "variant": variant, "glyphs": glyphs, "minutes": minutes,
              "steps": tuned.steps, "train_s": round(tuned.seconds, 1), "wall_s": round(time.perf_counter() - t0, 1),
              "threads": torch.get_num_threads(), "start_style": tuned.start_style,
              "test": {"ssim": final["ssim"], "dithered": final["dithered"], "l1": final["l1"]},
              "heldback": {"ssim": tuned.heldout.get("ssim"), "dithered": tuned.heldout.get("dithered")},
              "curve": curve, "delta_bytes": sum(t.numel() * t.element_size() for t in tuned.delta.values())}
    (out / f"{font_name}-{variant}-{glyphs}.json").write_text(json.dumps(result, indent=1))
    return result


def baselines(font_name: str, out: Path) -> dict:
    """Identity and every shipped style on the test characters (no training)."""
    from unet.model import load_generator
    from unet.ownstyle.tune import draw, to_unit
    from unet.train.metrics import glyph_metrics

    base, config, _ = load_generator(Path(__file__).resolve().parents[1] / "checkpoints" / "glyph-attention-3style")
    _, test_chars = split(font_name, 0)
    test_src, test_tgt = render(font_name, test_chars)
    real = test_tgt.astype(np.float32) / 255.0
    rows = {"identity": glyph_metrics(test_src.astype(np.float32) / 255.0, real)}
    for k, style in enumerate(s["name"] for s in config["styles"]):
        rows[style] = glyph_metrics(draw(base, to_unit(test_src), k), real)
    result = {name: {"ssim": m["ssim"], "dithered": m["dithered"]} for name, m in rows.items()}
    (out / f"{font_name}-baselines.json").write_text(json.dumps(result, indent=1))
    return result


def run(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(f, v, g) for f in args.fonts.split(",") for g in map(int, str(args.glyphs).split(","))
            for v in args.variants.split(",")]
    for f in args.fonts.split(","):
        if not (out / f"{f}-baselines.json").is_file():
            baselines(f, out)

    def launch(job):
        f, v, g = job
        cmd = [sys.executable, "-m", "benchmarks.own_style", "one", "--out", str(out), "--fonts", f,
               "--variants", v, "--glyphs", str(g), "--minutes", str(args.minutes)]
        if args.steps:
            cmd += ["--steps", str(args.steps)]
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
        with open(out / f"{f}-{v}-{g}.log", "w") as log:
            subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)

    with ThreadPoolExecutor(args.lanes) as pool:
        list(pool.map(launch, jobs))
    table(args)


def table(args) -> None:
    out = Path(args.out)
    print("| font | run | glyphs | steps | test SSIM | vs identity | dithered | SSIM at 1 / 2 / 5 / 10 min |")
    print("|---|---|---|---|---|---|---|---|")
    for base_file in sorted(out.glob("*-baselines.json")):
        font = base_file.name.split("-")[0]
        rows = json.loads(base_file.read_text())
        ident = rows["identity"]["ssim"]
        for name, m in rows.items():
            print(f"| {font} | {name} (no training) | – | – | {m['ssim']:.3f} | {m['ssim'] - ident:+.3f} "
                  f"| {m['dithered']:.1%} | |")
        for path in sorted(out.glob(f"{font}-*-*.json")):
            if path.name.endswith("baselines.json"):
                continue
            r = json.loads(path.read_text())
            curve = " / ".join(f"{c['ssim']:.3f}" for c in r["curve"])
            print(f"| {font} | {r['variant']} | {r['glyphs']} | {r['steps']} | {r['test']['ssim']:.3f} "
                  f"| {r['test']['ssim'] - ident:+.3f} | {r['test']['dithered']:.1%} | {curve} |")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.own_style", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["run", "table", "one"])
    p.add_argument("--out", required=True)
    p.add_argument("--fonts", default=",".join(FONTS))
    p.add_argument("--variants", default="lora,plain,embedding")
    p.add_argument("--glyphs", default="300", help="comma-separated counts, e.g. 100,300,1000")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--lanes", type=int, default=1, help="runs at once")
    p.add_argument("--threads", type=int, default=2, help="torch threads per run")
    args = p.parse_args(argv)
    if args.command == "one":
        import torch

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
        one_run(args.fonts, args.variants, int(args.glyphs), args.minutes, args.steps, Path(args.out))
    elif args.command == "run":
        run(args)
    else:
        table(args)


if __name__ == "__main__":
    main()
