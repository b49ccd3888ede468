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
from mrirobust.runner.workflow import Result, ensure_data, run

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
