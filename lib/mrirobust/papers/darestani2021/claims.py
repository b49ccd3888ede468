"""The findings of Darestani, Chaudhari & Heckel 2021, checked on the stored per-unit tables.

Every comparison runs over the scored units with the 95 % bootstrap interval of
`mrirobust.claims`: slices (quality, shifts, anatomies, attacks, annotated features), window
positions (the small-feature maps of Fig. 7 and 17) or, for the shift plots' linear fits, the
models (the fit's t-interval). Comparisons on the same slices are paired; the shift sets
(in- against out-of-distribution, knee against brain) hold different slices and are compared
unpaired. The paper gives no margins, so there are none: a difference holds when its interval
lies above 0, "similar" and "parallel" when the interval of a ratio or slope lies inside
`claims.SIMILAR_RATIO`. The paper's sentences:

- Sec. 6 / Fig. 8: "the ranking of the methods in terms of small-feature-recovery performance is
  VarNet > U-net > ConvDecoder > l1-norm minimization, which coincides with the ranking in terms
  of overall reconstruction quality" (4x, as everywhere in the paper); "reconstruction quality is
  perfectly linearly correlated with accurate recovery of fine details"; "VarNet performs best
  both in terms of reconstruction quality and in terms of small feature recovery error";
- Sec. 4 / Fig. 3: "both trained and un-trained methods are sensitive to small adversarial
  perturbations"; "perturbations found for l1-norm minimization have a significant effect for
  l1-minimization, but only a mild effect on U-net's performance", and perturbations "for a
  trained network (e.g., U-net) have a relatively mild impact on l1-norm minimization";
- App. A.3 / Fig. 10: "for all those choices [of basis], the perturbations have a similar effect";
- Sec. 5 / Fig. 2, 4, 6: "all reconstruction methods perform worse on the new MRI samples, but
  the absolute performance drop is similar" (the fit runs parallel to y = x), "In-distribution
  and out-distribution performances are linearly correlated", "typically the best performing
  method is also the best performing method under a distribution shift"; VarNet "is
  particularly sensitive" to the k-space resolution (its fix, Sec. 5.1);
- App. B.2 / Fig. 13: "brain images are naturally easier to reconstruct than knee images as all
  models achieve higher scores for them"; App. B.3 / Fig. 14: "the challenging images indeed
  have a low low-frequency proportion";
- Sec. 6 / Fig. 7: "l1-minimization and VarNet perform worse in dark regions of the image", "this
  location dependency is not due to learning, in that both trained and un-trained methods have
  location dependent recovery performance"; App. C.2 / Fig. 17: "For all considered window
  sizes, the un-trained network ConvDecoder performs best"; App. C.1 / Fig. 16: "the original
  Adam, on average performs significantly better than GD or Adam with larger beta1 for
  recovering small features" (ConvDecoder's optimisers).

Set-up checks are `sanity` claims: every method beats zero-filling, the perturbations use their
budget, the damage of an attack grows with its budget, the lattice maps match single windows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mrirobust import claims
from mrirobust.claims import Claim, Interval, Verdict
from mrirobust.papers.darestani2021 import groups

PAPER_RANKING = ("varnet", "unet", "convdecoder", "l1")  # Sec. 6, Fig. 8: best first
PAPER_ACCELERATION = 4  # "We consider 4x acceleration throughout the paper" (Sec. 2)
TRAINED = ("unet", "varnet")
UNTRAINED = ("l1", "convdecoder")
ADAM = "adam"  # ConvDecoder's reference optimiser (models.convdecoder.OPTIMISERS; Fig. 16)
REFERENCE_BASIS = "l1_wavelet"  # the paper's l1 (Sec. 3); Fig. 10 compares the others to it


def _beats(a: pd.Series, b: pd.Series, names: tuple[str, str], **options):
    """`claims.beats` of the per-unit series `a` and `b`, paired on their units."""
    x, y = claims.paired(f"{names[0]} vs {names[1]}", a, b)
    return claims.beats(x, y, names=names, **options)


def _gap(outcome_evidence: tuple[str, dict]) -> list:
    """The gap and its interval of a `beats` evidence, for a compact evidence entry."""
    return [outcome_evidence[1]["gap"], *outcome_evidence[1]["gap_ci95"]]


# --- the ranking (Sec. 6, Fig. 8) and the zero-filled sanity check, on per-slice SSIM ---------


def _ranking(table: pd.DataFrame, value: str = "ssim", higher_is_better: bool = True):
    scores = {m: claims.per_unit(table, value, "ranking", method=m) for m in PAPER_RANKING}
    first = scores[PAPER_RANKING[0]]
    paired = {m: claims.paired(f"ranking {m}", first, s)[1] for m, s in scores.items()}
    outcome, evidence = claims.ranks(paired, PAPER_RANKING, higher_is_better=higher_is_better)
    return outcome, {**evidence, "n": len(first)}


QUALITY_RANKING = Claim(
    "darestani2021/fig8/quality_ranking",
    "The ranking of the methods 'VarNet > U-net > ConvDecoder > l1-norm minimization ... "
    "coincides with the ranking in terms of overall reconstruction quality' (Sec. 6, Fig. 8, "
    "4x): each method's mean SSIM is above the next one's, paired over slices (evidence: each "
    "gap and its 95 % interval).",
    _ranking,
)


def _beat_zero_filled(table: pd.DataFrame, methods: Sequence[str], **case):
    zero = claims.per_unit(table, "ssim", "beats zero-filled", method="zero_filled", **case)
    outcomes, evidence = [], {"n": len(zero)}
    for m in methods:
        result = _beats(
            claims.per_unit(table, "ssim", m, method=m, **case), zero, (m, "zero_filled")
        )
        outcomes.append(result[0])
        evidence[f"{m}>zero_filled"] = _gap(result)
    return claims.all_of(outcomes), evidence


BEATS_ZERO_FILLED = Claim(
    "darestani2021/fig2/every_model_beats_zero_filled",
    "Set-up: every model reconstructs the clean in-distribution slices better than zero-filling "
    "(SSIM, paired over slices; zero-filling is no method of the paper).",
    _beat_zero_filled,
    kind="sanity",
)


def ranking(table: pd.DataFrame, *, acceleration: int, scale: str, data: str) -> list[Verdict]:
    """The quality ranking on a per-slice table (columns method, slice, ssim) of `PAPER_RANKING`
    and zero-filling: the paper's ranking at its 4x (none at other accelerations) and the
    zero-filled sanity check."""
    case = {"acceleration": acceleration}
    out = []
    if acceleration == PAPER_ACCELERATION:
        out.append(QUALITY_RANKING.verdict(case, scale, data, table=table))
    out.append(
        BEATS_ZERO_FILLED.verdict(case, scale, data, table=table, methods=list(PAPER_RANKING))
    )
    return out


# --- adversarial perturbations (Fig. 3, 10) on the `attack_sweep` table ----------------------


def _at_largest_eps(sweep: pd.DataFrame, attacked: str, method: str, value: str = "ssim_drop"):
    """Per slice `value` of `method` under the attack on `attacked` at that attack's largest
    eps, and that eps."""
    rows = sweep[sweep["attacked"] == attacked]
    if rows.empty:
        raise ValueError(f"no sweep rows for the attack on {attacked!r}")
    eps = float(rows["eps"].max())
    where = f"attack on {attacked} evaluated on {method}"
    return claims.per_unit(rows[np.isclose(rows["eps"], eps)], value, where, method=method), eps


def _attacked(sweep: pd.DataFrame, key: str = "method", min_eps: int = 1) -> list[dict]:
    """A case per method attacked in `sweep` with at least `min_eps` budgets, named `key`."""
    counts = sweep.groupby("attacked")["eps"].nunique()
    return [{key: m} for m in sorted(counts.index) if counts[m] >= min_eps]


def _own_drop(sweep: pd.DataFrame, method: str):
    drops, eps = _at_largest_eps(sweep, method, method)
    drop = claims.mean_interval(drops.to_numpy(float), f"own attack on {method}")
    return drop.above(0.0), {"eps": eps, **drop.evidence("ssim_drop")}


VULNERABLE = Claim(
    "darestani2021/fig3/vulnerable_to_own_attack",
    "'both trained and un-trained methods are sensitive to small adversarial perturbations' "
    "(Sec. 4, Fig. 3): the method's SSIM drop under its own attack at the largest eps has its "
    "95 % interval over slices above 0.",
    lambda sweep, method: _own_drop(sweep, method),
    cases=_attacked,
)
EVERY_BASIS = Claim(
    "darestani2021/fig10/every_basis_attackable",
    "'an adversarial perturbation with eps = 0.08 specific for each basis can be found' (Fig. "
    "10): l1's SSIM drop under its own two-step attack at the largest eps has its 95 % "
    "interval over slices above 0, for each sparsifying basis.",
    lambda sweep, basis: _own_drop(sweep, basis),
    cases=lambda sweep: _attacked(sweep, "basis"),
)


def _grows_with_eps(sweep: pd.DataFrame, method: str):
    own = sweep[(sweep["attacked"] == method) & (sweep["method"] == method)]
    curves = own.pivot_table(index="slice", columns="eps", values="ssim", aggfunc="first")
    if curves.isna().any().any():
        raise ValueError(f"the own attack on {method!r} misses an eps on some slices")
    return claims.falls_along(curves.columns.to_numpy(float), curves.to_numpy(), name="slope")


GROWS = Claim(
    "darestani2021/fig3/damage_grows_with_eps",
    "Set-up (the attack is monotone in its budget; Fig. 3 plots it, the text states no "
    "direction): the SSIM under the method's own attack falls along eps (mean per-slice "
    "least-squares slope below 0).",
    _grows_with_eps,
    kind="sanity",
    cases=lambda sweep: _attacked(sweep, min_eps=3),
)


def _l1_and_unet(sweep: pd.DataFrame) -> list[dict]:
    return [{}] if {"l1", "unet"} <= set(sweep["attacked"]) else []


def _hurts_target_more(sweep: pd.DataFrame, attacked: str, other: str):
    own, eps = _at_largest_eps(sweep, attacked, attacked)
    cross, _ = _at_largest_eps(sweep, attacked, other)
    outcome, evidence = _beats(own, cross, (f"drop_{attacked}", f"drop_{other}"))
    return outcome, {"eps": eps, **evidence}


L1_ATTACK = Claim(
    "darestani2021/fig3/l1_attack_hurts_l1_more",
    "'perturbations found for l1-norm minimization have a significant effect for "
    "l1-minimization, but only a mild effect on U-net's performance' (Sec. 4, Fig. 3): under "
    "the attack on l1 at the largest eps, l1's SSIM drop is above the U-Net's (paired over "
    "slices).",
    lambda sweep: _hurts_target_more(sweep, "l1", "unet"),
    cases=_l1_and_unet,
)
UNET_ATTACK = Claim(
    "darestani2021/fig3/unet_attack_hurts_unet_more",
    "'adversarially-selected perturbation for a trained network (e.g., U-net) have a "
    "relatively mild impact on l1-norm minimization' (Sec. 4, Fig. 3): under the attack on the "
    "U-Net at the largest eps, the U-Net's SSIM drop is above l1's (paired over slices).",
    lambda sweep: _hurts_target_more(sweep, "unet", "l1"),
    cases=_l1_and_unet,
)


def _budget_used(sweep: pd.DataFrame, attacked: str, tolerance: float):
    rows = sweep[(sweep["attacked"] == attacked) & (sweep["eps"] > 0)]
    ratio = rows["budget"] / rows["eps"]
    return bool(((ratio >= 1 - tolerance) & (ratio <= 1 + 1e-4)).all()), {
        "min_budget_over_eps": float(ratio.min()),
        "max_budget_over_eps": float(ratio.max()),
        "tolerance": tolerance,
    }


BUDGET = Claim(
    "darestani2021/fig3/budgets_used",
    "Set-up: every perturbation uses its budget, ||z|| / ||y|| within [eps (1 - tolerance), eps].",
    lambda sweep, method, tolerance: _budget_used(sweep, method, tolerance),
    kind="sanity",
    cases=_attacked,
)


ATTACKS = (VULNERABLE, GROWS, BUDGET, L1_ATTACK, UNET_ATTACK)


def attack_verdicts(
    sweep: pd.DataFrame, scale: str, data: str, *, tolerance: float = 0.01
) -> list[Verdict]:
    """Verdicts of the Fig. 3 claims whose methods were attacked in `sweep` (rows attacked,
    method, eps, slice, ssim, ssim_drop, budget); `tolerance` is the sanity check's slack of
    the projection onto the budget."""
    if sweep.empty:
        raise ValueError("the sweep table is empty: nothing to check")
    return claims.check_all(ATTACKS, scale, data, sweep=sweep, tolerance=tolerance)


def _similar_effect(sweep: pd.DataFrame, basis: str):
    drops, eps = _at_largest_eps(sweep, basis, basis)
    reference, _ = _at_largest_eps(sweep, REFERENCE_BASIS, REFERENCE_BASIS)
    a, b = claims.paired(f"{basis} vs {REFERENCE_BASIS}", drops, reference)
    ratio = claims.ratio_interval(a, b, f"{basis} / {REFERENCE_BASIS}")
    outcome, evidence = claims.within(ratio, claims.SIMILAR_RATIO, name="drop_ratio")
    means = {f"drop_{basis}": float(a.mean()), f"drop_{REFERENCE_BASIS}": float(b.mean())}
    return outcome, {"eps": eps, **means, **evidence}


SIMILAR_EFFECT = Claim(
    "darestani2021/fig10/similar_effect_every_basis",
    "'for all those choices, the perturbations have a similar effect' (App. A.3, Fig. 10): the "
    "ratio of the basis' SSIM drop under its own attack to the wavelet's has its 95 % interval "
    "(paired over slices) inside the 80-125 % equivalence band.",
    _similar_effect,
    cases=lambda sweep: (
        [case for case in _attacked(sweep, "basis") if case["basis"] != REFERENCE_BASIS]
        if REFERENCE_BASIS in set(sweep["attacked"])
        else []
    ),
)


def basis_verdicts(sweep: pd.DataFrame, scale: str, data: str) -> list[Verdict]:
    """Fig. 10 on a sweep of l1 with several bases (methods "l1_<basis>"): each basis is
    attackable, and each other basis' drop is similar to the wavelet's."""
    if sweep.empty:
        raise ValueError("the sweep table is empty: nothing to check")
    return claims.check_all((EVERY_BASIS, SIMILAR_EFFECT), scale, data, sweep=sweep)


# --- small features (Fig. 7, 17) on the per-position `heat_map_positions` table --------------


def _intensity_correlation(positions: pd.DataFrame, method: str, size: int) -> Interval:
    """Spearman's rho between the window error and the window's mean target intensity over
    the positions of `method`'s map of windows of side `size`, with its bootstrap interval."""
    rows = positions[(positions["method"] == method) & (positions["size"] == size)]
    if len(rows) < 3:
        raise ValueError(f"the map of {method!r} at size {size} has {len(rows)} positions")
    columns = [rows["error"].to_numpy(float), rows["intensity"].to_numpy(float)]
    return claims.bootstrap_interval(
        lambda a, b: claims.correlations(a, b, rank=True), columns, f"{method}: error vs intensity"
    )


