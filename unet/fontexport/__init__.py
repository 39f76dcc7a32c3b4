"""Font export: generated glyphs as an installable TrueType or OpenType font.

``export.py`` checks an export once (``plan_export``) and carries it out (``write_font``;
``export_font`` does both); ``trace.py`` turns bitmaps into outlines; ``placement.py`` puts each
outline where the source font (and the style's real font) would; ``build.py`` writes the font file;
``cli.py`` is ``python -m unet.font``.
"""

from ..errors import ExportError
from .build import (
    FORMATS,
    RESERVED_NAMES,
    UPM,
    FontGlyph,
    FontNames,
    build_font,
    clean_path,
    replay,
    without_reserved,
)
from .export import (
    ExportPlan,
    ExportReport,
    export_font,
    format_for,
    is_ofl,
    outline_glyph,
    plan_export,
    write_font,
)
from .placement import STYLE_SAMPLE, Placement, StyleGeometry, ink_box, placement_matrix, style_geometry
from .trace import TraceError, pick_vectorizer  # not trace(): that name is the submodule

__all__ = ["FORMATS", "RESERVED_NAMES", "STYLE_SAMPLE", "UPM", "ExportError", "ExportPlan", "ExportReport",
           "FontGlyph", "FontNames", "Placement", "StyleGeometry", "TraceError", "build_font", "clean_path",
           "export_font", "format_for", "ink_box", "is_ofl", "outline_glyph", "pick_vectorizer",
           "placement_matrix", "plan_export", "replay", "style_geometry", "without_reserved",
           "write_font"]
