"""`python -m mrirobust reproduce`: the manifest's runs through Snakemake, then a summary table.

- Which runs: every run, or those named by `only` (run ids) or `paper`, plus every run they
  need. Snakemake executes those whose outputs are missing, whose inputs changed (the contents
  of the notebook, its library code, needed runs' outputs), whose parameters changed, or that
  were interrupted; the others are up to date. `force` re-executes the selected runs (and so
  what depends on them). `states` (`--list`) tells which would execute and why.
- `jobs` runs execute at once (default `default_jobs`: at the CPU scales one per core, each
  with one thread). `gpu: true` runs request a `gpu` resource at every scale; with
  `gpus=K` at most K run at once, each pinned to its own device by CUDA_VISIBLE_DEVICES. At paper
  scale on a machine without CUDA (and no cluster `profile`) gpu runs, and what needs them, are
  skipped; at smoke and cpu scale they run on the CPU like any other.
- A failing run does not stop independent runs; runs that need it are reported as blocked.
  Failed and blocked runs make the command exit with status 1; bad input exits with 2 before
  anything runs. At the end the verdicts of every run are gathered into
  results/<scale>/claims.csv (`mrirobust.claims.aggregate`).
- `report` writes Snakemake's HTML report of the completed runs at a scale to
  results/<scale>/report.html: every figure with its caption, and the claims table.

Snakemake decides what is stale and executes it (targets, `--keep-going`, `--forcerun`,
`--rerun-incomplete`, the `gpu` resource, `--summary` for `--list`, `--dry-run`, `--report`,
cluster profiles). This module adds only what Snakemake (9.27) does not do: the choice of runs
by paper; skipping gpu runs with a reason where there is no CUDA device (Snakemake still
executes a job that asks for more of a resource than `--resources` grants); a lock that dies
with its process (Snakemake's lock files outlive a killed run until `--unlock`, and do not
cover the data generation before the workflow nor the claims gathered after it); and the
summary from each run's run.json.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import fcntl
import io
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mrirobust import claims, paths, scales, storage
from mrirobust.runner import pretrain, reference
from mrirobust.runner import report as run_report
from mrirobust.runner.job import memory_environment
from mrirobust.runner.manifest import Run, load_manifest, read_record, run_dir, select

SNAKEFILE = Path(__file__).with_name("Snakefile")
NOT_RUN = "Snakemake stopped before this run (see its messages above)"
PROFILES = {"slurm": Path(__file__).with_name("slurm")}  # shipped Snakemake profiles by name


@dataclass
class Result:
    """What happened to one run: `ok`, `failed`, `up to date` or `skipped`."""

    id: str
    notebook: str  # relative to the manifest's folder
    status: str
    reason: str = ""
    duration: float = 0.0
    error: dict[str, Any] | None = None
    blocked: bool = False  # skipped because a needed run failed

    @property
    def problem(self) -> bool:
        return self.status == "failed" or self.blocked


@dataclass(frozen=True)
class Plan:
    """The runs chosen for one invocation and the gpu runs that cannot run here."""

    manifest: Path
    scale: str
    runs: list[Run]  # selected, in dependency order
    skipped: dict[str, str]  # run id -> reason
    pretrain_only: bool = False  # the pre-training jobs of the runs, not the runs

    @property
    def targets(self) -> list[str]:
        """The Snakemake rules to make: the runs that can run here, or their training jobs."""
        runs = [run for run in self.runs if run.id not in self.skipped]
        if not self.pretrain_only:
            return [run.id for run in runs]
        return [pretrain.rule_name(job) for job in self.training_jobs(runs)]

    def training_jobs(self, runs: list[Run] | None = None) -> list:
        """The distinct training jobs of `runs` (default: the runs that can run here)."""
        runs = [run for run in self.runs if run.id not in self.skipped] if runs is None else runs
        return list(pretrain.plan(runs, self.scale)[0].values())


def plan(
    manifest: Path,
    scale: str,
    only: list[str] | None = None,
    paper: str | None = None,
    profile: str | None = None,
    pretrain_only: bool = False,
) -> Plan:
    """Validate everything and choose the runs; raises ValueError (ManifestError) on bad input."""
    if scale not in paths.SCALES:
        raise ValueError(f"unknown scale {scale!r}; valid scales: {', '.join(paths.SCALES)}")
    if profile is not None and not (Path(PROFILES.get(profile, profile)) / "config.yaml").is_file():
        raise ValueError(
            f"unknown profile {profile!r}: give {', '.join(PROFILES)} or a folder with config.yaml"
        )
    runs = select(load_manifest(manifest), only, paper)
    no_gpu = scale in paths.CUDA_SCALES and profile is None and any(run.gpu for run in runs)
    reason = f"gpu run at {scale} scale: no CUDA device" if no_gpu and not _cuda() else ""
    skipped: dict[str, str] = {}
    for run in runs:  # dependency order: a run's needs are decided first
        if reason and run.gpu:
            skipped[run.id] = reason
        elif held := [need for need in run.needs if need in skipped]:
            skipped[run.id] = "needs " + ", ".join(f"{need} (skipped)" for need in held)
    return Plan(Path(manifest).resolve(), scale, runs, skipped, pretrain_only)


def _cuda() -> bool:
    import torch  # imported only here: planning needs no torch otherwise

    return torch.cuda.is_available()


def snakemake_command(
    chosen: Plan,
    jobs: int | None = None,
    gpus: int | None = None,
    force: bool = False,
    profile: str | None = None,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """The Snakemake command line for a plan (`extra`: e.g. `--dry-run`, `--report FILE`)."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE)]
    command += ["--directory", str(paths.results_root())]  # Snakemake's state: results/.snakemake
    command += chosen.targets  # here, before options that take several values
    command += ["--rerun-incomplete", "--keep-going", "--nolock"]  # our lock: see _lock
    config = [f"manifest={chosen.manifest}", f"scale={chosen.scale}"]
    if profile is not None:  # the cluster profile sizes each job (cpus_per_task)
        folder = Path(PROFILES.get(profile, profile))
        command += ["--profile", str(folder)]
        if jobs is not None:
            command += ["--jobs", str(jobs)]
        config.append(f"threads={profile_cpus(folder)}")  # a job's threads: its CPUs
    else:
        jobs = jobs or default_jobs(chosen.scale)
        threads = threads_per_run(jobs)
        command += ["--cores", str(jobs * threads)]
        config.append(f"threads={threads}")
    if gpus is not None:
        command += ["--resources", f"gpu={gpus}"]
    if force and chosen.targets:
        command += ["--forcerun", *chosen.targets]
    return [*command, *extra, "--config", *config]


