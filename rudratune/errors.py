"""The one exception type a user sees: a one-line message, exit code 2, no traceback."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable


class UserError(Exception):
    """A mistake the user can fix: bad YAML, an unknown name, a missing folder.

    The CLI prints ``rudratune: error: <message>`` on one line and exits with code 2.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest valid name, or an empty string."""
    valid = list(valid)
    lowered = {v.lower(): v for v in valid}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean '{lowered[close[0]]}'?)" if close else ""


def unknown_name(kind: str, name: str, valid: Iterable[str], *, where: str = "") -> UserError:
    """Build the error for a name a registry does not know, listing the valid names."""
    valid = sorted(valid)
    shown = ", ".join(valid) if len(valid) <= 25 else ", ".join(valid[:25]) + f", … ({len(valid)} in all)"
    prefix = f"{where}: " if where else ""
    return UserError(f"{prefix}unknown {kind} '{name}'{did_you_mean(name, valid)}; valid: {shown}")


def warn(message: str) -> None:
    """Say suspicious input out loud: one ``rudratune: warning: ...`` line on stderr."""
    print(f"rudratune: warning: {' '.join(str(message).split())}", file=sys.stderr, flush=True)