def _mapped(positions: pd.DataFrame, size: int) -> set[str]:
    """The methods with a map of window side `size`."""
    return set(positions.loc[positions["size"] == size, "method"])


def _trained_and_untrained(positions: pd.DataFrame, size: int) -> list[dict]:
    """One case when maps of size `size` exist for trained and un-trained methods alike."""
    mapped = _mapped(positions, size)
    return [{}] if mapped & set(TRAINED) and mapped & set(UNTRAINED) else []


def _worse_in_dark(positions: pd.DataFrame, method: str, size: int):
    rho = _intensity_correlation(positions, method, size)
    return rho.below(0.0), {"size": size, **rho.evidence("spearman_rho")}


DARK = Claim(
    "darestani2021/fig7/worse_in_dark_regions",
    "'l1-minimization and VarNet perform worse in dark regions of the image' (Sec. 6, Fig. 7): "
    "Spearman's rho between the window error and the window's mean target intensity has its "
    "95 % interval over the map's positions below 0.",
    _worse_in_dark,
    cases=lambda positions, size: [
        {"method": m} for m in ("l1", "varnet") if m in _mapped(positions, size)
    ],
)


def _not_due_to_learning(positions: pd.DataFrame, size: int):
    """holds when a trained and an un-trained method each have an error that depends on the
    location's intensity (rho's interval excludes 0); a dependence cannot be shown absent, so
    the claim never fails."""
    evidence, dependent = {"size": size}, {}
    for m in (*TRAINED, *UNTRAINED):
        if m in set(positions["method"]):
            rho = _intensity_correlation(positions, m, size)
            evidence[f"rho_{m}"] = [rho.estimate, rho.low, rho.high]
            dependent[m] = rho.above(0.0) != "inconclusive"
    if not any(m in dependent for m in TRAINED) or not any(m in dependent for m in UNTRAINED):
        raise ValueError(
            f"the claim needs a trained and an un-trained map, got {sorted(dependent)}"
        )
    trained = any(dependent.get(m, False) for m in TRAINED)
    untrained = any(dependent.get(m, False) for m in UNTRAINED)
    return ("holds" if trained and untrained else "inconclusive"), evidence


