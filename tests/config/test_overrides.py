"""The override parser that replaced hydra-core: Hydra's grammar and typing, checked case by case
(the expected values are what Hydra 1.3.8's own parser returned for the same text)."""

from __future__ import annotations

import math
import re

import pytest

from rudratune.config.load import apply_overrides
from rudratune.config.overrides import OverrideError, parse_override
from rudratune.errors import UserError

TYPED = [
    ("a=1", 1),
    ("a=-1", -1),
    ("a=+1", 1),
    ("a=1_000", 1000),
    ("a=32", 32),
    ("a=1.5", 1.5),
    ("a=3e-4", 3e-4),
    ("a=1e3", 1000.0),
    ("a=1.", 1.0),
    ("a=.5", 0.5),
    ("a=-.5e-2", -0.005),
    ("a=1.0e-4", 1e-4),
    ("a=inf", math.inf),
    ("a=-inf", -math.inf),
    ("a=true", True),
    ("a=True", True),
    ("a=FALSE", False),
    ("a=null", None),
    ("a=NULL", None),
    ("a=None", "None"),
    ("a=smp.Unet", "smp.Unet"),
    ("a=tu-resnet18", "tu-resnet18"),
    ("a=bf16-mixed", "bf16-mixed"),
    ("a=1e", "1e"),
    ("a=0x10", "0x10"),
    ("a=01", "01"),
    ("a=/tmp/x y/z", "/tmp/x y/z"),
    ("a=http://u:p@h:5000", "http://u:p@h:5000"),
    ("a=hello world", "hello world"),
    ("a= x ", "x"),
    ("a=", ""),
    ("a='1'", "1"),
    ('a="x,y"', "x,y"),
    ("a='it\\'s'", "it's"),
    ("a=x:y", "x:y"),
    ("a=[1,2,x]", [1, 2, "x"]),
    ("a=[]", []),
    ("a={}", {}),
    ("a=[a b, c]", ["a b", "c"]),
    ("a={cpu:4,gpu:0.25}", {"cpu": 4, "gpu": 0.25}),
    ("a={cpu: 4, gpu: 0.25}", {"cpu": 4, "gpu": 0.25}),
    ("a=[1,[2,3],{b:c}]", [1, [2, 3], {"b": "c"}]),
]


@pytest.mark.parametrize(("text", "value"), TYPED, ids=[t for t, _ in TYPED])
def test_values_are_typed_as_hydra_types_them(text: str, value: object) -> None:
    parsed = parse_override(text)
    assert parsed.key == "a" and parsed.prefix == ""
    assert parsed.value == value and type(parsed.value) is type(value)


def test_nan_prefixes_and_keys() -> None:
    assert math.isnan(parse_override("a=nan").value) and math.isnan(parse_override("a=NaN").value)
    assert parse_override("+loss.gamma=2").prefix == "+"
    assert parse_override("++loss.gamma=2").prefix == "++"
    assert parse_override("~a.b").delete and parse_override("~a.b=3").delete
    assert parse_override("a.b-c=1").key == "a.b-c"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("a=1,2", "is a sweep"),
        ("a=choice(1,2)", "functions such as choice(...) are not supported"),
        ("a=${b}", "interpolations"),
        ("a=[1,2", "expected ',' or ']'"),
        ("a={x}", "expected 'key: value'"),
        ("a=x=y", "unexpected '='"),
        ("a='open", "unterminated"),
        ("1a=2", "is not a key"),
        ("a..b=1", "is not a key"),
        ("a", "expected key=value"),
    ],
)
def test_what_hydra_refuses_is_refused(text: str, needle: str) -> None:
    with pytest.raises(OverrideError, match=re.escape(needle)):
        parse_override(text)


def test_apply_overrides_sets_adds_and_deletes_nested_keys() -> None:
    base = {"a": {"b": 1, "c": 2}, "resources": "auto"}
    out = apply_overrides(base, ["a.b=2.5", "~a.c", "+d.e=[1, x]", "resources={cpu:4,gpu:0.25}"])
    assert out == {"a": {"b": 2.5}, "d": {"e": [1, "x"]}, "resources": {"cpu": 4, "gpu": 0.25}}
    with pytest.raises(UserError, match=r"^space.yaml: cannot parse override 'a=1,2': is a sweep"):
        apply_overrides(base, ["a=1,2"], source="space.yaml")
    with pytest.raises(UserError, match="'resources' is not a section"):
        apply_overrides(base, ["resources.gpu=1"], source="space.yaml")
