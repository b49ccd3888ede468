"""Min-max training of a U-Net against a perturbation generator (Huang & Liang, Algorithms 1-2).

One minibatch (alternating gradient descent-ascent, G first, one AdamW step each), with x̂ the
normalised zero-filled input, t̂ the target in the same units (`models.unet.normalise_target`),
U the U-Net on normalised images and L = DSSIM (`metrics.dssim`, 11x11 Gaussian window):

    G step:  max_φ  α1 L(U(x̂ + δ), t̂) − hinge(δ, ε)          δ = G_φ(z), z = latent · N(0, I)
    R step:  min_θ  L(U(x̂), t̂) + α1 L(U(x̂ + δ'), t̂)         δ' = G_φ(z) after G's step, detached

`kind` "image" is Algorithm 1: δ is added to x̂, the budget is the hinge max(0, ‖δ‖² − ε) of the
reference code (α2 = −1; "batch" or "sample" mode, `hinge`). `kind` "kspace" is
Algorithm 2 built with the project's k-space budget: z = G(y) lies on the sampled columns within
‖z_i‖ ≤ η‖k_i‖ per coil (`models.generator.KSpaceGenerator`), and the perturbed output is U's
reconstruction of y + z expressed in the CLEAN input's units, so the perturbation cannot rescale
the target. `kind` "standard" is the same loop without G (α1 = 0), the reference's unpublished
standard U-Net under our assumption of the same recipe.

Data: fully sampled slices of `<anatomy>/<challenge>_<split>` (`training.datasets.SliceData`)
with random masks seeded by (seed, slice, epoch) for training and (seed, slice) for validation,
batches of one k-space shape in a seeded order per epoch (real files differ in width; the first
`steps_per_epoch` batches when set), latents seeded by (seed, epoch, batch) and drawn on the CPU
(the same on every device): an interrupted run resumes to the same weights. Each min-max step is
timed as `costs.timed("train", method)`, each step of a fresh attacking generator as
`costs.timed("attack", "generator_<kind>")`.

The checkpoint (`training.checkpoints.locate`: the spec and the data fingerprint of its train +
val slices) holds both networks and both optimisers after every epoch, the per-epoch curve and
the per-iteration log; `mrirobust.zoo` trains, resumes and restores the models through
`training.recipes.MinMax`. Early stopping follows the reference's rule: stop when none of the
last `patience` validation DSSIMs is below the one `patience` epochs before; the last weights are
kept. Unlike the reference, it validates on `val_slices` slices held out from the training split
(`datasets.tuning_items`, not trained on), never on the validation split that Table 1 scores.

Under torchrun (`python -m torch.distributed.run --nproc_per_node=N -m mrirobust train
"huang_liang-S" ...`) every process takes batch_size / N slices of the
seeded order, the gradients of both networks are averaged over the processes, BatchNorm keeps
per-process statistics (as the reference's DataParallel did per GPU) and rank 0 validates and
writes the checkpoint; its own minibatches make the iteration log.

A model spec (`models.ModelSpec`, made by `papers.huang_liang.networks.spec`) has the method
`unet_minmax_<kind>` and the `PARAMS` plus `budget` (ε or η) and `coils`. The loop knows no model
classes (training never imports `mrirobust.models`): the caller passes `networks() -> (U-Net
Reconstructor, generator or None)`, untrained (`mrirobust.zoo` builds them from the model
registry). The U-Net has `normalised_input`, `refine`, `decode` and `normalised_target`
(`models.unet.UNetRecon`); the image generator `sample_latent`, the k-space generator
`forward(y, mask, k, η)`.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm, trange

from mrirobust import costs, devices, metrics, physics
from mrirobust.training import checkpoints, datasets, loop

KINDS = ("standard", "image", "kspace")
HINGE_MODES = ("batch", "sample")
PARAMS = (
    "seed",  # init, data order, masks, latents
    "challenge",  # "singlecoil" (ESC, the paper) or "multicoil"
    "center_fraction",
    "epochs",
    "patience",  # early stopping on the clean validation DSSIM
    "batch_size",  # >= 2: BatchNorm and the batch hinge
    "lr",  # AdamW of the U-Net
    "gen_lr",  # AdamW of the generator
    "weight_decay",
    "alpha1",  # weight of the perturbed loss
    "unet_chans",
    "unet_pools",
    "unet_variant",  # models.unet.VARIANTS
    "gen_nz",  # image generator: latent size
    "gen_ngf",  # image generator: channels of the last hidden layer
    "latent_scale",
    "hinge",  # "batch" (reference) or "sample"
    "kgen_chans",  # k-space generator U-Net
    "kgen_pools",
    "kgen_budget",  # "per_coil" or "total"
    "ssim_window",
    "ssim_sigma",
    "ssim_range",
    "val_slices",  # training slices held out and validated after every epoch (early stopping)
)
# keys added after checkpoints existed, with their default: a spec holds one only when it
# differs, so the existing checkpoints keep their names (as `models.registry.Method.late`)
LATE = {"steps_per_epoch": 0}  # minibatches per epoch (0: every full batch; shape scale: 1)
ANATOMY = "knee"


def kind(model_spec) -> str:
    """The min-max kind of `model_spec` (its method is `unet_minmax_<kind>`)."""
    return model_spec.method.removeprefix("unet_minmax_")


def slices(scale: str, split: str, challenge: str) -> list[tuple[Path, int]]:
    """(file, slice) pairs of the knee's `<challenge>_<split>` (`training.datasets.slices`)."""
    return datasets.slices(scale, split, ANATOMY, challenge)


