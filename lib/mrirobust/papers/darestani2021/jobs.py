"""The checkpoints the Darestani runs load (`trains:` functions, `training.jobs`)."""

from __future__ import annotations

from mrirobust.papers import model_spec
from mrirobust.papers.darestani2021 import groups
from mrirobust.papers.darestani2021.profile import GROUPS
from mrirobust.papers.jobs import zoo_jobs
from mrirobust.training.jobs import TrainingJob

PAPER = "darestani2021"


def methods(scale: str, settings: dict) -> list[TrainingJob]:
    """Figs. 3, 7, 8: every method of `methods` (and `attack_methods`) under `model_config`."""
    names = [*settings["methods"], *settings.get("attack_methods", [])]
    config = settings["model_config"] or None
    return zoo_jobs([model_spec(name, scale, config=config) for name in names], PAPER)


def l1_bases(scale: str, settings: dict) -> list[TrainingJob]:
    """Fig. 10: the λ search of l1 with every basis."""
    return zoo_jobs(groups.l1_basis_specs(scale, settings["model_config"] or None), PAPER)


def knee_groups(scale: str, settings: dict) -> list[TrainingJob]:
    """Figs. 2 and 6: every model of the groups, trained or tuned on knees."""
    model_groups = GROUPS.resolve(scale, settings["group_overrides"])
    return zoo_jobs(groups.group_specs(model_groups, scale), PAPER)


def anatomy_groups(scale: str, settings: dict) -> list[TrainingJob]:
    """Fig. 4: the knee groups, and the `tuned` families trained or tuned on brains."""
    model_groups = GROUPS.resolve(scale, settings["group_overrides"])
    brain = groups.subset(model_groups, settings["tuned"])
    specs = groups.group_specs(model_groups, scale)
    specs += groups.group_specs(brain, scale, anatomy="brain")
    return zoo_jobs(specs, PAPER)
