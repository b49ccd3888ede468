import pytest
import torch

from mrirobust import physics
from mrirobust.data import cmrxrecon_embedded
from mrirobust.models.qmri import UnrolledSeriesNet
from mrirobust.papers.zhao2023 import data, experiments, jobs, profile, robustness, training


def test_challenge_slices_and_crop_follow_matlab_rounding():
    assert data.eval_slices(5) == [1, 2]  # MATLAB round(5/2) - 1 : round(5/2), 1-based 2..3
    assert data.eval_slices(6) == [1, 2]
    assert data.eval_slices(2) == [0, 1]
    assert data.eval_crop(512, 204) == (171, 102)
    assert data.eval_crop(160, 95) == (53, 48)  # round half away from zero


def test_readout_crop_is_exact():
    g = torch.Generator().manual_seed(0)
    kspace = torch.randn(2, 3, 16, 12, dtype=torch.complex64, generator=g)
    cropped = data.crop_readout(kspace)
    expected = physics.center_crop(physics.ifft2c(kspace), (8, 12))
    torch.testing.assert_close(physics.ifft2c(cropped), expected, rtol=1e-5, atol=1e-6)


def test_challenge_metrics_normalise_each_image_by_its_maximum():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(3, 20, 20, generator=g)
    same = experiments.challenge_metrics(target, 2 * target)
    torch.testing.assert_close(same["ssim"], torch.ones(3))
    assert (same["nmse"] < 1e-12).all()
    noisy = experiments.challenge_metrics(target, target + 0.1 * torch.rand(3, 20, 20, generator=g))
    assert (noisy["psnr"] > 10).all() and (noisy["ssim"] < 1).all()


def test_map_targeted_pgd_beats_random_noise_of_the_same_norms(smoke_root):
    """On the zero-filled reconstruction (a differentiable series net without steps)."""
    slices = data.SeriesSlices(
        smoke_root, "evaluation", "T1map", True, 1, evaluated=True, max_slices=1
    )
    zero_filled = UnrolledSeriesNet(9, 0, 2, 1, 2, 1)
    rows = robustness.attack_sweep({"zf": zero_filled}, slices, "T1map", 4, [0.0, 0.01], 3)
    mae = rows.set_index(["mode", "eta"])["map_mae_ms"]
    clean = mae[("map", 0.0)]
    assert mae[("random", 0.0)] == clean == mae[("image", 0.0)]
    assert mae[("map", 0.01)] - clean > 3 * (mae[("random", 0.01)] - clean)
    assert mae[("map", 0.01)] > mae[("image", 0.01)]
    image = rows.set_index(["mode", "eta"])["image_roi_nrmse"]
    assert image[("image", 0.01)] > image[("map", 0.01)]
    bias = rows.set_index(["mode", "eta"])["map_bias_ms"]
    assert bias[("shift", 0.01)] > bias[("shift", 0.0)] + 10  # the fake disease raises T1


def test_interrupted_training_resumes_to_the_same_weights(
    smoke_root, tmp_path, monkeypatch, interrupted_on_call
):
    cfg = profile.TRAIN.resolve("smoke", dict(mapper_epochs=2))
    slices = data.SeriesSlices(smoke_root, "train", "T2map", True, max_slices=2)
    monkeypatch.setenv("MRIROBUST_RESULTS", str(tmp_path / "straight"))
    straight, _ = training.load_or_train("mapper", "T2map", slices, cfg, "smoke", progress=False)

    monkeypatch.setenv("MRIROBUST_RESULTS", str(tmp_path / "interrupted"))
    with interrupted_on_call(training, "_epoch_mapper", 2), pytest.raises(KeyboardInterrupt):
        training.load_or_train("mapper", "T2map", slices, cfg, "smoke", progress=False)
    resumed, path = training.load_or_train("mapper", "T2map", slices, cfg, "smoke", progress=False)
    assert [c["epoch"] for c in training.curve(path)] == [1, 2]
    for key, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value)


def test_flip_augmentation_flips_the_image_of_every_frame_and_coil():
    g = torch.Generator().manual_seed(0)
    kspace = torch.randn(1, 3, 2, 8, 6, dtype=torch.complex64, generator=g)
    assert training._flips(1.0, g) == [-2, -1] and training._flips(0.0, g) == []
    flipped = training._flipped(kspace, [-2, -1])
    expected = physics.ifft2c(kspace).flip(-2, -1)
    torch.testing.assert_close(physics.ifft2c(flipped), expected, rtol=1e-5, atol=1e-6)
    assert training._flipped(kspace, []) is kspace


def test_real_layout_without_validation_truth_holds_out_training_patients(tmp_path):
    for i in range(1, 6):
        (cmrxrecon_embedded.cmrxrecon.mapping_dir(tmp_path, "TrainingSet") / f"P{i:03d}").mkdir(
            parents=True
        )
    assert data.patients_of(tmp_path, "train", 2) == ("TrainingSet", ["P001", "P002", "P003"])
    assert data.patients_of(tmp_path, "evaluation", 2) == ("TrainingSet", ["P004", "P005"])
    with pytest.raises(FileNotFoundError, match="holdout_patients"):
        data.patients_of(tmp_path, "evaluation", 0)
    (cmrxrecon_embedded.cmrxrecon.mapping_dir(tmp_path, "ValidationSet") / "P001").mkdir(
        parents=True
    )
    assert data.patients_of(tmp_path, "evaluation", 2) == ("ValidationSet", ["P001"])


def test_the_tables_run_trains_the_control_models_where_the_profile_asks():
    settings = {
        "t1_models": ["rvn", "vn", "vn_relax"],
        "t2_models": ["vn_relax"],
        "train_overrides": {},
        "evaluation_overrides": {},
    }
    runs = jobs.reconstructions("cpu", settings)
    with_control = jobs.tables("cpu", settings)
    extra = with_control[len(runs) :]
    assert with_control[: len(runs)] == runs
    assert [job.name for job in extra] == [
        "zhao2023-T1map-rvn-12ep",
        "zhao2023-T1map-vn-12ep",
        "zhao2023-T1map-vn_relax-12ep",
        "zhao2023-T1map-vn_relax-mapper_chans64-mapper_epochs60",
    ]
    assert len({job.identity for job in with_control}) == len(with_control)
    none = {**settings, "evaluation_overrides": {"control_epochs": 0, "control_mapper": {}}}
    assert jobs.tables("cpu", none) == runs
