"""DemoService (what the app shows), without a server: one validation point, a cache bounded in
bytes, identical requests computed once, toggles computed ahead, payloads the page can draw from."""

from __future__ import annotations

import base64
import io
import threading
import time
import zipfile

import numpy as np
import pytest

from unet.demo.service import DemoService, Session, toggle_neighbours
from unet.engine.stylizer import Stylizer
from unet.errors import GenerationError, UnknownLayerError

from ..support import pixels, tiny_checkpoint

LAYERS = ["16x16", "8x8"]


@pytest.fixture(scope="module")
def st(tmp_path_factory):
    return Stylizer.from_pretrained(tiny_checkpoint(tmp_path_factory.mktemp("c")), "cpu")


@pytest.fixture
def svc(st):
    return DemoService(st, speculate=False)


def test_request_maps_enabled_to_disabled(svc):
    req = svc.request("永和", "WenKai", "(none)", 0.7, ["16x16"])
    assert req.disabled == ("8x8",) and req.blend is None and req.blend_weight == 0.0
    with pytest.raises(UnknownLayerError, match="unknown attention layer"):
        svc.request("永", "WenKai", None, 0, ["nope"])
    with pytest.raises(GenerationError, match="unknown style"):
        svc.request("永", "Nope", None, 0, [])


@pytest.mark.parametrize("weight", [float("nan"), -0.1, 1.5, 10 ** 400, "1e400", "abc", None, True, [0.5]])
def test_every_bad_weight_is_a_clear_message(svc, weight):
    with pytest.raises(GenerationError, match=r"blend weight must be a number in \[0, 1\]"):
        svc.request("永", "WenKai", "Nowhere", weight, [])


@pytest.mark.parametrize("index,x,y,message", [
    (10 ** 400, 1, 1, "character index"), (1e400, 1, 1, "character index"), (5, 1, 1, "character index"),
    (0.5, 1, 1, "integer"), (-1, 1, 1, "character index"), ("a", 1, 1, "character index"),
    (0, 10 ** 400, 1, "query point's x"), (0, 1, float("nan"), "query point's y"),
    (0, -1, 1, "query point's x"), (0, 1, 65, "query point's y"), (0, [1], 1, "query point's x"),
])
def test_query_numbers_are_range_checked(svc, index, x, y, message):
    req = svc.request("永和", "WenKai", None, 0, LAYERS)
    with pytest.raises(GenerationError, match=message):
        svc.query_point(req, index, x, y)


def test_generations_are_cached_by_request_and_bounded_in_bytes(st):
    svc = DemoService(st, cache_bytes=10 ** 9, speculate=False)
    a = svc.request("永和", "WenKai", None, 0, LAYERS)
    ga = svc.result(a)
    assert svc.result(a) is ga  # repeated request: no new forward
    gb = svc.result(svc.request("永和", "WenKai", None, 0, ["16x16"]))
    assert gb is not ga and gb.disabled_layers == ["8x8"]

    one = ga.nbytes
    small = DemoService(st, cache_bytes=int(2.5 * one), speculate=False)
    for text in ("永和", "九年", "歲在", "癸丑"):
        small.result(small.request(text, "WenKai", None, 0, LAYERS))
    assert len(small._generations) == 2 and small._generations.nbytes <= 2.5 * one
    assert small.result(small.request("永和", "WenKai", None, 0, LAYERS)) is not None  # recomputed


def test_identical_concurrent_requests_are_computed_once(st, monkeypatch):
    svc = DemoService(st, speculate=False)
    calls, real_run = [], st.run

    def slow_run(req, capture=False, with_target=True):
        calls.append(req)
        time.sleep(0.2)
        return real_run(req, capture, with_target)

    monkeypatch.setattr(st, "run", slow_run)
    req = svc.request("永和九", "WenKai", None, 0, LAYERS)
    results = [None] * 6
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, svc.result(req)))
               for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and all(r is results[0] for r in results)


def test_toggle_neighbours_cover_every_other_combination(svc):
    req = svc.request("永", "WenKai", None, 0, LAYERS)
    combos = [n.disabled for n in toggle_neighbours(req, LAYERS)]
    assert combos[:2] == [("16x16",), ("8x8",)]  # one layer flipped first
    assert sorted(combos) == sorted([("16x16",), ("8x8",), ("16x16", "8x8")])


def test_speculator_prepares_toggles_only_while_no_visitor_waits(st):
    svc = DemoService(st)
    req = svc.request("永和九", "WenKai", None, 0, LAYERS)
    with svc._lock:
        svc._busy += 1  # a visitor's generation is running: the speculator must wait
    svc.served(req)
    time.sleep(0.5)
    assert svc.speculator.computed == 0
    with svc._lock:
        svc._busy -= 1
        svc._idle.notify_all()
    deadline = time.time() + 30
    while not svc.speculator.idle() and time.time() < deadline:
        time.sleep(0.05)
    others = [s for s in st.styles if s != req.style]
    assert svc.speculator.computed == 3 + len(others)
    for other in toggle_neighbours(req, LAYERS):
        assert other in svc._generations  # a toggle is now a cache hit
    for style in others:  # and so is a live change of style
        assert svc.request("永和九", style, None, 0, LAYERS) in svc._generations


