"""Morshuis et al. 2022, "Adversarial robustness of MR image reconstruction under realistic
perturbations": the experiments behind Fig. 1–5, as functions returning tidy tables.

As in the reference code, every fastMRI+ box of the knee validation split is one sample: the
slice is attacked once per box. Masks are random (4×: centre fraction 0.08, 8×: 0.04), limited
to the acquired columns and seeded per (seed, file, slice) — the reference drew them unseeded.
Region SSIM/PSNR use skimage's SSIM on the box with the data range of the full target
(`mrirobust.metrics`); boxes smaller than the 7×7 window follow that module's documented rule.
Attack settings (η grid, PGD steps, step size and rule, angle grid, θ_max bounds, seed) come in
as one dict: the `attack` section of a scale profile, `scales.resolve(scale, "attack", ...)`.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch

from mrirobust import attacks, data, metrics, physics, scales
from mrirobust.physics import CENTER_FRACTIONS

REGION_MODES = ("region", "image")  # attack the box (targeted) or the whole image


@dataclass
class Sample:
    """One annotated box of one validation slice."""

    kspace: torch.Tensor  # (C, H, W) fully sampled
    target: torch.Tensor  # (h, w) RSS target
    box: torch.Tensor  # (4,) x, y, width, height on the target
    label: str
    fname: str
    slice: int
    acquired: tuple[int, int]

    @property
    def sample_id(self) -> str:
        x, y, w, h = self.box.tolist()
        return f"{self.fname}/{self.slice}/{x},{y},{w},{h}"

    def row(self, acceleration: int) -> dict:
        """The columns that identify this sample in a result table."""
        return {
            "sample": self.sample_id,
            "file": self.fname,
            "slice": self.slice,
            "label": self.label,
            "acceleration": acceleration,
        }


def annotated_samples(
    scale: str, max_samples: int | None = None, labels: Sequence[str] | None = None
) -> list[Sample]:
    """Every usable fastMRI+ box of the knee validation split at `scale`, in file/slice order.

    `labels` keeps boxes whose label contains one of the given strings (case-insensitive);
    `max_samples` keeps n boxes spread evenly over that order (so a small sample spans the
    volumes). Embedded data is generated first when missing.
    """
    if max_samples is not None and max_samples < 1:
        raise ValueError(f"max_samples must be >= 1 or None, got {max_samples!r}")
    if scales.resolve(scale, "data")["source"] == "embedded":
        data.ensure_embedded(scale, progress=False)
    directory = data.split_dir(scale, "knee", "val")
    boxes = data.scale_annotations(scale, "knee")
    data.check_annotations(boxes, directory)
    if labels:
        pattern = "|".join(labels)
        boxes = boxes[boxes["label"].str.contains(pattern, case=False, regex=True)]
    files = {path.stem: path for path in sorted(directory.glob("*.h5"))}
    boxes = boxes[boxes["file"].isin(list(files))].sort_values(["file", "slice", "x", "y"])
    if boxes.empty:
        raise ValueError(f"no annotated knee validation slices at scale {scale!r} in {directory}")
    if max_samples is not None and max_samples < len(boxes):
        picks = torch.linspace(0, len(boxes) - 1, max_samples).round().long()
        boxes = boxes.iloc[picks.tolist()]
    samples, cache = [], {}
    for row in boxes.itertuples(index=False):
        key = (row.file, row.slice)
        if key not in cache:
            cache[key] = data.read_slice(files[row.file], row.slice)
        s = cache[key]
        box = torch.tensor([row.x, row.y, row.width, row.height], dtype=torch.long)
        samples.append(Sample(s.kspace, s.target, box, row.label, s.fname, s.index, s.acquired))
    return samples


def sample_mask(sample: Sample, acceleration: int, seed: int = 0) -> torch.Tensor:
    """The seeded random column mask `(1, 1, 1, W)` of `sample` at `acceleration`."""
    if acceleration not in CENTER_FRACTIONS:
        raise ValueError(
            f"acceleration must be one of {sorted(CENTER_FRACTIONS)}, got {acceleration}"
        )
    slice_seed = zlib.crc32(f"{seed}/{sample.fname}/{sample.slice}".encode())
    mask = physics.column_mask(
        sample.kspace.shape[-1],
        acceleration,
        CENTER_FRACTIONS[acceleration],
        seed=slice_seed,
        acquired=sample.acquired,
    )
    return mask.view(1, 1, 1, -1)


def batches(samples: Sequence[Sample], batch_size: int):
    """Consecutive runs of at most `batch_size` samples whose k-space shapes agree."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    group: list[Sample] = []
    for sample in samples:
        if group and (len(group) == batch_size or sample.kspace.shape != group[0].kspace.shape):
            yield group
            group = []
        group.append(sample)
    if group:
        yield group


def stack(group: Sequence[Sample], acceleration: int, seed: int):
    """k-space `(B, C, H, W)`, masks `(B, 1, 1, W)`, targets `(B, h, w)` and boxes `(B, 4)`."""
    return (
        torch.stack([s.kspace for s in group]),
        torch.cat([sample_mask(s, acceleration, seed) for s in group]),
        torch.stack([s.target for s in group]),
        torch.stack([s.box for s in group]),
    )


