"""Per-step costs of a run: time and peak memory of each training, attack or solver step.

Loops that dominate a run time their steps with `timed(kind, model)`:

    with costs.timed("train", model="varnet"):
        loss.backward(); optimiser.step()

Each step appends one JSON line (kind, model, seconds, peak process memory, peak CUDA memory)
to the file named by `MRIROBUST_STEP_LOG` (the runner sets it for every run; unset, nothing is
written). The runner folds the lines into `run.json` as `steps`: per (kind, model), the count,
the median and maximum seconds, and the peak memory. The paper-scale resources of the manifest
are scaled from these (`python -m mrirobust reproduce --scale shape` measures them).

`watch(callback)` lets a caller observe the steps of its own thread as they start: the
explorer shows an attack's progress this way, and stops an attack the user no longer wants by
raising from the callback.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ENV = "MRIROBUST_STEP_LOG"

__all__ = ["ENV", "timed", "watch", "summary", "peak_rss_mb"]

_thread = threading.local()  # the watchers of each thread


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextlib.contextmanager
def timed(kind: str, model: str = "") -> Iterator[None]:
    """Time the block as one step of `kind` (e.g. "train", "attack", "fit") of `model`, and
    append it to the step log when one is set. The thread's watchers (`watch`) are called
    first; an exception they raise leaves the block unrun."""
    # imported here, where the timed loop has loaded it: the runner's processes, which only
    # summarise step logs, start without torch (~2 s each)
    import torch

    for callback in getattr(_thread, "watchers", ()):
        callback(kind, model)
    target = os.environ.get(ENV)
    cuda = torch.cuda.is_available()
    if target and cuda:
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    yield
    if not target:
        return
    if cuda:
        torch.cuda.synchronize()
    entry = {
        "kind": kind,
        "model": model,
        "seconds": round(time.perf_counter() - start, 4),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "peak_cuda_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else None,
    }
    with open(target, "a") as log:
        log.write(json.dumps(entry) + "\n")


@contextlib.contextmanager
def watch(callback: Callable[[str, str], None]) -> Iterator[None]:
    """Inside the block, every step this thread times calls `callback(kind, model)` before it
    runs; the callback may raise to stop the loop there. Watchers nest; other threads' steps
    are not seen."""
    outer = getattr(_thread, "watchers", ())
    _thread.watchers = (*outer, callback)
    try:
        yield
    finally:
        _thread.watchers = outer


def summary(path: Path) -> list[dict]:
    """The step log at `path` per (kind, model): count, median and max seconds, peak memory
    (MiB; CUDA memory None without a GPU). An absent log gives []."""
    path = Path(path)
    if not path.is_file():
        return []
    groups: dict[tuple[str, str], list[dict]] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            groups.setdefault((entry["kind"], entry["model"]), []).append(entry)
    rows = []
    for (kind, model), entries in groups.items():
        seconds = [e["seconds"] for e in entries]
        cuda = [e["peak_cuda_mb"] for e in entries if e["peak_cuda_mb"] is not None]
        rows.append(
            {
                "kind": kind,
                "model": model,
                "count": len(entries),
                "median_s": round(statistics.median(seconds), 4),
                "max_s": round(max(seconds), 4),
                "peak_rss_mb": max(e["peak_rss_mb"] for e in entries),
                "peak_cuda_mb": max(cuda) if cuda else None,
            }
        )
    return rows
