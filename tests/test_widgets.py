import matplotlib
import pytest

from mrirobust import data
from mrirobust.widgets import VolumeBrowser

PNG = b"\x89PNG\r\n\x1a\n"

matplotlib.use("Agg")


def test_volume_browser_follows_the_sliders_and_draws_pngs():
    boxes = {
        "knee": data.scale_annotations("smoke", "knee"),
        "brain": data.scale_annotations("smoke", "brain"),
    }
    browser = VolumeBrowser(
        "smoke", [("knee", "val"), ("brain", "val"), ("knee_shifted", "train")], boxes
    )
    assert browser.dataset.options == ("knee/val", "brain/val")  # missing sets are left out
    browser.widget()
    first = bytes(browser.image.value)
    assert first.startswith(PNG)
    browser.slice.value = browser.slice.max
    shown = browser.update()
    assert shown.index == browser.slice.max and bytes(browser.image.value) != first
    browser.dataset.value = "brain/val"
    assert browser.update().fname.startswith("file_brain")
    with pytest.raises(ValueError, match="no data sets"):
        VolumeBrowser("smoke", [("knee_shifted", "train")], boxes)
