"""Atomic file writes and checked JSON and HDF5 reads: a reader never sees a partial file, and a
bad file is reported with its path and what was expected of it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py

__all__ = [
    "stop",
    "atomic_write",
    "atomic_file",
    "write_json",
    "read_json",
    "open_hdf5",
    "remove_stale_temporaries",
    "replace_section",
]


_stop_code: int | None = None  # set by `stop`: no file is renamed into place after it


def stop(code: int) -> None:
    """Raise SystemExit(`code`) now and before every later rename of an atomic write.

    The command line's SIGTERM handler calls it. A handler's exception is lost when the signal
    arrives inside a finalizer (Python prints "Exception ignored" and goes on, e.g. while h5py
    closes a file); the next atomic write then stops the process, before its file is renamed."""
    global _stop_code
    _stop_code = code
    raise SystemExit(code)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it onto `path`.

    The rename is atomic on one file system; if `write` fails the temporary file is removed and
    `path` is left as it was.
    """
    with atomic_file(path) as tmp:
        write(tmp)


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """`with atomic_file(path) as tmp:` a temporary file beside `path` to write, renamed onto
    `path` when the block ends (`atomic_write` for writers that write piece by piece)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        if _stop_code is not None:
            raise SystemExit(_stop_code)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def remove_stale_temporaries(root: Path) -> list[Path]:
    """Delete the temporary files under `root` whose writer no longer runs, and return them.

    Atomic writers here name their temporary files `<name>.<pid>.tmp`; a writer killed before
    its rename (SIGKILL, power loss) leaves one behind. Files of a running process are kept, so
    a concurrent writer is not disturbed. Only on POSIX, where signal 0 probes a process.
    """
    stale = []
    if os.name != "posix" or not Path(root).is_dir():
        return stale
    for tmp in sorted(Path(root).rglob("*.tmp")):
        pid = tmp.name.split(".")[-2]
        if pid.isdigit() and not _running(int(pid)):
            tmp.unlink(missing_ok=True)
            stale.append(tmp)
    return stale


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


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


@contextmanager
def open_hdf5(path: Path, expected: str) -> Iterator:
    """`with open_hdf5(path, expected) as hf:` an `h5py.File` opened read-only.

    A file that cannot be opened (missing, unreadable, not HDF5, truncated) or whose datasets
    fail to read inside the block raises the same kind of OSError with a message naming `path`
    and `expected` (what the file should be), instead of h5py's bare message.
    """
    path = Path(path)
    try:
        hf = h5py.File(path, "r")
    except OSError as err:
        raise type(err)(f"{path}: cannot be opened as HDF5 ({err}); expected {expected}") from err
    with hf:
        try:
            yield hf
        except OSError as err:
            raise type(err)(
                f"{path}: reading failed, the file may be truncated or damaged ({err}); "
                f"expected {expected}"
            ) from err


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
