"""PatchGAN discriminator: patch map shapes, with and without the style-classifier head."""

import pytest
import torch
from torch import nn

from unet.model import PatchDiscriminator


@pytest.mark.parametrize("size,patch", [(32, 2), (64, 6), (128, 14)])
def test_patch_map_without_style_head(size, patch):
    torch.manual_seed(0)
    d = PatchDiscriminator(2, ndf=4)
    assert d.style_head is None
    logits, styles = d(torch.randn(3, 2, size, size))
    assert logits.shape == (3, 1, patch, patch)  # 3 stride-2 convs, then two 4x4 stride-1 convs
    assert styles is None


@pytest.mark.parametrize("num_styles", [2, 5])
def test_style_head(num_styles):
    torch.manual_seed(0)
    d = PatchDiscriminator(2, ndf=4, num_styles=num_styles)
    logits, styles = d(torch.randn(3, 2, 64, 64))
    assert logits.shape == (3, 1, 6, 6)
    assert styles.shape == (3, num_styles)
    (logits.mean() + styles.sum()).backward()
    assert d.style_head.weight.grad is not None and d.features[0].weight.grad.abs().sum() > 0


def test_layers_and_width():
    d = PatchDiscriminator(2, ndf=4, n_layers=3)
    convs = [m for m in d.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8, 16, 32]
    assert convs[1].bias is None  # BatchNorm follows: no bias (pix2pix)
    d_in = PatchDiscriminator(2, ndf=4, norm_layer=nn.InstanceNorm2d)
    assert [m for m in d_in.features if isinstance(m, nn.Conv2d)][1].bias is not None
    assert d.patch.out_channels == 1


def test_n_layers_changes_receptive_field():
    d = PatchDiscriminator(2, ndf=2, n_layers=2)
    logits, _ = d(torch.zeros(1, 2, 64, 64))
    assert logits.shape == (1, 1, 14, 14)
