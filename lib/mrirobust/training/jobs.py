"""Training jobs: the checkpoints a run loads, trained before it (the pre-training stage).

A manifest run names, in `trains:`, a function `(scale, settings) -> list[TrainingJob]` that
lists the checkpoints its notebook loads with those settings (the notebook's parameters at that
scale). The workflow makes one Snakemake job of each distinct training job, run before the
notebooks (`python -m mrirobust train NAME --scale S`, `make pretrain`), so that a notebook run
only loads: under the runner, a notebook that would train raises instead (`LOAD_ONLY`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ENV = "MRIROBUST_TRAINING"
LOAD_ONLY = "load-only"


@dataclass(frozen=True)
class TrainingJob:
    """One checkpoint (or a few trained in one process) that a run loads.

    `name` is stable and data-independent (the pre-training job's id); `identity` changes
    whenever what would be trained changes (a hash of the specs: the job reruns); `train(retrain)`
    trains or resumes it and returns its checkpoint paths; `paper` owns it; `resources` per
    scale: Snakemake's runtime (minutes) and mem_mb of its cluster job; `gpu_hours` its
    estimated training time at paper scale (the runtime is capped at a cluster's time limit,
    the estimate is not)."""

    name: str
    identity: str
    paper: str
    train: Callable[[bool], list[Path]] = field(compare=False, repr=False)
    resources: dict[str, dict[str, int]] = field(default_factory=dict, compare=False)
    gpu_hours: float | None = field(default=None, compare=False)


def check_may_train(what: str, scale: str) -> None:
    """Raise when this process may only load checkpoints (a notebook run of the workflow,
    after its pre-training stage) and `what` is not trained yet."""
    if os.environ.get(ENV) == LOAD_ONLY:
        raise RuntimeError(
            f"{what} is not trained at scale {scale!r}: a notebook run only loads. The "
            f"pre-training stage trains it (`make pretrain SCALE={scale}`), when the run's "
            "`trains:` function in notebooks/manifest.yaml lists it"
        )
