"""Every manifest run at the smoke and the shape scale, executed in a background process while the
unit tests run (tests/conftest.py starts it and waits for it).

On 2 cores the unit tests alone keep about one core busy, and the manifest runs fill both, so
running them side by side instead of one after the other takes minutes off `make test`.

    python -m tests.manifest_runs ROOT SCALE [SCALE ...]

runs the scales one after the other, each into ROOT/<scale>/results and ROOT/<scale>/figures;
the shape scale reads the real-format roots that `tests.data.realformat` writes under
ROOT/shape/real, pointed at by FASTMRI_ROOT, FASTMRI_PLUS_ROOT and CMRXRECON_ROOT as a user would.
When a scale is done, ROOT/<scale>/results.pickle holds its `runner.Result` list.
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

from mrirobust import paths, runner, storage

CELL_TIMEOUT = 900  # seconds: a cell that runs 15 min at these scales is a hung kernel


def results_file(root: Path, scale: str) -> Path:
    """Where the background process stores the Result list of `scale`."""
    return root / scale / "results.pickle"


def run_scale(root: Path, scale: str) -> list[runner.Result]:
    """Every manifest run at `scale` into root/<scale>/ (see the module docstring)."""
    folder = root / scale
    os.environ["MRIROBUST_RESULTS"] = str(folder / "results")
    os.environ["MRIROBUST_FIGURES"] = str(folder / "figures")
    if scale == "shape":
        from tests.data.realformat import write_roots

        os.environ.update(write_roots(folder / "real").environment())
    return runner.run(paths.notebooks_root() / "manifest.yaml", scale, cell_timeout=CELL_TIMEOUT)


def main(argv: list[str]) -> None:
    root, scales = Path(argv[0]), argv[1:]
    for scale in scales:
        results = run_scale(root, scale)
        with storage.atomic_file(results_file(root, scale)) as tmp:
            tmp.write_bytes(pickle.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
