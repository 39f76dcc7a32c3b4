"""Per-call attention hooks: bypass equals a zero gamma, capture sees every enabled layer."""

import threading

import pytest
import torch

from unet import UnetGenerator, attention_layers
from unet.engine.hooks import attention_hooks
from unet.errors import UnknownLayerError


@pytest.fixture
def model():
    torch.manual_seed(0)
    g = UnetGenerator(1, 1, 5, ngf=4, use_attention=True).eval()
    with torch.no_grad():
        for layer in attention_layers(g).values():
            layer.gamma.fill_(1.0)
    return g


def output_with_gammas_zeroed(g, x, names):
    saved = {n: attention_layers(g)[n].gamma.detach().clone() for n in names}
    with torch.no_grad():
        for n in names:
            attention_layers(g)[n].gamma.zero_()
        y = g(x)
        for n, v in saved.items():
            attention_layers(g)[n].gamma.copy_(v)
    return y


def test_bypass_equals_zero_gamma(model):
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        full = model(x)
        for names in (["16x16"], ["2x2", "8x8"], list(attention_layers(model))):
            with attention_hooks(model, disabled=names):
                off = model(x)
            want = output_with_gammas_zeroed(model, x, names)
            assert not torch.allclose(off, full)
            torch.testing.assert_close(off, want, rtol=0, atol=1e-6)
        # hooks are gone after the block
        assert torch.equal(model(x), full)
    assert all(not layer._forward_hooks for layer in attention_layers(model).values())


def test_capture_sees_enabled_layers(model):
    x = torch.zeros(1, 1, 32, 32)
    seen = {}
    with torch.no_grad(), attention_hooks(model, disabled=["4x4"],
                                          capture=lambda n, m, i, o: seen.setdefault(n, o.shape)):
        model(x)
    assert set(seen) == set(attention_layers(model)) - {"4x4"}
    for name, shape in seen.items():
        r = attention_layers(model)[name].resolution
        assert shape[-2:] == (r, r)


def test_unknown_layer(model):
    with pytest.raises(UnknownLayerError, match=r"'64x64'.*16x16"):
        with attention_hooks(model, disabled=["64x64"]):
            pass


def test_hooks_do_not_leak_into_other_threads(model):
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        full = model(x)
    started, release, result = threading.Event(), threading.Event(), {}

    def other():
        started.wait()
        with torch.no_grad():
            result["y"] = model(x)
        release.set()

    t = threading.Thread(target=other)
    t.start()
    with attention_hooks(model, disabled=list(attention_layers(model))):
        started.set()
        release.wait(10)
    t.join(10)
    assert torch.equal(result["y"], full)
