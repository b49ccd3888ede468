import numpy as np
import pytest
import torch

from mrirobust import physics
from mrirobust.data import cardiac_phantom, cmrxrecon, cmrxrecon_embedded
from mrirobust.data.cmrxrecon_embedded import line_mask, read_truth


@pytest.fixture(scope="module")
def smoke_root(tmp_path_factory):
    """The smoke-scale embedded CMRxRecon data, generated into a temporary data root."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MRIROBUST_DATA", str(tmp_path_factory.mktemp("data")))
        root = cmrxrecon_embedded.generate("smoke", progress=False)
        assert cmrxrecon_embedded.is_complete("smoke")
        yield root


def test_the_reader_reads_every_patient_in_the_real_layout(smoke_root):
    cfg = cmrxrecon_embedded.DATA.resolve("smoke")
    assert cmrxrecon.list_patients(smoke_root, "TrainingSet") == ["P001", "P002", "P003"]
    assert cmrxrecon.list_patients(smoke_root, "ValidationSet", 10) == ["P001"]
    for modality, frames in cmrxrecon.MODALITIES.items():
        full = cmrxrecon.read_scan(smoke_root, "TrainingSet", "P002", modality)
        shape = (cfg["slices"], frames, cfg["coils"], cfg["readout"], cfg["phase"])
        assert full.kspace.shape == shape
        truth = read_truth(smoke_root, "TrainingSet", "P002")
        key = "times_t1_ms" if modality == "T1map" else "times_t2_ms"
        np.testing.assert_array_equal(full.times_ms.numpy(), truth[key])
        for r in cmrxrecon.ACCELERATIONS:
            sub = cmrxrecon.read_scan(smoke_root, "TrainingSet", "P002", modality, r)
            # an equispaced line next to the block extends the contiguous run
            assert cfg["acs_lines"] <= sub.acs_lines <= cfg["acs_lines"] + 2
            assert sub.mask.tolist() == line_mask(cfg["phase"], r, cfg["acs_lines"]).tolist()
            torch.testing.assert_close(sub.kspace, full.kspace * sub.mask, rtol=0, atol=0)


def test_fully_sampled_fit_recovers_the_myocardial_truth(smoke_root):
    """Judge fit of RSS frames: median myocardial T1 within 2 %, T2 within 3 % of the truth."""
    for patient in ("P001", "P002", "P003"):
        truth = read_truth(smoke_root, "TrainingSet", patient)
        myocardium = (truth["labels"] == cardiac_phantom.LABELS["myocardium"]) & truth["pure"]
        assert myocardium.sum() >= 20
        for modality, fit, key in (
            ("T1map", lambda x, t: physics.fit_t1(x, t).t1, "t1_ms"),
            ("T2map", lambda x, t: physics.fit_t2(x, t).t2, "t2_ms"),
        ):
            scan = cmrxrecon.read_scan(smoke_root, "TrainingSet", patient, modality)
            frames = physics.rss(physics.ifft2c(scan.kspace), dim=2).double()
            estimate = fit(frames, scan.times_ms)[torch.from_numpy(myocardium)]
            error = np.median(estimate.numpy() / truth[key][myocardium] - 1)
            assert abs(error) < (0.02 if modality == "T1map" else 0.03), (patient, modality)


def test_tissue_ordering_of_the_truth_maps(smoke_root):
    truth = read_truth(smoke_root, "ValidationSet", "P001")
    median = {
        name: {k: np.median(truth[k][truth["labels"] == v]) for k in ("t1_ms", "t2_ms")}
        for name, v in cardiac_phantom.LABELS.items()
        if (truth["labels"] == v).any()
    }
    t1 = {k: v["t1_ms"] for k, v in median.items()}
    t2 = {k: v["t2_ms"] for k, v in median.items()}
    assert t1["fat"] < t1["liver"] < t1["myocardium"] < t1["lv_blood"]
    assert t2["liver"] < t2["myocardium"] < t2["rv_blood"] < t2["lv_blood"]


def test_generation_is_deterministic_and_interruption_leaves_no_partial_files(
    smoke_root, tmp_path, monkeypatch, interrupted_on_call
):
    cfg = cmrxrecon_embedded.DATA.resolve("smoke")
    files = cmrxrecon_embedded._write_patient(tmp_path, cfg, "TrainingSet", "P001")
    for rel in files:
        assert (tmp_path / rel).read_bytes() == (smoke_root / rel).read_bytes(), rel

    # an interrupted regeneration over complete data leaves it incomplete, not stale
    monkeypatch.setenv("MRIROBUST_DATA", str(tmp_path / "interrupted"))
    cmrxrecon_embedded.generate("smoke", progress=False)
    assert cmrxrecon_embedded.is_complete("smoke")
    with (
        interrupted_on_call(cmrxrecon_embedded, "make_patient", 2),
        pytest.raises(KeyboardInterrupt),
    ):
        cmrxrecon_embedded.generate("smoke", progress=False)
    root = cmrxrecon_embedded.root_of("smoke")
    assert not (root / "manifest.json").exists()
    assert not [p for p in root.rglob("*") if p.name.endswith(".tmp")]
    assert not cmrxrecon_embedded.is_complete("smoke")


def test_masks_match_the_real_effective_accelerations():
    """ky 204 with 24 ACS lines: 2.96x, 4.34x, 4.86x (CMRxRecon); cpu's 12 lines at ky 96 keep
    the R 8 vs R 10 difference."""
    effective = [204 / line_mask(204, r, 24).sum() for r in (4, 8, 10)]
    np.testing.assert_allclose(effective, [2.96, 4.34, 4.86], atol=0.01)
    cpu = [96 / line_mask(96, r, 12).sum() for r in (4, 8, 10)]
    assert cpu[0] < cpu[1] < cpu[2] and cpu[2] - cpu[1] > 0.3
