"""What the Zhao 2023 notebooks stored in the session's smoke run (tests/conftest.py)."""

import json

import numpy as np
import pandas as pd
import pytest

from mrirobust import claims
from mrirobust.papers.zhao2023 import claims as zhao_claims
from mrirobust.papers.zhao2023 import profile, robustness

pytestmark = pytest.mark.notebook
TRAIN = profile.TRAIN.resolve("smoke")
EVALUATION = profile.EVALUATION.resolve("smoke")
MODELS = {"T1map": ["rvn", "vn", "vn_relax"], "T2map": ["vn_relax"]}
FRAMES = {"T1map": 9, "T2map": 3}


def test_training_stores_every_curve_and_checkpoint(smoke_results):
    out = smoke_results.ok("zhao2023_train")
    curves = pd.read_csv(out / "training_curves.csv")
    checkpoints = json.loads((out / "checkpoints.json").read_text())
    for modality, kinds in MODELS.items():
        part = curves[curves["modality"] == modality]
        epochs = part.groupby("model")["epoch"].max().to_dict()
        assert epochs == {"mapper": TRAIN["mapper_epochs"], **dict.fromkeys(kinds, TRAIN["epochs"])}
        assert np.isfinite(part["loss"]).all() and (part["seconds"] > 0).all()
        for name in checkpoints[modality].values():
            assert (smoke_results.results_root / "checkpoints" / name).is_file()
    assert (smoke_results.figures / "zhao2023_training_curves.png").is_file()


def test_tables_cover_every_model_and_acceleration(smoke_results):
    out = smoke_results.ok("zhao2023_tables")
    images = pd.read_csv(out / "images.csv")
    table = pd.read_csv(out / "table.csv")
    accelerations = EVALUATION["accelerations"]
    for modality, kinds in MODELS.items():
        part = table[table["modality"] == modality]
        assert set(zip(part["model"], part["acceleration"], strict=True)) == {
            (m, r) for m in ["zero_filled", *kinds] for r in accelerations
        }
        # the challenge's central two slices, every frame, per patient, model and R
        rows = images[(images["modality"] == modality) & (images["model"] == "zero_filled")]
        assert len(rows) == EVALUATION["max_patients"] * 2 * FRAMES[modality] * len(accelerations)
    assert table["ssim"].between(-1, 1).all() and (table["nmse"] > 0).all()
    np.testing.assert_allclose(table["ssim_percent"], 100 * table["ssim"])


def test_map_errors_and_claims_are_stored(smoke_results):
    out = smoke_results.ok("zhao2023_tables")
    maps = pd.read_csv(out / "map_table.csv")
    assert set(maps["region"]) == {"myocardium"}  # the phantom's labels
    # the judge fit of the fully sampled frames is close to the phantom truth (about 1 %)
    full = maps.groupby("modality")["full_vs_truth_ms"].max()
    assert full["T1map"] < 40 and full["T2map"] < 3
    assert (maps["mae_vs_full_ms"] >= 0).all()
    verdicts = claims.load(out / "claims.json")
    controls = [v for v in verdicts if v.kind == "control"]
    assert {v.id.split("/", 1)[1]: v.kind for v in verdicts if v not in controls} == {
        "table1/vn_unet_beats_rvn": "paper",
        "table1/relax_beats_vn_unet": "paper",
        "table2/quality_falls_with_acceleration": "paper",
        "table2/beats_zero_filled": "sanity",
        "maps/relax_lowers_map_error": "beyond",
        "maps/map_error_grows_with_acceleration": "beyond",
        "mapping/mapper_matches_the_fit": "sanity",
    }
    # Table 1 on the training-length control's models, stored with its epochs
    control = pd.read_csv(out / "control_images.csv")
    assert set(control["model"]) == {"rvn", "vn", "vn_relax"}
    assert set(control["epochs"]) == {EVALUATION["control_epochs"]}
    checked = [v for v in verdicts if "epochs" in v.case]
    assert [v.id.rsplit("/", 1)[1] for v in checked] == ["vn_unet_beats_rvn", "relax_beats_vn_unet"]
    assert all(v.case["epochs"] == EVALUATION["control_epochs"] for v in checked)
    # the guidance control: VN-UNet-relax with the control's mapper, beside VN-UNet
    settings = EVALUATION["control_mapper"]
    guided = pd.read_csv(out / "mapper_control_images.csv")
    assert set(guided["model"]) == {"vn", "vn_relax"}
    assert all(set(guided[k]) == {v} for k, v in settings.items())
    assert (pd.read_csv(out / "mapper_control_mappers.csv")["mapper_ms"] >= 0).all()
    mapped = [v for v in verdicts if set(settings) <= set(v.case)]
    assert [v.id.rsplit("/", 1)[1] for v in mapped] == [
        "relax_beats_vn_unet",
        "mapper_matches_the_fit",
    ]
    checked += mapped
    assert checked == controls  # the controlled experiments' verdicts, counted apart
    verdicts = [v for v in verdicts if v not in checked]
    mappers = pd.read_csv(out / "mappers.csv")
    assert set(mappers["modality"]) == set(MODELS) and (mappers["mapper_ms"] >= 0).all()
    assert all(v.scale == "smoke" and "synthetic" in v.data for v in verdicts)
    # the stored verdicts are those of the stored per-slice rows
    expected = zhao_claims.tables_verdicts(
        pd.read_csv(out / "images.csv"),
        pd.read_csv(out / "maps.csv"),
        mappers,
        models=MODELS,
        accelerations=EVALUATION["accelerations"],
        table1_acceleration=EVALUATION["table1_acceleration"],
        scale="smoke",
        data=verdicts[0].data,
    )
    assert [(v.id, v.case, v.outcome, v.evidence) for v in verdicts] == [
        (v.id, v.case, v.outcome, v.evidence) for v in expected
    ]
    relax = next(v for v in verdicts if v.id.endswith("relax_beats_vn_unet"))
    assert relax.evidence["n"] == EVALUATION["max_patients"] * 2  # the central two slices


