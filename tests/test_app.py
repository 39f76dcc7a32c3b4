"""End to end through the HTTP API: the real app (shipped checkpoint) launched in-process on a local
port and driven with ``gradio_client``, as a remote user of the Space would."""

from __future__ import annotations

import base64
import io
import json
import math
import threading
import zipfile

import numpy as np
import pytest

from .support import LAYERS, STYLE, pixels, running_app

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
SHEET, STATUS, CHAR, ATTENTION = range(4)


@pytest.fixture(scope="module")
def url():
    with running_app() as base:
        yield base


@pytest.fixture(scope="module")
def client(url, tmp_path_factory):
    return gradio_client.Client(url, verbose=False, download_files=str(tmp_path_factory.mktemp("dl")))


def generate(client, text=TEXT, style=STYLE, blend="(none)", weight=0.5, layers=LAYERS, api="/generate"):
    out = client.predict(text, style, blend, weight, list(layers), api_name=api)
    assert len(out) == 4
    return out


def query(client, index=0, x=64.0, y=64.0, text=TEXT, style=STYLE, blend="(none)", weight=0.5,
          layers=LAYERS) -> dict:
    return client.predict(text, style, blend, weight, list(layers), index, x, y, api_name="/query_point")


def glyph_arrays(out, row: int = 1) -> list[np.ndarray]:
    """The glyphs of one sheet row (1: generated), cut out of the sheet by its layout."""
    sheet, L = pixels(out[SHEET]["src"]), out[SHEET]["layout"]
    cells = []
    for j in range(len(out[SHEET]["chars"])):
        block, col = divmod(j, L["per_row"])
        x = L["label_width"] + col * (L["cell"] + L["pad"])
        y = block * L["block_height"] + L["header"] + row * (L["cell"] + L["pad"])
        cells.append(sheet[y:y + L["cell"], x:x + L["cell"]])
    return cells


def chars(out) -> list[str]:
    return out[SHEET]["chars"]


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
    assert {"/generate", "/toggle", "/query_point", "/make_font"} <= set(endpoints)


def server_function(url: str, elem_id: str, name: str, data):
    """Call a gr.HTML component's server function as its page does."""
    import httpx

    config = httpx.get(f"{url}config", timeout=30).json()
    component = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    r = httpx.post(f"{url}gradio_api/component_server", timeout=60, json={
        "data": data, "component_id": component, "fn_name": name, "session_hash": "test"})
    r.raise_for_status()
    return r.json()


def test_generate_returns_one_sheet_and_the_attention_numbers(first, url):
    assert chars(first) == list(TEXT)
    glyphs = glyph_arrays(first)
    assert all(g.shape[:2] == (96, 96) for g in glyphs)
    assert all(g.std() > 0 for g in glyphs)  # ink, not blank squares
    sheet = pixels(first[SHEET]["src"])
    assert sheet.shape[1] > sheet.shape[0]  # one column per character
    assert first[SHEET]["layout"]["rows"] == 3  # source, generated, real
    assert f"**{len(TEXT)}** glyph(s)" in first[STATUS]
    assert [c[1] for c in first[CHAR]["choices"]] == list(range(len(TEXT)))
    ticket = first[ATTENTION]
    assert ticket["char"] == TEXT[0] and ticket["index"] == 0 and len(json.dumps(ticket)) < 300
    att = server_function(url, "attention", "attention_data", ticket)
    assert att["char"] == TEXT[0] and [layer["name"] for layer in att["layers"]] == LAYERS
    for layer in att["layers"]:
        n = layer["resolution"] ** 2
        assert len(base64.b64decode(layer["q"])) == len(base64.b64decode(layer["k"])) == n * layer["d"] * 4
        assert len(base64.b64decode(layer["received"])) == n * 4
    # nothing in the response is a file: no file for two requests to race on
    assert "path" not in json.dumps(first[SHEET]) and "/file=" not in json.dumps(first)


