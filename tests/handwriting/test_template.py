"""The printable template: which characters, where everything is on the page, the files, the command line."""

from __future__ import annotations

import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from unet.engine.charsets import frequent_simplified
from unet.engine.glyphs import is_cjk_ideograph
from unet.errors import UserError
from unet.handwriting import template
from unet.handwriting.cli import main
from unet.handwriting.template import (
    QR_MODULES,
    PageLabel,
    TemplateSpec,
    default_characters,
    list_id,
    page_labels,
    render_pages,
    template_characters,
    write_pdf,
    write_png,
)

from ..support import REPO, require_font

SPEC = TemplateSpec()


@pytest.fixture(scope="module", autouse=True)
def label_font():
    require_font(SPEC.label_font)


def test_default_characters_are_frequent_and_cover_more_components():
    chars = default_characters(300)
    assert len(chars) == 300 == len(set(chars)) and all(is_cjk_ideograph(ch) for ch in chars)
    rank = {ch: i for i, ch in enumerate(frequent_simplified(3500))}
    assert [rank[ch] for ch in chars] == sorted(rank[ch] for ch in chars)  # frequency order
    assert max(rank[ch] for ch in chars) < template.COMPONENT_POOL
    top = "".join(frequent_simplified(300))
    assert len(set(chars) & set(top)) >= 200  # mostly the most frequent ones ...
    assert components(chars) > components(top)  # ... yet more components than the top 300 alone
    assert default_characters(48) == default_characters(48)  # deterministic


def components(chars: str) -> int:
    """Distinct halves (place and coarse shape), as default_characters counts them."""
    font = template.label_face(SPEC)(template.PART_SIZE)
    seen: dict[str, list[np.ndarray]] = {}
    for ch in chars:
        for place, shape in template._halves(font, ch):
            known = seen.setdefault(place, [])
            if not any(template._overlap(shape, other) >= template.SAME_PART_IOU for other in known):
                known.append(shape)
    return sum(len(v) for v in seen.values())


def test_characters_are_checked():
    assert template_characters(" 永和 永九年\n") == "永和九年"
    for bad in ("", "   ", "永a", "😀"):
        with pytest.raises(UserError):
            template_characters(bad)
    for count in (0, -1, 3501, True, 2.5):
        with pytest.raises(UserError):
            default_characters(count)


def test_the_layout_keeps_writing_boxes_clear_of_everything_printed():
    def rect(corners):
        return (*corners[0], *corners[2])

    def overlap(a, b, margin=20):
        return not (a[2] + margin <= b[0] or b[2] + margin <= a[0] or a[3] + margin <= b[1] or b[3] + margin <= a[1])

    boxes = [SPEC.box_rect(i) for i in range(SPEC.per_page)]
    printed = [rect(c) for c in SPEC.marker_corners().values()] + [SPEC.qr_rect()]
    for i, box in enumerate(boxes):
        assert 60 <= box[0] and box[2] <= SPEC.width - 60 and 60 <= box[1] and box[3] <= SPEC.height - 60
        assert box[2] - box[0] == box[3] - box[1] == SPEC.box
        assert not any(overlap(box, other) for other in printed)
        assert not any(overlap(box, other, margin=SPEC.label_height) for other in boxes[i + 1:])
    qr = SPEC.qr_rect()
    assert qr[2] - qr[0] == QR_MODULES * SPEC.qr_module and qr[2] <= SPEC.width and qr[3] <= boxes[0][1]


def test_pages_hold_markers_and_a_qr_code_naming_their_characters():
    chars = "".join(frequent_simplified(60))
    pages = render_pages(chars)
    labels = page_labels(chars)
    assert len(pages) == 2 and [len(label.chars) for label in labels] == [48, 12]
    assert all(page.mode == "L" and page.size == (2480, 3508) for page in pages)
    detector = cv2.aruco.ArucoDetector(cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50))
    for page, label in zip(pages, labels):
        gray = np.asarray(page)
        corners, ids, _ = detector.detectMarkers(gray)
        found = {int(i): c.reshape(4, 2) for c, i in zip(corners, ids.ravel())}
        expected = SPEC.marker_corners()
        assert set(found) == set(expected)
        for mid, quad in found.items():
            assert np.abs(quad - expected[mid]).max() < 1.5
        x0, y0, x1, y1 = SPEC.qr_rect()
        text, _, _ = cv2.QRCodeDetector().detectAndDecode(gray[y0 - 40:y1 + 40, x0 - 40:x1 + 40])
        assert PageLabel.parse(text) == label
        assert label.list_id == list_id(chars) and label.pages == 2 and label.layout == SPEC.layout_id()
    # the guide is light grey and lies inside the box; the box outline is darker
    x0, y0, x1, y1 = SPEC.box_rect(0)
    inside = np.asarray(pages[0])[y0 + 6:y1 - 6, x0 + 6:x1 - 6]
    assert inside.min() >= SPEC.guide_grey - 5 and (inside < 250).mean() > 0.02
    assert np.asarray(pages[0])[y0 + 1, x0 + 20] <= SPEC.line_grey + 5


def test_page_labels_parse_only_their_own_codes():
    label = PageLabel(SPEC.layout_id(), "0123abcd", 2, 7, "永和九年")
    assert PageLabel.parse(label.payload()) == label
    assert PageLabel.parse(label.payload() + "   ") == label  # padding
    for text in ("", "https://example.com", "GAHW1|l|x|0|7|永", "GAHW1|l|x|8|7|永", "GAHW2|l|x|1|1|永",
                 "GAHW1|l|x|1|1|", "GAHW1|x|1|1|永"):
        assert PageLabel.parse(text) is None


def test_every_qr_code_is_read_back_as_drawn():
    """Some texts give codes OpenCV cannot read; the template pads those until it can."""
    for n in (1, 12, 24, 36, 48):
        text = PageLabel(SPEC.layout_id(), "9c53362e", 1, 7, "".join(frequent_simplified(3500)[100:100 + n])).payload()
        assert template.decode_matrix(template.qr_matrix(text)).rstrip(" ") == text


def test_pdf_and_png_files(tmp_path):
    chars = "永和九年岁在癸丑"
    assert write_pdf(chars, tmp_path / "t.pdf") == 1
    data = (tmp_path / "t.pdf").read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", data)) == 1
    paths = write_png(chars, tmp_path / "png")
    assert [p.name for p in paths] == ["page-01.png"]
    with Image.open(paths[0]) as page:
        assert page.size == (2480, 3508)
    with pytest.raises(UserError):
        write_pdf(chars, tmp_path / "missing" / "t.pdf")


def test_cli_template(tmp_path, capsys):
    assert main(["template", "--out", str(tmp_path / "t.pdf"), "--text", "永和九年", "--png", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "1 page, 4 characters" in out and (tmp_path / "p" / "page-01.png").is_file()
    assert main(["template", "--out", str(tmp_path / "t.txt")]) == 2
    assert "not a PDF file name" in capsys.readouterr().err
    assert main(["template", "--out", str(tmp_path / "t.pdf"), "--text", "abc"]) == 2
    assert "Chinese characters only" in capsys.readouterr().err


def test_cli_problems_are_one_line(tmp_path):
    run = subprocess.run([sys.executable, "-m", "unet.handwriting", "read", str(tmp_path / "missing.jpg"),
                          "--out", str(tmp_path / "g.zip")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and "could not be read" in run.stderr and "Traceback" not in run.stderr
