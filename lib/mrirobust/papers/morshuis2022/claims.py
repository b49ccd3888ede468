"""The findings of Morshuis et al. 2022 that the runs check on their stored numbers: Fig. 1 and
Fig. 4 on their summaries (`tables.summarise` of the result tables: mean region SSIM per group),
Fig. 2/3 on the region scores of their example.

Each check takes the stored numbers and the case's keys and returns (holds, evidence); `fig1`,
`fig2_fig3` and `fig4` check every claim on every case of a run and return the verdicts to save.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from mrirobust.claims import Claim, Verdict


def _rows(summary: pd.DataFrame, where: str, **values) -> pd.DataFrame:
    """The rows of `summary` whose columns equal `values`; raises when there are none (the
    claim cannot be evaluated)."""
    rows = summary
    for column, value in values.items():
        if column not in rows.columns:
            raise ValueError(f"{where}: the summary has no column {column!r}")
        rows = rows[rows[column] == value]
    if rows.empty:
        raise ValueError(f"{where}: the summary has no rows with {values}")
    return rows


def _falls(summary: pd.DataFrame, by: str, where: str, **case) -> tuple[bool, dict]:
    """Whether the mean falls from the smallest to the largest value of `by`."""
    curve = _rows(summary, where, **case).sort_values(by)
    first, last = curve.iloc[0], curve.iloc[-1]
    evidence = {
        f"{by}_first": first[by],
        "ssim_first": first["mean"],
        f"{by}_last": last[by],
        "ssim_last": last["mean"],
    }
    return bool(last["mean"] < first["mean"]), evidence


SSIM_FALLS_WITH_ETA = Claim(
    "morshuis2022/fig1/ssim_falls_with_eta",
    "The box-targeted k-space attack lowers the mean region SSIM from eta = 0 to the largest eta.",
    lambda summary, model, acceleration: _falls(
        summary,
        "eta",
        "ssim_falls_with_eta",
        mode="region",
        model=model,
        acceleration=acceleration,
    ),
)


def _bands_separate(summary, model, acceleration) -> tuple[bool, dict]:
    curve = _rows(
        summary, "bands_separate", mode="region", model=model, acceleration=acceleration
    ).sort_values("eta")
    for column in ("ci_low", "ci_high", "count"):
        if column not in curve.columns:
            raise ValueError(f"bands_separate: the summary has no column {column!r}")
    clean, strongest = curve.iloc[0], curve.iloc[-1]
    evidence = {
        "boxes": int(clean["count"]),
        "eta_last": strongest["eta"],
        "clean_ci_low": clean["ci_low"],
        "attacked_ci_high": strongest["ci_high"],
    }
    return bool(strongest["ci_high"] < clean["ci_low"]), evidence


BANDS_SEPARATE = Claim(
    "morshuis2022/fig1/bands_separate",
    "The 95 % band of the region SSIM at the largest eta lies below the clean band (the boxes "
    "are enough to tell the attack from no attack).",
    _bands_separate,
)


def _targeted_worse(summary, model, acceleration) -> tuple[bool, dict]:
    rows = _rows(summary, "targeted_worse_than_image", model=model, acceleration=acceleration)
    wide = rows[rows["eta"] > 0].pivot(index="eta", columns="mode", values="mean")
    if not {"region", "image"} <= set(wide.columns) or wide.isna().any().any():
        raise ValueError(
            f"targeted_worse_than_image: {model} at {acceleration}x needs both attack modes at "
            f"every eta > 0, the summary has {sorted(wide.columns)}"
        )
    evidence = {
        "eta": wide.index.tolist(),
        "ssim_region_attack": wide["region"].tolist(),
        "ssim_image_attack": wide["image"].tolist(),
    }
    return bool((wide["region"] < wide["image"]).all()), evidence


TARGETED_WORSE_THAN_IMAGE = Claim(
    "morshuis2022/fig1/targeted_worse_than_image",
    "At every eta > 0 the box-targeted attack lowers the region SSIM more than the "
    "whole-image attack of the same budget.",
    _targeted_worse,
)


def _varnet_clean_ge_unet(summary, acceleration) -> tuple[bool, dict]:
    clean = _rows(
        summary, "varnet_clean_ge_unet", mode="region", eta=0.0, acceleration=acceleration
    )
    means = clean.set_index("model")["mean"]
    if not {"unet", "varnet"} <= set(means.index):
        raise ValueError(f"varnet_clean_ge_unet: needs unet and varnet, got {list(means.index)}")
    evidence = {"ssim_varnet": means["varnet"], "ssim_unet": means["unet"]}
    return bool(means["varnet"] >= means["unet"]), evidence


VARNET_CLEAN_GE_UNET = Claim(
    "morshuis2022/fig1/varnet_clean_ge_unet",
    "Without attack, E2E-VarNet reconstructs the boxes at least as well as the U-Net "
    "(mean region SSIM).",
    _varnet_clean_ge_unet,
)

WORST_SSIM_FALLS_WITH_THETA_MAX = Claim(
    "morshuis2022/fig4/worst_ssim_falls_with_theta_max",
    "The region SSIM at the worst rotation falls from theta_max = 0 to the largest theta_max.",
    lambda summary, model, acceleration: _falls(
        summary,
        "theta_max",
        "worst_ssim_falls_with_theta_max",
        model=model,
        acceleration=acceleration,
    ),
)


def _region_ssim(scores: dict, figure: str, key: str) -> float:
    if key not in scores.get(figure, {}):
        raise ValueError(
            f"{figure}: the scores have no image {key!r}: {sorted(scores.get(figure, {}))}"
        )
    return scores[figure][key]["ssim_region"]


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
    "Added to the fully sampled k-space, the adversarial noise changes the box less than it "
    "changes the undersampled reconstruction (region SSIM).",
    _noise_hurts_only_the_reconstruction,
)


def _targeted_example_worse(scores: dict) -> tuple[bool, dict]:
    evidence = {
        "ssim_targeted": _region_ssim(scores, "fig3", "targeted"),
        "ssim_whole_image": _region_ssim(scores, "fig3", "image"),
    }
    return evidence["ssim_targeted"] < evidence["ssim_whole_image"], evidence


TARGETED_EXAMPLE_WORSE = Claim(
    "morshuis2022/fig3/targeted_worse_than_image",
    "On the example, the box-targeted attack lowers the region SSIM more than the whole-image "
    "attack of the same budget.",
    _targeted_example_worse,
)


def fig2_fig3(
    scores: dict, *, methods: Sequence[str], fig3_method: str, scale: str, data: str
) -> list[Verdict]:
    """The verdicts of the Fig. 2/3 example (`scores.json`: region scores per image)."""
    case = {
        "sample": scores["sample"],
        "eta": scores["eta"],
        "acceleration": scores["acceleration"],
    }
    return [
        NOISE_HURTS_ONLY_THE_RECONSTRUCTION.verdict(
            {**case, "model": model}, scale, data, scores=scores, model=model
        )
        for model in methods
    ] + [TARGETED_EXAMPLE_WORSE.verdict({**case, "model": fig3_method}, scale, data, scores=scores)]


def fig1(
    summary: pd.DataFrame,
    *,
    methods: Sequence[str],
    accelerations: Sequence[int],
    compare_accelerations: Sequence[int],
    scale: str,
    data: str,
) -> list[Verdict]:
    """The Fig. 1 verdicts of a run: the SSIM falls with η for every model and acceleration
    (and its 95 % band at the largest η lies below the clean one), the targeted attack beats
    the whole-image one at `compare_accelerations`, and (when both were attacked) VarNet's
    clean region SSIM is at least the U-Net's."""
    verdicts = []
    for model in methods:
        for acc in accelerations:
            case = {"model": model, "acceleration": acc}
            verdicts.append(SSIM_FALLS_WITH_ETA.verdict(case, scale, data, summary=summary, **case))
    for model in methods:
        for acc in accelerations:
            case = {"model": model, "acceleration": acc}
            verdicts.append(BANDS_SEPARATE.verdict(case, scale, data, summary=summary, **case))
    for model in methods:
        for acc in compare_accelerations:
            case = {"model": model, "acceleration": acc}
            verdicts.append(
                TARGETED_WORSE_THAN_IMAGE.verdict(case, scale, data, summary=summary, **case)
            )
    if {"unet", "varnet"} <= set(methods):
        for acc in accelerations:
            case = {"acceleration": acc}
            verdicts.append(
                VARNET_CLEAN_GE_UNET.verdict(case, scale, data, summary=summary, **case)
            )
    return verdicts


def fig4(summary: pd.DataFrame, *, scale: str, data: str) -> list[Verdict]:
    """The Fig. 4 verdicts of a run: the worst-angle SSIM falls with θ_max for every model and
    acceleration of the summary."""
    cases = (
        summary[["model", "acceleration"]].drop_duplicates().sort_values(["model", "acceleration"])
    )
    return [
        WORST_SSIM_FALLS_WITH_THETA_MAX.verdict(case, scale, data, summary=summary, **case)
        for case in cases.to_dict("records")
    ]
