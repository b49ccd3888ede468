"""The model groups of Darestani et al. 2021 (Tables 1-2): several models per family as the
points of the shift plots (Fig. 2, 4, 6), with their parameter counts, and the linear fit of
out- against in-distribution score over all points.

A group is `profile.GROUPS` resolved at a scale: family -> named configurations. Each model is
labelled by its method for the family's first configuration (the model every other notebook
uses) and "<method>/<config>" for the others, so the tables of the shift experiments (column
`method`) hold one label per model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from scipy import stats

from mrirobust.models.convdecoder import ConvDecoder, decoder
from mrirobust.models.l1 import BASES
from mrirobust.papers import get_model, model_spec
from mrirobust.training import checkpoints

FAMILIES = ("unet", "varnet", "l1", "convdecoder")  # the paper's four; zero-filled is a baseline


def label(family: str, configs: Sequence[str], config: str) -> str:
    """The model's name in the tables: the family for its first configuration, else
    "<family>/<config>"."""
    return family if config == configs[0] else f"{family}/{config}"


def check_groups(groups: Mapping[str, Sequence[str]], min_models: int = 0) -> None:
    """Raise naming the family when `groups` has an unknown family, an empty or repeated
    configuration list, or fewer than `min_models` models in one of `FAMILIES`."""
    known = (*FAMILIES, "zero_filled")
    for family, configs in groups.items():
        if family not in known:
            raise ValueError(f"unknown family {family!r} in groups; valid: {', '.join(known)}")
        if not configs or len(set(configs)) != len(configs):
            raise ValueError(f"groups[{family!r}] must list distinct configs, got {configs!r}")
    for family in FAMILIES:
        if len(groups.get(family, ())) < min_models:
            raise ValueError(
                f"groups[{family!r}] has {len(groups.get(family, ()))} models; the shift plots "
                f"need >= {min_models} per family"
            )


def subset(groups: Mapping[str, Sequence[str]], families: Sequence[str]) -> dict[str, list[str]]:
    """The groups of `families` (e.g. the families with brain-trained versions, Fig. 4)."""
    unknown = sorted(set(families) - set(groups))
    if unknown:
        raise ValueError(f"families {unknown} are not in the groups; valid: {', '.join(groups)}")
    return {family: list(groups[family]) for family in families}


def parameter_count(model: torch.nn.Module, coils: int) -> int:
    """Trainable parameters of a network; ConvDecoder's decoder for `coils` coils (it is built
    per fit); 0 for l1 and zero-filling (l1's tuned λ is a single hyper-parameter)."""
    if isinstance(model, ConvDecoder):
        net, _ = decoder(model.num_layers, model.channels, 2 * coils, model.image_size)
        model = net
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def group_specs(
    groups: Mapping[str, Sequence[str]],
    scale: str,
    anatomy: str = "knee",
    acceleration: int = 4,
) -> list:
    """The description of every model of `groups` trained or tuned on `anatomy` (the models
    `group_models` loads)."""
    check_groups(groups)
    return [
        model_spec(family, scale, acceleration, config=config, anatomy=anatomy)
        for family, configs in groups.items()
        for config in configs
    ]


def group_models(
    groups: Mapping[str, Sequence[str]],
    scale: str,
    *,
    coils: int,
    anatomy: str = "knee",
    acceleration: int = 4,
) -> tuple[dict[str, torch.nn.Module], pd.DataFrame]:
    """Every model of `groups` (`papers.get_model`: loaded, or trained when its checkpoint is
    missing) trained or tuned on `anatomy`. Returns {label: model} and the Tables 1-2 table:
    family, model (label), config, parameters (for `coils`-coil data)."""
    check_groups(groups)
    models, rows = {}, []
    for family, configs in groups.items():
        for config in configs:
            name = label(family, configs, config)
            model = get_model(family, scale, acceleration, config=config, anatomy=anatomy)
            models[name] = model
            rows.append(
                {
                    "family": family,
                    "model": name,
                    "config": config,
                    "parameters": parameter_count(model, coils),
                }
            )
    return models, pd.DataFrame(rows)


def basis_config(basis: str, config: str | None = None) -> str | None:
    """The named configuration of l1 with `basis` (models.l1.BASES): `config` for the wavelet
    (None: the scale default), "darestani_l1_<basis>" for the others."""
    if basis not in BASES:
        raise ValueError(f"unknown l1 basis {basis!r}; valid bases: {', '.join(BASES)}")
    return config if basis == "wavelet" else f"darestani_l1_{basis}"


def l1_basis_specs(scale: str, config: str | None = None, anatomy: str = "knee") -> list:
    """The description of l1 with each basis (`l1_bases`)."""
    return [
        model_spec("l1", scale, config=basis_config(basis, config), anatomy=anatomy)
        for basis in BASES
    ]


def l1_bases(scale: str, config: str | None = None, anatomy: str = "knee") -> dict:
    """Fig. 10: l1 with each basis of `BASES`, named "l1_<basis>", each with its own relative λ
    from its validation search (the l1 recipe, `training.recipes.LambdaSearch`, run when its
    checkpoint is missing), so that the comparison of bases is fair."""
    return {
        f"l1_{basis}": get_model("l1", scale, config=basis_config(basis, config), anatomy=anatomy)
        for basis in BASES
    }


def lambda_searches(scale: str, config: str | None = None, anatomy: str = "knee") -> pd.DataFrame:
    """The stored λ searches of `l1_bases`: one row per basis and λ (lam, tune_ssim on the
    training slices searched, seconds) and whether it was chosen."""
    rows = []
    for basis in BASES:
        spec = model_spec("l1", scale, config=basis_config(basis, config), anatomy=anatomy)
        checkpoint = checkpoints.locate(spec)
        chosen = checkpoint.read()["lam"]
        for row in checkpoint.sidecar()["curve"]:
            rows.append({"basis": basis, **row, "chosen": row["lam"] == chosen})
    return pd.DataFrame(rows)


def family_of(model: str) -> str:
    """The family of a model label (a `_fixed` suffix, e.g. "varnet_fixed", kept)."""
    return model.split("/")[0]


def in_vs_out(table: pd.DataFrame, inside: str, outside: str, value: str = "ssim") -> pd.DataFrame:
    """Per model (column `method` of a shift table) the mean `value` on the sets `inside` (x)
    and `outside` (y), with its family. A model also scored with the resolution fix ("<model>_fixed"
    rows on `outside`) has that y, as the paper's Fig. 2 plots VarNet ("we manually increased the
    resolution of Stanford set data points for VarNet", Sec. 5); the fix leaves `inside`, at the
    trained resolution, as it is."""
    means = table.groupby(["method", "set"])[value].mean().unstack("set")
    missing = {inside, outside} - set(means.columns)
    if missing:
        raise ValueError(f"the shift table lacks the sets {sorted(missing)}; has {list(means)}")
    fixed = [m for m in means.index if m.endswith("_fixed")]
    for name in fixed:
        model = name.removesuffix("_fixed")
        if model in means.index and not pd.isna(means.loc[name, outside]):
            means.loc[model, outside] = means.loc[name, outside]
    means = means.drop(index=fixed)[[inside, outside]].dropna()
    out = pd.DataFrame(
        {"model": means.index, "x": means[inside].to_numpy(), "y": means[outside].to_numpy()}
    )
    return out.assign(family=out["model"].map(family_of), gap=out["x"] - out["y"])


def anatomy_points(table: pd.DataFrame, test: str, value: str = "ssim") -> pd.DataFrame:
    """Fig. 4: per model trained on both anatomies (an `anatomy_scores` table), the mean
    `value` on the `test` anatomy of the version trained on it (x) and of the version trained on
    the other anatomy (y), with its family."""
    means = table[table["set"] == test].groupby(["method", "trained"])[value].mean()
    means = means.unstack("trained")
    others = [a for a in means.columns if a != test]
    if test not in means.columns or len(others) != 1:
        raise ValueError(
            f"the anatomy table needs versions trained on {test!r} and on one other anatomy; "
            f"it has {list(means.columns)}"
        )
    means = means[[test, others[0]]].dropna()
    out = pd.DataFrame(
        {"model": means.index, "x": means[test].to_numpy(), "y": means[others[0]].to_numpy()}
    )
    return out.assign(family=out["model"].map(family_of), gap=out["x"] - out["y"], test=test)


def linear_fit(points: pd.DataFrame, confidence: float = 0.95) -> dict[str, float]:
    """Least-squares line y = slope·x + intercept through the points (columns x, y; >= 3), with
    `confidence` intervals of slope and intercept (t distribution, n - 2 degrees of freedom)."""
    if len(points) < 3:
        raise ValueError(
            f"a linear fit with a confidence interval needs >= 3 points, got {len(points)}"
        )
    fit = stats.linregress(points["x"], points["y"])
    t = float(stats.t.ppf(0.5 + confidence / 2, len(points) - 2))
    return {
        "slope": float(fit.slope),
        "slope_ci_low": float(fit.slope - t * fit.stderr),
        "slope_ci_high": float(fit.slope + t * fit.stderr),
        "intercept": float(fit.intercept),
        "intercept_ci_low": float(fit.intercept - t * fit.intercept_stderr),
        "intercept_ci_high": float(fit.intercept + t * fit.intercept_stderr),
        "r": float(fit.rvalue),
        "points": len(points),
        "confidence": confidence,
    }


def fitted(points: pd.DataFrame) -> pd.DataFrame:
    """The points of the paper's `FAMILIES` (zero-filling is a baseline, not a method of the
    paper): the ones the shift figures' lines are fitted through."""
    return points[points["family"].isin(FAMILIES)]


def paper_fit(points: pd.DataFrame, confidence: float = 0.95) -> dict[str, float]:
    """`linear_fit` through the `fitted` points."""
    return linear_fit(fitted(points), confidence)


def fit_band(fit: Mapping[str, float], points: pd.DataFrame, x: np.ndarray) -> tuple:
    """The fitted line at `x` and its pointwise `fit["confidence"]` band for the mean
    (ŷ ± t·s·√(1/n + (x − x̄)² / Σ(xᵢ − x̄)²))."""
    n = len(points)
    line = fit["slope"] * x + fit["intercept"]
    residual = points["y"] - (fit["slope"] * points["x"] + fit["intercept"])
    s = float(np.sqrt((residual**2).sum() / (n - 2)))
    spread = float(((points["x"] - points["x"].mean()) ** 2).sum())
    t = float(stats.t.ppf(0.5 + fit["confidence"] / 2, n - 2))
    half = t * s * np.sqrt(1 / n + (x - points["x"].mean()) ** 2 / max(spread, 1e-30))
    return line, line - half, line + half
