"""End to end through the HTTP API: the real app (shipped checkpoint) launched in-process on a local
port and driven with ``gradio_client``, as a remote user of the Space would."""

from __future__ import annotations

import json
import math
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from .support import LAYERS, STYLE, pixels, read_png, running_app  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    # gradio's queue uses pandas options that pandas 3 deprecates: not ours to fix
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]
gradio_client = pytest.importorskip("gradio_client")
from gradio_client.exceptions import AppError  # noqa: E402

TEXT = "永和九年"
# 80 distinct characters of the Thousand Character Classic, all in the source font
THOUSAND = "天地玄黃宇宙洪荒日月盈昃辰宿列張寒來暑往秋收冬藏閏餘成歲律呂調陽雲騰致雨露結為霜金生麗水玉出崑岡劍號巨闕珠稱夜光果珍李柰菜重芥薑海鹹河淡鱗潛羽翔龍師火帝鳥官人皇"
# outputs of /generate and /toggle
SHEET, GALLERY, STATUS, DIFF, CHAR, PROBE, QUERY, RECEIVED, CONTRIB, SHEET_FILE, ZIP_FILE = range(11)


@pytest.fixture(scope="module")
def url():
    with running_app() as base:
        yield base


@pytest.fixture(scope="module")
def client(url, tmp_path_factory):
    return gradio_client.Client(url, verbose=False, download_files=str(tmp_path_factory.mktemp("dl")))


def generate(client, text=TEXT, style=STYLE, blend="(none)", weight=0.5, layers=LAYERS, api="/generate"):
    out = client.predict(text, style, blend, weight, list(layers), api_name=api)
    assert len(out) == 11
    return out


def query(client, index=0, x=64.0, y=64.0, text=TEXT, style=STYLE, blend="(none)", weight=0.5,
          layers=LAYERS) -> dict:
    return client.predict(text, style, blend, weight, list(layers), index, x, y, api_name="/query_point")


def glyph_arrays(out) -> list[np.ndarray]:
    return [pixels(item["image"]) for item in out[GALLERY]]


def assert_clear_error(excinfo, *expected: str):
    msg = str(excinfo.value)
    for part in expected:
        assert part in msg, f"{part!r} not in {msg!r}"
    assert "Traceback" not in msg and 'File "' not in msg, msg
    assert len(msg) < 500, msg


@pytest.fixture(scope="module")
def first(client):
    """The baseline: TEXT with every attention layer on."""
    return generate(client)


