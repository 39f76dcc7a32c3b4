"""Request parsing: strict types (a string is not a number, "false" is not a flag) and short messages
(a huge value is quoted by a short prefix, never whole: messages are logged)."""

from __future__ import annotations

import pytest

from unet.engine.charsets import resolve_charset
from unet.engine.request import (
    check_layer_names,
    from_wire,
    make_request,
    parse_flag,
    parse_index,
    parse_number,
    parse_point,
    parse_style,
)
from unet.errors import CharsetError, GenerationError, UnknownLayerError, UserError, shown

STYLES = ["WenKai", "Nowhere"]
LAYERS = ["16x16", "8x8"]
HUGE = "a" * 2 ** 20  # 1 MB
SHORT = 200  # no message quoting a user's value may be longer than this


def message(error_type, call, *args, **kwargs) -> str:
    with pytest.raises(error_type) as excinfo:
        call(*args, **kwargs)
    text = str(excinfo.value)
    assert text.strip(), "an error must carry a message"
    return text


def test_shown_clips_long_values_and_says_how_long_they_were():
    assert shown("Comic Sans") == "'Comic Sans'"
    assert shown(-0.5) == "-0.5"
    clipped = shown(HUGE)
    assert clipped.startswith("'aaaa") and "…" in clipped and "1,048,576 characters" in clipped
    assert len(clipped) < 80
    assert "10,000 items" in shown([f"layer{i}" for i in range(10_000)])
    assert "401 digits" in shown(10 ** 400)
    assert len(shown("x" * 100, limit=10)) < 40


def test_shown_survives_an_integer_too_long_for_str():
    assert "bits" in shown(10 ** 5000)  # repr() itself refuses past 4,300 digits


def test_a_user_error_never_has_an_empty_message():
    assert str(GenerationError()).strip()
    assert str(UserError("")).strip()
    assert str(GenerationError("unknown style")) == "unknown style"


@pytest.mark.parametrize("call", [
    pytest.param(lambda: parse_style(HUGE, STYLES), id="style"),
    pytest.param(lambda: parse_style([HUGE] * 3, STYLES), id="style-list"),
    pytest.param(lambda: make_request("永", "WenKai", HUGE, 0.5, [], STYLES, LAYERS), id="blend"),
    pytest.param(lambda: parse_number(HUGE, "the blend weight", 0, 1), id="weight-text"),
    pytest.param(lambda: parse_number(10 ** 4000, "the blend weight", 0, 1), id="weight-huge-int"),
    pytest.param(lambda: parse_index([0] * 100_000, 4), id="index-list"),
    pytest.param(lambda: parse_point(HUGE, 1, 64), id="point"),
    pytest.param(lambda: parse_flag(HUGE, "the complete option"), id="flag"),
    pytest.param(lambda: from_wire(["永", HUGE, None, 0.0, []], STYLES, LAYERS), id="wire-style"),
])
def test_a_huge_value_gives_a_short_message(call):
    text = message(GenerationError, call)
    assert len(text) < SHORT, text[:300]


@pytest.mark.parametrize("names", [
    pytest.param([HUGE], id="one-long-name"),
    pytest.param([f"layer{i}" for i in range(10_000)], id="ten-thousand-names"),
    pytest.param(HUGE, id="a-string-not-a-list"),
])
def test_unknown_layer_names_are_clipped(names):
    text = message(UnknownLayerError, check_layer_names, names, LAYERS)
    assert len(text) < SHORT and text.startswith("unknown attention layer(s) [") and "16x16, 8x8" in text


def test_a_short_unknown_name_is_quoted_whole():
    assert "unknown style 'Comic Sans'" in message(GenerationError, parse_style, "Comic Sans", STYLES)
    assert "['64x64']" in message(UnknownLayerError, check_layer_names, ["64x64"], LAYERS)


def test_a_huge_charset_argument_gives_a_short_message_not_a_crash():
    text = message(CharsetError, resolve_charset, HUGE)  # once: "File name too long" from the OS
    assert len(text) < 400 and "1,048,576 characters" in text  # the list of names + 40 characters
    assert len(resolve_charset("永" * 5000)) == 1  # a long text of characters is a text


@pytest.mark.parametrize("value", ["0.5", "1", "", " 0.5 ", "nan", None, True, False, [0.5], b"0.5"])
def test_numbers_are_numbers_not_text_or_bools(value):
    text = message(GenerationError, parse_number, value, "the blend weight", 0, 1)
    assert text.startswith("the blend weight must be a number in [0, 1], got ")
    if isinstance(value, str):
        assert "send a number" in text


def test_numbers_in_range_are_accepted():
    assert parse_number(0.5, "w", 0, 1) == 0.5
    assert parse_number(1, "w", 0, 1) == 1.0 and isinstance(parse_number(1, "w", 0, 1), float)
    assert parse_index(2, 4) == 2 and parse_index(2.0, 4) == 2  # JSON may send an integral float
    assert parse_point(0, 64.0, 64) == (0.0, 64.0)
    assert make_request("永", "WenKai", "Nowhere", 0.25, [], STYLES, LAYERS).blend_weight == 0.25


@pytest.mark.parametrize("call, what", [
    pytest.param(lambda: parse_index("2", 4), "the character index", id="index"),
    pytest.param(lambda: parse_point("3", 4, 64), "the query point's x", id="x"),
    pytest.param(lambda: parse_point(3, "4", 64), "the query point's y", id="y"),
    pytest.param(lambda: make_request("永", "WenKai", "Nowhere", "0.5", [], STYLES, LAYERS),
                 "the blend weight", id="weight"),
])
def test_numeric_strings_are_refused_everywhere(call, what):
    assert message(GenerationError, call).startswith(f"{what} must be a number")


def test_flags_are_real_booleans():
    assert parse_flag(True, "the complete option") is True
    assert parse_flag(False, "the complete option") is False
    assert parse_flag(None, "the complete option") is False  # an option left out


@pytest.mark.parametrize("value", ["false", "true", "no", "", 0, 1, 0.0, [], [True]])
def test_anything_but_a_boolean_is_refused_as_a_flag(value):
    text = message(GenerationError, parse_flag, value, "the complete option")
    assert text.startswith("the complete option must be true or false, got ")