NOT_LEARNING = Claim(
    "darestani2021/fig7/not_due_to_learning",
    "'this location dependency is not due to learning, in that both trained and un-trained "
    "methods have location dependent recovery performance' (Sec. 6): for a trained and an "
    "un-trained method the window error depends on the location's intensity (Spearman's rho "
    "with its 95 % interval over positions excluding 0).",
    _not_due_to_learning,
    cases=_trained_and_untrained,
)


def _lattice_valid(agreement: pd.DataFrame, method: str, min_r: float):
    r = float(agreement.loc[agreement["method"] == method, "pearson_r"].iloc[0])
    return r >= min_r, {"pearson_r": r, "min_r": min_r}


LATTICE = Claim(
    "darestani2021/fig7/lattice_matches_single_windows",
    "Set-up: a map from lattices of windows matches the one-window-per-reconstruction map "
    "(Pearson r at least min_r).",
    _lattice_valid,
    kind="sanity",
    cases=lambda agreement: (
        [] if agreement is None else [{"method": m} for m in agreement["method"]]
    ),
)


def feature_verdicts(
    positions: pd.DataFrame,
    scale: str,
    data: str,
    *,
    size: int,
    agreement: pd.DataFrame | None = None,
    min_r: float = 0.8,
) -> list[Verdict]:
    """The Fig. 7 claims on the per-position table (`experiments.heat_map_positions`: method,
    size, row, col, error, intensity) at window side `size`, and, given the
    `lattice_agreement` table, the lattice sanity check of every method in it."""
    if not _mapped(positions, size):
        raise ValueError(f"the positions table has no map of size {size}")
    inputs = dict(positions=positions, size=size, agreement=agreement, min_r=min_r)
    return claims.check_all((DARK, NOT_LEARNING, LATTICE), scale, data, **inputs)


