"""The experiments behind Morshuis et al. 2022, Fig. 1–5, as functions returning tidy tables
and image dicts.

As in the reference code, every fastMRI+ box of the knee validation split is one sample
(`data.samples`): the slice is attacked once per box. Masks are random (4×: centre fraction
0.08, 8×: 0.04), limited to the acquired columns and seeded per (seed, file, slice); the
reference drew them unseeded. Region scores are `metrics.region_scores` (SSIM/PSNR on the box,
data range max − min of the full target). Attack settings come in as one dict, `profile.attack`.

Samples hold no image data: each batch of one k-space shape (`data.samples.batches`) is read
when it is attacked, and the result rows go to a `write` callable (e.g. `tables.table_writer`)
batch by batch, so a run's memory grows with its batch, not with the validation split. Models
may live on any device (`devices`): inputs are moved to the model, scores and images come back
to the CPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import pandas as pd
import torch
from tqdm.auto import tqdm

from mrirobust import attacks, costs, devices, metrics, papers, physics
from mrirobust.data.samples import Sample, batches, stack
from mrirobust.models.registry import ModelSpec

REGION_MODES = ("region", "image")  # attack the box (targeted) or the whole image


def model_specs(
    scale: str, methods: Sequence[str], accelerations: Sequence[int], config: str | None = None
) -> dict[tuple[str, int], ModelSpec]:
    """The description of every (method, acceleration), method-major, under the named model
    configuration `config` (None or "": the scale profile's sizes; "morshuis": the paper's)."""
    return {
        (name, acc): papers.model_spec(name, scale, acc, config or None)
        for name in methods
        for acc in accelerations
    }


def models(
    scale: str, methods: Sequence[str], accelerations: Sequence[int], config: str | None = None
) -> dict[tuple[str, int], torch.nn.Module]:
    """The ready model of every (method, acceleration) of `model_specs`."""
    return {
        (name, acc): papers.get_model(name, scale, acc, config)
        for name, acc in model_specs(scale, methods, accelerations, config)
    }


def pgd_settings(attack: dict) -> dict:
    """The keyword arguments of `attacks.kspace_pgd` from the attack profile."""
    return {
        "steps": attack["pgd_steps"],
        "step_size": attack["pgd_step_size"],
        "seed": attack["seed"],
        "rule": attack["pgd_rule"],
        "per_pass": attack["pgd_per_pass"],
        "progress": False,
    }


def box_pgd(model, kspace, mask, target, boxes, *, eta, mode: str, attack: dict):
    """`attacks.kspace_pgd` with the profile's PGD settings, on the boxes ("region") or the
    whole image ("image")."""
    if mode not in REGION_MODES:
        raise ValueError(f"mode must be one of {REGION_MODES}, got {mode!r}")
    region = boxes if mode == "region" else None
    return attacks.kspace_pgd(
        model, kspace, mask, target, eta=eta, region=region, **pgd_settings(attack)
    )


def _batch(model, group: Sequence[Sample], acceleration: int, seed: int):
    """k-space, masks and targets of `group` on `model`'s device, boxes on the CPU."""
    kspace, mask, target, boxes = stack(group, acceleration, seed)
    return (*devices.to_model(model, kspace, mask, target), boxes)


def noise_attack(
    model,
    samples: Sequence[Sample],
    *,
    attack: dict,
    acceleration: int,
    mode: str = "region",
    batch_size: int = 4,
) -> Iterator[pd.DataFrame]:
    """Per-coil k-space PGD (eq. 4) on every sample for every η of `attack["eta_grid"]`, scored
    on the sample's box.

    `mode` "region" maximises the box MSE (targeted), "image" the whole-image MSE; both are
    scored on the box, as in Fig. 1b. Yields one table per batch, one row per (sample, η) with
    region SSIM/PSNR, image SSIM and the final attack loss.
    """
    etas = list(attack["eta_grid"])
    for group in batches(samples, batch_size):
        kspace, mask, target, boxes = _batch(model, group, acceleration, attack["seed"])
        result = box_pgd(model, kspace, mask, target, boxes, eta=etas, mode=mode, attack=attack)
        final_loss = result.losses[-1].cpu()  # (E, B)
        rows = []
        for e, eta in enumerate(etas):
            recon = result.reconstruction[e].detach()
            scores = {
                **metrics.region_scores(target, recon, boxes),
                "ssim_image": metrics.ssim(target, recon, data_range="max-min"),
            }
            scores = {k: v.cpu() for k, v in scores.items()}
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
        yield pd.DataFrame(rows)


