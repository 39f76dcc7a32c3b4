"""Build ``unet/engine/data/frequency.py``: the most frequent simplified and traditional characters.

A dev tool, run by hand when the lists are to be rebuilt; the app and the package never import it.
It needs two libraries that are NOT dependencies of the project (install them in a throwaway virtual
environment that also sees the project's own packages)::

    python3 -m venv --system-site-packages /tmp/fp && /tmp/fp/bin/pip install wordfreq==3.1.1 OpenCC==1.4.2
    /tmp/fp/bin/python tools/frequency_presets.py           # writes unet/engine/data/frequency.py
    /tmp/fp/bin/python tools/frequency_presets.py --check   # exit 1 if the committed file differs

Method:

* **Source**: wordfreq's Chinese word list (``get_frequency_dict("zh", "large")``, code Apache-2.0,
  data CC BY-SA 4.0): word frequencies pooled from subtitles (OpenSubtitles 2018, SUBTLEX-CH), news,
  Google Books Ngrams, Wikipedia, web text (OSCAR), Twitter and jieba's dictionary. wordfreq
  stores Chinese in "oversimplified" form (every traditional character folded to its simplified one).
* **Simplified**: a character's frequency is the sum of the frequencies of the words it occurs in
  (each occurrence counted: a word seen f times puts each of its characters on the page f times).
  Only CJK ideographs count (no digits, Latin or punctuation). Kept: characters in GB2312 (levels 1
  and 2) that the source font (Noto Serif CJK, ``DEFAULT_SOURCE``) draws.
* **Traditional**: every word is converted with OpenCC (phrase-aware: 头发 -> 頭髮, 以后 -> 以後,
  皇后 -> 皇后) to Taiwan standard forms (``s2tw``) and, apart, to Hong Kong ones (``s2hk``), and summed
  the same way; a character ranks by the higher of its two frequencies, so a form common in either
  place counts (臺 of 臺灣 in Taiwan's standard, 台 of 台灣 as Hong Kong and everyday Taiwan write it).
  Kept: characters in Big5 (levels 1 and 2) that the source font draws. This is the frequency of the
  same (mostly mainland) usage written in traditional forms, not a count over Taiwanese or Hong Kong
  text.
* Ties (rare, at the low end) are broken by code point, so a rebuild is reproducible.

The 500 / 1,000 / 3,500 presets are prefixes of one ranked list each, so they nest.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import date
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

OUT = REPO / "unet" / "engine" / "data" / "frequency.py"
LENGTH = 3500  # the longest preset; shorter ones are its prefixes
PER_LINE = 50


def is_ideograph(ch: str) -> bool:
    """A CJK unified ideograph (the basic block and extension A), as GB2312 and Big5 hold."""
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def char_frequencies(words: dict[str, float], convert=None) -> Counter:
    """Character frequency summed from word frequencies (each occurrence counts)."""
    freq: Counter = Counter()
    for word, f in words.items():
        for ch in convert(word) if convert else word:
            if is_ideograph(ch):
                freq[ch] += f
    return freq


def ranked(freq: Counter, allowed: set[str], n: int) -> tuple[list[str], list[str]]:
    """The n most frequent allowed characters, and the frequent ones left out on the way."""
    order = sorted(freq, key=lambda c: (-freq[c], c))
    kept, dropped = [], []
    for ch in order:
        if len(kept) == n:
            break
        (kept if ch in allowed else dropped).append(ch)
    if len(kept) < n:
        raise SystemExit(f"only {len(kept)} characters found, {n} wanted")
    return kept, dropped


def block(name: str, chars: list[str]) -> str:
    lines = [f"{name} = (  # {len(chars)} characters, most frequent first"]
    for i in range(0, len(chars), PER_LINE):
        lines.append(f'    "{"".join(chars[i:i + PER_LINE])}"  # {i + 1}-{min(i + PER_LINE, len(chars))}')
    lines.append(")")
    return "\n".join(lines)


def build(today: str) -> tuple[str, dict]:
    import opencc
    import wordfreq

    from unet.engine.charsets import big5_common, big5_rare, gb2312_level1, gb2312_level2
    from unet.engine.glyphs import Font
    from unet.train.data import DEFAULT_SOURCE

    wf, cc = version("wordfreq"), version("OpenCC")
    source = Font(DEFAULT_SOURCE.file, DEFAULT_SOURCE.family)
    words = wordfreq.get_frequency_dict("zh", "large")
    gb = {c for c in gb2312_level1() + gb2312_level2() if source.draws(c)}
    big5 = {c for c in big5_common() + big5_rare() if source.draws(c)}

    simplified, sc_dropped = ranked(char_frequencies(words), gb, LENGTH)
    tc = char_frequencies(words, opencc.OpenCC("s2tw").convert)
    for ch, f in char_frequencies(words, opencc.OpenCC("s2hk").convert).items():
        tc[ch] = max(tc[ch], f)
    traditional, tc_dropped = ranked(tc, big5, LENGTH)

    text = f'''"""The most frequent Chinese characters, simplified and traditional, most frequent first.

GENERATED by tools/frequency_presets.py on {today}; do not edit by hand (rebuild instead).

Licence: this file is CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/, full text in
LICENSE-CC-BY-SA-4.0.txt beside it), unlike the rest of the project (Apache-2.0), because it is
adapted from the data of wordfreq, which is CC BY-SA 4.0. See README.md beside it.

Source: wordfreq {wf} by Robyn Speer (https://github.com/rspeer/wordfreq, doi:10.5281/zenodo.7199437),
Chinese "large" word list; data CC BY-SA 4.0. wordfreq's Chinese data is built from OpenSubtitles 2018
(opensubtitles.org), SUBTLEX-CH (Cai & Brysbaert 2010; SUBTLEX is freely available data, by Marc
Brysbaert et al.), Google Books Ngrams (http://books.google.com/ngrams), Wikipedia, news (NewsCrawl,
GlobalVoices), web text (OSCAR), Twitter and the jieba dictionary.

Changes made (the adaptation): word frequencies were summed into character frequencies (CJK ideographs
only); SIMPLIFIED keeps characters of GB2312 drawn by the source font Noto Serif CJK; TRADITIONAL
converts each word with OpenCC {cc} (Apache-2.0, https://github.com/BYVoid/OpenCC) "s2tw" and "s2hk",
sums each, ranks a character by the higher of its two frequencies and keeps characters of Big5 drawn
by the source font. No warranty, as the licence says.
"""

SOURCE = "wordfreq {wf}, CC BY-SA 4.0"

{block("SIMPLIFIED", simplified)}

{block("TRADITIONAL", traditional)}
'''
    report = {"wordfreq": wf, "OpenCC": cc, "words": len(words),
              "simplified left out (not GB2312 or not drawn)": "".join(sc_dropped),
              "traditional left out (not Big5 or not drawn)": "".join(tc_dropped)}
    return text, report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true", help="compare with the committed file, write nothing")
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args(argv)
    if a.check:  # the date line may differ; everything else must not
        old = a.out.read_text(encoding="utf-8")
        stamp = next(line for line in old.splitlines() if line.startswith("GENERATED"))
        text, report = build(stamp.split(" on ")[1].split(";")[0])
    else:
        text, report = build(date.today().isoformat())
    for k, v in report.items():
        print(f"{k}: {v}")
    if a.check:
        same = text == a.out.read_text(encoding="utf-8")
        print("up to date" if same else f"{a.out} differs from a rebuild")
        return 0 if same else 1
    a.out.write_text(text, encoding="utf-8")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
