import pytest
import torch

from mrirobust import physics
from mrirobust.attacks import small_feature_map
from mrirobust.attacks.small_features import data_maps, feature_kspace

from .conftest import SIZE


def _window(corner=(12, 9), size=3, shape=(32, 32)):
    window = torch.zeros(1, *shape, dtype=torch.bool)
    window[0, corner[0] : corner[0] + size, corner[1] : corner[1] + size] = True
    return window


def _rss(kspace):
    return physics.rss(physics.ifft2c(kspace))


@pytest.mark.parametrize("corner", [(12, 9), (1, 1)])  # inside the object and in the air
def test_replace_fills_the_window_of_the_rss_image_without_coil_maps(data, corner):
    """The data's own maps exist everywhere, so the window of the measured image takes the
    value exactly, also in the background; the rest of k-space's image is unchanged."""
    kspace, window = data["kspace"][0], _window(corner)
    featured = feature_kspace(kspace, window, 2.5, maps=data_maps(kspace))
    image, before = _rss(featured)[0], _rss(kspace[None])[0]
    torch.testing.assert_close(image[window[0]], torch.full((9,), 2.5), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(image[~window[0]], before[~window[0]], rtol=1e-5, atol=1e-6)


def test_replace_with_given_maps_combines_coils_by_least_squares(data):
    """With the true (unnormalised) maps S the window's coil images become S value."""
    kspace, sens, window = data["kspace"][0], data["sens"][0], _window()
    featured = feature_kspace(kspace, window, 2.5, maps=sens)
    coil_images = physics.ifft2c(featured)[0]
    torch.testing.assert_close(
        coil_images[:, window[0]], 2.5 * sens[:, window[0]], rtol=1e-4, atol=1e-5
    )


def test_reference_mode_adds_the_same_bump_to_every_coil(data):
    kspace, window = data["kspace"][0], _window()
    featured = feature_kspace(kspace, window, 0.4, mode="reference")
    bump = physics.ifft2c(featured - kspace)[0]
    torch.testing.assert_close(bump, 0.4 * window.to(bump).expand(4, -1, -1), atol=1e-5, rtol=0)


def test_perfect_reconstruction_has_zero_error_everywhere(zero_filled, data):
    full = torch.ones(1, 1, 1, 32, dtype=torch.bool)
    for mode in ("replace", "reference"):
        res = small_feature_map(
            zero_filled, data["kspace"][0], full, size=3, stride=5, mode=mode, progress=False
        )
        assert res.errors.shape == (5, 5) == (len(res.rows), len(res.cols))
        assert res.rows.tolist() == [0, 5, 10, 15, 20]
        assert res.errors.abs().max() < 1e-8
    target = physics.center_crop(_rss(data["kspace"][:1]), SIZE)
    assert res.value == pytest.approx(target.max().item() / 6)


def test_batched_map_equals_one_position_at_a_time(trained_cnn, data):
    kwargs = {"size": 4, "stride": 6, "progress": False}
    k, mask = data["kspace"][0], data["mask"]
    batched = small_feature_map(trained_cnn, k, mask, batch_size=7, **kwargs)
    single = small_feature_map(trained_cnn, k, mask, batch_size=1, **kwargs)
    torch.testing.assert_close(batched.errors, single.errors, rtol=1e-4, atol=1e-7)
    assert (batched.errors > 0).all()
    assert batched.errors.std() > 0  # the error depends on the location
    target = physics.center_crop(_rss(data["kspace"][:1]), SIZE)
    assert batched.value == pytest.approx(target.max().item())


def test_bad_input_gives_clear_errors(zero_filled, data):
    k, mask = data["kspace"][0], data["mask"]
    with pytest.raises(ValueError, match=r"size must be an integer in \[1, 24\] \(the image is"):
        small_feature_map(zero_filled, k, mask, size=30, progress=False)
    with pytest.raises(ValueError, match="stride must be"):
        small_feature_map(zero_filled, k, mask, size=3, stride=0, progress=False)
    with pytest.raises(ValueError, match="mode must be one of replace, reference"):
        small_feature_map(zero_filled, k, mask, size=3, mode="add", progress=False)
    with pytest.raises(ValueError, match=r"kspace must be one slice's complex k-space \(C, H, W\)"):
        small_feature_map(zero_filled, data["kspace"], mask, size=3, progress=False)
    with pytest.raises(ValueError, match="maps must have the k-space's shape"):
        small_feature_map(zero_filled, k, mask, size=3, maps=data["sens"][0, :2], progress=False)


class Counting(torch.nn.Module):
    """Wraps a reconstructor and counts the slices it reconstructs."""

    def __init__(self, recon):
        super().__init__()
        self.recon, self.image_size, self.calls = recon, recon.image_size, 0

    def forward(self, masked_kspace, mask):
        self.calls += masked_kspace.shape[0]
        return self.recon(masked_kspace, mask)


def test_lattice_map_needs_few_reconstructions_and_agrees_with_single_windows(trained_cnn, data):
    k, mask = data["kspace"][0], data["mask"]
    kwargs = {"size": 3, "stride": 3, "progress": False}
    single, lattice = Counting(trained_cnn), Counting(trained_cnn)
    one = small_feature_map(single, k, mask, **kwargs)
    many = small_feature_map(lattice, k, mask, lattice=(12, 12), **kwargs)
    assert one.errors.shape == many.errors.shape == (8, 8)
    assert single.calls == 64 and lattice.calls == 16
    r = torch.corrcoef(torch.stack([one.errors.flatten(), many.errors.flatten()]))[0, 1]
    assert r > 0.8
    # a lattice wider than the image holds one window per reconstruction: the single map
    wide = small_feature_map(trained_cnn, k, mask, lattice=(24, 24), **kwargs)
    torch.testing.assert_close(wide.errors, one.errors, rtol=1e-4, atol=1e-7)


def test_lattice_bad_input(zero_filled, data):
    k, mask = data["kspace"][0], data["mask"]
    for lattice in ((3, 12), (12, 10), (12,)):
        with pytest.raises(ValueError, match="lattice must be two spacings"):
            small_feature_map(zero_filled, k, mask, size=3, stride=3, lattice=lattice)
