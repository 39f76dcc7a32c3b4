"""UnetGenerator: pix2pix compatibility, attention placement, styles and input errors."""

import functools

import pytest
import torch
from torch import nn

import unet
from unet import SelfAttention, UnetGenerator, attention_layers

# --- reference: junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py (verbatim recipe) --------

class RefUnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, num_downs, ngf=64, norm_layer=nn.BatchNorm2d,
                 use_dropout=False):
        super().__init__()
        unet_block = RefUnetSkipConnectionBlock(ngf * 8, ngf * 8, input_nc=None, submodule=None,
                                                norm_layer=norm_layer, innermost=True)
        for _ in range(num_downs - 5):
            unet_block = RefUnetSkipConnectionBlock(ngf * 8, ngf * 8, input_nc=None,
                                                    submodule=unet_block, norm_layer=norm_layer,
                                                    use_dropout=use_dropout)
        unet_block = RefUnetSkipConnectionBlock(ngf * 4, ngf * 8, input_nc=None, submodule=unet_block,
                                                norm_layer=norm_layer)
        unet_block = RefUnetSkipConnectionBlock(ngf * 2, ngf * 4, input_nc=None, submodule=unet_block,
                                                norm_layer=norm_layer)
        unet_block = RefUnetSkipConnectionBlock(ngf, ngf * 2, input_nc=None, submodule=unet_block,
                                                norm_layer=norm_layer)
        self.model = RefUnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=unet_block,
                                                outermost=True, norm_layer=norm_layer)

    def forward(self, input):
        return self.model(input)


class RefUnetSkipConnectionBlock(nn.Module):
    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False,
                 innermost=False, norm_layer=nn.BatchNorm2d, use_dropout=False):
        super().__init__()
        self.outermost = outermost
        if type(norm_layer) == functools.partial:  # noqa: E721 (as in the original)
            use_bias = norm_layer.func == nn.InstanceNorm2d
        else:
            use_bias = norm_layer == nn.InstanceNorm2d
        if input_nc is None:
            input_nc = outer_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        downrelu = nn.LeakyReLU(0.2, True)
        downnorm = norm_layer(inner_nc)
        uprelu = nn.ReLU(True)
        upnorm = norm_layer(outer_nc)

        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            down = [downconv]
            up = [uprelu, upconv, nn.Tanh()]
            model = down + [submodule] + up
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1,
                                        bias=use_bias)
            down = [downrelu, downconv]
            up = [uprelu, upconv, upnorm]
            model = down + up
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1,
                                        bias=use_bias)
            down = [downrelu, downconv, downnorm]
            up = [uprelu, upconv, upnorm]
            if use_dropout:
                model = down + [submodule] + up + [nn.Dropout(0.5)]
            else:
                model = down + [submodule] + up
        self.model = nn.Sequential(*model)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


