import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from mrirobust import papers
from mrirobust.models import registry
from mrirobust.models.l1 import L1Wavelet
from mrirobust.papers.darestani2021 import claims as paper_claims
from mrirobust.papers.darestani2021 import groups
from mrirobust.papers.darestani2021.profile import GROUPS


def _shift_table(means: dict[str, tuple[float, float]], slices: int = 3) -> pd.DataFrame:
    """A shift_scores-like table: per model `slices` rows on "in" and "out" around the means."""
    rows = []
    for model, (x, y) in means.items():
        for i, offset in enumerate(np.linspace(-0.01, 0.01, slices)):
            rows.append({"method": model, "set": "in", "slice": i, "ssim": x + offset})
            rows.append({"method": model, "set": "out", "slice": i, "ssim": y + offset})
    return pd.DataFrame(rows)


MEANS = {
    "zero_filled": (0.50, 0.30),
    "unet": (0.80, 0.70),
    "unet/small": (0.75, 0.64),
    "varnet": (0.85, 0.76),
    "varnet/small": (0.78, 0.67),
    "l1": (0.70, 0.61),
    "l1/darestani_l1_dct": (0.68, 0.57),
    "convdecoder": (0.65, 0.55),
    "convdecoder/wide": (0.72, 0.60),
}


def test_every_scale_has_two_models_per_family():
    for scale in ("smoke", "cpu", "paper"):
        groups.check_groups(GROUPS.resolve(scale), min_models=2)
        for family, configs in GROUPS.resolve(scale).items():
            for config in configs:  # every config is known and gives a spec
                assert papers.model_spec(family, scale, config=config).method == family


def test_the_shape_scale_has_one_model_per_family_with_the_paper_structure():
    shape = GROUPS.resolve("shape")
    groups.check_groups(shape, min_models=1)
    assert all(len(configs) == 1 for configs in shape.values())
    paper = papers.model_spec("varnet", "paper", config="darestani").params
    cut = papers.model_spec("varnet", "shape", config="darestani_shape").params
    assert (
        cut["varnet_pools"] == paper["varnet_pools"] and cut["varnet_chans"] < paper["varnet_chans"]
    )
    unet = papers.model_spec("unet", "shape", config="darestani_shape").params
    reference = papers.model_spec("unet", "paper", config="darestani").params
    assert (
        [unet[k] for k in ("unet_chans", "unet_pools")]
        == [32, 4]
        == [reference[k] for k in ("unet_chans", "unet_pools")]
    )


def test_bad_groups_raise_naming_the_family():
    with pytest.raises(ValueError, match="unknown family 'resnet'"):
        groups.check_groups({"resnet": ["default"]})
    with pytest.raises(ValueError, match="distinct"):
        groups.check_groups({"unet": ["default", "default"]})
    with pytest.raises(ValueError, match=r"groups\['varnet'\] has 1 models.*>= 2"):
        groups.check_groups(
            {f: ["default", "x"] for f in ("unet", "l1", "convdecoder")} | {"varnet": ["default"]},
            min_models=2,
        )


def test_subset_names_unknown_families():
    assert groups.subset({"unet": ["a", "b"], "l1": ["c"]}, ["l1"]) == {"l1": ["c"]}
    with pytest.raises(ValueError, match=r"families \['vit'\] are not in the groups"):
        groups.subset({"unet": ["a"]}, ["vit"])


def test_labels_and_points_plot_the_resolution_fixed_model_out_of_distribution():
    assert groups.label("unet", ["default", "small"], "default") == "unet"
    assert groups.label("unet", ["default", "small"], "small") == "unet/small"
    table = _shift_table(MEANS)
    fixed = _shift_table({"varnet_fixed": (np.nan, 0.9)}).dropna()
    points = groups.in_vs_out(pd.concat([table, fixed]), "in", "out").set_index("model")
    assert set(points.index) == set(MEANS)
    # the paper's Fig. 2 plots VarNet with the resolution fix: its y is the fixed score
    assert points.loc["varnet", ["x", "y"]].tolist() == pytest.approx([0.85, 0.9])
    assert points.loc["varnet/small", "y"] == pytest.approx(0.67)
    assert points.loc["unet/small", "family"] == "unet"
    assert points.loc["unet/small", "gap"] == pytest.approx(0.11)


def test_linear_fit_matches_scipy_and_its_interval_covers_the_slope():
    rng = np.random.default_rng(0)
    x = np.linspace(0.5, 0.9, 12)
    points = pd.DataFrame({"x": x, "y": 0.9 * x - 0.05 + rng.normal(0, 0.01, x.size)})
    fit = groups.linear_fit(points)
    reference = stats.linregress(points["x"], points["y"])
    assert fit["slope"] == pytest.approx(reference.slope)
    assert fit["slope_ci_low"] < 0.9 < fit["slope_ci_high"]
    assert fit["intercept_ci_low"] < -0.05 < fit["intercept_ci_high"]
    line, low, high = groups.fit_band(fit, points, x)
    assert np.all(low < line) and np.all(line < high)
    with pytest.raises(ValueError, match=">= 3 points"):
        groups.linear_fit(points.head(2))