def _scores(target, recon, boxes) -> dict[str, torch.Tensor]:
    data_range = metrics.value_range(target)
    return {
        "ssim_region": metrics.ssim(target, recon, data_range=data_range, region=boxes),
        "psnr_region": metrics.psnr(target, recon, data_range=data_range, region=boxes),
        "ssim_image": metrics.ssim(target, recon, data_range=data_range),
    }


def pgd(model, kspace, mask, target, boxes, *, eta, mode: str, attack: dict):
    """`attacks.kspace_pgd` with the profile's PGD settings, on the boxes ("region") or the
    whole image ("image")."""
    if mode not in REGION_MODES:
        raise ValueError(f"mode must be one of {REGION_MODES}, got {mode!r}")
    return attacks.kspace_pgd(
        model,
        kspace,
        mask,
        target,
        eta=eta,
        region=boxes if mode == "region" else None,
        steps=attack["pgd_steps"],
        step_size=attack["pgd_step_size"],
        seed=attack["seed"],
        rule=attack["pgd_rule"],
        progress=False,
    )


def noise_attack(
    model,
    samples: Sequence[Sample],
    *,
    attack: dict,
    acceleration: int,
    mode: str = "region",
    batch_size: int = 4,
) -> pd.DataFrame:
    """Per-coil k-space PGD (eq. 4) on every sample for every η of `attack["eta_grid"]`, scored
    on the sample's box.

    `mode` "region" maximises the box MSE (targeted), "image" the whole-image MSE; both are
    scored on the box, as in Fig. 1b. One row per (sample, η) with region SSIM/PSNR, image SSIM
    and the final attack loss.
    """
    etas = list(attack["eta_grid"])
    rows = []
    for group in batches(samples, batch_size):
        kspace, mask, target, boxes = stack(group, acceleration, attack["seed"])
        result = pgd(model, kspace, mask, target, boxes, eta=etas, mode=mode, attack=attack)
        final_loss = result.losses[-1]  # (E, B)
        for e, eta in enumerate(etas):
            scores = _scores(target, result.reconstruction[e].detach(), boxes)
            for b, sample in enumerate(group):
                rows.append(
                    {
                        **sample.row(acceleration),
                        "mode": mode,
                        "rule": attack["pgd_rule"],
                        "eta": float(eta),
                        **{k: float(v[b]) for k, v in scores.items()},
                        "loss": float(final_loss[e, b]),
                    }
                )
    return pd.DataFrame(rows)


def rotation_attack(
    model, samples: Sequence[Sample], *, attack: dict, acceleration: int, batch_size: int = 4
) -> pd.DataFrame:
    """Box MSE and box SSIM of every angle of the profile's grid (`angle_max`, `angle_step`)
    for every sample (eq. 5): one row per (sample, angle). `worst_angles` turns it into the
    Fig. 4a table."""
    angles = attacks.angle_grid(attack["angle_max"], attack["angle_step"])
    rows = []
    for group in batches(samples, batch_size):
        kspace, mask, target, boxes = stack(group, acceleration, attack["seed"])
        result = attacks.rotation_search(
            model,
            kspace,
            mask,
            target,
            angles=angles,
            region=boxes,
            batch_size=attack["rotation_batch"],
            progress=False,
        )
        for a, angle in enumerate(result.angles.tolist()):
            for b, sample in enumerate(group):
                rows.append(
                    {
                        **sample.row(acceleration),
                        "angle": round(angle, 6),
                        "loss": float(result.losses[a, b]),
                        "ssim_region": float(result.ssim[a, b]),
                    }
                )
    return pd.DataFrame(rows)


def worst_angles(table: pd.DataFrame, theta_maxes: Sequence[float]) -> pd.DataFrame:
    """For every sample and bound θ_max, the angle with |θ| ≤ θ_max of largest box MSE, with its
    loss and box SSIM. Raises when the grid has no angle within a bound (0 must be on the grid
    for θ_max = 0)."""
    keys = [c for c in ("model", "acceleration", "sample") if c in table.columns]
    rows = []
    for theta_max in theta_maxes:
        allowed = table[table["angle"].abs() <= theta_max + 1e-6]
        if allowed.empty:
            raise ValueError(
                f"no angle of the grid within |theta| <= {theta_max} "
                f"(grid {table['angle'].min():g}..{table['angle'].max():g}, needs 0 for θ_max = 0)"
            )
        worst = allowed.loc[allowed.groupby(keys)["loss"].idxmax()]
        rows.append(worst.assign(theta_max=theta_max))
    return pd.concat(rows, ignore_index=True)


