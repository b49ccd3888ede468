import pytest
import torch

from mrirobust import physics
from mrirobust.models.qmri import (
    MappingNet,
    MapView,
    SeriesReconstructor,
    UnrolledSeriesNet,
    relax_loss,
    series_loss,
)

T, C, H, W = 3, 2, 32, 24
TIMES = torch.tensor([[0.0, 35.0, 55.0]])


def series(seed=0):
    """Random series k-space (1, T, C, H, W) and a CMRxRecon-style column mask (1, 1, 1, W)."""
    g = torch.Generator().manual_seed(seed)
    kspace = torch.randn(1, T, C, H, W, 2, generator=g)
    mask = torch.zeros(W, dtype=torch.bool)
    mask[::4] = True
    mask[W // 2 - 4 : W // 2 + 4] = True
    return torch.view_as_complex(kspace) * mask, mask.view(1, 1, 1, W)


def net(regulariser, steps=2):
    torch.manual_seed(0)
    return UnrolledSeriesNet(T, steps, 4, 1, 2, 1, regulariser=regulariser)


@pytest.mark.parametrize("regulariser", ["unet", "gru"])
def test_series_nets_give_frames_and_gradients(regulariser):
    kspace, mask = series()
    model = net(regulariser)
    kspace.requires_grad_(True)
    frames = model(kspace, mask)
    assert frames.shape == (1, T, H, W) and (frames >= 0).all()
    frames.sum().backward()
    assert torch.isfinite(kspace.grad).all() and kspace.grad.abs().sum() > 0
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert model.alphas.grad.abs().sum() > 0


def test_zero_steps_is_the_zero_filled_reconstruction():
    kspace, mask = series()
    frames = net("unet", steps=0)(kspace, mask)
    torch.testing.assert_close(frames, physics.rss(physics.ifft2c(kspace), dim=2))


def test_coil_maps_have_unit_rss():
    kspace, mask = series()
    model = net("unet")
    columns = mask.unsqueeze(1)
    maps = model.sensitivity(kspace, columns)
    assert maps.shape == kspace.shape
    torch.testing.assert_close(physics.rss(maps, dim=2), torch.ones(1, T, H, W))


def test_series_reconstructor_follows_the_interface():
    kspace, mask = series()
    recon = SeriesReconstructor((16, 12), net("unet"))
    flat = kspace.flatten(1, 2)
    out = recon(flat, mask)
    assert out.shape == (1, 16, T * 12) and recon.image_size == (16, T * 12)
    frames = recon.frames(flat, mask)
    torch.testing.assert_close(out[..., 12:24], frames[:, 1])


def test_bad_series_inputs_are_named():
    kspace, mask = series()
    with pytest.raises(ValueError, match=r"T=3"):
        net("unet")(kspace[:, :2], mask)
    per_weighting = torch.ones(1, T, 1, 1, W, dtype=torch.bool)
    per_weighting[:, 0, ..., 1] = False
    with pytest.raises(ValueError, match="same phase-encoding columns"):
        net("unet")(kspace, per_weighting)
    with pytest.raises(ValueError, match="regulariser"):
        UnrolledSeriesNet(T, 1, 4, 1, 2, 1, regulariser="cnn")


def t2_truth():
    """A T2 map (ms) varying from 22.5 to 67.5 ms across a 16 x 16 image."""
    return 45.0 * (1 + 0.5 * torch.linspace(-1, 1, 16)).expand(16, 16)


def t2_frames():
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 16), torch.linspace(-1, 1, 16), indexing="ij")
    amplitude = ((xx**2 + yy**2) < 0.6).float()
    return amplitude * torch.exp(-TIMES.view(1, T, 1, 1) / t2_truth())


def test_mapping_net_heads_and_unsupervised_training():
    torch.manual_seed(0)
    t1net = MappingNet("T1", 9, 8, 1)
    frames = torch.rand(2, 9, 16, 16)
    maps = t1net(frames, torch.linspace(100, 3500, 9).expand(2, 9))
    p = maps.params
    assert maps.signal.shape == frames.shape and maps.relaxation_ms.shape == (2, 16, 16)
    assert (p["k"] >= 1).all() and (p["t1star"] > 0).all() and (p["A"] >= 0).all()
    torch.testing.assert_close(maps.relaxation_ms, 1000 * (p["k"] - 1) * p["t1star"])

    # unsupervised: fitting the signal model to the frames teaches M the T2 map
    mapper = MappingNet("T2", T, 8, 1)
    frames = t2_frames()
    optimiser = torch.optim.Adam(mapper.parameters(), lr=1e-2)
    losses = []
    for _ in range(120):
        loss = relax_loss(mapper(frames, TIMES), frames)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
    disc = frames[0, 0] > 0
    error = mapper(frames, TIMES).relaxation_ms[0] / t2_truth() - 1
    assert error[disc].abs().median() < 0.1


def test_series_loss_is_eq13():
    frames = t2_frames()
    mapper = MappingNet("T2", T, 8, 1)
    total, parts = series_loss(frames, frames, TIMES, mapper)
    assert parts["l1"] == 0 and parts["map"] == 0 and abs(parts["ssim"]) < 1e-6
    assert total.item() == pytest.approx(0.01 * parts["relax"].item(), abs=1e-6)
    noisy = (frames + 0.05 * torch.rand_like(frames)).requires_grad_(True)
    total, parts = series_loss(noisy, frames, TIMES, mapper)
    expected = 0.2 * parts["l1"] + 0.8 * parts["ssim"] + 0.01 * parts["relax"] + 0.1 * parts["map"]
    torch.testing.assert_close(total, expected)
    total.backward()
    assert torch.isfinite(noisy.grad).all()
    image_only, parts = series_loss(noisy, frames)
    assert set(parts) == {"l1", "ssim"}


def test_map_view_gives_a_differentiable_map():
    kspace, mask = series()
    recon = SeriesReconstructor((16, 12), net("unet"))
    view = MapView(recon, "T2", TIMES)
    flat = (kspace * 100).flatten(1, 2).requires_grad_(True)
    out = view(flat, mask)
    assert out.shape == (1, 16, 12) and torch.isfinite(out).all()
    out.sum().backward()
    assert torch.isfinite(flat.grad).all() and flat.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="modality"):
        MapView(recon, "T3", TIMES)
