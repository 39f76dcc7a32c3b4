"""The printable template: pages of boxes, one character to write in each, that a photo can be read back from.

Why it looks as it does: a visitor has a pen, not a font file. Every page is A4 at 300 dpi. Four
ArUco markers at the corners let the reader undo any perspective, rotation or scale of a photo
(each marker knows its own corner, so a page photographed upside down is read the right way up).
A QR code holds the page's identity and its characters
(``GAHW1|<layout>|<list id>|<page>|<pages>|<chars>``),
so the reader knows which box holds which character without the visitor typing anything. Each
character is printed small above its box, never inside it, with its code point; the box has a faint
rice-grid guide in light grey, which the reader can tell from dark ink. The geometry lives in one
place, ``TemplateSpec``, which the reader uses too.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..engine.charsets import frequent_simplified
from ..engine.glyphs import find_font_file, is_cjk_ideograph
from ..errors import FontError, UserError, shown

PAYLOAD_TAG = "GAHW1"  # the first field of every page's QR code: this template, format 1
QR_VERSION = 8  # fixed, so the reader knows the module grid: 53 modules with OpenCV's 2-module margin,
QR_MODULES = 4 * QR_VERSION + 21  # and up to ~190 bytes (48 characters of 3 UTF-8 bytes and a 25-byte header)
QR_DECODE_SCALES = (4, 6, 8)  # px per module of the clean re-drawn code the reader decodes (see reader)
MAX_TEMPLATE_CHARS = 3500  # characters of one template (73 pages)
LABEL_FACES = 32  # faces of the label font's collection looked at for its family
COMPONENT_POOL = 1000  # default_characters picks from this many of the most frequent characters
PART_SIZE = 64  # px of the rendering whose halves stand for a character's components
PART_SHAPE = 12  # px of the coarse shape two halves are compared by
SAME_PART_IOU = 0.5  # two halves in the same place whose coarse shapes overlap this much are one component

TITLE = "手写字模板 · Handwriting template"
INSTRUCTIONS = (
    "请用黑色的粗笔（签字笔、马克笔），在每个方框里写出框上方印着的那个字：字写大一些，写在框内，不要碰到框线；"
    "写坏的字可以留空。",
    "写完后把纸放平，给每一页拍照或扫描，四个角上的黑色方块都要在画面里。",
    "With a bold black pen (a felt-tip or marker), write the character printed above each box inside the box: "
    "write it large, without touching the lines; leave a spoiled box empty.",
    "Then lay each page flat and photograph or scan it, with all four black corner squares in view.",
)


@dataclass(frozen=True)
class TemplateSpec:
    """Where everything is on a page, in pixels of the printed page (A4 at 300 dpi): the template
    draws from it and the reader cuts by it, so the two cannot disagree."""

    width: int = 2480
    height: int = 3508
    dpi: int = 300
    columns: int = 6
    rows: int = 8
    box: int = 260  # side of a writing box (2.2 cm)
    grid_left: int = 320  # left edge of the first column's boxes (the grid is centred)
    grid_top: int = 712  # top of the first row's labels
    col_pitch: int = 316  # from one box's left edge to the next one's
    row_pitch: int = 312  # from one row's label top to the next one's
    label_height: int = 44  # the printed character and its code point, above the box
    line_width: int = 3
    line_grey: int = 110  # the box outline: visible, and outside the area the reader cuts
    guide_grey: int = 205  # the rice-grid guide: light, so the reader tells it from ink
    marker_size: int = 200
    marker_margin: int = 90
    marker_ids: tuple[int, int, int, int] = (10, 11, 12, 13)  # top-left, top-right, bottom-right, bottom-left
    qr_left: int = 1514
    qr_top: int = 60
    qr_module: int = 12  # px per QR module: 3.5 px per module still in a 1,200 px photo of the page
    label_font: str = "NotoSansCJK-Regular.ttc"
    label_family: str = "Noto Sans CJK SC"

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def box_rect(self, slot: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of box ``slot`` (row by row from the top left), its outline included."""
        row, col = divmod(slot, self.columns)
        x0 = self.grid_left + col * self.col_pitch
        y0 = self.grid_top + row * self.row_pitch + self.label_height
        return x0, y0, x0 + self.box, y0 + self.box

    def marker_corners(self) -> dict[int, np.ndarray]:
        """Marker id -> its four corners (4×2, page px) in ArUco's order: the marker's own top-left,
        top-right, bottom-right, bottom-left. Coordinates are OpenCV's, whole numbers at pixel
        centres: the marker's outer edge lies half a pixel outside its first and last pixels."""
        s, m = self.marker_size, self.marker_margin - 0.5
        origins = [(m, m), (self.width - m - s, m), (self.width - m - s, self.height - m - s),
                   (m, self.height - m - s)]
        return {mid: np.array([(x, y), (x + s, y), (x + s, y + s), (x, y + s)], np.float32)
                for mid, (x, y) in zip(self.marker_ids, origins)}

    def qr_rect(self) -> tuple[int, int, int, int]:
        side = QR_MODULES * self.qr_module
        return self.qr_left, self.qr_top, self.qr_left + side, self.qr_top + side

    def layout_id(self) -> str:
        """4 hex digits naming where the boxes, markers and QR code are: a page printed with
        another layout would be cut in the wrong places, so the reader refuses it."""
        where = (self.width, self.height, self.columns, self.rows, self.box, self.grid_left, self.grid_top,
                 self.col_pitch, self.row_pitch, self.label_height, self.marker_size, self.marker_margin,
                 self.marker_ids, self.qr_left, self.qr_top, self.qr_module)
        return hashlib.sha256(repr(where).encode()).hexdigest()[:4]


