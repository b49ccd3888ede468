"""Emulated single-coil (ESC) k-space from multicoil k-space, fastMRI's single-coil convention.

fastMRI's single-coil knee data were not acquired with one coil: they are emulated from the
multicoil scans (Zbontar et al. 2018, arXiv:1811.08839, "single-coil data"), following Tygert &
Zbontar, "Simulating single-coil MRI from the responses of multiple coils" (arXiv:1811.08026,
CAMCoS 15(2), 2020). The responses of the receivers are replaced by ONE complex linear combination
of them, fitted in the least-squares sense to the root-sum-of-squares image, so the result behaves
like a single aggregate receiver: its k-space is a linear function of the measurements, with a
single coil's noise level and phase.

Our reading, per volume (one virtual receiver per scan, as one physical coil would be):

    x_c = F^-1 k_c,   w = argmin_w  sum_{slices, p in crop} |sum_c w_c x_c(p) - RSS(x)(p)|^2,
    k_esc = sum_c w_c k_c   (= F sum_c w_c x_c, F linear),   esc = crop(|F^-1 k_esc|).

The fit region (the target crop of every slice of the volume) and the equal weighting of pixels
are our choices; Tygert & Zbontar's exact region and weighting may differ. The ESC target has a
lower SNR than the RSS target, as intended.
"""

from __future__ import annotations

import numpy as np
import torch

from mrirobust import physics


def emulate_singlecoil(
    kspace: np.ndarray, target_size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ESC of one volume: multicoil k-space `(S, C, H, W)` -> (k_esc `(S, H, W)` complex64,
    esc target `(S, h, w)` float32, weights `(C,)` complex64); see the module docstring."""
    if kspace.ndim != 4 or not np.iscomplexobj(kspace):
        raise ValueError(
            f"kspace must be complex multicoil k-space (slices, coils, H, W), got dtype "
            f"{kspace.dtype} shape {kspace.shape}"
        )
    k = torch.from_numpy(np.asarray(kspace, dtype=np.complex128))
    coil_images = physics.center_crop(physics.ifft2c(k), tuple(target_size))  # (S, C, h, w)
    design = coil_images.movedim(1, -1).reshape(-1, k.shape[1])  # (S h w, C)
    rss = physics.rss(coil_images).reshape(-1, 1).to(design.dtype)
    weights = torch.linalg.lstsq(design, rss).solution[:, 0]  # (C,)
    # LAPACK's last bits vary with memory alignment between processes; weights rounded to
    # complex64 keep the generated files byte-identical
    weights = weights.to(torch.complex64).to(torch.complex128)
    k_esc = torch.einsum("c,schw->shw", weights, k)
    esc = physics.center_crop(physics.ifft2c(k_esc).abs(), tuple(target_size))
    return (
        k_esc.numpy().astype(np.complex64),
        esc.numpy().astype(np.float32),
        weights.numpy().astype(np.complex64),
    )
