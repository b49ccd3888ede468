"""Huang & Liang in the explorer (`mrirobust.explorer`): the standard U-Net S, the adversarially
trained A(ε) and Algorithm 2's K(η) on the single-coil knee validation slices (masked as they
were validated), scored as Fig. 6 does (SSIM and PSNR of the output against the target,
`metrics.ssim` / `metrics.psnr`), under

- the co-trained image generator of an A(ε): its perturbation δ = G(z) of the normalised
  input (the latent seeded as in Fig. 6), rescaled to the slider's RMS per pixel ρ
  (‖δ‖ = ρ √(h w); A's own budget is ρ = √(ε/N)): the generator gives the direction, the
  slider the size;
- image PGD at ρ (`attacks.image_pgd`, the profile's steps), on every U-Net;
- the co-trained k-space generator of a K(η) at the slider's η (`KSpaceGenerator`, per-coil
  budget ‖z‖ <= η‖k‖).

A perturbation of the normalised input is added to each shown model's own normalised input,
so side by side shows S under A's generator (Fig. 6's transfer column) or A under S's PGD.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from mrirobust import attacks, devices, metrics, physics
from mrirobust.explorer import (
    AttackEntry,
    Catalog,
    Domain,
    ModelEntry,
    Perturbed,
    strengths,
    zoo_entry,
)
from mrirobust.models.registry import ModelSpec
from mrirobust.papers.huang_liang import experiments
from mrirobust.papers.huang_liang.profile import EVALUATE
from mrirobust.training import adversarial

PAPER = "Huang & Liang"


class SingleCoilKnees(Domain):
    """The first `max_samples` (None: all) single-coil knee validation slices, masked as the
    models of `spec` are validated (`adversarial.dataset`: masks seeded per position)."""

    id = "fastmri_knee_singlecoil"
    label = "fastMRI knee slices (single-coil)"
    target_label = "target (ESC)"

    def __init__(self, scale: str, spec: ModelSpec, max_samples: int | None = None):
        items = adversarial.slices(scale, "val", spec.params["challenge"])[:max_samples]
        self._items, self._data = items, adversarial.dataset(spec, items, training=False)

    def samples(self) -> dict[str, str]:
        return {str(i): f"{path.stem} slice {index}" for i, (path, index) in enumerate(self._items)}

    def load(self, sample: str):
        """(k-space `(1, C, H, W)`, mask `(1, 1, 1, W)`, target `(h, w)`)."""
        kspace, mask, target, _ = self._data[int(sample)]
        return kspace[None], mask[None], target

    def target(self, data) -> torch.Tensor:
        return data[2]

    def clean(self, entry: ModelEntry, trained, data) -> torch.Tensor:
        kspace, mask, _ = data
        return trained.recon(physics.apply_mask(kspace, mask), mask)[0].cpu()


def scores(target: torch.Tensor, image: torch.Tensor, region=None) -> dict[str, float]:
    """SSIM and PSNR of the output against the target, with Fig. 6's data range rule."""
    rule = experiments.SSIM_RANGE
    return {
        "SSIM": float(metrics.ssim(target[None], image[None], rule)),
        "PSNR": float(metrics.psnr(target[None], image[None], rule)),
    }


def _loaded(spec: ModelSpec, ev: dict, batch_size: int):
    """The `experiments.Trained` of `spec`, an image generator's BatchNorm statistics
    recalibrated as in Fig. 6."""
    trained = experiments.train_models({"model": spec})["model"]
    if adversarial.kind(spec) == "image":
        calibration = torch.Generator().manual_seed(ev["seed"] + 1)
        trained.generator.calibrate(ev["calibration_batches"], batch_size, calibration)
    return trained


def _image_perturbed(data, delta: torch.Tensor, **details) -> Perturbed:
    """A perturbation δ `(1, h, w)` of the normalised input, added to each model's own."""
    kspace, mask, _ = data
    y = physics.apply_mask(kspace, mask)

    def reconstruct(entry: ModelEntry, trained) -> torch.Tensor:
        recon = trained.recon
        x_hat, mean, std = recon.normalised_input(*devices.to_model(recon, y, mask))
        out = recon.refine(adversarial.perturb(x_hat, delta.to(x_hat.device)))
        return (out * std + mean)[0].cpu()

    return Perturbed(reconstruct, delta[0].cpu(), signed=True, **details)


