"""The shipped SLURM profile: a dry run of the real manifest at paper scale gives one job per
training job (the pre-training stage, each on a GPU with its estimated time and memory) and per
run, the manifest's needs and the runs' training jobs as the job graph, and each job's
resources from manifest + profile (the cluster documentation in docs/cluster.md is this dry
run)."""

import re

import yaml

from mrirobust import paths
from mrirobust.runner import load_manifest, pretrain, workflow

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
    training, jobs_of_run = pretrain.plan(list(runs.values()), "paper")
    rules = {pretrain.rule_name(job): job for job in training.values()}
    assert set(planned) == set(runs) | set(rules)
    producer = {path: rule for rule, job in planned.items() for path in job["output"]}
    profile = yaml.safe_load((workflow.PROFILES["slurm"] / "config.yaml").read_text())
    defaults = profile["default-resources"]
    assert profile["executor"] == "slurm"
    for rule, job in rules.items():  # the pre-training stage: a GPU job per checkpoint
        resources = planned[rule]["resources"]
        assert resources["gpu"] == "1", rule
        for key, value in job.resources["paper"].items():  # from measured step costs
            assert resources[key] == str(value), (rule, key)
    for run_id, run in runs.items():
        job = planned[run_id]
        inputs = {producer[path] for path in job["input"] if path in producer}
        assert inputs - set(rules) == set(run.needs), run_id
        assert inputs & set(rules) == {
            pretrain.rule_name(training[name]) for name in jobs_of_run[run_id]
        }, run_id
        resources = job["resources"]
        assert resources.get("gpu") == ("1" if run.gpu else None), run_id
        expected = {**defaults, **run.resources.get("paper", {})}
        for key in ("runtime", "mem_mb", "cpus_per_task", "slurm_partition"):
            assert resources[key] == str(expected[key]), (run_id, key)

    assert len(rules) >= 20  # every paper's networks at the paper's sizes
