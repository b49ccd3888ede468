"""notebooks/manifest.yaml: the one list of runs, validated before anything executes.

A run names its notebook, the paper it belongs to, the library code it depends on, the runs it
needs, the files it writes and its papermill parameters per scale (format in the manifest's
header). `load_manifest` checks every field and the notebook's `parameters` cell; `select` picks
runs by id or paper and adds what they need; `code_files` lists the files whose change makes a
run stale.
"""

from __future__ import annotations

import ast
import functools
import graphlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import papermill
import yaml

import mrirobust
from mrirobust import paths, storage

RUN_KEYS = (
    "id",
    "notebook",
    "paper",
    "code",
    "needs",
    "gpu",
    "trains",
    "outputs",
    "parameters",
    "resources",
)
TRAINS_PATTERN = re.compile(r"mrirobust(\.\w+)+:\w+")  # module:function
INJECTED = ("scale", "run_id")
FIGURES_PREFIX = "{figures}/"
ID_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # a Snakemake rule name
OVERRIDES_SUFFIX = "_overrides"  # notebook parameters that replace profile keys (by hand only)
SHARED = "shared"  # the `paper` of runs that serve every paper (dataset tour, model training)
RESOURCE_KEYS = ("runtime", "mem_mb", "cpus_per_task")  # Snakemake's names; runtime in minutes


class ManifestError(ValueError):
    """The manifest is malformed; the message names the file, the run and the field."""


@dataclass(frozen=True)
class Run:
    """One manifest entry; `notebook` is resolved against the manifest's folder, `code` globs
    against `root`, the folder above it (the repository root for notebooks/manifest.yaml)."""

    id: str
    notebook: Path
    root: Path
    paper: str
    code: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    gpu: bool = False
    outputs: tuple[str, ...] = ()
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[str, dict[str, int]] = field(default_factory=dict)
    trains: str | None = None  # "module:function" listing the checkpoints the run loads
    defaults: dict[str, Any] = field(default_factory=dict)  # the notebook's parameters cell

    def params(self, scale: str) -> dict[str, Any]:
        """The papermill parameters at `scale`, with `scale` and `run_id` injected."""
        return {**self.parameters.get(scale, {}), "scale": scale, "run_id": self.id}

    def settings(self, scale: str) -> dict[str, Any]:
        """Every parameter the notebook runs with at `scale`: its `parameters` cell's defaults
        replaced by the manifest's values and the injected ones."""
        return {**self.defaults, **self.params(scale)}


def load_manifest(path: str | Path) -> list[Run]:
    """Read and validate a manifest; returns its runs in file order.

    Raises ManifestError naming the run and field for unknown keys, scales, parameters (checked
    against the notebook's `parameters` cell), missing notebooks, code globs that match nothing,
    duplicate ids or outputs, unknown needs and cycles.
    """
    path = Path(path).resolve()
    root = path.parent.parent
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read the manifest: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict) or set(document) != {"runs"}:
        raise ManifestError(f"{path}: expected a mapping with the single key 'runs'")
    entries = document["runs"] or []
    if not isinstance(entries, list):
        raise ManifestError(f"{path}: 'runs' must be a list, got {type(entries).__name__}")

    runs: list[Run] = []
    for position, entry in enumerate(entries):
        run = _parse_run(path, root, position, entry)
        if any(other.id == run.id for other in runs):
            raise ManifestError(f"{path}: duplicate run id {run.id!r}")
        runs.append(run)
    ids = {run.id for run in runs}
    producers: dict[str, str] = {}
    for run in runs:
        for need in run.needs:
            if need not in ids:
                raise ManifestError(
                    f"{path}: run {run.id!r} field 'needs': unknown run {need!r}; "
                    f"known runs: {', '.join(sorted(ids))}"
                )
        for output in run.outputs:
            if output.startswith(FIGURES_PREFIX) and output in producers:
                raise ManifestError(
                    f"{path}: run {run.id!r} field 'outputs': {output!r} is also an output of "
                    f"run {producers[output]!r}; every file has one producing run"
                )
            producers[output] = run.id
    try:
        topological(runs)
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise ManifestError(f"{path}: field 'needs' forms a cycle: {cycle}") from exc
    return runs


