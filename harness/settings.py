"""The settings rewriter: a scenario's `settings:` written into a copy of tailscale.star.

A setting is a top-level `NAME = value` statement (the first one for NAME). Its value is
replaced by the YAML value written as a Starlark literal; a trailing comment is kept. The value
is found by scanning the source (strings, triple-quoted strings, brackets and comments), so a
multi-line value is replaced whole.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SettingNotFound(ValueError):
    """The script has no top-level `NAME = ...` line for a setting."""


def _starlark_string(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif not ch.isprintable():  # e.g. U+0085 or U+2028: keep the source one line per setting
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def starlark_literal(value: Any) -> str:
    """A YAML value written as a Starlark literal: True/False, None, int, float,
    "string" (escaped), [list], {dict}. Raises ValueError for anything else."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} has no Starlark literal")
        return repr(value)
    if isinstance(value, str):
        return _starlark_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(starlark_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{starlark_literal(k)}: {starlark_literal(v)}" for k, v in value.items()) + "}"
    raise ValueError(f"cannot write {type(value).__name__} value {value!r} as a Starlark literal")


def _value_end(source: str, start: int) -> int:
    """From `start` (just after `NAME =`), the end of the value expression. Skips strings
    (incl. triple-quoted) and comments and tracks brackets, so multi-line values and trailing
    comments are handled."""
    depth = 0
    i = start
    value_end = start
    n = len(source)
    while i < n:
        ch = source[i]
        if ch in "\"'":
            quote = source[i : i + 3] if source[i : i + 3] in ('"""', "'''") else ch
            j = i + len(quote)
            while j < n and not source.startswith(quote, j):
                if source[j] == "\\":
                    j += 1
                elif source[j] == "\n" and len(quote) == 1:
                    break
                j += 1
            i = min(j + len(quote), n)
            value_end = i
            continue
        if ch == "#":
            newline = source.find("\n", i)
            i = n if newline < 0 else newline
            continue
        if ch == "\n":
            if depth == 0:
                return value_end
            i += 1
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if not ch.isspace():
            value_end = i + 1
        i += 1
    return value_end


def _value_span(source: str, name: str) -> tuple[int, int]:
    """Where the value of the first top-level `name = value` statement starts and ends."""
    match = re.search(rf"^{re.escape(name)}[ \t]*=(?!=)[ \t]*", source, flags=re.MULTILINE)
    if match is None:
        raise SettingNotFound(f"settings.{name}: no top-level line `{name} = ...` to rewrite")
    return match.end(), _value_end(source, match.end())


def read_setting(source: str, name: str) -> str:
    """The value expression of a top-level setting, as written in the source."""
    start, end = _value_span(source, name)
    return source[start:end]


def rewrite_settings(source: str, settings: Mapping[str, Any]) -> str:
    """source with each setting's value replaced by the given one, written as a Starlark literal."""
    for name, value in settings.items():
        start, end = _value_span(source, name)
        source = source[:start] + starlark_literal(value) + source[end:]
    return source


def prepare_script(script: Path, settings: Mapping[str, Any], workdir: Path) -> Path:
    """The script to run: `script` itself, or a copy in `workdir` with settings rewritten."""
    if not settings:
        return script
    copy = workdir / script.name
    copy.write_text(rewrite_settings(script.read_text(encoding="utf-8"), settings), encoding="utf-8")
    return copy
