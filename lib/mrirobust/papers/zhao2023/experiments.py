"""Zhao 2023 evaluation: the challenge's image metrics (Tables 1-2), the myocardial map error
the paper could not report, and the Fig. 2 panels, as tidy tables.

Challenge metrics (CMRxRecon 2023): the central two slices, every frame, the central
round(kx/3) x round(ky/2) of the stored image; target and reconstruction each divided by their
own maximum; PSNR with data range 1, SSIM (7 x 7 uniform window, skimage's) with data range 1,
NMSE = |gt - pred|^2 / |gt|^2; mean over the images of a patient, then over patients; SSIM is
reported x 100 and NMSE x 1e3 as in the paper.

Map error: the voxel-wise judge fit (`physics.fit_t1` / `fit_t2`) of the reconstructed frames
against the fit of the fully sampled frames (the reference map, on every data set) and against
the phantom's truth (synthetic data only), over a region of the evaluation crop (`region_of`):
the pure myocardium of the phantom's labels, or, on data without labels (real CMRxRecon), every
pixel where the reference fit is valid, named "fit_valid" in the tables. Columns that need the
truth are NaN on such data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mrirobust import devices, metrics, physics
from mrirobust.data import cmrxrecon
from mrirobust.data.cardiac_phantom import LABELS
from mrirobust.data.cmrxrecon_embedded import read_truth
from mrirobust.papers.zhao2023.data import SeriesSlice, SeriesSlices, eval_crop
from mrirobust.papers.zhao2023.training import frames_of, normalise, train_all

ZERO_FILLED = "zero_filled"
CONTROLLED = ("rvn", "vn", "vn_relax")  # Table 1's T1 models that `training_control` trains longer
# a reference fit is valid where it is not air and lies in this range (ms); T2: the challenge's
# rule (CMRxRecon Mapping/CalEvalMap.py sets T2 outside [0, 200] ms to 0)
FIT_RANGE_MS = {"T1map": (0.0, 3000.0), "T2map": (0.0, 200.0)}
REGIONS = {
    "myocardium": "pure myocardium of the phantom's labels (synthetic data)",
    "fit_valid": "evaluation crop where the reference fit is valid (data without labels)",
}


@torch.no_grad()
def reconstruct(model, s: SeriesSlice, acceleration: int) -> torch.Tensor:
    """Frames `(T, H, W)` of one slice at `acceleration` in the data's own units (`model`
    None: the zero-filled RSS)."""
    mask = s.masks[acceleration]
    full = s.kspace[None]
    if model is None:
        return frames_of(full * mask)[0]
    scale = normalise(full, mask)
    pred = model(*devices.to_model(model, (full / scale) * mask, mask.view(1, 1, 1, -1)))
    return pred[0].cpu() * scale


def _crop(s: SeriesSlice, x: torch.Tensor) -> torch.Tensor:
    return physics.center_crop(x, eval_crop(s.readout, s.kspace.shape[-1]))


def region_of(s: SeriesSlice, modality: str, reference: torch.Tensor) -> tuple[torch.Tensor, str]:
    """The pixels `(h, w)` of the evaluation crop that map errors are taken over, and their name
    (REGIONS): with truth the pure myocardium; without (real data) every pixel whose reference
    map (the fit of the fully sampled frames, 0 on air) lies inside FIT_RANGE_MS."""
    if s.truth is not None:
        labels, pure = _crop(s, s.truth["labels"]), _crop(s, s.truth["pure"])
        return (labels == LABELS["myocardium"]) & pure, "myocardium"
    low, high = FIT_RANGE_MS[modality]
    return (reference > low) & (reference < high), "fit_valid"


def truth_of(s: SeriesSlice, modality: str) -> torch.Tensor | None:
    """The true map (ms) `(h, w)` on the evaluation crop, None without truth."""
    if s.truth is None:
        return None
    return _crop(s, s.truth["t1_ms" if modality == "T1map" else "t2_ms"]).double()


def _mean_abs(x: torch.Tensor | None, where: torch.Tensor) -> float:
    """Mean |x| over `where`; NaN for a missing `x` (no truth)."""
    return float("nan") if x is None else x[where].abs().mean().item()


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
    slices: SeriesSlices,
    modality: str,
    accelerations: list[int],
    maps: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Image metrics per (model, R, patient, slice, frame) on the challenge's slices and crop,
    and (`maps`) map errors per (model, R, patient, slice) over `region_of` (truth columns NaN
    without truth).

    `models` maps a name to a trained series network or None (zero-filled)."""
    images, map_rows = [], []
    for s in (s for s in slices if s.evaluated):
        target = _crop(s, frames_of(s.kspace))
        if maps:
            reference = fit_map(modality, target, s.times_ms)
            truth = truth_of(s, modality)
            region, name = region_of(s, modality, reference)
        for model_name, model in models.items():
            for r in accelerations:
                pred = _crop(s, reconstruct(model, s, r))
                scores = challenge_metrics(target, pred)
                key = dict(model=model_name, modality=modality, acceleration=r, patient=s.patient)
                for t in range(len(target)):
                    images.append(
                        {
                            **key,
                            "slice": s.index,
                            "frame": t,
                            **{k: v[t].item() for k, v in scores.items()},
                        }
                    )
                if maps:
                    fitted = fit_map(modality, pred, s.times_ms)
                    map_rows.append(
                        {
                            **key,
                            "slice": s.index,
                            "region": name,
                            "myocardium_pixels": int(region.sum()),
                            "mae_vs_full_ms": _mean_abs(fitted - reference, region),
                            "mae_vs_truth_ms": _mean_abs(
                                None if truth is None else fitted - truth, region
                            ),
                            "full_vs_truth_ms": _mean_abs(
                                None if truth is None else reference - truth, region
                            ),
                            "bias_vs_full_ms": (fitted - reference)[region].mean().item(),
                        }
                    )
    return pd.DataFrame(images), pd.DataFrame(map_rows)


