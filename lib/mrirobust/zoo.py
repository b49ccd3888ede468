"""Ready models: model description → checkpoint → Reconstructor.

`get(models.spec(method, scale, acceleration, ...))` returns a Reconstructor in eval mode on
`devices.default()`.
Trained methods (U-Net, E2E-VarNet, Huang & Liang's min-max U-Nets with `get_networks` for
their generators; l1-wavelet's λ search) are loaded from their checkpoint
(`training.checkpoints`) or trained by their recipe (`training.recipes`) when it is missing,
with a progress bar and a log line. This is the one module that joins the model registry and
training.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from mrirobust import devices, scales
from mrirobust.models import registry
from mrirobust.models.base import Reconstructor
from mrirobust.models.registry import ModelSpec
from mrirobust.training import checkpoints, jobs
from mrirobust.training.recipes import RECIPES, MinMax

logger = logging.getLogger(__name__)

TRAINED = tuple(RECIPES)  # methods that have a checkpoint (l1: its λ search)


def image_size(scale: str, anatomy: str = "knee") -> tuple[int, int]:
    """The target (cropped) image size of the models of `scale`: the data profile's
    `target_size` squared (fastMRI's 320 x 320 at the shape and paper scales), for every
    anatomy; images narrower than it come out square at their width
    (`Reconstructor.output_size`)."""
    size = scales.resolve(scale, "data")["target_size"]
    return (size, size)


def _networks(model_spec: ModelSpec, size: tuple[int, int]):
    """(U-Net, generator or None) of a min-max method, untrained."""
    return registry.build(model_spec, size), registry.build_generator(model_spec, size)


def _builder(model_spec: ModelSpec):
    """What the method's recipe builds: the Reconstructor, or a min-max method's pair."""
    size = image_size(model_spec.scale, model_spec.anatomy)
    make = _networks if isinstance(RECIPES.get(model_spec.method), MinMax) else registry.build
    return functools.partial(make, model_spec, size)


def total_epochs(model_spec: ModelSpec) -> int:
    """The epochs a complete checkpoint of `model_spec` has (l1's λ search counts as one)."""
    return RECIPES[model_spec.method].epochs(model_spec.params)


def epochs_done(model_spec: ModelSpec) -> int:
    """The epochs `model_spec`'s checkpoint has completed (0 when there is none)."""
    return checkpoints.locate(model_spec).epochs_done()


def train(model_spec: ModelSpec, retrain: bool = False) -> Path:
    """Train (or resume) `model_spec`'s model and return its checkpoint path. A complete
    checkpoint is kept unless `retrain`; a mismatching one raises (`Checkpoint.read`). Two
    processes never train one checkpoint: the second waits for the first (`checkpoints.lock`)
    and then finds it complete."""
    recipe, checkpoint = RECIPES[model_spec.method], checkpoints.locate(model_spec)
    with checkpoint.lock():
        state = None
        if checkpoint.path.exists() and not retrain:
            state = checkpoint.read()
            if recipe.done(model_spec.params, state):
                return checkpoint.path
            jobs.check_may_train(checkpoint.path.name, model_spec.scale)
            logger.warning("resuming %s from epoch %d", checkpoint.path.name, state["epoch"])
        else:
            jobs.check_may_train(checkpoint.path.name, model_spec.scale)
            name, method = checkpoint.path.name, model_spec.method
            logger.warning("no checkpoint %s: training %s now", name, method)
        recipe.fit(model_spec, _builder(model_spec), checkpoint, state)
    return checkpoint.path


def training_job(model_spec: ModelSpec, paper: str, name: str | None = None) -> jobs.TrainingJob:
    """The pre-training job of one model description: named `<method>-<anatomy>-<R>x-<config>`
    plus a short hash of the spec (or `name`), trained by `train`."""
    digest = hashlib.sha256(json.dumps(model_spec.asdict(), sort_keys=True).encode())
    identity = digest.hexdigest()[:12]
    s = model_spec
    default = f"{s.method}-{s.anatomy}-{s.acceleration}x-{s.config}-{identity[:6]}"
    return jobs.TrainingJob(
        name=name or default,
        identity=identity,
        paper=paper,
        train=lambda retrain: [train(model_spec, retrain=retrain)],
    )


def load_or_train(model_spec: ModelSpec, retrain: bool = False) -> Reconstructor:
    """The trained Reconstructor (eval mode), training it first when no checkpoint exists."""
    checkpoint = checkpoints.locate(model_spec)
    train(model_spec, retrain=retrain)
    state = checkpoint.read()
    return RECIPES[model_spec.method].restore(_builder(model_spec), state).eval()


def get_networks(model_spec: ModelSpec, retrain: bool = False):
    """A min-max method's (U-Net in eval mode, generator in eval mode or None, checkpoint state
    with its curve and iterations), trained first when no complete checkpoint exists."""
    recipe = RECIPES.get(model_spec.method)
    if not isinstance(recipe, MinMax):
        raise ValueError(f"{model_spec.method} is not a min-max method (unet_minmax_<kind>)")
    train(model_spec, retrain=retrain)
    state = checkpoints.locate(model_spec).read()
    return (*recipe.restore_networks(_builder(model_spec), state), state)


def get(model_spec: ModelSpec, retrain: bool = False) -> Reconstructor:
    """A ready Reconstructor in eval mode for `model_spec` (`models.spec(...)`): loaded or
    trained when the method has a recipe, else built; `retrain=True` replaces a checkpoint."""
    if model_spec.method in RECIPES:
        return load_or_train(model_spec, retrain=retrain)
    return _builder(model_spec)().to(devices.default()).eval()


def training_curves(specs: Iterable[ModelSpec]) -> pd.DataFrame:
    """The stored training curve of each spec's checkpoint, one row per epoch (or per λ for
    l1), with the spec's method and acceleration."""
    rows = [
        {"method": s.method, "acceleration": s.acceleration, **row}
        for s in specs
        for row in checkpoints.locate(s).sidecar()["curve"]
    ]
    return pd.DataFrame(rows)
