"""Handwriting to glyphs: a printable template to fill with a pen, and the reader of its photos."""