def noise_attacks(
    nets: dict,
    samples: Sequence[Sample],
    *,
    attack: dict,
    write: Callable[[pd.DataFrame], None],
    compare_accelerations: Sequence[int] = (),
    batch_size: int = 4,
) -> None:
    """Fig. 1: the box-targeted attack (`noise_attack`) on every model of `nets` (from `models`),
    then the whole-image attack on those at `compare_accelerations`; each batch's table, with a
    `model` column, goes to `write` as it comes."""
    jobs = [(key, "region") for key in nets]
    jobs += [(key, "image") for key in nets if key[1] in compare_accelerations]
    for (name, acc), mode in tqdm(jobs, desc="attacks"):
        tables = noise_attack(
            nets[name, acc],
            samples,
            attack=attack,
            acceleration=acc,
            mode=mode,
            batch_size=batch_size,
        )
        for table in tables:
            write(table.assign(model=name))


def rotation_attack(
    model, samples: Sequence[Sample], *, attack: dict, acceleration: int, batch_size: int = 4
) -> Iterator[pd.DataFrame]:
    """Box MSE and box SSIM of every angle of the profile's grid (`angle_max`, `angle_step`)
    for every sample (eq. 5). Yields one table per batch, one row per (sample, angle);
    `worst_angles` turns them into the Fig. 4a table. Each batch's search is one "attack" step
    of the run's costs."""
    angles = attacks.angle_grid(attack["angle_max"], attack["angle_step"])
    for group in batches(samples, batch_size):
        kspace, mask, target, boxes = _batch(model, group, acceleration, attack["seed"])
        with costs.timed("attack", type(model).__name__):
            result = attacks.rotation_search(
                model,
                kspace,
                mask,
                target,
                angles=angles,
                region=boxes,
                data_range="max-min",
                batch_size=attack["rotation_batch"],
                progress=False,
            )
        losses, ssims = result.losses.cpu(), result.ssim.cpu()
        rows = []
        for a, angle in enumerate(result.angles.tolist()):
            for b, sample in enumerate(group):
                rows.append(
                    {
                        **sample.row(acceleration),
                        "angle": round(angle, 6),
                        "loss": float(losses[a, b]),
                        "ssim_region": float(ssims[a, b]),
                    }
                )
        yield pd.DataFrame(rows)


def rotation_attacks(
    nets: dict,
    samples: Sequence[Sample],
    *,
    attack: dict,
    write: Callable[[pd.DataFrame], None],
    batch_size: int = 4,
) -> pd.DataFrame:
    """Fig. 4: `rotation_attack` on every model of `nets`: each batch's per-angle table, with a
    `model` column, goes to `write` as it comes; returns the worst-angle table over
    `attack["theta_max"]` (`worst_angles`, a few rows per sample), in `worst_angles`' order."""
    worst = []
    for name, acc in tqdm(nets, desc="models"):
        tables = rotation_attack(
            nets[name, acc], samples, attack=attack, acceleration=acc, batch_size=batch_size
        )
        for table in tables:
            table = table.assign(model=name)
            write(table)
            worst.append(worst_angles(table, attack["theta_max"]))
    keys = ["theta_max", "model", "acceleration", "sample"]
    return pd.concat(worst).sort_values(keys, kind="stable", ignore_index=True)


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


def pick_rotation_example(
    worst: pd.DataFrame, samples: Sequence[Sample], method: str, acceleration: int
) -> tuple[Sample, dict]:
    """Fig. 5's example: of `method` at `acceleration`, the sample whose worst rotation within
    the largest θ_max raises the box MSE most over the unrotated scan (θ_max = 0); returns it
    and its record (sample id, label, box, method, acceleration, worst angle)."""
    chosen = worst[(worst["model"] == method) & (worst["acceleration"] == acceleration)]
    if chosen.empty:
        raise ValueError(
            f"no rows of model {method!r} at {acceleration}x in the worst-angle table; it has "
            f"{sorted(set(zip(worst['model'], worst['acceleration'], strict=True)))}"
        )
    at_zero = chosen[chosen["theta_max"] == 0].set_index("sample")["loss"]
    at_max = chosen[chosen["theta_max"] == chosen["theta_max"].max()].set_index("sample")
    example = at_max.assign(increase=at_max["loss"] - at_zero).sort_values("increase").iloc[-1]
    sample = next((s for s in samples if s.sample_id == example.name), None)
    if sample is None:
        raise ValueError(f"the example {example.name!r} is not among the {len(samples)} samples")
    return sample, {
        "sample": example.name,
        "label": example["label"],
        "box": sample.box.tolist(),
        "method": method,
        "acceleration": acceleration,
        "worst_angle": float(example["angle"]),
    }


def pick_sample(samples: Sequence[Sample], prefer_label: str = "") -> Sample:
    """The first sample whose label contains `prefer_label` (case-insensitive; the paper shows
    an ACL), else the first sample."""
    if not samples:
        raise ValueError("pick_sample needs at least one sample")
    wanted = prefer_label.lower()
    preferred = [s for s in samples if wanted and wanted in s.label.lower()]
    return (preferred or list(samples))[0]


