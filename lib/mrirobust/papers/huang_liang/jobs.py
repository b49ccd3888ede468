"""The checkpoints the Huang & Liang runs load (`trains:` functions, `training.jobs`): the
min-max U-Nets by their paper names (S, A(eps=...), K(eta=...))."""

from __future__ import annotations

from mrirobust import paths, zoo
from mrirobust.papers import budget
from mrirobust.papers.huang_liang import experiments
from mrirobust.papers.huang_liang.profile import EVALUATE
from mrirobust.training.jobs import TrainingJob

MODEL = "huang_liang/unet"  # the measured step: the paper's U-Net at its batch of 8
MINMAX = 3.5  # a min-max step vs a U-Net step (benchmarks/bench_minmax: image 3.4, k-space 3.9)


def _costed(job: TrainingJob, spec) -> TrainingJob:
    """At the gpu and paper scales, `job` with its GPU hours and resources: every epoch of
    min-max steps over the single-coil knees (S: plain U-Net steps)."""
    if spec.scale not in paths.CUDA_SCALES:
        return job
    p = spec.params
    slices = budget.TRAINING_SLICES["singlecoil"]
    work = 1.0 if spec.method == "unet_minmax_standard" else MINMAX
    hours = budget.training_hours(
        MODEL, p["epochs"], slices, p["batch_size"], work, p.get("steps_per_epoch", 0)
    )
    return budget.costed(job, spec.scale, hours, MODEL)


def _jobs(scale: str, settings: dict, kspace: bool) -> list[TrainingJob]:
    specs = experiments.model_specs(scale, settings["train_overrides"], kspace=kspace)
    return [
        _costed(zoo.training_job(spec, "huang_liang", f"huang_liang-{name}"), spec)
        for name, spec in specs.items()
    ]


def image_models(scale: str, settings: dict) -> list[TrainingJob]:
    """S and A(ε) for every ε of the profile (training, Table 1, Fig. 6)."""
    return _jobs(scale, settings, kspace=False)


def table1_models(scale: str, settings: dict) -> list[TrainingJob]:
    """`image_models`, and S and A(ε₁) of Table 1's training-length control (the evaluate
    profile's `control_epochs`; none when 0)."""
    jobs = image_models(scale, settings)
    epochs = EVALUATE.resolve(scale, settings["evaluate_overrides"])["control_epochs"]
    if epochs:
        specs = experiments.control_specs(scale, settings["train_overrides"], epochs)
        jobs += [
            _costed(zoo.training_job(spec, "huang_liang", f"huang_liang-{name}-{epochs}ep"), spec)
            for name, spec in specs.items()
        ]
    return jobs


def all_models(scale: str, settings: dict) -> list[TrainingJob]:
    """S, A(ε) and K(η) (Algorithm 2, cross attacks)."""
    return _jobs(scale, settings, kspace=True)
