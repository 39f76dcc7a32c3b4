"""A visitor's own glyphs, read from an untrusted upload: a font file or a ZIP of images.

``read_glyphs`` is the one entry. The kind of file is told by its first bytes, never by its name:

- a font (TTF, OTF, a TTC/OTC collection, WOFF, WOFF2) is drawn by ``unet.engine.glyphs.Font``, the
  renderer training uses; a web font is first unpacked, and a collection's face with the most CJK
  ideographs is first copied out, into a temporary folder deleted afterwards;
- a ZIP holds one image per character, named by it (``永.png``, ``U+6C38.png``, ``uni6C38.png``, in
  any folder). Members are read in memory (nothing is ever extracted to disk) and each image is
  turned into white ink on black and given to ``fit_ink``, so it is normalised exactly as training
  glyphs are.

Every size is checked before the work it would cost: the file's bytes before reading, a ZIP's
central directory before parsing, a member's declared and actual size while reading (bounded
reads), an image's pixels before decoding, a web font's unpacked size before fontTools unpacks it.
A problem with the whole upload is an ``UploadError``; a problem with one character or member is a
``Rejected`` entry, counted by kind, so the page can say what was left out and why.
"""

from __future__ import annotations

import io
import os
import re
import struct
import tempfile
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from fontTools.misc import sstruct
from fontTools.ttLib import TTFont
from PIL import Image

from .. import settings
from ..engine.charsets import load_charset
from ..engine.glyphs import Font, fit_ink, is_cjk_ideograph
from ..errors import FontError, UserError, shown

FONT_MAGIC = (b"\x00\x01\x00\x00", b"OTTO", b"true")
COLLECTION_MAGIC = b"ttcf"
WEB_FONT_MAGIC = (b"wOFF", b"wOF2")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a ZIP with members, an empty ZIP
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")  # the only decoders Pillow may use here
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
JUNK_NAMES = (".DS_Store", "Thumbs.db", "desktop.ini")  # what file managers add to a ZIP unasked

LISTED_PER_KIND = 50  # Rejected entries kept per kind (the counts stay exact): a 30,000-glyph font
# has thousands of characters not asked for, and the page says "and 2,950 more"
NAME_LIMIT = 60  # characters of a member's name quoted as it is; longer or odd ones go through shown()
MAX_GLYPH_EMS = 4  # a font's glyph wider or taller than this many em is refused (CJK glyphs fill ~1 em)
ANALYSIS_SIDE = 1024  # images larger than this are scaled down before their ink is found
MIN_IMAGE_SIDE = 8  # px: smaller cannot hold a glyph worth learning from
PAPER_CUT = 0.8  # pixels lighter than this fraction of the paper's level are paper (scan noise, JPEG fuzz)
SPECK_AREA = 0.0005  # ink components under this fraction of the image (and under 1 % of its ink) are dust
CD_BYTES_PER_ENTRY = 1024  # a ZIP's central directory may hold this many bytes per allowed member:
# zipfile builds an object for every entry of the directory, whatever count the archive declares
DECODES_PER_GLYPH = 2  # images decoded per glyph allowed: blank or broken images cannot cost unbounded time
ZIP_READABLE = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # bzip2/lzma decompress without a bound per read

REASONS = {
    "not_cjk": "not a CJK ideograph: the model draws Chinese characters only",
    "not_wanted": "not one of the characters asked for",
    "duplicate": "another file already gave this character",
    "blank": "the glyph holds no ink",
    "unreadable": "the file could not be read",
    "too_large": "too large",
    "too_small": "too small to hold a glyph",
    "bad_name": "the file name is not one character (name files like 永.png, U+6C38.png or uni6C38.png)",
    "not_image": "not a PNG, JPEG, WEBP, BMP or GIF image",
    "over_limit": "past the number of glyphs read from one upload",
}


class UploadError(UserError):
    """An upload that cannot be used at all (too large, not a font or ZIP, corrupt, nothing usable)."""


@dataclass(frozen=True)
class UploadLimits:
    """What one upload may cost; the defaults are the server's (``unet.settings``), tests pass smaller."""

    max_bytes: int = settings.UPLOAD_LIMIT
    max_glyphs: int = settings.MAX_UPLOAD_GLYPHS
    max_image_pixels: int = settings.MAX_IMAGE_PIXELS
    max_zip_entries: int = settings.MAX_ZIP_ENTRIES
    max_zip_expanded: int = settings.MAX_ZIP_EXPANDED
    max_zip_member: int = settings.MAX_ZIP_MEMBER
    max_font_faces: int = settings.MAX_FONT_FACES


