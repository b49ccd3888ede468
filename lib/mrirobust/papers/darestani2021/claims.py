"""Darestani et al. 2021's claims as data, checked on stored tables:

- the in-distribution quality ranking (Fig. 2), which the shared train_models run checks on its
  validation quality table: VarNet >= U-Net > l1-wavelet > zero-filled, and the un-trained
  ConvDecoder > zero-filled (mean SSIM);
- the dataset shift (Fig. 2; spec ids D1, D5, D6) on the `shift_scores` table and the anatomy
  shift (Fig. 4, 13; N1, N2, N7) on the `anatomy_scores` table;
- adversarial perturbations (Fig. 3, 10; spec ids A1-A6, A8, A9) on the `attack_sweep` tables;
- small features (Fig. 7, 8, 17; spec ids S1-S3, S5-S8, S10) on the `heat_maps` statistics
  and the `real_features` table.

Each `*_verdicts` function checks every claim whose methods are in its table and returns the
verdicts. Thresholds are arguments, stored with the evidence.
"""

from __future__ import annotations

import pandas as pd
from scipy import stats

from mrirobust.claims import Claim, Verdict
from mrirobust.papers.darestani2021 import groups


def _ranks_above(first: str, second: str, strict: bool):
    """check(quality): whether `first`'s mean SSIM is above (or, not `strict`, at least)
    `second`'s in the quality table (index: method, column `ssim_mean`)."""

    def check(quality: pd.DataFrame) -> tuple[bool, dict]:
        missing = {first, second} - set(quality.index)
        if missing or "ssim_mean" not in quality.columns:
            raise ValueError(
                f"ranking {first} vs {second}: the quality table needs rows {sorted(missing)} "
                f"and column 'ssim_mean'; it has rows {list(quality.index)}"
            )
        a, b = quality.loc[first, "ssim_mean"], quality.loc[second, "ssim_mean"]
        holds = a > b if strict else a >= b
        return bool(holds), {f"ssim_{first}": a, f"ssim_{second}": b}

    return check


_ORDER = [  # (first, second, strict, what is compared)
    ("varnet", "unet", False, "E2E-VarNet reconstructs at least as well as the U-Net"),
    ("unet", "l1", True, "The U-Net reconstructs better than l1-wavelet CS"),
    ("l1", "zero_filled", True, "l1-wavelet CS reconstructs better than zero-filling"),
    ("convdecoder", "zero_filled", True, "The un-trained ConvDecoder beats zero-filling"),
]
RANKING = [
    Claim(
        f"darestani2021/fig2/{first}_{'gt' if strict else 'ge'}_{second}",
        f"{statement} (mean validation SSIM).",
        _ranks_above(first, second, strict),
    )
    for first, second, strict, statement in _ORDER
]


def ranking(quality: pd.DataFrame, *, acceleration: int, scale: str, data: str) -> list[Verdict]:
    """The ranking verdicts on the quality table of one acceleration."""
    case = {"acceleration": acceleration}
    return [claim.verdict(case, scale, data, quality=quality) for claim in RANKING]


TRAINED = ("unet", "varnet")
UNTRAINED = ("l1", "convdecoder")


def _drop(sweep: pd.DataFrame, attacked: str, method: str, eps: float | None = None) -> float:
    """Mean SSIM drop of `method` under the attack on `attacked` at `eps` (default: largest)."""
    rows = sweep[(sweep["attacked"] == attacked) & (sweep["method"] == method)]
    if rows.empty:
        raise ValueError(f"no sweep rows for attack on {attacked!r} evaluated on {method!r}")
    eps = rows["eps"].max() if eps is None else eps
    return float(rows.loc[(rows["eps"] - eps).abs() < 1e-9, "ssim_drop"].mean())


def _own_vulnerable(sweep, method, min_drop):
    drop = _drop(sweep, method, method)
    return drop > min_drop, {"ssim_drop": drop, "min_drop": min_drop, "eps": sweep["eps"].max()}


