"""Darestani et al. 2021's experiments on any set of Reconstructors (U-Net, VarNet, l1,
ConvDecoder, zero-filled, ...): every function takes the methods as a dict name -> model and a
`sets.SliceSet`, reads it one batch of one k-space shape at a time, and returns a tidy table
(one row per slice and case); dicts `examples` receive the first slice's images (numpy) for
the qualitative figures.

- `attack_sweep` (Fig. 3, 9, 10): perturbations computed against each attacked method by its
  own attack (eq. 2 PGD for differentiable trained nets, the two-step attack of eq. 3 for
  methods with the un-trained protocol, i.e. l1 and ConvDecoder) over a grid of eps, every
  method evaluated on y + z; `transfer_matrix` reads the matrix "attack of X evaluated on Y"
  from it.
- `every_attack` (none of the papers has it): each method under every attack of the project
  at a matched budget: Darestani's PGD and two-step, Morshuis' per-coil PGD and rotation
  search, and small features.
- `shift_scores` (Fig. 2): every method on an in-distribution and a shifted set, with VarNet's
  resolution fix (`physics.oversample_readout`).
- `anatomy_scores` (Fig. 4, 13): knee- and brain-trained methods on knee and brain slices.
- `heat_maps` (Fig. 7, 17): small-feature error maps and their statistics;
  `heat_map_positions` their per-position rows (the units of the claims); `optimiser_maps`
  (Fig. 16) the maps of ConvDecoder fitted with each of its optimisers.
- `real_features` (Fig. 8): recovery of annotated pathologies vs whole-image quality.

Devices (`mrirobust.devices`): the methods may live on any device; the sets stay on the CPU,
each method's call moves its inputs to it, and its outputs (images, perturbations, scores)
come back to the CPU at once. Each reconstruction call is timed (`costs.timed("reconstruct",
<method class>)`), as the attacks time their steps.

Scores follow fastMRI: SSIM and PSNR against the fully sampled RSS target with data range =
the target's max (`metrics.DEFAULT_DATA_RANGE`). The drop of a score is clean minus attacked
(positive = damage).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import torch
from scipy import stats

from mrirobust import costs, metrics, physics, regions
from mrirobust.attacks import (
    is_untrained,
    pgd_global,
    small_feature_map,
    suite,
    two_step,
)
from mrirobust.attacks.small_features import standardise
from mrirobust.papers.darestani2021.sets import SliceSet

ATTACKS = ("pgd", "two_step", "kspace_pgd", "rotation", "small_features")


def scores(target: torch.Tensor, recon: torch.Tensor) -> dict[str, torch.Tensor]:
    """SSIM and PSNR per slice `(B,)` with the project's data range (fastMRI's max), computed
    on the reconstruction's device (the target is moved there) and returned on the CPU."""
    target = target.to(recon.device)
    return {"ssim": metrics.ssim(target, recon).cpu(), "psnr": metrics.psnr(target, recon).cpu()}


def _check(methods: Mapping, slices: SliceSet) -> None:
    if not methods:
        raise ValueError("methods is empty: give at least one name -> Reconstructor")
    if len(slices) == 0:
        raise ValueError("the evaluation set is empty: it has no slices")


def _check_eps(eps_grid) -> list[float]:
    """The positive budgets of `eps_grid` (0, the clean case, is always reported)."""
    grid = [float(e) for e in eps_grid]
    if not grid or any(not 0 <= e <= 1 for e in grid) or max(grid) == 0:
        raise ValueError(
            f"eps_grid must be a list of budgets in [0, 1] with one above 0, got {eps_grid!r}"
        )
    return sorted({e for e in grid if e > 0})


