"""ipywidgets explorers.

Figures are shown as PNG in an `ipywidgets.Image`, never through an `ipywidgets.Output`
capture: executing notebooks headless (papermill/nbclient), Output capture with
`clear_output` intermittently left the client waiting forever for the cell's reply.

`VolumeBrowser`: data set, volume and slice sliders over a scale's data, with its boxes.

`AttackExplorer`: sliders for η, θ, acceleration, model and annotated box; shows the target,
the clean and attacked reconstructions, the perturbation and the region SSIM. The attack at
(θ, η) is the composition of both Morshuis attacks: the acquisition is rotated by θ (eq. 5),
then the per-coil k-space PGD (eq. 4) with budget η targets the (rotated) box; the result is
rotated back and scored against the unrotated target. One batched PGD call covers the whole η
grid, and results are cached per (model, acceleration, box, θ), so moving η is instant and a
new θ costs one attack.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch

from mrirobust import attacks, data, metrics, physics, plots, regions
from mrirobust.papers import morshuis2022 as m


def figure_png(fig) -> bytes:
    """The figure as PNG bytes (the figure is closed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


@dataclass
class AttackView:
    """Images `(h, w)` and region SSIMs of one (model, acceleration, box, θ, η)."""

    target: torch.Tensor
    clean: torch.Tensor
    attacked: torch.Tensor
    perturbation: torch.Tensor
    ssim_clean: float
    ssim_attacked: float


class AttackExplorer:
    """Interactive Morshuis-style attacks on `samples` (from `morshuis2022.annotated_samples`).

    `get_model(method, acceleration)` returns a Reconstructor (e.g. `mrirobust.models.get` with
    the scale bound); `attack` is the scale profile's attack section (η grid, PGD settings,
    angle grid).
    """

    def __init__(self, samples, methods, accelerations, get_model, attack: dict, scale: str):
        if not samples:
            raise ValueError("AttackExplorer needs at least one annotated sample")
        self.samples, self.attack, self.scale = list(samples), attack, scale
        self._get_model, self._models, self._cache = get_model, {}, {}
        angles = attacks.angle_grid(attack["angle_max"], attack["angle_step"]).tolist()
        self.method = widgets.Dropdown(options=list(methods), description="model")
        self.acceleration = widgets.ToggleButtons(
            options=[(f"{a}×", a) for a in accelerations], description="acceleration"
        )
        self.sample = widgets.Dropdown(
            options=[(f"{s.sample_id} — {s.label}", i) for i, s in enumerate(self.samples)],
            description="slice/box",
            layout=widgets.Layout(width="95%"),
        )
        self.eta = widgets.SelectionSlider(
            options=[(f"{100 * e:g} %", e) for e in attack["eta_grid"]], description="η"
        )
        self.theta = widgets.SelectionSlider(
            options=[(f"{a:+g}°", a) for a in angles], value=0.0, description="θ"
        )
        self.status = widgets.HTML()
        self.image = widgets.Image(format="png")
        self.controls = [self.method, self.acceleration, self.sample, self.eta, self.theta]
        for control in self.controls:
            control.observe(lambda _: self.update(), names="value")

    def model(self, method: str, acceleration: int):
        key = (method, acceleration)
        if key not in self._models:
            self._models[key] = self._get_model(method, acceleration)
        return self._models[key]

    def _attack_grid(self, method, acceleration, index, theta):
        """Attacked reconstructions and perturbation images for the whole η grid (cached)."""
        key = (method, acceleration, index, theta)
        if key in self._cache:
            return self._cache[key]
        sample, model = self.samples[index], self.model(method, acceleration)
        kspace, mask, target, boxes = m.stack([sample], acceleration, self.attack["seed"])
        size = tuple(target.shape[-2:])

        def rotate(x, sign=1):  # θ = 0 is no rotation at all, not an interpolation round trip
            return x if theta == 0 else physics.rotate(x, sign * float(theta))

        rotated = physics.rotate_kspace(kspace, float(theta))
        region = rotate(regions.box_mask(boxes, size).float()) > 0.5
        etas = list(self.attack["eta_grid"])
        result = m.pgd(
            model,
            rotated,
            mask,
            rotate(target),
            region,
            eta=etas,
            mode="region",
            attack=self.attack,
        )
        attacked = rotate(result.reconstruction.detach()[:, 0], -1)
        noise = physics.rss_crop(physics.apply_mask(result.perturbation[:, 0], mask), size)
        with torch.no_grad():
            clean = model(physics.apply_mask(kspace, mask), mask)[0]
        ssims = metrics.ssim(target.expand(len(etas), -1, -1), attacked, region=boxes[0])
        self._cache[key] = (clean, attacked, noise.detach(), ssims)
        return self._cache[key]

    def view(self) -> AttackView:
        """The current selection's images and scores (computing the attack if not cached)."""
        index, eta = self.sample.value, self.eta.value
        clean, attacked, noise, ssims = self._attack_grid(
            self.method.value, self.acceleration.value, index, self.theta.value
        )
        e = list(self.attack["eta_grid"]).index(eta)
        sample = self.samples[index]
        ssim_clean = metrics.ssim(sample.target[None], clean[None], region=sample.box)
        return AttackView(
            sample.target, clean, attacked[e], noise[e], float(ssim_clean), float(ssims[e])
        )

    def figure(self, view: AttackView):
        sample = self.samples[self.sample.value]
        titles = [
            "fully sampled",
            f"clean\nregion SSIM {view.ssim_clean:.3f}",
            f"attacked (η {100 * self.eta.value:g} %, θ {self.theta.value:+g}°)\n"
            f"region SSIM {view.ssim_attacked:.3f}",
            "perturbation (zero-filled)",
        ]
        images = [view.target, view.clean, view.attacked, view.perturbation]
        vmax = float(torch.quantile(view.target.flatten(), 0.995))
        fig, axes = plots.image_panels(images, titles, size=2.6)
        for ax in axes[:3]:  # one grey scale for the images; the perturbation has its own
            ax.images[0].set_clim(0, vmax)
            plots.draw_box(ax, sample.box)
        fig.suptitle(
            f"{self.method.value}, {self.acceleration.value}× — {plots.data_caption(self.scale)}",
            fontsize=8,
        )
        fig.tight_layout()
        return fig

    def update(self) -> AttackView:
        key = (self.method.value, self.acceleration.value, self.sample.value, self.theta.value)
        if key not in self._cache:
            self.status.value = "<i>computing the attack for this model, box and θ …</i>"
        view = self.view()
        self.status.value = (
            f"region SSIM: clean {view.ssim_clean:.3f} → attacked {view.ssim_attacked:.3f}"
        )
        self.image.value = figure_png(self.figure(view))
        return view

    def widget(self) -> widgets.Widget:
        """The explorer's controls, status line and figure, rendered once."""
        self.update()
        return widgets.VBox([*self.controls, self.status, self.image])


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