def test_fig2_panels_and_figures(smoke_results):
    out = smoke_results.ok("zhao2023_tables")
    with np.load(out / "fig2_images.npz") as panels:
        for modality in MODELS:
            myocardium = panels[f"{modality}_region"]  # the phantom's pure myocardium
            assert myocardium.dtype == bool and myocardium.any()
            for column in ["full"] + [f"R{r}" for r in EVALUATION["accelerations"]]:
                for kind in ("first", "last", "mapper", "fit"):
                    image = panels[f"{modality}_{column}_{kind}"]
                    assert image.shape == myocardium.shape and np.isfinite(image).all()
                # the mapping network's map of every reconstruction, in ms (0 on air)
                assert (panels[f"{modality}_{column}_mapper"][myocardium] >= 0).all()
            # the reference: M on the fully sampled frames gives a time on every myocardial pixel
            assert (panels[f"{modality}_full_mapper"][myocardium] > 0).all()
    for name in ("zhao2023_fig2", "zhao2023_tables"):
        assert (smoke_results.figures / f"{name}.png").is_file()


def test_robustness_covers_every_mode_and_budget(smoke_results):
    out = smoke_results.ok("zhao2023_robustness")
    attack = profile.ATTACK.resolve("smoke")
    rows = pd.read_csv(out / "attacks.csv")
    cells = rows.groupby(["model", "mode", "eta"]).size()
    assert len(cells) == len(attack["models"]) * len(robustness.MODES) * len(attack["etas"])
    # eta = 0 is the clean reconstruction for every mode
    clean = rows[rows["eta"] == 0].groupby(["model", "slice"])["map_mae_ms"].nunique()
    assert (clean == 1).all()
    verdicts = claims.load(out / "claims.json")
    expected = zhao_claims.robustness_verdicts(
        rows,
        models=attack["models"],
        etas=attack["etas"],
        case=dict(modality=attack["modality"], acceleration=attack["acceleration"]),
        scale="smoke",
        data=verdicts[0].data,
    )
    assert [(v.id, v.case, v.outcome, v.evidence) for v in verdicts] == [
        (v.id, v.case, v.outcome, v.evidence) for v in expected
    ]
    assert {v.id.split("/")[-1] for v in verdicts} == {
        "map_attack_grows_with_eta",
        "pgd_beats_random_noise",
        "map_attack_beats_image_attack",
        "fake_disease_shift",
    }
    assert all(v.kind == "beyond" for v in verdicts)
    # relaxometry guidance against none under attack: a measurement per eta, not a verdict
    gaps = pd.read_csv(out / "relax_vs_vn.csv")
    assert gaps["eta"].tolist() == attack["etas"] and (gaps["mode"] == "map").all()
    assert (smoke_results.figures / "zhao2023_robustness.png").is_file()


def test_data_tour_reads_the_patient_and_fits_its_tissues(smoke_results):
    out = smoke_results.ok("zhao2023_data_tour")
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["times_ms"]["T1map"]) == 9 and summary["times_ms"]["T2map"] == [0, 35, 55]
    assert [summary["masks"][r]["effective_acceleration"] for r in ("4", "8", "10")] == sorted(
        summary["masks"][r]["effective_acceleration"] for r in ("4", "8", "10")
    )
    for modality, bound in (("T1map", 0.02), ("T2map", 0.03)):
        fit = summary["tissues"]["myocardium"][modality]
        assert abs(fit["fit_ms"] / fit["truth_ms"] - 1) < bound
    for name in ("frames", "curves_masks", "maps"):
        assert (smoke_results.figures / f"zhao2023_data_tour_{name}.png").is_file()
