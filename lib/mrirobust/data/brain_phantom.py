"""Axial brain slices from the MNI152 1 mm templates that nilearn ships (offline, in its wheel).

The T1 template and the grey-matter (GM) / white-matter (WM) probability maps are combined into
fastMRI's brain contrasts: CSF = clip(brain mask - GM - WM, 0, 1) and inside the brain
s = a_csf CSF + a_gm GM + a_wm WM (AXT1 and AXT1POST use the T1 template itself). The templates
are skull-stripped, so a scalp layer (a shell 4-12 mm outside the brain, signal a_scalp) is
added, with dark skull between. Each subject gets an in-plane rotation, scaling, a smooth
random deformation (a few mm) and a multiplicative bias field; lesions are balls in template
(MNI) space, so adjacent slices show them consistently.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

# (a_csf, a_gm, a_wm) per acquisition, None = the T1 template itself; then a_scalp
CONTRASTS = {
    "AXT1": None,
    "AXT2": (1.0, 0.55, 0.38),
    "AXFLAIR": (0.08, 0.62, 0.45),
    "AXT1POST": None,
}
SCALP = {"AXT1": 0.8, "AXT2": 0.5, "AXFLAIR": 0.45, "AXT1POST": 0.9}
# lesion signal per contrast (white-matter hyperintensities: bright on T2/FLAIR, dark on T1)
LESION_SIGNAL = {"AXT1": 0.3, "AXT2": 0.85, "AXFLAIR": 0.95, "AXT1POST": 0.35}
LESION_LABELS = {
    "wm_lesion": "Nonspecific white matter lesion",
    "lesion": "Nonspecific lesion",
}
FIELD_OF_VIEW_MM = 220.0  # the target image spans this many mm
Z_RANGE_MM = (-10.0, 50.0)  # axial levels (MNI z) the slices are drawn from


@functools.lru_cache(maxsize=1)
def templates() -> dict[str, np.ndarray]:
    """The MNI152 1 mm volumes (float32, x, y, z) and the voxel-from-mm affine."""
    from nilearn import datasets

    t1 = datasets.load_mni152_template(resolution=1)
    volumes = {
        "t1": t1.get_fdata(dtype=np.float32),
        "gm": datasets.load_mni152_gm_template(resolution=1).get_fdata(dtype=np.float32),
        "wm": datasets.load_mni152_wm_template(resolution=1).get_fdata(dtype=np.float32),
        "mask": datasets.load_mni152_brain_mask(resolution=1).get_fdata(dtype=np.float32),
    }
    volumes["mask"] = ndimage.gaussian_filter(volumes["mask"], 1.0)
    spread = ndimage.gaussian_filter(volumes["mask"], 6.0)
    volumes["scalp"] = ((spread > 0.01) & (spread < 0.06)).astype(np.float32)
    volumes["csf"] = np.clip(volumes["mask"] - volumes["gm"] - volumes["wm"], 0, 1)
    volumes["inv_affine"] = np.linalg.inv(t1.affine)
    return volumes


@dataclass(frozen=True)
class BrainSubject:
    """Pose, smooth deformation (random Fourier modes, mm) and bias-field coefficients."""

    scale: float
    angle: float
    shift_mm: tuple[float, float]
    tilt: float  # through-plane tilt, mm of z per mm of y
    modes: tuple  # (amplitude_x, amplitude_y, k_x, k_y, phase) per mode
    bias: tuple[float, float, float, float, float]


def draw_brain_subject(rng: np.random.Generator) -> BrainSubject:
    """A random head: scale 0.9-1.08, rotation +-10 deg, shift +-6 mm, 3 mm deformation."""
    modes = tuple(
        (
            float(rng.normal(0, 2.0)),
            float(rng.normal(0, 2.0)),
            float(rng.uniform(-0.04, 0.04)),
            float(rng.uniform(-0.04, 0.04)),
            float(rng.uniform(0, 2 * np.pi)),
        )
        for _ in range(4)
    )
    return BrainSubject(
        scale=float(rng.uniform(0.9, 1.08)),
        angle=float(np.deg2rad(rng.uniform(-10, 10))),
        shift_mm=(float(rng.uniform(-6, 6)), float(rng.uniform(-6, 6))),
        tilt=float(rng.uniform(-0.1, 0.1)),
        modes=modes,
        bias=tuple(float(b) for b in rng.normal(0, 0.15, 5)),
    )


@dataclass(frozen=True)
class BrainLesion:
    """A ball in MNI space: `kind` (a key of LESION_LABELS), centre (x, y, z) mm, radius mm."""

    kind: str
    center: tuple[float, float, float]
    radius: float

    @property
    def label(self) -> str:
        return LESION_LABELS[self.kind]


def _mni_coordinates(subject: BrainSubject, z_mm: float, shape, target):
    """MNI (x, y, z) mm of every pixel: rows run anterior to posterior, columns patient right to
    left (radiological), the target crop spans FIELD_OF_VIEW_MM."""
    H, W = shape
    h, w = target
    half = FIELD_OF_VIEW_MM / 2
    v = (np.arange(H) - (H - 1) / 2) / (h / 2) * half
    u = (np.arange(W) - (W - 1) / 2) / (w / 2) * half
    u, v = np.meshgrid(u, v)
    c, s = np.cos(subject.angle), np.sin(subject.angle)
    x = (c * u + s * v) / subject.scale - subject.shift_mm[0]
    y = (-s * u + c * v) / subject.scale - subject.shift_mm[1]
    dx = sum(ax * np.sin(kx * x + ky * y + ph) for ax, _, kx, ky, ph in subject.modes)
    dy = sum(ay * np.cos(ky * x - kx * y + ph) for _, ay, kx, ky, ph in subject.modes)
    return -(x + dx), -(y + dy) - 18.0, z_mm + subject.tilt * y


def brain_slice(
    subject: BrainSubject,
    z_mm: float,
    shape: tuple[int, int],
    target: tuple[int, int],
    contrast: str,
    lesions: list[BrainLesion] = (),
) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Magnitude image (float64, `shape`) of the axial slice at MNI level z_mm, and each visible
    lesion's mask; the centred `target` crop covers FIELD_OF_VIEW_MM."""
    if contrast not in CONTRASTS:
        raise ValueError(f"unknown brain contrast {contrast!r}; valid: {', '.join(CONTRASTS)}")
    vol = templates()
    x, y, z = _mni_coordinates(subject, z_mm, shape, target)
    ijk = vol["inv_affine"][:3, :3] @ np.stack([x.ravel(), y.ravel(), z.ravel()])
    ijk += vol["inv_affine"][:3, 3:]

    def sample(name):
        return ndimage.map_coordinates(vol[name], ijk, order=1, cval=0.0).reshape(shape)

    weights = CONTRASTS[contrast]
    if weights is None:
        image = sample("t1")
    else:
        a_csf, a_gm, a_wm = weights
        image = a_csf * sample("csf") + a_gm * sample("gm") + a_wm * sample("wm")
    image = image + SCALP[contrast] * sample("scalp")
    h, w = target
    nv = (np.arange(shape[0]) - (shape[0] - 1) / 2)[:, None] / (h / 2)
    nu = (np.arange(shape[1]) - (shape[1] - 1) / 2)[None, :] / (w / 2)
    b = subject.bias
    image = image * np.exp(b[0] * nu + b[1] * nv + b[2] * nu * nv + b[3] * nu**2 + b[4] * nv**2)
    visible = []
    for lesion in lesions:
        lx, ly, lz = lesion.center
        dist2 = (x - lx) ** 2 + (y - ly) ** 2 + (z - lz) ** 2
        core = dist2 < lesion.radius**2
        if not core.any():
            continue
        edge = np.clip(1.5 - np.sqrt(dist2) / lesion.radius, 0, 1)  # soft rim
        image = image + edge * (LESION_SIGNAL[contrast] - image) * (
            dist2 < (1.5 * lesion.radius) ** 2
        )
        visible.append((lesion.label, core))
    return np.clip(image, 0.0, None), visible


def draw_brain_lesions(rng: np.random.Generator, count: int) -> list[BrainLesion]:
    """`count` lesions: mostly small white-matter lesions (radius 3-5 mm) centred where the WM
    probability exceeds 0.9 within Z_RANGE_MM, some larger nonspecific lesions (5-8 mm)."""
    vol = templates()
    affine = np.linalg.inv(vol["inv_affine"])
    candidates = np.argwhere(vol["wm"] > 0.9)
    z_mm = (affine[:3, :3] @ candidates.T + affine[:3, 3:])[2]
    candidates = candidates[(z_mm > Z_RANGE_MM[0]) & (z_mm < Z_RANGE_MM[1])]
    lesions = []
    for _ in range(count):
        ijk = candidates[rng.integers(len(candidates))]
        center = tuple(float(c) for c in affine[:3, :3] @ ijk + affine[:3, 3])
        if rng.random() < 0.75:
            lesions.append(BrainLesion("wm_lesion", center, float(rng.uniform(3, 5))))
        else:
            lesions.append(BrainLesion("lesion", center, float(rng.uniform(5, 8))))
    return lesions
