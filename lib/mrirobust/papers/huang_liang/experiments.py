"""Huang & Liang's experiments as functions returning tidy tables: the trained models S, A(ε)
and K(η), their training logs (Fig. 4, SI Figs 1-3), Table 1 in two metric rules and the sampling
statistics of Fig. 5, Fig. 6 with its fair columns, Algorithm 2's K(η) under k-space attacks,
and every model under the other papers' attacks (`cross_summary`: measurements, not claims).

Table 1's two rules:
- "fastmri": the decoded output U(x̂)σ + μ against the ESC target, fastMRI's volume metrics
  (`metrics.evaluate_volume`: NMSE and PSNR over the volume, SSIM 7x7 with the volume maximum as
  data range), mean over volumes.
- "reference": the reference code's numbers. It called `ssim/psnr/nmse(gt, pred)` as
  `(output, target)` on NORMALISED images, per batch: SSIM with the batch as channels and
  data_range = max(output batch); PSNR over the batch array with data_range = max(output
  batch); NMSE = ‖output − target‖² / ‖output‖² over the batch; then the mean over batches.

Each rule is also stored per slice, the unit the claims compare: the same metrics of one slice
with the volume's (fastmri) or the batch's (reference) data range. SSIM pools as the mean of its
slices; NMSE and PSNR pool errors, so their per-slice means differ a little from the table's.

Fig. 6 and Algorithm 2 score SSIM with the data range max − min of each target (`SSIM_RANGE`,
`metrics.DATA_RANGES`); the cross-paper attacks with the project's default (`attacks.suite`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from mrirobust import attacks, claims, data, devices, metrics, physics, zoo
from mrirobust.models import registry
from mrirobust.models.registry import ModelSpec
from mrirobust.models.unet import normalise, normalise_target
from mrirobust.papers.huang_liang import networks
from mrirobust.papers.huang_liang.profile import TRAIN
from mrirobust.training import adversarial, datasets

SPEC_KEYS = adversarial.PARAMS + tuple(adversarial.LATE)
SSIM_RANGE = "max-min"  # Fig. 6's and Algorithm 2's data range rule
REF_SIZE = 320  # the image size at which the paper's ε are stated


def eps_for(eps_ref: float, image_size: tuple[int, int]) -> float:
    """ε at `image_size` with the per-pixel RMS ρ = √(ε/N) of `eps_ref` at 320 x 320."""
    return eps_ref * math.prod(image_size) / REF_SIZE**2


def rho(eps: float, image_size: tuple[int, int]) -> float:
    """Per-pixel RMS of a perturbation with ‖δ‖² = ε: √(ε / (h w))."""
    return math.sqrt(eps / math.prod(image_size))


def image_size(scale: str, challenge: str = "singlecoil") -> tuple[int, int]:
    """The target size of the scale's single-coil knee data."""
    return tuple(_first_slice(scale, challenge).target.shape)


def _first_slice(scale: str, challenge: str):
    path, index = adversarial.slices(scale, "val", challenge)[0]
    return data.read_slice(path, index, challenge)


def model_specs(scale: str, overrides: dict | None = None, kspace: bool = False) -> dict:
    """Specs by name: "S", "A(eps=1000)", "A(eps=5000)" and, with `kspace`, "K(eta=0.02)";
    ε (given per 320² in the profile) is scaled to the image size."""
    p = TRAIN.resolve(scale, overrides)
    params = {k: p[k] for k in SPEC_KEYS}
    size = zoo.image_size(scale)
    coils = 1  # single-coil data; other challenges read their coil count
    if p["challenge"] != "singlecoil":
        coils = _first_slice(scale, p["challenge"]).kspace.shape[0]

    def spec(kind: str, budget: float):
        return networks.spec(kind, scale, budget, params, p["acceleration"], coils)

    specs = {"S": spec("standard", 0)}
    for eps_ref in p["eps_ref"]:
        specs[f"A(eps={eps_ref:g})"] = spec("image", eps_for(eps_ref, size))
    if kspace:
        for eta in p["eta"]:
            specs[f"K(eta={eta:g})"] = spec("kspace", eta)
    return specs


