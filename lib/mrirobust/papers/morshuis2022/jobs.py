"""The checkpoints the Morshuis runs load (`trains:` functions, `training.jobs`)."""

from __future__ import annotations

from mrirobust.papers.jobs import zoo_jobs
from mrirobust.papers.morshuis2022 import experiments
from mrirobust.training.jobs import TrainingJob


def attacked_models(scale: str, settings: dict) -> list[TrainingJob]:
    """Every method of `methods` (and `fig3_method`) at every acceleration of `accelerations`
    (or the one `acceleration`) under `model_config`: the models `experiments.models` loads."""
    methods = list(dict.fromkeys([*settings["methods"], settings.get("fig3_method", "unet")]))
    accelerations = settings.get("accelerations") or [settings["acceleration"]]
    specs = experiments.model_specs(scale, methods, accelerations, settings["model_config"])
    return zoo_jobs(specs.values(), "morshuis2022")
