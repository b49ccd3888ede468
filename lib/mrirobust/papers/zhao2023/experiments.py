"""Zhao 2023 evaluation: the challenge's image metrics (Tables 1-2), the myocardial map error
the paper could not report, and the Fig. 2 panels, as tidy tables.

Challenge metrics (CMRxRecon 2023): the central two slices, every frame, the central
round(kx/3) x round(ky/2) of the stored image; target and reconstruction each divided by their
own maximum; PSNR with data range 1, SSIM (7 x 7 uniform window, skimage's) with data range 1,
NMSE = |gt - pred|^2 / |gt|^2; mean over the images of a patient, then over patients; SSIM is
reported x 100 and NMSE x 1e3 as in the paper.

Map error: the voxel-wise judge fit (`physics.fit_t1` / `fit_t2`) of the reconstructed frames
against the fit of the fully sampled frames and against the phantom's truth, on the pure-tissue
myocardium inside the evaluation crop (synthetic data only: the real data have no labels here).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mrirobust import metrics, physics
from mrirobust.data import cmrxrecon
from mrirobust.data.cardiac_phantom import LABELS
from mrirobust.data.cmrxrecon import ACCELERATIONS
from mrirobust.data.cmrxrecon_embedded import read_truth
from mrirobust.papers.zhao2023.data import SeriesSlice, eval_crop, load_slices
from mrirobust.papers.zhao2023.training import frames_of, normalise, train_all

ZERO_FILLED = "zero_filled"


@torch.no_grad()
def reconstruct(model, s: SeriesSlice, acceleration: int) -> torch.Tensor:
    """Frames `(T, H, W)` of one slice at `acceleration` in the data's own units (`model`
    None: the zero-filled RSS)."""
    mask = s.masks[acceleration]
    full = s.kspace[None]
    if model is None:
        return frames_of(full * mask)[0]
    dev = next(model.parameters()).device
    scale = normalise(full, mask)
    pred = model(((full / scale) * mask).to(dev), mask.view(1, 1, 1, -1).to(dev))
    return pred[0].cpu() * scale


def _crop(s: SeriesSlice, x: torch.Tensor) -> torch.Tensor:
    return physics.center_crop(x, eval_crop(s.readout, s.kspace.shape[-1]))


def myocardium_of(s: SeriesSlice) -> torch.Tensor:
    """The pure myocardial pixels `(h, w)` of a slice with truth, on the evaluation crop."""
    labels, pure = _crop(s, s.truth["labels"]), _crop(s, s.truth["pure"])
    return (labels == LABELS["myocardium"]) & pure


def challenge_metrics(target: torch.Tensor, pred: torch.Tensor) -> dict:
    """PSNR, SSIM, NMSE per frame `(T,)` of cropped frames `(T, h, w)`, each frame divided by
    its own maximum."""
    gt = target / target.amax(dim=(-2, -1), keepdim=True)
    out = pred / pred.amax(dim=(-2, -1), keepdim=True).clamp_min(1e-30)
    one = torch.ones(len(gt), dtype=gt.dtype)
    return dict(
        psnr=metrics.psnr(gt, out, data_range=one),
        ssim=metrics.ssim(gt, out, data_range=one),
        nmse=metrics.nmse(gt, out),
    )


def fit_map(modality: str, frames: torch.Tensor, times_ms: torch.Tensor) -> torch.Tensor:
    """The judge-fit T1 or T2 map (ms) `(H, W)` of frames `(T, H, W)` at times `(T,)`."""
    frames = frames[None].double()
    if modality == "T1map":
        return physics.fit_t1(frames, times_ms.double()).t1[0]
    return physics.fit_t2(frames, times_ms.double()).t2[0]


def evaluate(
    models: dict,
    slices: list[SeriesSlice],
    modality: str,
    accelerations: list[int],
    maps: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Image metrics per (model, R, patient, slice, frame) on the challenge's slices and crop,
    and (`maps`, synthetic data) myocardial map errors per (model, R, patient, slice).

    `models` maps a name to a trained series network or None (zero-filled)."""
    images, map_rows = [], []
    for s in (s for s in slices if s.evaluated):
        target = _crop(s, frames_of(s.kspace))
        reference = None
        if maps and s.truth is not None:
            reference = fit_map(modality, target, s.times_ms)
            truth = _crop(s, s.truth["t1_ms" if modality == "T1map" else "t2_ms"]).double()
            myocardium = myocardium_of(s)
        for name, model in models.items():
            for r in accelerations:
                pred = _crop(s, reconstruct(model, s, r))
                scores = challenge_metrics(target, pred)
                key = dict(model=name, modality=modality, acceleration=r, patient=s.patient)
                for t in range(len(target)):
                    images.append(
                        {
                            **key,
                            "slice": s.index,
                            "frame": t,
                            **{k: v[t].item() for k, v in scores.items()},
                        }
                    )
                if reference is not None:
                    fitted = fit_map(modality, pred, s.times_ms)
                    map_rows.append(
                        {
                            **key,
                            "slice": s.index,
                            "myocardium_pixels": int(myocardium.sum()),
                            "mae_vs_full_ms": (fitted - reference)[myocardium].abs().mean().item(),
                            "mae_vs_truth_ms": (fitted - truth)[myocardium].abs().mean().item(),
                            "full_vs_truth_ms": (reference - truth)[myocardium].abs().mean().item(),
                            "bias_vs_full_ms": (fitted - reference)[myocardium].mean().item(),
                        }
                    )
    return pd.DataFrame(images), pd.DataFrame(map_rows)


