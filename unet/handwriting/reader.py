"""Reading photos or scans of filled templates back into glyphs, normalised exactly as training glyphs.

One page (``read_page``): the image's size is checked before it is decoded (the upload limit), a
large photo is decoded and worked on at a reduced size, the four corner markers are found (on a
copy of at most 1,600 px) and give the homography to the printed page, which is warped to its
300 dpi coordinates, the right way up whatever way the photo was turned. Uneven light is divided
out (the paper's level, a blurred maximum filter, becomes 1.0). The QR code names the page and its
characters. Each box is cut inside its outline. Ink is what is clearly darker than the paper
(darker still on the light-grey guide), less specks and remnants of the outline, plus the faint
pixels joined to it (a blurred stroke's edges, its thin tapered tips). Its box is found to a
quarter of a pixel, its edges are made as crisp as a font's, and ``fit_ink``, the one
normalisation of every glyph, scales it to 128 px.

Per box a status, so a caller can show the glyphs and let the visitor untick the bad ones:
``ok``; ``blank`` (no ink); ``messy`` (the ink crosses the cut's edge over more than 3 % of its
perimeter, about three stroke widths: a character too big for its box, cut off by it);
``two_characters`` (ink at least 1.5 times as wide as tall, split by an empty gap of at least 4 %
of the box into two groups that each hold a quarter of the ink: two characters side by side).

Several pages (``read_pages``): any order, each page once (a page photographed twice keeps the
reading with more good boxes); a photo that cannot be read, or a page of another template, is a
message in ``failures`` and the other pages are still read.
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .. import settings
from ..engine.glyphs import fit_ink
from ..errors import UserError
from .template import QR_MODULES, PageLabel, TemplateSpec, decode_matrix, draw_guide

IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF")  # the only decoders Pillow may use here
WORK_SIDE = 3600  # px: a photo's long side is reduced to this before anything (the page is 3,508 px tall)
DETECT_SIDE = 1600  # px: markers are looked for on a copy this large (retried at full size if missing)
MIN_MARKERS = 3  # corner markers needed: 12 corners fix the homography; 2 markers would leave it loose
MAX_MARKER_ERROR = 40.0  # page px: markers further than this from where one flat page puts them are refused
BACKGROUND_SHRINK = 8  # the paper's level is estimated at 1/8 of the page's size ...
BACKGROUND_KERNEL = 7  # ... as a maximum over 7×7 of those px (56 page px: wider than any stroke) ...
BACKGROUND_BLUR = 3.0  # ... smoothed with this sigma
INSET = 10  # page px cut off inside each box's outline (its 3 px line and a homography's error)
EDGE_BAND = 8  # page px: ink lying wholly within this band along a box's edge is what is left of its outline
INK_CUT = 0.6  # ink is darker than this fraction of the paper's level ...
GUIDE_CUT = 0.45  # ... and darker than this on the printed guide (light grey, 0.8 of the paper)
FAINT_CUT = 0.8  # pixels darker than this joined to kept ink are its faint edges and thin tips ...
EDGE_REACH = 4  # ... and on the guide, only within this many px of it (not along the guide's lines)
SUBPIXEL = 4  # the ink is enlarged this much before its box is found ...
BOX_LEVEL = 0.3  # ... where it reaches this fraction of its darkness: blur widens a stroke's faint edge
# and thins its tapered tips; between the two, this level keeps the box where a font's would be
EDGE_CONTRAST = 2.0  # a glyph's soft edges are made this much steeper (0.25-0.75 of the ink -> 0-1)
SPECK_AREA = 0.0005  # ink components smaller than this fraction of a box are dust
BLANK_AREA = 0.002  # a box with less ink than this fraction of its area is blank
EDGE_LIMIT = 0.03  # "messy": ink on more than this fraction of the cut's outermost pixels
WIDE_ASPECT = 1.5  # "two_characters": ink this many times as wide as tall, ...
SPLIT_GAP = 0.04  # ... with an empty gap of this fraction of the box, ...
SPLIT_SHARE = 0.25  # ... each side holding this fraction of the ink
GLYPH_SIZE = 128
STATUSES = ("ok", "blank", "messy", "two_characters")


class ScanError(UserError):
    """A photo or scan that cannot be read as a page of the template; ``key`` is ``scan.<kind>``."""


@dataclass(frozen=True)
class BoxResult:
    """One box of a page: its character, its status (one of STATUSES) and its glyph (128×128
    uint8, black ink on white; None when blank)."""

    char: str
    status: str
    glyph: np.ndarray | None
    page: int
    slot: int


@dataclass(frozen=True)
class PageResult:
    """One page read: what its QR code says, how far the page was turned in the photo (0, 90, 180
    or 270 degrees clockwise; it is read the right way up whatever it is), and its boxes in order."""

    label: PageLabel
    rotation: int
    boxes: tuple[BoxResult, ...]
    source: str = ""

    def counts(self) -> dict[str, int]:
        return dict(Counter(box.status for box in self.boxes))


@dataclass(frozen=True)
class PageFailure:
    """A photo that gave no page, and why."""

    source: str
    error: ScanError


@dataclass
class ReadResult:
    """The pages read from several photos, each page once, in page order."""

    list_id: str
    pages: list[PageResult]
    missing: list[int]  # page numbers of the template that no photo gave
    failures: list[PageFailure] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # photos of a page already read (not used)

    def boxes(self, statuses: Sequence[str] = ("ok",)) -> list[BoxResult]:
        """The boxes with one of these statuses (with a glyph), in page and box order."""
        return [box for page in self.pages for box in page.boxes
                if box.status in statuses and box.glyph is not None]


# --- one page ---------------------------------------------------------------------------------


def read_page(image, spec: TemplateSpec = TemplateSpec(), list_id: str | None = None,
              source: str = "") -> PageResult:
    """Read one filled page from a photo or scan: a path, the file's bytes, a PIL image or a uint8
    array (gray, or RGB as PIL gives it). ``list_id``: refuse a page of any other template."""
    gray = _load_gray(image)
    homography, rotation = _locate(gray, spec)
    page = cv2.warpPerspective(gray, homography, (spec.width, spec.height), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=255)
    level = _normalise(page)
    label = _read_label(level, page, spec)
    if list_id is not None and label.list_id != list_id:
        raise _other_template(label, list_id)
    guide = _guide_mask(spec)
    boxes = tuple(_read_box(level, spec.box_rect(slot), guide, ch, label.page, slot)
                  for slot, ch in enumerate(label.chars[:spec.per_page]))
    return PageResult(label, rotation, boxes, source)


def _load_gray(image) -> np.ndarray:
    """The image as uint8 gray with a long side of at most WORK_SIDE; its pixels are counted
    before it is decoded (``settings.MAX_IMAGE_PIXELS``, as for uploads)."""
    if isinstance(image, np.ndarray):
        _check_pixels(image.shape[1], image.shape[0])
        if image.ndim == 3:
            image = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)
        if image.ndim != 2 or image.size == 0:
            raise ScanError("the image could not be read", key="scan.unreadable")
        gray = np.ascontiguousarray(image, dtype=np.uint8)
    else:
        img = image if isinstance(image, Image.Image) else _open(image)
        try:
            _check_pixels(*img.size)
            if img.format == "JPEG":  # decode at a reduced scale when the photo is much larger than needed
                scale = WORK_SIDE / max(img.size)
                img.draft("L", (round(img.size[0] * scale), round(img.size[1] * scale)))
            gray = np.asarray(img.convert("L"))
        except ScanError:
            raise
        except Exception as e:  # Pillow raises many types for a corrupt image
            raise ScanError("the image could not be read", key="scan.unreadable") from e
        finally:
            if img is not image:
                img.close()
    long_side = max(gray.shape)
    if long_side > WORK_SIDE:
        scale = WORK_SIDE / long_side
        gray = cv2.resize(gray, (round(gray.shape[1] * scale), round(gray.shape[0] * scale)),
                          interpolation=cv2.INTER_AREA)
    return gray


def _open(image) -> Image.Image:
    try:
        source = io.BytesIO(image) if isinstance(image, bytes | bytearray) else Path(image)
        return Image.open(source, formats=IMAGE_FORMATS)
    except Image.DecompressionBombError as e:
        raise ScanError(f"the image has too many pixels; at most {settings.MAX_IMAGE_PIXELS:,} are read",
                        key="scan.too_large") from e
    except Exception as e:  # not a file, not an image, a format not read here
        raise ScanError("the image could not be read (use a PNG, JPEG, WEBP, BMP or TIFF photo or scan)",
                        key="scan.unreadable") from e


def _check_pixels(width: int, height: int) -> None:
    if width * height > settings.MAX_IMAGE_PIXELS:
        raise ScanError(f"the image is {width:,}×{height:,} pixels; at most {settings.MAX_IMAGE_PIXELS:,} "
                        f"pixels are read", key="scan.too_large", width=width, height=height)


def _locate(gray: np.ndarray, spec: TemplateSpec) -> tuple[np.ndarray, int]:
    """The homography from the image to the page's coordinates, and the photo's rotation."""
    found = _find_markers(gray, spec)
    if len(found) < MIN_MARKERS:
        raise ScanError(f"found {len(found)} of the 4 corner squares; at least {MIN_MARKERS} must be in "
                        f"the photo (is this a page of the template?)", key="scan.no_markers", found=len(found))
    expected = spec.marker_corners()
    src = np.concatenate([found[mid] for mid in sorted(found)])
    dst = np.concatenate([expected[mid] for mid in sorted(found)])
    homography, _ = cv2.findHomography(src, dst, 0)
    if homography is None:
        raise ScanError("the corner squares do not fit one flat page", key="scan.no_markers", found=len(found))
    error = np.linalg.norm(cv2.perspectiveTransform(src[None], homography)[0] - dst, axis=1).max()
    if error > MAX_MARKER_ERROR:
        raise ScanError("the corner squares do not fit one flat page: flatten the page and take the photo "
                        "again", key="scan.no_markers", found=len(found))
    # the page's top edge, as drawn in the photo, gives how the photo was turned
    top = cv2.perspectiveTransform(np.array([[[0, 0], [spec.width, 0]]], np.float64), np.linalg.inv(homography))[0]
    angle = np.degrees(np.arctan2(top[1, 1] - top[0, 1], top[1, 0] - top[0, 0]))
    return homography, int(round(angle / 90)) % 4 * 90


def _find_markers(gray: np.ndarray, spec: TemplateSpec) -> dict[int, np.ndarray]:
    """Marker id -> its 4 corners in ``gray``'s px, for the template's ids; found on a copy of at
    most DETECT_SIDE px, and again at full size when some are missing."""
    params = cv2.aruco.DetectorParameters()
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
    detector = cv2.aruco.ArucoDetector(cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50), params)
    scale = min(1.0, DETECT_SIDE / max(gray.shape))
    found: dict[int, np.ndarray] = {}
    for s in (scale, 1.0) if scale < 1 else (1.0,):
        small = gray if s == 1 else cv2.resize(gray, (round(gray.shape[1] * s), round(gray.shape[0] * s)),
                                               interpolation=cv2.INTER_AREA)
        corners, ids, _ = detector.detectMarkers(small)
        found = {}
        for quad, mid in zip(corners, [] if ids is None else ids.ravel()):
            if int(mid) in spec.marker_ids and int(mid) not in found:
                found[int(mid)] = (quad.reshape(4, 2).astype(np.float64) + 0.5) / s - 0.5  # pixel centres
        if len(found) == len(spec.marker_ids):
            break
    return found


def _normalise(page: np.ndarray) -> np.ndarray:
    """The page divided by the paper's level (float32, paper ≈ 1.0): shadows and uneven light out."""
    h, w = page.shape
    small = cv2.resize(page, (w // BACKGROUND_SHRINK, h // BACKGROUND_SHRINK), interpolation=cv2.INTER_AREA)
    paper = cv2.dilate(small, np.ones((BACKGROUND_KERNEL, BACKGROUND_KERNEL), np.uint8))
    paper = cv2.GaussianBlur(paper.astype(np.float32), (0, 0), BACKGROUND_BLUR)
    paper = cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR)
    return page.astype(np.float32) / np.maximum(paper, 8.0)


def _read_label(level: np.ndarray, page: np.ndarray, spec: TemplateSpec) -> PageLabel:
    """What the page's QR code says. The code is where the template put it, so its modules are
    sampled at their centres and the clean code re-drawn and decoded (reads blurred, small photos);
    OpenCV's own detector on the region is the second try."""
    x0, y0, x1, y1 = spec.qr_rect()
    k = spec.qr_module
    cells = level[y0:y1, x0:x1].reshape(QR_MODULES, k, QR_MODULES, k)[:, k // 4:k - k // 4, :, k // 4:k - k // 4]
    means = np.clip(cells.mean(axis=(1, 3)) * 255, 0, 255).astype(np.uint8)
    cut, _ = cv2.threshold(means, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    text = decode_matrix(np.where(means > cut, 255, 0).astype(np.uint8))
    if not text:
        margin = 4 * k
        region = page[max(0, y0 - margin):y1 + margin, max(0, x0 - margin):x1 + margin]
        text, _, _ = cv2.QRCodeDetector().detectAndDecode(region)
    if not text:
        raise ScanError("the page's QR code could not be read: take the photo again, closer and in focus",
                        key="scan.no_page_id")
    label = PageLabel.parse(text)
    if label is None:
        raise ScanError("the QR code is not one of this template's: print the template again",
                        key="scan.not_template")
    if label.layout != spec.layout_id():
        raise ScanError("this page was printed from another version of the template: print the template "
                        "again", key="scan.other_layout")
    return label


def _other_template(label: PageLabel, list_id: str) -> ScanError:
    return ScanError(f"page {label.page} is from another template (list {label.list_id}, not {list_id})",
                     key="scan.other_template", found=label.list_id, expected=list_id, page=label.page)


def _guide_mask(spec: TemplateSpec) -> np.ndarray:
    """Where the printed guide is in a box's cut (True), grown by 3 px for a homography's error."""
    box = Image.new("L", (spec.box, spec.box), 255)
    draw_guide(ImageDraw.Draw(box), (0, 0, spec.box, spec.box), 0)
    guide = np.asarray(box) < 128
    guide = cv2.dilate(guide.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    return guide[INSET:spec.box - INSET, INSET:spec.box - INSET]


def _read_box(level: np.ndarray, rect: tuple[int, int, int, int], guide: np.ndarray, char: str, page: int,
              slot: int) -> BoxResult:
    x0, y0, x1, y1 = rect
    cut = level[y0 + INSET:y1 - INSET, x0 + INSET:x1 - INSET]
    dark = np.where(guide, cut < GUIDE_CUT, cut < INK_CUT).astype(np.uint8)
    kept = _drop_specks(dark)
    if kept.sum() < BLANK_AREA * kept.size:
        return BoxResult(char, "blank", None, page, slot)
    darkest = float(np.percentile(cut[kept], 10))
    soft = np.clip((1 - cut) / max(1 - darkest, 0.05), 0, 1)  # 0 the paper, 1 the ink's own darkness
    near = cv2.dilate(kept.astype(np.uint8), np.ones((2 * EDGE_REACH + 1,) * 2, np.uint8)) > 0
    strokes = _grow(kept, (cut < FAINT_CUT) & (near | ~guide))
    ink = np.where(strokes, soft, 0).astype(np.float32)
    ys, xs = np.nonzero(strokes)
    ink = ink[max(0, ys.min() - 1):ys.max() + 2, max(0, xs.min() - 1):xs.max() + 2]
    # the ink box to a quarter of a pixel: at the 128 px of a glyph, one pixel of the page is 0.6 px
    fine = cv2.resize(ink, None, fx=SUBPIXEL, fy=SUBPIXEL, interpolation=cv2.INTER_LINEAR)
    inked = fine >= BOX_LEVEL
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    crop = fine[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    # edges as crisp as a font's: the blur of the photo steepened about the strokes' half-darkness,
    # where they stay (BOX_LEVEL stays above 0, so fit_ink finds the same box)
    crop = (np.clip((crop - 0.5) * EDGE_CONTRAST + 0.5, 0, 1) * 255).round().astype(np.uint8)
    glyph = np.asarray(fit_ink(Image.fromarray(crop), GLYPH_SIZE), dtype=np.uint8)
    return BoxResult(char, _status(kept), glyph, page, slot)


def _drop_specks(dark: np.ndarray) -> np.ndarray:
    """The dark pixels less dust (components under SPECK_AREA of the box) and less what lies wholly
    in the EDGE_BAND along one side (what is left of the box's outline), as a bool mask."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    h, w = dark.shape
    x, y, cw, ch, area = (stats[:, i] for i in range(5))
    keep = ((area >= SPECK_AREA * dark.size)
            & (x + cw > EDGE_BAND) & (x < w - EDGE_BAND) & (y + ch > EDGE_BAND) & (y < h - EDGE_BAND))
    keep[0] = False  # the background
    return keep[labels]


def _grow(kept: np.ndarray, faint: np.ndarray) -> np.ndarray:
    """The kept ink and the faint pixels connected to it: a blurred stroke's soft edges (a stroke
    keeps its width where it crosses the guide) and thin tapered tips, so the ink box that
    ``fit_ink`` scales by is the whole character's."""
    count, labels = cv2.connectedComponents((faint | kept).astype(np.uint8), connectivity=8)
    touched = np.zeros(count, bool)
    touched[labels[kept]] = True
    touched[0] = False
    return touched[labels]


def _status(kept: np.ndarray) -> str:
    """``messy``, ``two_characters`` or ``ok`` by the rules in the module docstring."""
    frame = np.concatenate([kept[:2].ravel(), kept[-2:].ravel(), kept[2:-2, :2].ravel(), kept[2:-2, -2:].ravel()])
    if frame.mean() > EDGE_LIMIT:
        return "messy"
    ys, xs = np.nonzero(kept)
    width, height = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    if width >= WIDE_ASPECT * height:
        columns = kept[:, xs.min():xs.max() + 1].sum(axis=0)
        gap, best, start = 0, (0, 0), 0
        for i, c in enumerate(columns):
            gap = gap + 1 if c == 0 else 0
            if gap > best[0]:
                best, start = (gap, i), i - gap + 1
        if best[0] >= SPLIT_GAP * kept.shape[1]:
            left = columns[:start].sum() / columns.sum()
            if SPLIT_SHARE <= left <= 1 - SPLIT_SHARE:
                return "two_characters"
    return "ok"


# --- several pages ----------------------------------------------------------------------------


def read_pages(images: Iterable, spec: TemplateSpec = TemplateSpec(), list_id: str | None = None,
               sources: Sequence[str] | None = None) -> ReadResult:
    """Read several photos, in any order. The template is ``list_id`` if given, else the one most
    of the pages come from; a photo that cannot be read or is of another template is a failure,
    a page read twice keeps its reading with more ``ok`` boxes. Raises ``ScanError`` only when no
    page at all could be read."""
    read: list[PageResult] = []
    failures: list[PageFailure] = []
    for i, image in enumerate(images):
        source = sources[i] if sources is not None else _source_name(image, i)
        try:
            read.append(read_page(image, spec, source=source))
        except ScanError as e:
            failures.append(PageFailure(source, e))
    if not read:
        if not failures:
            raise ScanError("no photos were given", key="scan.no_pages")
        first = failures[0]
        if len(failures) == 1:
            raise first.error
        raise ScanError(f"none of the {len(failures)} photos could be read; {first.source}: {first.error}",
                        key=first.error.key, **first.error.params)
    ident = list_id or Counter(page.label.list_id for page in read).most_common(1)[0][0]
    pages: dict[int, PageResult] = {}
    duplicates: list[str] = []
    for page in read:
        if page.label.list_id != ident:
            failures.append(PageFailure(page.source, _other_template(page.label, ident)))
            continue
        held = pages.get(page.label.page)
        if held is None:
            pages[page.label.page] = page
        elif page.counts().get("ok", 0) > held.counts().get("ok", 0):
            pages[page.label.page] = page
            duplicates.append(held.source)
        else:
            duplicates.append(page.source)
    if not pages:
        raise failures[-1].error
    ordered = [pages[n] for n in sorted(pages)]
    total = ordered[0].label.pages
    missing = [n for n in range(1, total + 1) if n not in pages]
    return ReadResult(ident, ordered, missing, failures, duplicates)


def _source_name(image, index: int) -> str:
    if isinstance(image, str | Path):
        return Path(image).name
    return f"image {index + 1}"


def glyph_zip(boxes: Iterable[BoxResult]) -> bytes:
    """A ZIP of ``U+XXXX.png`` glyph images, the form ``unet.ownstyle.upload.read_glyphs`` reads."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for box in boxes:
            if box.glyph is None:
                continue
            png = io.BytesIO()
            Image.fromarray(box.glyph).save(png, "PNG")
            zf.writestr(f"U+{ord(box.char):04X}.png", png.getvalue())
    return buffer.getvalue()
