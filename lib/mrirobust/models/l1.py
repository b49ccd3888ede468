"""l1-wavelet compressed sensing with ESPIRiT maps: a differentiable torch FISTA solver and
sigpy's `L1WaveletRecon` as the reference.

Both minimise  L(x, y) = ½‖M F S x − y‖² + λ‖Ψx‖₁  over complex images x, with S the ESPIRiT
maps (sigpy `EspiritCalib` on the ACS centre), Ψ the db4 wavelet transform with zero padding
(sigpy's `Wavelet` linop; ptwt here, so gradients flow) and λ = lam · max|Aᴴy| per slice
(a relative λ, so one tuned value serves slices of any intensity).
"""

from __future__ import annotations

import math

import numpy as np
import ptwt
import pywt
import torch

from mrirobust import physics
from mrirobust.models.base import Reconstructor

WAVELET = "db4"


def wavelet_levels(shape: tuple[int, int]) -> int:
    """pywt's maximal decomposition level for db4 on `shape` (sigpy's default)."""
    return pywt.dwt_max_level(min(shape), pywt.Wavelet(WAVELET).dec_len)


def dwt(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Ψx: db4 wavelet coefficients (zero padding) of complex images `(B, H, W)`, flattened to a
    list of complex tensors (real and imaginary parts transformed separately)."""
    coeffs = ptwt.wavedec2(torch.stack([x.real, x.imag]), WAVELET, mode="zero", level=levels)
    parts = [coeffs[0]] + [band for detail in coeffs[1:] for band in detail]
    return [torch.complex(p[0], p[1]) for p in parts]


def idwt(parts: list[torch.Tensor], shape: tuple[int, int]) -> torch.Tensor:
    """Inverse of `dwt` (pywt's `waverecn`, as sigpy uses for Ψᴴ), cropped to `shape`."""
    stacked = [torch.stack([p.real, p.imag]) for p in parts]
    coeffs = [stacked[0]] + [tuple(stacked[i : i + 3]) for i in range(1, len(stacked), 3)]
    image = ptwt.waverec2(coeffs, WAVELET)
    image = torch.complex(image[0], image[1])
    return image[..., : shape[0], : shape[1]]


def soft_threshold(c: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    """Complex soft thresholding c · max(1 − t/|c|, 0), with `threshold` shaped `(B, 1, 1)`."""
    return c * torch.relu(1 - threshold / c.abs().clamp_min(1e-30))


class L1State(torch.nn.Module):
    """The variables of the l1 problem: the complex image x `(B, H, W)` being fitted, with the
    fixed maps S, absolute λ and FISTA step α = 1 / max Σᵢ|Sᵢ|² (an upper bound of ‖A‖²)."""

    def __init__(self, maps: torch.Tensor, lam: torch.Tensor):
        super().__init__()
        self.x = torch.nn.Parameter(torch.zeros_like(maps[:, 0]))
        self.register_buffer("maps", maps)
        self.register_buffer("lam", lam)
        self.register_buffer("step", 1 / (maps.abs() ** 2).sum(1).amax(dim=(-2, -1)).clamp_min(1))


class L1Wavelet(Reconstructor):
    """l1-wavelet CS: `iterations` FISTA steps on ½‖MFSx − y‖² + λ‖Ψx‖₁ from x = 0 (sigpy's
    `L1WaveletRecon` schedule), image = crop(|x|). Unrolled, so differentiable in y."""

    name = "l1"

    def __init__(self, image_size: tuple[int, int], lam: float, iterations: int):
        super().__init__(image_size)
        if lam < 0 or iterations < 1:
            raise ValueError(f"need lam >= 0 and iterations >= 1, got {lam!r}, {iterations!r}")
        self.lam = float(lam)
        self.iterations = int(iterations)

    def init_state(
        self, masked_kspace: torch.Tensor, mask: torch.Tensor, maps: torch.Tensor | None = None
    ) -> L1State:
        """Maps (ESPIRiT unless given) and λ = lam · max|Aᴴy| for each slice; x = 0."""
        y = physics.apply_mask(masked_kspace, mask).detach()
        maps = physics.espirit_maps(y, mask) if maps is None else maps.to(y)
        scale = physics.sens_reduce(y, maps).abs().amax(dim=(-2, -1))
        return L1State(maps, self.lam * scale)

    def objective(
        self, state: L1State, masked_kspace: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """L(x, y) = ½‖MFSx − y‖² + λ‖Ψx‖₁ per slice, shape `(B,)`."""
        y = physics.apply_mask(masked_kspace, mask)
        residual = physics.apply_mask(physics.sens_expand(state.x, state.maps), mask) - y
        data = 0.5 * (residual.abs() ** 2).sum(dim=(1, 2, 3))
        levels = wavelet_levels(state.x.shape[-2:])
        sparsity = sum(c.abs().sum(dim=(-2, -1)) for c in dwt(state.x, levels))
        return data + state.lam * sparsity

    def optimiser(self, state: L1State) -> torch.optim.Optimizer:
        """Gradient descent on x with FISTA's step α (the smallest of the batch), for attacks that
        descend L jointly with other terms (the l1 term then takes subgradient steps)."""
        return torch.optim.SGD([state.x], lr=float(state.step.min()))

    def fit(self, state: L1State, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """FISTA from state.x: z ← x − α Aᴴ(Az − y), x ← Ψᴴ soft(Ψz, αλ), momentum as sigpy's
        `GradientMethod(accelerate=True)`. Returns the final x (graph kept to y) and stores it,
        detached, in state.x."""
        y = physics.apply_mask(masked_kspace, mask)
        shape = tuple(state.x.shape[-2:])
        levels = wavelet_levels(shape)
        step = state.step.view(-1, 1, 1)
        threshold = (state.step * state.lam).view(-1, 1, 1)
        x = state.x.detach()
        z, t = x, 1.0
        for _ in range(self.iterations):
            x_old = x
            residual = physics.apply_mask(physics.sens_expand(z, state.maps), mask) - y
            z = z - step * physics.sens_reduce(residual, state.maps)
            x = idwt([soft_threshold(c, threshold) for c in dwt(z, levels)], shape)
            t_old, t = t, (1 + math.sqrt(1 + 4 * t * t)) / 2
            z = x + ((t_old - 1) / t) * (x - x_old)
        state.x.data.copy_(x.detach())
        return x

    def image(self, x: torch.Tensor) -> torch.Tensor:
        """crop(|x|) at `image_size`."""
        return physics.center_crop(x.abs(), self.image_size)

    def render(self, state: L1State) -> torch.Tensor:
        return self.image(state.x)

    def reconstruct(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        state = self.init_state(masked_kspace, mask)
        return self.image(self.fit(state, masked_kspace, mask))


def sigpy_l1_wavelet(
    masked_kspace: torch.Tensor, maps: torch.Tensor, lam: torch.Tensor, step: torch.Tensor, iters
) -> torch.Tensor:
    """Reference: sigpy's `L1WaveletRecon` (FISTA, db4) per slice with absolute λ and step α;
    returns the complex images `(B, H, W)`."""
    from sigpy.mri.app import L1WaveletRecon

    images = []
    for b in range(masked_kspace.shape[0]):
        image = L1WaveletRecon(
            masked_kspace[b].detach().cpu().numpy(),
            maps[b].detach().cpu().numpy(),
            lamda=float(lam[b]),
            alpha=float(step[b]),
            max_iter=int(iters),
            show_pbar=False,
        ).run()
        images.append(torch.from_numpy(np.asarray(image, dtype=np.complex64)))
    return torch.stack(images)
