"""Huang & Liang's findings as claims, checked on the stored tables (the paper's numbers in the
statements). Sub-cases (budget, metric rule, model) go in each verdict's `case`."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mrirobust.claims import Claim, Verdict
from mrirobust.scales import resolve

CLEAN_COST = 0.05  # "reasonable reconstruction quality": SSIM_S − SSIM_A at most this
BUDGET_BAND = (0.5, 2.0)  # last-epoch mean ‖δ_b‖²/ε within this band: the hinge is active


def _val(table: pd.DataFrame, model: str, rule: str, split: str = "val") -> pd.Series:
    rows = table[(table.model == model) & (table.rule == rule) & (table.split == split)]
    if len(rows) != 1:
        raise ValueError(f"table 1 has {len(rows)} rows for {model!r} {split} {rule}, need 1")
    return rows.iloc[0]


def _greater(metric: str, first: str, second: str, or_equal: bool = False):
    def check(table, rule):
        a, b = _val(table, first, rule)[metric], _val(table, second, rule)[metric]
        return bool(a >= b if or_equal else a > b), {first: a, second: b}

    return check


def _psnr_order(table, rule, models):
    values = [_val(table, m, rule)["psnr"] for m in models]
    holds = all(x > y for x, y in zip(values, values[1:], strict=False))
    return bool(holds), dict(zip(models, values, strict=True))


def _clean_cost(table, rule, model):
    s, a = _val(table, "S", rule)["ssim"], _val(table, model, rule)["ssim"]
    return bool(s - a <= CLEAN_COST), {"S": s, model: a, "cost": s - a, "limit": CLEAN_COST}


def _beats_zero_filled(table, rule, model):
    a, z = _val(table, model, rule)["ssim"], _val(table, "zero-filled", rule)["ssim"]
    return bool(a > z), {model: a, "zero-filled": z}


def _beats_zero_filled_everywhere(table, rule, model):
    a, z = _val(table, model, rule), _val(table, "zero-filled", rule)
    holds = a["ssim"] > z["ssim"] and a["psnr"] > z["psnr"] and a["nmse"] < z["nmse"]
    metrics = ("ssim", "psnr", "nmse")
    evidence = {
        f"{k}_{name}": float(row[k]) for name, row in ((model, a), ("zf", z)) for k in metrics
    }
    return bool(holds), evidence


def _train_gt_val(table, rule, model):
    t, v = _val(table, model, rule, "train")["ssim"], _val(table, model, rule)["ssim"]
    return bool(t > v), {"train": t, "val": v}


def _nmse_lower(table, rule, model):
    out = {}
    for split in ("train", "val"):
        out[f"{split}_S"] = _val(table, "S", rule, split)["nmse"]
        out[f"{split}_{model}"] = _val(table, model, rule, split)["nmse"]
    holds = all(out[f"{s}_{model}"] < out[f"{s}_S"] for s in ("train", "val"))
    return holds, out


FIG4_ITERATIONS = 10  # Fig. 4's claims compare tenths of the log


def _loss_r_decreases(iterations):
    loss = iterations["loss_R"].to_numpy()
    if len(loss) < FIG4_ITERATIONS:
        raise ValueError(f"Fig. 4 needs at least {FIG4_ITERATIONS} iterations, got {len(loss)}")
    k = max(1, len(loss) // 10)
    first, last = float(loss[:k].mean()), float(loss[-k:].mean())
    return last < first, {"first_10pct": first, "last_10pct": last, "iterations": len(loss)}


def _loss_g_starts_large(iterations):
    loss = iterations["loss_G"].to_numpy()
    if len(loss) < 2:
        raise ValueError(f"Fig. 4 needs at least 2 iterations, got {len(loss)}")
    median = float(np.median(np.abs(loss[len(loss) // 2 :])))
    return bool(loss[0] > 10 * median), {"loss_G_first": float(loss[0]), "median_2nd_half": median}


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


def _eps_monotone(curves, small, large):
    norms = {}
    for model in (small, large):
        row = curves[curves.model == model].iloc[-1]
        norms[model] = float(row["train_budget_use"] * row["budget"])  # mean ‖δ‖²
    return norms[large] > norms[small], norms


VAL_SSIM_S_GT_A = Claim(
    "huang_liang/table1/val_ssim_S_gt_A_eps1",
    "The standard U-Net has a higher validation SSIM than A(ε=1e3) (paper 0.628 > 0.606)",
    _greater("ssim", "S", "A(eps=1000)"),
)
VAL_SSIM_A1_GE_A2 = Claim(
    "huang_liang/table1/val_ssim_A_eps1_ge_A_eps2",
    "The clean cost grows with ε: val SSIM A(1e3) ≥ A(5e3) (paper 0.606 > 0.601)",
    _greater("ssim", "A(eps=1000)", "A(eps=5000)", or_equal=True),
)
VAL_PSNR_ORDER = Claim(
    "huang_liang/table1/val_psnr_order",
    "Val PSNR S > A(1e3) > A(5e3) (paper 25.36 > 25.19 > 24.87)",
    _psnr_order,
)
CLEAN_COST_SMALL = Claim(
    "huang_liang/table1/adv_clean_cost_small",
    f"Adversarial training keeps 'reasonable reconstruction quality': SSIM_S − SSIM_A ≤ "
    f"{CLEAN_COST} (paper 0.022, 0.027)",
    _clean_cost,
)
BEATS_ZERO_FILLED = Claim(
    "huang_liang/table1/adv_beats_zero_filled",
    "The adversarially trained U-Net beats zero-filled on val SSIM",
    _beats_zero_filled,
    kind="sanity",
)
INTENSITY_RIGHT = Claim(
    "huang_liang/sanity/beats_zero_filled_in_every_metric",
    "Not a paper claim: the U-Net beats zero-filled on val SSIM, PSNR and NMSE (fastMRI rule), "
    "so the DSSIM loss got the intensities right, not only the structure",
    _beats_zero_filled_everywhere,
    kind="sanity",
)
TRAIN_GT_VAL = Claim(
    "huang_liang/table1/train_gt_val",
    "Train SSIM exceeds val SSIM for every model (paper: all three)",
    _train_gt_val,
)
NMSE_A1_LT_S = Claim(
    "huang_liang/table1/nmse_A_eps1_lt_S",
    "A(1e3) has a lower NMSE than S on train and val (paper 0.194 < 0.211; 0.219 < 0.232)",
    _nmse_lower,
)
LOSS_R_DECREASES = Claim(
    "huang_liang/fig4/loss_R_decreases",
    "The reconstructor loss decreases: mean over the last 10 % of iterations < the first 10 %",
    _loss_r_decreases,
)
LOSS_G_STARTS_LARGE = Claim(
    "huang_liang/fig4/loss_G_starts_large",
    "The generator loss starts large (hinge-dominated): loss_G(1) > 10 × the median |loss_G| "
    "of the second half (paper 3.5e5 vs ≈ 0.3)",
    _loss_g_starts_large,
)
MASK_FRACTION = Claim(
    "huang_liang/fig5/mask_fraction",
    "The 4x random mask samples a quarter of the acquired columns (± 0.02) and every centre column",
    _mask_fraction,
    kind="sanity",
)
BUDGET_REACHED = Claim(
    "huang_liang/sanity/budget_reached",
    f"G uses its budget: last-epoch mean ‖δ_b‖²/ε within {BUDGET_BAND}",
    _budget_reached,
    kind="sanity",
)
EPS_MONOTONE = Claim(
    "huang_liang/sanity/eps_monotone",
    "The larger budget gives the larger perturbation: ‖δ_ε2‖² > ‖δ_ε1‖²",
    _eps_monotone,
    kind="sanity",
)


def _mean(table, attack, model, column):
    rows = table[(table.attack == attack) & (table.model == model)]
    if rows.empty:
        raise ValueError(f"Fig. 6 table has no rows for attack {attack!r} on model {model!r}")
    return float(rows[column].mean())


def _adv_better_under_its_g(table):
    a, s = (_mean(table, "co_trained_G", m, "ssim_attacked") for m in ("A", "S"))
    return a > s, {"ssim_A": a, "ssim_S": s}


def _standard_amplifies(table):
    a = _mean(table, "co_trained_G", "S", "amplification")
    return a > 1, {"amplification_S": a}


def _adv_suppresses(table):
    a, s = (_mean(table, "co_trained_G", m, "amplification") for m in ("A", "S"))
    return a < s and a < 1, {"amplification_A": a, "amplification_S": s}


def _smaller_drop(table, attack, models=("A", "S")):
    robust, standard = models
    drop = {m: _mean(table, attack, m, "ssim_drop") for m in models}
    attacked = {m: _mean(table, attack, m, "ssim_attacked") for m in models}
    evidence = {f"drop_{m}": drop[m] for m in models}
    evidence.update({f"attacked_ssim_{m}": attacked[m] for m in models})
    return drop[robust] < drop[standard], evidence


ADV_BETTER_UNDER_ITS_G = Claim(
    "huang_liang/fig6/adv_better_under_its_G",
    "Under the perturbation of A's co-trained generator, A reconstructs better than S "
    "(SSIM, panels d vs e)",
    _adv_better_under_its_g,
)
STANDARD_AMPLIFIES = Claim(
    "huang_liang/fig6/standard_amplifies",
    "'The baseline model even enhanced the added perturbation': ‖S(x̂+δ) − S(x̂)‖ / ‖δ‖ > 1",
    _standard_amplifies,
)
ADV_SUPPRESSES = Claim(
    "huang_liang/fig6/adv_suppresses",
    "'No visible noises' after adversarial training: A's amplification < S's and < 1",
    _adv_suppresses,
)
ROBUST_OWN_G = Claim(
    "huang_liang/robust/own_G",
    "Fair version of the headline: under a fresh generator trained against each model at the "
    "same ε, A loses less SSIM than S",
    lambda table: _smaller_drop(table, "own_G"),
    kind="beyond",
)
ROBUST_IMAGE_PGD = Claim(
    "huang_liang/robust/image_pgd",
    "Under image-domain PGD at ρ = √(ε/N), A loses less SSIM than S",
    lambda table: _smaller_drop(table, "image_pgd"),
    kind="beyond",
)


def _clean_ssim(table, model):
    rows = table[table.model == model]
    if rows.empty:
        raise ValueError(f"Algorithm 2 table has no rows for model {model!r}")
    return float(rows.groupby("slice").ssim_clean.first().mean())


def _kspace_clean_cost(table):
    s, k = _clean_ssim(table, "S"), _clean_ssim(table, "K")
    return s - k <= CLEAN_COST, {"S": s, "K": k, "cost": s - k, "limit": CLEAN_COST}


def _pgd_stronger(table, model):
    pgd, gen = (
        _mean(table, attack, model, "ssim_attacked") for attack in ("kspace_pgd", "kspace_G")
    )
    return pgd <= gen, {"ssim_under_pgd": pgd, "ssim_under_generator": gen}


KSPACE_PGD_AT_ETA = Claim(
    "huang_liang/alg2/kspace_pgd_at_eta_train",
    "Algorithm 2 helps against the k-space attack it was trained for: under Morshuis' per-coil "
    "k-space PGD at the training η, K loses less SSIM than S",
    lambda table: _smaller_drop(table, "kspace_pgd", ("K", "S")),
    kind="beyond",
)
KSPACE_CLEAN_COST = Claim(
    "huang_liang/alg2/clean_cost_small",
    f"K(η) keeps the clean quality of S: SSIM_S − SSIM_K ≤ {CLEAN_COST}",
    _kspace_clean_cost,
    kind="beyond",
)
PGD_STRONGER = Claim(
    "huang_liang/alg2/pgd_stronger_than_generator",
    "Per-sample PGD is a stronger attack than a generator of the same budget: attacked SSIM "
    "under k-space PGD ≤ under a fresh k-space generator",
    _pgd_stronger,
    kind="beyond",
)


def data_name(scale: str) -> str:
    return resolve(scale, "data")["source"]


def training_verdicts(curves: pd.DataFrame, iterations: pd.DataFrame, scale: str) -> list:
    """Fig. 4 on the first adversarial model's iterations, when it has at least
    `FIG4_ITERATIONS` (the shape scale's one-step epochs have one: no Fig. 4 verdicts); the
    budget sanity checks."""
    data = data_name(scale)
    adversarial = [m for m in curves.model.unique() if m.startswith("A(")]
    if not adversarial:
        raise ValueError("no adversarially trained model in the training curves")
    first = adversarial[0]
    log = iterations[iterations.model == first]
    out: list[Verdict] = []
    if len(log) >= FIG4_ITERATIONS:
        out += [
            LOSS_R_DECREASES.verdict({"model": first}, scale, data, iterations=log),
            LOSS_G_STARTS_LARGE.verdict({"model": first}, scale, data, iterations=log),
        ]
    for model in adversarial:
        case = {"model": model}
        out.append(BUDGET_REACHED.verdict(case, scale, data, curves=curves, **case))
    if len(adversarial) > 1:
        case = {"small": adversarial[0], "large": adversarial[-1]}
        out.append(EPS_MONOTONE.verdict(case, scale, data, curves=curves, **case))
    return out


def table1_verdicts(table: pd.DataFrame, stats: dict, scale: str) -> list:
    """Table 1 (both metric rules) and Fig. 5."""
    data = data_name(scale)
    adversarial = [m for m in table.model.unique() if m.startswith("A(")]

    def verdict(claim: Claim, **case) -> Verdict:
        return claim.verdict(case, scale, data, table=table, **case)

    out: list[Verdict] = []
    for rule in ("fastmri", "reference"):
        out += [verdict(VAL_SSIM_S_GT_A, rule=rule), verdict(VAL_SSIM_A1_GE_A2, rule=rule)]
        psnr = VAL_PSNR_ORDER.verdict(
            {"rule": rule}, scale, data, table=table, rule=rule, models=["S", *adversarial]
        )
        out.append(psnr)
        out += [verdict(CLEAN_COST_SMALL, rule=rule, model=m) for m in adversarial]
        out += [verdict(TRAIN_GT_VAL, rule=rule, model=m) for m in ["S", *adversarial]]
    out += [verdict(BEATS_ZERO_FILLED, rule="fastmri", model=m) for m in adversarial]
    out += [verdict(INTENSITY_RIGHT, rule="fastmri", model=m) for m in ["S", *adversarial]]
    out.append(verdict(NMSE_A1_LT_S, rule="reference", model=adversarial[0]))
    out.append(MASK_FRACTION.verdict({}, scale, data, stats=stats))
    return out


def fig6_verdicts(table: pd.DataFrame, scale: str) -> list:
    """Fig. 6 as in the paper and its fair versions, per A(ε)."""
    data = data_name(scale)
    fig6 = (
        ADV_BETTER_UNDER_ITS_G,
        STANDARD_AMPLIFIES,
        ADV_SUPPRESSES,
        ROBUST_OWN_G,
        ROBUST_IMAGE_PGD,
    )
    return [
        claim.verdict({"model": name}, scale, data, table=rows)
        for name, rows in table.groupby("eps_model", sort=False)
        for claim in fig6
    ]


def kspace_verdicts(table: pd.DataFrame, scale: str) -> list:
    """Algorithm 2 per K(η): the k-space attack it trains against, its clean cost, PGD vs G."""
    data = data_name(scale)
    out: list[Verdict] = []
    for name, rows in table.groupby("eta_model", sort=False):
        case = {"model": name}
        out.append(KSPACE_PGD_AT_ETA.verdict(case, scale, data, table=rows))
        out.append(KSPACE_CLEAN_COST.verdict(case, scale, data, table=rows))
        for model in ("K", "S"):
            out.append(
                PGD_STRONGER.verdict(
                    {**case, "attacked": model}, scale, data, table=rows, model=model
                )
            )
    return out


def _smaller_drop_than_standard(table, model):
    drop = {m: float(table[table.model == m].ssim_drop.mean()) for m in (model, "S")}
    attacked = {m: float(table[table.model == m].ssim_attacked.mean()) for m in (model, "S")}
    if any(math.isnan(v) for v in drop.values()):
        raise ValueError(f"cross-attack table lacks rows of {model!r} or 'S'")
    evidence = {"drop": drop[model], "drop_S": drop["S"]}
    evidence.update(attacked=attacked[model], attacked_S=attacked["S"])
    evidence["higher_attacked_ssim"] = attacked[model] > attacked["S"]
    return drop[model] < drop["S"], evidence


SMALLER_DROP_THAN_S = Claim(
    "huang_liang/exploratory/smaller_drop_than_S",
    "Exploratory, no expected direction: the model loses less SSIM than S under another "
    "paper's attack at this budget (evidence also says whether its attacked SSIM is higher)",
    _smaller_drop_than_standard,
    kind="beyond",
)


def cross_verdicts(table: pd.DataFrame, scale: str) -> list:
    """One exploratory verdict per (model other than S, attack, non-zero budget)."""
    data = data_name(scale)
    out: list[Verdict] = []
    for (attack, budget), rows in table[table.budget > 0].groupby(["attack", "budget"]):
        for model in rows.model.unique():
            if model != "S":
                case = {"model": model, "attack": attack, "budget": budget}
                out.append(SMALLER_DROP_THAN_S.verdict(case, scale, data, table=rows, model=model))
    return out
