"""Glyph Attention: a self-attention pix2pix U-Net for Chinese font style transfer.

The package, by what each part serves:

- ``unet.model``: the network (``UnetGenerator``, ``SelfAttention``), the discriminator and the
  checkpoint format; tensors only.
- ``unet.engine``: text in, styled glyphs out (``Stylizer``), with the one check of a request
  (``request``), fonts and glyph rendering, attention hooks and pictures.
- ``unet.train``: the paired dataset, training, held-out evaluation and its metrics.
- ``unet.demo``: what the Gradio app shows (service, font exports, views with their web files).
- ``unet.fontexport``: generated glyphs as an installable font (trace, place, build).
- ``unet.settings`` (limits, environment variables) and ``unet.errors`` (``UserError``).
"""

from .engine.request import Request
from .engine.stylizer import Generation, Stylizer
from .errors import GenerationError, UserError
from .model import (
    PatchDiscriminator,
    SelfAttention,
    UnetConfig,
    UnetGenerator,
    UnetSkipConnectionBlock,
    attention_layers,
    explicit_attention,
    sdpa_attention,
    set_attention_processor,
)

__all__ = ["Generation", "GenerationError", "PatchDiscriminator", "Request", "SelfAttention", "Stylizer",
           "UnetConfig", "UnetGenerator", "UnetSkipConnectionBlock", "UserError", "attention_layers",
           "explicit_attention", "sdpa_attention", "set_attention_processor"]
