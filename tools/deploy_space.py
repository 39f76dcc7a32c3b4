"""Deploy the demo to a Hugging Face Space: ``python tools/deploy_space.py USER/NAME``.

Creates the Space (Gradio SDK) if it does not exist and uploads, in one commit, the files a Space
needs to run ``app.py`` and nothing else (no tests, benchmarks, tools or caches). huggingface_hub
sends files over 10 MiB (the font subset, the weights) through Git LFS itself, so this repository's
own history never has to change. ``--dry-run`` lists every file with its size and uploads nothing.

``--model-repo USER/MODEL`` also pushes the shipped checkpoint as a model repository and makes the
Space load it by id (the ``GLYPH_CHECKPOINT`` Space variable) instead of carrying the weights.
Needs a token with write access: ``huggingface-cli login``, ``HF_TOKEN`` or ``--token``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHECKPOINT = "checkpoints/glyph-attention-3style"
# What app.py needs at run time, and the Space card's pictures. Everything else stays home.
SPACE_FILES = ["README.md", "LICENSE", "app.py", "requirements.txt", "packages.txt",
               "docs/*.png", "assets/fonts/*", "unet/**/*.py", "unet/demo/web/*", "unet/demo/web/strings/*.json"]
CHECKPOINT_FILES = ["config.json", "model.safetensors", "training_chars.txt", "heldout_chars.txt",
                    "metrics.json"]
MODEL_CARD_FILES = ["README.md", "samples_heldout.png", "samples_outside_charset.png", "samples_defects.png"]


@dataclass(frozen=True)
class Upload:
    """One file: where it is here, where it goes in the repository, and its size."""

    local: Path
    remote: str
    size: int


def _expand(root: Path, patterns: list[str], prefix: str = "") -> list[Upload]:
    out = []
    for pattern in patterns:
        matches = sorted(p for p in root.glob(pattern) if p.is_file())
        if not matches:
            raise FileNotFoundError(f"{root / pattern}: nothing to upload (is this a full checkout?)")
        out += [Upload(p, prefix + p.relative_to(root).as_posix(), p.stat().st_size) for p in matches]
    return out


def space_uploads(root: Path = REPO, with_checkpoint: bool = True) -> list[Upload]:
    """The Space's files: the app and its package, fonts, and (unless the model lives in its own
    repository) the shipped checkpoint's weights and metadata."""
    files = _expand(root, SPACE_FILES)
    if with_checkpoint:
        files += _expand(root / CHECKPOINT, CHECKPOINT_FILES, CHECKPOINT + "/")
    return files


def model_uploads(root: Path = REPO) -> list[Upload]:
    """The checkpoint as a model repository: weights, metadata and its model card."""
    return _expand(root / CHECKPOINT, CHECKPOINT_FILES + MODEL_CARD_FILES)


def listing(title: str, files: list[Upload]) -> str:
    rows = [f"{f.size:>12,}  {f.remote}" + ("  (LFS)" if f.size > 10 * 1024 ** 2 else "") for f in files]
    total = sum(f.size for f in files)
    return "\n".join([title, *rows, f"{total:>12,}  bytes in {len(files)} files"])


def deploy(space: str, model_repo: str | None = None, token: str | None = None, private: bool = False,
           hardware: str | None = None, api=None) -> str:
    """Create (if needed) and fill the Space; returns its URL. ``api``: an ``HfApi`` (tests pass a fake)."""
    from huggingface_hub import CommitOperationAdd, HfApi

    api = api or HfApi(token=token)

    def ops(files):
        return [CommitOperationAdd(path_in_repo=f.remote, path_or_fileobj=str(f.local)) for f in files]

    if model_repo:
        api.create_repo(model_repo, repo_type="model", private=private, exist_ok=True)
        api.create_commit(model_repo, repo_type="model", operations=ops(model_uploads()),
                          commit_message="Glyph Attention checkpoint")
    api.create_repo(space, repo_type="space", space_sdk="gradio", private=private, exist_ok=True,
                    space_hardware=hardware)
    api.create_commit(space, repo_type="space", operations=ops(space_uploads(with_checkpoint=not model_repo)),
                      commit_message="Deploy Glyph Attention")
    if model_repo:
        api.add_space_variable(space, "GLYPH_CHECKPOINT", model_repo)
    return f"https://huggingface.co/spaces/{space}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python tools/deploy_space.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("space", help="the Space's id, USER/NAME")
    p.add_argument("--dry-run", action="store_true", help="list the files and sizes; upload nothing")
    p.add_argument("--model-repo", help="push the checkpoint to this model repo and load it by id")
    p.add_argument("--token", help="a Hugging Face token with write access (default: your login)")
    p.add_argument("--private", action="store_true")
    p.add_argument("--hardware", default=None, help="e.g. cpu-basic (default), cpu-upgrade, t4-small")
    a = p.parse_args(argv)
    if a.space.count("/") != 1 or not all(a.space.split("/")):
        p.error(f"the Space id must look like USER/NAME, got {a.space!r}")
    if a.dry_run:
        if a.model_repo:
            print(listing(f"model repo {a.model_repo}:", model_uploads()) + "\n")
        print(listing(f"Space {a.space}:", space_uploads(with_checkpoint=not a.model_repo)))
        return 0
    try:
        url = deploy(a.space, a.model_repo, a.token, a.private, a.hardware)
    except Exception as e:  # huggingface_hub's errors say what went wrong (token, name, network)
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"deployed: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
