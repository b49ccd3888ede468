"""How a view looks: its panels (`panels`, one definition), drawn two ways.

- For the widget, fast: each panel a PNG encoded with numpy and Pillow (`panel_png`, ~10 ms)
  and the strength curve as SVG text (`curve_svg`): matplotlib took 0.2-0.3 s for the curve
  alone and ~1 s for the panels on the 2-core build machine, above the 0.2 s a cached
  position may take to redraw.
- For exports and notebooks: one matplotlib figure with the curve (`figure`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from html import escape

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

from mrirobust.explorer.catalog import Catalog
from mrirobust.explorer.engine import Curve, View
from mrirobust.plots import BOX_COLOR

COLOURS = ("#1f77b4", "#ff7f0e")  # matplotlib's first two: one per shown model
ERROR_CMAP, PERTURBATION_CMAP, SIGNED_CMAP = "inferno", "magma", "RdBu_r"


@dataclass
class Panel:
    """One image panel: the image, its title, colour map and range, and the region outlined."""

    title: str
    image: torch.Tensor
    cmap: str
    vmin: float
    vmax: float
    region: torch.Tensor | None = None


def _summary(scores: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.4g}" for name, value in scores.items())


def _top(images) -> float:
    return max(float(torch.quantile(im.flatten(), 0.995)) for im in images) or 1.0


def panels(view: View, catalog: Catalog) -> list[list[Panel | None]]:
    """The panels of `view`, one list per shown model: target, perturbation (first row only),
    then the model's clean and attacked images and the attacked error."""
    selection = view.selection
    attack = catalog.attacks[selection.attack]
    domain = catalog.domains[attack.domain]
    cmap = domain.cmap
    low, high = domain.display_range(view.target)
    errors = [(r.attacked - view.attacked_target).abs() for r in view.rows]
    error_top = _top(errors)
    if view.signed:
        top = _top([view.perturbation.abs()])
        perturbation = (view.perturbation, SIGNED_CMAP, -top, top)
    else:
        perturbation = (view.perturbation, PERTURBATION_CMAP, 0.0, _top([view.perturbation]))
    unit = f" ({domain.unit})" if domain.unit else ""
    grid = []
    for index, (row, error) in enumerate(zip(view.rows, errors, strict=True)):
        crafted = "" if row.model == selection.crafted_on else " (transfer)"
        first = [
            Panel(domain.target_label + unit, view.target, cmap, low, high, view.region),
            Panel(
                view.perturbation_label + (f"\n{view.note}" if view.note else ""),
                perturbation[0],
                *perturbation[1:],
            ),
        ]
        grid.append(
            (first if index == 0 else [None, None])
            + [
                Panel(
                    f"{row.label}: clean\n{_summary(row.clean_scores)}",
                    row.clean,
                    cmap,
                    low,
                    high,
                    view.region,
                ),
                Panel(
                    f"attacked{crafted}, {attack.readout(selection.strength)}\n"
                    f"{_summary(row.attacked_scores)}",
                    row.attacked,
                    cmap,
                    low,
                    high,
                    view.region,
                ),
                Panel(
                    f"|attacked − target|{unit}",
                    error,
                    ERROR_CMAP,
                    0.0,
                    error_top,
                    view.region,
                ),
            ]
        )
    return grid


def _outline(region: torch.Tensor) -> np.ndarray:
    """The boundary pixels of a boolean mask (inside, with a neighbour outside)."""
    inside = np.pad(region.numpy(), 1)
    core = inside[1:-1, 1:-1]
    neighbours = inside[:-2, 1:-1] & inside[2:, 1:-1] & inside[1:-1, :-2] & inside[1:-1, 2:]
    return core & ~neighbours


