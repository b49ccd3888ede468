"""Real-shaped fastMRI files for the `shape` scale: a few synthetic volumes (not patient data)
with the shapes and quirks of the real fastMRI data, so that the papers' configuration meets
them in CI.

`ensure()` returns FASTMRI_ROOT when the environment sets it, else `data/embedded/shape/`,
generated first when missing or incomplete. The layout is the embedded one
(`mrirobust.data.embedded`, whose phantoms, acquisition model and writers make every file):
`{knee,brain}/multicoil_{train,val}/`, `knee_shifted/multicoil_val/`, `knee/singlecoil_{train,
val}/` (the multicoil knees emulated single-coil), `annotations/{knee,brain}.csv` (fastMRI+
CSV on the 320 x 320 target, flipped up-down) and `manifest.json`.

Every volume has `SETTINGS["slices_per_volume"]` central slices and a 320 x 320
`reconstruction_rss`; k-space (H, W), coils C and p unacquired columns on each side (from the
header's encodingLimits: center = W // 2 - p, maximum = W - 2p - 1) per `VOLUMES`:

    knee train / val     640 x 368, C 15, p 17    640 x 372, C 16, p 18   (CORPD / CORPDFS)
    brain train          640 x 320, C 4,  p 0     640 x 384, C 20, p 4    (AXT1 / AXT2)
    brain val            640 x 264, C 4,  p 0     640 x 384, C 20, p 4    (AXFLAIR / AXT2)
    knee_shifted val     320 x 360, C 8,  p 16                            (1x readout, SNR 40)

The 264-column FLAIR is narrower than its target, like some real brain files: its stored
target is the image zero-padded to 320 columns (the header's reconSpace stays 320 x 320), and
`read_slice` gives fastMRI's (W, W) = 264 x 264 crop of it. The shape scale reads the first
`max_files` (2) files of each folder, so both volumes of every folder are read.
"""

from __future__ import annotations

from pathlib import Path

from mrirobust.data import embedded, manifest
from mrirobust.paths import embedded_root, environment_root
from mrirobust.scales import resolve

SCALE = "shape"
SETTINGS = dict(
    slices_per_volume=2,
    snr_knee=240.0,  # as the embedded data (data/README.md)
    snr_brain=240.0,
    snr_shifted=40.0,
    lesions_train=1,  # lesions per volume (plus one ACL box on the central knee slices)
    lesions_val=3,
    min_box=7,  # the SSIM window is 7 x 7
    intensity_scale=1e-3,
)
# central slices: the knee's ACL box (z -0.3..0.2) is on both, the brain's ventricles show
Z_RANGE = {"knee": (-0.2, 0.1), "knee_shifted": (-0.2, 0.1), "brain": (10.0, 30.0)}
# (anatomy, split, contrast, coils, k-space (H, W), unacquired columns on each side)
VOLUMES = (
    ("knee", "train", "CORPD_FBK", 15, (640, 368), 17),
    ("knee", "train", "CORPDFS_FBK", 16, (640, 372), 18),
    ("knee", "val", "CORPD_FBK", 15, (640, 368), 17),
    ("knee", "val", "CORPDFS_FBK", 16, (640, 372), 18),
    ("brain", "train", "AXT1", 4, (640, 320), 0),
    ("brain", "train", "AXT2", 20, (640, 384), 4),
    ("brain", "val", "AXFLAIR", 4, (640, 264), 0),
    ("brain", "val", "AXT2", 20, (640, 384), 4),
    ("knee_shifted", "val", "CORT2_FBK", 8, (320, 360), 16),
)
GENERATOR_FINGERPRINT = manifest.fingerprint(
    [Path(__file__), *(Path(embedded.__file__).parent / n for n in embedded.GENERATOR_SOURCES)]
)


def parameters() -> dict:
    """The generator's parameters: the shape data profile's seed and target size, SETTINGS and
    VOLUMES (what the manifest records and `is_complete` compares)."""
    data = resolve(SCALE, "data")
    return dict(
        seed=data["seed"],
        target_size=data["target_size"],
        **SETTINGS,
        volumes=[[a, s, c, n, list(shape), p] for a, s, c, n, shape, p in VOLUMES],  # JSON
    )


def plans(cfg: dict) -> list[dict]:
    """The plan (`embedded.sized_plan`) of every volume, numbered within its folder."""
    out, counts = [], {}
    for anatomy, split, contrast, coils, shape, padding in VOLUMES:
        index = counts[anatomy, split] = counts.get((anatomy, split), -1) + 1
        out.append(
            embedded.sized_plan(
                cfg, anatomy, split, index, contrast, coils, shape, padding, Z_RANGE[anatomy]
            )
        )
    return out


def generate(progress: bool = True) -> Path:
    """Write the real-shaped files under `data/embedded/shape/` (every file atomically, the
    manifest last, as `embedded.generate`)."""
    cfg = parameters()
    root = embedded_root(SCALE)
    started = manifest.start(root)
    files = embedded.write_volumes(root, cfg, plans(cfg), "real-shaped data (shape)", progress)
    manifest.write(root, "mrirobust.data.shaped", GENERATOR_FINGERPRINT, SCALE, cfg, files, started)
    return root


def is_complete() -> bool:
    """True when the manifest matches this generator's code and parameters, and every file it
    lists exists with the recorded size."""
    return manifest.is_complete(embedded_root(SCALE), GENERATOR_FINGERPRINT, parameters())


def ensure(progress: bool = True) -> Path:
    """The fastMRI root of the shape scale: FASTMRI_ROOT when the environment sets it, else the
    generated real-shaped files, written first when missing or incomplete."""
    real = environment_root("fastmri_root")
    if real is not None:
        return real
    if not is_complete():
        generate(progress=progress)
    return embedded_root(SCALE)