@dataclass(frozen=True)
class Rejected:
    """One thing of the upload not used: a character (font) or a member (ZIP), a kind to group and
    translate by (a key of ``REASONS``), and the reason in English."""

    name: str
    kind: str
    reason: str


@dataclass
class GlyphUpload:
    """The usable glyphs of an upload, normalised as training glyphs are, and what was left out.

    ``rejected`` lists at most ``LISTED_PER_KIND`` entries per kind; ``rejected_counts`` counts
    them all."""

    kind: str  # "font" or "images"
    label: str  # for display only: the font's family name or the ZIP's file name
    chars: list[str]
    glyphs: np.ndarray  # (N, size, size) uint8, black ink on white
    rejected: list[Rejected]
    rejected_counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict:
        """Counts for a message: ``{"kind", "label", "glyphs", "rejected": {kind: count}}``."""
        counts = dict(self.rejected_counts) or dict(Counter(r.kind for r in self.rejected))
        return {"kind": self.kind, "label": self.label, "glyphs": len(self.chars), "rejected": counts}


class _Skip(Exception):
    """One character or member is not used (kind, reason): caught where the Rejected is recorded."""

    def __init__(self, kind: str, reason: str | None = None):
        super().__init__(kind)
        self.kind, self.reason = kind, reason or REASONS[kind]


class _Rejections:
    """Rejected entries as they are found: every one counted, the first few per kind listed."""

    def __init__(self):
        self.listed: list[Rejected] = []
        self.counts: Counter[str] = Counter()

    def add(self, name: str, kind: str, reason: str | None = None) -> None:
        self.counts[kind] += 1
        if self.counts[kind] <= LISTED_PER_KIND:
            self.listed.append(Rejected(_shown_name(name), kind, reason or REASONS[kind]))

    def add_all(self, names: Iterable[str], kind: str, reason: str | None = None) -> None:
        for name in names:
            self.add(name, kind, reason)


# --- the one entry -------------------------------------------------------------------------------


def read_glyphs(path: str | Path, limits: UploadLimits = UploadLimits(), size: int = 128,
                wanted: Sequence[str] | None = None) -> GlyphUpload:
    """The usable glyphs of an uploaded font or ZIP of images, at most ``limits.max_glyphs``.

    ``wanted``: only these characters, in this order; otherwise GB2312 level 1 order first, then
    the rest by code point. Raises ``UploadError`` when nothing of the upload can be used."""
    path = Path(path)
    magic = _magic(path, limits)
    if magic in FONT_MAGIC + WEB_FONT_MAGIC + (COLLECTION_MAGIC,):
        upload = _read_font(path, magic, limits, size, wanted)
    elif magic in ZIP_MAGIC:
        upload = _read_zip(path, limits, size, wanted)
    else:
        raise UploadError("this is neither a font (TTF, OTF, TTC, WOFF, WOFF2) nor a ZIP of images",
                          key="upload.unknown_type")
    if not upload.chars:
        raise _nothing_usable(upload.rejected_counts)
    return upload


def _magic(path: Path, limits: UploadLimits) -> bytes:
    """The file's first four bytes, once its size is known to be within the limit."""
    try:
        if not path.is_file():
            raise UploadError("the upload could not be read", key="upload.unreadable")
        nbytes = os.path.getsize(path)
        if nbytes > limits.max_bytes:
            raise UploadError(f"the file is {nbytes:,} bytes; at most {limits.max_bytes:,} can be read",
                              key="upload.too_large", size=nbytes, limit=limits.max_bytes)
        with open(path, "rb") as f:
            return f.read(4)
    except OSError as e:
        raise UploadError("the upload could not be read", key="upload.unreadable") from e


def _nothing_usable(counts: Counter[str] | dict[str, int]) -> UploadError:
    """The error for an upload with no usable glyph, naming the most common reason."""
    if not counts:
        return UploadError("no usable glyphs: the upload holds no glyph images", key="upload.nothing_usable",
                           kind="empty", count=0)
    kind, count = max(counts.items(), key=lambda kv: kv[1])
    return UploadError(f"no usable glyphs: {count:,} left out as {kind} ({REASONS[kind]})",
                       key="upload.nothing_usable", kind=kind, count=count)


