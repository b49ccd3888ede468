"""The manifest of a generated dataset, `<root>/manifest.json`: the generator, its code
fingerprint, the parameters, and the size and sha256 of every file.

A generator calls `start` (the data now reads as incomplete), writes each file atomically, then
`write` last; `is_complete` is true only for a manifest of the same code and parameters whose
files all exist with their recorded sizes. So an interrupted run leaves data that the next run
regenerates, and the temporary files a killed run left are removed by `start`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from mrirobust.storage import read_json, remove_stale_temporaries, write_json

NAME = "manifest.json"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(sources: Iterable[Path]) -> str:
    """sha256 of the bytes of the generator's `sources`, in order: new code, new data."""
    digest = hashlib.sha256()
    for path in sources:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def start(root: Path) -> float:
    """Remove the manifest of `root` and the stale temporary files under it; the start time
    (`time.perf_counter()`) to pass to `write`."""
    (root / NAME).unlink(missing_ok=True)
    remove_stale_temporaries(root)
    return time.perf_counter()


def write(
    root: Path,
    generator: str,
    fingerprint: str,
    scale: str,
    parameters: dict,
    files: dict[str, dict],
    started: float,
) -> None:
    """Write the manifest atomically; `files` maps each path relative to `root` to extra fields
    of its entry (after `bytes` and `sha256`)."""
    write_json(
        root / NAME,
        dict(
            generator=generator,
            fingerprint=fingerprint,
            scale=scale,
            parameters=parameters,
            generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
            seconds=round(time.perf_counter() - started, 2),
            files={
                rel: dict(bytes=(root / rel).stat().st_size, sha256=sha256_of(root / rel)) | extra
                for rel, extra in files.items()
            },
        ),
    )


def is_complete(root: Path, fingerprint: str, parameters: dict) -> bool:
    """True when `root` has a readable manifest of `fingerprint` and `parameters`, and every
    file it lists exists with the recorded size."""
    try:
        manifest = read_json(root / NAME)
    except (FileNotFoundError, ValueError):
        return False
    if manifest.get("fingerprint") != fingerprint or manifest.get("parameters") != parameters:
        return False
    return all(
        (root / rel).is_file() and (root / rel).stat().st_size == entry["bytes"]
        for rel, entry in manifest["files"].items()
    )
