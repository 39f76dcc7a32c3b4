"""unet.startup: a program that cannot start says so in one line on stderr, never with a traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from unet.errors import CheckpointError, UserError
from unet.settings import Settings
from unet.startup import exit_on_sigterm, run_cli

from .support import REPO, free_port

PORT_HINT = "is in use: stop the other server or set GRADIO_SERVER_PORT"


def gradio_port_error(port: int) -> OSError:
    """What Gradio 6's ``demo.launch(server_port=port)`` raises when it cannot bind the port."""
    return OSError(f"Cannot find empty port in range: {port}-{port}. You can specify a different port "
                   f"by setting the GRADIO_SERVER_PORT environment variable or passing the "
                   f"`server_port` parameter to `launch()`.")


def raising(error: BaseException):
    def main():
        raise error
    return main


def test_main_s_status_is_returned():
    assert run_cli(lambda: None) == 0
    assert run_cli(lambda: 3) == 3


def test_a_user_error_is_one_line_and_status_2(capsys):
    assert run_cli(raising(CheckpointError("x/config.json: styles: must be a list\nof styles")), "prog") == 2
    err = capsys.readouterr().err
    assert err == "prog: error: x/config.json: styles: must be a list of styles\n"


def test_a_taken_port_is_one_line_and_status_1(capsys):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert run_cli(raising(gradio_port_error(port))) == 1
    assert capsys.readouterr().err == f"glyph-attention: error: port {port} {PORT_HINT}\n"


def test_a_free_port_that_gradio_could_not_bind_blames_the_host(capsys):
    port = free_port()
    assert run_cli(raising(gradio_port_error(port))) == 1
    err = capsys.readouterr().err
    assert f"cannot serve on port {port}" in err and "GRADIO_SERVER_NAME" in err


def test_other_os_errors_are_bugs_and_keep_their_traceback():
    with pytest.raises(FileNotFoundError):
        run_cli(raising(FileNotFoundError(2, "No such file or directory", "x")))
    with pytest.raises(RuntimeError):
        run_cli(raising(RuntimeError("a bug")))


def test_ctrl_c_is_one_line(capsys):
    assert run_cli(raising(KeyboardInterrupt())) == 130
    assert capsys.readouterr().err == "glyph-attention: error: interrupted\n"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("GLYPH_THREADS", "abc", "GLYPH_THREADS='abc': not an integer"),
    ("GLYPH_THREADS", "0", "GLYPH_THREADS=0: must be from 1 to"),
    ("GRADIO_SERVER_PORT", "78600", "GRADIO_SERVER_PORT=78600: must be from 1 to 65535"),
    ("GLYPH_MAX_SESSIONS", "many", "GLYPH_MAX_SESSIONS='many': not an integer"),
    ("GLYPH_EXPORT_NICE", "1.5", "GLYPH_EXPORT_NICE='1.5': not an integer"),
    ("GLYPH_PRECISION", "fp8", "GLYPH_PRECISION='fp8': must be float32, bfloat16 or auto"),
])
def test_a_bad_setting_names_the_variable(name, value, message, capsys):
    with pytest.raises(UserError, match="^" + message.replace("(", r"\(")):
        Settings.from_env({name: value})
    assert run_cli(lambda: Settings.from_env({name: value}), "app") == 2
    assert capsys.readouterr().err.startswith(f"app: error: {message}")


def test_unset_or_empty_settings_are_the_defaults():
    assert Settings.from_env({}) == Settings.from_env({"GLYPH_THREADS": "", "GRADIO_SERVER_PORT": " "})
    s = Settings.from_env({"GLYPH_THREADS": "2", "GRADIO_SERVER_PORT": "8000", "GLYPH_PRECISION": "float32"})
    assert (s.threads, s.server_port, s.precision) == (2, 8000, "float32")


def test_sigterm_unwinds_and_the_old_handler_comes_back():
    before = signal.getsignal(signal.SIGTERM)
    cleaned = []
    with pytest.raises(SystemExit) as e:
        with exit_on_sigterm():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(1000):  # the handler runs between bytecodes of the main thread
                    pass
            finally:
                cleaned.append(True)
    assert e.value.code == 128 + signal.SIGTERM and cleaned == [True]
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.slow
def test_a_second_gradio_server_on_a_taken_port_is_one_line(tmp_path):
    """The real thing: Gradio's own launch on a port another socket holds (~15 s: imports Gradio)."""
    script = tmp_path / "second.py"
    script.write_text(textwrap.dedent("""
        import socket, sys
        import gradio as gr
        from unet.startup import run_cli

        port = int(sys.argv[1])
        held = socket.socket()
        held.bind(("127.0.0.1", port))
        held.listen()

        def main():
            with gr.Blocks() as demo:
                gr.Markdown("second")
            demo.launch(server_name="127.0.0.1", server_port=port)

        sys.exit(run_cli(main))
    """))
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, str(script), str(port)], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    assert r.stderr == f"glyph-attention: error: port {port} {PORT_HINT}\n"
