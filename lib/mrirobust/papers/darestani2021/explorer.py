"""Darestani et al. 2021 in the explorer (`mrirobust.explorer`): the U-Net and the E2E-VarNet,
l1 with each basis of Fig. 10, ConvDecoder and total-variation CS (fastMRI-A's fifth method) at
4x on the annotated knee slices, under the paper's attacks, scored on the whole image (SSIM and
PSNR, data range = the target's max: `experiments.scores`):

- PGD (eq. 2, strength ε = ||z|| / ||y||) on the trained networks, and the two-step attack
  (eq. 3) on the un-trained methods: `experiments.own_attack`, which picks the paper's attack
  of a method, with the profile's settings;
- a small feature (section 6, strength: its side in pixels) inserted at the centre of the
  sample's box (`attacks.small_features.feature_kspace`, "replace" mode at the target's
  maximum), scored by the paper's window error (the squared difference of the standardised
  reconstruction and the standardised featured target, averaged over the window) and SSIM.
"""

from __future__ import annotations

import torch

from mrirobust import papers, physics, zoo
from mrirobust.attacks import small_features
from mrirobust.explorer import AttackEntry, Catalog, ModelEntry, Perturbed, strengths, zoo_entry
from mrirobust.explorer.knee import KneeSlice, KneeSlices
from mrirobust.models.base import Reconstructor
from mrirobust.models.l1 import BASES
from mrirobust.papers.darestani2021 import experiments, groups, hard_set
from mrirobust.papers.darestani2021.profile import ATTACK, FASTMRI_A

PAPER = "Darestani 2021"
# the run that trains (l1: tunes λ of) each model; ConvDecoder and TV are not trained
RUNS = {"unet": "train_models", "varnet": "train_models", "wavelet": "train_models"}
RUNS |= {"dct": "darestani2021_fig2", "fourier": "darestani2021_fig10"}