def _part(mask: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    return mask[start:stop] if mask.shape[0] > 1 else mask


def _reconstruct(method, y: torch.Tensor, mask: torch.Tensor, batch: int) -> torch.Tensor:
    """method(y, mask) `batch` slices per call, without gradients, on the CPU."""
    out = []
    with torch.no_grad():
        for i in range(0, len(y), batch):
            with costs.timed("reconstruct", type(method).__name__):
                out.append(method(y[i : i + batch], _part(mask, i, i + batch)).cpu())
    return torch.cat(out)


def reconstruct_all(
    methods: Mapping[str, torch.nn.Module], y: torch.Tensor, mask: torch.Tensor, batch: int
) -> dict[str, torch.Tensor]:
    """Every method's reconstruction `(B, h, w)` of the measurement y, `batch` slices per call."""
    return {name: _reconstruct(m, y, mask, batch) for name, m in methods.items()}


def two_step_beta(method, attack: Mapping) -> float:
    """The two-step beta of `method` (by its `name`) from the profile's `two_step_beta`."""
    betas = attack["two_step_beta"]
    if method.name not in betas:
        raise ValueError(
            f"two_step_beta has no beta for method {method.name!r}; it has {sorted(betas)}"
        )
    return float(betas[method.name])


def two_step_settings(method, attack: Mapping) -> dict:
    """The two-step attack's settings for `method` (`attacks.two_step` keywords) from the
    profile: its beta, `two_step_steps` joint steps after `two_step_warmup` warm-up steps."""
    return {
        "beta": two_step_beta(method, attack),
        "steps": attack["two_step_steps"],
        "warmup_steps": attack["two_step_warmup"],
    }


def _attack_once(method, y, mask, eps, attack):
    if is_untrained(method):
        settings = {"seed": attack["seed"], "progress": False, **two_step_settings(method, attack)}
        result = two_step(method, y, mask, eps=eps, **settings)
    else:
        result = pgd_global(
            method,
            y,
            mask,
            eps=eps,
            steps=attack["pgd_steps"],
            step_size=attack["pgd_step_size"],
            seed=attack["seed"],
            progress=False,
        )
    return result.perturbation.cpu(), result.reconstruction.detach().cpu()


def own_attack(
    method, y: torch.Tensor, mask: torch.Tensor, *, eps, attack: Mapping
) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's attack on `method` at budgets `eps` (relative to ||y||): the two-step attack
    for un-trained methods, eq. 2 PGD otherwise. The eps grid is stacked into the batch while
    eps x slices fits in `attack["recon_batch"]`, else each eps and chunk of slices is attacked
    alone (a ConvDecoder fit of 8/256 channels on 640 x 368 takes GBs). Returns the
    perturbations `(E, B, C, H, W)` and the method's reconstructions of y + z `(E, B, h, w)`,
    on the CPU."""
    eps, batch = list(eps), attack["recon_batch"]
    if len(eps) * len(y) <= batch:
        return _attack_once(method, y, mask, eps, attack)
    parts = [
        [
            _attack_once(method, y[i : i + batch], _part(mask, i, i + batch), [e], attack)
            for i in range(0, len(y), batch)
        ]
        for e in eps
    ]
    z = torch.stack([torch.cat([p[0][0] for p in row]) for row in parts])
    out = torch.stack([torch.cat([p[1][0] for p in row]) for row in parts])
    return z, out


def _rows(ids, values: Mapping[str, torch.Tensor], **columns) -> list[dict]:
    return [
        {**columns, "slice": ids[b], **{k: float(v[b]) for k, v in values.items()}}
        for b in range(len(ids))
    ]


def attack_sweep(
    methods: Mapping[str, torch.nn.Module],
    attacked: Sequence[str],
    slices: SliceSet,
    *,
    eps_grid: Sequence[float],
    attack: Mapping,
    examples: dict | None = None,
) -> pd.DataFrame:
    """Attack each of `methods[attacked]` at every eps and reconstruct y + z with every method.

    `attack` a resolved `profile.ATTACK` (pgd_steps, pgd_step_size, two_step_steps,
    two_step_warmup, two_step_beta, recon_batch, seed). Slices are read `recon_batch` at a time;
    the methods' clean reconstructions of a batch serve every attacked method (a ConvDecoder fit
    costs ~33 s per slice on the cpu data). Rows: attacked, method, eps (0 = clean), slice,
    ssim, psnr, ssim_drop, psnr_drop, budget (||z|| / ||y||). A dict `examples` receives the
    first slice's images (Fig. 9): "target" and per attacked method "<m>_clean", "<m>_attacked"
    (its reconstruction at the largest eps) and "<m>_perturbed_truth" (crop(RSS(F^-1(k + z)))).
    """
    _check(methods, slices)
    unknown = [name for name in attacked if name not in methods]
    if not attacked or unknown:
        raise ValueError(f"attacked must be among {', '.join(methods)}, got {list(attacked)!r}")
    grid = _check_eps(eps_grid)
    batch = attack["recon_batch"]
    rows = []
    for part in slices.batches(batch):
        y = physics.apply_mask(part.kspace, part.mask)
        images = reconstruct_all(methods, y, part.mask, batch)
        clean = {name: scores(part.target, images[name]) for name in methods}
        y_norm = torch.linalg.vector_norm(y, dim=(1, 2, 3))
        for name in attacked:
            z, own = own_attack(methods[name], y, part.mask, eps=grid, attack=attack)
            zero = {"ssim_drop": torch.zeros(len(y)), "psnr_drop": torch.zeros(len(y))}
            for m in methods:
                rows += _rows(part.ids, {**clean[m], **zero}, attacked=name, method=m, eps=0.0)
            for e, eps in enumerate(grid):
                budget = torch.linalg.vector_norm(z[e], dim=(1, 2, 3)) / y_norm
                y_z = physics.apply_mask(y + z[e], part.mask)
                for m, method in methods.items():
                    out = own[e] if m == name else _reconstruct(method, y_z, part.mask, batch)
                    s = scores(part.target, out)
                    drops = {f"{k}_drop": clean[m][k] - s[k] for k in s}
                    values = {**s, **drops, "budget": budget}
                    rows += _rows(part.ids, values, attacked=name, method=m, eps=eps)
            if examples is not None and part.ids[0] == slices.ids[0]:
                size = tuple(part.target.shape[-2:])
                truth = physics.rss_crop(part.kspace[:1] + z[-1, :1], size)[0]
                examples.update(
                    {
                        "target": part.target[0].numpy(),
                        f"{name}_clean": images[name][0].numpy(),
                        f"{name}_attacked": own[-1, 0].numpy(),
                        f"{name}_perturbed_truth": truth.numpy(),
                    }
                )
    return pd.DataFrame(rows)


def transfer_matrix(table: pd.DataFrame, eps: float, value: str = "ssim_drop") -> pd.DataFrame:
    """Mean `value` at `eps`: rows = attacked method, columns = evaluated method."""
    at = table[(table["eps"] - eps).abs() < 1e-9]
    if at.empty:
        raise ValueError(f"no rows at eps {eps}; stored eps: {sorted(set(table['eps']))}")
    return at.pivot_table(index="attacked", columns="method", values=value, aggfunc="mean")


def every_attack(
    methods: Mapping[str, torch.nn.Module],
    slices: SliceSet,
    *,
    eps: float,
    attack: Mapping,
    feature_maps: Mapping[str, torch.Tensor],
) -> pd.DataFrame:
    """Every method under every attack at a matched budget (`attacks.suite`, its SSIM
    scoring), one row per (method, attack, slice):

    - pgd (eq. 2; through ConvDecoder only its data-consistency step is differentiated: its fit
      is not, so this attack is weak there), two_step (eq. 3, methods with the un-trained
      protocol only) and Morshuis' per-coil kspace_pgd, at ‖z‖ <= eps‖y‖ / ‖z_i‖ <= eps‖k_i‖;
    - rotation: the worst of `attack["angles"]` (degrees, with 0) by whole-image MSE;
    - small_features: the mean of each method's `heat_maps` error map of the first slice
      (`feature_maps`, computed once for Fig. 7; `value` is the window error, not a drop).

    `value` is the SSIM drop (clean minus attacked) for the first four, `ssim` the attacked
    SSIM, `data_range` its scoring rule (empty for small_features). Slices are read
    `attack["recon_batch"]` at a time, once per method.
    """
    _check(methods, slices)
    if not 0 < eps <= 1:
        raise ValueError(f"eps must be a budget in (0, 1], got {eps!r}")
    if set(feature_maps) != set(methods):
        raise ValueError(
            f"feature_maps must hold the methods {sorted(methods)}, got {sorted(feature_maps)}"
        )
    angles = [float(a) for a in attack["angles"]]
    budgets = {"pgd": [eps], "kspace_pgd": [eps], "rotation": [max(abs(a) for a in angles)]}
    settings = {"steps": attack["pgd_steps"], "step_size": attack["pgd_step_size"]}
    tables = []
    for name, m in methods.items():
        own, settings_of_m = {}, None
        if is_untrained(m):
            own, settings_of_m = {"two_step": [eps]}, two_step_settings(m, attack)
        for part in slices.batches(attack["recon_batch"]):
            table = suite.every_attack(
                m,
                part.kspace,
                part.mask,
                part.target,
                {**budgets, **own},
                angles=angles,
                seed=attack["seed"],
                two_step_settings=settings_of_m,
                **settings,
            )
            ids = [part.ids[j] for j in table["slice"]]
            tables.append(
                pd.DataFrame(
                    {
                        "method": name,
                        "attack": table["attack"],
                        "slice": ids,
                        "value": table["ssim_drop"],
                        "ssim": table["ssim_attacked"],
                        "data_range": table["data_range"],
                    }
                )
            )
        features = {"method": name, "attack": "small_features", "slice": slices.ids[0]}
        features |= {"value": float(feature_maps[name].mean()), "ssim": float("nan")}
        tables.append(pd.DataFrame([features]))
    return pd.concat(tables, ignore_index=True)


def window_intensity(target: torch.Tensor, rows, cols, size: int) -> torch.Tensor:
    """Mean of the target `(h, w)` over each `size` x `size` window at (rows x cols) corners."""
    pooled = torch.nn.functional.avg_pool2d(target[None, None], size, stride=1)[0, 0]
    return pooled[torch.as_tensor(rows)][:, torch.as_tensor(cols)]


def heat_maps(
    methods: Mapping[str, torch.nn.Module],
    kspace: torch.Tensor,
    mask: torch.Tensor,
    target: torch.Tensor,
    *,
    size: int,
    stride: int,
    lattice: Sequence[int] | None = None,
    mode: str = "replace",
    batch_size: int = 16,
) -> tuple[dict[str, torch.Tensor], pd.DataFrame]:
    """Fig. 7: each method's small-feature error map on one slice (`kspace` `(C, H, W)`, target
    `(h, w)`; `lattice` as in `small_feature_map`), and per method the coefficient of variation
    of the map and the Spearman rank correlation between window error and the window's mean
    target intensity (negative = worse in dark regions). Returns ({method: errors (rows, cols)},
    statistics table)."""
    if not methods:
        raise ValueError("methods is empty: give at least one name -> Reconstructor")
    maps, rows = {}, []
    for name, m in methods.items():
        result = small_feature_map(
            m,
            kspace,
            mask,
            size=size,
            stride=stride,
            mode=mode,
            lattice=None if lattice is None else tuple(lattice),
            batch_size=batch_size,
            progress=False,
        )
        maps[name] = result.errors
        intensity = window_intensity(target, result.rows, result.cols, size)
        errors = result.errors.flatten().numpy()
        rho = stats.spearmanr(errors, intensity.flatten().numpy()).statistic
        rows.append(
            {
                "method": name,
                "mean": float(errors.mean()),
                "cv": float(errors.std() / max(errors.mean(), 1e-30)),
                "rho_intensity": float(rho),
                "positions": int(errors.size),
                "size": size,
                "lattice": "none" if lattice is None else "x".join(str(d) for d in lattice),
            }
        )
    return maps, pd.DataFrame(rows)


def heat_map_positions(
    maps: Mapping[str, torch.Tensor], target: torch.Tensor, *, size: int, stride: int
) -> pd.DataFrame:
    """One row per method and window position of `heat_maps`' maps (errors `(rows, cols)` of
    windows of side `size` every `stride` px on the target `(h, w)`): method, size, the
    window's top-left corner (row, col), its error and its mean target intensity, the units of
    the per-position comparisons of Fig. 7 and 17."""
    rows = torch.arange(0, target.shape[-2] - size + 1, stride)
    cols = torch.arange(0, target.shape[-1] - size + 1, stride)
    intensity = window_intensity(target, rows, cols, size).flatten().tolist()
    corners = torch.cartesian_prod(rows, cols).tolist()
    out = []
    for name, errors in maps.items():
        if tuple(errors.shape) != (len(rows), len(cols)):
            raise ValueError(
                f"the map of {name!r} has shape {tuple(errors.shape)}; windows of side {size} "
                f"every {stride} px on {tuple(target.shape)} make {(len(rows), len(cols))}"
            )
        out += [
            {"method": name, "size": size, "row": r, "col": c, "error": e, "intensity": i}
            for (r, c), e, i in zip(corners, errors.flatten().tolist(), intensity, strict=True)
        ]
    return pd.DataFrame(out)


def optimiser_maps(
    models: Mapping[str, torch.nn.Module],
    kspace: torch.Tensor,
    mask: torch.Tensor,
    target: torch.Tensor,
    *,
    size: int,
    stride: int,
    lattice: Sequence[int] | None = None,
    batch_size: int = 16,
) -> tuple[dict[str, torch.Tensor], pd.DataFrame]:
    """Fig. 16: the `heat_maps` of ConvDecoder fitted with each optimiser (`models`: optimiser
    name -> ConvDecoder, e.g. built with `convdecoder_optimiser`) on the same windows of one
    slice. Returns the maps and their `heat_map_positions` rows with the column `optimiser`
    (optimiser, size, row, col, error, intensity), the units of the Fig. 16 claim."""
    maps, _ = heat_maps(
        models,
        kspace,
        mask,
        target,
        size=size,
        stride=stride,
        lattice=lattice,
        batch_size=batch_size,
    )
    positions = heat_map_positions(maps, target, size=size, stride=stride)
    return maps, positions.rename(columns={"method": "optimiser"})


def lattice_agreement(
    single: Mapping[str, torch.Tensor], lattice: Mapping[str, torch.Tensor]
) -> pd.DataFrame:
    """Pearson r between each method's single-window map and its lattice map (the methods in
    both), checking that the lattice's crosstalk leaves the map intact."""
    common = [name for name in single if name in lattice]
    if not common:
        raise ValueError(
            f"no method has both maps: single {sorted(single)}, lattice {sorted(lattice)}"
        )
    rows = []
    for name in common:
        pair = torch.stack([single[name].flatten(), lattice[name].flatten()]).double()
        rows.append({"method": name, "pearson_r": float(torch.corrcoef(pair)[0, 1])})
    return pd.DataFrame(rows)


