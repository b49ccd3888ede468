"""The papermill runner on tiny synthetic notebooks and a temporary manifest.

One module-scoped execution of the whole manifest (six runs: ok, dependent, failing, blocked,
gpu-skipped, skipped dependent) feeds most assertions, to keep kernel starts few.
"""

import dataclasses
import json
import os
import re
import sys

import nbformat
import pytest

from mrirobust import reproduce
from mrirobust.__main__ import main as cli

WRITER = """\
import json, os, sys
from mrirobust import paths

record = {"value": value, "python": sys.executable, "cwd": os.getcwd()}
if upstream:
    upstream_file = paths.results_dir(scale, upstream) / "value.json"
    record["upstream"] = json.loads(upstream_file.read_text())["value"]
(paths.results_dir(scale, run_id) / "value.json").write_text(json.dumps(record))
(paths.figures_dir(scale) / f"{run_id}.txt").write_text(str(value))
"""

MANIFEST = """\
runs:
  - id: b                      # listed before the run it needs
    notebook: nb/writer.ipynb
    needs: [a]
    outputs: [value.json]
    parameters:
      smoke: {value: 2, upstream: a}
  - id: a
    notebook: nb/writer.ipynb
    outputs: [value.json, "{figures}/a.txt"]
    parameters:
      smoke: {value: 1}
      cpu: {value: 10}
  - id: c
    notebook: nb/fail.ipynb
  - id: d
    notebook: nb/writer.ipynb
    needs: [c]
  - id: e
    notebook: nb/writer.ipynb
    gpu: true
  - id: f
    notebook: nb/writer.ipynb
    needs: [e]
"""


KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def write_notebook(path, cells, extra_parameters=""):
    """A notebook with a `parameters` cell declaring scale, run_id and `extra_parameters`."""
    parameters = nbformat.v4.new_code_cell(
        'scale = "smoke"  # scale profile\nrun_id = "test"  # run id\n' + extra_parameters
    )
    parameters.metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [parameters, *(nbformat.v4.new_code_cell(c) for c in cells)]
    notebook.metadata["kernelspec"] = KERNELSPEC
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


