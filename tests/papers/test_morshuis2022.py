import math

import h5py
import pytest
import torch

from mrirobust import data, metrics, physics, scales
from mrirobust.models import ZeroFilled
from mrirobust.papers import morshuis2022 as m


def _attack(**overrides):
    return scales.resolve("smoke", "attack", overrides)


@pytest.fixture(scope="module")
def samples():
    return m.annotated_samples("smoke")


@pytest.fixture(scope="module")
def model(samples):
    return ZeroFilled(tuple(samples[0].target.shape))


def test_one_sample_per_annotated_box_of_the_validation_split(samples):
    boxes = data.scale_annotations("smoke", "knee")
    val_files = {p.stem for p in data.split_dir("smoke", "knee", "val").glob("*.h5")}
    assert len(samples) == boxes["file"].isin(val_files).sum() > 0
    for s in samples:
        assert s.kspace.dtype == torch.complex64 and s.kspace.ndim == 3
        x, y, w, h = s.box.tolist()
        assert 0 <= x and x + w <= s.target.shape[1] and 0 <= y and y + h <= s.target.shape[0]
    assert len(m.annotated_samples("smoke", max_samples=2)) == 2
    with pytest.raises(ValueError, match="max_samples"):
        m.annotated_samples("smoke", max_samples=0)


def test_masks_are_seeded_per_slice_and_stay_on_acquired_columns(samples):
    s = samples[0]
    a, b = m.sample_mask(s, 4, seed=0), m.sample_mask(s, 4, seed=0)
    assert torch.equal(a, b) and a.shape == (1, 1, 1, s.kspace.shape[-1])
    assert not torch.equal(a, m.sample_mask(s, 4, seed=1))
    first, last = s.acquired
    assert not a[..., :first].any() and not a[..., last + 1 :].any()
    assert m.sample_mask(s, 8).sum() < a.sum()
    with pytest.raises(ValueError, match="acceleration"):
        m.sample_mask(s, 3)


def test_noise_attack_degrades_the_box_monotonically_and_eta0_is_clean(samples, model):
    subset = samples[:3]
    attack = _attack(eta_grid=[0.0, 0.01, 0.05], pgd_steps=3)
    table = m.noise_attack(model, subset, attack=attack, acceleration=4)
    assert len(table) == 3 * len(subset)
    kspace, mask, target, boxes = m.stack(subset, 4, 0)
    clean = model(kspace * mask, mask)
    clean_ssim = metrics.ssim(target, clean, region=boxes)
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
    region = m.noise_attack(model, subset, mode="region", **kwargs)["ssim_region"].mean()
    image = m.noise_attack(model, subset, mode="image", **kwargs)["ssim_region"].mean()
    assert region < image
    with pytest.raises(ValueError, match="mode"):
        m.noise_attack(model, subset, mode="box", attack=_attack(), acceleration=4)


def test_worst_angle_table_takes_the_largest_box_loss_within_each_bound(samples, model):
    attack = _attack(angle_max=2.0, angle_step=1.0)
    table = m.rotation_attack(model, samples[:2], attack=attack, acceleration=4)
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


def test_thermal_noise_estimate_matches_known_noise_on_a_scan_with_air():
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
    sample = m.Sample(
        kspace, image.abs()[32:96, 16:80], torch.tensor([0, 0, 8, 8]), "x", "f", 0, (0, W - 1)
    )
    expected = (
        sigma * math.sqrt(2 * H * W) / torch.linalg.vector_norm(kspace, dim=(-2, -1))
    ).mean()
    assert m.thermal_noise_eta([sample]) == pytest.approx(expected.item(), rel=0.1)


def test_thermal_noise_estimate_on_the_embedded_data_is_near_the_generated_noise(samples):
    """The embedded knee's air beside the anatomy holds faint signal, so the background estimate
    can only err high: measured 1.07-1.14x the generated noise at cpu scale, ~1.5x on the small
    smoke images. It must never read below the true noise nor far above it."""
    s = samples[0]
    path = data.split_dir("smoke", "knee", "val") / f"{s.fname}.h5"
    with h5py.File(path) as f:
        sigma = float(f.attrs["noise_std"])
    first, last = s.acquired
    expected = sigma * math.sqrt(2 * s.kspace.shape[-2] * (last - first + 1))
    expected = (expected / torch.linalg.vector_norm(s.kspace, dim=(-2, -1))).mean().item()
    assert 0.95 * expected < m.thermal_noise_eta([s]) < 1.7 * expected