def randomise_norm_stats(model: nn.Module, seed: int = 0) -> None:
    """Non-trivial BatchNorm running statistics and affine weights, so eval mode is a real test."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)


PIX2PIX_CASES = [
    pytest.param(dict(input_nc=1, output_nc=1, num_downs=6, ngf=4, use_dropout=True), 64,
                 id="batch-6downs-dropout"),
    pytest.param(dict(input_nc=3, output_nc=2, num_downs=5, ngf=2), 32, id="batch-5downs-rgb"),
    pytest.param(dict(input_nc=1, output_nc=1, num_downs=7, ngf=2, norm_layer=nn.InstanceNorm2d,
                      use_dropout=True), 128, id="instance-7downs"),
]


@pytest.mark.parametrize("kwargs,size", PIX2PIX_CASES)
def test_pix2pix_state_dict_loads_into_attention_model(kwargs, size):
    torch.manual_seed(0)
    ref = RefUnetGenerator(**kwargs)
    randomise_norm_stats(ref)
    ours = UnetGenerator(**kwargs, use_attention=True)
    ref_sd, our_sd = ref.state_dict(), ours.state_dict()
    non_attention = {k for k in our_sd if ".attention." not in k}
    assert non_attention == set(ref_sd)
    for k, v in ref_sd.items():
        assert our_sd[k].shape == v.shape, k

    result = ours.load_state_dict(ref_sd, strict=False)
    assert result.unexpected_keys == []
    assert result.missing_keys and all(".attention." in k for k in result.missing_keys)
    # every attention layer's gamma is still 0: the model is exactly the pix2pix network
    assert all(float(a.gamma.detach()) == 0 for a in attention_layers(ours).values())
    for k, v in ours.state_dict().items():
        if k in ref_sd:
            assert torch.equal(v, ref_sd[k]), k

    ref.eval()
    ours.eval()
    x = torch.rand(2, kwargs["input_nc"], size, size) * 2 - 1
    with torch.no_grad():
        want, got = ref(x.clone()), ours(x.clone())
    assert got.shape == (2, kwargs["output_nc"], size, size)
    assert torch.equal(got, want)


@pytest.mark.parametrize("kwargs,size", PIX2PIX_CASES)
def test_without_attention_state_dict_is_pix2pix(kwargs, size):
    torch.manual_seed(0)
    ref = RefUnetGenerator(**kwargs)
    randomise_norm_stats(ref, seed=1)
    ours = UnetGenerator(**kwargs)  # use_attention=False: the seed's default
    ref_sd, our_sd = ref.state_dict(), ours.state_dict()
    assert list(our_sd) == list(ref_sd)
    assert {k: v.shape for k, v in our_sd.items()} == {k: v.shape for k, v in ref_sd.items()}
    ours.load_state_dict(ref_sd)  # strict
    ours.eval()
    ref.eval()
    x = torch.rand(1, kwargs["input_nc"], size, size) * 2 - 1
    with torch.no_grad():
        assert torch.equal(ours(x.clone()), ref(x.clone()))
    # and back: our weights load strictly into the reference network
    ref.load_state_dict(ours.state_dict())


def test_block_layers_match_pix2pix_module_paths():
    ours = UnetGenerator(1, 1, 6, ngf=2, use_dropout=True, use_attention=True)
    ref = RefUnetGenerator(1, 1, 6, ngf=2, use_dropout=True)
    ours_types = [(n, type(m).__name__) for n, m in ours.named_modules()
                  if "attention" not in n and not n.endswith("submodule")]
    ref_types = [(n, type(m).__name__.replace("Ref", "")) for n, m in ref.named_modules()]
    assert ours_types == ref_types
    # only the middle ngf*8 block (depth 4 of 6) carries dropout, at the end of its Sequential
    dropout = [lv.depth for lv in ours.levels() if isinstance(lv.block.model[-1], nn.Dropout)]
    assert dropout == [4]
    assert isinstance(ours.model.model[1].model[3].model[3].model[3].model[-1], nn.Dropout)


# --- attention placement -----------------------------------------------------------------------

def test_use_attention_true_puts_attention_in_every_non_outermost_block():
    g = UnetGenerator(1, 1, 6, ngf=2, use_attention=True)
    levels = list(g.levels())
    assert len(levels) == 6
    assert levels[0].block.attention is None
    for lv in levels[1:]:
        assert isinstance(lv.block.attention, SelfAttention), lv.depth
        # attention sees the block's decoder output: outer_nc = ngf * min(2**(depth-1), 8) channels
        assert lv.block.attention.in_channels == 2 * min(2 ** (lv.depth - 1), 8), lv.depth
    assert list(attention_layers(g)) == ["32x32", "16x16", "8x8", "4x4", "2x2"]


def test_attention_resolution_matches_feature_map_size():
    g = UnetGenerator(1, 1, 6, ngf=2, use_attention=True).eval()
    seen = {}
    hooks = [layer.register_forward_hook(lambda m, i, o, n=name: seen.__setitem__(n, tuple(o.shape)))
             for name, layer in attention_layers(g).items()]
    with torch.no_grad():
        g(torch.zeros(1, 1, 64, 64))
    for h in hooks:
        h.remove()
    for name, shape in seen.items():
        r = attention_layers(g)[name].resolution  # what the layer knows of itself...
        assert shape[2:] == (r, r), name  # ...is the size of the map it sees
        assert name == f"{r}x{r}" == attention_layers(g)[name].name
    assert set(seen) == set(attention_layers(g))


def test_use_attention_set_selects_resolutions():
    g = UnetGenerator(1, 1, 7, ngf=2, image_size=128, use_attention={32, 16})
    layers = attention_layers(g)
    assert list(layers) == ["32x32", "16x16"]
    assert all(isinstance(m, SelfAttention) for m in layers.values())
    assert layers["32x32"].in_channels == 2 * 2  # depth 2 block: outer_nc = ngf * 2
    assert layers["16x16"].in_channels == 2 * 4  # depth 3 block: outer_nc = ngf * 4
    assert sum(isinstance(m, SelfAttention) for m in g.modules()) == 2
    assert g.config.use_attention == [16, 32]


def test_use_attention_false_has_no_layers():
    g = UnetGenerator(1, 1, 5, ngf=2)
    assert attention_layers(g) == {}
    assert not any(isinstance(m, SelfAttention) for m in g.modules())


@pytest.mark.parametrize("bad", [{48}, {128}, {1}, {32, 3}])
def test_unknown_attention_resolution_raises(bad):
    with pytest.raises(ValueError) as e:
        UnetGenerator(1, 1, 7, ngf=2, image_size=128, use_attention=bad)
    wrong = sorted(bad - {64, 32, 16, 8, 4, 2})
    assert str(wrong) in str(e.value)


def test_attention_names_stable_across_save_and_load(tmp_path):
    torch.manual_seed(0)
    g = UnetGenerator(1, 1, 7, ngf=2, image_size=128, use_attention={32, 16}, num_styles=2,
                      style_dim=4)
    with torch.no_grad():
        for i, layer in enumerate(attention_layers(g).values()):
            layer.gamma.fill_(0.25 * (i + 1))
    g.save_pretrained(tmp_path / "ckpt")
    h = UnetGenerator.from_pretrained(tmp_path / "ckpt")
    assert list(attention_layers(h)) == list(attention_layers(g)) == ["32x32", "16x16"]
    for name, layer in attention_layers(h).items():
        assert torch.equal(layer.gamma, attention_layers(g)[name].gamma), name


def test_attention_layers_unwraps_a_wrapper_with_module():
    g = UnetGenerator(1, 1, 5, ngf=2, use_attention={4})

    class Wrapper(nn.Module):  # the attribute DistributedDataParallel exposes
        def __init__(self, module):
            super().__init__()
            self.module = module

    assert list(attention_layers(Wrapper(g))) == ["4x4"]


# --- styles ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def styled():
    torch.manual_seed(0)
    g = UnetGenerator(1, 1, 5, ngf=4, num_styles=3, style_dim=8, use_attention={8}).eval()
    with torch.no_grad():
        g.style_embedding.weight.mul_(3)  # distinct styles, clearly different outputs
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    return g, x


def test_no_styles_has_no_embedding_and_rejects_a_style():
    g = UnetGenerator(1, 1, 5, ngf=2).eval()
    assert g.style_embedding is None
    assert not any("style" in k for k in g.state_dict())
    x = torch.zeros(1, 1, 32, 32)
    with torch.no_grad():
        assert g(x).shape == (1, 1, 32, 32)
        with pytest.raises(ValueError, match="no styles"):
            g(x, torch.tensor([0]))


def test_style_indices_and_weights(styled):
    g, x = styled
    assert g.style_embedding.weight.shape == (3, 8)
    with torch.no_grad():
        outs = [g(x, torch.tensor([k, k])) for k in range(3)]
        assert all(o.shape == x.shape for o in outs)
        assert not torch.allclose(outs[0], outs[1]) and not torch.allclose(outs[1], outs[2])
        # a scalar index applies to the whole batch; a (B,) tensor picks per sample
        assert torch.equal(g(x, torch.tensor(1)), outs[1])
        mixed = g(x, torch.tensor([0, 2]))
        assert torch.equal(mixed[0], outs[0][0]) and torch.equal(mixed[1], outs[2][1])
        for k in range(3):
            onehot = torch.nn.functional.one_hot(torch.tensor(k), 3).float()
            assert torch.equal(g(x, onehot), outs[k])  # (K,) broadcast over the batch
            assert torch.equal(g(x, onehot.expand(2, 3)), outs[k])  # (B, K)


def test_blending_weights_move_smoothly_and_monotonically(styled):
    g, x = styled
    ts = torch.linspace(0, 1, 11)
    with torch.no_grad():
        start, end = g(x, torch.tensor([0, 0])), g(x, torch.tensor([1, 1]))
        outs = [g(x, torch.tensor([1 - t, t, 0.0])) for t in ts.tolist()]
    torch.testing.assert_close(outs[0], start, rtol=0, atol=1e-6)
    torch.testing.assert_close(outs[-1], end, rtol=0, atol=1e-6)
    total = float((end - start).norm())
    assert total > 1e-3
    dist = [float((o - start).norm()) for o in outs]
    assert all(b >= a - 1e-6 for a, b in zip(dist, dist[1:])), dist
    steps = [float((b - a).norm()) for a, b in zip(outs, outs[1:])]
    assert max(steps) < 0.4 * total, steps  # no jump: each tenth of the way moves < 40 % of it


@pytest.mark.parametrize("style,match", [
    (torch.tensor([0.5, float("nan"), 0.5]), "finite"),
    (torch.tensor([1.0, float("inf"), 0.0]), "finite"),
    (torch.tensor([3, 0]), "out of range"),
    (torch.tensor([-1, 0]), "out of range"),
    (torch.tensor([0, 1, 2]), "shape"),
    (torch.tensor([0.5, 0.5]), "shape"),
    (None, "style"),
])
def test_bad_styles_raise(styled, style, match):
    g, x = styled
    with torch.no_grad(), pytest.raises(ValueError, match=match):
        g(x, style)


# --- construction and input errors -------------------------------------------------------------

@pytest.mark.parametrize("num_downs", [0, 3, 4])
def test_too_few_downsamplings(num_downs):
    with pytest.raises(ValueError, match=rf"num_downs.*{num_downs}"):
        UnetGenerator(1, 1, num_downs)


def test_image_size_not_divisible():
    with pytest.raises(ValueError, match="image_size 100 is not divisible by 2\\*\\*num_downs = 32"):
        UnetGenerator(1, 1, 5, ngf=2, image_size=100)


def test_wrong_channel_count_at_forward():
    g = UnetGenerator(1, 1, 5, ngf=2)
    with pytest.raises(ValueError, match="expected 1 input channel.*got 3"):
        g(torch.zeros(1, 3, 32, 32))


@pytest.mark.parametrize("shape", [(1, 1, 48, 48), (1, 1, 32, 40), (1, 1, 16, 16)])
def test_input_size_not_divisible(shape):
    g = UnetGenerator(1, 1, 5, ngf=2)
    with pytest.raises(ValueError, match=r"image size .* not divisible by 2\*\*num_downs = 32"):
        g(torch.zeros(shape))


def test_input_must_be_4d():
    g = UnetGenerator(1, 1, 5, ngf=2)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        g(torch.zeros(1, 32, 32))


@pytest.mark.parametrize("kwargs,match", [
    (dict(ngf=0), "positive"),
    (dict(max_mult=3), "max_mult"),
    (dict(num_styles=-1), "num_styles"),
    (dict(use_attention="32"), "use_attention"),
    (dict(norm_layer="group"), "norm_layer"),
])
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        UnetGenerator(1, 1, 5, **kwargs)


def test_outermost_block_rejects_attention():
    with pytest.raises(ValueError, match="outermost"):
        unet.UnetSkipConnectionBlock(1, 2, outermost=True, submodule=nn.Identity(), use_attention=True)


def test_max_mult_caps_channels():
    g = UnetGenerator(1, 1, 6, ngf=2, max_mult=2)
    widths = [lv.block.model[-1].num_features for lv in list(g.levels())[1:]]
    assert max(widths) == 4  # ngf * min(mult, max_mult)
    assert g(torch.zeros(1, 1, 64, 64)).shape == (1, 1, 64, 64)


def test_encode_returns_bottleneck():
    g = UnetGenerator(1, 1, 5, ngf=2, max_mult=4)
    z = g.encode(torch.zeros(2, 1, 32, 32))
    assert z.shape == (2, 8, 1, 1)


def test_output_blur_removes_checkerboard_and_keeps_the_weights(tmp_path):
    from unet.model.network import OutputBlur

    blur = OutputBlur()
    checker = (torch.arange(16)[:, None] + torch.arange(16)[None]).remainder(2).float()[None, None]
    flat = blur(checker * 2 - 1)  # a +-1 checkerboard around 0
    assert flat[..., 1:-1, 1:-1].abs().max() < 1e-6  # zero gain at the period-2 frequency
    ramp = torch.linspace(-1, 1, 16).expand(1, 1, 16, 16)
    torch.testing.assert_close(blur(ramp)[..., 1:-1], ramp[..., 1:-1])  # linear ramps pass unchanged
    assert blur(-torch.ones(1, 1, 8, 8)).eq(-1).all()  # solid ink stays solid (replicated edges)

    kwargs = dict(ngf=4, max_mult=2, use_attention={8}, image_size=32, num_styles=2, style_dim=4)
    plain = UnetGenerator(1, 1, 5, **kwargs).eval()
    blurred = UnetGenerator(1, 1, 5, output_blur=True, **kwargs).eval()
    assert set(plain.state_dict()) == set(blurred.state_dict())  # no new tensors in checkpoints
    blurred.load_state_dict(plain.state_dict())
    x, s = torch.randn(2, 1, 32, 32), torch.tensor([0, 1])
    with torch.no_grad():
        torch.testing.assert_close(blurred(x, s), blur(plain(x, s)))
    blurred.save_pretrained(tmp_path)
    loaded = UnetGenerator.from_pretrained(tmp_path)
    assert loaded.config.output_blur and loaded.output_blur is not None
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, s), blurred(x, s))
