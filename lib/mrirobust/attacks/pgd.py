"""Projected-gradient k-space attacks: Morshuis et al. 2022 (per coil) and Darestani et al. 2021
(global budget).

Both maximise a reconstruction loss over an additive k-space perturbation z with normalised
gradient ascent from a seeded random start on the budget sphere:

    z <- P(z + step_size * r * g / ||g||),  g = dL/dz restricted to the sampled locations,

where r is the budget radius and the norms are taken per group (per coil for `kspace_pgd`, per
slice for `pgd_global`). So `step_size` is relative to the budget: r g/||g|| is the maximiser of
the linearised loss over the budget ball, and 0.5 moves half of the way there. P projects each
group exactly onto its ball {||z|| <= r}. The attacked input is `mask * (k + z)` and z stays
zero off the sampled locations (it could not change the input there).

The returned perturbation is the last iterate (as in the reference code); `losses[s]` is the
loss of iterate s (s = 0 is the random start, s = steps the returned perturbation).

Every attack of this package moves its inputs to the model's device (`devices.to_model`) and
returns its results there; the random start is drawn on the CPU from `seed` and then moved, so
a seed gives the same start on every device.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from mrirobust import costs, devices, metrics, physics, regions

RULES = ("exact", "reference")
KEEP = ("last", "best")


@dataclass
class PGDResult:
    """Perturbation `(E, B, C, H, W)` (no E axis for a scalar budget), loss of every iterate
    `(steps + 1, E, B)`, the attacked reconstruction `(E, B, h, w)`, the budgets `(E,)` and the
    index of the returned iterate `(E, B)` (None: the last one)."""

    perturbation: torch.Tensor
    losses: torch.Tensor
    reconstruction: torch.Tensor
    budgets: torch.Tensor
    iterate: torch.Tensor | None = None  # None: the last iterate

    @property
    def final_loss(self) -> torch.Tensor:
        """Loss of the returned perturbation, `(E, B)` (or `(B,)`)."""
        if self.iterate is None:
            return self.losses[-1]
        return self.losses.gather(0, self.iterate.unsqueeze(0)).squeeze(0)


def as_budgets(value, name: str, relative: bool = False) -> tuple[torch.Tensor, bool]:
    """A budget (number or sequence) -> float64 tensor `(E,)` and whether it was scalar;
    `relative` budgets (fractions of a k-space norm) must also be at most 1."""
    scalar = not isinstance(value, (Sequence, torch.Tensor)) or (
        isinstance(value, torch.Tensor) and value.ndim == 0
    )
    try:
        budgets = torch.as_tensor(value, dtype=torch.float64).flatten()
    except (TypeError, ValueError, RuntimeError):  # e.g. a string or a ragged list
        budgets = torch.tensor([math.nan])  # not a finite number: refused just below
    if budgets.numel() == 0 or not torch.isfinite(budgets).all() or (budgets < 0).any():
        raise ValueError(
            f"{name} must be a finite number >= 0 or a non-empty sequence of them, got {value!r}"
        )
    if relative and (budgets > 1).any():
        raise ValueError(
            f"{name} is relative to the k-space norm and must lie in [0, 1], got {value!r}"
        )
    return budgets, scalar


def _batch_mask(mask: torch.Tensor, kspace: torch.Tensor) -> torch.Tensor:
    """Boolean mask as `(B, *, *, W)`, broadcastable to `kspace`."""
    physics.check_mask(mask, kspace)
    mask = mask.to(device=kspace.device, dtype=torch.bool)
    while mask.ndim < 4:
        mask = mask.unsqueeze(0)
    return mask.expand(kspace.shape[0], *mask.shape[1:])


def output_size(recon, kspace: torch.Tensor) -> tuple[int, int]:
    """The image size `recon` returns for `kspace`: its `output_size(shape)` (a Reconstructor:
    square at the k-space width for images narrower than `image_size`), else `image_size`."""
    size = getattr(recon, "output_size", None)
    return tuple(size(kspace.shape)) if callable(size) else tuple(recon.image_size)


def seeded_noise(shape, seed: int, like: torch.Tensor) -> torch.Tensor:
    """Standard normal noise of `shape` with `like`'s dtype and device, drawn on the CPU from
    `seed` (the same numbers on every device)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=gen, dtype=like.dtype).to(like.device)


def _check_target(target: torch.Tensor, batch: int, size: tuple[int, int]) -> None:
    if not isinstance(target, torch.Tensor) or tuple(target.shape) != (batch, *size):
        raise ValueError(
            f"target must be a real tensor of shape ({batch}, {size[0]}, {size[1]}) "
            f"(batch, the model's output size), got {tuple(getattr(target, 'shape', ()))}"
        )


