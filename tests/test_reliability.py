"""Reliability and security.

Through the real server (slow): every bad input of ``tools.stress``'s matrix gives a result or a clear
message, never a traceback, and the server still answers afterwards; concurrent clients get exactly
what the same requests give alone. Without a server: corrupt, truncated and mismatched checkpoints,
a pickle posing as safetensors and a corrupt font all fail at load with a clear error, and the app
listens on 127.0.0.1 without a share tunnel.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

from tools import stress
from unet.engine.stylizer import DEFAULT_CHECKPOINT, Stylizer
from unet.errors import CheckpointError, FontError

from .support import REPO, running_app

CASES = stress.bad_input_cases(stress.STYLES, stress.LAYERS, quick=True)
# What a clear message must say, for some of the cases (the rest: any specific message).
SAYS = {
    "empty text": "at least one Chinese character",
    "whitespace only": "at least one Chinese character",
    "emoji only": "emoji",
    "Latin + digits": "not a CJK ideograph",
    "CJK Ext-B not in font": "not in the source font",
    "control + zero-width": "control or format",
    "RTL marks": "control or format",
    "unknown style": "No Such Style",
    "unknown layer names": "8x8",
    "weight -0.5": "blend weight must be a number in [0, 1], got -0.5",
    "weight 1.5": "blend weight must be a number in [0, 1], got 1.5",
    "weight NaN (JSON literal)": "blend weight",
    "query x=-50, y=1e9": "the query point's x must be a number in [0, 128], got -50",
    "query index 99": "the character index must be a number in [0, 1], got 99",
    "query point NaN (JSON literal)": "the query point's x must be a number",
    "query unknown style": "unknown style",
    "query unknown layer": "unknown attention layer",
    "query text a list": "text must be a string",
    "query blend a list": "unknown style",
}


# --- through the server ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server():
    """The real app (shipped checkpoint) in this process on 127.0.0.1:<free port>."""
    with running_app() as url:
        yield url


@pytest.fixture(scope="module")
def client(server):
    c = stress.make_client(server)
    yield c
    c.close()


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(server, client, case):
    r = stress.run_case(client, server, case)
    shown = r.message or r.note
    assert not r.traceback, f"traceback in the response: {shown}"
    assert r.alive, "the server no longer answers a good request"
    if case.expect in ("error", "rejected"):
        assert r.got == "error", f"expected an error, got {r.got}: {shown}"
        if case.expect == "error":
            assert r.clear, f"not a specific message: {r.message!r}"
            if case.name in SAYS:
                assert SAYS[case.name] in r.message, r.message
    elif case.expect == "too large":  # refused before the body is read (unet/demo/guard.py)
        assert "413" in r.message, shown
    else:
        assert r.got == "result" and r.glyphs >= 1, f"expected glyphs, got {r.got}: {shown}"
        if case.expect == "partial":  # the usable characters are drawn, the rest reported
            assert "Skipped" in r.note or "only the first" in r.note, r.note
    assert r.passed


@pytest.mark.slow
@pytest.mark.parametrize("weight", ["nan", "abc", 1.5, -0.5])
def test_a_bad_weight_gets_a_specific_message(server, client, weight):
    out = stress.call(client, "/generate", ("永和", stress.STYLES[0], stress.STYLES[1], weight,
                                            stress.LAYERS))
    assert not out.ok and not out.traceback
    assert out.clear, out.message
    assert "blend weight must be a number in [0, 1]" in out.message


@pytest.mark.slow
def test_partial_result_draws_exactly_the_usable_characters(server, client):
    out = stress.call(client, "/generate", ("a永😀\u200b𠀀和", stress.STYLES[0], "(none)", 0.5,
                                            stress.LAYERS))
    assert out.ok
    assert stress.sheet_chars(out) == ["永", "和"]
    status = stress.status_text(out)
    # one line per kind of problem, naming its characters (an invisible one is only counted)
    for line in ["Skipped 1 character(s) that are not Chinese: a", "Skipped 1 emoji or symbol(s): 😀",
                 "Skipped 1 invisible control or format character(s)",
                 "Skipped 1 character(s) the source font does not have: 𠀀"]:
        assert line in status, (line, status)


@pytest.mark.slow
def test_concurrent_clients_get_what_the_same_request_gets_alone(server):
    rep = stress.run_concurrency(server, clients=4, requests=3, pool_size=8, log=lambda m: None)
    s = rep.summary()
    assert rep.total == len(rep.latencies) == 12
    assert (s["errors"], s["mismatches"], s["tracebacks"]) == (0, 0, 0), rep.problems
    assert rep.distinct >= 4  # the requests really differ (styles, blends, toggles)


# --- checkpoints and fonts ----------------------------------------------------------------------------

@pytest.fixture
def ckpt(tmp_path) -> Path:
    """A copy of the shipped checkpoint to damage."""
    out = tmp_path / "ckpt"
    shutil.copytree(DEFAULT_CHECKPOINT, out, ignore=shutil.ignore_patterns("*.png"))
    return out


def _edit_config(ckpt: Path, fn) -> None:
    path = ckpt / "config.json"
    cfg = json.loads(path.read_text(encoding="utf-8"))
    fn(cfg)
    path.write_text(json.dumps(cfg), encoding="utf-8")


@pytest.mark.parametrize("keep", [8, 0.5, 0.999])
def test_truncated_weights(ckpt, keep):
    f = ckpt / "model.safetensors"
    data = f.read_bytes()
    f.write_bytes(data[: keep if isinstance(keep, int) else int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        Stylizer.from_pretrained(ckpt, device="cpu")


def test_config_that_does_not_fit_the_weights(ckpt):
    _edit_config(ckpt, lambda c: c["generator"].update(ngf=32))
    with pytest.raises(CheckpointError, match=r"does not fit .*shape mismatch"):
        Stylizer.from_pretrained(ckpt, device="cpu")


class _Payload:
    """Pickles to a call that creates ``path``: proof of unpickling if the file ever appears."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (exec, (f"open({self.path!r}, 'w').write('unpickled')",))


