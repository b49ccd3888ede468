"""Darestani et al. 2021's two-step attack for un-trained methods (appendix A.1, eq. 3).

Step 1 descends, jointly over the method's variables x and a perturbation z on the sampled
locations,

    J(x, z) = L(x, y + z) / L0 - beta ||render(x) - a||_2^2 / ||a||_2^2,
    ||z||_2 <= eps ||y||_2 per slice,

where L is the method's own loss (`objective`), y the measurement, a the anchor (the method's
clean reconstruction x*, or e.g. the ground truth as in the reference code) and L0 the
method's loss at its initial state (= ½||y||^2 for l1 from x = 0, ≈ ½||s y||^2 for
ConvDecoder in its scaled units). Both terms are thus dimensionless and `beta` means the same
for every method and data scale (the reference code used beta = 1 for l1 and 0.05 for
ConvDecoder, both on mean-squared errors of coil images). x takes the method's own optimiser
steps on L0 · J (so learning rates keep their meaning); z takes projected normalised-gradient
descent steps z <- P(z - step_size * r * g / ||g||) from z = 0, r = eps ||y||. The first term
keeps y + z consistent with x while the second drives x away from a, so z follows. Before the
joint steps, `warmup_steps` optimiser steps fit x to the clean y alone (z = 0, beta = 0), as
the reference code does (100 steps). Step 2 re-runs the whole method on y + z; that
reconstruction is the attack's result. Each warm-up and joint step is timed
(`costs.timed("fit" | "attack", method)`).

A method supports this with `init_state(masked_kspace, mask) -> nn.Module`,
`objective(state, masked_kspace, mask) -> (B,)`, `render(state) -> (B, h, w)` and
`optimiser(state) -> torch.optim.Optimizer` (its own optimiser for the state's variables).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from mrirobust import costs, devices, physics
from mrirobust.attacks.pgd import _batch_mask, _check_steps, _norm, _stack, _unstack, as_budgets

PROTOCOL = ("init_state", "objective", "render", "optimiser")


def is_untrained(method) -> bool:
    """True for methods with the un-trained protocol (`PROTOCOL`: attacked by `two_step`)."""
    return all(callable(getattr(method, attr, None)) for attr in PROTOCOL)


@dataclass
class TwoStepResult:
    """Perturbation `(E, B, C, H, W)` (no E axis for a scalar eps), step-1 objective J per joint
    step `(steps, E, B)`, the method's reconstruction of y + z `(E, B, h, w)`, the clean one
    `(B, h, w)`, and the budgets `(E,)`."""

    perturbation: torch.Tensor
    losses: torch.Tensor
    reconstruction: torch.Tensor
    clean: torch.Tensor
    budgets: torch.Tensor

    @property
    def error(self) -> torch.Tensor:
        """Mean squared change of the reconstruction, mean (Psi(y + z) - Psi(y))^2, `(E, B)`."""
        return ((self.reconstruction - self.clean) ** 2).mean(dim=(-2, -1))


def _seeded(method, seed, masked_kspace, mask):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return method(masked_kspace, mask).detach()


def two_step(
    method,
    masked_kspace: torch.Tensor,
    mask: torch.Tensor,
    *,
    eps,
    beta: float,
    steps: int,
    warmup_steps: int = 0,
    anchor: torch.Tensor | None = None,
    step_size: float = 0.5,
    seed: int = 0,
    progress: bool = True,
) -> TwoStepResult:
    """Two-step adversarial perturbation of budget `eps` (number or grid in [0, 1]) for `method`.

    `masked_kspace` y `(B, C, H, W)`; the grid of eps is stacked into the batch. `anchor`
    `(B, h, w)` is the image the joint steps push away from (None: the clean reconstruction).
    Global torch randomness is seeded with `seed` (and restored) around every run of the method.
    """
    missing = [attr for attr in PROTOCOL if not callable(getattr(method, attr, None))]
    if missing:
        raise ValueError(
            f"method must provide {', '.join(PROTOCOL)} for the two-step attack; "
            f"{type(method).__name__} lacks {', '.join(missing)}"
        )
    physics.check_kspace(masked_kspace, "masked_kspace")
    masked_kspace, mask, anchor = devices.to_model(method, masked_kspace, mask, anchor)
    mask = _batch_mask(mask, masked_kspace)
    epss, scalar = as_budgets(eps, "eps", relative=True)
    _check_steps(steps, step_size)
    if not (isinstance(beta, (int, float)) and math.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
    if not (isinstance(warmup_steps, int) and warmup_steps >= 0):
        raise ValueError(f"warmup_steps must be an integer >= 0, got {warmup_steps!r}")
    y = physics.apply_mask(masked_kspace, mask).detach()
    clean = _seeded(method, seed, y, mask)
    if anchor is None:
        anchor = clean
    elif not isinstance(anchor, torch.Tensor) or anchor.shape != clean.shape:
        raise ValueError(
            f"anchor must be a real tensor of shape {tuple(clean.shape)} (batch, "
            f"the method's output size), got {tuple(getattr(anchor, 'shape', ()))}"
        )
    copies = epss.numel()
    y_n, mask_n, anchor_n = _stack(y, copies), _stack(mask, copies), _stack(anchor, copies)
    radius = epss.to(y.real).view(-1, 1) * torch.linalg.vector_norm(y, dim=(1, 2, 3))
    radius = radius.reshape(-1, 1, 1, 1)
    sampled = mask_n.to(y.real.dtype)
    tiny = torch.finfo(y.real.dtype).tiny
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        state = method.init_state(y_n, mask_n)
    optimiser = method.optimiser(state)
    with torch.no_grad():
        loss0 = method.objective(state, y_n, mask_n).clamp_min(tiny)
    anchor_norm = torch.linalg.vector_norm(anchor_n, dim=(-2, -1)).clamp_min(tiny)
    weight = beta * loss0 / anchor_norm  # beta in the method's units
    z = torch.zeros_like(y_n)
    losses = []
    name = type(method).__name__
    with torch.enable_grad():
        for _ in tqdm(
            range(warmup_steps), desc="two-step warm-up", disable=not progress, leave=False
        ):
            with costs.timed("fit", name):
                optimiser.zero_grad()
                method.objective(state, y_n, mask_n).sum().backward()
                optimiser.step()
        for _ in tqdm(range(steps), desc="two-step attack", disable=not progress, leave=False):
            with costs.timed("attack", name):
                z.requires_grad_(True)
                optimiser.zero_grad()
                change = torch.linalg.vector_norm(method.render(state) - anchor_n, dim=(-2, -1))
                loss = method.objective(state, y_n + z, mask_n) - weight * change
                loss.sum().backward()
                optimiser.step()
                losses.append(loss.detach() / loss0)
                grad = z.grad * sampled
                z = z.detach() - step_size * radius * grad / _norm(grad, (1, 2, 3)).clamp_min(tiny)
                z = z * (radius / _norm(z, (1, 2, 3)).clamp_min(tiny)).clamp(max=1.0)
    z = z.detach()
    attacked = _seeded(method, seed, y_n + z, mask_n)
    losses = torch.stack(losses) if losses else torch.zeros(0, copies * y.shape[0])
    return TwoStepResult(
        perturbation=_unstack(z, copies, scalar),
        losses=_unstack(losses, copies, scalar, axis=1),
        reconstruction=_unstack(attacked, copies, scalar),
        clean=clean,
        budgets=epss,
    )
