"""Darestani 2021 experiments, claims and figures on tiny synthetic inputs."""

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from mrirobust import metrics, physics  # noqa: E402
from mrirobust.attacks.small_features import standardise  # noqa: E402
from mrirobust.data import samples  # noqa: E402
from mrirobust.models import ConvDecoder, L1Wavelet  # noqa: E402
from mrirobust.models.base import ZeroFilled  # noqa: E402
from mrirobust.models.l1 import BASES  # noqa: E402
from mrirobust.papers.darestani2021 import claims, experiments, figures, sets  # noqa: E402
from mrirobust.papers.darestani2021.profile import ATTACK  # noqa: E402

from ...attacks.conftest import SIZE, TinyCNN, column_mask, synthetic  # noqa: E402

IDS = ["a/0", "b/1"]


@pytest.fixture(scope="module")
def inputs():
    kspace, target, _, _ = synthetic(2, seed=10)
    return kspace, column_mask(), target


@pytest.fixture(scope="module")
def methods():
    torch.manual_seed(0)
    return {
        "zero_filled": ZeroFilled(SIZE),
        "unet": TinyCNN().eval(),
        "l1": L1Wavelet(SIZE, lam=1e-3, iterations=10),
        "convdecoder": ConvDecoder(SIZE, num_layers=3, channels=8, iterations=8),
    }


@pytest.fixture(scope="module")
def attack():
    return ATTACK.resolve("smoke", {"eps_grid": [0.0, 0.02, 0.05]})


def _set(kspace, mask, target, ids=IDS, boxes=None):
    return sets.SliceSet.from_tensors(kspace, mask, target, ids, boxes)


@pytest.fixture(scope="module")
def sweep(methods, inputs, attack):
    return experiments.attack_sweep(
        methods,
        ["unet", "l1", "convdecoder"],
        _set(*inputs),
        eps_grid=attack["eps_grid"],
        attack=attack,
    )


def test_attack_sweep_table_and_budgets(sweep, methods, inputs, attack):
    assert len(sweep) == 3 * len(methods) * 3 * 2  # attacked x methods x eps (0 + 2) x slices
    clean = sweep[sweep["eps"] == 0]
    assert (clean["ssim_drop"] == 0).all() and clean["budget"].isna().all()
    pgd = sweep[(sweep["attacked"] == "unet") & (sweep["eps"] > 0)]
    ratio = pgd["budget"] / pgd["eps"]
    assert ratio.between(0.99, 1 + 1e-5).all()  # PGD ends on the sphere
    two_step = sweep[(sweep["attacked"] != "unet") & (sweep["eps"] > 0)]
    assert (two_step["budget"] <= two_step["eps"] * (1 + 1e-5)).all()
    # the attacked method's own reconstruction is reused: it equals a fresh run on y + z
    kspace, mask, target = inputs
    images = {}
    table = experiments.attack_sweep(
        methods, ["l1"], _set(*inputs), eps_grid=[0.05], attack=attack, examples=images
    )
    y = physics.apply_mask(kspace, mask)
    z, attacked = experiments.own_attack(methods["l1"], y, mask, eps=[0.05], attack=attack)
    assert z.shape == (1, *kspace.shape) and attacked.shape == (1, 2, *SIZE)
    fresh = methods["l1"](physics.apply_mask(y + z[0], mask), mask)
    torch.testing.assert_close(attacked[0], fresh)
    own = table[(table["method"] == "l1") & (table["eps"] == 0.05)]
    scores = experiments.scores(target, fresh)["ssim"].double()
    torch.testing.assert_close(torch.tensor(own["ssim"].values), scores)
    # Fig. 9's images of the first slice
    assert set(images) == {"target", "l1_clean", "l1_attacked", "l1_perturbed_truth"}
    torch.testing.assert_close(torch.from_numpy(images["l1_attacked"]), fresh[0])
    torch.testing.assert_close(torch.from_numpy(images["l1_clean"]), methods["l1"](y, mask)[0])
    truth = physics.rss_crop(kspace[:1] + z[0, :1], SIZE)[0]
    torch.testing.assert_close(torch.from_numpy(images["l1_perturbed_truth"]), truth)