def dataset(model_spec: dict, items: list[tuple[Path, int]], training: bool):
    """Fully sampled `(k (C, H, W), mask (1, 1, W), target (h, w), max)` of `items`, masked as
    `model_spec` trains (`training.datasets.SliceData`); the budgets need the fully sampled k."""
    p = model_spec.params
    return datasets.SliceData(
        items,
        model_spec.acceleration,
        model_spec.center_fraction,
        p["seed"],
        training,
        fully_sampled=True,
        challenge=p["challenge"],
    )


def perturb(x_hat: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """x̂ + δ for a normalised input `(B, h, w)` and a perturbation of the same shape."""
    if delta.shape != x_hat.shape:
        raise ValueError(
            f"perturbation of shape {tuple(delta.shape)} does not match the normalised input "
            f"{tuple(x_hat.shape)}: build the generator for the image size {tuple(x_hat.shape[1:])}"
        )
    return x_hat + delta


def hinge(delta: torch.Tensor, eps: float, mode: str = "batch") -> torch.Tensor:
    """The budget penalty of the perturbations `(B, h, w)` against ε (per sample).

    "batch" (reference code): max(0, ‖δ‖²_F over the whole batch − ε·B), so one sample may
    exceed ε when the others stay below; "sample": mean_b max(0, ‖δ_b‖² − ε).
    """
    if not (isinstance(eps, int | float) and math.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    squared = delta.pow(2).sum(dim=(-2, -1))
    if mode == "batch":
        return torch.relu(squared.sum() - eps * delta.shape[0])
    if mode == "sample":
        return torch.relu(squared - eps).mean()
    raise ValueError(f"unknown hinge mode {mode!r}; valid: {', '.join(HINGE_MODES)}")


def dssim(target: torch.Tensor, pred: torch.Tensor, params: dict) -> torch.Tensor:
    """Mean DSSIM of the batch with the profile's window, σ and data range."""
    return metrics.dssim(
        target,
        pred,
        window=params["ssim_window"],
        sigma=params["ssim_sigma"],
        data_range=params["ssim_range"],
    ).mean()


def perturbed_output(recon, gen, model_spec, kspace, mask, clean, latent):
    """U's output for the perturbed input in the clean input's normalised units, the penalty
    added to G's objective and the budget use of each sample `(B,)` (‖δ_b‖²/ε or max_i
    ‖z_i‖/(η‖k_i‖))."""
    x_hat, mean, std = clean
    budget = model_spec.params["budget"]
    if kind(model_spec) == "image":
        delta = gen(latent)
        out = recon.refine(perturb(x_hat, delta))
        use = delta.detach().pow(2).sum(dim=(-2, -1)) / max(budget, 1e-12)
        return out, hinge(delta, budget, model_spec.params["hinge"]), use
    y = physics.apply_mask(kspace, mask)
    z = gen(y, mask, kspace, budget)
    x_p, mean_p, std_p = recon.normalised_input(y + z, mask)
    out = (recon.decode(x_p, mean_p, std_p) - mean) / std
    radius = budget * torch.linalg.vector_norm(kspace, dim=(-2, -1)).clamp_min(1e-30)
    use = (torch.linalg.vector_norm(z.detach(), dim=(-2, -1)) / radius).amax(dim=-1)
    return out, out.new_zeros(()), use


def clean_input(recon, kspace, mask, target):
    """((x̂, μ, σ), t̂): the normalised zero-filled input and the target in its units."""
    x_hat, mean, std = recon.normalised_input(physics.apply_mask(kspace, mask), mask)
    return (x_hat, mean, std), recon.normalised_target(target, mean, std)


def generator_step(recon, gen, model_spec, batch, latent, optimiser) -> dict:
    """G's half of a minibatch: one step up α1 L(U(perturbed), t̂) − hinge, through R with its
    parameters frozen (R's step computes its own gradients)."""
    p = model_spec.params
    kspace, mask, target = batch
    with devices.frozen(recon):
        clean, t_hat = clean_input(recon, kspace, mask, target)
        out_p, penalty, use = perturbed_output(recon, gen, model_spec, kspace, mask, clean, latent)
        loss_g = -(p["alpha1"] * dssim(t_hat, out_p, p) - penalty)
        loop.step(optimiser, loss_g, gen.parameters())
    return {"loss_G": loss_g.item(), "hinge": penalty.item(), "budget_use_G": use.mean().item()}


def minmax_step(recon, gen, model_spec, batch, latent, optimisers) -> dict:
    """One minibatch of the module docstring's loop; returns its log entry."""
    p = model_spec.params
    log = {}
    if gen is not None:
        log.update(generator_step(recon, gen, model_spec, batch, latent, optimisers["gen"]))
    kspace, mask, target = batch
    clean, t_hat = clean_input(recon, kspace, mask, target)
    loss_clean = dssim(t_hat, recon.refine(clean[0]), p)
    loss_r = loss_clean
    if gen is not None:
        out_p, _, use = perturbed_output(
            recon, _Frozen(gen), model_spec, kspace, mask, clean, latent
        )
        loss_pert = dssim(t_hat, out_p, p)
        loss_r = loss_clean + p["alpha1"] * loss_pert
        log.update(dssim_pert=loss_pert.item(), budget_use=use.mean().item())
    loop.step(optimisers["recon"], loss_r, recon.parameters())
    log.update(loss_R=loss_r.item(), dssim_clean=loss_clean.item())
    return log


class _Frozen:
    """Calls the generator without a graph to its parameters (δ' = G(z).detach() of the R
    step); BatchNorm still uses the batch statistics when G is in training mode."""

    def __init__(self, gen):
        self.gen = gen

    def __call__(self, *args):
        with torch.no_grad():
            return self.gen(*args)


def validate(recon, dataset: datasets.SliceData, params: dict) -> dict:
    """Clean validation in eval mode: mean DSSIM in normalised units, and SSIM / PSNR / NMSE
    against the stored target (`mrirobust.metrics`, per slice)."""
    device = devices.of(recon)
    recon.eval()
    scores = {"dssim": [], "ssim": [], "psnr": [], "nmse": []}
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=datasets.shape_batches(dataset, params["batch_size"])
    )
    with torch.no_grad():
        for kspace, mask, target, _ in loader:
            kspace, mask, target = kspace.to(device), mask.to(device), target.to(device)
            x_hat, mean, std = recon.normalised_input(physics.apply_mask(kspace, mask), mask)
            out = recon.decode(x_hat, mean, std)
            t_hat = recon.normalised_target(target, mean, std)
            scores["dssim"].append(dssim(t_hat, (out - mean) / std, params).item() * len(target))
            for key in ("ssim", "psnr", "nmse"):
                scores[key] += getattr(metrics, key)(target, out).tolist()
    total = len(dataset)
    return {
        "val_dssim": sum(scores.pop("dssim")) / total,
        **{f"val_{k}": float(np.mean(v)) for k, v in scores.items()},
    }


def _seeded(*key) -> torch.Generator:
    return torch.Generator().manual_seed(int(np.random.SeedSequence(key).generate_state(1)[0]))


def _minibatches(dataset, gen, model_spec: dict, seed: int, epoch: int, device):
    """(batch (k, mask, target) on `device`, latent or None) of one epoch: a seeded order, full
    batches of one k-space shape only (BatchNorm and the batch hinge;
    `datasets.ShuffledShapeBatches`; the first `steps_per_epoch` of them when set), latents
    seeded by (seed, epoch, batch, rank) and drawn on the CPU. Under torchrun each process takes
    batch_size / world slices of every batch."""
    world, rank = loop.distributed()
    p = {**LATE, **model_spec.params}
    batch_size = p["batch_size"]
    if batch_size // world < 2:
        raise ValueError(
            f"batch_size {batch_size} over {world} processes leaves {batch_size // world} per "
            f"process; BatchNorm needs >= 2 (batch_size >= {2 * world})"
        )
    dataset.epoch = epoch
    sampler = datasets.ShuffledShapeBatches(dataset, batch_size, seed, world, rank, drop_last=True)
    sampler.set_epoch(epoch)
    if len(sampler) == 0:
        shapes = sorted(set(sampler.shapes))
        raise ValueError(
            f"no k-space shape has batch_size = {batch_size} training slices (shapes {shapes} "
            f"in {len(dataset)} slices): use a smaller batch_size or more training files"
        )
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler)
    steps = min(p["steps_per_epoch"] or len(sampler), len(sampler))
    batches = itertools.islice(loader, steps)
    for b, batch in enumerate(tqdm(batches, total=steps, leave=False, disable=rank != 0)):
        batch = [x.to(device) for x in batch[:3]]
        latent = None
        if kind(model_spec) == "image":
            latent = gen.sample_latent(len(batch[0]), _seeded(seed, epoch, b, rank))
        yield batch, latent


