"""Training of the mapping networks and the series reconstructions (Zhao et al. 2023).

Mapping network M (T1 or T2): unsupervised, l_relax on the fully sampled RSS frames of the
training slices, Adam, poly decay (1 - e/E)^0.9 per epoch; frozen afterwards.

Reconstruction ("rvn", "vn", "vn_relax"): one model for all accelerations, R drawn per sample
and epoch from `accelerations` (seeded by (seed, epoch)); the image flipped vertically and / or
horizontally with `flip_probability` each (the authors' flips); k-space divided by the 0.99 quantile
of the magnitudes of the masked k-space (zeros included), as the authors do; loss eq. 13 on the
RSS frames (`vn_relax` adds l_relax and the map term through the frozen M); Adam, poly decay.

Checkpoints (`training.checkpoints.Checkpoint`) are keyed by a hash of (spec, data fingerprint),
written after every epoch and resumed.

The paper trains on one slice per step. That global batch cannot be split over processes, so
under torchrun (WORLD_SIZE > 1) training refuses with a message: the pre-training stage spreads
the Zhao models as separate one-GPU jobs instead (`python -m mrirobust train zhao2023-...`).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import trange

from mrirobust import costs, physics
from mrirobust.data import cmrxrecon
from mrirobust.models.qmri import MappingNet, UnrolledSeriesNet, relax_loss, series_loss
from mrirobust.papers.zhao2023.data import SeriesSlices
from mrirobust.training import jobs, loop
from mrirobust.training.checkpoints import Checkpoint

KINDS = ("rvn", "vn", "vn_relax")
MODALITY_OF = {"T1map": "T1", "T2map": "T2"}


def frames_of(kspace: torch.Tensor) -> torch.Tensor:
    """RSS frames `(..., T, H, W)` of series k-space `(..., T, C, H, W)`."""
    return physics.rss(physics.ifft2c(kspace), dim=-3)


def normalise(full: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The authors' scale: the 0.99 quantile of |M y| over the whole series, zeros included."""
    return torch.quantile((full * mask).abs().flatten(), 0.99).clamp_min(1e-12)


def _poly(optimiser, epochs: int):
    return torch.optim.lr_scheduler.LambdaLR(optimiser, lambda e: (1 - e / epochs) ** 0.9)


def build(kind: str, modality: str, cfg: dict, weightings: int) -> torch.nn.Module:
    """An untrained network of `kind` ("mapper" or one of KINDS) at the profile's sizes."""
    if kind == "mapper":
        return MappingNet(
            MODALITY_OF[modality], weightings, cfg["mapper_chans"], cfg["mapper_pools"]
        )
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; valid: mapper, {', '.join(KINDS)}")
    recurrent = kind == "rvn"
    return UnrolledSeriesNet(
        weightings,
        cfg["steps"],
        cfg["gru_hidden"] if recurrent else cfg["chans"],
        cfg["pools"],
        cfg["sens_chans"],
        cfg["sens_pools"],
        regulariser="gru" if recurrent else "unet",
        gru_layers=cfg["gru_layers"],
    )


def _checkpoint(kind, modality, cfg, scale, mapper_path, data_print) -> Checkpoint:
    """The checkpoint of one model: named by model, modality, scale and accelerations, keyed by
    a hash of (the profile keys it depends on, the mapper it used, the data fingerprint)."""
    keys = ["seed", "mapper_chans", "mapper_pools", "mapper_epochs", "mapper_lr", "readout_crop"]
    keys += ["holdout_patients"]
    if kind != "mapper":
        keys += ["steps", "chans", "pools", "gru_hidden", "gru_layers", "sens_chans"]
        keys += ["sens_pools", "epochs", "lr", "loss_weights", "accelerations", "flip_probability"]
    spec = {
        "method": f"zhao2023_{kind}_{modality}",
        "scale": scale,
        "acceleration": "-".join(str(r) for r in cfg["accelerations"]),
        "config": "zhao2023",
        **{k: cfg[k] for k in keys},
    }
    if kind == "vn_relax":
        spec["mapper"] = mapper_path.name
    return Checkpoint(spec, data_print)


