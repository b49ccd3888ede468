"""Short-axis cardiac phantom at 3 T for synthetic MOLLI T1 and T2-prep mapping series.

Anatomy in mm on the image grid: u along H (readout, patient left +), v along W (phase
encoding, posterior +), slice position p from 0 (base) to 1 (apex). Painted in order, later
regions overriding earlier ones: body ellipse (skeletal muscle / soft tissue), subcutaneous
fat ring, lungs, liver (growing towards the apex), vertebral marrow and descending aorta, the
left ventricle (myocardial annulus around the LV blood pool, papillary muscles mid-ventricle)
and the right ventricle (a crescent of RV blood against the septum with a free-wall myocardium
rim). Every patient draws its own geometry, tissue values and MOLLI timing.

Tissue relaxation times at 3 T and their sources are in `TISSUES` and data/README.md. Frames:
MOLLI with the Look-Locker readout perturbation rho (1/s), 1/T1* = 1/T1 + rho, A = A0 T1*/T1,
B = A0 (T1*/T1 + 1), so that T1*(B/A - 1) = T1 exactly and s_t = A - B exp(-TI_t / T1*)
(signed; the magnitude is what is stored); T2-prep s_t = A0 exp(-TE_t / T2). Signals are
rendered on a 2x finer grid and averaged over 2 x 2 blocks (partial volume).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from mrirobust.physics import relaxometry

# labels of the truth maps
LABELS = {
    "air": 0,
    "lv_blood": 1,
    "myocardium": 2,
    "rv_blood": 3,
    "fat": 4,
    "liver": 5,
    "muscle": 6,
    "lung": 7,
    "marrow": 8,
    "aorta": 9,
}

# tissue: (T1 mean, T1 SD, T2 mean, T2 SD) in ms at 3 T, relative amplitudes (MOLLI, T2-prep);
# sources in data/README.md. Per patient each value ~ N(mean, SD) clipped to +-2.5 SD, each
# amplitude x U(0.9, 1.1).
TISSUES = {
    "myocardium": (1159.0, 40.0, 45.1, 3.0, 0.60, 0.70),
    "lv_blood": (1932.0, 85.0, 200.0, 30.0, 1.00, 1.00),
    "aorta": (1932.0, 85.0, 200.0, 30.0, 1.00, 1.00),
    "rv_blood": (1932.0, 85.0, 120.0, 25.0, 0.95, 0.90),
    "liver": (809.0, 71.0, 34.0, 4.0, 0.50, 0.55),
    "fat": (382.0, 13.0, 68.0, 4.0, 0.90, 0.90),
    "muscle": (1420.0, 38.0, 31.7, 1.9, 0.45, 0.55),
    "marrow": (586.0, 73.0, 49.0, 4.0, 0.70, 0.70),
    "lung": (1200.0, 0.0, 30.0, 0.0, 0.06, 0.06),
}
# myocardial offsets from the mid-ventricular value at base / mid / apex (slice p 0.1 / 0.5 / 0.9):
# 1157 / 1159 / 1181 ms and 44.1 / 45.1 / 46.9 ms (von Knobelsdorff-Brenkenhoff et al. 2013)
MYOCARDIUM_LEVELS = (0.1, 0.5, 0.9)
MYOCARDIUM_T1_OFFSET = (-2.0, 0.0, 22.0)
MYOCARDIUM_T2_OFFSET = (-1.0, 0.0, 1.8)
TEXTURE = (0.02, 0.05)  # smooth relative variation of relaxation times, of amplitudes
TEXTURE_MM = 8.0  # its correlation length (Gaussian sigma)
T2PREP_TIMES_MS = (0.0, 35.0, 55.0)


@dataclass(frozen=True)
class Patient:
    """Per-patient draws: geometry (mm, degrees), tissue values, MOLLI timing."""

    heart: tuple[float, float]
    body_offset: tuple[float, float]
    body_axes: tuple[float, float]
    fat_mm: float
    rotation: float
    r0: float
    wall0: float
    ellipticity: float
    rv_angle: float
    rv_thickness: float
    rv_span: float
    rv_wall: float
    papillary: tuple[float, float, float]
    aorta_r: float
    tissues: dict
    rho: float  # Look-Locker readout perturbation, 1/s
    rr_ms: float
    ti0_ms: float


def draw_patient(rng: np.random.Generator, fov_mm: tuple[float, float]) -> Patient:
    """One patient's anatomy, tissue values and timing, fitted to the field of view (u, v)."""
    heart = tuple(rng.normal(0, 5, 2))
    offset = (rng.normal(-35, 8), rng.normal(15, 5))
    centre = np.add(heart, offset)
    axes = tuple(
        min(rng.uniform(lo, hi), 0.48 * f - abs(c))
        for (lo, hi), f, c in zip(((130, 175), (90, 115)), fov_mm, centre, strict=True)
    )
    tissues = {}
    for name, (t1, t1_sd, t2, t2_sd, a_molli, a_t2) in TISSUES.items():
        tissues[name] = (
            t1 + t1_sd * float(np.clip(rng.standard_normal(), -2.5, 2.5)),
            t2 + t2_sd * float(np.clip(rng.standard_normal(), -2.5, 2.5)),
            a_molli * rng.uniform(0.9, 1.1),
            a_t2 * rng.uniform(0.9, 1.1),
        )
    return Patient(
        heart=heart,
        body_offset=offset,
        body_axes=axes,
        fat_mm=rng.uniform(8, 25),
        rotation=rng.uniform(-20, 20),
        r0=rng.uniform(20, 28),
        wall0=rng.uniform(7, 11),
        ellipticity=rng.uniform(0.9, 1.0),
        rv_angle=215 + rng.uniform(-15, 15),
        rv_thickness=rng.uniform(15, 28),
        rv_span=rng.uniform(65, 85),
        rv_wall=rng.uniform(3, 4),
        papillary=(rng.uniform(3, 4), 45 + rng.uniform(-35, 35), rng.uniform(60, 100)),
        aorta_r=rng.uniform(10, 14),
        tissues=tissues,
        rho=rng.uniform(0.10, 0.20),
        rr_ms=rng.uniform(800, 1200),
        ti0_ms=rng.uniform(95, 120),
    )