def control_specs(scale: str, overrides: dict, epochs: int) -> dict:
    """Table 1's training-length control: the specs of S and the first A(ε) of `model_specs`
    trained for `epochs` (checkpoints of their own)."""
    specs = model_specs(scale, {**overrides, "epochs": epochs})
    first = next(name for name in specs if name.startswith("A("))
    return {name: specs[name] for name in ("S", first)}


@dataclass
class Trained:
    """A trained model: the U-Net (eval mode), its generator (None for S) and the checkpoint's
    logs (curve, iterations)."""

    spec: ModelSpec
    recon: torch.nn.Module
    generator: torch.nn.Module | None
    state: dict


def train_models(specs: dict) -> dict[str, Trained]:
    """Load (or train) every model of `specs` (`zoo.get_networks`), keeping of each checkpoint
    its logs only (its weights and optimiser states, ~2 GB for A(ε) at paper size, are in the
    networks already)."""
    out = {}
    for name, s in specs.items():
        recon, gen, state = zoo.get_networks(s)
        out[name] = Trained(s, recon, gen, {k: state[k] for k in ("curve", "iterations")})
    return out


def _generator(model_spec: ModelSpec):
    """A maker of `model_spec`'s untrained generator (a fresh attacker)."""
    size = image_size(model_spec.scale, model_spec.params["challenge"])
    return functools.partial(registry.build_generator, model_spec, size)


def _loader(model_spec: ModelSpec, items, batch_size: int):
    """Validation batches of `items` masked as `model_spec` (masks seeded per slice), in order,
    each of one k-space shape (`datasets.shape_batches`: real files differ in width)."""
    dataset = adversarial.dataset(model_spec, items, training=False)
    sampler = datasets.shape_batches(dataset, batch_size)
    return torch.utils.data.DataLoader(dataset, batch_sampler=sampler)


def training_curves(trained: dict[str, Trained]) -> pd.DataFrame:
    """One row per (model, epoch): train running means and the validation metrics."""
    rows = [
        {"model": name, "kind": adversarial.kind(t.spec), "budget": t.spec.params["budget"], **row}
        for name, t in trained.items()
        for row in t.state["curve"]
    ]
    return pd.DataFrame(rows)


def iteration_log(trained: dict[str, Trained]) -> pd.DataFrame:
    """One row per (model, minibatch): loss_G, loss_R, DSSIMs, hinge, budget use (Fig. 4)."""
    rows = [
        {"model": name, "budget": t.spec.params["budget"], "iteration": i + 1, **log}
        for name, t in trained.items()
        for i, log in enumerate(t.state["iterations"])
    ]
    return pd.DataFrame(rows)


def _reference_terms(pred_n: torch.Tensor, target_n: torch.Tensor):
    """Per image of a batch `(B, h, w)` of normalised images, in the reference code's swapped
    rule (module docstring): the squared error, ‖output‖², SSIM (7x7, data range |max of the
    output batch|), and the batch maximum."""
    pred_n, target_n = pred_n.double(), target_n.double()
    top = pred_n.max()
    # skimage uses the data range squared only (C1, C2), so a batch of negative outputs (an
    # untrained network) scores as with |max|
    ssim = metrics.ssim(pred_n, target_n, data_range=top.abs())
    err = ((pred_n - target_n) ** 2).sum(dim=(-2, -1))
    return err, (pred_n**2).sum(dim=(-2, -1)), ssim, top


def reference_metrics(pred_n: torch.Tensor, target_n: torch.Tensor) -> dict[str, float]:
    """The reference code's metrics of one batch of normalised images `(B, h, w)` (module
    docstring): skimage SSIM / PSNR / NMSE called with output and target swapped, over the
    batch: NMSE = Σ err / Σ ‖output‖², PSNR = 10 log10(top² / mean squared error)."""
    err, energy, ssim, top = _reference_terms(pred_n, target_n)
    return {
        "nmse": float(err.sum() / energy.sum()),
        "psnr": float(10 * torch.log10(top**2 / (err.sum() / pred_n.numel()))),
        "ssim": float(ssim.mean()),
    }


