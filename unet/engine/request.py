"""What a generation request may contain, checked in one place.

Every rule about user input lives here, and every violation is a ``GenerationError`` whose message is
meant for the person who made the request. A request is checked where it enters (the app's service,
the font exporter, the command line: all through ``Stylizer.request`` or the parsers below) and
travels inward as a ``Request``; the engine and the model trust it and never check again.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import GenerationError, UnknownLayerError, shown


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


def parse_number(value, what: str, low: float, high: float, key: str | None = None) -> float:
    """A finite float in [low, high], from an int or a float only.

    A string ("0.5") or a bool is refused rather than converted: a client that sends the wrong type
    has a bug it should hear about, not a guess at what its text meant."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        hint = " (text: send a number instead)" if isinstance(value, str) else ""
        raise GenerationError(f"{what} must be a number in [{low:g}, {high:g}], got {shown(value)}{hint}",
                              key=key, value=shown(value))
    try:
        number = float(value)
    except OverflowError:  # a 400-digit integer
        number = math.nan
    if not (math.isfinite(number) and low <= number <= high):
        raise GenerationError(f"{what} must be a number in [{low:g}, {high:g}], got {shown(value)}",
                              key=key, value=shown(value))
    return number


def parse_index(value, count: int) -> int:
    """A character index in 0..count-1, from an integer or an integral float (JSON may send 2.0)."""
    number = parse_number(value, "the character index", 0, max(count - 1, 0))
    if number != int(number):
        raise GenerationError(f"the character index must be an integer, got {shown(value)}")
    return int(number)


def parse_point(x, y, size: float) -> tuple[float, float]:
    """A query point in glyph pixels, each coordinate in [0, size]."""
    return (parse_number(x, "the query point's x", 0, size),
            parse_number(y, "the query point's y", 0, size))


def parse_flag(value, what: str) -> bool:
    """A yes/no option: only True or False (None, an option left out, is False).

    Anything else is refused, not judged by truthiness: ``bool("false")`` is True, so a client
    sending the text "false" would get the opposite of what it asked for."""
    if value is None:
        return False
    if not isinstance(value, bool):
        raise GenerationError(f"{what} must be true or false, got {shown(value)}")
    return value


def parse_text(text) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):  # the API passes JSON through as is
        raise GenerationError("text must be a string")
    return text


def parse_style(style, styles: Sequence[str]) -> str:
    if not isinstance(style, str) or style not in styles:
        raise GenerationError(f"unknown style {shown(style)}; available: {', '.join(styles)}")
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
        raise UnknownLayerError.naming(unknown, layers)
    return names


def make_request(text, style, blend, blend_weight, disabled, styles: Sequence[str],
                 layers: Sequence[str], enabled=None) -> Request:
    """The one place a request is validated (``Stylizer.request`` calls it with the model's names).

    Layers are named either as those switched off (``disabled``) or, where ``enabled`` is not None
    (the app's checkboxes), as those left on."""
    text = parse_text(text)
    style = parse_style(style if style is not None else styles[0], styles)
    blend = None if blend in (None, "", "(none)") else parse_style(blend, styles)
    weight = parse_number(blend_weight, "the blend weight", 0, 1, key="error.weight")
    if blend is None or blend == style or weight == 0.0:
        blend, weight = None, 0.0
    if enabled is not None:
        on = set(check_layer_names(enabled, layers))
        off = {n for n in layers if n not in on}
    else:
        off = set(check_layer_names(disabled, layers))
    return Request(text, style, blend, weight, tuple(n for n in layers if n in off))


WIRE_SHAPE = "[text, style, blend, weight, disabled layers]"


def to_wire(req: Request, text: str | None = None) -> list:
    """A request as the page holds it and sends it back (``text`` may name it by fewer characters)."""
    return [req.text if text is None else text, req.style, req.blend, req.blend_weight, list(req.disabled)]


def from_wire(data, styles: Sequence[str], layers: Sequence[str]) -> Request:
    """A request the page sent back (``to_wire``'s shape), checked as any request that enters."""
    try:
        text, style, blend, weight, disabled = data
    except (TypeError, ValueError):
        raise GenerationError(f"a request from the page must be {WIRE_SHAPE}") from None
    return make_request(text, style, blend, weight, disabled, styles, layers)