@torch.no_grad()
def mapper_errors(mapper, slices: list[SeriesSlice], modality: str) -> pd.DataFrame:
    """The mapping network on the fully sampled frames of every evaluated slice with truth:
    median myocardial relaxation time of M, of the judge fit and of the truth (ms)."""
    rows = []
    dev = next(mapper.parameters()).device
    for s in (s for s in slices if s.evaluated and s.truth is not None):
        frames = frames_of(s.kspace)
        maps = mapper(frames[None].to(dev), s.times_ms[None].to(dev))
        learned = _crop(s, maps.relaxation_ms[0].cpu())
        judge = fit_map(modality, _crop(s, frames), s.times_ms)
        truth = _crop(s, s.truth["t1_ms" if modality == "T1map" else "t2_ms"])
        myocardium = myocardium_of(s)
        rows.append(
            dict(
                modality=modality,
                patient=s.patient,
                slice=s.index,
                mapper_ms=learned[myocardium].median().item(),
                judge_ms=judge[myocardium].median().item(),
                truth_ms=truth[myocardium].median().item(),
            )
        )
    return pd.DataFrame(rows)


def challenge_table(images: pd.DataFrame) -> pd.DataFrame:
    """Mean over each patient's images, then over patients, per (model, modality, R); SSIM x 100
    and NMSE x 1e3 as in the paper's tables."""
    keys = ["model", "modality", "acceleration"]
    per_patient = images.groupby([*keys, "patient"])[["psnr", "ssim", "nmse"]].mean()
    table = per_patient.groupby(keys).mean().reset_index()
    table["ssim_percent"] = 100 * table["ssim"]
    table["nmse_1e3"] = 1e3 * table["nmse"]
    return table


def map_table(maps: pd.DataFrame) -> pd.DataFrame:
    """Mean myocardial map errors per (model, modality, R) over the evaluated slices."""
    keys = ["model", "modality", "acceleration"]
    columns = ["mae_vs_full_ms", "mae_vs_truth_ms", "full_vs_truth_ms", "bias_vs_full_ms"]
    return maps.groupby(keys)[columns].mean().reset_index()


def fig2_panels(model, s: SeriesSlice, modality: str, accelerations: list[int]) -> dict:
    """Arrays for Fig. 2 on the evaluation crop: the shortest- and longest-time frames and the
    judge-fit map, fully sampled (key "full") and at each R (keys "R4", ...)."""
    order = torch.argsort(s.times_ms)
    first, last = int(order[0]), int(order[-1])
    out = {}
    sources = {"full": frames_of(s.kspace)} | {
        f"R{r}": reconstruct(model, s, r) for r in accelerations
    }
    for key, frames in sources.items():
        frames = _crop(s, frames)
        out[f"{modality}_{key}_first"] = frames[first].numpy()
        out[f"{modality}_{key}_last"] = frames[last].numpy()
        out[f"{modality}_{key}_map"] = fit_map(modality, frames, s.times_ms).float().numpy()
    out[f"{modality}_times_ms"] = s.times_ms.numpy()
    return out


