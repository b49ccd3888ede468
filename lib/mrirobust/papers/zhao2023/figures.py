"""Zhao 2023 figures, drawn from the files a run stored under `results/<scale>/<run-id>/` only,
saved to `figures/<scale>/` with the data named in every caption."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from mrirobust import plots, tables
from mrirobust.data.cardiac_phantom import LABELS
from mrirobust.data.cmrxrecon import TIME_NAMES
from mrirobust.data.cmrxrecon_embedded import DATA

MAP_STYLE = {"T1map": ("jet", 0, 2000), "T2map": ("plasma", 0, 120)}  # authors' colour scales (ms)


def data_caption(scale: str) -> str:
    """The phrase naming the mapping data of `scale`, for every caption and title."""
    if DATA.resolve(scale)["source"] == "cmrxrecon":
        return "CMRxRecon 2023 mapping data"
    return "embedded synthetic stand-in for CMRxRecon 2023 (not patient data)"


def _finish(fig, scale: str, name: str, title: str) -> None:
    fig.suptitle(title, fontsize=9, y=1.02)  # above the panel titles; saved with a tight box
    fig.text(0.5, 0.0, data_caption(scale), ha="center", va="top", fontsize=7)
    plots.savefig(fig, scale, name)


def training_curves(out: Path, scale: str) -> None:
    """Training loss per epoch of every model, one panel per modality (training_curves.csv)."""
    curves = tables.load_table(out, "training_curves")
    modalities = sorted(curves["modality"].unique())
    fig, axes = plt.subplots(1, len(modalities), figsize=(4.5 * len(modalities), 3.2))
    for ax, modality in zip(np.atleast_1d(axes), modalities, strict=True):
        part = curves[curves["modality"] == modality]
        sns.lineplot(data=part, x="epoch", y="loss", hue="model", marker="o", ax=ax)
        ax.set_yscale("log")
        ax.set_title(modality, fontsize=9)
    _finish(fig, scale, "zhao2023_training_curves", "training loss (M: l_relax; others: eq. 13)")


def fig2(out: Path, scale: str, accelerations) -> plt.Figure:
    """Per modality, rows: shortest and longest TI (TE), the map of the mapping network M on
    those frames (the paper's pipeline) and the voxel-wise fit beside it; columns: fully sampled
    (the reference) and each R (fig2_images.npz)."""
    panels = tables.load_images(out, "fig2_images")
    columns = ["full"] + [f"R{r}" for r in accelerations]
    rows = []
    for modality, name in TIME_NAMES.items():
        if f"{modality}_full_first" in panels:
            rows += [(modality, "first", f"shortest {name}"), (modality, "last", f"longest {name}")]
            rows += [(modality, "mapper", f"{modality[:2]} map (M, ms)")]
            rows += [(modality, "fit", f"{modality[:2]} map (fit, ms)")]
    size = (1.9 * len(columns), 1.9 * len(rows))
    fig, axes = plt.subplots(len(rows), len(columns), figsize=size, squeeze=False)
    for i, (modality, kind, label) in enumerate(rows):
        peak = max(float(panels[f"{modality}_full_{kind}"].max()), 1e-30)
        for j, column in enumerate(columns):
            image, ax = panels[f"{modality}_{column}_{kind}"], axes[i, j]
            if kind in ("mapper", "fit"):
                cmap, lo, hi = MAP_STYLE[modality]
                shown = ax.imshow(image.T, cmap=cmap, vmin=lo, vmax=hi)
            else:
                ax.imshow(image.T / peak, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(
                    "fully sampled" if column == "full" else f"R = {column[1:]}", fontsize=8
                )
            if j == 0:
                ax.set_ylabel(label, fontsize=8)
        if kind in ("mapper", "fit"):
            fig.colorbar(shown, ax=list(axes[i]), fraction=0.02, pad=0.01)
    title = "Zhao et al. 2023, Fig. 2 (VN-UNet-relax, maps by the mapping network M; fit beside)"
    _finish(fig, scale, "zhao2023_fig2", title)
    return fig


def challenge_tables(out: Path, scale: str) -> None:
    """PSNR and SSIM per model and R (bars), one row per modality (table.csv)."""
    table = tables.load_table(out, "table")
    modalities = sorted(table["modality"].unique())
    size = (8, 2.6 * len(modalities))
    fig, axes = plt.subplots(len(modalities), 2, figsize=size, squeeze=False)
    for i, modality in enumerate(modalities):
        part = table[table["modality"] == modality]
        for j, metric in enumerate(("psnr", "ssim_percent")):
            wide = part.pivot(index="acceleration", columns="model", values=metric)
            wide.plot.bar(ax=axes[i, j], rot=0, width=0.8)
            axes[i, j].set_title(f"{modality}: {metric}", fontsize=9)
            low = np.nanmin(wide.to_numpy())
            axes[i, j].set_ylim(low - 0.05 * abs(low), None)
            axes[i, j].legend(fontsize=7)
    fig.tight_layout()
    _finish(fig, scale, "zhao2023_tables", "Zhao et al. 2023, Tables 1-2 (challenge metrics)")


def robustness(out: Path, scale: str, modality: str, acceleration: int) -> None:
    """Map error over the region (the myocardium, or without labels the evaluation crop where
    the reference fit is valid), regional image error and SSIM vs eta per mode and model
    (attacks.csv)."""
    rows = tables.load_table(out, "attacks").assign(eta_percent=lambda d: 100 * d["eta"])
    region = "myocardial" if set(rows["region"]) == {"myocardium"} else "fit-valid crop"
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    metrics = [
        ("map_mae_ms", f"{region} map MAE (ms)"),
        ("image_roi_nrmse", "image error in the region (relative)"),
        ("ssim", "challenge SSIM"),
    ]
    for ax, (metric, label) in zip(axes, metrics, strict=True):
        sns.lineplot(
            data=rows,
            x="eta_percent",
            y=metric,
            hue="mode",
            style="model",
            markers=True,
            ax=ax,
            errorbar=None,
        )
        ax.set_xlabel("η (%) per (frame, coil)")
        ax.set_ylabel(label)
    fig.tight_layout()
    _finish(
        fig,
        scale,
        "zhao2023_robustness",
        f"attacks on the {modality[:2]} map at R = {acceleration}",
    )


def data_tour(out: Path, scale: str) -> None:
    """Frames; a myocardial and a blood pixel's curves with the fit; masks; maps (tour.npz,
    summary.json)."""
    tour, summary = tables.load_images(out, "tour"), tables.load_json(out, "summary")
    ti, te = summary["times_ms"]["T1map"], summary["times_ms"]["T2map"]
    fig, axes = plt.subplots(2, len(ti), figsize=(1.55 * len(ti), 3.6))
    for j, ax in enumerate(axes[0]):
        ax.imshow(tour["t1_frames"][j].T, cmap="gray")
        ax.set_title(f"TI {ti[j]:.0f} ms", fontsize=7)
    for j, ax in enumerate(axes[1]):
        if j < len(te):
            ax.imshow(tour["t2_frames"][j].T, cmap="gray")
            ax.set_title(f"TE {te[j]:.0f} ms", fontsize=7)
    for ax in axes.flat:
        ax.axis("off")
    _finish(fig, scale, "zhao2023_data_tour_frames", "MOLLI (top) and T2-prep (bottom) frames")

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    grid = np.linspace(0, max(ti) * 1.05, 200)
    for name, (i, j) in summary["pixels"].items():
        a, b, t1s = tour["a"][i, j], tour["b"][i, j], tour["t1_star"][i, j]
        label = f"{name}: fit T1 {tour['t1_fit'][i, j]:.0f} ms"
        line = axes[0].plot(grid, np.abs(a - b * np.exp(-grid / t1s)), label=label)[0]
        axes[0].plot(ti, tour["t1_frames"][:, i, j], "o", color=line.get_color())
        label = f"{name}: fit T2 {tour['t2_fit'][i, j]:.0f} ms"
        axes[1].plot(te, tour["t2_frames"][:, i, j], "o-", label=label)
    axes[0].set(xlabel="TI (ms)", title="MOLLI recovery |A − B exp(−TI/T1*)|")
    axes[1].set(xlabel="TE (ms)", title="T2-prep decay")
    for ax in axes[:2]:
        ax.legend(fontsize=7)
    axes[2].imshow(tour["masks"], aspect="auto", cmap="gray_r", interpolation="nearest")
    labels = [
        f"R{r}: {m['effective_acceleration']:.2f}x, ACS {m['acs_lines']}"
        for r, m in summary["masks"].items()
    ]
    axes[2].set_yticks(range(len(labels)), labels, fontsize=7)
    axes[2].set(xlabel="ky line", title="CMRxRecon masks")
    fig.tight_layout()
    _finish(fig, scale, "zhao2023_data_tour_curves_masks", "curves, fit and masks")

    panels = [("t1_fit", "T1 fit (ms)", *MAP_STYLE["T1map"])]
    panels += [("t2_fit", "T2 fit (ms)", *MAP_STYLE["T2map"])]
    if "labels" in tour:
        panels = [
            ("labels", "labels", "tab10", 0, len(LABELS) - 1),
            ("t1_truth", "T1 truth (ms)", *MAP_STYLE["T1map"]),
            panels[0],
            ("t2_truth", "T2 truth (ms)", *MAP_STYLE["T2map"]),
            panels[1],
        ]
    fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3))
    for ax, (key, title, cmap, lo, hi) in zip(np.atleast_1d(axes), panels, strict=True):
        shown = ax.imshow(tour[key].T, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
        fig.colorbar(shown, ax=ax, fraction=0.04)
    _finish(fig, scale, "zhao2023_data_tour_maps", "fitted maps beside the phantom truth")
