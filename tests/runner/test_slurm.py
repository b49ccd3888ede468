"""The shipped SLURM profile: a dry run of the real manifest at paper scale gives one job per
run, the manifest's needs as the job graph, and each job's resources from manifest + profile."""

import re

import yaml

from mrirobust import paths
from mrirobust.runner import load_manifest, workflow

MANIFEST = paths.notebooks_root() / "manifest.yaml"


def jobs(text):
    """{rule: {"input": [...], "output": [...], "resources": {...}}} from a dry run's output."""
    found = {}
    for block in re.split(r"\n(?=rule \w+:\n)", text):
        match = re.match(r"rule (\w+):\n", block)
        if not match:
            continue
        fields = dict(re.findall(r"^    (\w+): (.*)$", block, re.M))
        resources = dict(item.split("=", 1) for item in fields["resources"].split(", "))
        found[match[1]] = {
            "input": fields.get("input", "").split(", "),
            "output": fields["output"].split(", "),
            "resources": resources,
        }
    return found


def test_paper_scale_dry_run_with_the_slurm_profile(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("MRIROBUST_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("MRIROBUST_FIGURES", str(tmp_path / "figures"))
    chosen = workflow.plan(MANIFEST, "paper", profile="slurm")
    assert not chosen.skipped  # a cluster profile submits gpu runs from a login node
    assert workflow.dry_run(chosen, profile="slurm") == 0
    planned = jobs(capfd.readouterr().out)

    runs = {run.id: run for run in load_manifest(MANIFEST)}
    assert set(planned) == set(runs)
    producer = {path: rule for rule, job in planned.items() for path in job["output"]}
    profile = yaml.safe_load((workflow.PROFILES["slurm"] / "config.yaml").read_text())
    defaults = profile["default-resources"]
    assert profile["executor"] == "slurm"
    for run_id, job in planned.items():
        run = runs[run_id]
        needs = {producer[path] for path in job["input"] if path in producer}
        assert needs == set(run.needs), run_id
        resources = job["resources"]
        assert resources.get("gpu") == ("1" if run.gpu else None), run_id
        expected = {**defaults, **run.resources.get("paper", {})}
        for key in ("runtime", "mem_mb", "cpus_per_task", "slurm_partition"):
            assert resources[key] == str(expected[key]), (run_id, key)
    assert planned["train_models"]["resources"]["runtime"] == "2880"  # from the manifest
