"""Fonts: face selection, coverage, text splitting, blank glyphs, rendering and broken files."""

import random
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont

from unet.engine.charsets import big5_common, gb2312_level1
from unet.engine.glyphs import (
    FIT,
    SKIP_REASONS,
    Font,
    FontError,
    FontSpec,
    Skipped,
    find_font_file,
    group_skipped,
    image_to_array,
    is_cjk_ideograph,
    split_text,
)
from unet.train.data import DEFAULT_SOURCE, render_all

from ..support import NOTO_TTC, require_font


@pytest.fixture(scope="module")
def source():
    return Font.from_spec(DEFAULT_SOURCE)


@pytest.fixture(scope="module")
def noto_tc():
    require_font(NOTO_TTC)
    return Font(NOTO_TTC, "Noto Serif CJK TC")


@pytest.fixture(scope="module")
def blank_font(tmp_path_factory) -> Path:
    """A tiny TrueType font: 一 (U+4E00) is a filled box, 永 (U+6C38) maps to an empty glyph."""
    fb = FontBuilder(1000, isTTF=True)
    order = [".notdef", "box", "empty"]
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap({0x4E00: "box", 0x6C38: "empty"})
    pen = TTGlyphPen(None)
    pen.moveTo((100, 300))
    pen.lineTo((100, 500))
    pen.lineTo((900, 500))
    pen.lineTo((900, 300))
    pen.closePath()
    box = pen.glyph()
    fb.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "box": box, "empty": TTGlyphPen(None).glyph()})
    fb.setupHorizontalMetrics({g: (1000, 0) for g in order})
    fb.setupHorizontalHeader(ascent=880, descent=-120)
    fb.setupNameTable({"familyName": "Blank Test", "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120)
    fb.setupPost()
    path = tmp_path_factory.mktemp("fonts") / "blank-test.ttf"
    fb.save(str(path))
    return path


# --- loading and faces -------------------------------------------------------------------------

def test_face_selection_in_a_collection(noto_tc):
    assert noto_tc.face_index == 3
    assert noto_tc.name == "Noto Serif CJK TC"
    sc = Font(NOTO_TTC, "Noto Serif CJK SC")
    assert sc.face_index != 3
    # the faces differ: Taiwanese vs mainland forms of the same code point
    assert not np.array_equal(image_to_array(sc.render("骨", 64)), image_to_array(noto_tc.render("骨", 64)))


def test_collection_without_family_opens_the_first_face():
    require_font(NOTO_TTC)
    assert Font(NOTO_TTC).face_index == 0


def test_unknown_family_lists_the_faces():
    require_font(NOTO_TTC)
    with pytest.raises(FontError) as e:
        Font(NOTO_TTC, "Noto Serif CJK XX")
    msg = str(e.value)
    assert "'Noto Serif CJK XX'" in msg and NOTO_TTC in msg
    for face in ("Noto Serif CJK TC", "Noto Serif CJK SC", "Noto Serif CJK JP"):
        assert face in msg


def test_unknown_family_in_a_single_font(source):
    with pytest.raises(FontError, match="family 'Nope' not found"):
        Font(source.path, "Nope")


def test_find_font_file_by_name_and_in_assets():
    assert find_font_file(DEFAULT_SOURCE.file).is_file()
    require_font(NOTO_TTC)
    assert find_font_file("NotoSerifCJK-Regular.ttc") == Path(NOTO_TTC)


def test_missing_file():
    with pytest.raises(FontError, match="font file not found: no-such-font.ttf"):
        Font("no-such-font.ttf")


def test_random_bytes_are_not_a_font(tmp_path):
    bad = tmp_path / "random.ttf"
    bad.write_bytes(random.Random(0).randbytes(4096))
    with pytest.raises(FontError, match="not a readable font file") as e:
        Font(bad)
    assert str(bad) in str(e.value)


@pytest.mark.parametrize("fraction", [0.0005, 0.3, 0.9])
def test_truncated_font(tmp_path, source, fraction):
    raw = source.path.read_bytes()
    bad = tmp_path / "truncated.otf"
    bad.write_bytes(raw[: int(len(raw) * fraction)])
    with pytest.raises(FontError, match="not a readable font file") as e:
        Font(bad)
    assert str(bad) in str(e.value)


def test_truncated_collection(tmp_path):
    raw = Path(require_font(NOTO_TTC)).read_bytes()[:200_000]
    bad = tmp_path / "truncated.ttc"
    bad.write_bytes(raw)
    with pytest.raises(FontError, match=str(bad)):
        Font(bad, "Noto Serif CJK TC")


def test_empty_file(tmp_path):
    bad = tmp_path / "empty.otf"
    bad.write_bytes(b"")
    with pytest.raises(FontError):
        Font(bad)


# --- coverage ----------------------------------------------------------------------------------

def test_coverage_comes_from_the_cmap(source):
    cmap = TTFont(str(source.path), lazy=True).getBestCmap()
    assert source.codepoints == set(cmap)
    assert source.has("永") and source.has("說")
    assert not source.has("\U00020000")  # Extension B: not in the subset
    assert not source.has("永永")  # one character only
    missing = next(cp for cp in range(0x4E00, 0xA000) if cp not in cmap)
    assert not source.has(chr(missing)) and not source.draws(chr(missing))


def test_blank_glyph_detection(blank_font):
    font = Font(blank_font)
    assert font.has("一") and font.draws("一")
    assert font.has("永") and not font.draws("永")  # mapped, but the glyph has no outline
    with pytest.raises(FontError, match="no drawable glyph"):
        font.render("永")
    img = image_to_array(font.render("一", 32))
    assert (img < 128).any()


def test_noto_ideographic_space_is_mapped_but_blank(noto_tc):
    assert noto_tc.has("\u3000") and not noto_tc.draws("\u3000")


# --- text splitting ----------------------------------------------------------------------------

def reasons(skipped):
    return {s.char: s.reason for s in skipped}


def test_split_text_mixed_input(source):
    text = "你好, Hello 123😀𠀀\u200b\u202e中，永好"
    chars, skipped = split_text(text, source)
    assert chars == ["你", "好", "中", "永"]
    r = reasons(skipped)
    assert r[" "] == SKIP_REASONS["whitespace"]
    for ch in ",Helo123，":
        assert r[ch] == SKIP_REASONS["not_cjk"], ch
    assert r["😀"] == SKIP_REASONS["emoji"]
    assert r["\U00020000"] == SKIP_REASONS["not_in_font"]  # one code point, not two surrogates
    assert r["\u200b"] == SKIP_REASONS["control"]
    assert r["\u202e"] == SKIP_REASONS["control"]
    assert len(skipped) == len(r)  # each skipped character reported once
    assert not any(s.char in "你好中永" for s in skipped)
    assert "U+20000" in str(next(s for s in skipped if s.char == "\U00020000"))


def test_split_text_keeps_duplicates_when_asked(source):
    chars, skipped = split_text("好好a a", source, unique=False)
    assert chars == ["好", "好"]
    assert [s.char for s in skipped] == ["a", " ", "a"]


def test_split_text_normalises_to_nfc(source):
    # U+F900 (a compatibility ideograph) NFC-normalises to U+8C48
    chars, _ = split_text("\uF900", source)
    assert chars == [unicodedata.normalize("NFC", "\uF900")] == ["\u8c48"]


def test_split_text_blank_glyph(blank_font):
    chars, skipped = split_text("一永", Font(blank_font))
    assert chars == ["一"]
    assert reasons(skipped) == {"永": SKIP_REASONS["blank"]}


def test_is_cjk_ideograph():
    for ch in "永〇\u3400\U00020000\U0002A700\uF900":
        assert is_cjk_ideograph(ch), ch
    for ch in "a1，。ー\u3000😀":
        assert not is_cjk_ideograph(ch), ch


# --- rendering ---------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [32, 64, 128])
def test_render_normalisation(source, size):
    img = source.render("永", size)
    assert img.mode == "L" and img.size == (size, size)
    a = image_to_array(img)
    assert a[0, 0] == a[-1, -1] == 255  # white background, black ink
    ys, xs = np.nonzero(a < 255)
    h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    box = round(size * 7 / 8)  # the documented protocol (112 px of 128), not the constant
    assert FIT == 7 / 8
    assert max(h, w) in (box, box - 1, box + 1)  # the longer side of the ink box fills 7/8
    # centred: equal margins up to rounding
    assert abs(ys.min() - (size - 1 - ys.max())) <= 2 and abs(xs.min() - (size - 1 - xs.max())) <= 2


def test_render_is_deterministic(source):
    a = image_to_array(source.render("鬱", 64))
    b = image_to_array(source.render("鬱", 64))
    c = image_to_array(Font.from_spec(DEFAULT_SOURCE).render("鬱", 64))
    assert np.array_equal(a, b) and np.array_equal(a, c)


@pytest.mark.parametrize("workers", [1, 2])
def test_dataset_rendering_matches_font_render(source, workers):
    chars = list("永和九年歲在癸丑") + ["\U00020000"]  # the last one is not in the font
    arr = render_all(DEFAULT_SOURCE, chars, 48, workers=workers)
    assert arr.shape == (len(chars), 48, 48) and arr.dtype == np.uint8
    for i, ch in enumerate(chars[:-1]):
        assert np.array_equal(arr[i], image_to_array(source.render(ch, 48))), ch
    assert (arr[-1] == 255).all()  # a blank white canvas where the font lacks the character


def test_subset_asset_renders_like_the_system_face(source, noto_tc):
    rng = random.Random(0)
    sample = [c for c in rng.sample(gb2312_level1(), 16) + rng.sample(big5_common(), 16)
              if source.draws(c)]
    assert len(sample) >= 24
    for ch in sample:
        assert noto_tc.draws(ch), ch
        for size in (64, 128):
            a = image_to_array(source.render(ch, size))
            b = image_to_array(noto_tc.render(ch, size))
            assert np.array_equal(a, b), (ch, size)


def test_font_spec_round_trip():
    spec = FontSpec("ukai.ttc", "AR PL UKai CN")
    assert FontSpec.from_dict(spec.to_dict()) == spec
    assert FontSpec.from_dict({"file": "x.ttf"}) == FontSpec("x.ttf", None)


def test_skipped_characters_group_by_kind_in_the_order_met():
    skipped = [Skipped(c, "", "not_cjk") for c in "abca"] + [Skipped("😀", "", "emoji")] \
        + [Skipped(chr(0x41 + i), "", "") for i in range(25)]  # no kind: not CJK
    groups = group_skipped(skipped, shown=3)
    assert [g["kind"] for g in groups] == ["not_cjk", "emoji"]
    assert groups[0]["count"] == 29 and groups[0]["chars"] == "a b c …"  # distinct, the first 3
    assert groups[1] == {"kind": "emoji", "count": 1, "chars": "😀"}
