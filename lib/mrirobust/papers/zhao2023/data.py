"""Slices of CMRxRecon mapping data for training and evaluation (real or embedded).

Each slice keeps its fully sampled series, its times and the masks of the AccFactor folders
(identical for every slice of a patient). With `readout_crop` the series is cut to the central
half of the 2x oversampled readout (inverse FFT along kx, crop, FFT back: exact, since the
readout is fully sampled); the challenge's evaluation crop (kx/3 of the stored readout) lies
inside it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mrirobust import physics
from mrirobust.data import cmrxrecon
from mrirobust.data.cmrxrecon_embedded import read_truth


@dataclass
class SeriesSlice:
    """One slice: fully sampled k-space `(T, C, H, W)`, times `(T,)` ms, masks {R: `(W,)`},
    the stored readout length, and (synthetic data) labels, pure-tissue mask and true maps."""

    kspace: torch.Tensor
    times_ms: torch.Tensor
    masks: dict
    patient: str
    index: int
    slices: int
    readout: int
    truth: dict | None = None

    @property
    def evaluated(self) -> bool:
        """One of the challenge's central slices (MATLAB round(sz/2) - 1 and round(sz/2))."""
        return self.index in eval_slices(self.slices)


def eval_slices(slices: int) -> list[int]:
    """0-based indices of the challenge's evaluated slices: the central two (all if < 3)."""
    if slices < 3:
        return list(range(slices))
    centre = int(np.floor(slices / 2 + 0.5))  # MATLAB round, half away from zero
    return [centre - 2, centre - 1]


def eval_crop(readout: int, phase: int) -> tuple[int, int]:
    """The challenge crop of a stored (kx, ky) image: round(kx / 3) x round(ky / 2)."""
    return int(np.floor(readout / 3 + 0.5)), int(np.floor(phase / 2 + 0.5))


def crop_readout(kspace: torch.Tensor) -> torch.Tensor:
    """The k-space of the central half of the readout (H): F crop F^-1 along H."""
    h, w = kspace.shape[-2:]
    return physics.fft2c(physics.center_crop(physics.ifft2c(kspace), (h // 2, w)))


def patients_of(root: str | Path, part: str, holdout: int = 0) -> tuple[str, list[str]]:
    """(split, patients) of `part`: "train" = the TrainingSet without its last `holdout`
    patients; "evaluation" = the ValidationSet when it has a FullSample folder (the synthetic
    data), else the last `holdout` TrainingSet patients (the real ValidationSet withholds its
    ground truth)."""
    if part not in ("train", "evaluation"):
        raise ValueError(f"unknown part {part!r}; valid: train, evaluation")
    training = cmrxrecon.list_patients(root, "TrainingSet")
    if part == "train":
        return "TrainingSet", training[: len(training) - holdout]
    if cmrxrecon.mapping_dir(root, "ValidationSet").is_dir():
        return "ValidationSet", cmrxrecon.list_patients(root, "ValidationSet")
    if not holdout:
        raise FileNotFoundError(
            f"{cmrxrecon.mapping_dir(root, 'ValidationSet')}: no fully sampled validation data; "
            "set the profile's holdout_patients to evaluate on held-out TrainingSet patients"
        )
    return "TrainingSet", training[len(training) - holdout :]


def load_slices(
    root: str | Path,
    part: str,
    modality: str,
    readout_crop: bool,
    max_patients: int = 0,
    holdout: int = 0,
) -> list[SeriesSlice]:
    """Every slice of `part` (`patients_of`) and modality ("T1map" | "T2map"), fully sampled,
    with the masks of every acceleration."""
    split, patients = patients_of(root, part, holdout)
    if max_patients:
        patients = patients[:max_patients]
    out = []
    for patient in patients:
        scan = cmrxrecon.read_scan(root, split, patient, modality)
        masks = {}
        for r in cmrxrecon.ACCELERATIONS:
            folder = cmrxrecon.mapping_dir(root, split, r) / patient
            mask = cmrxrecon.read_mask(folder / f"{modality}_mask.mat", r)
            masks[r] = torch.from_numpy(mask)
        truth = None
        if (Path(root) / "truth").is_dir():
            truth = read_truth(root, split, patient)
        kspace = crop_readout(scan.kspace) if readout_crop else scan.kspace
        for index in range(kspace.shape[0]):
            out.append(
                SeriesSlice(
                    kspace=kspace[index],
                    times_ms=scan.times_ms[index].float(),
                    masks=masks,
                    patient=patient,
                    index=index,
                    slices=kspace.shape[0],
                    readout=scan.kspace.shape[-2],
                    truth=None if truth is None else _slice_truth(truth, index, readout_crop),
                )
            )
    return out


def _slice_truth(truth: dict, index: int, readout_crop: bool) -> dict:
    """Labels, pure mask and T1/T2 maps `(H, W)` of one slice, cropped like the k-space."""
    out = {}
    for key in ("labels", "pure", "t1_ms", "t2_ms"):
        value = torch.from_numpy(np.asarray(truth[key][index]))
        if readout_crop:
            value = physics.center_crop(value, (value.shape[0] // 2, value.shape[1]))
        out[key] = value
    return out


def fingerprint(slices: list[SeriesSlice]) -> str:
    """A short hash of the slices' k-space, times and masks (checkpoint identity)."""
    digest = hashlib.sha256()
    for s in slices:
        digest.update(s.kspace.numpy().tobytes())
        digest.update(s.times_ms.numpy().tobytes())
        for r in sorted(s.masks):
            digest.update(s.masks[r].numpy().tobytes())
    return digest.hexdigest()[:16]
