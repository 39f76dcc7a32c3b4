"""Fonts and glyph rendering: the one rendering function used by training, evaluation and the demo.

Normalisation (``render``): the glyph is drawn large, its ink bounding box is cropped and scaled
(aspect ratio kept) so the longer side fills ``fit`` = 7/8 of the canvas, then centred on a white
square canvas of ``size`` px. Fitting the ink box rather than keeping the em-box makes every style
use the canvas the same way, so the model learns shape, not each font's margins and baseline; it is
also the protocol of the published figures we compare against (128 px canvas, 112 px box).
"""

from __future__ import annotations

import struct
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fontTools.pens.boundsPen import BoundsPen
from fontTools.ttLib import TTCollection, TTFont, TTLibError
from PIL import Image, ImageFont

from ..errors import FontError, shown
from ..settings import font_dirs

ASSETS = Path(__file__).resolve().parents[2] / "assets"
RENDER_EM = 256  # font size in px used for drawing before the ink box is scaled to the canvas
FIT = 7 / 8  # the ink box's longer side fills this fraction of the canvas (112 px of 128)


@dataclass(frozen=True)
class FontSpec:
    """Where a font lives: a file (absolute, relative to assets/, or found under system font dirs)
    and, for a collection, the family name of the face."""

    file: str
    family: str | None = None

    def to_dict(self) -> dict:
        return {"file": self.file, "family": self.family}

    @classmethod
    def from_dict(cls, d: dict) -> FontSpec:
        return cls(d["file"], d.get("family"))


def find_font_file(name: str | Path) -> Path:
    """Resolve a font path: as given, under assets/, or by file name under the system font dirs."""
    path = Path(name)
    if path.is_file():
        return path
    if (ASSETS / path).is_file():
        return ASSETS / path
    roots = font_dirs()  # GLYPH_FONT_DIRS as the environment says now, then the system's folders
    for root in roots:
        if root.is_dir():
            hits = sorted(root.rglob(path.name))
            if hits:
                return hits[0]
    raise FontError(f"font file not found: {name} (looked as given, in {ASSETS}, and under "
                    f"{', '.join(str(d) for d in roots)})")


def _family_names(tt: TTFont) -> set[str]:
    names = set()
    for rec in tt["name"].names:
        if rec.nameID in (1, 4, 16):
            try:
                names.add(rec.toUnicode())
            except UnicodeDecodeError:
                pass
    return names


def _open_face(path: Path, family: str | None) -> tuple[TTFont, int]:
    """Open one face with fontTools; in a collection pick the face whose family matches."""
    try:
        with open(path, "rb") as f:
            is_collection = f.read(4) == b"ttcf"
        if not is_collection:
            tt = TTFont(str(path), lazy=True)
            tt["cmap"]  # force parsing now so a corrupt file fails here, not at first use
            if family and family not in _family_names(tt):
                raise FontError(f"{path}: family {shown(family)} not found; the font is "
                                f"{sorted(_family_names(tt))}")
            return tt, 0
        coll = TTCollection(str(path), lazy=True)
        faces = [(i, _family_names(tt)) for i, tt in enumerate(coll.fonts)]
    except FontError:
        raise
    except (TTLibError, OSError, AssertionError, KeyError, struct.error, ValueError, IndexError) as e:
        raise FontError(f"{path}: not a readable font file ({type(e).__name__}: {e})") from e
    if family is None:
        index = 0
    else:
        matches = [i for i, names in faces if family in names]
        if not matches:
            available = sorted({n for _, names in faces for n in names if "CJK" in n or len(faces) < 8})
            raise FontError(f"{path}: no face with family {shown(family)} in this collection; "
                            f"faces: {available}")
        index = matches[0]
    tt = TTFont(str(path), fontNumber=index, lazy=True)
    tt["cmap"]
    return tt, index


