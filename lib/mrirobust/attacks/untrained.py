"""Darestani et al. 2021's two-step attack for un-trained methods (appendix A.1, eq. 3).

Step 1 minimises, jointly over the method's variables x (via the method's `init_state`) and a
perturbation z on the sampled locations,

    J(x, z) = L(x, y + z) - beta ||render(x) - x*||_2^2,   ||z||_2 <= eps ||y||_2 per slice,

where L is the method's own loss (`objective`), y the measurement and x* the method's clean
reconstruction. x takes Adam steps (learning rate `lr`); z takes projected normalised-gradient
descent steps z <- P(z - step_size * r * g / ||g||) from z = 0, r = eps ||y||. The first term
keeps y + z consistent with x while the second drives x away from x*, so z follows.
Step 2 re-runs the whole method on y + z; that reconstruction is the attack's result.

A method supports this with `init_state(masked_kspace, mask) -> nn.Module`,
`objective(state, masked_kspace, mask) -> (B,)` and `render(state) -> (B, h, w)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from mrirobust import physics
from mrirobust.attacks.pgd import _batch_mask, _check_steps, _norm, _stack, _unstack, as_budgets


@dataclass
class TwoStepResult:
    """Perturbation `(E, B, C, H, W)` (no E axis for a scalar eps), step-1 objective J per step
    `(steps, E, B)`, the method's reconstruction of y + z `(E, B, h, w)`, the clean one
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
    lr: float = 0.01,
    step_size: float = 0.5,
    seed: int = 0,
    progress: bool = True,
) -> TwoStepResult:
    """Two-step adversarial perturbation of budget `eps` (number or grid) for `method`.

    `masked_kspace` y `(B, C, H, W)`; the grid of eps is stacked into the batch. Global torch
    randomness is seeded with `seed` (and restored) around every run of the method.
    """
    for attr in ("init_state", "objective", "render"):
        if not callable(getattr(method, attr, None)):
            raise ValueError(
                f"method must provide init_state, objective and render for the two-step attack; "
                f"{type(method).__name__} lacks {attr}"
            )
    physics.check_kspace(masked_kspace, "masked_kspace")
    mask = _batch_mask(mask, masked_kspace)
    epss, scalar = as_budgets(eps, "eps")
    _check_steps(steps, step_size)
    if not (beta >= 0 and lr > 0):
        raise ValueError(f"need beta >= 0 and lr > 0, got beta={beta!r}, lr={lr!r}")
    y = physics.apply_mask(masked_kspace, mask).detach()
    clean = _seeded(method, seed, y, mask)
    copies = epss.numel()
    y_n, mask_n, clean_n = _stack(y, copies), _stack(mask, copies), _stack(clean, copies)
    radius = epss.to(y.real).view(-1, 1) * torch.linalg.vector_norm(y, dim=(1, 2, 3))
    radius = radius.reshape(-1, 1, 1, 1)
    sampled = mask_n.to(y.real.dtype)
    tiny = torch.finfo(y.real.dtype).tiny
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        state = method.init_state(y_n, mask_n)
    optimiser = torch.optim.Adam(state.parameters(), lr=lr)
    z = torch.zeros_like(y_n)
    losses = []
    with torch.enable_grad():
        for _ in tqdm(range(steps), desc="two-step attack", disable=not progress, leave=False):
            z.requires_grad_(True)
            optimiser.zero_grad()
            change = ((method.render(state) - clean_n) ** 2).sum(dim=(-2, -1))
            loss = method.objective(state, y_n + z, mask_n) - beta * change
            loss.sum().backward()
            optimiser.step()
            losses.append(loss.detach())
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
