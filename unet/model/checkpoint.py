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
from typing import NoReturn

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import CheckpointError, shown

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
    """``directory``'s config.json, parsed and checked by ``validate_config``."""
    file = directory / CONFIG_NAME
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise CheckpointError(f"{file}: missing") from e
    except (ValueError, RecursionError) as e:  # bad JSON or UTF-8, a 5000-digit number, deep nesting
        raise CheckpointError(f"{file}: not valid JSON ({type(e).__name__}: {str(e)[:200]})") from e
    except OSError as e:
        raise CheckpointError(f"{file}: cannot be read ({e.strerror or e})") from e
    return validate_config(config, file)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # JSON true is not a size


_COUNT = ("a whole number >= 0", lambda v: _is_int(v) and v >= 0)
_BOOL = ("true or false", lambda v: isinstance(v, bool))
# The generator's constructor arguments (``UnetConfig``) and the JSON values each may have; the rest
# (num_downs >= 5, attention resolutions the network has...) is checked by ``UnetGenerator``, whose
# messages name the argument. The norm names are ``unet.model.network.NORM_LAYERS``'s.
GENERATOR_FIELDS = {
    "input_nc": _COUNT, "output_nc": _COUNT, "num_downs": _COUNT, "ngf": _COUNT,
    "norm_layer": ('"batch" or "instance"', lambda v: v in ("batch", "instance")),
    "use_dropout": _BOOL,
    "use_attention": ("true, false or a list of resolutions",
                      lambda v: isinstance(v, bool) or isinstance(v, list) and all(map(_is_int, v))),
    "image_size": ("a whole number or null", lambda v: v is None or _is_int(v) and v > 0),
    "num_styles": _COUNT, "style_dim": _COUNT, "max_mult": _COUNT, "output_blur": _BOOL,
}
MAX_GLYPH_SIZE = 1024  # glyphs are rendered at this size: a typo like 12800 would allocate gigabytes


def validate_config(config, file: Path) -> dict:
    """Check every field the package reads from a checkpoint's config.json, so that a malformed one
    is a ``CheckpointError`` naming the file and the field ("<file>: styles[1].font: missing")
    instead of a TypeError or KeyError deep in the loader, the engine or the exporter.

    ``generator`` is required; ``glyphs``, ``styles`` and the chars files are optional (a bare
    generator checkpoint has none) but must be well formed where present. Unknown top-level keys
    (``dataset``, training notes) are kept as they are. Returns ``config`` unchanged.
    """

    def fail(field: str, problem: str) -> NoReturn:
        raise CheckpointError(f"{file}: {field}: {problem}")

    def check_font(spec, field: str) -> None:
        if not isinstance(spec, dict):
            fail(field, f'must be an object with "file" (and "family"), got {shown(spec)}')
        if "file" not in spec:
            fail(f"{field}.file", "missing")
        if not isinstance(spec["file"], str) or not spec["file"].strip():
            fail(f"{field}.file", f"must be a font file name, got {shown(spec['file'])}")
        if spec.get("family") is not None and not isinstance(spec["family"], str):
            fail(f"{field}.family", f"must be a family name or null, got {shown(spec['family'])}")

    if not isinstance(config, dict):
        fail("(top level)", f"must be a JSON object, got {shown(config)}")

    if "generator" not in config:
        fail("generator", "missing (the network's constructor arguments)")
    generator = config["generator"]
    if not isinstance(generator, dict):
        fail("generator", f"must be an object, got {shown(generator)}")
    for key, value in generator.items():
        if key not in GENERATOR_FIELDS:
            fail(f"generator.{key[:40]}", f"unknown field; expected some of {', '.join(GENERATOR_FIELDS)}")
        wanted, check = GENERATOR_FIELDS[key]
        if not check(value):
            fail(f"generator.{key}", f"must be {wanted}, got {shown(value)}")
    num_styles = generator.get("num_styles")
    num_downs = generator.get("num_downs")

    if "glyphs" in config:
        glyphs = config["glyphs"]
        if not isinstance(glyphs, dict):
            fail("glyphs", f'must be an object with "size" and "source", got {shown(glyphs)}')
        if "source" not in glyphs:
            fail("glyphs.source", "missing (the font the input glyphs are drawn in)")
        check_font(glyphs["source"], "glyphs.source")
        if "size" in glyphs:
            size = glyphs["size"]
            if not _is_int(size) or not 1 <= size <= MAX_GLYPH_SIZE:
                fail("glyphs.size", f"must be a whole number of pixels from 1 to {MAX_GLYPH_SIZE}, "
                                    f"got {shown(size)}")
            if _is_int(num_downs) and 0 < num_downs < 31 and size % 2 ** num_downs:
                fail("glyphs.size", f"{size} is not divisible by 2**generator.num_downs = {2 ** num_downs}")

    if "styles" in config:
        styles = config["styles"]
        if not isinstance(styles, list):
            fail("styles", f'must be a list of objects with "name" and "font", got {shown(styles)}')
        names: dict[str, int] = {}
        for i, style in enumerate(styles):
            field = f"styles[{i}]"
            if not isinstance(style, dict):
                fail(field, f'must be an object with "name" and "font", got {shown(style)}')
            if "name" not in style:
                fail(f"{field}.name", "missing")
            name = style["name"]
            if not isinstance(name, str) or not name.strip():
                fail(f"{field}.name", f"must be a non-empty string, got {shown(name)}")
            if name in names:
                fail(f"{field}.name", f"{shown(name)} is already the name of styles[{names[name]}]")
            names[name] = i
            if "font" not in style:
                fail(f"{field}.font", "missing (the style's real font)")
            check_font(style["font"], f"{field}.font")
        if styles and _is_int(num_styles) and num_styles > 0 and len(styles) != num_styles:
            fail("styles", f"{len(styles)} style(s) for a model with generator.num_styles = {num_styles}")

    for key in ("training_chars_file", "heldout_chars_file"):
        name = config.get(key)
        if name is None:
            continue
        if not isinstance(name, str):
            fail(key, f"must be a file name in the checkpoint directory or null, got {shown(name)}")
        path = Path(name)
        if path.is_absolute() or ".." in path.parts:
            fail(key, f"must name a file inside the checkpoint directory, got {shown(name)}")
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