def reference_slice_metrics(pred_n: torch.Tensor, target_n: torch.Tensor) -> dict:
    """The reference rule per image of one batch `(B, h, w)`, `(B,)` arrays: NMSE = err /
    ‖output‖², PSNR = 10 log10(top² / MSE), SSIM; top = max of the output BATCH as in the
    reference. The batch SSIM is their mean; NMSE and PSNR pool the batch instead."""
    err, energy, ssim, top = _reference_terms(pred_n, target_n)
    pixels = pred_n.shape[-2] * pred_n.shape[-1]
    scores = {"nmse": err / energy, "psnr": 10 * torch.log10(top**2 / (err / pixels)), "ssim": ssim}
    return {k: v.numpy() for k, v in scores.items()}


def fastmri_slice_metrics(target: torch.Tensor, pred: torch.Tensor) -> dict:
    """fastMRI's metrics per slice of one volume `(S, H, W)`, `(S,)` arrays: NMSE, PSNR and SSIM
    with L = max of the whole target volume (`metrics.evaluate_volume`'s SSIM is their mean;
    its NMSE and PSNR pool the volume instead)."""
    maxval = target.max()
    scores = {
        "nmse": metrics.nmse(target, pred),
        "psnr": metrics.psnr(target, pred, data_range=maxval),
        "ssim": metrics.ssim(target, pred, data_range=maxval),
    }
    return {k: v.double().numpy() for k, v in scores.items()}


def _outputs(recon, items, spec, batch_size):
    """Per batch of `items` (masks seeded per slice): decoded outputs, normalised outputs,
    targets and normalised targets, on the CPU."""
    device = devices.of(recon) if recon is not None else torch.device("cpu")
    with torch.no_grad():
        for kspace, mask, target, _ in _loader(spec, items, batch_size):
            y = physics.apply_mask(kspace.to(device), mask.to(device))
            if recon is None:  # zero-filled
                x = physics.rss_crop(y, tuple(target.shape[-2:]))
                x_hat, mean, std = normalise(x)
                out, out_n = x, x_hat
            else:
                x_hat, mean, std = recon.normalised_input(y, mask.to(device))
                out_n = recon.refine(x_hat)
                out = out_n * std + mean
            target = target.to(device)
            yield out.cpu(), out_n.cpu(), target.cpu(), normalise_target(target, mean, std).cpu()


