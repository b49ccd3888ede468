"""A toy catalogue for the explorer engine: images of 16 x 16 pixels, "models" that scale and
smooth them, an additive-noise attack whose steps are timed (so they report progress and can
be stopped) and can be held at a step, and an attack that applies to one model only."""

import threading

import pytest
import torch

from mrirobust import costs, metrics
from mrirobust.explorer import AttackEntry, Catalog, Domain, ModelEntry, Perturbed

SIZE = 16


class Toy(Domain):
    id = "toy"
    label = "toy images"

    def samples(self):
        return {"a": "sample a", "b": "sample b", "c": "sample c"}

    def load(self, sample):
        return torch.rand(SIZE, SIZE, generator=torch.Generator().manual_seed(ord(sample)))

    def target(self, data):
        return data

    def region(self, data):
        region = torch.zeros(SIZE, SIZE, dtype=torch.bool)
        region[4:10, 5:12] = True
        return region

    def clean(self, entry, model, data):
        return model(data)


class Other(Toy):
    id = "other"
    label = "other images"


class Scale(torch.nn.Module):
    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, image):
        return self.factor * torch.nn.functional.avg_pool2d(image[None], 3, 1, 1)[0]


def score(target, image, region):
    return {"MSE": float(metrics.mse(target[None], image[None], region[None]))}


class Noise:
    """The additive noise attack, counting its calls; `hold` (an Event) stops it in its second
    step until set (`held` is set when it waits there)."""

    steps = 4

    def __init__(self):
        self.calls, self.finished, self.hold, self.held = [], [], None, threading.Event()

    def __call__(self, entry, model, data, strength):
        self.calls.append((entry.id, strength))
        for step in range(self.steps):
            with costs.timed("attack", "toy"):
                if step == 1 and self.hold is not None:
                    self.held.set()
                    assert self.hold.wait(10), "the held attack was never released"
        self.finished.append((entry.id, strength))
        noise = torch.randn(SIZE, SIZE, generator=torch.Generator().manual_seed(0))
        perturbed = data + strength * noise
        return Perturbed(
            lambda entry, model: model(perturbed),
            strength * noise,
            signed=True,
            unchanged=strength == 0,
        )


@pytest.fixture
def toy():
    """(catalogue, the noise attack's function)."""
    noise = Noise()
    catalog = Catalog("smoke", settings={"toy": True})
    catalog.add(Toy(), Other())
    catalog.add(
        ModelEntry("toy/good", "good model", "Toy 2024", "toy", lambda: Scale(1.0)),
        ModelEntry("toy/worse", "worse model", "Toy 2024", "toy", lambda: Scale(0.8)),
        ModelEntry(
            "toy/untrained",
            "untrained model",
            "Toy 2024",
            "toy",
            lambda: Scale(1.0),
            missing=lambda: "no checkpoint: about 2 min of training",
        ),
        ModelEntry("other/model", "other model", "Other 2024", "other", lambda: Scale(1.0)),
    )
    catalog.add(
        AttackEntry(
            "toy/noise",
            "noise",
            "Toy 2024",
            "toy",
            "σ",
            (0.0, 0.1, 0.2, 0.4),
            noise,
            score,
            higher_is_better=False,
            steps=Noise.steps,
        ),
        AttackEntry(
            "toy/picky",
            "picky noise",
            "Toy 2024",
            "toy",
            "σ",
            (0.0, 0.1),
            noise,
            score,
            applies=lambda entry: entry.id == "toy/good",
            requirement="the good model only",
        ),
    )
    return catalog, noise


@pytest.fixture
def released():
    """An Event for `Noise.hold`, set at teardown so that no worker thread stays blocked."""
    event = threading.Event()
    yield event
    event.set()
