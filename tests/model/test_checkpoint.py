"""Checkpoint directories: config.json + model.safetensors round trip and clear errors, no pickles."""

import json
import pickle
import re
import struct
from pathlib import Path

import pytest
import torch

from unet import UnetGenerator, attention_layers
from unet.model import CheckpointError, load_generator
from unet.model.checkpoint import CONFIG_NAME, WEIGHTS_NAME

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "checkpoints" / "glyph-attention-3style"
STYLES = [{"name": "a", "font": {"file": "a.ttf", "family": None}},
          {"name": "b", "font": {"file": "b.ttc", "family": "B"}}]


def tiny_model(seed=0, **kw) -> UnetGenerator:
    torch.manual_seed(seed)
    kw = {"ngf": 4, "num_styles": 2, "style_dim": 4, "use_attention": {8, 4}, "use_dropout": True,
          **kw}
    g = UnetGenerator(1, 1, 5, **kw)
    with torch.no_grad():  # non-trivial gammas and BatchNorm statistics, so a bad load shows
        for i, layer in enumerate(attention_layers(g).values()):
            layer.gamma.fill_(0.3 + 0.1 * i)
        for m in g.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return g.eval()


@pytest.fixture
def saved(tmp_path):
    g = tiny_model()
    directory = g.save_pretrained(tmp_path / "ckpt", metadata={"styles": STYLES})
    return g, Path(directory)


def test_round_trip_gives_identical_outputs(saved):
    g, directory = saved
    assert sorted(p.name for p in directory.iterdir()) == [CONFIG_NAME, WEIGHTS_NAME]
    h, config, resolved = load_generator(directory)
    assert resolved == directory
    assert not h.training  # loaded in eval mode
    assert config["styles"] == STYLES
    assert config["generator"] == g.config.to_dict()
    assert h.config == g.config
    for k, v in g.state_dict().items():
        assert torch.equal(h.state_dict()[k], v), k
    x = torch.rand(3, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        for style in (torch.tensor([0, 1, 0]), torch.tensor([0.3, 0.7])):
            assert torch.equal(h(x, style), g(x, style))


def test_from_pretrained_matches_load_generator(saved):
    g, directory = saved
    h = UnetGenerator.from_pretrained(str(directory))
    x = torch.zeros(1, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(h(x, torch.tensor([1])), g(x, torch.tensor([1])))


def test_float16_save_loads_back_as_float32(tmp_path):
    g = tiny_model()
    g.save_pretrained(tmp_path / "half", dtype=torch.float16)
    from safetensors.torch import load_file

    stored = load_file(str(tmp_path / "half" / WEIGHTS_NAME))
    assert stored["model.model.0.weight"].dtype == torch.float16
    assert stored["model.model.1.model.2.num_batches_tracked"].dtype == torch.int64
    h = load_generator(tmp_path / "half")[0]
    assert h.model.model[0].weight.dtype == torch.float32
    torch.testing.assert_close(h.model.model[0].weight, g.model.model[0].weight, rtol=1e-3, atol=1e-3)


def test_weights_are_safetensors_not_pickle(saved):
    _, directory = saved
    raw = (directory / WEIGHTS_NAME).read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_len])
    assert header["__metadata__"] == {"format": "pt"}
    assert raw[:2] != b"\x80\x02" and b"PK\x03\x04" not in raw[:4]  # neither pickle nor torch zip


def test_loading_never_unpickles(saved, monkeypatch):
    _, directory = saved

    def forbidden(*args, **kwargs):
        raise AssertionError("checkpoint loading must not unpickle")

    monkeypatch.setattr(torch, "load", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    model, _, _ = load_generator(directory)
    assert isinstance(model, UnetGenerator)


def test_truncated_weights(saved):
    _, directory = saved
    file = directory / WEIGHTS_NAME
    raw = file.read_bytes()
    file.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated") as e:
        load_generator(directory)
    assert str(file) in str(e.value)


@pytest.mark.parametrize("payload", [b"", b"\x00" * 7, b"not a safetensors file at all" * 50,
                                     struct.pack("<Q", 10 ** 12) + b"{}"])
def test_garbage_weights(saved, payload):
    _, directory = saved
    file = directory / WEIGHTS_NAME
    file.write_bytes(payload)
    with pytest.raises(CheckpointError) as e:
        load_generator(directory)
    assert str(file) in str(e.value)


def test_shape_mismatch_when_config_changed(saved):
    _, directory = saved
    cfg_file = directory / CONFIG_NAME
    cfg = json.loads(cfg_file.read_text())
    cfg["generator"]["ngf"] = 8
    cfg_file.write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="shape mismatch") as e:
        load_generator(directory)
    msg = str(e.value)
    assert str(directory / WEIGHTS_NAME) in msg and str(cfg_file) in msg
    assert "model.model.0.weight" in msg