def _order(available: Iterable[str], wanted: Sequence[str] | None) -> tuple[list[str], dict[str, str]]:
    """The characters to read, in order, and the others with the kind that excludes them.

    Without ``wanted``: the CJK ideographs, GB2312 level 1 first (in its order), then by code point.
    With it: the wanted characters present, in the wanted order."""
    available = set(available)
    excluded: dict[str, str] = {}
    if wanted is None:
        rank = {ch: i for i, ch in enumerate(load_charset("gb2312-1"))}
        chosen = sorted(available, key=lambda ch: (rank.get(ch, len(rank)), ord(ch)))
    else:
        asked = [ch for ch in dict.fromkeys("".join(wanted)) if not ch.isspace()]
        chosen = [ch for ch in asked if ch in available]
        excluded = {ch: "not_wanted" for ch in sorted(available.difference(asked))}
    order = []
    for ch in chosen:
        if is_cjk_ideograph(ch):
            order.append(ch)
        else:
            excluded[ch] = "not_cjk"
    return order, excluded


# --- fonts ---------------------------------------------------------------------------------------


def _read_font(path: Path, magic: bytes, limits: UploadLimits, size: int,
               wanted: Sequence[str] | None) -> GlyphUpload:
    """A font's glyphs: unpacked or one face copied out into a temporary folder when needed."""
    with tempfile.TemporaryDirectory(prefix="glyph-upload-", ignore_cleanup_errors=True) as tmp:
        if magic in WEB_FONT_MAGIC:
            face = _unpack_web_font(path, limits, Path(tmp))
        elif magic == COLLECTION_MAGIC:
            face = _copy_best_face(path, limits, Path(tmp))
        else:
            face = path
        font = _open_font(face)
        label = _label(font.name)
        rejections = _Rejections()
        available = _font_chars(font, rejections)
        if not any(is_cjk_ideograph(ch) for ch in available):
            raise UploadError(f"the font {label} has no Chinese characters (CJK ideographs)",
                              key="upload.no_cjk", label=label)
        order, excluded = _order(available, wanted)
        for ch, kind in excluded.items():
            rejections.add(ch, kind)
        chars, glyphs = _render_font(font, order, limits, size, rejections)
    return _upload("font", label, chars, glyphs, size, rejections)


def _open_font(path: Path) -> Font:
    """``Font`` for an untrusted file: any failure of the font libraries is an ``UploadError``."""
    path = path.resolve()
    try:
        return Font(path)
    except Exception as e:  # fontTools, FreeType and Pillow raise many types for a broken file
        detail = _label(str(e).replace(f"{path}: ", ""), 120) if isinstance(e, FontError) else _why(e)
        raise UploadError(f"the font could not be read: {detail}", key="upload.bad_font") from e


def _font_chars(font: Font, rejections: _Rejections) -> list[str]:
    """The characters of the font's cmap (a code point past Unicode is rejected, not a crash)."""
    chars = []
    for cp in sorted(font.codepoints):
        if 0 <= cp <= 0x10FFFF:
            chars.append(chr(cp))
        else:
            rejections.add(f"U+{cp:X}", "not_cjk")
    return chars


def _render_font(font: Font, order: list[str], limits: UploadLimits, size: int,
                 rejections: _Rejections) -> tuple[list[str], list[np.ndarray]]:
    """Render in order until ``max_glyphs`` glyphs are drawn; an empty glyph is "blank"."""
    chars: list[str] = []
    glyphs: list[np.ndarray] = []
    for i, ch in enumerate(order):
        if len(chars) >= limits.max_glyphs:
            rejections.add_all(order[i:], "over_limit")
            break
        try:
            _check_outline(font, ch)
            glyphs.append(np.asarray(font.render(ch, size), dtype=np.uint8))
            chars.append(ch)
        except _Skip as skip:
            rejections.add(ch, skip.kind, skip.reason)
        except FontError:  # mapped and outlined, yet FreeType drew nothing
            rejections.add(ch, "blank")
        except Exception as e:  # a corrupt outline
            rejections.add(ch, "unreadable", f"the glyph could not be drawn ({_why(e)})")
    return chars, glyphs


