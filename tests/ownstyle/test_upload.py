"""Reading a visitor's own glyphs (``unet.ownstyle.upload``): fonts and ZIPs of images, and every
hostile upload we can think of answered by a message or a rejection, never a crash or an unbounded
read. Fixtures are small fonts subset from the system's and images drawn from them, in tmp_path."""

from __future__ import annotations

import io
import os
import struct
import tempfile
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import PIL.ImageFile
import pytest
from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont
from PIL import Image, ImageDraw, ImageFont

from unet.engine.charsets import load_charset
from unet.engine.glyphs import Font
from unet.errors import UserError
from unet.ownstyle import upload as upload_module
from unet.ownstyle.upload import (
    LISTED_PER_KIND,
    GlyphUpload,
    Rejected,
    UploadError,
    UploadLimits,
    read_glyphs,
)

from ..support import require_font

MOTOYA = "MTLmr3m.ttf"  # a 2.8 MB TrueType CJK font: quick to subset
DEJAVU = "DejaVuSans.ttf"
TEXT = "永和九年國在ABC"  # 國 is CJK but not in GB2312 level 1; ABC are not CJK
MiB = 1024 ** 2


def make_subset(source: Path, text: str, out: Path, flavor: str | None = None) -> Path:
    options = subset.Options()
    options.flavor = flavor
    options.name_IDs = ["*"]
    options.layout_features = []
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    subset.save_font(font, str(out), options)
    return out


@pytest.fixture(scope="module")
def fonts(tmp_path_factory) -> dict[str, Path]:
    """Small fonts: a CJK TTF (and its WOFF/WOFF2), a Latin one, a collection of both."""
    motoya, dejavu = require_font(MOTOYA), require_font(DEJAVU)
    tmp = tmp_path_factory.mktemp("fonts")
    out = {"ttf": make_subset(motoya, TEXT, tmp / "cjk.ttf"),
           "woff": make_subset(motoya, TEXT, tmp / "cjk.woff", "woff"),
           "woff2": make_subset(motoya, TEXT, tmp / "cjk.woff2", "woff2"),
           "latin": make_subset(dejavu, "ABC", tmp / "latin.ttf")}
    coll = TTCollection()
    coll.fonts = [TTFont(out["latin"]), TTFont(out["ttf"])]
    coll.save(tmp / "pair.ttc")
    out["ttc"] = tmp / "pair.ttc"
    return out


def draw_glyph(ch: str, font: Path, size: int = 220, at: tuple[int, int] = (24, 8), ink: int = 0,
               paper: int = 255, mode: str = "L") -> Image.Image:
    """A character drawn off-centre on a page, as a visitor's scan or drawing would be."""
    img = Image.new(mode, (size, size), paper)
    ImageDraw.Draw(img).text(at, ch, font=ImageFont.truetype(str(font), int(size * 0.7)), fill=ink)
    return img


