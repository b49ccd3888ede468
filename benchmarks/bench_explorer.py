"""The explorer's responsiveness (`mrirobust.explorer`), on a synthetic catalogue at fastMRI's
image size (320 x 320), side by side (two models: 8 panels):

- cached redraw: moving the widget's strength slider to a position computed before (the
  notebook's thread draws it from the cached view: panel PNGs kept with the view, the strength
  curve as SVG), against drawing the same view as one matplotlib figure (`render.figure` to
  PNG, the way the former Morshuis explorer drew every position). Target: <= 0.2 s.
- first draw: encoding a freshly computed view's panels (Pillow) and curve, the drawing part
  of an uncached position.
- interruption: a 40-step attack of ~25 ms a timed step is running when the slider moves on;
  the time until it has stopped (`Cancelled` at its next step), against the attack's duration.
- a real uncached position against the cached redraw: Morshuis' box-targeted k-space PGD (the
  cpu profile's 10 steps) through an untrained U-Net of the cpu sizes on a smoke knee box,
  side by side with the cpu-size VarNet, computed by the widget's worker (what a new η costs),
  against moving back to a position already computed.

Writes benchmarks/results/bench_explorer.json.
"""

from __future__ import annotations

import statistics
import time

import matplotlib
import torch
from _bench import compare, write

from mrirobust import costs, metrics
from mrirobust.explorer import (
    AttackEntry,
    Catalog,
    Domain,
    Explorer,
    ExplorerWidget,
    ModelEntry,
    Perturbed,
    Selection,
    render,
)
from mrirobust.widgets import figure_png

matplotlib.use("Agg")
torch.set_num_threads(1)
SIZE, STEPS, STEP_S, REPEATS = 320, 40, 0.025, 7
STRENGTHS = (0.0, 0.05, 0.1, 0.2)


class Phantom(Domain):
    id, label = "phantom", "smooth random images"

    def samples(self):
        return {"0": "image 0"}

    def load(self, sample):
        coarse = torch.rand(1, 1, 20, 20, generator=torch.Generator().manual_seed(0))
        return torch.nn.functional.interpolate(coarse, size=(SIZE, SIZE), mode="bicubic")[0, 0]

    def target(self, data):
        return data

    def region(self, data):
        region = torch.zeros(SIZE, SIZE, dtype=torch.bool)
        region[140:180, 100:170] = True
        return region

    def clean(self, entry, model, data):
        return model(data)


def smooth(factor: float):
    return lambda image: factor * torch.nn.functional.avg_pool2d(image[None], 3, 1, 1)[0]