def test_missing_and_unexpected_tensors_when_attention_changed(saved):
    _, directory = saved
    cfg_file = directory / CONFIG_NAME
    cfg = json.loads(cfg_file.read_text())
    cfg["generator"]["use_attention"] = [16]
    cfg_file.write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"missing tensor.*unexpected tensor") as e:
        load_generator(directory)
    assert str(directory / WEIGHTS_NAME) in str(e.value)


def test_missing_config(saved):
    _, directory = saved
    (directory / CONFIG_NAME).unlink()
    with pytest.raises(CheckpointError, match="missing") as e:
        load_generator(directory)
    assert str(directory / CONFIG_NAME) in str(e.value)


@pytest.mark.parametrize("text", ["{not json", '{"no_generator": {}}', '{"generator": {"bogus": 1}}',
                                  '{"generator": {"num_downs": 3}}', '{"generator": {"ngf": "four"}}',
                                  '{"generator": {"ngf": ' + "9" * 5000 + "}}", "[" * 100_000,
                                  b'{"generator": {"\xff": 1}}'],
                         ids=["not-json", "no-generator", "unknown-field", "num_downs-3", "ngf-four",
                              "5000-digits", "deep-nesting", "not-utf8"])
def test_invalid_config(saved, text):
    _, directory = saved
    (directory / CONFIG_NAME).write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(CheckpointError) as e:
        load_generator(directory)
    assert str(directory / CONFIG_NAME) in str(e.value)


def test_missing_weights(saved):
    _, directory = saved
    (directory / WEIGHTS_NAME).unlink()
    with pytest.raises(CheckpointError, match="missing") as e:
        load_generator(directory)
    assert str(directory / WEIGHTS_NAME) in str(e.value)


def test_non_finite_weights(tmp_path):
    g = tiny_model()
    with torch.no_grad():
        g.model.model[0].weight[0, 0, 0, 0] = float("nan")
    g.save_pretrained(tmp_path / "nan")
    with pytest.raises(CheckpointError, match="non-finite"):
        load_generator(tmp_path / "nan")


def test_a_file_is_not_a_checkpoint(tmp_path):
    f = tmp_path / "model.safetensors"
    f.write_bytes(b"x")
    with pytest.raises(CheckpointError, match="directory"):
        load_generator(f)


@pytest.mark.skipif(not (SHIPPED / WEIGHTS_NAME).is_file(), reason="shipped checkpoint not present")
def test_shipped_checkpoint_loads():
    model, config, _ = load_generator(SHIPPED)
    assert [s["name"] for s in config["styles"]] == ["LXGW WenKai", "AR PL UKai", "Smiley Sans"]
    assert model.config.num_styles == 3
    assert list(attention_layers(model)) == ["32x32", "16x16"]
    size = config["glyphs"]["size"]
    with torch.no_grad():
        y = model(torch.ones(1, 1, size, size), torch.tensor([0]))
    assert y.shape == (1, 1, size, size) and torch.isfinite(y).all() and y.abs().max() <= 1


# --- malformed config.json: every broken field is a CheckpointError naming the file and the field ---

DELETE = object()


def set_path(config: dict, path: tuple, value) -> None:
    """Set (or, with ``DELETE``, remove) config[path[0]][path[1]]...; a path () replaces it all."""
    *parents, last = path
    for key in parents:
        config = config[key]
    if value is DELETE:
        del config[last]
    else:
        config[last] = value


