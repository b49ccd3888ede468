"""Zhao 2023 figures, drawn from stored files only."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mrirobust.data.cmrxrecon_embedded import DATA


def data_caption(scale: str) -> str:
    """The phrase naming the mapping data of `scale`, for every caption and title."""
    if DATA.resolve(scale)["source"] == "cmrxrecon":
        return "CMRxRecon 2023 mapping data"
    return "embedded synthetic stand-in for CMRxRecon 2023 (not patient data)"


MAP_STYLE = {"T1map": ("jet", 0, 2000), "T2map": ("plasma", 0, 120)}  # authors' colour scales (ms)


def fig2(panels: dict, columns: list[str], caption: str):
    """Rows: shortest and longest TI, T1 map, shortest and longest TE, T2 map (those present);
    columns: "full" and each "R<r>". `panels` is the stored fig2 npz."""
    rows = []
    for modality, name in (("T1map", "TI"), ("T2map", "TE")):
        if f"{modality}_full_first" in panels:
            rows += [(modality, "first", f"shortest {name}"), (modality, "last", f"longest {name}")]
            rows += [(modality, "map", f"{modality[:2]} map (fit, ms)")]
    fig, axes = plt.subplots(
        len(rows), len(columns), figsize=(1.9 * len(columns), 1.9 * len(rows)), squeeze=False
    )
    for i, (modality, kind, label) in enumerate(rows):
        scale = max(panels[f"{modality}_full_{kind}"].max(), 1e-30)
        for j, column in enumerate(columns):
            image = panels[f"{modality}_{column}_{kind}"]
            ax = axes[i, j]
            if kind == "map":
                cmap, lo, hi = MAP_STYLE[modality]
                shown = ax.imshow(image.T, cmap=cmap, vmin=lo, vmax=hi)
            else:
                ax.imshow(image.T / scale, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(
                    "fully sampled" if column == "full" else f"R = {column[1:]}", fontsize=8
                )
            if j == 0:
                ax.set_ylabel(label, fontsize=8)
        if kind == "map":
            fig.colorbar(shown, ax=list(axes[i]), fraction=0.02, pad=0.01)
    fig.suptitle(f"Zhao et al. 2023, Fig. 2 (VN-UNet-relax); {caption}", fontsize=8)
    return fig


def tables(table: pd.DataFrame, caption: str):
    """PSNR and SSIM per model and R (bars), one panel per metric and modality."""
    modalities = sorted(table["modality"].unique())
    fig, axes = plt.subplots(len(modalities), 2, figsize=(8, 2.6 * len(modalities)), squeeze=False)
    for i, modality in enumerate(modalities):
        part = table[table["modality"] == modality]
        for j, metric in enumerate(("psnr", "ssim_percent")):
            wide = part.pivot(index="acceleration", columns="model", values=metric)
            wide.plot.bar(ax=axes[i, j], rot=0, width=0.8)
            axes[i, j].set_title(f"{modality}: {metric}", fontsize=9)
            low = np.nanmin(wide.to_numpy())
            axes[i, j].set_ylim(low - 0.05 * abs(low), None)
            axes[i, j].legend(fontsize=7)
    fig.suptitle(f"Zhao et al. 2023, Tables 1-2 (challenge metrics); {caption}", fontsize=8)
    fig.tight_layout()
    return fig