def test_attacks_in_chunks_equal_one_batch(methods, inputs, attack):
    """With a small recon_batch every eps and slice is attacked alone; the pieces go back in
    place (ConvDecoder fits each slice with its own network, so chunks change nothing)."""
    kspace, mask, _ = inputs
    y = physics.apply_mask(kspace, mask)
    method = methods["convdecoder"]
    whole = experiments.own_attack(method, y, mask, eps=[0.02, 0.05], attack=attack)
    parts = experiments.own_attack(
        method, y, mask, eps=[0.02, 0.05], attack={**attack, "recon_batch": 1}
    )
    assert parts[0].shape == whole[0].shape == (2, *kspace.shape)
    for a, b in zip(whole, parts, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_transfer_matrix_reads_the_sweep(sweep):
    matrix = experiments.transfer_matrix(sweep, 0.05)
    assert list(matrix.index) == ["convdecoder", "l1", "unet"]
    assert list(matrix.columns) == ["convdecoder", "l1", "unet", "zero_filled"]
    rows = sweep[(sweep["attacked"] == "l1") & (sweep["method"] == "unet") & (sweep["eps"] == 0.05)]
    assert matrix.loc["l1", "unet"] == pytest.approx(rows["ssim_drop"].mean())
    with pytest.raises(ValueError, match="no rows at eps 0.07"):
        experiments.transfer_matrix(sweep, 0.07)


def test_attack_verdicts(sweep):
    verdicts = claims.attack_verdicts(sweep, "smoke", "synthetic")
    ids = {(v.id.split("/")[-1], v.case.get("method")) for v in verdicts}
    assert ("vulnerable_to_own_attack", "l1") in ids and ("budgets_used", "unet") in ids
    assert ("damage_grows_with_eps", "convdecoder") in ids
    assert ("l1_attack_hurts_l1_more", None) in ids  # U-Net and l1 were both attacked
    by_id = {(v.id.split("/")[-1], v.case.get("method")): v for v in verdicts}
    assert by_id[("budgets_used", "unet")].holds
    own = sweep[(sweep["attacked"] == "l1") & (sweep["method"] == "l1") & (sweep["eps"] == 0.05)]
    vulnerable = by_id[("vulnerable_to_own_attack", "l1")]
    assert vulnerable.evidence["ssim_drop"] == pytest.approx(own["ssim_drop"].mean())
    assert vulnerable.evidence["n"] == len(IDS)  # an interval over the slices
    with pytest.raises(ValueError, match="empty"):
        claims.attack_verdicts(sweep.iloc[:0], "smoke", "synthetic")


def test_every_attack_table(methods, inputs, attack):
    kspace, mask, target = inputs
    small = {name: methods[name] for name in ("zero_filled", "l1")}
    maps, _ = experiments.heat_maps(small, kspace[0], mask, target[0], size=3, stride=7)
    table = experiments.every_attack(
        small, _set(*inputs), eps=0.05, attack=attack, feature_maps=maps
    )
    counts = table.groupby("method")["attack"].apply(set)
    assert counts["l1"] == set(experiments.ATTACKS)
    assert counts["zero_filled"] == set(experiments.ATTACKS) - {"two_step"}
    drops = table[table["attack"] != "small_features"]
    assert len(drops) == (4 + 3) * 2
    assert (drops["data_range"] == metrics.DEFAULT_DATA_RANGE).all()
    assert (table.loc[table["attack"] == "rotation", "value"] >= 0).all()
    features = table[table["attack"] == "small_features"].set_index("method")["value"]
    assert features["l1"] == pytest.approx(maps["l1"].mean().item())
    fig = figures.every_attack_heatmap(table)
    assert len(fig.axes) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"eps": 1.5}, r"eps must be a budget in \(0, 1\]"),
        ({"attack_overrides": {"angles": [-1.0, 1.0]}}, "angles must contain 0"),
        ({"methods": {}}, "methods is empty"),
        ({"slices": 0}, "the evaluation set is empty"),
        ({"feature_maps": {}}, "feature_maps must hold the methods"),
    ],
)
def test_every_attack_bad_input(methods, inputs, attack, kwargs, match):
    kspace, mask, target = inputs
    slices = kwargs.get("slices", 2)
    maps = kwargs.get("feature_maps", {"zero_filled": torch.ones(2, 2)})
    with pytest.raises(ValueError, match=match):
        experiments.every_attack(
            kwargs.get("methods", {"zero_filled": methods["zero_filled"]}),
            _set(kspace[:slices], mask, target[:slices], IDS[:slices]),
            eps=kwargs.get("eps", 0.05),
            attack={**attack, **kwargs.get("attack_overrides", {})},
            feature_maps=maps,
        )