class Font:
    """A loaded font face: coverage from its cmap, blank-glyph detection, and rendering.

    Thread-safe: FreeType faces and fontTools' lazy tables are not, so one lock guards them.
    """

    def __init__(self, file: str | Path, family: str | None = None):
        self.path = find_font_file(file)
        self.family = family
        self._tt, self.face_index = _open_face(self.path, family)
        try:
            self._cmap: dict[int, str] = dict(self._tt.getBestCmap() or {})
            self._pil = ImageFont.truetype(str(self.path), size=RENDER_EM, index=self.face_index)
        except Exception as e:  # PIL/fontTools raise many types for a broken file
            raise FontError(f"{self.path}: not a readable font file ({type(e).__name__}: {e})") from e
        self._glyphset = None
        self._bounds: dict[str, tuple | None] = {}
        self._lock = threading.Lock()
        self.name = family or self._tt["name"].getDebugName(1) or self.path.stem

    @classmethod
    def from_spec(cls, spec: FontSpec) -> Font:
        return cls(spec.file, spec.family)

    def __repr__(self) -> str:
        return f"Font({self.name!r}, {str(self.path)!r}, face={self.face_index})"

    @property
    def codepoints(self) -> set[int]:
        return set(self._cmap)

    def has(self, ch: str) -> bool:
        """True when the cmap maps the character to a glyph (not a pixel guess)."""
        return len(ch) == 1 and ord(ch) in self._cmap

    def draws(self, ch: str) -> bool:
        """True when the character is mapped and its glyph has an outline (not an empty glyph)."""
        return self.bounds(ch) is not None

    def bounds(self, ch: str) -> tuple[float, float, float, float] | None:
        """The outline's ink box (xMin, yMin, xMax, yMax) in font units (y up), None if unmapped
        or empty. Font export uses it to put each generated glyph back where the source's was."""
        if not self.has(ch):
            return None
        with self._lock:
            if ch not in self._bounds:
                pen = BoundsPen(self._glyph_set())
                self._glyph_set()[self._cmap[ord(ch)]].draw(pen)
                self._bounds[ch] = pen.bounds
            return self._bounds[ch]

    def draw(self, ch: str, pen) -> int:
        """Draw the character's outline (font units) into a fontTools pen; returns its advance width."""
        with self._lock:
            glyph = self._glyph_set()[self._cmap[ord(ch)]]
            glyph.draw(pen)
            return glyph.width

    def advance(self, ch: str) -> int:
        """The character's advance width in font units."""
        with self._lock:
            return self._tt["hmtx"][self._cmap[ord(ch)]][0]

    @property
    def units_per_em(self) -> int:
        return self._tt["head"].unitsPerEm

    def line_spacing(self) -> tuple[int, int, int]:
        """(ascender, descender, line gap) from the OS/2 table, in font units."""
        with self._lock:
            os2 = self._tt["OS/2"]
            return os2.sTypoAscender, os2.sTypoDescender, os2.sTypoLineGap

    def name_record(self, name_id: int) -> str:
        """One entry of the font's name table ('' where absent), e.g. 0 copyright, 13 licence."""
        with self._lock:
            return self._tt["name"].getDebugName(name_id) or ""

    def _glyph_set(self):
        if self._glyphset is None:
            self._glyphset = self._tt.getGlyphSet()
        return self._glyphset

    def render(self, ch: str, size: int = 128) -> Image.Image:
        """Draw one character in the documented normalisation (see module docstring)."""
        if not self.draws(ch):
            raise FontError(f"{self.name} has no drawable glyph for {ch!r} (U+{ord(ch):04X})")
        with self._lock:
            mask = self._pil.getmask(ch, mode="L")
            big = Image.frombytes("L", mask.size, bytes(mask)) if mask.size[0] * mask.size[1] else None
        if big is None or big.getbbox() is None:
            raise FontError(f"{self.name} drew nothing for {ch!r} (U+{ord(ch):04X})")
        return fit_ink(big, size)


