"""fastMRI HDF5 files: read one slice, list slices, locate splits, write a volume.

A fastMRI file holds `kspace` (slices, coils, H, W) complex64 (multicoil; (slices, H, W) for
singlecoil), the target `reconstruction_rss` (multicoil) or `reconstruction_esc` (singlecoil)
(slices, h, w) float32, the `ismrmrd_header` XML and the attrs `acquisition`, `max`, `norm`,
`patient_id`. H is the readout (2x oversampled in the real data), W the phase-encoding
direction; columns outside the acquired range (from the header) are zero.

The header is parsed with fastmri's own `et_query`, so the acquired range is the one fastmri's
`SliceDataset` gives: padding_left = enc_y // 2 - center, padding_right = padding_left +
maximum + 1, acquired = (padding_left, padding_right - 1).

Two challenges, as in fastMRI: a `multicoil` file's k-space is 4-D and its target
`reconstruction_rss`; a `singlecoil` file's k-space is 3-D (emulated single-coil, see
`mrirobust.data.singlecoil`) and its target `reconstruction_esc` (real single-coil files hold a
`reconstruction_rss` too, which is not the target of the single-coil k-space).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import torch
from fastmri.data.mri_data import et_query

from mrirobust.paths import embedded_root, environment_root, real_data_root
from mrirobust.physics.coils import center_crop, crop_size
from mrirobust.storage import atomic_write, open_hdf5

ANATOMIES = ("knee", "brain", "knee_shifted")
SPLITS = ("train", "val")
CHALLENGES = ("multicoil", "singlecoil")
TARGET_KEYS = {"multicoil": "reconstruction_rss", "singlecoil": "reconstruction_esc"}
ISMRMRD_NS = "http://www.ismrm.org/ISMRMRD"
EXPECTED = (
    "a fastMRI HDF5 file (datasets 'kspace', 'reconstruction_rss' or 'reconstruction_esc', "
    "'ismrmrd_header')"
)


@dataclass
class Slice:
    """One fully sampled slice: k-space (coils, H, W) complex64 and the stored target (h, w)."""

    kspace: torch.Tensor
    target: torch.Tensor
    acquired: tuple[int, int]
    attrs: dict = field(repr=False)
    fname: str
    index: int


@dataclass(frozen=True)
class Header:
    """The sizes fastMRI readers take from the ISMRMRD header."""

    encoding_size: tuple[int, int, int]
    recon_size: tuple[int, int, int]
    center: int
    maximum: int

    @property
    def acquired(self) -> tuple[int, int]:
        """(first, last) acquired phase-encoding column, inclusive."""
        padding_left = self.encoding_size[1] // 2 - self.center
        return padding_left, padding_left + self.maximum


def parse_header(xml: bytes | str, where: str = "ismrmrd_header") -> Header:
    """Parse the sizes and phase-encoding limits from an ISMRMRD header (fastmri's queries)."""
    try:
        root = etree.fromstring(xml)
        enc = ["encoding", "encodedSpace", "matrixSize"]
        rec = ["encoding", "reconSpace", "matrixSize"]
        lims = ["encoding", "encodingLimits", "kspace_encoding_step_1"]
        return Header(
            encoding_size=tuple(int(et_query(root, enc + [a])) for a in "xyz"),
            recon_size=tuple(int(et_query(root, rec + [a])) for a in "xyz"),
            center=int(et_query(root, lims + ["center"])),
            maximum=int(et_query(root, lims + ["maximum"])),
        )
    except (etree.ParseError, RuntimeError, ValueError) as err:
        raise ValueError(
            f"{where}: not a usable ISMRMRD header (needs encodedSpace/reconSpace matrixSize "
            f"and encodingLimits/kspace_encoding_step_1 center/maximum in namespace "
            f"{ISMRMRD_NS}): {err}"
        ) from err


def header_xml(
    encoding_size: tuple[int, int, int],
    recon_size: tuple[int, int, int],
    center: int,
    maximum: int,
    field_of_view_mm: tuple[float, float, float] = (280.0, 140.0, 3.0),
) -> bytes:
    """A minimal ISMRMRD header with the fields fastMRI readers use."""
    ex, ey, ez = encoding_size
    rx, ry, rz = recon_size
    fx, fy, fz = field_of_view_mm
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<ismrmrdHeader xmlns="{ISMRMRD_NS}">'
        "<encoding>"
        f"<encodedSpace><matrixSize><x>{ex}</x><y>{ey}</y><z>{ez}</z></matrixSize>"
        f"<fieldOfView_mm><x>{fx}</x><y>{fy}</y><z>{fz}</z></fieldOfView_mm></encodedSpace>"
        f"<reconSpace><matrixSize><x>{rx}</x><y>{ry}</y><z>{rz}</z></matrixSize>"
        f"<fieldOfView_mm><x>{fx / 2}</x><y>{fy}</y><z>{fz}</z></fieldOfView_mm></reconSpace>"
        "<encodingLimits><kspace_encoding_step_1>"
        f"<minimum>0</minimum><maximum>{maximum}</maximum><center>{center}</center>"
        "</kspace_encoding_step_1></encodingLimits>"
        "<trajectory>cartesian</trajectory></encoding></ismrmrdHeader>"
    ).encode()


