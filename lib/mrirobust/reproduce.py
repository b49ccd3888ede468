"""Run the notebooks of notebooks/manifest.yaml through papermill (`python -m mrirobust reproduce`).

Semantics:
- Runs execute in dependency order (`needs`; ties keep manifest order), each on the kernel of
  the running interpreter, with the notebook's folder as working directory. The executed
  notebook and `run.json` (parameters, git revision, start/end, duration, status, error) go to
  `results/<scale>/<run-id>/`.
- A run is *up to date*, and not executed again unless `force`, when its last `run.json` says
  `ok` with the same parameters and the executed notebook and all declared outputs exist and are
  newer than the notebook, every library file (lib/mrirobust/**/*.py) and the `run.json` of each
  run it needs (so a re-executed dependency re-executes its dependents).
- `gpu: true` runs are skipped at scales other than `paper` and where no CUDA device exists;
  runs that need a skipped run are skipped too. Neither counts as a failure.
- A failing notebook does not stop independent runs; runs that need it are skipped as
  *blocked*. With `only`, needed runs are not added automatically: a selected run whose needed
  run is neither selected nor completed (an `ok` run.json at this scale) is blocked, with a
  message saying to add it. Failed and blocked runs make the command exit with status 1.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import graphlib
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import papermill
import yaml
from tqdm.auto import tqdm

from mrirobust import paths, scales

RUN_KEYS = ("id", "notebook", "needs", "gpu", "outputs", "parameters")
INJECTED = ("scale", "run_id")
FIGURES_PREFIX = "{figures}/"
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class ManifestError(ValueError):
    """The manifest is malformed; the message names the file, the run and the key."""


@dataclass(frozen=True)
class Run:
    """One manifest entry; `notebook` is resolved against the manifest's folder."""

    id: str
    notebook: Path
    needs: tuple[str, ...] = ()
    gpu: bool = False
    outputs: tuple[str, ...] = ()
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)

    def params(self, scale: str) -> dict[str, Any]:
        """The papermill parameters at `scale`, with `scale` and `run_id` injected."""
        return {**self.parameters.get(scale, {}), "scale": scale, "run_id": self.id}


@dataclass
class Result:
    """What happened to one run: status is `ok`, `up to date`, `skipped` or `failed`."""

    id: str
    notebook: str  # relative to the manifest's folder
    status: str
    reason: str = ""
    duration: float = 0.0
    error: dict[str, Any] | None = None
    blocked: bool = False  # skipped because a needed run failed or never completed

    @property
    def completed(self) -> bool:
        return self.status in ("ok", "up to date")

    @property
    def problem(self) -> bool:
        return self.status == "failed" or self.blocked


# --- manifest ------------------------------------------------------------------------------


def load_manifest(path: str | Path) -> list[Run]:
    """Read and validate a manifest; returns its runs in file order.

    Raises ManifestError for unknown keys, scales or parameters (checked against the notebook's
    `parameters` cell with papermill), missing notebooks, duplicate ids, unknown needs and cycles.
    """
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict) or set(document) != {"runs"}:
        raise ManifestError(f"{path}: expected a mapping with the single key 'runs'")
    entries = document["runs"] or []
    if not isinstance(entries, list):
        raise ManifestError(f"{path}: 'runs' must be a list, got {type(entries).__name__}")

    runs: list[Run] = []
    for position, entry in enumerate(entries):
        run = _parse_run(path, position, entry)
        if any(other.id == run.id for other in runs):
            raise ManifestError(f"{path}: duplicate run id {run.id!r}")
        runs.append(run)
    ids = {run.id for run in runs}
    for run in runs:
        for need in run.needs:
            if need not in ids:
                raise ManifestError(
                    f"{path}: run {run.id!r} needs unknown run {need!r}; "
                    f"known runs: {', '.join(sorted(ids))}"
                )
    try:
        _topological(runs)
    except graphlib.CycleError as exc:
        raise ManifestError(f"{path}: runs form a cycle: {' -> '.join(exc.args[1])}") from exc
    return runs


