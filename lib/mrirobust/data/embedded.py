"""Embedded dataset: a deterministic, offline, synthetic stand-in for fastMRI (not patient data).

`python -m mrirobust data --scale smoke|cpu` writes `data/embedded/<scale>/`:
`{knee,brain}/multicoil_{train,val}/*.h5`, `knee_shifted/multicoil_val/*.h5` (fastMRI HDF5),
`knee/singlecoil_{train,val}/*.h5` (the same knee volumes as emulated single-coil k-space with
`reconstruction_esc` targets, `mrirobust.data.singlecoil`; same file names, so the same boxes),
`annotations/{knee,brain}.csv` (fastMRI+ CSV, flipped up-down like the real one) and
`manifest.json` (parameters, generation time, sha256 of every file).

Acquisition model per slice, with x the phantom magnitude on the (H, W) = (r h, w + 2p) grid
(r = readout oversampling, p = unacquired columns on each side; rendered on a 2x finer grid,
block-averaged, then blurred by a Gaussian of std `EDGE_BLUR_PX`), b a smooth bias field,
e^{i phi} a smooth random phase and S_c birdcage coil maps (sigpy, sum_c |S_c|^2 = 1):

    k_c = M_acq F(S_c b x e^{i phi}) + M_acq n_c,   n_c ~ CN(0, 2 sigma^2 I)

where F is the centred orthonormal FFT, M_acq zeroes the unacquired columns and sigma (the std
of the real and of the imaginary part of each noise sample) = mean(x over the foreground of
the target crop) / snr; foreground = pixels above 10 % of the volume's maximum. The stored
target is reconstruction_rss = crop_(h, w)(RSS(F^-1 k)), as in fastMRI (zero-padded to w
columns when W < w, `_crop`). A plan (`sized_plan`) may give each volume its own (H, W), p and
coil count: the real-shaped files of the `shape` scale (`mrirobust.data.shaped`) are written so.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from scipy import ndimage

from mrirobust.data import brain_phantom, knee_phantom, manifest
from mrirobust.data.annotations import write_annotations
from mrirobust.data.fastmri_io import header_xml, write_volume
from mrirobust.data.singlecoil import emulate_singlecoil
from mrirobust.paths import embedded_root
from mrirobust.scales import resolve

GENERATOR_SOURCES = (
    "embedded.py",
    "knee_phantom.py",
    "brain_phantom.py",
    "fastmri_io.py",
    "singlecoil.py",
)
SETS = (
    ("knee", "train"),
    ("knee", "val"),
    ("brain", "train"),
    ("brain", "val"),
    ("knee_shifted", "val"),
)
KNEE_CONTRASTS = ("CORPD_FBK", "CORPDFS_FBK")
BRAIN_CONTRASTS = tuple(brain_phantom.CONTRASTS)
SHIFTED_CONTRAST = "CORT2_FBK"
KNEE_Z_RANGE = (-0.6, 0.6)  # slice positions through the knee (anterior to posterior)
# Std (pixels) of the Gaussian point spread of the rendered anatomy: tissue boundaries are not
# steps. Without it the phantom's sharp edges keep energy up to the k-space edge, zeroing the
# unacquired columns rings into the air, and the background noise estimate (Firbank, as
# Morshuis et al.) read 1.28x the generated noise at cpu (snr 240); with 0.5 px 1.16x, 0.75 px
# 1.03x (measured on the first cpu knee volume)
EDGE_BLUR_PX = 0.5


# taken at import, so that it describes the code this process runs
GENERATOR_FINGERPRINT = manifest.fingerprint(Path(__file__).parent / n for n in GENERATOR_SOURCES)


def _rng(cfg: dict, *keys) -> np.random.Generator:
    """An independent generator for (seed, keys...): every volume is reproducible on its own."""
    words = [int.from_bytes(hashlib.sha256(str(k).encode()).digest()[:4], "little") for k in keys]
    return np.random.default_rng([cfg["seed"], *words])


def volume_plan(cfg: dict, anatomy: str, split: str, index: int) -> dict:
    """The plan (`sized_plan`) of volume `index` of a set, its sizes from the profile."""
    h = cfg["target_size"]
    shifted = anatomy == "knee_shifted"
    oversampling = 1 if shifted else cfg["readout_oversampling"]
    if anatomy == "brain":
        contrast = BRAIN_CONTRASTS[index % len(BRAIN_CONTRASTS)]
    else:
        contrast = SHIFTED_CONTRAST if shifted else KNEE_CONTRASTS[index % len(KNEE_CONTRASTS)]
    return sized_plan(
        cfg,
        anatomy,
        split,
        index,
        contrast,
        coils=cfg["shifted_coils"] if shifted else cfg["coils"],
        shape=(round(oversampling * h), h + 2 * cfg["padding_columns"]),
        padding=cfg["padding_columns"],
        z_range=brain_phantom.Z_RANGE_MM if anatomy == "brain" else KNEE_Z_RANGE,
    )


def sized_plan(
    cfg: dict,
    anatomy: str,
    split: str,
    index: int,
    contrast: str,
    coils: int,
    shape: tuple[int, int],
    padding: int,
    z_range: tuple[float, float],
) -> dict:
    """File name, contrast, coils, sizes and SNR of one volume: k-space `shape` = (H, W) from
    `coils` coils, `padding` unacquired columns on each side, the target_size^2 target, and
    `slices_per_volume` slices evenly over `z_range` (knee depth in [-1, 1], brain MNI z in mm).
    """
    h = cfg["target_size"]
    fname = (
        f"file_brain_{contrast}_{split}{index:03d}"
        if anatomy == "brain"
        else f"file_{anatomy}_{split}{index:03d}"
    )
    return dict(
        fname=fname,
        anatomy=anatomy,
        split=split,
        contrast=contrast,
        coils=coils,
        shape=tuple(shape),
        padding=padding,
        target=(h, h),
        snr=cfg["snr_shifted" if anatomy == "knee_shifted" else f"snr_{anatomy}"],
        lesions=cfg[f"lesions_{split}"],
        slices=cfg["slices_per_volume"],
        z_range=tuple(z_range),
        rng_keys=(anatomy, split, index),
    )


def coil_maps(rng: np.random.Generator, coils: int, shape: tuple[int, int]) -> np.ndarray:
    """Birdcage maps (sigpy) of relative radius 1.2-1.8, shifted off-centre by up to 10 %."""
    import sigpy.mri

    H, W = shape
    dy, dx = (int(rng.integers(0, max(1, s // 5) + 1)) for s in shape)
    big = sigpy.mri.birdcage_maps(
        (coils, H + max(1, H // 5), W + max(1, W // 5)), r=float(rng.uniform(1.2, 1.8))
    )
    return big[:, dy : dy + H, dx : dx + W] * np.exp(1j * rng.uniform(0, 2 * np.pi))


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], std: float) -> np.ndarray:
    """A random quadratic polynomial in normalised coordinates, coefficients ~ N(0, std^2)."""
    v, u = np.meshgrid(*(np.linspace(-1, 1, s) for s in shape), indexing="ij")
    basis = np.stack([np.ones_like(u), u, v, u * v, u * u, v * v])
    return np.tensordot(rng.normal(0, std, len(basis)), basis, axes=1)


def _fft2c(x: np.ndarray) -> np.ndarray:
    axes = (-2, -1)
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=axes), norm="ortho"), axes=axes)


def _ifft2c(x: np.ndarray) -> np.ndarray:
    axes = (-2, -1)
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(x, axes=axes), norm="ortho"), axes=axes)


def _crop(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The centred `size` crop of the last two axes, zero-padded (centred) where `x` is smaller:
    an image narrower than the target fills its central columns, so fastMRI's (W, W) crop of
    the target (`physics.crop_size`) takes back exactly the image."""
    extra = [max(0, s - n) for s, n in zip(size, x.shape[-2:], strict=True)]
    if any(extra):
        x = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(e // 2, e - e // 2) for e in extra])
    top, left = ((n - s) // 2 for n, s in zip(x.shape[-2:], size, strict=True))
    return x[..., top : top + size[0], left : left + size[1]]


def _block_mean(x: np.ndarray) -> np.ndarray:
    """Average of each 2 x 2 block: (2H, 2W) -> (H, W)."""
    H, W = x.shape[0] // 2, x.shape[1] // 2
    return x.reshape(H, 2, W, 2).mean(axis=(1, 3))


def phantom_slices(plan: dict, rng: np.random.Generator):
    """Magnitude images (slices, H, W) of one volume and its visible lesions per slice.

    Rendered on a 2x finer grid and averaged over 2 x 2 blocks (partial-volume edges, less
    Gibbs ringing), then blurred by a Gaussian of std `EDGE_BLUR_PX` pixels; a lesion covers
    every pixel that any of its fine pixels falls in.
    """
    n = plan["slices"]
    shape, target = (tuple(2 * s for s in plan["shape"]), tuple(2 * s for s in plan["target"]))
    if plan["anatomy"] == "brain":
        subject = brain_phantom.draw_brain_subject(rng)
        lesions = brain_phantom.draw_brain_lesions(rng, plan["lesions"])
        levels = np.linspace(*plan["z_range"], n) + rng.uniform(-2, 2)
        slices = [
            brain_phantom.brain_slice(subject, z, shape, target, plan["contrast"], lesions)
            for z in levels
        ]
    else:
        subject = knee_phantom.draw_knee_subject(rng)
        lesions = knee_phantom.draw_knee_lesions(subject, rng, plan["lesions"], plan["z_range"])
        depths = np.linspace(*plan["z_range"], n) + rng.uniform(-0.03, 0.03)
        seeds = rng.integers(0, 2**31, n)
        slices = [
            knee_phantom.knee_slice(subject, z, shape, target, plan["contrast"], lesions, int(s))
            for z, s in zip(depths, seeds, strict=True)
        ]
    images = np.stack([_block_mean(image) for image, _ in slices])
    images = ndimage.gaussian_filter(images, (0, EDGE_BLUR_PX, EDGE_BLUR_PX))
    visible = [
        [(label, _block_mean(mask.astype(float)) > 0) for label, mask in slice_visible]
        for _, slice_visible in slices
    ]
    return images, visible


def boxes_from_masks(visible, target: tuple[int, int], min_box: int) -> list[tuple]:
    """(x, y, width, height, label) on the target crop of each lesion mask, each side grown
    (centred, kept inside the image) to at least `min_box` pixels."""
    h, w = target
    boxes = []
    for label, mask in visible:
        crop = _crop(mask, target)
        rows, cols = np.nonzero(crop)
        if rows.size == 0:
            continue
        x, y = int(cols.min()), int(rows.min())
        bw, bh = int(cols.max()) - x + 1, int(rows.max()) - y + 1
        if bw < min_box:
            x, bw = min(max(0, x - (min_box - bw) // 2), w - min_box), min_box
        if bh < min_box:
            y, bh = min(max(0, y - (min_box - bh) // 2), h - min_box), min_box
        boxes.append((x, y, bw, bh, label))
    return boxes


def make_volume(cfg: dict, plan: dict):
    """k-space (slices, coils, H, W) complex64, target (slices, h, w) float32, header, attrs,
    annotation rows of one volume (see the module docstring for the model)."""
    rng = _rng(cfg, *plan["rng_keys"])
    images, visible = phantom_slices(plan, rng)
    n, (H, W), target = len(images), plan["shape"], plan["target"]
    images = images * cfg["intensity_scale"] * np.exp(smooth_field(rng, (H, W), 0.12))
    phase = np.stack([smooth_field(rng, (H, W), 0.8) for _ in range(n)])
    maps = coil_maps(rng, plan["coils"], (H, W))
    kspace = _fft2c((images * np.exp(1j * phase))[:, None] * maps[None])
    pad = plan["padding"]
    acquired = np.zeros(W, dtype=bool)
    acquired[pad : W - pad] = True
    cropped = _crop(images, target)
    sigma = cropped[cropped > 0.1 * cropped.max()].mean() / plan["snr"]
    noise = rng.standard_normal((2, *kspace.shape)) * sigma
    kspace = (kspace + noise[0] + 1j * noise[1]) * acquired
    kspace = kspace.astype(np.complex64)
    rss = np.sqrt((np.abs(_ifft2c(kspace.astype(np.complex128))) ** 2).sum(axis=1))
    reconstruction = _crop(rss, target).astype(np.float32)
    header = header_xml(
        encoding_size=(H, W, 1),
        recon_size=(target[0], target[1], 1),
        center=W // 2 - pad,
        maximum=W - 2 * pad - 1,
    )
    attrs = dict(
        acquisition=plan["contrast"],
        max=float(reconstruction.max()),
        norm=float(np.linalg.norm(reconstruction)),
        patient_id=hashlib.sha256(plan["fname"].encode()).hexdigest()[:16],
        noise_std=float(sigma),
        snr=float(plan["snr"]),
        source="mrirobust embedded synthetic data (not patient data)",
    )
    rows = [
        dict(file=plan["fname"], slice=i, x=x, y=y, width=bw, height=bh, label=label)
        for i, slice_visible in enumerate(visible)
        for x, y, bw, bh, label in boxes_from_masks(slice_visible, target, cfg["min_box"])
    ]
    return kspace, reconstruction, header, attrs, rows


def write_singlecoil(
    path: Path, kspace: np.ndarray, rss: np.ndarray, header: bytes, attrs: dict
) -> None:
    """The single-coil file of a multicoil volume: ESC k-space (slices, H, W), its target
    `reconstruction_esc` and, as in the real single-coil files, `reconstruction_rss`; attrs
    `max` / `norm` of the ESC target and `esc_weights` (coils, 2) = (real, imag) of the weights."""
    k_esc, esc, weights = emulate_singlecoil(kspace, rss.shape[-2:])
    attrs = dict(
        attrs,
        max=float(esc.max()),
        norm=float(np.linalg.norm(esc)),
        esc_weights=np.stack([weights.real, weights.imag], axis=-1),  # float32
    )
    targets = {"reconstruction_esc": esc, "reconstruction_rss": rss}
    write_volume(path, k_esc, targets, header, attrs)


def plans(cfg: dict) -> list[dict]:
    """Every volume of the dataset, in generation order."""
    return [
        volume_plan(cfg, anatomy, split, i)
        for anatomy, split in SETS
        for i in range(cfg[f"{anatomy}_{split}_volumes"])
    ]


def write_volumes(root: Path, cfg: dict, volumes: list[dict], desc: str, progress: bool) -> dict:
    """Write the volumes of the plans `volumes` under `root`: each multicoil file, the
    single-coil file of each knee, and the fastMRI+ CSVs of their boxes (every file atomically).
    Returns the manifest's entries {path relative to root: {count}}."""
    from tqdm.auto import tqdm

    files, rows = {}, {"knee": [], "brain": []}
    for plan in tqdm(volumes, desc=desc, disable=not progress):
        kspace, target, header, attrs, volume_rows = make_volume(cfg, plan)
        rel = f"{plan['anatomy']}/multicoil_{plan['split']}/{plan['fname']}.h5"
        write_volume(root / rel, kspace, {"reconstruction_rss": target}, header, attrs)
        rows["brain" if plan["anatomy"] == "brain" else "knee"] += volume_rows
        files[rel] = dict(count=len(target))
        if plan["anatomy"] == "knee":
            rel = f"knee/singlecoil_{plan['split']}/{plan['fname']}.h5"
            write_singlecoil(root / rel, kspace, target, header, attrs)
            files[rel] = dict(count=len(target))
    for anatomy, anatomy_rows in rows.items():
        write_annotations(anatomy_rows, root / "annotations" / f"{anatomy}.csv", cfg["target_size"])
        files[f"annotations/{anatomy}.csv"] = dict(count=len(anatomy_rows))
    return files


def generate(scale: str, overrides: dict | None = None, progress: bool = True) -> Path:
    """Write the embedded dataset of `scale` (every file atomically, the manifest last).

    An interrupted run leaves no partial file under a final name and no manifest, so the data
    reads as incomplete and the next run regenerates it (removing the temporary files that a
    killed run left)."""
    cfg = resolve(scale, "data", overrides)
    if cfg["source"] != "embedded":
        raise ValueError(f"scale {scale!r} uses data source {cfg['source']!r}, not 'embedded'")
    root = embedded_root(scale)
    started = manifest.start(root)
    files = write_volumes(root, cfg, plans(cfg), f"embedded data ({scale})", progress)
    manifest.write(
        root, "mrirobust.data.embedded", GENERATOR_FINGERPRINT, scale, cfg, files, started
    )
    return root


def is_complete(scale: str, overrides: dict | None = None) -> bool:
    """True when the manifest matches this generator's code and parameters, and every file it
    lists exists with the recorded size."""
    return manifest.is_complete(
        embedded_root(scale), GENERATOR_FINGERPRINT, resolve(scale, "data", overrides)
    )
