"""Relaxometry: MOLLI T1 and T2-prep T2 signal models and batched voxel-wise fits in torch.

MOLLI (three-parameter Look-Locker model), with T1* the apparent relaxation time under the
readout pulses and the Look-Locker correction giving T1:

    s(t) = | A - B exp(-t / T1*) |,        T1 = T1* (B / A - 1)

T2-prep (mono-exponential):  s(t) = A exp(-t / T2).

Times are in ms; frames are magnitude images `(batch, weightings, H, W)` with times
`(batch, weightings)` or `(weightings,)`. Air is every voxel whose maximum over the frames does
not exceed `AIR_THRESHOLD` x the maximum of its image (as the authors' mapping network); fitted
maps are 0 there.

The fits are differentiable in the frames: a detached global search picks, per voxel, a
starting point (MOLLI: the polarity, i.e. how many of the earliest frames lie before the null
and are sign-flipped in the magnitude data, and T1* on a log grid with A, B by linear least
squares; T2: log-linear least squares weighted by s^2), then a few unrolled damped Gauss-Newton
(Levenberg-Marquardt) steps on all voxels at once refine the parameters, so gradients flow from
the maps to the frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = [
    "AIR_THRESHOLD",
    "T1Fit",
    "T2Fit",
    "air_mask",
    "fit_t1",
    "fit_t2",
    "look_locker_t1",
    "molli_signal",
    "t2prep_signal",
]

AIR_THRESHOLD = 0.05  # air: max over frames < 5 % of the image maximum (Zhao et al. 2023)
T1STAR_GRID_MS = (20.0, 5000.0, 240)  # log-spaced search grid for T1* (min, max, points)
GAUSS_NEWTON_STEPS = 6
T2_RANGE_MS = (1.0, 3000.0)  # T2 fits stay in this range (a flat or rising curve has no T2)
DAMPING = 1e-3  # Levenberg-Marquardt: (J^T J + DAMPING diag(J^T J)) step = -J^T r


def molli_signal(times_ms, a, b, t1star_ms):
    """Signed MOLLI signal A - B exp(-t / T1*); its magnitude is what the scanner stores."""
    return a - b * torch.exp(-times_ms / t1star_ms)


def t2prep_signal(times_ms, a, t2_ms):
    """T2-prepared signal A exp(-t / T2)."""
    return a * torch.exp(-times_ms / t2_ms)


def look_locker_t1(a, b, t1star_ms):
    """Look-Locker correction T1 = T1* (B / A - 1)."""
    return t1star_ms * (b / a - 1)


def air_mask(frames: torch.Tensor, threshold: float = AIR_THRESHOLD) -> torch.Tensor:
    """`(batch, H, W)` True where max_t s_t <= threshold * (max of the image over t, H, W);
    an image of zeros is all air."""
    peak = frames.amax(dim=1)
    return peak <= threshold * peak.flatten(1).amax(dim=1).view(-1, 1, 1)


@dataclass
class T1Fit:
    """MOLLI fit maps `(batch, H, W)`: T1 and T1* in ms, A and B in signal units, the number of
    sign-flipped leading frames, the air mask and the root-mean-square residual per voxel."""

    t1: torch.Tensor
    t1star: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor
    flips: torch.Tensor
    air: torch.Tensor
    residual: torch.Tensor


@dataclass
class T2Fit:
    """T2-prep fit maps `(batch, H, W)`: T2 in ms, A, the air mask and the RMS residual."""

    t2: torch.Tensor
    a: torch.Tensor
    air: torch.Tensor
    residual: torch.Tensor


def _curves(frames: torch.Tensor, times_ms, threshold: float, name: str):
    """Validate; return the curves (batch, M, w) of the M voxels that are tissue in some slice
    of the batch and times (batch, w), both in time order, the air mask (batch, H, W) and the
    flat indices (M,) of those voxels (air voxels are not fitted: their maps are 0)."""
    if not isinstance(frames, torch.Tensor) or frames.is_complex() or frames.ndim != 4:
        got = getattr(frames, "shape", type(frames).__name__)
        raise ValueError(f"{name}: frames must be real magnitudes (batch, w, H, W), got {got}")
    batch, w = frames.shape[:2]
    times = torch.as_tensor(times_ms, dtype=frames.dtype, device=frames.device)
    times = times.expand(batch, -1) if times.ndim == 1 else times
    if times.shape != (batch, w):
        raise ValueError(
            f"{name}: times of shape {tuple(times.shape)} do not match {w} frames of a batch "
            f"of {batch}; expected ({w},) or ({batch}, {w})"
        )
    air = air_mask(frames, threshold)
    empty = [i for i in range(batch) if air[i].all()]
    if empty:
        raise ValueError(
            f"{name}: slice(s) {empty} of the batch are all air (no voxel above "
            f"{threshold:g} x the image maximum; maximum {frames[empty[0]].max().item():g})"
        )
    times, order = times.sort(dim=1)
    tissue = (~air).flatten(1).any(0).nonzero().squeeze(1)  # voxels fitted: tissue in any slice
    curves = frames.flatten(2).transpose(1, 2)[:, tissue]
    curves = torch.gather(curves, 2, order[:, None, :].expand(-1, curves.shape[1], -1))
    # no gradient through a voxel that is air in its slice (its map is 0; a fit of near-zero
    # frames would send NaN back to the frames)
    curves = torch.where(air.flatten(1)[:, tissue, None], curves.detach(), curves)
    return curves, times, air, tissue


def _maps(air: torch.Tensor, tissue: torch.Tensor):
    """Values (batch, M) of the fitted voxels `tissue` -> maps (batch, H, W), zero on air."""

    def as_map(x: torch.Tensor) -> torch.Tensor:
        full = x.new_zeros(x.shape[0], air[0].numel()).index_copy(1, tissue, x)
        return torch.where(air, torch.zeros((), dtype=x.dtype), full.reshape(air.shape))

    return as_map


def _solve_damped(jac: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """Levenberg-Marquardt step for every voxel: jac (..., w, p), residual (..., w)."""
    jtj = jac.transpose(-1, -2) @ jac
    jtj = (
        jtj
        + DAMPING * torch.diag_embed(jtj.diagonal(dim1=-2, dim2=-1))
        + 1e-12 * torch.eye(jac.shape[-1], dtype=jac.dtype, device=jac.device)
    )
    return torch.linalg.solve(jtj, -(jac.transpose(-1, -2) @ residual.unsqueeze(-1))).squeeze(-1)


def _molli_start(curves: torch.Tensor, times: torch.Tensor):
    """Detached global search: for every polarity k (the k earliest frames flipped) and T1* on
    the log grid, (A, B) by linear least squares; the (k, T1*) of least squared error."""
    lo, hi, points = T1STAR_GRID_MS
    grid = torch.logspace(math.log10(lo), math.log10(hi), points, dtype=curves.dtype)
    decay = torch.exp(-times[:, None, :] / grid.to(curves.device)[None, :, None])  # (b, g, w)
    design = torch.stack([torch.ones_like(decay), -decay], dim=-1)  # (b, g, w, 2)
    basis, _ = torch.linalg.qr(design)  # orthonormal basis of each design's column space
    w = curves.shape[-1]
    best = torch.full(curves.shape[:2], torch.inf, dtype=curves.dtype, device=curves.device)
    best_k = torch.zeros(curves.shape[:2], dtype=torch.long, device=curves.device)
    best_g = torch.zeros_like(best_k)
    # Q^T s_k of the curves s_k with the k earliest frames negated, from Q^T s_0 by removing
    # twice frame k-1's term at each k; ||s_k||^2 does not depend on k
    # (least squared error = ||s_k||^2 - max over the grid of ||Q^T s_k||^2)
    coefficients = torch.einsum("bgwc,bnw->bngc", basis, curves)  # (b, n, g, 2)
    energy = curves.square().sum(-1)
    for k in range(w):
        if k > 0:
            frame = curves[:, :, None, k - 1, None]
            coefficients.addcmul_(basis[:, None, :, k - 1, :], frame, value=-2)
        norm, index = torch.linalg.vector_norm(coefficients, dim=-1).max(dim=-1)
        value = energy - norm.square()
        better = value < best
        best = torch.where(better, value, best)
        best_k = torch.where(better, k, best_k)
        best_g = torch.where(better, index, best_g)
    return best_k, grid.to(curves.device)[best_g]


def _molli_refine(curves: torch.Tensor, times: torch.Tensor, flips, t1star, steps: int):
    """Gauss-Newton on (A, B, log T1*) of the signed model with `flips` leading frames negated,
    from T1* and the least-squares (A, B); returns (A, B, T1*, signed residual)."""
    w = curves.shape[-1]
    sign = torch.where(torch.arange(w, device=curves.device) < flips[..., None], -1.0, 1.0)
    signed = curves * sign.to(curves.dtype)
    t = times[:, None, :]
    decay = torch.exp(-t / t1star[..., None])
    design = torch.stack([torch.ones_like(decay), -decay], dim=-1)
    normal = design.transpose(-1, -2)
    a, b = torch.linalg.solve(normal @ design, normal @ signed.unsqueeze(-1)).squeeze(-1).unbind(-1)
    log_tau = torch.log(t1star)
    for _ in range(steps):
        tau = torch.exp(log_tau)[..., None]
        decay = torch.exp(-t / tau)
        residual = a[..., None] - b[..., None] * decay - signed
        jac = torch.stack([torch.ones_like(decay), -decay, -b[..., None] * t * decay / tau], dim=-1)
        da, db, dlog = _solve_damped(jac, residual).unbind(-1)
        a, b, log_tau = a + da, b + db, log_tau + dlog.clamp(-1.0, 1.0)
    t1star = torch.exp(log_tau)
    return a, b, t1star, molli_signal(t, a[..., None], b[..., None], t1star[..., None]) - signed


def fit_t1(
    frames: torch.Tensor,
    times_ms,
    threshold: float = AIR_THRESHOLD,
    steps: int = GAUSS_NEWTON_STEPS,
) -> T1Fit:
    """Voxel-wise MOLLI fit of magnitude frames `(batch, w, H, W)` at inversion times (ms).

    Polarity restoration: magnitude data lose the sign of the frames before the null, so the
    search tries k = 0 .. w-1 flipped leading frames (in time order) on the T1* grid; the
    Gauss-Newton refinement then fits the signed model with the best k and with k +- 1 (a frame
    near the null is ambiguous on the grid) and keeps the smallest residual. Raises naming the
    batch index of an all-air slice.
    """
    curves, times, air, tissue = _curves(frames, times_ms, threshold, "fit_t1")
    with torch.no_grad():
        best, t1star = _molli_start(curves.detach(), times)
    w = curves.shape[-1]
    fit = None
    for offset in (0, -1, 1):
        flips = (best + offset).clamp(0, w - 1)
        a, b, tau, residual = _molli_refine(curves, times, flips, t1star, steps)
        sse = residual.detach().square().sum(-1)
        if fit is None:
            fit = [a, b, tau, residual, flips, sse]
            continue
        better = sse < fit[5]
        fit = [
            torch.where(better[..., None] if x.ndim > better.ndim else better, y, x)
            for x, y in zip(fit, (a, b, tau, residual, flips, sse), strict=True)
        ]
    a, b, t1star, residual, flips, _ = fit
    as_map = _maps(air, tissue)
    return T1Fit(
        t1=as_map(look_locker_t1(a, b, t1star)),
        t1star=as_map(t1star),
        a=as_map(a),
        b=as_map(b),
        flips=as_map(flips),
        air=air,
        residual=as_map(residual.square().mean(-1).sqrt()),
    )


def fit_t2(
    frames: torch.Tensor,
    times_ms,
    threshold: float = AIR_THRESHOLD,
    steps: int = GAUSS_NEWTON_STEPS,
) -> T2Fit:
    """Voxel-wise T2-prep fit of magnitude frames `(batch, w, H, W)` at preparation times (ms):
    log-linear least squares weighted by s^2 (closed form), then Gauss-Newton on (A, log T2),
    T2 kept within T2_RANGE_MS.
    Raises naming the batch index of an all-air slice."""
    curves, times, air, tissue = _curves(frames, times_ms, threshold, "fit_t2")
    t = times[:, None, :].expand_as(curves)
    tiny = torch.finfo(curves.dtype).tiny
    log_s = torch.log(curves.clamp_min(tiny))
    weight = curves.square()
    sw, st, stt = weight.sum(-1), (weight * t).sum(-1), (weight * t * t).sum(-1)
    sy, sty = (weight * log_s).sum(-1), (weight * t * log_s).sum(-1)
    det = (sw * stt - st * st).clamp_min(tiny)
    slope = (sw * sty - st * sy) / det
    log_a = (sy - slope * st) / sw.clamp_min(tiny)
    lo, hi = math.log(T2_RANGE_MS[0]), math.log(T2_RANGE_MS[1])
    log_t2 = torch.log(-1 / slope.clamp_max(-1e-6)).clamp(lo, hi)
    a = torch.exp(log_a)
    for _ in range(steps):
        t2 = torch.exp(log_t2)[..., None]
        decay = torch.exp(-t / t2)
        residual = a[..., None] * decay - curves
        jac = torch.stack([decay, a[..., None] * decay * t / t2], dim=-1)
        da, dlog = _solve_damped(jac, residual).unbind(-1)
        a, log_t2 = a + da, (log_t2 + dlog.clamp(-1.0, 1.0)).clamp(lo, hi)
    t2 = torch.exp(log_t2)
    residual = t2prep_signal(t, a[..., None], t2[..., None]) - curves
    as_map = _maps(air, tissue)
    return T2Fit(
        t2=as_map(t2),
        a=as_map(a),
        air=air,
        residual=as_map(residual.square().mean(-1).sqrt()),
    )
