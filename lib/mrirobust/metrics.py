"""Image-quality metrics on batched torch tensors (the thermal-noise estimate is `physics.noise`).

All image metrics take `target` and `pred` of shape `(B, H, W)` (real, magnitude images) and
return one value per image, `(B,)`. They are differentiable in `pred`.

- `ssim`: scikit-image's `structural_similarity` with its defaults (7x7 uniform window,
  K1 = 0.01, K2 = 0.03, sample covariance N/(N-1), mean of the SSIM map over the area where the
  window fits, i.e. the map cropped by 3 px), with separable window sums in float32 (float64
  for float64 inputs), agreeing with skimage's float64 result to ~1e-6.
- `psnr`, `nmse`: fastMRI's definitions (`fastmri.evaluate`), per image.
- `mse`: mean squared error.
- `gaussian_ssim` / `dssim`: the SSIM of Huang & Liang's training loss (11x11 Gaussian window).

Scoring rule: SSIM and PSNR need the data range L of the target. It is named, one of
`DATA_RANGES`: "max" (fastMRI's `evaluate` and SSIM loss: the maximum of each full target
image), the project's default `DEFAULT_DATA_RANGE` for both metrics, or "max-min" (max − min of
each full target image: scikit-image's range of an image, Morshuis 2022's code). A number or a
`(B,)` tensor is taken as L itself (Zhao's images normalised to 1, Huang & Liang's batch max).

`region` restricts a metric to part of the image: boxes `(x, y, width, height)` (`(4,)` or
`(B, 4)`) or a boolean mask `(H, W)` / `(B, H, W)` (see `mrirobust.regions`); None = whole image.
MSE, NMSE and PSNR use exactly the pixels of the region. SSIM is computed on the crop to the
region's bounding box (a box is its own bounding box), as skimage would on that crop. The
`data_range` always comes from the FULL target image, never from the crop.

Small boxes: SSIM needs at least 7x7 pixels. A crop narrower or lower than 7 px is grown
symmetrically (one extra pixel on the far side when the growth is odd) to 7 px, shifted
inwards where it would leave the image; images smaller than 7 px raise an error.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from mrirobust import regions

WIN_SIZE = 7
K1, K2 = 0.01, 0.03
CHUNK_PIXELS = 1 << 16  # pixels filtered per pass on the CPU; keeps the moments in cache


def _check_pair(target: torch.Tensor, pred: torch.Tensor) -> None:
    for name, x in (("target", target), ("pred", pred)):
        if not isinstance(x, torch.Tensor) or x.is_complex() or x.ndim != 3:
            raise ValueError(
                f"{name} must be a real torch tensor of shape (B, H, W), got "
                f"{getattr(x, 'dtype', type(x).__name__)} {tuple(getattr(x, 'shape', ()))}"
            )
    if target.shape != pred.shape:
        raise ValueError(
            f"target and pred must have the same shape, got {tuple(target.shape)} "
            f"and {tuple(pred.shape)}"
        )


DATA_RANGES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "max": lambda target: target.amax(dim=(-2, -1)),
    "max-min": lambda target: target.amax(dim=(-2, -1)) - target.amin(dim=(-2, -1)),
}
DEFAULT_DATA_RANGE = "max"


def data_range(target: torch.Tensor, rule: str = DEFAULT_DATA_RANGE) -> torch.Tensor:
    """L of each full target image `(B, H, W)` under the named rule of `DATA_RANGES`, `(B,)`."""
    if rule not in DATA_RANGES:
        raise ValueError(f"data_range must be one of {sorted(DATA_RANGES)} or L, got {rule!r}")
    return DATA_RANGES[rule](target).detach()


def _data_range(given: str | float | torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """`(B,)` L of a rule name, a number or a tensor (checked finite and > 0)."""
    if isinstance(given, str):
        return data_range(target, given)
    given = torch.as_tensor(given, dtype=target.dtype, device=target.device)
    given = given.expand(target.shape[0])
    if not (torch.isfinite(given).all() and (given > 0).all()):
        raise ValueError(f"data_range must be finite and > 0, got {given.tolist()}")
    return given


def _window_sum(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Sum over every full window of WIN_SIZE samples along `dim` (valid positions only), as
    the sum of WIN_SIZE shifted views: rounding does not grow with the image size, unlike a
    cumulative sum, so float32 stays within 1e-6 of float64 SSIM."""
    n = x.shape[dim] - WIN_SIZE + 1
    total = x.narrow(dim, 0, n)
    for k in range(1, WIN_SIZE):
        total = total + x.narrow(dim, k, n)
    return total