def table1(
    trained: dict[str, Trained], scale: str, eval_slices: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 1: clean NMSE / PSNR / SSIM of every model and of zero-filled, on the train and
    validation splits (eval mode, masks seeded per slice), in both rules (module docstring).
    Returns (one row per (model, split, rule): the rule's pooled numbers, as the paper's table;
    one row per (model, split, rule, slice): the per-slice scores the claims compare, `slice`
    the position in the split). `eval_slices` > 0 keeps the first slices of each split.
    Streams: the reference rule is scored per batch, the fastMRI rule per volume (the slices of
    a file are consecutive), so memory holds one batch plus one volume and the per-slice
    scores, never a split's images."""
    spec = next(iter(trained.values())).spec
    p = spec.params
    rows, per_slice = [], []
    for split in ("train", "val"):
        items = adversarial.slices(scale, split, p["challenge"])[: eval_slices or None]
        files = [path for path, _ in items]
        for name, recon in [("zero-filled", None)] + [(n, t.recon) for n, t in trained.items()]:
            volumes, reference, volume, start = [], [], [], 0
            slices = {"fastmri": [], "reference": []}
            for out, out_n, target, target_n in _outputs(recon, items, spec, p["batch_size"]):
                reference.append(reference_metrics(out_n, target_n))
                slices["reference"].append(reference_slice_metrics(out_n, target_n))
                for j in range(len(target)):
                    volume.append((out[j], target[j]))
                    i = start + j
                    if i + 1 == len(items) or files[i + 1] != files[i]:  # the file's last slice
                        outs, targets = (torch.stack(x) for x in zip(*volume, strict=True))
                        volumes.append(metrics.evaluate_volume(targets, outs))
                        slices["fastmri"].append(fastmri_slice_metrics(targets, outs))
                        volume = []
                start += len(target)
            for rule, scores in (("fastmri", volumes), ("reference", reference)):
                row = {"model": name, "split": split, "rule": rule, "slices": len(items)}
                row.update({k: float(np.mean([s[k] for s in scores])) for k in scores[0]})
                rows.append(row)
                columns = {k: np.concatenate([s[k] for s in slices[rule]]) for k in scores[0]}
                frame = pd.DataFrame({"slice": np.arange(len(items)), **columns})
                per_slice.append(frame.assign(model=name, split=split, rule=rule))
    order = ["model", "split", "rule", "slice", "ssim", "psnr", "nmse"]
    return pd.DataFrame(rows), pd.concat(per_slice, ignore_index=True)[order]


def training_control(scale: str, overrides: dict, evaluate: dict) -> pd.DataFrame:
    """`table1`'s per-slice rows of the training-length control's models (`control_specs` at
    the evaluate profile's `control_epochs`), with an `epochs` column."""
    epochs = evaluate["control_epochs"]
    trained = train_models(control_specs(scale, overrides, epochs))
    _, slices = table1(trained, scale, evaluate["eval_slices"])
    return slices.assign(epochs=epochs)


def mask_stats(scale: str, seeds: int, seed: int = 0) -> dict:
    """Fig. 5's sampling claim on the scale's single-coil k-space: `seeds` seeded 4x masks
    (random, centre 8 %, on the acquired columns). The fraction is of the ACQUIRED columns; the
    theory P = (N/4 − N c)/(N − N c) gives N/4 columns in expectation."""
    p = TRAIN.resolve(scale)
    item = data.read_slice(*adversarial.slices(scale, "val", p["challenge"])[0])
    width = item.kspace.shape[-1]
    first, last = item.acquired
    acquired = last - first + 1
    masks = torch.stack(
        [
            physics.column_mask(
                width, p["acceleration"], p["center_fraction"], seed + s, acquired=item.acquired
            )
            for s in range(seeds)
        ]
    )
    centre = round(width * p["center_fraction"])
    left = (width - centre + 1) // 2  # fastmri's centre block
    return {
        "width": width,
        "acquired_columns": acquired,
        "seeds": seeds,
        "mean_fraction_of_acquired": float(masks.float().sum(1).mean() / acquired),
        "mean_fraction_of_width": float(masks.float().mean()),
        "centre_columns": centre,
        "centre_always_sampled": bool(masks[:, left : left + centre].all()),
        "expected_fraction": 1 / p["acceleration"],
    }


def fig5_images(scale: str, seed: int = 0) -> dict[str, np.ndarray]:
    """Fig. 5's panels for the central slice of the first validation volume: |k|, |F⁻¹k| (full
    field of view), |M ⊙ k| and the cropped zero-filled U-Net input |F⁻¹(M ⊙ k)|, plus the mask."""
    p = TRAIN.resolve(scale)
    path = adversarial.slices(scale, "val", p["challenge"])[0][0]
    item = data.read_slice(path, data.fastmri_io.num_slices(path) // 2, p["challenge"])
    k = item.kspace[0]
    mask = physics.column_mask(
        k.shape[-1], p["acceleration"], p["center_fraction"], seed, acquired=item.acquired
    )
    masked = physics.apply_mask(k, mask)
    zero_filled = physics.center_crop(physics.ifft2c(masked).abs(), tuple(item.target.shape))
    return {
        "kspace": k.abs().numpy(),
        "image": physics.ifft2c(k).abs().numpy(),
        "masked": masked.abs().numpy(),
        "zero_filled": zero_filled.numpy(),
        "mask": mask.numpy(),
    }


ATTACKS = ("co_trained_G", "own_G", "image_pgd")


def _attack_table(rows: list[dict]) -> pd.DataFrame:
    """Per-slice attack rows as a table, with ssim_drop = ssim_clean − ssim_attacked."""
    table = pd.DataFrame(rows)
    return table.assign(ssim_drop=table.ssim_clean - table.ssim_attacked)


def _slice_scores(recon, clean, out_clean, t_hat, target, delta, budget):
    """Per-slice scores of one perturbation δ of the normalised input, given the clean output
    U(x̂): SSIM of the decoded output against the target clean and attacked (`metrics.ssim`),
    the amplification ‖U(x̂ + δ) − U(x̂)‖ / ‖δ‖ (normalised units) and ‖δ‖² / ε; plus the
    attacked normalised output."""
    x_hat, mean, std = clean
    with torch.no_grad():
        out = recon.refine(x_hat + delta)
    norm = torch.linalg.vector_norm
    scores = {
        "ssim_clean": metrics.ssim(target, out_clean * std + mean, SSIM_RANGE),
        "ssim_attacked": metrics.ssim(target, out * std + mean, SSIM_RANGE),
        "dssim_attacked": metrics.dssim(t_hat, out),
        "amplification": norm(out - out_clean, dim=(-2, -1)) / norm(delta, dim=(-2, -1)),
        "delta_sq_over_eps": delta.pow(2).sum(dim=(-2, -1)) / budget,
    }
    return {k: v.cpu().numpy() for k, v in scores.items()}, out


def fig6(trained: dict[str, Trained], scale: str, ev: dict):
    """Fig. 6 and its fair columns on the first `attack_slices` validation slices, for every
    A(ε) against S: the perturbation of A's co-trained generator applied to A and (transferred)
    to S, as in the paper; each model under a fresh generator trained against it at the same ε
    (`training.adversarial.attack_generator`, `gen_attack_epochs`); each model under image PGD
    at ρ = √(ε/N). Generators run in eval mode after recalibrating their BatchNorm statistics
    (`ImageGenerator.calibrate`). Returns (one row per (ε, attack, model, slice), example
    images by key "<A name>/<slice>/<panel>" in normalised units)."""
    standard = trained["S"]
    p = standard.spec.params
    items = adversarial.slices(scale, "val", p["challenge"])[: ev["attack_slices"] or None]
    if not all(0 <= i < len(items) for i in ev["example_slices"]):
        raise ValueError(
            f"example_slices {ev['example_slices']} must lie in 0..{len(items) - 1}, the "
            f"attacked validation slices (attack_slices = {ev['attack_slices']})"
        )
    rows, images = [], {}
    for name, model in trained.items():
        if adversarial.kind(model.spec) != "image":
            continue
        eps = model.spec.params["budget"]
        budget_rho = rho(eps, model.recon.image_size)
        models = {"A": model.recon, "S": standard.recon}
        fresh = {
            key: adversarial.attack_generator(
                recon, model.spec, _generator(model.spec), ev["gen_attack_epochs"], ev["seed"]
            )[0]
            for key, recon in models.items()
        }
        for gen in (model.generator, *fresh.values()):
            calibration = torch.Generator().manual_seed(ev["seed"] + 1)
            gen.calibrate(ev["calibration_batches"], p["batch_size"], calibration)
        device = devices.of(model.recon)
        latents = model.generator.sample_latent(
            len(items), torch.Generator().manual_seed(ev["seed"])
        )
        start = 0
        for kspace, mask, target, _ in _loader(model.spec, items, p["batch_size"]):
            kspace, mask, target = kspace.to(device), mask.to(device), target.to(device)
            index = range(start, start + len(target))
            latent = latents[start : start + len(target)]
            clean, t_hat = adversarial.clean_input(model.recon, kspace, mask, target)
            y = physics.apply_mask(kspace, mask)
            with torch.no_grad():
                co_trained = model.generator(latent)
            for key, recon in models.items():
                with torch.no_grad():
                    own = fresh[key](latent)
                    out_clean = recon.refine(clean[0])
                steps = {"steps": ev["image_pgd_steps"], "seed": ev["seed"]}
                pgd = attacks.image_pgd(recon, y, mask, target, rho=budget_rho, **steps)
                for attack, delta in zip(ATTACKS, (co_trained, own, pgd.perturbation), strict=True):
                    scores, out = _slice_scores(recon, clean, out_clean, t_hat, target, delta, eps)
                    for j, i in enumerate(index):
                        rows.append(
                            {
                                "eps_model": name,
                                "eps": eps,
                                "rho": budget_rho,
                                "attack": attack,
                                "model": key,
                                "slice": i,
                                **{k: float(v[j]) for k, v in scores.items()},
                            }
                        )
                        if i in ev["example_slices"]:
                            images[f"{name}/{i}/{key}_{attack}"] = out[j].cpu().numpy()
                            images[f"{name}/{i}/{key}_clean"] = out_clean[j].cpu().numpy()
                            images[f"{name}/{i}/delta_{key}_{attack}"] = delta[j].cpu().numpy()
            for j, i in enumerate(index):
                if i in ev["example_slices"]:
                    images[f"{name}/{i}/input"] = clean[0][j].cpu().numpy()
                    images[f"{name}/{i}/target"] = t_hat[j].cpu().numpy()
            start += len(target)
    return _attack_table(rows), images


def kspace_robustness(trained: dict[str, Trained], scale: str, ev: dict) -> pd.DataFrame:
    """Algorithm 2's model K(η) against S on the first `attack_slices` validation slices: each
    model under Morshuis et al.'s per-coil k-space PGD at K's η (`attacks.kspace_pgd`, MSE to
    the target over the whole image, `kspace_pgd_steps` steps) and under a fresh k-space
    generator trained against it at the same η (`attack_generator`). One row per (K model,
    attack, model, slice) with the SSIM of the output against the target, clean and attacked,
    and that of the zero-filled input (the baseline of 'reasonable quality')."""
    standard = trained["S"]
    p = standard.spec.params
    items = adversarial.slices(scale, "val", p["challenge"])[: ev["attack_slices"] or None]
    rows = []
    for name, model in trained.items():
        if adversarial.kind(model.spec) != "kspace":
            continue
        eta = model.spec.params["budget"]
        models = {"K": model.recon, "S": standard.recon}
        for key, recon in models.items():
            fresh = adversarial.attack_generator(
                recon, model.spec, _generator(model.spec), ev["gen_attack_epochs"], ev["seed"]
            )[0]
            device = devices.of(recon)
            start = 0
            for kspace, mask, target, _ in _loader(model.spec, items, p["batch_size"]):
                kspace, mask, target = kspace.to(device), mask.to(device), target.to(device)
                y = physics.apply_mask(kspace, mask)
                pgd = attacks.kspace_pgd(
                    recon,
                    kspace,
                    mask,
                    target,
                    eta=eta,
                    steps=ev["kspace_pgd_steps"],
                    seed=ev["seed"],
                    progress=False,
                )
                with torch.no_grad():
                    clean = recon(y, mask)
                    by_generator = recon(y + fresh(y, mask, kspace, eta), mask)
                ssim_clean = metrics.ssim(target, clean, SSIM_RANGE)
                zero_filled = physics.rss_crop(y, tuple(target.shape[-2:]))
                ssim_zero_filled = metrics.ssim(target, zero_filled, SSIM_RANGE)
                for attack, out in (("kspace_pgd", pgd.reconstruction), ("kspace_G", by_generator)):
                    attacked = metrics.ssim(target, out, SSIM_RANGE)
                    for j in range(len(target)):
                        rows.append(
                            {
                                "eta_model": name,
                                "eta": eta,
                                "attack": attack,
                                "model": key,
                                "slice": start + j,
                                "ssim_clean": float(ssim_clean[j]),
                                "ssim_attacked": float(attacked[j]),
                                "ssim_zero_filled": float(ssim_zero_filled[j]),
                            }
                        )
                start += len(target)
    return _attack_table(rows)


def boxed_slices(scale: str, challenge: str, count: int):
    """The first `count` (0: all) validation slices with a fastMRI+ box, and the first box of
    each `(n, 4)` (the single-coil files share the multicoil names, so the boxes apply)."""
    df = data.scale_annotations(scale, "knee")
    found = []
    for path, index in adversarial.slices(scale, "val", challenge):
        boxes = data.boxes_for(df, path.stem, index)
        if len(boxes):
            found.append(((path, index), boxes[0]))
    found = found[: count or None]
    if not found:
        raise ValueError(f"no validation slice of scale {scale!r} carries a fastMRI+ box")
    return [item for item, _ in found], torch.stack([box for _, box in found])


def cross_attacks(trained: dict[str, Trained], scale: str, ev: dict) -> pd.DataFrame:
    """Every model (S, A(ε), K(η)) under the other papers' attacks (`attacks.suite`, its SSIM
    scoring) on the first `cross_slices` validation slices that carry a fastMRI+ box: Morshuis et
    al.'s per-coil k-space PGD (η grid) and rotation search (worst angle by box MSE within each
    θ_max) target the box and are scored on it; Darestani et al.'s PGD (ε grid) and the image
    PGD (ρ grid) are scored on the whole image. One row per (model, attack, budget, slice)."""
    p = trained["S"].spec.params
    items, boxes = boxed_slices(scale, p["challenge"], ev["cross_slices"])
    angles = attacks.angle_grid(max(ev["theta_max"]), ev["angle_step"]).tolist()
    budgets = {
        "kspace_pgd": ev["eta_grid"],
        "rotation": ev["theta_max"],
        "pgd": ev["eps_grid"],
        "image_pgd": ev["rho_grid"],
    }
    tables = []
    for name, model in trained.items():
        start = 0
        for kspace, mask, target, _ in _loader(model.spec, items, p["batch_size"]):
            table = attacks.every_attack(
                model.recon,
                kspace,
                mask,
                target,
                budgets,
                region=boxes[start : start + len(target)],
                angles=angles,
                steps=ev["cross_pgd_steps"],
                seed=ev["seed"],
            )
            tables.append(table.assign(model=name, slice=table["slice"] + start))
            start += len(target)
    return pd.concat(tables, ignore_index=True)


def _interval_columns(name: str, interval: claims.Interval) -> dict[str, float | None]:
    return {name: interval.estimate, f"{name}_low": interval.low, f"{name}_high": interval.high}


def cross_summary(table: pd.DataFrame) -> pd.DataFrame:
    """The cross-paper attacks as measurements (no direction is expected, so no verdicts): per
    (attack, budget, model), the mean SSIM drop and the mean attacked SSIM over the slices with
    their 95 % bootstrap intervals (`claims.mean_interval`), and for every model but S the mean
    paired per-slice difference to S (model − S: a negative `ssim_drop_minus_S` is a smaller
    drop) with its interval. A smaller drop with a lower attacked SSIM is a model that starts lower
    and loses less, not a better one."""
    rows = []
    for (attack, budget), group in table.groupby(["attack", "budget"]):
        where = f"{attack} at {budget:g}"
        wide = {
            value: group.pivot(index="slice", columns="model", values=value)
            for value in ("ssim_drop", "ssim_attacked")
        }
        drop = wide["ssim_drop"]
        if drop.isna().any().any() or "S" not in drop:
            raise ValueError(f"cross attacks: {where} needs S and every model on the same slices")
        for model in drop.columns:
            row = {"attack": attack, "budget": budget, "model": model, "n": len(drop)}
            for name, scores in wide.items():
                row |= _interval_columns(name, claims.mean_interval(scores[model], where))
                if model != "S":
                    difference = claims.mean_interval(scores[model] - scores["S"], where)
                    row |= _interval_columns(f"{name}_minus_S", difference)
            rows.append(row)
    return pd.DataFrame(rows)
