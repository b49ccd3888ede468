"""Atomic file writes and checked JSON reads: a reader never sees a partial file, and a bad
file is reported with its path."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "write_json", "read_json", "replace_section"]


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it onto `path`.

    The rename is atomic on one file system; if `write` fails the temporary file is removed and
    `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, content: Any) -> None:
    """Write `content` as indented JSON, atomically."""
    text = json.dumps(content, indent=2) + "\n"
    atomic_write(Path(path), lambda tmp: tmp.write_text(text))


def read_json(path: Path) -> Any:
    """The JSON content of `path`; a missing or malformed file raises an error naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None


def section_markers(name: str) -> tuple[str, str]:
    """The HTML comments that delimit a generated section `name` of a Markdown file."""
    return f"<!-- {name}:begin (generated) -->", f"<!-- {name}:end -->"


def replace_section(path: Path, name: str, text: str) -> None:
    """Replace the text between the markers of section `name` in `path`, atomically.

    A file without both markers raises an error naming the file and the markers.
    """
    path = Path(path)
    begin, end = section_markers(name)
    content = path.read_text()
    if content.count(begin) != 1 or content.count(end) != 1:
        raise ValueError(f"{path}: needs one generated section {name!r}: {begin} ... {end}")
    head, rest = content.split(begin)
    _, tail = rest.split(end)
    body = text if text.endswith("\n") else text + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(f"{head}{begin}\n{body}{end}{tail}"))