def test_session_keeps_keys_not_images(svc):
    out = svc.generate(None, "永和九", "WenKai", "(none)", 0, LAYERS)
    assert isinstance(out.session, Session) and out.session.index == 0
    _, attention = svc.pick(out.session, 2)
    toggled = svc.generate(Session(out.session.req, 2), "永和九", "WenKai", "(none)", 0, ["8x8"])
    assert toggled.session.index == 2 and toggled.attention["char"] == "九"  # kept across a toggle
    assert "Δ all layers on" not in out.status
    fields = vars(toggled.session)
    assert set(fields) == {"req", "index", "panel"}
    hidden, payload = svc.show_panel(toggled.session, False)
    assert payload is None and not hidden.panel
    assert svc.generate(hidden, "永和九", "WenKai", "(none)", 0, LAYERS).attention is None


def test_attention_payload_is_what_the_page_needs(svc):
    req = svc.request("永和九", "WenKai", None, 0, LAYERS)
    gen = svc.result(req)
    p = svc.attention(req, 1)
    assert p["char"] == "和" and p["size"] == 64 and [layer["name"] for layer in p["layers"]] == LAYERS
    assert pixels(p["glyph"]).shape == (64, 64)
    for layer in p["layers"]:
        cap = gen.layers[layer["name"]]
        q = np.frombuffer(base64.b64decode(layer["q"]), "<f4").reshape(-1, layer["d"])
        k = np.frombuffer(base64.b64decode(layer["k"]), "<f4").reshape(-1, layer["d"])
        np.testing.assert_array_equal(q, cap.q[1].numpy())
        # the page's maths (softmax over keys of q_i . k_j) gives the API's map
        r = layer["resolution"]
        row, col = int(30 * r / 64), int(20 * r / 64)
        logits = k.astype(np.float64) @ q[row * r + col].astype(np.float64)
        page = np.exp(logits - logits.max())
        page /= page.sum()
        api = np.asarray(svc.query_point(req, 1, 20, 30)["layers"][layer["name"]]["map"])
        np.testing.assert_allclose(page.reshape(r, r), api, atol=2e-6)


