"""Per-call forward hooks on SelfAttention modules: bypass (layer toggles) and map capture.

Hooks are registered for one call and removed in ``finally``. Because a model may serve several
threads at once, each hook also checks a context variable that holds its own call's token, so a
hook registered by one call is a no-op inside any other call running concurrently.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
from collections.abc import Callable, Iterable, Iterator

import torch

from ..errors import UnknownLayerError
from ..model import SelfAttention, UnetGenerator, attention_layers

_current_call: contextvars.ContextVar[int | None] = contextvars.ContextVar("unet_hook_call", default=None)
_tokens = itertools.count(1)


@contextlib.contextmanager
def call_scope() -> Iterator[int]:
    """Marks the current thread/context as running call ``token`` for the hooks it registers."""
    token = next(_tokens)
    reset = _current_call.set(token)
    try:
        yield token
    finally:
        _current_call.reset(reset)


@contextlib.contextmanager
def attention_hooks(model: UnetGenerator, disabled: Iterable[str] = (),
                    capture: Callable[[str, SelfAttention, torch.Tensor, torch.Tensor], None] | None = None):
    """Within this block (and only in this thread's call), layers in ``disabled`` return their input
    unchanged, and ``capture(name, module, x, y)`` sees every enabled layer's input and output.

    ``disabled`` holds names the caller already has from the model (a checked ``Request``, or
    ``attention_layers``); a name the model lacks is a caller's bug and raises ``UnknownLayerError``
    rather than being ignored."""
    layers = attention_layers(model)
    names = set(disabled)
    if not names <= layers.keys():
        raise UnknownLayerError.naming([n for n in disabled if n not in layers], list(layers))
    handles = []
    with call_scope() as token:
        def make_hook(name):
            def hook(module, inputs, output):
                if _current_call.get() != token:
                    return None  # another call's forward: not ours to touch
                if name in names:
                    return inputs[0]
                if capture is not None:
                    capture(name, module, inputs[0], output)
                return None
            return hook

        try:
            for name, layer in layers.items():
                if name in names or capture is not None:
                    handles.append(layer.register_forward_hook(make_hook(name)))
            yield
        finally:
            for h in handles:
                h.remove()
