"""The findings of Morshuis et al. 2022 (Sec. 3 and 4), checked on the stored per-box tables:
Fig. 1 on `noise_attack.csv` (one row per box, model, acceleration, attack mode and η), Fig. 4 on
`rotation_worst.csv` (one row per box, model, acceleration and θ_max), Fig. 2/3 on the region
scores of their example.

The scored unit is the annotated box: every comparison is paired over the boxes both sides were
scored on, with the 95 % bootstrap interval of `mrirobust.claims`. The paper's sentences:

- "the reconstruction quality of common reconstruction methods declines significantly for both"
  (Sec. 4): the region SSIM falls along η (Fig. 1a) and θ_max (Fig. 4a);
- "Overall E2E-VN yields consistently better results compared to the simpler UNet-based
  reconstruction method" (Fig. 1a), "these findings also hold for the rotation attacks" (Fig. 4a);
- "the slope of the degradation is similar for both techniques": the ratio of the two models'
  slopes of the relative SSIM SSIM(η)/SSIM(0) lies within the conventional 80-125 %
  equivalence band (`claims.SIMILAR_RATIO`; the paper gives no number);
- "when the attack is targeting those regions directly, the effect is much more severe" (Fig. 1b);
- "rotation attacks are less severe than attacks with adversarial noise" (Fig. 4a vs 1a): the
  relative SSIM at the largest θ_max is above that at the largest η;
- "the adversarial noise levels have a similar scale to thermal noise in our data": the measured
  thermal noise level lies within the explored η range (on generated data a sanity claim checks
  the estimate against the noise the generator added);
- Fig. 2 and 3 are statements about one example, compared exactly on it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from mrirobust import claims
from mrirobust.claims import Claim, Verdict


def _curves(table: pd.DataFrame, by: str, where: str, **case) -> pd.DataFrame:
    """The box SSIM with one row per box and one column per value of `by` (`claims.curves`)."""
    return claims.curves(table, by, "ssim_region", where, unit="sample", **case)


def _relative(curves: pd.DataFrame, where: str) -> pd.DataFrame:
    """Each box's curve divided by its value at the smallest x (the unattacked SSIM)."""
    start = curves.iloc[:, 0]
    if (start <= 0).any():
        raise ValueError(f"{where}: a box has SSIM <= 0 without attack; no relative degradation")
    return curves.div(start, axis=0)


def _both_models(table: str, **match):
    """A claim's cases: the accelerations at which both the U-Net and VarNet were attacked."""

    def found(**inputs) -> list[dict]:
        rows = claims.cases(table, "model", "acceleration", **match)(**inputs)
        models = {}
        for row in rows:
            models.setdefault(row["acceleration"], set()).add(row["model"])
        return [{"acceleration": a} for a, names in models.items() if {"unet", "varnet"} <= names]

    return found


def _falls(table: pd.DataFrame, by: str, model: str, acceleration: int, **case):
    curves = _curves(table, by, "falls", model=model, acceleration=acceleration, **case)
    return claims.falls_along(curves.columns.to_numpy(float), curves.to_numpy())


SSIM_FALLS_WITH_ETA = Claim(
    "morshuis2022/fig1/ssim_falls_with_eta",
    "'the reconstruction quality ... declines significantly' under the noise attack: the "
    "box-targeted attack's region SSIM falls along eta (mean per-box slope below 0).",
    lambda table, model, acceleration: _falls(table, "eta", model, acceleration, mode="region"),
    cases=claims.cases("table", "model", "acceleration", mode="region"),
)

WORST_SSIM_FALLS_WITH_THETA_MAX = Claim(
    "morshuis2022/fig4/worst_ssim_falls_with_theta_max",
    "Small rotations 'can still manage to substantially degrade the output': the region SSIM "
    "at the worst angle falls along theta_max (mean per-box slope below 0).",
    lambda table, model, acceleration: _falls(table, "theta_max", model, acceleration),
    cases=claims.cases("table", "model", "acceleration"),
)


