"""The pre-training stage (`runner.pretrain`): every checkpoint a run loads is a training job
of its own, trained before the notebooks; a notebook run of the workflow only loads."""

import pytest

from mrirobust import models, paths, zoo
from mrirobust.runner import load_manifest, pretrain, workflow
from mrirobust.training import jobs

MANIFEST = paths.notebooks_root() / "manifest.yaml"
RUNS = load_manifest(MANIFEST)


@pytest.mark.parametrize("scale", paths.SCALES)
def test_every_run_that_loads_models_has_its_training_jobs(scale):
    every, by_run = pretrain.plan(RUNS, scale)
    loaders = {run.id for run in RUNS if run.trains}
    assert {run_id for run_id, names in by_run.items() if names} == loaders
    assert len({job.identity for job in every.values()}) == len(every)  # one name, one training
    papers = {job.paper for job in every.values()}
    assert papers == {"shared", "darestani2021", "huang_liang", "zhao2023"}
    # a job at the gpu and paper scales asks for its measured time and memory (papers.budget)
    costed = scale in paths.CUDA_SCALES
    assert all(bool(job.resources.get(scale)) == costed for job in every.values())
    assert all((job.gpu_hours is not None) == costed for job in every.values())


def test_pretrain_trains_the_jobs_and_runs_no_notebook(tmp_path, monkeypatch):
    monkeypatch.setenv("MRIROBUST_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("MRIROBUST_FIGURES", str(tmp_path / "figures"))
    monkeypatch.setenv("MRIROBUST_CHECKPOINTS", str(tmp_path / "checkpoints"))
    results = workflow.run(MANIFEST, "smoke", only=["train_models"], pretrain_only=True)
    names = {r.id for r in results}
    assert names and all(r.status == "ok" for r in results)
    assert not (tmp_path / "results" / "smoke" / "train_models" / "run.json").exists()
    markers = sorted((tmp_path / "results" / "smoke" / "pretrain").glob("*.json"))
    assert {m.stem for m in markers} == names
    # a second call trains nothing: every job is up to date
    again = workflow.run(MANIFEST, "smoke", only=["train_models"], pretrain_only=True)
    assert [r.duration for r in again] == [r.duration for r in results]
    # a job whose checkpoint is gone runs again
    (checkpoint,) = (tmp_path / "checkpoints").glob("unet-smoke-8x-*.pt")
    checkpoint.unlink()
    assert len(pretrain.refresh_markers("smoke")) == 1


def test_a_notebook_run_only_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("MRIROBUST_CHECKPOINTS", str(tmp_path))
    monkeypatch.setenv(jobs.ENV, jobs.LOAD_ONLY)
    with pytest.raises(RuntimeError, match="not trained at scale 'smoke'.*make pretrain"):
        zoo.get(models.spec("unet", "smoke"))
    monkeypatch.delenv(jobs.ENV)
    zoo.train(models.spec("unet", "smoke"))
    monkeypatch.setenv(jobs.ENV, jobs.LOAD_ONLY)
    assert not zoo.get(models.spec("unet", "smoke")).training  # a trained one loads


def test_an_unknown_job_names_the_listing():
    with pytest.raises(ValueError, match="no training job 'nope' at scale 'smoke'.*--list"):
        pretrain.find("nope", "smoke", MANIFEST)
