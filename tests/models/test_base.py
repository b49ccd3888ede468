import pytest
import torch

from mrirobust import physics
from mrirobust.models.base import ZeroFilled


def test_zero_filled_matches_rss_of_masked_kspace():
    g = torch.Generator().manual_seed(0)
    kspace = torch.complex(
        torch.randn(2, 3, 16, 12, generator=g), torch.randn(2, 3, 16, 12, generator=g)
    )
    mask = torch.zeros(1, 1, 1, 12, dtype=torch.bool)
    mask[..., ::2] = True
    out = ZeroFilled((8, 8))(kspace * mask, mask)
    expected = physics.center_crop(physics.rss(physics.ifft2c(kspace * mask)), (8, 8))
    assert out.shape == (2, 8, 8)
    torch.testing.assert_close(out, expected)


def test_reconstructor_rejects_real_kspace_and_bad_masks():
    recon = ZeroFilled((4, 4))
    with pytest.raises(ValueError, match="masked_kspace must be a complex"):
        recon(torch.zeros(1, 2, 8, 8), torch.ones(1, 1, 1, 8, dtype=torch.bool))
    with pytest.raises(ValueError, match="does not broadcast"):
        recon(
            torch.zeros(1, 2, 8, 8, dtype=torch.complex64), torch.ones(1, 1, 1, 7, dtype=torch.bool)
        )