def test_attack_sweep_bad_input(methods, inputs, attack):
    slices = _set(*inputs)
    with pytest.raises(ValueError, match="two_step_beta has no beta for method 'convdecoder'"):
        experiments.attack_sweep(
            methods,
            ["convdecoder"],
            slices,
            eps_grid=[0.05],
            attack={**attack, "two_step_beta": {"l1": 1.0}},
        )
    with pytest.raises(ValueError, match="attacked must be among"):
        experiments.attack_sweep(methods, ["varnet"], slices, eps_grid=[0.05], attack=attack)
    with pytest.raises(ValueError, match="attacked must be among"):
        experiments.attack_sweep(methods, [], slices, eps_grid=[0.05], attack=attack)
    with pytest.raises(ValueError, match=r"eps_grid must be a list of budgets in \[0, 1\]"):
        experiments.attack_sweep(methods, ["unet"], slices, eps_grid=[0.0], attack=attack)


def test_heat_maps_statistics_and_figures(methods, inputs, sweep):
    kspace, mask, target = inputs
    chosen = {name: methods[name] for name in ("zero_filled", "unet")}
    maps, heat = experiments.heat_maps(chosen, kspace[0], mask, target[0], size=3, stride=7)
    assert maps["unet"].shape == (4, 4)
    assert list(heat["method"]) == ["zero_filled", "unet"] and (heat["positions"] == 16).all()
    assert (heat["lattice"] == "none").all() and (heat["size"] == 3).all()
    row = heat.set_index("method").loc["unet"]
    errors = maps["unet"].flatten()
    assert row["cv"] == pytest.approx((errors.std(correction=0) / errors.mean()).item(), rel=1e-4)
    intensity = experiments.window_intensity(target[0], [0, 7], [14], 3)
    assert intensity[1, 0] == pytest.approx(target[0, 7:10, 14:17].mean().item())
    lattice, lattice_heat = experiments.heat_maps(
        chosen, kspace[0], mask, target[0], size=3, stride=7, lattice=(14, 14)
    )
    assert (lattice_heat["lattice"] == "14x14").all()
    agreement = experiments.lattice_agreement({"unet": maps["unet"]}, lattice)
    assert list(agreement["method"]) == ["unet"] and agreement["pearson_r"].iloc[0] > 0.8
    positions = experiments.heat_map_positions(maps, target[0], size=3, stride=7)
    assert len(positions) == 2 * 16 and set(positions["size"]) == {3}
    at = positions.set_index(["method", "row", "col"]).loc[("unet", 7, 14)]
    assert at["error"] == pytest.approx(maps["unet"][1, 2].item())
    assert at["intensity"] == pytest.approx(intensity[1, 0].item())
    verdicts = claims.feature_verdicts(
        positions, "smoke", "synthetic", size=3, agreement=agreement
    )  # neither l1 nor VarNet, no un-trained map: the lattice check alone
    assert [v.id.split("/")[-1] for v in verdicts] == ["lattice_matches_single_windows"]
    assert verdicts[0].holds
    with pytest.raises(ValueError, match="no method has both maps"):
        experiments.lattice_agreement({"varnet": maps["unet"]}, lattice)
    fig = figures.heat_map_panels(
        target[0].numpy(), {k: v.numpy() for k, v in maps.items()}, extent=(0, 24, 24, 0)
    )
    assert len(fig.axes) == 3
    assert len(figures.sweep_curves(sweep).axes) == 3
    assert len(figures.transfer_heatmap(sweep, 0.05).axes) == 2  # matrix + colour bar


def test_fig17_figure():
    stats = pd.DataFrame(
        [
            {"method": m, "size": k, "mean": e}
            for k in (2, 3)
            for m, e in (("convdecoder", 0.1), ("unet", 0.2 if k == 2 else 0.05))
        ]
    )
    assert len(figures.size_curves(stats).axes) == 1


def test_optimiser_maps_and_fig16(inputs):
    kspace, mask, target = inputs
    models = {
        name: ConvDecoder(SIZE, num_layers=3, channels=8, iterations=4, optimiser=name)
        for name in ("adam", "adam_beta0.98", "gd")
    }
    maps, positions = experiments.optimiser_maps(
        models, kspace[0], mask, target[0], size=3, stride=7, lattice=(7, 7)
    )
    assert set(maps) == set(models) and maps["gd"].shape == (4, 4)
    assert list(positions.columns) == ["optimiser", "size", "row", "col", "error", "intensity"]
    assert len(positions) == 3 * 16 and list(dict.fromkeys(positions["optimiser"])) == list(models)
    at = positions.set_index(["optimiser", "row", "col"]).loc[("gd", 7, 14)]
    assert at["error"] == pytest.approx(maps["gd"][1, 2].item())
    (verdict,) = claims.optimiser_verdicts(positions, "smoke", "synthetic")
    assert verdict.outcome in ("holds", "fails", "inconclusive")
    fig = figures.optimiser_panels(positions, target[0].numpy())
    assert len(fig.axes) == 3 + 1 + 1  # the maps, the mean errors, the colour bar


