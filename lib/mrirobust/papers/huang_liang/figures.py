"""Huang & Liang's figures, drawn from the stored tables (never from live models)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from mrirobust import plots


def fig4_losses(iterations: pd.DataFrame, model: str, scale: str):
    """Fig. 4 of one adversarial model: (a) loss_G and loss_R (symlog: loss_G spans the hinge's
    10^5 down to −α1 DSSIM), (b) loss_R alone, (c) the budget use ‖δ_b‖²/ε with the budget at 1."""
    log = iterations[iterations.model == model]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3))
    axes[0].plot(log.iteration, log.loss_G, color="C3", label="loss_G")
    axes[0].plot(log.iteration, log.loss_R, color="C0", label="loss_R")
    axes[0].set_yscale("symlog", linthresh=1.0)
    axes[0].set_title(f"(a) generator and reconstructor, {model}")
    axes[0].legend(fontsize=7)
    axes[1].plot(log.iteration, log.loss_R, color="C0")
    axes[1].set_title("(b) reconstructor loss (DSSIM clean + perturbed)")
    axes[2].plot(log.iteration, log.budget_use, color="C2")
    axes[2].axhline(1.0, color="0.4", ls="--", lw=0.8)
    axes[2].set_yscale("log")
    axes[2].set_title("(c) mean ‖δ_b‖² / ε per minibatch")
    for ax in axes:
        ax.set_xlabel("iteration")
    sns.despine(fig)
    fig.tight_layout()
    plots.caption(fig, scale, "Huang & Liang Fig. 4 (min-max training)")
    return fig


def training_curves(curves: pd.DataFrame, scale: str):
    """SI Figs 1-3 and the losses: per-epoch validation SSIM / PSNR / NMSE and the clean
    training DSSIM of every model."""
    panels = [
        ("val_ssim", "val SSIM"),
        ("val_psnr", "val PSNR (dB)"),
        ("val_nmse", "val NMSE"),
        ("train_dssim_clean", "train DSSIM (clean, running mean)"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(12, 2.8))
    for ax, (column, title) in zip(axes, panels, strict=True):
        sns.lineplot(data=curves, x="epoch", y=column, hue="model", marker="o", ax=ax)
        ax.set_title(title)
        ax.set_ylabel("")
        if ax is not axes[0]:
            ax.get_legend().remove()
    sns.despine(fig)
    fig.tight_layout()
    plots.caption(fig, scale, "Huang & Liang SI Figs 1-3 (per-epoch metrics)")
    return fig


def table1_bars(table: pd.DataFrame, scale: str):
    """Table 1's validation SSIM and PSNR per model in both metric rules."""
    val = table[table.split == "val"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 2.8))
    for ax, metric in zip(axes, ("ssim", "psnr"), strict=True):
        sns.barplot(data=val, x="model", y=metric, hue="rule", ax=ax)
        ax.set_title(f"val {metric.upper()} (fastMRI rule vs the reference code's rule)")
        ax.set_xlabel("")
        ax.tick_params(axis="x", labelsize=7)
    sns.despine(fig)
    fig.tight_layout()
    plots.caption(fig, scale, "Huang & Liang Table 1")
    return fig