@pytest.mark.parametrize("fmt", ["pickle", "torch.save"])
def test_a_pickle_named_model_safetensors_is_never_unpickled(ckpt, tmp_path, monkeypatch, fmt):
    import torch

    control = tmp_path / "control"  # the payload works: plain pickle.loads runs it
    pickle.loads(pickle.dumps(_Payload(control)))
    assert control.exists()

    sentinel = tmp_path / "sentinel"
    weights = ckpt / "model.safetensors"
    if fmt == "pickle":
        weights.write_bytes(pickle.dumps({"state_dict": _Payload(sentinel)}))
    else:
        torch.save({"state_dict": _Payload(sentinel)}, weights)

    def refuse(*a, **k):
        raise AssertionError("the checkpoint loader unpickled something")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    with pytest.raises(CheckpointError, match="corrupt or truncated safetensors"):
        Stylizer.from_pretrained(ckpt, device="cpu")
    assert not sentinel.exists()


@pytest.mark.parametrize("damage", ["truncated", "random bytes", "empty"])
def test_corrupt_source_font_fails_at_load(ckpt, tmp_path, damage):
    from unet.engine.glyphs import find_font_file

    cfg = json.loads((ckpt / "config.json").read_text(encoding="utf-8"))
    real = find_font_file(cfg["glyphs"]["source"]["file"]).read_bytes()
    bad = tmp_path / "broken.otf"
    bad.write_bytes({"truncated": real[: len(real) // 2], "random bytes": b"OTTO" + os.urandom(4096),
                     "empty": b""}[damage])
    _edit_config(ckpt, lambda c: c["glyphs"].update(source={"file": str(bad), "family": None}))
    with pytest.raises(FontError, match="not a readable font file") as e:
        Stylizer.from_pretrained(ckpt, device="cpu")
    assert str(bad) in str(e.value)


# --- exposure -------------------------------------------------------------------------------------------

def test_app_launch_options_never_share_bind_localhost_and_guard_requests():
    from app import launch_options
    from unet.demo.guard import RequestGuard
    from unet.settings import BODY_LIMIT, Settings

    options = launch_options(Settings())
    assert options["share"] is False and options["server_name"] == "127.0.0.1"
    assert launch_options(Settings(server_name="0.0.0.0"))["server_name"] == "0.0.0.0"  # only when asked
    guards = [m for m in options["app_kwargs"]["middleware"] if m.cls is RequestGuard]
    assert len(guards) == 1 and guards[0].kwargs["body_limit"] == BODY_LIMIT
    assert "0.0.0.0" not in (REPO / "app.py").read_text(encoding="utf-8")
    assert "share=True" not in (REPO / "app.py").read_text(encoding="utf-8")


def test_app_main_launches_on_localhost_without_share(monkeypatch):
    import logging
    import runpy

    import gradio as gr

    seen = []
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, *a, **k: seen.append((a, k)))
    monkeypatch.setattr(logging, "basicConfig", lambda *a, **k: None)
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    monkeypatch.setenv("GRADIO_SHARE", "True")  # an explicit share=False must win over this
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(REPO / "app.py"), run_name="__main__")
    assert done.value.code == 0
    assert len(seen) == 1
    args, kwargs = seen[0]
    assert not args
    assert kwargs["server_name"] == "127.0.0.1"
    assert kwargs["share"] is False
    assert not kwargs.get("show_error")  # internal errors are not sent to the browser
    assert not kwargs.get("allowed_paths")


# --- attacks ---------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_quick_attacks_meet_every_target():
    """``python -m tools.stress --attacks --quick``: every hostile script of ``tools.attacks`` (export
    queue filled, server functions flooded, huge bodies, uploads, session churn, pages leaving
    mid-export, log flooding, wrong types) against ``python app.py`` started as the stress tool
    starts it (its own process, temp dirs and log), every target met.

    Latency targets compare a new visitor's /generate under load with the same kind of request
    alone, measured just before on the same machine: a ratio (3x), not seconds, so a busy host
    slows both sides alike."""
    from tools.attacks import QUICK, Target, run_attacks

    with stress.Server() as app:
        target = Target(app.url, pid=app.pid, cache_dir=app.cache_dir, tmp_dir=app.tmp_dir, server=app,
                        scale=QUICK, log=lambda m: None)
        results = run_attacks(target)
    missed = [f"{r.name}: {r.summary}\n    target: {r.target}\n    " + "\n    ".join(r.problems[:3])
              for r in results if not r.met]
    assert not missed, "\n".join(missed)
    assert len(results) == 10