def profile_cpus(folder: Path) -> int:
    """The CPUs per job of a Snakemake profile (its default `cpus_per_task`, else 1)."""
    settings = yaml.safe_load((folder / "config.yaml").read_text()) or {}
    return int(settings.get("default-resources", {}).get("cpus_per_task", 1))


def threads_per_run(jobs: int | None) -> int:
    """Threads of each local run: max(1, cores // jobs). Snakemake sets OMP_NUM_THREADS (and
    MKL's, OpenBLAS') of a job to its rule's `threads`, 1 unless declared."""
    return max(1, (os.cpu_count() or 1) // (jobs or 1))


RUN_MEMORY_GB = 8  # room for one local run at the CPU scales (cpu peak: 6.0 GB, Morshuis Fig. 1)


def default_jobs(scale: str) -> int:
    """Local jobs at once when `jobs` is not given: at the CPU scales one per core while each
    has `RUN_MEMORY_GB` of memory, so each job has one thread (on the 2-core build machine two
    one-thread jobs made 1.3-1.5x the cpu VarNet training steps of one two-thread job: torch
    gains only ~1.5x from the second thread there); at the CUDA scales 1, as a run takes the
    GPU (`gpus` sets how many share)."""
    if scale in paths.CUDA_SCALES:
        return 1
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return max(1, min(os.cpu_count() or 1, int(memory_gb // RUN_MEMORY_GB)))


@contextlib.contextmanager
def _lock(scale: str) -> Iterator[None]:
    """One reproduce per scale at a time; the lock dies with the process (no stale lock)."""
    path = paths.results_root() / scale / ".reproduce.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"another reproduce at scale {scale} is running ({path})") from None
        yield


def _snakemake(command: list[str], env: dict[str, str] | None = None) -> int:
    """Run Snakemake with its output on this terminal; Ctrl-C lets it stop its jobs first."""
    process = subprocess.Popen(command, env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.wait()
        raise


def ensure_data(scale: str) -> None:
    """The generated data of `scale`, written before any run (runs executing at once must not
    generate them side by side): the embedded datasets, or at the shape scale the real-shaped
    files that the environment's FASTMRI_ROOT / CMRXRECON_ROOT do not replace. Returns at once
    when they are complete; the paper scale reads only real data."""
    if scales.resolve(scale, "data")["source"] == "fastmri":
        return
    from mrirobust.data import cmrxrecon_embedded, roots

    roots.ensure_embedded(scale)
    cmrxrecon_embedded.ensure_cmrxrecon(scale)


def run(
    manifest: str | Path,
    scale: str,
    only: list[str] | None = None,
    paper: str | None = None,
    jobs: int | None = None,
    gpus: int | None = None,
    force: bool = False,
    cell_timeout: float | None = None,
    profile: str | None = None,
    pretrain_only: bool = False,
) -> list[Result]:
    """Execute the chosen runs with Snakemake (their training jobs first), print the summary
    table, aggregate the claims; with `pretrain_only` the training jobs alone (`make pretrain`).

    Returns one Result per chosen run (per training job with `pretrain_only`), in dependency
    order. Raises ValueError (ManifestError included) before executing anything when the
    manifest or the arguments are invalid.
    """
    for name, value in (("jobs", jobs), ("gpus", gpus)):
        if value is not None and (isinstance(value, bool) or value < 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if gpus is not None and visible and len(visible.split(",")) < gpus:
        raise ValueError(f"gpus={gpus}, but CUDA_VISIBLE_DEVICES={visible!r} shows fewer devices")
    chosen = plan(Path(manifest), scale, only, paper, profile, pretrain_only)
    invocation = uuid.uuid4().hex
    env = {**os.environ, "MRIROBUST_INVOCATION": invocation}
    for key, value in memory_environment(scale).items():
        env.setdefault(key, value)
    env.pop("MRIROBUST_CELL_TIMEOUT", None)
    env.pop("MRIROBUST_GPUS", None)
    if cell_timeout is not None:
        env["MRIROBUST_CELL_TIMEOUT"] = str(cell_timeout)
    if gpus is not None:
        env["MRIROBUST_GPUS"] = str(gpus)
    with _lock(scale):
        code = 0
        if chosen.targets:
            ensure_data(scale)
            pretrain.refresh_markers(scale)  # a job whose checkpoints are gone runs again
            quiet = ("--quiet", "rules", "host")  # the runs print their own progress
            command = snakemake_command(chosen, jobs, gpus, force, profile, quiet)
            code = _snakemake(command, env)
        if pretrain_only:
            results = pretrained(chosen)
        else:
            results = collect(chosen, invocation, code)
    print(summary(results, scale))
    if chosen.targets:
        print(reference.measure(scale))
    if not pretrain_only:
        claims.aggregate(scale)
    return results


def pretrained(chosen: Plan) -> list[Result]:
    """One Result per training job of the plan: `ok` when its marker exists, else `failed`."""
    results = []
    for job in chosen.training_jobs():
        path = pretrain.marker(chosen.scale, job)
        if path.exists():
            seconds = storage.read_json(path).get("seconds", 0.0)
            results.append(Result(job.name, job.paper, "ok", duration=seconds))
        else:
            error = {"cell_index": None, "ename": "NotTrained", "evalue": f"no marker {path}"}
            results.append(Result(job.name, job.paper, "failed", error=error))
    return results


def collect(chosen: Plan, invocation: str, code: int) -> list[Result]:
    """The Result of each chosen run, from the run.json files that this invocation wrote.

    A run that Snakemake did not execute is up to date, or blocked by a failed need; when
    Snakemake failed without executing any run (a workflow error), each is `failed`, NotRun.
    """
    records = {run.id: read_record(chosen.scale, run.id) for run in chosen.runs}
    executed = {
        run_id for run_id, rec in records.items() if rec and rec.get("invocation") == invocation
    }
    results: dict[str, Result] = {}
    for item in chosen.runs:
        notebook = item.notebook.relative_to(chosen.manifest.parent).as_posix()
        failed_needs = [need for need in item.needs if results[need].problem]
        if item.id in chosen.skipped:
            result = Result(item.id, notebook, "skipped", chosen.skipped[item.id])
        elif item.id in executed:
            record = records[item.id]
            error = record["error"]
            if record["status"] == "running":
                error = {"cell_index": None, "ename": "Interrupted", "evalue": "stopped midway"}
            status = "ok" if record["status"] == "ok" else "failed"
            result = Result(item.id, notebook, status, "", record["duration_s"] or 0.0, error)
        elif failed_needs:
            reason = "needs " + ", ".join(f"{n} ({results[n].status})" for n in failed_needs)
            result = Result(item.id, notebook, "skipped", reason, blocked=True)
        elif code != 0 and not executed:
            error = {"cell_index": None, "ename": "NotRun", "evalue": NOT_RUN}
            result = Result(item.id, notebook, "failed", error=error)
        else:
            result = Result(item.id, notebook, "up to date")
        results[item.id] = result
    return list(results.values())


def describe_error(result: Result, scale: str) -> str:
    """'<notebook>, cell N of <executed copy>: Name: message' for a failed run."""
    error = result.error or {}
    cell = error.get("cell_index")
    executed = run_dir(scale, result.id) / Path(result.notebook).name
    where = f"cell {cell} of {executed}" if cell is not None else str(executed)
    return f"{result.notebook}, {where}: {error.get('ename')}: {error.get('evalue')}"


def summary(results: list[Result], scale: str) -> str:
    """A plain-text table of the results, ending with the failed or blocked runs."""
    if not results:
        return f"reproduce {scale}: no runs selected"
    width = max(len("run"), *(len(r.id) for r in results))
    lines = [f"{'run':<{width}}  {'status':<10}  {'time':>8}  detail"]
    for r in results:
        seconds = f"{r.duration:.1f} s" if r.status in ("ok", "failed") else ""
        detail = describe_error(r, scale) if r.status == "failed" else r.reason
        lines.append(f"{r.id:<{width}}  {r.status:<10}  {seconds:>8}  {detail}".rstrip())
    problems = [r.id for r in results if r.problem]
    if problems:
        lines.append(
            f"reproduce {scale}: {len(problems)} run(s) failed or blocked: {', '.join(problems)}"
        )
    return "\n".join(lines)


def dry_run(chosen: Plan, jobs=None, gpus=None, force=False, profile=None) -> int:
    """Print Snakemake's dry run (`--dry-run`): each job with its inputs, reason and resources."""
    for run_id, reason in chosen.skipped.items():
        print(f"skipped: {run_id} ({reason})")
    if not chosen.targets:
        return 0
    command = snakemake_command(chosen, jobs, gpus, force, profile, ("--dry-run",))
    return _snakemake(command)


def states(chosen: Plan, force: bool = False) -> dict[str, tuple[str, str]]:
    """What a reproduce would do with each chosen run: {id: (state, reason)}, executing nothing.

    From Snakemake's `--summary`, a tab-separated table with a header (columns output_file,
    date, rule, log-file(s), status, plan) and one row per output; a run is `to run` when any of
    its outputs has its `plan` "update pending", and its reason is that output's `status`.
    """
    found = {run_id: ("skipped", reason) for run_id, reason in chosen.skipped.items()}
    if not chosen.targets:
        return found
    command = snakemake_command(chosen, force=force, extra=("--summary",))
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"Snakemake could not plan the runs:\n{done.stderr[-2000:]}")
    table = csv.DictReader(io.StringIO(done.stdout), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in table:
        if row["rule"] in chosen.targets:
            pending = row["plan"] == "update pending"
            if pending or row["rule"] not in found:
                found[row["rule"]] = ("to run", row["status"]) if pending else ("up to date", "")
    return found


def describe_states(chosen: Plan, found: dict[str, tuple[str, str]]) -> str:
    """The `--list` table: run, paper, state and reason, in dependency order."""
    width = max(len("run"), *(len(run.id) for run in chosen.runs))
    lines = [f"{'run':<{width}}  {'paper':<14}  {'state':<10}  reason"]
    for run in chosen.runs:
        state, reason = found[run.id]
        lines.append(f"{run.id:<{width}}  {run.paper:<14}  {state:<10}  {reason}".rstrip())
    return "\n".join(lines)


def write_report(chosen: Plan) -> Path:
    """Snakemake's HTML report of the completed chosen runs: results/<scale>/report.html."""
    done = [r for r in chosen.runs if (read_record(chosen.scale, r.id) or {}).get("status") == "ok"]
    if not done:
        raise ValueError(
            f"no completed run at scale {chosen.scale}; run `make reproduce SCALE={chosen.scale}`"
        )
    scale_dir = paths.results_root() / chosen.scale
    front = run_report.write_description(chosen.scale, scale_dir / "report.rst")
    target = scale_dir / "report.html"
    completed = Plan(chosen.manifest, chosen.scale, done, {})
    command = snakemake_command(completed, extra=("--report", str(target)))
    if _snakemake([*command, f"report={front}"]) != 0:
        raise RuntimeError(f"Snakemake could not write the report {target}")
    return target


# --- command line --------------------------------------------------------------------------


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scale", choices=paths.SCALES, default="cpu", help="scale profile (default: cpu)"
    )
    parser.add_argument("--only", nargs="+", metavar="ID", help="these runs and what they need")
    parser.add_argument("--paper", help="this paper's runs and what they need")
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=None,
        help="jobs at once (default: one per core at the CPU scales, 1 at gpu and paper)",
    )
    parser.add_argument(
        "--gpus", type=_positive, default=None, help="GPUs to spread `gpu: true` runs over"
    )
    parser.add_argument("--force", action="store_true", help="re-run the selected runs")
    parser.add_argument(
        "--pretrain", action="store_true", help="only the training jobs of the selected runs"
    )
    parser.add_argument("--list", action="store_true", help="print what would run, and why")
    parser.add_argument(
        "--dry-run", action="store_true", help="print Snakemake's plan: jobs, reasons, resources"
    )
    parser.add_argument("--report", action="store_true", help="write results/SCALE/report.html")
    parser.add_argument(
        "--profile",
        default=None,
        help="Snakemake profile: 'slurm' (shipped, see docs/cluster.md) or a profile folder",
    )
    parser.add_argument(
        "--cell-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="fail a run whose cell runs longer than this (default: no limit)",
    )
    parser.add_argument(
        "--manifest", type=Path, default=None, help="default: notebooks/manifest.yaml"
    )


def main(args: argparse.Namespace) -> int:
    manifest = args.manifest or paths.notebooks_root() / "manifest.yaml"
    try:
        if args.list or args.dry_run or args.report:
            chosen = plan(manifest, args.scale, args.only, args.paper, args.profile, args.pretrain)
            if args.report:
                print(f"report: {write_report(chosen)}")
                return 0
            if args.list:
                print(describe_states(chosen, states(chosen, args.force)))
                return 0
            return dry_run(chosen, args.jobs, args.gpus, args.force, args.profile)
        results = run(
            manifest,
            args.scale,
            args.only,
            args.paper,
            jobs=args.jobs,
            gpus=args.gpus,
            force=args.force,
            cell_timeout=args.cell_timeout,
            profile=args.profile,
            pretrain_only=args.pretrain,
        )
    except ValueError as exc:  # ManifestError included: a message naming file, run and field
        print(f"reproduce: {exc}", file=sys.stderr)
        return 2
    return 1 if any(r.problem for r in results) else 0
