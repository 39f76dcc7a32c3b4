"""Your handwriting as glyphs, from a pen and a phone:

  python -m unet.handwriting template --out template.pdf [--chars 300 | --text 永和九年] [--png DIR]
  python -m unet.handwriting read PHOTO... --out glyphs.zip [--all]

Print the template at 100 % on A4, fill each box with its character, photograph or scan every
page, and read the photos: the ZIP of ``U+XXXX.png`` glyphs feeds the fine-tune
(``python -m unet.finetune --glyphs glyphs.zip``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UserError
from ..startup import run_cli
from .reader import ReadResult, glyph_zip, read_pages
from .template import default_characters, list_id, template_characters, write_pdf, write_png

PROG = "python -m unet.handwriting"
FLAGGED = {"messy": "messy", "two_characters": "two characters"}


def main(argv=None) -> int:
    """The command line; a problem the person can fix is one line on stderr and exit status 2."""
    return run_cli(lambda: _main(argv), PROG)


def _main(argv=None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("template", help="write the printable template (PDF, and PNG pages with --png)")
    t.add_argument("--out", required=True, help="the PDF to write")
    which = t.add_mutually_exclusive_group()
    which.add_argument("--chars", type=int, default=300, help="how many of the default characters (default 300)")
    which.add_argument("--text", default=None, help="these characters instead")
    t.add_argument("--png", default=None, metavar="DIR", help="also write one PNG per page to DIR")
    r = sub.add_parser("read", help="read photos or scans of filled pages into a ZIP of glyphs")
    r.add_argument("photos", nargs="+", metavar="PHOTO")
    r.add_argument("--out", required=True, help="the ZIP to write")
    r.add_argument("--all", action="store_true", help="also keep the boxes flagged messy or two characters")
    a = p.parse_args(argv)
    return _template(a) if a.command == "template" else _read(a)


def _template(a: argparse.Namespace) -> int:
    if Path(a.out).suffix.lower() != ".pdf":  # before the work
        raise UserError(f"--out {a.out}: not a PDF file name (use .pdf)")
    chars = template_characters(a.text) if a.text is not None else default_characters(a.chars)
    pages = write_pdf(chars, a.out)
    print(f"wrote {a.out}: {pages} page{'s' if pages != 1 else ''}, {len(chars)} characters "
          f"(list {list_id(chars)}); print it at 100 % on A4")
    if a.png:
        paths = write_png(chars, a.png)
        print(f"wrote {len(paths)} PNG page{'s' if len(paths) != 1 else ''} to {a.png}")
    return 0


def _read(a: argparse.Namespace) -> int:
    out = Path(a.out)
    if out.suffix.lower() != ".zip":  # before the work
        raise UserError(f"--out {a.out}: not a ZIP file name (use .zip)")
    result = read_pages(a.photos, sources=[Path(photo).name for photo in a.photos])
    _report(result)
    statuses = ("ok", *FLAGGED) if a.all else ("ok",)
    boxes = result.boxes(statuses)
    if not boxes:
        raise UserError("no usable glyphs: every box read was blank or flagged (see above)")
    try:
        out.write_bytes(glyph_zip(boxes))
    except OSError as e:
        raise UserError(f"cannot write {a.out}: {e.strerror or e}") from e
    print(f"wrote {a.out}: {len(boxes)} glyphs; teach the style with "
          f"python -m unet.finetune --glyphs {a.out} --out DIR")
    return 0


def _report(result: ReadResult) -> None:
    """Per page what was found, then what is missing and what could not be read."""
    for page in result.pages:
        label = page.label
        counts = page.counts()
        parts = [f"{counts.get('ok', 0)} ok"]
        if counts.get("blank"):
            parts.append(f"{counts['blank']} blank")
        for status, words in FLAGGED.items():
            chars = "".join(box.char for box in page.boxes if box.status == status)
            if chars:
                parts.append(f"{len(chars)} {words} ({chars})")
        turned = f", photo turned {page.rotation}°" if page.rotation else ""
        print(f"page {label.page} of {label.pages} ({page.source}{turned}): {', '.join(parts)}")
    if result.missing:
        print(f"pages not in any photo: {', '.join(str(n) for n in result.missing)}")
    for source in result.duplicates:
        print(f"{source}: a page already read (the reading with more good boxes is used)")
    for failure in result.failures:
        print(f"{failure.source}: not read: {failure.error}")


if __name__ == "__main__":
    sys.exit(main())
