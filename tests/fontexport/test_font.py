"""Font export (unet.fontexport, python -m unet.font): the built font is valid, complete and faithful to the glyphs."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from fontTools.pens.areaPen import AreaPen
from fontTools.pens.recordingPen import RecordingPen
from fontTools.ttLib import TTFont
from PIL import Image
from skimage.metrics import structural_similarity

import unet.fontexport.export
from unet import fontexport as F
from unet.engine.charsets import resolve_charset
from unet.engine.glyphs import Font
from unet.engine.stylizer import Stylizer
from unet.errors import GenerationError
from unet.fontexport.trace import potrace_path, trace

from ..support import REPO, fitted_ink, require_font

TEXT = "永和九年歲在癸丑回"  # 回 has counters (holes) that must survive
SMILEY = "Smiley Sans"
VECTORIZERS = ["contours", pytest.param("potrace", marks=pytest.mark.skipif(
    potrace_path() is None, reason="potrace is not installed (apt install potrace)"))]


@pytest.fixture(scope="module")
def stylizer():
    require_font("SmileySans-Oblique.ttf")
    return Stylizer.from_pretrained()


@pytest.fixture(scope="module")
def generated(stylizer):
    """The bitmaps the font is made of: the same request export_font makes."""
    gen = stylizer.generate(TEXT, SMILEY, with_target=False)
    return dict(zip(gen.chars, gen.generated))


def contours(font: TTFont, glyph_name: str) -> list[float]:
    """Signed area of each contour (positive = counter-clockwise, y up)."""
    pen = RecordingPen()
    font.getGlyphSet()[glyph_name].draw(pen)
    areas, area = [], AreaPen()
    for op, pts in pen.value:
        getattr(area, op)(*pts)
        if op in ("closePath", "endPath"):
            areas.append(area.value)
            area = AreaPen()
    return areas


def ssim(a, b) -> float:
    return structural_similarity(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                                 data_range=255)


@pytest.mark.parametrize("fmt", ["ttf", "otf"])
@pytest.mark.parametrize("vectorizer", VECTORIZERS)
def test_glyph_bitmaps_come_back_from_the_font_as_they_went_in(tmp_path, fmt, vectorizer):
    """Crisp bitmaps (a real font's glyphs, normalised as the model's output is) -> font -> render
    again with Pillow at 128 px, fitted as unet.engine.glyphs does: the same picture."""
    source = Font("assets/fonts/NotoSerifCJKtc-Regular-subset.otf")
    wenkai = Font(require_font("LXGWWenKai-Regular.ttf"))
    bitmaps = {ch: wenkai.render(ch, 128) for ch in TEXT}
    glyphs = [F.outline_glyph(ch, bitmaps[ch], source, source.render(ch, 128), vectorizer) for ch in TEXT]
    names = F.FontNames("Round Trip", "往返", "Machine-generated test", "none")
    F.build_font(glyphs, names, fmt).save(tmp_path / f"rt.{fmt}")
    exported = Font(tmp_path / f"rt.{fmt}")
    scores = {ch: ssim(exported.render(ch, 128), bitmaps[ch]) for ch in TEXT}
    assert np.mean(list(scores.values())) >= 0.95, scores
    assert min(scores.values()) >= 0.85, scores  # a one-pixel shift in the refit costs ~0.1


@pytest.mark.parametrize("fmt", ["ttf", "otf"])
@pytest.mark.parametrize("vectorizer", VECTORIZERS)
def test_exported_font_is_valid_and_holds_the_generated_glyphs(stylizer, generated, tmp_path, fmt,
                                                                vectorizer):
    out = tmp_path / f"export.{fmt}"
    report = F.export_font(stylizer, TEXT + "abc 😀", out, SMILEY, vectorizer=vectorizer)
    assert report.vectorizer == vectorizer and report.fmt == fmt
    assert sorted(report.generated) == sorted(TEXT) and not report.kept
    assert {s.char for s in report.skipped} == set("abc😀")  # spaces separate, not skipped
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left beside it

    font = TTFont(out)
    assert ("glyf" in font) == (fmt == "ttf") and ("CFF " in font) == (fmt == "otf")
    cmap = font.getBestCmap()
    assert set(TEXT) <= set(map(chr, cmap))  # the requested characters (and the text set: spaces, punctuation, Latin)
    assert {(t.platformID, t.format) for t in font["cmap"].tables} >= {(3, 4)}

    # each glyph's ink is the generated bitmap's ink (the model's grey haze is not ink)
    exported = Font(out)
    ious = {}
    for ch in TEXT:
        a, b = np.asarray(exported.render(ch, 128)) < 128, fitted_ink(generated[ch])
        ious[ch] = (a & b).sum() / (a | b).sum()
    assert np.mean(list(ious.values())) >= 0.85, ious

    # contours: outer ones clockwise in TrueType, counter-clockwise in CFF; counters kept
    outer_sign = -1 if fmt == "ttf" else 1
    for ch in TEXT:
        areas = contours(font, cmap[ord(ch)])
        assert np.sign(sum(areas)) == outer_sign, (ch, areas)
    hui = contours(font, cmap[ord("回")])
    assert len(hui) == 4 and sum(np.sign(a) == outer_sign for a in hui) == 2, hui

    # metrics: the style's advance, vertical metrics from the typographic ascender
    os2 = font["OS/2"]
    assert font["head"].unitsPerEm == 1000
    assert all(font["hmtx"][cmap[ord(c)]][0] == 800 for c in TEXT)  # Smiley Sans's own advance
    wenkai = F.style_geometry(stylizer, "LXGW WenKai")
    assert wenkai.advance == 1000 and 0.9 < wenkai.scale < 1.1 and abs(wenkai.dy) < 100
    assert F.StyleGeometry.measure(stylizer.source_font, None) == F.StyleGeometry()  # font missing
    assert font["vhea"].ascent == 500 and font["vhea"].descent == -500
    for ch in TEXT:
        name = cmap[ord(ch)]
        height, tsb = font["vmtx"][name]
        y_max = exported.bounds(ch)[3]
        assert height == 1000 and abs(tsb - (os2.sTypoAscender - y_max)) <= 1
    assert os2.ulCodePageRange1 & (1 << 18) and os2.ulCodePageRange1 & (1 << 20)  # GB2312, Big5
    assert os2.ulUnicodeRange2 & (1 << (59 - 32))  # CJK Unified Ideographs

    # names in English and Chinese, machine-generated, no reserved font name anywhere
    names = {(n.nameID, n.langID): n.toUnicode() for n in font["name"].names}
    assert names[(1, 0x409)] == f"Glyph Attention Smiley Sans {len(TEXT)}" and (1, 0x804) in names
    assert "Machine-generated" in names[(10, 0x409)] and "glyph-attention-3style" in names[(10, 0x409)]
    assert "Open Font License" in names[(13, 0x409)]


def test_both_formats_pass_the_opentype_sanitizer(stylizer, tmp_path):
    ots = pytest.importorskip("ots")
    for fmt in F.FORMATS:
        out = tmp_path / f"f.{fmt}"
        F.export_font(stylizer, "永和九年", out, SMILEY)
        done = ots.sanitize(str(out), capture_output=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_no_name_record_carries_a_reserved_font_name(stylizer, tmp_path):
    out = tmp_path / "wenkai.ttf"
    report = F.export_font(stylizer, "永和", out, "LXGW WenKai")
    assert report.family == "Glyph Attention WenKai 2"
    raw = out.read_bytes()
    for word in F.RESERVED_NAMES:
        assert word.encode("utf-16-be") not in raw and word.encode() not in raw
        assert word not in report.summary()
    with pytest.raises(F.ExportError, match="Reserved Font Name"):
        F.export_font(stylizer, "永", tmp_path / "x.ttf", "LXGW WenKai", family="My LXGW copy")
    # complete mode would have to keep WenKai's copyright notice, which names "LXGW"
    with pytest.raises(F.ExportError, match="copyright notice of 'WenKai'") as excinfo:
        F.export_font(stylizer, "永", tmp_path / "x.ttf", "LXGW WenKai", complete=True)
    assert "LXGW" not in str(excinfo.value)
    assert not (tmp_path / "x.ttf").exists()


def test_complete_mode_keeps_the_real_glyphs_and_records_which_are_generated(stylizer, tmp_path):
    smiley = Font("SmileySans-Oblique.ttf")
    assert smiley.draws("永") and not smiley.draws("歲")  # Smiley Sans draws simplified only
    out = tmp_path / "complete.ttf"
    seen = []
    report = F.export_font(stylizer, "永和歲", out, SMILEY, complete=True,
                           progress=lambda fraction, message: seen.append((fraction, message)))
    assert report.kept == ["永", "和"] and report.generated == ["歲"]
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] == 1
    assert seen[-1][1] == "generated 1 and traced 1 of 1 glyphs; copied 2 of 2"
    font = TTFont(out)
    description = font["name"].getDebugName(10)
    assert "2 glyphs are the original font's own; 1 are machine-generated: 歲" in description
    assert "atelierAnchor" in font["name"].getDebugName(0)  # the OFL's copyright notice kept
    exported = Font(out)
    assert exported.bounds("永") == pytest.approx(smiley.bounds("永"), abs=1)  # the real outline
    assert ssim(exported.render("永", 128), smiley.render("永", 128)) > 0.99


def test_complete_mode_refuses_fonts_it_may_not_copy(stylizer, tmp_path):
    require_font("ukai.ttc")
    with pytest.raises(F.ExportError, match="Open Font License"):  # UKai: Arphic Public License
        F.export_font(stylizer, "永", tmp_path / "u.ttf", "AR PL UKai", complete=True)
    assert list(tmp_path.iterdir()) == []


def test_outlines_beyond_the_bmp_get_a_format_12_cmap():
    square = F.clean_path(lambda pen: (pen.moveTo((100, 0)), pen.lineTo((100, 800)), pen.lineTo((900, 800)),
                                       pen.lineTo((900, 0)), pen.closePath()), even_odd=True)
    names = F.FontNames("Test", "测试", "Machine-generated test", "none")
    for fmt in F.FORMATS:
        font = F.build_font([F.FontGlyph("永", square), F.FontGlyph("\U00020000", square)], names, fmt)
        formats = {t.format for t in font["cmap"].tables}
        assert formats == {4, 12}
        assert 0x20000 in font.getBestCmap() and 0x6C38 in font.getBestCmap()


def test_tracing_keeps_counters_and_overlapping_contours_merge():
    source = Font("assets/fonts/NotoSerifCJKtc-Regular-subset.otf")
    for vectorizer in ["contours"] + (["potrace"] if potrace_path() else []):
        outline = trace(source.render("回", 128), vectorizer)
        assert len(outline) == 4, vectorizer
    # two overlapping squares drawn the same way are one contour after cleaning
    path = F.clean_path(lambda pen: [F.replay([[("moveTo", ((x, 0),)), ("lineTo", ((x + 60, 0),)),
                                                ("lineTo", ((x + 60, 60),)), ("lineTo", ((x, 60),)),
                                                ("closePath", ())]], pen) for x in (0, 30)],
                        even_odd=False)
    rec = RecordingPen()
    path.draw(rec)
    assert sum(op == "closePath" for op, _ in rec.value) == 1


@pytest.mark.parametrize("text, message", [
    ("abc !", "no characters to export"),
    ("\U0002A6D6\u9FEF", "not in the source font"),
    ("", "no characters to export"),
])
def test_nothing_to_export_is_a_clear_message_and_no_file(stylizer, tmp_path, text, message):
    with pytest.raises(F.ExportError, match=message):
        F.export_font(stylizer, text, tmp_path / "x.ttf", SMILEY)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_and_failures_midway_leave_no_file(stylizer, tmp_path, monkeypatch):
    with pytest.raises(F.ExportError, match="cannot write the font"):
        F.export_font(stylizer, "永", tmp_path / "missing" / "x.ttf", SMILEY)
    with pytest.raises(F.ExportError, match="it is a folder"):
        F.export_font(stylizer, "永", tmp_path, SMILEY)
    with pytest.raises(GenerationError, match="unknown style"):
        F.export_font(stylizer, "永", tmp_path / "x.ttf", "Comic Sans")

    def broken(*args):
        raise F.TraceError("simulated crash")

    monkeypatch.setattr(unet.fontexport.export, "trace", broken)
    with pytest.raises(F.ExportError, match="tracing '永' failed: simulated crash"):
        F.export_font(stylizer, "永和", tmp_path / "x.ttf", SMILEY)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(F.ExportError, match="at most 1 per export"):
        F.export_font(stylizer, "永和", tmp_path / "x.ttf", SMILEY, max_chars=1)


HUGE = "a" * 2 ** 20  # 1 MB


@pytest.mark.parametrize("complete", ["false", "true", "no", "", 0, 1, [False]])
def test_plan_export_takes_complete_only_as_a_boolean(stylizer, complete):
    """The API sends what a client typed: the text "false" must not switch complete mode on."""
    with pytest.raises(GenerationError, match="the complete option must be true or false, got "):
        F.plan_export(stylizer, "永和歲", SMILEY, "ttf", complete)


def test_plan_export_accepts_true_false_and_none_as_complete(stylizer):
    assert F.plan_export(stylizer, "永和歲", SMILEY, "ttf", True).kept == ["永", "和"]
    for off in (False, None):
        plan = F.plan_export(stylizer, "永和歲", SMILEY, "ttf", off)
        assert plan.kept == [] and plan.chars == ["永", "和", "歲"]


@pytest.mark.parametrize("kwargs, error, quoted", [
    (dict(fmt=HUGE), F.ExportError, "format must be 'ttf' or 'otf', got 'aaa"),
    (dict(fmt=[HUGE]), F.ExportError, "format must be 'ttf' or 'otf', got ['aaa"),
    (dict(fmt="woff"), F.ExportError, "format must be 'ttf' or 'otf', got 'woff'"),
    (dict(style=HUGE), GenerationError, "unknown style 'aaa"),
    (dict(complete=HUGE), GenerationError, "the complete option must be true or false, got 'aaa"),
])
def test_plan_export_quotes_a_bad_value_by_its_prefix_only(stylizer, kwargs, error, quoted):
    with pytest.raises(error) as excinfo:
        F.plan_export(stylizer, "永", **{"style": SMILEY, **kwargs})
    text = str(excinfo.value)
    assert text.startswith(quoted) and len(text) < 200


def test_charset_argument_names_files_and_literal_text(tmp_path):
    assert len(resolve_charset("gb2312-1")) == 3755
    assert len(resolve_charset("gb2312-1+big5-1")) == 6722
    (tmp_path / "chars.txt").write_text("永 和\n永", encoding="utf-8")
    assert resolve_charset(str(tmp_path / "chars.txt")) == ["永", "和"]
    assert resolve_charset("永和九年") == list("永和九年")
    for bad in ("gb9999", "big5-3+gb2312", "chars.txt"):
        with pytest.raises(ValueError, match="unknown charset"):
            resolve_charset(bad)


def test_cli_writes_a_font_and_reports_errors_in_one_line(tmp_path):
    out = tmp_path / "cli.otf"
    done = subprocess.run([sys.executable, "-m", "unet.font", "--charset", "永和九年abc", "--style", SMILEY,
                           "--out", str(out), "--vectorizer", "contours", "--threads", "1"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "4 generated" in done.stdout and "skipped 3" in done.stdout and "contours" in done.stdout
    assert TTFont(out)["CFF "] is not None
    bad = subprocess.run([sys.executable, "-m", "unet.font", "--charset", "gb9999", "--out",
                          str(tmp_path / "bad.ttf")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.startswith("python -m unet.font: error: unknown charset 'gb9999'")
    assert bad.stderr.count("\n") == 1 and not (tmp_path / "bad.ttf").exists()


@pytest.mark.slow
def test_sigterm_mid_export_leaves_no_part_file(tmp_path):
    """A stopped export (a service manager's SIGTERM) removes its unfinished .part file (~15 s)."""
    require_font("SmileySans-Oblique.ttf")
    out = tmp_path / "big.ttf"
    proc = subprocess.Popen([sys.executable, "-m", "unet.font", "--charset", "gb2312-1", "--style", SMILEY,
                             "--out", str(out), "--vectorizer", "contours", "--threads", "1"],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".big.ttf.*.part")):  # write_font has started
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the export never started writing"
            time.sleep(0.1)
        time.sleep(1.0)  # drawing and tracing glyphs now
        proc.send_signal(signal.SIGTERM)
        stderr = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_without_potrace_the_export_falls_back_to_contours(stylizer, tmp_path, monkeypatch):
    """A fresh machine after the README's pip install has no potrace: 'auto' must still export."""
    import unet.fontexport.trace as T

    monkeypatch.setattr(T.shutil, "which", lambda name: None)
    assert T.pick_vectorizer("auto") == "contours"
    with pytest.raises(ValueError, match="potrace program is not installed"):
        T.pick_vectorizer("potrace")
    with pytest.raises(F.ExportError, match="potrace program is not installed"):
        F.export_font(stylizer, "永", tmp_path / "x.ttf", SMILEY, vectorizer="potrace")
    report = F.export_font(stylizer, "永和", tmp_path / "auto.ttf", SMILEY)
    assert report.vectorizer == "contours" and "traced with contours" in report.summary()
    with pytest.raises(T.TraceError, match="not installed"):
        T.trace_potrace(Image.new("L", (8, 8), 255))
