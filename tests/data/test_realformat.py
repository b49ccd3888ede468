"""The project's readers at the shape scale, on roots in the real formats written by an
independent writer (`tests.data.realformat`): shapes, the narrow brain target, annotations,
CMRxRecon without a ValidationSet FullSample, and the errors of a root without the layout."""

import h5py
import numpy as np
import pytest
import torch

from mrirobust import paths, physics
from mrirobust.data import annotations_path, cmrxrecon, read_slice
from mrirobust.data.cmrxrecon_embedded import ensure_cmrxrecon
from mrirobust.data.samples import annotated_samples
from mrirobust.papers.zhao2023.data import SeriesSlices
from mrirobust.training import datasets
from tests.data.realformat import (
    CMR_COILS,
    CMR_READOUT,
    CMR_SLICES,
    CMRXRECON,
    FASTMRI,
    SINGLECOIL,
    TARGET,
)

ENVIRONMENT = ("FASTMRI_ROOT", "FASTMRI_PLUS_ROOT", "CMRXRECON_ROOT")


@pytest.fixture
def shape_env(real_roots, monkeypatch, tmp_path):
    """The shape scale pointed at the real-format roots (generated data would go to tmp)."""
    for key, value in real_roots.environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MRIROBUST_DATA", str(tmp_path / "data"))
    return real_roots


def expected_target(width: int) -> tuple[int, int]:
    return (TARGET, TARGET) if width >= TARGET else (width, width)


def test_read_slice_gives_the_real_shapes(shape_env):
    for spec in FASTMRI:
        (H, W), (left, right) = spec.shape, spec.padding
        folders = [(spec.folder, spec.coils)]
        if spec.folder in SINGLECOIL:
            folders.append((SINGLECOIL[spec.folder], 1))
        for folder, coils in folders:
            for index in range(spec.slices):
                s = read_slice(shape_env.fastmri / folder / f"{spec.name}.h5", index)
                where = f"{folder}/{spec.name}/{index}"
                assert tuple(s.kspace.shape) == (coils, H, W), where
                assert tuple(s.target.shape) == expected_target(W), where
                assert s.acquired == (left, W - right - 1), where
                assert s.attrs["recon_size"] == (TARGET, TARGET, 1)
                # the target is the RSS (single-coil: magnitude) image of the k-space, cropped
                image = physics.rss_crop(s.kspace[None], tuple(s.target.shape))[0]
                torch.testing.assert_close(image, s.target, rtol=1e-4, atol=1e-4 * s.target.max())


def test_the_narrow_brain_target_is_fastmris_square_crop(shape_env):
    path = shape_env.fastmri / "brain/multicoil_val/file_brain_AXFLAIR_203_6000861.h5"
    with h5py.File(path) as f:
        assert f["reconstruction_rss"].shape[1:] == (TARGET, TARGET)
        assert f["kspace"].shape[-1] == 250
    s = read_slice(path, 1)
    assert tuple(s.target.shape) == (250, 250) and float(s.target.std()) > 0


@pytest.mark.parametrize(
    "anatomy, split, challenge",
    [
        ("knee", "train", "multicoil"),
        ("knee", "val", "multicoil"),
        ("knee", "train", "singlecoil"),
        ("knee", "val", "singlecoil"),
        ("brain", "train", "multicoil"),
        ("brain", "val", "multicoil"),
        ("knee_shifted", "val", "multicoil"),
    ],
)
def test_training_slices_read_every_file_in_name_order(shape_env, anatomy, split, challenge):
    multicoil = f"{anatomy}/multicoil_{split}"
    specs = sorted((s for s in FASTMRI if s.folder == multicoil), key=lambda s: s.name)
    items = datasets.slices("shape", split, anatomy, challenge)
    assert [(p.stem, i) for p, i in items] == [(s.name, i) for s in specs for i in range(s.slices)]
    coils = (lambda s: s.coils) if challenge == "multicoil" else (lambda s: 1)
    shapes = [(coils(s), *s.shape) for s in specs for _ in range(s.slices)]
    assert datasets.item_shapes(items) == shapes
    data = datasets.SliceData(items, 4, 0.08, seed=0, training=split == "train")
    kspace, mask, target, _ = data[len(data) - 1]
    assert mask.shape[-1] == kspace.shape[-1] == specs[-1].shape[1]
    assert tuple(target.shape) == expected_target(specs[-1].shape[1])
    # each batch holds one k-space shape
    assert datasets.shape_batches(data, 4) == [
        [i for i, s in enumerate(shapes) if s == shape] for shape in dict.fromkeys(shapes)
    ]


