"""Command-line overrides in Hydra's grammar, without Hydra: ``key=value``, ``+key=value``, ``++key=value``
and ``~key``, with typed values (int, float, bool, null, quoted or bare strings, ``[lists]``, ``{dicts}``).

Sweeps (``a=1,2``), sweep functions (``choice(...)``) and interpolations (``${...}``) are refused: a search
space says what to vary.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

KEY = re.compile(r"[A-Za-z_][\w\-]*(\.[A-Za-z_0-9][\w\-]*)*")
INT = re.compile(r"[+-]?(0|[1-9](_?\d)*)")
FLOAT = re.compile(
    r"[+-]?((\d(_?\d)*)?\.\d(_?\d)*([eE][+-]?\d+)?|\d(_?\d)*(\.(\d(_?\d)*)?)?[eE][+-]?\d+|\d(_?\d)*\.)"
)
SPECIAL_FLOATS = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "nan": math.nan}
BARE_STOP = ",[]{}=()'\""
"""Characters that end a bare string (``:`` ends one only as a dict key)."""


class OverrideError(ValueError):
    """The override text does not follow the grammar; the message says where."""


@dataclass(frozen=True)
class Override:
    key: str
    value: Any = None
    prefix: str = ""
    """``""`` (set), ``+`` (add), ``++`` (add or set) or ``~`` (delete)."""

    @property
    def delete(self) -> bool:
        return self.prefix == "~"


def parse_override(text: str) -> Override:
    """``optimizer.lr=3e-4`` → ``Override("optimizer.lr", 0.0003)``; raises OverrideError."""
    prefix = next((p for p in ("++", "+", "~") if text.startswith(p)), "")
    body = text[len(prefix) :]
    key, sep, raw = body.partition("=")
    key = key.strip()
    if not KEY.fullmatch(key):
        raise OverrideError(f"'{key}' is not a key (expected dotted names such as optimizer.lr)")
    if prefix == "~":
        return Override(key, None, prefix)
    if not sep:
        raise OverrideError("expected key=value")
    parser = _Values(raw)
    value = parser.top()
    return Override(key, value, prefix)


class _Values:
    """A recursive-descent parser of one value."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def top(self) -> Any:
        self.space()
        if self.pos == len(self.text):
            return ""  # ``key=`` sets the empty string, as in Hydra
        value = self.value()
        self.space()
        if self.pos < len(self.text):
            if self.text[self.pos] == ",":
                raise OverrideError("is a sweep (a=1,2); put the values in a search space instead")
            raise OverrideError(f"unexpected '{self.text[self.pos]}' at position {self.pos + 1}")
        return value

    def space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def value(self) -> Any:
        self.space()
        char = self.text[self.pos : self.pos + 1]
        if char == "[":
            return self.sequence("[", "]", self.value)
        if char == "{":
            return dict(self.sequence("{", "}", self.item))
        if char in ("'", '"'):
            return self.quoted(char)
        if self.text.startswith("${", self.pos):
            raise OverrideError("interpolations (${...}) are not supported")
        return self.bare()

    def sequence(self, open_: str, close: str, element: Any) -> list[Any]:
        self.pos += 1
        out: list[Any] = []
        self.space()
        if self.text[self.pos : self.pos + 1] == close:
            self.pos += 1
            return out
        while True:
            out.append(element())
            self.space()
            char = self.text[self.pos : self.pos + 1]
            self.pos += 1
            if char == close:
                return out
            if char != ",":
                raise OverrideError(f"expected ',' or '{close}' at position {self.pos}")

    def item(self) -> tuple[str, Any]:
        self.space()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ":" + BARE_STOP:
            self.pos += 1
        key = self.text[start : self.pos].strip()
        if not key or self.text[self.pos : self.pos + 1] != ":":
            raise OverrideError(f"expected 'key: value' in a dict at position {start + 1}")
        self.pos += 1
        return key, self.value()

    def quoted(self, quote: str) -> str:
        out, self.pos = [], self.pos + 1
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            self.pos += 1
            if char == quote:
                return "".join(out)
            out.append(char)
        raise OverrideError(f"unterminated {quote} string")

    def bare(self) -> Any:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in BARE_STOP:
            self.pos += 1
        word = self.text[start : self.pos].strip()
        if self.text[self.pos : self.pos + 1] == "(":
            raise OverrideError(f"functions such as {word}(...) are not supported; use a search space")
        if not word:
            raise OverrideError(f"expected a value at position {start + 1}")
        return typed(word)


def typed(word: str) -> Any:
    """A bare word as Hydra types it: null, bool, int, float, else the string itself."""
    lower = word.lower()
    if lower == "null":
        return None
    if lower in ("true", "false"):
        return lower == "true"
    if INT.fullmatch(word):
        return int(word.replace("_", ""))
    if FLOAT.fullmatch(word):
        return float(word.replace("_", ""))
    if lower in SPECIAL_FLOATS:
        return SPECIAL_FLOATS[lower]
    return word
