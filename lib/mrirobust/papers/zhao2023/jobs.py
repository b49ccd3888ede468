"""The checkpoints the Zhao runs load (`trains:` functions, `training.jobs`): per modality and
reconstruction kind, the mapping network and the reconstruction (`training.train_all`)."""

from __future__ import annotations

import hashlib
import json

from mrirobust import paths
from mrirobust.data.cmrxrecon_embedded import ensure_cmrxrecon
from mrirobust.papers import budget
from mrirobust.papers.zhao2023 import experiments, profile, training
from mrirobust.training.jobs import TrainingJob


def _job(scale: str, cfg: dict, modality: str, kind: str, suffix: str = "") -> TrainingJob:
    key = json.dumps({"scale": scale, "cfg": cfg, "modality": modality, "kind": kind})

    def train(retrain: bool):
        root = ensure_cmrxrecon(scale)
        _, paths = training.train_all(root, scale, cfg, modality, [kind], retrain=retrain)
        return list(paths.values())

    job = TrainingJob(
        name=f"zhao2023-{modality}-{kind}{suffix}",
        identity=hashlib.sha256(key.encode()).hexdigest()[:12],
        paper="zhao2023",
        train=train,
    )
    return _costed(job, scale, cfg, modality, kind) if scale in paths.CUDA_SCALES else job


def _costed(job: TrainingJob, scale: str, cfg: dict, modality: str, kind: str) -> TrainingJob:
    """`job` with its GPU hours and resources at `scale`: `epochs` over the mapping slices
    (`max_slices` of them when set) at batch 1, a
    step of the measured T1 network (T2 has 3 weightings for T1's 9: a third of the work); the
    mapper, trained first, costs a small part of it (a 1-pool U-Net on the frames)."""
    # RVN's paper-size step did not fit the 24 GB of the build machine (killed while measured):
    # it takes VN-UNet's measured step until a GPU measures its own (gpu-check)
    measured = budget.steps()
    model = (
        "zhao2023/rvn_t1"
        if kind == "rvn" and "zhao2023/rvn_t1" in measured
        else "zhao2023/vn_unet_t1"
    )
    work = 1.0 if modality == "T1map" else 1 / 3
    slices = cfg["max_slices"] or budget.TRAINING_SLICES["cmrxrecon"]
    return budget.costed(
        job, scale, budget.training_hours(model, cfg["epochs"], slices, 1, work), model
    )


def reconstructions(scale: str, settings: dict) -> list[TrainingJob]:
    """`t1_models` for T1 and `t2_models` for T2 (training, Tables 1-2, Fig. 2)."""
    cfg = profile.TRAIN.resolve(scale, settings["train_overrides"])
    kinds = {"T1map": settings["t1_models"], "T2map": settings["t2_models"]}
    return [_job(scale, cfg, modality, kind) for modality, ks in kinds.items() for kind in ks]


def tables(scale: str, settings: dict) -> list[TrainingJob]:
    """`reconstructions`, the models of Table 1's training-length control (the evaluation
    profile's `control_epochs`; none when 0) and VN-UNet-relax of its guidance control (with
    the mapper of `control_mapper`; none when empty)."""
    jobs = reconstructions(scale, settings)
    evaluation = profile.EVALUATION.resolve(scale, settings["evaluation_overrides"])
    epochs, mapper = evaluation["control_epochs"], evaluation["control_mapper"]
    if epochs:
        cfg = profile.TRAIN.resolve(scale, {**settings["train_overrides"], "epochs": epochs})
        jobs += [_job(scale, cfg, "T1map", k, f"-{epochs}ep") for k in experiments.CONTROLLED]
    if mapper:
        cfg = profile.TRAIN.resolve(scale, {**settings["train_overrides"], **mapper})
        suffix = "-" + "-".join(f"{k}{v}" for k, v in sorted(mapper.items()))
        jobs.append(_job(scale, cfg, "T1map", "vn_relax", suffix))
    return jobs


def attacked(scale: str, settings: dict) -> list[TrainingJob]:
    """The attack profile's models of its modality (robustness maps)."""
    cfg = profile.TRAIN.resolve(scale, settings["train_overrides"])
    attack = profile.ATTACK.resolve(scale, settings["attack_overrides"])
    return [_job(scale, cfg, attack["modality"], kind) for kind in attack["models"]]