class TotalVariation(Reconstructor):
    """TV-regularised CS (`hard_set.tv_reconstruct`: sigpy, ESPIRiT maps, relative λ), on the
    CPU whatever the device."""

    name = "tv"

    def __init__(self, image_size: tuple[int, int], lam: float, iterations: int):
        super().__init__(image_size)
        self.lam, self.iterations = lam, iterations

    def reconstruct(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        size = self.output_size(masked_kspace.shape)
        return hard_set.tv_reconstruct(
            masked_kspace, mask, size, lam=self.lam, iterations=self.iterations
        )


def scores(target: torch.Tensor, image: torch.Tensor, region=None) -> dict[str, float]:
    """Whole-image SSIM and PSNR (`experiments.scores`)."""
    found = experiments.scores(target[None], image[None])
    return {"SSIM": float(found["ssim"]), "PSNR": float(found["psnr"])}


def feature_scores(target: torch.Tensor, image: torch.Tensor, region) -> dict[str, float]:
    """The small-feature window error (the mean over the window of the squared difference of
    the standardised images) and whole-image SSIM."""
    diff = (small_features.standardise(image) - small_features.standardise(target)) ** 2
    return {"feature error": float(diff[region].mean()), "SSIM": scores(target, image)["SSIM"]}


def window(data: KneeSlice, size: int) -> torch.Tensor:
    """A `size` x `size` window on the target `(h, w)` centred on the sample's box (moved
    inside the image)."""
    h, w = data.target.shape
    x, y, width, height = data.box.tolist()
    top = min(max(y + height // 2 - size // 2, 0), h - size)
    left = min(max(x + width // 2 - size // 2, 0), w - size)
    inside = torch.zeros(h, w, dtype=torch.bool)
    inside[top : top + size, left : left + size] = True
    return inside


def register(
    catalog: Catalog,
    *,
    samples: int | None = 8,
    config: str = "",
    attack_overrides: dict | None = None,
) -> None:
    """Add the knee domain (`samples` boxes), the models under the named model `config` ("":
    the scale's sizes; "darestani": the paper's) and the three attacks with the profile's
    settings (`profile.ATTACK`, `attack_overrides`)."""
    scale = catalog.scale
    knee = catalog.share(KneeSlices(scale, samples or None))
    settings = ATTACK.resolve(scale, attack_overrides)
    config = config or None
    trained = {"network", "differentiable"}
    for method, label in (("unet", "U-Net 4×"), ("varnet", "E2E-VarNet 4×")):
        spec = papers.model_spec(method, scale, 4, config)
        catalog.add(
            zoo_entry(f"darestani2021/{method}", label, PAPER, knee.id, spec, trained, RUNS[method])
        )
    for basis in BASES:
        spec = papers.model_spec("l1", scale, 4, groups.basis_config(basis, config))
        entry_id, label = f"darestani2021/l1_{basis}", f"ℓ1 ({basis})"
        tags = {"untrained", "differentiable"}
        catalog.add(zoo_entry(entry_id, label, PAPER, knee.id, spec, tags, RUNS[basis]))
    spec = papers.model_spec("convdecoder", scale, 4, config)
    catalog.add(
        zoo_entry("darestani2021/convdecoder", "ConvDecoder", PAPER, knee.id, spec, {"untrained"})
    )
    tv = FASTMRI_A.resolve(scale)
    size = zoo.image_size(scale)
    catalog.add(
        ModelEntry(
            "darestani2021/tv",
            "total variation (CS)",
            PAPER,
            knee.id,
            lambda: TotalVariation(size, tv["tv_lam"], tv["tv_iterations"]),
        )
    )

    def own(entry: ModelEntry, model, data: KneeSlice, eps: float) -> Perturbed:
        kspace, mask, _, _ = knee.batch(data, entry.acceleration)
        if eps == 0:
            return knee.perturbed(data, kspace, torch.zeros_like(data.target), unchanged=True)
        y = physics.apply_mask(kspace, mask)
        z, out = experiments.own_attack(model, y, mask, eps=[eps], attack=settings)
        z = z[0].cpu()
        return knee.perturbed(
            data,
            kspace + z,
            knee.zero_filled(z, mask, data),
            label="perturbation (zero-filled)",
            known={entry.id: out[0, 0]},
        )

    def feature(entry: ModelEntry, model, data: KneeSlice, side: float) -> Perturbed:
        kspace = data.kspace[0]
        inside = window(data, int(side))
        (rows, cols), (h, w) = kspace.shape[-2:], inside.shape
        full = torch.zeros(rows, cols, dtype=torch.bool)
        full[(rows - h) // 2 : (rows - h) // 2 + h, (cols - w) // 2 : (cols - w) // 2 + w] = inside
        featured = small_features.feature_kspace(
            kspace,
            full[None],
            float(data.target.max()),
            maps=small_features.data_maps(kspace),
        )
        truth = physics.rss_crop(featured, (h, w))[0]
        return knee.perturbed(
            data,
            featured,
            truth - data.target,
            label=f"inserted {int(side)}×{int(side)} feature",
            signed=True,
            target=truth,
            region=inside,
        )

    eps = strengths(settings["eps_grid"])
    sizes = sorted({*settings["feature_sizes"], *ATTACK.resolve("paper")["feature_sizes"]})
    catalog.add(
        AttackEntry(
            id="darestani2021/pgd",
            label="PGD (eq. 2)",
            paper=PAPER,
            domain=knee.id,
            symbol="ε",
            strengths=eps,
            perturb=own,
            score=scores,
            applies=lambda entry: "network" in entry.tags,
            requirement="trained networks (U-Net, VarNet)",
            fmt="{:.3g}",
            steps=settings["pgd_steps"],
        ),
        AttackEntry(
            id="darestani2021/two_step",
            label="two-step attack (eq. 3)",
            paper=PAPER,
            domain=knee.id,
            symbol="ε",
            strengths=eps,
            perturb=own,
            score=scores,
            applies=lambda entry: "untrained" in entry.tags,
            requirement="un-trained methods (l1, ConvDecoder)",
            fmt="{:.3g}",
            steps=settings["two_step_warmup"] + settings["two_step_steps"],
        ),
        AttackEntry(
            id="darestani2021/small_feature",
            label="small feature in the box",
            paper=PAPER,
            domain=knee.id,
            symbol="side",
            strengths=tuple(float(s) for s in sizes),
            perturb=feature,
            score=feature_scores,
            fmt="{:g} px",
            higher_is_better=False,
        ),
    )
