"""Fig. 1–5 of Morshuis et al. 2022, drawn only from the files a run stored in its results
folder `out` (`results/<scale>/<run-id>/`) and saved to `figures/<scale>/`. Each function
returns the figure(s) it saved."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from mrirobust import plots, tables

ETA_LABEL = "η (% of each coil's k-space norm)"
REGION_SSIM = "SSIM in annotated region"


def _vmax(target: np.ndarray) -> float:
    return float(np.percentile(target, 99.5))


def _zoomed_panels(images, keys, titles, box, zoom_margin, scale, name, title):
    """`plots.panels_with_zoom` of the stored `images[keys]` (grey scale up to the target's
    99.5th percentile), titled and saved."""
    fig, _ = plots.panels_with_zoom(
        [images[k] for k in keys], titles, box, zoom_margin, _vmax(images["target"])
    )
    return _finish(fig, scale, name, title)


def _finish(fig, scale: str, name: str, title: str):
    """Title `fig`, lay it out and save it as figures/<scale>/<name>.png/.pdf."""
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    plots.savefig(fig, scale, name)
    return fig


def fig1(out: Path, scale: str, compare_accelerations: Sequence[int], seed: int = 0):
    """Fig. 1: (a) region SSIM vs η of the box-targeted attack per model and acceleration,
    (b) targeted vs whole-image attack at `compare_accelerations`; mean and 95 % CI over the
    boxes (bootstrap `seed`), with the measured thermal noise marked on the η axis."""
    results = tables.load_table(out, "noise_attack").assign(eta_percent=lambda d: 100 * d["eta"])
    noise_percent = 100 * tables.load_json(out, "summary")["thermal_noise_eta"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    panels = [
        (results[results["mode"] == "region"], "acceleration", "(a) targeted attack, 4× and 8×"),
        (
            results[results["acceleration"].isin(compare_accelerations)],
            "mode",
            "(b) region vs whole-image attack, "
            + ", ".join(f"{a}×" for a in compare_accelerations),
        ),
    ]
    for ax, (rows, style, title) in zip(axes, panels, strict=True):
        sns.lineplot(
            data=rows,
            x="eta_percent",
            y="ssim_region",
            hue="model",
            style=style,
            markers=True,
            errorbar=("ci", 95),
            seed=seed,
            ax=ax,
        )
        ax.set(xlabel=ETA_LABEL, ylabel=REGION_SSIM, title=title)
        plots.mark_vline(ax, noise_percent, "measured thermal noise η (%)")
    title = (
        f"Morshuis et al. 2022, Fig. 1 — mean and 95 % CI over {results['sample'].nunique()} "
        f"boxes; data: {plots.data_caption(scale)}"
    )
    return _finish(fig, scale, "morshuis2022_fig1_noise_attack", title)


def _scored_title(label: str, score: dict | None) -> str:
    return label if score is None else f"{label}\nregion SSIM {score['ssim_region']:.3f}"


def fig2(out: Path, scale: str, methods: Sequence[str], zoom_margin: int = 6):
    """Fig. 2: target, target + adversarial noise (fully sampled), and each method's clean
    and attacked reconstructions, with the box; then the same panels zoomed on the box."""
    record = tables.load_json(out, "scores")
    images = tables.load_images(out, "fig2_images")
    box, caption = record["box"], plots.data_caption(scale)
    noisy = f"target+noise_{methods[-1]}"
    top = ["target", *methods]
    keys = top + [noisy] + [f"{name}_attacked" for name in methods]
    names = {"target": "fully sampled", noisy: "fully sampled + adv. noise"}
    titles = [
        _scored_title(names.get(k, k.replace("_attacked", " (attacked)")), record["fig2"].get(k))
        for k in keys
    ]
    vmax = _vmax(images["target"])
    fig, axes = plots.image_panels([images[k] for k in keys], titles, ncols=len(top), vmax=vmax)
    for ax in axes[: len(keys)]:
        plots.draw_box(ax, box)
    _finish(
        fig,
        scale,
        "morshuis2022_fig2_qualitative",
        f"Fig. 2 — η = {100 * record['eta']:g} %, {record['acceleration']}×, box: "
        f"{record['label']}\n{caption}",
    )
    zooms, _ = plots.image_panels(
        [plots.zoom(images[k], box, zoom_margin) for k in keys], titles, ncols=len(top), vmax=vmax
    )
    _finish(zooms, scale, "morshuis2022_fig2_zoom", f"Fig. 2 (zoom on the box) — {caption}")
    return fig, zooms


def fig3(out: Path, scale: str, method: str, zoom_margin: int = 6):
    """Fig. 3: `method`'s clean reconstruction, the box-targeted and the whole-image attack at
    the same η, full and zoomed on the box."""
    record = tables.load_json(out, "scores")
    images = tables.load_images(out, "fig3_images")
    labels = {
        "target": "fully sampled",
        "clean": method,
        "targeted": "attack on the box",
        "image": "attack on the whole image",
    }
    titles = [
        label if key == "target" else _scored_title(label, record["fig3"][key])
        for key, label in labels.items()
    ]
    title = (
        f"Fig. 3 — {method}, η = {100 * record['eta']:g} %, {record['acceleration']}× "
        f"(bottom: zoom on the box)\n{plots.data_caption(scale)}"
    )
    name = "morshuis2022_fig3_targeted_vs_image"
    return _zoomed_panels(images, labels, titles, record["box"], zoom_margin, scale, name, title)


def fig4(out: Path, scale: str, seed: int = 0):
    """Fig. 4: (a) region SSIM at the worst angle within ±θ_max per model and acceleration
    (mean and 95 % CI over the boxes), (b) region SSIM vs θ for the stored example."""
    worst = tables.load_table(out, "rotation_worst")
    per_angle = tables.load_table(out, "rotation_per_angle")
    example = tables.load_json(out, "summary")["example"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    sns.lineplot(
        data=worst,
        x="theta_max",
        y="ssim_region",
        hue="model",
        style="acceleration",
        markers=True,
        errorbar=("ci", 95),
        seed=seed,
        ax=axes[0],
    )
    axes[0].set(
        xlabel="θ_max (degrees)",
        ylabel=f"{REGION_SSIM} at the worst angle",
        title="(a) worst-case rotation within ±θ_max",
    )
    curve = per_angle[
        (per_angle["sample"] == example["sample"])
        & (per_angle["model"] == example["method"])
        & (per_angle["acceleration"] == example["acceleration"])
    ].sort_values("angle")
    axes[1].plot(curve["angle"], curve["ssim_region"], marker=".", lw=1)
    axes[1].axvline(example["worst_angle"], color="0.5", ls=":", lw=1)
    axes[1].set(
        xlabel="θ (degrees)",
        ylabel=REGION_SSIM,
        title=f"(b) {example['method']}, {example['acceleration']}×, one example",
    )
    title = (
        f"Morshuis et al. 2022, Fig. 4 — mean and 95 % CI over {worst['sample'].nunique()} "
        f"boxes; data: {plots.data_caption(scale)}"
    )
    return _finish(fig, scale, "morshuis2022_fig4_rotation", title)


def fig5(out: Path, scale: str, zoom_margin: int = 6):
    """Fig. 5: the worst-angle example: target, clean reconstruction, the fully sampled image
    rotated and back (interpolation only), and the reconstruction of the rotated scan rotated
    back, full and zoomed on the box."""
    example = tables.load_json(out, "summary")["example"]
    images = tables.load_images(out, "fig5_images")
    method, angle = f"{example['method']}", example["worst_angle"]
    titles = [
        "fully sampled",
        f"{method} ({example['acceleration']}×)",
        f"fully sampled,\nrotated {angle:+.1f}° and back",
        f"{method} of the rotated\nscan, rotated back",
    ]
    keys = ["target", "clean", "fully_sampled_rotated", "attacked"]
    title = (
        f"Fig. 5 — worst angle {angle:+.1f}°, box: {example['label']} (bottom: zoom)\n"
        f"{plots.data_caption(scale)}"
    )
    name = "morshuis2022_fig5_worst_rotation"
    return _zoomed_panels(images, keys, titles, example["box"], zoom_margin, scale, name, title)
