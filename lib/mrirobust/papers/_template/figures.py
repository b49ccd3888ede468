"""The template's figure, drawn only from the stored table and saved to figures/<scale>/."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns

from mrirobust import plots, tables


def fig1(out: Path, scale: str):
    """Mean SSIM against the noise level σ per model, with 95 % bootstrap bands over slices;
    saved as figures/<scale>/template_fig1_noise.png/.pdf. Returns the figure."""
    table = tables.load_table(out, "noise_sweep")
    fig, ax = plt.subplots(figsize=(3.4, 2.6))
    sns.lineplot(table, x="sigma", y="ssim", hue="model", errorbar=("ci", 95), marker="o", ax=ax)
    ax.set(xlabel="σ (noise norm / measurement norm)", ylabel="SSIM")
    plots.caption(fig, scale, "Template: SSIM under measurement noise")
    fig.tight_layout()
    plots.savefig(fig, scale, "template_fig1_noise")
    return fig