def _targeted_worse(table: pd.DataFrame, model: str, acceleration: int):
    where = "targeted_worse_than_image"
    case = {"model": model, "acceleration": acceleration}
    region = _curves(table, "eta", where, mode="region", **case)
    image = _curves(table, "eta", where, mode="image", **case).reindex_like(region)
    if image.isna().any().any():
        raise ValueError(f"{where}: {case} needs both attack modes on the same boxes and etas")
    etas = region.columns[region.columns > 0]
    return claims.beats_each({f"eta={eta:g}": (image[eta], region[eta]) for eta in etas})


TARGETED_WORSE_THAN_IMAGE = Claim(
    "morshuis2022/fig1/targeted_worse_than_image",
    "'when the attack is targeting those regions directly, the effect is much more severe': "
    "at every eta > 0 the box SSIM under the whole-image attack is above that under the "
    "box-targeted attack of the same budget (evidence: gap and its 95 % interval per eta).",
    _targeted_worse,
    cases=claims.cases("table", "model", "acceleration", mode="image"),
)


def _unet_and_varnet(table: pd.DataFrame, by: str, where: str, acceleration: int, **case):
    """The U-Net's and VarNet's box curves along `by`, on the same boxes."""
    unet = _curves(table, by, where, model="unet", acceleration=acceleration, **case)
    varnet = _curves(table, by, where, model="varnet", acceleration=acceleration, **case)
    varnet = varnet.reindex_like(unet)
    if varnet.isna().any().any():
        raise ValueError(f"{where}: both models must be scored on the same boxes")
    return unet, varnet


def _varnet_better(table: pd.DataFrame, by: str, acceleration: int, **case):
    where = f"varnet_better_than_unet along {by}"
    unet, varnet = _unet_and_varnet(table, by, where, acceleration, **case)
    return claims.beats_each({f"{by}={x:g}": (varnet[x], unet[x]) for x in unet.columns})


VARNET_BETTER_THAN_UNET = Claim(
    "morshuis2022/fig1/varnet_better_than_unet",
    "'Overall E2E-VN yields consistently better results compared to the simpler UNet-based "
    "reconstruction method': the box SSIM of VarNet is above the U-Net's at every eta "
    "(evidence: gap and its 95 % interval per eta).",
    lambda table, acceleration: _varnet_better(table, "eta", acceleration, mode="region"),
    cases=_both_models("table", mode="region"),
)

VARNET_BETTER_UNDER_ROTATION = Claim(
    "morshuis2022/fig4/varnet_better_than_unet",
    "'These findings also hold for the rotation attacks': the box SSIM of VarNet at the worst "
    "angle is above the U-Net's at every theta_max.",
    lambda table, acceleration: _varnet_better(table, "theta_max", acceleration),
    cases=_both_models("table"),
)


def _same_slope(table: pd.DataFrame, by: str, acceleration: int, **case):
    where = f"same_degradation_slope along {by}"
    unet, varnet = _unet_and_varnet(table, by, where, acceleration, **case)
    x = unet.columns.to_numpy(float)
    slope_unet = claims.slopes(x, _relative(unet, where).to_numpy())
    slope_varnet = claims.slopes(x, _relative(varnet, where).to_numpy())
    ratio = claims.ratio_interval(slope_varnet, slope_unet, where)
    outcome, evidence = claims.within(ratio, claims.SIMILAR_RATIO, name="slope_ratio")
    return outcome, {
        "slope_unet": float(slope_unet.mean()),
        "slope_varnet": float(slope_varnet.mean()),
        **evidence,
    }


SAME_DEGRADATION_SLOPE = Claim(
    "morshuis2022/fig1/same_degradation_slope",
    "'the slope of the degradation is similar for both techniques': the ratio of VarNet's to "
    "the U-Net's mean slope of the relative box SSIM SSIM(eta)/SSIM(0) along eta has its 95 % "
    "interval within the 80-125 % equivalence band.",
    lambda table, acceleration: _same_slope(table, "eta", acceleration, mode="region"),
    cases=_both_models("table", mode="region"),
)

