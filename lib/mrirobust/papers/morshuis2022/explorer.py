"""`AttackExplorer`: sliders for η, θ, acceleration, model and annotated box; shows the target,
the clean and attacked reconstructions, the perturbation and the region SSIM.

The attack at (θ, η) is `attacks.rotated_pgd`, the composition of both Morshuis attacks: the
acquisition is rotated by θ (eq. 5), then the per-coil k-space PGD (eq. 4) with budget η targets
the (rotated) box; the result is rotated back and scored against the unrotated target. One
batched PGD call covers the whole η grid, and results are cached per (model, acceleration, box,
θ), so moving η is instant and a new θ costs one attack. A sample's slice is read when it is
first attacked; the attack runs on the model's device and the cache holds CPU images.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import torch

from mrirobust import attacks, devices, metrics, physics, plots
from mrirobust.data.samples import stack
from mrirobust.papers.morshuis2022.experiments import pgd_settings
from mrirobust.widgets import figure_png


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
    """Interactive Morshuis-style attacks on `samples` (from `data.samples.annotated_samples`).

    `get_model(method, acceleration)` returns a Reconstructor (e.g. `mrirobust.papers.get_model`
    with the scale bound); `attack` is `profile.attack(scale)` (η grid, PGD settings, angle grid).
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
        """Target, clean reconstruction, and the attacked reconstructions, perturbation images
        and region SSIMs of the whole η grid (cached, on the CPU)."""
        key = (method, acceleration, index, theta)
        if key in self._cache:
            return self._cache[key]
        sample, model = self.samples[index], self.model(method, acceleration)
        kspace, mask, target, boxes = stack([sample], acceleration, self.attack["seed"])
        kspace, mask, target = devices.to_model(model, kspace, mask, target)
        size = tuple(target.shape[-2:])
        etas = list(self.attack["eta_grid"])
        result = attacks.rotated_pgd(
            model,
            kspace,
            mask,
            target,
            angle=theta,
            eta=etas,
            region=boxes,
            **pgd_settings(self.attack),
        )
        attacked = result.reconstruction[:, 0]
        noise = physics.rss_crop(physics.apply_mask(result.perturbation[:, 0], mask), size)
        with torch.no_grad():
            clean = model(physics.apply_mask(kspace, mask), mask)[0]
        ssims = metrics.ssim(target.expand(len(etas), -1, -1), attacked, region=boxes[0])
        images = (target[0], clean, attacked, noise.detach(), ssims)
        self._cache[key] = tuple(x.cpu() for x in images)
        return self._cache[key]

    def view(self) -> AttackView:
        """The current selection's images and scores (computing the attack if not cached)."""
        index, eta = self.sample.value, self.eta.value
        target, clean, attacked, noise, ssims = self._attack_grid(
            self.method.value, self.acceleration.value, index, self.theta.value
        )
        e = list(self.attack["eta_grid"]).index(eta)
        box = self.samples[index].box
        ssim_clean = metrics.ssim(target[None], clean[None], region=box)
        return AttackView(target, clean, attacked[e], noise[e], float(ssim_clean), float(ssims[e]))

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