def _best_every_size(positions: pd.DataFrame):
    outcomes, evidence = [], {}
    for size in sorted(set(positions["size"])):
        at = positions[positions["size"] == size].assign(
            unit=lambda t: t["row"].astype(str) + "," + t["col"].astype(str)
        )
        best = claims.per_unit(at, "error", "convdecoder", unit="unit", method="convdecoder")
        for m in sorted(set(at["method"]) & set(PAPER_RANKING) - {"convdecoder"}):
            other = claims.per_unit(at, "error", m, unit="unit", method=m)
            result = _beats(best, other, ("convdecoder", m), higher_is_better=False)
            outcomes.append(result[0])
            evidence[f"size={size}: convdecoder<{m}"] = _gap(result)
        evidence[f"positions_size={size}"] = len(best)
    return claims.all_of(outcomes), evidence


BEST_EVERY_SIZE = Claim(
    "darestani2021/fig17/convdecoder_best_every_size",
    "'For all considered window sizes, the un-trained network ConvDecoder performs best' "
    "(App. C.2, Fig. 17): at every window size ConvDecoder's window error is below each other "
    "method's, paired over the map's positions.",
    _best_every_size,
)


def size_verdicts(positions: pd.DataFrame, scale: str, data: str) -> list[Verdict]:
    """The Fig. 17 claim on the per-position table of every window size."""
    if "convdecoder" not in set(positions["method"]):
        raise ValueError("Fig. 17's claim needs ConvDecoder's maps")
    return claims.check_all((BEST_EVERY_SIZE,), scale, data, positions=positions)


