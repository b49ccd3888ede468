"""Zhao 2023 Fig. 2: its panels on a constructed slice and the figure on constructed arrays."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mrirobust import physics, tables  # noqa: E402
from mrirobust.models.qmri import MappingNet  # noqa: E402
from mrirobust.papers.zhao2023 import data, experiments, figures, training  # noqa: E402

TIMES = [100.0, 180.0, 260.0, 1245.0, 1323.0, 1340.0, 2395.0, 2450.0, 3550.0]


def _slice() -> data.SeriesSlice:
    """A MOLLI slice `(9 frames, 2 coils, 24, 18)`: a disc of T1 900 ms (A 1, B 2) in air."""
    h, w = 24, 18
    u, v = torch.meshgrid(torch.arange(h) - h / 2, torch.arange(w) - w / 2, indexing="ij")
    disc = (u**2 + v**2 < 36).double()
    times = torch.tensor(TIMES)
    frames = (1 - 2 * torch.exp(-times / 900).view(-1, 1, 1)).abs() * disc
    coils = torch.stack([frames, 0.5 * frames], dim=1).to(torch.complex64)
    masks = {r: torch.zeros(w).index_fill(0, torch.arange(0, w, r // 2), 1) for r in (4, 8)}
    return data.SeriesSlice(physics.fft2c(coils), times, masks, "P001", 0, 1, h)


def test_fig2_panels_store_the_mapper_and_the_fit_per_reconstruction():
    s = _slice()
    torch.manual_seed(0)
    mapper = MappingNet("T1", 9, 4, 1).eval()
    panels = experiments.fig2_panels(None, mapper, s, "T1map", [4, 8])
    crop = data.eval_crop(s.readout, s.kspace.shape[-1])
    for column in ("full", "R4", "R8"):
        for kind in ("first", "last", "mapper", "fit"):
            assert panels[f"T1map_{column}_{kind}"].shape == crop
        mapped, fit = panels[f"T1map_{column}_mapper"], panels[f"T1map_{column}_fit"]
        assert np.isfinite(mapped).all() and (mapped[fit == 0] == 0).all()  # 0 on the fit's air
    # the fully sampled column is the reference: M and the fit of the fully sampled frames
    full = experiments.mapper_map(mapper, s, training.frames_of(s.kspace)).numpy()
    region = panels["T1map_region"]
    assert region.any() and region.dtype == bool
    np.testing.assert_allclose(panels["T1map_full_mapper"][region], full[region], rtol=1e-6)
    np.testing.assert_allclose(panels["T1map_full_fit"][region], 900, rtol=0.02)


def test_fig2_draws_the_mapper_row_beside_the_fit_from_the_stored_arrays(tmp_path, monkeypatch):
    monkeypatch.setenv("MRIROBUST_FIGURES", str(tmp_path / "figures"))
    g = np.random.default_rng(0)
    panels = {}
    for modality, frames in (("T1map", 9), ("T2map", 3)):
        for column in ("full", "R4", "R8"):
            for kind in ("first", "last", "mapper", "fit"):
                panels[f"{modality}_{column}_{kind}"] = g.random((6, 5)).astype(np.float32)
        panels[f"{modality}_times_ms"] = np.arange(frames, dtype=np.float32)
    tables.save_images(tmp_path, "fig2_images", panels)
    fig = figures.fig2(tmp_path, "smoke", [4, 8])
    images = [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]
    assert len(images) == 2 * 4 * 3  # (first, last, mapper, fit) per modality x 3 columns
    by_row = {ax.get_ylabel(): ax for ax in images[::3]}
    assert list(by_row) == [
        "shortest TI",
        "longest TI",
        "T1 map (M, ms)",
        "T1 map (fit, ms)",
        "shortest TE",
        "longest TE",
        "T2 map (M, ms)",
        "T2 map (fit, ms)",
    ]
    shown = {(2, 0): "T1map_full_mapper", (3, 2): "T1map_R8_fit", (6, 1): "T2map_R4_mapper"}
    for (row, column), key in shown.items():
        image = images[3 * row + column].images[0].get_array()
        np.testing.assert_array_equal(image, panels[key].T)
    assert (tmp_path / "figures" / "smoke" / "zhao2023_fig2.png").is_file()
