"""Tiny data roots in the real fastMRI / fastMRI+ / CMRxRecon 2023 formats, written with plain
h5py and numpy from the format descriptions in DESIGN.md (not with the project's generators or
writers), so that tests check the project's readers against an independent writer.

`write_roots(folder)` writes, under `folder`:

    fastmri/       FASTMRI_ROOT: knee/multicoil_{train,val}/ (640 x 380, 12 coils; 640 x 386,
                   18 coils), knee/singlecoil_{train,val}/, brain/multicoil_train/ (640 x 332,
                   6 coils; 640 x 400, 14 coils), brain/multicoil_val/ (a narrow 640 x 250,
                   8 coils; 640 x 396, 2 coils), knee_shifted/multicoil_val/ (320 x 372, 6 coils)
    fastmri_plus/  FASTMRI_PLUS_ROOT: knee.csv, brain.csv (boxes on the flipped 320 x 320 target,
                   with the real file's edge cases: a study-level row, y = -1, a zero height)
    cmrxrecon/     CMRXRECON_ROOT: MultiCoil/Mapping/TrainingSet/{FullSample,AccFactor04,08,10}/
                   P001 (ky 176), P002 (ky 210); ValidationSet/AccFactor{04,08,10}/P001 (ky 192,
                   no FullSample); kx 512, 10 coils, 24 ACS lines, T1map (9 TIs), T2map (3 TEs)

Content: a smooth blob with a few bright spots times smooth random coil maps, so images are not
noise (SSIM finite, ACS calibration works); realism is not the point. Images are drawn at a
quarter of the resolution, so the k-space is zero outside its central quarter along each axis,
and every dataset is deflate-compressed (as MATLAB saves v7.3 files; HDF5 readers inflate it
transparently): the roots are small on disk and quick to write.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

TARGET = 320  # fastMRI's reconstruction_rss / reconstruction_esc are 320 x 320
ISMRMRD_NS = "http://www.ismrm.org/ISMRMRD"


@dataclass(frozen=True)
class FastMRIFile:
    """One fastMRI file: k-space (slices, coils, H, W), unacquired columns left and right."""

    folder: str  # e.g. knee/multicoil_val
    name: str
    acquisition: str
    slices: int
    coils: int
    shape: tuple[int, int]
    padding: tuple[int, int]


FASTMRI = (
    FastMRIFile("knee/multicoil_train", "file1000003", "CORPD_FBK", 1, 12, (640, 380), (18, 20)),
    FastMRIFile("knee/multicoil_train", "file1000011", "CORPDFS_FBK", 1, 18, (640, 386), (19, 19)),
    FastMRIFile("knee/multicoil_val", "file1000000", "CORPDFS_FBK", 2, 12, (640, 380), (18, 20)),
    FastMRIFile("knee/multicoil_val", "file1000007", "CORPD_FBK", 1, 18, (640, 386), (19, 19)),
    FastMRIFile(
        "brain/multicoil_train", "file_brain_AXT1_201_6002688", "AXT1", 1, 6, (640, 332), (6, 6)
    ),
    FastMRIFile(
        "brain/multicoil_train", "file_brain_AXT2_200_2000019", "AXT2", 1, 14, (640, 400), (0, 0)
    ),
    FastMRIFile(
        "brain/multicoil_val", "file_brain_AXFLAIR_203_6000861", "AXFLAIR", 2, 8, (640, 250), (0, 0)
    ),
    FastMRIFile(
        "brain/multicoil_val", "file_brain_AXT2_209_6001331", "AXT2", 1, 2, (640, 396), (2, 2)
    ),
    FastMRIFile(
        "knee_shifted/multicoil_val", "file1001050", "CORPD_FBK", 1, 6, (320, 372), (16, 16)
    ),
)
# knee single-coil files: the multicoil knees combined into one virtual coil
SINGLECOIL = {
    "knee/multicoil_train": "knee/singlecoil_train",
    "knee/multicoil_val": "knee/singlecoil_val",
}
# (split, patient, ky, FullSample written)
CMRXRECON = (
    ("TrainingSet", "P001", 176, True),
    ("TrainingSet", "P002", 210, True),
    ("ValidationSet", "P001", 192, False),
)
CMR_READOUT, CMR_COILS, CMR_SLICES, CMR_ACS = 512, 10, 1, 24
DEFLATE = dict(compression="gzip", compression_opts=1)  # every dataset; fast, zeros shrink
LOW = 4  # images and coil maps are drawn at 1 / LOW of the resolution (`band_limited`)
T1_TIMES_MS = (110, 190, 270, 1050, 1130, 1210, 2010, 2090, 2980)
T2_TIMES_MS = (0, 35, 55)


@dataclass(frozen=True)
class RealRoots:
    fastmri: Path
    fastmri_plus: Path
    cmrxrecon: Path

    def environment(self) -> dict[str, str]:
        """The environment variables that point the shape scale at these roots."""
        return {
            "FASTMRI_ROOT": str(self.fastmri),
            "FASTMRI_PLUS_ROOT": str(self.fastmri_plus),
            "CMRXRECON_ROOT": str(self.cmrxrecon),
        }


def fft2c(x: np.ndarray) -> np.ndarray:
    """Centred orthonormal 2-D FFT over the last two axes (fastMRI's convention)."""
    shifted = np.fft.ifftshift(x, axes=(-2, -1))
    return np.fft.fftshift(np.fft.fft2(shifted, norm="ortho"), axes=(-2, -1))


def ifft2c(k: np.ndarray) -> np.ndarray:
    shifted = np.fft.ifftshift(k, axes=(-2, -1))
    return np.fft.fftshift(np.fft.ifft2(shifted, norm="ortho"), axes=(-2, -1))


def blob(rng: np.random.Generator, shape: tuple[int, int], extent: tuple[float, float]):
    """A smooth object (rows x cols) filling `extent` of each axis, with three bright spots."""
    v, u = np.meshgrid(*(np.linspace(-1, 1, n) for n in shape), indexing="ij")
    r2 = (v / extent[0]) ** 2 + (u / extent[1]) ** 2
    image = 1 / (1 + np.exp((r2 - 1) * 12))  # soft-edged ellipse
    for _ in range(3):
        cv, cu = rng.uniform(-0.5, 0.5, 2) * extent
        image = image + 0.6 * np.exp(-((v - cv) ** 2 + (u - cu) ** 2) / (2 * 0.04**2))
    return image


def coil_maps(rng: np.random.Generator, coils: int, shape: tuple[int, int]) -> np.ndarray:
    """Smooth complex sensitivities (coils, rows, cols): Gaussian lobes around the object,
    normalised so that sum_c |S_c|^2 = 1."""
    v, u = np.meshgrid(*(np.linspace(-1, 1, n) for n in shape), indexing="ij")
    maps = []
    for c in range(coils):
        angle = 2 * np.pi * c / coils + rng.uniform(-0.2, 0.2)
        lobe = np.exp(-((v - 0.8 * np.sin(angle)) ** 2 + (u - 0.8 * np.cos(angle)) ** 2) / 1.2)
        phase = rng.uniform(0, 2 * np.pi) + rng.uniform(-1, 1) * u + rng.uniform(-1, 1) * v
        maps.append(lobe * np.exp(1j * phase))
    maps = np.stack(maps)
    return maps / np.sqrt((np.abs(maps) ** 2).sum(axis=0))


def band_limited(coil_images: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """k-space on `shape` of coil images given at a lower resolution (..., h, w): their centred
    FFT in the central h x w window, zeros elsewhere, scaled so that the image on `shape` (their
    sinc interpolation) keeps their intensities."""
    h, w = coil_images.shape[-2:]
    H, W = shape
    kspace = np.zeros(coil_images.shape[:-2] + tuple(shape), np.complex64)
    top, left = H // 2 - h // 2, W // 2 - w // 2
    kspace[..., top : top + h, left : left + w] = fft2c(coil_images) * np.sqrt(H * W / (h * w))
    return kspace


def centre_crop_or_pad(image: np.ndarray, size: int) -> np.ndarray:
    """The centred size x size window of (..., rows, cols), zero-filled where the image is
    narrower (a narrow brain file's target: the (W, W) centre holds the image)."""
    rows, cols = image.shape[-2:]
    out = np.zeros(image.shape[:-2] + (size, size), image.dtype)
    top, left = (rows - size) // 2, (cols - size) // 2
    src = image[..., max(top, 0) : max(top, 0) + size, max(left, 0) : max(left, 0) + size]
    dr, dc = max(-top, 0), max(-left, 0)
    out[..., dr : dr + src.shape[-2], dc : dc + src.shape[-1]] = src
    return out


def ismrmrd_header(shape: tuple[int, int], padding: tuple[int, int]) -> bytes:
    """An ISMRMRD header: encoded matrix H x W, recon 320 x 320, phase-encoding limits with
    the k-space centre at column W // 2: center = W // 2 - left, maximum = W - left - right - 1."""
    H, W = shape
    left, right = padding
    return f"""<?xml version="1.0" encoding="utf-8"?>
<ismrmrdHeader xmlns="{ISMRMRD_NS}" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <studyInformation><studyTime>12:00:00</studyTime></studyInformation>
  <acquisitionSystemInformation><systemVendor>SIEMENS</systemVendor>
    <receiverChannels>1</receiverChannels></acquisitionSystemInformation>
  <experimentalConditions><H1resonanceFrequency_Hz>127723000</H1resonanceFrequency_Hz>
  </experimentalConditions>
  <encoding>
    <encodedSpace>
      <matrixSize><x>{H}</x><y>{W}</y><z>1</z></matrixSize>
      <fieldOfView_mm><x>280</x><y>{280 * W / H:.2f}</y><z>4.5</z></fieldOfView_mm>
    </encodedSpace>
    <reconSpace>
      <matrixSize><x>{TARGET}</x><y>{TARGET}</y><z>1</z></matrixSize>
      <fieldOfView_mm><x>140</x><y>140</y><z>3</z></fieldOfView_mm>
    </reconSpace>
    <encodingLimits>
      <kspace_encoding_step_0><minimum>0</minimum><maximum>{H - 1}</maximum>
        <center>{H // 2}</center></kspace_encoding_step_0>
      <kspace_encoding_step_1><minimum>0</minimum><maximum>{W - left - right - 1}</maximum>
        <center>{W // 2 - left}</center></kspace_encoding_step_1>
      <slice><minimum>0</minimum><maximum>0</maximum><center>0</center></slice>
    </encodingLimits>
    <trajectory>cartesian</trajectory>
  </encoding>
</ismrmrdHeader>
""".encode()


def _write_h5(path: Path, kspace: np.ndarray, targets: dict, header: bytes, attrs: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.create_dataset("kspace", data=kspace.astype(np.complex64), **DEFLATE)
        for key, value in targets.items():
            f.create_dataset(key, data=value.astype(np.float32), **DEFLATE)
        f["ismrmrd_header"] = header
        for key, value in attrs.items():
            f.attrs[key] = value


def write_fastmri(root: Path, seed: int = 0) -> list[tuple[str, int, np.ndarray]]:
    """Every fastMRI file under `root`; returns (file name, slice, 320 x 320 target) of the
    multicoil validation slices (where annotations go)."""
    rng = np.random.default_rng(seed)
    val = []
    for spec in FASTMRI:
        H, W = spec.shape
        left, right = spec.padding
        # the object fills about half the readout (2x oversampled) and most of the columns
        extent = (0.45 if H > TARGET else 0.8, 0.75)
        low = (H // LOW, W // LOW)
        images = np.stack([blob(rng, low, extent) for _ in range(spec.slices)]) * 1e-3
        maps = coil_maps(rng, spec.coils, low)
        kspace = band_limited(images[:, None] * maps[None], spec.shape)
        kspace[..., :left] = 0
        kspace[..., W - right :] = 0
        rss = np.sqrt((np.abs(ifft2c(kspace)) ** 2).sum(axis=1))
        target = centre_crop_or_pad(rss, TARGET)
        header = ismrmrd_header(spec.shape, spec.padding)
        attrs = {
            "acquisition": spec.acquisition,
            "max": float(target.max()),
            "norm": float(np.linalg.norm(target)),
            "patient_id": f"{rng.integers(1 << 60):016x}",
        }
        _write_h5(
            root / spec.folder / f"{spec.name}.h5",
            kspace,
            {"reconstruction_rss": target},
            header,
            attrs,
        )
        if spec.folder.endswith("multicoil_val"):
            val += [(spec.name, i, target[i]) for i in range(spec.slices)]
        if spec.folder in SINGLECOIL:
            weights = np.conj(maps[:, low[0] // 2, low[1] // 2])  # one virtual coil
            single = np.einsum("c,schw->shw", weights, kspace)
            esc = centre_crop_or_pad(np.abs(ifft2c(single)), TARGET)
            attrs = dict(attrs, max=float(esc.max()), norm=float(np.linalg.norm(esc)))
            _write_h5(
                root / SINGLECOIL[spec.folder] / f"{spec.name}.h5",
                single,
                {"reconstruction_esc": esc, "reconstruction_rss": target},
                header,
                attrs,
            )
    return val


def write_fastmri_plus(root: Path, val: list[tuple[str, int, np.ndarray]]) -> None:
    """knee.csv and brain.csv: one box around the brightest pixel of each validation slice, in
    the flipped-up-down convention (y counted on the image flipped up-down), plus the edge cases
    of the real CSV and a row for a file that is not in the root."""
    header = "file,slice,study_level,x,y,width,height,label\n"
    rows = {"knee": [], "brain": []}
    for name, index, target in val:
        row, col = np.unravel_index(np.argmax(target), target.shape)
        w = h = 16
        x = int(np.clip(col - w // 2, 0, TARGET - w))
        y_image = int(np.clip(row - h // 2, 0, TARGET - h))
        y_flipped = TARGET - y_image - h
        anatomy = "brain" if name.startswith("file_brain") else "knee"
        label = "Nonspecific lesion" if anatomy == "brain" else "Meniscus Tear"
        rows[anatomy].append(f"{name},{index},No,{x},{y_flipped},{w},{h},{label}")
    rows["knee"] += [
        "file1000000,0,Yes,,,,,Joint Effusion ",  # study-level row
        "file1000000,1,No,40,-1,10,10,Bone- Subchondral edema",
        "file1000007,0,No,50,60,12,0,Cartilage - Partial Thickness loss/defect",
        "file1002538,3,No,100,100,20,20,Meniscus Tear",  # a file not in this root
    ]
    rows["brain"] += ["file_brain_AXT2_209_6001331,0,Yes,,,,,Normal for age"]
    root.mkdir(parents=True, exist_ok=True)
    for anatomy, lines in rows.items():
        (root / f"{anatomy}.csv").write_text(header + "\n".join(lines) + "\n")


def _mat_header() -> bytes:
    """The 128-byte MATLAB 7.3 file header that precedes the HDF5 data in a 512-byte user
    block: text, subsystem offset, version 0x0200, endian indicator 'IM'."""
    text = (
        b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jun  5 10:00:00 2023 "
        b"HDF5 schema 1.00 ."
    )
    return text.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"


def write_mat(path: Path, name: str, array: np.ndarray) -> None:
    """One variable in a MATLAB v7.3 file (HDF5 with a 512-byte user block), deflate-compressed
    as MATLAB saves it; complex arrays as the compound {real, imag} single type."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w", userblock_size=512) as f:
        if np.iscomplexobj(array):
            data = np.empty(array.shape, np.dtype([("real", "<f4"), ("imag", "<f4")]))
            data["real"], data["imag"] = array.real, array.imag
            dset = f.create_dataset(name, data=data, **DEFLATE)
            dset.attrs["MATLAB_class"] = np.bytes_("single")
        else:
            dset = f.create_dataset(name, data=array.astype(np.float64), **DEFLATE)
            dset.attrs["MATLAB_class"] = np.bytes_("double")
    with open(path, "r+b") as f:
        f.write(_mat_header())


def cmr_mask(ky: int, acceleration: int) -> np.ndarray:
    """CMRxRecon lines: every R-th ky line from 0 and the 24 central ACS lines."""
    mask = np.zeros(ky, bool)
    mask[::acceleration] = True
    mask[ky // 2 - CMR_ACS // 2 : ky // 2 + CMR_ACS // 2] = True
    return mask


def write_times(path: Path, modality: str) -> None:
    """T1map.csv: a header, then TI1..TI9 with one column per slice (ms, a trailing empty cell);
    T2map.csv: a header, then TE1..TE3 in one column."""
    if modality == "T1map":
        lines = [",".join(["", *(f"Slice{s + 1}" for s in range(CMR_SLICES)), ""])]
        lines += [
            ",".join([f"TI{i + 1}", *(str(t + 7 * s) for s in range(CMR_SLICES)), ""])
            for i, t in enumerate(T1_TIMES_MS)
        ]
    else:
        lines = [",TE,"] + [f"TE{i + 1},{t}," for i, t in enumerate(T2_TIMES_MS)]
    path.write_text("\n".join(lines) + "\n")


def write_cmrxrecon(root: Path, seed: int = 0) -> None:
    """The mapping folders of every patient in CMRXRECON: k-space through h5py in the order
    (weighting, slice, coil, ky, kx), masks (ky, kx)."""
    rng = np.random.default_rng(seed)
    mapping = root / "MultiCoil" / "Mapping"
    for split, patient, ky, full in CMRXRECON:
        shape = (CMR_READOUT, ky)  # image (kx, ky): rows along the readout
        low = (CMR_READOUT // LOW, ky // LOW)
        maps = coil_maps(rng, CMR_COILS, low)
        anatomy = np.stack([blob(rng, low, (0.4, 0.7)) for _ in range(CMR_SLICES)])
        t1 = 800 + 600 * anatomy  # ms: brighter spots have longer T1 / T2
        t2 = 30 + 40 * anatomy
        series = {
            "T1map": [anatomy * (1 - 2 * np.exp(-t / t1)) for t in T1_TIMES_MS],
            "T2map": [anatomy * np.exp(-t / t2) for t in T2_TIMES_MS],
        }
        for modality, frames in series.items():
            images = np.stack(frames) * 1e-3  # (weighting, slice, kx, ky)
            kspace = band_limited(images[:, :, None] * maps[None, None], shape)  # (w,s,c,kx,ky)
            h5_order = np.swapaxes(kspace, -1, -2)  # (w, slice, coil, ky, kx)
            if full:
                folder = mapping / split / "FullSample" / patient
                write_mat(folder / f"{modality}.mat", "kspace_full", h5_order)
                write_times(folder / f"{modality}.csv", modality)
            for r in (4, 8, 10):
                folder = mapping / split / f"AccFactor{r:02d}" / patient
                lines = cmr_mask(ky, r)
                write_mat(
                    folder / f"{modality}.mat", f"kspace_sub{r:02d}", h5_order * lines[:, None]
                )
                mask = np.repeat(lines[:, None], CMR_READOUT, axis=1)  # (ky, kx)
                write_mat(folder / f"{modality}_mask.mat", f"mask{r:02d}", mask)
                write_times(folder / f"{modality}.csv", modality)


def write_roots(folder: str | Path, seed: int = 0) -> RealRoots:
    """Write the three roots under `folder` (see the module docstring) and return their paths."""
    folder = Path(folder)
    roots = RealRoots(folder / "fastmri", folder / "fastmri_plus", folder / "cmrxrecon")
    val = write_fastmri(roots.fastmri, seed)
    write_fastmri_plus(roots.fastmri_plus, val)
    write_cmrxrecon(roots.cmrxrecon, seed)
    return roots
