import math

import h5py
import pandas as pd
import pytest
import torch

from mrirobust import data, metrics, physics
from mrirobust.data.fastmri_io import header_xml, write_volume
from mrirobust.data.samples import Sample, annotated_samples, file_geometry, stack
from mrirobust.models import ZeroFilled
from mrirobust.papers.morshuis2022 import experiments as m
from mrirobust.papers.morshuis2022 import profile


def _attack(**overrides):
    return profile.attack("smoke", overrides)


def _noise(model, samples, **kwargs):
    return pd.concat(m.noise_attack(model, samples, **kwargs), ignore_index=True)


@pytest.fixture(scope="module")
def samples():
    return annotated_samples("smoke")


@pytest.fixture(scope="module")
def model(samples):
    return ZeroFilled(tuple(samples[0].load().target.shape))


def test_noise_attack_degrades_the_box_monotonically_and_eta0_is_clean(samples, model):
    subset = samples[:3]
    attack = _attack(eta_grid=[0.0, 0.01, 0.05], pgd_steps=3)
    table = _noise(model, subset, attack=attack, acceleration=4)
    assert len(table) == 3 * len(subset)
    kspace, mask, target, boxes = stack(subset, 4, 0)
    clean = model(kspace * mask, mask)
    clean_ssim = metrics.ssim(target, clean, data_range="max-min", region=boxes)
    at0 = table[table["eta"] == 0.0].set_index("sample").loc[[s.sample_id for s in subset]]
    torch.testing.assert_close(
        torch.tensor(at0["ssim_region"].to_numpy(), dtype=torch.float32),
        clean_ssim,
        atol=1e-5,
        rtol=0,
    )
    per_eta = table.groupby("eta")["ssim_region"].mean()
    assert per_eta[0.0] > per_eta[0.01] > per_eta[0.05]


def test_targeted_attack_hurts_the_box_more_than_the_whole_image_attack(samples, model):
    subset = samples[:3]
    kwargs = dict(attack=_attack(eta_grid=[0.03], pgd_steps=5), acceleration=4)
    region = _noise(model, subset, mode="region", **kwargs)["ssim_region"].mean()
    image = _noise(model, subset, mode="image", **kwargs)["ssim_region"].mean()
    assert region < image
    with pytest.raises(ValueError, match="mode"):
        _noise(model, subset, mode="box", attack=_attack(), acceleration=4)


def test_worst_angle_table_takes_the_largest_box_loss_within_each_bound(samples, model):
    attack = _attack(angle_max=2.0, angle_step=1.0)
    table = pd.concat(m.rotation_attack(model, samples[:2], attack=attack, acceleration=4))
    assert len(table) == 2 * 5  # angles -2, -1, 0, 1, 2
    worst = m.worst_angles(table, theta_maxes=[0, 1, 2])
    assert (worst[worst["theta_max"] == 0]["angle"] == 0).all()
    for (sample, bound), row in worst.set_index(["sample", "theta_max"]).iterrows():
        allowed = table[(table["sample"] == sample) & (table["angle"].abs() <= bound)]
        assert row["loss"] == allowed["loss"].max()
    by_bound = worst.groupby("theta_max")["loss"].mean()
    assert by_bound.is_monotonic_increasing
    with pytest.raises(ValueError, match="needs 0"):
        m.worst_angles(table[table["angle"] != 0], theta_maxes=[0])


