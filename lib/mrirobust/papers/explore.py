"""The explorer of the papers (`mrirobust.explorer`): one catalogue of the models and attacks
that each paper's `explorer.register` adds, the widget over it, and exported views re-created.

    explorer = explore.explorer(scale, papers=["morshuis2022"])   # one paper's configuration
    display(explore.widget(explorer, model="morshuis2022/unet_4x", attack="morshuis2022/box_pgd"))
    view, fig = explore.recreate("figures/cpu/explore/<name>.json")

`options` holds each paper's keyword arguments of its `register` (e.g. {"morshuis2022":
{"config": "morshuis"}}); exports store them with the scale, so `recreate` builds the same
catalogue again.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from mrirobust import storage
from mrirobust.explorer import Catalog, Explorer, ExplorerWidget, Selection, export
from mrirobust.papers.darestani2021 import explorer as darestani2021
from mrirobust.papers.huang_liang import explorer as huang_liang
from mrirobust.papers.morshuis2022 import explorer as morshuis2022
from mrirobust.papers.zhao2023 import explorer as zhao2023

REGISTER = {
    "morshuis2022": morshuis2022.register,
    "darestani2021": darestani2021.register,
    "huang_liang": huang_liang.register,
    "zhao2023": zhao2023.register,
}


def catalog(
    scale: str, papers=tuple(REGISTER), samples: int | None = 8, options: dict | None = None
) -> Catalog:
    """The catalogue of `papers` at `scale`, `samples` samples per domain (None: all), each
    paper registered with its `options`."""
    options = {paper: dict(value) for paper, value in (options or {}).items()}
    unknown = sorted(set(papers) - set(REGISTER)) + sorted(set(options) - set(papers))
    if unknown:
        raise ValueError(f"unknown or unselected papers {unknown}; valid: {', '.join(REGISTER)}")
    settings = {"papers": list(papers), "samples": samples, "options": options}
    found = Catalog(scale, settings)
    for paper in papers:
        REGISTER[paper](found, samples=samples, **options.get(paper, {}))
    return found


def explorer(scale: str, **settings) -> Explorer:
    """An `Explorer` over `catalog(scale, **settings)`."""
    return Explorer(catalog(scale, **settings))


def first(explorer: Explorer, model: str, attack: str, strength: float | None = None, **rest):
    """A `Selection` of `model` under `attack` at `strength` (None: the weakest) on the
    domain's first sample unless `rest` names one."""
    catalog = explorer.catalog
    if attack not in catalog.attacks:
        raise ValueError(f"unknown attack {attack!r}; valid: {', '.join(catalog.attacks)}")
    domain = catalog.domains[catalog.attacks[attack].domain]
    strength = catalog.attacks[attack].strengths[0] if strength is None else strength
    sample = rest.pop("sample", next(iter(domain.samples())))
    return Selection(model, attack, strength, sample, **rest)


def announce(explorer: Explorer) -> dict[str, str]:
    """Print which offered models are not trained yet, with their training time and the run
    that trains them (the explorer shows the same message when one is chosen); returns them
    by model id."""
    missing = {m.id: text for m in explorer.catalog.models.values() if (text := m.missing())}
    if not missing:
        print(f"scale {explorer.catalog.scale!r}: every model offered here is ready.")
    for model, text in missing.items():
        entry = explorer.catalog.models[model]
        print(f"{entry.label} ({entry.paper}) is not ready: {text}")
    return missing


def snapshots(explorer: Explorer, views: list[dict]) -> list[dict]:
    """Each of `views` (keyword arguments of `first`) at its attack's weakest and strongest
    strength, computed and exported (`export.export`); one row each: the files, the selection
    and the scores."""
    rows = []
    for view in views:
        attack = explorer.catalog.attacks[view["attack"]]
        for strength in (attack.strengths[0], attack.strengths[-1]):
            selection = first(explorer, **{**view, "strength": strength})
            shown = explorer.view(selection)
            png, record = export.export(explorer, shown)
            rows.append(
                {
                    "png": str(png),
                    "json": str(record),
                    "selection": asdict(selection),
                    "scores": shown.numbers(),
                }
            )
    return rows


def widget(explorer: Explorer, **selection) -> ExplorerWidget:
    """The explorer's widget starting at `first(explorer, **selection)`."""
    return ExplorerWidget(explorer, first(explorer, **selection))


def recreate(path: str | Path):
    """The view exported as the JSON file `path`, computed again with the catalogue it was
    made with, and its figure: (view, figure). `view.numbers()` equals the file's `scores`."""
    record = storage.read_json(Path(path))
    return export.recreate(explorer(record["scale"], **record["settings"]), record)