def _epoch_mapper(model, slices, optimiser, generator, dev, name) -> list[float]:
    losses = []
    for i in torch.randperm(len(slices), generator=generator).tolist():
        s = slices[i]
        with costs.timed("train", name):
            frames = frames_of(s.kspace.to(dev))[None]
            loss = relax_loss(model(frames, s.times_ms[None].to(dev)), frames)
            loop.step(optimiser, loss, model.parameters())
            losses.append(loss.item())
    return losses


def _flips(probability: float, generator) -> list[int]:
    """The image axes to flip: vertical (-2) and horizontal (-1), each with `probability`."""
    return [d for d in (-2, -1) if torch.rand(1, generator=generator).item() < probability]


def _flipped(kspace: torch.Tensor, dims: list[int]) -> torch.Tensor:
    """Augmentation: the series of the image flipped along `dims` (the same flip for every
    frame and coil)."""
    if not dims:
        return kspace
    return physics.fft2c(physics.ifft2c(kspace).flip(dims))


def _epoch_series(model, slices, optimiser, generator, dev, cfg, mapper, name) -> list[float]:
    accelerations = cfg["accelerations"]
    plan = []  # (slice, R, flips), all drawn before the first step
    for i in torch.randperm(len(slices), generator=generator).tolist():
        r = accelerations[int(torch.randint(len(accelerations), (1,), generator=generator))]
        plan.append((i, r, _flips(cfg["flip_probability"], generator)))
    losses = []
    for i, r, dims in plan:
        s = slices[i]
        with costs.timed("train", name):
            mask = s.masks[r].to(dev)
            full = _flipped(s.kspace.to(dev)[None], dims)
            full = full / normalise(full, mask)
            pred = model(full * mask, mask.view(1, 1, 1, -1))
            loss, _ = series_loss(
                pred, frames_of(full), s.times_ms[None].to(dev), mapper, tuple(cfg["loss_weights"])
            )
            loop.step(optimiser, loss, model.parameters())
            losses.append(loss.item())
    return losses


