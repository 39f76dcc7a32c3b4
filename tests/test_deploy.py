"""Deploying to a Hugging Face Space: what the dry run lists, what the upload would send (to a fake
HfApi), and a rehearsal that runs the app the way a Space does from exactly those files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from tools import deploy_space

from .support import REPO, free_port


def test_dry_run_lists_what_a_space_needs_and_nothing_else(capsys):
    assert deploy_space.main(["me/glyphs", "--dry-run"]) == 0
    out = capsys.readouterr().out
    listed = [line.split()[1] for line in out.splitlines()[1:-1]]
    for needed in ("app.py", "requirements.txt", "packages.txt", "README.md", "unet/demo/service.py",
                   "unet/demo/web/attention.js", "assets/fonts/NotoSerifCJKtc-Regular-subset.otf",
                   "assets/fonts/OFL-NotoSerifCJK.txt",
                   "checkpoints/glyph-attention-3style/model.safetensors",
                   "checkpoints/glyph-attention-3style/config.json"):
        assert needed in listed, needed
    assert not [f for f in listed if f.startswith(("tests/", "benchmarks/", "tools/", ".ci/"))
                or "__pycache__" in f or f.endswith((".pyc", "requirements-dev.txt"))]
    assert "(LFS)" in out  # the weights go through LFS
    import re

    pictures = re.findall(r"\]\((docs/[^)]+)\)", (REPO / "README.md").read_text(encoding="utf-8"))
    assert pictures and set(pictures) <= set(listed)  # the card shows every picture it links
    sizes = {line.split()[1]: int(line.split()[0].replace(",", "")) for line in out.splitlines()[1:-1]}
    assert sizes["app.py"] == (REPO / "app.py").stat().st_size


def test_model_repo_moves_the_weights_out_of_the_space(capsys):
    deploy_space.main(["me/glyphs", "--dry-run", "--model-repo", "me/glyph-model"])
    out = capsys.readouterr().out
    model, space = out.split("\n\n")
    assert "model.safetensors" in model and "samples_heldout.png" in model
    assert "model.safetensors" not in space


class FakeApi:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append((name, args, kwargs))


def test_deploy_creates_a_gradio_space_and_commits_the_listed_files():
    api = FakeApi()
    url = deploy_space.deploy("me/glyphs", model_repo="me/glyph-model", api=api)
    assert url == "https://huggingface.co/spaces/me/glyphs"
    names = [c[0] for c in api.calls]
    assert names == ["create_repo", "create_commit", "create_repo", "create_commit", "add_space_variable"]
    space_repo = api.calls[2]
    assert space_repo[1] == ("me/glyphs",) and space_repo[2]["space_sdk"] == "gradio"
    sent = [op.path_in_repo for op in api.calls[3][2]["operations"]]
    assert sent == [u.remote for u in deploy_space.space_uploads(with_checkpoint=False)]
    assert api.calls[4][1] == ("me/glyphs", "GLYPH_CHECKPOINT", "me/glyph-model")


def test_bad_space_id_is_a_clear_message(capsys):
    with pytest.raises(SystemExit):
        deploy_space.main(["no-slash", "--dry-run"])
    assert "USER/NAME" in capsys.readouterr().err


@pytest.mark.slow
def test_space_rehearsal(tmp_path):
    """A fresh virtual environment with only the CPU torch pin, requirements.txt and ``spaces``;
    ``python app.py`` started as a Space starts it, from a folder holding exactly the uploaded files;
    one generation through the API. Fails if the app needs anything the upload leaves out."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    pip = [py, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(pip + ["torch==2.13.0"], check=True, timeout=900)
    subprocess.run(pip + ["-r", str(REPO / "requirements.txt"), "spaces"], check=True, timeout=900)

    space = tmp_path / "space"
    for f in deploy_space.space_uploads():
        (space / f.remote).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f.local, space / f.remote)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(GRADIO_SERVER_NAME="0.0.0.0", GRADIO_SERVER_PORT=str(port), SYSTEM="spaces",
               GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    log = open(tmp_path / "app.log", "wb")
    t0 = time.perf_counter()
    proc = subprocess.Popen([py, "app.py"], cwd=space, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        from gradio_client import Client

        client = None
        while time.perf_counter() - t0 < 120 and proc.poll() is None:
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.2)
        assert client is not None, (tmp_path / "app.log").read_text(errors="replace")[-3000:]
        sheet, status, *_ = client.predict("永和", "LXGW WenKai", "(none)", 0.5, ["32x32", "16x16"],
                                           api_name="/generate")
        cold = time.perf_counter() - t0
        assert sheet["chars"] == ["永", "和"] and "**2** glyph(s)" in status
        print(f"cold start (process start -> first answer): {cold:.1f} s")
        (REPO / "tests" / "artifacts").mkdir(exist_ok=True)
        (REPO / "tests" / "artifacts" / "space_cold_start.txt").write_text(f"{cold:.2f}\n")
        assert cold <= 15, f"cold start {cold:.1f} s > 15 s"
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def test_space_card_matches_the_pins():
    card = (REPO / "README.md").read_text(encoding="utf-8").split("---")[1]
    fields = dict(line.split(": ", 1) for line in card.strip().splitlines())
    pin = next(line.split("==")[1].strip() for line in (REPO / "requirements.txt").read_text().splitlines()
               if line.startswith("gradio=="))
    assert fields["sdk"] == "gradio" and fields["sdk_version"] == pin
    assert fields["app_file"] == "app.py" and fields["python_version"].strip('"') == "3.11"
    assert fields["suggested_hardware"] == "cpu-basic"