def fig5_data(images: dict[str, np.ndarray], crop: tuple[int, int], scale: str):
    """Fig. 5: |k| fully sampled, its image (crop box outlined), |k| masked, zero-filled image."""
    titles = {
        "kspace": "(a) log |k|, fully sampled",
        "image": "(b) |F⁻¹ k| (crop outlined)",
        "masked": "(c) log |M ⊙ k|, 4x random",
        "zero_filled": "(d) |F⁻¹ (M ⊙ k)|",
    }
    fig, axes = plt.subplots(1, 4, figsize=(11, 3.4))
    for ax, (key, title) in zip(axes, titles.items(), strict=True):
        array = images[key]
        if key in ("kspace", "masked"):
            array = np.log(array + array[array > 0].min())
        ax.imshow(array, cmap="gray")
        ax.set_title(title, fontsize=8)
        ax.set_axis_off()
    H, W = images["image"].shape
    h, w = crop
    plots.draw_box(axes[1], ((W - w) // 2, (H - h) // 2, w, h))
    fig.tight_layout()
    plots.caption(fig, scale, "Huang & Liang Fig. 5 (single-coil knee, emulated)")
    return fig


FIG6_PANELS = (
    ("A_clean", "(a) A(x̂)"),
    ("delta_A_co_trained_G", "(b) δ = G_A(z)"),
    ("target+delta", "(c) t̂ + δ"),
    ("A_co_trained_G", "(d) A(x̂ + δ)"),
    ("S_co_trained_G", "(e) S(x̂ + δ), transferred"),
    ("S_own_G", "(f) S(x̂ + δ_S), own G"),
    ("A_image_pgd", "(g) A, image PGD"),
    ("S_image_pgd", "(h) S, image PGD"),
)


def fig6_examples(images: dict[str, np.ndarray], scale: str):
    """Fig. 6 (panels a-e as the paper) plus the fair columns (f-h): one row per (A(ε), example
    slice); one grey window per row (min and max of the target t̂), δ on a symmetric map."""
    keys = sorted({k.rsplit("/", 1)[0] for k in images})
    fig, axes = plt.subplots(
        len(keys), len(FIG6_PANELS), figsize=(2 * len(FIG6_PANELS), 2.2 * len(keys)), squeeze=False
    )
    for row, key in zip(axes, keys, strict=True):
        target = images[f"{key}/target"]
        low, high = float(target.min()), float(target.max())
        for ax, (panel, title) in zip(row, FIG6_PANELS, strict=True):
            if panel == "target+delta":
                array = target + images[f"{key}/delta_A_co_trained_G"]
            else:
                array = images[f"{key}/{panel}"]
            if panel.startswith("delta"):
                top = float(np.abs(array).max())
                ax.imshow(array, cmap="RdBu_r", vmin=-top, vmax=top)
            else:
                ax.imshow(array, cmap="gray", vmin=low, vmax=high)
            ax.set_title(title, fontsize=7)
            ax.set_axis_off()
        row[0].text(
            -0.1,
            0.5,
            key,
            transform=row[0].transAxes,
            rotation=90,
            va="center",
            ha="right",
            fontsize=7,
        )
    fig.tight_layout()
    plots.caption(fig, scale, "Huang & Liang Fig. 6 and fair columns")
    return fig


def fig6_scores(table: pd.DataFrame, scale: str):
    """Attacked SSIM and amplification per attack, model and budget (means, 95 % CIs)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3))
    for ax, column in zip(axes, ("ssim_attacked", "amplification"), strict=True):
        which = table.model + " under " + table.eps_model + "'s budget"
        sns.barplot(data=table.assign(which=which), x="attack", y=column, hue="which", ax=ax)
        ax.set_title(column.replace("_", " "))
    axes[1].axhline(1.0, color="0.4", ls="--", lw=0.8)
    sns.despine(fig)
    fig.tight_layout()
    plots.caption(fig, scale, "Huang & Liang Fig. 6 scores, all budgets")
    return fig


def kspace_scores(table: pd.DataFrame, scale: str):
    """Algorithm 2: SSIM of K(η) and S clean, under k-space PGD and under a fresh k-space
    generator at the same η (means, 95 % CIs)."""
    clean = table.groupby(["eta_model", "model", "slice"], as_index=False).ssim_clean.first()
    long = pd.concat(
        [
            clean.rename(columns={"ssim_clean": "ssim"}).assign(attack="clean"),
            table.rename(columns={"ssim_attacked": "ssim"})[
                ["eta_model", "model", "slice", "ssim", "attack"]
            ],
        ]
    )
    fig, ax = plt.subplots(figsize=(6, 3))
    sns.barplot(data=long, x="attack", y="ssim", hue="model", ax=ax)
    ax.set_title(f"{', '.join(table.eta_model.unique())} vs S: SSIM against the target")
    sns.despine(fig)
    fig.tight_layout()
    plots.caption(fig, scale, "Huang & Liang Algorithm 2")
    return fig


# the cross-attack panels: the suite's attack name -> (title, budget axis)
CROSS_ATTACKS = {
    "kspace_pgd": ("Morshuis k-space PGD (box)", "η (per coil)"),
    "rotation": ("Morshuis rotation (box)", "θ_max (degrees)"),
    "pgd": ("Darestani PGD (image)", "ε (relative to ‖y‖)"),
    "image_pgd": ("image PGD (image)", "ρ (per-pixel RMS)"),
}


def cross_attacks(table: pd.DataFrame, scale: str):
    """Mean SSIM drop against the budget, one panel per attack (`CROSS_ATTACKS`: its title and
    budget), one line per model."""
    attacks = list(table.attack.unique())
    fig, axes = plt.subplots(1, len(attacks), figsize=(3.2 * len(attacks), 2.8), squeeze=False)
    models = list(table.model.unique())  # one colour per model in every panel
    for ax, attack in zip(axes[0], attacks, strict=True):
        rows = table[table.attack == attack]
        sns.lineplot(
            data=rows,
            x="budget",
            y="ssim_drop",
            hue="model",
            hue_order=models,
            marker="o",
            ax=ax,
            legend=ax is axes[0][-1],
        )
        title, budget = CROSS_ATTACKS[attack]
        ax.set(title=title, xlabel=budget, ylabel="SSIM drop")
    # one legend, beside the last panel, where it hides no curve
    sns.move_legend(axes[0][-1], "center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    sns.despine(fig)
    fig.tight_layout()
    plots.caption(fig, scale, "Huang & Liang models under the other papers' attacks")
    return fig
