"""Slices of CMRxRecon mapping data for training and evaluation (real or embedded), streamed.

`SeriesSlices` lists (patient, slice) items and reads one slice from its file when it is
accessed, so memory grows with the slices in use, not with the data set (the real T1
TrainingSet is ~50 GB). Each slice keeps its fully sampled series, its times and the masks of
the AccFactor folders (identical for every slice of a patient); patients differ in ky and in
slice count. With `readout_crop` the series is cut to the central half of the 2x oversampled
readout (inverse FFT along kx, crop, FFT back: exact, since the readout is fully sampled); the
challenge's evaluation crop (kx/3 of the stored readout) lies inside it.
"""

from __future__ import annotations

import functools
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


@dataclass(frozen=True)
class _Patient:
    """What a slice of one patient needs besides its k-space (small: read once)."""

    split: str
    name: str
    slices: int
    readout: int
    times_ms: torch.Tensor  # (slices, T)
    masks: dict  # {R: (W,) bool}
    truth: bool


class SeriesSlices(torch.utils.data.Dataset):
    """The slices of `part` (`patients_of`) and modality ("T1map" | "T2map"), fully sampled,
    with the masks of every acceleration: item i is a `SeriesSlice` read from its file when it
    is accessed (one slice in memory at a time, whatever the size of the data set).

    `max_patients` keeps the first patients, `evaluated` only the challenge's central slices,
    `max_slices` the first slices left (0: no limit). Patients differ in ky and slice count;
    every slice carries its own shape and masks. Truth (labels, maps) is read when the data
    have it (the synthetic data's `truth/` folder; real CMRxRecon has none)."""

    def __init__(
        self,
        root: str | Path,
        part: str,
        modality: str,
        readout_crop: bool,
        max_patients: int = 0,
        holdout: int = 0,
        evaluated: bool = False,
        max_slices: int = 0,
    ):
        self.root, self.modality, self.readout_crop = Path(root), modality, readout_crop
        split, names = patients_of(root, part, holdout)
        self.patients = [self._patient(split, name) for name in names[: max_patients or None]]
        self.items = [
            (p, index)
            for p, patient in enumerate(self.patients)
            for index in range(patient.slices)
            if not evaluated or index in eval_slices(patient.slices)
        ][: max_slices or None]

    def _patient(self, split: str, name: str) -> _Patient:
        mat = cmrxrecon.mapping_dir(self.root, split) / name / f"{self.modality}.mat"
        _, slices, _, _, readout = cmrxrecon.kspace_shape(mat, cmrxrecon.kspace_variable(None))
        masks = {
            r: torch.from_numpy(
                cmrxrecon.read_mask(
                    cmrxrecon.mapping_dir(self.root, split, r) / name / f"{self.modality}_mask.mat",
                    r,
                )
            )
            for r in cmrxrecon.ACCELERATIONS
        }
        times = cmrxrecon.read_times(mat.with_suffix(".csv"), slices)
        return _Patient(
            split=split,
            name=name,
            slices=slices,
            readout=readout,
            times_ms=torch.from_numpy(times).float(),
            masks=masks,
            truth=(self.root / "truth").is_dir(),
        )

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> SeriesSlice:
        p, index = self.items[i]
        patient = self.patients[p]
        scan = cmrxrecon.read_scan(
            self.root, patient.split, patient.name, self.modality, None, index
        )
        kspace = crop_readout(scan.kspace[0]) if self.readout_crop else scan.kspace[0]
        truth = None
        if patient.truth:
            truth = _slice_truth(
                read_truth(self.root, patient.split, patient.name), index, self.readout_crop
            )
        return SeriesSlice(
            kspace=kspace,
            times_ms=patient.times_ms[index],
            masks=patient.masks,
            patient=patient.name,
            index=index,
            slices=patient.slices,
            readout=patient.readout,
            truth=truth,
        )

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    @functools.cached_property
    def fingerprint(self) -> str:
        """A short hash of the slices' k-space, times and masks (checkpoint identity), read
        one slice at a time."""
        digest = hashlib.sha256()
        for s in self:
            digest.update(s.kspace.numpy().tobytes())
            digest.update(s.times_ms.numpy().tobytes())
            for r in sorted(s.masks):
                digest.update(s.masks[r].numpy().tobytes())
        return digest.hexdigest()[:16]


def _slice_truth(truth: dict, index: int, readout_crop: bool) -> dict:
    """Labels, pure mask and T1/T2 maps `(H, W)` of one slice, cropped like the k-space."""
    out = {}
    for key in ("labels", "pure", "t1_ms", "t2_ms"):
        value = torch.from_numpy(np.asarray(truth[key][index]))
        if readout_crop:
            value = physics.center_crop(value, (value.shape[0] // 2, value.shape[1]))
        out[key] = value
    return out