def _adam_best(positions: pd.DataFrame):
    """Adam's window error below each other optimiser's, paired over the map's positions."""
    at = positions.assign(unit=positions["row"].astype(str) + "," + positions["col"].astype(str))
    adam = claims.per_unit(at, "error", ADAM, unit="unit", optimiser=ADAM)
    others = [o for o in dict.fromkeys(at["optimiser"]) if o != ADAM]
    if not others:
        raise ValueError(f"Fig. 16's claim needs an optimiser besides {ADAM!r}")
    pairs = {
        f"{ADAM}<{o}": claims.paired(
            f"{ADAM} vs {o}", adam, claims.per_unit(at, "error", o, unit="unit", optimiser=o)
        )
        for o in others
    }
    same = [label for label, (a, b) in pairs.items() if np.array_equal(a, b)]
    if same:  # fits that coincide (one iteration at the shape scale) cannot be told apart
        return "inconclusive", {"identical_outputs": same, "n": len(adam)}
    return claims.beats_each(pairs, higher_is_better=False)


ADAM_BEST = Claim(
    "darestani2021/fig16/adam_best_small_features",
    "'the original Adam, on average performs significantly better than GD or Adam with larger "
    "beta1 for recovering small features' (App. C.1, Fig. 16): ConvDecoder fitted with Adam "
    "(beta1 = 0.9) has a lower window error than fitted with Adam (beta1 = 0.98) and with "
    "gradient descent (linearly increasing step size), each paired over the map's positions.",
    _adam_best,
)


def optimiser_verdicts(positions: pd.DataFrame, scale: str, data: str) -> list[Verdict]:
    """The Fig. 16 claim on the per-position table of `experiments.optimiser_maps` (optimiser,
    row, col, error)."""
    return claims.check_all((ADAM_BEST,), scale, data, positions=positions)


# --- real features (Fig. 8) on the per-slice `real_features` table ----------------------------


def _linear(table: pd.DataFrame):
    columns = [
        claims.per_unit(table, value, "linear", method=m).to_numpy(float)
        for m in PAPER_RANKING
        for value in ("ssim", "feature_mse")
    ]

    def r(*cols):
        ssim = np.stack([c.mean(axis=1) for c in cols[0::2]], axis=1)
        mse = np.stack([c.mean(axis=1) for c in cols[1::2]], axis=1)
        return claims.correlations(ssim, mse)

    rho = claims.bootstrap_interval(r, columns, "ssim vs feature error")
    return rho.below(0.0), rho.evidence("pearson_r")


def _varnet_best_on_both(table: pd.DataFrame):
    outcomes, evidence = [], {}
    for value, higher in (("ssim", True), ("feature_mse", False)):
        varnet = claims.per_unit(table, value, "varnet", method="varnet")
        for m in PAPER_RANKING[1:]:
            other = claims.per_unit(table, value, m, method=m)
            result = _beats(varnet, other, ("varnet", m), higher_is_better=higher)
            outcomes.append(result[0])
            evidence[f"{value}: varnet>{m}"] = _gap(result)
    return claims.all_of(outcomes), evidence