SAME_ROTATION_SLOPE = Claim(
    "morshuis2022/fig4/same_degradation_slope",
    "'These findings also hold for the rotation attacks': the ratio of VarNet's to the U-Net's "
    "mean slope of the relative worst-angle SSIM along theta_max lies within 80-125 %.",
    lambda table, acceleration: _same_slope(table, "theta_max", acceleration),
    cases=_both_models("table"),
)


def _attacked_by_both(table: pd.DataFrame, noise: pd.DataFrame | None) -> list[dict]:
    """The (model, acceleration) cases of the rotation `table` that Fig. 1's `noise` table (if
    given) attacked in the box too."""
    if noise is None:
        return []
    attacked = claims.cases("noise", "model", "acceleration", mode="region")(noise=noise)
    return [
        case
        for case in claims.cases("table", "model", "acceleration")(table=table)
        if case in attacked
    ]


def _rotation_milder(table: pd.DataFrame, noise: pd.DataFrame, model: str, acceleration: int):
    where = "rotation_less_severe_than_noise"
    case = {"model": model, "acceleration": acceleration}
    rotated = _relative(_curves(table, "theta_max", where, **case), where)
    attacked = _relative(_curves(noise, "eta", where, mode="region", **case), where)
    outcome, numbers = claims.beats(
        rotated.iloc[:, -1],
        attacked.iloc[:, -1],
        names=("rotation", "noise"),
        paired=False,
    )
    return outcome, {
        "theta_max": float(rotated.columns[-1]),
        "eta": float(attacked.columns[-1]),
        "boxes_rotation": len(rotated),
        "boxes_noise": len(attacked),
        **numbers,
    }


ROTATION_LESS_SEVERE_THAN_NOISE = Claim(
    "morshuis2022/fig4/rotation_less_severe_than_noise",
    "'rotation attacks are less severe than attacks with adversarial noise' (Fig. 4a against "
    "Fig. 1a): the relative box SSIM at the largest theta_max is above that at the largest eta "
    "(boxes of the two runs compared unpaired).",
    _rotation_milder,
    cases=_attacked_by_both,
)


def _thermal_noise_in_range(noise: pd.DataFrame, eta_grid: Sequence[float]):
    level = claims.mean_interval(noise["measured"].to_numpy(float), "thermal noise")
    return claims.within(level, (0.0, max(eta_grid)), name="thermal_eta")


THERMAL_NOISE_IN_RANGE = Claim(
    "morshuis2022/fig1/thermal_noise_in_eta_range",
    "'the adversarial noise levels have a similar scale to thermal noise in our data': the "
    "noise level measured in the images' background (mean over slices, with its 95 % "
    "interval) lies within the explored range (0, max eta] of the attack budget.",
    _thermal_noise_in_range,
)


def _estimate_matches_generator(noise: pd.DataFrame):
    ratio = claims.ratio_interval(noise["measured"], noise["generated"], "measured / generated")
    outcome, evidence = claims.within(ratio, claims.SIMILAR_RATIO, name="measured_to_generated")
    generated = claims.mean_interval(noise["generated"].to_numpy(float), "generated noise")
    return outcome, {**evidence, **generated.evidence("generated_eta")}


NOISE_ESTIMATE_MATCHES_GENERATOR = Claim(
    "morshuis2022/fig1/noise_estimate_matches_generator",
    "Set-up (data with known noise): the background estimate of the thermal noise level "
    "matches the level of the noise the generator added (the ratio of their means, paired over "
    "slices, inside the 80-125 % equivalence band); evidence: the generated level.",
    _estimate_matches_generator,
    kind="sanity",
    cases=lambda noise: [{}] if noise["generated"].notna().all() else [],
)


def _region_ssim(scores: dict, figure: str, key: str) -> float:
    if key not in scores.get(figure, {}):
        raise ValueError(
            f"{figure}: the scores have no image {key!r}: {sorted(scores.get(figure, {}))}"
        )
    return scores[figure][key]["ssim_region"]


def _example(scores: dict) -> dict:
    """The case of the Fig. 2/3 example: its sample, η and acceleration."""
    return {key: scores[key] for key in ("sample", "eta", "acceleration")}


