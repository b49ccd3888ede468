import pytest
import torch

from mrirobust.attacks import small_feature_map


def _inputs(data):
    return data["image"][0], data["sens"][0]


def test_perfect_reconstruction_has_zero_error_everywhere(zero_filled, data):
    image, sens = _inputs(data)
    full = torch.ones(1, 1, 1, 32, dtype=torch.bool)
    res = small_feature_map(zero_filled, image, sens, full, size=3, stride=5, progress=False)
    assert res.errors.shape == (5, 5) == (len(res.rows), len(res.cols))
    assert res.rows.tolist() == [0, 5, 10, 15, 20]
    assert res.errors.abs().max() < 1e-8


def test_batched_map_equals_one_position_at_a_time(trained_cnn, data):
    image, sens = _inputs(data)
    kwargs = {"size": 4, "stride": 6, "progress": False}
    batched = small_feature_map(trained_cnn, image, sens, data["mask"], batch_size=7, **kwargs)
    single = small_feature_map(trained_cnn, image, sens, data["mask"], batch_size=1, **kwargs)
    torch.testing.assert_close(batched.errors, single.errors, rtol=1e-4, atol=1e-7)
    assert (batched.errors > 0).all()
    assert batched.errors.std() > 0  # the error depends on the location


def test_bad_input_gives_clear_errors(zero_filled, data):
    image, sens = _inputs(data)
    with pytest.raises(ValueError, match=r"size must be an integer in \[1, 24\]"):
        small_feature_map(zero_filled, image, sens, data["mask"], size=30, progress=False)
    with pytest.raises(ValueError, match="stride must be"):
        small_feature_map(zero_filled, image, sens, data["mask"], size=3, stride=0, progress=False)
    with pytest.raises(ValueError, match="same H, W"):
        small_feature_map(zero_filled, image[:, :-1], sens, data["mask"], size=3, progress=False)