def test_summary_has_a_confidence_band_around_the_mean():
    import pandas as pd

    table = pd.DataFrame({"eta": [0, 0, 0, 1, 1, 1], "ssim_region": [1, 0.8, 0.9, 0.5, 0.7, 0.6]})
    summary = m.summarise(table, ["eta"]).set_index("eta")
    assert summary.loc[0, "mean"] == pytest.approx(0.9)
    assert summary.loc[0, "ci_low"] < 0.9 < summary.loc[0, "ci_high"]
    assert summary.loc[0, "count"] == 3


def test_examples_return_images_at_the_target_size(samples, model):
    s = samples[0]
    size = tuple(s.target.shape)
    attack = _attack(pgd_steps=2)
    fig2 = m.noise_example({"zf": model}, s, attack=attack, eta=0.02, acceleration=8)
    assert set(fig2) == {"target", "target+noise_zf", "zf", "zf_attacked"}
    assert all(v.shape == size for v in fig2.values())
    assert not torch.allclose(fig2["zf"], fig2["zf_attacked"])
    fig3 = m.targeted_vs_image_example(model, s, attack=attack, eta=0.02)
    assert set(fig3) == {"target", "clean", "targeted", "image"}
    fig5 = m.rotation_example(model, s, angle=3.0)
    assert all(v.shape == size for v in fig5.values())
    error = (fig5["fully_sampled_rotated"] - s.target).abs().mean() / s.target.abs().mean()
    assert error < 0.1


def test_paper_scale_reads_fastmri_format_files_and_unflips_real_boxes(tmp_path, monkeypatch):
    """At paper scale the samples come from FASTMRI_ROOT / FASTMRI_PLUS_ROOT: a volume in the
    real knee geometry (640 x 368 k-space, 320 x 320 target, padding from the header) and a
    fastMRI+ CSV in its flipped convention, with a study-level row that must be skipped."""
    import numpy as np
    import pandas as pd

    from mrirobust.data.fastmri_io import header_xml, write_volume

    rng = np.random.default_rng(0)
    shape = (2, 3, 640, 368)  # slices, coils, readout, phase encoding
    kspace = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * 1e-5
    kspace[..., :17] = 0  # unacquired padding columns, as in real knee files
    kspace[..., 368 - 17 :] = 0
    header = header_xml((640, 368, 1), (320, 320, 1), center=368 // 2 - 17, maximum=333)
    target = rng.random((2, 320, 320)).astype(np.float32)
    volume = tmp_path / "fastmri" / "knee" / "multicoil_val" / "file1000000.h5"
    write_volume(
        volume,
        kspace,
        {"reconstruction_rss": target},
        header,
        dict(acquisition="CORPD_FBK", max=1.0, norm=1.0, patient_id="x"),
    )
    rows = [
        ("file1000000", 1, "No", 100, 150, 30, 20, "Meniscus Tear"),
        ("file1000000", 0, "Yes", None, None, None, None, "Joint Effusion"),
        ("file9999999", 3, "No", 10, 10, 10, 10, "Not in this split"),
    ]
    columns = ["file", "slice", "study_level", "x", "y", "width", "height", "label"]
    (tmp_path / "plus").mkdir()
    pd.DataFrame(rows, columns=columns).to_csv(tmp_path / "plus" / "knee.csv", index=False)
    monkeypatch.setenv("FASTMRI_ROOT", str(tmp_path / "fastmri"))
    monkeypatch.setenv("FASTMRI_PLUS_ROOT", str(tmp_path / "plus"))

    with pytest.warns(UserWarning, match="1 study-level"):
        samples = m.annotated_samples("paper")
    assert len(samples) == 1
    s = samples[0]
    assert (s.fname, s.slice, s.label) == ("file1000000", 1, "Meniscus Tear")
    assert s.box.tolist() == [100, 320 - 150 - 20, 30, 20]  # unflipped rows
    assert s.kspace.shape == (3, 640, 368) and s.target.shape == (320, 320)
    assert s.acquired == (17, 350)
    mask = m.sample_mask(s, 8)
    assert not mask[..., :17].any() and not mask[..., 351:].any()


def test_a_small_sample_spreads_over_the_volumes(samples):
    """max_samples picks boxes spread over the sorted list: first and last included, in order."""
    ids = [s.sample_id for s in samples]
    picked = [s.sample_id for s in m.annotated_samples("smoke", max_samples=3)]
    assert picked[0] == ids[0] and picked[-1] == ids[-1] and len(set(picked)) == 3
    assert [ids.index(i) for i in picked] == sorted(ids.index(i) for i in picked)
