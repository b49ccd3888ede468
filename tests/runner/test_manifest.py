"""The manifest: validation naming run and field, selection by id or paper, code per run."""

import nbformat
import pytest

from mrirobust import paths
from mrirobust.runner import manifest as m

from .conftest import KERNELSPEC, make_project

REAL = paths.notebooks_root() / "manifest.yaml"
RUN = "- {id: a, notebook: writer.ipynb, paper: pa, outputs: [v.json]"


@pytest.mark.parametrize(
    "runs, match",
    [
        (RUN + ", parameters: {smoke: {valu: 1}}}", "run 'a': unknown parameter 'valu'"),
        (
            RUN + ", parameters: {cpu: {value: 1e-3}}}",
            "run 'a': parameter 'value' for scale 'cpu' is str '1e-3' but defaults to int 0",
        ),
        (
            RUN + ", parameters: {huge: {value: 1}}}",
            "run 'a': unknown scale 'huge' in 'parameters'",
        ),
        (RUN + ", parameters: {cpu: {scale: smoke}}}", "run 'a': parameter 'scale' .* is injected"),
        (
            RUN + ", parameters: {cpu: {attack_overrides: {steps: 3}}}}",
            "run 'a': parameter 'attack_overrides' .* would replace profile settings",
        ),
        (RUN + ", gpus: true}", "run 'a': unknown key 'gpus'"),
        (
            "- {id: a, notebook: nope.ipynb, paper: pa, outputs: [v]}",
            "notebook 'nope.ipynb' not found",
        ),
        (
            "- {id: a, notebook: bare.ipynb, paper: pa, outputs: [v]}",
            "'bare.ipynb' must declare run_id",
        ),
        (RUN + "}\n" + RUN + "}", "duplicate run id 'a'"),
        (RUN + ", needs: [z]}", "run 'a' field 'needs': unknown run 'z'"),
        (
            RUN + ", needs: [b]}\n- {id: b, notebook: writer.ipynb, paper: pa, needs: [a], "
            "outputs: [v]}",
            "field 'needs' forms a cycle: (a -> b -> a|b -> a -> b)",
        ),
        (RUN + ", outputs: [../x]}", "output '../x'"),
        ("- {id: a, notebook: writer.ipynb, paper: pa}", "run 'a': 'outputs' must list at least"),
        (
            RUN[:-1] + ', "{figures}/f.png"]}\n- {id: b, notebook: writer.ipynb, paper: pb, '
            'outputs: ["{figures}/f.png"]}',
            "run 'b' field 'outputs': '{figures}/f.png' is also an output of run 'a'",
        ),
        ("- {id: a, notebook: writer.ipynb, outputs: [v]}", "run 'a': 'paper' must name"),
        (RUN + ", code: [code/zz/**]}", "run 'a': 'code' glob 'code/zz/\\*\\*' matches no file"),
        (RUN + ", resources: {paper: {runtime: 0}}}", "resource 'runtime' .* positive integer"),
        (RUN + ", resources: {paper: {gpus: 2}}}", "unknown resource 'gpus'"),
        ("- {id: 1a, notebook: writer.ipynb, paper: pa, outputs: [v]}", "run #0 needs an 'id'"),
    ],
)
def test_invalid_manifests_are_rejected_naming_run_and_field(tmp_path, runs, match):
    manifest = make_project(tmp_path, runs + "\n")
    bare = nbformat.v4.new_notebook()
    bare.cells = [nbformat.v4.new_code_cell('scale = "smoke"')]
    bare.cells[0].metadata["tags"] = ["parameters"]
    bare.metadata["kernelspec"] = KERNELSPEC
    nbformat.write(bare, tmp_path / "nb" / "bare.ipynb")
    with pytest.raises(m.ManifestError, match=match):
        m.load_manifest(manifest)


RUNS = """\
  - {id: tour, notebook: writer.ipynb, paper: shared, outputs: [v]}
  - {id: train, notebook: writer.ipynb, paper: shared, needs: [tour], outputs: [v]}
  - {id: fig1, notebook: writer.ipynb, paper: pa, needs: [train], outputs: [v]}
  - {id: fig2, notebook: writer.ipynb, paper: pb, needs: [train], outputs: [v]}
"""