def register(
    catalog: Catalog,
    *,
    samples: int | None = 8,
    train_overrides: dict | None = None,
    evaluate_overrides: dict | None = None,
) -> None:
    """Add the single-coil domain (`samples` slices), S, A(ε) and K(η) of the profile
    (`experiments.model_specs`, `train_overrides`) and the three attacks with the evaluation
    profile's settings (`EVALUATE`, `evaluate_overrides`)."""
    scale = catalog.scale
    ev = EVALUATE.resolve(scale, evaluate_overrides)
    specs = experiments.model_specs(scale, train_overrides, kspace=True)
    knees = catalog.share(SingleCoilKnees(scale, specs["S"], samples or None))
    for name, spec in specs.items():
        kind = adversarial.kind(spec)
        tags = {"unet", f"{kind}_generator"}
        run = "huang_liang_alg2" if kind == "kspace" else "huang_liang_train"
        label = name.replace("eps", "ε").replace("eta", "η")
        entry = zoo_entry(f"huang_liang/{name}", label, PAPER, knees.id, spec, tags, run)
        batch = spec.params["batch_size"]
        load = lambda spec=spec, batch=batch: _loaded(spec, ev, batch)  # noqa: E731
        catalog.add(dataclasses.replace(entry, load=load))

    def generator(entry: ModelEntry, trained, data, rho: float) -> Perturbed:
        if rho == 0:
            return Perturbed(lambda *_: None, torch.zeros_like(data[2]), unchanged=True)
        latent = trained.generator.sample_latent(1, torch.Generator().manual_seed(ev["seed"]))
        delta = trained.generator(latent).detach()
        delta = delta * rho * math.sqrt(delta[0].numel()) / torch.linalg.vector_norm(delta)
        return _image_perturbed(data, delta, label="generator's δ (normalised units)")

    def image_pgd(entry: ModelEntry, trained, data, rho: float) -> Perturbed:
        kspace, mask, target = data
        if rho == 0:
            return Perturbed(lambda *_: None, torch.zeros_like(target), unchanged=True)
        y = physics.apply_mask(kspace, mask)
        result = attacks.image_pgd(
            trained.recon,
            y,
            mask,
            target[None],
            rho=rho,
            steps=ev["image_pgd_steps"],
            seed=ev["seed"],
        )
        return _image_perturbed(
            data,
            result.perturbation.detach(),
            label="PGD's δ (normalised units)",
            known={entry.id: result.reconstruction[0]},
        )

    def kspace_generator(entry: ModelEntry, trained, data, eta: float) -> Perturbed:
        kspace, mask, target = data
        if eta == 0:
            return Perturbed(lambda *_: None, torch.zeros_like(target), unchanged=True)
        y, full, m = devices.to_model(trained.recon, physics.apply_mask(kspace, mask), kspace, mask)
        z = trained.generator(y, m, full, eta).detach().cpu()
        perturbed = kspace + z

        def reconstruct(entry: ModelEntry, other) -> torch.Tensor:
            return other.recon(physics.apply_mask(perturbed, mask), mask)[0].cpu()

        size = tuple(target.shape)
        shown = physics.rss_crop(physics.apply_mask(z, mask), size)[0]
        return Perturbed(reconstruct, shown, label="generator's z (zero-filled)")

    rho = strengths(ev["rho_grid"])
    catalog.add(
        AttackEntry(
            id="huang_liang/generator",
            label="co-trained image generator",
            paper=PAPER,
            domain=knees.id,
            symbol="ρ",
            strengths=rho,
            perturb=generator,
            score=scores,
            applies=lambda entry: "image_generator" in entry.tags,
            requirement="the adversarially trained A(ε) (their generators)",
            fmt="{:.3g}",
        ),
        AttackEntry(
            id="huang_liang/image_pgd",
            label="image PGD",
            paper=PAPER,
            domain=knees.id,
            symbol="ρ",
            strengths=rho,
            perturb=image_pgd,
            score=scores,
            fmt="{:.3g}",
            steps=ev["image_pgd_steps"],
        ),
        AttackEntry(
            id="huang_liang/kspace_generator",
            label="co-trained k-space generator",
            paper=PAPER,
            domain=knees.id,
            symbol="η",
            strengths=strengths(ev["eta_grid"]),
            perturb=kspace_generator,
            score=scores,
            applies=lambda entry: "kspace_generator" in entry.tags,
            requirement="Algorithm 2's K(η) (its generator)",
            fmt="{:.2%}",
        ),
    )
