"""Run time of the torch l1-wavelet FISTA solver (differentiable, ptwt wavelets) against sigpy's
`L1WaveletRecon` on the same problem: the first validation slice of a scale's embedded data,
4× random mask, ESPIRiT maps, the same λ, step and iterations; one thread each. Writes
benchmarks/results/l1.json.

    python benchmarks/bench_l1.py [--scale smoke] [--iterations 100] [--repeats 3]
"""

from __future__ import annotations

import argparse

import torch
from _bench import compare, write

from mrirobust import evaluation
from mrirobust.models.l1 import L1Wavelet, sigpy_l1_wavelet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="smoke")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--lam", type=float, default=1e-3, help="relative λ")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)

    kspace, mask, _, _ = evaluation.validation_data(args.scale, 4, 1)[0]
    kspace, mask = kspace[None], mask[None]
    recon = L1Wavelet(tuple(kspace.shape[-2:]), lam=args.lam, iterations=args.iterations)
    state = recon.init_state(kspace, mask)

    def run_torch():
        with torch.no_grad():
            return recon.fit(recon.init_state(kspace, mask, state.maps), kspace, mask)

    def run_sigpy():
        return sigpy_l1_wavelet(kspace, state.maps, state.lam, state.step, args.iterations)

    ours, ref = run_torch(), run_sigpy()
    difference = float((ours - ref).abs().norm() / ref.abs().norm())
    if difference > 0.02:
        raise RuntimeError(f"torch and sigpy l1 solutions differ by {difference:.3%}")
    write(
        "l1",
        {
            "compared": "torch FISTA (subject) vs sigpy L1WaveletRecon (baseline), same problem",
            "problem": f"{args.scale} val slice 0, k-space {tuple(kspace.shape[1:])}, 4x random",
            "iterations": args.iterations,
            "relative_lambda": args.lam,
            "repeats": args.repeats,
            "relative_image_difference": difference,
            **compare(run_torch, run_sigpy, args.repeats),
        },
    )


if __name__ == "__main__":
    main()