def _check_outline(font: Font, ch: str) -> None:
    """``_Skip`` for an empty outline, or one so far past its em square that drawing it at the
    training size would take a bitmap of hundreds of megabytes (a tiny unitsPerEm does that)."""
    box = font.bounds(ch)
    if box is None:  # the cmap maps it to an empty glyph
        raise _Skip("blank")
    extent = max(box[2] - box[0], box[3] - box[1]) / max(font.units_per_em, 1)
    if extent > MAX_GLYPH_EMS:
        raise _Skip("too_large", f"the glyph is {extent:,.0f} em across: drawn far outside its em square")


def _copy_best_face(path: Path, limits: UploadLimits, tmp: Path) -> Path:
    """The collection's face with the most CJK ideographs (of its first ``max_font_faces``), copied
    into its own file: ``Font`` then never walks the collection's other faces."""
    try:
        with open(path, "rb") as f:
            header = f.read(12)
        faces = struct.unpack(">L", header[8:12])[0]
    except (OSError, struct.error) as e:
        raise UploadError("the font collection could not be read", key="upload.bad_font") from e
    best, best_count = None, -1
    for index in range(min(faces, limits.max_font_faces)):
        try:
            tt = TTFont(str(path), fontNumber=index, lazy=True)
            try:  # placeholder glyph names: the real ones (a CFF charset) would cost more than the cmap
                tt.setGlyphOrder([f"g{i}" for i in range(tt["maxp"].numGlyphs)])
                count = sum(1 for cp in (tt.getBestCmap() or {}) if _is_cjk_code(cp))
            finally:
                tt.close()
        except Exception:  # a broken face: the others may still serve
            continue
        if count > best_count:
            best, best_count = index, count
    if best is None:
        raise UploadError("no face of the font collection could be read", key="upload.bad_font")
    out = tmp / "face.ttf"
    try:
        tt = TTFont(str(path), fontNumber=best, lazy=True)
        try:
            tt.save(str(out))
        finally:
            tt.close()
    except Exception as e:
        raise UploadError(f"the font collection could not be read ({_why(e)})",
                          key="upload.bad_font") from e
    return out


def _is_cjk_code(cp: int) -> bool:
    return 0 <= cp <= 0x10FFFF and is_cjk_ideograph(chr(cp))


def _unpack_web_font(path: Path, limits: UploadLimits, tmp: Path) -> Path:
    """A WOFF or WOFF2 font as a plain TTF/OTF file. Its compressed streams are first checked to
    unpack to at most ``max_bytes`` (fontTools would decompress a bomb whole before checking)."""
    data = path.read_bytes()  # at most max_bytes, checked before
    flavor = _check_woff2(data, limits.max_bytes) if data[:4] == b"wOF2" else _check_woff(data, limits.max_bytes)
    if flavor == COLLECTION_MAGIC:
        raise UploadError("web font collections are not supported: upload the TTC or one font",
                          key="upload.bad_font")
    if flavor not in FONT_MAGIC:
        raise UploadError("the web font is corrupt (it wraps no TrueType or OpenType font)",
                          key="upload.bad_font")
    out = tmp / ("font.otf" if flavor == b"OTTO" else "font.ttf")
    try:
        tt = TTFont(io.BytesIO(data), recalcBBoxes=False, recalcTimestamp=False)
        tt.flavor, tt.flavorData = None, None
        tt.save(str(out))
        tt.close()
    except ImportError as e:  # WOFF2 without the brotli module
        raise UploadError("WOFF2 fonts cannot be read on this server: upload the TTF or OTF",
                          key="upload.bad_font") from e
    except Exception as e:
        raise UploadError(f"the web font could not be unpacked ({_why(e)})",
                          key="upload.bad_font") from e
    return out


WOFF_HEADER = struct.Struct(">4s4sLHHLHHLLLLL")  # signature ... privLength (44 bytes)
WOFF_ENTRY = struct.Struct(">4sLLLL")  # tag, offset, compLength, origLength, origChecksum


