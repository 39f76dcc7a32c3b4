"""What a generation request may contain, checked in one place.

Every rule about user input lives here, and every violation is a ``GenerationError`` whose message is
meant for the person who made the request: the engine, the CLI, the app and its API all build a
``Request`` through ``Stylizer.request`` (or call the parsers below) and never check again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class GenerationError(ValueError):
    """A request that cannot be served, with a message meant for the person who made it."""


class UnknownLayerError(GenerationError):
    """An attention layer name the model does not have."""


@dataclass(frozen=True)
class Request:
    """Everything that determines a generation; equal requests give equal outputs (hashable)."""

    text: str
    style: str
    blend: str | None  # a second style mixed in, or None
    blend_weight: float  # 0 = only ``style``, 1 = only ``blend``; 0.0 whenever blend is None
    disabled: tuple[str, ...]  # attention layers switched off, in the model's order

    def weights(self, styles: Sequence[str]) -> dict[str, float]:
        """Per style name, its weight in the mix (they sum to 1)."""
        weights = dict.fromkeys(styles, 0.0)
        weights[self.style] = 1.0 - self.blend_weight
        if self.blend is not None:
            weights[self.blend] += self.blend_weight
        return weights

    def with_layers_on(self) -> Request:
        """The same request with every attention layer switched on."""
        return Request(self.text, self.style, self.blend, self.blend_weight, ())


def parse_number(value, what: str, low: float, high: float) -> float:
    """A finite float in [low, high], from a number or a numeric string."""
    if isinstance(value, bool):
        raise GenerationError(f"{what} must be a number in [{low:g}, {high:g}], got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a 400-digit integer
        number = math.nan
    if not (math.isfinite(number) and low <= number <= high):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise GenerationError(f"{what} must be a number in [{low:g}, {high:g}], got {shown}")
    return number


def parse_index(value, count: int) -> int:
    """A character index in 0..count-1, from an integer (or an integral float / string)."""
    number = parse_number(value, "the character index", 0, max(count - 1, 0))
    if number != int(number):
        raise GenerationError(f"the character index must be an integer, got {value!r}")
    return int(number)


def parse_point(x, y, size: float) -> tuple[float, float]:
    """A query point in glyph pixels, each coordinate in [0, size]."""
    return (parse_number(x, "the query point's x", 0, size),
            parse_number(y, "the query point's y", 0, size))


def parse_text(text) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):  # the API passes JSON through as is
        raise GenerationError("text must be a string")
    return text


def parse_style(style, styles: Sequence[str]) -> str:
    if not isinstance(style, str) or style not in styles:
        raise GenerationError(f"unknown style {style!r}; available: {', '.join(styles)}")
    return style


def check_layer_names(names: Iterable, layers: Sequence[str]) -> list[str]:
    """``names`` without duplicates, each one of ``layers`` (the model's, outermost first)."""
    if isinstance(names, str):
        names = [names]
    try:
        names = list(dict.fromkeys(names))
    except TypeError:  # unhashable items, a number instead of a list, ...
        raise GenerationError(f"attention layers must be a list of names from {list(layers)}") from None
    unknown = [n for n in names if n not in layers]
    if unknown:
        raise UnknownLayerError(f"unknown attention layer(s) {unknown}; this model has "
                                f"{', '.join(layers) or 'no attention layers'}")
    return names


def make_request(text, style, blend, blend_weight, disabled, styles: Sequence[str],
                 layers: Sequence[str], enabled=None) -> Request:
    """The one place a request is validated (``Stylizer.request`` calls it with the model's names).

    Layers are named either as those switched off (``disabled``) or, where ``enabled`` is not None
    (the app's checkboxes), as those left on."""
    text = parse_text(text)
    style = parse_style(style if style is not None else styles[0], styles)
    blend = None if blend in (None, "", "(none)") else parse_style(blend, styles)
    weight = parse_number(blend_weight, "the blend weight", 0, 1)
    if blend is None or blend == style or weight == 0.0:
        blend, weight = None, 0.0
    if enabled is not None:
        disabled = [n for n in layers if n not in check_layer_names(enabled, layers)]
    disabled = set(check_layer_names(disabled, layers))
    return Request(text, style, blend, weight, tuple(n for n in layers if n in disabled))
