"""Embedded CMRxRecon: a deterministic, offline, synthetic stand-in for CMRxRecon 2023 mapping
data (not patient data), written in the real layout so that the same reader reads both.

`python -m mrirobust data --scale smoke|cpu|shape` writes `data/embedded/<scale>/cmrxrecon/`::

    MultiCoil/Mapping/{TrainingSet,ValidationSet}/FullSample/P###/{T1map,T2map}.{mat,csv}
    MultiCoil/Mapping/{TrainingSet,ValidationSet}/AccFactor{04,08,10}/P###/
        {T1map,T2map}.mat, {T1map,T2map}_mask.mat, {T1map,T2map}.csv
    truth/{TrainingSet,ValidationSet}/P###.npz   labels, pure-tissue mask, T1/T2 maps, sigma
    manifest.json                                parameters, generator fingerprint, sha256

(the real ValidationSet withholds FullSample; here it is the evaluation ground truth). The
`shape` scale writes the real shapes (kx 512, 10 coils, 24 ACS lines, ky per patient) and, like
the real data, no ValidationSet FullSample and no truth/ (`ground_truth` False).

Acquisition per slice, with m_t the signed phantom frame t (`cardiac_phantom`), b a smooth bias
field, e^{i phi} a smooth random phase (shared by the frames of a slice) and S_c sigpy birdcage
maps (sum_c |S_c|^2 = 1, the same for T1 and T2 of a patient):

    k_{t,c} = F(S_c b m_t e^{i phi}) + n_{t,c},   n ~ CN(0, 2 sigma^2 I),

sigma = mean(|b m| over the body foreground (> 10 % of the maximum) of all frames) / snr.
Masks (CMRxRecon's): lines ky[0::R] plus `acs_lines` central lines ky//2 - acs/2 ....
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from mrirobust import physics
from mrirobust.config import Profile
from mrirobust.data import cardiac_phantom, cmrxrecon, manifest
from mrirobust.data.embedded import coil_maps, smooth_field
from mrirobust.paths import embedded_root, environment_root, real_data_root
from mrirobust.storage import atomic_write

DATA = Profile(
    "shared.cmrxrecon_data",
    paper=dict(
        source="cmrxrecon",  # real CMRxRecon 2023 under CMRXRECON_ROOT (data/README.md)
        seed=0,  # generator seed: same seed -> byte-identical files
        training_patients=120,  # TrainingSet P001..
        validation_patients=60,  # ValidationSet P001.. (with a synthetic FullSample)
        slices=6,  # short-axis slices, base (p 0.1) to apex (p 0.9)
        coils=10,
        readout=512,  # kx, 2x oversampled readout (H)
        phase=204,  # ky, phase encoding (W), the undersampled direction; a list: per patient
        pixel_mm=1.4,
        acs_lines=24,  # fully sampled central ky lines of every mask
        snr=40.0,  # mean body signal / noise std (real part) per k-space sample
        intensity_scale=1e-3,  # RSS maximum ~1e-3, as in the real data
        ground_truth=True,  # write the ValidationSet's FullSample and truth/ (real data: neither)
    ),
    # ACS scaled with ky: 24 lines at ky 96 would make R 8 and 10 nearly equal (2.9x, 3.0x)
    cpu=dict(
        source="embedded",
        training_patients=14,
        validation_patients=4,
        slices=3,
        readout=160,
        phase=96,
        pixel_mm=2.5,
        acs_lines=12,
    ),
    smoke=dict(
        source="embedded",
        training_patients=3,
        validation_patients=1,
        slices=2,
        coils=4,
        readout=64,
        phase=48,
        pixel_mm=5.0,
        acs_lines=8,
    ),
    # the real shapes, two slices a patient; CMRXRECON_ROOT instead when the environment sets it
    shape=dict(
        source="shape",
        training_patients=2,
        validation_patients=1,
        slices=2,
        phase=[204, 168],  # real subjects differ in ky: P001 204, P002 168, ... (cycled)
        ground_truth=False,
    ),
)
GENERATOR_SOURCES = ("cmrxrecon_embedded.py", "cardiac_phantom.py", "cmrxrecon.py")
FOLDER = "cmrxrecon"


# the generator's sources and the signal models, taken at import
GENERATOR_FINGERPRINT = manifest.fingerprint(
    [*(Path(__file__).parent / n for n in GENERATOR_SOURCES), physics.relaxometry.__file__]
)


def root_of(scale: str) -> Path:
    """Where the embedded CMRxRecon data of `scale` lives (the folder holding MultiCoil/)."""
    return embedded_root(scale) / FOLDER


def line_mask(ky: int, acceleration: int, acs_lines: int) -> np.ndarray:
    """CMRxRecon mask `(ky,)`: every R-th line from line 0, plus the central ACS block."""
    mask = np.zeros(ky, dtype=bool)
    mask[::acceleration] = True
    mask[ky // 2 - acs_lines // 2 : ky // 2 + acs_lines - acs_lines // 2] = True
    return mask


def _rng(cfg: dict, split: str, patient: str) -> np.random.Generator:
    words = [
        int.from_bytes(hashlib.sha256(k.encode()).digest()[:4], "little") for k in (split, patient)
    ]
    return np.random.default_rng([cfg["seed"], *words])


def phase_lines(cfg: dict, patient: str) -> int:
    """ky of `patient` (P###): `phase`, or entry ### - 1 (cycled) of a per-patient list."""
    phase = cfg["phase"]
    return phase if isinstance(phase, int) else phase[(int(patient[1:]) - 1) % len(phase)]


def make_patient(cfg: dict, split: str, patient: str) -> dict:
    """k-space `(slices, w, coils, H, W)` complex64 per modality, times (ms), truth maps."""
    rng = _rng(cfg, split, patient)
    shape = (cfg["readout"], phase_lines(cfg, patient))
    fov = (shape[0] * cfg["pixel_mm"], shape[1] * cfg["pixel_mm"])
    subject = cardiac_phantom.draw_patient(rng, fov)
    maps = coil_maps(rng, cfg["coils"], shape)
    bias = np.exp(smooth_field(rng, shape, 0.12))
    n = cfg["slices"]
    positions = np.linspace(0.1, 0.9, n) if n > 1 else np.array([0.5])
    slices, ti = [], []
    for p in positions:
        ti.append(cardiac_phantom.molli_times(subject, rng))
        phantom = cardiac_phantom.render_slice(subject, p, shape, cfg["pixel_mm"], ti[-1], rng)
        phase = np.exp(1j * smooth_field(rng, shape, 0.8))
        slices.append((phantom, phase))
    out = dict(
        labels=np.stack([s.labels for s, _ in slices]),
        pure=np.stack([s.pure for s, _ in slices]),
        t1_ms=np.stack([s.t1 for s, _ in slices]).astype(np.float32),
        t2_ms=np.stack([s.t2 for s, _ in slices]).astype(np.float32),
        rho=subject.rho,
        times={"T1map": np.stack(ti), "T2map": np.tile(cardiac_phantom.T2PREP_TIMES_MS, (n, 1))},
    )
    for modality, key in (("T1map", "molli"), ("T2map", "t2prep")):
        images = np.stack([getattr(s, key) * phase for s, phase in slices])
        images = images * bias * cfg["intensity_scale"]  # (slices, w, H, W)
        magnitude = np.abs(images)
        sigma = magnitude[magnitude > 0.1 * magnitude.max()].mean() / cfg["snr"]
        coil_images = torch.from_numpy(images[:, :, None] * maps[None, None])
        kspace = physics.fft2c(coil_images).numpy()
        noise = rng.standard_normal((2, *kspace.shape)) * sigma
        out[modality] = (kspace + noise[0] + 1j * noise[1]).astype(np.complex64)
        out[f"sigma_{modality}"] = sigma
    return out


def _write_patient(root: Path, cfg: dict, split: str, patient: str) -> list[str]:
    """Every file of one patient; returns their paths relative to `root`. Without
    `ground_truth`, a ValidationSet patient has no FullSample and no patient has truth/."""
    data = make_patient(cfg, split, patient)
    full = cfg["ground_truth"] or split == "TrainingSet"
    written = []
    for modality in cmrxrecon.MODALITIES:
        h5_order = data[modality].transpose(1, 0, 2, 4, 3)  # (w, slices, coils, ky, kx)
        for acceleration in (None, *cmrxrecon.ACCELERATIONS) if full else cmrxrecon.ACCELERATIONS:
            folder = cmrxrecon.mapping_dir(root, split, acceleration) / patient
            variable = cmrxrecon.kspace_variable(acceleration)
            if acceleration is None:
                cmrxrecon.write_mat(folder / f"{modality}.mat", variable, h5_order)
            else:
                mask = line_mask(h5_order.shape[-2], acceleration, cfg["acs_lines"])
                cmrxrecon.write_mat(folder / f"{modality}.mat", variable, h5_order * mask[:, None])
                cmrxrecon.write_mat(
                    folder / f"{modality}_mask.mat",
                    f"mask{acceleration:02d}",
                    np.repeat(mask[:, None], cfg["readout"], axis=1).astype(np.float64),
                )
                written.append(str((folder / f"{modality}_mask.mat").relative_to(root)))
            cmrxrecon.write_times(folder / f"{modality}.csv", data["times"][modality])
            written += [
                str((folder / f"{modality}.{ext}").relative_to(root)) for ext in ("mat", "csv")
            ]
    if not cfg["ground_truth"]:
        return written
    truth = root / "truth" / split / f"{patient}.npz"
    arrays = {k: data[k] for k in ("labels", "pure", "t1_ms", "t2_ms")}
    arrays.update(
        times_t1_ms=data["times"]["T1map"],
        times_t2_ms=data["times"]["T2map"],
        sigma_t1=data["sigma_T1map"],
        sigma_t2=data["sigma_T2map"],
        rho=data["rho"],
    )

    def write_truth(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    atomic_write(truth, write_truth)
    return [*written, str(truth.relative_to(root))]


def patients(cfg: dict) -> list[tuple[str, str]]:
    """(split, patient) of every patient, in generation order."""
    counts = {"TrainingSet": cfg["training_patients"], "ValidationSet": cfg["validation_patients"]}
    return [(split, f"P{i + 1:03d}") for split, n in counts.items() for i in range(n)]


def read_truth(root: str | Path, split: str, patient: str) -> dict:
    """The truth sidecar of a synthetic patient: labels, pure (all fine pixels one tissue),
    t1_ms, t2_ms `(slices, H, W)` on the image grid, times, noise sigma, rho."""
    path = Path(root) / "truth" / split / f"{patient}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no truth for {patient} in {split} (synthetic data only)")
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def generate(scale: str, overrides: dict | None = None, progress: bool = True) -> Path:
    """Write the generated CMRxRecon data of `scale` (each file atomically, the manifest last)."""
    from tqdm.auto import tqdm

    cfg = DATA.resolve(scale, overrides)
    if cfg["source"] not in ("embedded", "shape"):
        raise ValueError(f"scale {scale!r} uses the real CMRxRecon data, which are not generated")
    root = root_of(scale)
    started = manifest.start(root)
    files = []
    for split, patient in tqdm(
        patients(cfg), desc=f"embedded CMRxRecon ({scale})", disable=not progress
    ):
        files += _write_patient(root, cfg, split, patient)
    manifest.write(
        root,
        "mrirobust.data.cmrxrecon_embedded",
        GENERATOR_FINGERPRINT,
        scale,
        cfg,
        dict.fromkeys(files, {}),
        started,
    )
    return root


def is_complete(scale: str, overrides: dict | None = None) -> bool:
    """True when the manifest matches this generator and these parameters, and every file it
    lists exists with the recorded size."""
    return manifest.is_complete(
        root_of(scale), GENERATOR_FINGERPRINT, DATA.resolve(scale, overrides)
    )


def ensure_cmrxrecon(scale: str, progress: bool = True) -> Path:
    """The CMRxRecon root of `scale`: the generated data, written first when missing or
    incomplete; at paper scale the configured real root (CMRXRECON_ROOT or data/paths.yaml); at
    the shape scale CMRXRECON_ROOT when the environment sets it."""
    source = DATA.resolve(scale)["source"]
    if source == "cmrxrecon":
        return real_data_root("cmrxrecon_root")
    real = environment_root("cmrxrecon_root") if source == "shape" else None
    if real is not None:
        return real
    if not is_complete(scale):
        generate(scale, progress=progress)
    return root_of(scale)
