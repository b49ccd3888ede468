"""Darestani 2021 on real shapes and another device: sets of slices whose k-space widths and
coil counts differ (one narrower than the image, as some fastMRI brain files), read one shape
at a time, and every experiment with its models on the stand-in accelerator
(`mrirobust.standin`) and its data on the CPU, as a GPU run has it."""

import pandas as pd
import pytest
import torch

from mrirobust import costs, physics, standin
from mrirobust.models import ConvDecoder, L1Wavelet
from mrirobust.models.base import ZeroFilled
from mrirobust.models.unet import UNetRecon
from mrirobust.papers.darestani2021 import experiments, hard_set, sets
from mrirobust.papers.darestani2021.profile import ATTACK

SIZE = (24, 24)
# (coils, width): two of one shape, another width and coil count, a narrow one (20 < 24 columns)
SHAPES = [(4, 32), (4, 32), (3, 36), (5, 20)]


def _slice(seed: int, coils: int, width: int, height: int = 32):
    """A phantom's k-space `(C, H, W)`, its seeded 4x column mask `(1, 1, 1, W)` and target
    `(h, w)` at `physics.crop_size` (square at the width when narrower than SIZE)."""
    g = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(
        torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing="ij"
    )
    image = ((ys / 0.8) ** 2 + (xs / 0.7) ** 2 < 1).float()
    image = image * (1 + 0.5 * torch.rand(height, width, generator=g))
    sens = torch.stack([torch.exp(-((xs - c) ** 2 + ys**2)) for c in torch.linspace(-1, 1, coils)])
    kspace = physics.fft2c(image.to(torch.complex64) * sens.to(torch.complex64))
    mask = physics.column_mask(width, 4, 0.25, seed=seed).view(1, 1, 1, width)
    target = physics.rss_crop(kspace[None], physics.crop_size(SIZE, width))[0]
    return kspace, mask, target


@pytest.fixture(scope="module")
def mixed():
    """The four slices of SHAPES as one set, with a box on each target."""
    parts = [_slice(seed, coils, width) for seed, (coils, width) in enumerate(SHAPES)]
    kspace, masks, targets = (list(p) for p in zip(*parts, strict=True))
    boxes = torch.tensor([[4, 5, 6, 7]] * len(SHAPES))
    return sets.SliceSet.from_tensors(kspace, masks, targets, ["a/0", "a/1", "b/0", "c/0"], boxes)


def _methods():
    torch.manual_seed(0)
    return {
        "zero_filled": ZeroFilled(SIZE),
        "unet": UNetRecon(SIZE, chans=4, num_pools=2).eval(),
        "l1": L1Wavelet(SIZE, lam=1e-3, iterations=4),
        "convdecoder": ConvDecoder(SIZE, num_layers=3, channels=8, iterations=3),
    }


@pytest.fixture(scope="module")
def attack():
    return ATTACK.resolve("smoke", {"eps_grid": [0.0, 0.05], "angles": [0.0, 2.0]})


def test_batches_are_runs_of_one_shape(mixed):
    batches = list(mixed.batches(8))
    assert [b.ids for b in batches] == [["a/0", "a/1"], ["b/0"], ["c/0"]]
    assert [tuple(b.kspace.shape) for b in batches] == [
        (2, 4, 32, 32),
        (1, 3, 32, 36),
        (1, 5, 32, 20),
    ]
    assert batches[2].target.shape == (1, 20, 20)  # the narrow image's square crop
    assert [b.ids for b in mixed.batches(1)] == [[i] for i in mixed.ids]
    assert torch.equal(batches[0].boxes, mixed.boxes[:2])
    picked = mixed.subset(["c/0", "a/1"])
    assert picked.ids == ["c/0", "a/1"] and picked.shapes == [(5, 32, 20), (4, 32, 32)]
    assert torch.equal(picked.first().kspace[0], batches[2].kspace[0])
    with pytest.raises(ValueError, match="not in the set"):
        mixed.subset(["z/9"])
    with pytest.raises(ValueError, match="batch size must be an integer >= 1"):
        next(mixed.batches(0))
    with pytest.raises(ValueError, match="must hold the same slices"):
        sets.SliceSet.from_tensors([batches[1].kspace[0]], batches[1].mask, [], ["x"])


def _sorted(table: pd.DataFrame, keys) -> pd.DataFrame:
    return table.sort_values([k for k in (*keys, "slice") if k in table]).reset_index(drop=True)


