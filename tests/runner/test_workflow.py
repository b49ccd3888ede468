"""`reproduce` through Snakemake on a scratch project: order, records, freshness per paper,
failures, parallel runs with GPU pinning, interruption and resume, bad input, the HTML report.

One module-scoped execution (runs ok, dependent, with figure and claim, failing, blocked) feeds
the first assertions; later tests change that project in order (freshness), or build their own.
"""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from mrirobust import paths
from mrirobust.__main__ import main as cli
from mrirobust.runner import workflow

from .conftest import make_project

RUNS = """\
  - {id: a, notebook: writer.ipynb, paper: pa, code: [code/pa/**], outputs: [value.json],
     parameters: {smoke: {value: 1}}}
  - {id: b, notebook: writer.ipynb, paper: pb, code: [code/pb/**], needs: [a],
     outputs: [value.json], parameters: {smoke: {value: 2, upstream: a}}}
  - {id: f, notebook: figure.ipynb, paper: pb, code: [code/pb/**],
     outputs: [value.json, claims.json, "{figures}/f.png"], parameters: {smoke: {value: 3}}}
  - {id: c, notebook: fail.ipynb, paper: pc, code: [code/pc/**], outputs: [never.json]}
  - {id: d, notebook: writer.ipynb, paper: pc, needs: [c], outputs: [value.json]}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The scratch project executed once at smoke scale; env set for the module's tests."""
    root = tmp_path_factory.mktemp("project")
    manifest = make_project(root, RUNS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MRIROBUST_RESULTS", str(root / "results"))
        mp.setenv("MRIROBUST_FIGURES", str(root / "figures"))
        mp.setattr(workflow, "ensure_data", lambda scale: None)
        results = workflow.run(manifest, "smoke")
        yield {"root": root, "manifest": manifest, "results": {r.id: r for r in results}}


def record(run_id, scale="smoke"):
    return json.loads((paths.results_root() / scale / run_id / "run.json").read_text())


def statuses(results):
    return {r.id: r.status for r in results}


def test_runs_follow_needs_and_record_provenance(project):
    results = project["results"]
    assert list(results) == ["a", "f", "c", "b", "d"]  # dependency order, then manifest order
    assert statuses(results.values()) == {
        "a": "ok",
        "b": "ok",
        "f": "ok",
        "c": "failed",
        "d": "skipped",
    }
    value = json.loads((project["root"] / "results/smoke/b/value.json").read_text())
    assert value["upstream"] == 1
    rec = record("a")
    assert rec["parameters"] == {"value": 1, "scale": "smoke", "run_id": "a"}
    assert rec["notebook"] == "writer.ipynb" and rec["paper"] == "pa"
    assert rec["status"] == "ok" and rec["error"] is None and rec["python"] == sys.executable
    assert rec["start"] < rec["end"] and rec["duration_s"] > 0
    assert rec["threads"] and rec["huge_pages"] == "1"
    assert rec["preload"].endswith("libmimalloc.so")  # installed by the project (pyproject)
    assert (project["root"] / "results/smoke/a/writer.ipynb").exists()  # the executed copy


def test_a_failure_is_named_kept_and_blocks_only_its_dependents(project):
    results = project["results"]
    failed = results["c"]
    assert failed.error == {"cell_index": 4, "ename": "ValueError", "evalue": "boom"}
    message = workflow.describe_error(failed, "smoke")
    assert message.startswith("fail.ipynb, cell 4 of ") and message.endswith("ValueError: boom")
    assert record("c")["status"] == "failed"
    assert (project["root"] / "results/smoke/c/fail.ipynb").exists()  # kept for debugging
    assert results["d"].blocked and results["d"].reason == "needs c (failed)"
    table = workflow.summary(list(results.values()), "smoke")
    assert table.splitlines()[-1] == "reproduce smoke: 2 run(s) failed or blocked: c, d"


def test_claims_are_gathered_at_the_end(project):
    table = (project["root"] / "results/smoke/claims.csv").read_text()
    assert "scratch/fig1/value_positive" in table


def test_the_reference_workload_is_timed_after_the_runs(project):
    record = json.loads((project["root"] / "results/smoke/reference.json").read_text())
    assert record["seconds"] > 0 and record["threads"] >= 1 and "VarNet" in record["workload"]


def test_report_shows_every_figure_with_its_caption_and_the_claims(project, request):
    report = workflow.write_report(workflow.plan(project["manifest"], "smoke"))
    assert report == project["root"] / "results/smoke/report.html"
    driver = request.getfixturevalue("browser")  # the report is written even without Chromium
    driver.get(report.as_uri())
    body = _wait_text(driver, "Claims")
    assert "scratch/fig1/value_positive" in body and "paper: 1 of 1 hold" in body
    driver.find_element("xpath", "//*[text()='Results']").click()
    driver.find_element("xpath", "//*[text()='pb']").click()
    row = driver.find_element("xpath", "//td[text()='f.png']/ancestor::tr[1]")
    row.find_element("css selector", "a[iconname='eye']").click()
    image = _wait(driver, "img[src^='data:image/png']")
    assert driver.execute_script("return arguments[0].naturalWidth", image) > 0
    row = driver.find_element("xpath", "//td[text()='f.png']/ancestor::tr[1]")
    row.find_element("css selector", "a[iconname='information-circle']").click()
    caption = _wait_text(driver, "Data:")
    assert "Run f of figure.ipynb at scale smoke" in caption
    assert "embedded synthetic stand-in" in caption


def _wait(driver, selector, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        found = driver.find_elements("css selector", selector)
        if found or time.monotonic() > deadline:
            assert found, f"{selector} not in the report page"
            return found[0]
        time.sleep(0.2)


def _wait_text(driver, text, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        body = driver.find_element("tag name", "body").text
        if text in body or time.monotonic() > deadline:
            assert text in body, f"{text!r} not in the report page: {body[:300]}"
            return body
        time.sleep(0.2)


def test_an_up_to_date_project_reruns_nothing_even_after_a_touch(project):
    (project["root"] / "code/pa/model.py").touch()  # a new time alone changes nothing
    again = workflow.run(project["manifest"], "smoke", only=["a", "b", "f"])
    assert statuses(again) == {"a": "up to date", "b": "up to date", "f": "up to date"}


def test_editing_one_papers_code_reruns_only_that_papers_runs(project):
    (project["root"] / "code/pb/model.py").write_text("NAME = 'pb, edited'\n")
    chosen = workflow.plan(project["manifest"], "smoke", only=["a", "b", "f"])
    assert workflow.states(chosen) == {  # what `--list` shows
        "a": ("up to date", ""),
        "b": ("to run", "updated input files"),
        "f": ("to run", "updated input files"),
    }
    rerun = workflow.run(project["manifest"], "smoke", only=["a", "b", "f"])
    assert statuses(rerun) == {"a": "up to date", "b": "ok", "f": "ok"}


def test_changed_parameters_rerun_the_run_and_its_dependents(project):
    manifest = project["manifest"]
    manifest.write_text(manifest.read_text().replace("{value: 1}", "{value: 5}"))
    rerun = workflow.run(manifest, "smoke", paper="pb")  # pb's runs and a, which b needs
    assert statuses(rerun) == {"a": "ok", "b": "ok", "f": "up to date"}
    assert json.loads((project["root"] / "results/smoke/b/value.json").read_text())["upstream"] == 5


def test_jobs_run_independent_runs_at_once_and_pin_each_gpu_run(scratch, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")  # the devices this user may use
    runs = "".join(
        f"  - {{id: {name}, notebook: writer.ipynb, paper: pa, gpu: true, outputs: [value.json],"
        f" parameters: {{smoke: {{sleep: 0.6}}}}}}\n"
        for name in ("g1", "g2")
    )
    results = workflow.run(make_project(scratch, runs), "smoke", jobs=2, gpus=2)
    assert statuses(results) == {"g1": "ok", "g2": "ok"}
    first, second = record("g1"), record("g2")
    times = [dt.datetime.fromisoformat(r[key]) for r in (first, second) for key in ("start", "end")]
    assert times[0] < times[3] and times[2] < times[1], "the two runs did not overlap"
    devices = {first["cuda_visible_devices"], second["cuda_visible_devices"]}
    assert devices == {"5", "7"}
    for run_id in ("g1", "g2"):
        seen = json.loads((scratch / "results/smoke" / run_id / "value.json").read_text())["cuda"]
        assert seen == record(run_id)["cuda_visible_devices"]  # the kernel saw its device


def test_a_killed_reproduce_leaves_no_run_ok_and_the_next_one_resumes(scratch):
    manifest = make_project(
        scratch,
        "  - {id: first, notebook: writer.ipynb, paper: pa, outputs: [value.json]}\n"
        "  - {id: slow, notebook: writer.ipynb, paper: pa, needs: [first],"
        " outputs: [value.json]}\n",
    )
    workflow.run(manifest, "smoke", only=["first"])
    script = (
        "from mrirobust.runner import workflow\n"
        "workflow.ensure_data = lambda scale: None\n"
        f"workflow.run({str(manifest)!r}, 'smoke')\n"
    )
    env = {**os.environ, "SCRATCH_SLEEP": "120"}  # `slow` writes its output, then sleeps
    process = subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True)
    output = scratch / "results/smoke/slow/value.json"
    deadline = time.monotonic() + 60
    while not output.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # the whole group: runner, Snakemake, job, kernel
    process.wait()
    assert output.exists(), "the slow run never started"
    assert record("slow")["status"] == "running"  # never ok

    results = workflow.run(manifest, "smoke")  # SCRATCH_SLEEP is not set here
    assert statuses(results) == {"first": "up to date", "slow": "ok"}
    assert record("slow")["status"] == "ok"


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--jobs", "0"], "argument --jobs: must be a positive integer, got 0"),
        (["--paper", "nopaper"], "unknown paper 'nopaper'; papers in the manifest: pa, pb, pc"),
        (["--only", "a", "zz"], "unknown run id(s) zz; manifest runs: a, b, c, d, f"),
        (["--scale", "huge"], "argument --scale: invalid choice: 'huge'"),
        (["--profile", "nocluster"], "unknown profile 'nocluster': give slurm or a folder"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(scratch, capsys, arguments, message):
    manifest = make_project(scratch, RUNS)
    argv = ["reproduce", "--scale", "smoke", "--manifest", str(manifest), *arguments]
    try:
        code = cli(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (scratch / "results" / "smoke" / "a").exists()


def test_run_rejects_zero_jobs_and_gpus_and_more_gpus_than_visible(scratch, monkeypatch):
    manifest = make_project(scratch, RUNS)
    for keyword in ("jobs", "gpus"):
        with pytest.raises(ValueError, match=f"{keyword} must be a positive integer, got 0"):
            workflow.run(manifest, "smoke", **{keyword: 0})
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with pytest.raises(ValueError, match="gpus=2, but CUDA_VISIBLE_DEVICES='3' shows fewer"):
        workflow.run(manifest, "smoke", gpus=2)


def test_each_run_gets_its_share_of_the_cores(monkeypatch):
    """Each of `jobs` runs gets cores // jobs threads (at least one): the rules declare them
    (Snakemake sets a job's OMP_NUM_THREADS to its threads) and --cores fits `jobs` of them."""
    from mrirobust.runner import workflow

    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(workflow, "default_jobs", lambda scale: 1)
    chosen = workflow.plan(paths.notebooks_root() / "manifest.yaml", "smoke", None, None, None)
    for jobs, threads in ((None, 8), (3, 2), (16, 1)):
        command = workflow.snakemake_command(chosen, jobs)
        assert command[command.index("--cores") + 1] == str((jobs or 1) * threads)
        assert f"threads={threads}" in command


@pytest.mark.parametrize(
    ("scale", "cores", "memory_gb", "jobs"),
    [("cpu", 2, 24, 2), ("smoke", 8, 16, 2), ("cpu", 4, 4, 1), ("paper", 16, 128, 1)],
)
def test_by_default_the_cpu_scales_run_one_job_per_core_within_memory(
    monkeypatch, scale, cores, memory_gb, jobs
):
    from mrirobust.runner import workflow

    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": memory_gb * 2**30 // 4096}
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    assert workflow.default_jobs(scale) == jobs


@pytest.mark.parametrize("scale", ["gpu", "paper"])
def test_gpu_runs_on_the_real_data_scales_are_skipped_without_cuda(tmp_path, monkeypatch, scale):
    manifest = make_project(
        tmp_path,
        "  - {id: g, notebook: writer.ipynb, paper: pa, gpu: true, outputs: [v.json]}\n"
        "  - {id: n, notebook: writer.ipynb, paper: pa, needs: [g], outputs: [w.json]}\n"
        "  - {id: c, notebook: writer.ipynb, paper: pa, outputs: [x.json]}\n",
    )
    monkeypatch.setattr(workflow, "_cuda", lambda: False)
    chosen = workflow.plan(manifest, scale)
    assert chosen.skipped == {
        "g": f"gpu run at {scale} scale: no CUDA device",
        "n": "needs g (skipped)",
    }
    assert workflow.plan(manifest, "cpu").skipped == {}
