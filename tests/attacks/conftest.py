"""Synthetic multi-coil data, a tiny trained CNN and a toy un-trained method for attack tests."""

import pytest
import torch
import torch.nn.functional as F

from mrirobust import physics
from mrirobust.models.base import Reconstructor, ZeroFilled

H = W = 32
SIZE = (24, 24)
COILS = 4


def smooth(shape, seed, scale=4):
    """Smooth random field: bicubic upsampling of coarse noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randn(shape[0], 1, shape[-2] // scale, shape[-1] // scale, generator=g)
    return F.interpolate(coarse, size=shape[-2:], mode="bicubic", align_corners=False)[:, 0]


def synthetic(batch, seed):
    """(kspace (B, C, H, W) complex64, target RSS (B, h, w), coil maps, complex image)."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, H), torch.linspace(-1, 1, W), indexing="ij")
    support = ((ys / 0.8) ** 2 + (xs / 0.7) ** 2 < 1).float()
    image = (1.5 + smooth((batch, H, W), seed)).clamp_min(0.1) * support
    image = image * torch.exp(0.3j * smooth((batch, H, W), seed + 1))
    centres = torch.linspace(-1, 1, COILS)
    sens = torch.stack([torch.exp(-((xs - c) ** 2 + ys**2)) for c in centres]).to(torch.complex64)
    sens = sens.unsqueeze(0).expand(batch, -1, -1, -1)
    kspace = physics.sens_expand(image.to(torch.complex64), sens)
    target = physics.rss_crop(kspace, SIZE)
    return kspace, target, sens, image


def column_mask():
    return physics.column_mask(W, 4, 0.16, seed=3).view(1, 1, 1, W)


class TinyCNN(Reconstructor):
    """Zero-filled RSS refined by a small residual CNN."""

    def __init__(self):
        super().__init__(SIZE)
        self.net = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(8, 1, 3, padding=1),
        )

    def reconstruct(self, masked_kspace, mask):
        x = physics.rss_crop(physics.apply_mask(masked_kspace, mask), SIZE).unsqueeze(1)
        return (x + self.net(x)).squeeze(1)


class ToyUntrained(Reconstructor):
    """Un-trained toy method: fit coil images x to y by Adam on
    L(x, y) = 1/2 ||M F x - y||^2 + lam ||grad x||^2; image = crop(RSS(F^-1(M y + (1-M) F x)))
    (data consistency with the y given to init_state, as ConvDecoder does)."""

    def __init__(self, iterations=30, lam=0.05):
        super().__init__(SIZE)
        self.iterations, self.lam = iterations, lam

    def init_state(self, masked_kspace, mask):
        state = torch.nn.Module()
        y = physics.apply_mask(masked_kspace, mask)
        state.x = torch.nn.Parameter(physics.ifft2c(y.detach()))
        state.y, state.mask = y, mask
        return state

    def objective(self, state, masked_kspace, mask):
        residual = physics.apply_mask(physics.fft2c(state.x) - masked_kspace, mask)
        dx = state.x.diff(dim=-1).abs() ** 2
        dy = state.x.diff(dim=-2).abs() ** 2
        smooth_term = dx.sum(dim=(1, 2, 3)) + dy.sum(dim=(1, 2, 3))
        return 0.5 * (residual.abs() ** 2).sum(dim=(1, 2, 3)) + self.lam * smooth_term

    def render(self, state):
        kspace = torch.where(state.mask, state.y, physics.fft2c(state.x))
        return physics.rss_crop(kspace, SIZE)

    def optimiser(self, state):
        return torch.optim.Adam([state.x], lr=0.05)

    def reconstruct(self, masked_kspace, mask):
        state = self.init_state(masked_kspace, mask)
        opt = self.optimiser(state)
        with torch.enable_grad():
            for _ in range(self.iterations):
                opt.zero_grad()
                self.objective(state, masked_kspace.detach(), mask).sum().backward()
                opt.step()
        return self.render(state)


@pytest.fixture(scope="session")
def data():
    kspace, target, sens, image = synthetic(2, seed=10)
    return {"kspace": kspace, "target": target, "sens": sens, "image": image, "mask": column_mask()}


@pytest.fixture(scope="session")
def trained_cnn():
    torch.manual_seed(0)
    model = TinyCNN()
    kspace, target, _, _ = synthetic(8, seed=100)
    mask = column_mask()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        opt.zero_grad()
        F.mse_loss(model(physics.apply_mask(kspace, mask), mask), target).backward()
        opt.step()
    return model.eval()


@pytest.fixture
def zero_filled():
    return ZeroFilled(SIZE)


@pytest.fixture
def toy_untrained():
    return ToyUntrained()
