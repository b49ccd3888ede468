"""The Makefile and .ci/run wire the README's commands to the runner and pytest."""

import os
import shutil
import subprocess

import pytest

from mrirobust import paths

ROOT = paths.project_root()
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def make(*args):
    done = subprocess.run(
        ["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_reproduce_passes_scale_and_selection_to_the_runner():
    assert make("-n", "reproduce")[-2:] == [
        ".venv/bin/python -m mrirobust reproduce --scale cpu",
        ".venv/bin/python -m mrirobust readme --scale cpu",  # a whole cpu run refreshes the README
    ]
    assert make("-n", "reproduce", "SCALE=smoke", "ONLY=a b")[-1] == (
        ".venv/bin/python -m mrirobust reproduce --scale smoke --only a b"
    )
    assert make("-n", "reproduce", "PAPER=p", "JOBS=2", "GPUS=4", "PROFILE=slurm")[-1] == (
        ".venv/bin/python -m mrirobust reproduce --scale cpu --paper p --jobs 2 --gpus 4 "
        "--profile slurm"
    )
    assert make("-n", "gallery", "SCALE=smoke")[-1] == (
        ".venv/bin/python -m mrirobust readme --scale smoke"
    )
    assert make("-n", "report", "SCALE=smoke")[-1] == (
        ".venv/bin/python -m mrirobust reproduce --report --scale smoke"
    )


def test_help_lists_every_target():
    text = "\n".join(make("help"))
    targets = ("reproduce", "report", "gallery", "test", "lab", "data", "bench", "lint", "clean")
    for target in targets:
        assert f"\n{target} " in text, target


def test_ci_runs_make_test():
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK)
    commands = [line for line in ci.read_text().splitlines() if line and line[0] != "#"]
    assert commands[-1] == "make test"
