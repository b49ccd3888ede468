"""ipywidgets explorers (paper-specific explorers live with their paper, e.g.
`mrirobust.papers.morshuis2022.explorer`).

Figures are shown as PNG in an `ipywidgets.Image` (`figure_png`), never through an
`ipywidgets.Output` capture: executing notebooks headless (papermill/nbclient), Output capture
with `clear_output` intermittently left the client waiting forever for the cell's reply.

`VolumeBrowser`: data set, volume and slice sliders over a scale's data, with its boxes.
"""

from __future__ import annotations

import io

import ipywidgets as widgets
import matplotlib.pyplot as plt

from mrirobust import data, plots


def figure_png(fig) -> bytes:
    """The figure as PNG bytes (the figure is closed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


class VolumeBrowser:
    """Browse the volumes and slices of `datasets` = [(anatomy, split), ...] at `scale`, with the
    boxes of `annotations` = {"knee": DataFrame, "brain": DataFrame} drawn on the target."""

    def __init__(self, scale: str, datasets, annotations: dict):
        self.scale, self.annotations = scale, annotations
        options = [f"{a}/{s}" for a, s in datasets if data.split_dir(scale, a, s).is_dir()]
        if not options:
            raise ValueError(f"no data sets of {list(datasets)} exist at scale {scale!r}")
        self.dataset = widgets.Dropdown(options=options, description="data set")
        self.volume = widgets.IntSlider(min=0, description="volume")
        self.slice = widgets.IntSlider(min=0, description="slice")
        self.image = widgets.Image(format="png")
        self.dataset.observe(lambda _: self._limits(), names="value")
        for control in (self.volume, self.slice):
            control.observe(lambda _: self.update(), names="value")
        self._limits()

    def files(self):
        anatomy, split = self.dataset.value.split("/")
        return sorted(data.split_dir(self.scale, anatomy, split).glob("*.h5"))

    def _limits(self):
        files = self.files()
        self.volume.max = len(files) - 1
        self.slice.max = data.fastmri_io.num_slices(files[self.volume.value]) - 1
        self.update()

    def update(self):
        """Redraw the selected slice with its boxes; returns the slice read."""
        path = self.files()[self.volume.value]
        index = min(self.slice.value, data.fastmri_io.num_slices(path) - 1)
        s = data.read_slice(path, index)
        table = self.annotations["brain" if self.dataset.value.startswith("brain") else "knee"]
        title = f"{s.fname} #{s.index} ({s.attrs['acquisition']})"
        fig, (ax,) = plots.image_panels([s.target], [title], size=4)
        plots.draw_boxes(ax, data.slice_rows(table, s.fname, s.index))
        self.image.value = figure_png(fig)
        return s

    def widget(self) -> widgets.Widget:
        return widgets.VBox([self.dataset, self.volume, self.slice, self.image])
