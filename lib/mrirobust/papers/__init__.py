"""The papers reproduced: one package each (profile, experiments, claims, figures).

The core library never imports this package; a paper may import the core and, through this
module, the named model configurations of every paper (`model_config`).
"""

from __future__ import annotations

from mrirobust import interactive, zoo
from mrirobust.models.base import Reconstructor
from mrirobust.models.registry import DEFAULT_CONFIG, ModelSpec, spec
from mrirobust.papers.darestani2021.profile import MODEL_SIZES as DARESTANI2021_SIZES
from mrirobust.papers.morshuis2022.profile import MODEL_SIZES as MORSHUIS2022_SIZES

PAPERS = {
    "morshuis2022": "Morshuis et al. 2022, adversarial robustness of MR image reconstruction "
    "under realistic perturbations",
    "darestani2021": "Darestani et al. 2021, measuring robustness in deep learning based "
    "compressive sensing",
    "huang_liang": "Huang & Liang 2020, robustness of deep learning in MRI reconstruction "
    "(min-max training of a U-Net against a perturbation generator)",
    "zhao2023": "Zhao, Zhang & Tao 2023, relaxometry guided quantitative cardiac MR image "
    "reconstruction",
}

CONFIGS: dict[str, dict[str, int]] = {**MORSHUIS2022_SIZES, **DARESTANI2021_SIZES}


def model_config(name: str | None) -> dict[str, int]:
    """The sizes of the named model configuration (a partial `train` profile); None, "" and
    "default" are the scale profile's own sizes ({})."""
    if name in (None, "", DEFAULT_CONFIG):
        return {}
    if name not in CONFIGS:
        raise ValueError(
            f"unknown model config {name!r}; valid configs: {DEFAULT_CONFIG}, {', '.join(CONFIGS)}"
        )
    return dict(CONFIGS[name])


def model_spec(
    method: str,
    scale: str,
    acceleration: int = 4,
    config: str | None = None,
    anatomy: str = "knee",
    **overrides,
) -> ModelSpec:
    """`registry.spec` of `method` under the named configuration `config` (None or "": the
    scale profile's sizes), trained (or tuned) on `anatomy`, with `overrides` of its keys."""
    sizes = model_config(config)
    return spec(
        method,
        scale,
        acceleration,
        config=config or DEFAULT_CONFIG,
        sizes=sizes,
        anatomy=anatomy,
        **overrides,
    )


def get_model(
    method: str,
    scale: str,
    acceleration: int = 4,
    config: str | None = None,
    retrain: bool = False,
    anatomy: str = "knee",
    **overrides,
) -> Reconstructor:
    """The ready model (`zoo.get`) of `model_spec(method, scale, acceleration, config,
    anatomy, **overrides)`. A model without a complete checkpoint is announced (what is
    trained, about how long, how to pick smoke instead) before its training starts."""
    wanted = model_spec(method, scale, acceleration, config, anatomy, **overrides)
    if retrain or interactive.missing_models([wanted]):
        interactive.announce_training([wanted])
    return zoo.get(wanted, retrain=retrain)
