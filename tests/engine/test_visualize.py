"""Pictures for people: the sheet's labels are drawn in a font that has them."""

from fontTools.ttLib import TTFont

from unet.engine.visualize import label_font_path


def test_sheet_labels_use_a_font_with_latin_and_delta():
    path = label_font_path()
    # without one, labels fall back to Pillow's built-in font, which draws the Δ row's label as a box
    assert path is not None
    cmap = TTFont(path, fontNumber=0).getBestCmap()
    missing = [c for c in "Δ all layers on, real LXGW WenKai, source, blend, seen, unseen U+6C38 …"
               if ord(c) not in cmap]
    assert not missing, (path, missing)
