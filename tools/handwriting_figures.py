"""The README's handwriting pictures: ``python -m tools.handwriting_figures [--out docs]``.

Fills one page of the template with a handwriting-like font (LXGW WenKai, slightly turned and
scaled per box, as a hand would), photographs it (turned 6° in perspective, a shadow, blur, noise,
JPEG at quality 60, 2,000 px) and reads it back with ``unet.handwriting.reader``. Writes
``handwriting-photo.png`` (the photo, scaled down) and ``handwriting-extracted.png`` (what was read,
each glyph over its character and status).
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from unet.engine.glyphs import find_font_file
from unet.handwriting.reader import read_page
from unet.handwriting.template import TemplateSpec, default_characters, render_pages


def filled_page(spec: TemplateSpec, chars: str, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    page = np.asarray(render_pages(chars, spec)[0], dtype=np.float32).copy()
    font_file = str(find_font_file("LXGWWenKai-Regular.ttf"))
    for slot, ch in enumerate(chars[:spec.per_page]):
        if slot == 7:
            continue  # one box left empty
        x0, y0, x1, y1 = spec.box_rect(slot)
        mask = Image.new("L", (x1 - x0, y1 - y0), 0)
        size = int(spec.box * rng.uniform(0.62, 0.78))
        centre = (spec.box / 2 + rng.uniform(-12, 12), spec.box / 2 + rng.uniform(-12, 12))
        ImageDraw.Draw(mask).text(centre, ch, font=ImageFont.truetype(font_file, size), fill=255, anchor="mm")
        ink = np.asarray(mask.rotate(rng.uniform(-5, 5), resample=Image.Resampling.BILINEAR)) / 255.0
        page[y0:y1, x0:x1] = page[y0:y1, x0:x1] * (1 - ink) + 30 * ink
    return page


def photograph(page: np.ndarray, long_side: int = 2000, angle: float = 6.0, seed: int = 4) -> bytes:
    rng = np.random.default_rng(seed)
    h, w = page.shape
    out_w, out_h = round(long_side * 0.75), long_side
    scale = 0.85 * min(out_w / w, out_h / h)
    corners = np.array([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]) * scale
    t = np.radians(angle)
    dst = corners @ np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]).T + (out_w / 2, out_h / 2)
    dst += rng.uniform(-0.025, 0.025, (4, 2)) * long_side
    src = np.array([(0, 0), (w, 0), (w, h), (0, h)], np.float32)
    photo = cv2.warpPerspective(page, cv2.getPerspectiveTransform(src, dst.astype(np.float32)), (out_w, out_h),
                                flags=cv2.INTER_AREA, borderValue=95)
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    photo *= 1 - 0.4 * (xx + yy) / (out_w + out_h)  # a shadow from one corner
    photo = cv2.GaussianBlur(photo, (0, 0), 0.6) + rng.normal(0, 4, photo.shape)
    ok, jpeg = cv2.imencode(".jpg", np.clip(photo, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 60])
    return jpeg.tobytes()


def extracted_sheet(result, per_row: int = 12, cell: int = 72) -> Image.Image:
    label_font = ImageFont.truetype(str(find_font_file("NotoSansCJK-Regular.ttc")), 13)
    rows = (len(result.boxes) + per_row - 1) // per_row
    sheet = Image.new("RGB", (per_row * cell, rows * (cell + 20)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, box in enumerate(result.boxes):
        x, y = (i % per_row) * cell, (i // per_row) * (cell + 20)
        if box.glyph is not None:
            sheet.paste(Image.fromarray(box.glyph).resize((cell - 8, cell - 8), Image.Resampling.LANCZOS), (x + 4, y + 4))
        colour = (0, 0, 0) if box.status == "ok" else (180, 83, 9)
        draw.rectangle((x + 3, y + 3, x + cell - 4, y + cell - 4), outline=colour if box.status != "ok" else (220, 220, 220))
        text = box.char if box.status == "ok" else f"{box.char} {box.status}"
        draw.text((x + cell / 2, y + cell + 8), text, fill=colour, font=label_font, anchor="mm")
    return sheet


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m tools.handwriting_figures", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="docs")
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    spec = TemplateSpec()
    chars = default_characters()[:spec.per_page]
    jpeg = photograph(filled_page(spec, chars))
    start = time.perf_counter()
    result = read_page(jpeg)
    seconds = time.perf_counter() - start
    Image.open(io.BytesIO(jpeg)).convert("L").resize((480, 640), Image.Resampling.LANCZOS).save(
        out / "handwriting-photo.png", optimize=True)
    extracted_sheet(result).save(out / "handwriting-extracted.png", optimize=True)
    print(f"read page {result.label.page} of {result.label.pages} in {seconds:.2f} s (turned "
          f"{result.rotation}°): {result.counts()}; wrote {out}/handwriting-photo.png and "
          f"{out}/handwriting-extracted.png")


if __name__ == "__main__":
    main()
