import pytest
import torch

from mrirobust import data
from mrirobust.data.samples import annotated_samples, sample_mask


@pytest.fixture(scope="module")
def samples():
    return annotated_samples("smoke")


def test_one_sample_per_annotated_box_of_the_validation_split(samples):
    boxes = data.scale_annotations("smoke", "knee")
    val_files = {p.stem for p in data.split_dir("smoke", "knee", "val").glob("*.h5")}
    assert len(samples) == boxes["file"].isin(val_files).sum() > 0
    for s in samples:
        read = s.load()
        assert read.kspace.dtype == torch.complex64 and read.kspace.shape == s.shape
        assert (read.fname, read.index, read.acquired) == (s.fname, s.slice, s.acquired)
        x, y, w, h = s.box.tolist()
        assert 0 <= x and x + w <= read.target.shape[1] and 0 <= y and y + h <= read.target.shape[0]
    assert len(annotated_samples("smoke", max_samples=2)) == 2
    with pytest.raises(ValueError, match="max_samples"):
        annotated_samples("smoke", max_samples=0)


def test_masks_are_seeded_per_slice_and_stay_on_acquired_columns(samples):
    s = samples[0]
    a, b = sample_mask(s, 4, seed=0), sample_mask(s, 4, seed=0)
    assert torch.equal(a, b) and a.shape == (1, 1, 1, s.shape[-1])
    assert not torch.equal(a, sample_mask(s, 4, seed=1))
    first, last = s.acquired
    assert not a[..., :first].any() and not a[..., last + 1 :].any()
    assert sample_mask(s, 8).sum() < a.sum()
    with pytest.raises(ValueError, match="acceleration"):
        sample_mask(s, 3)


def test_paper_scale_reads_fastmri_format_files_and_unflips_real_boxes(tmp_path, monkeypatch):
    """At paper scale the samples come from FASTMRI_ROOT / FASTMRI_PLUS_ROOT: a volume in the
    real knee geometry (640 x 368 k-space, 320 x 320 target, padding from the header) and a
    fastMRI+ CSV in its flipped convention, with a study-level row that must be skipped."""
    import numpy as np
    import pandas as pd

    from mrirobust.data.fastmri_io import header_xml, write_volume

    rng = np.random.default_rng(0)
    shape = (2, 3, 640, 368)  # slices, coils, readout, phase encoding
    kspace = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * 1e-5
    kspace[..., :17] = 0  # unacquired padding columns, as in real knee files
    kspace[..., 368 - 17 :] = 0
    header = header_xml((640, 368, 1), (320, 320, 1), center=368 // 2 - 17, maximum=333)
    target = rng.random((2, 320, 320)).astype(np.float32)
    volume = tmp_path / "fastmri" / "knee" / "multicoil_val" / "file1000000.h5"
    write_volume(
        volume,
        kspace,
        {"reconstruction_rss": target},
        header,
        dict(acquisition="CORPD_FBK", max=1.0, norm=1.0, patient_id="x"),
    )
    rows = [
        ("file1000000", 1, "No", 100, 150, 30, 20, "Meniscus Tear"),
        ("file1000000", 0, "Yes", None, None, None, None, "Joint Effusion"),
        ("file9999999", 3, "No", 10, 10, 10, 10, "Not in this split"),
    ]
    columns = ["file", "slice", "study_level", "x", "y", "width", "height", "label"]
    (tmp_path / "plus").mkdir()
    pd.DataFrame(rows, columns=columns).to_csv(tmp_path / "plus" / "knee.csv", index=False)
    monkeypatch.setenv("FASTMRI_ROOT", str(tmp_path / "fastmri"))
    monkeypatch.setenv("FASTMRI_PLUS_ROOT", str(tmp_path / "plus"))

    with pytest.warns(UserWarning, match="1 study-level"):
        samples = annotated_samples("paper")
    assert len(samples) == 1
    s = samples[0]
    assert (s.fname, s.slice, s.label) == ("file1000000", 1, "Meniscus Tear")
    assert s.box.tolist() == [100, 320 - 150 - 20, 30, 20]  # unflipped rows
    assert s.shape == (3, 640, 368) and s.load().target.shape == (320, 320)
    assert s.acquired == (17, 350)
    mask = sample_mask(s, 8)
    assert not mask[..., :17].any() and not mask[..., 351:].any()


def test_a_small_sample_spreads_over_the_volumes(samples):
    """max_samples picks boxes spread over the sorted list: first and last included, in order."""
    ids = [s.sample_id for s in samples]
    picked = [s.sample_id for s in annotated_samples("smoke", max_samples=3)]
    assert picked[0] == ids[0] and picked[-1] == ids[-1] and len(set(picked)) == 3
    assert [ids.index(i) for i in picked] == sorted(ids.index(i) for i in picked)