def _parse_run(path: Path, position: int, entry: Any) -> Run:
    if not isinstance(entry, dict):
        raise ManifestError(f"{path}: run #{position} must be a mapping, got {entry!r}")
    run_id = entry.get("id")
    if not isinstance(run_id, str) or not ID_PATTERN.fullmatch(run_id):
        raise ManifestError(
            f"{path}: run #{position} needs an 'id' of letters, digits, '_', '.', '-'; "
            f"got {run_id!r}"
        )
    where = f"{path}: run {run_id!r}"
    for key in entry:
        if key not in RUN_KEYS:
            raise ManifestError(f"{where}: unknown key {key!r}; valid keys: {', '.join(RUN_KEYS)}")

    notebook_name = entry.get("notebook")
    if not isinstance(notebook_name, str) or not notebook_name.endswith(".ipynb"):
        raise ManifestError(f"{where}: 'notebook' must be a path to an .ipynb file")
    notebook = path.parent / notebook_name
    if not notebook.is_file():
        raise ManifestError(f"{where}: notebook {notebook_name!r} not found in {path.parent}")

    needs = _string_list(where, entry, "needs")
    outputs = _string_list(where, entry, "outputs")
    for output in outputs:
        parts = Path(output.removeprefix(FIGURES_PREFIX)).parts
        if output.startswith("/") or ".." in parts or "{" in output.removeprefix(FIGURES_PREFIX):
            raise ManifestError(
                f"{where}: output {output!r} must be relative to the run's results folder "
                f"or start with {FIGURES_PREFIX!r}, without '..'"
            )
    gpu = entry.get("gpu", False)
    if not isinstance(gpu, bool):
        raise ManifestError(f"{where}: 'gpu' must be true or false, got {gpu!r}")

    parameters = entry.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise ManifestError(f"{where}: 'parameters' must map scales to parameter mappings")
    try:
        declared = papermill.inspect_notebook(str(notebook))
    except ValueError as exc:  # e.g. no kernel language in the notebook's metadata
        raise ManifestError(
            f"{where}: cannot read the parameters of {notebook_name!r}: {exc}"
        ) from exc
    missing = [name for name in INJECTED if name not in declared]
    if missing:
        raise ManifestError(
            f"{where}: notebook {notebook_name!r} must declare {', '.join(missing)} in its "
            "cell tagged 'parameters' (the runner injects scale and run_id)"
        )
    checked: dict[str, dict[str, Any]] = {}
    for scale, values in parameters.items():
        if scale not in paths.SCALES:
            raise ManifestError(
                f"{where}: unknown scale {scale!r} in 'parameters'; "
                f"valid scales: {', '.join(paths.SCALES)}"
            )
        values = values or {}
        if not isinstance(values, dict):
            raise ManifestError(f"{where}: parameters for scale {scale!r} must be a mapping")
        for key in values:
            if key in INJECTED:
                raise ManifestError(
                    f"{where}: parameter {key!r} (scale {scale!r}) is injected by the runner; "
                    "remove it from the manifest"
                )
            if key not in declared:
                raise ManifestError(
                    f"{where}: unknown parameter {key!r} for scale {scale!r}: notebook "
                    f"{notebook_name!r} declares {', '.join(sorted(declared))}"
                )
            default = _literal(declared[key]["default"])
            if not _same_kind(default, values[key]):
                raise ManifestError(
                    f"{where}: parameter {key!r} for scale {scale!r} is "
                    f"{type(values[key]).__name__} {values[key]!r} but defaults to "
                    f"{type(default).__name__} {default!r} in {notebook_name!r} "
                    "(YAML reads 1e-3 as a string: write 1.0e-3)"
                )
        checked[scale] = dict(values)
    return Run(run_id, notebook, tuple(needs), gpu, tuple(outputs), checked)


def _literal(source: str) -> Any:
    """A parameter's default value, or None when it is not a Python literal."""
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return None


def _same_kind(default: Any, value: Any) -> bool:
    """Whether a manifest value may replace a notebook default (numbers mix, bools do not)."""
    if default is None or value is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, int | float):
        return isinstance(value, int | float)
    if isinstance(default, list | tuple):
        return isinstance(value, list | tuple)
    return isinstance(value, type(default))


def _string_list(where: str, entry: dict, key: str) -> list[str]:
    values = entry.get(key) or []
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise ManifestError(f"{where}: {key!r} must be a list of strings, got {values!r}")
    return values


def _topological(runs: list[Run]) -> list[Run]:
    """Dependency order; runs that become ready together keep their manifest order."""
    position = {run.id: i for i, run in enumerate(runs)}
    by_id = {run.id: run for run in runs}
    sorter = graphlib.TopologicalSorter({run.id: run.needs for run in runs})
    sorter.prepare()
    ordered: list[Run] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        ordered.extend(by_id[run_id] for run_id in ready)
        sorter.done(*ready)
    return ordered


def plan(runs: list[Run], scale: str, only: list[str] | None = None) -> list[Run]:
    """The runs to consider at `scale` in dependency order; `only` selects ids, adding no needs."""
    if scale not in paths.SCALES:
        raise ValueError(f"unknown scale {scale!r}; valid scales: {', '.join(paths.SCALES)}")
    ordered = _topological(runs)
    if only is None:
        return ordered
    ids = {run.id for run in runs}
    unknown = [run_id for run_id in only if run_id not in ids]
    if unknown:
        raise ValueError(
            f"unknown run id(s) {', '.join(unknown)}; "
            f"manifest runs: {', '.join(sorted(ids)) or 'none'}"
        )
    return [run for run in ordered if run.id in only]


