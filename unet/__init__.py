"""Glyph Attention: a self-attention pix2pix U-Net for Chinese font style transfer."""

from .attention import SelfAttention, explicit_attention, sdpa_attention
from .discriminator import PatchDiscriminator
from .model import (
                    UnetConfig,
                    UnetGenerator,
                    UnetSkipConnectionBlock,
                    attention_layers,
                    set_attention_processor,
)
from .request import GenerationError, Request
from .stylizer import Generation, Stylizer

__all__ = ["Generation", "GenerationError", "PatchDiscriminator", "Request", "SelfAttention", "Stylizer",
           "UnetConfig", "UnetGenerator", "UnetSkipConnectionBlock", "attention_layers",
           "explicit_attention", "sdpa_attention", "set_attention_processor"]
