"""What the explorer offers, as entries that the paper packages register in a `Catalog`.

- A `Domain` is one kind of data: its samples (a slice and its region, e.g. a fastMRI+ box),
  the target image of a sample and a model's clean reconstruction of it. Models of one domain
  see the same inputs, so a perturbation crafted against one can be shown on another.
- A `ModelEntry` is a model of one domain: how to load it from its checkpoint, what it is
  (`tags`, e.g. "network", "untrained") and, when it is not trained yet, the announcement of
  its training (`missing`); the explorer then shows that announcement and never loads it (the
  manifest's runs train the models, the explorer never does).
- An `AttackEntry` is an attack on the models of one domain: the models it applies to, its grid
  of strengths, `perturb(entry, model, data, strength)` crafting the perturbation against one
  model (a `Perturbed`, which any model of the domain reconstructs), and `score`, the metric of
  its paper (first key: the one the strength curve plots).

The core never imports the papers: each paper's `explorer` module adds its entries to a
catalogue (`mrirobust.papers.explore` gathers the four). Images are `(h, w)` CPU tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from mrirobust import interactive, plots, zoo
from mrirobust.models.registry import ModelSpec


class Unavailable(Exception):
    """A selection the explorer cannot show (an attack that does not apply to the model, a
    model that is not trained at this scale, ...); its text is the message the widget shows."""


class Domain:
    """One kind of data. Subclasses set `id` and `label` and implement the methods below;
    `target_label` names the target image, `cmap` is the images' colour map and `unit` their
    unit (e.g. "ms")."""

    id: str
    label: str
    target_label: str = "target"
    cmap: str = "gray"
    unit: str = ""

    def samples(self) -> dict[str, str]:
        """The samples offered, id -> menu label, in menu order."""
        raise NotImplementedError

    def load(self, sample: str) -> Any:
        """The data of one sample (what `target`, `region`, `clean` and the attacks read)."""
        raise NotImplementedError

    def target(self, data) -> torch.Tensor:
        """The reference image `(h, w)` the reconstructions are scored against."""
        raise NotImplementedError

    def region(self, data) -> torch.Tensor | None:
        """The sample's region, a boolean mask `(h, w)` on the target (None: the whole image)."""
        return None

    def clean(self, entry: ModelEntry, model, data) -> torch.Tensor:
        """`model`'s image `(h, w)` of the unperturbed measurement of `data`, on the CPU."""
        raise NotImplementedError

    def display_range(self, target: torch.Tensor) -> tuple[float, float]:
        """The colour range of the images: 0 to the target's 99.5th percentile."""
        return 0.0, float(torch.quantile(target.flatten().float(), 0.995))

    def data_caption(self, scale: str) -> str:
        """The phrase naming the data of `scale` in captions (default: fastMRI's,
        `plots.data_caption`)."""
        return plots.data_caption(scale)


@dataclass(frozen=True)
class ModelEntry:
    """A model of domain `domain`; `load()` returns it ready (on `devices.default()`), called
    only when `missing()` is None; `missing()` is else the announcement of its training (what,
    about how long, which run trains it). Entries with the same `key` are one model, loaded
    once (e.g. two papers' U-Net at the same sizes)."""

    id: str
    label: str
    paper: str
    domain: str
    load: Callable[[], Any]
    missing: Callable[[], str | None] = lambda: None
    tags: frozenset[str] = frozenset()
    acceleration: int = 4
    key: str = ""

    @property
    def model_key(self) -> str:
        return self.key or self.id


def zoo_entry(
    id: str,
    label: str,
    paper: str,
    domain: str,
    spec: ModelSpec,
    tags: set[str],
    run: str = "",
) -> ModelEntry:
    """The entry of a model of the zoo (`zoo.get(spec)`), announced while it has no complete
    checkpoint as `interactive.announce_training` does (what is trained, about how long) and
    with the manifest `run` that trains it."""

    def missing() -> str | None:
        message = interactive.training_message([spec])
        if message is None or not run:
            return message
        return f"{message}\nThe run `{run}` trains it: make reproduce SCALE={spec.scale} ONLY={run}"

    return ModelEntry(
        id=id,
        label=label,
        paper=paper,
        domain=domain,
        load=lambda: zoo.get(spec),
        missing=missing,
        tags=frozenset(tags),
        acceleration=spec.acceleration,
        key=repr(spec),
    )


