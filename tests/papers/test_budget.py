"""The gpu scale (the paper configuration on the real data, cut to one GPU-day) and the GPU
hours it is sized by (`papers.budget`)."""

import importlib
import pkgutil

import pytest

from mrirobust import paths, scales
from mrirobust.config import Profile
from mrirobust.papers import budget
from mrirobust.runner import load_manifest, pretrain

RUNS = load_manifest(paths.notebooks_root() / "manifest.yaml")


def profiles() -> list[Profile]:
    """Every Profile of the library: the shared sections and each paper's."""
    found = [scales.TRAIN, importlib.import_module("mrirobust.data.cmrxrecon_embedded").DATA]
    papers = importlib.import_module("mrirobust.papers")
    for info in pkgutil.iter_modules(papers.__path__):
        if info.ispkg:
            module = importlib.import_module(f"mrirobust.papers.{info.name}.profile")
            found += [v for v in vars(module).values() if isinstance(v, Profile)]
    return found


def is_cut(value, paper) -> bool:
    """`value` does no more than `paper`: a list a sub-list, a count no larger (0 at paper: all),
    anything else equal."""
    if isinstance(paper, list):
        return isinstance(value, list) and all(item in paper for item in value)
    if isinstance(paper, int | float) and not isinstance(paper, bool):
        return paper == 0 or value <= paper
    return value == paper


def test_every_gpu_difference_of_a_profile_is_a_cut_of_the_paper():
    found = profiles()
    assert len(found) >= 11
    for profile in found:
        for key, value in profile.differences("gpu").items():
            if key == "epoch_seconds_estimate":  # what notebook users are told, not a size
                continue
            assert is_cut(value, profile.paper[key]), (profile.name, key, value)


def test_every_gpu_parameter_of_the_manifest_is_a_cut_of_the_paper():
    for run in RUNS:
        paper, gpu = run.settings("paper"), run.settings("gpu")
        assert gpu.keys() == paper.keys()
        for key in gpu.keys() - {"scale"}:
            assert is_cut(gpu[key], paper[key]), (run.id, key)


def test_every_gpu_run_states_its_runtime_and_inherits_the_rest():
    for run in RUNS:
        if run.gpu:
            gpu, paper = run.resources["gpu"], run.resources["paper"]
            assert gpu["mem_mb"] == paper["mem_mb"]  # inherited
            assert gpu["runtime"] <= paper["runtime"]


def test_the_gpu_scale_fits_one_gpu_day_and_every_paper_is_costed():
    gpu = pretrain.hours_by_paper(RUNS, "gpu")
    paper = pretrain.hours_by_paper(RUNS, "paper")
    assert set(gpu) == set(paper) == {run.paper for run in RUNS}
    assert sum(row["total"] for row in gpu.values()) <= 24
    for name, row in gpu.items():
        assert 0 < row["total"] < paper[name]["total"], name


@pytest.mark.parametrize("scale", ["smoke", "cpu", "shape"])
def test_scales_on_the_embedded_or_shaped_data_are_not_costed(scale):
    assert all(row["training"] == 0 for row in pretrain.hours_by_paper(RUNS, scale).values())


def test_training_hours_count_steps_per_epoch_when_set():
    step = budget.steps()["darestani2021/unet"]["train_s"]
    every = budget.training_hours("darestani2021/unet", 2, 1000, 4)
    cut = budget.training_hours("darestani2021/unet", 2, 1000, 4, steps_per_epoch=10)
    assert every == pytest.approx(2 * 250 * step * budget.VALIDATION / 3600)
    assert cut == pytest.approx(2 * 10 * step * budget.VALIDATION / 3600)
