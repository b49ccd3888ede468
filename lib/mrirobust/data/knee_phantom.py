"""Procedural coronal knee phantom (as fastMRI's CORPD / CORPDFS knee scans), one slice at a time.

Geometry lives in normalised coordinates: u (columns, medial-lateral) and v (rows, superior at
the top) with the target image spanning [-1, 1]^2; z in [-1, 1] runs anterior to posterior
through the volume. A slice shows the femur (shaft, metaphysis, two condyles and, posteriorly,
the intercondylar notch) and the tibia (plateau, spines, shaft) with a cortical rim and textured
marrow, articular cartilage, the two menisci (triangles in the joint space), the collateral
ligaments, the cruciate ligaments in the notch (ACL anterior-central, PCL posterior-central),
striated muscle, subcutaneous and intermuscular fat, and a thin layer of joint fluid.

Tissue intensities per contrast are relative proton-density-weighted signals (PD: fat bright;
PD fat-saturated: fat and marrow dark, fluid bright). Lesions are 3-D objects in (u, v, z):
a slice shows them where its plane cuts them, so adjacent slices carry consistent boxes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

TISSUES = ("fat", "marrow", "muscle", "cartilage", "fluid", "meniscus", "ligament", "cortex")

# relative signal of each tissue per contrast (acquisition string as in fastMRI's attrs)
CONTRASTS = {
    "CORPD_FBK": dict(
        fat=1.0, marrow=0.85, muscle=0.38, cartilage=0.6, fluid=0.72, meniscus=0.06,
        ligament=0.1, cortex=0.03,
    ),
    "CORPDFS_FBK": dict(
        fat=0.1, marrow=0.13, muscle=0.32, cartilage=0.55, fluid=0.95, meniscus=0.05,
        ligament=0.08, cortex=0.03,
    ),
    # the shifted acquisition (knee_shifted): T2-weighted, not fat-saturated (a synthetic name)
    "CORT2_FBK": dict(
        fat=0.7, marrow=0.6, muscle=0.18, cartilage=0.3, fluid=1.0, meniscus=0.04,
        ligament=0.06, cortex=0.02,
    ),
}  # fmt: skip

# fastMRI+ knee labels used for the synthetic lesions (strings exactly as in knee.csv)
LESION_LABELS = {
    "meniscus_tear": "Meniscus Tear",
    "bone_edema": "Bone- Subchondral edema",
    "cartilage_partial": "Cartilage - Partial Thickness loss/defect",
    "cartilage_full": "Cartilage - Full Thickness loss/defect",
    "acl_low": "Ligament - ACL Low Grade sprain",
    "acl_high": "Ligament - ACL High Grade Sprain",
}


@dataclass(frozen=True)
class KneeSubject:
    """Per-subject anatomy: pose, bone sizes, joint line, tissue-intensity jitter."""

    scale: float
    shift: tuple[float, float]
    angle: float  # in-plane rotation, radians
    joint: float  # v of the femoral condyles' lowest point
    gap: float  # joint space height
    condyle_radius: float
    leg_half_width: float
    cartilage: float  # cartilage thickness
    jitter: dict = field(default_factory=dict)  # multiplicative tissue-intensity jitter


def draw_knee_subject(rng: np.random.Generator) -> KneeSubject:
    """A random knee: scale 0.9-1.1, shift +-0.05, rotation +-8 deg, sizes +-10 %."""
    return KneeSubject(
        scale=float(rng.uniform(0.9, 1.1)),
        shift=(float(rng.uniform(-0.05, 0.05)), float(rng.uniform(-0.05, 0.05))),
        angle=float(np.deg2rad(rng.uniform(-8, 8))),
        joint=float(rng.uniform(-0.05, 0.08)),
        gap=float(rng.uniform(0.07, 0.1)),
        condyle_radius=float(rng.uniform(0.2, 0.24)),
        leg_half_width=float(rng.uniform(0.72, 0.85)),
        cartilage=float(rng.uniform(0.035, 0.05)),
        jitter={t: float(rng.uniform(0.92, 1.08)) for t in TISSUES},
    )


@dataclass(frozen=True)
class Lesion:
    """A lesion: `kind` (a key of LESION_LABELS), centre (u, v, z), radius, z half-extent."""

    kind: str
    center: tuple[float, float, float]
    radius: float
    depth: float

    @property
    def label(self) -> str:
        return LESION_LABELS[self.kind]


def grid(shape: tuple[int, int], target: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Normalised (u, v) of each pixel of a `shape` grid; its centred `target` crop is [-1, 1]^2."""
    H, W = shape
    h, w = target
    v = (np.arange(H) - (H - 1) / 2) / (h / 2)
    u = (np.arange(W) - (W - 1) / 2) / (w / 2)
    return np.meshgrid(u, v)


