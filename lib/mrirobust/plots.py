"""Figures: one seaborn style, image panels, boxes and zoomed crops, PNG + PDF output.

Every figure made from the embedded data says so in its caption (`data_caption`).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.patches import Rectangle

from mrirobust.paths import figures_dir
from mrirobust.scales import resolve

BOX_COLOR = "#e8463a"


def setup_style() -> None:
    """The project's plot style: seaborn "paper" context, white ticks, 150 dpi on screen."""
    sns.set_theme(context="paper", style="ticks", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 150, "savefig.dpi": 200, "image.cmap": "gray"})


def data_caption(scale: str) -> str:
    """The phrase naming the data set of `scale`, for every caption and title."""
    if resolve(scale, "data")["source"] == "fastmri":
        return "fastMRI (with fastMRI+ annotations)"
    return "embedded synthetic stand-in for fastMRI (not patient data)"


def caption(fig, scale: str, prefix: str = "") -> None:
    """Write "<prefix>: <data caption>" under the figure (never over the panel titles)."""
    text = f"{prefix}: {data_caption(scale)}" if prefix else data_caption(scale)
    fig.text(0.5, 0.0, text, ha="center", va="top", fontsize=7)


def savefig(fig, scale: str, name: str) -> tuple[Path, Path]:
    """Write `fig` as figures/<scale>/<name>.png and .pdf; returns both paths."""
    if not name or "/" in name or name.endswith((".png", ".pdf")):
        raise ValueError(f"figure name must be a plain stem like 'fig2_kspace', got {name!r}")
    out = figures_dir(scale)
    paths = out / f"{name}.png", out / f"{name}.pdf"
    for path in paths:
        fig.savefig(path, bbox_inches="tight")
    return paths


def to_numpy(image) -> np.ndarray:
    """A torch tensor or array -> 2-D numpy array (magnitude for complex input)."""
    array = image.detach().cpu().numpy() if hasattr(image, "detach") else np.asarray(image)
    array = np.abs(array) if np.iscomplexobj(array) else array
    if array.ndim != 2:
        raise ValueError(f"an image panel needs a 2-D image, got shape {array.shape}")
    return array


def image_panels(images, titles=None, ncols=None, size=2.2, vmax=None, cmap="gray"):
    """A row (or grid with `ncols`) of image panels without axes; returns (fig, axes list).

    `vmax` = None scales each panel to its own 99.5th percentile; "shared" uses the largest.
    """
    arrays = [to_numpy(im) for im in images]
    ncols = ncols or len(arrays)
    nrows = -(-len(arrays) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    shared = max(np.percentile(a, 99.5) for a in arrays) if vmax == "shared" else vmax
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < len(arrays):
            top = shared if shared is not None else np.percentile(arrays[i], 99.5)
            ax.imshow(arrays[i], cmap=cmap, vmin=0 if cmap == "gray" else None, vmax=top)
            if titles:
                ax.set_title(titles[i], fontsize=8)
    return fig, list(axes.flat)


def draw_box(ax, box, color: str = BOX_COLOR, label: str | None = None, linewidth: float = 1.2):
    """Outline box (x, y, width, height) (pixels, unflipped) on an image axis."""
    x, y, w, h = (int(v) for v in box)
    ax.add_patch(Rectangle((x - 0.5, y - 0.5), w, h, fill=False, ec=color, lw=linewidth))
    if label:
        ax.text(x - 0.5, y - 1.5, label, color=color, fontsize=6, va="bottom")


def draw_boxes(ax, rows, label_chars: int = 24, color: str = BOX_COLOR) -> None:
    """Outline every annotation row (columns x, y, width, height, label) on an image axis."""
    for row in rows.itertuples():
        draw_box(ax, (row.x, row.y, row.width, row.height), color, row.label[:label_chars])


def zoom(image, box, margin: int = 4) -> np.ndarray:
    """The crop of `image` around box (x, y, width, height) plus `margin` pixels, clipped."""
    array = to_numpy(image)
    x, y, w, h = (int(v) for v in box)
    top, left = max(0, y - margin), max(0, x - margin)
    return array[top : y + h + margin, left : x + w + margin]


def panels_with_zoom(images, titles, box, margin: int = 6, vmax=None):
    """Image panels in one row with `box` outlined, and below each its `zoom` on the box.

    Returns (fig, axes list): the full images first, then the zooms.
    """
    panels = list(images) + [zoom(image, box, margin) for image in images]
    fig, axes = image_panels(
        panels, list(titles) + [""] * len(images), ncols=len(images), vmax=vmax
    )
    for ax in axes[: len(images)]:
        draw_box(ax, box)
    return fig, axes


def mark_vline(ax, x: float, label: str, color: str = "0.5") -> None:
    """A dotted vertical line at `x` labelled `label`; when `x` lies right of the axis, a note
    "<label>: x →" in the lower right corner instead."""
    left, right = ax.get_xlim()
    if x <= right:
        ax.axvline(x, color=color, ls=":", lw=1)
        ax.text(
            x,
            ax.get_ylim()[0],
            f" {label}",
            rotation=90,
            va="bottom",
            ha="right",
            fontsize=7,
            color="0.4",
        )
    else:
        ax.annotate(
            f"{label}: {x:.1f} →",
            xy=(1, 0.02),
            xycoords="axes fraction",
            ha="right",
            fontsize=7,
            color="0.4",
        )
