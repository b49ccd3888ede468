"""Image-domain PGD on the normalised U-Net input: Huang & Liang's threat model, attacked
directly instead of through a perturbation generator.

    max_δ  DSSIM(U(x̂ + δ), t̂)   s.t.  ‖δ_b‖₂ <= ρ √(h w)  per slice,

with x̂ the normalised zero-filled input, t̂ the target in the same units and ρ the per-pixel RMS
budget (ρ = √(ε/N) for Huang & Liang's ε: 0.0988 and 0.221). Same loop as `attacks.pgd`:
normalised-gradient ascent from a seeded random start on the sphere, step relative to the budget,
exact projection (`pgd.project_ball`); the ρ grid is stacked into the batch. It needs a model
that exposes its normalised input, `UNetRecon` (normalised_input / refine / decode), in eval mode.
"""

from __future__ import annotations

import math
from contextlib import nullcontext

import torch
from tqdm.auto import tqdm

from mrirobust import costs, devices, metrics, physics
from mrirobust.attacks.pgd import (
    PGDResult,
    _check_steps,
    _check_target,
    _norm,
    _stack,
    _unstack,
    as_budgets,
    output_size,
    project_ball,
    seeded_noise,
)
from mrirobust.models.unet import normalise_target


def image_pgd(
    recon,
    masked_kspace: torch.Tensor,
    mask: torch.Tensor,
    target: torch.Tensor,
    *,
    rho,
    steps: int = 10,
    step_size: float = 0.5,
    seed: int = 0,
    progress: bool = False,
) -> PGDResult:
    """Image PGD of the module docstring. Returns the perturbations δ `(E, B, h, w)` (normalised
    units), the DSSIM of every iterate `(steps + 1, E, B)`, the decoded attacked
    reconstructions `(E, B, h, w)` and the budgets ρ `(E,)` (no E axis for a scalar ρ)."""
    if not hasattr(recon, "normalised_input") or recon.training:
        raise ValueError(
            "image_pgd needs a UNetRecon in eval mode (normalised_input / refine), got "
            f"{type(recon).__name__} (training={recon.training})"
        )
    physics.check_kspace(masked_kspace, "masked_kspace")
    masked_kspace, mask, target = devices.to_model(recon, masked_kspace, mask, target)
    batch, size = masked_kspace.shape[0], output_size(recon, masked_kspace)
    _check_target(target, batch, size)
    rhos, scalar = as_budgets(rho, "rho")
    _check_steps(steps, step_size)
    with torch.no_grad():
        x_hat, mean, std = recon.normalised_input(masked_kspace, mask)
        t_hat = normalise_target(target, mean, std)
    copies = rhos.numel()
    x, t = _stack(x_hat, copies), _stack(t_hat, copies)
    radius = (rhos.to(x) * math.sqrt(size[0] * size[1])).repeat_interleave(batch).view(-1, 1, 1)
    noise = _stack(seeded_noise(x_hat.shape, seed, x_hat), copies)
    dims = (-2, -1)
    z = project_ball(noise * radius / _norm(noise, dims), radius, dims)
    losses = []
    for step in tqdm(range(steps + 1), desc="image PGD", disable=not progress, leave=False):
        z.requires_grad_(step < steps)
        timer = costs.timed("attack", type(recon).__name__) if step < steps else nullcontext()
        with timer, torch.set_grad_enabled(step < steps), devices.frozen(recon):
            out = recon.refine(x + z)
            loss = metrics.dssim(t, out)
            if step < steps:
                (grad,) = torch.autograd.grad(loss.sum(), z)
        losses.append(loss.detach())
        if step == steps:
            break
        tiny = torch.finfo(grad.dtype).tiny
        step_dir = grad / _norm(grad, dims).clamp_min(tiny)
        z = project_ball(z.detach() + step_size * radius * step_dir, radius, dims)
    decoded = out.detach() * _stack(std, copies) + _stack(mean, copies)
    return PGDResult(
        perturbation=_unstack(z.detach(), copies, scalar),
        losses=_unstack(torch.stack(losses), copies, scalar, axis=1),
        reconstruction=_unstack(decoded, copies, scalar),
        budgets=rhos,
    )
