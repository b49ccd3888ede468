"""Huang & Liang's perturbation generators: the image-domain DCGAN of Algorithm 1 (its hinge
budget is in `training.adversarial`), and the k-space generator of Algorithm 2 with the project's
per-coil budget.

G maps a latent z ∈ R^nz (times `latent_scale`, 1e-3 in the reference code) to an image-domain
perturbation δ = G(z) ∈ [−1, 1]^(size × size), which is added to the normalised zero-filled input
of the U-Net. Layers (Radford et al.'s DCGAN, no biases):

    ConvT(nz → ngf·2^(n−1), k = base, s 1, p 0)            1 → base
    n − 1 × ConvT(k 4, s 2, p 1), channels halved          base → size / 2
    ConvT(ngf → 1, k 4, s 2, p 1), tanh                    size / 2 → size

each ConvT but the last followed by BatchNorm and PReLU; n is the largest k with size % 2^k = 0
and size / 2^k ≥ 4, base = size / 2^n. size 320 gives base 5 and 7 ConvT layers from 2048
channels: the reference generator (49,824,646 parameters at ngf 64); 128 gives 6, 64 gives 5.

`KSpaceGenerator` is Algorithm 2 (the paper's future work) built as an acquisition perturbation:
conditioned on the measurement y, its output lives on the sampled columns and within the ball of
Morshuis et al.'s k-space attack (`attacks.kspace_pgd`), ‖z_i‖ <= η‖k_i‖ per coil.
"""

from __future__ import annotations

import math

import torch
from fastmri.models import Unet
from torch import nn

from mrirobust import devices, physics
from mrirobust.attacks.pgd import project_ball

KSPACE_BUDGETS = ("per_coil", "total")


def _depth(size: int) -> int:
    n = 0
    while size % 2 ** (n + 1) == 0 and size // 2 ** (n + 1) >= 4:
        n += 1
    return n


class ImageGenerator(nn.Module):
    """DCGAN generator of `size` × `size` perturbations (module docstring)."""

    def __init__(self, size, nz: int = 100, ngf: int = 64, latent_scale: float = 1e-3):
        super().__init__()
        size = tuple(size) if isinstance(size, tuple | list) else (size, size)
        n = _depth(size[0])
        if len(size) != 2 or size[0] != size[1] or n < 1:
            raise ValueError(
                f"ImageGenerator needs a square image size divisible by 8 at least (size / 2^n "
                f">= 4), got {size}"
            )
        self.size, self.nz, self.latent_scale = size[0], nz, latent_scale
        chans = ngf * 2 ** (n - 1)
        layers = [nn.ConvTranspose2d(nz, chans, size[0] // 2**n, 1, 0, bias=False)]
        for _ in range(n - 1):
            layers += [nn.BatchNorm2d(chans), nn.PReLU()]
            layers += [nn.ConvTranspose2d(chans, chans // 2, 4, 2, 1, bias=False)]
            chans //= 2
        layers += [nn.BatchNorm2d(chans), nn.PReLU()]
        layers += [nn.ConvTranspose2d(chans, 1, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def sample_latent(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        """z = latent_scale · N(0, I), `(batch, nz, 1, 1)` on G's device, drawn on the CPU from
        the seeded CPU `generator` and then moved, so a seed gives the same latents on every
        device."""
        if generator.device.type != "cpu":
            raise ValueError(
                f"latents are drawn from a CPU torch.Generator (the same on every device), got "
                f"one on {generator.device}"
            )
        z = torch.randn(batch, self.nz, 1, 1, generator=generator)
        return (z * self.latent_scale).to(devices.of(self))

    @torch.no_grad()
    def calibrate(self, batches: int, batch_size: int, generator: torch.Generator):
        """Re-estimate the BatchNorm running statistics as exact averages over `batches` latent
        batches, then switch to eval mode. The latent is scaled by 1e-3, so the first layer's
        batch variance is ~1e-6 while the running variance starts at 1 and decays by 0.9 per
        step: after a few hundred steps eval mode still shrinks δ towards 0 (the reference
        evaluates after 21k steps, when it has converged)."""
        norms = [m for m in self.modules() if isinstance(m, nn.BatchNorm2d)]
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average
        self.train()
        for _ in range(batches):
            self(self.sample_latent(batch_size, generator))
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        return self.eval()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """δ = G(z), `(B, size, size)` in [−1, 1]."""
        if z.ndim != 4 or z.shape[1:] != (self.nz, 1, 1):
            raise ValueError(f"latent must have shape (B, {self.nz}, 1, 1), got {tuple(z.shape)}")
        if self.training and z.shape[0] < 2:
            raise ValueError(
                "the generator has BatchNorm: training needs batches of at least 2 latents "
                f"(batch_size >= 2), got {z.shape[0]}"
            )
        return self.net(z).squeeze(1)


class KSpaceGenerator(nn.Module):
    """z = Π(M ⊙ s·F(U_φ(F⁻¹y / s))): a k-space perturbation of the measurement y `(B, C, H, W)`.

    U_φ is fastmri's U-Net on the coil images (real and imaginary parts as 2C channels), s the
    std of |F⁻¹y| per slice (so U sees unit-scale inputs; F is unitary, so predicting images is
    as expressive as predicting k-space), M the sampling mask: the perturbation only touches
    sampled columns (the paper's P(y) + G(y) would fill unacquired ones). Π is the exact
    projection onto ‖z_i‖ <= η‖k_i‖ per coil i of the fully sampled k (`budget` "per_coil", the
    ball of `attacks.kspace_pgd`) or ‖z‖ <= η‖k‖ over all coils ("total"); for one coil they
    coincide.
    """

    def __init__(self, coils: int, chans: int, num_pools: int, budget: str = "per_coil"):
        super().__init__()
        if budget not in KSPACE_BUDGETS:
            valid = ", ".join(KSPACE_BUDGETS)
            raise ValueError(f"unknown k-space budget {budget!r}; valid: {valid}")
        self.coils, self.budget = coils, budget
        self.unet = Unet(2 * coils, 2 * coils, chans=chans, num_pool_layers=num_pools)

    def forward(
        self, y: torch.Tensor, mask: torch.Tensor, kspace: torch.Tensor, eta: float
    ) -> torch.Tensor:
        """z `(B, C, H, W)` for measurement y, mask and fully sampled k of the same shape."""
        eta = check_budget(eta, "eta")
        if y.shape != kspace.shape or y.ndim != 4 or y.shape[1] != self.coils:
            raise ValueError(
                f"measurement {tuple(y.shape)} and k-space {tuple(kspace.shape)} must both be "
                f"(B, {self.coils}, H, W)"
            )
        image = physics.ifft2c(y)
        scale = image.abs().std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-30)
        channels = torch.view_as_real(image / scale).movedim(-1, 2).flatten(1, 2)
        out = self.unet(channels).unflatten(1, (self.coils, 2)).movedim(2, -1)
        z = physics.apply_mask(physics.fft2c(torch.view_as_complex(out.contiguous())) * scale, mask)
        dims = (-2, -1) if self.budget == "per_coil" else (1, 2, 3)
        radius = eta * torch.linalg.vector_norm(kspace, dim=dims, keepdim=True)
        return project_ball(z, radius, dims)


def check_budget(value: float, name: str = "eps") -> float:
    """A finite budget >= 0, else a ValueError naming `name`."""
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)
