"""The Zhao path on data laid out like the real CMRxRecon (no truth, patients of different ky
and slice count, no fully sampled ValidationSet) and with models on the stand-in device."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch

from mrirobust import devices, standin
from mrirobust.data import cmrxrecon
from mrirobust.papers.zhao2023 import claims, data, experiments, profile, robustness, training

TRAIN = profile.TRAIN.resolve("smoke", dict(mapper_epochs=1, holdout_patients=1))
EVALUATION = profile.EVALUATION.resolve("smoke", dict(accelerations=[4, 10]))
ATTACK = profile.ATTACK.resolve("smoke", dict(steps=1))
MODELS = {"T1map": ["vn", "vn_relax"], "T2map": ["vn"]}


@pytest.fixture(scope="module")
def results(real_like_root, tmp_path_factory):
    """Every table of the training, tables and robustness runs on the real-like data."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MRIROBUST_RESULTS", str(tmp_path_factory.mktemp("results")))
        mp.setenv("MRIROBUST_DEVICE", "cpu")
        checkpoints = training.train_models(real_like_root, "smoke", TRAIN, MODELS)
        out = experiments.evaluate_all(real_like_root, "smoke", TRAIN, EVALUATION, MODELS)
        out["attacks"] = robustness.run(real_like_root, "smoke", TRAIN, ATTACK)
        out["curves"] = training.curves(checkpoints)
        out["trained"] = training.train_all(real_like_root, "smoke", TRAIN, "T1map", ["vn"])[0]
    return out


def test_slices_are_read_one_at_a_time_and_keep_their_own_shape(real_like_root, monkeypatch):
    reads = []
    read = cmrxrecon.read_kspace

    def recorded(path, variable, index=None):
        reads.append(index)
        return read(path, variable, index)

    monkeypatch.setattr(cmrxrecon, "read_kspace", recorded)
    train = data.SeriesSlices(real_like_root, "train", "T1map", False, holdout=1)
    evaluation = data.SeriesSlices(real_like_root, "evaluation", "T1map", False, 0, 1, True)
    assert reads == []  # listing the slices reads headers, masks and times only
    assert [(s.patient, s.index, s.kspace.shape[-1]) for s in train] == [
        ("P001", 0, 48),
        ("P001", 1, 48),
    ]
    # P002 has three slices: the challenge evaluates its central two (1-based 1..2 of 3)
    shown = [(s.patient, s.index, tuple(s.kspace.shape)) for s in evaluation]
    assert shown == [("P002", 0, (9, 4, 64, 40)), ("P002", 1, (9, 4, 64, 40))]
    assert reads and None not in reads  # never a whole file
    assert data.eval_crop(evaluation[0].readout, 40) == (21, 20)
    assert all(len(m) == 40 for m in evaluation[0].masks.values())


def test_without_truth_every_table_has_rows(results):
    for name in ("images", "maps", "mappers", "attacks", "curves"):
        assert len(results[name]), name
    maps, mappers, attacks = results["maps"], results["mappers"], results["attacks"]
    for table in (maps, mappers, attacks):
        assert set(table["region"]) == {"fit_valid"}
    assert maps[["mae_vs_truth_ms", "full_vs_truth_ms"]].isna().all().all()
    assert mappers["truth_ms"].isna().all()
    columns = ["mae_vs_full_ms", "bias_vs_full_ms"]
    assert np.isfinite(maps[columns]).all().all() and (maps["myocardium_pixels"] > 0).all()
    assert np.isfinite(attacks[["map_mae_ms", "image_roi_nrmse", "ssim"]]).all().all()
    assert set(maps["patient"]) == {"P002"} and set(maps["acceleration"]) == {4, 10}
    assert set(attacks["mode"]) == set(robustness.MODES)


def test_without_truth_the_claims_are_checked(results):
    verdicts = claims.tables_verdicts(
        results["images"],
        results["maps"],
        results["mappers"],
        models=MODELS,
        accelerations=EVALUATION["accelerations"],
        table1_acceleration=4,
        scale="smoke",
        data="real-like",
    )
    ids = {v.id.split("/")[-1] for v in verdicts}
    assert {"relax_lowers_map_error", "map_error_grows_with_acceleration"} <= ids
    assert "mapper_matches_the_fit" in ids
    verdicts = claims.robustness_verdicts(
        results["attacks"],
        models=ATTACK["models"],
        etas=ATTACK["etas"],
        case=dict(modality="T1map", acceleration=4),
        scale="smoke",
        data="real-like",
    )
    assert {"pgd_beats_random_noise", "fake_disease_shift"} <= {
        v.id.split("/")[-1] for v in verdicts
    }


def test_data_tour_without_truth(real_like_root):
    summary, arrays = experiments.data_tour(real_like_root, "TrainingSet", "P002")
    assert summary["slice"] == 1 and summary["shape"] == [3, 9, 4, 64, 40]
    assert "tissues" not in summary and "labels" not in arrays
    assert arrays["masks"].shape == (3, 40) and torch.isfinite(arrays["t1_fit"]).all()


def test_experiments_on_the_stand_in_device_match_the_cpu(results, real_like_root):
    """Models on the stand-in device, CPU data: the same numbers as on the CPU."""
    slices = data.SeriesSlices(real_like_root, "evaluation", "T1map", False, 0, 1, True, 1)
    cpu = results["trained"]

    def run(models):
        images, maps = experiments.evaluate({"vn": models["vn"], "zf": None}, slices, "T1map", [4])
        mappers = experiments.mapper_errors(models["mapper"], slices, "T1map")
        attacks = robustness.attack_sweep({"vn": models["vn"]}, slices, "T1map", 4, [0, 0.01], 1)
        panels = experiments.fig2_panels(models["vn"], models["mapper"], slices[0], "T1map", [4])
        return [images, maps, mappers, attacks], panels

    expected, expected_panels = run(cpu)
    with standin.active() as device:
        moved = {name: copy.deepcopy(model).to(device) for name, model in cpu.items()}
        assert {devices.of(m) for m in moved.values()} == {device}
        got, panels = run(moved)
    for a, b in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(a, b, rtol=1e-4)
    for key, value in expected_panels.items():
        np.testing.assert_allclose(panels[key], value, rtol=1e-4, atol=1e-6)


def test_training_on_the_stand_in_device(real_like_root, tmp_path, monkeypatch):
    """One epoch of the mapper and of VN-UNet-relax with MRIROBUST_DEVICE=standin: the models
    live there, the data come from the CPU, the weights equal the CPU's."""
    cfg = TRAIN | dict(max_slices=1)
    slices = data.SeriesSlices(real_like_root, "train", "T2map", False, holdout=1, max_slices=1)
    weights = {}
    with standin.active() as device:
        for where in ("cpu", "standin"):
            monkeypatch.setenv("MRIROBUST_RESULTS", str(tmp_path / where))
            monkeypatch.setenv("MRIROBUST_DEVICE", where)
            mapper, path = training.load_or_train(
                "mapper", "T2map", slices, cfg, "smoke", progress=False
            )
            model, _ = training.load_or_train(
                "vn_relax", "T2map", slices, cfg, "smoke", mapper, path, progress=False
            )
            assert devices.of(model) == (device if where == "standin" else torch.device("cpu"))
            weights[where] = {k: v.cpu() for k, v in model.state_dict().items()}
    for key, value in weights["cpu"].items():
        torch.testing.assert_close(weights["standin"][key], value, rtol=1e-4, atol=1e-6)
