"""The pre-training stage: every checkpoint the runs of a scale load, one job each, trained
before the notebooks; and the one training command of the project.

    python -m mrirobust train --list --scale paper           # every training job of the scale
    python -m mrirobust train varnet-knee-4x-darestani-1a2b3c --scale cpu
    python -m torch.distributed.run --nproc_per_node=8 \\
        -m mrirobust train huang_liang-S --scale paper

A manifest run's `trains:` names a function `(scale, settings) -> list[TrainingJob]`
(`training.jobs`) that lists the checkpoints its notebook loads. The workflow (Snakefile) makes
a rule `pretrain_<job>` of each distinct job, whose output is a marker under
`results/<scale>/pretrain/`, and gives every run the markers of its jobs as inputs; `make
pretrain` runs those rules alone. Under torchrun every process runs the job (DDP, the global
batch kept: `training.loop`); rank 0 writes the marker.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import time
from pathlib import Path

from mrirobust import costs, paths, storage
from mrirobust.runner.manifest import Run, load_manifest
from mrirobust.training.jobs import TrainingJob


def jobs_of(run: Run, scale: str) -> list[TrainingJob]:
    """The training jobs of `run` at `scale` (its `trains:` function with its settings)."""
    if run.trains is None:
        return []
    module, name = run.trains.split(":")
    function = getattr(importlib.import_module(module), name, None)
    if function is None:
        raise ValueError(f"run {run.id!r}: 'trains' names {run.trains}, which does not exist")
    jobs = function(scale, run.settings(scale))
    if not all(isinstance(job, TrainingJob) for job in jobs):
        raise ValueError(f"run {run.id!r}: {run.trains} must return TrainingJob objects")
    return jobs


def plan(runs: list[Run], scale: str) -> tuple[dict[str, TrainingJob], dict[str, list[str]]]:
    """({job name: job}, {run id: names of its jobs}) of `runs` at `scale`; two runs that name
    one job must describe the same training (its identity)."""
    every: dict[str, TrainingJob] = {}
    by_run: dict[str, list[str]] = {}
    for run in runs:
        by_run[run.id] = []
        for job in jobs_of(run, scale):
            known = every.setdefault(job.name, job)
            if known.identity != job.identity:
                raise ValueError(
                    f"training job {job.name!r} of run {run.id!r} differs from the job of the "
                    "same name of an earlier run (other settings): give the runs the same "
                    "settings or the jobs other names"
                )
            by_run[run.id].append(job.name)
    return every, by_run


def rule_name(job: TrainingJob) -> str:
    """The Snakemake rule of a job: `pretrain_` and its name with every other character `_`."""
    return "pretrain_" + re.sub(r"\W", "_", job.name)


def marker(scale: str, job: TrainingJob) -> Path:
    """The file a finished job writes: results/<scale>/pretrain/<name>.json."""
    return paths.results_root() / scale / "pretrain" / f"{job.name}.json"


def refresh_markers(scale: str) -> list[Path]:
    """Delete the markers whose recorded checkpoints are gone (so their jobs run again);
    returns them."""
    stale = []
    for path in sorted((paths.results_root() / scale / "pretrain").glob("*.json")):
        record = storage.read_json(path)
        if not all(Path(p).exists() for p in record.get("checkpoints", [])):
            path.unlink()
            stale.append(path)
    return stale


def find(name: str, scale: str, manifest: Path) -> TrainingJob:
    """The job `name` among the jobs of every run of `manifest` at `scale`."""
    every, _ = plan(load_manifest(manifest), scale)
    if name not in every:
        raise ValueError(
            f"no training job {name!r} at scale {scale!r}; `python -m mrirobust train --list "
            f"--scale {scale}` lists them: {', '.join(sorted(every)) or 'none'}"
        )
    return every[name]


def hours_by_paper(runs: list[Run], scale: str) -> dict[str, dict[str, float]]:
    """{paper: {"training", "runs", "total"}} GPU hours of `runs` at `scale`: its pre-training
    jobs' estimates (`TrainingJob.gpu_hours`) and the runtimes its `gpu: true` runs request
    (minutes in the manifest: each run's estimate)."""
    every, _ = plan(runs, scale)
    hours: dict[str, dict[str, float]] = {}
    for job in every.values():
        row = hours.setdefault(job.paper, {"training": 0.0, "runs": 0.0})
        row["training"] += job.gpu_hours or 0.0
    for run in runs:
        if run.gpu:
            row = hours.setdefault(run.paper, {"training": 0.0, "runs": 0.0})
            row["runs"] += run.resources.get(scale, {}).get("runtime", 0) / 60
    for row in hours.values():
        row["total"] = row["training"] + row["runs"]
    return hours


def print_hours(runs: list[Run], scale: str) -> None:
    """The estimated GPU hours per paper at `scale` (`hours_by_paper`), as a Markdown table."""
    hours = hours_by_paper(runs, scale)
    total = {key: sum(row[key] for row in hours.values()) for key in ("training", "runs")}
    print(f"\nGPU hours at {scale} scale (training: papers/budget.py; runs: their runtimes)")
    print("| paper | pre-training | figure runs | total |\n|---|---|---|---|")
    for paper, row in sorted(hours.items()) + [("all", {**total, "total": sum(total.values())})]:
        print(f"| {paper} | {row['training']:,.1f} | {row['runs']:,.1f} | {row['total']:,.1f} |")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", nargs="?", help="the training job (see --list)")
    parser.add_argument("--scale", choices=paths.SCALES, default="cpu")
    parser.add_argument("--list", action="store_true", help="list the training jobs and exit")
    parser.add_argument("--retrain", action="store_true", help="replace existing checkpoints")
    parser.add_argument("--marker", type=Path, help="write this marker when done (the workflow)")
    parser.add_argument(
        "--manifest", type=Path, default=None, help="default: notebooks/manifest.yaml"
    )


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("papermill").setLevel(logging.WARNING)  # it logs every notebook it reads
    manifest = args.manifest or paths.notebooks_root() / "manifest.yaml"
    if args.list:
        runs = load_manifest(manifest)
        every, by_run = plan(runs, args.scale)
        print("job\tpaper\tGPU hours\truntime (min)\tmem_mb\tloaded by")
        for name, job in every.items():
            loaders = ", ".join(r for r, names in by_run.items() if name in names)
            resources = job.resources.get(args.scale, {})
            runtime, memory = resources.get("runtime", "-"), resources.get("mem_mb", "-")
            hours = "-" if job.gpu_hours is None else f"{job.gpu_hours:.1f}"
            print(f"{name}\t{job.paper}\t{hours}\t{runtime}\t{memory}\t{loaders}")
        if args.scale in paths.CUDA_SCALES:
            print_hours(runs, args.scale)
        return 0
    if not args.job:
        print("train: name a job (python -m mrirobust train --list --scale S)")
        return 2
    try:
        job = find(args.job, args.scale, manifest)
    except ValueError as exc:
        print(f"train: {exc}")
        return 2
    start = time.perf_counter()
    step_log = args.marker.with_suffix(".steps.jsonl") if args.marker else None
    if step_log:  # the training steps, timed (costs.timed), go into the marker
        step_log.parent.mkdir(parents=True, exist_ok=True)
        step_log.unlink(missing_ok=True)
        os.environ[costs.ENV] = str(step_log)
    checkpoints = job.train(args.retrain)
    from mrirobust.training import loop

    world, rank = loop.distributed()
    if world > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
    if rank == 0:
        for path in checkpoints:
            print(f"checkpoint: {path}")
        if args.marker:
            storage.write_json(
                args.marker,
                {
                    "job": job.name,
                    "identity": job.identity,
                    "paper": job.paper,
                    "checkpoints": [str(p) for p in checkpoints],
                    "seconds": round(time.perf_counter() - start, 3),
                    "peak_rss_mb": round(costs.peak_rss_mb(), 1),
                    "steps": costs.summary(step_log) if step_log else [],
                    "world": world,
                    "host": os.uname().nodename,
                    "git": paths.git_revision(),
                },
            )
    return 0
