"""How a program of this package stops when it cannot do its work: one line on stderr, never a
traceback (``app.py`` and the command lines ``python -m unet.infer / unet.font / unet.evaluate``).

``run_cli(main, name)`` runs ``main`` and turns what the person can fix into
``<name>: error: <message>``: a ``UserError`` (a bad setting, a broken checkpoint, a missing font;
exit status 2), a server port that is taken (exit status 1), Ctrl-C (130). Anything else is a bug
and keeps its traceback. ``with exit_on_sigterm():`` makes SIGTERM unwind like Ctrl-C, so ``finally``
blocks run (a font export removes its unfinished ``.part`` file) before the process ends.
"""

from __future__ import annotations

import contextlib
import errno
import re
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator

from .errors import UserError

PROGRAM = "glyph-attention"
# Gradio 6's demo.launch(server_port=P) raises a plain OSError (errno None) with this message when
# it cannot bind P: taken by another server, but also a GRADIO_SERVER_NAME that does not resolve.
_GRADIO_NO_PORT = re.compile(r"Cannot find empty port in range: (\d+)-(\d+)")


def print_error(message: str, name: str = PROGRAM) -> None:
    """``<name>: error: <message>`` on stderr, always one line (argparse's form)."""
    print(f"{name}: error: {' '.join(str(message).splitlines())}", file=sys.stderr, flush=True)


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    """True if another socket holds ``port``: the bind that Gradio's own check makes fails with
    EADDRINUSE."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.bind((host.strip("[]"), port))
    except OSError as e:
        return e.errno == errno.EADDRINUSE
    return False


def server_error(error: OSError) -> str | None:
    """The message for an OSError of a server that could not start listening, or None where
    ``error`` is some other OSError.

    Gradio says "Cannot find empty port" both for a port in use and for a host it cannot bind;
    binding the port here tells the two apart."""
    found = _GRADIO_NO_PORT.match(str(error))
    if found is None:
        if error.errno == errno.EADDRINUSE:  # a plain socket's bind, should Gradio ever pass it on
            return "a server port is in use: stop the other server or set GRADIO_SERVER_PORT"
        return None
    low, high = int(found[1]), int(found[2])
    if low != high:  # no server_port given: Gradio tried a range
        return f"ports {low}-{high} are in use: stop the other servers or set GRADIO_SERVER_PORT"
    if port_taken(low):
        return f"port {low} is in use: stop the other server or set GRADIO_SERVER_PORT"
    return f"cannot serve on port {low}: check GRADIO_SERVER_NAME (the address to listen on)"


def run_cli(main: Callable[[], int | None], name: str = PROGRAM) -> int:
    """Run ``main`` and return its exit status (None counts as 0); what the person can fix ends
    it with one line on stderr instead of a traceback: a ``UserError`` (2), a server port that is
    taken (1), Ctrl-C (130). Use as ``sys.exit(run_cli(main, "python -m unet.font"))``."""
    try:
        return main() or 0
    except UserError as e:
        print_error(str(e), name)
        return 2
    except OSError as e:
        message = server_error(e)
        if message is None:
            raise
        print_error(message, name)
        return 1
    except KeyboardInterrupt:
        print_error("interrupted", name)
        return 130


def _terminate(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def exit_on_sigterm() -> Iterator[None]:
    """Inside, SIGTERM raises ``SystemExit(143)`` in the main thread, so ``finally`` blocks and
    context managers run: by default SIGTERM ends the process at once and leaves partial files
    behind. The previous handler comes back on leaving; off the main thread this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