def _grows_with_eps(sweep, method):
    own = sweep[(sweep["attacked"] == method) & (sweep["method"] == method)]
    curve = own.groupby("eps")["ssim"].mean()
    if len(curve) < 3:
        raise ValueError(f"the eps grid of {method!r} has {len(curve)} points; need >= 3")
    rho = float(stats.spearmanr(curve.index, curve.values).statistic)
    return rho < 0, {"spearman_rho": rho, "eps": list(curve.index), "ssim": list(curve.values)}


def _hurts_target_more(sweep, attacked, other):
    own, cross = _drop(sweep, attacked, attacked), _drop(sweep, attacked, other)
    return own > cross, {f"drop_{attacked}": own, f"drop_{other}": cross}


def _worst_for_target(sweep, attacked):
    at = sweep[sweep["attacked"] == attacked]
    drops = {m: _drop(sweep, attacked, m) for m in sorted(set(at["method"]))}
    worst = max(drops, key=drops.get)
    return worst == attacked, {"worst": worst, **{f"drop_{m}": d for m, d in drops.items()}}


def _not_uniquely_trained(sweep, factor):
    untrained = max(_drop(sweep, m, m) for m in UNTRAINED)
    trained = min(_drop(sweep, m, m) for m in TRAINED)
    return untrained >= factor * trained, {
        "max_untrained_drop": untrained,
        "min_trained_drop": trained,
        "factor": factor,
    }


def _budget_used(sweep, attacked, tolerance):
    rows = sweep[(sweep["attacked"] == attacked) & (sweep["eps"] > 0)]
    ratio = rows["budget"] / rows["eps"]
    return bool(((ratio >= 1 - tolerance) & (ratio <= 1 + 1e-4)).all()), {
        "min_budget_over_eps": float(ratio.min()),
        "max_budget_over_eps": float(ratio.max()),
    }


VULNERABLE = Claim(
    "darestani2021/fig3/vulnerable_to_own_attack",
    "every method loses SSIM under its own attack at the largest eps",
    _own_vulnerable,
)
EVERY_BASIS = Claim(
    "darestani2021/fig10/every_basis_attackable",
    "l1 loses SSIM under its two-step attack whatever the sparsifying basis",
    _own_vulnerable,
)
GROWS = Claim(
    "darestani2021/fig3/damage_grows_with_eps",
    "the damage of a method's own attack grows with eps (SSIM falls)",
    _grows_with_eps,
)
L1_ATTACK = Claim(
    "darestani2021/fig3/l1_attack_hurts_l1_more",
    "the attack on l1 hurts l1 more than it hurts U-Net",
    _hurts_target_more,
)
UNET_ATTACK = Claim(
    "darestani2021/fig3/unet_attack_hurts_unet_more",
    "the attack on U-Net hurts U-Net more than it hurts l1",
    _hurts_target_more,
)
TAILORED = Claim(
    "darestani2021/fig3/tailored_attack_worst_for_target",
    "each attack hurts the method it was computed for most",
    _worst_for_target,
)
NOT_UNIQUE = Claim(
    "darestani2021/fig3/trained_not_uniquely_vulnerable",
    "trained nets are not uniquely vulnerable: un-trained methods lose comparable SSIM",
    _not_uniquely_trained,
)
BUDGET = Claim(
    "darestani2021/fig3/budgets_used",
    "the perturbations use their budget ||z|| = eps ||y||",
    _budget_used,
    kind="sanity",
)


def attack_verdicts(
    sweep: pd.DataFrame,
    scale: str,
    data: str,
    *,
    min_drop: float = 0.02,
    factor: float = 0.5,
    tolerance: float = 0.01,
) -> list[Verdict]:
    """Verdicts of the Fig. 3 claims whose methods were attacked in `sweep`."""
    if sweep.empty:
        raise ValueError("the sweep table is empty: nothing to check")
    attacked = sorted(set(sweep["attacked"]))
    out = []
    for m in attacked:
        case = {"method": m}
        out.append(VULNERABLE.verdict(case, scale, data, sweep=sweep, method=m, min_drop=min_drop))
        if sweep.loc[sweep["attacked"] == m, "eps"].nunique() >= 3:
            out.append(GROWS.verdict(case, scale, data, sweep=sweep, method=m))
        out.append(TAILORED.verdict(case, scale, data, sweep=sweep, attacked=m))
        out.append(BUDGET.verdict(case, scale, data, sweep=sweep, attacked=m, tolerance=tolerance))
    if {"l1", "unet"} <= set(attacked):
        args = {"scale": scale, "data": data, "sweep": sweep}
        out.append(L1_ATTACK.verdict({}, **args, attacked="l1", other="unet"))
        out.append(UNET_ATTACK.verdict({}, **args, attacked="unet", other="l1"))
    if set(TRAINED + UNTRAINED) <= set(attacked):
        out.append(NOT_UNIQUE.verdict({}, scale, data, sweep=sweep, factor=factor))
    return out


