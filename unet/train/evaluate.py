"""Held-out evaluation: ``python -m unet.evaluate --checkpoint DIR --data DATASET_DIR --out DIR``.

Similarity is scored on the dataset's held-out characters only. Side by side, per style: the model,
the same model with every attention layer bypassed through hooks, the identity baseline (the source
glyph taken as the answer), the real font itself (its defect rates are the floor: ~0) and, with
``--compare``, a second model (e.g. the no-attention ablation). Every row also carries the defect
rates of ``unet.metrics`` (dithered, textured, broken strokes).

``--charset gb2312-1`` adds a scan of a whole charset (seen and unseen characters alike): defect
rates per style, with SSIM where the style's font draws the character.
Writes ``metrics.json``, ``metrics.md`` and one ``sheet_<style>.png`` per style.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from ..engine.hooks import attention_hooks
from ..engine.visualize import glyph_sheet
from ..errors import UserError
from ..model import UnetGenerator, attention_layers, load_generator
from ..startup import run_cli
from .data import GlyphPairs
from .metrics import defect_metrics, glyph_metrics


@torch.inference_mode()
def generate_unit(model: UnetGenerator, src: torch.Tensor, style: int, disabled=(),
                  batch_size: int = 64) -> np.ndarray:
    """Generate for source glyphs (N, 1, S, S) in [-1, 1]; returns (N, S, S) in [0, 1]."""
    device = next(model.parameters()).device
    outs = []
    with attention_hooks(model, disabled):
        for i in range(0, len(src), batch_size):
            x = src[i:i + batch_size].to(device)
            s = torch.full((len(x),), style, dtype=torch.long, device=device)
            outs.append(model(x, s).float().clamp(-1, 1).cpu())
    return ((torch.cat(outs) + 1) / 2).squeeze(1).numpy()


def evaluate(checkpoint, data: GlyphPairs, compare=None, device="cpu", limit: int | None = None,
             sheet_dir: Path | None = None, sheet_count: int = 16, with_ablation: bool = True) -> dict:
    """Per style, the model's metrics on the held-out characters; ``with_ablation`` adds the rows
    that put them in context (attention off, identity, the real font)."""
    model, config, _ = load_generator(checkpoint, device)
    other = load_generator(compare, device)[0] if compare else None
    idx = data.heldout_index[:limit] if limit else data.heldout_index
    src = GlyphPairs.to_unit(data.source[idx]).cpu()
    identity = ((src + 1) / 2).squeeze(1).numpy()
    layers = list(attention_layers(model))
    style_names = [s["name"] for s in config.get("styles", [])] or data.styles
    results = {"heldout_chars": len(idx), "attention_layers": layers,
               "gamma": {n: float(m.gamma.detach()) for n, m in attention_layers(model).items()},
               "styles": {}}
    for k, name in enumerate(style_names):
        if name not in data.styles:
            continue
        real = data.targets[data.styles.index(name), idx].cpu().float().numpy() / 255.0
        rows = {"model": generate_unit(model, src, k)}
        if layers and with_ablation:
            rows["model, attention off"] = generate_unit(model, src, k, disabled=layers)
        if other is not None:
            rows["compare"] = generate_unit(other, src, k)
        if with_ablation:
            rows["identity"] = identity
            rows["real font"] = real
        results["styles"][name] = {label: glyph_metrics(pred, real) for label, pred in rows.items()}
        if sheet_dir is not None:
            n = min(sheet_count, len(idx))
            sheet = glyph_sheet([("source", [t for t in src[:n]]),
                                 (name[:14], [torch.from_numpy(p * 2 - 1) for p in rows["model"][:n]]),
                                 ("real", [torch.from_numpy(r * 2 - 1) for r in real[:n]])],
                                [data.chars[i] for i in idx[:n].tolist()])[0]
            sheet.save(Path(sheet_dir) / f"sheet_{name.replace(' ', '_')}.png")
    return results


def scan_charset(checkpoint, chars: str, device="cpu", batch_size: int = 64) -> dict:
    """Defect rates per style over every character of ``chars`` the source font draws, and SSIM
    against the style's font where it draws the character (seen and unseen characters alike)."""
    from ..engine.glyphs import Font, FontError, FontSpec, image_to_array

    model, config, directory = load_generator(checkpoint, device)
    source = Font.from_spec(FontSpec.from_dict(config["glyphs"]["source"]))
    size = int(config["glyphs"]["size"])
    chars = [c for c in dict.fromkeys(chars) if source.draws(c)]
    src = torch.from_numpy(np.stack([image_to_array(source.render(c, size)) for c in chars]))
    src = GlyphPairs.to_unit(src)
    out = {"chars": len(chars), "styles": {}}
    for k, style in enumerate(config.get("styles", [])):
        pred = generate_unit(model, src, k, batch_size=batch_size)
        row = {"model": defect_metrics(pred)}
        try:
            font = Font.from_spec(FontSpec.from_dict(style["font"]))
        except FontError:
            font = None
        drawn = [i for i, c in enumerate(chars) if font.draws(c)] if font is not None else []
        if drawn:
            real = np.stack([image_to_array(font.render(chars[i], size)) for i in drawn]) / 255.0
            if len(drawn) == len(chars):
                row["model"] = glyph_metrics(pred, real)
            else:
                row["model, where the font draws"] = glyph_metrics(pred[drawn], real)
            row["real font"] = defect_metrics(real)
        out["styles"][style["name"]] = row
    return out


