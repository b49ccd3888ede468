"""l1 compressed sensing with ESPIRiT maps: a differentiable torch FISTA solver and, for the
wavelet basis, sigpy's `L1WaveletRecon` as the reference.

Both minimise  L(x, y) = ½‖M F S x − y‖² + λ‖Ψx‖₁  over complex images x, with S the ESPIRiT
maps (`physics.espirit_maps`: sigpy's `EspiritCalib` on the ACS centre, in torch), Ψ a
sparsifying transform (`BASES`: the db4 wavelet transform with zero padding as sigpy's `Wavelet`
linop, the 2-D DFT or the 2-D DCT), and λ = lam · max|Aᴴy| per slice (a relative λ, so one
tuned value serves slices of any intensity). The transforms are small dense matrices per axis
(and per wavelet level), applied by matrix products, so gradients flow and a FISTA step costs
about two FFTs of the coils.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pywt
import scipy.fft
import torch

from mrirobust import physics
from mrirobust.models.base import Reconstructor

WAVELET = "db4"


def wavelet_levels(shape: tuple[int, int]) -> int:
    """pywt's maximal decomposition level for db4 on `shape` (sigpy's default)."""
    return pywt.dwt_max_level(min(shape), pywt.Wavelet(WAVELET).dec_len)


def _dwt_matrix(n: int) -> np.ndarray:
    """The single-level db4 analysis matrix [lowpass; highpass] `(2m, n)` of `pywt.dwt` with zero
    padding (its columns are the transforms of the unit vectors); its transpose is pywt's `idwt`,
    and AᵀA = I."""
    low, high = pywt.dwt(np.eye(n), WAVELET, mode="zero", axis=0)
    return np.concatenate([low, high])


def _dct_matrix(n: int) -> np.ndarray:
    """The orthonormal DCT-II matrix `(n, n)` of scipy's `dct(norm="ortho")`."""
    return scipy.fft.dct(np.eye(n), norm="ortho", axis=0)


def _planes(x: torch.Tensor) -> torch.Tensor:
    """Complex `(B, H, W)` -> its real and imaginary planes `(B, 2, H, W)` (a view)."""
    return torch.view_as_real(x).movedim(-1, -3)


def _complex(planes: torch.Tensor) -> torch.Tensor:
    return torch.complex(planes[..., 0, :, :], planes[..., 1, :, :])


class Wavelet:
    """Ψ = pywt's `wavedec2` with db4, zero padding and sigpy's default level (sigpy's `Wavelet`
    linop). Level j maps its low-pass image L to A_h L A_wᵀ = [[LL, LH], [HL, HH]] with the
    analysis matrices of `_dwt_matrix` (real and imaginary parts alike); Ψᴴ applies their
    transposes from the coarsest level up (pywt's `waverec2`), and ΨᴴΨ = I. Coefficients: the
    coarsest LL, then per level (finest first) the right and the bottom parts of its 2x2 blocks."""

    def __init__(self, shape: tuple[int, int], device: torch.device, dtype: torch.dtype):
        self.matrices = []
        h, w = shape
        for _ in range(wavelet_levels(shape)):
            a_h, a_w = (
                torch.from_numpy(_dwt_matrix(n)).to(device=device, dtype=dtype) for n in (h, w)
            )
            self.matrices.append((a_h, a_w))
            h, w = a_h.shape[0] // 2, a_w.shape[0] // 2

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        low, details = _planes(x), []
        for a_h, a_w in self.matrices:
            h, w = a_h.shape[0] // 2, a_w.shape[0] // 2
            level = a_h @ low @ a_w.T
            details += [level[..., :h, w:], level[..., h:, :]]
            low = level[..., :h, :w]
        return [_complex(c) for c in [low, *details]]

    def adjoint(self, coeffs: list[torch.Tensor]) -> torch.Tensor:
        low = _planes(coeffs[0])
        for j in reversed(range(len(self.matrices))):
            a_h, a_w = self.matrices[j]
            right, bottom = _planes(coeffs[1 + 2 * j]), _planes(coeffs[2 + 2 * j])
            level = torch.cat([torch.cat([low, right], dim=-1), bottom], dim=-2)
            low = a_h.T @ level @ a_w
        return _complex(low)


class Fourier:
    """Ψ = the orthonormal 2-D DFT of the image, Ψᴴ = Ψ⁻¹. Uncentred: centring only permutes the
    coefficients and multiplies them by ±1, which changes neither ‖Ψx‖₁ nor the FISTA step."""

    def __init__(self, shape: tuple[int, int], device: torch.device, dtype: torch.dtype):
        pass

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [torch.fft.fft2(x, norm="ortho")]

    def adjoint(self, coeffs: list[torch.Tensor]) -> torch.Tensor:
        return torch.fft.ifft2(coeffs[0], norm="ortho")