@dataclass(frozen=True)
class PageLabel:
    """What a page's QR code says: the layout it was printed with (``TemplateSpec.layout_id``),
    the character list's id, the page (from 1), how many pages, and the page's characters in box
    order."""

    layout: str
    list_id: str
    page: int
    pages: int
    chars: str

    def payload(self) -> str:
        return f"{PAYLOAD_TAG}|{self.layout}|{self.list_id}|{self.page}|{self.pages}|{self.chars}"

    @classmethod
    def parse(cls, text: str) -> PageLabel | None:
        """The label a QR code's text holds, or None when it is not one of this template's codes.
        Trailing spaces are padding (see ``qr_matrix``)."""
        fields = text.rstrip(" ").split("|")
        if len(fields) != 6 or fields[0] != PAYLOAD_TAG:
            return None
        _, layout, list_id, page, pages, chars = fields
        if not (page.isdigit() and pages.isdigit() and 1 <= int(page) <= int(pages) and chars):
            return None
        return cls(layout, list_id, int(page), int(pages), chars)


# --- which characters -----------------------------------------------------------------------------


def default_characters(count: int = 300) -> str:
    """``count`` characters to write, in frequency order, chosen to cover common components.

    No component data (Unihan, IDS) is installed, so a component is approximated from the label
    font's drawing: where a character's ink has an empty column (or row) in the middle 60 % of its
    box, it is split there into a left and a right (a top and a bottom) half, and each half, reduced
    to a coarse 12×12 shape, stands for one component in that place (氵, 口, 艹, 亻 ...). Characters
    that cannot be split bring no component of their own.

    A greedy pass walks the 1,000 most frequent simplified characters (wordfreq, see
    ``frequent_simplified``) and takes each one that brings a half not seen yet (same place, coarse
    shapes overlapping less than half); the places left are filled with the most frequent characters
    not yet taken. The result is sorted by frequency. It is deterministic for a given font; the
    reader never recomputes it (the characters travel in each page's QR code).
    """
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_TEMPLATE_CHARS:
        raise UserError(f"the number of characters must be 1 to {MAX_TEMPLATE_CHARS:,}, not {shown(count)}")
    pool = frequent_simplified(max(COMPONENT_POOL, count))
    font = label_face(TemplateSpec())(PART_SIZE)
    seen: dict[str, list[np.ndarray]] = {}
    picked: set[str] = set()
    for ch in pool:
        if len(picked) == count:
            break
        brings_new = False
        for place, shape in _halves(font, ch):
            known = seen.setdefault(place, [])
            if not any(_overlap(shape, other) >= SAME_PART_IOU for other in known):
                known.append(shape)
                brings_new = True
        if brings_new:
            picked.add(ch)
    for ch in pool:
        if len(picked) == count:
            break
        picked.add(ch)
    return "".join(ch for ch in pool if ch in picked)