def _check_woff(data: bytes, limit: int) -> bytes:
    """A WOFF file's flavor, once every zlib stream in it is known to unpack within ``limit``."""
    view = memoryview(data)
    try:
        (_, flavor, _, tables, _, _, _, _, meta_at, meta_len, meta_size, _, _) = WOFF_HEADER.unpack_from(data)
        entries = [WOFF_ENTRY.unpack_from(data, WOFF_HEADER.size + i * WOFF_ENTRY.size) for i in range(tables)]
        if sum(packed for _, _, packed, _, _ in entries) + meta_len > len(data):  # overlapping tables
            raise UploadError("the WOFF font is corrupt (its tables overlap)", key="upload.bad_font")
        if sum(unpacked for _, _, _, unpacked, _ in entries) + (meta_size if meta_len else 0) > limit:
            raise _font_too_large(limit)
        for _, at, packed, unpacked, _ in entries:
            if packed < unpacked:
                _check_zlib(view[at:at + packed], unpacked)
        if meta_len:
            _check_zlib(view[meta_at:meta_at + meta_len], meta_size)
    except (struct.error, zlib.error) as e:
        raise UploadError(f"the WOFF font is corrupt ({_why(e)})", key="upload.bad_font") from e
    return flavor


def _check_zlib(packed: memoryview, limit: int) -> None:
    """Raise when a zlib stream unpacks to more than ``limit`` bytes (reads at most limit + 1)."""
    if len(zlib.decompressobj().decompress(packed, limit + 1)) > limit:
        raise _font_too_large(limit)


def _check_woff2(data: bytes, limit: int) -> bytes:
    """A WOFF2 file's flavor, once its brotli streams are known to unpack within ``limit``."""
    from fontTools.ttLib.woff2 import WOFF2DirectoryEntry, woff2DirectoryFormat, woff2DirectorySize

    try:
        header = sstruct.unpack(woff2DirectoryFormat, data[:woff2DirectorySize])
        flavor = header["sfntVersion"]
        flavor = flavor.encode("latin-1") if isinstance(flavor, str) else flavor  # sstruct gives str
        if flavor not in FONT_MAGIC:
            return flavor  # a collection: refused by the caller, before its directory
        stream = io.BytesIO(data)
        stream.seek(woff2DirectorySize)
        declared = 0
        for _ in range(header["numTables"]):
            entry = WOFF2DirectoryEntry()
            entry.fromFile(stream)
            declared += entry.length
        if declared > limit:
            raise _font_too_large(limit)
        start, view = stream.tell(), memoryview(data)
        _check_brotli(view[start:start + header["totalCompressedSize"]], limit)
        if header["metaLength"]:
            at = header["metaOffset"]
            _check_brotli(view[at:at + header["metaLength"]], min(header["metaOrigLength"], limit))
    except UserError:
        raise
    except Exception as e:  # struct.error, TTLibError, brotli.error for a corrupt file
        raise UploadError(f"the WOFF2 font is corrupt ({_why(e)})", key="upload.bad_font") from e
    return flavor


def _check_brotli(packed: memoryview, limit: int) -> None:
    """Raise when a brotli stream unpacks to more than ``limit`` bytes, holding ~1 MiB at a time."""
    try:
        import brotli
    except ImportError as e:
        raise UploadError("WOFF2 fonts cannot be read on this server: upload the TTF or OTF",
                          key="upload.bad_font") from e
    chunk = 1 << 20
    decompressor = brotli.Decompressor()
    try:
        total = len(decompressor.process(packed, output_buffer_limit=chunk))
    except TypeError as e:  # a brotli older than 1.2 cannot bound its output
        raise UploadError("WOFF2 fonts cannot be read safely on this server: upload the TTF or OTF",
                          key="upload.bad_font") from e
    while total <= limit and not decompressor.is_finished():
        part = decompressor.process(b"", output_buffer_limit=chunk)
        if not part:  # a truncated stream: fontTools says so next
            break
        total += len(part)
    if total > limit:
        raise _font_too_large(limit)


def _font_too_large(limit: int) -> UploadError:
    return UploadError(f"the font unpacks to more than {limit:,} bytes", key="upload.font_too_large",
                       limit=limit)


# --- ZIPs of images ------------------------------------------------------------------------------


