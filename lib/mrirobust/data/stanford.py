"""Stanford 3-D FSE knees (mridata.org, ISMRMRD HDF5) -> fastMRI multicoil HDF5.

Darestani et al. 2021's dataset shift (Fig. 2) tests fastMRI-trained models on these knees. A
source file holds one fully sampled 3-D Cartesian volume: the XML header in `dataset/xml` and
one acquisition per (ky, kz) line in `dataset/data`, a compound of `head` (with
`idx.kspace_encode_step_1/2`, `number_of_samples`, `active_channels`, `flags`) and `data`, the
coils' readouts as interleaved float32 (coil-major). The converter places every line at
(step - centre + size // 2), so the k-space centre lands where fastMRI's centred FFT puts it,
takes the centred inverse DFT along kz (the slice axis), and writes slices as fastMRI files:
`kspace` (slices, coils, H = readout, W = ky) with every column acquired, the RSS target
cropped to `target_size`, a synthetic fastMRI-style header and the attrs `acquisition`, `max`,
`norm`, `patient_id`.

Noise, navigator and phase-correction acquisitions (ISMRMRD flag bits 19, 23, 24) are skipped.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as etree
from pathlib import Path

import h5py
import numpy as np
import torch

from mrirobust import physics
from mrirobust.data.fastmri_io import ISMRMRD_NS, header_xml, write_volume

SKIPPED_FLAGS = (19, 23, 24)  # ACQ_IS_NOISE_MEASUREMENT, _NAVIGATION_DATA, _PHASECORR_DATA
CHUNK = 4096  # acquisitions read at a time


def _find(root: etree.Element, path: str, where: str) -> str:
    node = root.find("/".join(f"ismrmrd:{p}" for p in path.split("/")), {"ismrmrd": ISMRMRD_NS})
    if node is None or node.text is None:
        raise ValueError(f"{where}: the ISMRMRD header lacks {path}")
    return node.text.strip()


def _grid(xml: str, where: str) -> tuple[tuple[int, int], tuple[int, int], str]:
    """((size, centre) of ky, (size, centre) of kz, protocol name) from the header."""
    try:
        root = etree.fromstring(xml)
    except etree.ParseError as err:
        raise ValueError(f"{where}: 'dataset/xml' is not valid XML ({err})") from err
    axes = []
    for axis, step in (("y", "kspace_encoding_step_1"), ("z", "kspace_encoding_step_2")):
        size = int(_find(root, f"encoding/encodedSpace/matrixSize/{axis}", where))
        centre = int(_find(root, f"encoding/encodingLimits/{step}/center", where))
        axes.append((size, centre))
    name = root.find("ismrmrd:measurementInformation/ismrmrd:protocolName", {"ismrmrd": ISMRMRD_NS})
    protocol = name.text.strip() if name is not None and name.text else "unknown"
    return axes[0], axes[1], protocol


def read_volume(path: str | os.PathLike) -> tuple[np.ndarray, str]:
    """The k-space volume `(coils, readout, ky, kz)` complex64 and the protocol name of an
    ISMRMRD file; errors name the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ISMRMRD file {path} does not exist")
    with h5py.File(path, "r") as hf:
        for key in ("dataset/xml", "dataset/data"):
            if key not in hf:
                raise KeyError(f"{path}: dataset {key!r} is missing (not an ISMRMRD file)")
        xml = hf["dataset/xml"][()]
        xml = xml[0] if isinstance(xml, np.ndarray) else xml
        xml = xml.decode() if isinstance(xml, bytes) else str(xml)
        (ny, cy), (nz, cz), protocol = _grid(xml, str(path))
        acquisitions = hf["dataset/data"]
        kspace, filled = None, np.zeros((ny, nz), dtype=bool)
        for start in range(0, acquisitions.shape[0], CHUNK):
            rows = acquisitions[start : start + CHUNK]
            skip = np.zeros(len(rows), dtype=bool)
            for bit in SKIPPED_FLAGS:
                skip |= (rows["head"]["flags"] & np.uint64(1 << (bit - 1))) != 0
            for row in rows[~skip]:
                head = row["head"]
                coils, samples = int(head["active_channels"]), int(head["number_of_samples"])
                y = int(head["idx"]["kspace_encode_step_1"]) - cy + ny // 2
                z = int(head["idx"]["kspace_encode_step_2"]) - cz + nz // 2
                if not (0 <= y < ny and 0 <= z < nz):
                    raise ValueError(
                        f"{path}: acquisition at ky {y}, kz {z} (after centring) leaves the "
                        f"encoded matrix {ny} x {nz}"
                    )
                data = np.asarray(row["data"], dtype=np.float32)
                if data.size != 2 * coils * samples:
                    raise ValueError(
                        f"{path}: an acquisition holds {data.size} floats, expected 2 x "
                        f"{coils} coils x {samples} samples"
                    )
                if kspace is None:
                    kspace = np.zeros((coils, samples, ny, nz), dtype=np.complex64)
                if kspace.shape[:2] != (coils, samples):
                    raise ValueError(
                        f"{path}: acquisitions differ in coils x samples: {coils} x {samples} "
                        f"vs {kspace.shape[0]} x {kspace.shape[1]}"
                    )
                kspace[:, :, y, z] = data.view(np.complex64).reshape(coils, samples)
                filled[y, z] = True
    if kspace is None:
        raise ValueError(f"{path}: no imaging acquisitions in 'dataset/data'")
    if not filled.all():
        raise ValueError(
            f"{path}: {int((~filled).sum())} of {filled.size} (ky, kz) lines are missing; "
            "the converter needs a fully sampled volume"
        )
    return kspace, protocol


