"""Character sets: code-page levels derived from Python's codecs (no data download), lists ranked by
frequency of use (``data/frequency.py``, from wordfreq), or read from a text file.

The code-page levels are in code order (GB2312 level 1 by pinyin, Big5 by stroke count), so their
first N characters are not the N most common ones: for that, take the frequency lists.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from ..errors import CharsetError, shown


def _decode_rows(codec: str, rows: range, cols: range) -> list[str]:
    out = []
    for hi in rows:
        for lo in cols:
            try:
                ch = bytes([hi, lo]).decode(codec)
            except UnicodeDecodeError:
                continue
            if len(ch) == 1 and "\u3400" <= ch:  # ideographs only
                out.append(ch)
    return out


@cache
def gb2312_level1() -> tuple[str, ...]:
    """GB2312 level 1: the 3,755 most common simplified characters (rows 0xB0-0xD7)."""
    return tuple(_decode_rows("gb2312", range(0xB0, 0xD8), range(0xA1, 0xFF)))


@cache
def gb2312_level2() -> tuple[str, ...]:
    """GB2312 level 2: 3,008 further characters (rows 0xD8-0xF7)."""
    return tuple(_decode_rows("gb2312", range(0xD8, 0xF8), range(0xA1, 0xFF)))


@cache
def big5_common() -> tuple[str, ...]:
    """Big5 level 1: the 5,401 common traditional characters (0xA440-0xC67E)."""
    chars = _decode_rows("big5", range(0xA4, 0xC7), list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF)))
    end = b"\xc6\x7e".decode("big5")
    return tuple(chars[: chars.index(end) + 1])


@cache
def big5_rare() -> tuple[str, ...]:
    """Big5 level 2: 7,652 less common traditional characters (0xC940-0xF9D5)."""
    return tuple(_decode_rows("big5", range(0xC9, 0xFA), list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF))))


FREQUENCY_SIZES = (500, 1000, 3500)  # the named prefixes of the frequency lists (they nest)


@cache
def _frequency_data():
    """The ranked lists (CC BY-SA 4.0 data, imported on first use: see data/README.md)."""
    from .data import frequency

    return frequency


def frequency_source() -> str:
    """Where the frequency lists come from, and their licence, in a few words for a label."""
    return _frequency_data().SOURCE


def _prefix(ranked: str, n: int) -> tuple[str, ...]:
    if not isinstance(n, int) or isinstance(n, bool) or not 0 < n <= len(ranked):
        raise CharsetError(f"the frequency lists hold 1 to {len(ranked)} characters, not {shown(n)}")
    return tuple(ranked[:n])


@cache
def frequent_simplified(n: int = 500) -> tuple[str, ...]:
    """The n (at most 3,500) most frequent simplified characters, most frequent first.

    Ranked by frequency of use in wordfreq 3.1.1's Chinese word list (Robyn Speer; subtitles incl.
    SUBTLEX-CH, news, books, Wikipedia, web, Twitter; data CC BY-SA 4.0), word frequencies summed into
    character frequencies; only GB2312 characters the source font draws. Built by
    ``tools/frequency_presets.py``; attribution and licence in ``data/README.md``.
    """
    return _prefix(_frequency_data().SIMPLIFIED, n)


@cache
def frequent_traditional(n: int = 500) -> tuple[str, ...]:
    """The n (at most 3,500) most frequent traditional characters, most frequent first.

    The same wordfreq 3.1.1 data (CC BY-SA 4.0), each word converted to traditional forms with OpenCC
    (Taiwan ``s2tw`` and Hong Kong ``s2hk``; a character ranks by the higher of the two) before
    summing; only Big5 characters the source font draws. See ``frequent_simplified``.
    """
    return _prefix(_frequency_data().TRADITIONAL, n)


CHARSETS = {
    "gb2312-1": gb2312_level1,
    "gb2312-2": gb2312_level2,
    "gb2312": lambda: gb2312_level1() + gb2312_level2(),
    "big5-1": big5_common,
    "big5-2": big5_rare,
    "big5": lambda: big5_common() + big5_rare(),
    **{f"freq-sc-{n}": (lambda n=n: frequent_simplified(n)) for n in FREQUENCY_SIZES},
    **{f"freq-tc-{n}": (lambda n=n: frequent_traditional(n)) for n in FREQUENCY_SIZES},
}

CHARSET_LABELS = {  # name -> what it is, for menus and help
    "gb2312-1": "GB2312 level 1 (3,755, pinyin order)",
    "gb2312-2": "GB2312 level 2 (3,008, radical order)",
    "gb2312": "GB2312 (6,763, levels 1 and 2)",
    "big5-1": "Big5 level 1 (5,401, stroke order)",
    "big5-2": "Big5 level 2 (7,652, stroke order)",
    "big5": "Big5 (13,053, levels 1 and 2)",
    **{f"freq-sc-{n}": f"{n:,} most common simplified (by frequency, wordfreq)" for n in FREQUENCY_SIZES},
    **{f"freq-tc-{n}": f"{n:,} most common traditional (by frequency, wordfreq + OpenCC)"
       for n in FREQUENCY_SIZES},
}


def _is_file(path: str) -> bool:
    """``Path(path).is_file()``, but False for a name the system refuses (too long, a NUL byte):
    a text of a hundred characters passed as the charset is a text, not a crash."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def load_charset(name_or_file: str) -> list[str]:
    """A named charset (see CHARSETS; join several with '+') or a UTF-8 text file of characters.

    Order is kept, duplicates and whitespace are dropped.
    """
    parts = name_or_file.split("+") if name_or_file not in CHARSETS and not _is_file(name_or_file) else [name_or_file]
    chars: list[str] = []
    for part in parts:
        if part in CHARSETS:
            chars.extend(CHARSETS[part]())
        elif _is_file(part):
            chars.extend(Path(part).read_text(encoding="utf-8"))
        else:
            raise CharsetError(f"unknown charset {shown(part)}: use one of {sorted(CHARSETS)} or a text file")
    return list(dict.fromkeys(c for c in chars if not c.isspace()))


def resolve_charset(arg: str) -> list[str]:
    """What a user means by a charset argument: named charset(s) (``gb2312-1+big5-1``), a UTF-8 text
    file, or else the characters themselves. A word that looks like a name or a path but is neither
    is an error, not a text of Latin letters."""
    if _is_file(arg) or all(part in CHARSETS for part in arg.split("+")):
        return load_charset(arg)
    if re.fullmatch(r"[\w./\\+-]+", arg, flags=re.ASCII):
        raise CharsetError(f"unknown charset {shown(arg)}: use one of {sorted(CHARSETS)} (joined by '+'), "
                         f"a UTF-8 text file, or the characters themselves")
    return list(dict.fromkeys(c for c in arg if not c.isspace()))
