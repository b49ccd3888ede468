"""Huang & Liang's paper path on real-shaped data and another device: single-coil knee files of
two widths (as fastMRI's 368 / 372, here 72 / 76 columns at the smoke scale's 64 x 64 target)
written in the fastMRI format, and every experiment function run with the models on the
stand-in accelerator (`mrirobust.standin`), which fails wherever a GPU run would mix devices."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from mrirobust import devices, physics, standin
from mrirobust.data import fastmri_io
from mrirobust.papers.huang_liang import experiments as e
from mrirobust.papers.huang_liang.profile import EVALUATE
from mrirobust.training import adversarial, datasets

HEIGHT, SIZE, PAD = 128, 64, 4  # the smoke scale's target size (`zoo.image_size`)
# file name -> (split, k-space width, slices): two widths in each split, sorted by name
FILES = {
    "file1000001": ("train", 72, 3),
    "file1000002": ("train", 76, 3),
    "file1000003": ("val", 72, 2),
    "file1000004": ("val", 76, 3),
}
OVERRIDES = {"epochs": 1, "val_slices": 1, "eps_ref": [1e3], "eta": [0.02]}
EVALUATE_OVERRIDES = {"attack_slices": 0, "example_slices": [1, 3], "cross_slices": 0}


def _write(path, width: int, slices: int, seed: int) -> None:
    """A single-coil fastMRI file: a bright disc with noise, `PAD` unacquired columns on each
    side, the ESC target the magnitude image cropped to SIZE x SIZE."""
    g = torch.Generator().manual_seed(seed)
    rows, cols = torch.meshgrid(torch.arange(HEIGHT), torch.arange(width), indexing="ij")
    disc = ((rows - HEIGHT / 2) ** 2 / 1600 + (cols - width / 2) ** 2 / 600 < 1).float()
    image = (disc + 0.3 * torch.rand(slices, HEIGHT, width, generator=g)).to(torch.complex64)
    kspace = physics.fft2c(image) * 1e-3
    kspace[..., :PAD] = 0
    kspace[..., width - PAD :] = 0
    target = physics.center_crop(physics.ifft2c(kspace).abs(), (SIZE, SIZE))
    header = fastmri_io.header_xml(
        (HEIGHT, width, 1), (SIZE, SIZE, 1), center=width // 2 - PAD, maximum=width - 2 * PAD - 1
    )
    attrs = dict(acquisition="CORPD_FBK", max=float(target.max()), norm=1.0, patient_id=path.stem)
    fastmri_io.write_volume(
        path, kspace.numpy(), {"reconstruction_esc": target.numpy()}, header, attrs
    )


@pytest.fixture(scope="module")
def mixed_widths(tmp_path_factory):
    """The smoke scale's knee single-coil splits replaced by the files of `FILES`, with a
    fastMRI+ box on every validation slice; checkpoints in a temporary folder."""
    root = tmp_path_factory.mktemp("mixed")
    for seed, (name, (split, width, slices)) in enumerate(FILES.items()):
        (root / split).mkdir(exist_ok=True)
        _write(root / split / f"{name}.h5", width, slices, seed)
    boxes = pd.DataFrame(
        [
            {"file": name, "slice": i, "x": 16, "y": 20, "width": 24, "height": 20, "label": "x"}
            for name, (split, _, slices) in FILES.items()
            if split == "val"
            for i in range(slices)
        ]
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            datasets, "slices", lambda scale, split, *_: fastmri_io.list_slices(root / split)
        )
        mp.setattr(e.data, "scale_annotations", lambda scale, anatomy: boxes)
        mp.setenv("MRIROBUST_CHECKPOINTS", str(root / "checkpoints"))
        yield root


def _experiments(device_name: str, checkpoints, monkeypatch):
    """Train S, A(ε) and K(η) with the models on `device_name` and run every experiment."""
    monkeypatch.setenv("MRIROBUST_DEVICE", device_name)
    monkeypatch.setenv("MRIROBUST_CHECKPOINTS", str(checkpoints / device_name))
    trained = e.train_models(e.model_specs("smoke", OVERRIDES, kspace=True))
    ev = EVALUATE.resolve("smoke", EVALUATE_OVERRIDES)
    images = e.fig6(trained, "smoke", ev)
    table1, table1_slices = e.table1(trained, "smoke")
    return trained, {
        "table1": table1,
        "table1_slices": table1_slices,
        "fig6": images[0],
        "kspace": e.kspace_robustness(trained, "smoke", ev),
        "cross": e.cross_attacks(trained, "smoke", ev),
    }


def test_every_experiment_runs_on_another_device_and_gives_the_cpu_numbers(
    mixed_widths, monkeypatch
):
    with standin.active() as device:
        trained, tables = _experiments("standin", mixed_widths, monkeypatch)
        generators = [t.generator for t in trained.values() if t.generator is not None]
        assert {devices.of(m) for m in [t.recon for t in trained.values()] + generators} == {device}
    _, on_cpu = _experiments("cpu", mixed_widths, monkeypatch)
    val_slices = sum(n for split, _, n in FILES.values() if split == "val")
    assert len(tables["fig6"]) == 3 * 2 * val_slices  # attacks x models x slices
    assert set(tables["cross"].slice) == set(range(val_slices))
    for name, table in tables.items():
        numbers = table.select_dtypes("number").columns
        pd.testing.assert_frame_equal(
            table.drop(columns=numbers), on_cpu[name].drop(columns=numbers)
        )
        np.testing.assert_allclose(table[numbers], on_cpu[name][numbers], rtol=1e-4, atol=1e-5)


def test_minibatches_of_mixed_widths_are_full_and_of_one_shape(mixed_widths):
    model_spec = e.model_specs("smoke", OVERRIDES)["A(eps=1000)"]
    items = adversarial.slices("smoke", "train", "singlecoil")
    dataset = adversarial.dataset(model_spec, items, training=True)
    gen = e._generator(model_spec)()

    def batches(**params):
        changed = dataclasses.replace(model_spec, params={**model_spec.params, **params})
        return list(adversarial._minibatches(dataset, gen, changed, 0, 0, "cpu"))

    # 3 slices of each width, batches of 2: one full batch per width, the rest dropped
    assert sorted(b[0].shape[-1] for b, _ in batches()) == [72, 76]
    assert all(len(b[0]) == 2 and len(latent) == 2 for b, latent in batches())
    assert len(batches(steps_per_epoch=1)) == 1
    with pytest.raises(ValueError, match=r"no k-space shape has batch_size = 4 training slices"):
        batches(batch_size=4)


def test_table1_scores_volumes_whatever_the_batches(mixed_widths, monkeypatch):
    """The fastMRI rule streams volume by volume: batches of 2 (cut at the width change) and
    of 3 give the same volume and per-slice metrics, over every slice of the split."""
    monkeypatch.setenv("MRIROBUST_DEVICE", "cpu")
    monkeypatch.setenv("MRIROBUST_CHECKPOINTS", str(mixed_widths / "checkpoints" / "cpu"))
    trained = e.train_models({"S": e.model_specs("smoke", OVERRIDES)["S"]})
    t = trained["S"]
    three = dataclasses.replace(t.spec, params={**t.spec.params, "batch_size": 3})
    (by_two, slices_two), (by_three, slices_three) = (
        e.table1(trained, "smoke"),
        e.table1({"S": e.Trained(three, t.recon, None, t.state)}, "smoke"),
    )
    fastmri = by_two.rule == "fastmri"
    pd.testing.assert_frame_equal(by_two[fastmri], by_three[fastmri])
    per_slice = slices_two.rule == "fastmri"
    pd.testing.assert_frame_equal(slices_two[per_slice], slices_three[per_slice])
    val = sum(n for split, _, n in FILES.values() if split == "val")
    assert (by_two[by_two.split == "val"].slices == val).all()
    assert sorted(slices_two[slices_two.split == "val"].slice.unique()) == list(range(val))
    # a volume's SSIM is the mean of its slices': val holds files of 2 and 3 slices
    s_val = (slices_two.split == "val") & (slices_two.model == "S")
    ssim = slices_two[per_slice & s_val].ssim.to_numpy()
    volumes = by_two[fastmri & (by_two.split == "val") & (by_two.model == "S")].ssim
    assert volumes.item() == pytest.approx((ssim[:2].mean() + ssim[2:].mean()) / 2, rel=1e-6)