def _centred_ifft(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = np.fft.ifftshift(x, axes=axis)
    return np.fft.fftshift(np.fft.ifft(shifted, axis=axis, norm="ortho"), axes=axis)


def convert(
    source: str | os.PathLike,
    dest: str | os.PathLike,
    *,
    slices=None,
    target_size: tuple[int, int] = (320, 320),
) -> Path:
    """Convert one ISMRMRD volume into the fastMRI file `dest` (written atomically).

    `slices`: indices along kz to keep (None: all). The target is crop(RSS(F^-1 k)) at
    `target_size` (fastMRI's 320 x 320). Returns `dest`.
    """
    if Path(dest).resolve() == Path(source).resolve():
        raise ValueError(f"dest {dest} would overwrite its source; choose another folder")
    kspace, protocol = read_volume(source)
    coils, readout, ny, nz = kspace.shape
    if not (target_size[0] <= readout and target_size[1] <= ny):
        raise ValueError(
            f"target_size {tuple(target_size)} exceeds the image {readout} x {ny} of {source}"
        )
    picked = list(range(nz)) if slices is None else [int(s) for s in slices]
    if not picked or not all(0 <= s < nz for s in picked):
        raise ValueError(
            f"slices must be a non-empty list of indices in [0, {nz - 1}], got {slices!r}"
        )
    # kz -> z, then (slices, coils, readout, ky)
    volume = np.moveaxis(_centred_ifft(kspace, axis=-1), -1, 0)[picked].astype(np.complex64)
    target = physics.rss_crop(torch.from_numpy(volume), tuple(target_size)).numpy()
    header = header_xml(
        encoding_size=(readout, ny, 1),
        recon_size=(target_size[0], target_size[1], 1),
        center=ny // 2,
        maximum=ny - 1,
    )
    attrs = {
        "acquisition": protocol,
        "max": float(target.max()),
        "norm": float(np.linalg.norm(target)),
        "patient_id": Path(source).stem,
    }
    write_volume(dest, volume, {"reconstruction_rss": target.astype(np.float32)}, header, attrs)
    return Path(dest)


def configure_parser(parser) -> None:
    parser.add_argument("sources", nargs="+", type=Path, help="ISMRMRD .h5 volumes (mridata)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the fastMRI files")
    parser.add_argument(
        "--slices", type=int, nargs="+", help="kz indices to keep (default: all slices)"
    )
    parser.add_argument(
        "--target-size", type=int, nargs=2, default=[320, 320], help="RSS target size (320 320)"
    )


def main(args) -> int:
    for source in args.sources:
        dest = convert(
            source, args.out / source.name, slices=args.slices, target_size=tuple(args.target_size)
        )
        print(f"{source} -> {dest}")
    return 0
