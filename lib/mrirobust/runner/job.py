"""One manifest run, as a Snakemake job executes it (`python -m mrirobust.runner.job`).

The run's notebook is executed with papermill on the kernel of this interpreter, in the
notebook's folder, with live progress on stdout. `results/<scale>/<run-id>/run.json` records the
parameters, git revision, host, times and status: `running` from the start, `ok` or `failed` at
the end, so a run killed midway is never marked ok; at the end also the kernel's peak memory
(`peak_rss_mb`) and the per-step costs the library logged (`steps`, `mrirobust.costs`).
Settings that must not make runs stale are read from the environment that the runner gives
Snakemake:

    MRIROBUST_CELL_TIMEOUT  seconds a cell may run before the run fails (unset: no limit)
    MRIROBUST_GPUS          K devices to pin `gpu: true` runs to, one CUDA_VISIBLE_DEVICES each
    MRIROBUST_INVOCATION    id of the `reproduce` call, stored so its summary finds its runs
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import importlib.metadata
import os
import resource
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import papermill

from mrirobust import config, costs, paths, storage
from mrirobust.runner import progress
from mrirobust.runner.manifest import Run, load_manifest, output_paths, read_record, run_dir
from mrirobust.training import jobs as training_jobs

THP_VARIABLE = "THP_MEM_ALLOC_ENABLE"  # PyTorch: CPU allocations of 2 MB and more on huge pages
ALLOCATOR = ("cmeel-mimalloc", "cmeel.prefix/lib/libmimalloc.so")  # distribution, library in it


def memory_environment(scale: str) -> dict[str, str]:
    """The environment a run's processes get unless the caller set the variable (docs/running.md):
    torch's huge pages for CPU tensors of 2 MB and more; at the CPU scales also mimalloc in place
    of glibc's malloc, keeping freed memory for reuse (`MIMALLOC_PURGE_DELAY=-1`). glibc maps
    every block above 32 MB afresh, so the kernel zeroes the pages of each large tensor again;
    the price is a higher peak RSS, which the CUDA scales' memory requests should not pay.
    mimalloc is left out when its library is not installed."""
    env = {THP_VARIABLE: "1"}
    if scale in paths.CUDA_SCALES:
        return env
    try:
        library = Path(importlib.metadata.distribution(ALLOCATOR[0]).locate_file(ALLOCATOR[1]))
    except importlib.metadata.PackageNotFoundError:
        return env
    if library.is_file():
        env.update({"LD_PRELOAD": str(library), "MIMALLOC_PURGE_DELAY": "-1"})
    return env


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


@contextlib.contextmanager
def gpu_slot(count: int, lock_dir: Path, poll: float = 1.0) -> Iterator[int]:
    """Hold the first free one of `count` device slots (file locks that die with the process).

    Snakemake's `gpu` resource lets at most `count` gpu jobs run at once, so a slot frees soon.
    """
    lock_dir.mkdir(parents=True, exist_ok=True)
    while True:
        for index in range(count):
            handle = open(lock_dir / f"gpu{index}.lock", "w")  # noqa: SIM115 (held while yielding)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield index
            finally:
                handle.close()
            return
        time.sleep(poll)


def execute(
    run: Run,
    scale: str,
    manifest_dir: Path,
    cell_timeout: float | None = None,
    gpus: int | None = None,
    invocation: str | None = None,
    out: TextIO = sys.stdout,
    heartbeat: float = 30.0,
) -> dict[str, Any]:
    """Execute one run, writing run.json before and after; returns the final record.

    Notebook errors, timeouts and missing outputs give a `failed` record; they do not raise.
    """
    out_dir = paths.results_dir(scale, run.id)
    previous = read_record(scale, run.id)
    previous_duration = (
        previous["duration_s"] if previous and previous.get("status") == "ok" else None
    )
    record: dict[str, Any] = {
        "id": run.id,
        "paper": run.paper,
        "notebook": run.notebook.relative_to(manifest_dir).as_posix(),
        "executed_notebook": run.notebook.name,
        "scale": scale,
        "parameters": run.params(scale),
        "git": paths.git_revision(),
        "python": sys.executable,
        "host": socket.gethostname(),
        "invocation": invocation,
        "cuda_visible_devices": None,
        "threads": os.environ.get("OMP_NUM_THREADS"),  # set by Snakemake from the rule
        "huge_pages": os.environ.get(THP_VARIABLE),  # set by `workflow.run` unless given
        "preload": os.environ.get("LD_PRELOAD"),  # the allocator, ditto
        "seed_offset": config.seed_offset(),  # MRIROBUST_SEED: added to every training seed
        "start": _now(),
        "end": None,
        "duration_s": None,
        "previous_duration_s": previous_duration,
        "status": "running",
        "error": None,
    }
    storage.write_json(out_dir / "run.json", record)
    step_log = out_dir / "steps.jsonl"
    step_log.unlink(missing_ok=True)
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        # the kernel inherits these; the pre-training stage trained what the run loads, so a
        # notebook run only loads
        kernel = {costs.ENV: str(step_log), training_jobs.ENV: training_jobs.LOAD_ONLY}
        if run.gpu and gpus:
            # slot i is device i, or the i-th of the devices the caller already made visible
            visible = os.environ.get("CUDA_VISIBLE_DEVICES")
            devices = visible.split(",") if visible else [str(i) for i in range(gpus)]
            slot = stack.enter_context(gpu_slot(gpus, paths.results_root() / ".gpu-slots"))
            kernel["CUDA_VISIBLE_DEVICES"] = devices[slot]
            record["cuda_visible_devices"] = devices[slot]
        stack.enter_context(_environment(kernel))
        live = stack.enter_context(
            progress.Progress(run.id, previous_duration, out=out, heartbeat=heartbeat)
        )
        record["error"] = _papermill(run, scale, out_dir, live, cell_timeout)
    if record["error"] is None:
        missing = [str(p) for p in output_paths(run, scale) if not p.exists()]
        if missing:
            record["error"] = {
                "cell_index": None,
                "ename": "MissingOutputs",
                "evalue": "declared outputs not written: " + ", ".join(missing),
            }
    record.update(
        end=_now(),
        duration_s=round(time.monotonic() - started, 3),
        status="ok" if record["error"] is None else "failed",
        # the kernel is this process's child: its peak memory, once it has exited
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        steps=costs.summary(step_log),
    )
    storage.write_json(out_dir / "run.json", record)
    return record


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block (the kernel it starts inherits them); the
    previous values are restored on leaving, so a caller's process keeps its own."""
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _papermill(run, scale, out_dir, live, cell_timeout) -> dict[str, Any] | None:
    """Run the notebook; None on success, else {cell_index, ename, evalue}."""
    try:
        papermill.execute_notebook(
            str(run.notebook),
            str(out_dir / run.notebook.name),
            parameters=run.params(scale),
            engine_name=progress.ENGINE,
            progress=live,
            kernel_name="python3",  # jupyter_client starts sys.executable for the native kernel
            language="python",
            cwd=str(run.notebook.parent),
            progress_bar=False,
            execution_timeout=cell_timeout,
        )
    except papermill.PapermillExecutionError as exc:
        return {"cell_index": exc.cell_index, "ename": exc.ename, "evalue": exc.evalue}
    except Exception as exc:  # a dead kernel or a timeout is a failed run, not a crash
        return {"cell_index": None, "ename": type(exc).__name__, "evalue": str(exc)}
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mrirobust.runner.job", description=__doc__)
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--scale", choices=paths.SCALES, required=True)
    parser.add_argument("--run", required=True, help="run id")
    args = parser.parse_args(argv)
    run = next(r for r in load_manifest(args.manifest) if r.id == args.run)
    timeout = os.environ.get("MRIROBUST_CELL_TIMEOUT")
    gpus = os.environ.get("MRIROBUST_GPUS")
    record = execute(
        run,
        args.scale,
        args.manifest.parent,
        cell_timeout=float(timeout) if timeout else None,
        gpus=int(gpus) if gpus else None,
        invocation=os.environ.get("MRIROBUST_INVOCATION"),
    )
    if record["status"] != "ok":
        error = record["error"]
        print(
            f"[{run.id}] failed: {error['ename']}: {error['evalue']} "
            f"(executed notebook: {run_dir(args.scale, run.id) / run.notebook.name})",
            file=sys.stderr,
        )
    return 0 if record["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