def real_features(
    methods: Mapping[str, torch.nn.Module],
    slices: SliceSet,
    *,
    batch: int,
    examples: dict | None = None,
) -> pd.DataFrame:
    """Fig. 8: per method and slice of an annotated set (`sets.annotated_slices`, with boxes)
    the whole-image SSIM and PSNR and the feature error, the MSE over the annotated box of the
    standardised reconstruction against the standardised target (each whole image to zero
    mean and unit std, as the reference code). A dict `examples` receives the first slice for
    Fig. 18: "target", "box" and each method's image."""
    _check(methods, slices)
    if slices.boxes is None:
        raise ValueError("real_features needs an annotated set (sets.annotated_slices)")
    rows = []
    for part in slices.batches(batch):
        y = physics.apply_mask(part.kspace, part.mask)
        size = tuple(part.target.shape[-2:])
        inside = regions.as_region_mask(part.boxes, len(part.ids), size)
        images = reconstruct_all(methods, y, part.mask, batch)
        if examples is not None and part.ids[0] == slices.ids[0]:
            examples.update({"target": part.target[0].numpy(), "box": part.boxes[0].numpy()})
            examples.update({name: image[0].numpy() for name, image in images.items()})
        for name, image in images.items():
            diff = (standardise(image) - standardise(part.target)) ** 2
            feature = (diff * inside).sum(dim=(-2, -1)) / inside.sum(dim=(-2, -1))
            values = {**scores(part.target, image), "feature_mse": feature}
            rows += _rows(part.ids, values, method=name)
    return pd.DataFrame(rows)