def _read_zip(path: Path, limits: UploadLimits, size: int, wanted: Sequence[str] | None) -> GlyphUpload:
    """The glyphs of a ZIP of images named by character, read in memory member by member."""
    _check_zip_directory(path, limits)
    rejections = _Rejections()
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_zip_entries:
                raise _too_many_members(len(infos), limits)
            members = _members_by_char(infos, rejections)
            order, excluded = _order(members, wanted)
            for ch, kind in excluded.items():
                rejections.add_all((name for name, _ in members[ch]), kind)
            chars, glyphs = _read_images(zf, order, members, limits, size, rejections)
    except UserError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError, ValueError,
            struct.error, OverflowError) as e:
        raise UploadError(f"the ZIP file is corrupt ({_why(e)})",
                          key="upload.bad_zip") from e
    return _upload("images", _label(path.name), chars, glyphs, size, rejections)


def _check_zip_directory(path: Path, limits: UploadLimits) -> None:
    """Refuse a ZIP whose end records declare too many members or too large a central directory,
    before zipfile parses it (the largest value of any record counts: zipfile trusts one of them)."""
    try:
        with open(path, "rb") as f:
            end = f.seek(0, os.SEEK_END)
            f.seek(max(0, end - (22 + 0x10000)))  # the window zipfile searches
            tail_at = f.tell()
            tail = f.read()
            at = tail.rfind(b"PK\x05\x06")
            if at < 0 or len(tail) - at < 22:
                raise UploadError("the ZIP file is corrupt (no end of central directory)", key="upload.bad_zip")
            _, _, _, _, entries, cd_size, _, _ = struct.unpack_from("<4s4H2LH", tail, at)
            if at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":  # a ZIP64 locator
                _, _, record_at, _ = struct.unpack_from("<4sLQL", tail, at - 20)
                for offset in {record_at, tail_at + at - 20 - 56}:
                    if 0 <= offset <= end - 56:
                        f.seek(offset)
                        record = f.read(56)
                        if record[:4] == b"PK\x06\x06":
                            _, _, _, _, _, _, _, n, size, _ = struct.unpack("<4sQ2H2L4Q", record)
                            entries, cd_size = max(entries, n), max(cd_size, size)
    except OSError as e:
        raise UploadError("the upload could not be read", key="upload.unreadable") from e
    if entries > limits.max_zip_entries or cd_size > limits.max_zip_entries * CD_BYTES_PER_ENTRY:
        raise _too_many_members(entries, limits)


def _too_many_members(count: int, limits: UploadLimits) -> UploadError:
    return UploadError(f"the ZIP holds {count:,} files; at most {limits.max_zip_entries:,} can be read",
                       key="upload.too_many_files", count=count, limit=limits.max_zip_entries)