# --- state on disk -------------------------------------------------------------------------


def run_dir(scale: str, run_id: str) -> Path:
    """`results/<scale>/<run-id>/` (not created)."""
    return paths.results_root() / scale / run_id


def output_paths(run: Run, scale: str) -> list[Path]:
    """The executed notebook and the declared outputs of `run` at `scale`."""
    resolved = [run_dir(scale, run.id) / run.notebook.name]
    for output in run.outputs:
        if output.startswith(FIGURES_PREFIX):
            resolved.append(paths.figures_root() / scale / output.removeprefix(FIGURES_PREFIX))
        else:
            resolved.append(run_dir(scale, run.id) / output)
    return resolved


def read_record(scale: str, run_id: str) -> dict[str, Any] | None:
    """The last run.json of a run at `scale`, or None."""
    record = run_dir(scale, run_id) / "run.json"
    return json.loads(record.read_text()) if record.exists() else None


def library_files() -> list[Path]:
    """Every Python file of the mrirobust package."""
    return sorted(Path(__file__).resolve().parent.rglob("*.py"))


def is_up_to_date(run: Run, scale: str, library: list[Path] | None = None) -> bool:
    """True when the last run succeeded with the same parameters and its outputs are fresh."""
    record = read_record(scale, run.id)
    if (
        record is None
        or record.get("status") != "ok"
        or record.get("parameters") != run.params(scale)
    ):
        return False
    outputs = output_paths(run, scale)
    if not all(output.exists() for output in outputs):
        return False
    references = [run.notebook, *(library if library is not None else library_files())]
    references += [run_dir(scale, need) / "run.json" for need in run.needs]
    newest_input = max(ref.stat().st_mtime_ns for ref in references if ref.exists())
    return min(output.stat().st_mtime_ns for output in outputs) > newest_input


def gpu_skip_reason(run: Run, scale: str) -> str:
    """Why a `gpu: true` run cannot run here ('' when it can)."""
    if not run.gpu:
        return ""
    if scale != "paper":
        return "gpu run: only at scale paper"
    import torch  # imported only here: the runner itself needs no torch

    return "" if torch.cuda.is_available() else "gpu run: no CUDA device"