def data_tour(root, split: str, patient: str) -> tuple[dict, dict]:
    """One patient's central slice read through the CMRxRecon reader: (summary, arrays).

    Arrays: RSS frames, the voxel-wise T1 (with T1*, A, B) and T2 maps, the masks `(R, ky)`,
    and (synthetic data) labels, pure-tissue mask and true maps. Summary: times, effective
    accelerations and ACS widths, the example pixels (a pure myocardial and LV-blood pixel) and
    per tissue the median fitted and true T1/T2 over its pure pixels.
    """
    scans = {m: cmrxrecon.read_scan(root, split, patient, m) for m in cmrxrecon.MODALITIES}
    index = scans["T1map"].kspace.shape[0] // 2
    frames = {m: frames_of(s.kspace[index]).double() for m, s in scans.items()}
    times = {m: s.times_ms[index] for m, s in scans.items()}
    t1 = physics.fit_t1(frames["T1map"][None], times["T1map"])
    t2 = physics.fit_t2(frames["T2map"][None], times["T2map"])
    masks = {r: cmrxrecon.read_scan(root, split, patient, "T1map", r) for r in ACCELERATIONS}
    ky = scans["T1map"].kspace.shape[-1]
    arrays = dict(
        t1_frames=frames["T1map"],
        t2_frames=frames["T2map"],
        t1_fit=t1.t1[0],
        t1_star=t1.t1star[0],
        a=t1.a[0],
        b=t1.b[0],
        t2_fit=t2.t2[0],
        masks=torch.stack([s.mask for s in masks.values()]).float(),
    )
    summary = dict(
        split=split,
        patient=patient,
        slice=index,
        shape=list(scans["T1map"].kspace.shape),
        times_ms={m: t.tolist() for m, t in times.items()},
        masks={
            str(r): dict(effective_acceleration=ky / int(s.mask.sum()), acs_lines=s.acs_lines)
            for r, s in masks.items()
        },
        pixels={"centre": [d // 2 for d in frames["T1map"].shape[1:]]},
    )
    if (Path(root) / "truth").is_dir():
        truth = read_truth(root, split, patient)
        labels, pure = truth["labels"][index], truth["pure"][index]
        arrays.update(
            labels=labels, pure=pure, t1_truth=truth["t1_ms"][index], t2_truth=truth["t2_ms"][index]
        )
        tissues, pixels = {}, {}
        for name, value in LABELS.items():
            where = (labels == value) & pure
            if name == "air" or where.sum() < 5:
                continue
            tissues[name] = {
                m: dict(
                    truth_ms=float(np.median(truth[key][index][where])),
                    fit_ms=float(np.median(fit[0].numpy()[where])),
                    pixels=int(where.sum()),
                )
                for m, key, fit in (("T1map", "t1_ms", t1.t1), ("T2map", "t2_ms", t2.t2))
            }
            if name in ("myocardium", "lv_blood"):
                coordinates = np.argwhere(where)
                pixels[name] = coordinates[len(coordinates) // 2].tolist()
        summary.update(tissues=tissues, pixels=pixels)
    return summary, arrays


def evaluate_all(root, scale: str, cfg: dict, evaluation: dict, models: dict) -> dict:
    """Every table and panel of the Tables 1-2 / Fig. 2 run: the trained models of `models`
    ({modality: [kinds]}, loaded from their checkpoints) and zero-filling at every R on the
    evaluation patients. Returns {"images", "maps", "mappers": DataFrame, "panels": arrays}
    (Fig. 2 shows the last model of each modality on its first evaluated slice)."""
    images, maps, mappers, panels = [], [], [], {}
    for modality, kinds in models.items():
        trained, _ = train_all(root, scale, cfg, modality, kinds)
        slices = load_slices(
            root,
            "evaluation",
            modality,
            cfg["readout_crop"],
            evaluation["max_patients"],
            cfg["holdout_patients"],
        )
        nets = {ZERO_FILLED: None, **{k: trained[k] for k in kinds}}
        image_rows, map_rows = evaluate(nets, slices, modality, evaluation["accelerations"])
        images.append(image_rows)
        maps.append(map_rows)
        mappers.append(mapper_errors(trained["mapper"], slices, modality))
        shown = next(s for s in slices if s.evaluated)
        panels |= fig2_panels(trained[kinds[-1]], shown, modality, evaluation["accelerations"])
    return dict(
        images=pd.concat(images), maps=pd.concat(maps), mappers=pd.concat(mappers), panels=panels
    )
