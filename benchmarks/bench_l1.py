"""Run time of the torch l1-wavelet FISTA solver (differentiable) against sigpy's
`L1WaveletRecon` on the same problem: ESPIRiT maps, the same λ, step and iterations, one thread
each. Two problems:

- smoke: the first validation slice of the smoke scale's embedded data (4 coils, 128 x 72), 4x;
- cpu-sized: synthetic k-space of 15 coils, 256 x 140 (the cpu data's shape until revision d3345b6,
  now 8 x 128 x 140), 4x random mask.

The images must agree within 2 % (relative l2) before timing. Writes benchmarks/results/l1.json.

    python benchmarks/bench_l1.py [--iterations 100] [--repeats 5]
"""

from __future__ import annotations

import argparse

import torch
from _bench import compare, synthetic_kspace, write

from mrirobust import evaluation, physics
from mrirobust.models.l1 import L1Wavelet, sigpy_l1_wavelet


def smoke_problem():
    kspace, mask, _, _ = evaluation.validation_data("smoke", 4, 1)[0]
    return kspace[None], mask[None]


def cpu_sized_problem():
    kspace = synthetic_kspace(1, 15, (256, 140))
    mask = physics.column_mask(140, 4, 0.08, seed=0).view(1, 1, 1, -1)
    return physics.apply_mask(kspace, mask), mask


def run_problem(kspace, mask, iterations: int, lam: float, repeats: int) -> dict:
    recon = L1Wavelet(tuple(kspace.shape[-2:]), lam=lam, iterations=iterations)
    state = recon.init_state(kspace, mask)

    def run_torch():
        with torch.no_grad():
            return recon.fit(recon.init_state(kspace, mask, state.maps), kspace, mask)

    def run_sigpy():
        return sigpy_l1_wavelet(kspace, state.maps, state.lam, state.step, iterations)

    ours, ref = run_torch(), run_sigpy()
    difference = float((ours - ref).abs().norm() / ref.abs().norm())
    if difference > 0.02:
        raise RuntimeError(f"torch and sigpy l1 solutions differ by {difference:.3%}")
    return {
        "kspace": list(kspace.shape[1:]),
        "relative_image_difference": difference,
        **compare(run_torch, run_sigpy, repeats),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--lam", type=float, default=1e-3, help="relative λ")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    problems = {"smoke_val_slice": smoke_problem(), "cpu_sized_synthetic": cpu_sized_problem()}
    results = {
        name: run_problem(*problem, args.iterations, args.lam, args.repeats)
        for name, problem in problems.items()
    }
    write(
        "l1",
        {
            "compared": "torch FISTA (subject) vs sigpy L1WaveletRecon (baseline), same problem, "
            "ratio > 1: torch faster",
            "iterations": args.iterations,
            "relative_lambda": args.lam,
            "repeats": args.repeats,
            "problems": results,
        },
    )


if __name__ == "__main__":
    main()
