"""Adversarial rotations (Morshuis et al. 2022, eq. 5): a grid search over small angles.

For each angle theta: rotate the fully sampled coil images by theta (all coils alike, see
`physics.rotate`), Fourier transform, mask, reconstruct, rotate the reconstruction back by
-theta and score it against the UNROTATED target on the region. The worst angle maximises the
region MSE. Angles are evaluated `batch_size` at a time, stacked with the slices into one batch.

`rotated_pgd` composes both Morshuis attacks: rotate the acquisition by theta, then the
per-coil k-space PGD (eq. 4) on the rotated region.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from tqdm.auto import tqdm

from mrirobust import devices, metrics, physics, regions
from mrirobust.attacks.pgd import PGDResult, _batch_mask, _check_target, kspace_pgd, output_size


@dataclass
class RotationResult:
    """Angles `(A,)` in degrees, region MSE and region SSIM per angle and slice, `(A, B)`."""

    angles: torch.Tensor
    losses: torch.Tensor
    ssim: torch.Tensor

    def _worst_index(self, theta_max: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Grid index (CPU) of the worst angle with |theta| <= theta_max, and its loss, per
        slice: two `(B,)` tensors."""
        if not theta_max >= 0:
            raise ValueError(f"theta_max must be >= 0, got {theta_max!r}")
        allowed = self.angles.abs() <= theta_max + 1e-6
        if not allowed.any():
            raise ValueError(
                f"no angle of the grid lies within |theta| <= {theta_max}; the grid spans "
                f"[{self.angles.min().item():g}, {self.angles.max().item():g}] degrees"
                + (" and lacks 0" if theta_max == 0 else "")
            )
        allowed = allowed.nonzero().flatten()
        worst_loss, index = self.losses[allowed.to(self.losses.device)].max(dim=0)
        return allowed[index.cpu()], worst_loss

    def worst(self, theta_max: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Worst angle with |theta| <= theta_max and its loss, per slice: two `(B,)` tensors."""
        index, worst_loss = self._worst_index(theta_max)
        return self.angles[index], worst_loss

    def worst_ssim(self, theta_max: float) -> torch.Tensor:
        """The region SSIM at the worst angle with |theta| <= theta_max, per slice, `(B,)`."""
        index, _ = self._worst_index(theta_max)
        index = index.to(self.ssim.device)
        return self.ssim[index, torch.arange(len(index), device=self.ssim.device)]


def angle_grid(angle_max: float, step: float) -> torch.Tensor:
    """Symmetric grid -angle_max, ..., 0, ..., angle_max in multiples of `step` (degrees),
    rounded to 1e-6 so that 0 is exactly in it (reference: angle_max 4.9, step 0.1)."""
    if not (0 <= angle_max < math.inf and 0 < step < math.inf):
        raise ValueError(
            f"need finite angle_max >= 0 and step > 0 (degrees), got {angle_max!r}, {step!r}"
        )
    count = int(round(angle_max / step, 6))
    return torch.round(torch.arange(-count, count + 1, dtype=torch.float64) * step, decimals=6)


def rotation_search(
    recon,
    kspace: torch.Tensor,
    mask: torch.Tensor,
    target: torch.Tensor,
    *,
    angles,
    region=None,
    data_range: str = metrics.DEFAULT_DATA_RANGE,
    batch_size: int = 8,
    progress: bool = True,
) -> RotationResult:
    """Region MSE and region SSIM (L by the rule `data_range` on the full target,
    `metrics.DATA_RANGES`) of every angle in `angles`.

    `kspace` fully sampled `(B, C, H, W)`, `target` `(B, h, w)`, `region` boxes or mask on the
    target (None = whole image). `batch_size` angles share one forward pass.
    """
    physics.check_kspace(kspace)
    kspace, mask, target = devices.to_model(recon, kspace, mask, target)
    batch = kspace.shape[0]
    mask = _batch_mask(mask, kspace)
    size = output_size(recon, kspace)
    _check_target(target, batch, size)
    region_mask = regions.as_region_mask(region, batch, size).to(kspace.device)
    angles = torch.as_tensor(angles, dtype=torch.float64).flatten()
    if angles.numel() == 0 or not torch.isfinite(angles).all():
        raise ValueError(
            f"angles must be a non-empty grid of finite degrees, got {angles.tolist()}"
        )
    if isinstance(batch_size, bool) or not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    data_range = metrics.data_range(target, data_range)
    losses, ssims = [], []
    with torch.no_grad():
        for chunk in tqdm(angles.split(batch_size), desc="rotations", disable=not progress):
            n = chunk.numel()
            theta = chunk.repeat_interleave(batch)  # angle-major: (angle, slice)
            rotated = physics.rotate_kspace_each(kspace, chunk).flatten(0, 1)
            mask_n = mask.repeat(n, 1, 1, 1)
            out = recon(physics.apply_mask(rotated, mask_n), mask_n)
            back = physics.rotate(out, -theta)
            target_n, region_n = target.repeat(n, 1, 1), region_mask.repeat(n, 1, 1)
            losses.append(metrics.mse(target_n, back, region_n).view(n, batch))
            ssim = metrics.ssim(
                target_n,
                back,
                data_range=data_range.repeat(n),
                region=None if region is None else region_n,
            )
            ssims.append(ssim.view(n, batch))
    return RotationResult(angles=angles, losses=torch.cat(losses), ssim=torch.cat(ssims))


def rotated_pgd(
    recon,
    kspace: torch.Tensor,
    mask: torch.Tensor,
    target: torch.Tensor,
    *,
    angle: float,
    eta,
    region,
    **pgd,
) -> PGDResult:
    """Rotation then per-coil k-space PGD: rotate the fully sampled coil images `(B, C, H, W)`
    by `angle` degrees (eq. 5), attack the rotated acquisition with `kspace_pgd` (eq. 4, budget
    `eta`, keyword arguments `pgd`) on the rotated `region` (boxes or mask on the target,
    rotated with it, kept where the rotated mask exceeds 1/2) against the rotated target, and
    rotate the reconstructions back by -angle, so that they compare with the unrotated
    `target`. The perturbation stays in the rotated frame. `angle` 0 is no rotation at all
    (not an interpolation round trip)."""

    def rotate(x, sign=1):
        return x if angle == 0 else physics.rotate(x, sign * float(angle))

    kspace, mask, target = devices.to_model(recon, kspace, mask, target)
    size = tuple(target.shape[-2:])
    rotated = physics.rotate_kspace(kspace, float(angle))
    rotated_region = rotate(regions.as_region_mask(region, target.shape[0], size).float()) > 0.5
    result = kspace_pgd(recon, rotated, mask, rotate(target), eta=eta, region=rotated_region, **pgd)
    back = result.reconstruction.detach()
    back = rotate(back.flatten(0, -3), -1).view(back.shape)
    return replace(result, reconstruction=back)
