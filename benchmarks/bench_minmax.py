"""Cost of one min-max minibatch (Huang & Liang) relative to one standard U-Net minibatch.

At the cpu profile's sizes (single-coil 256x140 k-space, 128x128 images, U-Net 16 channels /
3 pools BatchNorm + PReLU, batch 4): a standard step (clean DSSIM, one forward + backward), an
image min-max step (Algorithm 1: G step through the U-Net, then clean + perturbed U-Net step)
and a k-space min-max step (Algorithm 2). The ratios size the cpu profile: the paper's training
budget is (S + 2 A + K) epochs x steps x the standard step time.
"""

from __future__ import annotations

import torch
from _bench import compare, synthetic_kspace, write

from mrirobust import physics
from mrirobust.papers.huang_liang import networks
from mrirobust.training import adversarial

torch.set_num_threads(1)
REPEATS = 5
PARAMS = dict(
    seed=0, challenge="singlecoil", center_fraction=0.08, epochs=1, patience=3, batch_size=4,
    lr=1e-3, gen_lr=1e-3, weight_decay=0.01, alpha1=1.0, unet_chans=16, unet_pools=3,
    unet_variant="huang_liang", gen_nz=100, gen_ngf=8, latent_scale=1e-3, hinge="batch",
    kgen_chans=8, kgen_pools=3, kgen_budget="per_coil", ssim_window=11, ssim_sigma=1.5,
    ssim_range=1.0, val_slices=8,
)  # fmt: skip
kspace = synthetic_kspace(4, 1, (256, 140))
mask = physics.column_mask(140, 4, 0.08, seed=0).view(1, 1, 1, -1).expand(4, -1, -1, -1)
target = physics.rss_crop(kspace, (128, 128))
batch = [kspace, mask, target]


def stepper(kind: str, budget: float):
    spec = networks.spec(kind, "cpu", budget, PARAMS)
    torch.manual_seed(0)
    recon, gen = networks.build(spec, (128, 128), coils=1)
    optimisers = adversarial._optimisers(recon, gen, PARAMS)
    recon.train()
    latent = None
    if gen is not None:
        gen.train()
        latent = gen.sample_latent(4, torch.Generator().manual_seed(0)) if kind == "image" else None
    return lambda: adversarial.minmax_step(recon, gen, spec, batch, latent, optimisers)


standard = stepper("standard", 0.0)
result = {"what": "min-max minibatch vs standard minibatch, cpu sizes, batch 4", "repeats": REPEATS}
for kind, budget in (("image", 160.0), ("kspace", 0.02)):
    timing = compare(standard, stepper(kind, budget), REPEATS)
    result[kind] = {**timing, "cost_over_standard": timing["ratio_baseline_over_subject"]}
write("bench_minmax", result)
