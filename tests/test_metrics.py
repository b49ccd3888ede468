import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from mrirobust import metrics


def _smooth(batch, h, w, seed):
    """Image-like test data: blurred random blobs, positive, values ~ 1e-4 as in fastMRI."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 1, h // 4, w // 4, generator=g)
    x = torch.nn.functional.interpolate(x, size=(h, w), mode="bicubic", align_corners=False)
    return (x.squeeze(1).clamp_min(0) * 1e-4).to(torch.float32)


def _pairs():
    g = torch.Generator().manual_seed(1)
    rand_t, rand_p = torch.rand(3, 40, 33, generator=g), torch.rand(3, 40, 33, generator=g)
    img_t = _smooth(3, 48, 40, seed=2)
    img_p = img_t + 1e-5 * torch.randn(3, 48, 40, generator=g)
    return [(rand_t, rand_p), (img_t, img_p)]


RULES = {"max": lambda t: t.max(), "max-min": lambda t: t.max() - t.min()}


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("pair", range(2))
def test_ssim_matches_skimage_under_each_data_range_rule(pair, rule):
    target, pred = _pairs()[pair]
    ours = metrics.ssim(target, pred, data_range=rule)
    for b in range(target.shape[0]):
        t, p = target[b].double().numpy(), pred[b].double().numpy()
        ref = structural_similarity(t, p, data_range=RULES[rule](t))
        assert abs(ours[b].item() - ref) < 1e-4


def test_the_default_rule_is_fastmri_max_for_ssim_and_psnr():
    target, pred = _pairs()[0]
    top = target.amax(dim=(-2, -1))
    assert metrics.DEFAULT_DATA_RANGE == "max"
    torch.testing.assert_close(metrics.data_range(target), top)
    torch.testing.assert_close(metrics.ssim(target, pred), metrics.ssim(target, pred, top))
    torch.testing.assert_close(metrics.psnr(target, pred), metrics.psnr(target, pred, top))
    low = metrics.ssim(target, pred, data_range="max-min")
    assert not torch.allclose(low, metrics.ssim(target, pred))  # the rules differ here
    with pytest.raises(ValueError, match=r"one of \['max', 'max-min'\].*'min'"):
        metrics.ssim(target, pred, data_range="min")


def test_float32_ssim_matches_skimage_where_variances_are_far_below_c2():
    # bright smooth images, noise 1e-3 of the range: every SSIM term is dominated by C1, C2,
    # where float32 rounding of the local moments would show first
    target = 1e-4 * (1 + _smooth(2, 256, 256, seed=3) * 1e4)
    target[:, 0, 0] = 0
    pred = target + 1e-7 * torch.randn(2, 256, 256, generator=torch.Generator().manual_seed(4))
    ours = metrics.ssim(target, pred)
    assert ours.dtype == torch.float32
    for b in range(2):
        t, p = target[b].double().numpy(), pred[b].double().numpy()
        assert abs(ours[b].item() - structural_similarity(t, p, data_range=t.max())) < 1e-5


def test_ssim_of_a_batch_equals_ssim_of_each_image():
    # 6 images of 128 x 128 span two filtering chunks; float64 input keeps float64
    target = _smooth(6, 128, 128, seed=5).double()
    pred = target + 1e-5 * torch.randn(6, 128, 128, dtype=torch.float64)
    batched = metrics.ssim(target, pred)
    assert batched.dtype == torch.float64
    single = torch.cat([metrics.ssim(target[b : b + 1], pred[b : b + 1]) for b in range(6)])
    torch.testing.assert_close(batched, single, rtol=0, atol=1e-12)


def test_region_ssim_matches_skimage_on_crop():
    target, pred = _pairs()[1]
    boxes = torch.tensor([[3, 5, 20, 10], [0, 0, 40, 48], [10, 30, 8, 7]])
    ours = metrics.ssim(target, pred, data_range="max-min", region=boxes)
    for b, (x, y, w, h) in enumerate(boxes.tolist()):
        t, p = target[b].double().numpy(), pred[b].double().numpy()
        crop = (slice(y, y + h), slice(x, x + w))
        ref = structural_similarity(t[crop], p[crop], data_range=t.max() - t.min())
        assert abs(ours[b].item() - ref) < 1e-4


def test_small_box_is_grown_to_the_window_inside_the_image():
    target, pred = _pairs()[1]
    # a 2x3 box in the bottom-right corner grows to 7x7 shifted inside the image
    boxes = metrics.ssim_crop_boxes(torch.tensor([38, 45, 2, 3]), 3, (48, 40))
    assert boxes[0].tolist() == [33, 41, 7, 7]
    ours = metrics.ssim(target, pred, region=torch.tensor([38, 45, 2, 3]))
    t, p = target[0].double().numpy(), pred[0].double().numpy()
    ref = structural_similarity(t[41:48, 33:40], p[41:48, 33:40], data_range=t.max())
    assert abs(ours[0].item() - ref) < 1e-4


def test_mask_region_ssim_uses_bounding_box():
    target, pred = _pairs()[1]
    mask = torch.zeros(48, 40, dtype=torch.bool)
    mask[10, 5] = mask[25, 30] = True
    torch.testing.assert_close(
        metrics.ssim(target, pred, region=mask),
        metrics.ssim(target, pred, region=torch.tensor([5, 10, 26, 16])),
    )


def test_ssim_is_differentiable():
    target, pred = _pairs()[1]
    pred = pred.clone().requires_grad_(True)
    metrics.ssim(target, pred, region=torch.tensor([3, 5, 20, 10])).sum().backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    assert torch.isfinite(pred.grad).all()


# fastmri.evaluate's definitions (its module imports `runstats`, which is not a dependency here)
def _fastmri_nmse(gt, pred):
    return np.linalg.norm(gt - pred) ** 2 / np.linalg.norm(gt) ** 2


def _fastmri_psnr(gt, pred):
    return peak_signal_noise_ratio(gt, pred, data_range=gt.max())


def _fastmri_ssim(gt, pred):
    return np.mean(
        [structural_similarity(g, p, data_range=gt.max()) for g, p in zip(gt, pred, strict=True)]
    )


def test_psnr_nmse_match_fastmri():
    target, pred = _pairs()[1]
    t, p = target.double().numpy(), pred.double().numpy()
    for b in range(3):
        assert metrics.psnr(target, pred)[b].item() == pytest.approx(
            _fastmri_psnr(t[b], p[b]), rel=1e-4
        )
        assert metrics.nmse(target, pred)[b].item() == pytest.approx(
            _fastmri_nmse(t[b], p[b]), rel=1e-4
        )
    vol = metrics.evaluate_volume(target, pred)
    assert vol["nmse"] == pytest.approx(_fastmri_nmse(t, p), rel=1e-4)
    assert vol["psnr"] == pytest.approx(_fastmri_psnr(t, p), rel=1e-4)
    assert vol["ssim"] == pytest.approx(_fastmri_ssim(t, p), abs=1e-4)


def test_region_psnr_and_mse_use_box_pixels_and_full_range():
    target, pred = _pairs()[1]
    box = [3, 5, 20, 10]
    t, p = target[0].double().numpy(), pred[0].double().numpy()
    crop = (slice(5, 15), slice(3, 23))
    dr = t.max() - t.min()
    ref = peak_signal_noise_ratio(t[crop], p[crop], data_range=dr)
    ours = metrics.psnr(target, pred, data_range="max-min", region=box)
    assert ours[0].item() == pytest.approx(ref, rel=1e-4)
    assert metrics.mse(target, pred, region=box)[0].item() == pytest.approx(
        np.mean((t[crop] - p[crop]) ** 2), rel=1e-4
    )


def test_metrics_reject_bad_input():
    target, pred = _pairs()[1]
    with pytest.raises(ValueError, match="same shape"):
        metrics.ssim(target, pred[:, :-1])
    with pytest.raises(ValueError, match="data_range"):
        metrics.ssim(target, pred, data_range=-1.0)
    with pytest.raises(ValueError, match="region"):
        metrics.mse(target, pred, region=[30, 40, 20, 20])
    with pytest.raises(ValueError, match="width >= 1"):
        metrics.ssim(target, pred, region=[3, 3, 0, 5])


def _pytorch_ssim(img1, img2, window_size=11, sigma=1.5):
    """A transcription of the `pytorch_ssim` package's `_ssim` (Huang & Liang's loss): one 2-D
    Gaussian window, zero-padded conv2d, C1 = 0.01^2, C2 = 0.03^2 (data range 1)."""
    x = torch.arange(window_size, dtype=torch.float64) - window_size // 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = (g / g.sum()).unsqueeze(1)
    window = (g @ g.t())[None, None]
    img1, img2 = img1.double().unsqueeze(1), img2.double().unsqueeze(1)
    conv = lambda a: torch.nn.functional.conv2d(a, window, padding=window_size // 2)  # noqa: E731
    mu1, mu2 = conv(img1), conv(img2)
    sigma1_sq = conv(img1 * img1) - mu1.pow(2)
    sigma2_sq = conv(img2 * img2) - mu2.pow(2)
    sigma12 = conv(img1 * img2) - mu1 * mu2
    c1, c2 = 0.01**2, 0.03**2
    ssim_map = ((2 * mu1 * mu2 + c1) * (2 * sigma12 + c2)) / (
        (mu1.pow(2) + mu2.pow(2) + c1) * (sigma1_sq + sigma2_sq + c2)
    )
    return ssim_map.mean(dim=(1, 2, 3))


def test_gaussian_ssim_equals_the_reference_pytorch_ssim():
    g = torch.Generator().manual_seed(3)
    target = torch.randn(3, 30, 26, generator=g, dtype=torch.float64)
    pred = target + 0.5 * torch.randn(3, 30, 26, generator=g, dtype=torch.float64)
    torch.testing.assert_close(metrics.gaussian_ssim(target, pred), _pytorch_ssim(target, pred))
    torch.testing.assert_close(metrics.gaussian_ssim(target, target), torch.ones(3).double())
    torch.testing.assert_close(metrics.dssim(target, pred), (1 - _pytorch_ssim(target, pred)) / 2)


def test_gaussian_ssim_map_agrees_with_skimage_where_the_window_fits():
    target, pred = _pairs()[0]
    ours = metrics.gaussian_ssim_map(target.double(), pred.double())
    for b in range(target.shape[0]):
        _, full = structural_similarity(
            target[b].double().numpy(),
            pred[b].double().numpy(),
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1.0,
            full=True,
        )
        np.testing.assert_allclose(ours[b, 5:-5, 5:-5].numpy(), full[5:-5, 5:-5], rtol=1e-7)


def test_dssim_is_differentiable_and_zero_for_equal_images():
    target, pred = _pairs()[0]
    pred = pred.clone().requires_grad_(True)
    loss = metrics.dssim(target, pred).sum()
    loss.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    assert metrics.dssim(target, target).abs().max() < 1e-6
    with pytest.raises(ValueError, match="window must be odd"):
        metrics.gaussian_ssim(target, target, window=10)
