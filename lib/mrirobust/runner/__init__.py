"""The manifest runner: notebooks/manifest.yaml executed by Snakemake through papermill.

- `manifest`: the manifest's schema and validation, selection by id or paper, each run's code.
- `workflow`: `python -m mrirobust reproduce` (Snakemake invocation, summary, report).
- `job`: one run as a Snakemake job executes it (papermill, run.json, GPU pinning).
- `progress`: live progress of a running notebook.
- `Snakefile`: one rule per manifest run; `slurm/`: the cluster profile.
"""

from mrirobust.runner.manifest import (
    ManifestError,
    Run,
    code_files,
    load_manifest,
    output_paths,
    select,
)

_WORKFLOW = ("Result", "ensure_data", "run")


def __getattr__(name: str):
    """`Result`, `ensure_data` and `run` from `workflow`, imported on first use: it imports torch
    and scipy (the reference workload, the claims), which a run's job process (`job`) does not
    need, and that process starts once per run."""
    if name in _WORKFLOW:
        from mrirobust.runner import workflow

        return getattr(workflow, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ManifestError",
    "Run",
    "code_files",
    "load_manifest",
    "output_paths",
    "select",
    "Result",
    "ensure_data",
    "run",
]
