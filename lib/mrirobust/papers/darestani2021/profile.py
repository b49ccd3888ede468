"""Darestani 2021 settings: the model sizes of Tables 1-2 as named configurations and the
attack section.

Each configuration is a partial override of the scale profile's `train` section
(`mrirobust.models.registry.spec(..., config=name, sizes=MODEL_SIZES[name])`).
"""

from __future__ import annotations

from mrirobust.config import Profile


def _varnet(chans: int, sens_chans: int, cascades: int) -> dict[str, int]:
    return {
        "varnet_chans": chans,
        "varnet_pools": 4,
        "varnet_sens_chans": sens_chans,
        "varnet_sens_pools": 4,
        "varnet_cascades": cascades,
    }


def _unet(layers: int, chans: int) -> dict[str, int]:
    # fastmri's Unet has 2·num_pool_layers conv levels: Darestani's 8 layers <-> 4 pools
    return {"unet_chans": chans, "unet_pools": layers // 2}


MODEL_SIZES: dict[str, dict[str, int]] = {
    # the fastMRI reference sizes (VarNet-ref, U-net-ref) and ConvDecoder's 8 x 256
    "darestani": {
        **_varnet(18, 8, 12),
        **_unet(8, 32),
        "convdecoder_layers": 8,
        "convdecoder_channels": 256,
    },
    # the variants of Tables 1-2
    "darestani_varnet2": _varnet(9, 4, 12),
    "darestani_varnet3": _varnet(9, 4, 6),
    "darestani_varnet4": _varnet(4, 2, 12),
    "darestani_varnet5": _varnet(4, 2, 6),
    "darestani_unet2": _unet(8, 16),
    "darestani_unet3": _unet(4, 16),
    "darestani_unet4": _unet(8, 8),
    "darestani_unet5": _unet(4, 8),
    # a second ConvDecoder width and the other l1 bases (Fig. 10), for the model groups
    "darestani_convdecoder2": {"convdecoder_channels": 128},
    "darestani_l1_fourier": {"l1_basis": "fourier"},
    "darestani_l1_dct": {"l1_basis": "dct"},
    # the cpu groups' extra models, smaller than their family's cpu default (U-Net 120k vs 481k
    # parameters, VarNet 35k vs 199k: benchmarks/results/bench_model_groups.json; ConvDecoder 24
    # vs 32 channels) and trained for fewer epochs
    "darestani_cpu_unet": {"unet_chans": 8, "epochs": 4},
    "darestani_cpu_varnet": {"varnet_cascades": 2, "varnet_chans": 6, "epochs": 3},
    "darestani_cpu_convdecoder": {"convdecoder_channels": 24},
    # the shape scale's paper configuration (CI: one step per loop on real-shaped files): the
    # reference sizes where one step takes at most ~20 s on 2 CPU cores (U-Net 32 / 4 pools,
    # ~6 s a training step at 320 x 320), else their pools and layers with the widths cut.
    # ConvDecoder 8 x 256 takes ~20 s an iteration at 640 x 368: 8 x 32. VarNet 12 x 18
    # (sens 8) takes ~45-70 s and ~10 GB a training step on 640 x 368 x 15 coils, and cutting
    # the widths alone does not help (12 x 4, sens 2: 125 s and 10 GB on 2 shared cores,
    # 2 x 18, sens 8: 126 s; its 15-coil tensors of every cascade dominate): 2 cascades x 4
    # (sens 2: 19 s a step on shared cores), whose cost and memory scale with the cascades
    "darestani_shape": {
        **_varnet(4, 2, 2),
        **_unet(8, 32),
        "convdecoder_layers": 8,
        "convdecoder_channels": 32,
    },
}

_CPU_GROUPS = {
    "zero_filled": ["default"],
    "unet": ["default", "darestani_cpu_unet"],
    "varnet": ["default", "darestani_cpu_varnet"],
    "l1": ["default", "darestani_l1_dct"],
    "convdecoder": ["default", "darestani_cpu_convdecoder"],
}
# the models of each family plotted in the shift figures (Fig. 2, 4, 6) and listed in the
# Tables 1-2 artifact: named configurations of MODEL_SIZES ("default": the scale profile's
# sizes); the first of each family is the one every other notebook uses
GROUPS = Profile(
    "darestani2021.groups",
    paper={
        "zero_filled": ["darestani"],
        "unet": ["darestani"] + [f"darestani_unet{i}" for i in range(2, 6)],
        "varnet": ["darestani"] + [f"darestani_varnet{i}" for i in range(2, 6)],
        "l1": ["darestani", "darestani_l1_dct", "darestani_l1_fourier"],
        "convdecoder": ["darestani", "darestani_convdecoder2"],
    },
    cpu=_CPU_GROUPS,
    smoke=_CPU_GROUPS,
    # one model per family: each costs a training step or a λ search at the paper's shapes
    shape={family: ["darestani_shape"] for family in _CPU_GROUPS},
    # one GPU-day (docs/gpu_scale.md): three U-Nets and two VarNets per anatomy, the first of
    # each being the paper's reference; a VarNet step costs ~10x a U-Net's (103 vs 10 s measured,
    # benchmarks/results/paper_steps_cpu.json)
    gpu={
        "unet": ["darestani", "darestani_unet2", "darestani_unet3"],
        "varnet": ["darestani", "darestani_varnet2"],
    },
)

# global-budget PGD, the two-step attack on un-trained methods and small-feature recovery
ATTACK = Profile(
    "darestani2021.attack",
    paper={
        "seed": 0,  # attack and fit seed
        "eps_grid": [0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08],  # ||z|| / ||y||
        "pgd_steps": 20,  # eq. 2 PGD steps (the reference: Adam, <= 2000 steps, best iterate)
        "pgd_step_size": 0.5,  # normalised PGD step, relative to the budget radius
        "two_step_steps": 250,  # joint steps of eq. 3 (the reference: <= 350 with warm-up)
        "two_step_warmup": 100,  # clean fit steps before the joint steps (the reference: 100)
        # weight of -||x - x*|| / ||x*|| in eq. 3 (dimensionless), per method: a one-off sweep
        # (not stored) on the smoke data at eps 0.08 (40 joint steps): l1's damage grows with
        # beta up to 1 (SSIM drop 0.57 vs 0.09 for noise of the same norm), ConvDecoder's is
        # largest at 0.03 (0.09 vs 0.0); the reference used 1 (l1) and 0.05 (ConvDecoder) in its
        # own units
        "two_step_beta": {"l1": 1.0, "convdecoder": 0.03},
        "recon_batch": 1,  # slices (x eps) reconstructed or attacked per call (GPU memory)
        "angles": [-4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0],  # rotation search (degrees, with 0)
        "feature_sizes": [2, 3, 4, 5],  # small-feature window sides in pixels
        "feature_stride": 1,  # window positions every `feature_stride` pixels
        "feature_lattice": [16, 32],  # windows per reconstruction on this (rows, cols) lattice
        "feature_batch": 64,  # reconstructions per forward pass
    },
    cpu={
        "eps_grid": [0.0, 0.02, 0.04, 0.08],
        "recon_batch": 8,
        "pgd_steps": 10,
        "two_step_steps": 40,
        "two_step_warmup": 20,
        "angles": [-2.0, 0.0, 2.0],
        "feature_sizes": [3, 5],
        "feature_stride": 16,
        "feature_lattice": [32, 32],
        "feature_batch": 16,
    },
    smoke={
        "eps_grid": [0.0, 0.04],
        "recon_batch": 8,
        "pgd_steps": 2,
        "two_step_steps": 3,
        "two_step_warmup": 2,
        "angles": [-2.0, 0.0, 2.0],
        "feature_sizes": [3],
        "feature_stride": 32,
        "feature_lattice": [32, 32],
        "feature_batch": 16,
    },
    # the paper's grids cut to one step: the ends of the eps grid, one PGD step, one warm-up
    # and one joint two-step step, one angle, one window size on a 2 x 2 grid of positions
    # (on one lattice: one reconstruction for l1 and ConvDecoder)
    shape={
        "eps_grid": [0.0, 0.08],
        "pgd_steps": 1,
        "two_step_steps": 1,
        "two_step_warmup": 1,
        "angles": [0.0, 4.0],
        "feature_sizes": [3],
        "feature_stride": 160,
        "feature_lattice": [160, 160],
    },
    # one GPU-day: every other budget of the paper's grid (its ends and middle kept)
    gpu={"eps_grid": [0.0, 0.02, 0.04, 0.06, 0.08]},
    # the runs' own cuts: Fig. 3 at cpu attacks three budgets (its claims compare the ends);
    # Fig. 7 at cpu takes 3 PGD steps, and at paper (and gpu) places windows every 4 pixels
    variants={
        "fig3": {"cpu": {"eps_grid": [0.0, 0.04, 0.08]}},
        "fig7": {"cpu": {"pgd_steps": 3}, "paper": {"feature_stride": 4}},
    },
)

# fastMRI-A (Fig. 6): the hardest candidates for total-variation CS (`hard_set`)
FASTMRI_A = Profile(
    "darestani2021.fastmri_a",
    paper={
        "pool_slices": 995,  # candidates (the paper: 5 mid-slices of each of 199 knee volumes)
        "hard_fraction": 0.1,  # the hardest share kept (the paper: 100 of 995)
        # TV's relative λ: the best of 1e-3, 3e-3, 1e-2, 3e-2 in a one-off (unstored) run on 4
        # smoke knee slices (mean SSIM 0.665, 0.669, 0.674, 0.654; zero-filled 0.599)
        "tv_lam": 0.01,
        "tv_iterations": 100,  # sigpy primal-dual iterations per slice
    },
    cpu={"pool_slices": 16, "hard_fraction": 0.25},
    smoke={"pool_slices": 4, "hard_fraction": 0.5, "tv_iterations": 30},
    # the two central slices of the shape data's two knee volumes, one TV iteration
    shape={"pool_slices": 2, "hard_fraction": 0.5, "tv_iterations": 1},
    # one GPU-day: 100 candidates (TV runs on the CPU, ~25 s each), the paper's hardest 10 %
    gpu={"pool_slices": 100},
)