def _halves(font: ImageFont.FreeTypeFont, ch: str) -> list[tuple[str, np.ndarray]]:
    """The (place, coarse shape) halves of a character (see ``default_characters``)."""
    mask = font.getmask(ch, mode="L")
    if not mask.size[0] * mask.size[1]:
        return []
    ink = np.asarray(Image.frombytes("L", mask.size, bytes(mask))) > 127
    if not ink.any():
        return []
    halves = []
    for axis, places in ((1, ("left", "right")), (0, ("top", "bottom"))):
        lines = ink.any(axis=1 - axis)  # axis 1: is there ink in each column; axis 0: in each row
        inked = np.flatnonzero(lines)
        start, end = inked[0], inked[-1] + 1
        band = np.arange(start + (end - start) // 5, end - (end - start) // 5)
        empty = band[~lines[band]]
        if empty.size:
            cut = int(empty[empty.size // 2])
            first, second = (ink[:, :cut], ink[:, cut:]) if axis == 1 else (ink[:cut], ink[cut:])
            halves += [(places[0], _shape(first)), (places[1], _shape(second))]
    return halves


def _shape(ink: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(ink)
    crop = ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.uint8) * 255
    small = Image.fromarray(crop).resize((PART_SHAPE, PART_SHAPE), Image.Resampling.BILINEAR)
    return np.asarray(small) > 64


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum()) / max(1, int((a | b).sum()))


def template_characters(chars: str | Iterable[str]) -> str:
    """The characters of a template as given, checked: NFC, each once, in order, CJK ideographs only
    (the model draws nothing else), at most MAX_TEMPLATE_CHARS."""
    text = unicodedata.normalize("NFC", "".join(chars))
    unique = "".join(dict.fromkeys(ch for ch in text if not ch.isspace()))
    others = [ch for ch in unique if not is_cjk_ideograph(ch)]
    if others:
        raise UserError(f"a template holds Chinese characters only, not {shown(''.join(others))}",
                        key="template.not_cjk", chars=shown("".join(others)))
    if not unique:
        raise UserError("a template needs at least one character", key="template.empty")
    if len(unique) > MAX_TEMPLATE_CHARS:
        raise UserError(f"a template holds at most {MAX_TEMPLATE_CHARS:,} characters, not {len(unique):,}",
                        key="template.too_many", limit=f"{MAX_TEMPLATE_CHARS:,}", count=f"{len(unique):,}")
    return unique


def list_id(chars: str) -> str:
    """The character list's id: the first 8 hex digits of the SHA-256 of its UTF-8 text."""
    return hashlib.sha256(chars.encode("utf-8")).hexdigest()[:8]


def page_labels(chars: str, spec: TemplateSpec = TemplateSpec()) -> list[PageLabel]:
    """The pages of a template, each with its characters in box order."""
    chars = template_characters(chars)
    ident = list_id(chars)
    n = spec.per_page
    pages = [chars[i:i + n] for i in range(0, len(chars), n)]
    return [PageLabel(spec.layout_id(), ident, i + 1, len(pages), text) for i, text in enumerate(pages)]


# --- drawing --------------------------------------------------------------------------------------


def qr_matrix(text: str) -> np.ndarray:
    """The QR code (QR_MODULES², uint8 0/255, 2-module white margin) for ``text``.

    OpenCV's decoder fails on a few perfectly drawn codes; a page whose code would not be read back
    is useless once it is filled in, so each code is checked here as the reader will decode it, and
    padded with a trailing space (ignored by ``PageLabel.parse``) until it is."""
    params = cv2.QRCodeEncoder.Params()
    params.correction_level = cv2.QRCodeEncoder_CORRECT_LEVEL_L
    params.version = QR_VERSION
    encoder = cv2.QRCodeEncoder.create(params)
    for padding in range(8):
        try:
            matrix = encoder.encode(text + " " * padding)
        except cv2.error as e:
            raise UserError("these characters do not fit in a page's QR code (too many characters "
                            "outside the Basic Multilingual Plane on one page)") from e
        if decode_matrix(matrix) == text + " " * padding:
            return matrix
    raise RuntimeError(f"no readable QR code for {text!r}")  # never seen: a bug to report


def decode_matrix(matrix: np.ndarray) -> str:
    """The text of a clean QR module matrix (0 dark, 255 light), '' when unreadable: drawn at a few
    module sizes, since OpenCV's detector reads some sizes and not others."""
    detector = cv2.QRCodeDetector()
    for scale in QR_DECODE_SCALES:
        side = matrix.shape[0] * scale
        text, _, _ = detector.detectAndDecode(cv2.resize(matrix, (side, side), interpolation=cv2.INTER_NEAREST))
        if text:
            return text
    return ""


def render_pages(chars: str | Iterable[str], spec: TemplateSpec = TemplateSpec()) -> list[Image.Image]:
    """The template's pages as grayscale ("L") images of spec.width × spec.height."""
    labels = page_labels("".join(chars), spec)
    face = label_face(spec)
    return [_render_page(label, spec, face) for label in labels]


def label_face(spec: TemplateSpec) -> Callable[[int], ImageFont.FreeTypeFont]:
    """The printed labels' font, by size: the face of ``spec.label_family`` in ``spec.label_font``
    (found with Pillow alone: fontTools' ``Font`` would keep the collection's file open)."""
    path = find_font_file(spec.label_font)
    for index in range(LABEL_FACES):
        try:
            face = ImageFont.truetype(str(path), 12, index=index)
        except OSError:  # past the collection's last face
            break
        if face.getname()[0] == spec.label_family:
            return lambda size: ImageFont.truetype(str(path), size, index=index)
    raise FontError(f"{path}: no face of the family {spec.label_family!r}")


def _render_page(label: PageLabel, spec: TemplateSpec, face: Callable[[int], ImageFont.FreeTypeFont]) -> Image.Image:
    page = Image.new("L", (spec.width, spec.height), 255)
    draw = ImageDraw.Draw(page)

    dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50)
    for mid, corners in spec.marker_corners().items():
        marker = cv2.aruco.generateImageMarker(dictionary, mid, spec.marker_size, borderBits=1)
        page.paste(Image.fromarray(marker), tuple(int(v + 0.5) for v in corners[0]))
    x0, y0, x1, y1 = spec.qr_rect()
    qr = cv2.resize(qr_matrix(label.payload()), (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
    page.paste(Image.fromarray(qr), (x0, y0))

    left, top = spec.marker_margin + spec.marker_size + 40, spec.qr_top + 40
    draw.text((left, top), TITLE, font=face(56), fill=0)
    draw.text((left, top + 100), f"第 {label.page} 页，共 {label.pages} 页 · page {label.page} of {label.pages}",
              font=face(40), fill=0)
    draw.text((left, top + 170), f"字表 list {label.list_id} · 本页 {len(label.chars)} 字 characters",
              font=face(32), fill=60)
    draw.text((left, top + 230), "Glyph Attention", font=face(28), fill=110)

    char_face, code_face = face(36), face(22)
    for slot, ch in enumerate(label.chars):
        bx0, by0, bx1, by1 = spec.box_rect(slot)
        draw.text((bx0, by0 - spec.label_height), ch, font=char_face, fill=0)
        draw.text((bx0 + 48, by0 - spec.label_height + 12), f"U+{ord(ch):04X}", font=code_face, fill=70)
        draw_guide(draw, (bx0, by0, bx1, by1), spec.guide_grey)
        draw.rectangle((bx0, by0, bx1 - 1, by1 - 1), outline=spec.line_grey, width=spec.line_width)

    text_left = spec.marker_margin + spec.marker_size + 30
    text_width = spec.width - 2 * text_left
    y = spec.box_rect(spec.per_page - 1)[3] + 24
    body = face(28)
    for paragraph in INSTRUCTIONS:
        for line in _wrap(draw, paragraph, body, text_width):
            draw.text((text_left, y), line, font=body, fill=40)
            y += 38
    return page


def draw_guide(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], grey: int) -> None:
    """The rice-grid (米字格) guide: the two middle lines and the two diagonals, dashed."""
    x0, y0, x1, y1 = box
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    for start, end in (((mx, y0), (mx, y1)), ((x0, my), (x1, my)), ((x0, y0), (x1, y1)), ((x1, y0), (x0, y1))):
        _dashed(draw, start, end, grey)


def _dashed(draw: ImageDraw.ImageDraw, start, end, grey: int, dash: float = 12, gap: float = 10) -> None:
    (ax, ay), (bx, by) = start, end
    length = float(np.hypot(bx - ax, by - ay))
    steps = np.arange(0, length, dash + gap)
    for s in steps:
        t0, t1 = s / length, min(s + dash, length) / length
        draw.line((ax + (bx - ax) * t0, ay + (by - ay) * t0, ax + (bx - ax) * t1, ay + (by - ay) * t1),
                  fill=grey, width=2)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines of at most ``width`` px: English breaks at spaces, Chinese between any two characters."""
    words = text.split(" ") if " " in text else list(text)
    joiner = " " if " " in text else ""
    lines, line = [], ""
    for word in words:
        candidate = f"{line}{joiner}{word}" if line else word
        if line and draw.textlength(candidate, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return lines + [line] if line else lines


# --- files ----------------------------------------------------------------------------------------


def write_pdf(chars: str | Iterable[str], path: str | Path, spec: TemplateSpec = TemplateSpec()) -> int:
    """The template as a multi-page PDF to print at 100 % (A4); returns the number of pages."""
    pages = render_pages(chars, spec)
    try:
        pages[0].save(path, "PDF", save_all=True, append_images=pages[1:], resolution=spec.dpi, quality=92)
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror or e}") from e
    return len(pages)


def write_png(chars: str | Iterable[str], directory: str | Path, spec: TemplateSpec = TemplateSpec()) -> list[Path]:
    """The template as one PNG per page (``page-01.png`` ...), to look at on a screen."""
    pages = render_pages(chars, spec)
    directory = Path(directory)
    paths = [directory / f"page-{i + 1:02d}.png" for i in range(len(pages))]
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for page, path in zip(pages, paths):
            page.save(path, dpi=(spec.dpi, spec.dpi))
    except OSError as e:
        raise UserError(f"cannot write {e.filename or directory}: {e.strerror or e}") from e
    return paths
