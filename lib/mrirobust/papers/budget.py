"""What training costs on a GPU: per-step costs measured at paper size, the papers' data sizes,
and the cluster resources of each training job (`training.jobs.TrainingJob.resources`).

Per-step costs are measured, not guessed: `python -m mrirobust gpu-check --device cpu --parts
steps` times one training step of every paper's network at paper size on real-shaped inputs
(`papers.gpu_check`) and `benchmarks/results/paper_steps_cpu.json` holds the result from the
2-core build machine. No GPU has been lent to this project yet, so a GPU step is estimated as
the CPU step divided by `CPU_TO_GPU`; once `make gpu-check` has run on a GPU, its
`results/gpu_check.json` replaces the estimate (`steps()` reads it first).

A job's time is epochs x steps per epoch (the profile's `steps_per_epoch`, else ceil(training
slices / batch)) x step, plus `VALIDATION` for the validation passes and checkpoints; its memory
the measured peak of the step, doubled for the data loader, the optimiser's copies and a margin.
Jobs are costed at the scales that train paper-size networks on the real data
(`paths.CUDA_SCALES`: gpu and paper); `runner.pretrain.hours_by_paper` adds the figure runs'
requested runtimes.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from pathlib import Path

from mrirobust import paths

# H100 vs the 2 CPU cores the steps were timed on: convolution-heavy fp32 training runs 30-100x
# faster on a data-centre GPU than on two cores; 40 is an assumption until gpu-check has run
CPU_TO_GPU = 40.0
VALIDATION = 1.15  # validation after each epoch and checkpoint writes, on top of the steps
MAX_RUNTIME = 2 * 24 * 60  # minutes: a common cluster time limit; longer jobs resume

# training slices of the data sets at paper scale (fastMRI: Zbontar et al. 2018, Table 1;
# CMRxRecon 2023 mapping: 120 training patients of ~5.5 slices, 20 held out)
TRAINING_SLICES = {
    "knee": 34_742,  # multicoil_train, 973 volumes
    "brain": 70_748,  # multicoil_train, 4,469 volumes
    "singlecoil": 34_742,  # the same knees, emulated single-coil
    "cmrxrecon": 550,  # T1 and T2 mapping slices each
}
MEASURED_CPU = Path(__file__).parents[3] / "benchmarks" / "results" / "paper_steps_cpu.json"


@functools.cache
def steps() -> dict[str, dict]:
    """{model: {"train_s", "peak_mb", "source"}} per `gpu_check.MODELS` name: a GPU's measured
    steps when gpu-check has run, else the CPU's divided by CPU_TO_GPU."""
    on_gpu = paths.results_root() / "gpu_check.json"
    if on_gpu.is_file():
        rows = json.loads(on_gpu.read_text()).get("steps", [])
        found = {r["model"]: r for r in rows if "train_s" in r}
        if found:
            return {
                name: {
                    "train_s": r["train_s"],
                    "peak_mb": r.get("train_peak_mb", r["peak_rss_mb"]),
                    "source": f"gpu-check on {json.loads(on_gpu.read_text())['device_name']}",
                }
                for name, r in found.items()
            }
    if not MEASURED_CPU.is_file():
        raise FileNotFoundError(
            f"{MEASURED_CPU} is missing: `python -m mrirobust gpu-check --device cpu --parts "
            f"steps --out {MEASURED_CPU}` measures the per-step costs the paper-scale resources "
            "are computed from"
        )
    rows = json.loads(MEASURED_CPU.read_text())["steps"]
    return {
        r["model"]: {
            "train_s": r["train_s"] / CPU_TO_GPU,
            "peak_mb": r["peak_rss_mb"],
            "source": f"2-core CPU step / {CPU_TO_GPU:g}",
        }
        for r in rows
        if "train_s" in r  # a step that failed (out of memory) has its error instead
    }


def training_hours(
    model: str,
    epochs: int,
    slices: int,
    batch: int,
    steps_scale: float = 1.0,
    steps_per_epoch: int = 0,
):
    """GPU hours of `epochs` epochs of `steps_per_epoch` steps (0: every batch of `slices`
    training slices in batches of `batch`), a step of `model` (a `gpu_check.MODELS` name)
    costing `steps_scale` of its measured step (e.g. a min-max step)."""
    step = steps()[model]["train_s"] * steps_scale
    per_epoch = steps_per_epoch or math.ceil(slices / batch)
    return epochs * per_epoch * step * VALIDATION / 3600


def costed(job, scale: str, hours: float, model: str):
    """`job` (a `training.jobs.TrainingJob`) with its GPU hours and its cluster resources at
    `scale`."""
    return dataclasses.replace(job, resources={scale: resources(hours, model)}, gpu_hours=hours)


def resources(hours: float, model: str) -> dict[str, int]:
    """Snakemake resources of a cluster job of `hours` training `model`: runtime (minutes, from
    10 to MAX_RUNTIME) and mem_mb (twice the measured peak of its step, at least 16 GB).

    A job longer than MAX_RUNTIME stops at the cluster's time limit and resumes from its last
    epoch's checkpoint when the stage runs again (`make pretrain`)."""
    return {
        "runtime": min(MAX_RUNTIME, max(10, math.ceil(hours * 60))),
        "mem_mb": max(16_000, math.ceil(2 * steps()[model]["peak_mb"] / 1000) * 1000),
    }