def make_project(root, manifest=MANIFEST):
    write_notebook(
        root / "nb" / "writer.ipynb",
        [WRITER],
        'value = 0  # a number to store\nupstream = ""  # run whose value to read\n',
    )
    write_notebook(root / "nb" / "fail.ipynb", ["x = 1", 'raise ValueError("boom")'])
    (root / "manifest.yaml").write_text(manifest)
    return root / "manifest.yaml"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The manifest executed once at smoke scale through the CLI, with its captured output."""
    root = tmp_path_factory.mktemp("project")
    manifest = make_project(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MRIROBUST_RESULTS", str(root / "results"))
        mp.setenv("MRIROBUST_FIGURES", str(root / "figures"))
        data_for = []
        mp.setattr(reproduce, "ensure_data", data_for.append)  # tested in test_notebooks
        captured = []
        original_summary = reproduce.summary

        def capture(results, scale):
            captured.extend(results)
            return original_summary(results, scale)

        mp.setattr(reproduce, "summary", capture)
        code = cli(["reproduce", "--scale", "smoke", "--manifest", str(manifest)])
        mp.setattr(reproduce, "summary", original_summary)
        yield {
            "root": root,
            "manifest": manifest,
            "code": code,
            "data_for": data_for,
            "results": {r.id: r for r in captured},
            "order": [r.id for r in captured],
            "records": {
                r.id: reproduce.read_record("smoke", r.id)
                for r in captured
                if r.status in ("ok", "failed")
            },
        }


def test_runs_follow_dependencies_and_manifest_order(executed):
    assert executed["data_for"] == ["smoke"]
    assert executed["order"] == ["a", "c", "e", "b", "d", "f"]
    value = json.loads((executed["root"] / "results/smoke/b/value.json").read_text())
    assert value["upstream"] == 1


def test_notebooks_run_on_this_interpreter_in_their_folder(executed):
    value = json.loads((executed["root"] / "results/smoke/a/value.json").read_text())
    assert value["python"] == sys.executable
    assert value["cwd"] == str(executed["root"] / "nb")
    assert (executed["root"] / "figures/smoke/a.txt").read_text() == "1"
    assert (executed["root"] / "results/smoke/a/writer.ipynb").exists()


def test_failure_is_reported_and_independent_runs_complete(executed):
    results = executed["results"]
    assert executed["code"] == 1
    assert results["a"].status == results["b"].status == "ok"
    failed = results["c"]
    assert failed.status == "failed"
    assert failed.error == {"cell_index": 3, "ename": "ValueError", "evalue": "boom"}
    message = reproduce.describe_error(failed, "smoke")
    assert message.startswith("nb/fail.ipynb, cell 3 of ")
    assert message.endswith("ValueError: boom")
    assert results["d"].status == "skipped" and results["d"].blocked
    assert results["d"].reason == "needs c (failed)"


def test_gpu_runs_and_their_dependents_are_skipped_without_failing(executed):
    results = executed["results"]
    assert results["e"].status == "skipped" and not results["e"].problem
    assert results["e"].reason == "gpu run: only at scale paper"
    assert results["f"].status == "skipped" and not results["f"].problem
    assert results["f"].reason == "needs e (skipped)"


def test_run_json_records_parameters_revision_and_timing(executed):
    record = executed["records"]["a"]
    assert record["parameters"] == {"value": 1, "scale": "smoke", "run_id": "a"}
    assert record["notebook"] == "nb/writer.ipynb"
    assert record["status"] == "ok" and record["error"] is None
    assert record["start"] <= record["end"]
    assert record["duration_s"] > 0
    assert record["git"]["revision"] is None or re.fullmatch(
        "[0-9a-f]{40}", record["git"]["revision"]
    )
    failed = executed["records"]["c"]
    assert failed["status"] == "failed"
    assert failed["error"]["cell_index"] == 3


def test_list_shows_the_plan_without_running(executed, capsys):
    code = cli(["reproduce", "--scale", "smoke", "--manifest", str(executed["manifest"]), "--list"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert [line.split()[0] for line in lines[1:]] == ["a", "c", "e", "b", "d", "f"]
    assert "up to date" in lines[1] and "to run" in lines[2]
    assert "gpu run: only at scale paper" in lines[3]


def test_up_to_date_runs_are_skipped_until_forced_or_stale(executed, tmp_path):
    manifest = executed["manifest"]
    runs = {r.id: r for r in reproduce.load_manifest(manifest)}
    again = reproduce.run(manifest, "smoke", only=["a", "b"], progress=False)
    assert [(r.id, r.status) for r in again] == [("a", "up to date"), ("b", "up to date")]

    # stale when the notebook, the library or the parameters changed
    future = runs["a"].notebook.stat().st_mtime + 3600
    newer_library_file = tmp_path / "newer.py"
    newer_library_file.touch()
    os.utime(newer_library_file, (future, future))
    assert not reproduce.is_up_to_date(runs["a"], "smoke", [newer_library_file])
    changed = dataclasses.replace(runs["a"], parameters={"smoke": {"value": 5}})
    assert not reproduce.is_up_to_date(changed, "smoke")

    # forcing a re-runs it; b then re-runs because a's run.json is newer than b's outputs
    forced = reproduce.run(manifest, "smoke", only=["a"], force=True, progress=False)
    assert [(r.id, r.status) for r in forced] == [("a", "ok")]
    assert not reproduce.is_up_to_date(runs["b"], "smoke")
    assert reproduce.run(manifest, "smoke", only=["b"], progress=False)[0].status == "ok"

    # with --only, a needed run that has not completed blocks instead of running
    (executed["root"] / "results/smoke/a/run.json").unlink()
    blocked = reproduce.run(manifest, "smoke", only=["b"], progress=False)[0]
    assert blocked.status == "skipped" and blocked.blocked
    assert "a (not completed at scale smoke; add it to --only)" in blocked.reason


@pytest.mark.parametrize(
    "manifest, match",
    [
        (
            "runs:\n- {id: a, notebook: nb/writer.ipynb, parameters: {smoke: {valu: 1}}}",
            "run 'a': unknown parameter 'valu' for scale 'smoke'",
        ),
        (
            "runs:\n- {id: a, notebook: nb/writer.ipynb, parameters: {cpu: {value: 1e-3}}}",
            "run 'a': parameter 'value' for scale 'cpu' is str '1e-3' but defaults to int 0",
        ),
        (
            "runs:\n- {id: a, notebook: nb/writer.ipynb, parameters: {huge: {value: 1}}}",
            "run 'a': unknown scale 'huge'",
        ),
        (
            "runs:\n- {id: a, notebook: nb/writer.ipynb, parameters: {cpu: {scale: smoke}}}",
            "run 'a': parameter 'scale' .* is injected",
        ),
        ("runs:\n- {id: a, notebook: nb/writer.ipynb, gpus: true}", "run 'a': unknown key 'gpus'"),
        (
            "runs:\n- {id: a, notebook: nb/nope.ipynb}",
            "run 'a': notebook 'nb/nope.ipynb' not found",
        ),
        (
            "runs:\n- {id: a, notebook: nb/writer.ipynb}\n- {id: a, notebook: nb/fail.ipynb}",
            "duplicate run id 'a'",
        ),
        (
            "runs:\n- {id: a, notebook: nb/writer.ipynb, needs: [z]}",
            "run 'a' needs unknown run 'z'",
        ),
        (
            "runs:\n- {id: a, notebook: nb/writer.ipynb, needs: [b]}\n"
            "- {id: b, notebook: nb/writer.ipynb, needs: [a]}",
            "cycle: (a -> b -> a|b -> a -> b)",
        ),
        (
            "runs:\n- {id: a, notebook: nb/bare.ipynb}",
            "run 'a': notebook 'nb/bare.ipynb' must declare run_id",
        ),
        ("runs:\n- {id: a, notebook: nb/writer.ipynb, outputs: [../x]}", "output '../x'"),
    ],
)
def test_invalid_manifests_are_rejected_naming_run_and_key(tmp_path, manifest, match):
    path = make_project(tmp_path, manifest)
    bare = nbformat.v4.new_notebook()
    bare.cells = [nbformat.v4.new_code_cell('scale = "smoke"')]
    bare.cells[0].metadata["tags"] = ["parameters"]
    bare.metadata["kernelspec"] = KERNELSPEC
    nbformat.write(bare, tmp_path / "nb" / "bare.ipynb")
    with pytest.raises(reproduce.ManifestError, match=match):
        reproduce.load_manifest(path)


def test_plan_rejects_unknown_scale_and_ids(tmp_path):
    runs = reproduce.load_manifest(make_project(tmp_path))
    with pytest.raises(ValueError, match="unknown scale 'huge'"):
        reproduce.plan(runs, "huge")
    with pytest.raises(ValueError, match="unknown run id.* zz"):
        reproduce.plan(runs, "smoke", only=["a", "zz"])
    assert [r.id for r in reproduce.plan(runs, "cpu", only=["b", "a"])] == ["a", "b"]


def test_cli_reports_manifest_errors_without_a_traceback(tmp_path, capsys):
    path = make_project(tmp_path, "runs:\n- {id: a, notebook: nb/writer.ipynb, x: 1}")
    assert cli(["reproduce", "--scale", "smoke", "--manifest", str(path)]) == 2
    assert "run 'a': unknown key 'x'" in capsys.readouterr().err


def test_cell_timeout_turns_a_hung_cell_into_a_failed_run(tmp_path, monkeypatch):
    monkeypatch.setenv("MRIROBUST_RESULTS", str(tmp_path / "results"))
    write_notebook(tmp_path / "nb" / "slow.ipynb", ["import time; time.sleep(30)"])
    (tmp_path / "manifest.yaml").write_text("runs:\n- {id: slow, notebook: nb/slow.ipynb}\n")
    (result,) = reproduce.run(tmp_path / "manifest.yaml", "smoke", cell_timeout=2, progress=False)
    assert result.status == "failed"
    assert result.error["ename"] == "CellTimeoutError"
