"""Huang & Liang's findings as claims, checked on the stored per-slice tables the way the paper
states them. Every comparison is over the scored validation slices (paired where both sides
were scored on the same slices) with the 95 % bootstrap interval of `mrirobust.claims`; sub-cases
(metric rule, model) go in each verdict's `case`.

The paper's statements (`paper`):
- Table 1 ("Performance Summary", Sec. 4): validation SSIM and PSNR fall S > A(1e3) > A(5e3);
  A(1e3)'s NMSE is below S's on both splits; every model scores higher on train than on
  validation; and "These results show our training could give reasonable reconstruction quality
  from subsampled data". The paper gives no number for "reasonable" (its clean costs
  SSIM_S − SSIM_A are 0.022 and 0.027), so no margin on the cost: the sentence is read with the
  introduction's "[zero-filling] cannot achieve high quality reconstruction from the subsampled
  data" as every model beating zero-filled in Table 1's three metrics.
- Fig. 4 (Sec. 3.2): "the generator loss (red) starts large", "the reconstructor loss
  decreases": one training log, compared exactly on it.
- Fig. 6 (Sec. 4): under the perturbation of A's co-trained generator, A reconstructs better
  than S, "the baseline model even enhanced the added perturbation" and after adversarial
  training "there are no visible noises"; per attacked slice, not on one example.

Beyond the paper (`beyond`): the fair versions of the headline "successfully minimized the
effect of perturbations" (`robust/*`: a fresh attacker per model), and Algorithm 2, which the
paper proposes as future work and never runs ("time limit constrained our further
investigation", Sec. 5): `alg2/*`. Set-up checks (`sanity`): the mask, the budget use.

The cross-paper attacks have no expected direction: they are measurements
(`experiments.cross_summary`), not claims.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from mrirobust import claims
from mrirobust.claims import Claim
from mrirobust.scales import resolve

BUDGET_BAND = (0.5, 2.0)  # sanity: last-epoch mean ‖δ_b‖²/ε within this band (hinge active)
FIG4_ITERATIONS = 10  # Fig. 4's claims compare tenths of the log
METRICS = ("ssim", "psnr", "nmse")  # Table 1's, higher is better but for NMSE


def _table1_scores(slices, models, metric, rule, split="val") -> dict[str, np.ndarray]:
    where = f"table 1 {split} {metric} ({rule} rule)"
    scores = [
        claims.per_unit(slices, metric, where, model=m, rule=rule, split=split) for m in models
    ]
    return dict(zip(models, claims.paired(where, *scores), strict=True))


def _same_outputs(scores: dict[str, np.ndarray]) -> list[str]:
    """Models whose scores equal another's on every slice: distinct models that reconstruct
    alike (at the shape scale one training step leaves A(ε1) and A(ε2) the same), which no
    comparison can tell apart."""
    names = list(scores)
    return [
        a
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if np.array_equal(scores[a], scores[b])
    ]


def _val_ssim_beats(slices, rule, models):
    scores = _table1_scores(slices, models, "ssim", rule)
    if same := _same_outputs(scores):
        return "inconclusive", {"identical_outputs": same}
    return claims.beats(*scores.values(), names=models)


def _val_psnr_order(slices, rule, models):
    scores = _table1_scores(slices, models, "psnr", rule)
    if same := _same_outputs(scores):
        return "inconclusive", {"identical_outputs": same}
    return claims.ranks(scores, models)


def _reasonable_quality(slices, rule, model):
    outcomes, evidence = [], {}
    for metric in METRICS:
        scores = _table1_scores(slices, (model, "zero-filled"), metric, rule)
        outcome, numbers = claims.beats(
            *scores.values(), names=(model, "zero-filled"), higher_is_better=metric != "nmse"
        )
        outcomes.append(outcome)
        evidence[f"{metric}_gap"] = [numbers["gap"], *numbers["gap_ci95"]]
        evidence[f"{metric}_{model}"] = numbers[f"mean_{model}"]
        evidence[f"{metric}_zero-filled"] = numbers["mean_zero-filled"]
    evidence["n"] = numbers["n"]
    return claims.all_of(outcomes), evidence


def _train_gt_val(slices, rule, model):
    train, val = (
        claims.per_unit(
            slices, "ssim", f"table 1 {split} SSIM", model=model, rule=rule, split=split
        )
        for split in ("train", "val")
    )
    return claims.beats(train, val, names=("train", "val"), paired=False)


def _nmse_lower(slices, rule, model):
    models, outcomes, evidence = (model, "S"), [], {}
    for split in ("train", "val"):
        scores = _table1_scores(slices, models, "nmse", rule, split)
        if same := _same_outputs(scores):
            return "inconclusive", {"identical_outputs": same}
        outcome, numbers = claims.beats(*scores.values(), names=models, higher_is_better=False)
        outcomes.append(outcome)
        evidence |= {f"{split}_{m}": numbers[f"mean_{m}"] for m in models}
        evidence[f"{split}_gap"] = [numbers["gap"], *numbers["gap_ci95"]]
        evidence[f"{split}_n"] = numbers["n"]
    return claims.all_of(outcomes), evidence


RULES = ("fastmri", "reference")  # Table 1 in both metric rules (`experiments.table1`)


def _adversarial(table: pd.DataFrame) -> list[str]:
    """The adversarially trained models A(ε) of a table, in their order of appearance."""
    return [m for m in table.model.unique() if m.startswith("A(")]


def _per_rule(slices: pd.DataFrame, models: int = 1) -> list[dict]:
    """A case per metric rule, when the table has at least `models` A(ε)."""
    return [{"rule": rule} for rule in RULES] if len(_adversarial(slices)) >= models else []


def _per_rule_and_model(slices: pd.DataFrame) -> list[dict]:
    return [{"rule": rule, "model": m} for rule in RULES for m in ["S", *_adversarial(slices)]]


def _first_and_last(slices: pd.DataFrame) -> tuple[str, str]:
    adversarial = _adversarial(slices)
    return adversarial[0], adversarial[-1]


VAL_SSIM_S_GT_A = Claim(
    "huang_liang/table1/val_ssim_S_gt_A_eps1",
    "Table 1: the standard U-Net has a higher validation SSIM than A(ε = 1e3) (paper 0.62848 > "
    "0.60633); paired over the validation slices.",
    lambda slices, rule: _val_ssim_beats(slices, rule, ("S", _adversarial(slices)[0])),
    cases=_per_rule,
)
VAL_SSIM_A1_GT_A2 = Claim(
    "huang_liang/table1/val_ssim_A_eps1_gt_A_eps2",
    "Table 1: the clean cost grows with ε: validation SSIM A(1e3) > A(5e3) (paper 0.60633 > "
    "0.60115); paired over the validation slices.",
    lambda slices, rule: _val_ssim_beats(slices, rule, _first_and_last(slices)),
    cases=lambda slices: _per_rule(slices, models=2),
)
VAL_PSNR_ORDER = Claim(
    "huang_liang/table1/val_psnr_order",
    "Table 1: validation PSNR S > A(1e3) > A(5e3) (paper 25.360 > 25.195 > 24.873); each step "
    "paired over the validation slices.",
    lambda slices, rule: _val_psnr_order(slices, rule, ("S", *_adversarial(slices))),
    cases=_per_rule,
)
REASONABLE_QUALITY = Claim(
    "huang_liang/table1/reasonable_quality",
    "'These results show our training could give reasonable reconstruction quality from "
    "subsampled data' (Table 1; the introduction: zero-filling 'cannot achieve high quality "
    "reconstruction from the subsampled data'): the model beats zero-filled in validation "
    "SSIM, PSNR and NMSE, paired over the slices. No margin on the clean cost: the paper gives "
    "none (its SSIM_S − SSIM_A: 0.022, 0.027).",
    _reasonable_quality,
    cases=_per_rule_and_model,
)
TRAIN_GT_VAL = Claim(
    "huang_liang/table1/train_gt_val",
    "Table 1: the training SSIM exceeds the validation SSIM (paper: all three models, e.g. S "
    "0.64354 > 0.62848); train and validation slices compared unpaired.",
    _train_gt_val,
    cases=_per_rule_and_model,
)
NMSE_A1_LT_S = Claim(
    "huang_liang/table1/nmse_A_eps1_lt_S",
    "Table 1: A(1e3) has a lower NMSE than S on train and validation (paper 0.19351 < 0.21083; "
    "0.21883 < 0.23234); paired over the slices of each split.",
    _nmse_lower,
    cases=lambda slices: [{"rule": "reference", "model": _adversarial(slices)[0]}],
)


# Fig. 4 (one training log) and the set-up checks


def _fig4_log(curves: pd.DataFrame, iterations: pd.DataFrame) -> list[dict]:
    """Fig. 4's case: the first A(ε)'s training log, when it has `FIG4_ITERATIONS` (the shape
    scale's one-step epochs have one: no Fig. 4 verdicts)."""
    first = _adversarial(curves)[0]
    return [{"model": first}] if (iterations.model == first).sum() >= FIG4_ITERATIONS else []


def _loss_r_decreases(iterations, model):
    loss = iterations.loc[iterations.model == model, "loss_R"].to_numpy()
    if len(loss) < FIG4_ITERATIONS:
        raise ValueError(f"Fig. 4 needs at least {FIG4_ITERATIONS} iterations, got {len(loss)}")
    k = max(1, len(loss) // 10)
    first, last = float(loss[:k].mean()), float(loss[-k:].mean())
    return last < first, {"first_10pct": first, "last_10pct": last, "iterations": len(loss)}


def _loss_g_starts_large(iterations, model):
    loss = iterations.loc[iterations.model == model, "loss_G"].to_numpy()
    if len(loss) < 2:
        raise ValueError(f"Fig. 4 needs at least 2 iterations, got {len(loss)}")
    later = float(np.abs(loss[1:]).max())
    return bool(loss[0] > later), {"loss_G_first": float(loss[0]), "largest_later": later}


def _mask_fraction(stats):
    fraction = stats["mean_fraction_of_acquired"]
    holds = abs(fraction - stats["expected_fraction"]) <= 0.02 and stats["centre_always_sampled"]
    return bool(holds), stats


def _budget_reached(curves, model):
    rows = curves[curves.model == model]
    if rows.empty or "train_budget_use" not in rows:
        raise ValueError(f"training curves have no budget use of {model!r}")
    use = float(rows.iloc[-1]["train_budget_use"])
    return BUDGET_BAND[0] <= use <= BUDGET_BAND[1], {"mean_delta_sq_over_eps": use}


def _smallest_and_largest(curves: pd.DataFrame) -> list[dict]:
    """The case of the first and last A(ε), when there are two."""
    small, large = _first_and_last(curves)
    return [{"small": small, "large": large}] if small != large else []


def _eps_monotone(curves, small, large):
    norms = {}
    for model in (small, large):
        row = curves[curves.model == model].iloc[-1]
        norms[model] = float(row["train_budget_use"] * row["budget"])  # mean ‖δ‖²
    return norms[large] > norms[small], norms


LOSS_R_DECREASES = Claim(
    "huang_liang/fig4/loss_R_decreases",
    "'the reconstructor loss decreases' (Fig. 4b): on the training log, the mean loss_R over "
    "the last 10 % of iterations is below that over the first 10 %.",
    _loss_r_decreases,
    cases=_fig4_log,
)
LOSS_G_STARTS_LARGE = Claim(
    "huang_liang/fig4/loss_G_starts_large",
    "'the generator loss (red) starts large' (Fig. 4a, paper ≈ 3.5e5 at iteration 0): on the "
    "training log, the first loss_G exceeds every later |loss_G|.",
    _loss_g_starts_large,
    cases=_fig4_log,
)
MASK_FRACTION = Claim(
    "huang_liang/fig5/mask_fraction",
    "Set-up (Fig. 5's mask): the 4x random mask samples a quarter of the acquired columns "
    "(± 0.02 over the seeded masks) and every centre column",
    _mask_fraction,
    kind="sanity",
)
BUDGET_REACHED = Claim(
    "huang_liang/sanity/budget_reached",
    f"G uses its budget: last-epoch mean ‖δ_b‖²/ε within {BUDGET_BAND}",
    _budget_reached,
    kind="sanity",
    cases=lambda curves: [{"model": m} for m in _adversarial(curves)],
)
EPS_MONOTONE = Claim(
    "huang_liang/sanity/eps_monotone",
    "The larger budget gives the larger perturbation: ‖δ_ε2‖² > ‖δ_ε1‖²",
    _eps_monotone,
    kind="sanity",
    cases=_smallest_and_largest,
)


# Fig. 6 and the fair attacks, per A(ε): `experiments.fig6`'s rows (attack, model, slice)


def _per(column: str) -> Callable[[pd.DataFrame], list[dict]]:
    """A case per value of `column` (the A(ε) or K(η) a row belongs to), named `model`."""
    return lambda table: [{"model": m} for m in table[column].unique()]


def _rows_of(column: str, check: Callable) -> Callable:
    """`check(rows)` on the rows of `table` whose `column` is the case's model."""
    return lambda table, model: check(table[table[column] == model])


def _attacked(table, attack, column, models=("A", "S")) -> list[np.ndarray]:
    where = f"{attack} {column}"
    scores = [claims.per_unit(table, column, where, attack=attack, model=m) for m in models]
    return claims.paired(where, *scores)


def _adv_better_under_its_g(table):
    a, s = _attacked(table, "co_trained_G", "ssim_attacked")
    return claims.beats(a, s, names=("A", "S"))


def _standard_amplifies(table):
    (amplification,) = _attacked(table, "co_trained_G", "amplification", ("S",))
    interval = claims.mean_interval(amplification, "amplification of S")
    return interval.above(1.0), interval.evidence("amplification_S")


def _adv_suppresses(table):
    a, s = _attacked(table, "co_trained_G", "amplification")
    names = ("amplification_A", "amplification_S")
    lower, numbers = claims.beats(a, s, names=names, higher_is_better=False)
    interval = claims.mean_interval(a, "amplification of A")
    numbers.pop("mean_amplification_A")  # the interval's estimate
    evidence = {**numbers, **interval.evidence("amplification_A")}
    return claims.all_of([lower, interval.below(1.0)]), evidence


def _smaller_drop(table, attack, models=("A", "S")):
    robust, standard = _attacked(table, attack, "ssim_drop", models)
    names = tuple(f"drop_{m}" for m in models)
    outcome, evidence = claims.beats(robust, standard, names=names, higher_is_better=False)
    attacked = _attacked(table, attack, "ssim_attacked", models)
    for model, scores in zip(models, attacked, strict=True):
        evidence[f"attacked_ssim_{model}"] = float(scores.mean())
    return outcome, evidence


ADV_BETTER_UNDER_ITS_G = Claim(
    "huang_liang/fig6/adv_better_under_its_G",
    "Fig. 6 (d) vs (e): under the perturbation of A's co-trained generator, A reconstructs "
    "better than S (SSIM against the target, paired over the attacked slices).",
    _rows_of("eps_model", _adv_better_under_its_g),
    cases=_per("eps_model"),
)
STANDARD_AMPLIFIES = Claim(
    "huang_liang/fig6/standard_amplifies",
    "'the baseline model even enhanced the added perturbation' (Fig. 6): under the co-trained "
    "perturbation, S's mean amplification ‖S(x̂+δ) − S(x̂)‖ / ‖δ‖ over the slices exceeds 1.",
    _rows_of("eps_model", _standard_amplifies),
    cases=_per("eps_model"),
)
ADV_SUPPRESSES = Claim(
    "huang_liang/fig6/adv_suppresses",
    "'there are no visible noises in the reconstruction' after adversarial training (Fig. 6 d, "
    "h): A's amplification is below S's (paired over the slices) and its mean below 1.",
    _rows_of("eps_model", _adv_suppresses),
    cases=_per("eps_model"),
)
ROBUST_OWN_G = Claim(
    "huang_liang/robust/own_G",
    "Fair version of 'this training strategy successfully minimized the effect of "
    "perturbations': under a fresh generator trained against each model at the same ε, A "
    "loses less SSIM than S (paired over the slices; attacked SSIMs in the evidence).",
    _rows_of("eps_model", lambda rows: _smaller_drop(rows, "own_G")),
    kind="beyond",
    cases=_per("eps_model"),
)
ROBUST_IMAGE_PGD = Claim(
    "huang_liang/robust/image_pgd",
    "Fair version of the headline: under image-domain PGD at ρ = √(ε/N), A loses less SSIM "
    "than S (paired over the slices; attacked SSIMs in the evidence).",
    _rows_of("eps_model", lambda rows: _smaller_drop(rows, "image_pgd")),
    kind="beyond",
    cases=_per("eps_model"),
)


# Algorithm 2 (proposed in Sec. 5, never run in the paper), per K(η): `kspace_robustness` rows


def _kspace_clean_quality(table):
    where = "Algorithm 2 clean SSIM"
    k, zero_filled = claims.paired(
        where,
        claims.per_unit(table, "ssim_clean", where, attack="kspace_pgd", model="K"),
        claims.per_unit(table, "ssim_zero_filled", where, attack="kspace_pgd", model="K"),
    )
    outcome, evidence = claims.beats(k, zero_filled, names=("K", "zero-filled"))
    (s,) = _attacked(table, "kspace_pgd", "ssim_clean", ("S",))
    cost = claims.mean_interval(s - k, "clean cost of K")
    return outcome, {**evidence, **cost.evidence("cost_S_minus_K")}


def _pgd_stronger(table, model):
    pgd, generator = (
        claims.per_unit(table, "ssim_attacked", "PGD vs generator", attack=a, model=model)
        for a in ("kspace_pgd", "kspace_G")
    )
    return claims.beats(
        *claims.paired("PGD vs generator", pgd, generator),
        names=("kspace_pgd", "kspace_G"),
        higher_is_better=False,
    )


KSPACE_PGD_AT_ETA = Claim(
    "huang_liang/alg2/kspace_pgd_at_eta_train",
    "Algorithm 2 helps against the k-space attack it was trained for: under Morshuis' per-coil "
    "k-space PGD at the training η, K loses less SSIM than S (paired over the slices).",
    _rows_of("eta_model", lambda rows: _smaller_drop(rows, "kspace_pgd", ("K", "S"))),
    kind="beyond",
    cases=_per("eta_model"),
)
KSPACE_CLEAN_QUALITY = Claim(
    "huang_liang/alg2/reasonable_quality",
    "K(η) keeps 'reasonable reconstruction quality from subsampled data', read as for A(ε) in "
    "Table 1: its clean SSIM beats zero-filled's (paired over the slices; the clean cost "
    "SSIM_S − SSIM_K with its interval in the evidence, with no threshold).",
    _rows_of("eta_model", _kspace_clean_quality),
    kind="beyond",
    cases=_per("eta_model"),
)
PGD_STRONGER = Claim(
    "huang_liang/alg2/pgd_stronger_than_generator",
    "Per-sample PGD is a stronger attack than a generator of the same budget: attacked SSIM "
    "under k-space PGD below that under a fresh k-space generator (paired over the slices).",
    lambda table, model, attacked: _pgd_stronger(table[table.eta_model == model], attacked),
    kind="beyond",
    cases=lambda table: [
        {"model": m, "attacked": attacked} for m in table["eta_model"].unique() for attacked in "KS"
    ],
)


def data_name(scale: str) -> str:
    return resolve(scale, "data")["source"]


TRAINING = (LOSS_R_DECREASES, LOSS_G_STARTS_LARGE, BUDGET_REACHED, EPS_MONOTONE)
TABLE1 = (
    VAL_SSIM_S_GT_A,
    VAL_SSIM_A1_GT_A2,
    VAL_PSNR_ORDER,
    REASONABLE_QUALITY,
    TRAIN_GT_VAL,
    NMSE_A1_LT_S,  # in the paper's own rule
    MASK_FRACTION,
)
FIG6 = (ADV_BETTER_UNDER_ITS_G, STANDARD_AMPLIFIES, ADV_SUPPRESSES, ROBUST_OWN_G, ROBUST_IMAGE_PGD)
KSPACE = (KSPACE_PGD_AT_ETA, KSPACE_CLEAN_QUALITY, PGD_STRONGER)


def training_verdicts(curves: pd.DataFrame, iterations: pd.DataFrame, scale: str) -> list:
    """Fig. 4 on the first adversarial model's iterations (when it has `FIG4_ITERATIONS`); the
    budget sanity checks."""
    if not _adversarial(curves):
        raise ValueError("no adversarially trained model in the training curves")
    inputs = dict(curves=curves, iterations=iterations)
    return claims.check_all(TRAINING, scale, data_name(scale), **inputs)


def table1_verdicts(slices: pd.DataFrame, stats: dict, scale: str) -> list:
    """Table 1 in both metric rules on the per-slice table (`experiments.table1`), and Fig. 5.
    A(ε₁), A(ε₂) are the first and last adversarial models of the table (the ε order needs
    two)."""
    return claims.check_all(TABLE1, scale, data_name(scale), slices=slices, stats=stats)


def control_verdicts(slices: pd.DataFrame, scale: str) -> list:
    """Table 1's NMSE comparison (`NMSE_A1_LT_S`) on the models of the training-length control
    (`experiments.training_control`'s per-slice rows), the case naming their `epochs`: the
    controlled experiment behind its cpu diagnosis (kind `control`)."""
    epochs = int(slices["epochs"].iloc[0])
    return claims.as_control(
        NMSE_A1_LT_S.verdict(
            {**case, "epochs": epochs}, scale, data_name(scale), slices=slices, **case
        )
        for case in NMSE_A1_LT_S.cases(slices=slices)
    )


def fig6_verdicts(table: pd.DataFrame, scale: str) -> list:
    """Fig. 6 as in the paper and its fair versions, per A(ε)."""
    return claims.check_all(FIG6, scale, data_name(scale), table=table)


def kspace_verdicts(table: pd.DataFrame, scale: str) -> list:
    """Algorithm 2 per K(η): the k-space attack it trains against, its clean quality, PGD vs G."""
    return claims.check_all(KSPACE, scale, data_name(scale), table=table)
