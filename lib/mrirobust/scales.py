"""Scale profiles: `smoke` (CI, ~1 min per notebook on 2 CPU cores), `cpu` (the embedded data
at a size that shows each paper's effects on a laptop), `shape` (the paper configuration on a few
real-shaped files, every loop cut to one step: CI's guard for the paper path), `gpu` (the
papers' data and sizes, every loop cut to fit one GPU-day: docs/gpu_scale.md), `paper` (the
papers' data and sizes, GPU).

Sizes, iterations, grids and data sources come from here, never from hardware sniffing. Here
live the sections every paper shares: `data` (where the data come from) and `train` (model sizes
and schedules). A paper's own sections (e.g. Morshuis' `attack`) live in its package,
`mrirobust.papers.<paper>.profile`.

`train` is a `config.Profile`: the paper-scale values once, and per smaller scale only what
differs. `data` is written out per scale because the scales read different data: the paper
scale reads the real fastMRI files, the others generate the embedded stand-in with the
generator settings listed. `resolve(scale, section, overrides)` returns a copy with the
overrides merged in and rejects unknown scales, sections and keys.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from mrirobust.config import Profile
from mrirobust.paths import SCALES

DATA: dict[str, dict[str, Any]] = {
    # embedded dataset written by `python -m mrirobust data --scale smoke` (data/README.md)
    "smoke": {
        "source": "embedded",  # embedded synthetic stand-in (mrirobust.data.embedded)
        "seed": 0,  # generator seed: same seed -> byte-identical files
        "target_size": 64,  # reconstruction_rss is target_size x target_size
        "readout_oversampling": 2,  # k-space H = 2 x target_size, as in fastMRI
        "padding_columns": 4,  # unacquired zero columns on each side: W = target + 2 x 4
        "coils": 4,
        "slices_per_volume": 4,
        "knee_train_volumes": 3,
        "knee_val_volumes": 2,
        "brain_train_volumes": 2,
        "brain_val_volumes": 2,
        "knee_shifted_val_volumes": 2,
        # mean foreground / noise std (real part) per coil sample. At 150 the knee's thermal
        # noise was 2.8 % of each coil's k-space norm (3.2 % by the background estimate), above
        # the 2.5 % of the eta range Morshuis et al. explore as the scale of fastMRI's thermal
        # noise; 240 gives 1.75 % (noise std is proportional to 1 / snr)
        "snr_knee": 240.0,
        "snr_brain": 240.0,  # as the knee, so that the anatomies differ in anatomy, not noise
        "snr_shifted": 40.0,  # the shifted set's noisier acquisition, part of its shift
        "shifted_coils": 2,  # knee_shifted: other coil count, no oversampling, CORT2_FBK
        "lesions_train": 1,  # lesions per volume (plus one ACL box on the central slices)
        "lesions_val": 3,
        "min_box": 4,  # boxes grown to at least this many pixels per side
        "intensity_scale": 1e-3,  # phantom intensities (<= ~1) times this, like fastMRI
        "max_files": 0,  # files read per split folder (0: every file)
    },
    "cpu": {
        "source": "embedded",
        "seed": 0,
        "target_size": 128,
        # cpu cost (issue 12): 1.5x readout oversampling (H = 192) and 8 coils: 2.5x less
        # coil-wise work (2 x 15 / (1.5 x 8)) than fastMRI's 2x and 15 coils. Not 1x: the
        # phantom, like a leg, runs through the whole readout field of view, and without a
        # margin ESPIRiT's
        # maps fail near the cut edges (l1 on the 4x val slices: SSIM 0.596 / PSNR 13.8 dB at
        # 1x, 0.643 / 19.4 at 1.5x, 0.646 / 20.8 at 2x). 8 coils is a usual count after coil
        # compression of knee data.
        "readout_oversampling": 1.5,
        "padding_columns": 6,
        "coils": 8,
        "slices_per_volume": 10,
        "knee_train_volumes": 16,
        "knee_val_volumes": 4,
        "brain_train_volumes": 6,
        "brain_val_volumes": 3,
        "knee_shifted_val_volumes": 4,
        "snr_knee": 240.0,
        "snr_brain": 240.0,
        "snr_shifted": 40.0,
        "shifted_coils": 4,
        "lesions_train": 2,
        "lesions_val": 4,
        "min_box": 7,  # the SSIM window is 7 x 7
        "intensity_scale": 1e-3,
        "max_files": 0,
    },
    # the paper configuration on a few real-shaped files (mrirobust.data.shaped): FASTMRI_ROOT
    # when the environment sets it (its first files only), else generated ones
    "shape": {
        "source": "shape",
        "seed": 0,
        "target_size": 320,  # reconstruction_rss of the real data
        "max_files": 2,  # files read per split folder (sorted by name)
    },
    # the paper's data: the gpu scale cuts steps and evaluated slices, not the data sets
    "gpu": {
        "source": "fastmri",
        "seed": 0,
        "target_size": 320,
        "max_files": 0,
    },
    "paper": {
        "source": "fastmri",  # real fastMRI + fastMRI+ (FASTMRI_ROOT, data/paths.yaml)
        "seed": 0,
        "target_size": 320,  # reconstruction_rss of the real data
        "max_files": 0,  # files read per split folder (0: every file)
    },
}

# model sizes and training schedule (zoo.get / python -m mrirobust train)
TRAIN = Profile(
    "shared.train",
    seed_key="seed",
    paper={
        "seed": 0,  # model init, data order, masks (seeded per slice and epoch)
        "epochs": 50,  # fastMRI baselines
        "batch_size": 1,  # global batch (divided among DDP processes)
        "lr_step_size": 40,  # StepLR: lr x 0.1 every this many epochs (fastMRI)
        "unet_lr": 1e-3,  # RMSprop, L1 loss (fastMRI U-Net baseline)
        "unet_chans": 32,  # Darestani U-net-ref (fastMRI); config "morshuis" halves it
        "unet_pools": 4,
        "varnet_lr": 3e-4,  # Adam, SSIM loss (fastMRI E2E-VarNet)
        "varnet_cascades": 12,  # Darestani VarNet-ref (fastMRI)
        "varnet_chans": 18,
        "varnet_pools": 4,
        "varnet_sens_chans": 8,
        "varnet_sens_pools": 4,
        "convdecoder_layers": 8,  # Darestani: 8 layers, 256 channels
        "convdecoder_channels": 256,
        "convdecoder_iterations": 2000,  # Adam steps per reconstruction (lr 0.008)
        "convdecoder_optimiser": "adam",  # models.convdecoder.OPTIMISERS (Darestani Fig. 16)
        "l1_iterations": 200,  # FISTA iterations
        "l1_lambdas": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2],  # relative lambda grid
        "l1_tune_slices": 20,  # training slices the lambda search tunes on (never a scored one)
        "l1_basis": "wavelet",  # sparsifying basis (models.l1.BASES; Darestani Fig. 10)
        "val_slices": 100,  # validation slices evaluated after every epoch
        "steps_per_epoch": 0,  # optimiser steps per epoch (0: every batch of the training set)
        # rough seconds per epoch (l1: its whole λ search), told to notebook users before
        # training when no checkpoint of the method has recorded its own times
        # (mrirobust.interactive); paper: unmeasured guesses for one GPU and fastMRI knee
        "epoch_seconds_estimate": {"unet": 1200, "varnet": 7200, "l1": 1800},
    },
    cpu={
        # 4 epochs left both nets below l1 (val SSIM 0.57 vs 0.645, still rising); 4x val
        # SSIM of the U-Net at 12 / 20 epochs: 8 chans lr 3e-3 0.64 / 0.68, 16 chans 0.68 / 0.73
        "epochs": 12,
        "batch_size": 2,
        "unet_chans": 16,
        "unet_pools": 3,
        "varnet_lr": 3e-3,  # 6 chans, val SSIM after 4 epochs: 0.534 with 1e-3, 0.593 with 3e-3
        "varnet_cascades": 3,
        # 12 chans: 0.2 M parameters (6 chans had 0.05 M, a tenth of the U-Net's 0.48 M) for
        # ~25 % more time a step, which the coil-wise FFTs and the sensitivity net dominate
        "varnet_chans": 12,
        "varnet_pools": 2,
        "varnet_sens_chans": 2,
        "varnet_sens_pools": 2,
        "convdecoder_channels": 32,  # >= 2 x coils (15-coil data: 16 lost to zero-filled)
        "convdecoder_iterations": 150,
        "l1_iterations": 100,
        "l1_tune_slices": 4,
        "val_slices": 8,
        # measured in the whole cpu run of c046204 (2 threads): U-Net 4.4 s an epoch, VarNet
        # 27.6 s, the l1 lambda search 6.3 s
        "epoch_seconds_estimate": {"unet": 5, "varnet": 28, "l1": 7},
    },
    smoke={
        "epochs": 2,
        "batch_size": 2,
        "unet_chans": 4,
        "unet_pools": 2,
        "varnet_lr": 1e-3,
        "varnet_cascades": 2,
        "varnet_chans": 4,
        "varnet_pools": 2,
        "varnet_sens_chans": 2,
        "varnet_sens_pools": 2,
        "convdecoder_layers": 4,
        "convdecoder_channels": 8,
        "convdecoder_iterations": 10,
        "l1_iterations": 10,
        "l1_lambdas": [1e-3, 1e-2],
        "l1_tune_slices": 2,
        "val_slices": 2,
        # 2 CPU cores, measured: U-Net 0.2 s and VarNet ~1 s an epoch
        "epoch_seconds_estimate": {"unet": 1, "varnet": 2, "l1": 10},
    },
    # the paper's sizes and batch, every loop cut to one step
    shape={
        "epochs": 1,
        "steps_per_epoch": 1,
        "convdecoder_iterations": 1,
        "l1_iterations": 1,
        "l1_lambdas": [1e-3],
        "l1_tune_slices": 1,
        "val_slices": 1,
        "epoch_seconds_estimate": {"unet": 5, "varnet": 30, "l1": 30},
    },
    # one GPU-day (docs/gpu_scale.md): every network 1,500 optimiser steps at the paper's batch
    # (10 epochs of 150 shuffled batches, so every epoch draws other slices of the whole
    # training set) instead of 50 passes over it; the lr steps down at the same 80 % of the
    # schedule; the λ search on 3 slices over 3 central values of the paper's grid
    gpu={
        "epochs": 10,
        "steps_per_epoch": 150,
        "lr_step_size": 8,
        "l1_lambdas": [3e-4, 1e-3, 3e-3],
        "l1_tune_slices": 3,
        "val_slices": 20,
        # a 150-step epoch: the paper guesses x 150 / 34,742 slices; l1: 9 of the paper's 120 solves
        "epoch_seconds_estimate": {"unet": 6, "varnet": 32, "l1": 135},
    },
)

assert tuple(DATA) == SCALES
SECTIONS = ("data", "train")


def resolve(scale: str, section: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The `section` ("data" or "train") of profile `scale`, with `overrides` merged in (a new
    dict).

    Raises ValueError naming the scale, section or key when one is unknown.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; valid scales: {', '.join(SCALES)}")
    if section not in SECTIONS:
        raise ValueError(
            f"unknown profile section {section!r} for scale {scale!r}; "
            f"valid sections: {', '.join(SECTIONS)} (a paper's own sections are in "
            "mrirobust.papers.<paper>.profile)"
        )
    if section == "train":
        return TRAIN.resolve(scale, overrides)
    resolved = copy.deepcopy(DATA[scale])
    for key, value in (overrides or {}).items():
        if key not in resolved:
            raise ValueError(
                f"unknown {section!r} parameter {key!r} for scale {scale!r}; "
                f"valid keys: {', '.join(sorted(resolved))}"
            )
        resolved[key] = value
    return resolved
