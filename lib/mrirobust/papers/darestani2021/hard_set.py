"""fastMRI-A (Fig. 6, 14, 15): the validation images hardest for an independent fifth method.

The paper picks the 10 % of 995 knee images with the lowest SSIM under i-RIM, a method none of
its plotted models is. Our fifth method is total-variation regularised CS (sigpy's
`TotalVariationRecon`, ESPIRiT maps, `iterations` primal-dual steps), because

- it is none of the plotted models and shares nothing learned with them: no training data, no
  weights, no seed (a U-Net of another seed or width would share the U-Net family's
  architecture and training set, so its hard images would be biased towards the U-Net points);
- its prior (piecewise constant images) is not the sparsity prior of the plotted l1 models
  (wavelet, DCT or Fourier coefficients), so it does not simply pick l1's failures;
- it is cheap (no training; Fig. 6's whole cpu run, TV on 16 candidates included, took 1.6 min)
  and deterministic.

λ is relative, as l1's: λ_abs = lam · max|Aᴴy| per slice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import sigpy.mri.app
import torch

from mrirobust import physics
from mrirobust.papers.darestani2021.experiments import scores


def tv_reconstruct(
    masked_kspace: torch.Tensor,
    mask: torch.Tensor,
    image_size: tuple[int, int],
    *,
    lam: float,
    iterations: int,
) -> torch.Tensor:
    """TV-regularised CS per slice: argmin_x ½‖MFSx − y‖² + λ_abs‖∇x‖₁ (sigpy), image =
    crop(|x|) `(B, h, w)`; `masked_kspace` `(B, C, H, W)`, mask `(B or 1, 1, 1, W)`."""
    if not lam > 0 or not (isinstance(iterations, int) and iterations >= 1):
        raise ValueError(
            f"need tv_lam > 0 and tv_iterations an integer >= 1, got {lam!r}, {iterations!r}"
        )
    y = physics.apply_mask(masked_kspace, mask).detach().cpu()
    mask = mask.detach().cpu()
    maps = physics.espirit_maps(y, mask)
    scale = physics.sens_reduce(y, maps).abs().amax(dim=(-2, -1))
    images = []
    for b in range(len(y)):
        weights = np.broadcast_to(mask[b if len(mask) > 1 else 0].numpy(), y[b].shape)
        app = sigpy.mri.app.TotalVariationRecon(
            y[b].numpy(),
            maps[b].numpy(),
            float(lam * scale[b]),
            weights=weights.astype(np.float32),
            max_iter=iterations,
            show_pbar=False,
        )
        images.append(torch.from_numpy(np.abs(app.run())))
    return physics.center_crop(torch.stack(images).float(), tuple(image_size))


def hardness(
    kspace: torch.Tensor,
    mask: torch.Tensor,
    target: torch.Tensor,
    ids: Sequence[str],
    *,
    lam: float,
    iterations: int,
) -> pd.DataFrame:
    """The fifth method's SSIM and PSNR on every candidate slice (rows: slice, ssim, psnr),
    sorted from the hardest (lowest SSIM)."""
    if kspace.shape[0] == 0 or len(ids) != kspace.shape[0]:
        raise ValueError(
            f"the candidate set is empty or ids do not match: {kspace.shape[0]} slices, "
            f"{len(ids)} ids"
        )
    image = tv_reconstruct(kspace, mask, tuple(target.shape[-2:]), lam=lam, iterations=iterations)
    values = scores(target, image)
    table = pd.DataFrame(
        {"slice": list(ids), **{k: v.numpy().astype(float) for k, v in values.items()}}
    )
    return table.sort_values("ssim", kind="stable").reset_index(drop=True)


def hardest(table: pd.DataFrame, fraction: float) -> list[str]:
    """The ids of the `fraction` (0 < fraction <= 1) of slices with the lowest SSIM in a
    `hardness` table (at least one)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"hard_fraction must be in (0, 1], got {fraction!r}")
    count = max(1, round(fraction * len(table)))
    return list(table.nsmallest(count, "ssim", keep="first")["slice"])


def column_energy(kspace: torch.Tensor) -> torch.Tensor:
    """Fig. 14 (right): the share of each slice's k-space energy Σ|k|² per distance from the
    centre column (phase-encoding frequency, the sampling direction), `(B, W // 2 + 1)`: column
    c and its mirror are summed at distance |c − W // 2|; each row sums to 1."""
    energy = (kspace.abs() ** 2).sum(dim=(1, 2))
    width = energy.shape[-1]
    distance = (torch.arange(width) - width // 2).abs()
    profile = torch.zeros(energy.shape[0], width // 2 + 1, dtype=energy.dtype)
    profile.index_add_(1, distance, energy.cpu())
    return profile / profile.sum(dim=1, keepdim=True).clamp_min(1e-30)


def low_frequency_proportion(kspace: torch.Tensor, acceleration: int = 4) -> torch.Tensor:
    """Fig. 14 (left): energy of the fully sampled centre columns (fastMRI's round(W · centre
    fraction) at `acceleration`) over the energy of the whole k-space, per slice `(B,)`."""
    width = kspace.shape[-1]
    count = round(width * physics.center_fraction(acceleration))
    start = (width - count + 1) // 2
    energy = (kspace.abs() ** 2).sum(dim=(1, 2))
    return (energy[:, start : start + count].sum(dim=1) / energy.sum(dim=1)).cpu()


def energy_profile(kspace: torch.Tensor, ids: Sequence[str], hard: Sequence[str]) -> pd.DataFrame:
    """The mean `column_energy` of the hard slices and of the other candidates: rows distance,
    group ("hard" or "rest"), energy_share."""
    unknown = sorted(set(hard) - set(ids))
    if unknown:
        raise ValueError(f"hard ids {unknown} are not among the candidates")
    profile = column_energy(kspace)
    is_hard = torch.tensor([i in set(hard) for i in ids])
    rows = []
    for group, chosen in (("hard", is_hard), ("rest", ~is_hard)):
        if chosen.any():
            mean = profile[chosen].mean(dim=0)
            rows += [
                {"distance": d, "group": group, "energy_share": float(v)}
                for d, v in enumerate(mean)
            ]
    return pd.DataFrame(rows)
