"""Morshuis Fig. 1's k-space PGD at cpu size in passes of a few slices vs one pass of all.

One batch of Fig. 1 at cpu scale is 4 boxes x the 7-value η grid = 28 (η, box) pairs through
the cpu-size E2E-VarNet (3 cascades, 12 channels; 8 coils, 192x140 k-space). `kspace_pgd`
splits them into passes of `per_pass` pairs (the profile's `pgd_per_pass`, 7) and evaluates the
η = 0 pairs once (their perturbation stays 0); the baseline is one pass of all 28. Both give
the same numbers (checked below, bit for bit on this machine). Also: the bare model's forward +
backward with the weights' `requires_grad` on vs off (`devices.frozen`, which every attack now
uses), 14 slices.
"""

from __future__ import annotations

import torch
from _bench import compare, synthetic_kspace, write

from mrirobust import attacks, devices, physics
from mrirobust.models import registry

torch.set_num_threads(2)
REPEATS = 3
ETAS = [0.0, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025]
torch.manual_seed(0)
model = registry.build(registry.spec("varnet", "cpu"), (128, 128)).eval()
kspace = synthetic_kspace(4, 8, (192, 140))
mask = physics.column_mask(140, 4, 0.08, seed=0).view(1, 1, 1, -1)
target = physics.rss_crop(kspace, (128, 128))


def pgd(per_pass):
    return attacks.kspace_pgd(
        model, kspace, mask, target, eta=ETAS, steps=2, per_pass=per_pass, progress=False
    )


in_passes, at_once = pgd(7).reconstruction, pgd(None).reconstruction
same = torch.equal(in_passes, at_once)
assert same or torch.allclose(in_passes, at_once, atol=1e-5)
passes = compare(lambda: pgd(7), lambda: pgd(None), REPEATS)

inputs = physics.apply_mask(synthetic_kspace(14, 8, (192, 140), seed=1), mask)


def forward_backward():
    z = torch.zeros_like(inputs, requires_grad=True)
    torch.autograd.grad(model(inputs + z, mask).square().sum(), z)


def frozen_forward_backward():
    with devices.frozen(model):
        forward_backward()


frozen = compare(frozen_forward_backward, forward_backward, REPEATS)
write(
    "bench_pgd_passes",
    {
        "what": "kspace_pgd (2 steps) on 4 slices x 7 etas through the cpu VarNet: passes of "
        "7 pairs (subject) vs one pass of 28 (baseline); and a forward + backward of 14 slices "
        "with frozen weights (subject) vs weights requiring gradients (baseline)",
        "sizes": {"slices": 4, "etas": len(ETAS), "coils": 8, "kspace": [192, 140]},
        "repeats": REPEATS,
        "bit_identical": bool(same),
        "passes": passes,
        "frozen": frozen,
    },
)
