"""DemoService (what the app shows), without a server: request validation, cache, outputs."""

from __future__ import annotations

import zipfile

import pytest

from unet.demo import DemoService
from unet.inference import GenerationError, Stylizer

from test_inference import tiny_checkpoint


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    return DemoService(Stylizer.from_pretrained(tiny_checkpoint(tmp_path_factory.mktemp("c")), "cpu"),
                       cache_size=2)


def test_request_maps_enabled_to_disabled(svc):
    req = svc.request("永和", "WenKai", "(none)", 0.7, ["16x16"])
    assert req.disabled == ("8x8",) and req.blend is None and req.blend_weight == 0.0
    with pytest.raises(GenerationError, match="unknown attention layer"):
        svc.request("永", "WenKai", None, 0, ["nope"])
    with pytest.raises(GenerationError, match="unknown style"):
        svc.request("永", "Nope", None, 0, [])
    with pytest.raises(GenerationError, match="blend weight"):
        svc.request("永", "WenKai", "Nowhere", float("nan"), [])


def test_cache_is_keyed_by_the_whole_request_and_bounded(svc):
    a = svc.request("永和", "WenKai", None, 0, ["16x16", "8x8"])
    b = svc.request("永和", "WenKai", None, 0, ["16x16"])
    ga = svc.run(a)
    assert svc.run(a) is ga  # repeated request: no new forward
    gb = svc.run(b)
    assert gb is not ga and gb.disabled_layers == ["8x8"]
    svc.run(svc.request("九", "WenKai", None, 0, []))
    svc.run(svc.request("年", "WenKai", None, 0, []))
    assert svc.run(a) is not ga  # evicted (cache_size=2), recomputed
    assert len(svc._cache) <= 2


def test_outputs(svc):
    gen = svc.run(svc.request("永和九", "WenKai", None, 0, ["16x16", "8x8"]))
    assert [c for _, c in svc.gallery(gen)] == ["永 · seen in training", "和 · seen in training",
                                               "九 · seen in training"]
    query, received, table = svc.attention_panel(gen, 1, (10.0, 20.0))
    assert len(query) == len(received) == 2 and "16x16" in table
    with zipfile.ZipFile(svc.zip_file(gen)) as zf:
        names = zf.namelist()
    assert sum(n.endswith("_generated.png") for n in names) == 3
    assert svc.sheet(gen).size[0] > 3 * 96
