"""Batched attacks vs their one-call-at-a-time baselines, on a small fastMRI U-Net (CPU).

1. rotation grid search: all angles in one batch vs one forward pass per angle (target >= 5x);
2. k-space PGD over the 7-value eta grid: one batched call vs 7 calls (target >= 2.5x);
3. PGD overhead: one call (10 steps) vs (steps + 1) x (forward + backward) of the bare model
   (target <= 1.3).

Beside 1 and 2 it measures what batching gains for the bare model alone (forward for the angle
batch, forward + backward for the eta batch): the searches cannot gain much more than that where
the model passes dominate their time.
"""

from __future__ import annotations

import torch
from _bench import compare, synthetic_kspace, write

from mrirobust import physics
from mrirobust.attacks import angle_grid, kspace_pgd, rotation_search
from mrirobust.models.unet import UNetRecon

torch.set_num_threads(2)
torch.manual_seed(0)
SHAPE, SIZE, COILS = (96, 96), (64, 64), 4
ETAS = [0.0, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025]
STEPS, REPEATS = 10, 5
BOX = [20, 24, 16, 12]

model = UNetRecon(SIZE, chans=8, num_pools=3).eval()
kspace = synthetic_kspace(1, COILS, SHAPE)
mask = physics.column_mask(SHAPE[1], 4, 0.08, seed=0).view(1, 1, 1, -1)
target = physics.rss_crop(kspace, SIZE)
args = (model, kspace, mask, target)
angles = angle_grid(4.9, 0.5)


def rotations_batched():
    return rotation_search(
        *args, angles=angles, region=BOX, batch_size=angles.numel(), progress=False
    )


def rotations_looped():
    return [rotation_search(*args, angles=[a], region=BOX, progress=False) for a in angles]


def pgd_batched():
    return kspace_pgd(*args, eta=ETAS, region=BOX, steps=STEPS, progress=False)


def pgd_looped():
    return [kspace_pgd(*args, eta=e, region=BOX, steps=STEPS, progress=False) for e in ETAS]


def pgd_one():
    return kspace_pgd(*args, eta=0.01, region=BOX, steps=STEPS, progress=False)


def bare_model():
    """(steps + 1) x forward + backward to the k-space input, the floor of one PGD call."""
    for _ in range(STEPS + 1):
        z = torch.zeros_like(kspace, requires_grad=True)
        out = model(physics.apply_mask(kspace + z, mask), mask)
        torch.autograd.grad(((out - target) ** 2).mean(), z)


def stacked_inputs(n):
    return physics.apply_mask(kspace.repeat(n, 1, 1, 1), mask), mask.repeat(n, 1, 1, 1)


def model_forward(n):
    """The bare model's forward pass on n inputs, in one batch or in n calls."""
    y, m = stacked_inputs(n)
    with torch.no_grad():
        model(y, m)


def model_forward_backward(n):
    y, m = stacked_inputs(n)
    y.requires_grad_(True)
    torch.autograd.grad(model(y, m).sum(), y)


def looped(fn, n):
    return lambda: [fn(1) for _ in range(n)]


# same results before timing
torch.testing.assert_close(
    rotations_batched().losses,
    torch.cat([r.losses for r in rotations_looped()]),
    rtol=1e-3,
    atol=1e-9,
)
for i, single in enumerate(pgd_looped()):
    # normalised-gradient steps amplify float differences of batched convolutions a little
    torch.testing.assert_close(pgd_batched().losses[:, i], single.losses, rtol=1e-2, atol=1e-9)

rotation = compare(rotations_batched, rotations_looped, REPEATS)
eta_grid = compare(pgd_batched, pgd_looped, REPEATS)
overhead = compare(pgd_one, bare_model, REPEATS)
model_angles = compare(
    lambda: model_forward(angles.numel()), looped(model_forward, angles.numel()), REPEATS
)
model_etas = compare(
    lambda: model_forward_backward(len(ETAS)), looped(model_forward_backward, len(ETAS)), REPEATS
)

write(
    "bench_attacks",
    {
        "model": "mrirobust.models.unet.UNetRecon(chans=8, num_pools=3), random weights, eval",
        "kspace": [1, COILS, *SHAPE],
        "image_size": list(SIZE),
        "repeats": REPEATS,
        "timing": "subject and baseline alternate; medians; ratio = median of per-repeat ratios",
        "rotation": {
            "compared": f"rotation_search over {angles.numel()} angles in one batch vs one call "
            "per angle",
            **rotation,
            "speedup": rotation["ratio_baseline_over_subject"],
            "target": ">= 5",
            "model_alone": {
                "compared": f"model forward on {angles.numel()} inputs in one batch vs one at a "
                "time",
                **model_angles,
            },
        },
        "pgd_eta_grid": {
            "compared": f"kspace_pgd over {len(ETAS)} etas in one call vs one call per eta",
            "steps": STEPS,
            **eta_grid,
            "speedup": eta_grid["ratio_baseline_over_subject"],
            "target": ">= 2.5",
            "model_alone": {
                "compared": f"model forward + backward on {len(ETAS)} inputs in one batch vs one "
                "at a time",
                **model_etas,
            },
        },
        "pgd_overhead": {
            "compared": "kspace_pgd (one eta) vs (steps + 1) x (forward + backward) of the model",
            "steps": STEPS,
            **overhead,
            "overhead": 1 / overhead["ratio_baseline_over_subject"],
            "target": "<= 1.3",
        },
    },
)
