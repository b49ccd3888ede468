"""Defaults for a notebook opened by hand in JupyterLab: which scale, and what training it costs.

A parameters cell may say `scale = "auto"`. Batch runs (the runner, papermill) always inject a
concrete scale, so "auto" only resolves when a person runs the notebook:

    scale = interactive.resolve_scale(scale)   # "auto" -> the scale `make reproduce` last ran
    interactive.announce_training([models.spec(m, scale, a) for m in methods for a in (4, 8)])

`resolve_scale` picks the scale of the most recently finished successful run, read from the
runner's `results/<scale>/<run-id>/run.json` files, else "smoke"; `announce_training` says which
of the described models (`models.spec`, or `papers.model_spec` for a paper's named sizes) have
no complete checkpoint and about how long training them takes, from the
seconds per epoch recorded in checkpoint sidecars of the same method, scale and sizes, else
from the profile's rough `epoch_seconds_estimate`.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from mrirobust import paths, scales, storage, zoo
from mrirobust.zoo import ModelSpec

AUTO = "auto"
FALLBACK = "smoke"


def last_reproduced() -> dict | None:
    """The run.json record (with its `scale`) of the most recently finished `ok` run under
    `paths.results_root()`, or None when there is none. Unreadable records are skipped with a
    warning naming the file."""
    latest, latest_end = None, None
    for scale in paths.SCALES:
        for record_path in sorted((paths.results_root() / scale).glob("*/run.json")):
            try:
                record = storage.read_json(record_path)
                if record.get("status") != "ok":  # failed, or still running (no end yet)
                    continue
                end = dt.datetime.fromisoformat(record["end"])
            except (OSError, ValueError, KeyError, TypeError) as err:
                warnings.warn(
                    f"{record_path}: not a readable run record ({type(err).__name__}: {err}); "
                    "ignored when choosing the scale",
                    stacklevel=2,
                )
                continue
            if record.get("scale") != scale:
                continue
            end = end if end.tzinfo else end.replace(tzinfo=dt.UTC)  # the runner writes UTC
            if latest_end is None or end > latest_end:
                latest, latest_end = record, end
    return latest


def resolve_scale(scale: str) -> str:
    """`scale` itself when it names a profile; for "auto", the scale of the most recent
    successful reproduce run (`last_reproduced`), else "smoke". Prints the choice and how to
    pick another one."""
    if scale != AUTO:
        if scale not in paths.SCALES:
            raise ValueError(
                f"unknown scale {scale!r}; valid: {', '.join(paths.SCALES)} or {AUTO!r} "
                "(the scale of the most recent `make reproduce`)"
            )
        return scale
    record = last_reproduced()
    if record is None:
        print(
            f'scale = "auto" -> "{FALLBACK}": no reproduced runs under {paths.results_root()}. '
            f'`make reproduce` (SCALE=cpu by default) trains the cpu models; or set scale = "cpu" '
            "here to train them from this notebook."
        )
        return FALLBACK
    chosen = record["scale"]
    print(
        f'scale = "auto" -> "{chosen}": the scale of the most recent `make reproduce` (run '
        f"{record.get('id')!r} finished {record['end']})."
        + (' For a quick look with small models, set scale = "smoke".' if chosen != "smoke" else "")
    )
    return chosen


@dataclass(frozen=True)
class Training:
    """A trained model that has no complete checkpoint: `epochs` still to run, about `seconds`
    in all, and where the estimate comes from."""

    method: str
    acceleration: int
    epochs: int
    seconds: float
    source: str

    def describe(self) -> str:
        return (
            f"{self.method} {self.acceleration}x: {self.epochs} epoch(s), about "
            f"{_duration(self.seconds)} ({self.source})"
        )


def _duration(seconds: float) -> str:
    if math.isnan(seconds):
        return "an unknown time"
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _recorded_seconds(sidecar: dict) -> float | None:
    """Seconds per epoch recorded in a checkpoint sidecar (None when it has no timing)."""
    seconds = [row.get("seconds") for row in sidecar.get("curve") or []]
    if not seconds or any(not isinstance(s, int | float) for s in seconds):
        return None
    return sum(seconds) / max(1, sidecar.get("epochs_done") or 1)


def _measured(model_spec: ModelSpec) -> tuple[float, str] | None:
    """(seconds per epoch, source) from the sidecars of checkpoints of the same method, scale
    and parameters (any acceleration or data), or None when none recorded its times."""
    found = []
    for sidecar_path in sorted(paths.checkpoints_dir().glob("*.json")):
        try:
            sidecar = storage.read_json(sidecar_path)
        except (OSError, ValueError):
            continue  # not a sidecar we can use; Checkpoint.read reports bad ones
        spec, wanted = sidecar.get("spec") or {}, model_spec.asdict()
        same = all(spec.get(k) == wanted[k] for k in ("method", "scale", "params"))
        seconds = _recorded_seconds(sidecar) if same else None
        if seconds is not None:
            found.append((seconds, sidecar_path.stem))
    if not found:
        return None
    median = statistics.median(s for s, _ in found)
    names = ", ".join(name for _, name in found[:2]) + (" ..." if len(found) > 2 else "")
    return median, f"measured in {names}"


def missing_models(specs: Iterable[ModelSpec]) -> list[Training]:
    """The trained models among `specs` (methods with a training recipe) without a complete
    checkpoint, with the remaining epochs and an estimated duration.

    Checkpoints are keyed by the data's fingerprint, so a scale's embedded data is generated
    first when it is missing (with its own progress bar)."""
    needed = []
    for model_spec in specs:
        if model_spec.method not in zoo.TRAINED:
            continue
        epochs = zoo.total_epochs(model_spec) - zoo.epochs_done(model_spec)
        if epochs <= 0:
            continue
        measured = _measured(model_spec)
        if measured is None:
            scale, method = model_spec.scale, model_spec.method
            estimates = scales.resolve(scale, "train")["epoch_seconds_estimate"]
            per_epoch = float(estimates.get(method, math.nan))
            source = (
                f"rough estimate from the {scale!r} profile"
                if method in estimates
                else f"the {scale!r} profile has no estimate for {method}"
            )
        else:
            per_epoch, source = measured
        needed.append(
            Training(model_spec.method, model_spec.acceleration, epochs, epochs * per_epoch, source)
        )
    return needed


def _message(needed: list[Training], scale: str) -> str:
    total = sum(item.seconds for item in needed)
    lines = [
        f"scale {scale!r}: {len(needed)} model(s) have no complete checkpoint and are trained "
        f"when first used, about {_duration(total)} in all:",
        *(f"  {item.describe()}" for item in needed),
    ]
    if scale != "smoke":
        lines.append('For a quick look with small models, set scale = "smoke".')
    return "\n".join(lines)


def training_message(specs: Iterable[ModelSpec]) -> str | None:
    """What `announce_training` says about the models `specs` (of one scale) that still have
    to be trained and about how long that takes; None when every checkpoint is complete."""
    specs = list(specs)
    needed = missing_models(specs)
    return _message(needed, ", ".join(sorted({s.scale for s in specs}))) if needed else None


def announce_training(specs: Iterable[ModelSpec]) -> list[Training]:
    """Print which of the models `specs` (of one scale) still have to be trained and about how
    long that takes (before any training starts); returns them (empty when every checkpoint is
    complete)."""
    specs = list(specs)
    scale = ", ".join(sorted({s.scale for s in specs}))
    needed = missing_models(specs)
    if not needed:
        print(f"scale {scale!r}: every trained model needed here has a checkpoint.")
    else:
        print(_message(needed, scale))
    return needed
