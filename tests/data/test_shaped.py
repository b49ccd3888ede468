"""The generated data of the shape scale: real fastMRI shapes (mrirobust.data.shaped) and real
CMRxRecon shapes without the ValidationSet's ground truth (cmrxrecon_embedded at shape)."""

import h5py
import numpy as np
import pytest

from mrirobust import paths
from mrirobust.data import annotations_path, cmrxrecon, cmrxrecon_embedded, ensure_embedded, shaped
from mrirobust.data.command import datasets as command_datasets
from mrirobust.data.fastmri_io import read_slice
from mrirobust.data.samples import annotated_samples
from mrirobust.papers.zhao2023.data import SeriesSlices
from mrirobust.storage import read_json
from mrirobust.training import datasets

ENVIRONMENT = ("FASTMRI_ROOT", "FASTMRI_PLUS_ROOT", "CMRXRECON_ROOT")


@pytest.fixture
def generated_env(monkeypatch, tmp_path):
    """A temporary data root, with no real roots in the environment."""
    for key in ENVIRONMENT:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MRIROBUST_DATA", str(tmp_path))
    return tmp_path


@pytest.mark.slow
def test_generated_shape_data_have_the_real_shapes(generated_env):
    """The files written on first use hold the volumes of shaped.VOLUMES (~50 s of CPU)."""
    root = ensure_embedded("shape", progress=False)
    assert root == generated_env / "embedded" / "shape" and shaped.is_complete()
    assert read_json(root / "manifest.json")["parameters"] == shaped.parameters()
    assert command_datasets("shape")[0][1:] == (shaped.is_complete, shaped.generate)
    for plan in shaped.plans(shaped.parameters()):
        (H, W), pad = plan["shape"], plan["padding"]
        folders = [(f"{plan['anatomy']}/multicoil_{plan['split']}", plan["coils"])]
        if plan["anatomy"] == "knee":
            folders.append((f"knee/singlecoil_{plan['split']}", 1))
        for folder, coils in folders:
            path = root / folder / f"{plan['fname']}.h5"
            for index in range(2):
                s = read_slice(path, index)
                assert tuple(s.kspace.shape) == (coils, H, W), path
                assert tuple(s.target.shape) == ((320, 320) if W >= 320 else (W, W)), path
                assert s.acquired == (pad, W - pad - 1), path
                assert s.attrs["encoding_size"] == (H, W, 1)
                assert s.attrs["recon_size"] == (320, 320, 1)
    # the narrow FLAIR: a 320 x 320 stored target whose columns beyond the image are zero
    narrow = root / "brain/multicoil_val/file_brain_AXFLAIR_val000.h5"
    with h5py.File(narrow) as f:
        stored = f["reconstruction_rss"][()]
    assert stored.shape == (2, 320, 320)
    assert not stored[..., :28].any() and not stored[..., 28 + 264 :].any()
    assert np.array_equal(stored[1, 28:292, 28:292], read_slice(narrow, 1).target.numpy())
    # every folder is read whole at max_files = 2, in the plans' order
    for anatomy, split, widths in [
        ("knee", "val", [368, 368, 372, 372]),
        ("brain", "val", [264, 264, 384, 384]),
        ("brain", "train", [320, 320, 384, 384]),
        ("knee_shifted", "val", [360, 360]),
    ]:
        items = datasets.slices("shape", split, anatomy)
        assert [w for _, _, w in datasets.item_shapes(items)] == widths
    assert annotations_path("shape", "knee") == root / "annotations" / "knee.csv"
    samples = annotated_samples("shape")
    assert {s.fname for s in samples} == {"file_knee_val000", "file_knee_val001"}
    assert all(s.box[0] + s.box[2] <= 320 and s.box[1] + s.box[3] <= 320 for s in samples)


def test_the_shape_cmrxrecon_profile_has_the_real_shapes():
    cfg = cmrxrecon_embedded.DATA.resolve("shape")
    assert (cfg["readout"], cfg["coils"], cfg["acs_lines"], cfg["slices"]) == (512, 10, 24, 2)
    assert cfg["phase"] == [204, 168] and cfg["ground_truth"] is False
    assert (cfg["training_patients"], cfg["validation_patients"]) == (2, 1)


def test_shape_cmrxrecon_has_per_patient_ky_and_no_validation_truth(generated_env):
    small = dict(readout=64, phase=[48, 40], coils=4, acs_lines=8)  # the shape layout, quickly
    root = cmrxrecon_embedded.generate("shape", small, progress=False)
    assert cmrxrecon_embedded.is_complete("shape", small)
    assert not (root / "truth").exists()
    assert not cmrxrecon.mapping_dir(root, "ValidationSet").exists()
    for split, patient, ky in [
        ("TrainingSet", "P001", 48),
        ("TrainingSet", "P002", 40),
        ("ValidationSet", "P001", 48),
    ]:
        for r in (None, *cmrxrecon.ACCELERATIONS) if split == "TrainingSet" else (4, 8, 10):
            scan = cmrxrecon.read_scan(root, split, patient, "T1map", r)
            assert tuple(scan.kspace.shape) == (2, 9, 4, 64, ky), (split, patient, r)
    held_out = list(SeriesSlices(root, "evaluation", "T2map", True, holdout=1))
    assert [(s.patient, s.truth, s.kspace.shape[-1]) for s in held_out] == [
        ("P002", None, 40),
        ("P002", None, 40),
    ]


def test_cmrxrecon_root_from_the_environment_at_shape(generated_env, monkeypatch):
    monkeypatch.setenv("CMRXRECON_ROOT", str(generated_env / "real"))
    assert cmrxrecon_embedded.ensure_cmrxrecon("shape") == generated_env / "real"
    monkeypatch.setenv("FASTMRI_ROOT", str(generated_env / "fastmri"))
    assert ensure_embedded("shape") == generated_env / "fastmri"
    assert not (paths.embedded_root("shape")).exists()  # nothing generated
