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

import contextlib
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import sigpy.mri.app
import torch

from mrirobust import costs, physics
from mrirobust.papers.darestani2021.experiments import scores
from mrirobust.papers.darestani2021.sets import SliceSet


@contextlib.contextmanager
def _numpy_seed(seed: int) -> Iterator[None]:
    """numpy's global RNG seeded with `seed` inside the block, restored after it."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def tv_reconstruct(
    masked_kspace: torch.Tensor,
    mask: torch.Tensor,
    image_size: tuple[int, int],
    *,
    lam: float,
    iterations: int,
) -> torch.Tensor:
    """TV-regularised CS per slice: argmin_x ½‖MFSx − y‖² + λ_abs‖∇x‖₁ (sigpy), image =
    crop(|x|) `(B, h, w)`; `masked_kspace` `(B, C, H, W)`, mask `(B or 1, 1, 1, W)`. Seeded
    per slice: the same image whatever ran before or beside it."""
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
        with _numpy_seed(0):  # sigpy's step size: a power method from numpy's global RNG
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
    slices: SliceSet, *, lam: float, iterations: int, acceleration: int = 4
) -> tuple[pd.DataFrame, dict[str, torch.Tensor]]:
    """The fifth method's SSIM and PSNR and the `low_frequency_proportion` of every candidate
    (rows: slice, ssim, psnr, low_frequency_proportion), sorted from the hardest (lowest SSIM),
    and each candidate's `column_energy` by id. Streams the set one slice at a time (the paper's
    pool of 995 slices holds ~28 GB of k-space): only these scores stay in memory."""
    if len(slices) == 0:
        raise ValueError("the candidate set is empty")
    rows, energies = [], {}
    for part in slices.batches(1):
        size = tuple(part.target.shape[-2:])
        with costs.timed("fit", "tv"):
            image = tv_reconstruct(part.kspace, part.mask, size, lam=lam, iterations=iterations)
        values = scores(part.target, image)
        low = low_frequency_proportion(part.kspace, acceleration)
        rows.append(
            {
                "slice": part.ids[0],
                **{k: float(v[0]) for k, v in values.items()},
                "low_frequency_proportion": float(low[0]),
            }
        )
        energies[part.ids[0]] = column_energy(part.kspace)[0]
    table = pd.DataFrame(rows).sort_values("ssim", kind="stable").reset_index(drop=True)
    return table, energies


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


def energy_profile(energies: Mapping[str, torch.Tensor], hard: Sequence[str]) -> pd.DataFrame:
    """The mean `column_energy` (`hardness`'s energies by id) of the hard slices and of the
    other candidates: rows distance, group ("hard" or "rest"), energy_share. Profiles of
    narrower k-space are zero beyond their last column (no energy was measured there)."""
    unknown = sorted(set(hard) - set(energies))
    if unknown:
        raise ValueError(f"hard ids {unknown} are not among the candidates")
    length = max(len(p) for p in energies.values())
    profile = torch.stack(
        [torch.nn.functional.pad(p, (0, length - len(p))) for p in energies.values()]
    )
    is_hard = torch.tensor([i in set(hard) for i in energies])
    rows = []
    for group, chosen in (("hard", is_hard), ("rest", ~is_hard)):
        if chosen.any():
            mean = profile[chosen].mean(dim=0)
            rows += [
                {"distance": d, "group": group, "energy_share": float(v)}
                for d, v in enumerate(mean)
            ]
    return pd.DataFrame(rows)