def attack_generator(recon, attack_spec, make_generator: Callable, epochs: int, seed: int):
    """A fresh generator of `attack_spec` (kind "image" or "kspace", its budget, sizes and
    gen_lr; `make_generator()` builds it untrained) trained against the frozen `recon` for
    `epochs` epochs of the training split: G's step of the loop alone (the reference's broken
    `train_pert.py`, done as Algorithm 1's G step). `recon` stays in eval mode and unchanged.
    Returns (generator in eval mode, log)."""
    if kind(attack_spec) not in ("image", "kspace"):
        raise ValueError(f"attack_spec must be of kind image or kspace, got {kind(attack_spec)!r}")
    p = attack_spec.params
    device = devices.of(recon)
    items = slices(attack_spec.scale, "train", p["challenge"])
    torch.manual_seed(seed)
    gen = make_generator().to(device)
    optimiser = torch.optim.AdamW(gen.parameters(), lr=p["gen_lr"], weight_decay=p["weight_decay"])
    train_set = dataset(attack_spec, items, training=True)
    recon.eval()
    gen.train()
    log = []
    with devices.frozen(recon):
        for epoch in range(epochs):
            for batch, latent in _minibatches(train_set, gen, attack_spec, seed, epoch, device):
                with costs.timed("attack", f"generator_{kind(attack_spec)}"):
                    step = generator_step(recon, gen, attack_spec, batch, latent, optimiser)
                log.append({"epoch": epoch + 1, **step})
    return gen.eval(), log


