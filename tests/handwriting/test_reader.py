"""The reader, on synthetic photos of filled templates: a handwriting-like font writes each box, the
page is photographed (turned up to 8°, in perspective, 1,200-4,000 px, a shadow, blur, paper noise,
JPEG at quality 60), and the glyphs read back are compared with the same ink normalised by
``fit_ink``. Seeds are fixed."""

from __future__ import annotations

import io
import time
import zipfile
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from unet import settings
from unet.engine.charsets import frequent_simplified
from unet.engine.glyphs import fit_ink
from unet.handwriting.cli import main
from unet.handwriting.reader import ScanError, glyph_zip, read_page, read_pages
from unet.handwriting.template import TemplateSpec, list_id, render_pages
from unet.ownstyle.upload import read_glyphs

from ..support import require_font

SPEC = TemplateSpec()
CHARS = "".join(frequent_simplified(2 * SPEC.per_page))  # two full pages
OTHER_CHARS = "".join(frequent_simplified(3500)[-20:])  # a template of one page, another list
INK = 28  # the pen's gray
FAINTEST = 26  # the pen leaves no ink under 10 % coverage
BLANK_SLOT, TWO_SLOT, BIG_SLOT = 5, 11, 20  # on page 2: left empty, two characters, a character too big
SECONDS_PER_PAGE = 3.0


def write(page: np.ndarray, rect, text: str, font_file, size: int, centre: tuple[float, float],
          angle: float = 0.0) -> np.ndarray:
    """Write ``text`` into the box ``rect`` of ``page`` (float gray, in place); returns the ink
    written (box-sized "L" array, white on black), as the pen left it."""
    x0, y0, x1, y1 = rect
    mask = Image.new("L", (x1 - x0, y1 - y0), 0)
    ImageDraw.Draw(mask).text(centre, text, font=ImageFont.truetype(str(font_file), size), fill=255, anchor="mm")
    mask = np.asarray(mask.rotate(angle, resample=Image.Resampling.BILINEAR, center=centre))
    mask = np.where(mask < FAINTEST, 0, mask).astype(np.uint8)  # no ink is fainter: else it sets the ink box
    ink = mask.astype(np.float32) / 255
    page[y0:y1, x0:x1] = page[y0:y1, x0:x1] * (1 - ink) + INK * ink
    return mask


def fill(chars: str, font_file, seed: int, special: bool = False) -> tuple[list[np.ndarray], list[dict]]:
    """The template's pages filled in, and per page {slot: the true glyph}; with ``special`` the
    second page has a blank box, a box of two characters and one of a character too big."""
    rng = np.random.default_rng(seed)
    pages, truths = [], []
    for number, image in enumerate(render_pages(chars, SPEC), start=1):
        page = np.asarray(image, dtype=np.float32).copy()
        page_chars = chars[(number - 1) * SPEC.per_page:number * SPEC.per_page]
        truth = {}
        for slot, ch in enumerate(page_chars):
            rect = SPEC.box_rect(slot)
            mid = SPEC.box / 2
            if special and number == 2 and slot == BLANK_SLOT:
                continue
            if special and number == 2 and slot == TWO_SLOT:
                write(page, rect, ch + page_chars[slot - 1], font_file, 108, (mid, mid))
                continue
            if special and number == 2 and slot == BIG_SLOT:
                write(page, rect, ch, font_file, 330, (mid, mid))
                continue
            size = int(rng.integers(175, 215))
            centre = (mid + rng.uniform(-10, 10), mid + rng.uniform(-10, 10))
            ink = write(page, rect, ch, font_file, size, centre, rng.uniform(-4, 4))
            truth[slot] = np.asarray(fit_ink(Image.fromarray(ink), 128))
        pages.append(np.clip(page, 0, 255).astype(np.uint8))
        truths.append(truth)
    return pages, truths