def load_or_train(
    kind: str,
    modality: str,
    slices: SeriesSlices,
    cfg: dict,
    scale: str,
    mapper: MappingNet | None = None,
    mapper_path: Path | None = None,
    retrain: bool = False,
    progress: bool = True,
) -> tuple[torch.nn.Module, Path]:
    """The trained model of `kind` for `modality` ("T1map" | "T2map") on `slices`, from its
    checkpoint when one matches (spec and data), else trained (resuming a partial run).

    `vn_relax` needs the trained `mapper` and its checkpoint path. Returns (model in eval mode,
    checkpoint path); the per-epoch curve is in the checkpoint's JSON sidecar. Refuses under
    torchrun: the paper's batch of one slice does not split over processes.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        raise ValueError(
            f"{kind} {modality}: Zhao et al. train on one slice per step, a global batch that "
            f"does not split over WORLD_SIZE={world} processes; train each model on one device "
            "(`python -m mrirobust train zhao2023-<modality>-<kind>`, one pre-training job each)"
        )
    if kind == "vn_relax" and (mapper is None or mapper_path is None):
        raise ValueError("vn_relax needs the trained mapper and its checkpoint path")
    checkpoint = _checkpoint(kind, modality, cfg, scale, mapper_path, slices.fingerprint)
    with checkpoint.lock():  # two processes never train one checkpoint
        model = _load_or_train(
            kind, modality, slices, cfg, scale, checkpoint, mapper, retrain, progress
        )
    return model, checkpoint.path


def _load_or_train(kind, modality, slices, cfg, scale, checkpoint, mapper, retrain, progress):
    dev = loop.device()
    torch.manual_seed(cfg["seed"])
    model = build(kind, modality, cfg, cmrxrecon.MODALITIES[modality]).to(dev)
    epochs = cfg["mapper_epochs"] if kind == "mapper" else cfg["epochs"]
    lr = cfg["mapper_lr"] if kind == "mapper" else cfg["lr"]
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = _poly(optimiser, epochs)
    start, curve = 0, []
    if checkpoint.path.exists() and not retrain:
        state = checkpoint.read()
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start, curve = state["epoch"], state["curve"]
    if start < epochs:
        jobs.check_may_train(checkpoint.path.name, scale)
    if mapper is not None:
        mapper = mapper.to(dev).eval().requires_grad_(False)
    guide = mapper if kind == "vn_relax" else None
    desc, name = f"{kind} {modality}", f"zhao2023_{kind}_{modality}"
    for epoch in trange(
        start, epochs, desc=desc, initial=start, total=epochs, disable=not progress
    ):
        begin = time.perf_counter()
        generator = torch.Generator().manual_seed(cfg["seed"] * 100_003 + epoch)
        model.train()
        if kind == "mapper":
            losses = _epoch_mapper(model, slices, optimiser, generator, dev, name)
        else:
            losses = _epoch_series(model, slices, optimiser, generator, dev, cfg, guide, name)
        scheduler.step()
        curve.append(
            dict(epoch=epoch + 1, loss=loop.mean(losses), seconds=time.perf_counter() - begin)
        )
        state = dict(
            epoch=epoch + 1,
            model=model.state_dict(),
            optimizer=optimiser.state_dict(),
            scheduler=scheduler.state_dict(),
            curve=curve,
        )
        checkpoint.save(state)
    return model.eval()


def curve(path: Path) -> list[dict]:
    """The per-epoch training curve stored beside a checkpoint."""
    return json.loads(path.with_suffix(".json").read_text())["curve"]


def training_slices(root: str | Path, cfg: dict, modality: str) -> SeriesSlices:
    """The TrainingSet slices of `modality` without its `holdout_patients` (the first
    `max_slices` when set): what the models of `cfg` are trained on."""
    return SeriesSlices(
        root,
        "train",
        modality,
        cfg["readout_crop"],
        holdout=cfg["holdout_patients"],
        max_slices=cfg["max_slices"],
    )


def epochs_left(slices: SeriesSlices, scale: str, cfg: dict, kinds: list[str]) -> dict:
    """The epochs that the mapper and each of `kinds` still need on the training `slices`
    (`training_slices`; their modality), read from their checkpoints: what `train_all` would
    train, without training (0: the checkpoint is complete)."""
    data, modality = slices.fingerprint, slices.modality
    mapper = _checkpoint("mapper", modality, cfg, scale, None, data)
    left = {"mapper": cfg["mapper_epochs"] - mapper.epochs_done()}
    for kind in kinds:
        done = _checkpoint(kind, modality, cfg, scale, mapper.path, data).epochs_done()
        left[kind] = cfg["epochs"] - done
    return left


def train_all(
    root: str | Path,
    scale: str,
    cfg: dict,
    modality: str,
    kinds: list[str],
    progress: bool = True,
    retrain: bool = False,
) -> tuple[dict, dict]:
    """The mapper and every reconstruction of `kinds` for `modality`, trained on the
    TrainingSet without its `holdout_patients` (the first `max_slices` slices when set) or
    loaded from their checkpoints (`retrain`: the reconstructions are trained anew). Returns
    ({name: model}, {name: checkpoint path}) with name "mapper" or a kind."""
    slices = training_slices(root, cfg, modality)
    mapper, mapper_path = load_or_train("mapper", modality, slices, cfg, scale, progress=progress)
    models, checkpoints = {"mapper": mapper}, {"mapper": mapper_path}
    for kind in kinds:
        models[kind], checkpoints[kind] = load_or_train(
            kind, modality, slices, cfg, scale, mapper, mapper_path, retrain, progress
        )
    return models, checkpoints


def train_models(root: str | Path, scale: str, cfg: dict, models: dict) -> dict:
    """`train_all` for every modality of `models` ({modality: [kinds]}); returns
    {modality: {name: checkpoint path}}."""
    return {m: train_all(root, scale, cfg, m, kinds)[1] for m, kinds in models.items()}


def curves(checkpoints: dict) -> pd.DataFrame:
    """The per-epoch training curves of `train_models`' checkpoints, one row per epoch."""
    rows = [
        dict(modality=modality, model=name, **row)
        for modality, paths_of in checkpoints.items()
        for name, path in paths_of.items()
        for row in curve(path)
    ]
    return pd.DataFrame(rows)