def markdown_table(results: dict) -> str:
    lines = ["| style | system | SSIM | L1 | ink IoU | dithered | textured | broken strokes |",
             "|---|---|---|---|---|---|---|---|"]
    for style, systems in results["styles"].items():
        for label, m in systems.items():
            lines.append(f"| {style} | {label} | {m['ssim']:.3f} | {m['l1']:.3f} | {m['ink_iou']:.3f} "
                         f"| {m['dithered']:.1%} | {m['textured']:.1%} | {m['broken']:.1%} |")
    scan = results.get("charset")
    if scan:
        lines += ["", f"Whole charset `{scan['name']}` ({scan['chars']} characters, seen and unseen):", "",
                  "| style | system | SSIM | dithered | textured | broken strokes |",
                  "|---|---|---|---|---|---|"]
        for style, systems in scan["styles"].items():
            for label, m in systems.items():
                ssim = f"{m['ssim']:.3f}" if "ssim" in m else "–"
                broken = f"{m['broken']:.1%}" if "broken" in m else "–"
                lines.append(f"| {style} | {label} | {ssim} | {m['dithered']:.1%} | {m['textured']:.1%} "
                             f"| {broken} |")
    return "\n".join(lines)


PROG = "python -m unet.evaluate"


def main(argv=None) -> None:
    """The command line. A problem the person can fix (a broken checkpoint, a missing dataset) ends
    it with one line on stderr and exit status 2; ``unet/evaluate.py`` ignores a return value, so
    this exits itself."""
    code = run_cli(lambda: _main(argv), PROG)
    if code:
        sys.exit(code)


def _main(argv=None) -> None:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint directory or Hub repo id")
    p.add_argument("--data", required=True, help="dataset directory (its held-out characters)")
    p.add_argument("--compare", default=None, help="a second checkpoint, e.g. the no-attention ablation")
    p.add_argument("--out", default=None, help="directory for metrics.json, metrics.md and sheets")
    p.add_argument("--limit", type=int, default=None, help="score only the first N held-out characters")
    p.add_argument("--charset", default=None,
                   help="also scan a whole charset for defects (e.g. gb2312-1; a name or a file)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = p.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    try:
        data = GlyphPairs(a.data)
    except (OSError, ValueError, KeyError) as e:  # files missing or unreadable, a broken meta.json
        raise UserError(f"{a.data}: not a readable dataset directory ({type(e).__name__}: "
                        f"{str(e)[:200]})") from e
    out = Path(a.out) if a.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    results = evaluate(a.checkpoint, data, a.compare, a.device, a.limit, out)
    if a.charset:
        from ..engine.charsets import load_charset

        results["charset"] = {"name": a.charset,
                              **scan_charset(a.checkpoint, load_charset(a.charset), a.device)}
    table = markdown_table(results)
    print(table)
    print("gamma:", json.dumps(results["gamma"]))
    if out:
        (out / "metrics.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
        (out / "metrics.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
