"""The model library: the U-Net generator with SAGAN self-attention, the PatchGAN discriminator and
the checkpoint format. It knows tensors, never requests, the UI or fonts."""

from ..errors import CheckpointError
from .attention import AttentionProcessor, SelfAttention, explicit_attention, sdpa_attention
from .discriminator import PatchDiscriminator
from .network import (
    UnetConfig,
    UnetGenerator,
    UnetSkipConnectionBlock,
    attention_layers,
    load_generator,
    save_generator,
    set_attention_processor,
)

__all__ = ["AttentionProcessor", "CheckpointError", "PatchDiscriminator", "SelfAttention", "UnetConfig",
           "UnetGenerator", "UnetSkipConnectionBlock", "attention_layers", "explicit_attention",
           "load_generator", "save_generator", "sdpa_attention", "set_attention_processor"]
