"""Exports: a view saved as PNG (the `render.figure`, curves included) and its JSON record
(`Explorer.record`) under figures/<scale>/explore/, and the view re-created from that record
in a notebook cell, with the same numbers (`recreate`)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict
from pathlib import Path

import matplotlib.pyplot as plt

from mrirobust import paths, storage
from mrirobust.explorer import render
from mrirobust.explorer.engine import Curve, Explorer, View


def folder(scale: str) -> Path:
    """figures/<scale>/explore/, created on demand."""
    path = paths.figures_dir(scale) / "explore"
    path.mkdir(parents=True, exist_ok=True)
    return path


def name(view: View) -> str:
    """A file stem for `view`: model, attack and strength, and a hash of the whole selection."""
    selection = view.selection
    digest = hashlib.sha1(json.dumps(asdict(selection), sort_keys=True).encode()).hexdigest()
    stem = f"{selection.model}-{selection.attack}-{selection.strength:g}"
    return re.sub(r"[^\w.-]+", "_", stem) + f"-{digest[:8]}"


def caption(explorer: Explorer, view: View) -> str:
    """The figure's title: attack, paper, sample and the data it comes from."""
    catalog, selection = explorer.catalog, view.selection
    attack = catalog.attacks[selection.attack]
    sample = catalog.domains[attack.domain].samples()[selection.sample]
    data = catalog.domains[attack.domain].data_caption(catalog.scale)
    return f"{attack.label} ({attack.paper}) on {sample}; data: {data}"


def export(explorer: Explorer, view: View, stem: str | None = None) -> tuple[Path, Path]:
    """Write `view` with its strength curves as <stem>.png and its record as <stem>.json under
    figures/<scale>/explore/ (stem: `name(view)`); returns both paths."""
    curves = explorer.curves(view.selection)
    out = folder(explorer.catalog.scale)
    stem = stem or name(view)
    png, record = out / f"{stem}.png", out / f"{stem}.json"
    fig = render.figure(view, explorer.catalog, curves, caption(explorer, view))
    storage.atomic_write(png, lambda tmp: fig.savefig(tmp, format="png", bbox_inches="tight"))
    plt.close(fig)
    storage.write_json(record, explorer.record(view, curves))
    return png, record


def recreate(explorer: Explorer, record: dict | str | Path):
    """The exported view of `record` (a record or its JSON file) computed again by
    `explorer` (built with the record's scale and settings) and its figure, drawn with the
    record's curves: (view, figure). `view.numbers()` equals `record["scores"]`."""
    if not isinstance(record, dict):
        record = storage.read_json(Path(record))
    view = explorer.recreate(record)
    curves = [Curve(**c) for c in record["curves"]]
    return view, render.figure(view, explorer.catalog, curves, caption(explorer, view))