FEATURE_RANKING = Claim(
    "darestani2021/fig8/feature_ranking",
    "'the ranking of the methods in terms of small-feature-recovery performance is VarNet > "
    "U-net > ConvDecoder > l1-norm minimization' (Sec. 6, Fig. 8): each method's error over the "
    "annotated box is below the next one's, paired over slices.",
    lambda table: _ranking(table, "feature_mse", higher_is_better=False),
)
LINEAR = Claim(
    "darestani2021/fig8/quality_linear_in_feature_error",
    "'the reconstruction quality is perfectly linearly correlated with accurate recovery of fine "
    "details' (Sec. 6, Fig. 8): Pearson's r between the four methods' mean SSIM and mean box "
    "error has its 95 % interval (slices resampled) below 0.",
    _linear,
)
BEST_BOTH = Claim(
    "darestani2021/fig8/varnet_best_on_both",
    "'The state-of-the-art VarNet performs best both in terms of reconstruction quality and in "
    "terms of small feature recovery error' (Fig. 8): VarNet's SSIM is above and its box error "
    "below each other method's, paired over slices.",
    _varnet_best_on_both,
)


def real_feature_verdicts(table: pd.DataFrame, scale: str, data: str) -> list[Verdict]:
    """The Fig. 8 claims on the `real_features` table (the paper's four methods; others, e.g.
    zero-filling, are left out)."""
    missing = set(PAPER_RANKING) - set(table["method"])
    if missing:
        raise ValueError(f"Fig. 8's claims need the paper's four methods; missing {missing}")
    case = {"set": "annotated"}
    return [
        FEATURE_RANKING.verdict({}, scale, data, table=table),
        QUALITY_RANKING.verdict(case, scale, data, table=table),
        LINEAR.verdict({}, scale, data, table=table),
        BEST_BOTH.verdict({}, scale, data, table=table),
    ]


# --- distribution shifts (Fig. 2, 4, 6, 13, 14) on the per-slice shift tables ----------------


def _models(table: pd.DataFrame) -> list[str]:
    """The models of the paper's four families in a shift table (no zero-filling, no fix)."""
    return sorted(
        m
        for m in set(table["method"])
        if groups.family_of(m) in groups.FAMILIES and not m.endswith("_fixed")
    )


def _shifted(table: pd.DataFrame, method: str, outside: str) -> pd.Series:
    """`method`'s per-slice SSIM on `outside`, with the resolution fix where it was scored so
    (VarNet: "we manually increased the resolution of Stanford set data points for VarNet",
    Sec. 5; `groups.in_vs_out` plots the same)."""
    fixed = f"{method}_fixed"
    if ((table["method"] == fixed) & (table["set"] == outside)).any():
        return claims.per_unit(table, "ssim", fixed, method=fixed, set=outside)
    return claims.per_unit(table, "ssim", method, method=method, set=outside)


def _every_model_drops(table: pd.DataFrame, inside: str, outside: str):
    outcomes, evidence = [], {}
    for m in _models(table):
        x = claims.per_unit(table, "ssim", m, method=m, set=inside)
        y = _shifted(table, m, outside)
        result = claims.beats(x.to_numpy(), y.to_numpy(), names=(inside, outside), paired=False)
        outcomes.append(result[0])
        evidence[f"drop_{m}"] = _gap(result)
    return claims.all_of(outcomes), evidence


def _best_stays_best(table: pd.DataFrame, inside: str, outside: str):
    methods = [m for m in groups.FAMILIES if m in set(table["method"])]
    ins = [claims.per_unit(table, "ssim", m, method=m, set=inside) for m in methods]
    scores = dict(zip(methods, claims.paired(f"{inside} ranking", *ins), strict=True))
    best, established, lead = claims.best(scores)
    evidence = {"best_inside": best, **{f"{inside}: {k}": v for k, v in lead.items()}}
    out_best, outcomes = _shifted(table, best, outside), []
    for m in methods:
        if m != best:
            result = _beats(out_best, _shifted(table, m, outside), (best, m))
            outcomes.append(result[0])
            evidence[f"{outside}: {best}>{m}"] = _gap(result)
    # which method is best in distribution must be settled before it can stay best
    return claims.all_of(outcomes) if established == "holds" else "inconclusive", evidence


def _fix_helps(table: pd.DataFrame, outside: str, method: str):
    naive = claims.per_unit(table, "ssim", method, method=method, set=outside)
    fixed = claims.per_unit(table, "ssim", f"{method}_fixed", method=f"{method}_fixed", set=outside)
    return _beats(fixed, naive, ("fixed", "naive"))