def _pose(subject: KneeSubject, u: np.ndarray, v: np.ndarray):
    """Image coordinates -> anatomy coordinates: inverse of scale, rotation and shift."""
    du, dv = u - subject.shift[0], v - subject.shift[1]
    c, s = np.cos(subject.angle), np.sin(subject.angle)
    return (c * du + s * dv) / subject.scale, (-s * du + c * dv) / subject.scale


def _segment_distance(u, v, a, b):
    """Distance of each point (u, v) to the segment a-b."""
    p = np.stack([u - a[0], v - a[1]])
    d = np.array(b, dtype=float) - np.array(a, dtype=float)
    t = np.clip((p[0] * d[0] + p[1] * d[1]) / (d @ d), 0.0, 1.0)
    return np.hypot(p[0] - t * d[0], p[1] - t * d[1])


def _texture(rng, shape, sigma) -> np.ndarray:
    """Smoothed white noise scaled to zero mean and unit standard deviation."""
    t = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    return (t - t.mean()) / (t.std() + 1e-12)


def _structures(subject: KneeSubject, u, v, z, px: float) -> dict[str, np.ndarray]:
    """Boolean masks of the anatomical structures on anatomy coordinates (u, v) at depth z."""
    j, g, rc = subject.joint, subject.gap, subject.condyle_radius * np.sqrt(1 - 0.35 * z * z)
    leg = np.abs(u) < subject.leg_half_width * (1 + 0.08 * np.cos(1.5 * v))
    # femur: shaft, metaphysis and two condyles; the intercondylar notch opens posteriorly
    cu = 0.22
    femur = (np.abs(u) < 0.24) & (v < j - rc)
    femur |= ((u / 0.47) ** 2 + ((v - (j - rc - 0.02)) / 0.26) ** 2) < 1
    femur |= ((u - cu) ** 2 + (v - (j - rc)) ** 2 < rc**2) | (
        (u + cu) ** 2 + (v - (j - rc)) ** 2 < rc**2
    )
    notch_w = 0.11 * np.clip((z + 0.4) / 0.6, 0, 1)
    notch = (np.abs(u) < notch_w) & (v > j - rc - 0.02 - 0.15 * np.clip(z + 0.4, 0, 1))
    femur &= ~notch
    # tibia: plateau (superellipse) with the spines, then the shaft
    t0 = j + g
    plateau_w = 0.48 * np.sqrt(1 - 0.3 * z * z)
    tibia = ((u / plateau_w) ** 4 + ((v - (t0 + 0.2)) / 0.2) ** 4) < 1
    tibia |= (np.abs(u) < 0.25) & (v > t0 + 0.2)
    tibia |= ((np.abs(u) - 0.05) ** 2 / 0.04**2 + (v - t0) ** 2 / 0.05**2) < 1  # spines
    bone = femur | tibia
    rim = max(1, round(0.025 / px))
    marrow = ndimage.binary_erosion(bone, iterations=rim)
    thick = max(1, round(subject.cartilage / px))
    grown_f = ndimage.binary_dilation(femur, iterations=thick) & ~bone
    grown_t = ndimage.binary_dilation(tibia, iterations=thick) & ~bone
    cartilage = (grown_f & (v > j - rc * 0.9)) | (
        grown_t & (v < t0 + 0.06) & (np.abs(u) < plateau_w)
    )
    # menisci: triangles at the outer joint space, apex pointing inwards
    mv = j + g / 2
    out_edge, apex = plateau_w + 0.04, plateau_w - 0.2
    frac = np.clip((np.abs(u) - apex) / (out_edge - apex), 0, 1)
    meniscus = (
        (np.abs(u) > apex) & (np.abs(u) < out_edge) & (np.abs(v - mv) < 0.6 * g * frac + 0.3 * px)
    )
    # joint capsule (soft tissue) around the menisci, a thin fluid film between the cartilages
    capsule = (np.abs(u) < out_edge) & (v > j - 0.03) & (v < t0 + 0.03) & ~bone
    fluid = capsule & (np.abs(u) < apex + 0.05) & (np.abs(v - mv) < 0.3 * g)
    # collateral ligaments along both sides of the joint
    ligament = (np.abs(np.abs(u) - out_edge - 0.02) < max(0.018, 0.6 * px)) & (
        np.abs(v - mv) < 0.25
    )
    # cruciate ligaments in the notch: ACL in central-anterior, PCL in central-posterior slices
    acl = _segment_distance(u, v, (0.07, j - 0.14), (-0.03, t0 + 0.02)) < 0.035
    acl &= abs(z + 0.05) < 0.3
    pcl = _segment_distance(u, v, (-0.07, j - 0.12), (0.02, t0 + 0.12)) < 0.035
    pcl &= abs(z - 0.3) < 0.25
    ligament |= acl | pcl
    # muscles above and below the joint, fat around them and under the skin
    muscle = leg & (np.abs(u) < subject.leg_half_width - 0.12) & (np.abs(v - mv) > 0.3)
    return dict(
        leg=leg, bone=bone, marrow=marrow, cartilage=cartilage & ~meniscus, meniscus=meniscus,
        capsule=capsule, fluid=fluid, ligament=ligament & ~bone, acl=acl & ~bone,
        muscle=muscle & ~bone,
    )  # fmt: skip


