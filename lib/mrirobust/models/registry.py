"""Model descriptions and the method table: `spec(...)` describes a model, `build(spec, size)`
makes it (untrained). Loading or training a described model is `mrirobust.zoo`'s job.

A `ModelSpec` holds the method, scale, mask and the profile parameters the method depends on;
its `asdict` (today's keys, unchanged) is what the checkpoint name hashes. Sizes come from the
scale profile's `train` section, optionally replaced by a named configuration's `sizes` (the
papers own those: `mrirobust.papers.model_config`) and then by keyword overrides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mrirobust import scales
from mrirobust.models.base import Reconstructor, ZeroFilled
from mrirobust.models.convdecoder import ConvDecoder
from mrirobust.models.l1 import L1Wavelet
from mrirobust.models.unet import UNetRecon
from mrirobust.models.varnet import VarNetRecon
from mrirobust.physics import CENTER_FRACTIONS

DEFAULT_CONFIG = "default"  # the scale profile's sizes


@dataclass(frozen=True)
class Method:
    """A reconstruction method: the `train` profile keys it depends on and its builder
    `build(params, image_size, **state) -> Reconstructor` (l1 takes its tuned `lam`). Which
    methods are trained, and how, is `training.recipes`' table."""

    keys: tuple[str, ...]
    build: Callable[..., Reconstructor]


_COMMON = ("seed", "epochs", "batch_size", "lr_step_size", "val_slices")

METHODS: dict[str, Method] = {
    "zero_filled": Method((), lambda p, size: ZeroFilled(size)),
    "unet": Method(
        _COMMON + ("unet_lr", "unet_chans", "unet_pools"),
        lambda p, size: UNetRecon(size, chans=p["unet_chans"], num_pools=p["unet_pools"]),
    ),
    "varnet": Method(
        _COMMON
        + ("varnet_lr", "varnet_cascades", "varnet_chans", "varnet_pools")
        + ("varnet_sens_chans", "varnet_sens_pools"),
        lambda p, size: VarNetRecon(
            size,
            num_cascades=p["varnet_cascades"],
            chans=p["varnet_chans"],
            pools=p["varnet_pools"],
            sens_chans=p["varnet_sens_chans"],
            sens_pools=p["varnet_sens_pools"],
        ),
    ),
    "l1": Method(
        ("seed", "l1_iterations", "l1_lambdas", "l1_tune_slices"),
        lambda p, size, lam: L1Wavelet(size, lam=lam, iterations=p["l1_iterations"]),
    ),
    "convdecoder": Method(
        ("seed", "convdecoder_layers", "convdecoder_channels", "convdecoder_iterations"),
        lambda p, size: ConvDecoder(
            size,
            num_layers=p["convdecoder_layers"],
            channels=p["convdecoder_channels"],
            iterations=p["convdecoder_iterations"],
            seed=p["seed"],
        ),
    ),
}


@dataclass(frozen=True)
class ModelSpec:
    """Everything that identifies a model (and its checkpoint): method, scale, anatomy and mask
    of the training data, configuration name and the method's profile parameters."""

    method: str
    scale: str
    anatomy: str
    acceleration: int
    center_fraction: float
    config: str
    params: dict[str, Any]

    def asdict(self) -> dict[str, Any]:
        """The JSON form stored in checkpoints and hashed into their names."""
        return asdict(self)


def spec(
    method: str,
    scale: str = "cpu",
    acceleration: int = 4,
    config: str = DEFAULT_CONFIG,
    sizes: Mapping[str, Any] | None = None,
    anatomy: str = "knee",
    **overrides,
) -> ModelSpec:
    """The description of `method` trained on `anatomy`'s data at `scale` and `acceleration`:
    the profile's `train` keys of the method, replaced by `sizes` (the named configuration
    `config`) and then `overrides`."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(METHODS)}")
    if acceleration not in CENTER_FRACTIONS:
        raise ValueError(
            f"acceleration {acceleration!r} not supported; valid: {sorted(CENTER_FRACTIONS)}"
        )
    if bool(sizes) == (config == DEFAULT_CONFIG):
        raise ValueError(
            f"config {config!r} with sizes {dict(sizes or {})!r}: a named configuration needs "
            f"its sizes, and {DEFAULT_CONFIG!r} takes none"
        )
    params = scales.resolve(scale, "train", {**(sizes or {}), **overrides})
    return ModelSpec(
        method=method,
        scale=scale,
        anatomy=anatomy,
        acceleration=acceleration,
        center_fraction=CENTER_FRACTIONS[acceleration],
        config=config,
        params={key: params[key] for key in METHODS[method].keys},
    )


def build(model_spec: ModelSpec, image_size: tuple[int, int], **state) -> Reconstructor:
    """An untrained Reconstructor for `model_spec` (l1 needs its tuned relative `lam`)."""
    return METHODS[model_spec.method].build(model_spec.params, tuple(image_size), **state)