EVERY_MODEL_DROPS = Claim(
    "darestani2021/fig2/every_model_drops",
    "'all reconstruction methods perform worse on the new MRI samples' (Sec. 5.1, Fig. 2): each "
    "model's mean SSIM on the shifted set is below that on the in-distribution set (slices of "
    "the two sets compared unpaired; VarNet with the resolution fix, as the paper; evidence: "
    "each model's drop and its 95 % interval).",
    _every_model_drops,
)
BEST_STAYS_BEST = Claim(
    "darestani2021/fig2/best_in_distribution_best_out",
    "'typically the best performing method is also the best performing method under a "
    "distribution shift' (Sec. 1, 5): the method (of the four) with the highest mean SSIM in "
    "distribution, when it beats each other one there, beats each other one out of "
    "distribution too, paired over slices (VarNet with the resolution fix there, as the paper; "
    "inconclusive when the best in distribution is not settled).",
    _best_stays_best,
)
FIX_HELPS = Claim(
    "darestani2021/fig2/resolution_fix_helps",
    "'when naively applied, the state-of-the-art VarNet is particularly sensitive to this "
    "dataset shift, in that the frequency resolution changes' (Sec. 5.1): on the shifted set "
    "VarNet's SSIM with the resolution fix is above its naive SSIM, paired over slices.",
    _fix_helps,
)


def _fit_slope(points: pd.DataFrame) -> Interval:
    """The least-squares slope of out- on in-distribution SSIM over the models of the paper's
    families (`groups.paper_fit`) with its 95 % t-interval over the models."""
    fit = groups.paper_fit(points)
    return Interval(fit["slope"], fit["slope_ci_low"], fit["slope_ci_high"], fit["points"])


def _parallel(points: pd.DataFrame):
    return claims.within(_fit_slope(points), claims.SIMILAR_RATIO, name="slope")


def _correlated(points: pd.DataFrame):
    slope = _fit_slope(points)
    return slope.above(0.0), slope.evidence("slope")


def fit_claims(figure: str) -> tuple[Claim, Claim]:
    """The paper's reading of a shift plot (`figure`: fig2, fig4, fig6): the linear fit of out-
    on in-distribution SSIM over the models runs parallel to y = x, and it rises."""
    parallel = Claim(
        f"darestani2021/{figure}/parallel_to_identity",
        "'the absolute performance drop is similar' for all methods (Sec. 5; Fig. 6: 'a "
        "constant gap between the linear interpolation ... and y = x'): the slope of the "
        "linear fit of out- on in-distribution SSIM over the models has its 95 % interval "
        "inside the 80-125 % equivalence band around 1.",
        _parallel,
    )
    correlated = Claim(
        f"darestani2021/{figure}/linearly_correlated",
        "'In-distribution and out-distribution performances are linearly correlated' (Sec. 5.1, "
        "7): the slope of the linear fit of out- on in-distribution SSIM over the models has "
        "its 95 % interval above 0.",
        _correlated,
    )
    return parallel, correlated


def fit_verdicts(
    points: pd.DataFrame, figure: str, scale: str, data: str, *, case: Mapping
) -> list[Verdict]:
    """The two fit claims of `figure` on `groups.in_vs_out` or `groups.anatomy_points` points
    (columns model, family, x, y); none with fewer than 3 models of the paper's families (a
    line through 2 points has no interval)."""
    if len(groups.fitted(points)) < 3:
        return []
    return [claim.verdict(case, scale, data, points=points) for claim in fit_claims(figure)]


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
) -> list[Verdict]:
    """The shift claims of `figure` (Fig. 2 or 6) on a `shift_scores` table: every model of the
    paper's families drops, the best of the four methods stays best (given two of them), the fit
    is parallel to y = x and rising (`fit_verdicts`); at Fig. 2 the resolution fix of each model
    with `_fixed` rows and the zero-filled sanity check on `inside`."""
    if table.empty:
        raise ValueError("the shift table is empty: nothing to check")
    case = {"inside": inside, "outside": outside}
    args = {"table": table, "inside": inside, "outside": outside}
    out = [_of_figure(EVERY_MODEL_DROPS, figure).verdict(case, scale, data, **args)]
    if len(set(groups.FAMILIES) & set(table["method"])) >= 2:
        out.append(_of_figure(BEST_STAYS_BEST, figure).verdict(case, scale, data, **args))
    out += fit_verdicts(groups.in_vs_out(table, inside, outside), figure, scale, data, case=case)
    if figure == "fig2":
        if "zero_filled" in set(table["method"]):
            models = _models(table)
            out.append(
                BEATS_ZERO_FILLED.verdict(
                    case, scale, data, table=table, methods=models, set=inside
                )
            )
        for name in sorted(
            m[: -len("_fixed")] for m in set(table["method"]) if m.endswith("_fixed")
        ):
            out.append(
                FIX_HELPS.verdict(
                    {**case, "method": name}, scale, data, table=table, outside=outside, method=name
                )
            )
    return out


def _version(table: pd.DataFrame, method: str, trained: str, test: str) -> pd.Series:
    return claims.per_unit(table, "ssim", method, method=method, trained=trained, set=test)