def test_fit_claims_read_the_stored_fit_and_zero_filled_is_a_sanity_check():
    def verdicts(table):
        found = paper_claims.shift_verdicts(table, "smoke", "synthetic", inside="in", outside="out")
        return {v.id.split("/")[-1]: v for v in found}

    table = _shift_table(MEANS)
    points = groups.in_vs_out(table, "in", "out")
    fit = groups.paper_fit(points)  # shift_fit.json
    assert set(groups.fitted(points)["family"]) == set(groups.FAMILIES)  # no zero-filled
    parallel = verdicts(table)["parallel_to_identity"]
    assert parallel.evidence["slope"] == pytest.approx(fit["slope"])
    assert parallel.evidence["slope_ci95"] == pytest.approx(
        [fit["slope_ci_low"], fit["slope_ci_high"]]
    )
    assert verdicts(table)["every_model_beats_zero_filled"].outcome == "holds"
    worse = verdicts(_shift_table({**MEANS, "convdecoder/wide": (0.45, 0.10)}))
    sanity = worse["every_model_beats_zero_filled"]
    assert sanity.outcome == "fails" and sanity.evidence["convdecoder/wide>zero_filled"][0] < 0


def test_anatomy_points_pair_the_two_training_anatomies():
    rows = [
        {"trained": t, "method": "unet", "set": s, "ssim": v}
        for (t, s), v in {
            ("knee", "knee"): 0.8,
            ("brain", "knee"): 0.7,
            ("brain", "brain"): 0.9,
            ("knee", "brain"): 0.85,
        }.items()
    ] + [{"trained": "knee", "method": "convdecoder", "set": "knee", "ssim": 0.6}]
    points = groups.anatomy_points(pd.DataFrame(rows), "knee")
    assert list(points["model"]) == ["unet"]  # convdecoder has no brain version
    assert points.iloc[0][["x", "y"]].tolist() == pytest.approx([0.8, 0.7])


def test_l1_basis_is_a_spec_key_only_when_not_the_wavelet():
    wavelet = papers.model_spec("l1", "smoke")
    dct = papers.model_spec("l1", "smoke", config="darestani_l1_dct")
    assert "l1_basis" not in wavelet.params and dct.params["l1_basis"] == "dct"
    assert registry.build(wavelet, (8, 8), lam=0.1).basis == "wavelet"
    built = registry.build(dct, (8, 8), lam=0.1)
    assert isinstance(built, L1Wavelet) and built.basis == "dct"
    with pytest.raises(ValueError, match="unknown l1 basis 'haar'; valid bases"):
        registry.build(registry.spec("l1", "smoke", l1_basis="haar"), (8, 8), lam=0.1)


def test_parameter_counts():
    unet = registry.build(papers.model_spec("unet", "smoke"), (16, 16))
    assert groups.parameter_count(unet, coils=4) == sum(p.numel() for p in unet.parameters())
    conv = registry.build(papers.model_spec("convdecoder", "smoke"), (16, 16))
    assert groups.parameter_count(conv, 8) > groups.parameter_count(conv, 4) > 0
    zero = registry.build(papers.model_spec("zero_filled", "smoke"), (16, 16))
    assert groups.parameter_count(zero, 4) == 0


def test_tv_fifth_method_beats_zero_filling_and_picks_the_lowest_ssim():
    from mrirobust.models.base import ZeroFilled
    from mrirobust.papers.darestani2021 import experiments, hard_set, sets

    slices = sets.validation_slices("smoke", 3, contrast=None)
    table, energies = hard_set.hardness(slices, lam=0.01, iterations=20)
    (batch,) = slices.batches(3)
    zero = ZeroFilled(tuple(batch.target.shape[-2:]))(batch.kspace * batch.mask, batch.mask)
    assert table["ssim"].mean() > float(experiments.scores(batch.target, zero)["ssim"].mean())
    assert list(table["ssim"]) == sorted(table["ssim"])
    assert hard_set.hardest(table, 0.34) == [table["slice"][0]]
    proportion = hard_set.low_frequency_proportion(batch.kspace, 4)
    by_id = table.set_index("slice")["low_frequency_proportion"]
    assert [by_id[i] for i in batch.ids] == pytest.approx(proportion.tolist())
    assert list(energies) == slices.ids
    torch.testing.assert_close(energies[slices.ids[1]], hard_set.column_energy(batch.kspace)[1])
    with pytest.raises(ValueError, match="hard_fraction must be in"):
        hard_set.hardest(table, 0.0)
    with pytest.raises(ValueError, match="tv_lam > 0"):
        hard_set.hardness(slices, lam=-1.0, iterations=20)


def test_low_frequency_proportion_and_column_energy():
    from mrirobust.papers.darestani2021 import hard_set

    kspace = torch.zeros(2, 2, 4, 25, dtype=torch.complex64)
    kspace[0, :, :, 12] = 1.0  # all energy in the centre column
    kspace[1, :, :, 12] = 1.0
    kspace[1, :, :, 0] = 1.0  # half of it at the edge (distance 12)
    proportion = hard_set.low_frequency_proportion(kspace, 4)  # round(25 * 0.08) = 2 columns
    assert proportion.tolist() == pytest.approx([1.0, 0.5])
    profile = hard_set.column_energy(kspace)
    assert profile.shape == (2, 13) and profile.sum(dim=1).tolist() == pytest.approx([1, 1])
    assert profile[1, 0] == pytest.approx(0.5) and profile[1, 12] == pytest.approx(0.5)
    # a narrower candidate (9 columns: distances 0-4) counts no energy beyond its width
    narrow = torch.zeros(1, 2, 4, 9, dtype=torch.complex64)
    narrow[0, :, :, 4] = 1.0
    energies = {"a": profile[0], "b": profile[1], "c": hard_set.column_energy(narrow)[0]}
    table = hard_set.energy_profile(energies, ["b", "c"])
    assert set(table["group"]) == {"hard", "rest"} and len(table) == 2 * 13
    hard = table[table["group"] == "hard"].set_index("distance")["energy_share"]
    assert hard[0] == pytest.approx(0.75) and hard[12] == pytest.approx(0.25)
    with pytest.raises(ValueError, match="not among the candidates"):
        hard_set.energy_profile(energies, ["d"])
