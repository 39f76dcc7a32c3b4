"""What the host machine offers: bf16 matrix units, and giving freed heap back to the OS."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

import torch


@functools.cache
def has_amx() -> bool:
    """True on a CPU with AMX tiles (bf16 matrix units), as torch reports it."""
    check = getattr(torch.cpu, "_is_amx_tile_supported", None)  # private; absent in some builds
    try:
        return bool(check and check())
    except Exception:  # pragma: no cover - depends on the build
        return False


def fast_bf16_available(device: torch.device) -> bool:
    """True where bfloat16 matrix units make autocast pay: CUDA with bf16, or a CPU with AMX."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return has_amx()


try:  # glibc only; elsewhere release_memory() and limit_malloc_arenas() do nothing
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _malloc_trim, _mallopt = _libc.malloc_trim, _libc.mallopt
    _malloc_trim.argtypes, _malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    _mallopt.argtypes, _mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
except (OSError, AttributeError, TypeError):  # pragma: no cover - depends on the libc
    _malloc_trim = _mallopt = None
M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Let all threads share ``arenas`` malloc arenas (call before threads start).

    glibc gives each thread that allocates its own arena and keeps what a forward pass freed there:
    8 threads that had each run one 24-glyph forward held +238 MiB; with 2 arenas, +99 MiB."""
    if _mallopt is not None:
        _mallopt(M_ARENA_MAX, arenas)


def release_memory() -> None:
    """Hand freed heap memory back to the OS (about 2 ms).

    A forward pass allocates and frees hundreds of MB in pieces; glibc keeps what it can't return
    from the top of a fragmented heap, so without this a server's RSS grows by hundreds of MB over a
    thousand requests of new characters (measured with ``python -m tools.stress``)."""
    if _malloc_trim is not None:
        _malloc_trim(0)
