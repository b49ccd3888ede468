"""The real notebooks/manifest.yaml: valid, complete, and every run passes at smoke scale."""

import json
from pathlib import Path

import papermill
import pytest
import yaml

from mrirobust import paths, runner

MANIFEST = paths.notebooks_root() / "manifest.yaml"
RUN_IDS = [entry["id"] for entry in yaml.safe_load(MANIFEST.read_text())["runs"] or []]


def test_manifest_is_valid_and_lists_every_notebook():
    runs = runner.load_manifest(MANIFEST)  # checks keys, scales, parameters, code, needs, cycles
    assert [run.id for run in runs] == RUN_IDS
    listed = {run.notebook.resolve() for run in runs}
    on_disk = {
        path.resolve()
        for path in paths.notebooks_root().rglob("*.ipynb")
        if ".ipynb_checkpoints" not in path.parts
    }
    missing = sorted(str(p.relative_to(MANIFEST.parent.resolve())) for p in on_disk - listed)
    assert not missing, f"notebooks missing from {MANIFEST}: {', '.join(missing)}"
    for run in runs:
        runner.code_files(run)  # every paper module a notebook reaches is in its `code` globs


def test_notebooks_are_stored_clean_with_the_auto_scale_default():
    for run in runner.load_manifest(MANIFEST):
        notebook = json.loads(run.notebook.read_text())
        for index, cell in enumerate(notebook["cells"]):
            assert not cell.get("outputs") and not cell.get("execution_count"), (
                f"{run.notebook.name}: cell {index} has outputs; commit notebooks without them"
            )
        assert notebook["metadata"]["kernelspec"]["name"] == "mrirobust", (
            f"{run.notebook.name}: declare the project's kernel, Python (mrirobust) (make lab)"
        )
        default = papermill.inspect_notebook(str(run.notebook))["scale"]["default"]
        assert default.strip("'\"") == "auto", f"{run.notebook.name}: scale default {default}"
        resolving = "scale = interactive.resolve_scale(scale)"
        code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
        assert resolving in "".join(code[1]["source"]), (
            f"{run.notebook.name}: the first cell after the parameters must say {resolving!r}"
        )


if RUN_IDS:  # an empty manifest has nothing to execute; the checks above still apply

    @pytest.mark.notebook
    @pytest.mark.parametrize("run_id", RUN_IDS)
    def test_run_completes_at_smoke_with_its_outputs(smoke_results, run_id, monkeypatch):
        result = smoke_results.results[run_id]
        if result.status == "skipped" and not result.problem:
            pytest.skip(result.reason)
        executed = smoke_results.run_dir(run_id) / Path(result.notebook).name
        assert result.status == "ok", (
            f"{result.notebook}: {result.reason or result.error} ({executed})"
        )
        monkeypatch.setenv("MRIROBUST_RESULTS", str(smoke_results.results_root))
        monkeypatch.setenv("MRIROBUST_FIGURES", str(smoke_results.figures_root))
        run = next(r for r in runner.load_manifest(MANIFEST) if r.id == run_id)
        missing = [str(p) for p in runner.output_paths(run, "smoke") if not p.exists()]
        assert not missing, f"run {run_id!r} did not write {missing}"
