"""Font export: generated glyphs as an installable TrueType or OpenType font.

``export.py`` checks an export once (``plan_export``) and carries it out (``write_font``;
``export_font`` does both), adding the glyphs to set text with (``text_glyphs``: spaces,
punctuation, Latin, from Noto Serif CJK SC) and the style's line metrics (``line_metrics``);
``trace.py`` turns bitmaps into outlines; ``placement.py`` puts each
outline where the source font (and the style's real font) would; ``build.py`` writes the font file;
``cli.py`` is ``python -m unet.font``.
"""

from ..errors import ExportError
from .build import (
    FAMILY_MAX,
    FORMATS,
    RESERVED_NAMES,
    UPM,
    FontGlyph,
    FontNames,
    LineMetrics,
    build_font,
    clean_path,
    replay,
    with_extremes,
    without_reserved,
)
from .export import (
    TEXT_FONT,
    ExportPlan,
    ExportReport,
    edition,
    export_font,
    family_name,
    format_for,
    is_ofl,
    line_metrics,
    outline_glyph,
    plan_export,
    text_glyphs,
    write_font,
)
from .placement import STYLE_SAMPLE, Placement, StyleGeometry, ink_box, placement_matrix, style_geometry
from .trace import TraceError, pick_vectorizer  # not trace(): that name is the submodule

__all__ = ["FAMILY_MAX", "FORMATS", "RESERVED_NAMES", "STYLE_SAMPLE", "TEXT_FONT", "UPM", "ExportError",
           "ExportPlan", "ExportReport", "FontGlyph", "FontNames", "LineMetrics", "Placement", "StyleGeometry",
           "TraceError", "build_font", "clean_path", "edition", "export_font", "family_name", "format_for",
           "ink_box", "is_ofl", "line_metrics", "outline_glyph", "pick_vectorizer", "placement_matrix",
           "plan_export", "replay", "style_geometry", "text_glyphs", "with_extremes", "without_reserved",
           "write_font"]
