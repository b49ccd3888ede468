"""Checkpoints of trained models, keyed by what made them.

A checkpoint lives in `paths.checkpoints_dir()`, named by method, scale, acceleration, config
and a hash of (spec, data fingerprint); the spec is hashed in its `asdict()` JSON form. It is
written atomically with a JSON sidecar (spec, data fingerprint, git revision, epochs done,
curve), loaded with `torch.load(weights_only=True)`, and refused when it was made for another
spec or other data.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils._pytree import tree_map

from mrirobust import paths, storage
from mrirobust.training import datasets, loop

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=8)
def _embedded_checksums(manifest: Path, mtime_ns: int) -> dict[str, str]:
    """sha256 per file (relative path) of an embedded dataset's manifest.json."""
    files = storage.read_json(manifest).get("files", {})
    return {name: entry["sha256"] for name, entry in dict(files).items()}


SAMPLED_BYTES = 1 << 16  # bytes hashed at each end of a real data file (HDF5 metadata, last data)


def _file_identity(path: Path) -> str:
    """A file's content identity: its sha256 from the embedded dataset's manifest.json (laid
    out <root>/<anatomy>/<split dir>/<file>), else its size and the sha256 of its first and last
    64 KiB (real data are too large to hash whole; a copy elsewhere, e.g. to a cluster's scratch
    disk, keeps the identity, since neither the folder nor the file times enter it)."""
    manifest = path.parents[2] / "manifest.json"
    if manifest.is_file():
        checksums = _embedded_checksums(manifest, manifest.stat().st_mtime_ns)
        name = path.relative_to(manifest.parent).as_posix()
        if name in checksums:
            return checksums[name]
    stat = path.stat()
    return _sampled_identity(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=65536)
def _sampled_identity(path: Path, size: int, mtime_ns: int) -> str:
    """Size and sha256 of both ends of a file (cached while its size and mtime stay)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        digest.update(handle.read(SAMPLED_BYTES))
        handle.seek(max(size - SAMPLED_BYTES, 0))
        digest.update(handle.read(SAMPLED_BYTES))
    return f"{size}:{digest.hexdigest()[:16]}"


def data_fingerprint(items: list[tuple[Path, int]]) -> str:
    """Hash of the file names (with their folder's name, not the root), their content identity
    (`_file_identity`) and slice indices: regenerated data with other contents but the same
    shapes gets a new fingerprint; the same data copied to another root keep theirs."""
    digest = hashlib.sha256()
    identities = {}
    for path, index in items:
        if path not in identities:
            identities[path] = _file_identity(path)
        digest.update(f"{path.parent.name}/{path.name}:{identities[path]}:{index}\n".encode())
    return digest.hexdigest()[:16]


def _check_made_for(path: Path, expected: dict, found: dict) -> None:
    """Raise a ValueError naming every key in which `found` differs from `expected`."""
    if found == expected:
        return
    keys = sorted(set(expected) | set(found))
    differences = ", ".join(
        f"{k}: {found.get(k)!r} != {expected.get(k)!r}"
        for k in keys
        if expected.get(k) != found.get(k)
    )
    raise ValueError(
        f"checkpoint {path} was made for another configuration ({differences}); "
        "pass retrain=True / --retrain to replace it"
    )


@dataclass(frozen=True)
class Checkpoint:
    """The checkpoint file of one model spec (`asdict()` form) trained on data `fingerprint`."""

    spec: dict[str, Any]
    fingerprint: str

    @property
    def path(self) -> Path:
        key = json.dumps({"spec": self.spec, "data": self.fingerprint}, sort_keys=True)
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        s = self.spec
        name = f"{s['method']}-{s['scale']}-{s['acceleration']}x-{s['config']}-{digest}.pt"
        return paths.checkpoints_dir() / name

    @property
    def meta(self) -> dict[str, Any]:
        return {"spec": self.spec, "data_fingerprint": self.fingerprint}

    def save(self, state: dict) -> None:
        """Write `state` (+ spec and fingerprint; tensors copied to the CPU, so a checkpoint
        made on a GPU loads anywhere) and its JSON sidecar, each atomically."""
        path = self.path
        meta = json.dumps(self.meta)
        state = tree_map(lambda x: x.cpu() if torch.is_tensor(x) else x, state)  # any device
        storage.atomic_write(path, lambda tmp: torch.save({**state, "meta": meta}, tmp))
        sidecar = {
            **self.meta,
            "git_revision": paths.git_revision()["revision"] or "unknown",
            "epochs_done": state["epoch"],
            "curve": state["curve"],
        }
        storage.write_json(path.with_suffix(".json"), sidecar)

    def read(self) -> dict:
        """Load the checkpoint (`weights_only=True`) after checking that it and its sidecar were
        made for this spec and data; raise a ValueError naming the mismatch."""
        path, expected = self.path, self.meta
        sidecar = path.with_suffix(".json")
        if sidecar.exists():
            found = storage.read_json(sidecar)
            _check_made_for(path, expected, {k: found.get(k) for k in expected})
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            meta = json.loads(state["meta"])
        except Exception as err:
            raise ValueError(
                f"checkpoint {path} is unreadable or corrupted ({type(err).__name__}: {err}); "
                "delete it or pass retrain=True / --retrain"
            ) from err
        _check_made_for(path, expected, meta)
        return state

    @contextlib.contextmanager
    def lock(self):
        """Hold the checkpoint's lock file (`<name>.lock`, an flock that dies with its process)
        while checking and training it, so that two processes never train it at once: a second
        one waits here. Under torchrun rank 0 holds it and every rank waits at a barrier until
        it does, so the ranks of one job decide together."""
        world, rank = loop.distributed()
        handle = None
        if rank == 0:
            path = self.path.with_suffix(".lock")
            handle = open(path, "w")  # noqa: SIM115 (held while yielding)
            if not _try_lock(handle):
                logger.warning("%s is being trained by another process: waiting", path.name)
                fcntl.flock(handle, fcntl.LOCK_EX)
        if world > 1:
            dist.barrier()
        try:
            yield
        finally:
            if world > 1:
                dist.barrier()
            if handle is not None:
                handle.close()

    def epochs_done(self) -> int:
        """The epochs this checkpoint has completed (0 when there is none)."""
        sidecar = self.path.with_suffix(".json")
        return int(storage.read_json(sidecar)["epochs_done"]) if sidecar.exists() else 0

    def sidecar(self) -> dict:
        """The JSON sidecar (spec, data fingerprint, git revision, training curve); raises
        FileNotFoundError when the model has not been trained."""
        sidecar = self.path.with_suffix(".json")
        if not sidecar.exists():
            raise FileNotFoundError(f"{sidecar} does not exist: train {self.spec['method']} first")
        return storage.read_json(sidecar)


def _try_lock(handle) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def locate(model_spec) -> Checkpoint:
    """The checkpoint of `model_spec` on its scale's train + val slices (of its `challenge`
    parameter, multicoil when it has none)."""
    scale, anatomy = model_spec.scale, model_spec.anatomy
    challenge = model_spec.params.get("challenge", "multicoil")
    items = [
        item
        for split in ("train", "val")
        for item in datasets.slices(scale, split, anatomy, challenge)
    ]
    return Checkpoint(model_spec.asdict(), data_fingerprint(items))