def git_revision() -> dict[str, Any]:
    """The project's git HEAD and whether tracked files differ from it (None without git)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=paths.project_root(), capture_output=True, text=True
            )
        except OSError:
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    revision = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"revision": revision, "dirty": None if status is None else bool(status)}


def ensure_data(scale: str) -> None:
    """`python -m mrirobust data --scale S` when `scale` uses the embedded dataset.

    The data command returns at once when the dataset is complete and generates it otherwise.
    """
    if scales.resolve(scale, "data")["source"] != "embedded":
        return
    from mrirobust.__main__ import main as cli

    if cli(["data", "--scale", scale]) != 0:
        raise RuntimeError(f"`python -m mrirobust data --scale {scale}` failed")


# --- execution -----------------------------------------------------------------------------


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _write_json(path: Path, content: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(content, indent=2) + "\n")
    os.replace(tmp, path)


def execute(
    run: Run,
    scale: str,
    manifest_dir: Path,
    git: dict,
    progress: bool = True,
    cell_timeout: float | None = None,
) -> Result:
    """Execute one run with papermill and write its run.json; never raises for notebook errors.

    `cell_timeout` (seconds per cell, None = no limit) turns a hung kernel into a failed run.
    """
    out_dir = paths.results_dir(scale, run.id)
    parameters = run.params(scale)
    start, started = _now(), time.monotonic()
    error = None
    try:
        papermill.execute_notebook(
            str(run.notebook),
            str(out_dir / run.notebook.name),
            parameters=parameters,
            kernel_name="python3",  # jupyter_client starts sys.executable for the native kernel
            language="python",
            cwd=str(run.notebook.parent),
            progress_bar=progress,
            execution_timeout=cell_timeout,
        )
    except papermill.PapermillExecutionError as exc:
        error = {"cell_index": exc.cell_index, "ename": exc.ename, "evalue": exc.evalue}
    except Exception as exc:  # a dead kernel or a timeout must not stop independent runs
        error = {"cell_index": None, "ename": type(exc).__name__, "evalue": str(exc)}
    if error is None:
        missing = [str(p) for p in output_paths(run, scale) if not p.exists()]
        if missing:
            error = {
                "cell_index": None,
                "ename": "MissingOutputs",
                "evalue": "declared outputs not written: " + ", ".join(missing),
            }
    duration = time.monotonic() - started
    status = "ok" if error is None else "failed"
    notebook = run.notebook.relative_to(manifest_dir).as_posix()
    _write_json(
        out_dir / "run.json",
        {
            "id": run.id,
            "notebook": notebook,
            "executed_notebook": run.notebook.name,
            "scale": scale,
            "parameters": parameters,
            "git": git,
            "python": sys.executable,
            "start": start,
            "end": _now(),
            "duration_s": round(duration, 3),
            "status": status,
            "error": error,
        },
    )
    return Result(run.id, notebook, status, duration=duration, error=error)


def _needs_check(run: Run, notebook: str, results: dict[str, Result], scale: str) -> Result | None:
    """A skipped Result when a needed run is not available, else None."""
    blocked, skipped = [], []
    for need in run.needs:
        if need not in results:  # not selected with --only
            record = read_record(scale, need)
            if record is None or record.get("status") != "ok":
                blocked.append(f"{need} (not completed at scale {scale}; add it to --only)")
        elif results[need].problem:
            blocked.append(f"{need} ({results[need].status})")
        elif not results[need].completed:
            skipped.append(f"{need} (skipped)")
    if blocked:
        return Result(run.id, notebook, "skipped", "needs " + ", ".join(blocked), blocked=True)
    if skipped:
        return Result(run.id, notebook, "skipped", "needs " + ", ".join(skipped))
    return None


def run(
    manifest: str | Path,
    scale: str,
    only: list[str] | None = None,
    force: bool = False,
    progress: bool = True,
    cell_timeout: float | None = None,
) -> list[Result]:
    """Execute the manifest's runs at `scale` in dependency order and print a summary table.

    Returns one Result per selected run, in execution order. Raises ManifestError or ValueError
    before executing anything when the manifest or the arguments are invalid.
    """
    manifest = Path(manifest)
    order = plan(load_manifest(manifest), scale, only)
    library = library_files()
    git = git_revision()
    results: dict[str, Result] = {}
    bar = tqdm(order, desc=f"reproduce {scale}", unit="run", disable=not progress or not order)
    for item in bar:
        bar.set_postfix_str(item.id)
        notebook = item.notebook.relative_to(manifest.parent).as_posix()
        reason = gpu_skip_reason(item, scale)
        if reason:
            result = Result(item.id, notebook, "skipped", reason)
        elif (result := _needs_check(item, notebook, results, scale)) is not None:
            pass
        elif not force and is_up_to_date(item, scale, library):
            result = Result(item.id, notebook, "up to date")
        else:
            tqdm.write(f"reproduce: running {item.id} ({notebook}) at scale {scale}")
            result = execute(item, scale, manifest.parent, git, progress, cell_timeout)
        results[item.id] = result
    bar.close()
    print(summary(list(results.values()), scale))
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


# --- command line --------------------------------------------------------------------------


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scale", choices=paths.SCALES, default="cpu", help="scale profile (default: cpu)"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="ID", help="run only these ids (needed runs are not added)"
    )
    parser.add_argument("--force", action="store_true", help="re-run up-to-date runs too")
    parser.add_argument("--list", action="store_true", help="print the plan and exit")
    parser.add_argument(
        "--cell-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="fail a run whose cell runs longer than this (default: no limit)",
    )
    parser.add_argument(
        "--manifest",
        type=Path,
        default=None,
        help="manifest file (default: notebooks/manifest.yaml)",
    )


def describe_plan(runs: list[Run], scale: str) -> str:
    """The `--list` table: order, id, notebook, needs and what a run would do now."""
    if not runs:
        return f"reproduce {scale}: no runs selected"
    width = max(len("run"), *(len(r.id) for r in runs))
    lines = [f"{'run':<{width}}  {'state':<14}  needs / notebook"]
    library = library_files()
    for r in runs:
        state = gpu_skip_reason(r, scale) or (
            "up to date" if is_up_to_date(r, scale, library) else "to run"
        )
        needs = ", ".join(r.needs) or "-"
        lines.append(f"{r.id:<{width}}  {state:<14}  {needs} / {r.notebook.name}")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    manifest = args.manifest or paths.notebooks_root() / "manifest.yaml"
    try:
        selected = plan(load_manifest(manifest), args.scale, args.only)
        if args.list:
            print(describe_plan(selected, args.scale))
            return 0
        if selected:
            ensure_data(args.scale)
        results = run(manifest, args.scale, args.only, args.force, cell_timeout=args.cell_timeout)
    except ValueError as exc:  # ManifestError included: a message naming file, run and key
        print(f"reproduce: {exc}", file=sys.stderr)
        return 2
    return 1 if any(r.problem for r in results) else 0
