"""Zhao 2023's claims on constructed per-slice tables: each holds, fails and is inconclusive
where the numbers say so."""

import numpy as np
import pandas as pd
import pytest

from mrirobust import claims
from mrirobust.papers.zhao2023 import claims as zhao_claims
from mrirobust.papers.zhao2023 import robustness

SLICES = [(f"P{p:03d}", s) for p in range(1, 5) for s in (0, 1)]
ACCELERATIONS = [4, 8, 10]
OFFSETS = {"zero_filled": -5.0, "rvn": -1.0, "vn": 0.0, "vn_relax": 0.3}  # dB
MODELS = {"T1map": ["rvn", "vn", "vn_relax"], "T2map": ["vn_relax"]}


def _images(offsets=OFFSETS, drop_per_r=0.5, noise=0.05, seed=0):
    """Per-image rows: each slice's PSNR is its own base + the model's offset - drop_per_r per
    unit of R above 4 (+ noise per frame); SSIM and NMSE follow the PSNR."""
    rng = np.random.default_rng(seed)
    rows = []
    for modality, frames in (("T1map", 3), ("T2map", 2)):
        for patient, index in SLICES:
            base = rng.uniform(36, 42)
            for model, offset in offsets.items():
                for r in ACCELERATIONS:
                    for frame in range(frames):
                        psnr = base + offset - drop_per_r * (r - 4) + rng.normal(0, noise)
                        rows.append(
                            dict(
                                model=model,
                                modality=modality,
                                acceleration=r,
                                patient=patient,
                                slice=index,
                                frame=frame,
                                psnr=psnr,
                                ssim=psnr / 50,
                                nmse=10 ** (-psnr / 10),
                            )
                        )
    return pd.DataFrame(rows)


def _maps(relax_gain_ms=5.0, per_r_ms=3.0, seed=1):
    """Per-slice map errors: a slice's own level + per_r_ms per unit of R, VN-UNet-relax
    relax_gain_ms below VN-UNet."""
    rng = np.random.default_rng(seed)
    rows = []
    for modality in MODELS:
        for patient, index in SLICES:
            level = rng.uniform(50, 150)
            for model in ("zero_filled", "rvn", "vn", "vn_relax"):
                for r in ACCELERATIONS:
                    mae = level + per_r_ms * r - (relax_gain_ms if model == "vn_relax" else 0)
                    rows.append(
                        dict(
                            model=model,
                            modality=modality,
                            acceleration=r,
                            patient=patient,
                            slice=index,
                            region="myocardium",
                            mae_vs_full_ms=mae + rng.normal(0, 0.5),
                        )
                    )
    return pd.DataFrame(rows)


def _mappers(ratio=1.01):
    return pd.DataFrame(
        [
            dict(
                modality=modality,
                patient=patient,
                slice=index,
                region="myocardium",
                judge_ms=judge + i,
                mapper_ms=(judge + i) * ratio * (1 + 0.002 * (-1) ** i),
            )
            for modality, judge in (("T1map", 1150.0), ("T2map", 46.0))
            for i, (patient, index) in enumerate(SLICES)
        ]
    )


def _tables(images=None, maps=None, mappers=None):
    verdicts = zhao_claims.tables_verdicts(
        _images() if images is None else images,
        _maps() if maps is None else maps,
        _mappers() if mappers is None else mappers,
        models=MODELS,
        accelerations=ACCELERATIONS,
        table1_acceleration=4,
        scale="smoke",
        data="constructed",
    )
    return {(v.id.split("/")[-1], v.case.get("modality")): v for v in verdicts}


def test_tables_claims_hold_on_a_table_that_shows_them(tmp_path):
    verdicts = _tables()
    assert {key: v.outcome for key, v in verdicts.items()} == {
        ("vn_unet_beats_rvn", "T1map"): "holds",
        ("relax_beats_vn_unet", "T1map"): "holds",
        ("relax_lowers_map_error", "T1map"): "holds",
        ("quality_falls_with_acceleration", "T1map"): "holds",
        ("beats_zero_filled", "T1map"): "holds",
        ("map_error_grows_with_acceleration", "T1map"): "holds",
        ("quality_falls_with_acceleration", "T2map"): "holds",
        ("beats_zero_filled", "T2map"): "holds",
        ("map_error_grows_with_acceleration", "T2map"): "holds",
        ("mapper_matches_the_fit", "T1map"): "holds",
        ("mapper_matches_the_fit", "T2map"): "holds",
    }
    kinds = {key[0]: v.kind for key, v in verdicts.items()}
    assert kinds == {
        "vn_unet_beats_rvn": "paper",
        "relax_beats_vn_unet": "paper",
        "quality_falls_with_acceleration": "paper",
        "relax_lowers_map_error": "beyond",
        "map_error_grows_with_acceleration": "beyond",
        "beats_zero_filled": "sanity",
        "mapper_matches_the_fit": "sanity",
    }
    relax = verdicts[("relax_beats_vn_unet", "T1map")].evidence
    assert relax["n"] == len(SLICES)  # the unit is the slice, frames are averaged
    assert relax["psnr_gap"][0] == pytest.approx(0.3, abs=0.05) and relax["psnr_gap"][1] > 0
    falls = verdicts[("quality_falls_with_acceleration", "T1map")].evidence
    assert falls["psnr_slope"][0] == pytest.approx(-0.5, abs=0.01) and falls["nmse_slope"][0] > 0
    claims.save(tmp_path, verdicts.values())  # the schema accepts them
    assert claims.load(tmp_path / "claims.json") == list(verdicts.values())