def photograph(page: np.ndarray, long_side: int, seed: int, angle: float, upside_down: bool = False,
               landscape: bool = False) -> bytes:
    """A phone photo of the page as a JPEG (quality 60): the paper's grain and dust, turned by
    ``angle``° in perspective on a table, ``long_side`` px, a shadow across it, blur, sensor noise."""
    rng = np.random.default_rng(seed)
    h, w = page.shape
    out_w, out_h = (long_side, round(long_side * 0.75)) if landscape else (round(long_side * 0.75), long_side)
    across, along = (h, w) if landscape else (w, h)  # the page's extent along the photo's width, height
    scale = rng.uniform(0.80, 0.88) * min(out_w / across, out_h / along)
    corners = np.array([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]) * scale
    turn = np.radians(angle + (90 if landscape else 0) + (180 if upside_down else 0))
    rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    dst = corners @ rot.T + (out_w / 2, out_h / 2) + rng.uniform(-0.03, 0.03, (4, 2)) * long_side
    src = np.array([(0, 0), (w, 0), (w, h), (0, h)], np.float32)
    paper = page.astype(np.float32) + cv2.resize(rng.normal(0, 3, (h // 16, w // 16)), (w, h))  # its grain
    for x, y in rng.integers(0, (w, h), (300, 2)):  # and dust: dots of 1-2 px (0.1-0.2 mm)
        cv2.circle(paper, (int(x), int(y)), int(rng.integers(1, 3)), 90, -1)
    soft = cv2.GaussianBlur(paper, (0, 0), 0.35 / scale)  # a camera averages over each of its pixels
    photo = cv2.warpPerspective(soft, cv2.getPerspectiveTransform(src, dst.astype(np.float32)), (out_w, out_h),
                                flags=cv2.INTER_LINEAR, borderValue=int(rng.integers(70, 120)))
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    direction = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(direction) * xx + np.sin(direction) * yy) / long_side
    ramp = (ramp - ramp.min()) / (ramp.max() - ramp.min())
    photo = photo * (1 - 0.45 * ramp)  # a shadow: the far side at 55 % of the light
    photo = cv2.GaussianBlur(photo.astype(np.float32), (0, 0), rng.uniform(0.4, 0.8))
    photo += rng.normal(0, 4, photo.shape)
    ok, jpeg = cv2.imencode(".jpg", np.clip(photo, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 60])
    assert ok
    return jpeg.tobytes()


def ink_iou(a: np.ndarray, b: np.ndarray) -> float:
    ia, ib = a < 128, b < 128
    return float((ia & ib).sum()) / max(1, int((ia | ib).sum()))


@pytest.fixture(scope="module")
def font_file():
    require_font(SPEC.label_font)
    return require_font("LXGWWenKai-Regular.ttf")


@pytest.fixture(scope="module")
def filled(font_file):
    return fill(CHARS, font_file, seed=1, special=True)


@pytest.fixture(scope="module")
def photos(filled):
    """(page number, photo, description): both pages, small and large, one upside down, one
    landscape."""
    pages, _ = filled
    return [(1, photograph(pages[0], 1200, seed=10, angle=8.0), "1200 px, +8°"),
            (2, photograph(pages[1], 4000, seed=11, angle=-8.0), "4000 px, -8°"),
            (1, photograph(pages[0], 2400, seed=12, angle=3.0, upside_down=True), "2400 px, upside down"),
            (2, photograph(pages[1], 1600, seed=13, angle=-5.0, landscape=True), "1600 px, landscape")]


@pytest.fixture(scope="module")
def readings(photos):
    """Each photo read on its own, with the seconds it took."""
    out = []
    for number, photo, what in photos:
        start = time.perf_counter()
        page = read_page(photo)
        out.append((number, page, time.perf_counter() - start, what))
    return out


def test_every_box_of_every_page_is_found_and_named(readings):
    for number, page, _, what in readings:
        assert page.label.page == number and page.label.pages == 2, what
        assert page.label.list_id == list_id(CHARS)
        assert "".join(box.char for box in page.boxes) == CHARS[(number - 1) * 48:number * 48], what
        assert all(box.glyph is None or box.glyph.shape == (128, 128) for box in page.boxes)


def test_glyphs_match_the_ink_written(readings, filled):
    _, truths = filled
    scores = []
    for number, page, _, what in readings:
        for slot, truth in truths[number - 1].items():
            box = page.boxes[slot]
            assert box.status == "ok", (what, slot, box.char, box.status)
            scores.append(ink_iou(box.glyph, truth))
    scores = np.array(scores)
    print(f"ink IoU over {scores.size} boxes: median {np.median(scores):.3f}, "
          f"worst 5 % {np.percentile(scores, 5):.3f}, min {scores.min():.3f}")
    assert np.median(scores) >= 0.9
    assert np.percentile(scores, 5) >= 0.8


def test_a_page_is_read_in_three_seconds(readings):
    for _, _, seconds, what in readings:
        print(f"{what}: {seconds:.2f} s")
        assert seconds <= SECONDS_PER_PAGE, what


def test_upside_down_and_turned_pages_are_read_the_right_way_up(readings):
    rotations = {what: page.rotation for _, page, _, what in readings}
    assert rotations == {"1200 px, +8°": 0, "4000 px, -8°": 0, "2400 px, upside down": 180,
                         "1600 px, landscape": 90}


def test_blank_two_characters_and_too_big_are_flagged(readings):
    page = next(page for number, page, _, _ in readings if number == 2)
    assert page.boxes[BLANK_SLOT].status == "blank" and page.boxes[BLANK_SLOT].glyph is None
    assert page.boxes[TWO_SLOT].status == "two_characters"
    assert page.boxes[BIG_SLOT].status == "messy"
    assert page.counts() == {"ok": 45, "blank": 1, "two_characters": 1, "messy": 1}


def test_read_pages_orders_dedupes_and_reports_other_templates(photos, font_file):
    other_pages, _ = fill(OTHER_CHARS, font_file, seed=3)
    other = photograph(other_pages[0], 1500, seed=14, angle=2.0)
    images = [photo for _, photo, _ in photos] + [other]
    result = read_pages(images, sources=["a", "b", "c", "d", "other"])
    assert result.list_id == list_id(CHARS) and result.missing == []
    assert [page.label.page for page in result.pages] == [1, 2]
    assert sorted(result.duplicates) == ["c", "d"] or len(result.duplicates) == 2
    assert [(f.source, f.error.key) for f in result.failures] == [("other", "scan.other_template")]
    ok = result.boxes()
    assert len(ok) == 48 + 45 and len({box.char for box in ok}) == len(ok)
    with pytest.raises(ScanError) as e:
        read_page(other, list_id=list_id(CHARS))
    assert e.value.key == "scan.other_template"


def test_the_zip_feeds_the_fine_tune(readings, tmp_path):
    page = readings[0][1]
    path = tmp_path / "glyphs.zip"
    path.write_bytes(glyph_zip(box for box in page.boxes if box.status == "ok"))
    names = zipfile.ZipFile(path).namelist()
    assert names[0] == f"U+{ord(page.boxes[0].char):04X}.png" and len(names) == 48
    upload = read_glyphs(path, wanted=[box.char for box in page.boxes])
    assert upload.chars == [box.char for box in page.boxes] and upload.glyphs.shape == (48, 128, 128)
    # read_glyphs finds the ink again (paper cut at 80 % of its level) and normalises it with fit_ink:
    # the glyphs come back nearly as they were (a font's rendered glyphs: 0.97)
    assert np.median([ink_iou(a, b.glyph) for a, b in zip(upload.glyphs, page.boxes)]) >= 0.93


def test_failures_are_messages(filled, monkeypatch):
    pages, _ = filled
    no_markers = pages[0].copy()
    for corners in SPEC.marker_corners().values():
        (x0, y0), (x1, y1) = corners[0].astype(int), corners[2].astype(int)
        no_markers[y0:y1, x0:x1] = 255
    no_qr = pages[0].copy()
    x0, y0, x1, y1 = SPEC.qr_rect()
    no_qr[y0:y1, x0:x1] = 255
    moved = np.asarray(render_pages(CHARS[:48], TemplateSpec(grid_top=SPEC.grid_top + 30))[0])  # another layout
    cases = [(photograph(no_markers, 1600, seed=20, angle=4.0), "scan.no_markers"),
             (photograph(moved, 1600, seed=22, angle=1.0), "scan.other_layout"),
             (photograph(no_qr, 1600, seed=21, angle=-4.0), "scan.no_page_id"),
             (b"this is not an image", "scan.unreadable"),
             (b"", "scan.unreadable")]
    for image, key in cases:
        with pytest.raises(ScanError) as e:
            read_page(image)
        assert e.value.key == key and "\n" not in str(e.value)
    monkeypatch.setattr(settings, "MAX_IMAGE_PIXELS", 1000 * 1000)
    with pytest.raises(ScanError) as e:
        read_page(cases[0][0])
    assert e.value.key == "scan.too_large"
    with pytest.raises(ScanError) as e:
        read_pages([])
    assert e.value.key == "scan.no_pages"


def test_the_photo_size_is_checked_before_decoding(monkeypatch):
    """A PNG that claims 5,000² pixels is refused from its header, not decoded."""
    png = io.BytesIO()
    Image.new("L", (8, 8), 255).save(png, "PNG")
    data = bytearray(png.getvalue())
    data[16:24] = (5000).to_bytes(4, "big") * 2  # the IHDR's width and height, then its checksum
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    with pytest.raises(ScanError) as e:
        read_page(bytes(data))
    assert e.value.key == "scan.too_large"


def test_cli_reads_photos_into_a_zip(photos, tmp_path, capsys):
    paths = []
    for i, (_, photo, _) in enumerate(photos):
        paths.append(tmp_path / f"photo{i + 1}.jpg")
        paths[-1].write_bytes(photo)
    (tmp_path / "notes.txt").write_text("not a photo")
    out = tmp_path / "glyphs.zip"
    assert main(["read", *map(str, paths), str(tmp_path / "notes.txt"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "page 1 of 2 (photo1.jpg): 48 ok" in printed
    assert "page 2 of 2 (photo2.jpg): 45 ok, 1 blank, 1 messy (" in printed and "1 two characters (" in printed
    assert "photo3.jpg: a page already read" in printed and "notes.txt: not read: the image could not be read" in printed
    assert len(zipfile.ZipFile(out).namelist()) == 93
    assert main(["read", str(paths[0]), "--out", str(tmp_path / "glyphs.tar")]) == 2
    assert "not a ZIP file name" in capsys.readouterr().err
