"""The Morshuis experiments on real-shaped data and on another device.

Synthetic fastMRI files with different widths and coil counts (as knee files of 368 / 372
columns and 15 / 16 coils) and a narrow one (a brain image narrower than the target, which
fastMRI crops to a square): samples are batched by k-space shape, read one batch at a time, and
attacked by a model on the stand-in device (`mrirobust.standin`, which fails wherever a GPU run
would mix devices) with CPU samples, giving the CPU's numbers."""

import copy
import weakref

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from mrirobust import physics, standin
from mrirobust.data import samples as samples_module
from mrirobust.data.fastmri_io import header_xml, write_volume
from mrirobust.data.samples import Sample, batches, file_geometry, stack
from mrirobust.models import ZeroFilled
from mrirobust.models.unet import UNetRecon
from mrirobust.papers.morshuis2022 import experiments as m
from mrirobust.papers.morshuis2022 import profile

matplotlib.use("Agg")

SIZE = (16, 16)  # the target size (320 x 320 in the real data)
# name: slices, coils, k-space width (readout 32): two widths and coil counts, and a file
# narrower than the target
FILES = {"a": (4, 3, 24), "b": (3, 4, 26), "c": (1, 2, 12)}
ATTACK = profile.attack(
    "smoke",
    {"eta_grid": [0.0, 0.02], "pgd_steps": 1, "angle_max": 2.0, "angle_step": 2.0},
)


