"""Training cost of the Darestani 2021 cpu model groups: one training step (forward and
backward, batch 2) of each group's extra model against its family's cpu default, on synthetic
k-space of the cpu data's shape (8 coils, 128 x 140, 4x). The default's measured epoch time
(`scales.TRAIN` cpu `epoch_seconds_estimate`, on the former 15-coil 256 x 140 data) times the
default's step-time ratio of the new to the former data shape, times the epochs, over the step
ratio of extra model to default, estimates each extra model's training.

    python benchmarks/bench_model_groups.py [--repeats 5]
"""

from __future__ import annotations

import argparse

import torch
from _bench import compare, synthetic_kspace, write

from mrirobust import papers, physics, scales
from mrirobust.models import registry
from mrirobust.papers.darestani2021.profile import GROUPS

SHAPE, COILS, TARGET = (128, 140), 8, (128, 128)
FORMER_SHAPE, FORMER_COILS = (256, 140), 15  # the data the epoch estimates were measured on


def step(model, kspace, mask):
    def run():
        model.zero_grad()
        model(kspace, mask).mean().backward()

    return run


def main(repeats: int) -> None:
    torch.manual_seed(0)
    kspace = synthetic_kspace(2, COILS, SHAPE)
    mask = physics.column_mask(SHAPE[1], 4, 0.08, seed=0).view(1, 1, 1, -1)
    y = physics.apply_mask(kspace, mask)
    former = physics.apply_mask(synthetic_kspace(2, FORMER_COILS, FORMER_SHAPE), mask)
    seconds = scales.resolve("cpu", "train")["epoch_seconds_estimate"]
    groups, rows = GROUPS.resolve("cpu"), {}
    for family in ("unet", "varnet"):
        default, *extra = (papers.model_spec(family, "cpu", config=c) for c in groups[family])
        for spec in extra:
            models = [registry.build(s, TARGET).train() for s in (spec, default)]
            timing = compare(step(models[0], y, mask), step(models[1], y, mask), repeats)
            data = compare(step(models[1], y, mask), step(models[1], former, mask), repeats)
            epoch = seconds[family] / data["ratio_baseline_over_subject"]
            estimate = epoch * spec.params["epochs"]
            rows[spec.config] = {
                **timing,
                "default_step_former_over_new_data": data["ratio_baseline_over_subject"],
                "default_epoch_s_new_data": epoch,
                "parameters": sum(p.numel() for p in models[0].parameters()),
                "default_parameters": sum(p.numel() for p in models[1].parameters()),
                "epochs": spec.params["epochs"],
                "default_epochs": default.params["epochs"],
                "estimated_training_s": estimate / timing["ratio_baseline_over_subject"],
            }
    write(
        "bench_model_groups",
        {
            "compared": "train step of each cpu group model vs its family's cpu default",
            "kspace": [2, COILS, *SHAPE],
            "repeats": repeats,
            "models": rows,
            "estimated_total_training_s": sum(r["estimated_training_s"] for r in rows.values()),
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    main(parser.parse_args().repeats)