def basis_verdicts(
    sweep: pd.DataFrame, scale: str, data: str, *, min_drop: float = 0.02
) -> list[Verdict]:
    """Fig. 10: one verdict per basis attacked in `sweep` (methods named "l1_<basis>")."""
    if sweep.empty:
        raise ValueError("the sweep table is empty: nothing to check")
    return [
        EVERY_BASIS.verdict({"basis": m}, scale, data, sweep=sweep, method=m, min_drop=min_drop)
        for m in sorted(set(sweep["attacked"]))
    ]


def _location_dependent(heat, method, min_cv):
    row = heat.loc[heat["method"] == method].iloc[0]
    return row["cv"] > min_cv, {"cv": row["cv"], "min_cv": min_cv}


def _worse_in_dark(heat, method):
    rho = float(heat.loc[heat["method"] == method, "rho_intensity"].iloc[0])
    return rho < 0, {"spearman_rho_error_vs_intensity": rho}


def _not_due_to_learning(heat, min_cv):
    cv = dict(zip(heat["method"], heat["cv"], strict=True))
    trained = [m for m in TRAINED if m in cv and cv[m] > min_cv]
    untrained = [m for m in UNTRAINED if m in cv and cv[m] > min_cv]
    return bool(trained and untrained), {"location_dependent": trained + untrained, **cv}


LOCATION = Claim(
    "darestani2021/fig7/location_dependent",
    "the small-feature error depends on the location (coefficient of variation of the map)",
    _location_dependent,
)
DARK = Claim(
    "darestani2021/fig7/worse_in_dark_regions",
    "l1 and VarNet recover small features worse in dark regions",
    _worse_in_dark,
)
NOT_LEARNING = Claim(
    "darestani2021/fig7/not_due_to_learning",
    "the location dependence is not due to learning: trained and un-trained methods show it",
    _not_due_to_learning,
)


def _lattice_valid(agreement, method, min_r):
    r = float(agreement.loc[agreement["method"] == method, "pearson_r"].iloc[0])
    return r >= min_r, {"pearson_r": r, "min_r": min_r}


LATTICE = Claim(
    "darestani2021/fig7/lattice_matches_single_windows",
    "a map from lattices of windows matches the one-window-per-reconstruction map",
    _lattice_valid,
    kind="sanity",
)


def feature_verdicts(
    heat: pd.DataFrame,
    scale: str,
    data: str,
    *,
    agreement: pd.DataFrame | None = None,
    min_cv: float = 0.25,
    min_r: float = 0.8,
) -> list[Verdict]:
    """Verdicts of the Fig. 7 claims on the `heat_maps` statistics (and, given the
    `lattice_agreement` table, the lattice check of every method in it)."""
    if heat.empty:
        raise ValueError("the heat-map statistics are empty: nothing to check")
    methods = list(heat["method"])
    out = [
        LOCATION.verdict({"method": m}, scale, data, heat=heat, method=m, min_cv=min_cv)
        for m in methods
    ]
    out += [
        DARK.verdict({"method": m}, scale, data, heat=heat, method=m)
        for m in ("l1", "varnet")
        if m in methods
    ]
    if any(m in methods for m in TRAINED) and any(m in methods for m in UNTRAINED):
        out.append(NOT_LEARNING.verdict({}, scale, data, heat=heat, min_cv=min_cv))
    if agreement is not None:
        out += [
            LATTICE.verdict({"method": m}, scale, data, agreement=agreement, method=m, min_r=min_r)
            for m in agreement["method"]
        ]
    return out


