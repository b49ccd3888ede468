"""The explorer's engine: a selection (model, attack, strength, sample, optionally a second
model and which one the perturbation is crafted against) -> a `View` of images and scores,
computed once and kept in bounded caches, with the strength curves filled by every view
computed so far, and exports that a notebook cell re-creates (`record` / `recreate`).

Models live on the device their entry loads them to (`devices.default()`); the attacks and
domains return CPU images, so views, caches and exports hold CPU tensors only. `view` takes
`on_step`, called before every timed step of the computation (`costs.watch`): the widget shows
progress with it and stops a computation the user no longer wants by raising `Cancelled`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch

from mrirobust import costs
from mrirobust.explorer.catalog import Catalog, Perturbed, Unavailable

RECORD_VERSION = 1


class Cancelled(BaseException):
    """Raised from an `on_step` callback to drop a computation (a BaseException, so that no
    `except Exception` in the code it interrupts swallows it)."""


@dataclass(frozen=True)
class Selection:
    """What to show: `model` under `attack` at `strength` on `sample` (ids of the catalogue);
    `second`, a model of the same domain shown beside it under the same perturbation; `crafted`
    the model the perturbation is crafted against (None: `model`; else `model` or `second`)."""

    model: str
    attack: str
    strength: float
    sample: str
    second: str | None = None
    crafted: str | None = None

    def __post_init__(self):
        if self.crafted == self.model:  # one selection, one cache key
            object.__setattr__(self, "crafted", None)

    @property
    def crafted_on(self) -> str:
        return self.crafted or self.model

    @property
    def shown(self) -> list[str]:
        return [self.model] + ([self.second] if self.second else [])


@dataclass
class Row:
    """One shown model: its clean and attacked images and their scores."""

    model: str
    label: str
    clean: torch.Tensor
    attacked: torch.Tensor
    clean_scores: dict[str, float]
    attacked_scores: dict[str, float]


@dataclass
class View:
    """The images and scores of one selection: the sample's `target`, the target the attacked
    images are scored against (`attacked_target`), the `region` of every score, the
    perturbation image and one `Row` per shown model."""

    selection: Selection
    target: torch.Tensor
    attacked_target: torch.Tensor
    region: torch.Tensor | None
    perturbation: torch.Tensor
    perturbation_label: str
    signed: bool
    note: str
    rows: list[Row]
    pngs: dict = field(default_factory=dict, repr=False)  # encoded panels (the widget's)

    def numbers(self) -> dict[str, dict[str, dict[str, float]]]:
        """The scores, model -> {"clean": {...}, "attacked": {...}}."""
        return {
            r.model: {"clean": r.clean_scores, "attacked": r.attacked_scores} for r in self.rows
        }


@dataclass
class Curve:
    """The primary score of one shown model over the strengths computed so far."""

    label: str
    metric: str
    strengths: list[float]
    clean: list[float]
    attacked: list[float]


class LRU:
    """A dict that keeps its `size` most recently used items."""

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"cache size must be >= 1, got {size!r}")
        self.size, self._items = size, OrderedDict()

    def get(self, key):
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key, value) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key) -> bool:
        return key in self._items


def _cpu(image: torch.Tensor) -> torch.Tensor:
    return image.detach().cpu().float()


class Explorer:
    """Views of `catalog`'s selections. At most `views` views, `perturbations` perturbations,
    and `samples` samples' data are kept (least recently used first out); loaded models are
    kept. Thread-safe: the widget computes in a worker thread while the notebook's thread reads
    cached views."""

    def __init__(self, catalog: Catalog, views: int = 32, perturbations: int = 8, samples: int = 4):
        self.catalog = catalog
        self._models: dict[str, object] = {}
        self._data = LRU(samples)
        self._clean = LRU(views)
        self._perturbed = LRU(perturbations)
        self._views = LRU(views)
        # curve key -> (metric, {strength: (clean score, attacked score)})
        self._points: dict[tuple, tuple[str, dict[float, tuple[float, float]]]] = {}
        self._lock = threading.RLock()

    # selections

    def check(self, selection: Selection) -> None:
        """Raise `Unavailable`, with the message to show, when `selection` cannot be shown:
        unknown ids, a second model of another domain, an attack of another domain or that does
        not apply to the model it is crafted against, a strength off the attack's grid, or a
        model that is not trained yet (with its training announcement)."""
        catalog = self.catalog
        for name, table, value in (
            ("model", catalog.models, selection.model),
            ("attack", catalog.attacks, selection.attack),
        ):
            if value is None:
                raise Unavailable(f"no {name} to choose here")
            if value not in table:
                raise Unavailable(f"unknown {name} {value!r}; valid: {', '.join(table)}")
        entry, attack = catalog.models[selection.model], catalog.attacks[selection.attack]
        domain = catalog.domains[entry.domain]
        if selection.second is not None:
            second = catalog.models.get(selection.second)
            if second is None or second.domain != entry.domain:
                valid = ", ".join(m.id for m in catalog.models_of(domain=entry.domain))
                raise Unavailable(
                    f"side by side needs a second model of {domain.label}: one of {valid}"
                )
        if selection.crafted not in (None, *selection.shown):
            raise Unavailable(
                f"the perturbation is crafted against a shown model, not {selection.crafted!r}"
            )
        if attack.domain != entry.domain:
            raise Unavailable(
                f"{attack.label} attacks {catalog.domains[attack.domain].label}, "
                f"not {domain.label} ({entry.label})"
            )
        crafted = catalog.models[selection.crafted_on]
        if not attack.applies(crafted):
            raise Unavailable(
                f"{attack.label} ({attack.paper}) applies to {attack.requirement}, "
                f"not to {crafted.label} ({crafted.paper})"
            )
        if selection.strength not in attack.strengths:
            grid = ", ".join(attack.fmt.format(s) for s in attack.strengths)
            raise Unavailable(
                f"{attack.label}: strength {selection.strength!r} is not one of {grid}"
            )
        if selection.sample not in domain.samples():
            raise Unavailable(f"{domain.label} has no sample {selection.sample!r}")
        for model in selection.shown:
            entry = catalog.models[model]
            if entry.model_key not in self._models:
                announcement = entry.missing()
                if announcement:
                    raise Unavailable(f"{entry.label} ({entry.paper}) is not ready: {announcement}")

    def model(self, model: str):
        """The loaded model of entry `model` (loaded on first use, then kept); `Unavailable`
        while it is not trained: the explorer never trains a model."""
        entry = self.catalog.models[model]
        with self._lock:
            if entry.model_key not in self._models:
                announcement = entry.missing()
                if announcement:
                    raise Unavailable(f"{entry.label} ({entry.paper}) is not ready: {announcement}")
                self._models[entry.model_key] = entry.load()
            return self._models[entry.model_key]

    def cached(self, selection: Selection) -> View | None:
        """The view of `selection` when it was computed and is still cached, else None."""
        with self._lock:
            return self._views.get(selection)

    def view(self, selection: Selection, on_step: Callable[[str, str], None] | None = None) -> View:
        """The view of `selection`, from the cache or computed (`check` first); `on_step(kind,
        model)` is called before each timed step of the computation and may raise `Cancelled`."""
        cached = self.cached(selection)
        if cached is not None:
            return cached
        self.check(selection)
        with costs.watch(on_step or (lambda kind, model: None)):
            view = self._compute(selection)
        with self._lock:
            self._views.put(selection, view)
            for row in view.rows:
                metric = next(iter(row.attacked_scores))
                key = self._curve_key(selection, row.model)
                _, points = self._points.setdefault(key, (metric, {}))
                points[selection.strength] = (row.clean_scores[metric], row.attacked_scores[metric])
        return view

    def _sample(self, domain: str, sample: str):
        with self._lock:
            data = self._data.get((domain, sample))
        if data is None:
            data = self.catalog.domains[domain].load(sample)
            with self._lock:
                self._data.put((domain, sample), data)
        return data

    def _clean_image(self, model: str, sample: str, data) -> torch.Tensor:
        key = (self.catalog.models[model].model_key, sample)
        with self._lock:
            image = self._clean.get(key)
        if image is None:
            entry = self.catalog.models[model]
            with torch.no_grad():
                domain = self.catalog.domains[entry.domain]
                image = _cpu(domain.clean(entry, self.model(model), data))
            with self._lock:
                self._clean.put(key, image)
        return image

    def _perturbation(self, selection: Selection, data) -> Perturbed:
        crafted = self.catalog.models[selection.crafted_on]
        key = (crafted.model_key, selection.attack, selection.strength, selection.sample)
        with self._lock:
            perturbed = self._perturbed.get(key)
        if perturbed is None:
            attack = self.catalog.attacks[selection.attack]
            perturbed = attack.perturb(crafted, self.model(crafted.id), data, selection.strength)
            with self._lock:
                self._perturbed.put(key, perturbed)
        return perturbed

    def _compute(self, selection: Selection) -> View:
        catalog = self.catalog
        attack = catalog.attacks[selection.attack]
        domain = catalog.domains[attack.domain]
        data = self._sample(domain.id, selection.sample)
        target, region = _cpu(domain.target(data)), domain.region(data)
        perturbed = self._perturbation(selection, data)
        attacked_target = target if perturbed.target is None else _cpu(perturbed.target)
        region = region if perturbed.region is None else perturbed.region
        rows = []
        for model in selection.shown:
            entry = catalog.models[model]
            clean = self._clean_image(model, selection.sample, data)
            attacked = clean if perturbed.unchanged else perturbed.known.get(model)
            if attacked is None:
                with torch.no_grad():
                    attacked = perturbed.reconstruct(entry, self.model(model))
            attacked = _cpu(attacked)
            rows.append(
                Row(
                    model,
                    entry.label,
                    clean,
                    attacked,
                    attack.score(target, clean, region),
                    attack.score(attacked_target, attacked, region),
                )
            )
        return View(
            selection,
            target,
            attacked_target,
            region,
            _cpu(perturbed.perturbation),
            perturbed.label,
            perturbed.signed,
            perturbed.note,
            rows,
        )

    # strength curves

    @staticmethod
    def _curve_key(selection: Selection, model: str) -> tuple:
        return (model, selection.crafted_on, selection.attack, selection.sample)

    def curves(self, selection: Selection) -> list[Curve]:
        """The primary score of each shown model at every strength computed so far for the
        selection's attack, sample and crafted model (models without points are left out)."""
        models, curves = self.catalog.models, []
        with self._lock:
            for model in selection.shown:
                found = self._points.get(self._curve_key(selection, model))
                if found is None:
                    continue
                metric, points = found
                label = models[model].label
                if model != selection.crafted_on:
                    label += f" (crafted on {models[selection.crafted_on].label})"
                strengths = sorted(points)
                clean, attacked = zip(*(points[s] for s in strengths), strict=True)
                curves.append(Curve(label, metric, strengths, list(clean), list(attacked)))
        return curves

    # exports

    def record(self, view: View, curves: list[Curve]) -> dict:
        """The JSON record of a view: the catalogue's scale and settings, the selection, the
        scores and the curves (what `recreate` needs, and the numbers to compare)."""
        catalog, selection = self.catalog, view.selection
        attack = catalog.attacks[selection.attack]
        return {
            "version": RECORD_VERSION,
            "scale": catalog.scale,
            "settings": catalog.settings,
            "selection": asdict(selection),
            "labels": {
                "models": {m: catalog.models[m].label for m in selection.shown},
                "attack": attack.label,
                "paper": attack.paper,
                "strength": attack.readout(selection.strength),
                "sample": catalog.domains[attack.domain].samples()[selection.sample],
            },
            "note": view.note,
            "scores": view.numbers(),
            "curves": [asdict(c) for c in curves],
        }

    def recreate(self, record: dict) -> View:
        """The view of an exported `record` (`record`), computed again on this catalogue (the
        same scale); its `numbers()` equal the record's `scores` on the same machine."""
        if record.get("version") != RECORD_VERSION:
            raise ValueError(f"unknown explorer record version {record.get('version')!r}")
        if record["scale"] != self.catalog.scale:
            raise ValueError(
                f"the record is of scale {record['scale']!r}, this explorer of "
                f"{self.catalog.scale!r}"
            )
        return self.view(Selection(**record["selection"]))
