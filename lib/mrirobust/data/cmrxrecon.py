"""CMRxRecon 2023 mapping data (MATLAB v7.3 files through h5py): read and write.

Layout under a root (``CMRXRECON_ROOT``, the folder that holds ``MultiCoil/``)::

    MultiCoil/Mapping/{TrainingSet,ValidationSet}/FullSample/P###/{T1map,T2map}.{mat,csv}
    MultiCoil/Mapping/{TrainingSet,ValidationSet}/AccFactor{04,08,10}/P###/
        {T1map,T2map}.mat, {T1map,T2map}_mask.mat, {T1map,T2map}.csv

One variable per .mat: ``kspace_full`` (FullSample) or ``kspace_subRR`` (AccFactorRR, the full
shape with zeros on unsampled lines); mask files hold ``maskRR``. Through h5py the k-space axis
order is (weighting, slice, coil, ky, kx) (MATLAB's (kx, ky, coil, slice, weighting) reversed)
with the compound dtype [('real', '<f4'), ('imag', '<f4')]; masks are (ky, kx), each ky row
constant. kx is the fully sampled readout, ky the undersampled phase encoding. Masks are
equispaced lines ``ky[0::R]`` plus a centred block of ACS lines (24 in the real data), whose
width is inferred from the mask. ``T1map.csv`` holds a header row, then one row per inversion
time (TI1..TI9) with one column per slice, in ms; ``T2map.csv`` a header row, then one row per
T2-preparation time (TE1..TE3) with one value shared by all slices.

The project's convention on read: k-space (slices, weightings, coils, H = kx, W = ky), so that
`physics.fft2c` / `ifft2c` and column masks over W apply unchanged.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch

from mrirobust import physics
from mrirobust.storage import atomic_write

MODALITIES = {"T1map": 9, "T2map": 3}  # weightings per modality: MOLLI TIs, T2-prep TEs
TIME_NAMES = {"T1map": "TI", "T2map": "TE"}
ACCELERATIONS = (4, 8, 10)
SPLITS = ("TrainingSet", "ValidationSet")
MIN_ACS_LINES = 4  # a centred run of fewer sampled lines is no calibration block
COMPLEX_DTYPE = np.dtype([("real", "<f4"), ("imag", "<f4")])
MAT_HEADER_DATE = "Sat Jan 01 00:00:00 2000"  # fixed, so the same data give identical bytes


def mapping_dir(root: str | os.PathLike, split: str, acceleration: int | None = None) -> Path:
    """``root/MultiCoil/Mapping/<split>/{FullSample | AccFactorRR}``."""
    if split not in SPLITS:
        raise ValueError(f"unknown CMRxRecon split {split!r}; valid: {', '.join(SPLITS)}")
    if acceleration is not None and acceleration not in ACCELERATIONS:
        raise ValueError(
            f"unknown acceleration {acceleration!r}; valid: {ACCELERATIONS} or None (FullSample)"
        )
    folder = "FullSample" if acceleration is None else f"AccFactor{acceleration:02d}"
    return Path(root) / "MultiCoil" / "Mapping" / split / folder


def kspace_variable(acceleration: int | None) -> str:
    """``kspace_full`` for fully sampled files, else ``kspace_subRR``."""
    return "kspace_full" if acceleration is None else f"kspace_sub{acceleration:02d}"


def _check_modality(modality: str) -> int:
    if modality not in MODALITIES:
        raise ValueError(f"unknown mapping modality {modality!r}; valid: {', '.join(MODALITIES)}")
    return MODALITIES[modality]


def _modality_of(path: Path) -> str:
    modality = path.name.split(".")[0].removesuffix("_mask")
    _check_modality(modality)
    return modality


def _open(path: Path) -> h5py.File:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such CMRxRecon file")
    if not h5py.is_hdf5(path):
        raise ValueError(f"{path}: not a MATLAB v7.3 (HDF5) file")
    return h5py.File(path, "r")


def _variable(f: h5py.File, path: Path, name: str) -> h5py.Dataset:
    if name not in f:
        found = ", ".join(sorted(f.keys())) or "nothing"
        raise KeyError(f"{path}: variable {name!r} not found (the file holds {found})")
    return f[name]


def _kspace_dataset(f: h5py.File, path: Path, variable: str) -> h5py.Dataset:
    """The k-space variable, checked: compound real/imag dtype, h5py axis order."""
    frames = MODALITIES[_modality_of(path)]
    data = _variable(f, path, variable)
    names = data.dtype.names or ()
    if set(names) != {"real", "imag"}:
        raise ValueError(
            f"{path}: variable {variable!r} has dtype {data.dtype}; expected the compound "
            f"MATLAB complex type with fields 'real' and 'imag'"
        )
    if data.ndim != 5 or data.shape[0] != frames:
        hint = (
            " (it looks like MATLAB order (kx, ky, coil, slice, weighting))"
            if data.ndim == 5 and data.shape[-1] == frames
            else ""
        )
        raise ValueError(
            f"{path}: variable {variable!r} has shape {data.shape}; expected "
            f"(weighting={frames}, slice, coil, ky, kx){hint}"
        )
    return data


def kspace_shape(path: str | os.PathLike, variable: str) -> tuple[int, ...]:
    """The h5py shape (weighting, slice, coil, ky, kx) of a mapping file's k-space, read from
    the header only."""
    path = Path(path)
    with _open(path) as f:
        return tuple(_kspace_dataset(f, path, variable).shape)


def read_kspace(path: str | os.PathLike, variable: str, index: int | None = None) -> np.ndarray:
    """k-space of a mapping .mat file in h5py order (weighting, slice, coil, ky, kx), complex64;
    with `index`, only that slice (the slice axis kept, of length 1), read alone from the file.

    The weighting count comes from the file name (T1map: 9, T2map: 3). Raises naming the file
    and variable when the variable is missing, the dtype is not the compound real/imag pair,
    the axes are not in h5py order (e.g. a file written in MATLAB's order by mistake) or
    `index` is not a slice of the file.
    """
    path = Path(path)
    with _open(path) as f:
        data = _kspace_dataset(f, path, variable)
        if index is None:
            raw = data[()]
        elif 0 <= index < data.shape[1]:
            raw = data[:, index : index + 1]
        else:
            raise IndexError(
                f"{path}: slice {index} of variable {variable!r}; valid: 0..{data.shape[1] - 1}"
            )
    return (raw["real"] + 1j * raw["imag"]).astype(np.complex64)


def check_acs(mask, where: str = "mask") -> int:
    """Width of the ACS block of a `(ky,)` line mask: the contiguous sampled lines around the
    centre line ky // 2 (`physics.acs_width`). Raises naming `where` when the centre line is not
    sampled or the block is narrower than MIN_ACS_LINES."""
    mask = torch.as_tensor(np.asarray(mask, dtype=bool))
    width = physics.acs_width(mask) if mask[len(mask) // 2] else 0
    if width < MIN_ACS_LINES:
        raise ValueError(
            f"{where}: no ACS block: {width} contiguous sampled line(s) around the centre line "
            f"{len(mask) // 2} of {len(mask)}; need at least {MIN_ACS_LINES}"
        )
    return width


def read_mask(path: str | os.PathLike, acceleration: int) -> np.ndarray:
    """The sampled ky lines `(ky,)` bool of a ``*_mask.mat`` file (variable ``maskRR``).

    Checks that every ky row is constant along kx and that the mask has an ACS block.
    """
    path = Path(path)
    variable = f"mask{acceleration:02d}"
    with _open(path) as f:
        data = _variable(f, path, variable)[()]
    if data.ndim != 2:
        raise ValueError(f"{path}: variable {variable!r} has shape {data.shape}; expected (ky, kx)")
    if data.dtype.names:
        raise ValueError(f"{path}: variable {variable!r} has compound dtype {data.dtype}")
    sampled = data != 0
    if not (sampled == sampled[:, :1]).all():
        raise ValueError(
            f"{path}: variable {variable!r} is not constant along kx (axis 1); expected whole "
            f"ky lines sampled, h5py order (ky, kx)"
        )
    check_acs(sampled[:, 0], f"{path}: variable {variable!r}")
    return sampled[:, 0]


def read_times(path: str | os.PathLike, slices: int) -> np.ndarray:
    """Inversion / preparation times in ms, `(slices, weightings)` float64, from a mapping CSV.

    Skips the header row and blank rows; each further row is one weighting: a label, then the
    values (one per slice, or a single value shared by all slices); empty trailing cells are
    ignored. Raises naming the file when a value is missing or not a number, or when there are
    too few rows or columns.
    """
    path = Path(path)
    frames = MODALITIES[_modality_of(path)]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such timing file")
    with open(path, newline="") as f:
        rows = [[cell.strip() for cell in row] for row in csv.reader(f)][1:]
    rows = [row for row in rows if any(row)]
    if len(rows) != frames:
        raise ValueError(
            f"{path}: {len(rows)} timing row(s) after the header; expected {frames} "
            f"({TIME_NAMES[_modality_of(path)]}1..{frames}), one per weighting"
        )
    times = np.empty((frames, slices))
    for i, row in enumerate(rows):
        cells = row[1:]
        while cells and not cells[-1]:
            cells.pop()
        if len(cells) not in (1, slices) and len(cells) < slices:
            raise ValueError(
                f"{path}: row {i + 2} ({row[0]!r}) has {len(cells)} value(s); expected one per "
                f"slice ({slices}) or one shared by all slices"
            )
        try:
            values = [float(cell) for cell in cells[:slices]]
        except ValueError as err:
            raise ValueError(f"{path}: row {i + 2} ({row[0]!r}): {err}") from err
        times[i] = values if len(values) == slices else values[0]
    return times.T


@dataclass(frozen=True)
class MappingScan:
    """One patient's mapping series, in the project's convention.

    kspace `(slices, weightings, coils, H, W)` complex64 with H = kx (readout), W = ky (phase
    encoding; zeros on unsampled lines for undersampled scans); times_ms `(slices, weightings)`;
    mask `(W,)` bool (None for FullSample) and its ACS width.
    """

    patient: str
    modality: str
    kspace: torch.Tensor
    times_ms: torch.Tensor
    mask: torch.Tensor | None
    acs_lines: int | None
    acceleration: int | None
    path: Path


def read_scan(
    root: str | os.PathLike,
    split: str,
    patient: str,
    modality: str,
    acceleration: int | None = None,
    index: int | None = None,
) -> MappingScan:
    """Read `modality` ("T1map" | "T2map") of `patient` (e.g. "P001") from FullSample
    (acceleration None) or AccFactorRR, with its times and (undersampled) its mask; with
    `index`, only that slice (k-space and times with a slice axis of length 1)."""
    _check_modality(modality)
    folder = mapping_dir(root, split, acceleration) / patient
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such patient folder ({patient} in {split})")
    mat = folder / f"{modality}.mat"
    variable = kspace_variable(acceleration)
    slices = kspace_shape(mat, variable)[1]
    kspace = read_kspace(mat, variable, index)
    mask = acs = None
    if acceleration is not None:
        mask_file = folder / f"{modality}_mask.mat"
        if not mask_file.is_file():
            raise FileNotFoundError(
                f"{folder}: patient {patient} has no mask file {mask_file.name} for {mat.name}"
            )
        mask = read_mask(mask_file, acceleration)
        if len(mask) != kspace.shape[3]:
            raise ValueError(
                f"{mask_file}: mask has {len(mask)} ky lines but {mat} has {kspace.shape[3]}"
            )
        acs = check_acs(mask, str(mask_file))
    times = read_times(folder / f"{modality}.csv", slices)
    if index is not None:
        times = times[index : index + 1]
    return MappingScan(
        patient=patient,
        modality=modality,
        kspace=torch.from_numpy(np.ascontiguousarray(kspace.transpose(1, 0, 2, 4, 3))),
        times_ms=torch.from_numpy(times),
        mask=None if mask is None else torch.from_numpy(mask),
        acs_lines=acs,
        acceleration=acceleration,
        path=mat,
    )


def list_patients(root: str | os.PathLike, split: str, acceleration: int | None = None) -> list:
    """Sorted patient folder names (P###) of one split and sampling folder."""
    folder = mapping_dir(root, split, acceleration)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{folder}: no such CMRxRecon folder (expected <root>/MultiCoil/Mapping/<split>/"
            "{FullSample,AccFactor04,AccFactor08,AccFactor10}/P###/, the root being the folder "
            "that holds MultiCoil/, e.g. CMRXRECON_ROOT; see docs/real_data.md)"
        )
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name.startswith("P"))


def _mat_header() -> bytes:
    """The 128-byte MATLAB 7.3 header (text, 8 bytes subsystem offset, version, endianness)."""
    text = (
        f"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: {MAT_HEADER_DATE} HDF5 schema 1.00 ."
    )
    return text.ljust(116).encode("ascii") + b" " * 8 + b"\x00\x02" + b"IM"


def write_mat(path: str | os.PathLike, variable: str, array: np.ndarray) -> None:
    """Write one variable as a MATLAB v7.3 file, atomically (temp file + rename).

    Complex arrays (h5py order, ky on axis -2) are stored as the compound real/imag single
    type; when some ky lines are zero everywhere (undersampled data) only the others are
    written, one chunk per line, so the unsampled lines stay unallocated and read as zeros.
    Real arrays are stored as double.
    """

    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w", userblock_size=512, libver="earliest") as f:
            if np.iscomplexobj(array):
                values = np.empty(array.shape, COMPLEX_DTYPE)
                values["real"], values["imag"] = array.real, array.imag
                other_axes = tuple(range(array.ndim - 2)) + (array.ndim - 1,)
                lines = np.nonzero((array != 0).any(axis=other_axes))[0]
                if len(lines) == array.shape[-2]:
                    data = f.create_dataset(variable, data=values, track_times=False)
                else:
                    data = f.create_dataset(
                        variable,
                        array.shape,
                        COMPLEX_DTYPE,
                        chunks=(1,) * (array.ndim - 1) + (array.shape[-1],),
                        fillvalue=np.zeros((), COMPLEX_DTYPE),
                        track_times=False,
                    )
                    data[..., lines, :] = values[..., lines, :]
                matlab_class = "single"
            else:
                data = f.create_dataset(
                    variable, data=np.asarray(array, np.float64), track_times=False
                )
                matlab_class = "double"
            data.attrs.create("MATLAB_class", np.bytes_(matlab_class))
        with open(tmp, "r+b") as f:
            f.write(_mat_header())

    atomic_write(Path(path), write)


def write_times(path: str | os.PathLike, times_ms: np.ndarray) -> None:
    """Write a mapping CSV (atomically) from `(slices, weightings)` times in ms: T1map.csv
    gets one column per slice, T2map.csv one shared column (times must agree across slices)."""
    path = Path(path)
    modality = _modality_of(path)
    times_ms = np.asarray(times_ms)
    if times_ms.ndim != 2 or times_ms.shape[1] != MODALITIES[modality]:
        raise ValueError(
            f"{path}: times of shape {times_ms.shape}; expected (slices, {MODALITIES[modality]})"
        )
    name = TIME_NAMES[modality]
    if modality == "T2map":
        if not (times_ms == times_ms[:1]).all():
            raise ValueError(f"{path}: T2map.csv holds one TE column; slices must share TEs")
        columns, header = times_ms[:1].T, [name]
    else:
        columns, header = times_ms.T, [f"Slice{i + 1}" for i in range(len(times_ms))]
    lines = [",".join(["", *header, ""])]
    lines += [
        ",".join([f"{name}{i + 1}", *(f"{v:g}" for v in row), ""]) for i, row in enumerate(columns)
    ]
    text = "\n".join(lines) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))