def _attr(value):
    """HDF5 attribute -> plain Python value (str, float, int) where it is a scalar."""
    if isinstance(value, bytes):
        return value.decode()
    return value.item() if isinstance(value, np.generic) else value


def read_slice(path: str | os.PathLike, index: int, challenge: str | None = None) -> Slice:
    """Read slice `index` of a fastMRI multicoil or singlecoil file.

    Returns k-space as complex64 (coils, H, W) (a coil axis of 1 for singlecoil files) and the
    challenge's target as float32 (h, w): `reconstruction_rss` for multicoil, `reconstruction_esc`
    for singlecoil, centre-cropped to (W, W) when the k-space is W < w columns wide (fastMRI's
    rule for narrow brain images, `physics.crop_size`). `challenge` None takes it from the
    k-space's dimensions (fastmri `SliceDataset`'s rule); a given challenge that the file does
    not match raises. Raises FileNotFoundError / KeyError / ValueError naming the file, slice
    and key.
    """
    if challenge is not None and challenge not in CHALLENGES:
        raise ValueError(f"unknown challenge {challenge!r}; valid: {', '.join(CHALLENGES)}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"fastMRI file {path} does not exist")
    with open_hdf5(path, EXPECTED) as hf:
        if "kspace" not in hf:
            raise KeyError(f"{path}: dataset 'kspace' is missing (keys: {sorted(hf.keys())})")
        kds = hf["kspace"]
        if kds.ndim not in (3, 4) or not np.issubdtype(kds.dtype, np.complexfloating):
            raise ValueError(
                f"{path}: 'kspace' must be complex (slices, coils, H, W) or (slices, H, W), "
                f"got dtype {kds.dtype} shape {kds.shape}"
            )
        if not isinstance(index, int | np.integer) or not 0 <= index < kds.shape[0]:
            raise IndexError(
                f"{path}: slice {index} out of range; 'kspace' has {kds.shape[0]} slices "
                f"(valid 0..{kds.shape[0] - 1})"
            )
        found = "singlecoil" if kds.ndim == 3 else "multicoil"
        if challenge not in (None, found):
            raise ValueError(
                f"{path} is a {found} file ('kspace' shape {kds.shape}) but was read as "
                f"{challenge}: use the {challenge}_<split> folder or challenge={found!r}"
            )
        kspace = np.asarray(kds[index]).astype(np.complex64)
        if kds.ndim == 3:
            kspace = kspace[None]
        if not np.isfinite(kspace.view(np.float32)).all():
            raise ValueError(f"{path}: slice {index} of 'kspace' contains NaN or Inf")
        target_key = TARGET_KEYS[found]
        if target_key not in hf:
            raise KeyError(f"{path}: no target dataset {target_key!r} for a {found} file")
        tds = hf[target_key]
        if (
            tds.ndim != 3
            or tds.shape[0] != kds.shape[0]
            or not np.issubdtype(tds.dtype, np.floating)
        ):
            raise ValueError(
                f"{path}: '{target_key}' must be real (slices, h, w) with {kds.shape[0]} slices, "
                f"got dtype {tds.dtype} shape {tds.shape}"
            )
        target = np.asarray(tds[index], dtype=np.float32)
        if "ismrmrd_header" not in hf:
            raise KeyError(f"{path}: dataset 'ismrmrd_header' is missing")
        header = parse_header(hf["ismrmrd_header"][()], f"{path}: 'ismrmrd_header'")
        attrs = {k: _attr(v) for k, v in hf.attrs.items()}
    first, last = header.acquired
    if not 0 <= first <= last < kspace.shape[-1]:
        raise ValueError(
            f"{path}: header's acquired columns ({first}, {last}) leave the k-space width "
            f"{kspace.shape[-1]} (key 'ismrmrd_header', encodingLimits)"
        )
    size = crop_size(target.shape, kspace.shape[-1])
    if size != target.shape:  # narrower than the target: fastMRI's square crop
        target = np.ascontiguousarray(center_crop(torch.from_numpy(target), size).numpy())
    attrs.update(
        encoding_size=header.encoding_size,
        recon_size=header.recon_size,
        padding_left=first,
        padding_right=last + 1,
    )
    return Slice(
        kspace=torch.from_numpy(kspace),
        target=torch.from_numpy(target),
        acquired=(first, last),
        attrs=attrs,
        fname=path.stem,
        index=int(index),
    )


def num_slices(path: str | os.PathLike) -> int:
    """Number of slices in a fastMRI file (first axis of `kspace`)."""
    with open_hdf5(path, EXPECTED) as hf:
        if "kspace" not in hf:
            raise KeyError(f"{path}: dataset 'kspace' is missing")
        return int(hf["kspace"].shape[0])


def acquisition(path: str | os.PathLike) -> str:
    """The file's `acquisition` attribute (the contrast, e.g. CORPD_FBK; "" when absent)."""
    with open_hdf5(path, EXPECTED) as hf:
        return str(_attr(hf.attrs.get("acquisition", "")))


def kspace_shape(path: str | os.PathLike) -> tuple[int, int, int]:
    """The k-space shape of every slice of a fastMRI file, (coils, H, W) (coils = 1 for a
    singlecoil file), read from the header of its `kspace` dataset."""
    with open_hdf5(path, EXPECTED) as hf:
        if "kspace" not in hf:
            raise KeyError(f"{path}: dataset 'kspace' is missing")
        shape = tuple(int(n) for n in hf["kspace"].shape[1:])
    return (1, *shape) if len(shape) == 2 else shape


def split_files(directory: str | os.PathLike, max_files: int = 0) -> list[Path]:
    """The sorted `*.h5` files of a split folder (the first `max_files` when > 0); raises
    naming the folder and the expected layout when it does not exist."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(
            f"data directory {directory} does not exist (expected <root>/<anatomy>/"
            "<challenge>_<split>/*.h5, e.g. knee/multicoil_val/; see docs/real_data.md)"
        )
    files = sorted(directory.glob("*.h5"))
    return files[:max_files] if max_files > 0 else files


def list_slices(directory: str | os.PathLike, max_files: int = 0) -> list[tuple[Path, int]]:
    """All (path, slice_index) pairs over the sorted `*.h5` files of `directory` (the first
    `max_files` files when > 0)."""
    return [(p, i) for p in split_files(directory, max_files) for i in range(num_slices(p))]


def split_dir(scale: str, anatomy: str, split: str, challenge: str = "multicoil") -> Path:
    """The folder of one split: `<root>/<anatomy>/<challenge>_<split>`.

    The root is `data_root(scale)`, laid out as `<root>/knee/multicoil_val/file1000000.h5`,
    `<root>/brain/multicoil_train/...`.
    """
    if anatomy not in ANATOMIES:
        raise ValueError(f"unknown anatomy {anatomy!r}; valid: {', '.join(ANATOMIES)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    if challenge not in CHALLENGES:
        raise ValueError(f"unknown challenge {challenge!r}; valid: {', '.join(CHALLENGES)}")
    return data_root(scale) / anatomy / f"{challenge}_{split}"


def data_root(scale: str) -> Path:
    """The fastMRI root of `scale`: FASTMRI_ROOT or `fastmri_root` in data/paths.yaml at paper
    scale; at the shape scale FASTMRI_ROOT when the environment sets it, else the generated
    real-shaped files; `data/embedded/<scale>` for the embedded scales."""
    from mrirobust.scales import resolve

    source = resolve(scale, "data")["source"]
    if source == "fastmri":
        return real_data_root("fastmri_root")
    if source == "shape":
        return environment_root("fastmri_root") or embedded_root(scale)
    return embedded_root(scale)


def write_volume(
    path: str | os.PathLike,
    kspace: np.ndarray,
    targets: dict[str, np.ndarray],
    header: bytes,
    attrs: dict,
) -> None:
    """Write a fastMRI file atomically (temp file in the same folder, then rename).

    `kspace` is (slices, coils, H, W) for a multicoil file and (slices, H, W) for a singlecoil
    one; `targets` maps dataset names to (slices, h, w) images and must hold the challenge's
    target (`TARGET_KEYS`).
    """
    path = Path(path)
    challenge = {4: "multicoil", 3: "singlecoil"}.get(kspace.ndim)
    if challenge is None or TARGET_KEYS[challenge] not in targets:
        raise ValueError(
            f"{path}: k-space of shape {kspace.shape} needs 3 (singlecoil) or 4 (multicoil) "
            f"dimensions and the target of its challenge ({TARGET_KEYS}), got targets "
            f"{sorted(targets)}"
        )

    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w", track_order=False) as hf:
            hf.create_dataset("kspace", data=kspace.astype(np.complex64), track_times=False)
            for key, target in targets.items():
                hf.create_dataset(key, data=target.astype(np.float32), track_times=False)
            hf.create_dataset("ismrmrd_header", data=header, track_times=False)
            for key, value in attrs.items():
                hf.attrs[key] = value

    atomic_write(path, write)
