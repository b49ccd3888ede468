"""The paper path on real shapes, in CI: every manifest run at the `shape` scale (paper
configuration, every loop cut to one step) on real-format files written independently of the
project's generators (`tests.data.realformat`: knee 640 x 380 / 386 with 12 / 18 coils, a narrow
and a 2-coil brain, single-coil knees, CMRxRecon patients of different ky and without ground
truth), read through FASTMRI_ROOT, FASTMRI_PLUS_ROOT and CMRXRECON_ROOT. What the papers' own
tests check of their runs' contents lives beside them; here: every run passes, records its
per-step costs and peak memory, fits a CI machine, and writes no empty table."""

import pandas as pd
import pytest

from mrirobust import paths, storage
from mrirobust.runner import load_manifest

pytestmark = pytest.mark.slow

MANIFEST = paths.notebooks_root() / "manifest.yaml"
RUNS = [run.id for run in load_manifest(MANIFEST)]
CI_MEMORY_MB = 24 * 1024  # a CI machine: 24 GiB


@pytest.mark.parametrize("run_id", RUNS)
def test_every_run_passes_at_shape_on_real_format_files(shape_results, run_id):
    shape_results.ok(run_id)


@pytest.mark.parametrize("run_id", RUNS)
def test_every_run_records_its_peak_memory_within_a_ci_machine(shape_results, run_id):
    record = storage.read_json(shape_results.ok(run_id) / "run.json")
    assert 0 < record["peak_rss_mb"] < CI_MEMORY_MB
    for step in record["steps"]:
        assert step["count"] >= 1 and 0 <= step["median_s"] <= step["max_s"]


def test_training_and_attack_steps_are_measured(shape_results):
    """Training runs in the pre-training jobs (their markers), attacks in the runs."""
    markers = sorted((shape_results.results_root / "shape" / "pretrain").glob("*.json"))
    assert markers
    records = [storage.read_json(path) for path in markers]
    records += [storage.read_json(shape_results.ok(run_id) / "run.json") for run_id in RUNS]
    kinds = {step["kind"] for record in records for step in record["steps"]}
    assert {"train", "attack"} <= kinds
    for record in records:
        assert 0 < record["peak_rss_mb"] < CI_MEMORY_MB


@pytest.mark.parametrize("run_id", RUNS)
def test_no_table_comes_out_empty(shape_results, run_id):
    for table in sorted(shape_results.ok(run_id).glob("*.csv")):
        assert len(pd.read_csv(table)) > 0, table.name