def test_sheet_wraps_long_texts_and_says_which_glyphs_are_unseen(svc):
    text = "永和九年歲在癸丑暮春之初會于會稽山陰之蘭亭修稧事也"
    sheet = svc.sheet(svc.request(text, "WenKai", None, 0, LAYERS))
    img = pixels(sheet["src"])
    L = sheet["layout"]
    n = len(sheet["chars"])
    pitch = L["cell"] + L["pad"]
    assert n > 20 and L["per_row"] == 12 and L["block_height"] == L["rows"] * pitch
    assert img.shape[:2] == (-(-n // 12) * L["block_height"], 12 * pitch)  # blocks of 12, one under another
    assert sheet["seen"][:3] == [True, True, True] and not any(sheet["seen"][3:])


def cell(sheet, j: int, row: int) -> np.ndarray:
    """Glyph j of a row, cut out of the sheet's PNG by its layout."""
    img, L = pixels(sheet["src"]), sheet["layout"]
    block, col = divmod(j, L["per_row"])
    x = L["label_width"] + col * (L["cell"] + L["pad"])
    y = block * L["block_height"] + L["header"] + row * (L["cell"] + L["pad"])
    return img[y:y + L["cell"], x:x + L["cell"]]


def test_sheet_png_is_glyphs_only_and_the_words_are_data(svc):
    """The PNG holds glyph cells and nothing else (no label column, no header: the page writes every
    word as text, in its language); the rows say what the page needs to label them."""
    sheet = svc.sheet(svc.request("永和九", "WenKai", None, 0, ["16x16"]))
    L = sheet["layout"]
    assert L["label_width"] == 0 and L["header"] == 0
    assert [r["kind"] for r in sheet["rows"]] == ["source", "generated", "real", "delta"] and L["rows"] == 4
    assert sheet["rows"][1]["mix"] == [{"style": "WenKai", "weight": 1.0}]
    assert sheet["rows"][2] == {"kind": "real", "style": "WenKai", "weight": 1.0, "missing": []}
    assert sheet["rows"][3] == {"kind": "delta", "off": ["8x8"]}
    img = pixels(sheet["src"])
    pitch = L["cell"] + L["pad"]
    assert img.shape[:2] == (4 * pitch, 3 * pitch)
    for j in range(3):
        for row in range(4):
            assert cell(sheet, j, row).min() < 250, (j, row)  # something drawn in every cell
    # the gaps between cells are blank: no text was drawn anywhere
    gaps = np.concatenate([img[:, c * pitch + L["cell"]:(c + 1) * pitch].reshape(-1, img.shape[2])
                           for c in range(3)])
    assert gaps.min() == 255


@pytest.fixture(scope="module")
def two_fonts(tmp_path_factory):
    """The tiny model with both of its styles' real fonts installed: WenKai and Smiley Sans (which
    has no 龘)."""
    import json

    from ..support import SMILEY_FONT, require_font

    require_font(SMILEY_FONT.file)
    directory = tiny_checkpoint(tmp_path_factory.mktemp("two"))
    config = json.loads((directory / "config.json").read_text())
    config["styles"][1] = {"name": "Smiley", "font": SMILEY_FONT.to_dict()}
    (directory / "config.json").write_text(json.dumps(config))
    return DemoService(Stylizer.from_pretrained(directory, "cpu"), speculate=False)


def test_a_blend_shows_one_real_row_per_style_with_its_weight(two_fonts):
    svc = two_fonts
    sheet = svc.sheet(svc.request("永龘和", "WenKai", "Smiley", 0.3, LAYERS))
    assert sheet["rows"][1]["mix"] == [{"style": "WenKai", "weight": 0.7}, {"style": "Smiley", "weight": 0.3}]
    real = [r for r in sheet["rows"] if r["kind"] == "real"]
    assert real == [{"kind": "real", "style": "WenKai", "weight": 0.7, "missing": []},
                    {"kind": "real", "style": "Smiley", "weight": 0.3, "missing": [1]}]
    assert sheet["layout"]["rows"] == 4
    assert cell(sheet, 0, 3).min() < 128  # Smiley Sans's 永
    assert cell(sheet, 1, 3).min() == 255  # no 龘 in Smiley Sans: a blank cell the page marks
    # the heavier style first, whichever of the two was picked as "style"
    flipped = svc.sheet(svc.request("永龘和", "Smiley", "WenKai", 0.7, LAYERS))
    assert [(r["style"], r["weight"]) for r in flipped["rows"] if r["kind"] == "real"] == \
        [("WenKai", 0.7), ("Smiley", 0.3)]


def test_a_style_without_its_font_has_no_real_row(svc):
    sheet = svc.sheet(svc.request("永和", "WenKai", "Nowhere", 0.5, LAYERS))  # Nowhere: not installed
    assert [(r["kind"], r.get("style")) for r in sheet["rows"]] == [("source", None), ("generated", None),
                                                                     ("real", "WenKai")]
    assert sheet["rows"][2]["weight"] == 0.5


def test_attention_ticket_is_small_and_gives_the_payload(svc):
    out = svc.generate(None, "永和九", "WenKai", "(none)", 0, ["8x8"])
    ticket = out.attention
    assert ticket == {"request": ["永和九", "WenKai", None, 0.0, ["16x16"]], "index": 0, "char": "永"}
    payload = svc.attention_data(ticket)
    assert [layer["name"] for layer in payload["layers"]] == ["8x8"] and payload["off"] == ["16x16"]
    assert "unknown style" in svc.attention_data({**ticket, "request": ["永", "Nope", None, 0, []]})["error"]
    assert "must be a number" in svc.attention_data({**ticket, "index": 10 ** 400})["error"]
    assert "ticket" in svc.attention_data("garbage")["error"]


def test_zip_is_built_on_request(svc):
    out = svc.glyph_zip(["永和九", "WenKai", None, 0.0, []])
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(out["zip"]))) as zf:
        assert sum(n.endswith("_generated.png") for n in zf.namelist()) == 3
    assert "unknown style" in svc.glyph_zip(["永", "Nope", None, 0.0, []])["error"]
    assert "must be" in svc.glyph_zip("garbage")["error"]


def test_a_long_text_gives_a_small_ticket(svc):
    text = "永和九" + "a" * 5000
    out = svc.generate(None, text, "WenKai", "(none)", 0, LAYERS)
    assert out.attention["request"][0] == "永和九"
    assert svc.attention_data(out.attention)["char"] == "永"


def test_every_word_of_the_sheet_is_in_the_catalog_in_three_languages():
    """sheet.js and sheet.html name their words by key: each is in web/strings/sheet.json, in English,
    simplified and traditional Chinese, and no key there is unused."""
    import json
    import re

    from unet.demo import i18n
    from unet.demo.views import WEB

    code = (WEB / "sheet.js").read_text(encoding="utf-8") + (WEB / "sheet.html").read_text(encoding="utf-8")
    used = set(re.findall(r'(?:\bt\(|data-t=)"(sheet\.[\w.]+)"', code))
    part = json.loads((WEB / "strings" / "sheet.json").read_text(encoding="utf-8"))
    assert used == set(part) and all(k.startswith("sheet.") for k in part)
    catalog = i18n.catalog()
    for key in part:
        en, cn, tw = (catalog[key][lang] for lang in i18n.LANGUAGES)
        assert en and cn and tw and cn != en and tw != en, key
        assert not re.search(r"[A-Za-z]{2,}", re.sub(r"\{\w+\}", "", cn + tw)), key  # no English in Chinese
