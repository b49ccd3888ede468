import math

import pytest
import torch

from mrirobust import metrics
from mrirobust.attacks import image_pgd
from mrirobust.models import UNetRecon
from mrirobust.models.unet import normalise_target

from .conftest import SIZE, column_mask, synthetic


@pytest.fixture
def unet_problem():
    torch.manual_seed(0)
    recon = UNetRecon(SIZE, chans=4, num_pools=2, variant="huang_liang").eval()
    kspace, target, _, _ = synthetic(3, seed=5)
    mask = column_mask()
    return recon, kspace * mask, mask, target


def test_image_pgd_respects_the_budget_and_rho0_is_clean(unet_problem):
    recon, y, mask, target = unet_problem
    result = image_pgd(recon, y, mask, target, rho=[0.0, 0.1, 0.3], steps=3)
    assert result.perturbation.shape == (3, 3, *SIZE) and result.losses.shape == (4, 3, 3)
    norms = torch.linalg.vector_norm(result.perturbation, dim=(-2, -1))
    radius = torch.tensor([0.0, 0.1, 0.3]).view(3, 1) * math.sqrt(SIZE[0] * SIZE[1])
    assert (norms <= radius * (1 + 1e-5) + 1e-12).all()
    with torch.no_grad():
        clean = recon(y, mask)
    torch.testing.assert_close(result.reconstruction[0], clean)


def test_image_pgd_is_stronger_than_random_noise_of_the_same_norm(unet_problem):
    recon, y, mask, target = unet_problem
    result = image_pgd(recon, y, mask, target, rho=0.2, steps=5, seed=1)
    assert (result.final_loss >= result.losses[0] - 1e-6).all()
    with torch.no_grad():
        x_hat, mean, std = recon.normalised_input(y, mask)
        t_hat = normalise_target(target, mean, std)
        noise = torch.randn(x_hat.shape, generator=torch.Generator().manual_seed(9))
        noise = noise / torch.linalg.vector_norm(noise, dim=(-2, -1), keepdim=True)
        noise = noise * 0.2 * math.sqrt(SIZE[0] * SIZE[1])
        random = metrics.dssim(t_hat, recon.refine(x_hat + noise))
    assert (result.final_loss > random).all()


def test_image_pgd_needs_a_unet_in_eval_mode(unet_problem):
    recon, y, mask, target = unet_problem
    with pytest.raises(ValueError, match="UNetRecon in eval mode"):
        image_pgd(recon.train(), y, mask, target, rho=0.1)
    with pytest.raises(ValueError, match="rho must be a finite number >= 0"):
        image_pgd(recon.eval(), y, mask, target, rho=-0.1)
