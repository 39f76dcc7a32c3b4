"""The one base of every error meant for the person who asked: ``UserError``.

The app, the command lines and the font exporter catch ``UserError`` (and nothing else) to turn a
problem into a message; anything else is a bug and is logged as one. The subclasses say where the
problem was found.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized


def shown(value, limit: int = 40) -> str:
    """``repr(value)`` clipped to about ``limit`` characters, for quoting a user's value in a message.

    Messages are shown and logged: a 1 MB value quoted whole would flood the log once per request.
    The one rule for every message that echoes what a user sent."""
    try:
        text = repr(value)
    except ValueError:  # an int past Python's digit limit for str()
        return f"an integer of {value.bit_length():,} bits" if isinstance(value, int) else "a value"
    if len(text) <= limit:
        return text
    if isinstance(value, str):
        size = f" ({len(value):,} characters)"
    elif isinstance(value, Sized):
        size = f" ({len(value):,} item{'s' if len(value) != 1 else ''})"
    elif isinstance(value, int):
        size = f" ({len(text.lstrip('-')):,} digits)"
    else:
        size = ""
    return text[:limit] + "…" + size


class UserError(ValueError):
    """A request that cannot be served, with a message meant for the person who made it.

    ``str(error)`` is the English message (logs, scripts, command lines). A message the page shows
    may also name its ``key`` in the page's catalog (``unet.demo.i18n``) and the ``params`` to fill
    in, so that the page can say it in the visitor's language."""

    def __init__(self, *args, key: str | None = None, **params):
        super().__init__(*args)
        self.key, self.params = key, params

    def __str__(self) -> str:
        # never an empty message: the person would see a bare error with nothing to act on
        return super().__str__() or "the request could not be served (no reason was given)"


class GenerationError(UserError):
    """A generation request that cannot be served (text, style, blend, layers, index, point)."""


class UnknownLayerError(GenerationError):
    """An attention layer name the model does not have."""

    @classmethod
    def naming(cls, unknown: Sequence, layers: Sequence[str]) -> UnknownLayerError:
        return cls(f"unknown attention layer(s) {shown(list(unknown))}; this model has "
                   f"{', '.join(layers) or 'no attention layers'}")


class CheckpointError(UserError):
    """A checkpoint is missing, corrupt, or does not fit its config."""


class FontError(UserError):
    """A font file is missing, corrupt, or lacks the requested face or glyph."""


class CharsetError(UserError):
    """A charset name or file that does not name any characters."""


class ExportError(UserError):
    """A font export that cannot be done, with a message meant for the person who asked for it."""
