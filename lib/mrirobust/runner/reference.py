"""A fixed workload that makes run times measured on two machines comparable.

`step_seconds()` times one training step of the cpu-scale VarNet on a synthetic batch (fixed
seeds and shapes: only the machine varies). `python -m mrirobust reproduce` measures it after
its runs, on the machine that ran them, and stores it in `results/<scale>/reference.json`; the
README's timing table states the total in reference steps too (`mrirobust.readme`).
"""

from __future__ import annotations

import socket
import statistics
import time

from mrirobust import paths, physics, storage

WORKLOAD = (
    "one training step of the cpu-scale VarNet (Adam, L1 loss) on a batch of 2 slices of 8 "
    "coils x 192 x 140 k-space at 4x"
)
FILENAME = "reference.json"


def step_seconds(repeats: int = 3) -> float:
    """The median seconds of `WORKLOAD` at the current torch threads over `repeats` steps,
    after one warm-up step."""
    import torch

    from mrirobust.models import registry

    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = registry.build(registry.spec("varnet", "cpu"), (128, 128))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)
    shape = (2, 8, 192, 140)
    kspace = torch.complex(*(torch.randn(shape, generator=generator) for _ in range(2)))
    mask = physics.column_mask(140, 4, 0.08, 0).view(1, 1, 140)
    target = torch.rand(2, 128, 128, generator=generator)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        loss = (model(physics.apply_mask(kspace, mask), mask) - target).abs().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def measure(scale: str) -> str:
    """Time the workload now and store it in `results/<scale>/reference.json` (seconds,
    threads, host); returns the line to print."""
    import torch

    seconds = step_seconds()
    record = {
        "workload": WORKLOAD,
        "seconds": seconds,
        "threads": torch.get_num_threads(),
        "host": socket.gethostname(),
    }
    storage.write_json(paths.results_root() / scale / FILENAME, record)
    return f"reference workload ({WORKLOAD}): {seconds:.2f} s"