@dataclass
class Perturbed:
    """One attack at one strength on one sample, crafted against one model.

    `reconstruct(entry, model)` is the image `(h, w)` of any model of the domain on the
    perturbed input, in the frame of the target; `known` holds reconstructions the attack made
    anyway (by model id), so they are not computed twice; `unchanged` says the perturbed input
    is the clean one (strength 0), so the attacked images are the clean ones. `perturbation` is
    the image shown for the perturbation (`signed`: with a diverging colour map); `target`
    replaces the sample's target for the attacked images and `region` the sample's region for
    all scores (e.g. an inserted feature and its window); `note` is shown with the view (e.g.
    the worst angle found)."""

    reconstruct: Callable[[ModelEntry, Any], torch.Tensor]
    perturbation: torch.Tensor
    label: str = "perturbation"
    signed: bool = False
    known: dict[str, torch.Tensor] = field(default_factory=dict)
    unchanged: bool = False
    target: torch.Tensor | None = None
    region: torch.Tensor | None = None
    note: str = ""


@dataclass(frozen=True)
class AttackEntry:
    """An attack on the models of `domain` that `applies` to (described in `requirement`, e.g.
    "trained networks"), at the strengths `strengths` (the slider; `symbol` its label, `fmt`
    its readout format); `perturb(entry, model, data, strength) -> Perturbed`;
    `score(target, image, region) -> {name: value}` in the paper's metric, the first name the
    one the strength curve plots (`higher_is_better` for it); `steps` the timed steps
    (`costs.timed`) one perturbation takes about, for the progress bar (None: unknown)."""

    id: str
    label: str
    paper: str
    domain: str
    symbol: str
    strengths: tuple[float, ...]
    perturb: Callable[[ModelEntry, Any, Any, float], Perturbed]
    score: Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], dict[str, float]]
    applies: Callable[[ModelEntry], bool] = lambda entry: True
    requirement: str = "every model of its domain"
    fmt: str = "{:g}"
    higher_is_better: bool = True
    steps: int | None = None

    def readout(self, strength: float) -> str:
        """The strength as the slider shows it, e.g. "η 2.5 %"."""
        return f"{self.symbol} {self.fmt.format(strength)}"


@dataclass
class Catalog:
    """Every domain, model and attack on offer at `scale`, by id; `settings` are the options
    that built it (exports store them, so that a view can be re-created)."""

    scale: str
    settings: dict = field(default_factory=dict)
    domains: dict[str, Domain] = field(default_factory=dict)
    models: dict[str, ModelEntry] = field(default_factory=dict)
    attacks: dict[str, AttackEntry] = field(default_factory=dict)

    def share(self, domain: Domain) -> Domain:
        """The registered domain of `domain.id`, registering `domain` when there is none (papers
        that share a kind of data share its domain)."""
        if domain.id not in self.domains:
            self.add(domain)
        return self.domains[domain.id]

    def add(self, *entries: Domain | ModelEntry | AttackEntry) -> None:
        """Register entries; an id given twice, or an entry of an unknown domain, is an error."""
        for entry in entries:
            table = (
                self.domains
                if isinstance(entry, Domain)
                else self.models
                if isinstance(entry, ModelEntry)
                else self.attacks
            )
            if entry.id in table:
                raise ValueError(f"{entry.id!r} is registered twice")
            if not isinstance(entry, Domain) and entry.domain not in self.domains:
                raise ValueError(f"{entry.id!r}: unknown domain {entry.domain!r}; add it first")
            table[entry.id] = entry

    def papers(self) -> list[str]:
        """The papers with models, in registration order."""
        return list(dict.fromkeys(m.paper for m in self.models.values()))

    def models_of(self, paper: str | None = None, domain: str | None = None) -> list[ModelEntry]:
        return [
            m
            for m in self.models.values()
            if paper in (None, m.paper) and domain in (None, m.domain)
        ]

    def attacks_of(self, domain: str) -> list[AttackEntry]:
        return [a for a in self.attacks.values() if a.domain == domain]


def strengths(grid, points: int = 5, digits: int = 6) -> tuple[float, ...]:
    """A slider's strengths from a profile's `grid` of budgets: the grid when it has at least
    `points` values, else the grid joined with `points` evenly spaced values from 0 to its
    largest (smaller scales cut their grids for runtime; a slider needs more than two stops)."""
    values = {round(float(v), digits) for v in grid}
    if len(values) < points:
        top = max(values)
        values |= {round(top * i / (points - 1), digits) for i in range(points)}
    return tuple(sorted(values))