def test_zip_is_built_when_asked_for(first, url):
    """The sheet's ZIP button calls a server function; the ZIP holds the sheet's glyphs."""
    from .support import pixels as px

    out = server_function(url, "sheet", "glyph_zip", first[SHEET]["request"])
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(out["zip"]))) as zf:
        names = sorted(zf.namelist())
        assert sum(n.endswith("_generated.png") for n in names) == len(TEXT)
        assert sum(n.endswith("_source.png") for n in names) == len(TEXT)
        zipped = [px(zf.read(n)) for n in names if n.endswith("_generated.png")]
    assert all(z.shape == (128, 128) and z.std() > 0 for z in zipped)


def _gray(a: np.ndarray) -> np.ndarray:
    """Sheet cells are RGB; the glyphs are grey, so take one channel."""
    return np.asarray(a[..., 0] if a.ndim == 3 else a, dtype=np.int16)


def test_toggle_changes_glyphs_and_back_restores_them(client, first):
    base = [_gray(a) for a in glyph_arrays(first)]

    off = generate(client, layers=["16x16"], api="/toggle")  # 32x32 switched off
    toggled = [_gray(a) for a in glyph_arrays(off)]
    assert len(toggled) == len(base)
    changed = [float(np.abs(a - b).mean()) for a, b in zip(base, toggled)]
    assert max(changed) > 0.5, changed  # switching a layer off visibly changes the glyphs
    assert off[SHEET]["layout"]["rows"] == 4  # + the difference row against every layer on
    diff = glyph_arrays(off, row=3)
    assert all(d.ndim == 3 and (d[..., 0] != d[..., 2]).any() for d in diff)  # red/blue: colour
    assert "switched off: 32x32" in off[STATUS]
    assert off[ATTENTION]["request"][4] == ["32x32"]  # the panel's ticket names the toggles

    none = generate(client, layers=[], api="/toggle")
    assert none[SHEET]["layout"]["rows"] == 4 and none[ATTENTION]["request"][4] == LAYERS

    back = generate(client, layers=LAYERS, api="/toggle")
    restored = [_gray(a) for a in glyph_arrays(back)]
    assert all(np.array_equal(a, b) for a, b in zip(base, restored))
    assert back[SHEET]["layout"]["rows"] == 3


def test_identical_requests_at_the_same_moment_all_get_complete_images(url, first):
    """The race of issue 13: every page load runs the same example, so identical requests arrive
    together. Each must get the complete sheet and attention payload that a lone request gets."""
    n, rounds = 12, 3
    for r in range(rounds):
        barrier, results, errors = threading.Barrier(n), [None] * n, []

        def call(i, barrier=barrier, results=results, errors=errors, text=TEXT[: 2 + r]):
            try:
                c = gradio_client.Client(url, verbose=False)
                barrier.wait(30)
                results[i] = generate(c, text=text)
            except Exception as e:  # noqa: BLE001 - every failure is reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        alone = results[0]
        for out in results:
            assert out[SHEET]["src"] == alone[SHEET]["src"]
            assert pixels(out[SHEET]["src"]).shape == pixels(alone[SHEET]["src"]).shape
            assert out[ATTENTION] == alone[ATTENTION]


def test_query_point_maps(client):
    q = query(client, index=1, x=20, y=30)
    assert q["char"] == TEXT[1] and q["point"] == [20.0, 30.0]
    assert list(q["layers"]) == LAYERS
    for name, layer in q["layers"].items():
        m = np.asarray(layer["map"])
        assert m.shape == (layer["resolution"],) * 2 and name == "{0}x{0}".format(layer["resolution"])
        assert (m >= 0).all() and m.sum() == pytest.approx(1.0, abs=1e-3)
        assert math.isfinite(layer["gamma"]) and layer["contribution"] >= 0

    moved = query(client, index=1, x=100, y=110)
    for name in LAYERS:
        a, b = np.asarray(q["layers"][name]["map"]), np.asarray(moved["layers"][name]["map"])
        assert np.abs(a - b).sum() > 1e-3, name

    only = query(client, index=1, x=20, y=30, layers=["16x16"])
    assert list(only["layers"]) == ["16x16"]
    assert query(client, layers=[])["layers"] == {}
    edge = query(client, x=0, y=128)  # the glyph's edges are inside
    assert edge["point"] == [0.0, 128.0]


