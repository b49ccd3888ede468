"""mimalloc with purging off (what runs at the CPU scales get) vs glibc's malloc, on the shape
scale's heaviest kind of step: an l1 reconstruction of one real-shaped slice (ESPIRiT maps and
one FISTA iteration, as `L1Wavelet` at shape) of 18 coils x 640 x 386 (the widest real-format
test file), whose intermediate arrays exceed glibc's 32 MB mmap threshold.

Each side runs in its own one-thread process (an allocator is chosen at process start): the subject
with `runner.job.memory_environment("shape")` (mimalloc preloaded), the baseline with that of the
paper scale (the same huge-page setting, no preload). Each child times `REPEATS` reconstructions
after a warm-up (each calibrating its maps afresh) and reports the median wall time, the system and
user CPU seconds of the timed calls and its peak RSS; rounds alternate the sides. Both sides must
give the same image.

    python benchmarks/bench_allocator.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from _bench import write

from mrirobust.runner.job import memory_environment

REPEATS = 2
ROUNDS = 2
SHAPE = (18, 640, 386)  # coils, rows, columns
CHILD = r"""
import json, resource, statistics, sys, time
import torch
torch.set_num_threads(1)
from bench_espirit import problem
from mrirobust.models.l1 import L1Wavelet
from mrirobust.physics import coils as maps_module

coils, h, w = (int(v) for v in sys.argv[1:4])
kspace, mask = problem(coils, (h, w), 0.08, readout=0.5)
l1 = L1Wavelet((320, 320), lam=1e-3, iterations=1)
image = l1.reconstruct(kspace, mask)  # warm-up
before = resource.getrusage(resource.RUSAGE_SELF)
times = []
for _ in range(int(sys.argv[4])):
    maps_module._maps_cache.clear()  # calibrate afresh, as for every new k-space
    start = time.perf_counter()
    l1.reconstruct(kspace, mask)
    times.append(time.perf_counter() - start)
after = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    "median_s": statistics.median(times),
    "system_s": after.ru_stime - before.ru_stime,
    "user_s": after.ru_utime - before.ru_utime,
    "peak_rss_mb": after.ru_maxrss / 1024,
    "image_sum": float(image.double().sum()),
}))
"""


def child(env: dict[str, str]) -> dict:
    """One child process's report (see CHILD) under the environment `env`."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, *map(str, SHAPE), str(REPEATS)],
        env=env,
        cwd=Path(__file__).resolve().parent,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    base = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MIMALLOC_PURGE_DELAY")}
    preload = {**base, **memory_environment("shape")}
    if "LD_PRELOAD" not in preload:
        raise SystemExit("cmeel-mimalloc is not installed: `make venv` installs it")
    glibc = {**base, **memory_environment("paper")}  # the CUDA scales': huge pages, no preload
    rounds = [{"mimalloc": child(preload), "glibc": child(glibc)} for _ in range(ROUNDS)]
    for r in rounds:
        if r["mimalloc"]["image_sum"] != r["glibc"]["image_sum"]:
            raise SystemExit(f"the two allocators gave different images: {r}")
    ratio = statistics.median(r["glibc"]["median_s"] / r["mimalloc"]["median_s"] for r in rounds)
    write(
        "bench_allocator",
        {
            "what": "l1 reconstruction (ESPIRiT + 1 FISTA iteration) of one slice, one thread: "
            "mimalloc preloaded with purging off (subject) vs glibc malloc (baseline), both "
            "with torch's huge pages; medians per child, rounds alternate",
            "coils_rows_columns": SHAPE,
            "repeats": REPEATS,
            "rounds": rounds,
            "ratio_baseline_over_subject": ratio,
        },
    )


if __name__ == "__main__":
    main()