def test_tables_claims_fail_on_a_table_that_contradicts_them():
    offsets = {"zero_filled": 1.0, "rvn": 0.5, "vn": 0.0, "vn_relax": -0.3}
    maps = _maps(relax_gain_ms=-5.0, per_r_ms=-3.0)
    verdicts = _tables(_images(offsets, drop_per_r=-0.5), maps, _mappers(ratio=0.8))
    assert {key[0]: v.outcome for key, v in verdicts.items()} == dict.fromkeys(
        [
            "vn_unet_beats_rvn",
            "relax_beats_vn_unet",
            "relax_lowers_map_error",
            "quality_falls_with_acceleration",
            "beats_zero_filled",
            "map_error_grows_with_acceleration",
            "mapper_matches_the_fit",
        ],
        "fails",
    )


def test_a_gain_within_the_noise_is_inconclusive_not_a_pass():
    # the old claim accepted VN-UNet-relax up to 0.2 dB below VN-UNet
    images = _images({**OFFSETS, "vn_relax": 0.0}, noise=0.5)
    verdict = _tables(images)[("relax_beats_vn_unet", "T1map")]
    assert verdict.outcome == "inconclusive"
    low, high = verdict.evidence["psnr_gap"][1:]
    assert low < 0 < high
    flat = _tables(_images(drop_per_r=0.0, noise=0.5))[("quality_falls_with_acceleration", "T2map")]
    assert flat.outcome == "inconclusive"


def test_the_training_control_checks_table1_on_the_longer_trained_models():
    images = _images()
    control = images[images["model"].isin(["rvn", "vn", "vn_relax"])].assign(epochs=12)
    verdicts = zhao_claims.control_verdicts(
        control, varied=("epochs",), table1_acceleration=4, scale="cpu", data="synthetic"
    )
    assert [v.id for v in verdicts] == [
        "zhao2023/table1/vn_unet_beats_rvn",
        "zhao2023/table1/relax_beats_vn_unet",
    ]
    assert all(v.kind == "control" for v in verdicts)
    assert all(v.case == {"modality": "T1map", "acceleration": 4, "epochs": 12} for v in verdicts)
    assert [v.outcome for v in verdicts] == ["holds", "holds"]  # 1 and 0.3 dB ahead everywhere
    behind = control.assign(psnr=np.where(control["model"] == "vn", -1.0, 0.0) + control["psnr"])
    behind = behind.assign(nmse=10 ** (-behind["psnr"] / 10), ssim=behind["psnr"] / 50)
    rvn_ahead, relax_ahead = zhao_claims.control_verdicts(
        behind, varied=("epochs",), table1_acceleration=4, scale="cpu", data="synthetic"
    )
    assert rvn_ahead.outcome in ("fails", "inconclusive") and relax_ahead.outcome == "holds"


def test_the_mapper_control_checks_relaxometry_guidance_and_its_mapper():
    images = _images()
    control = images[images["model"].isin(["vn", "vn_relax"])].assign(mapper_chans=64)
    rows = dict(modality="T1map", patient="P001", region="myocardium", truth_ms=np.nan)
    good = pd.DataFrame(
        [{**rows, "slice": i, "mapper_ms": 1200 + i, "judge_ms": 1200} for i in range(6)]
    )
    args = dict(varied=("mapper_chans",), table1_acceleration=4, scale="cpu", data="synthetic")
    relax, mapper = zhao_claims.control_verdicts(
        control, mappers=good.assign(mapper_chans=64), **args
    )
    assert (relax.id, relax.outcome) == ("zhao2023/table1/relax_beats_vn_unet", "holds")
    assert relax.kind == mapper.kind == "control"
    assert relax.case == {"modality": "T1map", "acceleration": 4, "mapper_chans": 64}
    assert (mapper.id, mapper.outcome) == ("zhao2023/mapping/mapper_matches_the_fit", "holds")
    assert mapper.case == {"modality": "T1map", "mapper_chans": 64}
    off = good.assign(mapper_ms=1500.0 + good["slice"])  # 25 % above the fit: outside 5 %
    assert zhao_claims.control_verdicts(control, mappers=off, **args)[1].outcome == "fails"