class DCT:
    """Ψ = the orthonormal 2-D DCT-II, D_h X D_wᵀ over the image axes (real and imaginary parts
    alike); orthogonal, so Ψᴴ = Ψᵀ = Ψ⁻¹."""

    def __init__(self, shape: tuple[int, int], device: torch.device, dtype: torch.dtype):
        self.d_h, self.d_w = (
            torch.from_numpy(_dct_matrix(n)).to(device=device, dtype=dtype) for n in shape
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [_complex(self.d_h @ _planes(x) @ self.d_w.T)]

    def adjoint(self, coeffs: list[torch.Tensor]) -> torch.Tensor:
        return _complex(self.d_h.T @ _planes(coeffs[0]) @ self.d_w)


BASES = {"wavelet": Wavelet, "fourier": Fourier, "dct": DCT}


def sparsifying_transform(basis: str, shape: tuple[int, int], like: torch.Tensor):
    """Ψ of `basis` (a key of BASES) for complex images of `shape` on `like`'s device and real
    dtype; built once per (basis, shape, device, dtype), as the solver and the two-step attack's
    objective ask for it at every call."""
    if basis not in BASES:
        raise ValueError(f"unknown l1 basis {basis!r}; valid bases: {', '.join(BASES)}")
    return _transform(basis, tuple(shape), like.device, like.real.dtype)


@functools.lru_cache(maxsize=16)
def _transform(basis: str, shape: tuple[int, int], device: torch.device, dtype: torch.dtype):
    return BASES[basis](shape, device, dtype)


def soft_threshold(c: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    """Complex soft thresholding c · max(1 − t/|c|, 0), with `threshold` shaped `(B, 1, 1)`.
    The division only sees |c| > t, so coefficients that are exactly 0 (e.g. where ESPIRiT's
    maps are cropped to zero) get a zero gradient, not 0 · ∞ = NaN."""
    magnitude = c.abs()
    keep = magnitude > threshold
    return c * torch.where(keep, 1 - threshold / torch.where(keep, magnitude, 1), 0)


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
    """l1 CS: `iterations` FISTA steps on ½‖MFSx − y‖² + λ‖Ψx‖₁ from x = 0 (sigpy's
    `L1WaveletRecon` schedule), image = crop(|x|), with Ψ the `basis` of BASES (db4 wavelet by
    default; Fourier and DCT for Darestani 2021 Fig. 10). Unrolled, so differentiable in y."""

    name = "l1"

    def __init__(
        self, image_size: tuple[int, int], lam: float, iterations: int, basis: str = "wavelet"
    ):
        super().__init__(image_size)
        if lam < 0 or iterations < 1:
            raise ValueError(f"need lam >= 0 and iterations >= 1, got {lam!r}, {iterations!r}")
        if basis not in BASES:
            raise ValueError(f"unknown l1 basis {basis!r}; valid bases: {', '.join(BASES)}")
        self.lam = float(lam)
        self.iterations = int(iterations)
        self.basis = basis

    def init_state(
        self, masked_kspace: torch.Tensor, mask: torch.Tensor, maps: torch.Tensor | None = None
    ) -> L1State:
        """Maps (ESPIRiT unless given) and λ = lam · max|Aᴴy| for each slice; x = 0."""
        y = physics.apply_mask(masked_kspace, mask).detach()
        maps = physics.espirit_maps(y, mask) if maps is None else maps.to(y)
        scale = self.acquisition(mask, maps, y.shape).A_adjoint(y).abs().amax(dim=(-2, -1))
        return L1State(maps, self.lam * scale)

    def acquisition(
        self, mask: torch.Tensor, maps: torch.Tensor, kspace_shape
    ) -> physics.Acquisition:
        """A = M F S of the problem: the mask, the slices' coil maps, the output size."""
        return physics.Acquisition(mask, self.output_size(kspace_shape), maps)

    def objective(
        self, state: L1State, masked_kspace: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """L(x, y) = ½‖MFSx − y‖² + λ‖Ψx‖₁ per slice, shape `(B,)`."""
        y = physics.apply_mask(masked_kspace, mask)
        residual = self.acquisition(mask, state.maps, y.shape).A(state.x) - y
        data = 0.5 * (residual.abs() ** 2).sum(dim=(1, 2, 3))
        psi = sparsifying_transform(self.basis, tuple(state.x.shape[-2:]), state.x)
        sparsity = sum(c.abs().sum(dim=(-2, -1)) for c in psi.forward(state.x))
        return data + state.lam * sparsity

    def optimiser(self, state: L1State) -> torch.optim.Optimizer:
        """Gradient descent on x with FISTA's step α (the smallest of the batch), for attacks that
        descend L jointly with other terms (the l1 term then takes subgradient steps)."""
        return torch.optim.SGD([state.x], lr=float(state.step.min()))

    def fit(self, state: L1State, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """FISTA from state.x: z ← x − α (AᴴA z − Aᴴy), x ← Ψᴴ soft(Ψz, αλ), momentum as sigpy's
        `GradientMethod(accelerate=True)`. Returns the final x (graph kept to y) and stores it,
        detached, in state.x."""
        y = physics.apply_mask(masked_kspace, mask)
        acquisition = self.acquisition(mask, state.maps, y.shape)
        gram = acquisition.normal()
        adjoint_y = acquisition.A_adjoint(y)
        psi = sparsifying_transform(self.basis, tuple(state.x.shape[-2:]), state.x)
        step = state.step.view(-1, 1, 1)
        threshold = (state.step * state.lam).view(-1, 1, 1)
        x = state.x.detach()
        z, t = x, 1.0
        for _ in range(self.iterations):
            x_old = x
            z = z - step * (gram(z) - adjoint_y)
            x = psi.adjoint([soft_threshold(c, threshold) for c in psi.forward(z)])
            t_old, t = t, (1 + math.sqrt(1 + 4 * t * t)) / 2
            z = x + ((t_old - 1) / t) * (x - x_old)
        state.x.data.copy_(x.detach())
        return x

    def image(self, x: torch.Tensor) -> torch.Tensor:
        """crop(|x|) at `output_size`."""
        return physics.center_crop(x.abs(), self.output_size(x.shape))

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
