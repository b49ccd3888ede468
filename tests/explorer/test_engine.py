"""The explorer engine on the toy catalogue: views and transfer, bounded caches, curves, bad
selections as messages, and exports re-created with the same numbers."""

import dataclasses
import json

import matplotlib
import pytest
import torch

from mrirobust.explorer import Explorer, Selection, Unavailable, export
from mrirobust.explorer.engine import LRU

matplotlib.use("Agg")


def _at(strength, sample="a", **rest):
    return Selection("toy/good", "toy/noise", strength, sample, **rest)


def test_a_view_scores_the_attack_and_its_transfer(toy):
    catalog, noise = toy
    explorer = Explorer(catalog)
    clean = explorer.view(_at(0.0))
    (row,) = clean.rows
    assert torch.equal(row.attacked, row.clean)  # strength 0: the clean input
    assert row.attacked_scores == row.clean_scores
    strong = explorer.view(_at(0.4, second="toy/worse"))
    good, worse = strong.rows
    assert good.attacked_scores["MSE"] > good.clean_scores["MSE"]
    assert noise.calls[-1] == ("toy/good", 0.4)  # crafted on the first model by default
    model = explorer.model("toy/worse")
    expected = model(strong.target + strong.perturbation)
    torch.testing.assert_close(worse.attacked, expected)  # the same perturbation, transferred
    explorer.view(_at(0.4, second="toy/worse", crafted="toy/worse"))
    assert noise.calls[-1] == ("toy/worse", 0.4)


def test_views_are_cached_and_the_caches_are_bounded(toy):
    catalog, noise = toy
    explorer = Explorer(catalog, views=2, perturbations=2, samples=1)
    first = explorer.view(_at(0.1))
    assert explorer.view(_at(0.1)) is first and len(noise.calls) == 1
    for strength in (0.2, 0.4):
        explorer.view(_at(strength))
    assert len(explorer._views) == 2 and len(explorer._perturbed) == 2
    assert explorer.cached(_at(0.1)) is None  # the least recently used left
    explorer.view(_at(0.1))
    assert len(noise.calls) == 4
    with pytest.raises(ValueError, match="size"):
        LRU(0)


def test_the_curve_holds_every_strength_computed(toy):
    catalog, _ = toy
    explorer = Explorer(catalog)
    for strength in (0.4, 0.0, 0.2):
        explorer.view(_at(strength, second="toy/worse"))
    explorer.view(_at(0.1))  # without the second model: the first model's curve grows
    good, worse = explorer.curves(_at(0.2, second="toy/worse"))
    assert good.strengths == [0.0, 0.1, 0.2, 0.4] and worse.strengths == [0.0, 0.2, 0.4]
    assert good.metric == "MSE" and "worse model" in worse.label
    assert good.attacked[0] == good.clean[0] < good.attacked[-1]
    assert explorer.curves(_at(0.2, sample="b")) == []  # another sample: nothing yet


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        (Selection("toy/worse", "toy/picky", 0.1, "a"), "applies to the good model only"),
        (Selection("toy/good", "toy/picky", 0.1, "a", "toy/worse", "toy/worse"), "good model"),
        (Selection("toy/untrained", "toy/noise", 0.1, "a"), "about 2 min of training"),
        (_at(0.1, second="other/model"), "second model of toy images"),
        (Selection("other/model", "toy/noise", 0.1, "a"), "attacks toy images, not other"),
        (_at(0.3), "not one of 0, 0.1, 0.2, 0.4"),
        (_at(0.1, sample="z"), "no sample 'z'"),
        (Selection("toy/nothing", "toy/noise", 0.1, "a"), "unknown model"),
    ],
)
def test_selections_that_cannot_be_shown_say_why(toy, selection, message):
    catalog, noise = toy
    with pytest.raises(Unavailable, match=message):
        Explorer(catalog).view(selection)
    assert noise.calls == []


def test_an_export_is_recreated_with_the_same_numbers(toy, tmp_path, monkeypatch):
    monkeypatch.setenv("MRIROBUST_FIGURES", str(tmp_path))
    catalog, _ = toy
    explorer = Explorer(catalog)
    explorer.view(_at(0.1, second="toy/worse", crafted="toy/worse"))
    view = explorer.view(_at(0.4, second="toy/worse", crafted="toy/worse"))
    png, path = export.export(explorer, view)
    assert png.parent == tmp_path / "smoke" / "explore" and png.read_bytes()[:4] == b"\x89PNG"
    record = json.loads(path.read_text())
    assert record["settings"] == {"toy": True} and record["labels"]["strength"] == "σ 0.4"
    assert len(record["curves"]) == 2 and record["curves"][0]["strengths"] == [0.1, 0.4]
    fresh = Explorer(toy[0])  # as a new session would build it
    again, fig = export.recreate(fresh, path)
    assert again.numbers() == record["scores"] == view.numbers()
    assert fig.axes[-1].get_xlabel().startswith("σ")
    record["scale"] = "cpu"
    with pytest.raises(ValueError, match="scale 'cpu'"):
        export.recreate(fresh, record)


def test_the_explorer_never_loads_a_model_that_is_not_trained(toy):
    catalog, _ = toy
    loads = []
    untrained = catalog.models["toy/untrained"]
    catalog.models[untrained.id] = dataclasses.replace(untrained, load=lambda: loads.append(1))
    with pytest.raises(Unavailable, match="about 2 min of training"):
        Explorer(catalog).model(untrained.id)
    assert loads == []
