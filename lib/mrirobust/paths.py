"""Project-root-relative paths, with environment overrides.

Every path the library writes or reads by default is derived from the project root, so
notebooks, the CLI and tests agree without `sys.path` hacks or hard-coded machine paths.

Environment overrides:
    MRIROBUST_ROOT      project root (default: the folder holding pyproject.toml above lib/)
    MRIROBUST_DATA      data root (default: <root>/data)
    MRIROBUST_RESULTS   results root (default: <root>/results)
    MRIROBUST_FIGURES   figures root (default: <root>/figures)
    FASTMRI_ROOT        real fastMRI data (paper scale); also `fastmri_root` in data/paths.yaml
    FASTMRI_PLUS_ROOT   real fastMRI+ annotations; also `fastmri_plus_root` in data/paths.yaml
    CMRXRECON_ROOT      real CMRxRecon data; also `cmrxrecon_root` in data/paths.yaml
    MRIROBUST_CHECKPOINTS  trained-model checkpoints (default: <results>/checkpoints)
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

SCALES = ("smoke", "cpu", "shape", "gpu", "paper")
# the gpu scale is the paper scale cut to one GPU-day: where a profile or the manifest gives no
# gpu value, the paper's applies
INHERITS = {"gpu": "paper"}
# scales on real data at paper sizes: their `gpu: true` runs need CUDA (or a cluster profile)
CUDA_SCALES = ("gpu", "paper")


def project_root() -> Path:
    """The repository root (MRIROBUST_ROOT, else two levels above this package)."""
    env = os.environ.get("MRIROBUST_ROOT")
    if env:
        return Path(env).resolve()
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").exists():
        raise RuntimeError(
            f"cannot locate the mrirobust project root from {__file__}; "
            "install with `pip install -e .` from a clone or set MRIROBUST_ROOT"
        )
    return root


def _env_dir(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).resolve() if value else default


def data_root() -> Path:
    return _env_dir("MRIROBUST_DATA", project_root() / "data")


def results_root() -> Path:
    return _env_dir("MRIROBUST_RESULTS", project_root() / "results")


def figures_root() -> Path:
    return _env_dir("MRIROBUST_FIGURES", project_root() / "figures")


def notebooks_root() -> Path:
    return project_root() / "notebooks"


def _check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; valid scales: {', '.join(SCALES)}")
    return scale


def embedded_root(scale: str) -> Path:
    """Where `python -m mrirobust data --scale S` writes the embedded dataset."""
    return data_root() / "embedded" / _check_scale(scale)


def results_dir(scale: str, run_id: str) -> Path:
    """`results/<scale>/<run-id>/`, created on demand."""
    path = results_root() / _check_scale(scale) / run_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def figures_dir(scale: str) -> Path:
    """`figures/<scale>/`, created on demand."""
    path = figures_root() / _check_scale(scale)
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkpoints_dir() -> Path:
    """Trained-model checkpoints, shared by all scales (keys include the config hash)."""
    path = _env_dir("MRIROBUST_CHECKPOINTS", results_root() / "checkpoints")
    path.mkdir(parents=True, exist_ok=True)
    return path


def annotations_dir() -> Path:
    """The shipped fastMRI+ annotation CSVs (data/annotations/)."""
    return data_root() / "annotations"


def real_data_root(key: str) -> Path:
    """A real-data root (`fastmri_root`, `fastmri_plus_root`, `cmrxrecon_root`).

    Read from the upper-case environment variable, else from data/paths.yaml. Raises with the
    names of both places when neither sets it.
    """
    env_var = key.upper()
    if os.environ.get(env_var):
        return Path(os.environ[env_var]).expanduser().resolve()
    config = data_root() / "paths.yaml"
    if config.exists():
        entries = yaml.safe_load(config.read_text()) or {}
        if not isinstance(entries, dict):
            raise ValueError(f"{config}: expected a mapping of keys to paths, got {entries!r}")
        if entries.get(key):
            return Path(str(entries[key])).expanduser().resolve()
    raise FileNotFoundError(
        f"real-data root {key!r} is not set: export {env_var}=/path or add "
        f"`{key}: /path` to {config} (see data/README.md)"
    )


def environment_root(key: str) -> Path | None:
    """A real-data root (`fastmri_root`, `fastmri_plus_root`, `cmrxrecon_root`) when the
    upper-case environment variable sets it, else None. The `shape` scale reads real files only
    when asked this way (data/paths.yaml configures the paper scale alone)."""
    value = os.environ.get(key.upper())
    return Path(value).expanduser().resolve() if value else None


def git_revision() -> dict[str, str | bool | None]:
    """The project's git HEAD and whether tracked files differ from it (None without git)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=project_root(), capture_output=True, text=True
            )
        except OSError:
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    revision = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"revision": revision, "dirty": None if status is None else bool(status)}