def thermal_noise(samples: Sequence[Sample]) -> pd.DataFrame:
    """The thermal-noise level in η units (E‖n_i‖/‖k_i‖, mean over coils) of each distinct slice
    of `samples` (read one at a time): `measured` with `physics.noise_level` on the background of
    `physics.background_mask` over the full field of view, and `generated`, σ √(2 H W_acquired)
    / ‖k_i‖ from the noise std σ the embedded generator stores in the file (`noise_std`; NaN
    for files without it, e.g. real scans)."""
    rows, seen = [], set()
    for s in samples:
        if (s.path, s.slice) in seen:
            continue
        seen.add((s.path, s.slice))
        item = s.load()
        image = physics.rss(physics.ifft2c(item.kspace), dim=0)
        level = physics.noise_level(item.kspace.unsqueeze(0), physics.background_mask(image))
        first, last = s.acquired
        expected = math.sqrt(2 * item.kspace.shape[-2] * (last - first + 1))
        norms = torch.linalg.vector_norm(item.kspace, dim=(-2, -1))
        generated = item.attrs.get("noise_std", math.nan) * expected / norms
        rows.append((s.fname, s.slice, float(level.mean()), float(generated.mean())))
    return pd.DataFrame(rows, columns=["file", "slice", "measured", "generated"])


def _attack_one(model, kspace, mask, target, boxes, *, eta: float, mode: str, attack: dict):
    """Clean and attacked reconstruction and the perturbation of one sample (a batch of one,
    `stack`) at one η, on the CPU (the attack and the model move their inputs to the model)."""
    result = box_pgd(model, kspace, mask, target, boxes, eta=eta, mode=mode, attack=attack)
    with torch.no_grad():
        clean = model(physics.apply_mask(kspace, mask), mask)
    return clean[0].cpu(), result.reconstruction[0].detach().cpu(), result.perturbation[0].cpu()


def noise_example(
    nets: dict, sample: Sample, *, attack: dict, eta: float = 0.02, acceleration: int = 8
) -> dict[str, torch.Tensor]:
    """Fig. 2: the target, the target with each model's adversarial noise added to the FULLY
    sampled k-space, and each model's clean and attacked reconstruction (targeted on the box);
    `nets` maps names to models. Images on the CPU."""
    batch = stack([sample], acceleration, attack["seed"])
    kspace, target = batch[0], batch[2]
    size = tuple(target.shape[-2:])
    images = {"target": target[0]}
    for name, model in nets.items():
        clean, attacked, z = _attack_one(model, *batch, eta=eta, mode="region", attack=attack)
        images[f"target+noise_{name}"] = physics.rss_crop(kspace[0] + z, size)
        images[f"{name}"] = clean
        images[f"{name}_attacked"] = attacked
    return images


def targeted_vs_image_example(
    model, sample: Sample, *, attack: dict, eta: float = 0.02, acceleration: int = 8
) -> dict[str, torch.Tensor]:
    """Fig. 3: target, clean reconstruction, box-targeted and whole-image attacks at one η
    (images on the CPU)."""
    batch = stack([sample], acceleration, attack["seed"])
    clean, targeted, _ = _attack_one(model, *batch, eta=eta, mode="region", attack=attack)
    _, whole, _ = _attack_one(model, *batch, eta=eta, mode="image", attack=attack)
    return {"target": batch[2][0], "clean": clean, "targeted": targeted, "image": whole}


def example_scores(images: dict[str, torch.Tensor], sample: Sample) -> dict[str, dict]:
    """`metrics.region_scores` on the sample's box of every image but the target (against
    `images["target"]`)."""
    target = images["target"].unsqueeze(0)
    return {
        key: {
            name: float(value)
            for name, value in metrics.region_scores(target, image.unsqueeze(0), sample.box).items()
        }
        for key, image in images.items()
        if key != "target"
    }


def rotation_example(
    model, sample: Sample, *, angle: float, acceleration: int = 8, seed: int = 0
) -> dict[str, torch.Tensor]:
    """Fig. 5: target, clean reconstruction, the fully sampled image rotated by `angle` and back
    (interpolation only), and the reconstruction of the rotated acquisition rotated back
    (images on the CPU)."""
    kspace, mask, target, _ = _batch(model, [sample], acceleration, seed)
    size = tuple(target.shape[-2:])
    with torch.no_grad():
        rotated = physics.rotate_kspace(kspace, float(angle))
        clean = model(physics.apply_mask(kspace, mask), mask)
        attacked = physics.rotate(model(physics.apply_mask(rotated, mask), mask), -float(angle))
        rotated_back = physics.rotate(physics.rss_crop(rotated, size), -float(angle))
    images = {
        "target": target[0],
        "clean": clean[0],
        "fully_sampled_rotated": rotated_back[0],
        "attacked": attacked[0],
    }
    return {key: image.cpu() for key, image in images.items()}