def _run_all(methods, slices, attack):
    """Every experiment of the paper on `slices` (tables, and the example images)."""
    examples = {}
    sweep = experiments.attack_sweep(
        methods,
        ["unet", "l1", "convdecoder"],
        slices,
        eps_grid=attack["eps_grid"],
        attack=attack,
        examples=examples,
    )
    first = slices.first()
    maps, heat = experiments.heat_maps(
        methods, first.kspace[0], first.mask, first.target[0], size=3, stride=9
    )
    every = experiments.every_attack(
        {n: methods[n] for n in ("zero_filled", "l1")},
        slices,
        eps=0.05,
        attack=attack,
        feature_maps={n: maps[n] for n in ("zero_filled", "l1")},
    )
    features = experiments.real_features(methods, slices, batch=8)
    shifted = sets.SliceSet.from_tensors(
        *zip(*[_slice(9, 4, 32, height=24), _slice(10, 3, 36, height=24)], strict=True),
        ["s/0", "s/1"],
    )
    shift = experiments.shift_scores(
        methods, {"in": slices, "out": shifted}, batch=8, fixed={"unet": 32}, examples=examples
    )
    return {"sweep": sweep, "heat": heat, "every": every, "features": features, "shift": shift}, (
        examples
    )


@pytest.fixture(scope="module")
def on_cpu(mixed, attack):
    return _run_all(_methods(), mixed, attack)


def test_every_experiment_scores_every_slice_of_a_mixed_set(on_cpu, mixed, attack):
    tables, examples = on_cpu
    sweep = tables["sweep"]
    assert len(sweep) == 3 * 4 * 2 * len(mixed)  # attacked x methods x eps x slices
    assert sweep["ssim"].notna().all() and set(sweep["slice"]) == set(mixed.ids)
    assert (sweep.loc[sweep["eps"] > 0, "budget"] <= 0.05 * (1 + 1e-5)).all()
    assert examples["unet_perturbed_truth"].shape == examples["target"].shape == (24, 24)
    assert set(tables["features"]["slice"]) == set(mixed.ids)
    assert tables["features"]["feature_mse"].notna().all()
    shift = tables["shift"]
    assert set(shift.loc[shift["set"] == "in", "slice"]) == set(mixed.ids)
    # the resolution fix for the 24-row set only, on both of its shapes
    fixed = shift[shift["method"] == "unet_fixed"]
    assert set(fixed["set"]) == {"out"} and len(fixed) == 2
    assert set(tables["every"]["slice"]) == set(mixed.ids)
    # a slice scores the same in a batch of its shape as alone
    alone = experiments.real_features(_methods(), mixed.subset(["a/1"]), batch=1)
    together = tables["features"].set_index(["method", "slice"])
    for row in alone.itertuples():
        assert row.ssim == pytest.approx(together.loc[(row.method, "a/1"), "ssim"], abs=1e-5)


def test_fastmri_a_streams_a_mixed_pool(mixed):
    table, energies = hard_set.hardness(mixed, lam=0.01, iterations=5)
    assert sorted(table["slice"]) == sorted(mixed.ids) and table["ssim"].is_monotonic_increasing
    assert [len(energies[i]) for i in mixed.ids] == [17, 17, 19, 11]  # W // 2 + 1
    profile = hard_set.energy_profile(energies, hard_set.hardest(table, 0.5))
    assert len(profile) == 2 * 19
    sums = profile.groupby("group")["energy_share"].sum()
    assert sums.tolist() == pytest.approx([1.0, 1.0])
    # seeded per slice: the scores do not depend on what was scored before
    again, _ = hard_set.hardness(mixed.subset(mixed.ids[::-1]), lam=0.01, iterations=5)
    pd.testing.assert_frame_equal(again, table)


def test_experiments_with_models_on_another_device(on_cpu, mixed, attack, tmp_path, monkeypatch):
    """Models on the stand-in device, the set on the CPU: the same tables as on the CPU."""
    log = tmp_path / "steps.jsonl"
    monkeypatch.setenv(costs.ENV, str(log))
    with standin.active() as device:
        methods = {name: m.to(device) for name, m in _methods().items()}
        tables, examples = _run_all(methods, mixed, attack)
    expected, expected_examples = on_cpu
    keys = {"sweep": ["attacked", "method", "eps"], "every": ["method", "attack"]}
    for name, table in tables.items():
        key = keys.get(name, ["method", "set"] if name == "shift" else ["method"])
        pd.testing.assert_frame_equal(
            _sorted(table, key), _sorted(expected[name], key), rtol=1e-3, atol=1e-4
        )
    assert set(examples) == set(expected_examples)
    # every reconstruction and two-step step was timed, per method
    summary = {(s["kind"], s["model"]) for s in costs.summary(log)}
    assert {("reconstruct", "ConvDecoder"), ("reconstruct", "L1Wavelet")} <= summary
    assert {("attack", "ConvDecoder"), ("fit", "L1Wavelet"), ("attack", "UNetRecon")} <= summary