def molli_times(patient: Patient, rng: np.random.Generator) -> np.ndarray:
    """Nine inversion times (ms, integers, sorted) of a MOLLI 4(1)3(1)2 scheme: three
    inversions at TI0, TI0 + 80 and TI0 + 160 ms, read out on 4, 3 and 2 successive beats of
    RR +- N(0, 15 ms)."""
    times = []
    for first, beats in ((0.0, 4), (80.0, 3), (160.0, 2)):
        rr = patient.rr_ms + rng.normal(0, 15, beats - 1)
        times += list(patient.ti0_ms + first + np.concatenate([[0.0], np.cumsum(rr)]))
    return np.sort(np.round(times))


def _grid(shape: tuple[int, int], pixel_mm: float):
    """(u, v) in mm of pixel centres, origin at the grid centre (index H//2, W//2)."""
    u = (np.arange(shape[0]) - shape[0] // 2) * pixel_mm
    v = (np.arange(shape[1]) - shape[1] // 2) * pixel_mm
    return np.meshgrid(u, v, indexing="ij")


def _ellipse(u, v, centre, axes):
    return ((u - centre[0]) / axes[0]) ** 2 + ((v - centre[1]) / axes[1]) ** 2 <= 1


def _disc(u, v, centre, radius):
    return (u - centre[0]) ** 2 + (v - centre[1]) ** 2 <= radius**2


def labels(patient: Patient, p: float, shape, pixel_mm: float, rng) -> np.ndarray:
    """Label map (H, W) uint8 of the slice at position p (0 base, 1 apex)."""
    u, v = _grid(shape, pixel_mm)
    out = np.zeros(shape, dtype=np.uint8)
    body = np.add(patient.heart, patient.body_offset)
    a_u, a_v = patient.body_axes
    out[_ellipse(u, v, body, (a_u, a_v))] = LABELS["fat"]
    inner = (a_u - patient.fat_mm, a_v - patient.fat_mm)
    out[_ellipse(u, v, body, inner)] = LABELS["muscle"]
    for side in (-1, 1):
        lung = (body[0] + side * 0.55 * a_u, body[1] + 0.1 * a_v)
        out[_ellipse(u, v, lung, (0.33 * a_u, 0.6 * a_v))] = LABELS["lung"]
    grow = 0.3 + 0.7 * p
    liver = (body[0] - 0.45 * a_u, body[1] + 0.25 * a_v)
    out[_ellipse(u, v, liver, (0.45 * a_u * grow, 0.55 * a_v * grow))] = LABELS["liver"]
    spine = (body[0], body[1] + 0.72 * a_v)
    out[_disc(u, v, spine, 18.0)] = LABELS["marrow"]
    out[_disc(u, v, (spine[0] + 22, spine[1] - 22), patient.aorta_r)] = LABELS["aorta"]

    lv = np.add(patient.heart, rng.normal(0, 1.5, 2))  # breath-hold position of this slice
    theta = np.deg2rad(patient.rotation)
    du, dv = u - lv[0], v - lv[1]
    x = np.cos(theta) * du + np.sin(theta) * dv  # heart frame
    y = (-np.sin(theta) * du + np.cos(theta) * dv) / patient.ellipticity
    r = np.hypot(x, y)
    r_endo = patient.r0 * (1 - 0.45 * p**2)
    r_epi = r_endo + patient.wall0 * (1 - 0.2 * p)
    if p <= 0.85:
        span = np.deg2rad(patient.rv_span)
        thickness = patient.rv_thickness * (1 - 0.7 * p)
        reach = r_epi + thickness
        offset = (reach**2 - r_epi**2) / (2 * (reach - r_epi * np.cos(span)))
        radius = reach - offset
        angle = np.deg2rad(patient.rv_angle)
        rv = np.hypot(x - offset * np.cos(angle), y - offset * np.sin(angle))
        out[(rv <= radius) & (r > r_epi)] = LABELS["myocardium"]
        out[(rv <= radius - patient.rv_wall) & (r > r_epi)] = LABELS["rv_blood"]
    out[r <= r_epi] = LABELS["myocardium"]
    out[r <= r_endo] = LABELS["lv_blood"]
    if 0.2 <= p <= 0.7:
        size, first, apart = patient.papillary
        for angle in np.deg2rad([first, first + apart]):
            centre = (0.6 * r_endo * np.cos(angle), 0.6 * r_endo * np.sin(angle))
            out[_disc(x, y, centre, size)] = LABELS["myocardium"]
    return out


def _texture(rng, shape, pixel_mm: float) -> np.ndarray:
    """A smooth random field of unit standard deviation (Gaussian-filtered white noise)."""
    field = gaussian_filter(rng.standard_normal(shape), TEXTURE_MM / pixel_mm, mode="wrap")
    return field / field.std()


def tissue_maps(patient: Patient, lab: np.ndarray, p: float, pixel_mm: float, rng) -> dict:
    """T1, T2 (ms) and amplitude maps (H, W) of a label map, with smooth texture; 0 in air."""
    names = {value: name for name, value in LABELS.items()}
    maps = {key: np.zeros(lab.shape) for key in ("t1", "t2", "a_molli", "a_t2")}
    for value in np.unique(lab):
        if value == LABELS["air"]:
            continue
        t1, t2, a_molli, a_t2 = patient.tissues[names[value]]
        if value == LABELS["myocardium"]:
            t1 += np.interp(p, MYOCARDIUM_LEVELS, MYOCARDIUM_T1_OFFSET)
            t2 += np.interp(p, MYOCARDIUM_LEVELS, MYOCARDIUM_T2_OFFSET)
        where = lab == value
        for key, val in zip(maps, (t1, t2, a_molli, a_t2), strict=True):
            maps[key][where] = val
    relax, amplitude = TEXTURE
    for key, scale in (("t1", relax), ("t2", relax), ("a_molli", amplitude), ("a_t2", amplitude)):
        maps[key] *= 1 + scale * _texture(rng, lab.shape, pixel_mm)
    return maps


def _block_mean(x: np.ndarray) -> np.ndarray:
    """Average of each 2 x 2 block over the last two axes: (..., 2H, 2W) -> (..., H, W)."""
    *lead, H, W = x.shape
    return x.reshape(*lead, H // 2, 2, W // 2, 2).mean(axis=(-3, -1))


@dataclass
class PhantomSlice:
    """One slice on the image grid: signed MOLLI and T2-prep frames (w, H, W), the majority
    label and whether all four fine pixels agree (pure tissue), block-mean truth maps (ms)."""

    molli: np.ndarray
    t2prep: np.ndarray
    labels: np.ndarray
    pure: np.ndarray
    t1: np.ndarray
    t2: np.ndarray


def render_slice(
    patient: Patient,
    p: float,
    shape: tuple[int, int],
    pixel_mm: float,
    ti_ms: np.ndarray,
    rng: np.random.Generator,
) -> PhantomSlice:
    """Render at 2x resolution, compute the signed frames, average 2 x 2 blocks."""
    fine = (2 * shape[0], 2 * shape[1])
    lab = labels(patient, p, fine, pixel_mm / 2, rng)
    maps = tissue_maps(patient, lab, p, pixel_mm / 2, rng)
    body = lab != LABELS["air"]
    t1 = torch.from_numpy(np.where(body, maps["t1"], 1.0))
    t1star = 1 / (1 / t1 + patient.rho / 1000)
    a0 = torch.from_numpy(maps["a_molli"])
    ti = torch.from_numpy(np.asarray(ti_ms, dtype=float))[:, None, None]
    molli = relaxometry.molli_signal(ti, a0 * t1star / t1, a0 * (t1star / t1 + 1), t1star)
    te = torch.tensor(T2PREP_TIMES_MS, dtype=torch.float64)[:, None, None]
    t2 = torch.from_numpy(np.where(body, maps["t2"], 1.0))
    t2prep = relaxometry.t2prep_signal(te, torch.from_numpy(maps["a_t2"]), t2)
    blocks = lab.reshape(shape[0], 2, shape[1], 2).transpose(0, 2, 1, 3).reshape(*shape, 4)
    majority = (blocks[..., None] == np.arange(len(LABELS))).sum(-2).argmax(-1)
    return PhantomSlice(
        molli=_block_mean(molli.numpy()),
        t2prep=_block_mean(t2prep.numpy()),
        labels=majority.astype(np.uint8),
        pure=(blocks == blocks[..., :1]).all(-1),
        t1=_block_mean(maps["t1"]),
        t2=_block_mean(maps["t2"]),
    )