def stops_early(val_losses: list[float], patience: int) -> bool:
    """The reference rule: the last `patience` losses are all >= the one `patience` before."""
    if len(val_losses) <= patience:
        return False
    return all(v >= val_losses[-patience - 1] for v in val_losses[-patience:])


def _optimisers(recon, gen, p) -> dict:
    out = {
        "recon": torch.optim.AdamW(recon.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
    }
    if gen is not None:
        out["gen"] = torch.optim.AdamW(
            gen.parameters(), lr=p["gen_lr"], weight_decay=p["weight_decay"]
        )
    return out


def fit(model_spec, networks: Callable, checkpoint: checkpoints.Checkpoint, state) -> None:
    """Train the min-max model of `model_spec` (module docstring) from `networks()` (untrained),
    or resume it from the checkpoint `state`, writing `checkpoint` after every epoch."""
    p, scale = model_spec.params, model_spec.scale
    world, rank = loop.distributed()
    device = loop.device()
    torch.manual_seed(p["seed"])
    recon, gen = networks()
    recon = recon.to(device)
    gen = gen.to(device) if gen is not None else None
    optimisers = _optimisers(recon, gen, p)
    start, curve, iterations = 0, [], []
    if state is not None:
        recon.load_state_dict(state["model"])
        for name, optimiser in optimisers.items():
            optimiser.load_state_dict(state[f"optimizer_{name}"])
        if gen is not None:
            gen.load_state_dict(state["generator"])
        start, curve, iterations = state["epoch"], state["curve"], state["iterations"]
    train_items = slices(scale, "train", p["challenge"])
    stop_items = datasets.tuning_items(train_items, p["val_slices"])
    train_set = dataset(model_spec, [i for i in train_items if i not in stop_items], training=True)
    val_set = dataset(model_spec, stop_items, training=False)
    finished = False
    desc, quiet = f"train {checkpoint.path.stem}", rank != 0
    for epoch in trange(start, p["epochs"], desc=desc, initial=start, disable=quiet):
        begin = time.perf_counter()
        recon.train()
        if gen is not None:
            gen.train()
        logs = []
        for batch, latent in _minibatches(train_set, gen, model_spec, p["seed"], epoch, device):
            with costs.timed("train", model_spec.method):
                step = minmax_step(recon, gen, model_spec, batch, latent, optimisers)
            logs.append({"epoch": epoch + 1, **step})
        iterations += logs
        if rank == 0:
            row = {"epoch": epoch + 1}
            for key in logs[0]:
                if key != "epoch":
                    row[f"train_{key}"] = float(np.mean([log[key] for log in logs]))
            row.update(validate(recon, val_set, p))
            row["seconds"] = time.perf_counter() - begin
            curve.append(row)
            finished = epoch + 1 == p["epochs"] or stops_early(
                [r["val_dssim"] for r in curve], p["patience"]
            )
            state = {
                "epoch": epoch + 1,
                "finished": finished,
                "model": recon.state_dict(),
                "generator": gen.state_dict() if gen is not None else {},
                **{f"optimizer_{k}": o.state_dict() for k, o in optimisers.items()},
                "curve": curve,
                "iterations": iterations,
                "stopped_on": [[Path(path).name, int(index)] for path, index in stop_items],
            }
            checkpoint.save(state)
        if world > 1:
            flag = torch.tensor(float(finished), device=device)
            dist.broadcast(flag, 0)  # every process stops early with rank 0
            finished = bool(flag.item())
        if finished:
            break


def restore(networks: Callable, state: dict):
    """(U-Net, generator or None) of `networks()` with the weights of the checkpoint `state`, in
    eval mode, on this process's device (`devices.default`)."""
    device = devices.default()
    recon, gen = networks()
    recon.load_state_dict(state["model"])
    if gen is not None:
        gen.load_state_dict(state["generator"])
        gen = gen.to(device).eval()
    return recon.to(device).eval(), gen