def test_api_lists_the_three_endpoints(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/generate", "/toggle", "/query_point"} <= set(endpoints)


def test_generate_returns_pngs_one_glyph_per_character(first):
    assert [item["caption"].split(" · ")[0] for item in first[GALLERY]] == list(TEXT)
    glyphs = glyph_arrays(first)
    assert all(g.shape[:2] == (128, 128) for g in glyphs)
    assert all(g.std() > 0 for g in glyphs)  # ink, not blank squares
    sheet = pixels(first[SHEET])
    assert sheet.shape[1] > sheet.shape[0]  # one column per character
    read_png(first[SHEET_FILE])
    assert f"**{len(TEXT)}** glyph(s)" in first[STATUS]
    assert first[DIFF] == []  # nothing toggled, nothing to compare
    assert [c[1] for c in first[CHAR]["choices"]] == list(range(len(TEXT)))
    read_png(first[PROBE])
    assert len(first[QUERY]) == len(LAYERS) and len(first[RECEIVED]) == len(LAYERS)
    assert all(name in first[CONTRIB] for name in LAYERS)

    with zipfile.ZipFile(first[ZIP_FILE]) as zf:
        names = zf.namelist()
        assert names and all(n.endswith(".png") for n in names)
        assert sum(n.endswith("_generated.png") for n in names) == len(TEXT)
        assert sum(n.endswith("_source.png") for n in names) == len(TEXT)
        for n in names:
            read_png(zf.read(n))
        # the ZIP's generated glyphs are the gallery's
        zipped = [_gray(pixels(zf.read(n))) for n in sorted(names) if n.endswith("_generated.png")]
    assert all(np.array_equal(a, _gray(b)) for a, b in zip(zipped, glyph_arrays(first), strict=True))


def _gray(a: np.ndarray) -> np.ndarray:
    """Gallery images may come back as RGB(A); the glyphs are grey, so take one channel."""
    return np.asarray(a[..., 0] if a.ndim == 3 else a, dtype=np.int16)


def test_toggle_changes_glyphs_and_back_restores_them(client, first):
    base = [_gray(a) for a in glyph_arrays(first)]

    off = generate(client, layers=["16x16"], api="/toggle")  # 32x32 switched off
    toggled = [_gray(a) for a in glyph_arrays(off)]
    assert len(toggled) == len(base)
    changed = [float(np.abs(a - b).mean()) for a, b in zip(base, toggled)]
    assert max(changed) > 0.5, changed  # switching a layer off visibly changes the glyphs
    assert len(off[DIFF]) == len(TEXT)  # difference view: one image per glyph
    assert [d["caption"] for d in off[DIFF]] == list(TEXT)
    assert all(pixels(d["image"]).ndim == 3 for d in off[DIFF])  # red/blue overlays: colour
    assert "switched off: 32x32" in off[STATUS]
    assert len(off[QUERY]) == 1  # only the enabled layer's map

    none = generate(client, layers=[], api="/toggle")
    assert len(none[DIFF]) == len(TEXT) and none[QUERY] == []

    back = generate(client, layers=LAYERS, api="/toggle")
    restored = [_gray(a) for a in glyph_arrays(back)]
    assert all(np.array_equal(a, b) for a, b in zip(base, restored))
    assert back[DIFF] == []


def test_query_point_maps(client):
    q = query(client, index=1, x=20, y=30)
    assert q["char"] == TEXT[1] and q["point"] == [20.0, 30.0]
    assert list(q["layers"]) == LAYERS
    for name, layer in q["layers"].items():
        m = np.asarray(layer["map"])
        assert m.shape == (layer["resolution"],) * 2 == (int(name.split("x")[0]),) * 2
        assert (m >= 0).all() and m.sum() == pytest.approx(1.0, abs=1e-3)
        assert math.isfinite(layer["gamma"]) and layer["contribution"] >= 0

    moved = query(client, index=1, x=100, y=110)
    for name in LAYERS:
        a, b = np.asarray(q["layers"][name]["map"]), np.asarray(moved["layers"][name]["map"])
        assert np.abs(a - b).sum() > 1e-3, name

    only = query(client, index=1, x=20, y=30, layers=["16x16"])
    assert list(only["layers"]) == ["16x16"]
    assert query(client, layers=[])["layers"] == {}
    clamped = query(client, x=-50, y=1e6)  # outside the glyph: clamped onto it
    assert clamped["point"] == [0.0, 127.0]


def test_mixed_input_keeps_the_usable_characters(client):
    out = generate(client, text="永abc😀和")
    assert [item["caption"][0] for item in out[GALLERY]] == ["永", "和"]
    assert "Skipped 4" in out[STATUS] and "emoji" in out[STATUS] and "not a CJK" in out[STATUS]
    assert query(client, text="永abc😀和", index=1)["char"] == "和"


def test_limit_of_64_characters(client):
    text = THOUSAND[:70]
    out = generate(client, text=text)
    assert [item["caption"][0] for item in out[GALLERY]] == list(text[:64])
    assert "64" in out[STATUS] and "over the limit" in out[STATUS]
    assert "Skipped 6" in out[STATUS]


BAD_GENERATE = [
    pytest.param(("", STYLE, "(none)", 0.5, LAYERS), ["please type at least one Chinese character"], id="empty"),
    pytest.param((" \n\t　", STYLE, "(none)", 0.5, LAYERS), ["please type at least one Chinese character"],
                 id="whitespace"),
    pytest.param(("😀🎉", STYLE, "(none)", 0.5, LAYERS), ["none of the characters can be drawn", "emoji"],
                 id="emoji"),
    pytest.param((TEXT, "Comic Sans", "(none)", 0.5, LAYERS), ["Comic Sans"], id="style"),
    pytest.param((TEXT, STYLE, "Comic Sans", 0.5, LAYERS), ["Comic Sans"], id="blend"),
    pytest.param((TEXT, STYLE, "(none)", 0.5, ["32x32", "64x64"]), ["64x64"], id="layer"),
    pytest.param((TEXT, STYLE, "AR PL UKai", -0.5, LAYERS), ["blend weight must be a number in [0, 1]", "-0.5"], id="negative-weight"),
    pytest.param((TEXT, STYLE, "AR PL UKai", 1.5, LAYERS), ["blend weight must be a number in [0, 1]", "1.5"], id="weight-above-1"),
]


# /toggle runs the same handler as /generate: a few of the cases are enough there
BAD_TOGGLE = [p for p in BAD_GENERATE if p.id in ("whitespace", "layer", "negative-weight")]


@pytest.mark.parametrize("api,args,expected",
                         [pytest.param("/generate", *p.values, id=f"generate-{p.id}") for p in BAD_GENERATE]
                         + [pytest.param("/toggle", *p.values, id=f"toggle-{p.id}") for p in BAD_TOGGLE])
def test_bad_generate_inputs_give_clear_errors(client, api, args, expected):
    with pytest.raises(AppError) as excinfo:
        client.predict(*args, api_name=api)
    assert_clear_error(excinfo, *expected)
    assert len(generate(client, text="永")[GALLERY]) == 1  # and the server still works


BAD_QUERY = [
    pytest.param(dict(index=len(TEXT)), ["character index 4 out of range 0..3"], id="index-too-big"),
    pytest.param(dict(index=-1), ["character index -1 out of range"], id="index-negative"),
    pytest.param(dict(style="Comic Sans"), ["unknown style 'Comic Sans'"], id="style"),
    pytest.param(dict(layers=["64x64"]), ["unknown attention layer", "64x64"], id="layer"),
    pytest.param(dict(blend="AR PL UKai", weight=-0.5), ["blend weight must be a number in [0, 1]"],
                 id="negative-weight"),
    pytest.param(dict(text="😀"), ["none of the characters can be drawn"], id="emoji"),
    pytest.param(dict(text="   "), ["please type at least one Chinese character"], id="whitespace"),
]


@pytest.mark.parametrize("kwargs,expected", BAD_QUERY)
def test_bad_query_inputs_give_clear_errors(client, kwargs, expected):
    with pytest.raises(AppError) as excinfo:
        query(client, **kwargs)
    assert_clear_error(excinfo, *expected)
    assert query(client)["char"] == TEXT[0]


@pytest.mark.parametrize("api,data,expected", [
    ("generate", [TEXT, STYLE, "AR PL UKai", float("nan"), LAYERS], "blend weight must be a number in [0, 1]"),
    ("toggle", [TEXT, STYLE, "AR PL UKai", float("nan"), LAYERS], "blend weight must be a number in [0, 1]"),
    ("query_point", [TEXT, STYLE, "AR PL UKai", float("nan"), LAYERS, 0, 1, 1], "blend weight must be"),
    ("query_point", [TEXT, STYLE, "(none)", 0.5, LAYERS, 0, float("nan"), 1], "query point must be two numbers"),
], ids=["generate", "toggle", "query-weight", "query-point"])
def test_nan_gives_a_clear_error(client, url, api, data, expected):
    """NaN over the REST API. gradio_client cannot send it (httpx refuses non-JSON floats before the
    request leaves), but any other client can: Python's json writes ``NaN`` and the server reads it."""
    import httpx

    body = json.dumps({"data": data})  # allow_nan: the literal NaN
    assert "NaN" in body
    r = httpx.post(f"{url}gradio_api/call/{api}", content=body,
                   headers={"content-type": "application/json"}, timeout=30)
    r.raise_for_status()
    stream = httpx.get(f"{url}gradio_api/call/{api}/{r.json()['event_id']}", timeout=60).text
    events = [line for line in stream.splitlines() if line.startswith(("event:", "data:"))]
    assert events[0] == "event: error", stream
    message = json.loads(events[1].removeprefix("data:"))["error"]
    assert expected in message and "Traceback" not in message
    assert len(generate(client, text="永")[GALLERY]) == 1