@torch.no_grad()
def mapper_map(mapper, s: SeriesSlice, frames: torch.Tensor) -> torch.Tensor:
    """The mapping network's relaxation time (ms) on the evaluation crop `(h, w)` of slice
    `s`'s frames `(T, H, W)` (M sees the whole frames, as in training)."""
    maps = mapper(*devices.to_model(mapper, frames[None], s.times_ms[None]))
    return _crop(s, maps.relaxation_ms[0].cpu())


@torch.no_grad()
def mapper_errors(mapper, slices: SeriesSlices, modality: str) -> pd.DataFrame:
    """The mapping network on the fully sampled frames of every evaluated slice: median
    relaxation time (ms) over `region_of` of M, of the judge fit and of the truth (NaN without
    truth)."""
    rows = []
    for s in (s for s in slices if s.evaluated):
        frames = frames_of(s.kspace)
        learned = mapper_map(mapper, s, frames)
        judge = fit_map(modality, _crop(s, frames), s.times_ms)
        region, name = region_of(s, modality, judge)
        truth = truth_of(s, modality)
        rows.append(
            dict(
                modality=modality,
                patient=s.patient,
                slice=s.index,
                region=name,
                mapper_ms=learned[region].median().item(),
                judge_ms=judge[region].median().item(),
                truth_ms=float("nan") if truth is None else truth[region].median().item(),
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
    """Mean map errors per (model, modality, R) over the evaluated slices, with their region."""
    keys = ["model", "modality", "acceleration", "region"]
    columns = ["mae_vs_full_ms", "mae_vs_truth_ms", "full_vs_truth_ms", "bias_vs_full_ms"]
    return maps.groupby(keys)[columns].mean().reset_index()


def fig2_panels(model, mapper, s: SeriesSlice, modality: str, accelerations: list[int]) -> dict:
    """Arrays for Fig. 2 on the evaluation crop, fully sampled (key "full", the reference) and
    reconstructed by `model` at each R (keys "R4", ...): the shortest- and longest-time frames
    ("first", "last"), the map of the mapping network `mapper` on those frames ("mapper", the
    paper's pipeline) and the voxel-wise judge fit ("fit"), both in ms and 0 on the fit's air;
    with the times ("times_ms") and the region map errors are taken over ("region", see
    `region_of`, on the fully sampled fit)."""
    order = torch.argsort(s.times_ms)
    first, last = int(order[0]), int(order[-1])
    out = {}
    sources = {"full": frames_of(s.kspace)} | {
        f"R{r}": reconstruct(model, s, r) for r in accelerations
    }
    for key, frames in sources.items():
        cropped = _crop(s, frames)
        air = physics.air_mask(cropped[None])[0]
        out[f"{modality}_{key}_first"] = cropped[first].numpy()
        out[f"{modality}_{key}_last"] = cropped[last].numpy()
        learned = mapper_map(mapper, s, frames).masked_fill(air, 0)
        out[f"{modality}_{key}_mapper"] = learned.float().numpy()
        out[f"{modality}_{key}_fit"] = fit_map(modality, cropped, s.times_ms).float().numpy()
    reference = torch.from_numpy(out[f"{modality}_full_fit"]).double()
    out[f"{modality}_region"] = region_of(s, modality, reference)[0].numpy()
    out[f"{modality}_times_ms"] = s.times_ms.numpy()
    return out


def data_tour(root, split: str, patient: str) -> tuple[dict, dict]:
    """One patient's central slice read through the CMRxRecon reader: (summary, arrays).

    Arrays: RSS frames, the voxel-wise T1 (with T1*, A, B) and T2 maps, the masks `(R, ky)`,
    and (synthetic data) labels, pure-tissue mask and true maps. Summary: times, effective
    accelerations and ACS widths, the example pixels (a pure myocardial and LV-blood pixel) and
    per tissue the median fitted and true T1/T2 over its pure pixels.
    """
    full = cmrxrecon.mapping_dir(root, split) / patient
    shape = cmrxrecon.kspace_shape(full / "T1map.mat", cmrxrecon.kspace_variable(None))
    index = shape[1] // 2
    scans = {
        m: cmrxrecon.read_scan(root, split, patient, m, index=index) for m in cmrxrecon.MODALITIES
    }
    frames = {m: frames_of(s.kspace[0]).double() for m, s in scans.items()}
    times = {m: s.times_ms[0] for m, s in scans.items()}
    t1 = physics.fit_t1(frames["T1map"][None], times["T1map"])
    t2 = physics.fit_t2(frames["T2map"][None], times["T2map"])
    masks = {
        r: cmrxrecon.read_mask(
            cmrxrecon.mapping_dir(root, split, r) / patient / "T1map_mask.mat", r
        )
        for r in cmrxrecon.ACCELERATIONS
    }
    ky = shape[3]
    arrays = dict(
        t1_frames=frames["T1map"],
        t2_frames=frames["T2map"],
        t1_fit=t1.t1[0],
        t1_star=t1.t1star[0],
        a=t1.a[0],
        b=t1.b[0],
        t2_fit=t2.t2[0],
        masks=torch.from_numpy(np.stack(list(masks.values()))).float(),
    )
    summary = dict(
        split=split,
        patient=patient,
        slice=index,
        shape=[shape[1], *scans["T1map"].kspace.shape[1:]],
        times_ms={m: t.tolist() for m, t in times.items()},
        masks={
            str(r): dict(effective_acceleration=ky / int(m.sum()), acs_lines=cmrxrecon.check_acs(m))
            for r, m in masks.items()
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


def evaluation_slices(root, cfg: dict, settings: dict, modality: str) -> SeriesSlices:
    """The evaluated slices of `modality`: the `max_patients` and `max_slices` of `settings`
    (the evaluation or attack profile; 0: all), after `cfg`'s held-out patients."""
    return SeriesSlices(
        root,
        "evaluation",
        modality,
        cfg["readout_crop"],
        settings["max_patients"],
        cfg["holdout_patients"],
        evaluated=True,
        max_slices=settings["max_slices"],
    )


def training_control(root, scale: str, cfg: dict, evaluation: dict) -> pd.DataFrame:
    """Table 1's training-length control: the `CONTROLLED` T1 models trained for the evaluation
    profile's `control_epochs` instead of `cfg`'s epochs (checkpoints of their own), scored on
    the slices and at the acceleration of Table 1; `evaluate`'s image rows with an `epochs`
    column."""
    epochs = evaluation["control_epochs"]
    trained, _ = train_all(root, scale, {**cfg, "epochs": epochs}, "T1map", list(CONTROLLED))
    slices = evaluation_slices(root, cfg, evaluation, "T1map")
    nets = {kind: trained[kind] for kind in CONTROLLED}
    images, _ = evaluate(nets, slices, "T1map", [evaluation["table1_acceleration"]], maps=False)
    return images.assign(epochs=epochs)


def mapper_control(root, scale: str, cfg: dict, evaluation: dict) -> dict:
    """Table 1's guidance control: VN-UNet-relax (T1) trained again, its mapping network
    trained with the evaluation profile's `control_mapper` settings instead of `cfg`'s (a
    mapper and checkpoints of their own), scored beside VN-UNet (which never sees the mapper:
    `cfg`'s checkpoint) on the slices and at the acceleration of Table 1. Returns {"images":
    `evaluate`'s image rows, "mappers": `mapper_errors` of the control's mapper}, each with a
    column per changed setting."""
    settings = evaluation["control_mapper"]
    guided, _ = train_all(root, scale, {**cfg, **settings}, "T1map", ["vn_relax"])
    plain, _ = train_all(root, scale, cfg, "T1map", ["vn"])
    slices = evaluation_slices(root, cfg, evaluation, "T1map")
    nets = {"vn": plain["vn"], "vn_relax": guided["vn_relax"]}
    images, _ = evaluate(nets, slices, "T1map", [evaluation["table1_acceleration"]], maps=False)
    mappers = mapper_errors(guided["mapper"], slices, "T1map")
    return dict(images=images.assign(**settings), mappers=mappers.assign(**settings))


def evaluate_all(root, scale: str, cfg: dict, evaluation: dict, models: dict) -> dict:
    """Every table and panel of the Tables 1-2 / Fig. 2 run: the trained models of `models`
    ({modality: [kinds]}, loaded from their checkpoints) and zero-filling at every R on the
    evaluation patients. Returns {"images", "maps", "mappers": DataFrame, "panels": arrays}
    (Fig. 2 shows the last model of each modality, followed by the mapping network, on its
    first evaluated slice)."""
    images, maps, mappers, panels = [], [], [], {}
    for modality, kinds in models.items():
        trained, _ = train_all(root, scale, cfg, modality, kinds)
        slices = evaluation_slices(root, cfg, evaluation, modality)
        nets = {ZERO_FILLED: None, **{k: trained[k] for k in kinds}}
        image_rows, map_rows = evaluate(nets, slices, modality, evaluation["accelerations"])
        images.append(image_rows)
        maps.append(map_rows)
        mappers.append(mapper_errors(trained["mapper"], slices, modality))
        panels |= fig2_panels(
            trained[kinds[-1]], trained["mapper"], slices[0], modality, evaluation["accelerations"]
        )
    return dict(
        images=pd.concat(images), maps=pd.concat(maps), mappers=pd.concat(mappers), panels=panels
    )
