"""Glyph Attention: a self-attention pix2pix U-Net for Chinese font style transfer."""

from .attention import SelfAttention
from .discriminator import PatchDiscriminator
from .inference import Generation, GenerationError, Stylizer
from .model import UnetConfig, UnetGenerator, UnetSkipConnectionBlock, attention_layers

__all__ = ["Generation", "GenerationError", "PatchDiscriminator", "SelfAttention", "Stylizer",
           "UnetConfig", "UnetGenerator", "UnetSkipConnectionBlock", "attention_layers"]