def test_a_model_compared_with_itself_raises():
    images = _images()
    rvn = images["model"] == "rvn"
    images.loc[rvn, ["psnr", "ssim", "nmse"]] = images.loc[
        images["model"] == "vn", ["psnr", "ssim", "nmse"]
    ].to_numpy()
    with pytest.raises(ValueError, match="compared with itself"):
        _tables(images)


def test_a_claim_without_its_rows_raises():
    images = _images()
    with pytest.raises(ValueError, match="no rows for \\['rvn'\\]"):
        zhao_claims.VN_BEATS_RVN.check(
            images=images[images["model"] != "rvn"], modality="T1map", acceleration=4
        )
    with pytest.raises(ValueError, match="some units miss"):
        zhao_claims.FALLS_WITH_R.check(
            images=images.iloc[1:].query("not (patient == 'P001' and acceleration == 8)"),
            model="vn_relax",
            modality="T1map",
            accelerations=ACCELERATIONS,
        )


ETAS = [0.0, 0.005, 0.01, 0.02]
GAINS = {"random": 0.1, "image": 2.0, "map": 8.0, "shift": 8.0}  # map MAE ms per 0.001 of eta


def _attacks(gains=GAINS, ssim_per_eta=0.5, slices=SLICES, seed=2):
    """Per-slice attack rows: the map MAE and (shift) the bias grow by gains[mode] per 0.001 of
    eta; the SSIM falls by ssim_per_eta x eta; eta = 0 is the clean reconstruction for every
    mode."""
    rng = np.random.default_rng(seed)
    rows = []
    for model in ("vn", "vn_relax"):
        for patient, index in slices:
            mae, bias, ssim = rng.uniform(100, 200), rng.uniform(-20, 20), rng.uniform(0.9, 0.95)
            for mode, gain in gains.items():
                for eta in ETAS:
                    wiggle = rng.normal(0, 1.0) if eta else 0.0
                    rows.append(
                        dict(
                            model=model,
                            patient=patient,
                            slice=index,
                            region="myocardium",
                            mode=mode,
                            eta=eta,
                            map_mae_ms=mae + gain * eta * 1e3 + wiggle,
                            map_bias_ms=bias + (gain * eta * 1e3 if mode == "shift" else 0),
                            ssim=ssim - ssim_per_eta * eta,
                        )
                    )
    return pd.DataFrame(rows)


def _robustness(attacks):
    verdicts = zhao_claims.robustness_verdicts(
        attacks,
        models=["vn", "vn_relax"],
        etas=ETAS,
        case=dict(modality="T1map", acceleration=4),
        scale="smoke",
        data="constructed",
    )
    assert all(v.kind == "beyond" for v in verdicts)
    return {(v.id.split("/")[-1], v.case["model"]): v for v in verdicts}


def test_robustness_claims_hold_fail_and_need_more_than_one_slice():
    verdicts = _robustness(_attacks())
    assert {key: v.outcome for key, v in verdicts.items() if key[1] == "vn"} == {
        ("map_attack_grows_with_eta", "vn"): "holds",
        ("pgd_beats_random_noise", "vn"): "holds",
        ("map_attack_beats_image_attack", "vn"): "holds",
        ("fake_disease_shift", "vn"): "holds",
    }
    shift = verdicts[("fake_disease_shift", "vn")].evidence
    assert shift["eta"] == 0.01 and shift["shift_ms"] == pytest.approx(80)
    assert shift["ssim_drop"] == pytest.approx(0.005) and shift["n"] == len(SLICES)
    weak = _robustness(_attacks({"random": 8.0, "image": 10.0, "map": -1.0, "shift": 3.0}))
    assert {key[0]: v.outcome for key, v in weak.items() if key[1] == "vn"} == dict.fromkeys(
        [
            "map_attack_grows_with_eta",
            "pgd_beats_random_noise",
            "map_attack_beats_image_attack",
            "fake_disease_shift",
        ],
        "fails",
    )
    one = _robustness(_attacks(slices=SLICES[:1]))
    assert {v.outcome for v in one.values()} == {"inconclusive"}


def test_the_fake_disease_shift_can_fail_by_its_visibility_alone():
    # +80 ms reached, but the SSIM falls by 0.03 at eta = 1 %: visible, so it fails
    visible = _robustness(_attacks(ssim_per_eta=3.0))[("fake_disease_shift", "vn")]
    assert visible.evidence["shift_ms"] == pytest.approx(80)
    assert visible.outcome == "fails"


def test_relax_against_vn_under_attack_is_a_measurement():
    attacks = _attacks()
    relax = attacks["model"] == "vn_relax"
    attacks.loc[relax, "map_mae_ms"] += 10.0
    gaps = robustness.model_gaps(attacks).set_index("eta")
    assert list(gaps.index) == ETAS and (gaps["n"] == len(SLICES)).all()
    assert gaps["gap"].iloc[0] > 5 and (gaps["gap_low"] < gaps["gap"]).all()
    with pytest.raises(ValueError, match="same slices"):
        robustness.model_gaps(attacks[~relax])
