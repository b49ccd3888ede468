"""Darestani et al. 2021's figures, drawn from the stored tables of `experiments`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from mrirobust import tables
from mrirobust.papers.darestani2021 import groups
from mrirobust.papers.darestani2021.experiments import transfer_matrix


def sweep_curves(sweep: pd.DataFrame, value: str = "ssim_drop"):
    """Fig. 3: one panel per attacked method; mean `value` of every method vs eps with the
    95 % confidence band over slices."""
    attacked = sorted(set(sweep["attacked"]))
    fig, axes = plt.subplots(1, len(attacked), figsize=(3.2 * len(attacked), 2.8), squeeze=False)
    summary = tables.summarise(sweep, ["attacked", "method", "eps"], value)
    for ax, name in zip(axes[0], attacked, strict=True):
        for method, curve in summary[summary["attacked"] == name].groupby("method"):
            ax.plot(curve["eps"], curve["mean"], marker="o", ms=3, label=method)
            ax.fill_between(curve["eps"], curve["ci_low"], curve["ci_high"], alpha=0.2)
        ax.set(title=f"attack on {name}", xlabel="eps = ||z|| / ||y||", ylabel=value)
    axes[0, -1].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def transfer_heatmap(sweep: pd.DataFrame, eps: float, value: str = "ssim_drop"):
    """The transfer matrix at `eps`: rows = attacked method, columns = evaluated method."""
    matrix = transfer_matrix(sweep, eps, value)
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * matrix.shape[1], 0.8 + 0.6 * matrix.shape[0]))
    sns.heatmap(matrix, annot=True, fmt=".3f", cmap="rocket_r", ax=ax, cbar_kws={"label": value})
    ax.set(xlabel="evaluated on", ylabel="perturbation computed for", title=f"eps = {eps:g}")
    ax.tick_params(axis="y", rotation=0)
    fig.tight_layout()
    return fig


def every_attack_heatmap(table: pd.DataFrame):
    """The every-attack table: mean SSIM drop (small features: window error) per method and
    attack, each column coloured on its own scale."""
    matrix = table.pivot_table(index="method", columns="attack", values="value", aggfunc="mean")
    scaled = (matrix - matrix.min()) / (matrix.max() - matrix.min()).replace(0, 1)
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * matrix.shape[1], 0.8 + 0.5 * matrix.shape[0]))
    sns.heatmap(scaled, annot=matrix, fmt=".3f", cmap="rocket_r", cbar=False, ax=ax)
    ax.set(xlabel="attack (small_features: window error)", ylabel="method")
    ax.tick_params(axis="y", rotation=0)
    fig.tight_layout()
    return fig


_MARKERS = "osD^vP*X"


def _family_colour(family: str):
    """One colour per family in every shift figure (zero-filled first, then groups.FAMILIES)."""
    order = ("zero_filled", *groups.FAMILIES)
    palette = sns.color_palette("colorblind", len(order))
    return palette[order.index(family)] if family in order else "grey"


def _fit_line(ax, points: pd.DataFrame, fit: Mapping | None) -> None:
    """The line y = x and, given `fit` (`groups.paper_fit` of `points`), the fitted line with
    its confidence band."""
    low = min(ax.get_xlim()[0], ax.get_ylim()[0])
    high = max(ax.get_xlim()[1], ax.get_ylim()[1])
    ax.plot([low, high], [low, high], color="0.5", ls=":", lw=1, label="y = x")
    if fit is not None:
        x = np.linspace(low, high, 50)
        line, band_low, band_high = groups.fit_band(fit, points, x)
        level = round(100 * fit["confidence"])
        ax.plot(x, line, color="0.2", lw=1, label=f"fit, slope {fit['slope']:.2f}")
        ax.fill_between(
            x, band_low, band_high, color="0.2", alpha=0.15, lw=0, label=f"{level} % CI"
        )
    ax.set(xlim=(low, high), ylim=(low, high))


def in_vs_out(table: pd.DataFrame, inside: str, outside: str, fit: Mapping | None = None):
    """Fig. 2 / 6: per model the mean SSIM in distribution (x) and on the shifted set (y), with
    95 % confidence intervals over slices, one colour per family and one marker per model of
    the family (a model scored with the resolution fix, VarNet, with its fixed score on the
    shifted set, as `groups.in_vs_out`); the line y = x and (given `fit`, `groups.paper_fit`)
    the fitted line and its confidence band over the families' models."""
    stats = tables.summarise(table, ["method", "set"], "ssim").set_index(["method", "set"])
    points = groups.in_vs_out(table, inside, outside)
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for family in dict.fromkeys(points["family"]):
        for i, model in enumerate(points.loc[points["family"] == family, "model"]):
            fixed = (f"{model}_fixed", outside) in stats.index
            x = stats.loc[(model, inside)]
            y = stats.loc[(f"{model}_fixed" if fixed else model, outside)]
            ax.errorbar(
                x["mean"],
                y["mean"],
                xerr=[[x["mean"] - x["ci_low"]], [x["ci_high"] - x["mean"]]],
                yerr=[[y["mean"] - y["ci_low"]], [y["ci_high"] - y["mean"]]],
                fmt=_MARKERS[i % len(_MARKERS)],
                color=_family_colour(family),
                capsize=2,
                label=f"{model} (resolution fix)" if fixed else model,
            )
    _fit_line(ax, groups.fitted(points), fit)
    ax.set(xlabel=f"SSIM on {inside}", ylabel=f"SSIM on {outside}")
    ax.legend(fontsize=6, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


def anatomy_panels(table: pd.DataFrame, fits: Mapping[str, Mapping] | None = None):
    """Fig. 4: per test anatomy, the SSIM of the models trained on it (x) against their versions
    trained on the other anatomy (y), one colour per family and one marker per model, with
    y = x and (given `fits`: test anatomy -> `groups.paper_fit`) the fitted line and band."""
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 3.8))
    for ax, test in zip(axes, ("brain", "knee"), strict=True):
        points = groups.anatomy_points(table, test)
        for family in dict.fromkeys(points["family"]):
            rows = points[points["family"] == family]
            for i, row in enumerate(rows.itertuples()):
                marker = _MARKERS[i % len(_MARKERS)]
                ax.plot(row.x, row.y, marker, color=_family_colour(family), label=row.model)
        _fit_line(ax, groups.fitted(points), None if fits is None else fits.get(test))
        ax.set(
            title=f"tested on {test}",
            xlabel=f"SSIM, trained on {test}",
            ylabel="SSIM, trained on the other anatomy",
        )
    axes[-1].legend(fontsize=6, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


def _errorbar(ax, x: pd.Series, y: pd.Series, **style) -> None:
    """One point at the means of two `tables.summarise` rows, with their intervals."""
    ax.errorbar(
        x["mean"],
        y["mean"],
        xerr=[[x["mean"] - x["ci_low"]], [x["ci_high"] - x["mean"]]],
        yerr=[[y["mean"] - y["ci_low"]], [y["ci_high"] - y["mean"]]],
        capsize=2,
        **style,
    )


def anatomy_by_test_set(table: pd.DataFrame):
    """Fig. 13: per training anatomy (one panel each), every model's mean SSIM on the knee
    slices (x) and on the brain slices (y) of an `anatomy_scores` table, with 95 % confidence
    intervals over slices, one colour per family and one marker per model, and y = x: a point
    above the line scores higher on brain ("brain images are naturally easier")."""
    stats = tables.summarise(table, ["trained", "method", "set"], "ssim")
    stats = stats.set_index(["trained", "method", "set"])
    trained = [a for a in ("knee", "brain") if a in set(table["trained"])]
    if not trained or not {"knee", "brain"} <= set(table["set"]):
        raise ValueError(
            f"Fig. 13 needs knee and brain test sets and a training anatomy among them, got "
            f"sets {sorted(set(table['set']))} and trained {sorted(set(table['trained']))}"
        )
    fig, axes = plt.subplots(1, len(trained), figsize=(5.0 * len(trained), 3.8), squeeze=False)
    for ax, anatomy in zip(axes[0], trained, strict=True):
        models = list(dict.fromkeys(table.loc[table["trained"] == anatomy, "method"]))
        seen: dict[str, int] = {}
        for model in models:
            family = groups.family_of(model)
            i = seen[family] = seen.get(family, -1) + 1
            _errorbar(
                ax,
                stats.loc[(anatomy, model, "knee")],
                stats.loc[(anatomy, model, "brain")],
                fmt=_MARKERS[i % len(_MARKERS)],
                color=_family_colour(family),
                label=model,
            )
        _fit_line(ax, pd.DataFrame(), None)
        ax.set(title=f"trained on {anatomy}", xlabel="SSIM on knee", ylabel="SSIM on brain")
        ax.legend(fontsize=6, frameon=False, loc="lower right")
    fig.tight_layout()
    return fig


def optimiser_panels(positions: pd.DataFrame, target: np.ndarray | None = None):
    """Fig. 16: ConvDecoder's small-feature error map for each optimiser (a positions table of
    `experiments.optimiser_maps`: optimiser, row, col, error; one colour scale shared by the
    maps, over `target` when given), and each optimiser's mean window error with its 95 %
    confidence interval over the positions."""
    optimisers = list(dict.fromkeys(positions["optimiser"]))
    fig, axes = plt.subplots(
        1,
        len(optimisers) + 1,
        figsize=(2.6 * (len(optimisers) + 1), 2.8),
        squeeze=False,
        layout="constrained",
    )
    low, high = positions["error"].min(), positions["error"].max()
    for ax, name in zip(axes[0, :-1], optimisers, strict=True):
        grid = positions[positions["optimiser"] == name].pivot(
            index="row", columns="col", values="error"
        )
        rows, cols = grid.index.to_numpy(), grid.columns.to_numpy()
        step_r = rows[1] - rows[0] if len(rows) > 1 else 1
        step_c = cols[1] - cols[0] if len(cols) > 1 else 1
        extent = (cols[0] - 0.5, cols[-1] + step_c - 0.5, rows[-1] + step_r - 0.5, rows[0] - 0.5)
        if target is not None:
            ax.imshow(target, cmap="gray")
        image = ax.imshow(
            grid.to_numpy(),
            cmap="inferno",
            vmin=low,
            vmax=high,
            alpha=0.7 if target is not None else 1.0,
            extent=extent,
            interpolation="nearest",
        )
        ax.set_title(name, fontsize=8)
        ax.axis("off")
    fig.colorbar(image, ax=axes[0, : len(optimisers)].tolist(), shrink=0.8, label="window error")
    summary = tables.summarise(positions, ["optimiser"], "error").set_index("optimiser")
    bars = axes[0, -1]
    for i, name in enumerate(optimisers):
        row = summary.loc[name]
        half = [[row["mean"] - row["ci_low"]], [row["ci_high"] - row["mean"]]]
        bars.errorbar(i, row["mean"], yerr=half, fmt="o", capsize=3, color=f"C{i}")
    bars.set_xticks(range(len(optimisers)), optimisers, rotation=30, ha="right", fontsize=7)
    bars.set(ylabel="mean window error", xlim=(-0.5, len(optimisers) - 0.5))
    return fig


def real_features(table: pd.DataFrame):
    """Fig. 8: per method the mean whole-image SSIM (x) and the mean feature error (y), with
    95 % confidence intervals over the annotated slices."""
    x = tables.summarise(table, ["method"], "ssim").set_index("method")
    y = tables.summarise(table, ["method"], "feature_mse").set_index("method")
    fig, ax = plt.subplots(figsize=(3.8, 3.0))
    for method in x.index:
        ax.errorbar(
            x.loc[method, "mean"],
            y.loc[method, "mean"],
            xerr=[
                [x.loc[method, "mean"] - x.loc[method, "ci_low"]],
                [x.loc[method, "ci_high"] - x.loc[method, "mean"]],
            ],
            yerr=[
                [y.loc[method, "mean"] - y.loc[method, "ci_low"]],
                [y.loc[method, "ci_high"] - y.loc[method, "mean"]],
            ],
            fmt="o",
            capsize=2,
            label=method,
        )
    ax.set(xlabel="SSIM (whole image)", ylabel="feature error (standardised MSE in the box)")
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def size_curves(stats: pd.DataFrame):
    """Fig. 17: each method's mean window error vs window size, min-max normalised across the
    methods at each size (the paper's "normalized information recovery error")."""
    span = stats.groupby("size")["mean"].transform(lambda v: (v.max() - v.min()) or 1.0)
    low = stats.groupby("size")["mean"].transform("min")
    normalised = stats.assign(normalised=(stats["mean"] - low) / span)
    fig, ax = plt.subplots(figsize=(3.6, 2.8))
    for method, curve in normalised.sort_values("size").groupby("method"):
        ax.plot(curve["size"], curve["normalised"], marker="o", ms=3, label=method)
    ax.set(xlabel="window size (pixels)", ylabel="normalised window error")
    ax.set_xticks(sorted(set(stats["size"])))
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def heat_map_panels(target: np.ndarray, maps: Mapping[str, np.ndarray], extent):
    """Fig. 7: the target and each method's error map, normalised to [0, 1], over the target
    (`extent` = (left, right, bottom, top) of the map on the target's pixel grid)."""
    fig, axes = plt.subplots(1, len(maps) + 1, figsize=(2.4 * (len(maps) + 1), 2.6))
    axes[0].imshow(target, cmap="gray")
    axes[0].set_title("target")
    for ax, (name, errors) in zip(axes[1:], maps.items(), strict=True):
        errors = np.asarray(errors, dtype=float)
        span = errors.max() - errors.min()
        ax.imshow(target, cmap="gray")
        ax.imshow(
            (errors - errors.min()) / (span if span > 0 else 1),
            cmap="inferno",
            alpha=0.7,
            extent=extent,
            interpolation="nearest",
        )
        ax.set_title(name)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


def example_grid(images: Mapping[str, np.ndarray], rows: Sequence[str], columns: Sequence[str]):
    """Fig. 5, 11, 12, 15: the stored example images `images["<row>/<column>"]`, one row per set
    (or set and training anatomy), one column per model after the ground truth ("target"),
    each panel scaled to its row's target."""
    missing = [f"{r}/{c}" for r in rows for c in ("target", *columns) if f"{r}/{c}" not in images]
    if missing:
        raise ValueError(f"the stored examples lack {missing}; they hold {sorted(images)}")
    fig, axes = plt.subplots(
        len(rows),
        len(columns) + 1,
        figsize=(1.9 * (len(columns) + 1), 1.9 * len(rows)),
        squeeze=False,
    )
    for row, line in zip(rows, axes, strict=True):
        top = np.percentile(images[f"{row}/target"], 99.5)
        for ax, column in zip(line, ("target", *columns), strict=True):
            ax.imshow(images[f"{row}/{column}"], cmap="gray", vmin=0, vmax=top)
            ax.set_xticks([]), ax.set_yticks([])
            if row == rows[0]:
                ax.set_title(column, fontsize=7)
        line[0].set_ylabel(row, fontsize=7)
    fig.tight_layout()
    return fig


def frequency_panels(hardness: pd.DataFrame, profile: pd.DataFrame):
    """Fig. 14: left, each candidate's low-frequency proportion against the fifth method's SSIM
    (hard ones marked); right, the mean share of k-space energy per distance from the centre
    column, hard vs the other candidates (log scale)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.6, 3.2))
    for hard, colour, name in ((True, "C3", "hard"), (False, "0.4", "rest")):
        rows = hardness[hardness["hard"] == hard]
        left.plot(rows["ssim"], rows["low_frequency_proportion"], "o", color=colour, label=name)
        line = profile[profile["group"] == name]
        right.semilogy(line["distance"], line["energy_share"], color=colour, label=name)
    left.set(xlabel="SSIM of the fifth method (TV)", ylabel="low-frequency proportion")
    right.set(xlabel="distance from the centre column", ylabel="share of k-space energy")
    left.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig
