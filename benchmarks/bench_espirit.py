"""Run time of the torch ESPIRiT calibration `physics.espirit_maps` against sigpy's
`EspiritCalib` (the former implementation: one numpy call per slice) on the same slice, one
thread each. Three problems, synthetic k-space (`_bench.synthetic_kspace` cut to an elliptical
support, so that the maps' crop acts, plus 1 % noise) under a 4x random mask:

- cpu-sized, ACS 11: 8 coils, 192 x 140 (the cpu data's shape), centre fraction 0.08;
- cpu-sized, ACS 22: the same slice, centre fraction 0.16;
- paper-sized: 15 coils, 640 x 368 (fastMRI knee), centre fraction 0.08 (calibration 24), the
  support within the central half of the readout rows, as in fastMRI's 2x oversampled files.

Each torch call calibrates afresh (the remembered maps of `physics.espirit_maps` are cleared).

The maps must agree with sigpy's before timing: the same crop but for at most a few pixels at
the threshold, and a relative error below 1e-4 on the others. Writes
benchmarks/results/bench_espirit.json.

    python benchmarks/bench_espirit.py [--repeats 5] [--paper-repeats 2]
"""

from __future__ import annotations

import argparse

import torch
from _bench import compare, synthetic_kspace, write
from sigpy.mri.app import EspiritCalib

from mrirobust import physics
from mrirobust.physics import coils


def problem(coils: int, shape: tuple[int, int], center_fraction: float, readout: float = 0.95):
    """Masked k-space whose image support is an ellipse spanning `readout` of the rows."""
    h, w = shape
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    support = (xs / 0.85) ** 2 + (ys / readout) ** 2 < 1
    kspace = physics.fft2c(physics.ifft2c(synthetic_kspace(1, coils, shape)) * support)
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(kspace.shape, dtype=kspace.dtype, generator=g)
    kspace = kspace + 0.01 * kspace.abs().pow(2).mean().sqrt() * noise
    mask = physics.column_mask(shape[1], 4, center_fraction, seed=0).view(1, 1, 1, -1)
    return physics.apply_mask(kspace, mask), mask


def run_problem(kspace, mask, repeats: int) -> dict:
    width = min(24, physics.acs_width(mask[0, 0, 0]))
    ksp = kspace[0].numpy()

    def run_torch():
        coils._maps_cache.clear()
        return physics.espirit_maps(kspace, mask)[0]

    def run_sigpy():
        calib = EspiritCalib(
            ksp, calib_width=width, kernel_width=min(6, width // 2), show_pbar=False
        )
        return torch.from_numpy(calib.run())

    ours, ref = run_torch(), run_sigpy()
    kept = ours.abs().sum(0) > 0
    same = kept == (ref.abs().sum(0) > 0)
    crop_mismatches = int((~same).sum())
    difference = float((ours - ref)[:, same].norm() / ref[:, same].norm())
    if crop_mismatches > 5 or difference > 1e-4:
        raise RuntimeError(
            f"torch and sigpy maps differ: {crop_mismatches} pixels cropped by one side only, "
            f"relative error {difference:.2e} on the others"
        )
    return {
        "kspace": list(kspace.shape[1:]),
        "acs_width": physics.acs_width(mask[0, 0, 0]),
        "calib_width": width,
        "kept_pixels": int(kept.sum()),
        "crop_mismatches": crop_mismatches,
        "relative_map_difference": difference,
        "repeats": repeats,
        **compare(run_torch, run_sigpy, repeats),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--paper-repeats", type=int, default=2, help="sigpy takes ~40 s a call")
    args = parser.parse_args()
    torch.set_num_threads(1)
    problems = {
        "cpu_sized_acs11": (problem(8, (192, 140), 0.08), args.repeats),
        "cpu_sized_acs22": (problem(8, (192, 140), 0.16), args.repeats),
        "paper_sized": (problem(15, (640, 368), 0.08, readout=0.5), args.paper_repeats),
    }
    results = {name: run_problem(*data, repeats) for name, (data, repeats) in problems.items()}
    write(
        "bench_espirit",
        {
            "compared": "torch espirit_maps (subject) vs sigpy EspiritCalib (baseline), same slice "
            "and calibration, ratio > 1: torch faster",
            "problems": results,
        },
    )


if __name__ == "__main__":
    main()
