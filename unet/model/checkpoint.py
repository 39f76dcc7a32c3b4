"""The checkpoint format: a directory of ``config.json`` + ``model.safetensors`` (+ model card),
local or on the Hugging Face Hub, never pickles.

``config.json`` holds the generator's constructor arguments under ``"generator"`` and everything the
engine needs to render exactly as in training under ``"glyphs"`` / ``"styles"``. This module knows
files and tensors, not the network: ``unet.model.network`` builds the model from what it reads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import CheckpointError

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def write_checkpoint(directory: str | Path, config: dict, state_dict: dict[str, torch.Tensor],
                     dtype: torch.dtype | None = None) -> Path:
    """Write config.json and model.safetensors (floating tensors optionally cast, e.g. to float16);
    the weights appear whole or not at all."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v).contiguous()
               for k, v in state_dict.items()}
    tmp = directory / (WEIGHTS_NAME + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": "pt"})
    os.replace(tmp, directory / WEIGHTS_NAME)
    (directory / CONFIG_NAME).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    return directory


def resolve_checkpoint(path_or_repo: str | Path, revision: str | None = None) -> Path:
    """A local directory as is; otherwise a Hub repo id, downloaded (or read from the cache when
    ``HF_HUB_OFFLINE=1``) with huggingface_hub."""
    path = Path(path_or_repo)
    if path.is_dir():
        return path
    if path.exists():
        raise CheckpointError(f"{path}: a checkpoint is a directory holding {CONFIG_NAME} and {WEIGHTS_NAME}")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError

    try:
        return Path(snapshot_download(str(path_or_repo), revision=revision,
                                      allow_patterns=["*.json", "*.safetensors", "*.md", "*.txt"]))
    except HFValidationError as e:
        raise CheckpointError(f"{path_or_repo!r} is neither a local checkpoint directory nor a valid "
                              f"Hub repo id") from e
    except Exception as e:  # offline cache miss, network error, unknown repo
        raise CheckpointError(f"could not load checkpoint {path_or_repo!r} from the Hugging Face Hub "
                              f"({type(e).__name__}: {e})") from e


def read_config(directory: Path) -> dict:
    file = directory / CONFIG_NAME
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(config.get("generator"), dict):
            raise KeyError("generator")
    except FileNotFoundError as e:
        raise CheckpointError(f"{file}: missing") from e
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise CheckpointError(f"{file}: not a valid generator config ({type(e).__name__}: {e})") from e
    return config


def read_weights(directory: Path, expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors of ``directory``'s safetensors file, each checked against ``expected`` (a model's
    state dict): names, shapes, finite values; cast to the expected dtypes."""
    file = directory / WEIGHTS_NAME
    if not file.is_file():
        raise CheckpointError(f"{file}: missing")
    try:
        tensors = load_file(str(file))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{file}: corrupt or truncated safetensors file ({e})") from e
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [f"{k}: {tuple(tensors[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
             if k in tensors and tensors[k].shape != v.shape]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing tensor(s), e.g. {missing[:3]}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected tensor(s), e.g. {unexpected[:3]}")
        if wrong:
            parts.append(f"{len(wrong)} shape mismatch(es), e.g. {wrong[:3]}")
        raise CheckpointError(f"{file} does not fit {directory / CONFIG_NAME}: " + "; ".join(parts))
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{file}: non-finite values in {bad[:3]}")
    return {k: v.to(expected[k].dtype) for k, v in tensors.items()}
