"""One run as a Snakemake job executes it: live progress, run.json, GPU slots, cell timeout."""

import io
import json
import os
import threading

import pytest

from mrirobust.runner import job, load_manifest, progress

from .conftest import make_project, write_notebook

TRAINING = """\
import time
from tqdm.auto import tqdm

for epoch in tqdm(range(3), desc="train unet"):
    time.sleep(0.3)
    print(f"epoch {epoch} loss {0.5 / (epoch + 1):.3f}")
"""


def test_progress_shows_section_bars_log_lines_eta_and_never_goes_silent(scratch):
    write_notebook(
        scratch / "nb" / "train.ipynb",
        ["## Train the models", TRAINING, "## Evaluate", "time.sleep(2.5)  # silent"],
        "",
    )
    manifest = make_project(
        scratch, "  - {id: t, notebook: train.ipynb, paper: pa, outputs: [x]}\n"
    )
    (run,) = load_manifest(manifest)
    (scratch / "results/smoke/t").mkdir(parents=True)
    previous = {"status": "ok", "duration_s": 754.0}  # the last run's duration gives the ETA
    (scratch / "results/smoke/t/run.json").write_text(json.dumps(previous))
    out = io.StringIO()
    record = job.execute(run, "smoke", manifest.parent, out=out, heartbeat=1.0)
    lines = out.getvalue().splitlines()
    text = "\n".join(lines)

    assert all(line.startswith("[t] ") for line in lines)
    assert "(Train the models); 0:0" in text and "ETA 12:" in text and "previous run 12:34" in text
    assert "[t] epoch 2 loss 0.167" in lines
    assert any("train unet: 100%" in line and "3/3" in line for line in lines)
    assert any(line.startswith("[t] still running cell 4/4 (Evaluate)") for line in lines)
    # the missing output fails the run, after the notebook itself succeeded
    assert record["status"] == "failed" and record["error"]["ename"] == "MissingOutputs"
    assert record["previous_duration_s"] == 754.0


def test_a_hung_cell_fails_the_run_after_the_cell_timeout(scratch):
    write_notebook(scratch / "nb" / "slow.ipynb", ["import time; time.sleep(30)"], "")
    manifest = make_project(scratch, "  - {id: s, notebook: slow.ipynb, paper: pa, outputs: [x]}\n")
    (run,) = load_manifest(manifest)
    record = job.execute(run, "smoke", manifest.parent, cell_timeout=2, out=io.StringIO())
    assert record["status"] == "failed" and record["error"]["ename"] == "CellTimeoutError"
    stored = json.loads((scratch / "results/smoke/s/run.json").read_text())
    assert stored == record


def test_gpu_slots_are_exclusive_while_held(tmp_path):
    with job.gpu_slot(2, tmp_path) as first, job.gpu_slot(2, tmp_path) as second:
        assert {first, second} == {0, 1}
        taken = []
        waiter = threading.Thread(target=lambda: taken.append(_slot(tmp_path)))
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive() and not taken  # both devices busy: the third run waits
    waiter.join(5)
    assert taken == [0]


def _slot(lock_dir):
    with job.gpu_slot(2, lock_dir, poll=0.05) as slot:
        return slot


@pytest.mark.parametrize(
    "state, expected",
    [
        ({}, {}),
        (
            {
                "box": {
                    "_model_name": "HBoxModel",
                    "children": ["IPY_MODEL_l", "IPY_MODEL_p", "IPY_MODEL_r"],
                },
                "l": {"_model_name": "HTMLModel", "value": "train:&nbsp; 50%"},
                "p": {"_model_name": "FloatProgressModel", "value": 1, "max": 2},
                "r": {"_model_name": "HTMLModel", "value": " 1/2 [00:01&lt;00:01, loss=0.1]"},
            },
            {"box": ("train:\xa0 50%", "1/2 [00:01<00:01, loss=0.1]", False)},
        ),
        (  # an HBox that is not a tqdm bar
            {
                "box": {"_model_name": "HBoxModel", "children": ["IPY_MODEL_l"]},
                "l": {"_model_name": "HTMLModel", "value": "x"},
            },
            {},
        ),
    ],
)
def test_tqdm_bars_are_read_from_widget_state(state, expected):
    assert progress.bars(state) == expected


def test_the_kernel_only_loads_and_the_caller_keeps_its_environment(scratch, monkeypatch):
    monkeypatch.delenv("MRIROBUST_TRAINING", raising=False)
    cell = (
        "import os, pathlib\n"
        "out = pathlib.Path(os.environ['MRIROBUST_RESULTS']) / 'smoke' / 'e' / 'x'\n"
        "out.write_text(os.environ['MRIROBUST_TRAINING'])"
    )
    write_notebook(scratch / "nb" / "env.ipynb", [cell], "")
    manifest = make_project(scratch, "  - {id: e, notebook: env.ipynb, paper: pa, outputs: [x]}\n")
    (run,) = load_manifest(manifest)
    record = job.execute(run, "smoke", manifest.parent, out=io.StringIO())
    assert record["status"] == "ok"
    assert (scratch / "results/smoke/e/x").read_text() == "load-only"  # the notebook run
    assert "MRIROBUST_TRAINING" not in os.environ  # not this process, nor a later test


def test_cpu_scale_runs_preload_mimalloc_and_cuda_scale_runs_keep_glibc_malloc():
    cpu, paper = job.memory_environment("cpu"), job.memory_environment("paper")
    assert cpu[job.THP_VARIABLE] == paper[job.THP_VARIABLE] == "1"
    assert os.path.isfile(cpu["LD_PRELOAD"]) and cpu["MIMALLOC_PURGE_DELAY"] == "-1"
    assert "LD_PRELOAD" not in paper and "MIMALLOC_PURGE_DELAY" not in paper
