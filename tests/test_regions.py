import pytest
import torch

from mrirobust import regions


def test_box_mask_covers_exactly_the_box():
    mask = regions.box_mask([[2, 1, 3, 2], [0, 0, 1, 1]], (5, 6))
    assert mask.shape == (2, 5, 6)
    assert mask[0].sum() == 6 and mask[0, 1:3, 2:5].all()
    assert mask[1].sum() == 1 and mask[1, 0, 0]


@pytest.mark.parametrize(
    "box, match", [([0, 0, 0, 2], "width >= 1"), ([4, 0, 3, 2], "leave the 5x6 image")]
)
def test_bad_boxes_are_rejected(box, match):
    with pytest.raises(ValueError, match=match):
        regions.box_mask(box, (5, 6))


def test_region_mask_from_none_mask_or_boxes():
    assert regions.as_region_mask(None, 2, (3, 4)).all()
    single = torch.zeros(3, 4, dtype=torch.bool)
    single[1, 1] = True
    assert regions.as_region_mask(single, 2, (3, 4)).sum() == 2
    with pytest.raises(ValueError, match="empty"):
        regions.as_region_mask(torch.zeros(3, 4, dtype=torch.bool), 2, (3, 4))
    assert regions.as_region_mask([1, 1, 2, 2], 2, (3, 4)).sum() == 8
