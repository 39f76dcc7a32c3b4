"""Character sets derived from Python's codecs, and from text files."""

import pytest

from unet.engine.charsets import CHARSETS, load_charset


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
