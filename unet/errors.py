"""The one base of every error meant for the person who asked: ``UserError``.

The app, the command lines and the font exporter catch ``UserError`` (and nothing else) to turn a
problem into a message; anything else is a bug and is logged as one. The subclasses say where the
problem was found.
"""

from __future__ import annotations

from collections.abc import Sequence


class UserError(ValueError):
    """A request that cannot be served, with a message meant for the person who made it."""


class GenerationError(UserError):
    """A generation request that cannot be served (text, style, blend, layers, index, point)."""


class UnknownLayerError(GenerationError):
    """An attention layer name the model does not have."""

    @classmethod
    def naming(cls, unknown: Sequence, layers: Sequence[str]) -> UnknownLayerError:
        return cls(f"unknown attention layer(s) {list(unknown)}; this model has "
                   f"{', '.join(layers) or 'no attention layers'}")


class CheckpointError(UserError):
    """A checkpoint is missing, corrupt, or does not fit its config."""


class FontError(UserError):
    """A font file is missing, corrupt, or lacks the requested face or glyph."""


class CharsetError(UserError):
    """A charset name or file that does not name any characters."""


class ExportError(UserError):
    """A font export that cannot be done, with a message meant for the person who asked for it."""