BROKEN = [  # (where, new value, the field the message must name)
    ((), [1, 2], "(top level)"),
    (("generator",), DELETE, "generator"),
    (("generator",), "unet", "generator"),
    (("generator", "bogus"), 1, "generator.bogus"),
    (("generator", "ngf"), "four", "generator.ngf"),
    (("generator", "style_dim"), -1, "generator.style_dim"),
    (("generator", "use_attention"), "yes", "generator.use_attention"),
    (("generator", "norm_layer"), "group", "generator.norm_layer"),
    (("generator", "num_downs"), 3, "num_downs"),  # in range only for UnetGenerator, which names it
    (("glyphs",), [], "glyphs"),
    (("glyphs", "source"), DELETE, "glyphs.source"),
    (("glyphs", "source", "file"), 7, "glyphs.source.file"),
    (("glyphs", "size"), "big", "glyphs.size"),
    (("glyphs", "size"), 48, "glyphs.size"),  # not a multiple of 2**num_downs = 32
    (("glyphs", "size"), 10 ** 6, "glyphs.size"),
    (("styles",), "LXGW WenKai", "styles"),
    (("styles", 0), "LXGW WenKai", "styles[0]"),
    (("styles", 1, "font"), DELETE, "styles[1].font"),
    (("styles", 1, "font", "family"), 5, "styles[1].font.family"),
    (("styles", 0, "name"), 12, "styles[0].name"),
    (("styles", 1, "name"), "LXGW WenKai", "styles[1].name"),  # the same name twice
    (("styles",), [{"name": n, "font": {"file": "x.ttf"}} for n in "abc"], "styles"),  # num_styles is 2
    (("training_chars_file",), 123, "training_chars_file"),
    (("heldout_chars_file",), "../../etc/passwd", "heldout_chars_file"),
]


@pytest.fixture
def full(tmp_path) -> Path:
    """A tiny checkpoint whose config has every field the shipped one has (its glyphs and two of its
    styles)."""
    shipped = json.loads((SHIPPED / CONFIG_NAME).read_text(encoding="utf-8"))
    meta = {"glyphs": {**shipped["glyphs"], "size": 64}, "styles": shipped["styles"][:2],
            "dataset": {"num_train": 1}, "training_chars_file": "training_chars.txt",
            "heldout_chars_file": "heldout_chars.txt"}
    return Path(tiny_model().save_pretrained(tmp_path / "full", metadata=meta))


def test_the_full_config_loads(full):
    _, config, _ = load_generator(full)
    assert [s["name"] for s in config["styles"]] == ["LXGW WenKai", "AR PL UKai"]


@pytest.mark.parametrize(("path", "value", "field"), BROKEN, ids=[b[2] + "=" + str(b[1])[:12] for b in BROKEN])
def test_every_malformed_field_names_the_file_and_the_field(full, path, value, field):
    file = full / CONFIG_NAME
    config = json.loads(file.read_text(encoding="utf-8"))
    if path:
        set_path(config, path, value)
    else:
        config = value
    file.write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(CheckpointError) as e:
        load_generator(full)
    msg = str(e.value)
    assert msg.startswith(f"{file}: ") and field in msg, msg
    assert "\n" not in msg and len(msg) < len(str(file)) + 200, msg


def test_a_long_value_is_clipped_in_the_message(full):
    file = full / CONFIG_NAME
    config = json.loads(file.read_text(encoding="utf-8"))
    config["styles"] = "永" * 5000
    file.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"styles: must be a list") as e:
        load_generator(full)
    assert "永" * 41 not in str(e.value)


@pytest.mark.parametrize(("path", "value", "field"), [
    (("styles",), "LXGW WenKai", "styles"), (("glyphs", "size"), "big", "glyphs.size"),
    (("styles", 1, "font"), DELETE, "styles[1].font"), (("training_chars_file",), 123, "training_chars_file")])
def test_the_stylizer_gets_a_checked_config(full, path, value, field):
    """The four configs that once ended in a bare TypeError/ValueError/KeyError in Stylizer."""
    from unet.engine.stylizer import Stylizer

    file = full / CONFIG_NAME
    config = json.loads(file.read_text(encoding="utf-8"))
    set_path(config, path, value)
    file.write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(CheckpointError, match=rf"^{re.escape(str(file))}: {re.escape(field)}: "):
        Stylizer.from_pretrained(full, device="cpu")


def test_generator_fields_are_the_constructor_arguments():
    from dataclasses import fields

    from unet.model.checkpoint import GENERATOR_FIELDS
    from unet.model.network import NORM_LAYERS, UnetConfig

    assert list(GENERATOR_FIELDS) == [f.name for f in fields(UnetConfig)]
    check = GENERATOR_FIELDS["norm_layer"][1]
    assert all(check(name) for name in NORM_LAYERS) and not check("group")
