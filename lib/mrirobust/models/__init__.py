"""Reconstruction methods behind one interface: `recon(masked_kspace, mask) -> image`.

`get(name, scale, acceleration, config=...)` returns a ready Reconstructor in eval mode: trained
methods (U-Net, E2E-VarNet; l1-wavelet's λ search) are loaded from their checkpoint or trained
when it is missing. Sizes come from the scale profile's `train` section, optionally replaced by
a named configuration (`CONFIGS`) and then by keyword overrides of profile keys.
"""

from __future__ import annotations

from typing import Any

from mrirobust import scales
from mrirobust.models.base import Reconstructor, ZeroFilled
from mrirobust.models.convdecoder import ConvDecoder
from mrirobust.models.l1 import L1Wavelet
from mrirobust.models.unet import UNetRecon
from mrirobust.models.varnet import VarNetRecon
from mrirobust.physics import CENTER_FRACTIONS

__all__ = ["Reconstructor", "ZeroFilled", "UNetRecon", "VarNetRecon", "L1Wavelet", "ConvDecoder"]

METHODS = ("zero_filled", "unet", "varnet", "l1", "convdecoder")
TRAINED = ("unet", "varnet", "l1")  # l1 is "trained" by its λ search on validation slices
ANATOMY = "knee"

_MORSHUIS = {
    "unet_chans": 16,
    "unet_pools": 4,
    "varnet_cascades": 8,
    "varnet_chans": 9,
    "varnet_pools": 4,
    "varnet_sens_chans": 6,
    "varnet_sens_pools": 4,
}


def _darestani_varnet(chans: int, sens_chans: int, cascades: int) -> dict[str, int]:
    return {
        "varnet_chans": chans,
        "varnet_pools": 4,
        "varnet_sens_chans": sens_chans,
        "varnet_sens_pools": 4,
        "varnet_cascades": cascades,
    }


def _darestani_unet(layers: int, chans: int) -> dict[str, int]:
    # fastmri's Unet has 2·num_pool_layers conv levels: Darestani's 8 layers <-> 4 pools
    return {"unet_chans": chans, "unet_pools": layers // 2}


# Named configurations: partial overrides of the scale profile's `train` section.
CONFIGS: dict[str, dict[str, Any]] = {
    # Morshuis 2022: VarNet 8 cascades, channels halved, sens top channels 6; U-Net halved
    "morshuis": _MORSHUIS,
    # Darestani 2021 Tables 1-2 (fastMRI reference sizes) and their variants
    "darestani": {
        **_darestani_varnet(18, 8, 12),
        **_darestani_unet(8, 32),
        "convdecoder_layers": 8,
        "convdecoder_channels": 256,
    },
    "darestani_varnet2": _darestani_varnet(9, 4, 12),
    "darestani_varnet3": _darestani_varnet(9, 4, 6),
    "darestani_varnet4": _darestani_varnet(4, 2, 12),
    "darestani_varnet5": _darestani_varnet(4, 2, 6),
    "darestani_unet2": _darestani_unet(8, 16),
    "darestani_unet3": _darestani_unet(4, 16),
    "darestani_unet4": _darestani_unet(8, 8),
    "darestani_unet5": _darestani_unet(4, 8),
}

_COMMON = ("seed", "epochs", "batch_size", "lr_step_size", "val_slices")
_KEYS = {
    "zero_filled": (),
    "unet": _COMMON + ("unet_lr", "unet_chans", "unet_pools"),
    "varnet": _COMMON
    + (
        "varnet_lr",
        "varnet_cascades",
        "varnet_chans",
        "varnet_pools",
        "varnet_sens_chans",
        "varnet_sens_pools",
    ),
    "l1": ("seed", "l1_iterations", "l1_lambdas", "l1_tune_slices"),
    "convdecoder": ("seed", "convdecoder_layers", "convdecoder_channels", "convdecoder_iterations"),
}


def spec(
    name: str, scale: str = "cpu", acceleration: int = 4, config: str | None = None, **overrides
) -> dict[str, Any]:
    """The full description of a model: method, scale, mask, configuration and the profile
    parameters it depends on (the checkpoint key hashes it with the data fingerprint)."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; valid methods: {', '.join(METHODS)}")
    if acceleration not in CENTER_FRACTIONS:
        raise ValueError(
            f"acceleration {acceleration!r} not supported; valid: {sorted(CENTER_FRACTIONS)}"
        )
    if config is not None and config not in CONFIGS:
        raise ValueError(f"unknown config {config!r}; valid configs: {', '.join(CONFIGS)}")
    params = scales.resolve(scale, "train", {**CONFIGS.get(config, {}), **overrides})
    return {
        "method": name,
        "scale": scale,
        "anatomy": ANATOMY,
        "acceleration": acceleration,
        "center_fraction": CENTER_FRACTIONS[acceleration],
        "config": config or "default",
        "params": {key: params[key] for key in _KEYS[name]},
    }


def build(model_spec: dict[str, Any], image_size: tuple[int, int], lam: float | None = None):
    """An untrained Reconstructor for `model_spec` (l1 needs its tuned relative `lam`)."""
    p, name = model_spec["params"], model_spec["method"]
    if name == "zero_filled":
        return ZeroFilled(image_size)
    if name == "unet":
        return UNetRecon(image_size, chans=p["unet_chans"], num_pools=p["unet_pools"])
    if name == "varnet":
        return VarNetRecon(
            image_size,
            num_cascades=p["varnet_cascades"],
            chans=p["varnet_chans"],
            pools=p["varnet_pools"],
            sens_chans=p["varnet_sens_chans"],
            sens_pools=p["varnet_sens_pools"],
        )
    if name == "l1":
        return L1Wavelet(image_size, lam=lam, iterations=p["l1_iterations"])
    return ConvDecoder(
        image_size,
        num_layers=p["convdecoder_layers"],
        channels=p["convdecoder_channels"],
        iterations=p["convdecoder_iterations"],
        seed=p["seed"],
    )


def get(
    name: str,
    scale: str = "cpu",
    acceleration: int = 4,
    config: str | None = None,
    retrain: bool = False,
    **overrides,
) -> Reconstructor:
    """A ready Reconstructor in eval mode for method `name` at `scale` and `acceleration`.

    Trained methods load their checkpoint under `paths.checkpoints_dir()` or are trained (with
    a progress bar and a log line) when it is missing; `retrain=True` replaces it. `config`
    picks a named configuration (`CONFIGS`); `overrides` replace `train` profile keys.
    """
    from mrirobust import train

    model_spec = spec(name, scale, acceleration, config, **overrides)
    if name in TRAINED:
        return train.load_or_train(model_spec, retrain=retrain)
    return build(model_spec, train.image_size(scale)).eval()