def _best_every_size(stats, method):
    sizes = sorted(set(stats["size"]))
    best = {
        int(k): stats.loc[stats["size"] == k].set_index("method")["mean"].idxmin() for k in sizes
    }
    return all(b == method for b in best.values()), {"best_per_size": best}


BEST_EVERY_SIZE = Claim(
    "darestani2021/fig17/convdecoder_best_every_size",
    "ConvDecoder recovers artificial features best at every window size",
    _best_every_size,
)


def size_verdicts(stats: pd.DataFrame, scale: str, data: str) -> list[Verdict]:
    """The Fig. 17 claim on the `heat_maps` statistics of several window sizes (concatenated)."""
    if stats.empty or "convdecoder" not in set(stats["method"]):
        raise ValueError("Fig. 17's claim needs ConvDecoder's heat-map statistics")
    return [BEST_EVERY_SIZE.verdict({}, scale, data, stats=stats, method="convdecoder")]


def _means(table):
    return table.groupby("method")[["ssim", "feature_mse"]].mean()


def _ranking_agrees(table):
    means = _means(table)
    rho = float(stats.spearmanr(means["ssim"], means["feature_mse"]).statistic)
    return rho == -1.0, {"spearman_rho": rho, **_evidence(means)}


def _linear(table, max_r):
    means = _means(table)
    r = float(stats.pearsonr(means["ssim"], means["feature_mse"]).statistic)
    return r <= max_r, {"pearson_r": r, "max_r": max_r}


def _best_on_both(table):
    means = _means(table)
    best_ssim, best_feature = means["ssim"].idxmax(), means["feature_mse"].idxmin()
    return best_ssim == best_feature, {"best_ssim": best_ssim, "best_feature": best_feature}


def _evidence(means):
    return {f"{k}_{m}": float(v) for m, row in means.iterrows() for k, v in row.items()}


FEATURE_RANKING = Claim(
    "darestani2021/fig8/feature_ranking_equals_quality_ranking",
    "the ranking by small-feature error is the ranking by overall quality (SSIM)",
    _ranking_agrees,
)
LINEAR = Claim(
    "darestani2021/fig8/quality_linear_in_feature_error",
    "overall quality is linearly related to the recovery of fine details",
    _linear,
)
BEST_BOTH = Claim(
    "darestani2021/fig8/best_method_best_on_both",
    "the method with the best SSIM also recovers the features best",
    _best_on_both,
)


def real_feature_verdicts(
    table: pd.DataFrame, scale: str, data: str, *, max_r: float = -0.9
) -> list[Verdict]:
    """The Fig. 8 claims on the `real_features` table (at least 3 methods)."""
    if table["method"].nunique() < 3:
        raise ValueError(
            f"Fig. 8's claims compare methods: need >= 3, got {sorted(set(table['method']))}"
        )
    return [
        FEATURE_RANKING.verdict({}, scale, data, table=table),
        LINEAR.verdict({}, scale, data, table=table, max_r=max_r),
        BEST_BOTH.verdict({}, scale, data, table=table),
    ]


def _set_means(table, inside, outside):
    means = table.groupby(["method", "set"])["ssim"].mean().unstack("set")
    missing = {inside, outside} - set(means.columns)
    if missing:
        raise ValueError(f"the shift table lacks the sets {sorted(missing)}")
    return means[inside], means[outside]


def _every_model_drops(table, inside, outside, methods):
    x, y = _set_means(table, inside, outside)
    drops = {m: float(x[m] - y[m]) for m in methods if m in x.index and not pd.isna(x[m])}
    return all(d > 0 for d in drops.values()), {f"drop_{m}": d for m, d in drops.items()}


def _best_stays_best(table, inside, outside, methods):
    x, y = _set_means(table, inside, outside)
    x, y = x[[m for m in methods if m in x.index]], y[[m for m in methods if m in y.index]]
    return x.idxmax() == y.idxmax(), {"best_in": x.idxmax(), "best_out": y.idxmax()}


