import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from mrirobust import plots


def test_savefig_writes_png_and_pdf(tmp_path, monkeypatch):
    monkeypatch.setenv("MRIROBUST_FIGURES", str(tmp_path))
    plots.setup_style()
    image = torch.rand(16, 16)
    fig, axes = plots.image_panels([image, image * 2j], titles=["a", "b"])
    plots.draw_box(axes[0], (2, 3, 5, 4), label="lesion")
    plots.caption(fig, "smoke", "panel")
    assert fig.texts[-1].get_text() == f"panel: {plots.data_caption('smoke')}"
    png, pdf = plots.savefig(fig, "smoke", "test_panel")
    plt.close(fig)
    assert png == tmp_path / "smoke" / "test_panel.png" and pdf.suffix == ".pdf"
    assert png.read_bytes()[:4] == b"\x89PNG" and pdf.read_bytes()[:4] == b"%PDF"
    rect = axes[0].patches[0]
    assert (rect.get_x(), rect.get_y(), rect.get_width(), rect.get_height()) == (1.5, 2.5, 5, 4)
    rows = pd.DataFrame([dict(x=1, y=1, width=3, height=2, label="Meniscus Tear")])
    plots.draw_boxes(axes[1], rows, label_chars=8)
    assert axes[1].patches[0].get_width() == 3 and axes[1].texts[-1].get_text() == "Meniscus"
    with pytest.raises(ValueError, match="plain stem"):
        plots.savefig(fig, "smoke", "x.png")


def test_zoom_and_captions():
    image = np.arange(100.0).reshape(10, 10)
    crop = plots.zoom(image, (2, 3, 2, 2), margin=1)
    assert crop.shape == (4, 4) and crop[0, 0] == image[2, 1]
    assert plots.zoom(image, (0, 0, 2, 2), margin=3).shape == (5, 5)  # clipped at the border
    assert "not patient data" in plots.data_caption("smoke")
    assert plots.data_caption("paper").startswith("fastMRI")
    with pytest.raises(ValueError, match="2-D"):
        plots.to_numpy(np.zeros((2, 2, 2)))


def test_panels_with_zoom_put_the_zoomed_box_under_each_image():
    images = [torch.rand(20, 30), torch.rand(20, 30)]
    fig, axes = plots.panels_with_zoom(images, ["a", "b"], box=(4, 5, 6, 3), margin=2)
    assert len(axes) == 4 and [ax.get_title() for ax in axes] == ["a", "b", "", ""]
    assert all(len(ax.patches) == 1 for ax in axes[:2]) and not axes[2].patches
    assert axes[2].images[0].get_array().shape == (3 + 2 * 2, 6 + 2 * 2)
    plt.close(fig)


def test_mark_vline_marks_inside_and_notes_outside_the_axis():
    fig, ax = plt.subplots()
    ax.set_xlim(0, 2)
    plots.mark_vline(ax, 1.0, "noise")
    assert len(ax.lines) == 1 and ax.texts[-1].get_text() == " noise"
    plots.mark_vline(ax, 5.0, "noise")
    assert len(ax.lines) == 1 and ax.texts[-1].get_text() == "noise: 5.0 →"
    plt.close(fig)
