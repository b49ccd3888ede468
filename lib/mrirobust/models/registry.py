"""Model descriptions and the method table: `spec(...)` describes a model, `build(spec, size)`
makes it (untrained). Loading or training a described model is `mrirobust.zoo`'s job.

A `ModelSpec` holds the method, scale, mask and the profile parameters the method depends on;
its `asdict` (today's keys, unchanged) is what the checkpoint name hashes. Sizes come from the
scale profile's `train` section, optionally replaced by a named configuration's `sizes` (the
papers own those: `mrirobust.papers.model_config`) and then by keyword overrides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from mrirobust import scales
from mrirobust.models.base import Reconstructor, ZeroFilled
from mrirobust.models.convdecoder import ConvDecoder
from mrirobust.models.generator import ImageGenerator, KSpaceGenerator
from mrirobust.models.l1 import L1Wavelet
from mrirobust.models.unet import UNetRecon
from mrirobust.models.varnet import VarNetRecon
from mrirobust.physics import center_fraction

DEFAULT_CONFIG = "default"  # the scale profile's sizes


@dataclass(frozen=True)
class Method:
    """A reconstruction method: its class, the `train` profile keys it depends on, and which
    of them are constructor arguments (`args`: argument name → profile key). Which methods are
    trained, and how, is `training.recipes`' table. `late` holds keys added after checkpoints
    of the method existed, with their default: a spec holds such a key only when its value
    differs from the default, so the existing checkpoints keep their names."""

    cls: type[Reconstructor]
    keys: tuple[str, ...]
    args: dict[str, str]
    late: dict[str, Any] = field(default_factory=dict)
    generator: Callable | None = None  # (params, image size) -> its min-max perturbation generator


_COMMON = ("seed", "epochs", "batch_size", "lr_step_size", "val_slices")
_LATE_TRAINING = {"steps_per_epoch": 0}  # the shape scale's one-step epochs
_VARNET_ARGS = {
    "num_cascades": "varnet_cascades",
    "chans": "varnet_chans",
    "pools": "varnet_pools",
    "sens_chans": "varnet_sens_chans",
    "sens_pools": "varnet_sens_pools",
}
_CONVDECODER_ARGS = {
    "num_layers": "convdecoder_layers",
    "channels": "convdecoder_channels",
    "iterations": "convdecoder_iterations",
    "seed": "seed",
}

_MINMAX_ARGS = {"chans": "unet_chans", "num_pools": "unet_pools", "variant": "unet_variant"}


def _image_generator(p: dict, size: tuple[int, int]) -> ImageGenerator:
    return ImageGenerator(size, p["gen_nz"], p["gen_ngf"], p["latent_scale"])


def _kspace_generator(p: dict, size: tuple[int, int]) -> KSpaceGenerator:
    return KSpaceGenerator(p["coils"], p["kgen_chans"], p["kgen_pools"], p["kgen_budget"])


# Huang & Liang's U-Nets trained against a generator (`training.adversarial`); the paper's profile
# describes them (`papers.huang_liang.networks.spec`), not the scale profile
_MINMAX_GENERATORS = {
    "unet_minmax_standard": None,
    "unet_minmax_image": _image_generator,
    "unet_minmax_kspace": _kspace_generator,
}
MINMAX_METHODS = tuple(_MINMAX_GENERATORS)

METHODS: dict[str, Method] = {
    "zero_filled": Method(ZeroFilled, (), {}),
    "unet": Method(
        UNetRecon,
        _COMMON + ("unet_lr", "unet_chans", "unet_pools"),
        {"chans": "unet_chans", "num_pools": "unet_pools"},
        late=_LATE_TRAINING,
    ),
    "varnet": Method(
        VarNetRecon,
        _COMMON + ("varnet_lr", *_VARNET_ARGS.values()),
        _VARNET_ARGS,
        late=_LATE_TRAINING,
    ),
    # l1's λ is tuned, not a profile key: `build(..., lam=...)`
    "l1": Method(
        L1Wavelet,
        ("seed", "l1_iterations", "l1_lambdas", "l1_tune_slices"),
        {"iterations": "l1_iterations", "basis": "l1_basis"},
        late={"l1_basis": "wavelet"},
    ),
    "convdecoder": Method(
        ConvDecoder,
        tuple(_CONVDECODER_ARGS.values()),
        {**_CONVDECODER_ARGS, "optimiser": "convdecoder_optimiser"},
        late={"convdecoder_optimiser": "adam"},  # Darestani Fig. 16's variants
    ),
    **{
        name: Method(UNetRecon, (), _MINMAX_ARGS, generator=g)
        for name, g in _MINMAX_GENERATORS.items()
    },
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
    if method in MINMAX_METHODS:
        raise ValueError(
            f"{method} is described by Huang & Liang's profile (papers.huang_liang.networks.spec) "
            "and trained by python -m mrirobust train huang_liang-<name> (train --list names them)"
        )
    fraction = center_fraction(acceleration)
    if bool(sizes) == (config == DEFAULT_CONFIG):
        raise ValueError(
            f"config {config!r} with sizes {dict(sizes or {})!r}: a named configuration needs "
            f"its sizes, and {DEFAULT_CONFIG!r} takes none"
        )
    params = scales.resolve(scale, "train", {**(sizes or {}), **overrides})
    late = METHODS[method].late
    return ModelSpec(
        method=method,
        scale=scale,
        anatomy=anatomy,
        acceleration=acceleration,
        center_fraction=fraction,
        config=config,
        params={
            **{key: params[key] for key in METHODS[method].keys},
            **{key: params[key] for key, default in late.items() if params[key] != default},
        },
    )


def build(model_spec: ModelSpec, image_size: tuple[int, int], **state) -> Reconstructor:
    """An untrained Reconstructor for `model_spec`; `state` adds constructor arguments that
    training found (l1's tuned relative `lam`)."""
    method = METHODS[model_spec.method]
    params = {**method.late, **model_spec.params}
    args = {name: params[key] for name, key in method.args.items()}
    return method.cls(tuple(image_size), **args, **state)


def build_generator(model_spec: ModelSpec, image_size: tuple[int, int]):
    """The untrained perturbation generator of a min-max method (None for the others)."""
    make = METHODS[model_spec.method].generator
    return None if make is None else make(model_spec.params, tuple(image_size))
