"""Character sets derived from Python's codecs, ranked by frequency (wordfreq data), and from text
files."""

from pathlib import Path

import pytest

from unet.engine.charsets import (
    CHARSET_LABELS,
    CHARSETS,
    frequency_source,
    frequent_simplified,
    frequent_traditional,
    load_charset,
    resolve_charset,
)
from unet.errors import CharsetError


@pytest.mark.parametrize("name,count,first,last", [
    ("gb2312-1", 3755, "啊", "座"),
    ("gb2312-2", 3008, "亍", "齄"),
    ("big5-1", 5401, "一", "籲"),
])
def test_named_charsets(name, count, first, last):
    chars = load_charset(name)
    assert len(chars) == len(set(chars)) == count
    assert chars[0] == first and chars[-1] == last
    assert all(len(c) == 1 and "\u4e00" <= c <= "\u9fff" for c in chars)


def test_joined_and_combined_names():
    gb = load_charset("gb2312")
    assert len(gb) == 3755 + 3008
    assert load_charset("gb2312-1+gb2312-2") == gb
    both = load_charset("gb2312-1+big5-1")
    assert len(both) == len(set(load_charset("gb2312-1")) | set(load_charset("big5-1")))
    assert set(CHARSETS) >= {"gb2312-1", "gb2312-2", "big5-1", "big5-2"}


def test_levels_are_disjoint():
    assert not set(load_charset("gb2312-1")) & set(load_charset("gb2312-2"))
    assert not set(load_charset("big5-1")) & set(load_charset("big5-2"))


def test_text_file(tmp_path):
    f = tmp_path / "mine.txt"
    f.write_text("永 和\n九年\t永和 𠀀\n", encoding="utf-8")
    assert load_charset(str(f)) == ["永", "和", "九", "年", "\U00020000"]  # order kept, no dups


def test_file_joined_with_name(tmp_path):
    f = tmp_path / "extra.txt"
    f.write_text("𠀀啊", encoding="utf-8")
    chars = load_charset(f"{f}+gb2312-1")
    assert chars[:2] == ["\U00020000", "啊"] and len(chars) == 3756


@pytest.mark.parametrize("name", ["gb2313", "gb2312-1+nope", "/no/such/file.txt"])
def test_unknown_name_raises(name):
    with pytest.raises(ValueError, match="unknown charset"):
        load_charset(name)


# --- the lists ranked by frequency of use (unet/engine/data/frequency.py, from wordfreq) ---

SIZES = (500, 1000, 3500)


def ranked(script: str, n: int) -> list[str]:
    return load_charset(f"freq-{script}-{n}")


@pytest.mark.parametrize("script", ["sc", "tc"])
def test_frequency_lists_have_their_size_are_unique_ideographs_and_nest(script):
    lists = [ranked(script, n) for n in SIZES]
    for n, chars in zip(SIZES, lists):
        assert len(chars) == len(set(chars)) == n
        assert all(len(c) == 1 and "\u4e00" <= c <= "\u9fff" for c in chars)  # no digits, Latin, punctuation
    assert lists[0] == lists[1][:500] and lists[1] == lists[2][:1000]  # 500 ⊂ 1000 ⊂ 3500, same order


def test_the_most_common_characters_come_first():
    sc, tc = ranked("sc", 500), ranked("tc", 500)
    for ch in "的一是不了人我在有他这中大来上个们到说为":
        assert ch in sc, ch
    assert sc[0] == "的" and set(sc[:30]) >= set("的一是不了人我在")
    for ch in "的一是不了人我在":  # the same in both scripts
        assert ch in tc[:30], ch
    for ch in "個們來說為這國時會對後":
        assert ch in tc, ch
    # the forms a traditional font needs: Taiwan's standard and the everyday one
    assert {"臺", "台", "裡", "著"} <= set(tc)
    # the old presets took code order: 啊阿埃挨… and 一乙丁七…; the frequent ones come first now
    assert "啊" not in sc[:100] and "阿" not in sc[:100]


def test_frequency_lists_stay_within_their_code_pages_and_the_source_font():
    from fontTools.ttLib import TTFont

    from unet.engine.glyphs import find_font_file
    from unet.train.data import DEFAULT_SOURCE

    gb, big5 = set(load_charset("gb2312")), set(load_charset("big5"))
    sc, tc = ranked("sc", 3500), ranked("tc", 3500)
    assert set(sc) <= gb and set(tc) <= big5
    assert not set(sc) & set("們這個說爲為") and not set(tc) & set("们这个说为")  # no mixed scripts
    cmap = TTFont(find_font_file(DEFAULT_SOURCE.file), fontNumber=0, lazy=True).getBestCmap()
    assert all(ord(c) in cmap for c in sc + tc)


def test_frequency_functions_and_their_source():
    assert frequent_simplified(3) == ("的", "是", "一") and frequent_simplified(10) == tuple(ranked("sc", 500)[:10])
    assert frequent_traditional(500) == tuple(ranked("tc", 500))
    assert "wordfreq" in frequency_source() and "CC BY-SA 4.0" in frequency_source()
    for bad in (0, 3501, -1, "500", True):
        with pytest.raises(CharsetError, match="frequency lists"):
            frequent_simplified(bad)
    assert set(CHARSET_LABELS) == set(CHARSETS)
    assert CHARSET_LABELS["gb2312-1"].startswith("GB2312 level 1 (3,755")
    assert CHARSET_LABELS["big5-1"].startswith("Big5 level 1 (5,401")
    assert resolve_charset("freq-sc-500+freq-tc-500")[:3] == ["的", "是", "一"]


def test_the_data_names_its_source_and_licence():
    from unet.engine import data
    from unet.engine.data import frequency

    folder = Path(data.__file__).parent
    note = (folder / "README.md").read_text(encoding="utf-8")
    for needed in ("wordfreq", "3.1.1", "Robyn Speer", "CC BY-SA 4.0", "SUBTLEX-CH", "OpenCC", "Changes made"):
        assert needed in note and (needed == "Changes made" or needed in frequency.__doc__), needed
    assert "Attribution-ShareAlike 4.0 International" in (folder / "LICENSE-CC-BY-SA-4.0.txt").read_text()
    assert "creativecommons.org/licenses/by-sa/4.0" in frequency.__doc__


def test_the_apps_presets_are_the_frequency_lists_and_name_their_source():
    from unet.demo.exports import PRESETS
    from unet.settings import MAX_EXPORT_CHARS

    assert set(PRESETS) == {"gb2312-500", "big5-500"}  # the keys pages and clients already hold
    for label, chars in PRESETS.values():
        text = chars()
        assert len(text) == len(set(text)) <= MAX_EXPORT_CHARS  # the app exports at most this many
        assert "wordfreq" in label and "CC BY-SA 4.0" in label and "frequency" in label
        assert "level 1" not in label  # not the code-page order any more
    assert PRESETS["gb2312-500"][1]() == "".join(ranked("sc", 500))
    assert PRESETS["big5-500"][1]() == "".join(ranked("tc", 500))
    assert "traditional" in PRESETS["big5-500"][0] and "simplified" in PRESETS["gb2312-500"][0]