def _parse_run(path: Path, root: Path, position: int, entry: Any) -> Run:
    if not isinstance(entry, dict):
        raise ManifestError(f"{path}: run #{position} must be a mapping, got {entry!r}")
    run_id = entry.get("id")
    if not isinstance(run_id, str) or not ID_PATTERN.fullmatch(run_id):
        raise ManifestError(
            f"{path}: run #{position} needs an 'id' of letters, digits and '_' that starts "
            "with a letter; "
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

    paper = entry.get("paper")
    if not isinstance(paper, str) or not ID_PATTERN.fullmatch(paper):
        raise ManifestError(
            f"{where}: 'paper' must name the paper package (e.g. morshuis2022) or "
            f"{SHARED!r}, got {paper!r}"
        )
    code = _string_list(where, entry, "code")
    for pattern in code:
        if pattern.startswith("/") or ".." in Path(pattern).parts:
            raise ManifestError(f"{where}: 'code' glob {pattern!r} must be relative to {root}")
        if not _glob(root, pattern):
            raise ManifestError(f"{where}: 'code' glob {pattern!r} matches no file under {root}")
    needs = _string_list(where, entry, "needs")
    outputs = _string_list(where, entry, "outputs")
    if not outputs:
        raise ManifestError(
            f"{where}: 'outputs' must list at least one file the notebook writes "
            "(a run is tracked by its outputs)"
        )
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
    trains = entry.get("trains")
    if trains is not None and not (isinstance(trains, str) and TRAINS_PATTERN.fullmatch(trains)):
        raise ManifestError(
            f"{where}: 'trains' must name a function as module:function, e.g. "
            f"mrirobust.papers.jobs:train_models, got {trains!r}"
        )
    parameters, defaults = _parameters(where, notebook, notebook_name, entry.get("parameters"))
    parameters = _inherited(parameters)
    resources = _inherited(_resources(where, entry.get("resources")))
    return Run(
        run_id,
        notebook,
        root,
        paper,
        tuple(code),
        tuple(needs),
        gpu,
        tuple(outputs),
        parameters,
        resources,
        trains,
        defaults,
    )


def _parameters(where: str, notebook: Path, name: str, parameters: Any) -> tuple[dict, dict]:
    """Per-scale parameters, checked against the notebook's `parameters` cell, and that cell's
    defaults (None for a value that is not a literal)."""
    parameters = parameters or {}
    if not isinstance(parameters, dict):
        raise ManifestError(f"{where}: 'parameters' must map scales to parameter mappings")
    try:
        declared = papermill.inspect_notebook(str(notebook))
    except ValueError as exc:  # e.g. no kernel language in the notebook's metadata
        raise ManifestError(f"{where}: cannot read the parameters of {name!r}: {exc}") from exc
    missing = [key for key in INJECTED if key not in declared]
    if missing:
        raise ManifestError(
            f"{where}: notebook {name!r} must declare {', '.join(missing)} in its "
            "cell tagged 'parameters' (the runner injects scale and run_id)"
        )
    checked: dict[str, dict[str, Any]] = {}
    for scale, values in parameters.items():
        _check_scale(where, "parameters", scale)
        values = values or {}
        if not isinstance(values, dict):
            raise ManifestError(f"{where}: parameters for scale {scale!r} must be a mapping")
        for key in values:
            if key in INJECTED:
                raise ManifestError(
                    f"{where}: parameter {key!r} (scale {scale!r}) is injected by the runner; "
                    "remove it from the manifest"
                )
            if key.endswith(OVERRIDES_SUFFIX):
                raise ManifestError(
                    f"{where}: parameter {key!r} (scale {scale!r}) would replace profile "
                    "settings, which the manifest may not: give the profile section a named "
                    "variant (mrirobust.config.Profile) and pick it in the notebook's "
                    "'<section>_variant' parameter"
                )
            if key not in declared:
                raise ManifestError(
                    f"{where}: unknown parameter {key!r} for scale {scale!r}: notebook "
                    f"{name!r} declares {', '.join(sorted(declared))}"
                )
            default = _literal(declared[key]["default"])
            if not _same_kind(default, values[key]):
                raise ManifestError(
                    f"{where}: parameter {key!r} for scale {scale!r} is "
                    f"{type(values[key]).__name__} {values[key]!r} but defaults to "
                    f"{type(default).__name__} {default!r} in {name!r} "
                    "(YAML reads 1e-3 as a string: write 1.0e-3)"
                )
        checked[scale] = dict(values)
    defaults = {
        key: _literal(value["default"]) for key, value in declared.items() if key not in INJECTED
    }
    return checked, defaults


def _resources(where: str, resources: Any) -> dict[str, dict[str, int]]:
    """Per-scale job resources for a cluster: positive integers named by RESOURCE_KEYS."""
    resources = resources or {}
    if not isinstance(resources, dict):
        raise ManifestError(f"{where}: 'resources' must map scales to resource mappings")
    checked = {}
    for scale, values in resources.items():
        _check_scale(where, "resources", scale)
        if not isinstance(values, dict):
            raise ManifestError(f"{where}: resources for scale {scale!r} must be a mapping")
        for key, value in values.items():
            if key not in RESOURCE_KEYS:
                raise ManifestError(
                    f"{where}: unknown resource {key!r} for scale {scale!r}; "
                    f"valid: {', '.join(RESOURCE_KEYS)}"
                )
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ManifestError(
                    f"{where}: resource {key!r} for scale {scale!r} must be a positive "
                    f"integer, got {value!r}"
                )
        checked[scale] = dict(values)
    return checked


def _inherited(per_scale: dict[str, dict]) -> dict[str, dict]:
    """`per_scale` with each inheriting scale (`paths.INHERITS`: gpu from paper) set to its
    base's mapping overlaid with its own (a key it gives replaces the base's whole value)."""
    merged = dict(per_scale)
    for scale, base in paths.INHERITS.items():
        if scale in per_scale or base in per_scale:
            merged[scale] = {**per_scale.get(base, {}), **per_scale.get(scale, {})}
    return merged


def _check_scale(where: str, key: str, scale: Any) -> None:
    if scale not in paths.SCALES:
        raise ManifestError(
            f"{where}: unknown scale {scale!r} in {key!r}; valid scales: {', '.join(paths.SCALES)}"
        )


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


def topological(runs: list[Run]) -> list[Run]:
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


def select(runs: list[Run], only: list[str] | None = None, paper: str | None = None) -> list[Run]:
    """The runs chosen by id (`only`) or by paper, plus every run they need, in dependency order.

    With neither, every run. Unknown ids or papers raise ValueError listing the valid ones.
    """
    by_id = {run.id: run for run in runs}
    chosen = list(by_id)
    if only is not None:
        unknown = [run_id for run_id in only if run_id not in by_id]
        if unknown:
            raise ValueError(
                f"unknown run id(s) {', '.join(unknown)}; "
                f"manifest runs: {', '.join(sorted(by_id)) or 'none'}"
            )
        chosen = list(only)
    if paper is not None:
        papers = sorted({run.paper for run in runs})
        if paper not in papers:
            raise ValueError(
                f"unknown paper {paper!r}; papers in the manifest: {', '.join(papers)}"
            )
        chosen = [run_id for run_id in chosen if by_id[run_id].paper == paper]
    wanted: set[str] = set()
    stack = list(chosen)
    while stack:
        run_id = stack.pop()
        if run_id not in wanted:
            wanted.add(run_id)
            stack.extend(by_id[run_id].needs)
    return [run for run in topological(runs) if run.id in wanted]


def output_paths(run: Run, scale: str) -> list[Path]:
    """The declared outputs of `run` at `scale` (absolute paths)."""
    resolved = []
    for output in run.outputs:
        if output.startswith(FIGURES_PREFIX):
            resolved.append(paths.figures_root() / scale / output.removeprefix(FIGURES_PREFIX))
        else:
            resolved.append(run_dir(scale, run.id) / output)
    return resolved


def run_dir(scale: str, run_id: str) -> Path:
    """`results/<scale>/<run-id>/` (not created)."""
    return paths.results_root() / scale / run_id


def read_record(scale: str, run_id: str) -> dict[str, Any] | None:
    """The last run.json of a run at `scale`, or None."""
    record = run_dir(scale, run_id) / "run.json"
    return storage.read_json(record) if record.exists() else None


# --- code a run depends on -------------------------------------------------------------------


def code_files(run: Run) -> list[Path]:
    """The files whose change makes `run` stale, sorted: the import closure of its notebook
    within the `mrirobust` package (every module imported, at any depth, lazily too, and the
    `__init__` of each package on the way) plus the files matched by its `code` globs.

    A paper's modules are in the closure only of the runs that import them (a paper package's
    `__init__` imports none of its submodules), so editing one paper's code leaves other
    papers' runs up to date. `code` globs add what no import shows (a paper package as a whole,
    modules imported by name at run time, data files).
    """
    package = Path(mrirobust.__file__).resolve().parent
    found: set[Path] = set()
    queue = list(_notebook_imports(run.notebook))
    while queue:
        for module in _with_parents(queue.pop()):
            file = _module_file(package, module)
            if file is not None and file not in found:
                found.add(file)
                queue += _module_imports(file, module)
    declared = {p.resolve() for pattern in run.code for p in _glob(run.root, pattern)}
    return sorted(found | declared)


def _glob(root: Path, pattern: str) -> list[Path]:
    """Files matching `pattern` under `root`; a matched folder stands for the files within."""
    matched = []
    for path in root.glob(pattern):
        if path.is_dir():
            matched += [p for p in path.rglob("*") if p.is_file()]
        elif "__pycache__" not in path.parts:
            matched.append(path)
    return [p for p in matched if "__pycache__" not in p.parts]


def _with_parents(module: str) -> list[str]:
    """`a.b.c` -> [`a`, `a.b`, `a.b.c`]: importing a module runs each parent's `__init__`."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _module_file(package: Path, module: str) -> Path | None:
    """The file of a `mrirobust...` module, or None (another package, or a package attribute)."""
    parts = module.split(".")
    if parts[0] != package.name:
        return None
    base = package.parent.joinpath(*parts)
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _notebook_imports(notebook: Path) -> list[str]:
    """Modules imported by the notebook's code cells (IPython magics and shell lines skipped)."""
    import nbformat

    names = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(
            "" if line.lstrip().startswith(("%", "!")) else line
            for line in cell.source.splitlines()
        )
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            raise ManifestError(f"{notebook}: a code cell is not valid Python: {exc}") from exc
        names += _imports(tree, package=None)
    return names


@functools.cache
def _module_imports(file: Path, module: str) -> tuple[str, ...]:
    package = module if file.name == "__init__.py" else module.rpartition(".")[0]
    return tuple(_imports(ast.parse(file.read_text(), str(file)), package))


def _imports(tree: ast.AST, package: str | None) -> list[str]:
    """Absolute names of every module an AST imports (anywhere, lazily too).

    `from x import y` yields both `x` and `x.y` (y may be a submodule); names that are not
    modules are dropped later by `_module_file`.
    """
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                if package is None:
                    continue
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]
    return names
