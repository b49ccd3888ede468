from types import SimpleNamespace

import pytest
import torch

from mrirobust import standin
from mrirobust.models.generator import ImageGenerator, KSpaceGenerator


def convt_layers(g):
    return [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]


def test_reference_generator_at_320():
    with torch.device("meta"):
        g = ImageGenerator(320)
    layers = convt_layers(g)
    assert len(layers) == 7 and layers[0].out_channels == 2048 and layers[0].kernel_size == (5, 5)
    assert [m.out_channels for m in layers[1:]] == [1024, 512, 256, 128, 64, 1]
    assert sum(p.numel() for p in g.parameters()) == 49_824_646


@pytest.mark.parametrize("size, layers", [(64, 5), (128, 6)])
def test_small_generators_fill_the_image_in_minus_one_to_one(size, layers):
    torch.manual_seed(0)
    g = ImageGenerator(size, ngf=4)
    assert len(convt_layers(g)) == layers
    z = g.sample_latent(3, torch.Generator().manual_seed(1))
    assert z.shape == (3, 100, 1, 1) and z.abs().max() < 0.01  # latent scaled by 1e-3
    delta = g(z)
    assert delta.shape == (3, size, size) and delta.abs().max() <= 1
    delta.sum().backward()
    assert all(p.grad is not None for p in g.parameters())
    torch.testing.assert_close(z, g.sample_latent(3, torch.Generator().manual_seed(1)))


def test_generator_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match=r"square image size.*\(128, 96\)"):
        ImageGenerator((128, 96))
    with pytest.raises(ValueError, match="square image size"):
        ImageGenerator(6)
    g = ImageGenerator(64, ngf=2)
    with pytest.raises(ValueError, match="batches of at least 2 latents"):
        g(g.sample_latent(1, torch.Generator().manual_seed(0)))
    with pytest.raises(ValueError, match=r"latent must have shape \(B, 100, 1, 1\)"):
        g(torch.zeros(2, 10, 1, 1))


def kspace_problem(coils=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    shape = (2, coils, 32, 24)
    kspace = torch.complex(torch.randn(shape, generator=g), torch.randn(shape, generator=g))
    kspace = kspace * torch.linspace(0.1, 3, coils).view(1, coils, 1, 1)  # unequal coil norms
    mask = torch.zeros(1, 1, 1, 24, dtype=torch.bool)
    mask[..., ::3] = True
    return kspace, mask


@pytest.mark.parametrize("budget", ["per_coil", "total"])
def test_kspace_generator_stays_on_sampled_columns_within_budget(budget):
    torch.manual_seed(0)
    kspace, mask = kspace_problem()
    gen = KSpaceGenerator(coils=4, chans=2, num_pools=2, budget=budget)
    z = gen(kspace * mask, mask, kspace, 0.05)
    assert z.shape == kspace.shape and z.is_complex()
    assert (z[..., ~mask.view(-1)] == 0).all()
    dims = (-2, -1) if budget == "per_coil" else (1, 2, 3)
    norms = torch.linalg.vector_norm(z, dim=dims)
    radius = 0.05 * torch.linalg.vector_norm(kspace, dim=dims)
    assert (norms <= radius * (1 + 1e-5)).all()
    # the raw output is far larger than the budget, so the projection puts it on the sphere
    torch.testing.assert_close(norms, radius, rtol=1e-4, atol=0)
    z.abs().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in gen.parameters())


def test_kspace_generator_per_coil_ball_differs_from_the_total_ball():
    torch.manual_seed(0)
    kspace, mask = kspace_problem()
    gen = KSpaceGenerator(coils=4, chans=2, num_pools=2, budget="total")
    z = gen(kspace * mask, mask, kspace, 0.05)
    share = torch.linalg.vector_norm(z, dim=(-2, -1)) / torch.linalg.vector_norm(
        kspace, dim=(-2, -1)
    )
    assert (share > 0.05 * 1.01).any()  # the total ball lets weak coils take more than eta


def test_kspace_generator_bad_inputs_are_clear_errors():
    kspace, mask = kspace_problem()
    gen = KSpaceGenerator(coils=4, chans=2, num_pools=2)
    with pytest.raises(ValueError, match="eta must be a finite number >= 0"):
        gen(kspace * mask, mask, kspace, -0.1)
    with pytest.raises(ValueError, match=r"must both be \(B, 4, H, W\)"):
        gen(kspace[:, :2] * mask, mask, kspace[:, :2], 0.1)
    with pytest.raises(ValueError, match="valid: per_coil, total"):
        KSpaceGenerator(coils=4, chans=2, num_pools=2, budget="pixel")


def test_calibration_makes_eval_mode_match_the_batch_statistics():
    torch.manual_seed(0)
    g = ImageGenerator(64, ngf=4)
    z = g.sample_latent(8, torch.Generator().manual_seed(0))
    with torch.no_grad():
        batch_mode = g.train()(z)
        stale = g.eval()(z)  # running statistics at their initial values: δ shrinks to ~0
        g.calibrate(20, 8, torch.Generator().manual_seed(1))
        calibrated = g(z)
    assert not g.training
    norm = torch.linalg.vector_norm
    assert norm(stale) < 0.5 * norm(batch_mode)
    assert norm(calibrated - batch_mode) < 0.2 * norm(batch_mode)


def test_latents_are_the_same_on_every_device_and_drawn_on_the_cpu():
    torch.manual_seed(0)
    g = ImageGenerator(64, ngf=2)
    on_cpu = g.sample_latent(3, torch.Generator().manual_seed(4))
    with standin.active() as device:
        elsewhere = g.to(device).sample_latent(3, torch.Generator().manual_seed(4))
        assert elsewhere.device == device
        torch.testing.assert_close(elsewhere.cpu(), on_cpu, rtol=0, atol=0)
    cuda = SimpleNamespace(device=torch.device("cuda", 0))  # a CUDA generator's device
    with pytest.raises(ValueError, match="drawn from a CPU torch.Generator"):
        g.sample_latent(3, cuda)


@pytest.mark.parametrize("width", [368, 372])
def test_kspace_generator_output_has_each_real_widths_shape(width):
    """fastMRI single-coil knee k-space is 640 x 368 or 640 x 372; 372 is not a multiple of 2^4."""
    torch.manual_seed(0)
    kspace = torch.randn(2, 1, 640, width, dtype=torch.complex64)
    mask = torch.zeros(1, 1, 1, width, dtype=torch.bool)
    mask[..., ::4] = True
    gen = KSpaceGenerator(coils=1, chans=2, num_pools=4)
    assert gen(kspace * mask, mask, kspace, 0.02).shape == kspace.shape