def panel_png(panel: Panel) -> bytes:
    """The panel's image as PNG bytes in its colour map and range, the region outlined."""
    span = max(panel.vmax - panel.vmin, 1e-12)
    scaled = ((panel.image.numpy() - panel.vmin) / span).clip(0, 1)
    rgb = matplotlib.colormaps[panel.cmap](scaled, bytes=True)[..., :3]
    if panel.region is not None:
        rgb[_outline(panel.region)] = np.array(matplotlib.colors.to_rgb(BOX_COLOR)) * 255
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def figure(view: View, catalog: Catalog, curves: list[Curve] | None = None, caption: str = ""):
    """The view as one matplotlib figure, with the strength curves on the right when given."""
    grid = panels(view, catalog)
    columns = len(grid[0]) + (1 if curves else 0)
    ratios = [1] * len(grid[0]) + ([1.5] if curves else [])
    fig = plt.figure(figsize=(2.4 * sum(ratios), 2.7 * len(grid) + 0.4))
    spec = fig.add_gridspec(len(grid), columns, width_ratios=ratios)
    for r, row in enumerate(grid):
        for c, panel in enumerate(row):
            if panel is None:
                continue
            ax = fig.add_subplot(spec[r, c])
            ax.set_axis_off()
            ax.imshow(panel.image.numpy(), cmap=panel.cmap, vmin=panel.vmin, vmax=panel.vmax)
            if panel.region is not None:
                ax.contour(panel.region.numpy(), levels=[0.5], colors=BOX_COLOR, linewidths=0.8)
            ax.set_title(panel.title, fontsize=7)
    if curves:
        ax = fig.add_subplot(spec[:, -1])
        attack = catalog.attacks[view.selection.attack]
        for curve, colour in zip(curves, COLOURS, strict=False):
            ax.plot(curve.strengths, curve.attacked, "o-", color=colour, label=curve.label)
            ax.plot(curve.strengths, curve.clean, "x--", color=colour, linewidth=0.8)
        ax.axvline(view.selection.strength, color="0.5", linewidth=0.8)
        ax.set_xlabel(f"{attack.symbol} ({attack.label})", fontsize=8)
        ax.set_ylabel(f"{curves[0].metric} (dashed: clean)", fontsize=8)
        ax.legend(fontsize=7)
        ax.tick_params(labelsize=7)
    if caption:
        fig.suptitle(caption, fontsize=8)
    fig.tight_layout()
    return fig


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def curve_svg(curves: list[Curve], symbol: str, fmt: str, current: float) -> str:
    """The strength curves as an SVG line plot (attacked: line and dots; clean: dashed; the
    current strength: a grey vertical line)."""
    width, height, left, right, top, bottom = 380, 250, 64, 28, 12, 58
    xs = [s for c in curves for s in c.strengths] + [current]
    ys = [v for c in curves for v in c.attacked + c.clean]
    x0, x1 = min(xs), max(xs)
    y0, y1 = (min(ys), max(ys)) if ys else (0.0, 1.0)
    x0, x1 = (x0 - 1, x1 + 1) if x0 == x1 else (x0, x1)
    pad = (y1 - y0) * 0.08 or abs(y0) * 0.05 or 1.0
    y0, y1 = y0 - pad, y1 + pad

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def py(y: float) -> float:
        return top + (y1 - y) / (y1 - y0) * (height - top - bottom)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="10">',
        f'<rect x="{left}" y="{top}" width="{width - left - right}" '
        f'height="{height - top - bottom}" fill="none" stroke="#888"/>',
    ]
    for x in _ticks(x0, x1):
        parts.append(
            f'<text x="{px(x):.1f}" y="{height - bottom + 13}" text-anchor="middle">'
            f"{escape(fmt.format(x))}</text>"
        )
    for y in _ticks(y0, y1):
        parts.append(f'<text x="{left - 4}" y="{py(y) + 3:.1f}" text-anchor="end">{y:.3g}</text>')
    parts.append(
        f'<line x1="{px(current):.1f}" x2="{px(current):.1f}" y1="{top}" '
        f'y2="{height - bottom}" stroke="#999"/>'
    )
    for index, (curve, colour) in enumerate(zip(curves, COLOURS, strict=False)):
        points = " ".join(
            f"{px(x):.1f},{py(y):.1f}" for x, y in zip(curve.strengths, curve.attacked, strict=True)
        )
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}"/>')
        parts += [
            f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>'
            for x, y in zip(curve.strengths, curve.attacked, strict=True)
        ]
        clean = " ".join(
            f"{px(x):.1f},{py(y):.1f}" for x, y in zip(curve.strengths, curve.clean, strict=True)
        )
        if len(curve.strengths) == 1:  # a single point: the clean level across the plot
            clean = f"{left},{py(curve.clean[0]):.1f} {width - right},{py(curve.clean[0]):.1f}"
        parts.append(
            f'<polyline points="{clean}" fill="none" stroke="{colour}" stroke-dasharray="4 3"/>'
        )
        parts.append(
            f'<text x="{left}" y="{height - 20 + 12 * index}" fill="{colour}">'
            f"{escape(curve.label)}</text>"
        )
    metric = curves[0].metric if curves else "score"
    parts.append(
        f'<text x="{(left + width - right) / 2}" y="{height - bottom + 26}" '
        f'text-anchor="middle">{escape(symbol)}</text>'
    )
    parts.append(
        f'<text x="10" y="{(top + height - bottom) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 10 {(top + height - bottom) / 2})">'
        f"{escape(metric)} (dashed: clean)</text>"
    )
    parts.append("</svg>")
    return "".join(parts)
