"""YAML in, typed config out: duplicate keys, overrides and validation errors become one-line UserErrors."""

from __future__ import annotations

import copy
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from rudratune.config.overrides import OverrideError, parse_override
from rudratune.errors import UserError, did_you_mean

MAX_NODES = 20_000
"""Nodes a YAML file may hold once its aliases are expanded: bounds the work of a "billion laughs" file."""
MAX_DEPTH = 64
MAX_BYTES = 10 << 20
"""A config file larger than this is no config file."""


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that reads ``1e-4`` as a number, as YAML 1.2 and JSON do (YAML 1.1 wants a dot,
    ``1.0e-4``, and made ``optimizer.lr: {values: [1e-4, 1e-3]}`` a list of strings)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping with ``yaml.safe_load``, refusing duplicate keys and non-mapping documents.

    Aliases are allowed, but the document is walked first with a budget: recursive aliases, keys that are
    not plain scalars, nesting deeper than ``MAX_DEPTH`` and more than ``MAX_NODES`` expanded nodes are
    refused in one line before anything is built from them.
    """
    path = Path(path)
    try:
        kind = path.stat().st_mode
        if stat.S_ISDIR(kind):
            raise IsADirectoryError
        if not stat.S_ISREG(kind):  # /dev/zero never ends, a FIFO waits for a writer: never read them
            raise UserError(f"{path}: not a regular file (a device, FIFO or socket); valid: a YAML file")
        if path.stat().st_size > MAX_BYTES:
            raise UserError(
                f"{path}: {path.stat().st_size:,} bytes; valid: a YAML file of at most {MAX_BYTES:,}"
            )
        text = path.read_text()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot read ({type(err).__name__})") from None
    except OSError as err:  # a symlink loop, a name too long
        raise UserError(f"{path}: cannot read ({err.strerror or type(err).__name__})") from None
    try:
        # parsed once, tags resolved the YAML 1.2 way (1e-4 a float); built by the safe constructors only
        node = yaml.compose(text, Loader=_Loader)
        _Walk(path).node(node, 0, ())
        data = yaml.SafeLoader("").construct_document(node) if node is not None else None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise UserError(f"{path}:{where} malformed YAML: {problem}") from None
    except RecursionError:
        raise UserError(f"{path}: nested more than {MAX_DEPTH} levels deep") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of keys at the top, got {type(data).__name__}")
    return data


class _Walk:
    """One pass over the composed node graph: duplicate keys, key kinds, depth, recursion and a node budget."""

    def __init__(self, path: Path) -> None:
        self.path, self.count = path, 0

    def fail(self, node: yaml.Node, problem: str) -> UserError:
        return UserError(f"{self.path}: line {node.start_mark.line + 1}: {problem}")

    def node(self, node: yaml.Node | None, depth: int, ancestors: tuple[int, ...]) -> None:
        if node is None:
            return
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(node, f"more than {MAX_NODES} values once aliases (*name) are expanded")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nested more than {MAX_DEPTH} levels deep")
        if id(node) in ancestors:
            raise self.fail(node, "an alias (*name) refers to a value that contains it")
        inner = (*ancestors, id(node))
        if node.tag == "tag:yaml.org,2002:set":
            raise self.fail(
                node,
                "a !!set has no order, so its values would be searched in a different order from run to run; "
                "valid: a list, e.g. [a, b]",
            )
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
                    raise self.fail(key_node, f"a key must be plain text, not a {kind}")
                key = key_node.value
                if key in seen and key_node.tag != "tag:yaml.org,2002:merge":
                    raise self.fail(key_node, f"duplicate key '{key}'")
                seen.add(key)
                self.node(value_node, depth + 1, inner)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                self.node(item, depth + 1, inner)


def apply_overrides(
    data: dict[str, Any], overrides: list[str], *, source: str = "command line"
) -> dict[str, Any]:
    """Apply Hydra-grammar overrides (``a.b=1``, ``+a.c=x``, ``~a.d``) to a nested dict, returning a new one."""
    if not overrides:
        return data
    data = copy.deepcopy(data)
    for text in overrides:
        try:
            override = parse_override(text)
        except OverrideError as err:
            raise UserError(f"{source}: cannot parse override '{text}': {err}") from None
        keys = override.key.split(".")
        node = data
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise UserError(f"{source}: '{text}': '{key}' is not a section")
        if override.delete:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = override.value
    return data


def validate_model(cls: type[BaseModel], data: dict[str, Any], *, source: str) -> Any:
    """``cls.model_validate(data)`` with the first error turned into a one-line UserError."""
    try:
        return cls.model_validate(data)
    except ValidationError as err:
        raise UserError(describe_validation_error(err, cls, source)) from None


def describe_validation_error(err: ValidationError, cls: type[BaseModel], source: str) -> str:
    first = err.errors()[0]
    loc = [str(p) for p in first["loc"] if not _union_tag(str(p))]
    key = ".".join(loc) or "(top level)"
    if first["type"] == "extra_forbidden":
        valid = _fields_at(cls, loc[:-1])
        return f"{source}: unknown key '{key}'{did_you_mean(loc[-1], valid)}; valid keys here: {', '.join(valid)}"
    if first["type"] == "literal_error":
        expected = first.get("ctx", {}).get("expected", "")
        return f"{source}: {key}: got {first.get('input')!r}; valid values: {expected}"
    msg = first["msg"].removeprefix("Value error, ")
    if not loc:  # a check across keys: its message names them
        return f"{source}: {msg}"
    got = first.get("input")
    shown = "" if isinstance(got, dict) or first["type"] == "value_error" else f" (got {got!r})"
    return f"{source}: {key}: {msg}{shown}"


def _union_tag(part: str) -> bool:
    """pydantic's name for a member of a union in an error's location (``Resources``, ``constrained-float``,
    ``literal['auto']``): not a key the user wrote."""
    return (
        part.startswith(("literal[", "constrained-", "function-"))
        or re.fullmatch(r"[A-Z][A-Za-z0-9]+", part) is not None
    )


def _fields_at(cls: type[BaseModel], loc: list[str]) -> list[str]:
    model: Any = cls
    for part in loc:
        field = model.model_fields.get(part)
        if (
            field is None
            or not isinstance(field.annotation, type)
            or not issubclass(field.annotation, BaseModel)
        ):
            return []
        model = field.annotation
    return list(model.model_fields)
