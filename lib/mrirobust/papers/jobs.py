"""The checkpoints of the shared `train_models` run (`trains:` functions: `training.jobs`).

A `trains:` function takes the scale and the run's settings (its notebook's parameters at that
scale) and lists the training jobs of the checkpoints the notebook loads."""

from __future__ import annotations

from collections.abc import Iterable

from mrirobust import paths, zoo
from mrirobust.models.registry import ModelSpec
from mrirobust.papers import budget, model_spec
from mrirobust.training.jobs import TrainingJob

SHARED = "shared"


def gpu_hours(spec: ModelSpec) -> tuple[float, str] | None:
    """(GPU hours, measured step) of training `spec`'s model when it is a paper-size one on
    the real data (`budget`, gpu and paper scales): the measured step of its family at paper
    size (the Morshuis sizes, else Darestani's reference sizes, which bound the smaller group
    variants from above)."""
    if spec.scale not in paths.CUDA_SCALES:
        return None
    p = spec.params
    paper = "morshuis2022" if spec.config == "morshuis" else "darestani2021"
    model = f"{paper}/{spec.method}"
    if spec.method == "l1":  # the λ search: every λ on `l1_tune_slices` slices
        solves = len(p["l1_lambdas"]) * p["l1_tune_slices"]
        return budget.training_hours(model, 1, solves, 1, p["l1_iterations"]), model
    slices = budget.TRAINING_SLICES[spec.anatomy]
    hours = budget.training_hours(
        model, p["epochs"], slices, p["batch_size"], steps_per_epoch=p.get("steps_per_epoch", 0)
    )
    return hours, model


def zoo_jobs(specs: Iterable[ModelSpec], paper: str) -> list[TrainingJob]:
    """The jobs of the model descriptions that have a checkpoint (trained methods; l1's λ
    search), in order, without repeats, with their cluster resources at the gpu and paper
    scales."""
    jobs = {}
    for spec in specs:
        if spec.method in zoo.TRAINED:
            job = zoo.training_job(spec, paper)
            if cost := gpu_hours(spec):
                job = budget.costed(job, spec.scale, *cost)
            jobs.setdefault(job.identity, job)
    return list(jobs.values())


def train_models(scale: str, settings: dict) -> list[TrainingJob]:
    """01_train_models: U-Net and VarNet at every acceleration under `model_config`, and the
    l1 λ search at the table's acceleration."""
    config = settings["model_config"] or None
    specs = [
        model_spec(method, scale, acceleration, config)
        for acceleration in settings["accelerations"]
        for method in ("unet", "varnet")
    ]
    specs.append(model_spec("l1", scale, settings["table_acceleration"]))
    return zoo_jobs(specs, SHARED)