def _noise_hurts_only_the_reconstruction(scores: dict, model: str) -> tuple[bool, dict]:
    evidence = {
        "ssim_fully_sampled_plus_noise": _region_ssim(scores, "fig2", f"target+noise_{model}"),
        "ssim_attacked_reconstruction": _region_ssim(scores, "fig2", f"{model}_attacked"),
    }
    return evidence["ssim_fully_sampled_plus_noise"] > evidence[
        "ssim_attacked_reconstruction"
    ], evidence


NOISE_HURTS_ONLY_THE_RECONSTRUCTION = Claim(
    "morshuis2022/fig2/noise_hurts_only_the_reconstruction",
    "'changes are barely visible if the adversarial noise is added to the fully-sampled "
    "k-space': on the example, the noise changes the box less there than in the undersampled "
    "reconstruction (region SSIM).",
    _noise_hurts_only_the_reconstruction,
    cases=lambda scores, methods: [{**_example(scores), "model": m} for m in methods],
)


def _targeted_example_worse(scores: dict) -> tuple[bool, dict]:
    evidence = {
        "ssim_targeted": _region_ssim(scores, "fig3", "targeted"),
        "ssim_whole_image": _region_ssim(scores, "fig3", "image"),
    }
    return evidence["ssim_targeted"] < evidence["ssim_whole_image"], evidence


TARGETED_EXAMPLE_WORSE = Claim(
    "morshuis2022/fig3/targeted_worse_than_image",
    "'the effect is much smaller when the attack was performed on the complete image': on the "
    "example, the box-targeted attack lowers the region SSIM more than the whole-image attack "
    "of the same budget.",
    _targeted_example_worse,
    cases=lambda scores, fig3_method: [{**_example(scores), "model": fig3_method}],
)


FIG1 = (
    SSIM_FALLS_WITH_ETA,
    TARGETED_WORSE_THAN_IMAGE,
    VARNET_BETTER_THAN_UNET,
    SAME_DEGRADATION_SLOPE,
    THERMAL_NOISE_IN_RANGE,
    NOISE_ESTIMATE_MATCHES_GENERATOR,
)
FIG4 = (
    WORST_SSIM_FALLS_WITH_THETA_MAX,
    VARNET_BETTER_UNDER_ROTATION,
    SAME_ROTATION_SLOPE,
    ROTATION_LESS_SEVERE_THAN_NOISE,
)
FIG2_FIG3 = (NOISE_HURTS_ONLY_THE_RECONSTRUCTION, TARGETED_EXAMPLE_WORSE)


def fig2_fig3(
    scores: dict, *, methods: Sequence[str], fig3_method: str, scale: str, data: str
) -> list[Verdict]:
    """The verdicts of the Fig. 2/3 example (`scores.json`: region scores per image)."""
    return claims.check_all(
        FIG2_FIG3, scale, data, scores=scores, methods=methods, fig3_method=fig3_method
    )


def fig1(
    table: pd.DataFrame,
    *,
    noise: pd.DataFrame,
    eta_grid: Sequence[float],
    scale: str,
    data: str,
) -> list[Verdict]:
    """The Fig. 1 verdicts of a run from its per-box `noise_attack` table: the SSIM falls along
    η for every model and acceleration; the targeted attack is worse than the whole-image one
    wherever both ran; where both models ran, VarNet is better at every η and the two degrade
    with the same slope; the measured thermal noise (`noise`: `experiments.thermal_noise`) lies
    in the η range and, on generated data, matches the generated noise."""
    inputs = dict(table=table, noise=noise, eta_grid=list(eta_grid))
    return claims.check_all(FIG1, scale, data, **inputs)


def fig4(
    worst: pd.DataFrame, noise: pd.DataFrame | None, *, scale: str, data: str
) -> list[Verdict]:
    """The Fig. 4 verdicts of a run from its worst-angle table: the SSIM falls along θ_max for
    every model and acceleration; where both models ran, VarNet is better and the slopes
    match; and, given Fig. 1's `noise` table, rotation is milder than noise for every model and
    acceleration both runs attacked."""
    return claims.check_all(FIG4, scale, data, table=worst, noise=noise)