def identical_versions(table: pd.DataFrame) -> list[str]:
    """The models of an `anatomy_scores` table whose knee- and brain-trained versions score
    identically on every slice of both sets: one model (e.g. an l1 whose two λ searches chose
    the same λ), which cannot be compared with itself."""
    both = set(table.loc[table["trained"] == "knee", "method"]) & set(
        table.loc[table["trained"] == "brain", "method"]
    )
    return sorted(
        m
        for m in both
        if all(
            _version(table, m, "knee", s).equals(_version(table, m, "brain", s))
            for s in ("knee", "brain")
        )
    )


def _two_versions(table: pd.DataFrame) -> list[str]:
    """The paper's models trained on both anatomies as two distinct models."""
    both = set(table.loc[table["trained"] == "brain", "method"])
    return sorted(set(_models(table)) & both - set(identical_versions(table)))


def _every_version(table: pd.DataFrame) -> list[dict]:
    """A case per model version (method, training anatomy); a model whose two versions are one
    (`identical_versions`) counts once, as its knee-trained version."""
    same = set(identical_versions(table))
    cases = []
    for trained in ("knee", "brain"):
        models = set(_models(table[table["trained"] == trained]))
        cases += [
            {"method": m, "trained": trained}
            for m in sorted(models - same if trained == "brain" else models)
        ]
    return cases


def _own_anatomy_better(table: pd.DataFrame, method: str, test: str):
    other = "brain" if test == "knee" else "knee"
    own, foreign = _version(table, method, test, test), _version(table, method, other, test)
    return _beats(own, foreign, (f"trained_{test}", f"trained_{other}"))


def _brain_easier(table: pd.DataFrame, method: str, trained: str):
    brain, knee = (
        _version(table, method, trained, "brain"),
        _version(table, method, trained, "knee"),
    )
    return claims.beats(brain.to_numpy(), knee.to_numpy(), names=("brain", "knee"), paired=False)


OWN_ANATOMY = Claim(
    "darestani2021/fig4/own_anatomy_better",
    "'all reconstruction methods perform worse on the new anatomy' (Sec. 5.2, Fig. 4): on the "
    "test anatomy, the version trained (or tuned) on it beats the version trained on the other "
    "anatomy (SSIM, paired over the test slices).",
    _own_anatomy_better,
    cases=lambda table: [
        {"method": m, "test": t} for m in _two_versions(table) for t in ("brain", "knee")
    ],
)
BRAIN_EASIER = Claim(
    "darestani2021/fig13/brain_easier",
    "'brain images are naturally easier to reconstruct than knee images as all models achieve "
    "higher scores for them' (App. B.2, Fig. 13): the model's mean SSIM on brain slices is "
    "above that on knee slices (the two sets compared unpaired).",
    _brain_easier,
    cases=_every_version,
)


def anatomy_verdicts(table: pd.DataFrame, scale: str, data: str) -> list[Verdict]:
    """The Fig. 4 / 13 claims on an `anatomy_scores` table (sets and training anatomies knee and
    brain): own anatomy better for the paper's models trained on both, brain easier for each
    model version, and the fit claims of each Fig. 4 panel. A model whose two versions are one
    (`identical_versions`) has no own-anatomy verdict and one brain-easier verdict (its
    knee-trained version); the caller stores the list."""
    if set(table["set"]) != {"knee", "brain"} or set(table["trained"]) != {"knee", "brain"}:
        raise ValueError(
            f"the anatomy table needs sets and training anatomies knee and brain, got sets "
            f"{sorted(set(table['set']))} and trained {sorted(set(table['trained']))}"
        )
    out = claims.check_all((OWN_ANATOMY, BRAIN_EASIER), scale, data, table=table)
    for test in ("brain", "knee"):
        points = groups.anatomy_points(table, test)
        out += fit_verdicts(points, "fig4", scale, data, case={"test": test})
    return out


def _hard_less_low_frequency(hardness: pd.DataFrame):
    hard = hardness.loc[hardness["hard"].astype(bool), "low_frequency_proportion"]
    rest = hardness.loc[~hardness["hard"].astype(bool), "low_frequency_proportion"]
    if hard.empty or rest.empty:
        raise ValueError("the hardness table needs hard and other candidates (column 'hard')")
    return claims.beats(rest.to_numpy(), hard.to_numpy(), names=("rest", "hard"), paired=False)


HARD_LOW_FREQUENCY = Claim(
    "darestani2021/fig14/hard_images_less_low_frequency",
    "'the challenging images indeed have a low low-frequency proportion' (App. B.3, Fig. 14): "
    "the mean share of k-space energy in the fully sampled centre is lower for the hard "
    "(fastMRI-A) slices than for the other candidates (compared unpaired).",
    _hard_less_low_frequency,
)


def hard_set_verdicts(hardness: pd.DataFrame, scale: str, data: str) -> list[Verdict]:
    """The Fig. 14 claim on the `hardness` table (columns hard, low_frequency_proportion)."""
    return claims.check_all((HARD_LOW_FREQUENCY,), scale, data, hardness=hardness)