def test_annotated_samples_read_the_fastmri_plus_boxes(shape_env):
    assert annotations_path("shape", "knee") == shape_env.fastmri_plus / "knee.csv"
    with pytest.warns(UserWarning, match="skipped 3 of 8 rows"):
        found = annotated_samples("shape")
    assert [(s.fname, s.slice) for s in found] == [
        ("file1000000", 0),
        ("file1000000", 1),
        ("file1000007", 0),
    ]
    for s in found:  # the box (unflipped) surrounds the brightest pixel it was drawn around
        x, y, w, h = s.box.tolist()
        loaded = s.load()
        row, col = np.unravel_index(int(loaded.target.argmax()), tuple(loaded.target.shape))
        assert x <= col < x + w and y <= row < y + h, s.sample_id
        assert tuple(loaded.kspace.shape[-2:]) in {(640, 380), (640, 386)}


def test_annotation_csv_at_shape(real_roots, monkeypatch):
    for key in ENVIRONMENT:
        monkeypatch.delenv(key, raising=False)
    generated = paths.embedded_root("shape") / "annotations" / "brain.csv"
    assert annotations_path("shape", "brain") == generated
    monkeypatch.setenv("FASTMRI_ROOT", str(real_roots.fastmri))
    assert annotations_path("shape", "brain") == paths.annotations_dir() / "brain.csv"
    monkeypatch.setenv("FASTMRI_PLUS_ROOT", str(real_roots.fastmri_plus))
    assert annotations_path("shape", "brain") == real_roots.fastmri_plus / "brain.csv"


def test_cmrxrecon_reader_reads_the_real_layout(shape_env):
    root = ensure_cmrxrecon("shape")
    assert root == shape_env.cmrxrecon
    assert cmrxrecon.list_patients(root, "TrainingSet") == ["P001", "P002"]
    assert cmrxrecon.list_patients(root, "ValidationSet", 8) == ["P001"]
    for split, patient, ky, full in CMRXRECON:
        for modality, frames in cmrxrecon.MODALITIES.items():
            shape = (CMR_SLICES, frames, CMR_COILS, CMR_READOUT, ky)
            for r in cmrxrecon.ACCELERATIONS:
                scan = cmrxrecon.read_scan(root, split, patient, modality, r)
                assert tuple(scan.kspace.shape) == shape and scan.mask.shape == (ky,)
                assert 24 <= scan.acs_lines <= 26  # equispaced lines may touch the block
                assert tuple(scan.times_ms.shape) == (CMR_SLICES, frames)
            if full:
                scan = cmrxrecon.read_scan(root, split, patient, modality)
                assert tuple(scan.kspace.shape) == shape
                assert float(physics.rss(physics.ifft2c(scan.kspace[0, 0]), dim=0).std()) > 0
            else:  # the real ValidationSet withholds its fully sampled data
                with pytest.raises(FileNotFoundError, match="ValidationSet/FullSample/P001"):
                    cmrxrecon.read_scan(root, split, patient, modality)


def test_zhao_slices_without_validation_ground_truth(shape_env):
    root = ensure_cmrxrecon("shape")
    train = list(SeriesSlices(root, "train", "T1map", True, holdout=1))
    held_out = list(SeriesSlices(root, "evaluation", "T2map", False, holdout=1))
    assert [(s.patient, tuple(s.kspace.shape)) for s in train] == [
        ("P001", (9, CMR_COILS, CMR_READOUT // 2, 176))
    ]
    assert [(s.patient, tuple(s.kspace.shape)) for s in held_out] == [
        ("P002", (3, CMR_COILS, CMR_READOUT, 210))
    ]
    assert all(s.truth is None and sorted(s.masks) == [4, 8, 10] for s in train + held_out)
    with pytest.raises(FileNotFoundError, match="ValidationSet/FullSample: no fully sampled"):
        list(SeriesSlices(root, "evaluation", "T1map", False))


def test_a_fastmri_root_without_the_layout_names_the_missing_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("FASTMRI_ROOT", str(tmp_path))
    monkeypatch.setenv("MRIROBUST_DATA", str(tmp_path / "data"))
    with pytest.raises(FileNotFoundError, match="knee/multicoil_val does not exist"):
        datasets.slices("shape", "val", "knee")
    with pytest.raises(FileNotFoundError, match="knee/multicoil_val does not exist"):
        annotated_samples("shape")
    with pytest.raises(FileNotFoundError, match="brain/multicoil_train does not exist"):
        datasets.slices("shape", "train", "brain")


def test_a_cmrxrecon_root_without_the_layout_names_the_missing_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("CMRXRECON_ROOT", str(tmp_path))
    root = ensure_cmrxrecon("shape")
    assert root == tmp_path
    with pytest.raises(FileNotFoundError, match="MultiCoil/Mapping/TrainingSet/FullSample: no"):
        list(SeriesSlices(root, "train", "T1map", False))
    (tmp_path / "MultiCoil/Mapping/TrainingSet/FullSample/P001").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="AccFactor04: no such CMRxRecon folder"):
        cmrxrecon.list_patients(root, "TrainingSet", 4)
