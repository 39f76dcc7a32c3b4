"""pix2pix's PatchGAN discriminator, conditioned on the source glyph, with an optional style head."""

from __future__ import annotations

import torch
from torch import nn


class PatchDiscriminator(nn.Module):
    """PatchGAN on ``cat([source, glyph])``: a (B, 1, h, w) map of real/fake logits.

    With ``num_styles`` > 0 it also returns (B, K) style logits from the same features (zi2zi's
    category loss, AC-GAN style); otherwise the second output is None.
    """

    def __init__(self, input_nc: int = 2, ndf: int = 64, n_layers: int = 3,
                 norm_layer=nn.BatchNorm2d, num_styles: int = 0):
        super().__init__()
        use_bias = norm_layer is nn.InstanceNorm2d
        layers = [nn.Conv2d(input_nc, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=use_bias),
                       norm_layer(ndf * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2 ** n_layers, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=use_bias),
                   norm_layer(ndf * mult), nn.LeakyReLU(0.2, True)]
        self.features = nn.Sequential(*layers)
        self.patch = nn.Conv2d(ndf * mult, 1, 4, 1, 1)
        self.style_head = nn.Linear(ndf * mult, num_styles) if num_styles else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.features(x)  # (B, ndf*mult, h, w)
        styles = self.style_head(h.mean((2, 3))) if self.style_head is not None else None
        return self.patch(h), styles