def test_fig13_figure_on_a_constructed_table():
    """Fig. 13: per training anatomy a panel, one point per model at (knee SSIM, brain SSIM)."""
    rows = [
        {"trained": trained, "method": m, "set": test, "slice": f"{test}/{i}", "ssim": value + i}
        for trained, models in (("knee", ("unet", "l1")), ("brain", ("unet",)))
        for m in models
        for test, value in (("knee", 0.6), ("brain", 0.7))
        for i in (0.0, 0.02)
    ]
    table = pd.DataFrame(rows)
    fig = figures.anatomy_by_test_set(table)
    knee_panel, brain_panel = fig.axes[:2]
    assert knee_panel.get_title() == "trained on knee" and len(fig.axes) == 2
    points = [tuple(bar.lines[0].get_xydata()[0]) for bar in knee_panel.containers]
    assert points == [pytest.approx((0.61, 0.71))] * 2  # mean over slices, above y = x
    assert len(brain_panel.containers) == 1
    with pytest.raises(ValueError, match="needs knee and brain test sets"):
        figures.anatomy_by_test_set(table[table["set"] == "knee"])


def test_validation_slices_pick_the_contrast_and_central_band():
    slices = sets.validation_slices("smoke", 2)
    (batch,) = slices.batches(8)  # the embedded files share one shape
    kspace, masks, targets, ids = batch.kspace, batch.mask, batch.target, batch.ids
    assert kspace.shape[0] == masks.shape[0] == targets.shape[0] == len(ids) == 2
    assert ids == slices.ids and slices.shapes == [tuple(kspace.shape[1:])] * 2
    assert masks.dtype == torch.bool and masks.shape[1:3] == (1, 1)
    for name in ids:
        file, index = name.split("/")
        assert 1 <= int(index) <= 2  # central band of 4 slices
    (again,) = sets.validation_slices("smoke", 2).batches(8)
    assert torch.equal(again.mask, masks) and again.ids == ids  # seeded masks
    # the masks are the ones every paper uses for that slice (data.samples.sample_mask)
    every = sets.validation_slices("smoke", 8, contrast=None, band=(0.0, 1.0))
    for sample in samples.annotated_samples("smoke")[:3]:
        one = every.subset([f"{sample.fname}/{sample.slice}"]).first()
        assert torch.equal(one.mask, samples.sample_mask(sample, 4, seed=0))
        torch.testing.assert_close(one.kspace[0], sample.load().kspace)
    with pytest.raises(ValueError, match="the evaluation set is empty"):
        sets.validation_slices("smoke", 0)
    with pytest.raises(ValueError, match="fewer than n = 99"):
        sets.validation_slices("smoke", 99)


def test_annotated_slices_and_real_features(methods):
    slices = sets.annotated_slices("smoke", 2)
    (batch,) = slices.batches(8)
    kspace, masks, targets, boxes, ids = (
        batch.kspace,
        batch.mask,
        batch.target,
        batch.boxes,
        batch.ids,
    )
    assert kspace.shape[0] == boxes.shape[0] == len(ids) == 2 and len(set(ids)) == 2
    x, y, w, h = boxes[0].tolist()
    assert 0 <= x and x + w <= targets.shape[-1] and 0 <= y and y + h <= targets.shape[-2]
    with pytest.raises(ValueError, match="fewer than n = 50"):
        sets.annotated_slices("smoke", 50)
    size = tuple(targets.shape[-2:])
    chosen = {"zero_filled": ZeroFilled(size), "l1": L1Wavelet(size, lam=1e-3, iterations=5)}
    table = experiments.real_features(chosen, slices, batch=8)
    assert len(table) == 4 and set(table["method"]) == set(chosen)
    # the feature error is the box mean of the squared difference of the standardised images
    zf = physics.rss_crop(physics.apply_mask(kspace, masks), size)
    diff = (standardise(zf[0]) - standardise(targets[0])) ** 2
    expected = diff[y : y + h, x : x + w].mean().item()
    row = table[(table["method"] == "zero_filled") & (table["slice"] == ids[0])]
    assert row["feature_mse"].iloc[0] == pytest.approx(expected, rel=1e-5)
    assert len(figures.real_features(table).axes) == 1