def summarise(table: pd.DataFrame, by: Sequence[str], value: str = "ssim_region") -> pd.DataFrame:
    """Mean, standard deviation, count and a 95 % normal confidence interval of `value`."""
    grouped = table.groupby(list(by))[value]
    out = grouped.agg(["mean", "std", "count"]).reset_index()
    half = 1.96 * out["std"].fillna(0.0) / out["count"].clip(lower=1) ** 0.5
    return out.assign(ci_low=out["mean"] - half, ci_high=out["mean"] + half)


def background_mask(image: torch.Tensor, tile: int = 4, fraction: float = 0.05) -> torch.Tensor:
    """Signal-free background of a full field-of-view magnitude image `(H, W)` (Firbank et al.
    1999): the `tile`×`tile` tiles whose mean is at most 1.5× the `fraction`-quantile of all
    tile means. The darkest tiles locate the air; taking every tile within the noise band above
    them (tile means of pure noise scatter by ~±10 %) avoids the downward bias of keeping only
    the darkest noise."""
    H, W = image.shape
    rows, cols = H // tile, W // tile
    means = image[: rows * tile, : cols * tile].reshape(rows, tile, cols, tile).mean(dim=(1, 3))
    chosen = means <= 1.5 * torch.quantile(means.flatten(), fraction)
    mask = torch.zeros(H, W, dtype=torch.bool)
    tiles = chosen.repeat_interleave(tile, 0).repeat_interleave(tile, 1)
    mask[: rows * tile, : cols * tile] = tiles
    return mask


def thermal_noise_eta(samples: Sequence[Sample]) -> float:
    """Mean measured thermal-noise level in η units (E‖n_i‖/‖k_i‖, `physics.noise_level`) over
    the distinct slices of `samples`, with the background of `background_mask` on the full
    field of view."""
    levels, seen = [], set()
    for s in samples:
        if (s.fname, s.slice) in seen:
            continue
        seen.add((s.fname, s.slice))
        image = physics.rss(physics.ifft2c(s.kspace), dim=0)
        level = physics.noise_level(s.kspace.unsqueeze(0), background_mask(image))
        levels.append(level.mean())
    return float(torch.stack(levels).mean())


def _attack_one(model, sample: Sample, *, eta: float, acceleration: int, mode: str, attack: dict):
    """Clean and attacked reconstruction and the perturbation of one sample at one η."""
    kspace, mask, target, boxes = stack([sample], acceleration, attack["seed"])
    result = pgd(model, kspace, mask, target, boxes, eta=eta, mode=mode, attack=attack)
    with torch.no_grad():
        clean = model(physics.apply_mask(kspace, mask), mask)
    return clean[0], result.reconstruction[0].detach(), result.perturbation[0].detach()


def fully_sampled(kspace: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """RSS of fully sampled k-space `(C, H, W)`, cropped to `size`."""
    return physics.rss_crop(kspace, size)


def noise_example(
    models: dict, sample: Sample, *, attack: dict, eta: float = 0.02, acceleration: int = 8
) -> dict[str, torch.Tensor]:
    """Fig. 2: the target, the target with each model's adversarial noise added to the FULLY
    sampled k-space, and each model's clean and attacked reconstruction (targeted on the box)."""
    size = tuple(sample.target.shape)
    images = {"target": sample.target}
    for name, model in models.items():
        clean, attacked, z = _attack_one(
            model, sample, eta=eta, acceleration=acceleration, mode="region", attack=attack
        )
        images[f"target+noise_{name}"] = fully_sampled(sample.kspace + z, size)
        images[f"{name}"] = clean
        images[f"{name}_attacked"] = attacked
    return images


def targeted_vs_image_example(
    model, sample: Sample, *, attack: dict, eta: float = 0.02, acceleration: int = 8
) -> dict[str, torch.Tensor]:
    """Fig. 3: target, clean reconstruction, box-targeted and whole-image attacks at one η."""
    kwargs = dict(eta=eta, acceleration=acceleration, attack=attack)
    clean, targeted, _ = _attack_one(model, sample, mode="region", **kwargs)
    _, whole, _ = _attack_one(model, sample, mode="image", **kwargs)
    return {"target": sample.target, "clean": clean, "targeted": targeted, "image": whole}


def rotation_example(
    model, sample: Sample, *, angle: float, acceleration: int = 8, seed: int = 0
) -> dict[str, torch.Tensor]:
    """Fig. 5: target, clean reconstruction, the fully sampled image rotated by `angle` and back
    (interpolation only), and the reconstruction of the rotated acquisition rotated back."""
    kspace, mask, target, _ = stack([sample], acceleration, seed)
    theta = torch.tensor([float(angle)], dtype=torch.float64)
    size = tuple(sample.target.shape)
    with torch.no_grad():
        rotated = physics.rotate_kspace(kspace, theta)
        clean = model(physics.apply_mask(kspace, mask), mask)
        attacked = physics.rotate(model(physics.apply_mask(rotated, mask), mask), -theta)
        rotated_back = physics.rotate(fully_sampled(rotated[0], size).unsqueeze(0), -theta)
    return {
        "target": target[0],
        "clean": clean[0],
        "fully_sampled_rotated": rotated_back[0],
        "attacked": attacked[0],
    }
