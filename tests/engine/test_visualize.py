"""Pictures for people: the offline sheet's labels are drawn in a font that has them; the demo's
sheet is glyph cells only, a grid the page slices and labels with text."""

import numpy as np
from fontTools.ttLib import TTFont
from PIL import Image

from unet.engine.visualize import glyph_cells, label_font_path


def test_sheet_labels_use_a_font_with_latin_and_delta():
    path = label_font_path()
    # without one, labels fall back to Pillow's built-in font, which draws the Δ row's label as a box
    assert path is not None
    cmap = TTFont(path, fontNumber=0).getBestCmap()
    missing = [c for c in "Δ all layers on, real LXGW WenKai, source, blend, seen, unseen U+6C38 …"
               if ord(c) not in cmap]
    assert not missing, (path, missing)


def test_glyph_cells_is_a_uniform_grid_without_words():
    black = Image.new("L", (32, 32), 0)
    grey = Image.new("L", (32, 32), 100)
    rows = [[black] * 5, [grey] * 4 + [None]]  # a None cell stays blank: the page says why
    img, layout = glyph_cells(rows, cell=16, per_row=2, pad=2)
    pitch = 18
    assert (layout.label_width, layout.header, layout.per_row, layout.rows) == (0, 0, 2, 2)
    assert layout.block_height == 2 * pitch
    assert img.size == (2 * pitch, 3 * layout.block_height)  # 5 characters: 3 blocks of 2
    a = np.asarray(img.convert("L"))
    for j in range(5):
        for row, want in ((0, 0), (1, 100 if j < 4 else 255)):
            x, y = layout.cell_origin(j, row)
            assert (a[y:y + 16, x:x + 16] == want).all(), (j, row)
    # everything that is not a glyph is the pad colour: no label, header or mark anywhere
    glyph = np.zeros(a.shape, bool)
    for j in range(6):
        for row in range(2):
            x, y = layout.cell_origin(j, row)
            glyph[y:y + 16, x:x + 16] = True
    assert (a[~glyph] == 255).all()
