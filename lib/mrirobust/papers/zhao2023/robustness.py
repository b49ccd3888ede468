"""Attacks on the maps (none of the papers ran them): does relaxometry guidance make the
myocardial T1/T2 maps more or less robust?

Threat model: fully sampled k-space y of one slice, the CMRxRecon mask M, a perturbation z on
the sampled locations with a budget per (frame, coil) ||z_{t,c}|| <= eta ||y_{t,c}|| (each
frame is its own acquisition), input M(y + z). The weightings are flattened into the coil axis,
so `attacks.kspace_pgd` (normalised-gradient ascent, exact projection, seeded random start)
applies unchanged, with its per-coil groups being per-(frame, coil) groups. Four perturbations
per eta (one PGD call per eta, so memory is that of one attacked slice; eta = 0 is z = 0):

- random: Gaussian noise on the sampled locations scaled to the same per-group norms;
- image: PGD maximising the MSE of the cropped frames against the fully sampled frames in the
  region dilated by 2 pixels (image-targeted);
- map: PGD maximising the MSE of the judge-fit map (`models.qmri.MapView`) against the fit of
  the fully sampled frames (the reference map) on the region (map-targeted);
- shift: the same PGD against T_ref - 10 s, whose gradient is ~ 2 x 10 s x dT: it pushes the
  T1/T2 of the region up (a fake disease), scored by the mean bias it reaches and the SSIM it
  keeps.

Whether VN-UNet-relax's maps are more or less robust than VN-UNet's has no expected direction:
`model_gaps` measures it (the paired per-slice difference per eta with its interval) and no claim
states it.

The region is `experiments.region_of`: the pure myocardium of the phantom's labels, or on data
without labels (real CMRxRecon) the evaluation crop where the reference fit is valid; every
row names it. Every perturbation is scored the same way: map mean and median absolute error
and bias (ms) over the region against the reference map, relative image error in the dilated
region, and the challenge SSIM. The attacked model lives on its device (`devices.of`); the
perturbations come back to the CPU to be scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch
from scipy.ndimage import binary_dilation

from mrirobust import attacks, claims, devices, physics
from mrirobust.models.qmri import MapView, SeriesReconstructor
from mrirobust.papers.zhao2023.data import SeriesSlice, SeriesSlices, eval_crop
from mrirobust.papers.zhao2023.experiments import (
    challenge_metrics,
    evaluation_slices,
    fit_map,
    region_of,
)
from mrirobust.papers.zhao2023.training import MODALITY_OF, frames_of, normalise, train_all

MODES = ("random", "image", "map", "shift")
SHIFT_OFFSET_MS = 1e4  # "shift" maximises the distance from T_ref - this: it raises T everywhere


def random_perturbation(kspace: torch.Tensor, mask: torch.Tensor, eta: float, seed: int):
    """Gaussian noise on the sampled locations with ||z_i|| = eta ||k_i|| for every coil i of
    k-space `(B, C, H, W)`."""
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(kspace.shape, generator=gen, dtype=kspace.dtype) * mask
    norms = torch.linalg.vector_norm(noise, dim=(-2, -1), keepdim=True).clamp_min(1e-30)
    return eta * torch.linalg.vector_norm(kspace, dim=(-2, -1), keepdim=True) * noise / norms


@dataclass
class Case:
    """One evaluated slice prepared for the attacks: the normalised fully sampled k-space
    `(1, T*C, H, W)` (per-(frame, coil) groups), the mask `(1, 1, 1, W)` of `acceleration`, the
    cropped fully sampled frames `(T, h, w)` (`target`), the fit of those frames (`reference`,
    ms), the `region` the map errors are taken over (named `region_name`), that region dilated
    by 2 pixels (`roi`, the image errors'), the times (ms) and the evaluation crop."""

    kspace: torch.Tensor
    mask: torch.Tensor
    target: torch.Tensor
    reference: torch.Tensor
    region: torch.Tensor
    region_name: str
    roi: torch.Tensor
    times_ms: torch.Tensor
    crop: tuple[int, int]


def prepare(s: SeriesSlice, modality: str, acceleration: int) -> Case:
    """The `Case` of slice `s` for `modality` at `acceleration`."""
    crop = eval_crop(s.readout, s.kspace.shape[-1])
    mask = s.masks[acceleration].view(1, 1, 1, -1)
    full = s.kspace / normalise(s.kspace[None], mask)
    target = physics.center_crop(frames_of(full), crop)
    reference = fit_map(modality, target, s.times_ms)
    region, name = region_of(s, modality, reference)
    roi = torch.from_numpy(binary_dilation(region.numpy(), iterations=2))
    kspace = full.flatten(0, 1)[None]
    return Case(kspace, mask, target, reference, region, name, roi, s.times_ms, crop)


def views(net, case: Case, modality: str) -> tuple[SeriesReconstructor, MapView]:
    """The series reconstructor of `net` on the case's crop (on the net's device) and its
    map view (the judge fit of its frames)."""
    recon = SeriesReconstructor(case.crop, net).to(devices.of(net)).eval()
    return recon, MapView(recon, MODALITY_OF[modality], case.times_ms[None])


def perturbation(
    net, case: Case, modality: str, mode: str, eta: float, steps: int, step_size: float, seed: int
) -> torch.Tensor:
    """The perturbation `(1, T*C, H, W)` of `mode` (MODES) at budget `eta` against `net`, on
    the CPU (eta = 0: z = 0)."""
    if mode not in MODES:
        raise ValueError(f"unknown attack mode {mode!r}; valid: {', '.join(MODES)}")
    if mode == "random":
        return random_perturbation(case.kspace, case.mask, eta, seed)
    if eta == 0:
        return torch.zeros_like(case.kspace)
    recon, view = views(net, case, modality)
    t = len(case.target)
    # mode -> (attacked model, its target, the region the attack scores)
    model, goal, where = {
        "image": (
            recon,
            torch.cat(case.target.unbind(0), dim=-1)[None],
            case.roi.repeat(1, t)[None],
        ),
        "map": (view, case.reference[None].float(), case.region[None]),
        "shift": (view, (case.reference - SHIFT_OFFSET_MS)[None].float(), case.region[None]),
    }[mode]
    return attacks.kspace_pgd(
        model,
        case.kspace,
        case.mask,
        goal,
        eta=eta,
        region=where,
        steps=steps,
        step_size=step_size,
        seed=seed,
        progress=False,
    ).perturbation.cpu()


@torch.no_grad()
def attacked_frames(net, case: Case, modality: str, z: torch.Tensor) -> torch.Tensor:
    """The cropped frames `(T, h, w)` that `net` reconstructs from M(k + z), on the CPU."""
    recon, _ = views(net, case, modality)
    inputs = devices.to_model(recon, physics.apply_mask(case.kspace + z, case.mask), case.mask)
    return recon.frames(*inputs)[0].cpu()


def map_errors(error: torch.Tensor, region: torch.Tensor) -> dict[str, float]:
    """Mean and median absolute error and mean error (bias) of a map error `(h, w)` (ms) over
    `region`."""
    return dict(
        map_mae_ms=error[region].abs().mean().item(),
        map_median_ae_ms=error[region].abs().median().item(),
        map_bias_ms=error[region].mean().item(),
    )


def score(case: Case, modality: str, frames: torch.Tensor) -> dict[str, float]:
    """Map and image errors of reconstructed `frames` (see the module docstring)."""
    error = fit_map(modality, frames, case.times_ms) - case.reference
    target, roi = case.target, case.roi
    image = (frames - target)[:, roi].square().sum() / target[:, roi].square().sum()
    return map_errors(error, case.region) | dict(
        image_roi_nrmse=image.sqrt().item(),
        ssim=challenge_metrics(target, frames)["ssim"].mean().item(),
    )


def attack_sweep(
    models: dict,
    slices: SeriesSlices,
    modality: str,
    acceleration: int,
    etas: list[float],
    steps: int,
    step_size: float = 0.5,
    seed: int = 0,
) -> pd.DataFrame:
    """Rows per (model, patient, slice, mode, eta) for every evaluated slice, each naming its
    region; `models` maps a name to a trained series network (on any device)."""
    rows = []
    for s in (s for s in slices if s.evaluated):
        case = prepare(s, modality, acceleration)
        for model_name, net in models.items():
            clean = None
            for eta in etas:
                for mode in MODES:
                    if eta == 0 and clean is not None:
                        found = clean  # z = 0 for every mode
                    else:
                        z = perturbation(net, case, modality, mode, eta, steps, step_size, seed)
                        found = score(case, modality, attacked_frames(net, case, modality, z))
                    clean = found if eta == 0 else clean
                    rows.append(
                        dict(
                            model=model_name,
                            patient=s.patient,
                            slice=s.index,
                            region=case.region_name,
                            mode=mode,
                            eta=eta,
                        )
                        | found
                    )
    return pd.DataFrame(rows)


def model_gaps(
    attacks: pd.DataFrame,
    models: tuple[str, str] = ("vn_relax", "vn"),
    mode: str = "map",
    column: str = "map_mae_ms",
) -> pd.DataFrame:
    """Per eta, the mean `column` of both `models` under attack `mode` and the paired per-slice
    difference models[0] - models[1] with its 95 % bootstrap interval.

    A measurement, not a claim: whether relaxometry guidance makes the maps more or less robust
    has no expected direction."""
    a, b = models
    rows = attacks[attacks["mode"] == mode]
    curves = rows.pivot_table(index=["eta", "patient", "slice"], columns="model", values=column)
    if not {a, b} <= set(curves.columns) or curves[[a, b]].isna().any().any():
        raise ValueError(f"model_gaps: {a} and {b} need {mode} rows on the same slices and etas")
    out = []
    for eta, part in curves.groupby(level="eta"):
        gap = claims.mean_interval(part[a] - part[b], f"{a} - {b} at eta {eta}")
        out.append(
            {
                "mode": mode,
                "eta": eta,
                f"{column}_{a}": part[a].mean(),
                f"{column}_{b}": part[b].mean(),
                "gap": gap.estimate,
                "gap_low": gap.low,
                "gap_high": gap.high,
                "n": gap.n,
            }
        )
    return pd.DataFrame(out)


def run(root, scale: str, cfg: dict, attack: dict) -> pd.DataFrame:
    """`attack_sweep` of the profile's models (loaded from their checkpoints) on the first
    `max_slices` evaluated slices of the first `max_patients` evaluation patients."""
    modality = attack["modality"]
    trained, _ = train_all(root, scale, cfg, modality, attack["models"])
    slices = evaluation_slices(root, cfg, attack, modality)
    return attack_sweep(
        {name: trained[name] for name in attack["models"]},
        slices,
        modality,
        attack["acceleration"],
        attack["etas"],
        attack["steps"],
        attack["step_size"],
        attack["seed"],
    )
