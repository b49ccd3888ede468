import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from mrirobust.papers.huang_liang import experiments as e
from mrirobust.papers.huang_liang.profile import EVALUATE, TRAIN


def test_eps_keeps_the_per_pixel_rms_of_the_paper():
    assert e.eps_for(1e3, (320, 320)) == pytest.approx(1e3)
    assert e.eps_for(1e3, (128, 128)) == pytest.approx(160)
    assert e.eps_for(5e3, (64, 64)) == pytest.approx(200)
    assert e.rho(e.eps_for(1e3, (128, 128)), (128, 128)) == pytest.approx(0.0988, abs=1e-4)
    assert e.rho(5e3, (320, 320)) == pytest.approx(0.221, abs=1e-3)


def test_reference_metrics_are_the_reference_codes_swapped_skimage_calls():
    g = torch.Generator().manual_seed(0)
    target = torch.randn(3, 24, 20, generator=g, dtype=torch.float64)
    pred = target + 0.3 * torch.randn(3, 24, 20, generator=g, dtype=torch.float64)
    ours = e.reference_metrics(pred, target)
    # the reference: ssim/psnr/nmse(gt, pred) called as (output, target), batch as channels
    gt, pr = pred.numpy().transpose(1, 2, 0), target.numpy().transpose(1, 2, 0)
    ssim = structural_similarity(gt, pr, channel_axis=-1, data_range=gt.max())
    psnr = peak_signal_noise_ratio(gt, pr, data_range=gt.max())
    nmse = np.linalg.norm(gt - pr) ** 2 / np.linalg.norm(gt) ** 2
    assert ours == pytest.approx({"ssim": ssim, "psnr": psnr, "nmse": nmse}, rel=1e-6)


def test_model_specs_scale_the_budgets_to_the_image(smoke_root):
    specs = e.model_specs("smoke", kspace=True)
    assert list(specs) == ["S", "A(eps=1000)", "A(eps=5000)", "K(eta=0.02)"]
    assert specs["A(eps=1000)"]["budget"] == pytest.approx(40.0)  # 1e3 x 64^2 / 320^2
    assert specs["S"]["params"]["alpha1"] == 0 and specs["A(eps=5000)"]["params"]["alpha1"] == 1
    assert {s["params"]["challenge"] for s in specs.values()} == {"singlecoil"}
    with pytest.raises(ValueError, match="unknown 'huang_liang.train' parameter 'lr_g'"):
        e.model_specs("smoke", {"lr_g": 1.0})


def test_paper_profile_is_the_reference_setting():
    p = TRAIN.resolve("paper")
    assert (p["unet_chans"], p["unet_pools"], p["gen_ngf"], p["batch_size"]) == (64, 5, 64, 8)
    assert (p["lr"], p["weight_decay"], p["alpha1"], p["eps_ref"]) == (1e-4, 0.01, 1.0, [1e3, 5e3])
    assert EVALUATE.resolve("paper")["example_slices"] == [9, 73, 137, 553, 569]


def test_mask_statistics_sample_a_quarter_and_the_centre(smoke_root):
    stats = e.mask_stats("smoke", seeds=40)
    assert stats["centre_always_sampled"]
    assert abs(stats["mean_fraction_of_acquired"] - 0.25) < 0.03