def test_the_gpu_scale_takes_the_paper_values_it_does_not_give(tmp_path):
    """gpu inherits paper (paths.INHERITS): parameters and resources, key by key."""
    runs = (
        RUN + ", parameters: {paper: {value: 5}}, resources: {paper: {runtime: 600, "
        "mem_mb: 9000}, gpu: {runtime: 30}}}\n"
        "- {id: b, notebook: writer.ipynb, paper: pa, outputs: [w.json], "
        "parameters: {paper: {value: 5}, gpu: {value: 2}}}\n"
        "- {id: c, notebook: writer.ipynb, paper: pa, outputs: [x.json], parameters: {cpu: {}}}"
    )
    a, b, c = m.load_manifest(make_project(tmp_path, runs))
    assert a.settings("gpu")["value"] == 5 and b.settings("gpu")["value"] == 2
    assert a.resources["gpu"] == {"runtime": 30, "mem_mb": 9000}
    assert "gpu" not in c.parameters and c.settings("gpu")["value"] == 0  # the notebook's


def test_a_paper_brings_the_runs_it_needs_and_unknown_names_list_valid_ones(tmp_path):
    runs = m.load_manifest(make_project(tmp_path, RUNS))
    assert [r.id for r in m.select(runs, paper="pa")] == ["tour", "train", "fig1"]
    assert [r.id for r in m.select(runs, only=["fig2", "tour"])] == ["tour", "train", "fig2"]
    assert [r.id for r in m.select(runs)] == ["tour", "train", "fig1", "fig2"]
    with pytest.raises(
        ValueError, match="unknown paper 'pc'; papers in the manifest: pa, pb, shared"
    ):
        m.select(runs, paper="pc")
    with pytest.raises(ValueError, match="unknown run id.* zz; manifest runs: fig1, fig2"):
        m.select(runs, only=["fig1", "zz"])


def _code(tmp_path, source, code="[]"):
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell('scale = "smoke"\nrun_id = "x"')
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, nbformat.v4.new_code_cell(source)]
    notebook.metadata["kernelspec"] = KERNELSPEC
    make_project(
        tmp_path, f"  - {{id: x, notebook: x.ipynb, paper: p, code: {code}, outputs: [v]}}\n"
    )
    nbformat.write(notebook, tmp_path / "nb" / "x.ipynb")
    (run,) = m.load_manifest(tmp_path / "nb" / "manifest.yaml")
    lib = paths.project_root().resolve() / "lib"
    return {f.relative_to(lib).as_posix() for f in m.code_files(run) if lib in f.parents}


def test_code_is_the_import_closure_within_the_library(tmp_path):
    files = _code(tmp_path, "%matplotlib inline\nfrom mrirobust import physics\nimport numpy")
    assert {"mrirobust/__init__.py", "mrirobust/physics/__init__.py"} <= files
    assert "mrirobust/physics/fft.py" in files  # re-exported submodules count too
    assert not any(name.startswith("mrirobust/papers/") for name in files)
    assert "mrirobust/train.py" not in files


def test_a_papers_modules_are_code_only_of_the_runs_that_import_them(tmp_path):
    files = _code(tmp_path, "from mrirobust.papers.morshuis2022 import figures")
    assert "mrirobust/papers/morshuis2022/figures.py" in files
    assert "mrirobust/papers/morshuis2022/experiments.py" not in files  # not imported by figures
    assert "mrirobust/papers/darestani2021/claims.py" not in files


def test_code_globs_add_files_no_import_shows(tmp_path):
    (tmp_path / "code" / "pa" / "table.csv").parent.mkdir(parents=True)
    (tmp_path / "code" / "pa" / "table.csv").write_text("a,b\n")
    run = m.load_manifest(
        make_project(
            tmp_path,
            "  - {id: x, notebook: writer.ipynb, paper: pa, code: [code/pa], outputs: [v]}\n",
        )
    )[0]
    assert {tmp_path / "code/pa/table.csv", tmp_path / "code/pa/model.py"} <= set(m.code_files(run))


def test_editing_one_papers_modules_touches_only_its_runs_in_the_real_manifest():
    morshuis = paths.project_root() / "lib/mrirobust/papers/morshuis2022"
    for run in m.load_manifest(REAL):
        uses = {f.name for f in m.code_files(run) if f.parent == morshuis}
        if run.paper == "morshuis2022":
            assert {"experiments.py", "figures.py", "claims.py"} <= uses, run.id
        elif run.id == "explore_attack_strength":  # the explorer registers every paper's attacks
            assert "explorer.py" in uses
        else:  # shared runs read only the model sizes (profile) through the papers registry
            assert uses <= {"__init__.py", "profile.py"}, (run.id, uses)
