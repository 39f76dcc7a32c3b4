"""Glyph Attention: a self-attention pix2pix U-Net for Chinese font style transfer."""

from .attention import SelfAttention
from .model import UnetConfig, UnetGenerator, UnetSkipConnectionBlock, attention_layers

__all__ = ["SelfAttention", "UnetConfig", "UnetGenerator", "UnetSkipConnectionBlock",
           "attention_layers"]