def knee_slice(
    subject: KneeSubject,
    z: float,
    shape: tuple[int, int],
    target: tuple[int, int],
    contrast: str,
    lesions: list[Lesion] = (),
    seed: int = 0,
) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Magnitude image (float64, `shape`) of the slice at depth z, and each visible lesion's mask.

    `target` = (h, w) is the centred crop that spans [-1, 1]^2 (the phantom extends beyond it
    in the readout direction). `seed` fixes the marrow and muscle textures.
    """
    if contrast not in CONTRASTS:
        raise ValueError(f"unknown knee contrast {contrast!r}; valid: {', '.join(CONTRASTS)}")
    rng = np.random.default_rng(seed)
    gu, gv = grid(shape, target)
    u, v = _pose(subject, gu, gv)
    px = 2.0 / target[0] / subject.scale
    s = _structures(subject, u, v, z, px)
    tissue = {t: CONTRASTS[contrast][t] * subject.jitter[t] for t in TISSUES}
    sig = 2.0 / px / 100  # texture correlation ~1 % of the field of view
    trabecular = _texture(rng, shape, 1.2 * sig)
    fibres = _texture(rng, shape, (3 * sig, 0.7 * sig))
    septa = _texture(rng, shape, (4 * sig, 0.8 * sig)) > 1.6  # thin fat streaks along fibres

    image = np.where(s["leg"], tissue["fat"], 0.0)
    muscle = s["muscle"] & ~septa
    image = np.where(muscle, tissue["muscle"] * (1 + 0.08 * fibres), image)
    image = np.where(s["capsule"], tissue["muscle"], image)
    image = np.where(s["fluid"], tissue["fluid"], image)
    image = np.where(s["bone"], tissue["cortex"], image)
    image = np.where(s["marrow"], tissue["marrow"] * (1 - 0.18 * np.clip(trabecular, 0, 3)), image)
    image = np.where(s["cartilage"], tissue["cartilage"], image)
    image = np.where(s["meniscus"], tissue["meniscus"], image)
    image = np.where(s["ligament"], tissue["ligament"], image)

    visible = []
    for lesion in lesions:
        mask = _lesion_mask(lesion, s, u, v, z, px)
        if mask is None or not mask.any():
            continue
        image = np.where(mask, _lesion_signal(lesion, tissue, image), image)
        visible.append((lesion.label, mask))
    return np.clip(image, 0.0, None), visible


def _lesion_mask(lesion: Lesion, s, u, v, z, px):
    """Pixels of `lesion` in the slice at depth z (None when the plane misses it)."""
    lu, lv, lz = lesion.center
    if abs(z - lz) > lesion.depth:
        return None
    r = lesion.radius * np.sqrt(1 - (abs(z - lz) / lesion.depth) ** 2 * 0.5)
    near = (u - lu) ** 2 + (v - lv) ** 2 < r**2
    if lesion.kind == "meniscus_tear":
        tear = np.abs(v - lv) < max(0.012, 0.5 * px)  # a horizontal cleft through the meniscus
        return s["meniscus"] & near & tear
    if lesion.kind == "bone_edema":
        return s["marrow"] & near
    if lesion.kind == "cartilage_partial":
        return s["cartilage"] & near & (v > lv)  # the half facing the joint space
    if lesion.kind == "cartilage_full":
        return s["cartilage"] & near
    if lesion.kind in ("acl_low", "acl_high"):
        return s["acl"]
    raise ValueError(f"unknown knee lesion kind {lesion.kind!r}; valid: {', '.join(LESION_LABELS)}")


def _lesion_signal(lesion: Lesion, tissue: dict, image: np.ndarray):
    """Signal inside a lesion: fluid-like clefts and defects, oedema, a swollen ACL."""
    if lesion.kind in ("meniscus_tear", "cartilage_partial", "cartilage_full"):
        return tissue["fluid"]
    if lesion.kind == "bone_edema":  # oedema: water replaces marrow fat
        return 0.5 * tissue["marrow"] + 0.6 * tissue["fluid"]
    if lesion.kind == "acl_high":
        return 0.5 * tissue["fluid"]
    return 1.8 * image  # low-grade sprain: a slightly brighter, otherwise normal ACL


def draw_knee_lesions(
    subject: KneeSubject, rng: np.random.Generator, count: int, z_range: tuple[float, float]
) -> list[Lesion]:
    """`count` random lesions at anatomically plausible places of `subject`, plus one ACL box.

    Each lesion spans a few slices (z half-extent 0.1-0.25); the ACL entry marks the normal
    (low grade) or torn (high grade) ligament in the central slices.
    """
    j, g, rc, ct = subject.joint, subject.gap, subject.condyle_radius, subject.cartilage
    lesions = []
    kinds = ["meniscus_tear", "bone_edema", "cartilage_partial", "cartilage_full"]
    for _ in range(count):
        kind = str(rng.choice(kinds, p=[0.4, 0.3, 0.2, 0.1]))
        side = float(rng.choice([-1.0, 1.0]))
        z = float(rng.uniform(*z_range))
        depth = float(rng.uniform(0.1, 0.25))
        if kind == "meniscus_tear":
            center, radius = (side * 0.36, j + g / 2 + rng.uniform(-0.01, 0.01)), 0.12
        elif kind == "bone_edema":
            top = rng.random() < 0.5
            vc = j - rc * 0.35 if top else j + g + 0.12
            center, radius = (side * rng.uniform(0.15, 0.3), vc), float(rng.uniform(0.06, 0.1))
        else:
            center, radius = (
                (side * rng.uniform(0.15, 0.28), j + ct / 2),
                float(rng.uniform(0.05, 0.08)),
            )
        lesions.append(Lesion(kind, (float(center[0]), float(center[1]), z), radius, depth))
    acl = "acl_high" if rng.random() < 0.3 else "acl_low"
    lesions.append(Lesion(acl, (0.0, j, -0.05), 0.2, 0.25))
    return lesions