def test_mixed_input_keeps_the_usable_characters(client):
    out = generate(client, text="永abc😀和")
    assert chars(out) == ["永", "和"]
    # one line per kind of problem, with its characters
    lines = out[STATUS].split("\n")
    assert [line.count("Skipped") for line in lines] == [0, 1, 1], lines
    assert "Skipped 3 character(s) that are not Chinese: a b c" in out[STATUS]
    assert "Skipped 1 emoji or symbol(s): 😀" in out[STATUS]
    assert query(client, text="永abc😀和", index=1)["char"] == "和"


def test_limit_of_64_characters(client):
    text = THOUSAND[:70]
    out = generate(client, text=text)
    assert chars(out) == list(text[:64])
    sheet = pixels(out[SHEET]["src"])
    assert sheet.shape[1] < 2 * sheet.shape[0]  # wrapped into rows: not a thin strip
    assert out[STATUS].count("over the limit of 64") == 1  # said once
    assert f"Skipped 6 character(s) over the limit of 64 per request: {' '.join(text[64:])}" in out[STATUS]


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
    assert chars(generate(client, text="永")) == ["永"]  # and the server still works


BAD_QUERY = [
    pytest.param(dict(index=len(TEXT)), ["character index must be a number in [0, 3]", "4"], id="index-too-big"),
    pytest.param(dict(index=-1), ["character index must be a number in [0, 3]"], id="index-negative"),
    pytest.param(dict(index=10 ** 400), ["character index must be a number in [0, 3]"], id="index-huge"),
    pytest.param(dict(index=1.5), ["character index must be an integer"], id="index-fraction"),
    pytest.param(dict(x=10 ** 400), ["query point's x must be a number in [0, 128]"], id="x-huge"),
    pytest.param(dict(y=-50), ["query point's y must be a number in [0, 128]"], id="y-negative"),
    pytest.param(dict(blend="AR PL UKai", weight=10 ** 400), ["blend weight must be a number in [0, 1]"],
                 id="weight-huge"),
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
    ("query_point", [TEXT, STYLE, "(none)", 0.5, LAYERS, 0, float("nan"), 1], "query point's x must be a number"),
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
    assert chars(generate(client, text="永")) == ["永"]


def test_make_font_through_the_api_and_fetch_it_as_the_page_does(client, url):
    from fontTools.ttLib import TTFont

    ticket = client.predict("永和九年 abc", STYLE, "otf", False, api_name="/make_font")
    assert ticket["chars"] == "永和九年" and ticket["skipped_count"] == 3
    assert ticket["filename"] == "GlyphAttentionWenKai4.otf" and "LXGW" not in json.dumps(ticket)
    assert len(json.dumps(ticket)) < 2000  # a ticket, not the font
    out = server_function(url, "font-preview", "font_data", ticket["token"])
    font = TTFont(io.BytesIO(base64.b64decode(out["font"])))
    assert "CFF " in font and set("永和九年 abc") <= set(map(chr, font.getBestCmap()))  # + the text set
    assert "no longer kept" in server_function(url, "font-preview", "font_data", "forged")["error"]
    with pytest.raises(AppError) as excinfo:
        client.predict("".join(chr(0x4E00 + i) for i in range(501)), STYLE, "ttf", False, api_name="/make_font")
    assert_clear_error(excinfo, "501 characters asked for; at most 500 per export")
    with pytest.raises(AppError) as excinfo:
        client.predict("abc", STYLE, "ttf", False, api_name="/make_font")
    assert_clear_error(excinfo, "no characters to export")
    with pytest.raises(AppError) as excinfo:
        client.predict("永", "AR PL UKai", "ttf", True, api_name="/make_font")
    assert_clear_error(excinfo, "Open Font License")