def noise(entry, model, data, strength):
    """Gaussian noise of std `strength`, after STEPS timed steps of STEP_S each."""
    for _ in range(STEPS):
        with costs.timed("attack", "phantom"):
            time.sleep(STEP_S)
    z = strength * torch.randn(SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    return Perturbed(lambda entry, model: model(data + z), z, signed=True, unchanged=strength == 0)


def score(target, image, region):
    return {"region SSIM": float(metrics.ssim(target[None], image[None], region=region[None]))}


def catalog() -> Catalog:
    found = Catalog("smoke")
    found.add(Phantom())
    found.add(
        ModelEntry("a", "model A", "bench", "phantom", lambda: smooth(1.0)),
        ModelEntry("b", "model B", "bench", "phantom", lambda: smooth(0.9)),
    )
    found.add(
        AttackEntry("noise", "noise", "bench", "phantom", "σ", STRENGTHS, noise, score, steps=STEPS)
    )
    return found


def main() -> None:
    explorer = Explorer(catalog())
    first = Selection("a", "noise", STRENGTHS[0], "0", second="b")
    widget = ExplorerWidget(explorer, first)
    widget.widget()
    for strength in STRENGTHS[1:]:  # compute every position once
        widget.strength.value = strength
        widget.future.result()
    positions = iter(STRENGTHS * 100)

    def cached_move():
        widget.strength.value = next(positions)
        assert widget.current.selection.strength == widget.strength.value  # drawn at once

    view = explorer.cached(Selection("a", "noise", STRENGTHS[-1], "0", second="b"))

    def matplotlib_draw():
        figure_png(render.figure(view, explorer.catalog, explorer.curves(view.selection)))

    redraw = compare(cached_move, matplotlib_draw, REPEATS)

    def first_draw():
        view.pngs.clear()
        widget._show(view)

    encode = compare(first_draw, matplotlib_draw, REPEATS)

    stops, durations = [], []
    for strength in (0.3, 0.4, 0.5):
        explorer.catalog.attacks["noise"] = AttackEntry(
            "noise", "noise", "bench", "phantom", "σ", (*STRENGTHS, strength), noise, score
        )
        widget.select(Selection("a", "noise", strength, "0"))
        running = widget.future
        time.sleep(STEPS * STEP_S / 4)  # a quarter of the way through
        moved = time.perf_counter()
        widget.strength.value = STRENGTHS[1]  # cached: drawn at once, the attack stops
        running.result()
        stops.append(time.perf_counter() - moved)
        start = time.perf_counter()
        explorer.view(Selection("b", "noise", strength, "0"))  # the whole attack, for scale
        durations.append(time.perf_counter() - start)
    real = real_attack()
    write(
        "bench_explorer",
        {
            "image_size": SIZE,
            "panels": 8,
            "repeats": REPEATS,
            "cached_redraw": {
                "subject": "strength slider to a cached position (cached panel PNGs, SVG curve)",
                "baseline": "the same view as one matplotlib figure to PNG",
                **redraw,
                "target_s": 0.2,
            },
            "first_draw": {
                "subject": "panels of a fresh view encoded with Pillow, SVG curve",
                "baseline": "the same view as one matplotlib figure to PNG",
                **encode,
            },
            "interruption": {
                "attack_steps": STEPS,
                "step_s": STEP_S,
                "stop_after_move_s": statistics.median(stops),
                "attack_s": statistics.median(durations),
            },
            "real_attack": real,
        },
    )


def real_attack() -> dict:
    """Morshuis' box PGD at a new η (uncached, the worker) vs moving back to a cached η."""
    from mrirobust import papers, zoo
    from mrirobust.models import registry
    from mrirobust.papers.morshuis2022 import explorer as morshuis

    found = Catalog("smoke")
    steps = morshuis.profile.attack("cpu")["pgd_steps"]
    morshuis.register(found, samples=1, accelerations=(4,), attack_overrides={"pgd_steps": steps})
    for model in list(found.models):
        entry = found.models[model]
        spec = papers.model_spec(model.split("/")[1].split("_")[0], "cpu", 4)
        torch.manual_seed(0)
        net = registry.build(spec, zoo.image_size("smoke")).eval()
        found.models[model] = ModelEntry(
            entry.id,
            entry.label,
            entry.paper,
            entry.domain,
            lambda net=net: net,
            tags=entry.tags,
            acceleration=4,
        )
    explorer = Explorer(found)
    attack = found.attacks["morshuis2022/box_pgd"]
    sample = next(iter(found.domains["fastmri_knee"].samples()))
    start = Selection("morshuis2022/unet_4x", attack.id, 0.0, sample, "morshuis2022/varnet_4x")
    widget = ExplorerWidget(explorer, start)
    widget.widget()
    uncached = []
    for strength in attack.strengths[1:]:
        moved = time.perf_counter()
        widget.strength.value = strength
        widget.future.result()
        uncached.append(time.perf_counter() - moved)
    cached = []
    for strength in attack.strengths * 3:
        moved = time.perf_counter()
        widget.strength.value = strength
        cached.append(time.perf_counter() - moved)
        assert widget.current.selection.strength == strength  # drawn at once
    return {
        "subject": "strength slider back to a computed η (cached view)",
        "baseline": "strength slider to a new η: box PGD on the U-Net, the VarNet's image",
        "models": "untrained U-Net and VarNet of the cpu sizes, smoke knee slice (64 x 64)",
        "pgd_steps": attack.steps,
        "subject_s": statistics.median(cached),
        "baseline_s": statistics.median(uncached),
        "ratio_baseline_over_subject": statistics.median(uncached) / statistics.median(cached),
    }


if __name__ == "__main__":
    main()