def _write(path, slices, coils, width, seed):
    """A fastMRI file: a bright rectangle seen by smooth coils, plus noise."""
    g = torch.Generator().manual_seed(seed)
    image = torch.zeros(32, width, dtype=torch.complex64)
    image[8:24, width // 4 : 3 * width // 4] = 1.0
    image[12:18, width // 2 - 2 : width // 2 + 2] = 2.0
    maps = torch.randn(slices, coils, 1, 1, generator=g, dtype=torch.complex64) + 1
    kspace = physics.fft2c(image * maps)
    kspace = kspace + 0.05 * torch.randn(kspace.shape, generator=g, dtype=torch.complex64)
    rss = physics.rss(physics.ifft2c(kspace), dim=1)[:, 8:24]  # (slices, 16, width)
    target = torch.zeros(slices, *SIZE)  # a narrow image's target: zero beside it
    cols = min(width, SIZE[1])
    first = (width - cols) // 2
    target[..., (SIZE[1] - cols) // 2 :][..., :cols] = rss[..., first : first + cols]
    header = header_xml((32, width, 1), (*SIZE, 1), center=width // 2, maximum=width - 1)
    write_volume(path, kspace.numpy(), {"reconstruction_rss": target.numpy()}, header, {})


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """One box per slice, two on the first slice; the narrow file's box fits its 12 x 12 image."""
    root = tmp_path_factory.mktemp("shapes")
    found = []
    for seed, (name, (slices, coils, width)) in enumerate(FILES.items()):
        path = root / f"{name}.h5"
        _write(path, slices, coils, width, seed)
        boxes = [(4, 4, 8, 8), (3, 5, 7, 7)] if width >= SIZE[1] else [(2, 2, 8, 8)]
        for index in range(slices):
            for box in boxes if index == 0 else boxes[:1]:
                found.append(Sample(path, index, torch.tensor(box), "x", *file_geometry(path)))
    return found


@pytest.fixture
def reads(monkeypatch):
    """Every slice read, (file, slice, slices held when it was read): a slice counts as held
    while its k-space tensor lives."""
    log, held = [], set()
    read_slice = samples_module.read_slice

    def counting(path, index):
        read = read_slice(path, index)
        held.add(id(read.kspace))
        weakref.finalize(read.kspace, held.discard, id(read.kspace))
        log.append((read.fname, index, len(held)))
        return read

    monkeypatch.setattr(samples_module, "read_slice", counting)
    return log


def test_batches_keep_one_kspace_shape_and_read_each_slice_once(samples, reads):
    assert not reads  # a sample holds no image data until it is stacked
    groups = list(batches(samples, 4))
    assert [[s.fname for s in g] for g in groups] == [["a"] * 4, ["a"], ["b"] * 4, ["c"]]
    kspace, mask, target, boxes = stack(groups[0], 4, 0)
    assert [(f, i) for f, i, _ in reads] == [("a", 0), ("a", 1), ("a", 2)]  # slice 0 once
    assert kspace.shape == (4, 3, 32, 24) and mask.shape == (4, 1, 1, 24)
    assert target.shape == (4, *SIZE) and boxes.shape == (4, 4)
    assert torch.equal(kspace[0], kspace[1]) and not torch.equal(boxes[0], boxes[1])
    kspace, mask, target, boxes = stack(groups[-1], 4, 0)
    assert kspace.shape == (1, 2, 32, 12) and target.shape == (1, 12, 12)  # fastMRI's crop
    with pytest.raises(ValueError, match="one k-space shape.*b \\(4, 32, 26\\)"):
        stack([samples[0], samples[5]], 4, 0)


def test_attacks_hold_one_batch_of_slices_at_a_time(samples, reads):
    model, batch_size = ZeroFilled(SIZE), 2
    noise, rotation = [], []
    m.noise_attacks(
        {("zf", 4): model}, samples, attack=ATTACK, write=noise.append, batch_size=batch_size
    )
    m.rotation_attacks(
        {("zf", 4): model}, samples, attack=ATTACK, write=rotation.append, batch_size=batch_size
    )
    m.thermal_noise(samples)
    slices = {(s.fname, s.slice) for s in samples}
    assert len(reads) >= 3 * len(slices)  # every slice read by each of the three passes
    assert max(held for _, _, held in reads) <= batch_size
    noise, rotation = pd.concat(noise), pd.concat(rotation)
    assert len(noise) == len(samples) * 2 and len(rotation) == len(samples) * 3
    assert np.isfinite(noise[["ssim_region", "psnr_region", "ssim_image", "loss"]]).all().all()
    assert noise.groupby("eta")["ssim_region"].mean().is_monotonic_decreasing


MODELS = {
    "zero_filled": lambda: ZeroFilled(SIZE),
    "unet": lambda: UNetRecon(SIZE, chans=2, num_pools=1),
}


def _experiments(model, samples):
    """Every experiment function of the paper on `samples` with `model`: the tables and the
    example images (the explorer's views on a device: tests/papers/morshuis2022/test_explorer)."""
    narrow = samples[-1]
    tables = {
        "noise": pd.concat(m.noise_attack(model, samples, attack=ATTACK, acceleration=4)),
        "image": pd.concat(
            m.noise_attack(model, samples, attack=ATTACK, acceleration=8, mode="image")
        ),
        "rotation": pd.concat(m.rotation_attack(model, samples, attack=ATTACK, acceleration=4)),
    }
    images = {
        **m.noise_example({"net": model}, narrow, attack=ATTACK, acceleration=4),
        **{
            f"fig3_{k}": v
            for k, v in m.targeted_vs_image_example(model, samples[0], attack=ATTACK).items()
        },
        **{f"fig5_{k}": v for k, v in m.rotation_example(model, narrow, angle=2.0).items()},
    }
    return tables, images


@pytest.mark.parametrize("name", list(MODELS))
def test_a_model_on_another_device_gives_the_cpu_numbers_from_cpu_samples(name, samples):
    torch.manual_seed(0)
    cpu_model = MODELS[name]().eval()
    expected_tables, expected_images = _experiments(cpu_model, samples)
    with standin.active() as device:
        model = copy.deepcopy(cpu_model).to(device)
        tables, images = _experiments(model, samples)
    for key, table in tables.items():
        pd.testing.assert_frame_equal(table, expected_tables[key], atol=1e-5, rtol=1e-4)
    assert set(images) == set(expected_images)
    for key, image in images.items():
        assert image.device.type == "cpu", key
        torch.testing.assert_close(image, expected_images[key], atol=1e-5, rtol=1e-4)
    assert images["target"].shape == (12, 12)  # the narrow example at fastMRI's crop