def _check_steps(steps: int, step_size: float) -> None:
    """At least one step (0 steps would return the random start, which is no attack) and a
    finite step size > 0."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(
            f"steps must be an integer >= 1 (0 would return the start, not an attack), "
            f"got {steps!r}"
        )
    if isinstance(step_size, bool) or not (
        isinstance(step_size, numbers.Real) and math.isfinite(step_size) and step_size > 0
    ):
        raise ValueError(
            f"step_size must be a finite number > 0 (relative to the budget), got {step_size!r}"
        )


def _check_per_pass(per_pass) -> None:
    if per_pass is not None and (
        isinstance(per_pass, bool) or not isinstance(per_pass, int) or per_pass < 1
    ):
        raise ValueError(f"per_pass must be None or an int >= 1 (slices), got {per_pass!r}")


def _norm(x: torch.Tensor, dims) -> torch.Tensor:
    return torch.linalg.vector_norm(x, dim=dims, keepdim=True)


def _ascend(
    recon,
    kspace,
    mask,
    target,
    region_mask,
    radius,
    dims,
    *,
    copies,
    steps,
    step_size,
    seed,
    rule,
    keep,
    progress,
    desc,
    per_pass=None,
):
    """Shared PGD loop on the batch of `copies` stacked budgets; returns (z, losses (steps+1, N),
    reconstruction, index of the returned iterate (N,)). Every budget starts from the same
    seeded noise direction. Slices with a zero budget keep z = 0, so their reconstruction is
    computed once; the others go through `recon` `per_pass` at a time (`_evaluate`)."""
    sampled = mask.to(kspace.real.dtype)
    shape = (kspace.shape[0] // copies, *kspace.shape[1:])
    noise = _stack(seeded_noise(shape, seed, kspace), copies)
    # the reference starts with noise on every column (of the acquired range)
    noise = noise if rule == "reference" else noise * sampled
    tiny = torch.finfo(kspace.real.dtype).tiny
    z = radius * noise / _norm(noise, dims).clamp_min(tiny)
    inputs = (kspace, mask, target, region_mask)
    zero = radius.flatten(1).amax(dim=1) == 0
    moving, still = (~zero).nonzero().squeeze(1), zero.nonzero().squeeze(1)
    with devices.frozen(recon):
        fixed = _evaluate(recon, inputs, z, still, per_pass=per_pass, grad=False)
        losses, kept_loss, kept_z, kept_out, chosen = [], None, None, None, None
        for step in tqdm(range(steps + 1), desc=desc, disable=not progress, leave=False):
            last = step == steps  # the last iterate needs no gradient
            with nullcontext() if last else costs.timed("attack", type(recon).__name__):
                out, loss, grad = _evaluate(
                    recon, inputs, z, moving, per_pass=per_pass, grad=not last
                )
            out = _merge([(moving, out), (still, fixed[0])])
            loss = _merge([(moving, loss), (still, fixed[1])])
            losses.append(loss)
            take = torch.ones_like(loss, dtype=torch.bool)
            if keep == "best" and kept_loss is not None:
                take = loss > kept_loss
            kept_loss = _select(take, loss, kept_loss)
            kept_z = _select(take, z, kept_z)
            kept_out = _select(take, out, kept_out)
            chosen = _select(take, torch.full_like(take, step, dtype=torch.long), chosen)
            if last:
                break
            grad = _merge([(moving, grad), (still, torch.zeros_like(z[still]))])
            if rule == "exact":
                grad = grad * sampled
                z = z + step_size * radius * grad / _norm(grad, dims).clamp_min(tiny)
                z = project_ball(z, radius, dims)
            else:
                # reference update: global unit normalisation of iterate and gradient, then
                # each coil scaled to its budget only where its share exceeds 1 (so mostly
                # below budget)
                whole = (1, 2, 3)
                z = z / _norm(z, whole).clamp_min(tiny) + step_size * grad / _norm(
                    grad, whole
                ).clamp_min(tiny)
                z = radius * z / _norm(z, dims).clamp_min(1.0)
    return kept_z, torch.stack(losses), kept_out, chosen


def _evaluate(recon, inputs, z, rows, *, per_pass, grad):
    """recon(M(k + z)) of the slices `rows` (a 1-D index) of the stacked `inputs` (k-space, mask,
    target, region mask), with the per-slice loss (region MSE) and, where `grad`, its gradient
    d loss / dz; `per_pass` slices per pass (None: all at once). Slices do not interact in a
    reconstruction, so the passes give the values of one pass over all, with less memory
    (a cpu VarNet attack step on 28 slices took 1.7x the time per slice of 14)."""
    if not len(rows):
        return None, None, None
    kspace, mask, target, region_mask = inputs
    outs, losses, grads = [], [], []
    for part in rows.split(per_pass or len(rows)):
        zi = z[part].detach().requires_grad_(grad)
        with torch.set_grad_enabled(grad):
            out = recon(physics.apply_mask(kspace[part] + zi, mask[part]), mask[part])
            loss = metrics.mse(target[part], out, region_mask[part])
            if grad:
                if not loss.requires_grad:
                    raise ValueError(
                        f"{type(recon).__name__}'s output does not depend differentiably on "
                        "the k-space input; use attacks.two_step for methods that are not "
                        "differentiable"
                    )
                grads.append(torch.autograd.grad(loss.sum(), zi)[0])
        outs.append(out.detach())
        losses.append(loss.detach())
    return torch.cat(outs), torch.cat(losses), torch.cat(grads) if grad else None


def _merge(parts) -> torch.Tensor:
    """One tensor over the stacked batch from (rows, values) pairs covering it; a pair without
    rows (values None) is skipped."""
    parts = [(rows, values) for rows, values in parts if len(rows)]
    size = sum(len(rows) for rows, _ in parts)
    full = parts[0][1].new_empty((size, *parts[0][1].shape[1:]))
    for rows, values in parts:
        full[rows] = values
    return full


def _select(take: torch.Tensor, new: torch.Tensor, old: torch.Tensor | None) -> torch.Tensor:
    """`new` for the batch elements where `take` `(N,)` holds, else `old` (None: nothing kept)."""
    if old is None:
        return new
    return torch.where(take.view(-1, *[1] * (new.ndim - 1)), new, old)


def project_ball(z: torch.Tensor, radius: torch.Tensor, dims) -> torch.Tensor:
    """Exact projection onto {‖z_g‖₂ <= r_g} per group (norm over `dims`): z·min(1, r/‖z‖).
    Differentiable almost everywhere, so a generator can be trained through it."""
    tiny = torch.finfo(z.real.dtype).tiny
    return z * (radius / _norm(z, dims).clamp_min(tiny)).clamp(max=1.0)


def _stack(x: torch.Tensor, copies: int) -> torch.Tensor:
    return x.repeat(copies, *([1] * (x.ndim - 1)))


def _unstack(x: torch.Tensor, copies: int, scalar: bool, axis: int = 0) -> torch.Tensor:
    shape = list(x.shape)
    x = x.reshape(*shape[:axis], copies, shape[axis] // copies, *shape[axis + 1 :])
    return x.squeeze(axis) if scalar else x


def kspace_pgd(
    recon,
    kspace: torch.Tensor,
    mask: torch.Tensor,
    target: torch.Tensor,
    *,
    eta,
    region=None,
    steps: int = 10,
    step_size: float = 0.5,
    seed: int = 0,
    rule: str = "exact",
    per_pass: int | None = None,
    progress: bool = True,
) -> PGDResult:
    """Targeted per-coil k-space attack of Morshuis et al. 2022 (eq. 4).

    max_z  mean_{p in S} (|f(M(k + z))|_p - X_p)^2   s.t.  ||z_i||_2 <= eta ||k_i||_2 per coil i,

    with `kspace` k fully sampled `(B, C, H, W)`, `target` X `(B, h, w)`, S = `region` (boxes or
    mask on the target; None = whole image). `eta` is a number or a grid: the grid is stacked
    into the batch, so one call attacks every (eta, slice) pair at once.

    `rule="exact"` (default): the PGD of the module docstring, z on sampled locations only, every
    coil ends inside (usually on) its ball. `rule="reference"`: the update of the public
    reference code: z <- z/||z|| + step_size g/||g|| (norms over all coils of the slice), then
    z_i <- eta ||k_i|| z_i / max(||z_i||, 1); the random start covers all columns. Coils are
    only scaled down when their share exceeds 1, so most end below their budget and part of the
    budget stays on unsampled columns, where it does not change the input.

    `per_pass`: (budget, slice) pairs per forward and backward pass (None: all at once); it
    bounds memory and leaves the result unchanged.
    """
    physics.check_kspace(kspace)
    kspace, mask, target = devices.to_model(recon, kspace, mask, target)
    batch = kspace.shape[0]
    mask = _batch_mask(mask, kspace)
    size = output_size(recon, kspace)
    _check_target(target, batch, size)
    region_mask = regions.as_region_mask(region, batch, size).to(kspace.device)
    etas, scalar = as_budgets(eta, "eta", relative=True)
    _check_steps(steps, step_size)
    _check_per_pass(per_pass)
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
    copies = etas.numel()
    coil_norms = torch.linalg.vector_norm(kspace, dim=(-2, -1))  # (B, C)
    radius = etas.to(coil_norms).view(-1, 1, 1) * coil_norms  # (E, B, C)
    z, losses, out, chosen = _ascend(
        recon,
        _stack(kspace, copies),
        _stack(mask, copies),
        _stack(target, copies),
        _stack(region_mask, copies),
        radius.reshape(-1, kspace.shape[1], 1, 1),
        (-2, -1),
        copies=copies,
        steps=steps,
        step_size=step_size,
        seed=seed,
        rule=rule,
        keep="last",
        progress=progress,
        desc="k-space PGD",
        per_pass=per_pass,
    )
    return PGDResult(
        perturbation=_unstack(z, copies, scalar),
        losses=_unstack(losses, copies, scalar, axis=1),
        reconstruction=_unstack(out, copies, scalar),
        budgets=etas,
        iterate=_unstack(chosen, copies, scalar),
    )


def pgd_global(
    recon,
    masked_kspace: torch.Tensor,
    mask: torch.Tensor,
    *,
    eps,
    region=None,
    steps: int = 10,
    step_size: float = 0.5,
    keep: str = "best",
    budget_kspace: torch.Tensor | None = None,
    seed: int = 0,
    per_pass: int | None = None,
    progress: bool = True,
) -> PGDResult:
    """Darestani et al. 2021's PGD attack for differentiable methods (appendix A.1, eq. 2).

    max_z  mean_{p in S} (Psi(y) - Psi(y + z))_p^2   s.t.  ||z||_2 <= eps ||k_ref||_2 (per slice),

    y = `masked_kspace` (the measurement), z on the sampled locations. Same loop as
    `kspace_pgd` (exact rule) with one ball per slice; `eps` is a number or a grid in [0, 1].
    k_ref = `budget_kspace` (None: y itself, eq. 2's ||A x*||; the fully sampled k-space gives
    the reference code's budget eps ||k||, about 5-10 % larger at 4x). `keep="best"` (default,
    as the reference code) returns the most damaging iterate, "last" the last one. `per_pass`: as
    in `kspace_pgd`.
    """
    physics.check_kspace(masked_kspace, "masked_kspace")
    masked_kspace, mask, budget_kspace = devices.to_model(recon, masked_kspace, mask, budget_kspace)
    batch = masked_kspace.shape[0]
    mask = _batch_mask(mask, masked_kspace)
    size = output_size(recon, masked_kspace)
    region_mask = regions.as_region_mask(region, batch, size).to(masked_kspace.device)
    epss, scalar = as_budgets(eps, "eps", relative=True)
    _check_steps(steps, step_size)
    _check_per_pass(per_pass)
    if keep not in KEEP:
        raise ValueError(f"keep must be one of {', '.join(KEEP)}, got {keep!r}")
    y = physics.apply_mask(masked_kspace, mask)
    reference = y
    if budget_kspace is not None:
        physics.check_kspace(budget_kspace, "budget_kspace")
        if budget_kspace.shape != masked_kspace.shape:
            raise ValueError(
                f"budget_kspace must have the shape of masked_kspace {tuple(y.shape)}, "
                f"got {tuple(budget_kspace.shape)}"
            )
        reference = budget_kspace
    with torch.no_grad():
        clean = recon(y, mask)
    copies = epss.numel()
    norms = torch.linalg.vector_norm(reference, dim=(1, 2, 3))  # (B,)
    radius = epss.to(norms).view(-1, 1) * norms
    z, losses, out, chosen = _ascend(
        recon,
        _stack(y, copies),
        _stack(mask, copies),
        _stack(clean, copies),
        _stack(region_mask, copies),
        radius.reshape(-1, 1, 1, 1),
        (1, 2, 3),
        copies=copies,
        steps=steps,
        step_size=step_size,
        seed=seed,
        rule="exact",
        keep=keep,
        progress=progress,
        desc="PGD (global budget)",
        per_pass=per_pass,
    )
    return PGDResult(
        perturbation=_unstack(z, copies, scalar),
        losses=_unstack(losses, copies, scalar, axis=1),
        reconstruction=_unstack(out, copies, scalar),
        budgets=epss,
        iterate=_unstack(chosen, copies, scalar),
    )