def encoded(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def make_zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return path


def ink_box(glyph: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(glyph < 255)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def assert_normalised(glyph: np.ndarray, size: int = 128) -> None:
    """The training normalisation: the ink box's longer side is 7/8 of the canvas, centred."""
    x0, y0, x1, y1 = ink_box(glyph)
    assert abs(max(x1 - x0, y1 - y0) - size * 7 / 8) <= 1
    assert abs((x0 + x1) / 2 - size / 2) <= 1 and abs((y0 + y1) / 2 - size / 2) <= 1


def kinds(upload: GlyphUpload) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in upload.rejected:
        out.setdefault(r.kind, []).append(r.name)
    return out


def kinds_reasons(upload: GlyphUpload) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in upload.rejected:
        out.setdefault(r.kind, []).append(r.reason)
    return out


def png_header_only(width: int, height: int) -> bytes:
    """A PNG claiming width x height pixels, with almost no data: a decompression bomb's header."""
    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">L", len(body)) + tag + body + struct.pack(">L", zlib.crc32(tag + body))
    ihdr = struct.pack(">LLBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


# --- fonts ---------------------------------------------------------------------------------------


def test_font_glyphs_are_the_training_renders(fonts):
    upload = read_glyphs(fonts["ttf"], wanted="永和九年")
    assert (upload.kind, upload.label, upload.chars) == ("font", "MotoyaLMaru", list("永和九年"))
    assert upload.glyphs.shape == (4, 128, 128) and upload.glyphs.dtype == np.uint8
    font = Font(fonts["ttf"])
    for ch, glyph in zip(upload.chars, upload.glyphs):
        assert np.array_equal(glyph, np.asarray(font.render(ch, 128)))
    assert upload.summary()["rejected"] == {"not_wanted": 5}  # 國在ABC


def test_font_order_without_wanted_and_size(fonts):
    upload = read_glyphs(fonts["ttf"], size=64)
    level1 = {ch: i for i, ch in enumerate(load_charset("gb2312-1"))}
    assert upload.chars == sorted("永和九年在", key=level1.__getitem__) + ["國"]
    assert upload.glyphs.shape == (6, 64, 64)
    assert kinds(upload) == {"not_cjk": ["A", "B", "C"]}


def test_wanted_order_and_non_cjk_wanted(fonts):
    upload = read_glyphs(fonts["ttf"], wanted=["年", "永", "A", "永", "龍"])  # 龍: not in the font
    assert upload.chars == ["年", "永"]
    assert kinds(upload)["not_cjk"] == ["A"]


@pytest.mark.parametrize("flavor", ["woff", "woff2"])
def test_web_fonts_read_as_the_ttf(fonts, flavor):
    web, plain = read_glyphs(fonts[flavor], wanted="永和"), read_glyphs(fonts["ttf"], wanted="永和")
    assert web.chars == plain.chars == ["永", "和"]
    assert np.array_equal(web.glyphs, plain.glyphs)


def test_collection_uses_its_cjk_face(fonts, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the face is copied out to
    upload = read_glyphs(fonts["ttc"], wanted="永和")
    assert upload.label == "MotoyaLMaru" and upload.chars == ["永", "和"]
    assert np.array_equal(upload.glyphs, read_glyphs(fonts["ttf"], wanted="永和").glyphs)
    assert list(tmp_path.iterdir()) == []  # the face copied out lived in a temporary folder, now gone


def test_collection_faces_looked_at_are_bounded(fonts, tmp_path):
    coll = TTCollection()
    coll.fonts = [TTFont(fonts["latin"]) for _ in range(40)] + [TTFont(fonts["ttf"])] * 10
    coll.save(tmp_path / "fifty.ttc")
    start = time.perf_counter()
    with pytest.raises(UploadError) as caught:
        read_glyphs(tmp_path / "fifty.ttc", UploadLimits(max_font_faces=8))
    assert caught.value.key == "upload.no_cjk" and time.perf_counter() - start < 2
    assert read_glyphs(tmp_path / "fifty.ttc", UploadLimits(max_font_faces=50), wanted="永").chars == ["永"]


def test_latin_font_is_refused(fonts):
    with pytest.raises(UploadError, match="no Chinese characters") as caught:
        read_glyphs(fonts["latin"])
    assert caught.value.key == "upload.no_cjk" and caught.value.params == {"label": "DejaVu Sans"}


@pytest.mark.parametrize("case", ["ttf_random", "otf_random", "ttc_random", "woff_random", "woff2_random",
                                  "ttf_truncated", "woff2_truncated", "ttc_truncated"])
def test_broken_fonts_are_refused(fonts, tmp_path, case):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    data = {"ttf_random": b"\x00\x01\x00\x00" + noise, "otf_random": b"OTTO" + noise,
            "ttc_random": b"ttcf" + noise, "woff_random": b"wOFF" + noise, "woff2_random": b"wOF2" + noise,
            "ttf_truncated": fonts["ttf"].read_bytes()[:1000],  # inside glyf: no cmap, no name
            "woff2_truncated": fonts["woff2"].read_bytes()[:1500],
            "ttc_truncated": fonts["ttc"].read_bytes()[:2000]}[case]
    (tmp_path / "upload.bin").write_bytes(data)
    with pytest.raises(UploadError) as caught:
        read_glyphs(tmp_path / "upload.bin")
    assert caught.value.key in ("upload.bad_font", "upload.nothing_usable", "upload.no_cjk")
    assert str(tmp_path) not in str(caught.value)  # no server path in a visitor's message


def test_cmap_that_maps_to_empty_glyphs(fonts, tmp_path):
    """A font whose cmap lies (characters mapped to an empty glyph): those are blank."""
    tt = TTFont(make_subset(require_font(MOTOYA), "永和九 ", tmp_path / "lying.ttf"))
    space = tt.getBestCmap()[0x20]
    for table in tt["cmap"].tables:
        if ord("九") in table.cmap:
            table.cmap[ord("九")] = space
    tt.save(tmp_path / "lying.ttf")
    upload = read_glyphs(tmp_path / "lying.ttf", wanted="永和九")
    assert upload.chars == ["永", "和"] and kinds(upload)["blank"] == ["九"]
    for table in tt["cmap"].tables:
        for cp in list(table.cmap):
            table.cmap[cp] = space
    tt.save(tmp_path / "empty.ttf")
    with pytest.raises(UploadError, match="no usable glyphs: 3 left out as blank") as caught:
        read_glyphs(tmp_path / "empty.ttf")
    assert caught.value.params == {"kind": "blank", "count": 3}


def test_glyph_far_outside_its_em_is_not_drawn(tmp_path):
    """A tiny unitsPerEm makes every outline hundreds of em wide: a bitmap of ~250 M pixels each."""
    tt = TTFont(make_subset(require_font(MOTOYA), "永和", tmp_path / "wide.ttf"))
    tt["head"].unitsPerEm = 16
    tt.save(tmp_path / "wide.ttf")
    with pytest.raises(UploadError, match="no usable glyphs: 2 left out as too_large"):
        read_glyphs(tmp_path / "wide.ttf")


def test_woff_zlib_bomb_is_refused_unread(tmp_path):
    bomb = zlib.compress(b"\0" * (64 * MiB), 9)  # ~64 KB that a plain zlib.decompress makes 64 MB
    table_at = 44 + 20
    header = struct.pack(">4s4sLHHLHHLLLLL", b"wOFF", b"\x00\x01\x00\x00", table_at + len(bomb), 1, 0,
                         12 + 16 + 100_000, 1, 0, 0, 0, 0, 0, 0)
    entry = struct.pack(">4sLLLL", b"glyf", table_at, len(bomb), 100_000, 0)  # declares 100 KB
    (tmp_path / "bomb.woff").write_bytes(header + entry + bomb)
    tracemalloc.start()
    try:
        with pytest.raises(UploadError, match="unpacks to more than") as caught:
            read_glyphs(tmp_path / "bomb.woff")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.key == "upload.font_too_large" and peak < 8 * MiB


def test_woff2_brotli_bomb_is_refused_unread(fonts, tmp_path):
    import brotli
    from fontTools.misc import sstruct
    from fontTools.ttLib.woff2 import WOFF2DirectoryEntry, woff2DirectoryFormat, woff2DirectorySize

    data = fonts["woff2"].read_bytes()
    header = sstruct.unpack(woff2DirectoryFormat, data[:woff2DirectorySize])
    stream = io.BytesIO(data)
    stream.seek(woff2DirectorySize)
    for _ in range(header["numTables"]):
        WOFF2DirectoryEntry().fromFile(stream)
    bomb = brotli.compress(b"\0" * (64 * MiB), quality=1)
    patched = bytearray(data[:stream.tell()] + bomb)
    struct.pack_into(">L", patched, 8, len(patched))  # length
    struct.pack_into(">L", patched, 20, len(bomb))  # totalCompressedSize
    (tmp_path / "bomb.woff2").write_bytes(patched)
    tracemalloc.start()
    try:
        with pytest.raises(UploadError, match="unpacks to more than") as caught:
            read_glyphs(tmp_path / "bomb.woff2", UploadLimits(max_bytes=4 * MiB))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.key == "upload.font_too_large" and peak < 16 * MiB


# --- ZIPs of images ------------------------------------------------------------------------------


def test_zip_of_images_by_every_naming(fonts, tmp_path):
    ttf = fonts["ttf"]
    path = make_zip(tmp_path / "mine.zip", {
        "永.png": encoded(draw_glyph("永", ttf)),
        "U+548C.png": encoded(draw_glyph("和", ttf, at=(4, 30))),
        "uni4E5D.PNG": encoded(draw_glyph("九", ttf, size=300)),
        "nested/deeper/年.jpg": encoded(draw_glyph("年", ttf, mode="RGB", ink=(0, 0, 0), paper=(255, 255, 255)),
                                         "JPEG"),
        "__MACOSX/._永.png": b"junk", "nested/.DS_Store": b"junk", "nested/": b""})
    upload = read_glyphs(path)
    assert (upload.kind, upload.label) == ("images", "mine.zip")
    assert upload.chars == ["和", "九", "年", "永"]  # GB2312 level 1 order (he, jiu, nian, yong)
    assert upload.rejected == [] and upload.summary() == {"kind": "images", "label": "mine.zip", "glyphs": 4,
                                                           "rejected": {}}
    font = Font(ttf)
    for ch, glyph in zip(upload.chars, upload.glyphs):
        assert_normalised(glyph)
        render = np.asarray(font.render(ch, 128), dtype=np.float32)
        assert np.abs(glyph.astype(np.float32) - render).mean() < 12, ch  # the same shape, drawn apart


def test_polarity_and_transparency_read_the_same(fonts, tmp_path):
    ttf = fonts["ttf"]
    plain = draw_glyph("永", ttf)
    coverage = 255 - np.asarray(plain)
    black_on_clear = Image.fromarray(np.dstack([np.zeros_like(coverage)] * 3 + [coverage]), "RGBA")
    white_on_clear = Image.fromarray(np.dstack([np.full_like(coverage, 255)] * 3 + [coverage]), "RGBA")
    reference = read_glyphs(make_zip(tmp_path / "one.zip", {"永.png": encoded(plain)})).glyphs[0]
    cases = {"white on black": (draw_glyph("永", ttf, ink=255, paper=0), 0),
             "black on transparent": (black_on_clear, 1), "white on transparent": (white_on_clear, 1),
             "grey on grey": (draw_glyph("永", ttf, ink=40, paper=200), 16)}  # edges ramp a little apart
    for case, (img, tolerance) in cases.items():
        glyph = read_glyphs(make_zip(tmp_path / "single.zip", {"永.png": encoded(img)})).glyphs[0]
        difference = np.abs(glyph.astype(int) - reference)
        assert difference.max() <= tolerance and difference.mean() < 0.5, case


def test_specks_do_not_move_the_glyph(fonts, tmp_path):
    clean = draw_glyph("永", fonts["ttf"], size=400, at=(60, 60))
    dusty = clean.copy()
    draw = ImageDraw.Draw(dusty)
    for x, y in [(3, 3), (390, 5), (8, 392), (395, 395), (200, 4)]:
        draw.rectangle([x, y, x + 2, y + 2], fill=0)  # 9 px specks: 0.006 % of the page each
    path = make_zip(tmp_path / "dust.zip", {"a/永.png": encoded(clean), "b/和.png": encoded(dusty)})
    upload = read_glyphs(path)
    assert np.array_equal(upload.glyphs[0], upload.glyphs[1])


def test_decompression_bombs_are_refused_before_decoding(fonts, tmp_path, monkeypatch):
    decoded: set[tuple[int, int]] = set()
    load = PIL.ImageFile.ImageFile.load

    def spy(self):
        decoded.add(self.size)
        return load(self)

    monkeypatch.setattr(PIL.ImageFile.ImageFile, "load", spy)
    path = make_zip(tmp_path / "bombs.zip", {
        "永.png": png_header_only(100_000, 100_000),  # past Pillow's own limit
        "和.png": encoded(Image.new("1", (5000, 5000), 1)),  # 25 M pixels: past ours, 4 KB on disk
        "九.png": encoded(draw_glyph("九", fonts["ttf"]))})
    upload = read_glyphs(path)
    assert upload.chars == ["九"] and decoded == {(220, 220)}
    assert sorted(kinds(upload)["too_large"]) == ["和.png", "永.png"]
    assert upload.summary()["rejected"] == {"too_large": 2}


def test_zip_bomb_member_is_refused_with_bounded_memory(fonts, tmp_path):
    zeros = b"\0" * (20 * MiB)
    path = make_zip(tmp_path / "bomb.zip", {"永.png": zeros, "和.png": encoded(draw_glyph("和", fonts["ttf"]))})
    del zeros
    limits = UploadLimits(max_zip_member=1 * MiB, max_zip_expanded=2 * MiB)
    tracemalloc.start()
    try:
        upload = read_glyphs(path, limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert upload.chars == ["和"] and kinds(upload) == {"too_large": ["永.png"]} and peak < 8 * MiB


def test_zip_member_lying_about_its_size(fonts, tmp_path):
    """A member whose headers declare 100 bytes but hold 20 MB: read to 100 bytes, then refused."""
    path = make_zip(tmp_path / "liar.zip", {"永.png": b"\0" * (20 * MiB)})
    data = bytearray(path.read_bytes())
    struct.pack_into("<L", data, 22, 100)  # the local header's uncompressed size
    struct.pack_into("<L", data, data.rfind(b"PK\x01\x02") + 24, 100)  # the central directory's
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with pytest.raises(UploadError, match="corrupt") as caught:
            read_glyphs(path, UploadLimits(max_zip_member=1 * MiB))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.key == "upload.bad_zip" and peak < 8 * MiB


def test_zip_expanding_past_its_total_is_refused(fonts, tmp_path):
    page = encoded(draw_glyph("永", fonts["ttf"], size=600))
    path = make_zip(tmp_path / "big.zip", {f"{ch}.png": page for ch in "永和九年在"})
    with pytest.raises(UploadError, match="expands to more than") as caught:
        read_glyphs(path, UploadLimits(max_zip_expanded=3 * len(page)))
    assert caught.value.key == "upload.zip_too_large"


def test_too_many_members(tmp_path):
    path = make_zip(tmp_path / "many.zip", {f"{i}.png": b"" for i in range(11)})
    with pytest.raises(UploadError, match="holds 11 files") as caught:
        read_glyphs(path, UploadLimits(max_zip_entries=10))
    assert caught.value.key == "upload.too_many_files"
    data = bytearray(path.read_bytes())  # the end record lies: 1 member (zipfile would parse all 11)
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 1, 1)
    path.write_bytes(data)
    with pytest.raises(UploadError, match="holds 11 files"):
        read_glyphs(path, UploadLimits(max_zip_entries=10))


def test_central_directory_too_large_for_its_limit(tmp_path):
    path = make_zip(tmp_path / "two.zip", {"a.png": b"", "b.png": b""})
    data = bytearray(path.read_bytes())
    struct.pack_into("<L", data, data.rfind(b"PK\x05\x06") + 12, 11 * 1024 * 1024)  # its size
    path.write_bytes(data)
    with pytest.raises(UploadError) as caught:
        read_glyphs(path, UploadLimits(max_zip_entries=10))
    assert caught.value.key == "upload.too_many_files"


def test_names_written_in_gbk_without_the_utf8_flag(fonts, tmp_path):
    """Chinese Windows ZIP tools write GBK names and no flag; zipfile reads them as CP437."""
    page = encoded(draw_glyph("永", fonts["ttf"]))
    path = make_zip(tmp_path / "gbk.zip", {"ab.png": page})  # "ab" is as long as 永 in GBK
    data = path.read_bytes().replace(b"ab.png", "永.png".encode("gbk"))
    path.write_bytes(data)
    assert read_glyphs(path).chars == ["永"]


def test_blank_images_cannot_cost_unbounded_decoding(fonts, tmp_path):
    blank = encoded(Image.new("L", (64, 64), 255))
    path = make_zip(tmp_path / "blanks.zip", {**{f"{ch}.png": blank for ch in "和九年"},
                                              **{f"{ch}.png": encoded(draw_glyph(ch, fonts["ttf"])) for ch in "永在"}})
    upload = read_glyphs(path, UploadLimits(max_glyphs=2))  # 4 images decoded at most: 3 blank, 永
    assert upload.chars == ["永"] and upload.summary()["rejected"] == {"blank": 3, "over_limit": 1}
    assert "too many were blank or broken" in kinds_reasons(upload)["over_limit"][0]


def test_hostile_names_are_only_names(fonts, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    page = encoded(draw_glyph("永", fonts["ttf"]))
    path = make_zip(tmp_path / "names.zip", {
        "../../etc/passwd.png": page, "/abs/dir/和.png": page, "..\\..\\九.png": page,
        "../年.png": page, "readme.txt": b"hello", "永 (1).png": page, "U+110000.png": page,
        "x" * 300 + ".png": page})
    before = sorted(p for p in tmp_path.rglob("*"))
    upload = read_glyphs(path)
    assert upload.chars == ["和", "九", "年"]
    found = kinds(upload)
    assert {"../../etc/passwd.png", "U+110000.png", "永 (1).png"} < set(found["bad_name"])
    assert found["not_image"] == ["readme.txt"]
    long_name = [n for n in found["bad_name"] if n.startswith("'xxx")]
    assert len(long_name) == 1 and len(long_name[0]) < 100  # clipped by shown()
    assert sorted(p for p in tmp_path.rglob("*")) == before and not Path("/abs/dir").exists()


def test_blank_duplicate_unreadable_and_encrypted(fonts, tmp_path):
    ttf = fonts["ttf"]
    path = make_zip(tmp_path / "mixed.zip", {
        "永.png": encoded(draw_glyph("永", ttf)), "again/永.png": encoded(draw_glyph("永", ttf)),
        "和.png": encoded(Image.new("L", (200, 200), 255)),  # no ink
        "九.png": b"\x89PNG\r\n\x1a\nnot really", "年.gif": encoded(Image.new("L", (4, 4), 0), "GIF"),
        "在.png": encoded(draw_glyph("在", ttf))})
    data = bytearray(path.read_bytes())  # mark 在.png encrypted (zipfile cannot write one)
    local = data.find("在.png".encode()) - 30
    central = data.rfind("在.png".encode()) - 46
    for at, flag_at in ((local, 6), (central, 8)):
        struct.pack_into("<H", data, at + flag_at, struct.unpack_from("<H", data, at + flag_at)[0] | 1)
    path.write_bytes(data)
    upload = read_glyphs(path)
    assert upload.chars == ["永"]
    assert kinds(upload) == {"blank": ["和.png"], "unreadable": ["九.png", "在.png"],
                             "too_small": ["年.gif"], "duplicate": ["again/永.png"]}
    assert [r.reason for r in upload.rejected if r.name == "在.png"] == ["the file is encrypted"]


def test_unsupported_compression_is_unreadable(fonts, tmp_path):
    path = make_zip(tmp_path / "lzma.zip", {"永.png": encoded(draw_glyph("永", fonts["ttf"]))}, zipfile.ZIP_LZMA)
    with pytest.raises(UploadError, match="no usable glyphs: 1 left out as unreadable"):
        read_glyphs(path)


def test_over_limit_and_wanted_in_images(fonts, tmp_path):
    pages = {f"{ch}.png": encoded(draw_glyph(ch, fonts["ttf"], size=96)) for ch in "永和九年在"}
    path = make_zip(tmp_path / "five.zip", {**pages, "A.png": pages["永.png"]})
    upload = read_glyphs(path, UploadLimits(max_glyphs=2))
    assert upload.chars == ["和", "九"]
    assert upload.summary()["rejected"] == {"over_limit": 3, "not_cjk": 1}
    wanted = read_glyphs(path, wanted="年永龍")
    assert wanted.chars == ["年", "永"] and wanted.summary()["rejected"] == {"not_wanted": 4}


def test_rejections_listed_are_capped_but_counted(tmp_path):
    motoya = require_font(MOTOYA)
    upload = read_glyphs(motoya, wanted="永")
    total = len(Font(motoya).codepoints)
    assert upload.chars == ["永"] and upload.summary()["rejected"] == {"not_wanted": total - 1}
    assert len(upload.rejected) == LISTED_PER_KIND
    assert all(isinstance(r, Rejected) and r.kind == "not_wanted" for r in upload.rejected)


def test_zip_with_nothing_usable(tmp_path):
    path = make_zip(tmp_path / "names.zip", {"hello.png": b"x", "world.png": b"y", "a.txt": b"z"})
    with pytest.raises(UploadError, match="no usable glyphs: 2 left out as bad_name") as caught:
        read_glyphs(path)
    assert caught.value.params == {"kind": "bad_name", "count": 2}
    with pytest.raises(UploadError, match="holds no glyph images"):
        read_glyphs(make_zip(tmp_path / "empty.zip", {}))


@pytest.mark.parametrize("data", [b"PK\x03\x04" + b"\x00" * 100, b"PK\x03\x04" + os.urandom(5000)])
def test_corrupt_zip_is_refused(tmp_path, data):
    (tmp_path / "broken.zip").write_bytes(data)
    with pytest.raises(UploadError) as caught:
        read_glyphs(tmp_path / "broken.zip")
    assert caught.value.key == "upload.bad_zip"


def test_corrupt_member_data_is_refused(fonts, tmp_path):
    path = make_zip(tmp_path / "flipped.zip", {"永.png": encoded(draw_glyph("永", fonts["ttf"]))})
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF  # inside the deflated data: a zlib error or a bad CRC
    path.write_bytes(data)
    with pytest.raises(UploadError) as caught:
        read_glyphs(path)
    assert caught.value.key == "upload.bad_zip"


# --- the file itself -----------------------------------------------------------------------------


def test_too_large_file_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "huge.ttf"
    path.write_bytes(b"\x00\x01\x00\x00" + b"\0" * 2000)
    monkeypatch.setattr(upload_module, "open", lambda *a, **k: pytest.fail("the file was opened"), raising=False)
    monkeypatch.setattr(Path, "read_bytes", lambda *a: pytest.fail("the file was read"))
    with pytest.raises(UploadError, match="2,004 bytes; at most 1,000") as caught:
        read_glyphs(path, UploadLimits(max_bytes=1000))
    assert caught.value.key == "upload.too_large" and caught.value.params == {"size": 2004, "limit": 1000}


@pytest.mark.parametrize("data", [b"", b"hello, world", encoded(Image.new("L", (20, 20)))])
def test_neither_font_nor_zip(tmp_path, data):
    (tmp_path / "upload.ttf").write_bytes(data)  # the name says font: the bytes decide
    with pytest.raises(UploadError, match="neither a font") as caught:
        read_glyphs(tmp_path / "upload.ttf")
    assert caught.value.key == "upload.unknown_type" and isinstance(caught.value, UserError)


def test_missing_file(tmp_path):
    with pytest.raises(UploadError, match="could not be read"):
        read_glyphs(tmp_path / "nowhere.zip")