def fit_ink(ink: Image.Image, size: int = 128) -> Image.Image:
    """The one normalisation of every glyph (fonts, uploaded images, scans): an "L" image of white
    ink on black is cropped to its ink box, scaled (aspect kept) so the longer side fills FIT of
    ``size``, centred, and returned as black ink on a white ``size``² canvas."""
    box_in = ink.getbbox()
    if box_in is None:
        raise ValueError("the image holds no ink")
    ink = ink.crop(box_in)
    w, h = ink.size
    box = max(1, round(size * FIT))
    scale = box / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    ink = ink.resize((nw, nh), Image.Resampling.LANCZOS)
    canvas = Image.new("L", (size, size), 0)
    canvas.paste(ink, ((size - nw) // 2, (size - nh) // 2))
    return Image.eval(canvas, lambda v: 255 - v)


class Note(str):
    """A remark about a request's text: the English words (it is a ``str``), plus its ``kind`` and
    ``params``, by which the page says it in the visitor's language (``unet.demo.i18n``)."""

    kind: str
    params: dict

    def __new__(cls, text: str, kind: str = "", params: dict | None = None) -> Note:
        note = super().__new__(cls, text)
        note.kind, note.params = kind, dict(params or {})
        return note


def image_to_array(img: Image.Image) -> np.ndarray:
    return np.asarray(img, dtype=np.uint8)


# --- text handling ---------------------------------------------------------------------------

SKIP_REASONS = {
    "whitespace": "whitespace",
    "control": "control or format character (e.g. zero-width, direction marks)",
    "emoji": "emoji or symbol: the model draws Chinese characters",
    "not_cjk": "not a CJK ideograph: the model was trained on Chinese characters only",
    "not_in_font": "not in the source font",
    "blank": "the source font's glyph is empty",
}


@dataclass(frozen=True)
class Skipped:
    """A character of a request that is not drawn: the reason in English, and its kind (a key of
    SKIP_REASONS, or "over_limit"), by which messages group and translate it."""

    char: str
    reason: str
    kind: str = ""

    def __str__(self) -> str:
        return f"{self.char!r} (U+{ord(self.char):04X}): {self.reason}"


def group_skipped(skipped, shown: int = 20) -> list[dict]:
    """Skipped characters by kind, in the order first met: each kind with its count and its first
    ``shown`` distinct characters ("永 和 …"), which the status line and the font preview say once
    per kind in the page's language."""
    groups: dict[str, list[str]] = {}
    for s in skipped:
        groups.setdefault(s.kind or "not_cjk", []).append(s.char)
    out = []
    for kind, chars in groups.items():
        unique = list(dict.fromkeys(chars))
        out.append({"kind": kind, "count": len(chars),
                    "chars": " ".join(unique[:shown]) + (" …" if len(unique) > shown else "")})
    return out


def is_cjk_ideograph(ch: str) -> bool:
    """CJK unified/compatibility ideographs in any plane (Extension B and later included)."""
    cp = ord(ch)
    return (0x3400 <= cp <= 0x4DBF or 0x4E00 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF
            or 0x20000 <= cp <= 0x3FFFF or cp == 0x3007)


def split_text(text: str, font: Font, unique: bool = True) -> tuple[list[str], list[Skipped]]:
    """NFC-normalise and split text into renderable CJK characters and skipped ones with reasons.

    Iterating a Python str yields code points, so characters outside the BMP stay whole.
    """
    chars: list[str] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for ch in unicodedata.normalize("NFC", text):
        if unique and (ch in seen):
            continue
        seen.add(ch)
        cat = unicodedata.category(ch)
        if ch.isspace():
            skipped.append(Skipped(ch, SKIP_REASONS["whitespace"], "whitespace"))
        elif cat in ("Cc", "Cf", "Cs", "Co", "Cn") and not is_cjk_ideograph(ch):
            skipped.append(Skipped(ch, SKIP_REASONS["control"], "control"))
        elif cat == "So" or 0x1F000 <= ord(ch) <= 0x1FAFF or ch in "\ufe0f\u200d":
            skipped.append(Skipped(ch, SKIP_REASONS["emoji"], "emoji"))
        elif not is_cjk_ideograph(ch):
            skipped.append(Skipped(ch, SKIP_REASONS["not_cjk"], "not_cjk"))
        elif not font.has(ch):
            skipped.append(Skipped(ch, SKIP_REASONS["not_in_font"], "not_in_font"))
        elif not font.draws(ch):
            skipped.append(Skipped(ch, SKIP_REASONS["blank"], "blank"))
        else:
            chars.append(ch)
    return chars, skipped
