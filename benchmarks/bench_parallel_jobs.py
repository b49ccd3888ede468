"""Two one-thread jobs at once vs one two-thread job: the choice of `runner.workflow.default_jobs`.

The workload is `runner.reference` (one cpu VarNet training step, the unit the README's timings
are stated in): the subject runs it in two processes with one thread each at the same time, the
baseline in one process with two threads. Each child reports its median step time (after a
warm-up step, so imports do not count); the throughput ratio is 2 x baseline step / subject
step (two subject steps complete in one subject step time). It only makes sense on an otherwise
idle machine with (at least) two cores; rounds alternate subject and baseline.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from _bench import write

STEPS = 10  # timed training steps per child
ROUNDS = 5
CHILD = (
    "import sys, torch; torch.set_num_threads(int(sys.argv[1]));"
    "from mrirobust.runner import reference; print(reference.step_seconds(int(sys.argv[2])))"
)


def step_times(*threads: int) -> list[float]:
    """Median step seconds of one child per entry of `threads`, all started at once."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(n), str(STEPS)], stdout=subprocess.PIPE, text=True
        )
        for n in threads
    ]
    out = [child.communicate()[0] for child in children]
    if any(child.returncode for child in children):
        raise RuntimeError("a benchmark child failed")
    return [float(text.split()[-1]) for text in out]


rounds = []
for _ in range(ROUNDS):
    subject = step_times(1, 1)
    (baseline,) = step_times(2)
    rounds.append(
        {
            "subject_step_s": subject,
            "baseline_step_s": baseline,
            "throughput_ratio": 2 * baseline / statistics.mean(subject),
        }
    )
write(
    "bench_parallel_jobs",
    {
        "what": "cpu VarNet training steps (runner.reference) per second: 2 processes x 1 "
        "thread at once (subject) vs 1 process x 2 threads (baseline); median step times",
        "steps": STEPS,
        "repeats": ROUNDS,
        "rounds": rounds,
        "ratio_subject_over_baseline_throughput": statistics.median(
            r["throughput_ratio"] for r in rounds
        ),
    },
)