def _fix_helps(table, outside, method):
    means = table[table["set"] == outside].groupby("method")["ssim"].mean()
    naive, fixed = float(means[method]), float(means[f"{method}_fixed"])
    return naive < fixed, {"ssim_naive": naive, "ssim_fixed": fixed}


EVERY_MODEL_DROPS = Claim(
    "darestani2021/fig2/every_model_drops",
    "every reconstruction method performs worse on the shifted data set",
    _every_model_drops,
)
BEST_STAYS_BEST = Claim(
    "darestani2021/fig2/best_in_distribution_best_out",
    "the best method in distribution is also the best out of distribution",
    _best_stays_best,
)
FIX_HELPS = Claim(
    "darestani2021/fig2/resolution_fix_helps",
    "VarNet is sensitive to the k-space resolution: it does better with the resolution fix",
    _fix_helps,
)


def _beat_zero_filled(table, inside):
    means = table[table["set"] == inside].groupby("method")["ssim"].mean()
    if "zero_filled" not in means.index:
        raise ValueError(f"the shift table has no zero_filled rows on {inside!r}")
    models = [m for m in means.index if m != "zero_filled" and not m.endswith("_fixed")]
    losers = [m for m in models if means[m] <= means["zero_filled"]]
    return not losers, {
        "ssim_zero_filled": float(means["zero_filled"]),
        "not_above": losers,
        **{f"ssim_{m}": float(means[m]) for m in models},
    }


BEATS_ZERO_FILLED = Claim(
    "darestani2021/fig2/every_model_beats_zero_filled",
    "every model of every family reconstructs the clean in-distribution set better than "
    "zero-filling (mean SSIM)",
    _beat_zero_filled,
    kind="sanity",
)


def _same_gap(points, tolerance):
    gaps = points[points["family"].isin(groups.FAMILIES)].groupby("family")["gap"].mean()
    if len(gaps) < 2:
        raise ValueError(f"the gap comparison needs >= 2 families, got {list(gaps.index)}")
    spread = float(gaps.max() - gaps.min())
    return spread <= tolerance, {
        "spread": spread,
        "tolerance": tolerance,
        **{f"gap_{f}": float(g) for f, g in gaps.items()},
    }


def gap_claim(figure: str) -> Claim:
    """The paper's reading of a shift plot (`figure`: fig2, fig4, fig6): the mean in- minus
    out-of-distribution SSIM gap of each family lies within `tolerance` of the others'."""
    return Claim(
        f"darestani2021/{figure}/same_gap_every_family",
        "the drop from in- to out-of-distribution SSIM is about the same for every family "
        "(the spread of the families' mean gaps is at most the tolerance)",
        _same_gap,
    )


def gap_verdicts(
    points: pd.DataFrame, figure: str, scale: str, data: str, *, case: dict, tolerance: float = 0.05
) -> list[Verdict]:
    """The same-gap verdict on `groups.in_vs_out` points (columns model, family, x, y, gap)."""
    return [gap_claim(figure).verdict(case, scale, data, points=points, tolerance=tolerance)]


def _of_figure(claim: Claim, figure: str) -> Claim:
    """A Fig. 2 shift claim as the claim of another shift figure (Fig. 6: fastMRI-A)."""
    return Claim(
        claim.id.replace("/fig2/", f"/{figure}/"), claim.statement, claim.check, kind=claim.kind
    )


def shift_verdicts(
    table: pd.DataFrame,
    scale: str,
    data: str,
    *,
    inside: str,
    outside: str,
    figure: str = "fig2",
    tolerance: float = 0.05,
) -> list[Verdict]:
    """The Fig. 2 claims on a `shift_scores` table (methods without the `_fixed` rows; the
    resolution-fix claim for each method that has them; zero-filling beaten on `inside`), and
    the same-gap reading of the shift plot `figure` over the model groups (given >= 2 of
    `groups.FAMILIES`)."""
    if table.empty:
        raise ValueError("the shift table is empty: nothing to check")
    methods = sorted(m for m in set(table["method"]) if not m.endswith("_fixed"))
    args = {"table": table, "inside": inside, "outside": outside, "methods": methods}
    case = {"inside": inside, "outside": outside}
    points = groups.in_vs_out(table, inside, outside)
    out = [
        _of_figure(EVERY_MODEL_DROPS, figure).verdict(case, scale, data, **args),
        _of_figure(BEST_STAYS_BEST, figure).verdict(case, scale, data, **args),
    ]
    if points["family"].isin(groups.FAMILIES).groupby(points["family"]).any().sum() >= 2:
        out += gap_verdicts(points, figure, scale, data, case=case, tolerance=tolerance)
    if figure == "fig2" and "zero_filled" in methods:
        out.append(BEATS_ZERO_FILLED.verdict(case, scale, data, table=table, inside=inside))
    for name in sorted(m[: -len("_fixed")] for m in set(table["method"]) if m.endswith("_fixed")):
        out.append(
            FIX_HELPS.verdict(
                {**case, "method": name}, scale, data, table=table, outside=outside, method=name
            )
        )
    return out


