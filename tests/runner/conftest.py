"""A scratch project for the runner tests: tiny notebooks, per-paper code folders, a manifest.

Layout under the project root: nb/manifest.yaml and the notebooks, code/<paper>/ (the `code`
globs), results/ and figures/ (MRIROBUST_RESULTS / MRIROBUST_FIGURES while a test runs).
"""

from pathlib import Path

import nbformat
import pytest

from mrirobust.runner import workflow

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

# Writes value.json (and, when `figure`, a PNG and a claim); sleeps first when the environment
# asks, after writing its output, so that a killed run leaves an output behind.
WRITER = """\
import json, os, time
from tqdm.auto import tqdm
from mrirobust import paths

record = {"value": value, "cuda": os.environ.get("CUDA_VISIBLE_DEVICES")}
if upstream:
    upstream_file = paths.results_dir(scale, upstream) / "value.json"
    record["upstream"] = json.loads(upstream_file.read_text())["value"]
(paths.results_dir(scale, run_id) / "value.json").write_text(json.dumps(record))
for epoch in tqdm(range(3), desc="epochs"):
    time.sleep(sleep)
    print(f"epoch {epoch} loss {1 / (epoch + 1):.3f}")
time.sleep(float(os.environ.get("SCRATCH_SLEEP", 0)))
"""

FIGURE = """\
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from mrirobust import claims

fig, ax = plt.subplots(figsize=(2, 2))
ax.plot([0, value])
fig.savefig(paths.figures_dir(scale) / f"{run_id}.png")
positive = claims.Claim("scratch/fig1/value_positive", "The value is positive.",
                        lambda v: (v > 0, {"value": v}))
claims.save(paths.results_dir(scale, run_id), [positive.verdict({"run": run_id}, scale, "none",
                                                                 v=value)])
"""

PARAMETERS = (
    'value = 0  # a number to store\nupstream = ""  # run whose value to read\n'
    "sleep = 0.0  # seconds per epoch\n"
)


def write_notebook(path: Path, cells: list[str], extra_parameters: str = PARAMETERS) -> None:
    """A notebook: a heading, the `parameters` cell, then `cells` ('# ...' cells are Markdown)."""
    parameters = nbformat.v4.new_code_cell(
        'scale = "smoke"  # scale profile\nrun_id = "test"  # run id\n' + extra_parameters
    )
    parameters.metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Setup"), parameters]
    for cell in cells:
        new = nbformat.v4.new_markdown_cell if cell.startswith("#") else nbformat.v4.new_code_cell
        notebook.cells.append(new(cell))
    notebook.metadata["kernelspec"] = KERNELSPEC
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


def make_project(root: Path, runs: str) -> Path:
    """The scratch project with manifest `runs:` entries; returns the manifest path."""
    write_notebook(root / "nb" / "writer.ipynb", ["## Compute the value", WRITER])
    write_notebook(root / "nb" / "figure.ipynb", ["## Compute the value", WRITER, FIGURE])
    write_notebook(root / "nb" / "fail.ipynb", ["x = 1", 'raise ValueError("boom")'])
    for paper in ("pa", "pb", "pc"):
        (root / "code" / paper).mkdir(parents=True, exist_ok=True)
        (root / "code" / paper / "model.py").write_text(f"NAME = {paper!r}\n")
    manifest = root / "nb" / "manifest.yaml"
    manifest.write_text("runs:\n" + runs)
    return manifest


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """An empty scratch root with results and figures redirected into it, no data generation."""
    monkeypatch.setenv("MRIROBUST_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("MRIROBUST_FIGURES", str(tmp_path / "figures"))
    monkeypatch.setattr(workflow, "ensure_data", lambda scale: None)  # tested by the notebooks
    return tmp_path
