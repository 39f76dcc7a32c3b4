"""SelfAttention: the SDPA processor computes the same function as the explicit (map) path, and the
processor is a per-layer choice."""

import pytest
import torch

from unet import SelfAttention, UnetGenerator, attention_layers, set_attention_processor
from unet.model.attention import explicit_attention, sdpa_attention


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


@pytest.mark.parametrize("channels", [1, 3, 7, 16, 24])
@pytest.mark.parametrize("size", [4, 8, 16])
def test_fast_matches_explicit(channels, size):
    torch.manual_seed(channels * 100 + size)
    layer = SelfAttention(channels)
    x = torch.randn(2, channels, size, size)
    with torch.no_grad():
        fast = sdpa_attention(layer, x)
        explicit, attn = layer.attend_explicit(x)
    assert fast.shape == explicit.shape == x.shape
    assert attn.shape == (2, size * size, size * size)
    assert rel_err(fast, explicit) <= 1e-5
    # rows of the map are distributions over the H*W keys
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, size * size), rtol=0, atol=1e-5)
    assert (attn >= 0).all()


def test_explicit_matches_hand_computed_sagan():
    """No 1/sqrt(d) scaling: softmax(q k^T) v, with q/k/v from the 1x1 convolutions."""
    torch.manual_seed(0)
    layer = SelfAttention(16)
    x = torch.randn(1, 16, 4, 4)
    with torch.no_grad():
        q = layer.query(x).reshape(1, 2, 16)[0]  # (d, N)
        k = layer.key(x).reshape(1, 2, 16)[0]
        v = layer.value(x).reshape(1, 16, 16)[0]  # (C, N)
        attn = torch.softmax(q.T @ k, dim=-1)  # (N, N)
        want = (v @ attn.T).reshape(1, 16, 4, 4)
        got, got_map = layer.attend_explicit(x)
    torch.testing.assert_close(got_map[0], attn, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("channels,qk", [(1, 1), (3, 1), (7, 1), (8, 1), (16, 2), (24, 3), (64, 8)])
def test_qk_channels(channels, qk):
    layer = SelfAttention(channels)
    assert layer.qk_channels == qk == max(channels // 8, 1)
    assert layer.query.out_channels == layer.key.out_channels == qk
    assert layer.value.out_channels == channels


def test_gamma_starts_at_zero_so_output_is_input():
    torch.manual_seed(0)
    layer = SelfAttention(16)
    assert layer.gamma.shape == (1,) and float(layer.gamma.detach()) == 0.0
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        assert torch.equal(layer(x), x)
        layer.processor = explicit_attention
        assert torch.equal(layer(x), x)


def test_forward_paths_agree_with_nonzero_gamma():
    torch.manual_seed(1)
    layer = SelfAttention(24)
    with torch.no_grad():
        layer.gamma.fill_(0.7)
        x = torch.randn(2, 24, 8, 8)
        fast = layer(x)
        layer.processor = explicit_attention
        slow = layer(x)
        explicit = layer.attend_explicit(x)[0]
    assert not torch.allclose(fast, x)  # gamma != 0: attention contributes
    assert rel_err(fast, slow) <= 1e-5
    torch.testing.assert_close(slow, 0.7 * explicit + x)


def test_gradients_flow_through_fast_path():
    torch.manual_seed(2)
    layer = SelfAttention(16)
    with torch.no_grad():
        layer.gamma.fill_(0.5)
    layer(torch.randn(1, 16, 4, 4)).square().sum().backward()
    for name in ("gamma", "query.weight", "key.weight", "value.weight"):
        grad = layer.get_parameter(name).grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_rejects_zero_channels():
    with pytest.raises(ValueError, match="channel"):
        SelfAttention(0)


def test_processor_is_swappable_per_model_without_touching_the_class():
    calls = []

    def counting(layer, x):
        calls.append(layer.name)
        return sdpa_attention(layer, x)

    torch.manual_seed(3)
    a = UnetGenerator(1, 1, 5, ngf=4, use_attention={8, 4}).eval()
    b = UnetGenerator(1, 1, 5, ngf=4, use_attention={8, 4}).eval()
    assert set_attention_processor(a, counting) is sdpa_attention
    with torch.no_grad():
        a(torch.zeros(1, 1, 32, 32))
        b(torch.zeros(1, 1, 32, 32))
    assert calls == ["4x4", "8x8"]  # innermost runs first; model b kept the default
    assert all(layer.processor is sdpa_attention for layer in attention_layers(b).values())
    assert "processor=counting" in repr(a)


def test_free_standing_layer_has_no_name():
    layer = SelfAttention(8)
    assert layer.resolution is None
    with pytest.raises(ValueError, match="resolution"):
        _ = layer.name