def _ssim_chunk(x: torch.Tensor, y: torch.Tensor, data_range: torch.Tensor) -> torch.Tensor:
    """Mean SSIM map of images `(B, H, W)` over the valid area (skimage's map cropped by 3 px).

    With local means u and N/(N-1) covariances v: S = (2 ux uy + C1)(2 vxy + C2) /
    ((ux² + uy² + C1)(vx + vy + C2)); only vx + vy is needed, so four moments are filtered:
    x, y, x² + y², xy."""
    moments = torch.stack([x, y, x * x + y * y, x * y])
    ux, uy, uss, uxy = _window_sum(_window_sum(moments, -2), -1) / WIN_SIZE**2
    cov_norm = WIN_SIZE**2 / (WIN_SIZE**2 - 1)
    r = data_range.view(-1, 1, 1)
    c1, c2 = (K1 * r) ** 2, (K2 * r) ** 2
    uxuy, squares = ux * uy, ux * ux + uy * uy
    s = (2 * uxuy + c1) * (2 * cov_norm * (uxy - uxuy) + c2)
    s = s / ((squares + c1) * (cov_norm * (uss - squares) + c2))
    return s.mean(dim=(1, 2))


def _ssim_full(target: torch.Tensor, pred: torch.Tensor, data_range: torch.Tensor):
    """skimage SSIM of whole images `(B, H, W)` with per-image `data_range` `(B,)`, computed in
    float32 (float64 for float64 inputs; skimage computes in its input's precision too). On
    the CPU a few images at a time, so that their moments stay in cache
    (`benchmarks/bench_ssim.py`); on a GPU all at once (each pass is a kernel launch)."""
    if min(target.shape[-2:]) < WIN_SIZE:
        raise ValueError(
            f"SSIM needs images of at least {WIN_SIZE}x{WIN_SIZE} pixels, "
            f"got {tuple(target.shape[-2:])}"
        )
    dtype = torch.promote_types(torch.promote_types(target.dtype, pred.dtype), torch.float32)
    x, y, r = target.to(dtype), pred.to(dtype), data_range.to(dtype)
    chunk = max(1, CHUNK_PIXELS // (x.shape[-2] * x.shape[-1]))
    if x.device.type != "cpu":
        chunk = x.shape[0]
    parts = [
        _ssim_chunk(*args)
        for args in zip(x.split(chunk), y.split(chunk), r.split(chunk), strict=True)
    ]
    return torch.cat(parts).to(pred.dtype)


def _grow(start: int, length: int, size: int) -> tuple[int, int]:
    """Grow [start, start+length) symmetrically to WIN_SIZE within [0, size)."""
    if length >= WIN_SIZE:
        return start, length
    before = (WIN_SIZE - length) // 2
    start = min(max(start - before, 0), size - WIN_SIZE)
    return start, WIN_SIZE


def ssim_crop_boxes(region, batch: int, size: tuple[int, int]) -> torch.Tensor:
    """The `(B, 4)` boxes on which region SSIM is computed (bounding box, grown to 7 px), on
    the CPU (a mask on a GPU is read back once, not element by element)."""
    if region is not None and torch.as_tensor(region).dtype == torch.bool:
        mask = regions.as_region_mask(region, batch, size).cpu()
        boxes = []
        for m in mask:
            rows = m.any(dim=1).nonzero().flatten().tolist()  # host ints: one copy, any device
            cols = m.any(dim=0).nonzero().flatten().tolist()
            boxes.append([cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1])
        boxes = torch.tensor(boxes, dtype=torch.long)
    elif region is None:
        boxes = torch.tensor([[0, 0, size[1], size[0]]]).expand(batch, 4)
    else:
        boxes = regions.as_boxes(region, batch, size)
    grown = []
    for x, y, w, h in boxes.tolist():
        x, w = _grow(x, w, size[1])
        y, h = _grow(y, h, size[0])
        grown.append([x, y, w, h])
    return torch.tensor(grown, dtype=torch.long)


def ssim(
    target: torch.Tensor, pred: torch.Tensor, data_range=DEFAULT_DATA_RANGE, region=None
) -> torch.Tensor:
    """Structural similarity per image, `(B,)`, as skimage's with the same `data_range`.

    SSIM = mean over windows of (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)
    (s_x^2 + s_y^2 + C2)), C_k = (K_k L)^2, L = `data_range` (a rule of `DATA_RANGES` or L
    itself). With `region`, skimage SSIM of the crop (module docstring: small boxes).
    """
    _check_pair(target, pred)
    batch, size = target.shape[0], tuple(target.shape[-2:])
    data_range = _data_range(data_range, target)
    if region is None:
        return _ssim_full(target, pred, data_range)
    boxes = ssim_crop_boxes(region, batch, size)
    out = pred.new_zeros(batch)
    for box in boxes.unique(dim=0):  # one batched call per distinct crop
        index = (boxes == box).all(dim=1).nonzero().flatten().to(pred.device)
        x, y, w, h = box.tolist()
        crop = (index, slice(y, y + h), slice(x, x + w))
        out = out.index_put((index,), _ssim_full(target[crop], pred[crop], data_range[index]))
    return out


def gaussian_ssim_map(
    target: torch.Tensor,
    pred: torch.Tensor,
    *,
    window: int = 11,
    sigma: float = 1.5,
    data_range: float = 1.0,
) -> torch.Tensor:
    """SSIM map `(B, H, W)` with a `window` x `window` Gaussian window (std `sigma`), zero-padded
    "same" filtering and population moments, C1 = (0.01 L)^2, C2 = (0.03 L)^2, L = `data_range`.

    This is the `pytorch_ssim` package that Huang & Liang train with (its border pixels see the
    zero padding). Written by hand because skimage and pytorch-msssim filter only where the
    window fits, which changes the loss at the borders; away from them the maps agree.
    """
    _check_pair(target, pred)
    if not (window % 2 == 1 and sigma > 0 and data_range > 0):
        raise ValueError(
            f"window must be odd and sigma, data_range > 0, got {window}, {sigma}, {data_range}"
        )
    coords = torch.arange(window, dtype=pred.dtype, device=pred.device) - window // 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    x, y = target.unsqueeze(1), pred.unsqueeze(1)
    moments = torch.cat([x, y, x * x, y * y, x * y], dim=1)  # (B, 5, H, W), filtered per channel
    rows, cols = g.view(1, 1, -1, 1).expand(5, 1, -1, 1), g.view(1, 1, 1, -1).expand(5, 1, 1, -1)
    moments = F.conv2d(moments, rows, padding=(window // 2, 0), groups=5)
    moments = F.conv2d(moments, cols, padding=(0, window // 2), groups=5)
    ux, uy, uxx, uyy, uxy = moments.unbind(1)
    vx, vy, vxy = uxx - ux * ux, uyy - uy * uy, uxy - ux * uy
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    return (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))


def gaussian_ssim(target: torch.Tensor, pred: torch.Tensor, **kwargs) -> torch.Tensor:
    """Mean of `gaussian_ssim_map` per image, `(B,)`."""
    return gaussian_ssim_map(target, pred, **kwargs).mean(dim=(-2, -1))


def dssim(target: torch.Tensor, pred: torch.Tensor, **kwargs) -> torch.Tensor:
    """Structural dissimilarity (1 − SSIM)/2 per image, `(B,)` (Huang & Liang eq. 8)."""
    return (1 - gaussian_ssim(target, pred, **kwargs)) / 2


def mse(target: torch.Tensor, pred: torch.Tensor, region=None) -> torch.Tensor:
    """Mean of (target - pred)^2 over the region (default: whole image), `(B,)`."""
    _check_pair(target, pred)
    mask = regions.as_region_mask(region, target.shape[0], tuple(target.shape[-2:]))
    mask = mask.to(device=target.device, dtype=pred.dtype)
    return ((target - pred) ** 2 * mask).sum(dim=(-2, -1)) / mask.sum(dim=(-2, -1))


def nmse(target: torch.Tensor, pred: torch.Tensor, region=None) -> torch.Tensor:
    """fastMRI's normalised MSE ||target - pred||^2 / ||target||^2 over the region, `(B,)`."""
    _check_pair(target, pred)
    return mse(target, pred, region) / mse(target, torch.zeros_like(target), region)


def psnr(
    target: torch.Tensor, pred: torch.Tensor, data_range=DEFAULT_DATA_RANGE, region=None
) -> torch.Tensor:
    """PSNR = 10 log10(L^2 / MSE) per image, `(B,)`.

    L = `data_range` (a rule of `DATA_RANGES` or L itself). MSE over the region.
    """
    _check_pair(target, pred)
    data_range = _data_range(data_range, target)
    return 10 * torch.log10(data_range**2 / mse(target, pred, region))


def region_scores(target: torch.Tensor, pred: torch.Tensor, region) -> dict[str, torch.Tensor]:
    """The `ssim_region` and `psnr_region` of every result table, `(B,)` each: SSIM and PSNR on
    `region` with L = max − min of each FULL target image (Morshuis 2022's data range; the
    crop's own range would change with the box). The one definition of these two columns."""
    return {
        "ssim_region": ssim(target, pred, data_range="max-min", region=region),
        "psnr_region": psnr(target, pred, data_range="max-min", region=region),
    }


def evaluate_volume(target: torch.Tensor, pred: torch.Tensor) -> dict[str, float]:
    """fastMRI's volume-level metrics of slices `(S, H, W)`: NMSE and PSNR over the whole volume,
    SSIM = mean over slices; L = max of the whole target volume (as `fastmri.evaluate`)."""
    _check_pair(target, pred)
    maxval = target.max()
    err = ((target - pred) ** 2).sum()
    return {
        "nmse": float(err / (target**2).sum()),
        "psnr": float(10 * torch.log10(maxval**2 / (err / target.numel()))),
        "ssim": float(ssim(target, pred, data_range=maxval).mean()),
    }
