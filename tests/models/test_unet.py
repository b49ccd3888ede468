import pytest
import torch

from mrirobust.models import UNetRecon
from mrirobust.models.unet import build_unet


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_huang_liang_unet_is_the_reference_network():
    with torch.device("meta"):
        unet = build_unet(64, 5, "huang_liang")
    assert count(unet) == 124_375_068  # the reference code's unet_model.py at 64 ch, 5 pools
    kinds = {type(m) for m in unet.modules()}
    assert torch.nn.BatchNorm2d in kinds and torch.nn.PReLU in kinds
    assert torch.nn.InstanceNorm2d not in kinds and torch.nn.LeakyReLU not in kinds
    assert torch.nn.ConvTranspose2d in kinds  # transposed-conv up-sampling


def test_instance_norm_option_and_unknown_variant():
    kinds = {type(m) for m in build_unet(4, 2, "huang_liang_instance").modules()}
    assert torch.nn.InstanceNorm2d in kinds and torch.nn.PReLU in kinds
    assert torch.nn.BatchNorm2d not in kinds
    with pytest.raises(ValueError, match="valid: fastmri, huang_liang, huang_liang_instance"):
        build_unet(4, 2, "bilinear")


def test_decode_of_the_normalised_input_is_the_reconstruction(problem):
    kspace, mask, _ = problem
    torch.manual_seed(0)
    recon = UNetRecon((24, 24), chans=4, num_pools=2, variant="huang_liang").eval()
    batch = torch.cat([kspace, 2 * kspace])
    x_hat, mean, std = recon.normalised_input(batch * mask, mask)
    assert x_hat.shape == (2, 24, 24) and mean.shape == std.shape == (2, 1, 1)
    torch.testing.assert_close(recon.decode(x_hat, mean, std), recon(batch * mask, mask))


def test_batchnorm_training_on_one_image_is_a_clear_error(problem):
    kspace, mask, _ = problem
    recon = UNetRecon((24, 24), chans=4, num_pools=2, variant="huang_liang").train()
    with pytest.raises(ValueError, match="batches of at least 2 images"):
        recon(kspace * mask, mask)
    out = recon(torch.cat([kspace, kspace]) * mask, mask)
    out.sum().backward()
    assert all(p.grad is not None for p in recon.parameters())