def test_l1_bases_attacked_in_a_sweep(inputs, attack):
    kspace, mask, target = inputs
    bases = {f"l1_{b}": L1Wavelet(SIZE, lam=1e-3, iterations=8, basis=b) for b in BASES}
    sweep = experiments.attack_sweep(
        bases, ["l1_dct"], _set(*inputs), eps_grid=[0.0, 0.05], attack=attack
    )
    (verdict,) = claims.basis_verdicts(sweep, "smoke", "synthetic")
    assert verdict.case == {"basis": "l1_dct"}
    own = sweep[(sweep["method"] == "l1_dct") & (sweep["eps"] == 0.05)]["ssim_drop"].mean()
    assert (
        verdict.evidence["ssim_drop"] == pytest.approx(own) and "min_drop" not in verdict.evidence
    )


def test_shift_scores_and_claims(methods, inputs):
    kspace, mask, target = inputs
    # the shifted set: the same slices without readout margin (24 of 32 rows), more noise
    images = physics.center_crop(physics.ifft2c(kspace), (24, 32))
    g = torch.Generator().manual_seed(0)
    noise = 0.05 * torch.randn(images.shape, generator=g, dtype=images.dtype)
    shifted = physics.fft2c(images + noise)
    test_sets = {
        "knee": _set(kspace, mask, target),
        "shifted": _set(shifted, mask, physics.rss_crop(shifted, SIZE)),
    }
    chosen = {name: methods[name] for name in ("zero_filled", "unet")}
    table = experiments.shift_scores(chosen, test_sets, batch=8, fixed={"unet": 32})
    counts = table.groupby(["set", "method"]).size()
    assert counts[("knee", "unet")] == counts[("shifted", "unet_fixed")] == 2
    assert ("knee", "unet_fixed") not in counts.index  # the knee set has the trained length
    verdicts = claims.shift_verdicts(table, "smoke", "t", inside="knee", outside="shifted")
    ids = [v.id.split("/")[-1] for v in verdicts]
    assert ids == [  # one family: no best-stays-best, no fit (it needs >= 3 models)
        "every_model_drops",
        "every_model_beats_zero_filled",
        "resolution_fix_helps",
    ]
    assert verdicts[2].case["method"] == "unet"
    assert "drop_zero_filled" not in verdicts[0].evidence
    assert len(figures.in_vs_out(table, "knee", "shifted").axes) == 1
    with pytest.raises(ValueError, match="fixed names methods"):
        experiments.shift_scores(chosen, test_sets, batch=8, fixed={"varnet": 32})
    with pytest.raises(ValueError, match="no rows"):
        claims.shift_verdicts(table, "smoke", "t", inside="knee", outside="brain")


def test_anatomy_scores_and_claims(methods, inputs):
    kspace, mask, target = inputs
    other = synthetic(2, seed=20)
    test_sets = {"knee": _set(kspace, mask, target), "brain": _set(other[0], mask, other[1])}
    trained = {
        "knee": {"zero_filled": methods["zero_filled"], "l1": methods["l1"]},
        "brain": {"l1": L1Wavelet(SIZE, lam=1e-2, iterations=10)},
    }
    table = experiments.anatomy_scores(trained, test_sets, batch=8)
    assert len(table) == (2 + 1) * 2 * 2  # methods x sets x slices
    assert set(table["trained"]) == {"knee", "brain"}
    verdicts = claims.anatomy_verdicts(table, "smoke", "t")
    own = [v for v in verdicts if v.id.endswith("own_anatomy_better")]
    assert [v.case for v in own] == [
        {"method": "l1", "test": "brain"},
        {"method": "l1", "test": "knee"},
    ]
    means = table.groupby(["trained", "method", "set"])["ssim"].mean()
    gap = means[("brain", "l1", "brain")] - means[("knee", "l1", "brain")]
    assert own[0].evidence["gap"] == pytest.approx(gap)  # paired over the brain slices
    easier = [v for v in verdicts if v.id.endswith("brain_easier")]
    assert len(easier) == 2  # l1 trained on knee and on brain; zero-filling is no paper method
    assert len(figures.anatomy_panels(table).axes) == 2
    with pytest.raises(ValueError, match="needs sets and training anatomies knee and brain"):
        claims.anatomy_verdicts(table[table["trained"] == "knee"], "smoke", "t")