def shift_scores(
    methods: Mapping[str, torch.nn.Module],
    sets: Mapping[str, SliceSet],
    *,
    batch: int,
    fixed: Mapping[str, int] | None = None,
    examples: dict | None = None,
) -> pd.DataFrame:
    """Fig. 2: every method's SSIM and PSNR on every set, one row per (method, set, slice).

    `sets` maps a set name to a `SliceSet`, read `batch` slices at a time; `fixed` maps methods
    to the readout length they were trained on: each is also scored as "<method>_fixed" on the
    k-space of every batch with fewer rows, resampled to that length (`physics.oversample_readout`:
    the paper's fix for VarNet on the Stanford knees, whose k-space lacks the oversampling). A
    dict `examples` receives the first slice of every set for the qualitative figures (Fig. 5,
    11, 15): "<set>/target" and "<set>/<method>" images `(h, w)` (numpy)."""
    if not sets:
        raise ValueError("sets is empty: give at least one name -> SliceSet")
    fixed = dict(fixed or {})
    unknown = sorted(set(fixed) - set(methods))
    if unknown:
        raise ValueError(f"fixed names methods {unknown} that are not in {sorted(methods)}")
    rows = []
    for set_name, slices in sets.items():
        _check(methods, slices)
        for part in slices.batches(batch):
            y = physics.apply_mask(part.kspace, part.mask)
            images = reconstruct_all(methods, y, part.mask, batch)
            for name, image in images.items():
                rows += _rows(part.ids, scores(part.target, image), method=name, set=set_name)
            if examples is not None and part.ids[0] == slices.ids[0]:
                examples[f"{set_name}/target"] = part.target[0].numpy()
                examples.update({f"{set_name}/{n}": im[0].numpy() for n, im in images.items()})
            for name, length in fixed.items():
                if part.kspace.shape[-2] < length:
                    resampled = physics.oversample_readout(part.kspace, length)
                    y_fixed = physics.apply_mask(resampled, part.mask)
                    image = _reconstruct(methods[name], y_fixed, part.mask, batch)
                    values = scores(part.target, image)
                    rows += _rows(part.ids, values, method=f"{name}_fixed", set=set_name)
    return pd.DataFrame(rows)


def anatomy_scores(
    trained: Mapping[str, Mapping[str, torch.nn.Module]],
    sets: Mapping[str, tuple],
    *,
    batch: int,
    examples: dict | None = None,
) -> pd.DataFrame:
    """Fig. 4, 13: `trained` maps a training anatomy to its methods (un-trained methods tuned
    there), `sets` a test anatomy to its `SliceSet`; `shift_scores` of every group on every set,
    with the column `trained`. A dict `examples` receives `shift_scores`' example images
    under "<anatomy>_trained/<set>/..." (Fig. 5, 12)."""
    if not trained:
        raise ValueError("trained is empty: give anatomy -> {method name -> Reconstructor}")
    tables = []
    for anatomy, methods in trained.items():
        images = {} if examples is not None else None
        tables.append(
            shift_scores(methods, sets, batch=batch, examples=images).assign(trained=anatomy)
        )
        if examples is not None:
            examples.update({f"{anatomy}_trained/{k}": v for k, v in images.items()})
    return pd.concat(tables, ignore_index=True)
