"""Huang & Liang in the explorer, with untrained networks of the smoke specs (the attacks are
what is tested): the co-trained image generator's δ rescaled to ρ, image PGD as
`attacks.image_pgd`, the k-space generator at η, each added to every shown model's input."""

import dataclasses
import math

import matplotlib
import pytest
import torch

from mrirobust import attacks, physics, zoo
from mrirobust.explorer import Catalog, Explorer, Selection, Unavailable
from mrirobust.models import registry
from mrirobust.papers.huang_liang import experiments, explorer
from mrirobust.papers.huang_liang.profile import EVALUATE

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def knees(smoke_root):
    catalog = Catalog("smoke")
    explorer.register(catalog, samples=2)
    size = zoo.image_size("smoke")
    specs = experiments.model_specs("smoke", kspace=True)
    for model_id, entry in list(catalog.models.items()):
        spec = specs[model_id.removeprefix("huang_liang/")]
        torch.manual_seed(0)
        recon = registry.build(spec, size).eval()
        generator = registry.build_generator(spec, size)
        generator = None if generator is None else generator.eval()
        trained = experiments.Trained(spec, recon, generator, {})
        catalog.models[model_id] = dataclasses.replace(
            entry, load=lambda trained=trained: trained, missing=lambda: None
        )
    return Explorer(catalog), catalog.domains["fastmri_knee_singlecoil"]


def _decoded(recon, y, mask, delta):
    x_hat, mean, std = recon.normalised_input(y, mask)
    return (recon.refine(x_hat + delta) * std + mean)[0]


def test_the_generator_gives_the_direction_and_the_slider_the_size(knees):
    ex, domain = knees
    rho = ex.catalog.attacks["huang_liang/generator"].strengths[-1]
    view = ex.view(
        Selection("huang_liang/A(eps=1000)", "huang_liang/generator", rho, "0", "huang_liang/S")
    )
    delta = view.perturbation
    assert float(torch.linalg.vector_norm(delta)) == pytest.approx(
        rho * math.sqrt(delta.numel()), rel=1e-5
    )
    kspace, mask, _ = domain.load("0")
    y = physics.apply_mask(kspace, mask)
    for row in view.rows:  # each model under the same δ on its own normalised input
        with torch.no_grad():
            expected = _decoded(ex.model(row.model).recon, y, mask, delta[None])
        torch.testing.assert_close(row.attacked, expected)
    with pytest.raises(Unavailable, match="applies to the adversarially trained"):
        ex.check(Selection("huang_liang/S", "huang_liang/generator", rho, "0"))


def test_image_pgd_is_the_library_attack(knees):
    ex, domain = knees
    rho = ex.catalog.attacks["huang_liang/image_pgd"].strengths[-1]
    view = ex.view(Selection("huang_liang/S", "huang_liang/image_pgd", rho, "0"))
    kspace, mask, target = domain.load("0")
    ev = EVALUATE.resolve("smoke")
    result = attacks.image_pgd(
        ex.model("huang_liang/S").recon,
        physics.apply_mask(kspace, mask),
        mask,
        target[None],
        rho=rho,
        steps=ev["image_pgd_steps"],
        seed=ev["seed"],
    )
    torch.testing.assert_close(view.rows[0].attacked, result.reconstruction[0])
    torch.testing.assert_close(view.perturbation, result.perturbation[0])


def test_the_kspace_generator_perturbs_within_its_budget(knees):
    ex, domain = knees
    eta = ex.catalog.attacks["huang_liang/kspace_generator"].strengths[-1]
    view = ex.view(
        Selection(
            "huang_liang/K(eta=0.02)", "huang_liang/kspace_generator", eta, "0", "huang_liang/S"
        )
    )
    kspace, mask, _ = domain.load("0")
    trained = ex.model("huang_liang/K(eta=0.02)")
    with torch.no_grad():
        z = trained.generator(physics.apply_mask(kspace, mask), mask, kspace, eta)
        assert (
            torch.linalg.vector_norm(z, dim=(-2, -1))
            <= eta * torch.linalg.vector_norm(kspace, dim=(-2, -1)) * (1 + 1e-5)
        ).all()
        standard = ex.model("huang_liang/S").recon
        expected = standard(physics.apply_mask(kspace + z, mask), mask)[0]
    torch.testing.assert_close(view.rows[1].attacked, expected)