def test_thermal_noise_estimate_matches_known_noise_on_a_scan_with_air(tmp_path):
    """A disk in air seen by 4 smooth coils, complex Gaussian noise of known std on every
    sample: the estimate in eta units matches sigma sqrt(2 H W) / ||k_i|| within 10 %."""
    H, W, sigma = 128, 96, 2e-3
    y, x = torch.meshgrid(torch.linspace(-1, 1, H), torch.linspace(-1, 1, W), indexing="ij")
    image = ((x**2 + y**2) < 0.4).to(torch.complex64)
    centres = [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    maps = torch.stack([torch.exp(-((x - a) ** 2 + (y - b) ** 2) / 2) for a, b in centres])
    g = torch.Generator().manual_seed(0)
    noise = torch.complex(torch.randn(4, H, W, generator=g), torch.randn(4, H, W, generator=g))
    kspace = physics.fft2c(image * maps) + sigma * noise
    path = tmp_path / "f.h5"
    write_volume(
        path,
        kspace[None].numpy(),
        {"reconstruction_rss": image.abs()[None, 32:96, 16:80].numpy()},
        header_xml((H, W, 1), (64, 64, 1), center=W // 2, maximum=W - 1),
        {},
    )
    sample = Sample(path, 0, torch.tensor([0, 0, 8, 8]), "x", *file_geometry(path))
    expected = (
        sigma * math.sqrt(2 * H * W) / torch.linalg.vector_norm(kspace, dim=(-2, -1))
    ).mean()
    noise = m.thermal_noise([sample, sample])  # one row per distinct slice
    assert len(noise) == 1 and noise["generated"].isna().all()  # no noise_std in the file
    assert noise["measured"].item() == pytest.approx(expected.item(), rel=0.1)


def test_thermal_noise_estimate_on_the_embedded_data_is_near_the_generated_noise(samples):
    """The embedded knee's air beside the anatomy holds faint signal (the ringing of the
    unacquired columns), so the background estimate can only err high: measured ~1.16x the
    generated noise at cpu scale, ~1.43x on the small smoke images. It must never read below
    the true noise nor far above it."""
    s = samples[0]
    path = data.split_dir("smoke", "knee", "val") / f"{s.fname}.h5"
    with h5py.File(path) as f:
        sigma = float(f.attrs["noise_std"])
    first, last = s.acquired
    kspace = s.load().kspace
    expected = sigma * math.sqrt(2 * kspace.shape[-2] * (last - first + 1))
    expected = (expected / torch.linalg.vector_norm(kspace, dim=(-2, -1))).mean().item()
    noise = m.thermal_noise([s])
    assert noise["generated"].item() == pytest.approx(expected, rel=1e-5)
    assert 0.95 * expected < noise["measured"].item() < 1.7 * expected


def test_examples_return_images_at_the_target_size(samples, model):
    s = samples[0]
    target = s.load().target
    size = tuple(target.shape)
    attack = _attack(pgd_steps=2)
    fig2 = m.noise_example({"zf": model}, s, attack=attack, eta=0.02, acceleration=8)
    assert set(fig2) == {"target", "target+noise_zf", "zf", "zf_attacked"}
    assert all(v.shape == size for v in fig2.values())
    assert not torch.allclose(fig2["zf"], fig2["zf_attacked"])
    fig3 = m.targeted_vs_image_example(model, s, attack=attack, eta=0.02)
    assert set(fig3) == {"target", "clean", "targeted", "image"}
    fig5 = m.rotation_example(model, s, angle=3.0)
    assert all(v.shape == size for v in fig5.values())
    error = (fig5["fully_sampled_rotated"] - target).abs().mean() / target.abs().mean()
    assert error < 0.1


def test_example_scores_use_the_full_target_range_for_psnr_and_ssim(samples, model):
    s = samples[0]
    kspace, mask, target, _ = stack([s], 8, 0)
    images = {"target": target[0], "zf": model(kspace * mask, mask)[0]}
    scores = m.example_scores(images, s)["zf"]
    pred = images["zf"][None]
    full_range = target.max() - target.min()
    mse = metrics.mse(target, pred, region=s.box)
    assert scores["psnr_region"] == pytest.approx(float(10 * torch.log10(full_range**2 / mse)))
    ssim = metrics.ssim(target, pred, data_range=full_range, region=s.box)
    assert scores["ssim_region"] == pytest.approx(float(ssim))


def test_experiment_tables_name_every_model_and_pick_the_largest_increase(samples, model):
    nets = {("zf", 4): model, ("zf", 8): model}
    attack = _attack(eta_grid=[0.0, 0.02], angle_max=2.0, angle_step=1.0, theta_max=[0.0, 2.0])
    chunks = []
    m.noise_attacks(
        nets, samples[:2], attack=attack, write=chunks.append, compare_accelerations=[8]
    )
    noise = pd.concat(chunks)
    assert sorted(set(zip(noise["acceleration"], noise["mode"], strict=True))) == [
        (4, "region"),
        (8, "image"),
        (8, "region"),
    ]
    assert set(noise["model"]) == {"zf"}
    chunks = []
    worst = m.rotation_attacks(nets, samples[:3], attack=attack, write=chunks.append, batch_size=2)
    assert len(chunks) == 2 * 2  # models x batches of 2 samples
    per_angle = pd.concat(chunks, ignore_index=True)
    # the worst angles gathered batch by batch are those of the whole table, in its order
    pd.testing.assert_frame_equal(worst, m.worst_angles(per_angle, attack["theta_max"]))
    sample, example = m.pick_rotation_example(worst, samples[:3], "zf", 8)
    rows = worst[(worst["acceleration"] == 8)].pivot(
        index="sample", columns="theta_max", values="loss"
    )
    increase = rows[2.0] - rows[0.0]
    assert example["sample"] == increase.idxmax() == sample.sample_id
    assert example["box"] == sample.box.tolist()
    with pytest.raises(ValueError, match="no rows of model 'unet'"):
        m.pick_rotation_example(worst, samples[:3], "unet", 8)


def test_pick_sample_prefers_the_label(samples):
    labelled = m.pick_sample(samples, samples[-1].label.upper())
    assert samples[-1].label in labelled.label
    assert m.pick_sample(samples, "no such label") is samples[0]
    with pytest.raises(ValueError, match="at least one"):
        m.pick_sample([], "ACL")