def _anatomy_means(table):
    return table.groupby(["trained", "method", "set"])["ssim"].mean()


def _own_anatomy_better(table, method, test):
    means = _anatomy_means(table)
    other = next(a for a in sorted(set(table["trained"])) if a != test)
    own, foreign = float(means[(test, method, test)]), float(means[(other, method, test)])
    return own > foreign, {f"trained_{test}": own, f"trained_{other}": foreign}


def _brain_easier(table, method, trained):
    means = _anatomy_means(table)
    brain, knee = float(means[(trained, method, "brain")]), float(means[(trained, method, "knee")])
    return brain > knee, {"ssim_brain": brain, "ssim_knee": knee}


OWN_ANATOMY = Claim(
    "darestani2021/fig4/own_anatomy_better",
    "a method trained or tuned on the tested anatomy beats the one trained on the other anatomy",
    _own_anatomy_better,
)
BRAIN_EASIER = Claim(
    "darestani2021/fig13/brain_easier",
    "brain images are easier to reconstruct than knee images (higher SSIM)",
    _brain_easier,
)


def anatomy_verdicts(table: pd.DataFrame, scale: str, data: str) -> list[Verdict]:
    """The Fig. 4 / 13 claims on an `anatomy_scores` table (sets and training anatomies knee and
    brain); the own-anatomy claim for the methods trained on both."""
    if set(table["set"]) != {"knee", "brain"} or set(table["trained"]) != {"knee", "brain"}:
        raise ValueError(
            f"the anatomy table needs sets and training anatomies knee and brain, got sets "
            f"{sorted(set(table['set']))} and trained {sorted(set(table['trained']))}"
        )
    both = sorted(
        set(table.loc[table["trained"] == "knee", "method"])
        & set(table.loc[table["trained"] == "brain", "method"])
    )
    out = [
        OWN_ANATOMY.verdict({"method": m, "test": t}, scale, data, table=table, method=m, test=t)
        for m in both
        for t in ("brain", "knee")
    ]
    for trained in ("knee", "brain"):
        for m in sorted(set(table.loc[table["trained"] == trained, "method"])):
            case = {"method": m, "trained": trained}
            out.append(
                BRAIN_EASIER.verdict(case, scale, data, table=table, method=m, trained=trained)
            )
    return out


def _hard_less_low_frequency(hardness):
    groups_ = hardness.groupby("hard")["low_frequency_proportion"].mean()
    if set(groups_.index) != {True, False}:
        raise ValueError("the hardness table needs hard and other candidates (column 'hard')")
    hard, rest = float(groups_[True]), float(groups_[False])
    return hard < rest, {"low_frequency_hard": hard, "low_frequency_rest": rest}


HARD_LOW_FREQUENCY = Claim(
    "darestani2021/fig14/hard_images_less_low_frequency",
    "the hard (fastMRI-A) images hold a smaller share of their k-space energy in the fully "
    "sampled centre than the other candidates (mean low-frequency proportion)",
    _hard_less_low_frequency,
)


def hard_set_verdicts(hardness: pd.DataFrame, scale: str, data: str) -> list[Verdict]:
    """The Fig. 14 claim on the `hardness` table (columns hard, low_frequency_proportion)."""
    return [HARD_LOW_FREQUENCY.verdict({}, scale, data, hardness=hardness)]