def _members_by_char(infos: list[zipfile.ZipInfo], rejections: _Rejections
                     ) -> dict[str, list[tuple[str, zipfile.ZipInfo]]]:
    """Image members by the character their file name names, in ZIP order. Folders and what file
    managers add unasked are skipped silently; other names are rejected."""
    members: dict[str, list[tuple[str, zipfile.ZipInfo]]] = {}
    for info in infos:
        name = _member_name(info)
        if info.is_dir() or _is_junk(name):
            continue
        base = re.split(r"[/\\]", name)[-1]
        stem, dot, ext = base.rpartition(".")
        if not dot or "." + ext.lower() not in IMAGE_EXTENSIONS:
            rejections.add(name, "not_image")
            continue
        ch = _char_of(stem)
        if ch is None:
            rejections.add(name, "bad_name")
            continue
        members.setdefault(ch, []).append((name, info))
    return members


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its maker meant it: names without the ZIP's UTF-8 flag were decoded as
    CP437 by zipfile; Chinese Windows tools write GBK and many others UTF-8 without the flag."""
    if info.flag_bits & 0x800 or info.filename.isascii():
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:  # not what zipfile decoded from CP437: leave it
        return info.filename
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def _is_junk(name: str) -> bool:
    parts = re.split(r"[/\\]", name)
    return "__MACOSX" in parts or parts[-1].startswith("._") or parts[-1] in JUNK_NAMES


def _char_of(stem: str) -> str | None:
    """The character a file name (without extension) names: ``永``, ``U+6C38``, ``uni6C38``."""
    stem = stem.strip()
    if len(stem) > 1:  # a name stored decomposed (macOS) composes to one character
        stem = unicodedata.normalize("NFC", stem)
    if len(stem) == 1:
        return stem
    match = re.fullmatch(r"(?:u\+|uni|u)([0-9a-f]{4,6})", stem, flags=re.IGNORECASE)
    if match:
        cp = int(match.group(1), 16)
        if cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF:
            return chr(cp)
    return None


def _read_images(zf: zipfile.ZipFile, order: list[str], members: dict[str, list[tuple[str, zipfile.ZipInfo]]],
                 limits: UploadLimits, size: int, rejections: _Rejections
                 ) -> tuple[list[str], list[np.ndarray]]:
    """Read characters in order until ``max_glyphs`` glyphs are found; per character the first
    member that gives a glyph is used, the ones after it are duplicates (and are not read)."""
    chars: list[str] = []
    glyphs: list[np.ndarray] = []
    expanded = 0
    decodes_left = DECODES_PER_GLYPH * limits.max_glyphs
    for ch in order:
        found = False
        for name, info in members[ch]:
            if found:
                rejections.add(name, "duplicate")
            elif len(chars) >= limits.max_glyphs:
                rejections.add(name, "over_limit")
            elif decodes_left <= 0:
                rejections.add(name, "over_limit", f"past the {DECODES_PER_GLYPH * limits.max_glyphs:,} "
                                                   f"images read from one upload (too many were blank or broken)")
            else:
                try:
                    data = _read_member(zf, info, limits, expanded)
                    expanded += len(data)
                    decodes_left -= 1
                    glyphs.append(_glyph_from_image(data, limits, size))
                    chars.append(ch)
                    found = True
                except _Skip as skip:
                    rejections.add(name, skip.kind, skip.reason)
    return chars, glyphs


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: UploadLimits, expanded: int) -> bytes:
    """A member's bytes, read with a bound whatever its header says; the ZIP's running total
    past ``max_zip_expanded`` ends the whole upload."""
    if info.flag_bits & 0x1:
        raise _Skip("unreadable", "the file is encrypted")
    if info.compress_type not in ZIP_READABLE:
        raise _Skip("unreadable", f"the file is compressed with a method not read here "
                                  f"({info.compress_type}); use a plain ZIP (deflate)")
    too_large = _Skip("too_large", f"the file expands to more than {limits.max_zip_member:,} bytes")
    if info.file_size > limits.max_zip_member:
        raise too_large
    if expanded + info.file_size > limits.max_zip_expanded:
        raise _zip_too_large(limits)
    with zf.open(info) as member:
        data = member.read(limits.max_zip_member + 1)
    if len(data) > limits.max_zip_member:
        raise too_large
    if expanded + len(data) > limits.max_zip_expanded:
        raise _zip_too_large(limits)
    return data


def _zip_too_large(limits: UploadLimits) -> UploadError:
    return UploadError(f"the ZIP expands to more than {limits.max_zip_expanded:,} bytes",
                       key="upload.zip_too_large", limit=limits.max_zip_expanded)


# --- one image -----------------------------------------------------------------------------------


def _glyph_from_image(data: bytes, limits: UploadLimits, size: int) -> np.ndarray:
    """An image file's glyph in the training normalisation, or ``_Skip`` saying why not."""
    img = _decode(data, limits.max_image_pixels)
    try:
        ink = _ink(_gray(img))
        glyph = np.asarray(fit_ink(Image.fromarray(ink), size), dtype=np.uint8) if ink.any() else None
    except Exception as e:  # an image mode or content the steps above do not handle: this image only
        raise _Skip("unreadable", f"the image could not be read ({_why(e)})") from e
    if glyph is None:
        raise _Skip("blank")
    return glyph


def _decode(data: bytes, max_pixels: int) -> Image.Image:
    """The decoded image (first frame), its size checked from the header before decoding."""
    try:
        img = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
    except Image.DecompressionBombError as e:  # past Pillow's own limit, at the header
        raise _Skip("too_large", "the image has too many pixels") from e
    except Exception as e:
        raise _Skip("unreadable", "not a readable PNG, JPEG, WEBP, BMP or GIF image") from e
    w, h = img.size
    if w * h > max_pixels:
        raise _Skip("too_large", f"the image is {w:,}×{h:,} pixels; at most {max_pixels:,} pixels are read")
    if min(w, h) < MIN_IMAGE_SIDE:
        raise _Skip("too_small", f"the image is {w}×{h} pixels")
    try:
        if img.format == "JPEG":
            img.draft(img.mode, (ANALYSIS_SIDE, ANALYSIS_SIDE))  # decode at a reduced scale when large
        img.load()
    except Exception as e:  # Pillow raises many types for a corrupt image
        raise _Skip("unreadable", f"the image could not be decoded ({_why(e)})") from e
    return img


def _gray(img: Image.Image) -> np.ndarray:
    """The image as float gray 0-255 at most ANALYSIS_SIDE px, transparency composited on a
    background that contrasts with what is drawn (white under dark ink, black under light ink)."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit and float gray
        values = np.asarray(img, dtype=np.float32)
        img = Image.fromarray(values / 257 if values.max() > 255 else values)  # mode "F", 0-255
    elif img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info:
        img = img.convert("RGBA")
    else:
        img = img.convert("L")
    if max(img.size) > ANALYSIS_SIDE:
        img.thumbnail((ANALYSIS_SIDE, ANALYSIS_SIDE), Image.Resampling.LANCZOS)
    if img.mode != "RGBA":
        return np.asarray(img, dtype=np.float32)
    rgba = np.asarray(img, dtype=np.float32)
    alpha = rgba[..., 3] / 255
    gray = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    drawn = alpha.sum()
    light_ink = drawn > 0 and (gray * alpha).sum() / drawn > 127.5
    return gray * alpha + (0.0 if light_ink else 255.0) * (1 - alpha)


def _ink(gray: np.ndarray) -> np.ndarray:
    """White ink on black (uint8) from gray: the paper's polarity found from the border, paper
    and light noise set to 0, the ink's own darkness stretched to 255, dust dropped."""
    h, w = gray.shape
    edge = max(1, min(h, w) // 20)
    border = np.concatenate([gray[:edge].ravel(), gray[-edge:].ravel(),
                             gray[:, :edge].ravel(), gray[:, -edge:].ravel()])
    centre = gray[h // 4:h - h // 4, w // 4:w - w // 4]
    if border.mean() < centre.mean():  # light ink on dark paper
        gray, border = 255 - gray, 255 - border
    cut = PAPER_CUT * float(np.median(border))
    dark = gray < cut
    if not dark.any():
        return np.zeros(gray.shape, np.uint8)
    darkest = float(np.percentile(gray[dark], 5))
    ink = np.clip((cut - gray) / max(cut - darkest, 1.0), 0, 1) * 255
    return _drop_specks(ink.round().astype(np.uint8))


def _drop_specks(ink: np.ndarray) -> np.ndarray:
    """Zero the ink components smaller than SPECK_AREA of the image and 1 % of all ink: dust
    and scan noise, which would otherwise widen the ink box that ``fit_ink`` scales."""
    from skimage.measure import label

    mask = ink > 0
    labels = label(mask, connectivity=2)
    sizes = np.bincount(labels.ravel())
    smallest = min(SPECK_AREA * ink.size, 0.01 * mask.sum())
    dust = sizes < smallest
    dust[0] = False  # the background
    if dust.any():
        ink = np.where(dust[labels], 0, ink).astype(np.uint8)
    return ink


# --- shared --------------------------------------------------------------------------------------


def _upload(kind: str, label: str, chars: list[str], glyphs: list[np.ndarray], size: int,
            rejections: _Rejections) -> GlyphUpload:
    stack = np.stack(glyphs) if glyphs else np.zeros((0, size, size), np.uint8)
    return GlyphUpload(kind, label, chars, stack, rejections.listed, dict(rejections.counts))


def _shown_name(name: str) -> str:
    """A name as it is when short and printable, else clipped and escaped (``shown``)."""
    return name if len(name) <= NAME_LIMIT and name.isprintable() else shown(name, NAME_LIMIT)


def _why(error: BaseException) -> str:
    """An exception in a few words for a message: its type (``zlib.error``, not ``error``) and text."""
    kind = type(error).__name__
    if kind == "error":
        kind = f"{type(error).__module__}.error"
    return _label(f"{kind}: {error}" if str(error) else kind, 120)


def _label(text: str, limit: int = NAME_LIMIT) -> str:
    """Display text from an untrusted string: printable characters only, about ``limit`` long."""
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return text if len(text) <= limit else text[:limit] + "…"
